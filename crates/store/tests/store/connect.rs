//! Opening databases by URL (SQLite only: these need no server).

use tessera_core::StoreError;
use tessera_core::store::TenantStore;
use tessera_store::Store;
use tessera_store::testing::test_field_crypto;

use crate::common::*;

#[tokio::test]
async fn unsupported_urls_name_the_setting() {
    for url in [
        "mysql://root@localhost/tessera",
        "tessera.db",
        "",
        "http://example.com",
    ] {
        match Store::connect(url, test_field_crypto()).await {
            Err(StoreError::Backend(msg)) => {
                assert!(msg.contains("TESSERA_DATABASE_URL"), "{msg}");
                assert!(
                    msg.contains("sqlite://") && msg.contains("postgres://"),
                    "{msg}"
                );
            }
            other => panic!("{url:?}: expected a Backend error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn in_memory_sqlite_works() {
    let store = Store::connect("sqlite::memory:", test_field_crypto())
        .await
        .unwrap();
    assert_eq!(store.backend(), "sqlite");
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    let t = tenant(&store, "memory").await;
    // The data outlives the connection that wrote it (the pool keeps the database alive).
    assert_eq!(store.get_tenant_by_slug("memory").await.unwrap(), Some(t));
    store.ping().await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn sqlite_file_and_folders_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("tessera.db");
    let url = format!("sqlite://{}", path.display());
    let store = Store::connect(&url, test_field_crypto()).await.unwrap();
    store.migrate().await.unwrap();
    tenant(&store, "persisted").await;
    store.close().await;
    assert!(path.exists());
    // Reopened, the data is still there and migrations are a no-op.
    let store = Store::connect(&url, test_field_crypto()).await.unwrap();
    store.migrate().await.unwrap();
    assert!(
        store
            .get_tenant_by_slug("persisted")
            .await
            .unwrap()
            .is_some()
    );
    store.close().await;
    // The file was switched to write-ahead logging (a persistent property of the file).
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    raw.close().await;
}

/// The write-ahead log reaches the database file while the store is open, although the write
/// connection's own checkpoint only starts at 20,000 pages: a connection of the store's own
/// checkpoints it beside the writer (see `checkpoint.rs`). Seen from outside: a copy of the
/// database file alone, without its log, holds what was written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_log_is_checkpointed_beside_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tessera.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()), test_field_crypto())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    for i in 0..20 {
        tenant(&store, &format!("logged-{i}")).await;
    }
    let copy = dir.path().join("copy.db");
    let mut found = 0;
    for _ in 0..50 {
        std::fs::copy(&path, &copy).unwrap();
        // A copy taken while a page is being written may be torn: try again.
        if let Ok(raw) = sqlx::SqlitePool::connect(&format!("sqlite://{}", copy.display())).await {
            found = sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM tenants WHERE slug LIKE 'logged-%'",
            )
            .fetch_one(&raw)
            .await
            .unwrap_or(0);
            raw.close().await;
        }
        for file in ["copy.db", "copy.db-wal", "copy.db-shm"] {
            let _ = std::fs::remove_file(dir.path().join(file));
        }
        if found == 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        found, 20,
        "the database file holds every write within 5 s, the store still open"
    );
    store.ping().await.unwrap();
    store.close().await;
}
