//! Factors, recovery codes and sign-ins in progress: one-time uses hold under races, secrets are
//! sealed, WebAuthn credential ids are unique per tenant, flows are found by browser binding and
//! by emailed link, and everything goes with its user and tenant.

use tessera_core::mfa::{
    Factor, FactorKind, FlowStage, LoginFlow, MAX_FLOW_ATTEMPTS, PendingChallenge,
};
use tessera_core::store::{MfaStore, SessionStore, UserStore};
use tessera_core::{FactorId, Secret, StoreError};
use time::Duration;

use crate::common::*;

fn totp(user: &tessera_core::user::User) -> Factor {
    Factor {
        id: FactorId::new(),
        tenant_id: user.tenant_id,
        user_id: user.id,
        kind: FactorKind::Totp,
        name: "Phone".into(),
        secret: Secret::new(String::from("JBSWY3DPEHPK3PXP")),
        credential_id: None,
        discoverable: false,
        aaguid: None,
        confirmed_at: None,
        last_used_at: None,
        last_totp_step: None,
        created_at: t0(),
    }
}

fn key(user: &tessera_core::user::User, credential_id: &str) -> Factor {
    Factor {
        kind: FactorKind::Webauthn,
        name: "YubiKey".into(),
        secret: Secret::new(String::from("{\"cred\":1}")),
        credential_id: Some(credential_id.into()),
        discoverable: true,
        aaguid: Some(uuid::Uuid::nil()),
        confirmed_at: Some(t0()),
        ..totp(user)
    }
}

pub async fn factors_lifecycle_and_totp_replay(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let u = user(s, t.id, "ann@acme.test").await;
    let f = totp(&u);
    s.create_factor(&f).await.unwrap();
    assert_eq!(s.get_factor(t.id, f.id).await.unwrap(), Some(f.clone()));
    // An unconfirmed factor cannot be used.
    assert!(!s.use_totp_step(t.id, f.id, 10, t0()).await.unwrap());
    // Confirmation happens once and records the first step.
    assert!(
        s.confirm_factor(t.id, u.id, f.id, Some(10), t0())
            .await
            .unwrap()
    );
    assert!(
        !s.confirm_factor(t.id, u.id, f.id, Some(11), t0())
            .await
            .unwrap()
    );
    // A step is accepted once, and never an older one.
    assert!(!s.use_totp_step(t.id, f.id, 10, t0()).await.unwrap());
    assert!(!s.use_totp_step(t.id, f.id, 9, t0()).await.unwrap());
    assert!(s.use_totp_step(t.id, f.id, 11, t0()).await.unwrap());
    let got = s.get_factor(t.id, f.id).await.unwrap().unwrap();
    assert_eq!(got.last_totp_step, Some(11));
    assert!(got.is_confirmed());
    // Concurrent uses of the same step: exactly one wins.
    let results = futures_join(s, t.id, f.id, 12).await;
    assert_eq!(results.iter().filter(|r| **r).count(), 1, "{results:?}");

    assert!(
        s.rename_factor(t.id, u.id, f.id, "Work phone")
            .await
            .unwrap()
    );
    assert_eq!(
        s.get_factor(t.id, f.id).await.unwrap().unwrap().name,
        "Work phone"
    );
    // Another user cannot rename or delete it.
    let v = user(s, t.id, "bob@acme.test").await;
    assert!(!s.rename_factor(t.id, v.id, f.id, "x").await.unwrap());
    assert!(!s.delete_factor(t.id, v.id, f.id).await.unwrap());
    assert!(s.delete_factor(t.id, u.id, f.id).await.unwrap());
    assert_eq!(s.list_factors(t.id, u.id).await.unwrap(), vec![]);
}

