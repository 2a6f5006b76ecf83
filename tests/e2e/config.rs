//! Configuration refused at start: unknown `TESSERA_*` variables and bad values stop `serve` with
//! a non-zero exit and a message naming the key. These fail before storage is used, so they run
//! on the embedded default only.

use std::net::TcpListener;

use crate::harness::{Backend, Deployment};

/// Starts `serve` with `extra` and expects it to refuse, naming `key`.
async fn refused(extra: &[(&str, &str)], key: &str) -> String {
    let dep = Deployment::new(Backend::sqlite());
    let (status, log) = dep.serve_expecting_exit(extra).await;
    assert!(
        !status.success(),
        "serve with {extra:?} must fail, but exited with {status}"
    );
    assert!(
        log.contains(key),
        "the error for {extra:?} names {key}:\n{log}"
    );
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_variable_is_refused() {
    let dep = Deployment::new(Backend::sqlite());
    let (status, log) = dep.serve_expecting_exit(&[("TESSERA_FOO", "1")]).await;
    assert!(!status.success(), "TESSERA_FOO must stop serve: {status}");
    assert!(log.contains("TESSERA_FOO"), "{log}");
    assert!(
        !dep.data_dir().join("tessera.db").exists(),
        "nothing is created before the configuration is valid"
    );

    // The admin commands refuse it too, with the JSON error object.
    let dep = dep.set("TESSERA_FOO", "1");
    let out = dep.cli(&["tenant", "list", "--json"]).await;
    let message = out.error_json("configuration_error");
    assert!(message.contains("TESSERA_FOO"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_listen_address_is_refused() {
    refused(&[("TESSERA_LISTEN", "not-an-address")], "TESSERA_LISTEN").await;
    refused(&[("TESSERA_LISTEN", "127.0.0.1:99999")], "TESSERA_LISTEN").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_port_is_reported() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("a port can be bound");
    let addr = taken.local_addr().expect("an address").to_string();
    let log = refused(&[("TESSERA_LISTEN", &addr)], "TESSERA_LISTEN").await;
    assert!(log.contains(&addr), "the message names the address:\n{log}");
    drop(taken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_name_their_key() {
    refused(
        &[("TESSERA_ARGON2_ITERATIONS", "0")],
        "TESSERA_ARGON2_ITERATIONS",
    )
    .await;
    refused(
        &[("TESSERA_MAX_BODY_BYTES", "lots")],
        "TESSERA_MAX_BODY_BYTES",
    )
    .await;
    refused(
        &[("TESSERA_DATABASE_URL", "mysql://db/tessera")],
        "TESSERA_DATABASE_URL",
    )
    .await;
    refused(&[("TESSERA_PUBLIC_URL", "localhost")], "TESSERA_PUBLIC_URL").await;
    refused(&[("TESSERA_LOG_FORMAT", "xml")], "TESSERA_LOG_FORMAT").await;
    // One half of the bootstrap pair is a mistake, and the message says which half is missing.
    refused(
        &[("TESSERA_BOOTSTRAP_ADMIN_EMAIL", "ops@example.test")],
        "TESSERA_BOOTSTRAP_ADMIN_PASSWORD",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line() {
    let dep = Deployment::new(Backend::sqlite()).set("TESSERA_LOG_FORMAT", "json");
    let server = dep.start().await;
    let r = server.browser().get("/healthz").await;
    assert_eq!(r.status, 200);
    let log = server.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the server logs its start");
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {line}"));
        assert!(
            v.get("level").is_some() && v.get("timestamp").is_some(),
            "a JSON log line has level and timestamp: {line}"
        );
    }
    assert!(
        log.contains("Tessera is serving"),
        "the start message is logged"
    );
}
