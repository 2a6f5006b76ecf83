//! Tamper evidence: someone with access to the database alone (the server stopped) changes the
//! audit tables; `tessera audit verify --tenant T --json` then exits non-zero and names the first
//! entry that no longer verifies, while an untouched deployment verifies with exit 0.
//!
//! Each kind of tampering gets its own fresh deployment holding the same trail: 13 entries, a
//! signed checkpoint at entry 10 (made with `tessera audit checkpoint`), three entries after it.
//! Forged rows carry correctly recomputed hashes (the chain format is public), so only the links
//! to their neighbours, the head and the signed checkpoints can give them away.

use serde_json::{Value, json};

use crate::harness::{Backend, Deployment, start};
use crate::support::chain::{assert_linked, entry_hash, sha256_hex};
use crate::support::db::{self, EntryRow};
use crate::support::{TENANT, api_verify, assert_intact, checkpoint, cli_verify, tenant};

/// The middle entry most kinds of tampering aim at (a `user.created` with personal data).
const M: i64 = 5;
/// Where the signed checkpoint is.
const CP: i64 = 10;
/// The last entry.
const HEAD: i64 = 13;

/// A deployment with the trail described in the module comment, its server stopped; returns it
/// with the tenant id.
async fn prepared(backend: Backend) -> (Deployment, String) {
    let (dep, mut server, api) = start(backend).await;
    let tid = tenant(&api, TENANT).await; // 1
    let t = format!("/tenants/{TENANT}");
    let mut users = Vec::new();
    for i in 0..4 {
        let u = api
            .create_user(TENANT, &format!("user{i}@acme.test"), None)
            .await; // 2..=5
        users.push(u["id"].as_str().expect("id").to_string());
    }
    let g = api
        .post(&format!("{t}/groups"), &json!({"name": "Staff"}))
        .await
        .expect(201); // 6
    let g = g["id"].as_str().expect("id");
    assert_eq!(
        api.put(&format!("{t}/groups/{g}/members/{}", users[0]))
            .await
            .status,
        204
    ); // 7
    api.patch(
        &format!("{t}/users/{}", users[1]),
        &json!({"name": "Renamed Person"}),
    )
    .await
    .expect(200); // 8
    api.post_empty(&format!("{t}/users/{}/disable", users[2]))
        .await
        .expect(200); // 9 user.disabled, 10 user.updated
    assert_eq!(checkpoint(&server, TENANT).await, CP);
    for name in ["After1", "After2", "After3"] {
        api.post(&format!("{t}/groups"), &json!({"name": name}))
            .await
            .expect(201); // 11..=13
    }
    let report = assert_intact(&dep, Some((&server, &api)), TENANT).await;
    assert_eq!(report["head_seq"], HEAD, "{report}");
    assert_eq!(report["checkpoints"], 1, "{report}");
    server.stop().await;
    let rows = db::entries(&dep, &tid).await;
    assert_eq!(rows.len() as i64, HEAD);
    assert!(
        rows[(M - 2) as usize].personal_sealed.is_some()
            && rows[(M - 1) as usize].personal_sealed.is_some(),
        "entries {} and {M} carry sealed personal data",
        M - 1
    );
    (dep, tid)
}

fn row(rows: &[EntryRow], seq: i64) -> EntryRow {
    rows.iter()
        .find(|r| r.seq == seq)
        .unwrap_or_else(|| panic!("entry {seq} exists"))
        .clone()
}

/// Inserts `e` as a row of the tenant's trail.
async fn insert_row(dep: &Deployment, tid: &str, e: &EntryRow) {
    let sql = "INSERT INTO audit_entries (tenant_id, seq, event_id, occurred_at, event_type, \
               actor_id, target_id, outcome, body, subject_user_id, personal_sealed, \
               personal_digest, prev_hash, hash) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
    let n = with_db!(dep, c => sqlx::query(sql)
        .bind(tid)
        .bind(e.seq)
        .bind(&e.event_id)
        .bind(e.occurred_at)
        .bind(&e.event_type)
        .bind(e.actor_id.as_deref())
        .bind(e.target_id.as_deref())
        .bind(&e.outcome)
        .bind(&e.body)
        .bind(e.subject_user_id.as_deref())
        .bind(e.personal_sealed.as_deref())
        .bind(e.personal_digest.as_deref())
        .bind(&e.prev_hash)
        .bind(&e.hash)
        .execute(&mut c)
        .await
        .expect("a forged row can be inserted")
        .rows_affected());
    assert_eq!(n, 1);
}

