//! `/api/v1/tenants/{slug}/users`: create, read, change (absent keeps, `null` clears), delete,
//! cursor pagination and filters, disabling (which ends sessions), password changes, and the
//! import of a bcrypt hash that is upgraded to argon2id at the next sign-in.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::harness::{Backend, assert_same, db, start};

async fn users_crud_and_patch_semantics(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    api.create_tenant("people", "customer").await;

    let created = api
        .post(
            "/tenants/people/users",
            &json!({
                "email": "Ada.Lovelace@Example.test",
                "password": "analytical-engine",
                "email_verified": true,
                "name": "Ada Lovelace",
                "given_name": "Ada",
                "family_name": "Lovelace",
                "phone": "+44 20 7946 0958",
                "attributes": {"department": "mathematics"},
            }),
        )
        .await
        .expect(201);
    let id = created["id"].as_str().expect("id").to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(created["email"], "Ada.Lovelace@Example.test");
    assert_eq!(created["email_verified"], true);
    assert_eq!(created["name"], "Ada Lovelace");
    assert_eq!(created["phone"], "+44 20 7946 0958");
    assert_eq!(created["status"], "active");
    assert_eq!(created["has_password"], true);
    assert_eq!(created["attributes"], json!({"department": "mathematics"}));
    assert!(created["last_login_at"].is_null());
    for key in ["password", "password_hash"] {
        assert!(created.get(key).is_none(), "{key} is never returned");
    }
    let path = format!("/tenants/people/users/{id}");
    assert_same(
        &api.get(&path).await.expect(200),
        &created,
        "a read returns the created user",
    );

    // Emails are unique per tenant, whatever their case.
    api.post(
        "/tenants/people/users",
        &json!({"email": "ada.lovelace@example.TEST"}),
    )
    .await
    .expect_error(409, "conflict");

    // Absent fields stay; null clears; a value replaces.
    let patched = api
        .patch(
            &path,
            &json!({"name": null, "phone": null, "given_name": "Augusta"}),
        )
        .await
        .expect(200);
    assert!(patched["name"].is_null(), "{patched}");
    assert!(patched["phone"].is_null(), "{patched}");
    assert_eq!(patched["given_name"], "Augusta");
    assert_eq!(patched["family_name"], "Lovelace");
    assert_eq!(patched["email"], created["email"]);
    assert_eq!(patched["attributes"], created["attributes"]);
    assert_same(
        &api.get(&path).await.expect(200),
        &patched,
        "the change is stored",
    );

    let replaced = api
        .patch(&path, &json!({"attributes": {"team": "engines"}}))
        .await
        .expect(200);
    assert_eq!(replaced["attributes"], json!({"team": "engines"}));

    // A bad field refuses the whole patch.
    let before = api.get(&path).await.expect(200);
    let msg = api
        .patch(
            &path,
            &json!({"family_name": "Byron", "email": "not-an-email"}),
        )
        .await
        .expect_error(400, "invalid_request");
    assert!(msg.contains("email"), "{msg}");
    api.patch(&path, &json!({"status": "deleted"}))
        .await
        .expect_error(400, "invalid_request");
    api.patch(&path, &json!({"password": "short"}))
        .await
        .expect_error(400, "invalid_request");
    assert_same(
        &api.get(&path).await.expect(200),
        &before,
        "nothing changed",
    );

    // A new email is no longer verified.
    let moved = api
        .patch(&path, &json!({"email": "ada@engines.test"}))
        .await
        .expect(200);
    assert_eq!(moved["email"], "ada@engines.test");
    assert_eq!(moved["email_verified"], false);

    // A new password replaces the old one.
    let browser = server.browser();
    browser
        .sign_in_ok("people", "ada@engines.test", "analytical-engine")
        .await;
    api.patch(&path, &json!({"password": "difference-engine-2"}))
        .await
        .expect(200);
    assert_eq!(
        server
            .browser()
            .sign_in("people", "ada@engines.test", "analytical-engine")
            .await
            .status,
        401
    );
    server
        .browser()
        .sign_in_ok("people", "ada@engines.test", "difference-engine-2")
        .await;
    let seen = api.get(&path).await.expect(200);
    assert!(
        seen["last_login_at"].is_string(),
        "sign-ins are recorded: {seen}"
    );

    assert_eq!(api.delete(&path).await.status, 204);
    api.get(&path).await.expect_error(404, "not_found");
    api.delete(&path).await.expect_error(404, "not_found");
    api.patch(&path, &json!({"name": "Ghost"}))
        .await
        .expect_error(404, "not_found");
    assert!(
        browser.account_email("people").await.is_none(),
        "deleting a user ends their sessions"
    );
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["id"].as_str().expect("id").to_string())
        .collect()
}

