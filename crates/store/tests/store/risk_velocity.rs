use tessera_core::store::{RiskVelocityKind, RiskVelocityRecord, RiskVelocityStore, TenantStore};
use time::Duration;

use crate::common::*;

/// The shared velocity journal: a node reads what the others counted (not its own), in order,
/// with the sealed IP opened; old records are purged; records go with their tenant.
pub async fn risk_velocity_journal_is_shared_and_purged(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let rec = |node: &str, secs: i64, kind| RiskVelocityRecord {
        id: 0,
        tenant_id: t.id,
        node: node.into(),
        at: t0() + Duration::seconds(secs),
        kind,
        account: "acct-key".into(),
        ip: Some("198.51.100.7".into()),
        password_fingerprint: Some("fp".into()),
    };
    s.append_risk_velocity(&[
        rec("a", 0, RiskVelocityKind::Failure),
        rec("b", 1, RiskVelocityKind::Refused),
        rec("b", 2, RiskVelocityKind::Success),
    ])
    .await
    .unwrap();
    s.append_risk_velocity(&[]).await.unwrap();
    let seen = s.risk_velocity_since(t0(), "a", 10).await.unwrap();
    assert_eq!(seen.len(), 2, "node a does not read its own records");
    assert_eq!(seen[0].kind, RiskVelocityKind::Refused);
    assert_eq!(seen[0].ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(seen[0].password_fingerprint.as_deref(), Some("fp"));
    assert_eq!(seen[0].tenant_id, t.id);
    assert_eq!(seen[1].kind, RiskVelocityKind::Success);
    assert!(seen[0].id < seen[1].id);
    assert_eq!(s.risk_velocity_since(t0(), "x", 1).await.unwrap().len(), 1);
    let later = s
        .risk_velocity_since(t0() + Duration::seconds(2), "a", 10)
        .await
        .unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(
        s.purge_risk_velocity(t0() + Duration::seconds(2))
            .await
            .unwrap(),
        2
    );
    assert_eq!(s.risk_velocity_since(t0(), "x", 10).await.unwrap().len(), 1);
    s.delete_tenant(t.id).await.unwrap();
    assert!(
        s.risk_velocity_since(t0(), "x", 10)
            .await
            .unwrap()
            .is_empty()
    );
}
