//! The admin commands with `--json`: exactly one JSON object on stdout, the documented fields,
//! error objects with a non-zero exit, and the commands working on the database of a running
//! server (which sees their effects at once).

use crate::harness::{Api, Backend, Deployment};

async fn commands_print_one_json_object(backend: Backend) {
    let backend_name = backend.name();
    let dep = Deployment::new(backend);
    let server = dep.start().await;

    let version = server.cli_json(&["version"]).await;
    assert_eq!(version["name"], "tessera");
    assert!(version["version"].is_string(), "{version}");
    let migrated = server.cli_json(&["migrate"]).await;
    assert_eq!(migrated["migrated"], true);
    assert_eq!(migrated["database"], backend_name);

    // Tenants.
    let tenant = server
        .cli_json(&[
            "tenant", "create", "acme", "--preset", "customer", "--name", "Acme Inc",
        ])
        .await;
    assert!(uuid::Uuid::parse_str(tenant["id"].as_str().expect("id")).is_ok());
    assert_eq!(tenant["slug"], "acme");
    assert_eq!(tenant["name"], "Acme Inc");
    assert_eq!(tenant["preset"], "customer");
    assert_eq!(
        tenant["issuer"],
        format!("{}/t/acme", server.public_url),
        "the issuer derives from the public URL"
    );
    let dup = server
        .cli(&[
            "tenant",
            "create",
            "acme",
            "--preset",
            "workforce",
            "--json",
        ])
        .await;
    dup.error_json("conflict");
    let bad = server
        .cli(&[
            "tenant",
            "create",
            "Not A Slug",
            "--preset",
            "workforce",
            "--json",
        ])
        .await;
    bad.error_json("invalid_request");
    let listed = server.cli_json(&["tenant", "list"]).await;
    let slugs: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["slug"].as_str())
        .collect();
    assert!(
        slugs.contains(&"acme") && slugs.contains(&"admin"),
        "{listed}"
    );

    // Clients: confidential with a secret, public with `null`.
    let confidential = server
        .cli_json(&[
            "client",
            "create",
            "--tenant",
            "acme",
            "--name",
            "Web",
            "--redirect-uri",
            "https://app.example/cb",
            "--redirect-uri",
            "https://app.example/cb2",
        ])
        .await;
    assert!(
        confidential["client_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    let secret = confidential["client_secret"]
        .as_str()
        .expect("a confidential client gets a secret");
    assert!(secret.len() >= 20, "the secret is long: {secret}");
    assert_eq!(confidential["client_type"], "confidential");
    assert_eq!(
        confidential["redirect_uris"],
        serde_json::json!(["https://app.example/cb", "https://app.example/cb2"])
    );
    let public = server
        .cli_json(&[
            "client",
            "create",
            "--tenant",
            "acme",
            "--name",
            "SPA",
            "--redirect-uri",
            "https://spa.example/cb",
            "--public",
        ])
        .await;
    assert!(
        public
            .as_object()
            .expect("object")
            .contains_key("client_secret")
            && public["client_secret"].is_null(),
        "a public client has client_secret null: {public}"
    );
    assert_eq!(public["client_type"], "public");
    let machine = server
        .cli_json(&[
            "client",
            "create",
            "--tenant",
            "acme",
            "--name",
            "Batch job",
            "--grant-type",
            "client_credentials",
        ])
        .await;
    assert_eq!(
        machine["grant_types"],
        serde_json::json!(["client_credentials"])
    );
    server
        .cli(&[
            "client",
            "create",
            "--tenant",
            "nope",
            "--name",
            "X",
            "--redirect-uri",
            "https://x.example/cb",
            "--json",
        ])
        .await
        .error_json("not_found");

    // Users, including a password read from stdin.
    let alice = server
        .cli_json(&[
            "user",
            "create",
            "--tenant",
            "acme",
            "--email",
            "alice@acme.test",
            "--password",
            "alice-password-1",
            "--name",
            "Alice Example",
        ])
        .await;
    assert!(uuid::Uuid::parse_str(alice["id"].as_str().expect("id")).is_ok());
    assert_eq!(alice["email"], "alice@acme.test");
    assert_eq!(alice["name"], "Alice Example");
    assert_eq!(alice["has_password"], true);
    assert_eq!(alice["status"], "active");
    for key in ["password", "password_hash"] {
        assert!(alice.get(key).is_none(), "no {key} in the output: {alice}");
    }
    let bob = server
        .cli_stdin(
            &[
                "user",
                "create",
                "--tenant",
                "acme",
                "--email",
                "bob@acme.test",
                "--password-stdin",
                "--json",
            ],
            "bob-password-from-stdin\n",
        )
        .await
        .success_json();
    assert_eq!(bob["has_password"], true);
    server
        .cli(&[
            "user",
            "create",
            "--tenant",
            "acme",
            "--email",
            "ALICE@acme.test",
            "--json",
        ])
        .await
        .error_json("conflict");
    server
        .cli(&[
            "user",
            "create",
            "--tenant",
            "nope",
            "--email",
            "x@acme.test",
            "--json",
        ])
        .await
        .error_json("not_found");
    server
        .cli(&[
            "user",
            "create",
            "--tenant",
            "acme",
            "--email",
            "carol@acme.test",
            "--password",
            "short",
            "--json",
        ])
        .await
        .error_json("invalid_request");

    // An imported bcrypt hash signs in (and is not a password of its own).
    let hash = bcrypt::hash("carried-over-password", 4).expect("bcrypt hashes in the test");
    let carol = server
        .cli_json(&[
            "user",
            "create",
            "--tenant",
            "acme",
            "--email",
            "carol@acme.test",
            "--password-hash",
            &hash,
        ])
        .await;
    assert_eq!(carol["has_password"], true);
    server
        .browser()
        .sign_in_ok("acme", "carol@acme.test", "carried-over-password")
        .await;
    assert_eq!(
        server
            .browser()
            .sign_in("acme", "carol@acme.test", &hash)
            .await
            .status,
        401
    );
    server
        .cli_json(&["user", "delete", "--tenant", "acme", "carol@acme.test"])
        .await;

    let list = server.cli_json(&["user", "list", "--tenant", "acme"]).await;
    let emails: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert_eq!(emails.len(), 2, "{list}");
    assert!(emails.contains(&"alice@acme.test") && emails.contains(&"bob@acme.test"));
    let shown = server
        .cli_json(&["user", "show", "--tenant", "acme", "alice@acme.test"])
        .await;
    assert_eq!(shown["id"], alice["id"]);
    let disabled = server
        .cli_json(&["user", "disable", "--tenant", "acme", "alice@acme.test"])
        .await;
    assert_eq!(disabled["status"], "disabled");
    let refused = server
        .browser()
        .sign_in("acme", "alice@acme.test", "alice-password-1")
        .await;
    assert_eq!(refused.status, 401, "a disabled account cannot sign in");
    let enabled = server
        .cli_json(&[
            "user",
            "enable",
            "--tenant",
            "acme",
            alice["id"].as_str().expect("id"),
        ])
        .await;
    assert_eq!(enabled["status"], "active");

    // The running server sees what the CLI wrote: both users sign in through its pages.
    server
        .browser()
        .sign_in_ok("acme", "alice@acme.test", "alice-password-1")
        .await;
    server
        .browser()
        .sign_in_ok("acme", "bob@acme.test", "bob-password-from-stdin")
        .await;

    // API keys made by the CLI work against the running server, within their scope.
    let key = server
        .cli_json(&[
            "keys",
            "create-api-key",
            "--tenant",
            "admin",
            "--scope",
            "read",
        ])
        .await;
    let secret = key["api_key"].as_str().expect("api_key");
    assert!(secret.starts_with("tsk_"), "{secret}");
    let reader = Api::new(&server, secret);
    let users = reader.get("/tenants/acme/users").await.expect(200);
    assert_eq!(users["items"].as_array().map(Vec::len), Some(2), "{users}");
    reader
        .post(
            "/tenants",
            &serde_json::json!({"slug": "x-corp", "preset": "workforce"}),
        )
        .await
        .expect_error(403, "forbidden");
    server
        .cli(&["keys", "create-api-key", "--tenant", "nope", "--json"])
        .await
        .error_json("not_found");

    // And the CLI sees what the server wrote.
    let writer = server.admin_api().await;
    writer.create_tenant("made-by-api", "workforce").await;
    let shown = server.cli_json(&["tenant", "show", "made-by-api"]).await;
    assert_eq!(shown["slug"], "made-by-api");

    let deleted = server
        .cli_json(&["user", "delete", "--tenant", "acme", "bob@acme.test"])
        .await;
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["id"], bob["id"]);
    server
        .cli(&[
            "user",
            "show",
            "--tenant",
            "acme",
            "bob@acme.test",
            "--json",
        ])
        .await
        .error_json("not_found");
    reader
        .get(&format!(
            "/tenants/acme/users/{}",
            bob["id"].as_str().expect("id")
        ))
        .await
        .expect_error(404, "not_found");
}

/// The human form (without `--json`) is text, and errors go to stderr with a non-zero exit.
async fn human_output_and_errors(backend: Backend) {
    let dep = Deployment::new(backend);
    let out = dep
        .cli(&["tenant", "create", "plain", "--preset", "workforce"])
        .await;
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains("plain")
            && serde_json::from_str::<serde_json::Value>(&out.stdout).is_err(),
        "without --json the output is text: {}",
        out.stdout
    );
    let out = dep
        .cli(&["tenant", "create", "plain", "--preset", "workforce"])
        .await;
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "errors stay off stdout: {}",
        out.stdout
    );
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
}

on_both_backends!(commands_print_one_json_object, human_output_and_errors);
