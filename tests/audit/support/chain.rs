//! The audit chain format and the webhook signature, written again from their documentation
//! (`tessera_core::events::chain_input`, `tessera-signature`) without the product's code, so the
//! tests prove the format rather than agree with themselves.

use aws_lc_rs::{digest, hmac};
use serde_json::{Value, json};

use super::db::EntryRow;

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

/// The hash of an entry: SHA-256 over the JSON array
/// `["tessera-audit-v1", tenant, seq, event_id, occurred_at_ms, type, body, personal_digest,
/// prev_hash]`, object keys sorted, no whitespace.
pub fn entry_hash(tenant: &str, e: &EntryRow) -> String {
    let body: Value = serde_json::from_str(&e.body).expect("a stored body is JSON");
    let input = json!([
        "tessera-audit-v1",
        tenant,
        e.seq,
        e.event_id,
        e.occurred_at,
        e.event_type,
        body,
        e.personal_digest,
        e.prev_hash,
    ]);
    sha256_hex(&serde_json::to_vec(&input).expect("JSON serializes"))
}

/// Asserts that the stored rows form one unbroken chain from `anchor` (seq, hash): consecutive
/// seqs, each linked to the one before, each hash recomputed from its content, each personal
/// digest the SHA-256 of its sealed bytes (when they are still there).
pub fn assert_linked(tenant: &str, rows: &[EntryRow], anchor: (i64, &str)) {
    let (mut seq, mut prev) = (anchor.0, anchor.1.to_string());
    for e in rows {
        assert_eq!(e.seq, seq + 1, "seq {} follows {seq} without a gap", e.seq);
        assert_eq!(e.prev_hash, prev, "entry {} links to entry {seq}", e.seq);
        assert_eq!(
            entry_hash(tenant, e),
            e.hash,
            "entry {} hashes to its stored hash (chain format)",
            e.seq
        );
        if let (Some(sealed), Some(digest)) = (&e.personal_sealed, &e.personal_digest) {
            assert_eq!(&sha256_hex(sealed), digest, "entry {} digest", e.seq);
        }
        seq = e.seq;
        prev = e.hash.clone();
    }
}

/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, checked against `body` as received.
/// Returns the timestamp on success.
pub fn verify_signature(secret: &str, header: &str, body: &[u8]) -> Result<i64, String> {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v),
            Some(("v1", v)) => v1 = Some(v),
            _ => return Err(format!("unexpected part {part:?} in {header:?}")),
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(format!("t or v1 missing in {header:?}"));
    };
    let ts: i64 = t.parse().map_err(|_| format!("t is not a number: {t}"))?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(body);
    let expected = hex(hmac::sign(&key, &signed).as_ref());
    if expected == v1 {
        Ok(ts)
    } else {
        Err(format!(
            "v1 {v1} is not HMAC-SHA256(secret, t.body) = {expected}"
        ))
    }
}
