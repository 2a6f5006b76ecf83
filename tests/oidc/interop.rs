//! Real third-party relying-party libraries against a real server: Node `openid-client` (v6)
//! and Python `authlib` + `idpyoidc`, from `tests/interop/`. Their packages are installed from
//! the lock files into caches this module manages (`tests/interop/node/node_modules`, git-ignored,
//! and a virtual environment under the cargo target directory), once per lock-file content and
//! under a file lock, so parallel tests and parallel runs do not race.
//!
//! Without node/npm or python3 the tests print a notice and pass, except in CI, where they fail.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::tools::{
    FileLock, INSTALL_TIMEOUT, cache_dir, check_ok, fingerprint, interop_dir, python_venv, require,
    run,
};
use crate::harness::{Api, Backend, Server, start};
use crate::rp::{Op, PASSWORD};

const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// `npm ci` into `tests/interop/node/node_modules` when the lock file changed since the last
/// install. Returns the project folder.
async fn node_project() -> PathBuf {
    let dir = interop_dir().join("node");
    let _lock = FileLock::acquire(&cache_dir().join("node.lock"));
    let stamp = dir.join("node_modules/.tessera-install-stamp");
    let want = fingerprint(&[dir.join("package.json"), dir.join("package-lock.json")]);
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == want) {
        return dir;
    }
    let mut cmd = tokio::process::Command::new("npm");
    cmd.args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir);
    check_ok(
        &run(&mut cmd, "npm ci", INSTALL_TIMEOUT).await,
        "npm ci (tests/interop/node)",
    );
    std::fs::write(&stamp, want).expect("the install stamp can be written");
    dir
}

/// A virtual environment under the target directory with `requirements.txt` installed, rebuilt
/// when that file changes. Returns its Python.
async fn python_env() -> PathBuf {
    python_venv("requirements.txt", "venv").await
}

