use tessera_core::apikey::{ApiKey, ApiScope};
use tessera_core::store::ApiKeyStore;
use tessera_core::{ApiKeyId, StoreError, TenantId};
use time::Duration;

use crate::common::*;

pub fn new_key(tenant: TenantId, hash: &str) -> ApiKey {
    ApiKey {
        id: ApiKeyId::new(),
        tenant_id: tenant,
        name: "deploy bot".into(),
        display_prefix: "tsk_9f3a".into(),
        key_hash: hash.into(),
        scopes: vec![ApiScope::Read, ApiScope::Write],
        created_at: t0(),
        expires_at: Some(t0() + Duration::days(90)),
        revoked_at: None,
        admin_role: Some(tessera_core::apikey::AdminRole::UserManager),
    }
}

pub async fn api_keys_crud(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let k1 = new_key(t.id, "hash-1");
    s.create_api_key(&k1).await.unwrap();
    let mut k2 = new_key(t.id, "hash-2");
    k2.scopes = vec![ApiScope::Read];
    k2.expires_at = None;
    k2.created_at = t0() + Duration::seconds(1);
    s.create_api_key(&k2).await.unwrap();

    assert_eq!(
        s.find_api_key_by_hash("hash-1").await.unwrap(),
        Some(k1.clone())
    );
    assert_eq!(s.find_api_key_by_hash("hash-3").await.unwrap(), None);
    assert_eq!(
        s.list_api_keys(t.id).await.unwrap(),
        vec![k1.clone(), k2.clone()]
    );
    let dup = new_key(t.id, "hash-1");
    assert!(
        matches!(s.create_api_key(&dup).await, Err(StoreError::Conflict(w)) if w == "key_hash")
    );

    let at = t0() + Duration::hours(1);
    assert!(s.revoke_api_key(t.id, k1.id, at).await.unwrap());
    assert!(
        !s.revoke_api_key(t.id, k1.id, at + Duration::hours(1))
            .await
            .unwrap()
    );
    assert!(!s.revoke_api_key(t.id, ApiKeyId::new(), at).await.unwrap());
    let found = s.find_api_key_by_hash("hash-1").await.unwrap().unwrap();
    assert_eq!(found.revoked_at, Some(at));
    assert!(!found.is_usable(at));
    assert!(
        s.find_api_key_by_hash("hash-2")
            .await
            .unwrap()
            .unwrap()
            .is_usable(at)
    );
}
