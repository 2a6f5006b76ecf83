use std::collections::BTreeSet;

use serde_json::json;
use tessera_core::oauth::{
    AuthorizationCode, ConsentGrant, DeviceAuthorization, DeviceStatus, RefreshToken,
};
use tessera_core::store::{
    AccessTokenRecord, GrantStore, SessionStore, SigningKeyStore, TenantStore, UserStore,
};
use tessera_core::user::User;
use tessera_core::{SessionId, StoreError, TenantId, Timestamp, UserId};
use time::Duration;

use crate::common::*;
use crate::signing_keys::new_signing_key;

/// The one-statement reads for presented tokens (`present_*_token`) give what the separate reads
/// give: the record, its family's revocation, the account (personal fields opened) and the bound
/// session's lifetime; nothing across tenants, nothing for accounts or sessions that are gone.
pub async fn presented_tokens_carry_their_user_and_session(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let mut alice = user(s, t.id, "alice@example.com").await;
    alice.name = Some("Alice Liddell".into());
    alice.phone = Some("+15555550100".into());
    alice.attributes = json!({"department": "R&D"});
    s.update_user(&alice).await.unwrap();
    let alice = s.get_user(t.id, alice.id).await.unwrap().unwrap();
    let sess = session(s, &alice, "sess-hash-p", t0()).await;

    let mut rt = new_refresh(t.id, Some(alice.id), "rt-p", "fam-p", "web");
    rt.session_id = Some(sess.id);
    s.insert_refresh_token(&rt).await.unwrap();
    let at = new_access(t.id, Some(alice.id), "at-p", Some("fam-p"), "web");
    s.insert_access_token(&at).await.unwrap();
    let machine = new_access(t.id, None, "jti-pm", None, "svc");
    s.insert_access_token(&machine).await.unwrap();

    let p = s
        .present_refresh_token(t.id, "rt-p")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.token, rt);
    assert!(!p.family_revoked);
    assert_eq!(p.user.as_ref(), Some(&alice));
    assert_eq!(p.session, Some(sess.lifetime()));
    assert!(p.session.unwrap().is_active(t0() + Duration::minutes(1)));

    let p = s.present_access_token(t.id, "at-p").await.unwrap().unwrap();
    assert_eq!(p.token, at);
    assert!(!p.family_revoked);
    assert_eq!(p.user.as_ref(), Some(&alice));
    assert_eq!(p.session, None);

    // A machine token names no account.
    let p = s
        .present_access_token(t.id, "jti-pm")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.token, p.family_revoked, p.user), (machine, false, None));

    // Unknown ids and another tenant's: nothing.
    let other = tenant(s, "other").await;
    assert!(
        s.present_refresh_token(t.id, "nope")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.present_access_token(t.id, "nope")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.present_refresh_token(other.id, "rt-p")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.present_access_token(other.id, "at-p")
            .await
            .unwrap()
            .is_none()
    );

    // A token bound to a session that is not stored: no lifetime (the caller refuses it).
    let orphan = new_refresh(t.id, Some(alice.id), "rt-orphan", "fam-o", "web");
    s.insert_refresh_token(&orphan).await.unwrap();
    let p = s
        .present_refresh_token(t.id, "rt-orphan")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.session, None);
    assert_eq!(p.user.as_ref(), Some(&alice));

    // A revoked session is read as revoked; a revoked family as revoked.
    let now = t0() + Duration::minutes(5);
    s.revoke_session(t.id, sess.id, now).await.unwrap();
    s.revoke_family(t.id, "fam-p", now).await.unwrap();
    let p = s
        .present_refresh_token(t.id, "rt-p")
        .await
        .unwrap()
        .unwrap();
    let lifetime = p.session.unwrap();
    assert_eq!(lifetime.revoked_at, Some(now));
    assert!(!lifetime.is_active(now));
    assert!(p.family_revoked);
    assert!(
        s.present_access_token(t.id, "at-p")
            .await
            .unwrap()
            .unwrap()
            .family_revoked
    );
}

/// A code issued at t0, valid ten minutes, every optional field set.
pub fn new_code(user: &User, code_hash: &str, client_id: &str) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: code_hash.into(),
        tenant_id: user.tenant_id,
        client_id: client_id.into(),
        user_id: user.id,
        session_id: Some(SessionId::new()),
        redirect_uri: "https://app.example.com/cb".into(),
        scope: "openid email".into(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        code_challenge_method: Some("S256".into()),
        auth_time: t0() - Duration::minutes(1),
        acr: Some("urn:tessera:acr:mfa".into()),
        amr: vec!["pwd".into(), "otp".into()],
        created_at: t0(),
        expires_at: t0() + Duration::minutes(10),
        consumed_at: None,
    }
}

/// A refresh token issued at t0: valid a day, its family thirty days.
pub fn new_refresh(
    tenant: TenantId,
    user: Option<UserId>,
    token_hash: &str,
    family_id: &str,
    client_id: &str,
) -> RefreshToken {
    RefreshToken {
        token_hash: token_hash.into(),
        family_id: family_id.into(),
        tenant_id: tenant,
        client_id: client_id.into(),
        user_id: user,
        session_id: user.map(|_| SessionId::new()),
        scope: "openid offline_access".into(),
        auth_time: user.map(|_| t0() - Duration::minutes(1)),
        amr: vec!["pwd".into()],
        acr: None,
        created_at: t0(),
        expires_at: t0() + Duration::days(1),
        family_expires_at: t0() + Duration::days(30),
        rotated_at: None,
        revoked_at: None,
    }
}

/// An access token issued at t0, valid an hour.
pub fn new_access(
    tenant: TenantId,
    user: Option<UserId>,
    token_id: &str,
    family_id: Option<&str>,
    client_id: &str,
) -> AccessTokenRecord {
    AccessTokenRecord {
        token_id: token_id.into(),
        tenant_id: tenant,
        client_id: client_id.into(),
        user_id: user,
        family_id: family_id.map(Into::into),
        scope: "openid email".into(),
        opaque_claims: None,
        created_at: t0(),
        expires_at: t0() + Duration::hours(1),
        revoked_at: None,
    }
}

pub fn new_device(
    tenant: TenantId,
    device_code_hash: &str,
    user_code: &str,
) -> DeviceAuthorization {
    DeviceAuthorization {
        device_code_hash: device_code_hash.into(),
        user_code: user_code.into(),
        tenant_id: tenant,
        client_id: "tv-app".into(),
        scope: "openid profile".into(),
        status: DeviceStatus::Pending,
        user_id: None,
        session_id: None,
        auth_time: None,
        created_at: t0(),
        expires_at: t0() + Duration::minutes(15),
        interval_secs: 5,
        last_polled_at: None,
    }
}