async fn futures_join(
    s: &tessera_store::Store,
    t: tessera_core::TenantId,
    f: FactorId,
    step: i64,
) -> Vec<bool> {
    let mut handles = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        handles.push(tokio::spawn(async move {
            s.use_totp_step(t, f, step, t0()).await.unwrap()
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

pub async fn webauthn_credentials_are_unique_per_tenant(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let other = tenant(s, "other").await;
    let u = user(s, t.id, "ann@acme.test").await;
    let v = user(s, t.id, "bob@acme.test").await;
    let w = user(s, other.id, "ann@other.test").await;
    let k = key(&u, "cred-1");
    s.create_factor(&k).await.unwrap();
    // The same credential for another user of the tenant is refused; another tenant may hold it.
    match s.create_factor(&key(&v, "cred-1")).await {
        Err(StoreError::Conflict(name)) => assert_eq!(name, "credential_id"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    s.create_factor(&key(&w, "cred-1")).await.unwrap();
    let found = s
        .find_factor_by_credential_id(t.id, "cred-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user_id, u.id);
    assert_eq!(
        s.find_factor_by_credential_id(other.id, "cred-1")
            .await
            .unwrap()
            .unwrap()
            .user_id,
        w.id
    );
    s.record_webauthn_use(t.id, k.id, &Secret::new(String::from("{\"cred\":2}")), t0())
        .await
        .unwrap();
    let got = s.get_factor(t.id, k.id).await.unwrap().unwrap();
    assert_eq!(got.secret.expose(), "{\"cred\":2}");
    assert_eq!(got.last_used_at, Some(t0()));
    // The tenant's factors never show through the other tenant.
    assert_eq!(s.get_factor(other.id, k.id).await.unwrap(), None);
}

pub async fn recovery_codes_are_single_use_and_replaced(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let u = user(s, t.id, "ann@acme.test").await;
    let codes: Vec<String> = (0..10).map(|i| format!("digest-{i}")).collect();
    s.replace_recovery_codes(t.id, u.id, &codes, t0())
        .await
        .unwrap();
    assert_eq!(s.count_recovery_codes(t.id, u.id).await.unwrap(), 10);
    assert!(
        s.use_recovery_code(t.id, u.id, "digest-3", t0())
            .await
            .unwrap()
    );
    assert!(
        !s.use_recovery_code(t.id, u.id, "digest-3", t0())
            .await
            .unwrap()
    );
    assert!(
        !s.use_recovery_code(t.id, u.id, "unknown", t0())
            .await
            .unwrap()
    );
    assert_eq!(s.count_recovery_codes(t.id, u.id).await.unwrap(), 9);
    // Another user's digest does not work for this user.
    let v = user(s, t.id, "bob@acme.test").await;
    assert!(
        !s.use_recovery_code(t.id, v.id, "digest-4", t0())
            .await
            .unwrap()
    );
    // A new set replaces the old one.
    s.replace_recovery_codes(t.id, u.id, &["new".into()], t0())
        .await
        .unwrap();
    assert!(
        !s.use_recovery_code(t.id, u.id, "digest-4", t0())
            .await
            .unwrap()
    );
    assert_eq!(s.count_recovery_codes(t.id, u.id).await.unwrap(), 1);
    // An admin reset removes factors and codes.
    s.create_factor(&totp(&u)).await.unwrap();
    assert_eq!(s.delete_all_factors(t.id, u.id).await.unwrap(), 1);
    assert_eq!(s.count_recovery_codes(t.id, u.id).await.unwrap(), 0);
}

pub async fn login_flows_bind_browsers_and_links(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let u = user(s, t.id, "ann@acme.test").await;
    let mut flow = LoginFlow::new(t.id, "binding-1".into(), "/t/acme/account".into(), t0());
    s.create_login_flow(&flow).await.unwrap();
    assert_eq!(
        s.find_login_flow(t.id, "binding-1").await.unwrap(),
        Some(flow.clone())
    );
    flow.stage = FlowStage::SecondFactor;
    flow.user_id = Some(u.id);
    flow.methods = vec!["pwd".into()];
    flow.pending = Some(PendingChallenge::EmailCode {
        code_hash: "code-digest".into(),
        sent_at: t0(),
        user_known: true,
    });
    flow.link_hash = Some("link-digest".into());
    s.update_login_flow(&flow).await.unwrap();
    assert_eq!(
        s.find_login_flow_by_link(t.id, "link-digest")
            .await
            .unwrap(),
        Some(flow.clone())
    );
    assert_eq!(
        s.find_login_flow_by_id(t.id, flow.id).await.unwrap(),
        Some(flow.clone())
    );
    // Wrong answers are counted atomically.
    for i in 1..=MAX_FLOW_ATTEMPTS {
        assert_eq!(s.record_flow_attempt(t.id, flow.id).await.unwrap(), i);
    }
    let other = tenant(s, "other").await;
    assert_eq!(
        s.find_login_flow(other.id, "binding-1").await.unwrap(),
        None
    );
    assert_eq!(
        s.find_login_flow_by_link(other.id, "link-digest")
            .await
            .unwrap(),
        None
    );
    // A flow completes once.
    assert!(s.delete_login_flow(t.id, flow.id).await.unwrap());
    assert!(!s.delete_login_flow(t.id, flow.id).await.unwrap());
    // Expired flows are purged.
    let old = LoginFlow::new(t.id, "binding-2".into(), String::new(), t0());
    s.create_login_flow(&old).await.unwrap();
    assert_eq!(
        s.purge_login_flows(t0() + Duration::hours(1))
            .await
            .unwrap(),
        1
    );
    // Factors and flows go with their user.
    s.create_factor(&totp(&u)).await.unwrap();
    assert!(s.delete_user(t.id, u.id).await.unwrap());
    assert_eq!(s.list_factors(t.id, u.id).await.unwrap(), vec![]);
}

pub async fn sessions_are_renewed_in_place(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let u = user(s, t.id, "ann@acme.test").await;
    let mut session = tessera_core::session::Session {
        id: tessera_core::SessionId::new(),
        tenant_id: t.id,
        user_id: u.id,
        token_hash: "old".into(),
        created_at: t0(),
        last_seen_at: t0(),
        expires_at: t0() + Duration::hours(8),
        idle_timeout_secs: 3600,
        auth_methods: vec!["pwd".into()],
        ip: None,
        user_agent: None,
        revoked_at: None,
    };
    s.create_session(&session).await.unwrap();
    let later = t0() + Duration::minutes(5);
    let methods: Vec<String> = vec!["pwd".into(), "otp".into(), "mfa".into()];
    assert!(
        s.reauthenticate_session(t.id, session.id, "new", &methods, later)
            .await
            .unwrap()
    );
    assert_eq!(
        s.find_session_by_token_hash(t.id, "old").await.unwrap(),
        None
    );
    let got = s
        .find_session_by_token_hash(t.id, "new")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, session.id);
    assert_eq!(got.auth_methods, methods);
    assert_eq!(got.created_at, later);
    // A revoked session is not renewed.
    s.revoke_session(t.id, session.id, later).await.unwrap();
    session.token_hash = "new".into();
    assert!(
        !s.reauthenticate_session(t.id, session.id, "newer", &methods, later)
            .await
            .unwrap()
    );
}
