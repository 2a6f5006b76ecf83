//! Retention: the maintenance job (run at start-up) prunes the entries older than the tenant's
//! `settings.audit_retention_days`, up to the newest checkpoint signed before the cut-off, so the
//! rest of the chain still verifies from that signed anchor. Time passes by restarting the server
//! with `TESSERA_TEST_CLOCK_OFFSET_SECS` (400 days ahead), not by sleeping.

use std::time::Duration;

use serde_json::json;

use crate::harness::{Api, Backend, poll_until, start};
use crate::support::chain::assert_linked;
use crate::support::{TENANT, assert_intact, audit_all, checkpoint, db, tenant};

const FOUR_HUNDRED_DAYS: &str = "34560000";

async fn set_retention(api: &Api, slug: &str, days: u64) {
    let t = api.get(&format!("/tenants/{slug}")).await.expect(200);
    let mut settings = t["settings"].clone();
    settings["audit_retention_days"] = json!(days);
    let changed = api
        .patch(&format!("/tenants/{slug}"), &json!({"settings": settings}))
        .await
        .expect(200);
    assert_eq!(changed["settings"]["audit_retention_days"], days);
}

async fn retention_prunes_up_to_a_checkpoint(backend: Backend) {
    let (dep, mut server, api) = start(backend).await;
    let tid = tenant(&api, TENANT).await;
    let keep_tid = tenant(&api, "keep").await;
    set_retention(&api, TENANT, 30).await;
    set_retention(&api, "keep", 500).await;
    for i in 0..4 {
        for slug in [TENANT, "keep"] {
            api.create_user(slug, &format!("old{i}@{slug}.test"), None)
                .await;
        }
    }
    let cp = checkpoint(&server, TENANT).await;
    let keep_cp = checkpoint(&server, "keep").await;
    for i in 0..2 {
        api.create_user(TENANT, &format!("new{i}@acme.test"), None)
            .await;
    }
    let before = audit_all(&api, TENANT).await;
    let head = before[0]["seq"].as_i64().expect("seq");
    assert_eq!(head, cp + 2);
    server.stop().await;

    // 400 days later the maintenance job runs at start-up.
    let later = dep
        .start_with(&[("TESSERA_TEST_CLOCK_OFFSET_SECS", FOUR_HUNDRED_DAYS)])
        .await;
    let api = later.admin_api().await;
    let v = poll_until(
        "the retention job to prune acme's trail",
        Duration::from_secs(30),
        || async {
            let v = crate::support::api_verify(&api, TENANT).await;
            (v["anchor_seq"].as_i64() > Some(0)).then_some(v)
        },
    )
    .await;
    assert_eq!(v["anchor_seq"], cp, "pruned up to the checkpoint: {v}");
    assert_eq!(v["intact"], true, "{v}");
    assert!(
        later.log().contains("audit entries past retention pruned"),
        "the log says so:\n{}",
        later.log()
    );

    let after = audit_all(&api, TENANT).await;
    let oldest = after.last().expect("entries remain");
    assert_eq!(
        oldest["seq"],
        cp + 1,
        "nothing at or before the checkpoint remains"
    );
    assert_eq!(
        after[after.len() - 2..],
        before[..2],
        "the entries after the checkpoint are kept as they were"
    );
    let rows = db::entries(&dep, &tid).await;
    assert_eq!(rows[0].seq, cp + 1);
    let (_, _, anchor_seq, anchor_hash) = db::head(&dep, &tid).await;
    assert_eq!(anchor_seq, cp);
    assert_eq!(
        anchor_hash,
        before
            .iter()
            .find(|e| e["seq"] == cp)
            .and_then(|e| e["hash"].as_str())
            .expect("the checkpointed entry's hash")
    );
    assert_linked(&tid, &rows, (anchor_seq, &anchor_hash));
    let cps = db::checkpoints(&dep, &tid).await;
    assert_eq!(cps[0].0, cp, "the anchor's checkpoint stays: {cps:?}");
    let report = assert_intact(&dep, Some((&later, &api)), TENANT).await;
    assert!(report["anchor_seq"].as_i64() > Some(0), "{report}");
    assert_eq!(report["anchor_seq"], cp);
    assert_eq!(
        report["entries"].as_i64(),
        Some(report["head_seq"].as_i64().expect("head") - cp),
        "{report}"
    );

    // A tenant that keeps its trail for 500 days loses nothing.
    let kept = db::entries(&dep, &keep_tid).await;
    assert_eq!(kept[0].seq, 1, "nothing pruned from keep");
    assert!(kept.len() as i64 >= keep_cp);
    let report = assert_intact(&dep, Some((&later, &api)), "keep").await;
    assert_eq!(report["anchor_seq"], 0);
}

on_both_backends!(retention_prunes_up_to_a_checkpoint);
