//! Zero trust towards the database: a copy of its files (SQLite) or of its rows (PostgreSQL)
//! must not reveal any email, name, phone number, attribute value, IP address or user agent.

use std::path::Path;

use serde_json::json;
use tessera_core::Secret;
use tessera_core::events::{Actor, AuditFilter, Event, EventKind, Target};
use tessera_core::page::PageRequest;
use tessera_core::store::{AuditStore, SessionStore, ThrottleStore, UserStore, WebhookStore};
use tessera_core::throttle::ThrottlePolicy;
use tessera_core::user::{NewUser, User};

use crate::common::*;
use crate::webhooks::{new_delivery, new_webhook};

const EMAIL: &str = "Zephyrine.Quokka@example.org";
/// Every string that must not appear anywhere in the stored bytes.
const PERSONAL: &[&str] = &[
    "Zephyrine",
    "zephyrine",
    "Quokka",
    "quokka",
    "5550001234",
    "ultramarine-xyzzy",
    "203.0.113.77",
    "QuokkaBrowser",
];
/// Stored in plain text, so finding it proves the scan reads the data at all.
pub(crate) const CANARY: &str = "rest-check-tenant";

pub async fn personal_data_is_encrypted_at_rest(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, CANARY).await;
    let u = User::create(
        t.id,
        NewUser {
            email: EMAIL.into(),
            email_verified: true,
            name: Some("Zephyrine Quokkabottom".into()),
            given_name: Some("Zephyrine".into()),
            family_name: Some("Quokkabottom".into()),
            phone: Some("+15550001234".into()),
            attributes: Some(serde_json::json!({"favourite_colour": "ultramarine-xyzzy"})),
        },
        None,
        t0(),
    )
    .unwrap();
    s.create_user(&u).await.unwrap();
    let mut sess = new_session(&u, "token-hash-at-rest", t0());
    sess.ip = Some("203.0.113.77".into());
    sess.user_agent = Some("QuokkaBrowser/9.1 (X11)".into());
    s.create_session(&sess).await.unwrap();
    let p = ThrottlePolicy::per_account();
    s.record_failure(t.id, &format!("account:{EMAIL}"), &p, t0())
        .await
        .unwrap();
    s.record_failure(t.id, "ip:203.0.113.77", &p, t0())
        .await
        .unwrap();
    // The values still read back in the clear through the store.
    assert_eq!(s.get_user(t.id, u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(s.get_session(t.id, sess.id).await.unwrap(), Some(sess));

    assert_stored_clean(h, PERSONAL).await;
}

/// Every string of the audit trail's personal data and of the webhook secret, none of which may
/// appear anywhere in the stored bytes.
const AUDIT_PERSONAL: &[&str] = &[
    "198.51.100.213",
    "PangolinBrowser",
    "wombat.quill",
    "Wombat",
    "whsec-ocelot-5c1d9e",
];

pub async fn audit_and_webhook_secrets_are_encrypted_at_rest(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, CANARY).await;
    let u = user(s, t.id, "someone@example.com").await;
    let mut hook = new_webhook(t.id, &["signin.*"]);
    hook.secret = Secret::new("whsec-ocelot-5c1d9e");
    s.create_webhook(&hook).await.unwrap();
    let with_subject = Event::new(
        t.id,
        t0(),
        EventKind::SignInFailed {
            method: "password".into(),
            reason: "invalid_credentials".into(),
        },
        Actor::anonymous(),
    )
    .target(Target::new("user", u.id))
    .subject(u.id)
    .failed()
    .ip(Some("198.51.100.213".into()))
    .user_agent(Some("PangolinBrowser/3.2 (X11)".into()))
    .detail("typed_email", json!("wombat.quill@example.net"));
    let without_subject = Event::new(
        t.id,
        t0(),
        EventKind::SignInFailed {
            method: "password".into(),
            reason: "unknown_user".into(),
        },
        Actor::anonymous(),
    )
    .failed()
    .ip(Some("198.51.100.213".into()))
    .detail("typed_name", json!("Wombat Quill"));
    for e in [&with_subject, &without_subject] {
        s.append_event(e, &[new_delivery(&hook, e, t0())])
            .await
            .unwrap();
    }
    // The values still read back in the clear through the store.
    assert_eq!(s.get_webhook(t.id, hook.id).await.unwrap(), Some(hook));
    let listed = s
        .list_audit(t.id, &AuditFilter::default(), &PageRequest::default())
        .await
        .unwrap()
        .items;
    assert_eq!(listed[1].1.as_ref(), Some(&with_subject.personal));
    assert_eq!(listed[0].1.as_ref(), Some(&without_subject.personal));
    assert_stored_clean(h, AUDIT_PERSONAL).await;
}

/// Scans the SQLite files (open, then closed) or every row of every PostgreSQL table for each
/// of `personal`. Closes the store.
pub(crate) async fn assert_stored_clean(h: &Harness, personal: &[&str]) {
    match h.sqlite_path() {
        Some(path) => {
            // While open (data in the write-ahead log) and after closing (checkpointed).
            assert_clean("open SQLite files", &read_database_files(path), personal);
            h.store.close().await;
            assert_clean("closed SQLite files", &read_database_files(path), personal);
        }
        None => {
            h.store.close().await;
            let pool = sqlx::PgPool::connect(&h.url()).await.unwrap();
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' \
                 AND tablename <> '_sqlx_migrations'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            for table in [
                "tenants",
                "users",
                "sessions",
                "signin_throttle",
                "audit_entries",
                "audit_subject_keys",
                "webhook_subscriptions",
                "webhook_deliveries",
            ] {
                assert!(tables.iter().any(|t| t == table), "{table} is scanned");
            }
            let mut dump = Vec::new();
            for table in &tables {
                let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT t::text FROM {table} t"
                )))
                .fetch_all(&pool)
                .await
                .unwrap();
                for row in rows {
                    dump.extend_from_slice(row.as_bytes());
                    dump.push(b'\n');
                }
            }
            pool.close().await;
            assert_clean("PostgreSQL rows", &dump, personal);
        }
    }
}

fn read_database_files(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).expect("the database file exists");
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        if let Ok(more) = std::fs::read(&side) {
            bytes.extend_from_slice(&more);
        }
    }
    bytes
}

fn assert_clean(what: &str, bytes: &[u8], personal: &[&str]) {
    assert!(
        contains(bytes, CANARY.as_bytes()),
        "{what}: the scan does not see stored data"
    );
    for needle in personal {
        assert!(
            !contains(bytes, needle.as_bytes()),
            "{what}: {needle:?} is stored in the clear"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
