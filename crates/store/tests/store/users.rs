use tessera_core::page::PageRequest;
use tessera_core::store::UserStore;
use tessera_core::user::{NewUser, User, UserFilter, UserPatch, UserStatus};
use tessera_core::{Secret, StoreError, UserId};
use time::Duration;

use crate::common::*;

pub async fn users_crud(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let mut u = User::create(
        t.id,
        NewUser {
            email: "Alice.Smith@Example.com".into(),
            email_verified: true,
            name: Some("Alice Smith".into()),
            given_name: Some("Alice".into()),
            family_name: Some("Smith".into()),
            phone: Some("+14155550100".into()),
            attributes: Some(serde_json::json!({"department": "R&D", "level": 3})),
        },
        Some(Secret::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")),
        t0(),
    )
    .unwrap();
    s.create_user(&u).await.unwrap();

    assert_eq!(s.get_user(t.id, u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(s.get_user(t.id, UserId::new()).await.unwrap(), None);
    // Lookups ignore case and surrounding spaces.
    for probe in [
        "alice.smith@example.com",
        "ALICE.SMITH@EXAMPLE.COM",
        "  Alice.Smith@example.COM ",
    ] {
        assert_eq!(
            s.find_user_by_email(t.id, probe)
                .await
                .unwrap()
                .map(|f| f.id),
            Some(u.id),
            "{probe}"
        );
    }
    assert_eq!(
        s.find_user_by_email(t.id, "bob@example.com").await.unwrap(),
        None
    );
    assert_eq!(s.count_users(t.id).await.unwrap(), 1);

    // Every field is written back by update_user.
    u.apply(
        UserPatch {
            email: Some("alice@new.example".into()),
            name: Some(None),
            phone: Some(Some("+442071838750".into())),
            status: Some(UserStatus::Disabled),
            attributes: Some(serde_json::json!({"department": "Sales"})),
            ..Default::default()
        },
        t0() + Duration::minutes(5),
    )
    .unwrap();
    u.password_hash = None;
    s.update_user(&u).await.unwrap();
    assert_eq!(s.get_user(t.id, u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(
        s.find_user_by_email(t.id, "alice.smith@example.com")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.find_user_by_email(t.id, "Alice@New.Example")
            .await
            .unwrap(),
        Some(u.clone())
    );

    // Sign-ins record the time, and replace the hash only when one is given.
    let at = t0() + Duration::hours(1);
    s.record_sign_in(t.id, u.id, at, Some("$argon2id$new"))
        .await
        .unwrap();
    let got = s.get_user(t.id, u.id).await.unwrap().unwrap();
    assert_eq!(got.last_login_at, Some(at));
    assert_eq!(got.password_hash, Some(Secret::new("$argon2id$new")));
    assert_eq!(
        got.updated_at, u.updated_at,
        "a sign-in is not a profile change"
    );
    s.record_sign_in(t.id, u.id, at + Duration::hours(1), None)
        .await
        .unwrap();
    let got = s.get_user(t.id, u.id).await.unwrap().unwrap();
    assert_eq!(got.last_login_at, Some(at + Duration::hours(1)));
    assert_eq!(got.password_hash, Some(Secret::new("$argon2id$new")));

    // A user in a tenant that does not exist cannot be created.
    let orphan = new_user(tessera_core::TenantId::new(), "x@example.com");
    assert!(matches!(
        s.create_user(&orphan).await,
        Err(StoreError::NotFound)
    ));

    assert!(s.delete_user(t.id, u.id).await.unwrap());
    assert!(!s.delete_user(t.id, u.id).await.unwrap());
    assert_eq!(s.get_user(t.id, u.id).await.unwrap(), None);
    assert_eq!(s.count_users(t.id).await.unwrap(), 0);
    assert!(matches!(s.update_user(&u).await, Err(StoreError::NotFound)));
    assert!(matches!(
        s.record_sign_in(t.id, u.id, at, None).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn duplicate_email_conflicts(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let other = tenant(s, "other").await;
    let a = user(s, t.id, "dup@example.com").await;
    let b = new_user(t.id, "DUP@Example.com");
    assert!(matches!(s.create_user(&b).await, Err(StoreError::Conflict(w)) if w == "email"));
    // The same address is free in another tenant.
    user(s, other.id, "dup@example.com").await;

    let mut c = user(s, t.id, "c@example.com").await;
    c.email = "Dup@example.com".into();
    assert!(matches!(s.update_user(&c).await, Err(StoreError::Conflict(w)) if w == "email"));
    assert_eq!(
        s.find_user_by_email(t.id, "dup@example.com")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(a.id)
    );
    // Creating the same record twice is a conflict on the id, not a silent overwrite.
    assert!(matches!(
        s.create_user(&a).await,
        Err(StoreError::Conflict(_))
    ));
}

/// Bulk creation: one transaction, and an email (or id) already taken skips that user alone,
/// whether it was taken before the batch or earlier in it.
pub async fn bulk_create_skips_taken_emails(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let other = tenant(s, "other").await;
    let taken = user(s, t.id, "taken@example.com").await;
    let batch = vec![
        new_user(t.id, "one@example.com"),
        new_user(t.id, "TAKEN@example.com"),
        new_user(t.id, "two@example.com"),
        new_user(t.id, "One@Example.com"),
        taken.clone(),
        new_user(other.id, "one@example.com"),
    ];
    assert_eq!(
        s.create_users(&batch).await.unwrap(),
        vec![true, false, true, false, false, true]
    );
    for u in [&batch[0], &batch[2], &batch[5]] {
        assert_eq!(
            s.get_user(u.tenant_id, u.id).await.unwrap().as_ref(),
            Some(u)
        );
    }
    assert_eq!(s.get_user(t.id, batch[1].id).await.unwrap(), None);
    assert_eq!(
        s.find_user_by_email(t.id, "one@example.com")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(batch[0].id)
    );
    assert!(s.create_users(&[]).await.unwrap().is_empty());
}

/// A batch larger than one `INSERT` statement (several hundred accounts): every account is
/// written or refused on its own, a repeat found in a later statement of the same batch as well
/// as in the same statement, and the answer keeps the batch's order.
pub async fn bulk_create_spans_several_statements(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let taken = user(s, t.id, "user7@example.com").await;
    let mut batch: Vec<_> = (0..650)
        .map(|i| new_user(t.id, &format!("user{i}@example.com")))
        .collect();
    // Repeats of an earlier row: in the same statement, in a later one, and as the last row.
    batch[150] = new_user(t.id, "USER3@example.com");
    batch[420] = new_user(t.id, "user5@example.com");
    batch[649] = new_user(t.id, "user400@example.com");
    let created = s.create_users(&batch).await.unwrap();
    assert_eq!(created.len(), batch.len());
    let refused: Vec<usize> = (0..batch.len()).filter(|&i| !created[i]).collect();
    assert_eq!(refused, vec![7, 150, 420, 649]);
    for (i, u) in batch.iter().enumerate() {
        if created[i] {
            assert_eq!(
                s.get_user(t.id, u.id).await.unwrap().as_ref(),
                Some(u),
                "row {i}"
            );
        }
    }
    assert_eq!(
        s.find_user_by_email(t.id, "user7@example.com")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(taken.id)
    );
    for i in refused {
        assert_eq!(
            s.get_user(t.id, batch[i].id).await.unwrap(),
            None,
            "row {i}"
        );
    }
}

pub async fn users_pagination_and_filters(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let other = tenant(s, "other").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut u = new_user(t.id, &format!("user{i}@example.com"));
        if i % 3 == 1 {
            u.status = UserStatus::Disabled;
        }
        s.create_user(&u).await.unwrap();
        ids.push(u.id);
    }
    user(s, other.id, "user0@example.com").await;
    let all = UserFilter::default();

    let p1 = s
        .list_users(
            t.id,
            &all,
            &PageRequest {
                after: None,
                limit: Some(3),
            },
        )
        .await
        .unwrap();
    assert_eq!(p1.items.iter().map(|u| u.id).collect::<Vec<_>>(), ids[0..3]);
    assert_eq!(p1.next_cursor, Some(ids[2].to_string()));
    let p2 = s
        .list_users(
            t.id,
            &all,
            &PageRequest {
                after: p1.next_cursor,
                limit: Some(3),
            },
        )
        .await
        .unwrap();
    assert_eq!(p2.items.iter().map(|u| u.id).collect::<Vec<_>>(), ids[3..6]);
    assert_eq!(p2.next_cursor, Some(ids[5].to_string()));
    let p3 = s
        .list_users(
            t.id,
            &all,
            &PageRequest {
                after: p2.next_cursor,
                limit: Some(3),
            },
        )
        .await
        .unwrap();
    assert_eq!(p3.items.iter().map(|u| u.id).collect::<Vec<_>>(), ids[6..7]);
    assert_eq!(p3.next_cursor, None);

    // A page that ends exactly at the last user says there is no next page.
    let exact = s
        .list_users(
            t.id,
            &all,
            &PageRequest {
                after: None,
                limit: Some(7),
            },
        )
        .await
        .unwrap();
    assert_eq!(exact.items.len(), 7);
    assert_eq!(exact.next_cursor, None);
    // Limits are clamped to at least one.
    let one = s
        .list_users(
            t.id,
            &all,
            &PageRequest {
                after: None,
                limit: Some(0),
            },
        )
        .await
        .unwrap();
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.next_cursor, Some(ids[0].to_string()));

    let disabled = UserFilter {
        status: Some(UserStatus::Disabled),
        ..Default::default()
    };
    let d = s
        .list_users(t.id, &disabled, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        d.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![ids[1], ids[4]]
    );
    let d1 = s
        .list_users(
            t.id,
            &disabled,
            &PageRequest {
                after: None,
                limit: Some(1),
            },
        )
        .await
        .unwrap();
    assert_eq!(d1.items.len(), 1);
    let d2 = s
        .list_users(
            t.id,
            &disabled,
            &PageRequest {
                after: d1.next_cursor,
                limit: Some(1),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        d2.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![ids[4]]
    );
    assert_eq!(d2.next_cursor, None);

    let by_email = UserFilter {
        email: Some("USER4@example.com".into()),
        ..Default::default()
    };
    let e = s
        .list_users(t.id, &by_email, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        e.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![ids[4]]
    );
    let both = UserFilter {
        email: Some("user4@example.com".into()),
        status: Some(UserStatus::Active),
    };
    assert!(
        s.list_users(t.id, &both, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(s.count_users(t.id).await.unwrap(), 7);
    assert_eq!(s.count_users(other.id).await.unwrap(), 1);
}

/// Sealed values are bound to their key and their place: another master key, or a value moved
/// into another row, reads as `Corrupt`, never as someone else's data.
pub async fn decryption_failure_is_corrupt(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let a = user(s, t.id, "a@example.com").await;
    let b = user(s, t.id, "b@example.com").await;

    let other_key = h.store_with_other_key().await;
    assert!(matches!(
        other_key.get_user(t.id, a.id).await,
        Err(StoreError::Corrupt(_))
    ));
    // The blind index depends on the key too.
    assert_eq!(
        other_key
            .find_user_by_email(t.id, "a@example.com")
            .await
            .unwrap(),
        None
    );
    other_key.close().await;

    h.raw_execute(format!(
        "UPDATE users SET email = (SELECT email FROM users WHERE id = '{}') WHERE id = '{}'",
        a.id, b.id
    ))
    .await;
    let err = s.get_user(t.id, b.id).await.unwrap_err();
    match err {
        StoreError::Corrupt(msg) => assert!(
            !msg.contains("a@example.com") && msg.contains("user.email"),
            "{msg}"
        ),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(s.get_user(t.id, a.id).await.unwrap(), Some(a));
    assert!(
        s.list_users(t.id, &UserFilter::default(), &PageRequest::default())
            .await
            .is_err()
    );
}
