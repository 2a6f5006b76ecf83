//! The mail outbox: queue, lease, send, retry, dead-letter; sealed while queued and erased once
//! finished; shared safely by concurrent workers; scoped to its tenant.

use std::collections::BTreeSet;

use tessera_core::mail::{MailCounts, MailOutboxStore, MailStatus, QueuedMail};
use tessera_core::page::PageRequest;
use tessera_core::store::TenantStore;
use tessera_core::{OutgoingMail, StoreError, TenantId, Timestamp, UserId};
use time::Duration;
use uuid::Uuid;

use crate::common::*;

fn message(to: &str, code: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.into(),
        subject: format!("{code} is your sign-in code"),
        text: format!("Your code is {code}.\n"),
        html: Some(format!("<p>Your code is <b>{code}</b>.</p>")),
    }
}

fn queued(tenant: TenantId, to: &str, code: &str, at: Timestamp) -> QueuedMail {
    QueuedMail::new(tenant, "email_code", None, message(to, code), at)
}

fn page(limit: u32, after: Option<String>) -> PageRequest {
    PageRequest {
        after,
        limit: Some(limit),
    }
}

pub async fn mail_outbox_lifecycle(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let user = UserId::new();
    let mut first = queued(t.id, "ann@example.com", "111111", t0());
    first.user_id = Some(user);
    let second = queued(
        t.id,
        "ben@example.com",
        "222222",
        t0() + Duration::milliseconds(1),
    );
    s.enqueue_mail(&first).await.unwrap();
    s.enqueue_mail(&second).await.unwrap();
    assert!(
        matches!(
            s.enqueue_mail(&queued(TenantId::new(), "x@example.com", "1", t0()))
                .await,
            Err(StoreError::NotFound)
        ),
        "a message needs its tenant"
    );
    assert_eq!(
        s.count_mail(t.id).await.unwrap(),
        MailCounts {
            pending: 2,
            sent: 0,
            dead: 0
        }
    );

    // Nothing is due before its time; then both, oldest first, with their content.
    assert!(
        s.claim_mail(t0() - Duration::seconds(1), t0(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let now = t0() + Duration::seconds(1);
    let lease = now + Duration::minutes(5);
    let claimed = s.claim_mail(now, lease, 10).await.unwrap();
    assert_eq!(claimed, vec![first.clone(), second.clone()]);
    // Leased: not claimed again until the lease ends.
    assert!(s.claim_mail(now, lease, 10).await.unwrap().is_empty());
    assert!(s.claim_mail(lease, lease, 0).await.unwrap().is_empty());

    // The first is sent; the second fails and waits for its retry.
    s.mark_mail_sent(first.id, now).await.unwrap();
    let retry_at = now + Duration::seconds(2);
    s.fail_mail(second.id, "connection refused", now, Some(retry_at))
        .await
        .unwrap();
    assert!(
        s.claim_mail(retry_at - Duration::milliseconds(1), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = s.claim_mail(retry_at, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, second.id);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].next_attempt_at, retry_at);
    assert_eq!(
        again[0].message, second.message,
        "the content survives a retry"
    );

    // The last attempt fails: dead.
    s.fail_mail(second.id, "timed out", retry_at, None)
        .await
        .unwrap();
    assert!(
        s.claim_mail(lease + Duration::hours(1), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A late failure report does not undo a sent message.
    s.fail_mail(first.id, "late", now, None).await.unwrap();
    assert_eq!(
        s.count_mail(t.id).await.unwrap(),
        MailCounts {
            pending: 0,
            sent: 1,
            dead: 1
        }
    );

    // Operators see state, never recipients or content; newest first.
    let all = s.list_mail(t.id, None, &page(10, None)).await.unwrap();
    assert_eq!(all.next_cursor, None);
    let ids: Vec<Uuid> = all.items.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![second.id, first.id]);
    let dead = &all.items[0];
    assert_eq!(dead.status, MailStatus::Dead);
    assert_eq!(dead.attempts, 2);
    assert_eq!(dead.last_error.as_deref(), Some("timed out"));
    assert_eq!(dead.finished_at, Some(retry_at));
    assert_eq!(dead.kind, "email_code");
    let sent = &all.items[1];
    assert_eq!(sent.status, MailStatus::Sent);
    assert_eq!(sent.attempts, 1);
    assert_eq!(sent.user_id, Some(user));
    assert_eq!(sent.finished_at, Some(now));
    assert_eq!(sent.last_error, None);
    let one = s.list_mail(t.id, None, &page(1, None)).await.unwrap();
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.next_cursor, Some(second.id.to_string()));
    let rest = s
        .list_mail(t.id, None, &page(1, one.next_cursor))
        .await
        .unwrap();
    assert_eq!(rest.items[0].id, first.id);
    assert_eq!(rest.next_cursor, None);
    let only_sent = s
        .list_mail(t.id, Some(MailStatus::Sent), &page(10, None))
        .await
        .unwrap();
    assert_eq!(only_sent.items.len(), 1);
    assert_eq!(only_sent.items[0].id, first.id);

    // Unknown ids.
    assert!(matches!(
        s.mark_mail_sent(Uuid::now_v7(), now).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.fail_mail(Uuid::now_v7(), "x", now, None).await,
        Err(StoreError::NotFound)
    ));

    // Purge keeps what finished recently and everything pending.
    let third = queued(t.id, "cy@example.com", "333333", now);
    s.enqueue_mail(&third).await.unwrap();
    assert_eq!(s.purge_mail(now).await.unwrap(), 0);
    assert_eq!(
        s.purge_mail(now + Duration::milliseconds(1)).await.unwrap(),
        1
    );
    assert_eq!(
        s.purge_mail(lease + Duration::days(30)).await.unwrap(),
        1,
        "the dead one; the pending one stays"
    );
    assert_eq!(
        s.count_mail(t.id).await.unwrap(),
        MailCounts {
            pending: 1,
            sent: 0,
            dead: 0
        }
    );
}

pub async fn an_expired_lease_is_claimed_again(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let m = queued(t.id, "dee@example.com", "444444", t0());
    s.enqueue_mail(&m).await.unwrap();
    let lease = t0() + Duration::minutes(5);
    assert_eq!(s.claim_mail(t0(), lease, 5).await.unwrap().len(), 1);
    assert!(
        s.claim_mail(lease - Duration::milliseconds(1), lease, 5)
            .await
            .unwrap()
            .is_empty()
    );
    // The worker that held it died: another takes it over once the lease is over.
    let taken = s
        .claim_mail(lease, lease + Duration::minutes(5), 5)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].message, m.message);
}

/// Distinctive strings of the queued message; none may be stored in the clear.
const SECRET_PARTS: &[&str] = &[
    "Xanthippe.Voss",
    "voss-mail.example",
    "918273",
    "Ultraviolet-Pangolin",
];

pub async fn queued_mail_is_sealed_and_finished_mail_erased(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "rest-mail-tenant").await;
    let mut m = queued(t.id, "Xanthippe.Voss@voss-mail.example", "918273", t0());
    m.message.text.push_str("Ultraviolet-Pangolin\n");
    let dead = queued(t.id, "Xanthippe.Voss@voss-mail.example", "918273", t0());
    s.enqueue_mail(&m).await.unwrap();
    s.enqueue_mail(&dead).await.unwrap();
    assert_eq!(
        s.claim_mail(t0(), t0() + Duration::minutes(1), 10)
            .await
            .unwrap()
            .len(),
        2,
        "the content reads back through the store"
    );
    let dump = dump_mail_outbox(h).await;
    assert!(
        dump.contains("rest-mail-tenant") || dump.contains(&t.id.to_string()),
        "the scan reads the rows"
    );
    for secret in SECRET_PARTS {
        assert!(
            !dump.to_lowercase().contains(&secret.to_lowercase()),
            "{secret:?} is stored in the clear: {dump}"
        );
    }

    // Once finished, nothing of the message is kept.
    s.mark_mail_sent(m.id, t0()).await.unwrap();
    s.fail_mail(dead.id, "550 mailbox unavailable", t0(), None)
        .await
        .unwrap();
    let nulls = count_sealed_values(h).await;
    assert_eq!(
        nulls, 0,
        "sent and dead messages keep no recipient or content"
    );
}

