use std::collections::BTreeSet;

use tessera_core::store::ThrottleStore;
use tessera_core::throttle::{ThrottlePolicy, ThrottleState};
use time::Duration;

use crate::common::*;

fn policy() -> ThrottlePolicy {
    ThrottlePolicy {
        free_failures: 1,
        base_delay_secs: 1,
        max_delay_secs: 10,
        lockout_after: 3,
        lockout_secs: 600,
        window_secs: 3600,
    }
}

pub async fn throttle_counts_restarts_and_locks(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let p = policy();
    let key = "account:alice@example.com";
    assert_eq!(s.get_throttle(t.id, key).await.unwrap(), None);

    let st = s.record_failure(t.id, key, &p, t0()).await.unwrap();
    assert_eq!(
        st,
        ThrottleState {
            failures: 1,
            last_failure_at: t0(),
            locked_until: None
        }
    );
    let t1 = t0() + Duration::minutes(1);
    let st = s.record_failure(t.id, key, &p, t1).await.unwrap();
    assert_eq!(
        st,
        ThrottleState {
            failures: 2,
            last_failure_at: t1,
            locked_until: None
        }
    );
    assert_eq!(s.get_throttle(t.id, key).await.unwrap(), Some(st));

    // The third failure reaches lockout_after.
    let t2 = t0() + Duration::minutes(2);
    let locked = s.record_failure(t.id, key, &p, t2).await.unwrap();
    assert_eq!(
        locked,
        ThrottleState {
            failures: 3,
            last_failure_at: t2,
            locked_until: Some(t2 + Duration::minutes(10))
        }
    );
    // Further failures inside the window extend the lock from the newest failure.
    let t3 = t0() + Duration::minutes(3);
    let st = s.record_failure(t.id, key, &p, t3).await.unwrap();
    assert_eq!(st.failures, 4);
    assert_eq!(st.locked_until, Some(t3 + Duration::minutes(10)));

    // Outside the window the count restarts at 1 and the old lock is kept (it has expired anyway).
    let t4 = t3 + Duration::hours(1);
    let st = s.record_failure(t.id, key, &p, t4).await.unwrap();
    assert_eq!(
        st,
        ThrottleState {
            failures: 1,
            last_failure_at: t4,
            locked_until: Some(t3 + Duration::minutes(10))
        }
    );
    // One millisecond inside the window still counts.
    let t5 = t4 + Duration::hours(1) - Duration::milliseconds(1);
    assert_eq!(
        s.record_failure(t.id, key, &p, t5).await.unwrap().failures,
        2
    );

    // Keys are independent; clearing removes one key only.
    let ip = "ip:203.0.113.9";
    assert_eq!(
        s.record_failure(t.id, ip, &p, t5).await.unwrap().failures,
        1
    );
    s.clear_throttle(t.id, key).await.unwrap();
    assert_eq!(s.get_throttle(t.id, key).await.unwrap(), None);
    s.clear_throttle(t.id, key).await.unwrap();
    assert_eq!(s.get_throttle(t.id, ip).await.unwrap().unwrap().failures, 1);
    assert_eq!(
        s.record_failure(t.id, key, &p, t5).await.unwrap().failures,
        1
    );

    // A policy that locks at the first failure locks a new key at once.
    let strict = ThrottlePolicy {
        lockout_after: 1,
        ..p
    };
    let st = s
        .record_failure(t.id, "account:strict", &strict, t0())
        .await
        .unwrap();
    assert_eq!(st.locked_until, Some(t0() + Duration::minutes(10)));
}

pub async fn concurrent_failures_are_all_counted(h: &Harness) {
    let t = tenant(&h.store, "acme").await;
    let p = ThrottlePolicy {
        lockout_after: 100,
        ..policy()
    };
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let store = h.store.clone();
        let p = p.clone();
        tasks.spawn(async move {
            store
                .record_failure(
                    t.id,
                    "account:contended",
                    &p,
                    t0() + Duration::milliseconds(i),
                )
                .await
                .unwrap()
                .failures
        });
    }
    let mut seen = BTreeSet::new();
    while let Some(r) = tasks.join_next().await {
        seen.insert(r.unwrap());
    }
    // Every call saw a distinct count: no increment was lost.
    assert_eq!(seen, (1..=20).collect::<BTreeSet<u32>>());
    assert_eq!(
        h.store
            .get_throttle(t.id, "account:contended")
            .await
            .unwrap()
            .unwrap()
            .failures,
        20
    );
}

pub async fn two_keys_are_read_in_one_call(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let other = tenant(s, "globex").await;
    let p = policy();
    let (account, ip) = ("acct:alice", "ip:203.0.113.7");
    assert_eq!(
        s.get_throttle_pair(t.id, account, Some(ip)).await.unwrap(),
        (None, None)
    );
    let a = s.record_failure(t.id, account, &p, t0()).await.unwrap();
    assert_eq!(
        s.get_throttle_pair(t.id, account, Some(ip)).await.unwrap(),
        (Some(a.clone()), None)
    );
    let b1 = s.record_failure(t.id, ip, &p, t0()).await.unwrap();
    let b2 = s
        .record_failure(t.id, ip, &p, t0() + Duration::seconds(5))
        .await
        .unwrap();
    assert_ne!(b1, b2);
    // Each key gets its own counter back, whichever order the rows come in.
    assert_eq!(
        s.get_throttle_pair(t.id, account, Some(ip)).await.unwrap(),
        (Some(a.clone()), Some(b2.clone()))
    );
    assert_eq!(
        s.get_throttle_pair(t.id, ip, Some(account)).await.unwrap(),
        (Some(b2), Some(a.clone()))
    );
    // Without a second key, only the first is read; another tenant's counters are not seen.
    assert_eq!(
        s.get_throttle_pair(t.id, account, None).await.unwrap(),
        (Some(a), None)
    );
    assert_eq!(
        s.get_throttle_pair(other.id, account, Some(ip))
            .await
            .unwrap(),
        (None, None)
    );
}