pub fn consent(user: &User, client_id: &str, scopes: &[&str], at: Timestamp) -> ConsentGrant {
    ConsentGrant {
        tenant_id: user.tenant_id,
        user_id: user.id,
        client_id: client_id.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        granted_at: at,
    }
}

pub async fn authorization_codes_are_single_use(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let code = new_code(&alice, "code-hash-1", "web");
    s.insert_authorization_code(&code).await.unwrap();
    let bare = AuthorizationCode {
        session_id: None,
        nonce: None,
        code_challenge: None,
        code_challenge_method: None,
        acr: None,
        amr: vec![],
        ..new_code(&alice, "code-hash-2", "web")
    };
    s.insert_authorization_code(&bare).await.unwrap();

    assert!(matches!(
        s.insert_authorization_code(&code).await,
        Err(StoreError::Conflict(w)) if w == "code_hash"
    ));
    let mut ghost_user = new_code(&alice, "code-hash-3", "web");
    ghost_user.user_id = UserId::new();
    assert!(matches!(
        s.insert_authorization_code(&ghost_user).await,
        Err(StoreError::NotFound)
    ));

    // The first redemption sees the code as it was: not consumed.
    let first = t0() + Duration::seconds(30);
    assert_eq!(
        s.consume_authorization_code(t.id, "code-hash-1", first)
            .await
            .unwrap(),
        Some(code.clone())
    );
    // A replay sees when it was redeemed, however often it is tried.
    let replayed = AuthorizationCode {
        consumed_at: Some(first),
        ..code.clone()
    };
    for later in [
        first,
        first + Duration::seconds(1),
        first + Duration::hours(1),
    ] {
        assert_eq!(
            s.consume_authorization_code(t.id, "code-hash-1", later)
                .await
                .unwrap(),
            Some(replayed.clone())
        );
    }
    assert_eq!(
        s.consume_authorization_code(t.id, "code-hash-zz", first)
            .await
            .unwrap(),
        None
    );
    // Optional fields round-trip as absent.
    assert_eq!(
        s.consume_authorization_code(t.id, "code-hash-2", first)
            .await
            .unwrap(),
        Some(bare)
    );
    // An expired code is still returned: expiry is the caller's to check.
    let mut stale = new_code(&alice, "code-hash-4", "web");
    stale.expires_at = t0();
    s.insert_authorization_code(&stale).await.unwrap();
    assert_eq!(
        s.consume_authorization_code(t.id, "code-hash-4", first)
            .await
            .unwrap(),
        Some(stale)
    );
}

