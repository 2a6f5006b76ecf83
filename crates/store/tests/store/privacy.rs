//! Privacy storage: purposes and policy documents (unique per tenant), the append-only consent
//! history (its order given by the insert, concurrent appends never share a place), the query of
//! consenting users (current state, cursor paging, deleted accounts and other tenants left out),
//! erasure of the sealed fields, topics and preferences.

use std::collections::BTreeMap;

use tessera_core::page::PageRequest;
use tessera_core::privacy::{
    CommunicationPreferences, ConsentChannel, ConsentRecord, ConsentState, Frequency, LegalBasis,
    PolicyDocument, PrivacyStore, Purpose, Topic,
};
use tessera_core::store::UserStore;
use tessera_core::{StoreError, TenantId, UserId};
use uuid::Uuid;

use crate::common::*;

fn purpose(tenant: TenantId, key: &str) -> Purpose {
    Purpose {
        tenant_id: tenant,
        key: key.into(),
        legal_basis: LegalBasis::Consent,
        descriptions: BTreeMap::from([("en".to_string(), key.to_string())]),
        required: false,
        document: None,
        expires_after_days: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

fn record(tenant: TenantId, user: UserId, purpose: &str, state: ConsentState) -> ConsentRecord {
    ConsentRecord {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        user_id: user,
        purpose: purpose.into(),
        state,
        policy_version: None,
        channel: ConsentChannel::Api,
        recorded_at: t0(),
        recorded_by: "cli".into(),
        ip: Some("203.0.113.77".into()),
        user_agent: Some("Privacy-Store-Test/1.0".into()),
        seq: 0,
    }
}

pub async fn purposes_and_documents_are_unique_per_tenant(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let other = tenant(s, "other").await;
    s.create_purpose(&purpose(t.id, "analytics")).await.unwrap();
    assert!(matches!(
        s.create_purpose(&purpose(t.id, "analytics")).await,
        Err(StoreError::Conflict(_))
    ));
    s.create_purpose(&purpose(other.id, "analytics"))
        .await
        .unwrap();
    let mut p = purpose(t.id, "analytics");
    p.required = true;
    p.document = Some("terms".into());
    s.update_purpose(&p).await.unwrap();
    assert_eq!(s.get_purpose(t.id, "analytics").await.unwrap(), Some(p));
    assert!(
        !s.get_purpose(other.id, "analytics")
            .await
            .unwrap()
            .unwrap()
            .required
    );
    assert!(matches!(
        s.update_purpose(&purpose(t.id, "nope")).await,
        Err(StoreError::NotFound)
    ));
    let doc = PolicyDocument {
        id: Uuid::now_v7(),
        tenant_id: t.id,
        kind: "terms".into(),
        version: "1".into(),
        url: "https://acme.example/terms".into(),
        effective_at: t0(),
        material: true,
        grace_days: 7,
        created_at: t0(),
    };
    s.create_policy_document(&doc).await.unwrap();
    assert!(matches!(
        s.create_policy_document(&PolicyDocument {
            id: Uuid::now_v7(),
            ..doc.clone()
        })
        .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.list_policy_documents(t.id, Some("terms")).await.unwrap(),
        std::slice::from_ref(&doc)
    );
    assert!(
        s.list_policy_documents(t.id, Some("privacy"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.list_policy_documents(other.id, None)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn consent_history_is_append_only_and_queryable(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let other = tenant(s, "other").await;
    let mut users = Vec::new();
    for i in 0..3 {
        users.push(user(s, t.id, &format!("u{i}@acme.test")).await);
    }
    let outsider = user(s, other.id, "x@other.test").await;
    // Concurrent appends of one person and purpose get distinct places.
    let (first, second) = (
        record(t.id, users[0].id, "mail", ConsentState::Granted),
        record(t.id, users[0].id, "mail", ConsentState::Granted),
    );
    let (a, b) = tokio::join!(s.append_consent(&first), s.append_consent(&second));
    let mut seqs = [a.unwrap().seq, b.unwrap().seq];
    seqs.sort();
    assert_eq!(seqs, [1, 2]);
    let w = s
        .append_consent(&record(t.id, users[0].id, "mail", ConsentState::Withdrawn))
        .await
        .unwrap();
    assert_eq!(w.seq, 3);
    for u in &users[1..] {
        s.append_consent(&record(t.id, u.id, "mail", ConsentState::Granted))
            .await
            .unwrap();
    }
    s.append_consent(&record(
        other.id,
        outsider.id,
        "mail",
        ConsentState::Granted,
    ))
    .await
    .unwrap();
    // A user of another tenant, or none, cannot get a record.
    for (tenant, user) in [(t.id, outsider.id), (t.id, UserId::new())] {
        assert!(matches!(
            s.append_consent(&record(tenant, user, "mail", ConsentState::Granted))
                .await,
            Err(StoreError::NotFound)
        ));
    }
    let history = s.consent_history(t.id, users[0].id, None).await.unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[2].state, ConsentState::Withdrawn);
    assert_eq!(history[0].ip.as_deref(), Some("203.0.113.77"));
    assert!(
        s.consent_history(other.id, users[0].id, None)
            .await
            .unwrap()
            .is_empty()
    );

    // Current consent: users 1 and 2 (user 0 withdrew), in id order, paged.
    let mut expected: Vec<UserId> = users[1..].iter().map(|u| u.id).collect();
    expected.sort();
    let page = PageRequest {
        after: None,
        limit: Some(1),
    };
    let first = s.users_consenting(t.id, "mail", &page).await.unwrap();
    assert_eq!(first.items, [expected[0]]);
    let second = s
        .users_consenting(
            t.id,
            "mail",
            &PageRequest {
                after: first.next_cursor.clone(),
                limit: Some(1),
            },
        )
        .await
        .unwrap();
    assert_eq!(second.items, [expected[1]]);
    assert_eq!(second.next_cursor, None);

    // Erasure: the account goes, its records stay without IP and user agent, and it is no
    // longer listed.
    assert!(s.delete_user(t.id, users[1].id).await.unwrap());
    assert_eq!(
        s.erase_consent_personal_data(t.id, users[1].id)
            .await
            .unwrap(),
        1
    );
    let kept = s.consent_history(t.id, users[1].id, None).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].ip.as_deref(), kept[0].user_agent.as_deref()),
        (None, None)
    );
    let all = s
        .users_consenting(t.id, "mail", &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(all.items, [users[2].id]);

    // Topics and preferences.
    assert!(s.get_topics(t.id).await.unwrap().is_empty());
    let topics = vec![Topic {
        key: "news".into(),
        names: BTreeMap::from([("en".to_string(), "News".to_string())]),
    }];
    s.put_topics(t.id, &topics).await.unwrap();
    assert_eq!(s.get_topics(t.id).await.unwrap(), topics);
    let prefs = CommunicationPreferences {
        channels: vec!["email".into()],
        topics: vec!["news".into()],
        frequency: Frequency::Monthly,
        updated_at: Some(t0()),
    };
    s.put_preferences(t.id, users[2].id, &prefs).await.unwrap();
    assert_eq!(
        s.get_preferences(t.id, users[2].id).await.unwrap(),
        Some(prefs.clone())
    );
    assert!(matches!(
        s.put_preferences(t.id, outsider.id, &prefs).await,
        Err(StoreError::NotFound)
    ));
}
