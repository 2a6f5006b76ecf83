//! Personal data at rest: after a user with a distinctive email and name is created through the
//! API and signs in, neither string (nor the master key) appears anywhere in the database — the
//! raw SQLite file and its write-ahead log, or every row of every PostgreSQL table — and the
//! master key file is private to its owner.

use std::os::unix::fs::PermissionsExt;

use base64::Engine;

use crate::harness::{Backend, db, start};

async fn personal_data_is_not_in_the_database(backend: Backend) {
    let (dep, mut server, api) = start(backend).await;
    let email = "Quintessa.Marlowe-7731@at-rest.example";
    let name = "Quintessa Zebulon Marlowe";
    let phone = "+1 415 555 0173";
    api.create_tenant("private", "customer").await;
    let user = api
        .post(
            "/tenants/private/users",
            &serde_json::json!({
                "email": email,
                "name": name,
                "given_name": "Quintessa",
                "family_name": "Marlowe",
                "phone": phone,
                "password": "at-rest-password-1",
                "attributes": {"favourite_colour": "ultramarine-violet"},
            }),
        )
        .await
        .expect(201);
    let b = server.browser();
    b.sign_in_ok("private", email, "at-rest-password-1").await;
    assert_eq!(b.account_email("private").await.as_deref(), Some(email));
    assert_eq!(
        api.get(&format!(
            "/tenants/private/users/{}",
            user["id"].as_str().expect("id")
        ))
        .await
        .expect(200)["name"],
        name,
        "the API still reads the data back"
    );

    let key_text = std::fs::read_to_string(dep.master_key_file()).expect("the master key file");
    let key_bytes = base64::engine::general_purpose::STANDARD
        .decode(key_text.trim())
        .expect("the master key file holds base64");
    assert_eq!(key_bytes.len(), 32);
    let mode = std::fs::metadata(dep.master_key_file())
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "the master key file is private: {mode:o}");

    // While the server runs (recent writes are in the WAL), and again after a clean stop.
    for moment in ["while running", "after shutdown"] {
        if moment == "after shutdown" {
            server.stop().await;
        }
        let raw = db::raw_contents(&dep).await;
        assert!(
            raw.len() > 1000,
            "the database holds data ({} bytes)",
            raw.len()
        );
        assert!(
            db::reveals(&raw, "private"),
            "sanity: the tenant slug (not personal data) is found in the raw bytes"
        );
        for secret in [
            email,
            "Quintessa.Marlowe",
            "at-rest.example",
            name,
            "Zebulon",
            phone,
            "ultramarine-violet",
            "at-rest-password-1",
            key_text.trim(),
        ] {
            assert!(
                !db::reveals(&raw, secret),
                "{moment}: {secret:?} is readable in the database"
            );
        }
        assert!(
            !db::contains(&raw, &key_bytes),
            "{moment}: the raw master key is in the database"
        );
    }
    // The log does not record the user's identity either.
    let log = server.log();
    for secret in [email, &email.to_lowercase(), name, phone] {
        assert!(!log.contains(secret), "the log contains {secret:?}:\n{log}");
    }
}

on_both_backends!(personal_data_is_not_in_the_database);
