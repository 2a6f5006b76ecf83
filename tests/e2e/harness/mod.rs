//! The end-to-end harness: deployments (a data directory and a database), server processes on
//! free ports, CLI runs, HTTP clients for the admin API and for the hosted pages, direct database
//! reads for checks the product does not expose, and a small WebDriver client.

pub mod db;
pub mod http;
pub mod process;
// Offered to every test file; not each uses every helper.
#[allow(dead_code)]
pub mod smtp;
#[allow(dead_code)]
pub mod tools;
pub mod webdriver;

use std::time::{Duration, Instant};

pub use http::{Api, Browser, Resp, assert_same, element_text, hidden_input};
pub use process::{Backend, Deployment, Server};

/// Small argon2 parameters for the tests where the hash cost is not the point.
pub const FAST_ARGON2: [(&str, &str); 2] = [
    ("TESSERA_ARGON2_MEMORY_KIB", "1024"),
    ("TESSERA_ARGON2_ITERATIONS", "1"),
];

/// Whether this run is CI (`CI=true`), where missing services fail tests instead of skipping them.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Polls `check` until it yields a value or `timeout` passes (then panics with `what`). Used only
/// to wait for something to become ready, never to let time pass.
pub async fn poll_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The common start of a scenario: a deployment with small argon2 parameters, one running server,
/// and an admin API client holding a write key of the `admin` tenant.
pub async fn start(backend: Backend) -> (Deployment, Server, Api) {
    let dep = Deployment::new(backend);
    let server = dep.start().await;
    let api = server.admin_api().await;
    (dep, server, api)
}

/// Declares, for each scenario `async fn name(backend: Backend)` of the calling module, the tests
/// `sqlite::name` and `postgres::name`. The PostgreSQL one skips (with a notice) when no
/// PostgreSQL server is reachable, except in CI, where it fails.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::Backend::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(backend) = $crate::harness::Backend::postgres().await else {
                        return;
                    };
                    super::$name(backend).await;
                }
            )*
        }
    };
}
