use tessera_core::store::{SessionStore, UserStore};
use tessera_core::{SessionId, StoreError};
use time::Duration;

use crate::common::*;

pub async fn sessions_lifecycle(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let bob = user(s, t.id, "bob@example.com").await;

    let a1 = session(s, &alice, "hash-a1", t0()).await;
    let mut bare = new_session(&alice, "hash-a2", t0() + Duration::seconds(1));
    bare.ip = None;
    bare.user_agent = None;
    s.create_session(&bare).await.unwrap();
    let b1 = session(s, &bob, "hash-b1", t0() + Duration::seconds(2)).await;

    assert_eq!(s.get_session(t.id, a1.id).await.unwrap(), Some(a1.clone()));
    assert_eq!(
        s.get_session(t.id, bare.id).await.unwrap(),
        Some(bare.clone())
    );
    assert_eq!(s.get_session(t.id, SessionId::new()).await.unwrap(), None);
    assert_eq!(
        s.find_session_by_token_hash(t.id, "hash-a1").await.unwrap(),
        Some(a1.clone())
    );
    assert_eq!(
        s.find_session_by_token_hash(t.id, "hash-zz").await.unwrap(),
        None
    );
    // Token hashes are unique.
    let clash = new_session(&bob, "hash-a1", t0());
    assert!(matches!(
        s.create_session(&clash).await,
        Err(StoreError::Conflict(_))
    ));

    // Touching moves last_seen_at forward, never back.
    let later = t0() + Duration::minutes(10);
    s.touch_session(t.id, a1.id, later).await.unwrap();
    assert_eq!(
        s.get_session(t.id, a1.id)
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        later
    );
    s.touch_session(t.id, a1.id, t0() + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        s.get_session(t.id, a1.id)
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        later
    );
    // An idle-expired session is not brought back by a touch.
    let idle_gone = later + Duration::minutes(31);
    s.touch_session(t.id, a1.id, idle_gone).await.unwrap();
    assert_eq!(
        s.get_session(t.id, a1.id)
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        later
    );
    // Touching a session that does not exist is not an error.
    s.touch_session(t.id, SessionId::new(), later)
        .await
        .unwrap();

    let at = t0() + Duration::minutes(11);
    assert!(s.revoke_session(t.id, bare.id, at).await.unwrap());
    assert!(!s.revoke_session(t.id, bare.id, at).await.unwrap());
    assert!(!s.revoke_session(t.id, SessionId::new(), at).await.unwrap());
    // A revoked session can still be found by its hash; the caller checks is_active.
    let found = s
        .find_session_by_token_hash(t.id, "hash-a2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.revoked_at, Some(at));
    assert!(!found.is_active(at));

    let a3 = session(s, &alice, "hash-a3", t0() + Duration::minutes(11)).await;
    assert_eq!(
        s.revoke_user_sessions(t.id, alice.id, at + Duration::seconds(1))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.revoke_user_sessions(t.id, alice.id, at + Duration::seconds(2))
            .await
            .unwrap(),
        0
    );
    assert!(
        s.get_session(t.id, a3.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert!(
        s.get_session(t.id, b1.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none(),
        "bob's session is untouched"
    );

    // Deleting a user removes the user's sessions.
    assert!(s.delete_user(t.id, bob.id).await.unwrap());
    assert_eq!(s.get_session(t.id, b1.id).await.unwrap(), None);
    // A session needs an existing user of the tenant.
    let orphan = new_session(&bob, "hash-orphan", t0());
    assert!(matches!(
        s.create_session(&orphan).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn list_sessions_filters_inactive(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let bob = user(s, t.id, "bob@example.com").await;
    let now = t0() + Duration::hours(2);

    // Active, newest first: created at now-1m (bob), now-5m (alice), now-20m (alice).
    let alice_old = session(s, &alice, "alice-old", now - Duration::minutes(20)).await;
    let alice_new = session(s, &alice, "alice-new", now - Duration::minutes(5)).await;
    let bob_new = session(s, &bob, "bob-new", now - Duration::minutes(1)).await;
    // Idle for 31 minutes (timeout 30).
    session(s, &alice, "alice-idle", now - Duration::minutes(31)).await;
    // Past its absolute expiry although recently seen.
    let mut expired = new_session(&alice, "alice-expired", now - Duration::hours(11));
    expired.last_seen_at = now - Duration::minutes(1);
    s.create_session(&expired).await.unwrap();
    // Revoked.
    let revoked = session(s, &alice, "alice-revoked", now - Duration::minutes(2)).await;
    s.revoke_session(t.id, revoked.id, now - Duration::minutes(1))
        .await
        .unwrap();
    // Exactly at the idle deadline counts as ended, as in Session::is_active.
    let edge = session(s, &bob, "bob-edge", now - Duration::minutes(30)).await;
    assert!(!edge.is_active(now));

    let all = s.list_sessions(t.id, None, now).await.unwrap();
    assert_eq!(
        all,
        vec![bob_new.clone(), alice_new.clone(), alice_old.clone()]
    );
    assert!(all.iter().all(|x| x.is_active(now)));
    assert_eq!(
        s.list_sessions(t.id, Some(alice.id), now).await.unwrap(),
        vec![alice_new, alice_old.clone()]
    );
    assert_eq!(
        s.list_sessions(t.id, Some(bob.id), now).await.unwrap(),
        vec![bob_new]
    );
    // Later, only what is still active remains.
    let later = now + Duration::minutes(12);
    s.touch_session(t.id, alice_old.id, now).await.unwrap();
    let still = s.list_sessions(t.id, None, later).await.unwrap();
    assert_eq!(
        still
            .iter()
            .map(|x| x.token_hash.as_str())
            .collect::<Vec<_>>(),
        vec!["bob-new", "alice-new", "alice-old"]
    );
    let much_later = now + Duration::minutes(40);
    assert!(
        s.list_sessions(t.id, None, much_later)
            .await
            .unwrap()
            .is_empty()
    );
}

/// `start_session`: the account's sign-in time and the session in one message; for a user
/// outside the tenant, `NotFound` and nothing written.
pub async fn starting_a_session_records_the_sign_in(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let other = tenant(s, "other").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let at = t0() + Duration::minutes(3);

    let started = new_session(&alice, "hash-start", at);
    s.start_session(&started).await.unwrap();
    assert_eq!(
        s.get_session(t.id, started.id).await.unwrap(),
        Some(started.clone())
    );
    let stored = s.get_user(t.id, alice.id).await.unwrap().unwrap();
    assert_eq!(stored.last_login_at, Some(at));
    assert_eq!(stored.password_hash, alice.password_hash);

    // A user of another tenant, and a user that does not exist: nothing is written.
    let mut elsewhere = new_session(&alice, "hash-elsewhere", at);
    elsewhere.tenant_id = other.id;
    assert!(matches!(
        s.start_session(&elsewhere).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.get_session(other.id, elsewhere.id).await.unwrap(), None);
    let ghost = new_user(t.id, "ghost@example.com");
    let orphan = new_session(&ghost, "hash-orphan", at);
    assert!(matches!(
        s.start_session(&orphan).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.get_session(t.id, orphan.id).await.unwrap(), None);

    // A taken cookie hash is a conflict, as for `create_session`.
    let clash = new_session(&alice, "hash-start", at);
    assert!(matches!(
        s.start_session(&clash).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.get_session(t.id, clash.id).await.unwrap(), None);
}
