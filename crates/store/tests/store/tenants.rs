use tessera_core::StoreError;
use tessera_core::store::{
    ApiKeyStore, ClientStore, GroupStore, SessionStore, TenantStore, ThrottleStore, UserStore,
};
use tessera_core::tenant::{Preset, Tenant, TenantSettings};
use tessera_core::throttle::ThrottlePolicy;
use tessera_core::{ApiKeyId, TenantId, apikey::ApiKey, apikey::ApiScope};
use time::Duration;

use crate::common::*;

pub async fn migrations_are_idempotent(h: &Harness) {
    // The harness already migrated once.
    h.store.migrate().await.unwrap();
    h.store.migrate().await.unwrap();
    h.store.ping().await.unwrap();
    let expected = if h.sqlite_path().is_some() {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(h.store.backend(), expected);
    // A second store on the same database migrates as a no-op too.
    let other = h.store_with_other_key().await;
    other.migrate().await.unwrap();
    other.close().await;
}

pub async fn tenants_crud(h: &Harness) {
    let s = &h.store;
    let mut acme = Tenant::new("acme", Some("Acme Corp"), Preset::Customer, t0()).unwrap();
    s.create_tenant(&acme).await.unwrap();
    let beta = tenant(s, "beta").await;

    assert_eq!(s.get_tenant(acme.id).await.unwrap(), Some(acme.clone()));
    assert_eq!(
        s.get_tenant_by_slug("acme").await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(s.get_tenant_by_slug("nope").await.unwrap(), None);
    assert_eq!(s.get_tenant(TenantId::new()).await.unwrap(), None);
    assert_eq!(
        s.list_tenants().await.unwrap(),
        vec![acme.clone(), beta.clone()]
    );

    let dup = Tenant::new("acme", None, Preset::Workforce, t0()).unwrap();
    assert!(matches!(s.create_tenant(&dup).await, Err(StoreError::Conflict(w)) if w == "slug"));

    acme.name = "Acme Inc".into();
    // Data residency: the declared region is stored and read back (and cleared again below).
    acme.region = Some("eu-west".into());
    acme.settings = TenantSettings {
        self_registration: false,
        session_idle_timeout_secs: 600,
        ..acme.settings.clone()
    };
    acme.updated_at = t0() + Duration::minutes(1);
    s.update_tenant(&acme).await.unwrap();
    assert_eq!(s.get_tenant(acme.id).await.unwrap(), Some(acme.clone()));
    assert_eq!(
        s.get_tenant_by_slug("acme")
            .await
            .unwrap()
            .unwrap()
            .region
            .as_deref(),
        Some("eu-west")
    );
    acme.region = None;
    s.update_tenant(&acme).await.unwrap();
    assert_eq!(s.get_tenant(acme.id).await.unwrap(), Some(acme.clone()));

    let mut taken = beta.clone();
    taken.slug = "acme".into();
    assert!(matches!(s.update_tenant(&taken).await, Err(StoreError::Conflict(w)) if w == "slug"));
    let ghost = Tenant::new("ghost", None, Preset::Workforce, t0()).unwrap();
    assert!(matches!(
        s.update_tenant(&ghost).await,
        Err(StoreError::NotFound)
    ));

    assert!(s.delete_tenant(beta.id).await.unwrap());
    assert!(!s.delete_tenant(beta.id).await.unwrap());
    assert_eq!(s.get_tenant(beta.id).await.unwrap(), None);
    assert_eq!(s.list_tenants().await.unwrap(), vec![acme]);
}

pub async fn delete_tenant_cascades(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "doomed").await;
    let keep = tenant(s, "keep").await;
    let u = user(s, t.id, "a@doomed.example").await;
    let kept_user = user(s, keep.id, "a@doomed.example").await;
    let g = group(s, t.id, "admins").await;
    s.add_member(t.id, g.id, u.id).await.unwrap();
    let c = client(s, t.id, "web").await;
    let sess = session(s, &u, "doomed-hash", t0()).await;
    s.record_failure(t.id, "account:a", &ThrottlePolicy::per_account(), t0())
        .await
        .unwrap();
    let key = ApiKey {
        id: ApiKeyId::new(),
        tenant_id: t.id,
        name: "ci".into(),
        display_prefix: "tsk_abcd".into(),
        key_hash: "doomed-key-hash".into(),
        scopes: vec![ApiScope::Read],
        created_at: t0(),
        expires_at: None,
        revoked_at: None,
        admin_role: None,
    };
    s.create_api_key(&key).await.unwrap();

    assert!(s.delete_tenant(t.id).await.unwrap());
    assert_eq!(s.get_user(t.id, u.id).await.unwrap(), None);
    assert_eq!(s.count_users(t.id).await.unwrap(), 0);
    assert_eq!(s.get_group(t.id, g.id).await.unwrap(), None);
    assert!(s.list_members(t.id, g.id).await.unwrap().is_empty());
    assert_eq!(s.get_client(t.id, &c.client_id).await.unwrap(), None);
    assert_eq!(s.get_session(t.id, sess.id).await.unwrap(), None);
    assert_eq!(
        s.find_session_by_token_hash(t.id, "doomed-hash")
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.get_throttle(t.id, "account:a").await.unwrap(), None);
    assert_eq!(
        s.find_api_key_by_hash("doomed-key-hash").await.unwrap(),
        None
    );
    // The other tenant keeps its own account with the same email.
    assert_eq!(
        s.get_user(keep.id, kept_user.id).await.unwrap(),
        Some(kept_user)
    );
}