/// A well-formed `group.created` entry that never happened, linked after `prev`.
fn forged_after(tid: &str, prev: &EntryRow, seq: i64) -> EntryRow {
    let body = json!({
        "type": "group.created", "v": 1, "name": "Backdoor",
        "actor": prev_actor(prev), "target": {"kind": "group", "id": uuid::Uuid::new_v4().to_string()},
        "outcome": "success", "subject": null,
    });
    let mut e = EntryRow {
        seq,
        event_id: uuid::Uuid::new_v4().to_string(),
        occurred_at: prev.occurred_at + 1,
        event_type: "group.created".into(),
        actor_id: None,
        target_id: None,
        outcome: "success".into(),
        body: body.to_string(),
        subject_user_id: None,
        personal_sealed: None,
        personal_digest: None,
        prev_hash: prev.hash.clone(),
        hash: String::new(),
    };
    e.hash = entry_hash(tid, &e);
    e
}

fn prev_actor(prev: &EntryRow) -> Value {
    let body: Value = serde_json::from_str(&prev.body).expect("JSON body");
    body["actor"].clone()
}

/// Moves entries after `after` one seq up, making room for an inserted row.
async fn shift_after(dep: &Deployment, tid: &str, after: i64) {
    // Two steps through negative seqs, as the primary key is checked row by row.
    db::exec(
        dep,
        format!(
            "UPDATE audit_entries SET seq = -(seq + 1) WHERE tenant_id = '{tid}' AND seq > {after}"
        ),
    )
    .await;
    db::exec(
        dep,
        format!("UPDATE audit_entries SET seq = -seq WHERE tenant_id = '{tid}' AND seq < 0"),
    )
    .await;
}

/// Sets the hash-related columns of a stored entry.
async fn rewrite_links(dep: &Deployment, tid: &str, e: &EntryRow) {
    let n = with_db!(dep, c => sqlx::query(
        "UPDATE audit_entries SET prev_hash = $1, hash = $2 WHERE tenant_id = $3 AND seq = $4",
    )
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .bind(tid)
    .bind(e.seq)
    .execute(&mut c)
    .await
    .expect("links can be rewritten")
        .rows_affected());
    assert_eq!(n, 1);
}

async fn set_head(dep: &Deployment, tid: &str, seq: i64, hash: &str) {
    db::exec(
        dep,
        format!("UPDATE audit_heads SET seq = {seq}, hash = '{hash}' WHERE tenant_id = '{tid}'"),
    )
    .await;
}

/// Verifies with the CLI and expects a broken chain at `first_broken`, the problem mentioning
/// `why`.
async fn assert_broken(dep: &Deployment, first_broken: i64, why: &str) -> Value {
    let (code, report) = cli_verify(dep, TENANT).await;
    assert_ne!(
        code,
        Some(0),
        "`tessera audit verify` must fail on a tampered chain: {report}"
    );
    assert_eq!(code, Some(6), "the exit status of a broken chain: {report}");
    assert_eq!(report["intact"], false, "{report}");
    assert_eq!(report["tenant"], TENANT, "{report}");
    assert_eq!(
        report["first_broken_seq"], first_broken,
        "the first entry that does not verify: {report}"
    );
    let problem = report["problem"].as_str().expect("a problem is named");
    assert!(
        problem.contains(why),
        "the problem ({problem}) says {why:?}: {report}"
    );
    report
}

async fn untouched_verifies(backend: Backend) {
    let (dep, tid) = prepared(backend).await;
    let rows = db::entries(&dep, &tid).await;
    assert_linked(&tid, &rows, (0, &"0".repeat(64)));
    let cps = db::checkpoints(&dep, &tid).await;
    assert_eq!(cps.len(), 1);
    assert_eq!(cps[0].0, CP);
    assert_eq!(
        cps[0].1,
        row(&rows, CP).hash,
        "the checkpoint vouches for entry 10"
    );
    let (seq, hash, anchor, _) = db::head(&dep, &tid).await;
    assert_eq!(
        (seq, hash.as_str(), anchor),
        (HEAD, row(&rows, HEAD).hash.as_str(), 0)
    );
    let report = assert_intact(&dep, None, TENANT).await;
    assert_eq!(report["entries"], HEAD);
    assert_eq!(report["checkpoints"], 1);
    // The human answer says the same with exit status 0.
    let human = dep.cli(&["audit", "verify", "--tenant", TENANT]).await;
    assert!(human.status.success(), "{}", human.stderr);
    assert!(human.stdout.contains("intact"), "{}", human.stdout);
    dep.cli(&["audit", "verify", "--tenant", "nope", "--json"])
        .await
        .error_json("not_found");
}

