//! First start: the `admin` tenant and its first operator, with a one-time setup password logged
//! exactly once, or with the operator given by TESSERA_BOOTSTRAP_ADMIN_EMAIL/PASSWORD.

use base64::Engine;

use crate::harness::{Backend, Deployment};

const SETUP_MARK: &str = "one-time setup password: ";

/// Every setup password the log announces.
fn setup_passwords(log: &str) -> Vec<String> {
    log.match_indices(SETUP_MARK)
        .map(|(i, _)| {
            log[i + SETUP_MARK.len()..]
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

async fn setup_password_is_logged_once_and_signs_in(backend: Backend) {
    let dep = Deployment::new(backend);
    let mut first = dep.start().await;
    let log = first.log();
    let passwords = setup_passwords(&log);
    assert_eq!(
        passwords.len(),
        1,
        "the first start logs the setup password exactly once:\n{log}"
    );
    let password = passwords[0].clone();
    assert!(
        password.len() >= 16,
        "the setup password is long: {password:?}"
    );
    assert!(
        log.contains("admin@localhost"),
        "the log names the operator"
    );
    assert!(
        !first.stdout().contains(&password),
        "logs go to stderr, not stdout"
    );

    let browser = first.browser();
    browser
        .sign_in_ok("admin", "admin@localhost", &password)
        .await;
    assert_eq!(
        browser.account_email("admin").await.as_deref(),
        Some("admin@localhost")
    );
    let wrong = first
        .browser()
        .sign_in("admin", "admin@localhost", "not-the-setup-password")
        .await;
    assert_eq!(wrong.status, 401, "only the logged password works");
    first.stop().await;

    let second = dep.start().await;
    let log = second.log();
    assert!(
        setup_passwords(&log).is_empty() && !log.contains(&password),
        "a second start on the same data does not log a setup password again:\n{log}"
    );
    second
        .browser()
        .sign_in_ok("admin", "admin@localhost", &password)
        .await;
    let operators = second
        .cli_json(&["user", "list", "--tenant", "admin"])
        .await;
    assert_eq!(
        operators["items"].as_array().map(Vec::len),
        Some(1),
        "exactly one operator exists: {operators}"
    );
}

async fn configured_operator_signs_in(backend: Backend) {
    let secret = "Bootstrap-Secret-7f3a";
    let dep = Deployment::new(backend)
        .set("TESSERA_BOOTSTRAP_ADMIN_EMAIL", "ops@example.test")
        .set("TESSERA_BOOTSTRAP_ADMIN_PASSWORD", secret);
    let server = dep.start().await;
    let log = server.log();
    assert!(
        setup_passwords(&log).is_empty(),
        "no setup password when the operator is configured:\n{log}"
    );
    assert!(
        !log.contains(secret),
        "the configured password never appears in the log"
    );

    let browser = server.browser();
    browser
        .sign_in_ok("admin", "ops@example.test", secret)
        .await;
    assert_eq!(
        browser.account_email("admin").await.as_deref(),
        Some("ops@example.test")
    );
    let wrong = server
        .browser()
        .sign_in("admin", "ops@example.test", "Bootstrap-Secret-7f3b")
        .await;
    assert_eq!(wrong.status, 401);
    assert!(
        server.browser().account_email("admin").await.is_none(),
        "a fresh browser is not signed in"
    );
    let operators = server
        .cli_json(&["user", "list", "--tenant", "admin"])
        .await;
    let items = operators["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{operators}");
    assert_eq!(items[0]["email"], "ops@example.test");
}

/// Two nodes started at the same moment on one fresh PostgreSQL database (sharing a master key,
/// as a real cluster does): migrations and bootstrap run once, one setup password is logged, and
/// it signs in on both nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_bootstrap_once_on_postgres() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let key: Vec<u8> = uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .chain(uuid::Uuid::new_v4().as_bytes())
        .copied()
        .collect();
    let key = base64::engine::general_purpose::STANDARD.encode(key);
    let dep = Deployment::new(backend).set("TESSERA_MASTER_KEY", &key);
    let (node1, node2) = tokio::join!(dep.start(), dep.start());
    let logs = format!("{}\n{}", node1.log(), node2.log());
    let passwords = setup_passwords(&logs);
    assert_eq!(
        passwords.len(),
        1,
        "exactly one node creates the operator and logs its password:\n{logs}"
    );
    for node in [&node1, &node2] {
        node.browser()
            .sign_in_ok("admin", "admin@localhost", &passwords[0])
            .await;
    }
    let operators = node2.cli_json(&["user", "list", "--tenant", "admin"]).await;
    assert_eq!(
        operators["items"].as_array().map(Vec::len),
        Some(1),
        "{operators}"
    );
    let tenants = node1.cli_json(&["tenant", "list"]).await;
    assert_eq!(
        tenants["items"].as_array().map(Vec::len),
        Some(1),
        "{tenants}"
    );
}

on_both_backends!(
    setup_password_is_logged_once_and_signs_in,
    configured_operator_signs_in,
);
