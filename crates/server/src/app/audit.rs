//! The audit trail's integrity: signed checkpoints, verification of the hash chain, retention.
//!
//! Verification recomputes every entry's hash from the anchor (genesis, or the last pruned
//! checkpoint) and checks the links, the sequence, the personal-data digests and every signed
//! checkpoint. Any update, deletion, insertion or reordering of rows breaks one of these.

use serde::Serialize;
use serde_json::json;
use tessera_core::TenantId;
use tessera_core::events::{AuditCheckpoint, AuditEntry, chain_input};
use tessera_core::oauth::SigningKeyRecord;
use tessera_core::store::{AuditStore, SigningKeyStore};
use tessera_crypto::jws::{SigningAlg, SigningKey, VerifyingKey, decode_unverified, verify_jwt};
use tessera_crypto::sha256_hex;

use super::Services;
use crate::oidc::keys::KeyRing;

/// The result of `tessera audit verify`.
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub tenant: String,
    pub intact: bool,
    /// Entries checked (after the anchor).
    pub entries: u64,
    pub checkpoints: u64,
    /// Where verification started (the last pruned entry, 0 when nothing was pruned).
    pub anchor_seq: i64,
    pub head_seq: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken_seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

const BATCH: u32 = 500;

fn entry_hash(e: &AuditEntry) -> String {
    sha256_hex(&chain_input(e))
}

/// Checks the whole chain of a tenant.
pub async fn verify_chain(
    svc: &Services,
    tenant: TenantId,
    slug: &str,
) -> Result<VerifyReport, String> {
    let store = &svc.store;
    let (anchor_seq, anchor_hash) = store
        .audit_anchor(tenant)
        .await
        .map_err(|e| e.to_string())?;
    let (head_seq, head_hash) = store.audit_head(tenant).await.map_err(|e| e.to_string())?;
    let checkpoints = store
        .list_checkpoints(tenant)
        .await
        .map_err(|e| e.to_string())?;
    let keys = store
        .list_signing_keys(tenant)
        .await
        .map_err(|e| e.to_string())?;
    let mut report = VerifyReport {
        tenant: slug.to_string(),
        intact: true,
        entries: 0,
        checkpoints: checkpoints.len() as u64,
        anchor_seq,
        head_seq,
        first_broken_seq: None,
        problem: None,
    };
    let broken = |report: &mut VerifyReport, seq: i64, why: String| {
        if report.intact {
            report.intact = false;
            report.first_broken_seq = Some(seq);
            report.problem = Some(why);
        }
    };
    // Checkpoints must carry a valid signature by one of the tenant's own keys.
    let mut signed: std::collections::BTreeMap<i64, String> = Default::default();
    for cp in &checkpoints {
        match verify_checkpoint(svc, tenant, cp, &keys) {
            Ok(()) => {
                signed.insert(cp.seq, cp.hash.clone());
            }
            Err(why) => broken(
                &mut report,
                cp.seq,
                format!("checkpoint at entry {}: {why}", cp.seq),
            ),
        }
    }
    if let Some(h) = signed.get(&anchor_seq)
        && *h != anchor_hash
    {
        broken(
            &mut report,
            anchor_seq,
            "the pruning anchor does not match its signed checkpoint".into(),
        );
    }
    let (mut prev_seq, mut prev_hash) = (anchor_seq, anchor_hash);
    loop {
        let batch = store
            .audit_chain(tenant, prev_seq, BATCH)
            .await
            .map_err(|e| e.to_string())?;
        if batch.is_empty() {
            break;
        }
        for e in &batch {
            report.entries += 1;
            if e.seq != prev_seq + 1 {
                broken(
                    &mut report,
                    prev_seq + 1,
                    format!(
                        "entry {} is missing (the next one is {})",
                        prev_seq + 1,
                        e.seq
                    ),
                );
            } else if e.prev_hash != prev_hash {
                broken(
                    &mut report,
                    e.seq,
                    format!("entry {} does not link to entry {}", e.seq, prev_seq),
                );
            } else if entry_hash(e) != e.hash {
                broken(
                    &mut report,
                    e.seq,
                    format!(
                        "entry {} was altered (its hash does not match its content)",
                        e.seq
                    ),
                );
            } else if let (Some(sealed), Some(digest)) = (&e.personal_sealed, &e.personal_digest)
                && sha256_hex(sealed) != *digest
            {
                broken(
                    &mut report,
                    e.seq,
                    format!("the personal data of entry {} was replaced", e.seq),
                );
            } else if e.personal_sealed.is_some() && e.personal_digest.is_none() {
                broken(
                    &mut report,
                    e.seq,
                    format!("entry {} carries personal data outside the chain", e.seq),
                );
            } else if let Some(h) = signed.get(&e.seq)
                && *h != e.hash
            {
                broken(
                    &mut report,
                    e.seq,
                    format!("entry {} differs from its signed checkpoint", e.seq),
                );
            }
            prev_seq = e.seq;
            prev_hash = e.hash.clone();
        }
        if batch.len() < BATCH as usize {
            break;
        }
    }
    if prev_seq != head_seq || prev_hash != head_hash {
        // Entries past the recorded head were appended by hand; a chain shorter than its head lost
        // its tail. Either way the first wrong entry is the one after the shorter of the two.
        let first = prev_seq.min(head_seq) + 1;
        broken(
            &mut report,
            first,
            format!("the chain ends at entry {prev_seq} but its head says {head_seq}"),
        );
    }
    if let Some((&last_cp, _)) = signed.iter().next_back()
        && last_cp > prev_seq
    {
        broken(
            &mut report,
            prev_seq + 1,
            format!("entries after {prev_seq} up to the signed checkpoint {last_cp} were removed"),
        );
    }
    Ok(report)
}

