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