async fn updated_body(backend: Backend) {
    let (dep, tid) = prepared(backend).await;
    let target = row(&db::entries(&dep, &tid).await, M);
    let mut body: Value = serde_json::from_str(&target.body).expect("JSON body");
    body["outcome"] = json!("failure");
    let n = with_db!(&dep, c => sqlx::query(
        "UPDATE audit_entries SET body = $1, outcome = 'failure' WHERE tenant_id = $2 AND seq = $3",
    )
    .bind(body.to_string())
    .bind(&tid)
    .bind(M)
    .execute(&mut c)
    .await
    .expect("a body can be changed")
        .rows_affected());
    assert_eq!(n, 1);
    assert_broken(&dep, M, "altered").await;
    // The running server's API reports the same.
    let server = dep.start().await;
    let api = server.admin_api().await;
    let v = api_verify(&api, TENANT).await;
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["first_broken_seq"], M, "{v}");
}

async fn deleted_middle_row(backend: Backend) {
    let (dep, tid) = prepared(backend).await;
    let n = db::exec(
        &dep,
        format!("DELETE FROM audit_entries WHERE tenant_id = '{tid}' AND seq = {M}"),
    )
    .await;
    assert_eq!(n, 1);
    assert_broken(&dep, M, "missing").await;
}

async fn swapped_rows(backend: Backend) {
    let (dep, tid) = prepared(backend).await;
    for (from, to) in [(M, -1), (M + 1, M), (-1, M + 1)] {
        let n = db::exec(
            &dep,
            format!(
                "UPDATE audit_entries SET seq = {to} WHERE tenant_id = '{tid}' AND seq = {from}"
            ),
        )
        .await;
        assert_eq!(n, 1);
    }
    assert_broken(&dep, M, "does not link").await;
}

/// A forged row slipped in after entry M: it links to M and hashes right, so the entry after it
/// is the first that no longer links.
async fn inserted_forged_row(backend: Backend) {
    let (dep, tid) = prepared(backend).await;
    let rows = db::entries(&dep, &tid).await;
    shift_after(&dep, &tid, M).await;
    let forged = forged_after(&tid, &row(&rows, M), M + 1);
    insert_row(&dep, &tid, &forged).await;
    assert_broken(&dep, M + 2, "does not link").await;
}

/// The same forgery, with every later entry re-linked and re-hashed and the head moved: only the
/// signed checkpoint can tell, and it does.
async fn rewritten_history(backend: Backend) {
    let (dep, tid) = prepared(backend).await;
    let rows = db::entries(&dep, &tid).await;
    shift_after(&dep, &tid, M).await;
    let mut prev = forged_after(&tid, &row(&rows, M), M + 1);
    insert_row(&dep, &tid, &prev).await;
    for r in rows.iter().filter(|r| r.seq > M) {
        let mut e = r.clone();
        e.seq += 1;
        e.prev_hash = prev.hash.clone();
        e.hash = entry_hash(&tid, &e);
        rewrite_links(&dep, &tid, &e).await;
        prev = e;
    }
    set_head(&dep, &tid, prev.seq, &prev.hash).await;
    let forged_rows = db::entries(&dep, &tid).await;
    assert_linked(&tid, &forged_rows, (0, &"0".repeat(64)));
    assert_broken(&dep, CP, "signed checkpoint").await;
}

/// A well-formed row appended after the head (the head row untouched): the forged entry, HEAD+1,
/// is the first one the chain cannot account for.
async fn appended_forged_row(backend: Backend) {
    let (dep, tid) = prepared(backend).await;
    let rows = db::entries(&dep, &tid).await;
    let forged = forged_after(&tid, &row(&rows, HEAD), HEAD + 1);
    insert_row(&dep, &tid, &forged).await;
    assert_broken(&dep, HEAD + 1, "head").await;
}

async fn changed_personal_digest(backend: Backend) {
    let (dep, tid) = prepared(backend).await;
    let n = db::exec(
        &dep,
        format!(
            "UPDATE audit_entries SET personal_digest = '{}' WHERE tenant_id = '{tid}' AND seq = {M}",
            sha256_hex(b"someone else's data")
        ),
    )
    .await;
    assert_eq!(n, 1);
    assert_broken(&dep, M, "altered").await;
}

/// Moves another entry's sealed personal data into entry M.
async fn move_sealed_data(dep: &Deployment, tid: &str) {
    let rows = db::entries(dep, tid).await;
    let other = row(&rows, M - 1)
        .personal_sealed
        .expect("entry M-1 has sealed data");
    assert_ne!(Some(&other), row(&rows, M).personal_sealed.as_ref());
    let n = with_db!(dep, c => sqlx::query(
        "UPDATE audit_entries SET personal_sealed = $1 WHERE tenant_id = $2 AND seq = $3",
    )
    .bind(&other)
    .bind(tid)
    .bind(M)
    .execute(&mut c)
    .await
    .expect("sealed data can be replaced")
    .rows_affected());
    assert_eq!(n, 1);
}