async fn pagination_and_filters(backend: Backend) {
    let (_dep, _server, api) = start(backend).await;
    api.create_tenant("crowd", "customer").await;
    let mut created = BTreeSet::new();
    for i in 0..8 {
        let u = api
            .create_user("crowd", &format!("member{i}@crowd.test"), None)
            .await;
        assert_eq!(u["has_password"], false);
        created.insert(u["id"].as_str().expect("id").to_string());
    }

    // Pages of 3: 3 + 3 + 2, no overlap, nothing missed, and no cursor after the last page.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &after {
            Some(c) => format!("/tenants/crowd/users?limit=3&after={c}"),
            None => "/tenants/crowd/users?limit=3".to_string(),
        };
        let page = api.get(&path).await.expect(200);
        let page_ids = ids(&page);
        pages += 1;
        assert!(page_ids.len() <= 3, "{page}");
        seen.extend(page_ids);
        match page["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_string()),
            None => break,
        }
        assert!(pages < 10, "pagination terminates");
    }
    assert_eq!(pages, 3, "8 users in pages of 3");
    assert_eq!(seen.len(), 8, "no user is listed twice: {seen:?}");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), created);
    let all = api.get("/tenants/crowd/users").await.expect(200);
    assert_eq!(
        ids(&all),
        seen,
        "the default page holds them all, in the same order"
    );
    assert!(all["next_cursor"].is_null());

    // Filters: exact email (case-insensitive) and status.
    let one = api
        .get("/tenants/crowd/users?email=MEMBER3@crowd.test")
        .await
        .expect(200);
    assert_eq!(one["items"].as_array().map(Vec::len), Some(1), "{one}");
    assert_eq!(one["items"][0]["email"], "member3@crowd.test");
    let none = api
        .get("/tenants/crowd/users?email=member3@crowd")
        .await
        .expect(200);
    assert_eq!(
        none["items"],
        json!([]),
        "email is an exact match, not a search"
    );
    for target in ["member1@crowd.test", "member6@crowd.test"] {
        let u = &api
            .get(&format!("/tenants/crowd/users?email={target}"))
            .await
            .expect(200)["items"][0];
        let disabled = api
            .post_empty(&format!(
                "/tenants/crowd/users/{}/disable",
                u["id"].as_str().expect("id")
            ))
            .await
            .expect(200);
        assert_eq!(disabled["status"], "disabled");
    }
    let disabled = api
        .get("/tenants/crowd/users?status=disabled")
        .await
        .expect(200);
    let emails: BTreeSet<&str> = disabled["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert_eq!(
        emails,
        BTreeSet::from(["member1@crowd.test", "member6@crowd.test"])
    );
    let active = api
        .get("/tenants/crowd/users?status=active&limit=4")
        .await
        .expect(200);
    assert_eq!(ids(&active).len(), 4);
    let cursor = active["next_cursor"].as_str().expect("more active users");
    let rest = api
        .get(&format!(
            "/tenants/crowd/users?status=active&limit=4&after={cursor}"
        ))
        .await
        .expect(200);
    assert_eq!(ids(&rest).len(), 2, "6 active users: 4 + 2");
    assert!(rest["next_cursor"].is_null());

    // Bad query parameters are the caller's error.
    for bad in [
        "?status=sleeping",
        "?after=not-a-cursor",
        "?limit=lots",
        "?unknown=1",
    ] {
        api.get(&format!("/tenants/crowd/users{bad}"))
            .await
            .expect_error(400, "invalid_request");
    }
}

