//! Verification tokens: single use under races, expiry, superseding, the code alternative with
//! its attempt limit, sealing of the new address, and cascade with the user.

use tessera_core::store::UserStore;
use tessera_core::verification::{VerificationPurpose, VerificationStore, VerificationToken};
use tessera_core::{StoreError, UserId};
use time::Duration;

use crate::common::*;

fn token(
    user: &tessera_core::user::User,
    purpose: VerificationPurpose,
    hash: &str,
    code: Option<&str>,
) -> VerificationToken {
    VerificationToken::new(
        user.tenant_id,
        user.id,
        purpose,
        hash.into(),
        code.map(str::to_string),
        t0(),
    )
}

pub async fn verification_tokens_are_single_use(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let u = user(s, t.id, "ann@acme.test").await;
    let reset = VerificationPurpose::PasswordReset;
    let tok = token(&u, reset, "h1", Some("c1"));
    s.issue_verification(&tok).await.unwrap();
    assert_eq!(
        s.find_verification(t.id, reset, "h1").await.unwrap(),
        Some(tok.clone())
    );
    // Another purpose or tenant does not find it.
    let other = tenant(s, "other").await;
    assert_eq!(
        s.find_verification(t.id, VerificationPurpose::VerifyEmail, "h1")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.consume_verification(other.id, reset, "h1", t0())
            .await
            .unwrap(),
        None
    );

    let now = t0() + Duration::minutes(1);
    let used = s
        .consume_verification(t.id, reset, "h1", now)
        .await
        .unwrap()
        .expect("the first use consumes it");
    assert_eq!(used.user_id, u.id);
    assert_eq!(used.consumed_at, Some(now));
    assert_eq!(
        s.consume_verification(t.id, reset, "h1", now)
            .await
            .unwrap(),
        None,
        "a replay fails"
    );
    assert_eq!(
        s.find_verification(t.id, reset, "h1")
            .await
            .unwrap()
            .unwrap()
            .consumed_at,
        Some(now)
    );

    // Expired tokens are not consumed.
    let late = token(&u, reset, "h2", None);
    s.issue_verification(&late).await.unwrap();
    assert_eq!(
        s.consume_verification(t.id, reset, "h2", late.expires_at)
            .await
            .unwrap(),
        None
    );

    // Concurrent redemptions of one link: exactly one wins.
    s.issue_verification(&token(&u, reset, "h3", None))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        let tid = t.id;
        tasks.push(tokio::spawn(async move {
            s.consume_verification(tid, reset, "h3", t0() + Duration::seconds(5))
                .await
                .unwrap()
                .is_some()
        }));
    }
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);

    // A user that is not the tenant's cannot get a token.
    let stranger = VerificationToken::new(t.id, UserId::new(), reset, "h4".into(), None, t0());
    assert!(matches!(
        s.issue_verification(&stranger).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn newer_verification_tokens_supersede_older_ones(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let u = user(s, t.id, "ann@acme.test").await;
    let v = VerificationPurpose::VerifyEmail;
    s.issue_verification(&token(&u, v, "old", None))
        .await
        .unwrap();
    // Another purpose is left alone.
    s.issue_verification(&token(
        &u,
        VerificationPurpose::PasswordReset,
        "reset",
        None,
    ))
    .await
    .unwrap();
    let newer = VerificationToken {
        created_at: t0() + Duration::seconds(1),
        ..token(&u, v, "new", None)
    };
    s.issue_verification(&newer).await.unwrap();
    let now = t0() + Duration::seconds(2);
    assert_eq!(
        s.consume_verification(t.id, v, "old", now).await.unwrap(),
        None
    );
    assert!(
        s.consume_verification(t.id, v, "new", now)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        s.revoke_verifications(t.id, u.id, None, now).await.unwrap(),
        1,
        "only the reset token was still open"
    );
    assert_eq!(
        s.consume_verification(t.id, VerificationPurpose::PasswordReset, "reset", now)
            .await
            .unwrap(),
        None
    );
}

pub async fn verification_codes_limit_attempts(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let u = user(s, t.id, "ann@acme.test").await;
    let v = VerificationPurpose::VerifyEmail;
    s.issue_verification(&token(&u, v, "link", Some("right")))
        .await
        .unwrap();
    let now = t0() + Duration::minutes(1);
    for _ in 0..2 {
        assert_eq!(
            s.consume_verification_code(t.id, u.id, v, "wrong", 3, now)
                .await
                .unwrap(),
            None
        );
    }
    let used = s
        .consume_verification_code(t.id, u.id, v, "right", 3, now)
        .await
        .unwrap()
        .expect("the right code within the limit works");
    assert_eq!(used.attempts, 2);
    assert_eq!(used.token_hash, "link");
    assert_eq!(
        s.consume_verification(t.id, v, "link", now).await.unwrap(),
        None,
        "the code used the token: the link is spent too"
    );

    s.issue_verification(&token(&u, v, "link2", Some("right")))
        .await
        .unwrap();
    for _ in 0..3 {
        s.consume_verification_code(t.id, u.id, v, "wrong", 3, now)
            .await
            .unwrap();
    }
    assert_eq!(
        s.consume_verification_code(t.id, u.id, v, "right", 3, now)
            .await
            .unwrap(),
        None,
        "after the limit even the right code fails"
    );
    // The code of another user never matches.
    let bob = user(s, t.id, "bob@acme.test").await;
    s.issue_verification(&token(&bob, v, "bob", Some("bobs")))
        .await
        .unwrap();
    assert_eq!(
        s.consume_verification_code(t.id, u.id, v, "bobs", 3, now)
            .await
            .unwrap(),
        None
    );
}

pub async fn verification_tokens_seal_and_go_with_their_user(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let u = user(s, t.id, "ann@acme.test").await;
    let change = VerificationToken {
        new_email: Some("ann.new@acme.test".into()),
        ..token(&u, VerificationPurpose::EmailChange, "chg", Some("c"))
    };
    s.issue_verification(&change).await.unwrap();
    let found = s
        .find_verification(t.id, VerificationPurpose::EmailChange, "chg")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.new_email.as_deref(), Some("ann.new@acme.test"));
    // At rest, the address is sealed.
    let other_key = h.store_with_other_key().await;
    assert!(matches!(
        other_key
            .find_verification(t.id, VerificationPurpose::EmailChange, "chg")
            .await,
        Err(StoreError::Corrupt(_))
    ));
    other_key.close().await;

    // Purging removes what ended before the cut-off, nothing else.
    let live = token(&u, VerificationPurpose::VerifyEmail, "live", None);
    s.issue_verification(&live).await.unwrap();
    assert_eq!(s.purge_verifications(t0()).await.unwrap(), 0);
    assert_eq!(
        s.purge_verifications(live.expires_at + Duration::seconds(1))
            .await
            .unwrap(),
        2
    );

    s.issue_verification(&token(&u, VerificationPurpose::VerifyEmail, "gone", None))
        .await
        .unwrap();
    assert!(s.delete_user(t.id, u.id).await.unwrap());
    assert_eq!(
        s.find_verification(t.id, VerificationPurpose::VerifyEmail, "gone")
            .await
            .unwrap(),
        None,
        "tokens go with their user"
    );
}
