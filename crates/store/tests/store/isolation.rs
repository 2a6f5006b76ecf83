//! With two tenants A and B, every call made with A's id on B's objects finds nothing and
//! changes nothing.

use tessera_core::StoreError;
use tessera_core::events::{AuditCheckpoint, AuditFilter, GENESIS_HASH};
use tessera_core::page::PageRequest;
use tessera_core::store::{
    ApiKeyStore, AuditStore, ClientStore, GrantStore, GroupStore, SessionStore, SigningKeyStore,
    ThrottleStore, UserStore, WebhookStore,
};
use tessera_core::throttle::ThrottlePolicy;
use tessera_core::user::UserFilter;
use tessera_core::webhook::WebhookDelivery;
use time::Duration;

use crate::api_keys::new_key;
use crate::audit::{group_created, signin_failed, verify_chain};
use crate::common::*;
use crate::grants::{consent, new_access, new_code, new_device, new_refresh};
use crate::signing_keys::new_signing_key;
use crate::webhooks::{new_delivery, new_webhook};

pub async fn tenant_isolation(h: &Harness) {
    let s = &h.store;
    let a = tenant(s, "tenant-a").await;
    let b = tenant(s, "tenant-b").await;
    let ua = user(s, a.id, "a@example.com").await;
    let ga = group(s, a.id, "Staff").await;
    let ub = user(s, b.id, "b@example.com").await;
    let gb = group(s, b.id, "Staff").await; // same name is fine across tenants
    s.add_member(b.id, gb.id, ub.id).await.unwrap();
    let cb = client(s, b.id, "shared-name").await;
    let sb = session(s, &ub, "b-token-hash", t0()).await;
    let kb = new_key(b.id, "b-key-hash");
    s.create_api_key(&kb).await.unwrap();
    let p = ThrottlePolicy::per_account();
    let throttle_b = s.record_failure(b.id, "account:b", &p, t0()).await.unwrap();
    let now = t0() + Duration::minutes(1);

    // Users.
    assert_eq!(s.get_user(a.id, ub.id).await.unwrap(), None);
    assert_eq!(
        s.find_user_by_email(a.id, "b@example.com").await.unwrap(),
        None
    );
    let listed = s
        .list_users(a.id, &UserFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        listed.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![ua.id]
    );
    let by_email = UserFilter {
        email: Some("b@example.com".into()),
        ..Default::default()
    };
    assert!(
        s.list_users(a.id, &by_email, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let mut hijack = ub.clone();
    hijack.tenant_id = a.id;
    hijack.name = Some("Mallory".into());
    assert!(matches!(
        s.update_user(&hijack).await,
        Err(StoreError::NotFound)
    ));
    assert!(!s.delete_user(a.id, ub.id).await.unwrap());
    assert!(matches!(
        s.record_sign_in(a.id, ub.id, now, Some("$evil")).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.count_users(a.id).await.unwrap(), 1);

    // Groups and memberships.
    assert_eq!(s.get_group(a.id, gb.id).await.unwrap(), None);
    let groups_a = s.list_groups(a.id, &PageRequest::default()).await.unwrap();
    assert_eq!(groups_a.items, vec![ga.clone()]);
    let mut group_hijack = gb.clone();
    group_hijack.tenant_id = a.id;
    group_hijack.name = "Pwned".into();
    assert!(matches!(
        s.update_group(&group_hijack).await,
        Err(StoreError::NotFound)
    ));
    assert!(!s.delete_group(a.id, gb.id).await.unwrap());
    assert!(matches!(
        s.add_member(a.id, gb.id, ub.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.add_member(a.id, ga.id, ub.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.add_member(a.id, gb.id, ua.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.add_member(b.id, gb.id, ua.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.add_member(b.id, ga.id, ub.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(!s.remove_member(a.id, gb.id, ub.id).await.unwrap());
    assert!(s.list_members(a.id, gb.id).await.unwrap().is_empty());
    assert!(s.groups_of_user(a.id, ub.id).await.unwrap().is_empty());
    assert!(s.list_members(a.id, ga.id).await.unwrap().is_empty());

    // Clients.
    assert_eq!(s.get_client(a.id, "shared-name").await.unwrap(), None);
    assert!(s.list_clients(a.id).await.unwrap().is_empty());
    let mut client_hijack = cb.clone();
    client_hijack.tenant_id = a.id;
    client_hijack.redirect_uris = vec!["https://evil.example/cb".into()];
    assert!(matches!(
        s.update_client(&client_hijack).await,
        Err(StoreError::NotFound)
    ));
    assert!(!s.delete_client(a.id, "shared-name").await.unwrap());
    // The same client_id is free in tenant A, and creating it there does not touch B's.
    s.create_client(&client_hijack).await.unwrap();

    // Sessions.
    assert_eq!(s.get_session(a.id, sb.id).await.unwrap(), None);
    assert_eq!(
        s.find_session_by_token_hash(a.id, "b-token-hash")
            .await
            .unwrap(),
        None
    );
    s.touch_session(a.id, sb.id, now).await.unwrap();
    assert!(!s.revoke_session(a.id, sb.id, now).await.unwrap());
    assert_eq!(s.revoke_user_sessions(a.id, ub.id, now).await.unwrap(), 0);
    assert!(s.list_sessions(a.id, None, now).await.unwrap().is_empty());
    assert!(
        s.list_sessions(a.id, Some(ub.id), now)
            .await
            .unwrap()
            .is_empty()
    );
    let mut session_hijack = new_session(&ub, "a-token-hash", t0());
    session_hijack.tenant_id = a.id;
    assert!(matches!(
        s.create_session(&session_hijack).await,
        Err(StoreError::NotFound)
    ));

    // Throttle counters.
    assert_eq!(s.get_throttle(a.id, "account:b").await.unwrap(), None);
    s.clear_throttle(a.id, "account:b").await.unwrap();
    assert_eq!(
        s.record_failure(a.id, "account:b", &p, now)
            .await
            .unwrap()
            .failures,
        1
    );

    // API keys.
    assert!(s.list_api_keys(a.id).await.unwrap().is_empty());
    assert!(!s.revoke_api_key(a.id, kb.id, now).await.unwrap());

    // Tenant B is exactly as it was.
    assert_eq!(s.get_user(b.id, ub.id).await.unwrap(), Some(ub.clone()));
    assert_eq!(
        s.find_user_by_email(b.id, "b@example.com").await.unwrap(),
        Some(ub.clone())
    );
    assert_eq!(s.get_group(b.id, gb.id).await.unwrap(), Some(gb.clone()));
    assert_eq!(s.list_members(b.id, gb.id).await.unwrap(), vec![ub.id]);
    assert_eq!(s.groups_of_user(b.id, ub.id).await.unwrap(), vec![gb]);
    assert_eq!(
        s.get_client(b.id, "shared-name").await.unwrap(),
        Some(cb.clone())
    );
    assert_eq!(s.list_clients(b.id).await.unwrap(), vec![cb]);
    assert_eq!(s.get_session(b.id, sb.id).await.unwrap(), Some(sb.clone()));
    assert_eq!(s.list_sessions(b.id, None, now).await.unwrap(), vec![sb]);
    assert_eq!(
        s.get_throttle(b.id, "account:b").await.unwrap(),
        Some(throttle_b)
    );
    assert_eq!(s.list_api_keys(b.id).await.unwrap(), vec![kb.clone()]);
    assert_eq!(
        s.find_api_key_by_hash("b-key-hash").await.unwrap(),
        Some(kb)
    );
    assert_eq!(s.count_users(b.id).await.unwrap(), 1);
    // And tenant A's own objects were not disturbed by the attempts.
    assert_eq!(s.get_user(a.id, ua.id).await.unwrap(), Some(ua));
    assert_eq!(s.get_group(a.id, ga.id).await.unwrap(), Some(ga));
}

/// The same for the OAuth tables: signing keys, codes, refresh and access tokens, revoked
/// families, consents, assertion jtis, session clients and device authorizations.
pub async fn grant_tables_isolation(h: &Harness) {
    let s = &h.store;
    let a = tenant(s, "tenant-a").await;
    let b = tenant(s, "tenant-b").await;
    let ua = user(s, a.id, "a@example.com").await;
    let ub = user(s, b.id, "b@example.com").await;
    let sb = session(s, &ub, "b-session", t0()).await;
    let kb = new_signing_key(b.id, "kid-shared", "ES256", t0());
    s.insert_signing_key(&kb).await.unwrap();
    let code_b = new_code(&ub, "b-code", "web");
    s.insert_authorization_code(&code_b).await.unwrap();
    let rt_b = new_refresh(b.id, Some(ub.id), "b-rt", "b-family", "web");
    s.insert_refresh_token(&rt_b).await.unwrap();
    let at_b = new_access(b.id, Some(ub.id), "b-jti", Some("b-family"), "web");
    s.insert_access_token(&at_b).await.unwrap();
    s.revoke_access_token(
        b.id,
        "b-revoked-jti",
        "web",
        t0() + Duration::hours(1),
        t0(),
    )
    .await
    .unwrap();
    let consent_b = consent(&ub, "web", &["openid"], t0());
    s.upsert_consent(&consent_b).await.unwrap();
    assert!(
        s.remember_assertion_jti(b.id, "web", "b-assertion", t0() + Duration::hours(1), t0())
            .await
            .unwrap()
    );
    s.record_session_client(b.id, sb.id, "web", t0())
        .await
        .unwrap();
    let dev_b = new_device(b.id, "b-device", "WDJBMJHT");
    s.insert_device_authorization(&dev_b).await.unwrap();
    let now = t0() + Duration::minutes(1);

    // Signing keys: the same kid is free in A; A's rotation and purge leave B's key alone.
    assert!(s.list_signing_keys(a.id).await.unwrap().is_empty());
    let ka = new_signing_key(a.id, "kid-shared", "ES256", t0());
    s.insert_signing_key(&ka).await.unwrap();
    let ka2 = new_signing_key(a.id, "kid-a2", "ES256", now);
    s.rotate_signing_key(&ka2, now, now).await.unwrap();
    assert_eq!(
        s.purge_signing_keys(a.id, now + Duration::days(1))
            .await
            .unwrap(),
        1
    );

    // Authorization codes.
    assert_eq!(
        s.consume_authorization_code(a.id, "b-code", now)
            .await
            .unwrap(),
        None
    );
    let mut code_hijack = new_code(&ub, "a-code", "web");
    code_hijack.tenant_id = a.id;
    assert!(matches!(
        s.insert_authorization_code(&code_hijack).await,
        Err(StoreError::NotFound)
    ));

    // Refresh and access tokens, families.
    assert_eq!(s.get_refresh_token(a.id, "b-rt").await.unwrap(), None);
    assert!(!s.mark_refresh_rotated(a.id, "b-rt", now).await.unwrap());
    assert_eq!(s.revoke_family(a.id, "b-family", now).await.unwrap(), 0);
    assert!(!s.is_family_revoked(b.id, "b-family").await.unwrap());
    assert_eq!(
        s.revoke_user_client_tokens(a.id, ub.id, None, now)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.revoke_user_client_tokens(a.id, ua.id, None, now)
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.get_access_token(a.id, "b-jti").await.unwrap(), None);
    s.revoke_access_token(a.id, "b-jti", "web", t0() + Duration::hours(1), now)
        .await
        .unwrap();
    assert_eq!(s.get_access_token(a.id, "b-jti").await.unwrap(), None);
    assert!(!s.is_family_revoked(a.id, "b-revoked-jti").await.unwrap());
    let rt_hijack = new_refresh(a.id, Some(ub.id), "a-rt", "a-family", "web");
    assert!(matches!(
        s.insert_refresh_token(&rt_hijack).await,
        Err(StoreError::NotFound)
    ));
    let at_hijack = new_access(a.id, Some(ub.id), "a-jti", None, "web");
    assert!(matches!(
        s.insert_access_token(&at_hijack).await,
        Err(StoreError::NotFound)
    ));

    // Consents.
    assert_eq!(s.get_consent(a.id, ub.id, "web").await.unwrap(), None);
    assert!(s.list_consents(a.id, ub.id).await.unwrap().is_empty());
    assert!(!s.delete_consent(a.id, ub.id, "web").await.unwrap());
    let mut consent_hijack = consent(&ub, "web", &["openid", "admin"], now);
    consent_hijack.tenant_id = a.id;
    assert!(matches!(
        s.upsert_consent(&consent_hijack).await,
        Err(StoreError::NotFound)
    ));

    // Assertion jtis are remembered per tenant.
    assert!(
        s.remember_assertion_jti(a.id, "web", "b-assertion", t0() + Duration::hours(1), now)
            .await
            .unwrap()
    );

    // Session clients.
    assert!(
        s.list_session_clients(a.id, sb.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        s.record_session_client(a.id, sb.id, "evil", now).await,
        Err(StoreError::NotFound)
    ));

    // Device authorizations: the same user code is free in A.
    assert_eq!(
        s.get_device_by_user_code(a.id, "WDJBMJHT").await.unwrap(),
        None
    );
    assert_eq!(
        s.get_device_by_code_hash(a.id, "b-device").await.unwrap(),
        None
    );
    assert!(
        !s.decide_device(a.id, "WDJBMJHT", true, ua.id, None, now)
            .await
            .unwrap()
    );
    assert!(!s.consume_device(a.id, "b-device").await.unwrap());
    s.touch_device_poll(a.id, "b-device", now).await.unwrap();
    s.insert_device_authorization(&new_device(a.id, "a-device", "WDJBMJHT"))
        .await
        .unwrap();
    assert!(
        s.decide_device(a.id, "WDJBMJHT", true, ua.id, None, now)
            .await
            .unwrap()
    );

    // Tenant B is exactly as it was.
    assert_eq!(s.list_signing_keys(b.id).await.unwrap(), vec![kb]);
    assert_eq!(s.get_refresh_token(b.id, "b-rt").await.unwrap(), Some(rt_b));
    assert_eq!(s.get_access_token(b.id, "b-jti").await.unwrap(), Some(at_b));
    assert!(s.is_family_revoked(b.id, "b-revoked-jti").await.unwrap());
    assert_eq!(s.list_consents(b.id, ub.id).await.unwrap(), vec![consent_b]);
    assert!(
        !s.remember_assertion_jti(b.id, "web", "b-assertion", t0() + Duration::hours(1), now)
            .await
            .unwrap()
    );
    assert_eq!(
        s.list_session_clients(b.id, sb.id).await.unwrap(),
        vec!["web".to_string()]
    );
    assert_eq!(
        s.get_device_by_code_hash(b.id, "b-device").await.unwrap(),
        Some(dev_b)
    );
    // B's code was never redeemed: B's own redemption is the first.
    assert_eq!(
        s.consume_authorization_code(b.id, "b-code", now)
            .await
            .unwrap(),
        Some(code_b)
    );
}

/// The same for the audit trail (entries, heads and anchors, subject keys, checkpoints) and the
/// webhook tables (subscriptions and their outbox).
pub async fn audit_and_webhook_isolation(h: &Harness) {
    let s = &h.store;
    let a = tenant(s, "tenant-a").await;
    let b = tenant(s, "tenant-b").await;
    let ub = user(s, b.id, "b@example.com").await;
    let hook_b = new_webhook(b.id, &[]);
    s.create_webhook(&hook_b).await.unwrap();
    let mut entries_b = Vec::new();
    let mut deliveries_b = Vec::new();
    for i in 1..=3 {
        let e = signin_failed(b.id, ub.id, i, "192.0.2.66");
        let d = new_delivery(&hook_b, &e, t0());
        entries_b.push(s.append_event(&e, std::slice::from_ref(&d)).await.unwrap());
        deliveries_b.push(d);
    }
    let cp_b = AuditCheckpoint {
        tenant_id: b.id,
        seq: 2,
        hash: entries_b[1].hash.clone(),
        created_at: t0(),
        signature: "b.cp.sig".into(),
    };
    s.insert_checkpoint(&cp_b).await.unwrap();
    let listed_b = s
        .list_audit(b.id, &AuditFilter::default(), &PageRequest::default())
        .await
        .unwrap()
        .items;
    let now = t0() + Duration::minutes(1);

    // Audit trail: A sees none of B's entries, whatever the filter.
    let everything = AuditFilter::default();
    assert!(
        s.list_audit(a.id, &everything, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let by_actor = AuditFilter {
        actor_id: Some(ub.id.to_string()),
        ip: Some("192.0.2.66".into()),
        ..Default::default()
    };
    assert!(
        s.list_audit(a.id, &by_actor, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(s.audit_chain(a.id, 0, 100).await.unwrap().is_empty());
    assert_eq!(
        s.audit_head(a.id).await.unwrap(),
        (0, GENESIS_HASH.to_string())
    );
    assert_eq!(
        s.audit_anchor(a.id).await.unwrap(),
        (0, GENESIS_HASH.to_string())
    );
    assert!(s.list_checkpoints(a.id).await.unwrap().is_empty());
    assert!(s.prune_audit(a.id, 2).await.is_err());
    assert_eq!(s.erase_audit_subject(a.id, ub.id).await.unwrap(), 0);
    // A checkpoint of A at B's seq does not let A prune B.
    let mut cp_hijack = cp_b.clone();
    cp_hijack.tenant_id = a.id;
    s.insert_checkpoint(&cp_hijack).await.unwrap();
    assert!(s.prune_audit(a.id, 2).await.is_err());
    // A's chain starts at 1 whatever B's is at.
    let first_a = s
        .append_event(&group_created(a.id, 1, "staff"), &[])
        .await
        .unwrap();
    assert_eq!((first_a.seq, first_a.prev_hash.as_str()), (1, GENESIS_HASH));
    assert!(matches!(
        s.append_event(
            &group_created(a.id, 2, "x"),
            &[new_delivery(
                &hook_b,
                &signin_failed(a.id, ub.id, 2, "x"),
                t0()
            )]
        )
        .await,
        Err(StoreError::Backend(_))
    ));

    // Webhooks: the same subscription id is free in A; B's stays B's.
    assert_eq!(s.get_webhook(a.id, hook_b.id).await.unwrap(), None);
    assert!(s.list_webhooks(a.id).await.unwrap().is_empty());
    assert!(!s.delete_webhook(a.id, hook_b.id).await.unwrap());
    assert!(
        s.list_deliveries(a.id, hook_b.id, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        !s.redeliver(a.id, hook_b.id, deliveries_b[0].id, now)
            .await
            .unwrap()
    );
    let mut hook_a = new_webhook(a.id, &[]);
    hook_a.id = hook_b.id;
    s.create_webhook(&hook_a).await.unwrap();
    // A delivery of A naming B's subscription id lands in A's subscription of that id.
    let e = group_created(a.id, 3, "ops");
    let d = WebhookDelivery {
        tenant_id: a.id,
        ..new_delivery(&hook_b, &e, t0())
    };
    s.append_event(&e, std::slice::from_ref(&d)).await.unwrap();
    assert_eq!(
        s.list_deliveries(a.id, hook_a.id, &PageRequest::default())
            .await
            .unwrap()
            .items,
        vec![d]
    );
    assert!(s.delete_webhook(a.id, hook_a.id).await.unwrap());

    // Tenant B is exactly as it was.
    assert_eq!(verify_chain(s, b.id).await, entries_b);
    assert_eq!(
        s.list_audit(b.id, &AuditFilter::default(), &PageRequest::default())
            .await
            .unwrap()
            .items,
        listed_b
    );
    assert!(listed_b.iter().all(|(_, p)| p.is_some()));
    assert_eq!(s.list_checkpoints(b.id).await.unwrap(), vec![cp_b]);
    assert_eq!(
        s.get_webhook(b.id, hook_b.id).await.unwrap(),
        Some(hook_b.clone())
    );
    let mut expected = deliveries_b.clone();
    expected.reverse();
    assert_eq!(
        s.list_deliveries(b.id, hook_b.id, &PageRequest::default())
            .await
            .unwrap()
            .items,
        expected
    );
    let mut tenants = vec![a.id, b.id];
    tenants.sort_by_key(|t| t.to_string());
    assert_eq!(s.audit_tenants().await.unwrap(), tenants);
}