fn verify_checkpoint(
    svc: &Services,
    tenant: TenantId,
    cp: &AuditCheckpoint,
    keys: &[SigningKeyRecord],
) -> Result<(), String> {
    let header = decode_unverified(&cp.signature)
        .map_err(|_| "the signature is not a JWS".to_string())?
        .header;
    let kid = header
        .get("kid")
        .and_then(|v| v.as_str())
        .ok_or("the signature names no key")?;
    let record = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or("signed by a key this tenant does not have")?;
    // Only a key whose private half opens under the master key counts: a row inserted by someone
    // with database access alone cannot pass.
    let alg = SigningAlg::parse(&record.alg).map_err(|e| e.to_string())?;
    let der = svc
        .crypto
        .decrypt(
            format!("signing-key:{tenant}:{}", record.kid).as_bytes(),
            &record.private_key_sealed,
        )
        .map_err(|_| {
            "signed by a key that is not sealed under this deployment's master key".to_string()
        })?;
    let key = SigningKey::from_pkcs8(alg, &der).map_err(|e| e.to_string())?;
    if key.public_jwk() != record.public_jwk {
        return Err("the signing key's public half was replaced".into());
    }
    let verifier = VerifyingKey::from_jwk(&record.public_jwk).map_err(|e| e.to_string())?;
    let jwt = verify_jwt(&cp.signature, &[verifier], &["ES256", "RS256", "EdDSA"])
        .map_err(|_| "the signature does not verify".to_string())?;
    let c = &jwt.claims;
    let ok = c.get("tenant").and_then(|v| v.as_str()) == Some(&tenant.to_string())
        && c.get("seq").and_then(|v| v.as_i64()) == Some(cp.seq)
        && c.get("hash").and_then(|v| v.as_str()) == Some(cp.hash.as_str());
    if ok {
        Ok(())
    } else {
        Err("the signed content does not match the checkpoint row".into())
    }
}

/// Signs a checkpoint at the current head, unless the head already has one.
pub async fn checkpoint(
    svc: &Services,
    ring: &KeyRing,
    tenant: TenantId,
) -> Result<Option<AuditCheckpoint>, String> {
    let store = &svc.store;
    let (seq, hash) = store.audit_head(tenant).await.map_err(|e| e.to_string())?;
    if seq == 0 {
        return Ok(None);
    }
    let existing = store
        .list_checkpoints(tenant)
        .await
        .map_err(|e| e.to_string())?;
    if existing.iter().any(|c| c.seq == seq) {
        return Ok(None);
    }
    let keys = ring.keys(svc, tenant).await.map_err(|e| e.to_string())?;
    let signer = keys
        .signer(SigningAlg::ES256)
        .ok_or("no active ES256 key")?;
    let now = Services::now();
    let claims = json!({"tenant": tenant.to_string(), "seq": seq, "hash": hash, "iat": now.unix_timestamp()});
    let signature = signer
        .sign_jwt("audit-checkpoint+jwt", &claims)
        .map_err(|e| e.to_string())?;
    let cp = AuditCheckpoint {
        tenant_id: tenant,
        seq,
        hash,
        created_at: now,
        signature,
    };
    match store.insert_checkpoint(&cp).await {
        Ok(()) => Ok(Some(cp)),
        // Another node signed the same head first.
        Err(tessera_core::StoreError::Conflict(_)) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Prunes entries older than the tenant's retention period, up to the newest checkpoint created
/// before the cut-off, so the remaining chain still verifies from a signed anchor.
pub async fn enforce_retention(
    svc: &Services,
    tenant: TenantId,
    retention_days: u64,
) -> Result<u64, String> {
    let Some((_, seq)) = retention_plan(svc, tenant, retention_days).await? else {
        return Ok(0);
    };
    svc.store
        .prune_audit(tenant, seq)
        .await
        .map_err(|e| e.to_string())
}

/// What [`enforce_retention`] would prune now: the entries after `anchor` up to and including
/// `seq` (the newest signed checkpoint older than the retention period). `None`: nothing.
pub async fn retention_plan(
    svc: &Services,
    tenant: TenantId,
    retention_days: u64,
) -> Result<Option<(i64, i64)>, String> {
    if retention_days == 0 {
        return Ok(None);
    }
    let cutoff = Services::now() - time::Duration::days(retention_days as i64);
    let checkpoints = svc
        .store
        .list_checkpoints(tenant)
        .await
        .map_err(|e| e.to_string())?;
    let (anchor, _) = svc
        .store
        .audit_anchor(tenant)
        .await
        .map_err(|e| e.to_string())?;
    Ok(checkpoints
        .iter()
        .filter(|c| c.created_at <= cutoff && c.seq > anchor)
        .max_by_key(|c| c.seq)
        .map(|cp| (anchor, cp.seq)))
}