/// What every library is given: a tenant with a user, a confidential web client and a machine
/// client, registered with the CLI as docs/oidc.md shows.
struct Setup {
    op: Op,
    env: Vec<(&'static str, String)>,
    web_id: String,
    machine_id: String,
}

async fn setup(server: &Server, api: &Api, slug: &str, redirect_uri: &str) -> Setup {
    let op = Op::new(server, api, slug).await;
    let web = server
        .cli_json(&[
            "client",
            "create",
            "--tenant",
            slug,
            "--name",
            "Interop web app",
            "--redirect-uri",
            redirect_uri,
            "--first-party",
        ])
        .await;
    let machine = server
        .cli_json(&[
            "client",
            "create",
            "--tenant",
            slug,
            "--name",
            "Interop job",
            "--grant-type",
            "client_credentials",
            "--scope",
            "interop:read",
        ])
        .await;
    let s = |v: &Value, k: &str| {
        v[k].as_str()
            .unwrap_or_else(|| panic!("{k} in {v}"))
            .to_string()
    };
    let env = vec![
        ("TESSERA_ISSUER", op.issuer.clone()),
        ("TESSERA_CLIENT_ID", s(&web, "client_id")),
        ("TESSERA_CLIENT_SECRET", s(&web, "client_secret")),
        ("TESSERA_REDIRECT_URI", redirect_uri.to_string()),
        ("TESSERA_MACHINE_CLIENT_ID", s(&machine, "client_id")),
        (
            "TESSERA_MACHINE_CLIENT_SECRET",
            s(&machine, "client_secret"),
        ),
        ("TESSERA_MACHINE_SCOPE", "interop:read".to_string()),
        ("TESSERA_USER_EMAIL", op.email.clone()),
        ("TESSERA_USER_PASSWORD", PASSWORD.to_string()),
    ];
    Setup {
        op,
        env,
        web_id: s(&web, "client_id"),
        machine_id: s(&machine, "client_id"),
    }
}

/// Runs a script and returns the JSON summary it prints as its last line of stdout.
async fn run_script(mut cmd: tokio::process::Command, setup: &Setup, what: &str) -> Value {
    for (k, v) in &setup.env {
        cmd.env(k, v);
    }
    // The scripts talk to 127.0.0.1 only; keep any proxy of the environment out of the way.
    cmd.env("NO_PROXY", "*")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy");
    let out = run(&mut cmd, what, RUN_TIMEOUT).await;
    check_ok(&out, what);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str(last).unwrap_or_else(|e| {
        panic!(
            "{what} did not end with a JSON summary ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The checks both libraries' summaries must pass: what the library saw is what the provider
/// issued to these clients for this user.
#[track_caller]
fn check_summary(v: &Value, s: &Setup, library: &str) {
    assert_eq!(v["ok"], true, "{library}: {v}");
    assert_eq!(
        v["discovery"]["issuer"],
        s.op.issuer.as_str(),
        "{library}: {v}"
    );
    let id = &v["id_token_claims"];
    assert_eq!(id["iss"], s.op.issuer.as_str(), "{library}: {id}");
    assert_eq!(id["sub"], s.op.user_id.as_str(), "{library}: {id}");
    assert_eq!(id["aud"], s.web_id.as_str(), "{library}: {id}");
    assert_eq!(id["email"], s.op.email.as_str(), "{library}: {id}");
    assert!(
        id["nonce"].as_str().is_some_and(|n| !n.is_empty()),
        "{library}: {id}"
    );
    assert!(
        id["at_hash"].is_string() && id["sid"].is_string(),
        "{library}: {id}"
    );
    assert_eq!(
        v["authorization_response"]["iss"],
        s.op.issuer.as_str(),
        "{library}: {v}"
    );
    assert_eq!(
        v["userinfo"]["sub"],
        s.op.user_id.as_str(),
        "{library}: {v}"
    );
    assert_eq!(
        v["userinfo"]["email"],
        s.op.email.as_str(),
        "{library}: {v}"
    );
    assert_eq!(v["refresh"]["rotated"], true, "{library}: {v}");
    assert_eq!(
        v["refresh"]["id_token_sub"],
        s.op.user_id.as_str(),
        "{library}: {v}"
    );
    assert_eq!(
        v["client_credentials"]["scope"], "interop:read",
        "{library}: {v}"
    );
    assert!(
        v["client_credentials"]["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer")),
        "{library}: {v}"
    );
    let i = &v["introspection"];
    assert_eq!(i["active"], true, "{library}: {i}");
    assert_eq!(i["sub"], s.op.user_id.as_str(), "{library}: {i}");
    assert_eq!(i["client_id"], s.web_id.as_str(), "{library}: {i}");
    let m = &v["machine_introspection"];
    assert_eq!(m["active"], true, "{library}: {m}");
    assert_eq!(m["sub"], s.machine_id.as_str(), "{library}: {m}");
    assert_eq!(
        v["revocation"],
        json!({"refresh_token_active_after": false, "access_token_active_after": false}),
        "{library}: revoking the refresh token ends the grant: {v}"
    );
}

async fn node_openid_client(backend: Backend) {
    if !require(
        &["node", "npm"],
        "the Node openid-client interoperability test",
    ) {
        return;
    }
    let dir = node_project().await;
    let (_dep, server, api) = start(backend).await;
    let s = setup(
        &server,
        &api,
        "interop-node",
        "http://localhost:9/node-callback",
    )
    .await;
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg("flow.mjs").current_dir(&dir);
    let v = run_script(cmd, &s, "node tests/interop/node/flow.mjs").await;
    check_summary(&v, &s, "openid-client");
    assert_eq!(v["library"], "openid-client");
    assert!(
        v["version"].as_str().is_some_and(|x| x.starts_with("6.")),
        "{v}"
    );
    // openid-client verified the ID token signature against the JWKS itself.
    assert_eq!(v["id_token_signature_checked"], true, "{v}");
    crate::rp::assert_no_server_errors(&server);
}

async fn python_authlib_and_idpyoidc(backend: Backend) {
    if !require(
        &["python3"],
        "the Python authlib/idpyoidc interoperability test",
    ) {
        return;
    }
    let python = python_env().await;
    let (_dep, server, api) = start(backend).await;
    let s = setup(
        &server,
        &api,
        "interop-py",
        "http://localhost:9/py-callback",
    )
    .await;
    let mut cmd = tokio::process::Command::new(&python);
    cmd.arg("flow.py")
        .current_dir(interop_dir().join("python"))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let v = run_script(cmd, &s, "python tests/interop/python/flow.py").await;
    check_summary(&v, &s, "authlib");
    assert_eq!(v["library"], "authlib");
    let idpy = &v["idpyoidc"];
    assert_eq!(idpy["issuer"], s.op.issuer.as_str(), "{v}");
    assert_eq!(
        idpy["token_endpoint"],
        format!("{}/token", s.op.issuer),
        "{v}"
    );
    assert_eq!(idpy["verified"], true, "{v}");
    assert_eq!(idpy["rp_token_endpoint"], idpy["token_endpoint"], "{v}");
    assert_eq!(idpy["rp_jwks_uri"], format!("{}/jwks", s.op.issuer), "{v}");
    // The versions that ran are the ones pinned in requirements.txt.
    let pins = std::fs::read_to_string(interop_dir().join("python/requirements.txt"))
        .expect("requirements.txt")
        .to_lowercase();
    for (package, ran) in v["versions"].as_object().expect("versions") {
        let ran = ran.as_str().expect("a version");
        assert!(
            pins.contains(&format!("{package}=={ran}")),
            "{package} {ran} is the pinned version"
        );
    }
    crate::rp::assert_no_server_errors(&server);
}

on_both_backends!(node_openid_client, python_authlib_and_idpyoidc);
