//! Zero trust towards the database: a copy of its files (SQLite) or of its rows (PostgreSQL)
//! must not reveal any email, name, phone number, attribute value, IP address or user agent.

use std::path::Path;

use tessera_core::store::{SessionStore, ThrottleStore, UserStore};
use tessera_core::throttle::ThrottlePolicy;
use tessera_core::user::{NewUser, User};

use crate::common::*;

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
const CANARY: &str = "rest-check-tenant";

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

    match h.sqlite_path() {
        Some(path) => {
            // While open (data in the write-ahead log) and after closing (checkpointed).
            assert_clean("open SQLite files", &read_database_files(path));
            h.store.close().await;
            assert_clean("closed SQLite files", &read_database_files(path));
        }
        None => {
            let pool = sqlx::PgPool::connect(&h.url()).await.unwrap();
            let mut dump = Vec::new();
            for table in [
                "tenants",
                "users",
                "groups",
                "group_members",
                "clients",
                "sessions",
                "signin_throttle",
                "api_keys",
            ] {
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
            assert_clean("PostgreSQL rows", &dump);
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

fn assert_clean(what: &str, bytes: &[u8]) {
    assert!(
        contains(bytes, CANARY.as_bytes()),
        "{what}: the scan does not see stored data"
    );
    for needle in PERSONAL {
        assert!(
            !contains(bytes, needle.as_bytes()),
            "{what}: {needle:?} is stored in the clear"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
