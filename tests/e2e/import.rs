//! `tessera user import`: bulk accounts from JSON Lines and CSV, imported hashes that sign in and
//! are upgraded, bad lines reported by number and skipped, nothing half-written.

use serde_json::json;

use crate::harness::{Backend, start};

async fn import_jsonl_and_csv(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    api.create_tenant("mig", "customer").await;
    let hash = bcrypt::hash("imported passphrase", 4).expect("bcrypt hashes in the test");
    let lines = [
        json!({"email": "one@mig.test", "name": "One", "password_hash": hash, "attributes": {"tier": "gold"}}).to_string(),
        json!({"email": "not-an-email"}).to_string(),
        String::new(),
        json!({"email": "two@mig.test", "email_verified": true}).to_string(),
        json!({"email": "ONE@mig.test"}).to_string(),
        json!({"email": "three@mig.test", "password_hash": "plaintext"}).to_string(),
        json!({"email": "four@mig.test", "nickname": "x"}).to_string(),
        "{not json".to_string(),
    ]
    .join("\n");
    let out = server
        .cli_stdin(
            &["user", "import", "--tenant", "mig", "--file", "-", "--json"],
            &lines,
        )
        .await
        .success_json();
    assert_eq!(out["imported"], 2, "{out}");
    assert_eq!(out["failed"], 5, "{out}");
    let bad_lines: Vec<u64> = out["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(bad_lines, vec![2, 5, 6, 7, 8], "{out}");

    // Imported accounts are complete (and encrypted like any other).
    let one = api
        .get("/tenants/mig/users?email=one@mig.test")
        .await
        .expect(200);
    assert_eq!(one["items"][0]["name"], "One");
    assert_eq!(one["items"][0]["attributes"]["tier"], "gold");
    assert_eq!(one["items"][0]["has_password"], true);
    let two = api
        .get("/tenants/mig/users?email=two@mig.test")
        .await
        .expect(200);
    assert_eq!(two["items"][0]["email_verified"], true);
    assert!(
        api.get("/tenants/mig/users?email=three@mig.test")
            .await
            .expect(200)["items"]
            .as_array()
            .expect("items")
            .is_empty()
    );

    // The imported bcrypt hash signs in through the hosted page.
    server
        .browser()
        .sign_in_ok("mig", "one@mig.test", "imported passphrase")
        .await;

    // CSV with a header; a bad column is refused before anything is written.
    let csv = "email,name,email_verified\nfive@mig.test,Five,yes\nsix@mig.test,,perhaps\n";
    let out = server
        .cli_stdin(
            &[
                "user", "import", "--tenant", "mig", "--file", "-", "--format", "csv", "--json",
            ],
            csv,
        )
        .await
        .success_json();
    assert_eq!(
        (out["imported"].as_u64(), out["failed"].as_u64()),
        (Some(1), Some(1)),
        "{out}"
    );
    assert_eq!(out["errors"][0]["line"], 3);
    let refused = server
        .cli_stdin(
            &[
                "user", "import", "--tenant", "mig", "--file", "-", "--format", "csv", "--json",
            ],
            "email,shoe_size\nx@mig.test,42\n",
        )
        .await;
    assert!(!refused.status.success());
    assert!(refused.stdout.contains("shoe_size"), "{}", refused.stdout);
    assert!(
        api.get("/tenants/mig/users?email=x@mig.test")
            .await
            .expect(200)["items"]
            .as_array()
            .expect("items")
            .is_empty()
    );

    // One audit event per batch.
    let events = api
        .get("/tenants/mig/audit?type=users.imported")
        .await
        .expect(200);
    assert_eq!(
        events["items"].as_array().map(Vec::len),
        Some(2),
        "{events}"
    );
}

/// More accounts than one write batch (1,000): repeated emails and bad lines anywhere, including
/// a repeat whose first occurrence is in an earlier batch, are reported on their own lines and
/// skip only themselves.
async fn large_import_crosses_batches(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    api.create_tenant("bulk", "customer").await;
    let mut lines: Vec<String> = (1..=2_500)
        .map(|i| json!({"email": format!("u{i}@bulk.test")}).to_string())
        .collect();
    // Line 1,500 repeats line 10 (an earlier batch); line 1,001 repeats line 1,000 (the batch
    // boundary); line 2,001 is not JSON.
    lines[1_499] = json!({"email": "U10@bulk.test"}).to_string();
    lines[1_000] = json!({"email": "u1000@bulk.test"}).to_string();
    lines[2_000] = "{".to_string();
    let out = server
        .cli_stdin(
            &[
                "user", "import", "--tenant", "bulk", "--file", "-", "--json",
            ],
            &lines.join("\n"),
        )
        .await
        .success_json();
    assert_eq!(
        (out["imported"].as_u64(), out["failed"].as_u64()),
        (Some(2_497), Some(3)),
        "{out}"
    );
    let bad: Vec<u64> = out["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(bad, vec![1_001, 1_500, 2_001], "{out}");
    for (email, found) in [
        ("u1@bulk.test", true),
        ("u999@bulk.test", true),
        ("u1001@bulk.test", false),
        ("u1002@bulk.test", true),
        ("u2500@bulk.test", true),
        ("u2001@bulk.test", false),
    ] {
        let items = api
            .get(&format!("/tenants/bulk/users?email={email}"))
            .await
            .expect(200);
        assert_eq!(
            items["items"].as_array().map(Vec::len),
            Some(usize::from(found)),
            "{email}: {items}"
        );
    }
}

on_both_backends!(import_jsonl_and_csv, large_import_crosses_batches);
