use serde_json::json;
use tessera_core::oauth::{KeyStatus, SigningKeyRecord};
use tessera_core::store::{SigningKeyStore, TenantStore};
use tessera_core::{StoreError, TenantId, Timestamp};
use time::Duration;

use crate::common::*;

/// An active key; the "sealed" bytes are arbitrary (the store does not open them).
pub fn new_signing_key(
    tenant: TenantId,
    kid: &str,
    alg: &str,
    created: Timestamp,
) -> SigningKeyRecord {
    let mut sealed = vec![0x00, 0xff, 0x10, 0x80];
    sealed.extend_from_slice(kid.as_bytes());
    SigningKeyRecord {
        kid: kid.into(),
        tenant_id: tenant,
        alg: alg.into(),
        private_key_sealed: sealed,
        public_jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": alg, "x": "f83O", "y": "x_FE"}),
        status: KeyStatus::Active,
        created_at: created,
        retired_at: None,
        publish_until: None,
    }
}

fn active_kids(keys: &[SigningKeyRecord], alg: &str) -> Vec<String> {
    keys.iter()
        .filter(|k| k.alg == alg && k.status == KeyStatus::Active)
        .map(|k| k.kid.clone())
        .collect()
}

pub async fn signing_keys_lifecycle(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let other = tenant(s, "other").await;

    // Same creation time: listed by kid.
    let es = new_signing_key(t.id, "k-b-es", "ES256", t0());
    let rs = new_signing_key(t.id, "k-a-rs", "RS256", t0());
    s.insert_signing_key(&es).await.unwrap();
    s.insert_signing_key(&rs).await.unwrap();
    assert_eq!(
        s.list_signing_keys(t.id).await.unwrap(),
        vec![rs.clone(), es.clone()]
    );

    // The partial unique index refuses a second active key of an algorithm…
    let second = new_signing_key(t.id, "k-c-es", "ES256", t0() + Duration::seconds(1));
    assert!(
        matches!(s.insert_signing_key(&second).await, Err(StoreError::Conflict(w)) if w == "active_key")
    );
    // …but not a retired one, nor an active key of the same algorithm in another tenant.
    let mut old = new_signing_key(t.id, "k-0-old", "ES256", t0() - Duration::days(30));
    old.status = KeyStatus::Retired;
    old.retired_at = Some(t0() - Duration::days(1));
    old.publish_until = Some(t0() + Duration::hours(3));
    s.insert_signing_key(&old).await.unwrap();
    let other_es = new_signing_key(other.id, "k-b-es", "ES256", t0());
    s.insert_signing_key(&other_es).await.unwrap();
    // A kid is unique per tenant.
    let mut clash = new_signing_key(t.id, "k-a-rs", "EdDSA", t0());
    clash.status = KeyStatus::Retired;
    assert!(
        matches!(s.insert_signing_key(&clash).await, Err(StoreError::Conflict(w)) if w == "kid")
    );
    assert!(matches!(
        s.insert_signing_key(&new_signing_key(TenantId::new(), "k", "ES256", t0()))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        s.list_signing_keys(t.id).await.unwrap(),
        vec![old.clone(), rs.clone(), es.clone()]
    );

    // Rotation retires the active ES256 key and stores the new one as active, whatever the
    // record says; RS256 and the other tenant are untouched.
    let now = t0() + Duration::hours(1);
    let publish_until = now + Duration::hours(1);
    let mut fresh = new_signing_key(t.id, "k-d-es", "ES256", now);
    fresh.status = KeyStatus::Retired;
    fresh.retired_at = Some(now);
    fresh.publish_until = Some(now);
    s.rotate_signing_key(&fresh, publish_until, now)
        .await
        .unwrap();
    let keys = s.list_signing_keys(t.id).await.unwrap();
    let retired_es = SigningKeyRecord {
        status: KeyStatus::Retired,
        retired_at: Some(now),
        publish_until: Some(publish_until),
        ..es.clone()
    };
    let active_fresh = SigningKeyRecord {
        status: KeyStatus::Active,
        retired_at: None,
        publish_until: None,
        ..fresh.clone()
    };
    assert_eq!(
        keys,
        vec![
            old.clone(),
            rs.clone(),
            retired_es.clone(),
            active_fresh.clone()
        ]
    );
    assert_eq!(active_kids(&keys, "ES256"), vec!["k-d-es".to_string()]);
    assert!(retired_es.is_published(now + Duration::minutes(59)));
    assert!(!retired_es.is_published(publish_until));
    assert_eq!(
        s.list_signing_keys(other.id).await.unwrap(),
        vec![other_es.clone()]
    );

    // A rotation that fails (kid taken) changes nothing: the retirement is rolled back.
    let taken = new_signing_key(t.id, "k-a-rs", "ES256", now + Duration::minutes(1));
    assert!(matches!(
        s.rotate_signing_key(&taken, publish_until, now + Duration::minutes(1))
            .await,
        Err(StoreError::Conflict(w)) if w == "kid"
    ));
    assert_eq!(s.list_signing_keys(t.id).await.unwrap(), keys);
    // Rotating an algorithm with no active key just adds one.
    let ed = new_signing_key(t.id, "k-e-ed", "EdDSA", now + Duration::minutes(2));
    s.rotate_signing_key(&ed, publish_until, now + Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(
        active_kids(&s.list_signing_keys(t.id).await.unwrap(), "EdDSA"),
        vec!["k-e-ed".to_string()]
    );

    // Purge drops retired keys once no longer published; never active ones, never another
    // tenant's.
    assert_eq!(
        s.purge_signing_keys(t.id, publish_until - Duration::milliseconds(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.purge_signing_keys(other.id, t0() + Duration::days(365))
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.purge_signing_keys(t.id, publish_until).await.unwrap(), 1);
    let kids: Vec<String> = s
        .list_signing_keys(t.id)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    // k-0-old is published until t0 + 3h.
    assert_eq!(kids, vec!["k-0-old", "k-a-rs", "k-d-es", "k-e-ed"]);
    assert_eq!(
        s.purge_signing_keys(t.id, t0() + Duration::days(365))
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.list_signing_keys(other.id).await.unwrap(), vec![other_es]);

    // Keys go with their tenant.
    assert!(s.delete_tenant(t.id).await.unwrap());
    assert!(s.list_signing_keys(t.id).await.unwrap().is_empty());
}