async fn disabling_ends_sessions(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    api.create_tenant("corp", "workforce").await;
    let user = api
        .create_user("corp", "dana@corp.test", Some("dana-password-1"))
        .await;
    let id = user["id"].as_str().expect("id");
    let first = server.browser();
    let second = server.browser();
    first
        .sign_in_ok("corp", "dana@corp.test", "dana-password-1")
        .await;
    second
        .sign_in_ok("corp", "dana@corp.test", "dana-password-1")
        .await;
    let sessions = api
        .get(&format!("/tenants/corp/sessions?user_id={id}"))
        .await
        .expect(200);
    assert_eq!(sessions["items"].as_array().map(Vec::len), Some(2));

    let disabled = api
        .post_empty(&format!("/tenants/corp/users/{id}/disable"))
        .await
        .expect(200);
    assert_eq!(disabled["status"], "disabled");
    assert!(first.account_email("corp").await.is_none());
    assert!(second.account_email("corp").await.is_none());
    let sessions = api
        .get(&format!("/tenants/corp/sessions?user_id={id}"))
        .await
        .expect(200);
    assert_eq!(sessions["items"], json!([]), "no active session is left");
    assert_eq!(
        server
            .browser()
            .sign_in("corp", "dana@corp.test", "dana-password-1")
            .await
            .status,
        401,
        "a disabled user cannot sign in"
    );

    let enabled = api
        .post_empty(&format!("/tenants/corp/users/{id}/enable"))
        .await
        .expect(200);
    assert_eq!(enabled["status"], "active");
    first
        .sign_in_ok("corp", "dana@corp.test", "dana-password-1")
        .await;
    assert_eq!(
        first.account_email("corp").await.as_deref(),
        Some("dana@corp.test")
    );
}

async fn imported_bcrypt_hash_is_upgraded(backend: Backend) {
    let (dep, server, api) = start(backend).await;
    api.create_tenant("legacy", "customer").await;
    let password = "imported-from-the-old-system";
    let bcrypt_hash = bcrypt::hash(password, 4).expect("bcrypt hashes a password in the test");
    assert!(bcrypt_hash.starts_with("$2b$04$"), "{bcrypt_hash}");

    let user = api
        .post(
            "/tenants/legacy/users",
            &json!({"email": "old@legacy.test", "password_hash": bcrypt_hash}),
        )
        .await
        .expect(201);
    assert_eq!(user["has_password"], true);
    let id = user["id"].as_str().expect("id");
    assert_eq!(
        db::password_hash(&dep, id).await.as_deref(),
        Some(bcrypt_hash.as_str()),
        "the imported hash is stored as given until the next sign-in"
    );

    assert_eq!(
        server
            .browser()
            .sign_in("legacy", "old@legacy.test", "not-the-password")
            .await
            .status,
        401
    );
    assert_eq!(
        db::password_hash(&dep, id).await.as_deref(),
        Some(bcrypt_hash.as_str()),
        "a failed sign-in does not touch the hash"
    );
    server
        .browser()
        .sign_in_ok("legacy", "old@legacy.test", password)
        .await;
    let upgraded = db::password_hash(&dep, id).await.expect("a hash is stored");
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
        "the sign-in re-hashed the password with the configured argon2id: {upgraded}"
    );
    let browser = server.browser();
    browser
        .sign_in_ok("legacy", "old@legacy.test", password)
        .await;
    assert_eq!(
        browser.account_email("legacy").await.as_deref(),
        Some("old@legacy.test")
    );
    assert_eq!(
        db::password_hash(&dep, id).await.as_deref(),
        Some(upgraded.as_str()),
        "a current hash is not rewritten"
    );
    assert_eq!(
        server
            .browser()
            .sign_in("legacy", "old@legacy.test", "not-the-password")
            .await
            .status,
        401
    );

    // Hashes that cannot be verified are refused at import, with the field named.
    for bad in [
        "plaintext-password",
        "$2b$99$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
        "$md5$not-supported",
    ] {
        let resp = api
            .post(
                "/tenants/legacy/users",
                &json!({"email": "bad@legacy.test", "password_hash": bad}),
            )
            .await;
        resp.expect_error(400, "invalid_request");
        assert_eq!(resp.json()["field"], "password_hash", "{}", resp.text());
    }
    api.post(
        "/tenants/legacy/users",
        &json!({"email": "both@legacy.test", "password": "a-fine-password", "password_hash": bcrypt_hash}),
    )
    .await
    .expect_error(400, "invalid_request");
    let list = api.get("/tenants/legacy/users").await.expect(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
}

on_both_backends!(
    users_crud_and_patch_semantics,
    pagination_and_filters,
    disabling_ends_sessions,
    imported_bcrypt_hash_is_upgraded,
);