/// What a copy of the database shows: the SQLite files, or every `mail_outbox` row as text.
async fn dump_mail_outbox(h: &Harness) -> String {
    match h.sqlite_path() {
        Some(path) => {
            // The raw file and its write-ahead log, as an attacker with a copy would read them.
            let mut bytes = std::fs::read(path).expect("the database file exists");
            let wal = path.with_file_name(format!(
                "{}-wal",
                path.file_name().unwrap().to_string_lossy()
            ));
            if let Ok(w) = std::fs::read(wal) {
                bytes.extend(w);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        None => {
            let pool = sqlx::PgPool::connect(&h.url()).await.unwrap();
            let rows: Vec<String> = sqlx::query_scalar("SELECT t::text FROM mail_outbox t")
                .fetch_all(&pool)
                .await
                .unwrap();
            pool.close().await;
            rows.join("\n")
        }
    }
}

/// Rows that still hold a sealed recipient or content.
async fn count_sealed_values(h: &Harness) -> i64 {
    let sql = "SELECT COUNT(*) FROM mail_outbox \
               WHERE recipient_sealed IS NOT NULL OR content_sealed IS NOT NULL";
    match h.sqlite_path() {
        Some(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
        None => {
            let pool = sqlx::PgPool::connect(&h.url()).await.unwrap();
            let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
    }
}

pub async fn concurrent_mail_claims_never_share_a_row(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let mut expected = BTreeSet::new();
    for i in 0..40 {
        let m = queued(
            t.id,
            &format!("u{i}@example.com"),
            &format!("{i:06}"),
            t0() + Duration::milliseconds(i),
        );
        expected.insert(m.id);
        s.enqueue_mail(&m).await.unwrap();
    }
    let now = t0() + Duration::minutes(1);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let store = s.clone();
        tasks.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim_mail(now, now + Duration::minutes(5), 3)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    break mine;
                }
                mine.extend(batch.into_iter().map(|m| m.id));
                tokio::task::yield_now().await;
            }
        });
    }
    let mut claimed = BTreeSet::new();
    while let Some(r) = tasks.join_next().await {
        for id in r.unwrap() {
            assert!(claimed.insert(id), "message {id} was claimed twice");
        }
    }
    assert_eq!(claimed, expected, "every due message was claimed once");
}

pub async fn mail_stays_with_its_tenant(h: &Harness) {
    let s = &h.store;
    let a = tenant(s, "acme").await;
    let b = tenant(s, "globex").await;
    let m = queued(a.id, "eve@example.com", "555555", t0());
    s.enqueue_mail(&m).await.unwrap();
    assert!(
        s.list_mail(b.id, None, &page(10, None))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(s.count_mail(b.id).await.unwrap(), MailCounts::default());
    assert!(s.delete_tenant(a.id).await.unwrap());
    assert!(
        s.claim_mail(t0(), t0() + Duration::minutes(1), 10)
            .await
            .unwrap()
            .is_empty(),
        "a deleted tenant's messages go with it"
    );
}