pub async fn refresh_rotation_and_reuse(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let r1 = new_refresh(t.id, Some(alice.id), "rt-1", "fam-1", "web");
    s.insert_refresh_token(&r1).await.unwrap();
    assert_eq!(
        s.get_refresh_token(t.id, "rt-1").await.unwrap(),
        Some(r1.clone())
    );
    assert_eq!(s.get_refresh_token(t.id, "rt-zz").await.unwrap(), None);
    assert!(matches!(
        s.insert_refresh_token(&r1).await,
        Err(StoreError::Conflict(w)) if w == "token_hash"
    ));
    let ghost = new_refresh(t.id, Some(UserId::new()), "rt-ghost", "fam-g", "web");
    assert!(matches!(
        s.insert_refresh_token(&ghost).await,
        Err(StoreError::NotFound)
    ));
    // A client's own token (no user) round-trips.
    let machine = new_refresh(t.id, None, "rt-machine", "fam-m", "svc");
    s.insert_refresh_token(&machine).await.unwrap();
    assert_eq!(
        s.get_refresh_token(t.id, "rt-machine").await.unwrap(),
        Some(machine)
    );

    // Rotation succeeds once; the second attempt is reuse.
    let at = t0() + Duration::hours(1);
    assert!(s.mark_refresh_rotated(t.id, "rt-1", at).await.unwrap());
    assert!(
        !s.mark_refresh_rotated(t.id, "rt-1", at + Duration::seconds(1))
            .await
            .unwrap()
    );
    assert!(!s.mark_refresh_rotated(t.id, "rt-zz", at).await.unwrap());
    assert_eq!(
        s.get_refresh_token(t.id, "rt-1")
            .await
            .unwrap()
            .unwrap()
            .rotated_at,
        Some(at)
    );
    let mut r2 = new_refresh(t.id, Some(alice.id), "rt-2", "fam-1", "web");
    r2.created_at = at;
    s.insert_refresh_token(&r2).await.unwrap();

    // Reuse of rt-1 revokes the family: both tokens, counted once each.
    assert!(!s.is_family_revoked(t.id, "fam-1").await.unwrap());
    let revoked_at = at + Duration::minutes(5);
    assert_eq!(s.revoke_family(t.id, "fam-1", revoked_at).await.unwrap(), 2);
    for hash in ["rt-1", "rt-2"] {
        assert_eq!(
            s.get_refresh_token(t.id, hash)
                .await
                .unwrap()
                .unwrap()
                .revoked_at,
            Some(revoked_at)
        );
    }
    assert!(s.is_family_revoked(t.id, "fam-1").await.unwrap());
    assert!(!s.is_family_revoked(t.id, "fam-m").await.unwrap());
    // A revoked token cannot be rotated, and a second revocation changes nothing.
    assert!(
        !s.mark_refresh_rotated(t.id, "rt-2", revoked_at)
            .await
            .unwrap()
    );
    assert_eq!(
        s.revoke_family(t.id, "fam-1", revoked_at + Duration::hours(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.get_refresh_token(t.id, "rt-2")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(revoked_at)
    );
}

pub async fn family_revocation_reaches_access_tokens(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    s.insert_refresh_token(&new_refresh(t.id, Some(alice.id), "rt-f", "fam-f", "web"))
        .await
        .unwrap();
    let a1 = new_access(t.id, Some(alice.id), "jti-1", Some("fam-f"), "web");
    let a2 = new_access(t.id, Some(alice.id), "jti-2", Some("fam-f"), "web");
    let other = new_access(t.id, Some(alice.id), "jti-3", Some("fam-g"), "web");
    for a in [&a1, &a2, &other] {
        s.insert_access_token(a).await.unwrap();
    }

    let now = t0() + Duration::minutes(20);
    assert_eq!(s.revoke_family(t.id, "fam-f", now).await.unwrap(), 3);
    for id in ["jti-1", "jti-2"] {
        assert_eq!(
            s.get_access_token(t.id, id)
                .await
                .unwrap()
                .unwrap()
                .revoked_at,
            Some(now)
        );
    }
    assert_eq!(
        s.get_access_token(t.id, "jti-3").await.unwrap(),
        Some(other)
    );
    assert!(!s.is_family_revoked(t.id, "fam-g").await.unwrap());

    // A replayed code revokes "the family" named by its hash before any token of it exists.
    let code = new_code(&alice, "code-hash-replayed", "web");
    s.insert_authorization_code(&code).await.unwrap();
    assert!(
        !s.is_family_revoked(t.id, "code-hash-replayed")
            .await
            .unwrap()
    );
    assert_eq!(
        s.revoke_family(t.id, "code-hash-replayed", now)
            .await
            .unwrap(),
        0
    );
    assert!(
        s.is_family_revoked(t.id, "code-hash-replayed")
            .await
            .unwrap()
    );
    // The first redemption's tokens, written afterwards, are stored revoked and never rotate.
    s.insert_refresh_token(&new_refresh(
        t.id,
        Some(alice.id),
        "rt-late",
        "code-hash-replayed",
        "web",
    ))
    .await
    .unwrap();
    s.insert_access_token(&new_access(
        t.id,
        Some(alice.id),
        "jti-late",
        Some("code-hash-replayed"),
        "web",
    ))
    .await
    .unwrap();
    assert_eq!(
        s.get_refresh_token(t.id, "rt-late")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(now)
    );
    assert_eq!(
        s.get_access_token(t.id, "jti-late")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(now)
    );
    assert!(!s.mark_refresh_rotated(t.id, "rt-late", now).await.unwrap());
    // A family nothing is known about can be revoked too.
    assert_eq!(s.revoke_family(t.id, "fam-unknown", now).await.unwrap(), 0);
    assert!(s.is_family_revoked(t.id, "fam-unknown").await.unwrap());
    // A token written with its own revocation time keeps it.
    let mut own = new_refresh(t.id, Some(alice.id), "rt-own", "fam-unknown", "web");
    own.revoked_at = Some(now + Duration::minutes(1));
    s.insert_refresh_token(&own).await.unwrap();
    assert_eq!(
        s.get_refresh_token(t.id, "rt-own").await.unwrap(),
        Some(own)
    );
}

pub async fn access_tokens_record_and_revoke(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let mut opaque = new_access(
        t.id,
        Some(alice.id),
        "sha256-of-opaque",
        Some("fam-1"),
        "web",
    );
    opaque.opaque_claims = Some(json!({
        "active": true, "sub": alice.id.to_string(), "scope": "openid email",
        "exp": 1767229200, "nested": {"roles": ["admin"]}
    }));
    s.insert_access_token(&opaque).await.unwrap();
    let jwt = new_access(t.id, None, "jti-machine", None, "svc");
    s.insert_access_token(&jwt).await.unwrap();
    assert_eq!(
        s.get_access_token(t.id, "sha256-of-opaque").await.unwrap(),
        Some(opaque.clone())
    );
    assert_eq!(
        s.get_access_token(t.id, "jti-machine").await.unwrap(),
        Some(jwt.clone())
    );
    assert_eq!(s.get_access_token(t.id, "nope").await.unwrap(), None);
    assert!(matches!(
        s.insert_access_token(&jwt).await,
        Err(StoreError::Conflict(w)) if w == "token_id"
    ));
    assert!(matches!(
        s.insert_access_token(&new_access(t.id, Some(UserId::new()), "jti-x", None, "web"))
            .await,
        Err(StoreError::NotFound)
    ));

    // Revoking a recorded token sets revoked_at once and keeps everything else.
    let now = t0() + Duration::minutes(5);
    s.revoke_access_token(t.id, "sha256-of-opaque", "web", opaque.expires_at, now)
        .await
        .unwrap();
    s.revoke_access_token(
        t.id,
        "sha256-of-opaque",
        "web",
        opaque.expires_at,
        now + Duration::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!(
        s.get_access_token(t.id, "sha256-of-opaque").await.unwrap(),
        Some(AccessTokenRecord {
            revoked_at: Some(now),
            ..opaque
        })
    );
    assert!(s.is_family_revoked(t.id, "sha256-of-opaque").await.unwrap());
    assert!(!s.is_family_revoked(t.id, "jti-machine").await.unwrap());

    // An unrecorded JWT is recorded as revoked until it expires.
    let exp = now + Duration::minutes(30);
    s.revoke_access_token(t.id, "jti-unrecorded", "svc", exp, now)
        .await
        .unwrap();
    assert_eq!(
        s.get_access_token(t.id, "jti-unrecorded").await.unwrap(),
        Some(AccessTokenRecord {
            token_id: "jti-unrecorded".into(),
            tenant_id: t.id,
            client_id: "svc".into(),
            user_id: None,
            family_id: None,
            scope: String::new(),
            opaque_claims: None,
            created_at: now,
            expires_at: exp,
            revoked_at: Some(now),
        })
    );
    assert!(s.is_family_revoked(t.id, "jti-unrecorded").await.unwrap());
}

pub async fn revoke_user_client_tokens_scopes_by_user_and_client(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let bob = user(s, t.id, "bob@example.com").await;
    let a = Some(alice.id);
    for r in [
        new_refresh(t.id, a, "a-web-1", "fam-web-1", "web"),
        new_refresh(t.id, a, "a-web-2", "fam-web-2", "web"),
        new_refresh(t.id, a, "a-mobile", "fam-mobile", "mobile"),
        new_refresh(t.id, Some(bob.id), "b-web", "fam-bob", "web"),
    ] {
        s.insert_refresh_token(&r).await.unwrap();
    }
    for x in [
        new_access(t.id, a, "at-web", Some("fam-web-1"), "web"),
        new_access(t.id, a, "at-web-solo", None, "web"),
        new_access(t.id, a, "at-mobile", Some("fam-mobile"), "mobile"),
        new_access(t.id, Some(bob.id), "at-bob", Some("fam-bob"), "web"),
    ] {
        s.insert_access_token(&x).await.unwrap();
    }
    // A code issued to alice for web, not yet redeemed.
    s.insert_authorization_code(&new_code(&alice, "code-pending", "web"))
        .await
        .unwrap();

    let now = t0() + Duration::minutes(1);
    assert_eq!(
        s.revoke_user_client_tokens(t.id, alice.id, Some("web"), now)
            .await
            .unwrap(),
        4
    );
    for hash in ["a-web-1", "a-web-2"] {
        let r = s.get_refresh_token(t.id, hash).await.unwrap().unwrap();
        assert_eq!(r.revoked_at, Some(now), "{hash}");
    }
    for (id, revoked) in [
        ("at-web", true),
        ("at-web-solo", true),
        ("at-mobile", false),
        ("at-bob", false),
    ] {
        let x = s.get_access_token(t.id, id).await.unwrap().unwrap();
        assert_eq!(x.revoked_at.is_some(), revoked, "{id}");
    }
    for (hash, revoked) in [("a-mobile", false), ("b-web", false)] {
        let r = s.get_refresh_token(t.id, hash).await.unwrap().unwrap();
        assert_eq!(r.revoked_at.is_some(), revoked, "{hash}");
    }
    for (family, revoked) in [
        ("fam-web-1", true),
        ("fam-web-2", true),
        ("code-pending", true),
        ("fam-mobile", false),
        ("fam-bob", false),
    ] {
        assert_eq!(
            s.is_family_revoked(t.id, family).await.unwrap(),
            revoked,
            "{family}"
        );
    }
    // Redeeming the pending code after the withdrawal yields revoked tokens.
    s.insert_refresh_token(&new_refresh(t.id, a, "a-web-late", "code-pending", "web"))
        .await
        .unwrap();
    assert_eq!(
        s.get_refresh_token(t.id, "a-web-late")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(now)
    );

    // Every client: the rest of alice's tokens; bob keeps his.
    let later = now + Duration::minutes(1);
    assert_eq!(
        s.revoke_user_client_tokens(t.id, alice.id, None, later)
            .await
            .unwrap(),
        2
    );
    assert!(s.is_family_revoked(t.id, "fam-mobile").await.unwrap());
    assert_eq!(
        s.revoke_user_client_tokens(t.id, alice.id, None, later)
            .await
            .unwrap(),
        0
    );
    assert!(
        s.get_refresh_token(t.id, "b-web")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    assert!(!s.is_family_revoked(t.id, "fam-bob").await.unwrap());
    // The first revocation time is kept.
    assert_eq!(
        s.get_refresh_token(t.id, "a-web-1")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(now)
    );
}

pub async fn consents_crud(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let bob = user(s, t.id, "bob@example.com").await;

    let zeta = consent(&alice, "zeta", &["openid", "email"], t0());
    s.upsert_consent(&zeta).await.unwrap();
    let alpha = consent(&alice, "alpha", &["openid"], t0());
    s.upsert_consent(&alpha).await.unwrap();
    let bobs = consent(&bob, "zeta", &["openid"], t0());
    s.upsert_consent(&bobs).await.unwrap();
    assert_eq!(
        s.get_consent(t.id, alice.id, "zeta").await.unwrap(),
        Some(zeta.clone())
    );
    assert_eq!(s.get_consent(t.id, alice.id, "nope").await.unwrap(), None);
    assert_eq!(
        s.list_consents(t.id, alice.id).await.unwrap(),
        vec![alpha.clone(), zeta.clone()]
    );

    // Upsert replaces the scopes and the time.
    let wider = consent(
        &alice,
        "zeta",
        &["openid", "email", "profile"],
        t0() + Duration::days(1),
    );
    s.upsert_consent(&wider).await.unwrap();
    assert_eq!(
        s.get_consent(t.id, alice.id, "zeta").await.unwrap(),
        Some(wider.clone())
    );
    let narrower = consent(&alice, "zeta", &[], t0() + Duration::days(2));
    s.upsert_consent(&narrower).await.unwrap();
    assert_eq!(
        s.list_consents(t.id, alice.id).await.unwrap(),
        vec![alpha.clone(), narrower]
    );
    assert_eq!(
        s.list_consents(t.id, bob.id).await.unwrap(),
        vec![bobs.clone()]
    );

    assert!(s.delete_consent(t.id, alice.id, "zeta").await.unwrap());
    assert!(!s.delete_consent(t.id, alice.id, "zeta").await.unwrap());
    assert_eq!(s.get_consent(t.id, alice.id, "zeta").await.unwrap(), None);
    assert_eq!(s.list_consents(t.id, alice.id).await.unwrap(), vec![alpha]);
    assert_eq!(
        s.get_consent(t.id, bob.id, "zeta").await.unwrap(),
        Some(bobs)
    );

    let mut ghost = consent(&alice, "web", &["openid"], t0());
    ghost.user_id = UserId::new();
    assert!(matches!(
        s.upsert_consent(&ghost).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn assertion_jtis_refuse_replays(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let now = t0();
    let exp = now + Duration::minutes(5);
    assert!(
        s.remember_assertion_jti(t.id, "web", "jti-1", exp, now)
            .await
            .unwrap()
    );
    assert!(
        !s.remember_assertion_jti(t.id, "web", "jti-1", exp, now + Duration::minutes(1))
            .await
            .unwrap()
    );
    // One millisecond before it expires, still a replay.
    assert!(
        !s.remember_assertion_jti(
            t.id,
            "web",
            "jti-1",
            exp + Duration::minutes(5),
            exp - Duration::milliseconds(1)
        )
        .await
        .unwrap()
    );
    // The same jti from another client is another assertion.
    assert!(
        s.remember_assertion_jti(t.id, "other", "jti-1", exp, now)
            .await
            .unwrap()
    );
    // Once expired, the record is as good as absent: taken over with the new expiry.
    let exp2 = exp + Duration::minutes(10);
    assert!(
        s.remember_assertion_jti(t.id, "web", "jti-1", exp2, exp)
            .await
            .unwrap()
    );
    assert!(
        !s.remember_assertion_jti(t.id, "web", "jti-1", exp2, exp + Duration::minutes(9))
            .await
            .unwrap()
    );
    // Purge removes what has expired: the two records of jti-1 then.
    assert_eq!(s.purge_expired_grants(exp2).await.unwrap(), 2);
    assert!(
        s.remember_assertion_jti(t.id, "web", "jti-1", exp2, exp2)
            .await
            .unwrap()
    );
}

pub async fn session_clients_recorded(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let sa = session(s, &alice, "hash-a", t0()).await;
    let sb = session(s, &alice, "hash-b", t0()).await;
    for c in ["web", "admin", "web"] {
        s.record_session_client(t.id, sa.id, c, t0()).await.unwrap();
    }
    s.record_session_client(t.id, sb.id, "mobile", t0())
        .await
        .unwrap();
    assert_eq!(
        s.list_session_clients(t.id, sa.id).await.unwrap(),
        vec!["admin".to_string(), "web".to_string()]
    );
    assert_eq!(
        s.list_session_clients(t.id, sb.id).await.unwrap(),
        vec!["mobile".to_string()]
    );
    assert!(
        s.list_session_clients(t.id, SessionId::new())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        s.record_session_client(t.id, SessionId::new(), "web", t0())
            .await,
        Err(StoreError::NotFound)
    ));
    // A revoked session keeps its list (logout fans out after revoking); a deleted one does not.
    s.revoke_session(t.id, sa.id, t0()).await.unwrap();
    assert_eq!(s.list_session_clients(t.id, sa.id).await.unwrap().len(), 2);
    assert!(s.delete_user(t.id, alice.id).await.unwrap());
    assert!(
        s.list_session_clients(t.id, sa.id)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn device_flow_transitions(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let d = new_device(t.id, "dc-1", "WDJBMJHT");
    s.insert_device_authorization(&d).await.unwrap();
    assert!(matches!(
        s.insert_device_authorization(&new_device(t.id, "dc-2", "WDJBMJHT")).await,
        Err(StoreError::Conflict(w)) if w == "user_code"
    ));
    assert!(matches!(
        s.insert_device_authorization(&new_device(t.id, "dc-1", "OTHERCDE")).await,
        Err(StoreError::Conflict(w)) if w == "device_code_hash"
    ));
    assert_eq!(
        s.get_device_by_user_code(t.id, "WDJBMJHT").await.unwrap(),
        Some(d.clone())
    );
    assert_eq!(
        s.get_device_by_code_hash(t.id, "dc-1").await.unwrap(),
        Some(d.clone())
    );
    assert_eq!(
        s.get_device_by_user_code(t.id, "NOPENOPE").await.unwrap(),
        None
    );
    assert_eq!(
        s.get_device_by_code_hash(t.id, "dc-zz").await.unwrap(),
        None
    );

    // Polling moves last_polled_at forward only.
    let p1 = t0() + Duration::seconds(10);
    s.touch_device_poll(t.id, "dc-1", p1).await.unwrap();
    s.touch_device_poll(t.id, "dc-1", p1 - Duration::seconds(5))
        .await
        .unwrap();
    s.touch_device_poll(t.id, "dc-zz", p1).await.unwrap();
    assert_eq!(
        s.get_device_by_code_hash(t.id, "dc-1")
            .await
            .unwrap()
            .unwrap()
            .last_polled_at,
        Some(p1)
    );

    // Pending cannot be consumed; approval happens once; approved is consumed once.
    assert!(!s.consume_device(t.id, "dc-1").await.unwrap());
    let sess = SessionId::new();
    let auth_time = t0() + Duration::minutes(1);
    assert!(
        s.decide_device(t.id, "WDJBMJHT", true, alice.id, Some(sess), auth_time)
            .await
            .unwrap()
    );
    assert!(
        !s.decide_device(t.id, "WDJBMJHT", false, alice.id, None, auth_time)
            .await
            .unwrap()
    );
    assert!(
        !s.decide_device(t.id, "NOPENOPE", true, alice.id, None, auth_time)
            .await
            .unwrap()
    );
    let approved = DeviceAuthorization {
        status: DeviceStatus::Approved,
        user_id: Some(alice.id),
        session_id: Some(sess),
        auth_time: Some(auth_time),
        last_polled_at: Some(p1),
        ..d.clone()
    };
    assert_eq!(
        s.get_device_by_user_code(t.id, "WDJBMJHT").await.unwrap(),
        Some(approved.clone())
    );
    assert!(s.consume_device(t.id, "dc-1").await.unwrap());
    assert!(!s.consume_device(t.id, "dc-1").await.unwrap());
    assert!(!s.consume_device(t.id, "dc-zz").await.unwrap());
    assert_eq!(
        s.get_device_by_code_hash(t.id, "dc-1")
            .await
            .unwrap()
            .unwrap()
            .status,
        DeviceStatus::Consumed
    );

    // A denial is final and never consumed.
    let d2 = new_device(t.id, "dc-2", "BCDFGHJK");
    s.insert_device_authorization(&d2).await.unwrap();
    assert!(
        s.decide_device(t.id, "BCDFGHJK", false, alice.id, None, auth_time)
            .await
            .unwrap()
    );
    assert!(
        !s.decide_device(t.id, "BCDFGHJK", true, alice.id, None, auth_time)
            .await
            .unwrap()
    );
    assert!(!s.consume_device(t.id, "dc-2").await.unwrap());
    let denied = s
        .get_device_by_code_hash(t.id, "dc-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(denied.status, DeviceStatus::Denied);
    assert_eq!(denied.user_id, Some(alice.id));

    // A decision needs a user of the tenant.
    let d3 = new_device(t.id, "dc-3", "LMNPQRST");
    s.insert_device_authorization(&d3).await.unwrap();
    assert!(matches!(
        s.decide_device(t.id, "LMNPQRST", true, UserId::new(), None, auth_time)
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        s.get_device_by_code_hash(t.id, "dc-3").await.unwrap(),
        Some(d3)
    );
}

pub async fn purge_removes_only_what_ended(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let a = Some(alice.id);
    let now = t0() + Duration::hours(2);

    // Ended: one of each.
    s.insert_authorization_code(&new_code(&alice, "code-old", "web"))
        .await
        .unwrap();
    let mut ended = new_refresh(t.id, a, "rt-ended", "fam-ended", "web");
    ended.expires_at = t0() + Duration::minutes(30);
    ended.family_expires_at = now;
    s.insert_refresh_token(&ended).await.unwrap();
    s.insert_access_token(&new_access(t.id, a, "at-old", None, "web"))
        .await
        .unwrap();
    s.remember_assertion_jti(t.id, "web", "jti-old", now, t0())
        .await
        .unwrap();
    s.insert_device_authorization(&new_device(t.id, "dc-old", "AAAABBBB"))
        .await
        .unwrap();
    // Still live: a code, a refresh token whose own expiry passed but whose family lives, an
    // access token, a jti and a device authorization, each ending after `now`.
    let mut code = new_code(&alice, "code-live", "web");
    code.expires_at = now + Duration::milliseconds(1);
    s.insert_authorization_code(&code).await.unwrap();
    let mut lapsed = new_refresh(t.id, a, "rt-lapsed", "fam-live", "web");
    lapsed.expires_at = t0() + Duration::hours(1);
    s.insert_refresh_token(&lapsed).await.unwrap();
    let mut live_at = new_access(t.id, a, "at-live", None, "web");
    live_at.expires_at = now + Duration::minutes(1);
    s.insert_access_token(&live_at).await.unwrap();
    s.remember_assertion_jti(t.id, "web", "jti-live", now + Duration::seconds(1), t0())
        .await
        .unwrap();
    let mut dev = new_device(t.id, "dc-live", "CCCCDDDD");
    dev.expires_at = now + Duration::minutes(1);
    s.insert_device_authorization(&dev).await.unwrap();
    // A signing key is not a grant.
    s.insert_signing_key(&new_signing_key(t.id, "k1", "ES256", t0()))
        .await
        .unwrap();

    assert_eq!(s.purge_expired_grants(now).await.unwrap(), 5);
    assert_eq!(s.purge_expired_grants(now).await.unwrap(), 0);
    assert!(
        s.consume_authorization_code(t.id, "code-old", now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.get_refresh_token(t.id, "rt-ended")
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.get_access_token(t.id, "at-old").await.unwrap().is_none());
    assert!(
        s.get_device_by_code_hash(t.id, "dc-old")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.remember_assertion_jti(t.id, "web", "jti-old", now + Duration::hours(1), now)
            .await
            .unwrap()
    );
    assert!(
        s.consume_authorization_code(t.id, "code-live", now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        s.get_refresh_token(t.id, "rt-lapsed")
            .await
            .unwrap()
            .is_some()
    );
    assert!(s.get_access_token(t.id, "at-live").await.unwrap().is_some());
    assert!(
        !s.remember_assertion_jti(t.id, "web", "jti-live", now + Duration::hours(1), now)
            .await
            .unwrap()
    );
    assert!(
        s.get_device_by_code_hash(t.id, "dc-live")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(s.list_signing_keys(t.id).await.unwrap().len(), 1);

    // A revoked family with no rows stays recorded for a day; one with rows until its last
    // token ends (if later).
    s.revoke_family(t.id, "fam-bare", now).await.unwrap();
    s.revoke_family(t.id, "fam-live", now).await.unwrap();
    let day = now + Duration::days(1);
    s.purge_expired_grants(day - Duration::milliseconds(1))
        .await
        .unwrap();
    assert!(s.is_family_revoked(t.id, "fam-bare").await.unwrap());
    s.purge_expired_grants(day).await.unwrap();
    assert!(!s.is_family_revoked(t.id, "fam-bare").await.unwrap());
    assert!(s.is_family_revoked(t.id, "fam-live").await.unwrap());
    // fam-live ends at t0 + 30 days: its token and its record go then, together.
    let family_end = lapsed.family_expires_at;
    assert_eq!(
        s.purge_expired_grants(family_end - Duration::milliseconds(1))
            .await
            .unwrap(),
        0
    );
    assert!(s.is_family_revoked(t.id, "fam-live").await.unwrap());
    assert_eq!(s.purge_expired_grants(family_end).await.unwrap(), 2);
    assert!(!s.is_family_revoked(t.id, "fam-live").await.unwrap());
    assert!(
        s.get_refresh_token(t.id, "rt-lapsed")
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn grants_go_with_their_user_and_tenant(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let bob = user(s, t.id, "bob@example.com").await;
    let a = Some(alice.id);
    let sess = session(s, &alice, "hash-a", t0()).await;
    s.insert_authorization_code(&new_code(&alice, "code-a", "web"))
        .await
        .unwrap();
    s.insert_refresh_token(&new_refresh(t.id, a, "rt-a", "fam-a", "web"))
        .await
        .unwrap();
    s.insert_access_token(&new_access(t.id, a, "at-a", Some("fam-a"), "web"))
        .await
        .unwrap();
    s.upsert_consent(&consent(&alice, "web", &["openid"], t0()))
        .await
        .unwrap();
    s.record_session_client(t.id, sess.id, "web", t0())
        .await
        .unwrap();
    let mut dev = new_device(t.id, "dc-a", "AAAABBBB");
    dev.status = DeviceStatus::Approved;
    dev.user_id = a;
    s.insert_device_authorization(&dev).await.unwrap();
    // A client's own tokens (no user) and bob's survive alice's deletion.
    s.insert_refresh_token(&new_refresh(t.id, None, "rt-svc", "fam-svc", "svc"))
        .await
        .unwrap();
    s.insert_access_token(&new_access(t.id, None, "at-svc", None, "svc"))
        .await
        .unwrap();
    s.upsert_consent(&consent(&bob, "web", &["openid"], t0()))
        .await
        .unwrap();

    assert!(s.delete_user(t.id, alice.id).await.unwrap());
    assert!(
        s.consume_authorization_code(t.id, "code-a", t0())
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.get_refresh_token(t.id, "rt-a").await.unwrap().is_none());
    assert!(s.get_access_token(t.id, "at-a").await.unwrap().is_none());
    assert!(s.list_consents(t.id, alice.id).await.unwrap().is_empty());
    assert!(
        s.list_session_clients(t.id, sess.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.get_device_by_code_hash(t.id, "dc-a")
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.get_refresh_token(t.id, "rt-svc").await.unwrap().is_some());
    assert!(s.get_access_token(t.id, "at-svc").await.unwrap().is_some());
    assert_eq!(s.list_consents(t.id, bob.id).await.unwrap().len(), 1);

    // Deleting the tenant removes the rest, revocation records and jtis included.
    s.revoke_family(t.id, "fam-svc", t0()).await.unwrap();
    s.remember_assertion_jti(t.id, "svc", "jti", t0() + Duration::hours(1), t0())
        .await
        .unwrap();
    s.insert_device_authorization(&new_device(t.id, "dc-b", "CCCCDDDD"))
        .await
        .unwrap();
    s.insert_signing_key(&new_signing_key(t.id, "k1", "ES256", t0()))
        .await
        .unwrap();
    assert!(s.delete_tenant(t.id).await.unwrap());
    assert!(s.get_refresh_token(t.id, "rt-svc").await.unwrap().is_none());
    assert!(s.get_access_token(t.id, "at-svc").await.unwrap().is_none());
    assert!(!s.is_family_revoked(t.id, "fam-svc").await.unwrap());
    assert!(
        s.get_device_by_code_hash(t.id, "dc-b")
            .await
            .unwrap()
            .is_none()
    );
    // Nothing is left in any grant table to purge.
    assert_eq!(
        s.purge_expired_grants(t0() + Duration::days(3650))
            .await
            .unwrap(),
        0
    );
    // Inserting for a tenant that no longer exists is refused.
    let gone = new_refresh(t.id, None, "rt-gone", "fam-gone", "svc");
    assert!(matches!(
        s.insert_refresh_token(&gone).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn concurrent_code_redemption_has_one_winner(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    s.insert_authorization_code(&new_code(&alice, "code-contended", "web"))
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10 {
        let store = s.clone();
        tasks.spawn(async move {
            let at = t0() + Duration::seconds(1) + Duration::milliseconds(i);
            let code = store
                .consume_authorization_code(t.id, "code-contended", at)
                .await
                .unwrap()
                .expect("the code exists");
            (at, code.consumed_at)
        });
    }
    let mut winners = Vec::new();
    let mut seen = BTreeSet::new();
    while let Some(r) = tasks.join_next().await {
        let (at, consumed_at) = r.unwrap();
        match consumed_at {
            None => winners.push(at),
            Some(when) => {
                seen.insert(when);
            }
        }
    }
    assert_eq!(winners.len(), 1, "exactly one redemption wins");
    // Every loser saw the winner's redemption time.
    assert_eq!(seen, BTreeSet::from([winners[0]]));
    assert_eq!(
        s.consume_authorization_code(t.id, "code-contended", t0() + Duration::hours(1))
            .await
            .unwrap()
            .unwrap()
            .consumed_at,
        Some(winners[0])
    );
}

pub async fn concurrent_refresh_rotation_has_one_winner(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    s.insert_refresh_token(&new_refresh(
        t.id,
        Some(alice.id),
        "rt-contended",
        "fam",
        "web",
    ))
    .await
    .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10 {
        let store = s.clone();
        tasks.spawn(async move {
            store
                .mark_refresh_rotated(
                    t.id,
                    "rt-contended",
                    t0() + Duration::seconds(1) + Duration::milliseconds(i),
                )
                .await
                .unwrap()
        });
    }
    let mut won = 0;
    while let Some(r) = tasks.join_next().await {
        if r.unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 1, "exactly one rotation wins");
    assert!(
        s.get_refresh_token(t.id, "rt-contended")
            .await
            .unwrap()
            .unwrap()
            .rotated_at
            .is_some()
    );
}

/// `rotate_refresh_token`: the winner's successor and access record are stored with the rotation;
/// a reused token, a token of a revoked family, and every loser of a race write nothing.
pub async fn rotation_stores_the_successor_in_one_transaction(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    s.insert_refresh_token(&new_refresh(t.id, Some(alice.id), "rt-a", "fam", "web"))
        .await
        .unwrap();
    let at = t0() + Duration::minutes(5);
    let successor = |hash: &str| RefreshToken {
        created_at: at,
        ..new_refresh(t.id, Some(alice.id), hash, "fam", "web")
    };
    let access = |id: &str| new_access(t.id, Some(alice.id), id, Some("fam"), "web");

    let b = successor("rt-b");
    assert!(
        s.rotate_refresh_token(t.id, "rt-a", at, Some(&access("at-b")), &b)
            .await
            .unwrap()
    );
    let old = s.get_refresh_token(t.id, "rt-a").await.unwrap().unwrap();
    assert_eq!(old.rotated_at, Some(at));
    let new = s.get_refresh_token(t.id, "rt-b").await.unwrap().unwrap();
    assert_eq!(new, b);
    let rec = s.get_access_token(t.id, "at-b").await.unwrap().unwrap();
    assert_eq!(rec.family_id.as_deref(), Some("fam"));
    assert_eq!(rec.revoked_at, None);

    // A successor that cannot be stored (its hash is taken) undoes the rotation: the token
    // stays usable and the access record of the attempt is not kept either.
    assert!(
        s.rotate_refresh_token(
            t.id,
            "rt-b",
            at,
            Some(&access("at-dup")),
            &successor("rt-a")
        )
        .await
        .is_err()
    );
    let b_again = s.get_refresh_token(t.id, "rt-b").await.unwrap().unwrap();
    assert_eq!(b_again.rotated_at, None);
    assert_eq!(s.get_access_token(t.id, "at-dup").await.unwrap(), None);
    // An access record that cannot be stored undoes the rotation and the successor.
    assert!(
        s.rotate_refresh_token(t.id, "rt-b", at, Some(&access("at-b")), &successor("rt-z"))
            .await
            .is_err()
    );
    assert_eq!(
        s.get_refresh_token(t.id, "rt-b")
            .await
            .unwrap()
            .unwrap()
            .rotated_at,
        None
    );
    assert_eq!(s.get_refresh_token(t.id, "rt-z").await.unwrap(), None);

    // Reuse of the rotated token: refused, and neither record of the attempt is written.
    assert!(
        !s.rotate_refresh_token(t.id, "rt-a", at, Some(&access("at-x")), &successor("rt-x"))
            .await
            .unwrap()
    );
    assert_eq!(s.get_refresh_token(t.id, "rt-x").await.unwrap(), None);
    assert_eq!(s.get_access_token(t.id, "at-x").await.unwrap(), None);
    // An unknown token and another tenant's token are refused the same way.
    assert!(
        !s.rotate_refresh_token(t.id, "rt-nope", at, None, &successor("rt-y"))
            .await
            .unwrap()
    );
    let other = tenant(s, "other").await;
    assert!(
        !s.rotate_refresh_token(other.id, "rt-b", at, None, &successor("rt-y"))
            .await
            .unwrap()
    );
    assert_eq!(s.get_refresh_token(t.id, "rt-y").await.unwrap(), None);

    // A revoked family: the live token is refused and nothing is added to the family.
    s.revoke_family(t.id, "fam", at).await.unwrap();
    assert!(
        !s.rotate_refresh_token(t.id, "rt-b", at, Some(&access("at-c")), &successor("rt-c"))
            .await
            .unwrap()
    );
    assert_eq!(s.get_refresh_token(t.id, "rt-c").await.unwrap(), None);
    assert_eq!(s.get_access_token(t.id, "at-c").await.unwrap(), None);

    // A race: ten rotations of one token, one winner, exactly one successor stored.
    s.insert_refresh_token(&new_refresh(t.id, Some(alice.id), "rt-race", "fam2", "web"))
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10 {
        let store = s.clone();
        let next = RefreshToken {
            family_id: "fam2".into(),
            ..successor(&format!("rt-race-{i}"))
        };
        tasks.spawn(async move {
            store
                .rotate_refresh_token(t.id, "rt-race", at, None, &next)
                .await
                .unwrap()
        });
    }
    let mut won = 0;
    while let Some(r) = tasks.join_next().await {
        won += usize::from(r.unwrap());
    }
    assert_eq!(won, 1, "exactly one rotation wins");
    let mut stored = 0;
    for i in 0..10 {
        stored += usize::from(
            s.get_refresh_token(t.id, &format!("rt-race-{i}"))
                .await
                .unwrap()
                .is_some(),
        );
    }
    assert_eq!(stored, 1, "only the winner's successor is stored");
}

/// The one-statement reads (`get_*_with_family`) give the record and exactly what
/// `is_family_revoked` says of its family, through every way a family is revoked.
pub async fn reads_with_family_agree_with_is_family_revoked(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let at = new_access(t.id, Some(alice.id), "at-1", Some("fam-w"), "web");
    let rt = new_refresh(t.id, Some(alice.id), "rt-1", "fam-w", "web");
    let machine = new_access(t.id, None, "jti-m", None, "svc");
    s.insert_access_token(&at).await.unwrap();
    s.insert_refresh_token(&rt).await.unwrap();
    s.insert_access_token(&machine).await.unwrap();

    let check = |revoked: bool| async move {
        assert_eq!(s.is_family_revoked(t.id, "fam-w").await.unwrap(), revoked);
        let (rec, fam) = s
            .get_access_token_with_family(t.id, "at-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(fam, revoked);
        assert_eq!(Some(rec), s.get_access_token(t.id, "at-1").await.unwrap());
        let (tok, fam) = s
            .get_refresh_token_with_family(t.id, "rt-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(fam, revoked);
        assert_eq!(Some(tok), s.get_refresh_token(t.id, "rt-1").await.unwrap());
    };
    check(false).await;
    // No family: never revoked through one, whatever else is.
    assert_eq!(
        s.get_access_token_with_family(t.id, "jti-m").await.unwrap(),
        Some((machine.clone(), false))
    );
    // Unknown ids, and another tenant's: nothing.
    let other = tenant(s, "other").await;
    assert_eq!(
        s.get_access_token_with_family(t.id, "nope").await.unwrap(),
        None
    );
    assert_eq!(
        s.get_refresh_token_with_family(t.id, "nope").await.unwrap(),
        None
    );
    assert_eq!(
        s.get_access_token_with_family(other.id, "at-1")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.get_refresh_token_with_family(other.id, "rt-1")
            .await
            .unwrap(),
        None
    );

    // A family named by a revoked access token (its id is the family) counts as revoked.
    let now = t0() + Duration::minutes(5);
    s.revoke_access_token(t.id, "fam-w", "web", now + Duration::hours(1), now)
        .await
        .unwrap();
    check(true).await;

    // A family recorded in revoked_families: the same answer, and the token rows say so too.
    let at2 = new_access(t.id, Some(alice.id), "at-2", Some("fam-v"), "web");
    s.insert_access_token(&at2).await.unwrap();
    s.insert_refresh_token(&new_refresh(t.id, Some(alice.id), "rt-2", "fam-v", "web"))
        .await
        .unwrap();
    assert!(
        !s.get_access_token_with_family(t.id, "at-2")
            .await
            .unwrap()
            .unwrap()
            .1
    );
    s.revoke_family(t.id, "fam-v", now).await.unwrap();
    let (rec, fam) = s
        .get_access_token_with_family(t.id, "at-2")
        .await
        .unwrap()
        .unwrap();
    assert!(fam && rec.revoked_at == Some(now));
    let (tok, fam) = s
        .get_refresh_token_with_family(t.id, "rt-2")
        .await
        .unwrap()
        .unwrap();
    assert!(fam && tok.revoked_at == Some(now));
}

/// `insert_issued_tokens`: a code exchange's access and refresh token stored in one message, as
/// the two inserts store them.
pub async fn issued_tokens_are_stored_together(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let access = new_access(t.id, Some(alice.id), "jti-pair", Some("fam-pair"), "web");
    let refresh = new_refresh(t.id, Some(alice.id), "rt-pair", "fam-pair", "web");
    s.insert_issued_tokens(&access, &refresh).await.unwrap();
    assert_eq!(
        s.get_access_token(t.id, "jti-pair").await.unwrap(),
        Some(access.clone())
    );
    assert_eq!(
        s.get_refresh_token(t.id, "rt-pair").await.unwrap(),
        Some(refresh.clone())
    );

    // A taken access-token id is a conflict, and the refresh token after it is not stored.
    let second = new_refresh(t.id, Some(alice.id), "rt-second", "fam-pair", "web");
    assert!(matches!(
        s.insert_issued_tokens(&access, &second).await,
        Err(StoreError::Conflict(w)) if w == "token_id"
    ));
    assert_eq!(s.get_refresh_token(t.id, "rt-second").await.unwrap(), None);

    // A user outside the tenant: nothing is stored.
    let ghost = UserId::new();
    let lost_access = new_access(t.id, Some(ghost), "jti-ghost", Some("fam-ghost"), "web");
    let lost_refresh = new_refresh(t.id, Some(ghost), "rt-ghost", "fam-ghost", "web");
    assert!(matches!(
        s.insert_issued_tokens(&lost_access, &lost_refresh).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.get_access_token(t.id, "jti-ghost").await.unwrap(), None);
    assert_eq!(s.get_refresh_token(t.id, "rt-ghost").await.unwrap(), None);

    // Tokens of a family revoked meanwhile are stored revoked, both of them.
    let revoked_at = t0() + Duration::minutes(1);
    s.revoke_family(t.id, "fam-late", revoked_at).await.unwrap();
    let late_access = new_access(t.id, Some(alice.id), "jti-late", Some("fam-late"), "web");
    let late_refresh = new_refresh(t.id, Some(alice.id), "rt-late", "fam-late", "web");
    s.insert_issued_tokens(&late_access, &late_refresh)
        .await
        .unwrap();
    assert_eq!(
        s.get_access_token(t.id, "jti-late")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(revoked_at)
    );
    assert_eq!(
        s.get_refresh_token(t.id, "rt-late")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(revoked_at)
    );
}

/// `insert_authorization_code` records the code's client among its session's clients (for
/// back-channel logout) when the session exists, and stores the code either way.
pub async fn codes_record_their_session_client(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let sa = session(s, &alice, "hash-a", t0()).await;

    let mut code = new_code(&alice, "code-a", "web");
    code.session_id = Some(sa.id);
    s.insert_authorization_code(&code).await.unwrap();
    let mut again = new_code(&alice, "code-b", "web");
    again.session_id = Some(sa.id);
    s.insert_authorization_code(&again).await.unwrap();
    let mut admin = new_code(&alice, "code-c", "admin");
    admin.session_id = Some(sa.id);
    s.insert_authorization_code(&admin).await.unwrap();
    assert_eq!(
        s.list_session_clients(t.id, sa.id).await.unwrap(),
        vec!["admin".to_string(), "web".to_string()]
    );

    // No session, or one that is gone: the code alone.
    let gone = new_code(&alice, "code-gone", "web");
    s.insert_authorization_code(&gone).await.unwrap();
    let mut none = new_code(&alice, "code-none", "web");
    none.session_id = None;
    s.insert_authorization_code(&none).await.unwrap();
    for hash in ["code-a", "code-gone", "code-none"] {
        let redeemed = s
            .consume_authorization_code(t.id, hash, t0())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(redeemed.consumed_at, None, "{hash} is stored once");
    }
    assert!(
        s.list_session_clients(t.id, gone.session_id.unwrap())
            .await
            .unwrap()
            .is_empty()
    );

    // A taken code hash is a conflict, as before.
    assert!(matches!(
        s.insert_authorization_code(&code).await,
        Err(StoreError::Conflict(w)) if w == "code_hash"
    ));
}