/// Another entry's sealed personal data moved into entry M.
async fn replaced_personal_sealed(backend: Backend) {
    let (dep, tid) = prepared(backend).await;
    move_sealed_data(&dep, &tid).await;
    assert_broken(&dep, M, "personal data").await;
}

/// After such tampering the trail must stay readable: the one entry whose personal data no longer
/// opens shows none, the others as before (verification names the broken entry).
async fn trail_stays_readable_after_tampering(backend: Backend) {
    let (dep, tid) = prepared(backend).await;
    move_sealed_data(&dep, &tid).await;
    let server = dep.start().await;
    let api = server.admin_api().await;
    let r = api.get(&format!("/tenants/{TENANT}/audit?limit=200")).await;
    let page = r.expect(200);
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len() as i64, HEAD);
    let export = api.get(&format!("/tenants/{TENANT}/audit/export")).await;
    assert_eq!(export.status, 200, "{}", export.text());
    let cli = server.cli(&["audit", "export", "--tenant", TENANT]).await;
    assert!(cli.status.success(), "{}", cli.stderr);
}

/// The entries after the checkpoint deleted, the head row untouched.
async fn truncated_tail(backend: Backend) {
    let (dep, tid) = prepared(backend).await;
    let n = db::exec(
        &dep,
        format!("DELETE FROM audit_entries WHERE tenant_id = '{tid}' AND seq > {CP}"),
    )
    .await;
    assert_eq!(n as i64, HEAD - CP);
    assert_broken(&dep, CP + 1, "head says").await;
}

/// The tail deleted back past the checkpoint, and the head row moved to the new last entry: the
/// signed checkpoint still proves entries were removed.
async fn truncated_past_checkpoint(backend: Backend) {
    let (dep, tid) = prepared(backend).await;
    let rows = db::entries(&dep, &tid).await;
    let keep = CP - 2;
    db::exec(
        &dep,
        format!("DELETE FROM audit_entries WHERE tenant_id = '{tid}' AND seq > {keep}"),
    )
    .await;
    set_head(&dep, &tid, keep, &row(&rows, keep).hash).await;
    assert_broken(&dep, keep + 1, "were removed").await;
}

async fn altered_checkpoint_signature(backend: Backend) {
    let (dep, tid) = prepared(backend).await;
    let cps = db::checkpoints(&dep, &tid).await;
    let jws = &cps[0].2;
    let parts: Vec<&str> = jws.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS: {jws}");
    let mut sig: Vec<char> = parts[2].chars().collect();
    let i = sig.len() / 2;
    sig[i] = if sig[i] == 'A' { 'B' } else { 'A' };
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        sig.into_iter().collect::<String>()
    );
    let n = db::exec(
        &dep,
        format!(
            "UPDATE audit_checkpoints SET signature = '{forged}' WHERE tenant_id = '{tid}' AND seq = {CP}"
        ),
    )
    .await;
    assert_eq!(n, 1);
    assert_broken(&dep, CP, "checkpoint").await;
}

/// A checkpoint row made by copying a genuine signature to the newest entry: the signature
/// verifies, but not for that row's seq and hash.
async fn forged_checkpoint_row(backend: Backend) {
    let (dep, tid) = prepared(backend).await;
    let rows = db::entries(&dep, &tid).await;
    let genuine = db::checkpoints(&dep, &tid).await.remove(0);
    let head = row(&rows, HEAD);
    let n = with_db!(&dep, c => sqlx::query(
        "INSERT INTO audit_checkpoints (tenant_id, seq, hash, created_at, signature) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&tid)
    .bind(HEAD)
    .bind(&head.hash)
    .bind(head.occurred_at)
    .bind(&genuine.2)
    .execute(&mut c)
    .await
    .expect("a checkpoint row can be inserted")
    .rows_affected());
    assert_eq!(n, 1);
    assert_broken(&dep, HEAD, "checkpoint at entry 13").await;
}

mod unreadable {
    use super::*;
    on_both_backends!(trail_stays_readable_after_tampering,);
}

on_both_backends!(
    forged_checkpoint_row,
    untouched_verifies,
    updated_body,
    deleted_middle_row,
    swapped_rows,
    inserted_forged_row,
    rewritten_history,
    changed_personal_digest,
    replaced_personal_sealed,
    truncated_tail,
    truncated_past_checkpoint,
    altered_checkpoint_signature,
    appended_forged_row,
);
