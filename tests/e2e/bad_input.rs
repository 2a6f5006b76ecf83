//! Bad input of every kind gets a 4xx (the admin API's with its JSON error body), never a 500, and
//! changes nothing: malformed or mistyped JSON, unknown fields, wrong or missing content types,
//! oversized bodies, unknown tenants and ids, SQL-looking strings, bytes that are not UTF-8, and
//! missing, invalid, revoked or under-scoped API keys.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Api, Backend, Browser, Deployment, assert_same, hidden_input, start};

async fn user_count(api: &Api, tenant: &str) -> usize {
    api.get(&format!("/tenants/{tenant}/users"))
        .await
        .expect(200)["items"]
        .as_array()
        .map_or(0, Vec::len)
}

async fn malformed_bodies_are_refused(backend: Backend) {
    let dep = Deployment::new(backend).set("TESSERA_MAX_BODY_BYTES", "2048");
    let server = dep.start().await;
    let api = server.admin_api().await;
    api.create_tenant("inputs", "customer").await;
    let existing = api
        .create_user("inputs", "kept@inputs.test", Some("kept-password-1"))
        .await;
    let kept_path = format!(
        "/tenants/inputs/users/{}",
        existing["id"].as_str().expect("id")
    );
    let users = "/tenants/inputs/users";
    let json_ct = Some("application/json");

    // What is wrong, Content-Type, body, expected status and error code.
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "truncated JSON",
            json_ct,
            br#"{"email": "#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "not JSON at all",
            json_ct,
            b"email=a@b.test".to_vec(),
            400,
            "invalid_request",
        ),
        (
            "a number for a string",
            json_ct,
            br#"{"email": 42}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "a string for a bool",
            json_ct,
            br#"{"email": "t@inputs.test", "email_verified": "yes"}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "attributes not an object",
            json_ct,
            br#"{"email": "t@inputs.test", "attributes": "x"}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "an unknown field",
            json_ct,
            br#"{"email": "t@inputs.test", "is_admin": true}"#.to_vec(),
            400,
            "invalid_request",
        ),
        ("an array", json_ct, b"[]".to_vec(), 400, "invalid_request"),
        ("null", json_ct, b"null".to_vec(), 400, "invalid_request"),
        ("an empty body", json_ct, Vec::new(), 400, "invalid_request"),
        (
            "deep nesting",
            json_ct,
            format!("{}{}", "[".repeat(600), "]".repeat(600)).into_bytes(),
            400,
            "invalid_request",
        ),
        (
            "invalid UTF-8",
            json_ct,
            b"{\"email\": \"\xff\xfe@inputs.test\"}".to_vec(),
            400,
            "invalid_request",
        ),
        (
            "a lone surrogate escape",
            json_ct,
            br#"{"email": "\ud800@inputs.test"}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "no Content-Type",
            None,
            br#"{"email": "t@inputs.test"}"#.to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "text/plain",
            Some("text/plain"),
            br#"{"email": "t@inputs.test"}"#.to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "a form",
            Some("application/x-www-form-urlencoded"),
            b"email=t%40inputs.test".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "over TESSERA_MAX_BODY_BYTES",
            json_ct,
            format!(
                r#"{{"email": "t@inputs.test", "name": "{}"}}"#,
                "x".repeat(4096)
            )
            .into_bytes(),
            413,
            "payload_too_large",
        ),
    ];
    for (what, ct, body, status, code) in cases {
        let r = api.send_raw(Method::POST, users, ct, body.clone()).await;
        assert_eq!(r.status, status, "{what}: {}", r.text());
        r.expect_error(status, code);
        let r = api.send_raw(Method::PATCH, &kept_path, ct, body).await;
        assert_eq!(r.status, status, "PATCH with {what}: {}", r.text());
        r.expect_error(status, code);
    }
    let unknown = api
        .post(users, &json!({"email": "t@inputs.test", "is_admin": true}))
        .await
        .expect_error(400, "invalid_request");
    assert!(
        unknown.contains("is_admin"),
        "the message names the field: {unknown}"
    );
    assert_eq!(user_count(&api, "inputs").await, 1, "nothing was created");
    let kept = api.get(&kept_path).await.expect(200);
    assert_same(&kept, &existing, "nothing was changed");

    // Oversized and garbled bodies on the hosted pages are refused too, without a session.
    let browser = server.browser();
    let token = browser.csrf_token("inputs").await;
    let big = format!(
        "email=kept%40inputs.test&password=kept-password-1&csrf_token={token}&pad={}",
        "x".repeat(4096)
    );
    let r = browser
        .post_raw(
            "/t/inputs/login",
            "application/x-www-form-urlencoded",
            big.into_bytes(),
        )
        .await;
    assert_eq!(r.status, 413, "an oversized form: {}", r.text());
    assert!(r.set_cookie("tessera_session").is_none());
    let mut garbled = b"email=\xff\xfe%ff%fe&password=\xc3\x28kept&csrf_token=".to_vec();
    garbled.extend(token.as_bytes());
    let r = browser
        .post_raw(
            "/t/inputs/login",
            "application/x-www-form-urlencoded",
            garbled,
        )
        .await;
    assert!(
        (400..500).contains(&r.status),
        "a non-UTF-8 form gets a 4xx, not {}: {}",
        r.status,
        r.text()
    );
    assert!(r.set_cookie("tessera_session").is_none());
    let mut garbled_pw =
        format!("email=kept%40inputs.test&csrf_token={token}&password=").into_bytes();
    garbled_pw.extend(b"kept-password-1\xff");
    let r = browser
        .post_raw(
            "/t/inputs/login",
            "application/x-www-form-urlencoded",
            garbled_pw,
        )
        .await;
    assert_eq!(
        r.status,
        401,
        "a mangled password does not match: {}",
        r.text()
    );
    assert!(browser.account_email("inputs").await.is_none());
    for path in [
        "/t/%ff%fe/login",
        "/t/inputs/login?return_to=%ff%fe&login_hint=%c3%28",
    ] {
        let r = browser.get(path).await;
        assert!(r.status < 500, "GET {path}: {}", r.status);
    }
}

async fn unknown_tenants_ids_and_paths(backend: Backend) {
    let (_dep, _server, api) = start(backend).await;
    api.create_tenant("real", "workforce").await;
    let ghost = uuid::Uuid::new_v4();
    for path in [
        "/tenants/nope".to_string(),
        "/tenants/nope/users".to_string(),
        "/tenants/nope/groups".to_string(),
        "/tenants/nope/clients".to_string(),
        "/tenants/nope/sessions".to_string(),
        "/tenants/NOT%20A%20SLUG/users".to_string(),
        format!("/tenants/{}/users", "a".repeat(300)),
        "/tenants/real/users/not-a-uuid".to_string(),
        "/tenants/real/users/%00".to_string(),
        format!("/tenants/real/users/{ghost}"),
        format!("/tenants/real/users/{ghost}/groups"),
        "/tenants/real/groups/12345".to_string(),
        format!("/tenants/real/groups/{ghost}"),
        format!("/tenants/real/groups/{ghost}/members"),
        "/tenants/real/clients/nope".to_string(),
        "/tenants/real/sessions/nope".to_string(),
        "/no/such/endpoint".to_string(),
    ] {
        api.get(&path).await.expect_error(404, "not_found");
    }
    api.post("/tenants/nope/users", &json!({"email": "x@nope.test"}))
        .await
        .expect_error(404, "not_found");
    api.patch("/tenants/real/users/not-a-uuid", &json!({"name": "x"}))
        .await
        .expect_error(404, "not_found");
    api.delete(&format!("/tenants/real/groups/{ghost}"))
        .await
        .expect_error(404, "not_found");
    // A method the path does not have.
    api.send(Method::PUT, "/tenants", Some(&json!({})))
        .await
        .expect_error(405, "method_not_allowed");
    api.get("/tenants/real").await.expect(200);
}

async fn sql_looking_strings_are_just_data(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let sql = "' OR 1=1 --";
    let tenants_before = api.get("/tenants").await.expect(200)["items"]
        .as_array()
        .map_or(0, Vec::len);

    api.post("/tenants", &json!({"slug": sql, "preset": "workforce"}))
        .await
        .expect_error(400, "invalid_request");
    api.get("/tenants/%27%20OR%201%3D1%20--")
        .await
        .expect_error(404, "not_found");
    api.get("/tenants/%27%20OR%201%3D1%20--/users")
        .await
        .expect_error(404, "not_found");
    // As a display name it is ordinary text, stored and returned verbatim.
    let t = api
        .post(
            "/tenants",
            &json!({"slug": "quotes", "name": sql, "preset": "workforce"}),
        )
        .await
        .expect(201);
    assert_eq!(t["name"], sql);
    assert_eq!(
        api.get("/tenants").await.expect(200)["items"]
            .as_array()
            .map_or(0, Vec::len),
        tenants_before + 1
    );

    api.create_user("quotes", "first@quotes.test", Some("first-password-1"))
        .await;
    api.post("/tenants/quotes/users", &json!({"email": sql}))
        .await
        .expect_error(400, "invalid_request");
    let quoted_email = "o'brien'--@quotes.test";
    let user = api
        .post(
            "/tenants/quotes/users",
            &json!({"email": quoted_email, "name": sql, "password": "quoted-password-1"}),
        )
        .await
        .expect(201);
    assert_eq!(user["name"], sql);
    let got = api
        .get(&format!(
            "/tenants/quotes/users/{}",
            user["id"].as_str().expect("id")
        ))
        .await
        .expect(200);
    assert_eq!(got["email"], quoted_email);
    assert_eq!(got["name"], sql);
    let filtered = api
        .get("/tenants/quotes/users?email=%27%20OR%201%3D1%20--")
        .await
        .expect(200);
    assert_eq!(
        filtered["items"],
        json!([]),
        "an SQL-looking filter matches nothing"
    );
    let filtered = api
        .get("/tenants/quotes/users?email=o%27brien%27--%40quotes.test")
        .await
        .expect(200);
    assert_eq!(filtered["items"].as_array().map(Vec::len), Some(1));

    let g = api
        .post(
            "/tenants/quotes/groups",
            &json!({"name": sql, "description": sql}),
        )
        .await
        .expect(201);
    assert_eq!(g["name"], sql);
    let c = api
        .post(
            "/tenants/quotes/clients",
            &json!({"name": sql, "redirect_uris": ["https://q.example/cb"]}),
        )
        .await
        .expect(201);
    assert_eq!(c["name"], sql);

    // On the sign-in page: the generic refusal, no session; the quoted address signs in normally.
    let b = server.browser();
    let r = b.sign_in("quotes", sql, sql).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(r.text().contains("Incorrect email or password."));
    assert!(r.set_cookie("tessera_session").is_none());
    let r = b.sign_in("quotes", "first@quotes.test", sql).await;
    assert_eq!(r.status, 401);
    assert!(b.account_email("quotes").await.is_none());
    b.sign_in_ok("quotes", quoted_email, "quoted-password-1")
        .await;
    assert_eq!(
        b.account_email("quotes").await.as_deref(),
        Some(quoted_email)
    );
    assert_eq!(
        api.get("/tenants/quotes/users").await.expect(200)["items"]
            .as_array()
            .map_or(0, Vec::len),
        2
    );
}

async fn api_keys_are_checked(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    api.create_tenant("locked", "workforce").await;
    let user = api.create_user("locked", "stay@locked.test", None).await;
    let user_path = format!("/tenants/locked/users/{}", user["id"].as_str().expect("id"));

    // Without a usable key: 401 with a WWW-Authenticate challenge.
    let long = format!("Bearer tsk_{}", "a".repeat(1000));
    let anonymous = api.with_key(None);
    let mut attempts = vec![anonymous.get("/tenants/locked/users").await];
    for auth in [
        "Bearer ",
        "Bearer tsk_not-a-real-key",
        "Bearer not-even-the-prefix",
        "Basic YWRtaW46YWRtaW4=",
        "tsk_without_scheme",
        long.as_str(),
    ] {
        attempts.push(
            anonymous
                .get_with_headers("/tenants/locked/users", &[("authorization", auth)])
                .await,
        );
    }
    attempts.push(
        anonymous
            .send(
                Method::POST,
                "/tenants",
                Some(&json!({"slug": "sneaky", "preset": "workforce"})),
            )
            .await,
    );
    for r in &attempts {
        r.expect_error(401, "unauthorized");
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer"),
            "{}: WWW-Authenticate is {challenge:?}",
            r.what
        );
    }
    api.get("/tenants/sneaky")
        .await
        .expect_error(404, "not_found");

    // A revoked key stops working at once.
    let created = server
        .cli_json(&["keys", "create-api-key", "--tenant", "admin"])
        .await;
    let revocable = api.with_key(created["api_key"].as_str());
    revocable.get("/tenants").await.expect(200);
    let revoked = server
        .cli_json(&[
            "keys",
            "revoke-api-key",
            "--tenant",
            "admin",
            created["id"].as_str().expect("id"),
        ])
        .await;
    assert_eq!(revoked["revoked"], true);
    revocable
        .get("/tenants")
        .await
        .expect_error(401, "unauthorized");

    // A read-scope key reads but cannot write.
    let reader = Api::new(&server, &server.api_key("admin", "read").await);
    reader.get(&user_path).await.expect(200);
    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/tenants/locked/users".into(),
            Some(json!({"email": "new@locked.test"})),
        ),
        (
            Method::PATCH,
            user_path.clone(),
            Some(json!({"name": "Changed"})),
        ),
        (Method::DELETE, user_path.clone(), None),
        (Method::POST, format!("{user_path}/disable"), None),
        (
            Method::POST,
            "/tenants/locked/groups".into(),
            Some(json!({"name": "G"})),
        ),
        (
            Method::POST,
            "/tenants/locked/clients".into(),
            Some(json!({"name": "C", "redirect_uris": ["https://c.example/cb"]})),
        ),
        (
            Method::PATCH,
            "/tenants/locked".into(),
            Some(json!({"name": "Renamed"})),
        ),
        (Method::DELETE, "/tenants/locked".into(), None),
        (
            Method::POST,
            "/tenants".into(),
            Some(json!({"slug": "other", "preset": "workforce"})),
        ),
    ];
    for (method, path, body) in writes {
        reader
            .send(method, &path, body.as_ref())
            .await
            .expect_error(403, "forbidden");
    }
    let after = api.get(&user_path).await.expect(200);
    assert_same(&after, &user, "the read-scope key changed nothing");
    assert_eq!(user_count(&api, "locked").await, 1);
    let t = api.get("/tenants/locked").await.expect(200);
    assert_eq!(t["name"], "locked");
    assert_eq!(
        api.get("/tenants/locked/groups").await.expect(200)["items"],
        json!([])
    );
    assert_eq!(
        api.get("/tenants/locked/clients").await.expect(200)["items"],
        json!([])
    );
    api.get("/tenants/other")
        .await
        .expect_error(404, "not_found");

    // Hosted pages are not part of the API: a key does not sign anyone in.
    let b = Browser::cookieless(&server);
    let r = b
        .get_with_headers(
            "/t/locked/account",
            &[(
                "authorization",
                &format!("Bearer {}", created["api_key"].as_str().unwrap_or("")),
            )],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = b.get("/t/locked/login").await;
    assert!(hidden_input(&page.text(), "csrf_token").is_some());
}

/// U+0000 in free text: PostgreSQL `TEXT` cannot hold it, so each field must either refuse it
/// (4xx) or store it in a form the database accepts — never answer 500.
async fn nul_characters_in_text_fields(backend: Backend) {
    let (_dep, _server, api) = start(backend).await;
    api.create_tenant("nul", "workforce").await;
    let group = api
        .post("/tenants/nul/groups", &json!({"name": "Clean"}))
        .await
        .expect(201);
    let group_path = format!("/tenants/nul/groups/{}", group["id"].as_str().expect("id"));
    let cases: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            "/tenants/nul/groups".into(),
            json!({"name": "g1", "description": "a\u{0}b"}),
        ),
        (
            Method::POST,
            "/tenants/nul/groups".into(),
            json!({"name": "g\u{0}"}),
        ),
        (
            Method::POST,
            "/tenants/nul/users".into(),
            json!({"email": "x@nul.test", "name": "a\u{0}b"}),
        ),
        (
            Method::POST,
            "/tenants/nul/users".into(),
            json!({"email": "y@nul.test", "attributes": {"k": "a\u{0}b"}}),
        ),
        (
            Method::POST,
            "/tenants/nul/clients".into(),
            json!({"name": "c", "redirect_uris": ["https://c.example/cb"], "metadata": {"k": "a\u{0}b"}}),
        ),
        (
            Method::POST,
            "/tenants".into(),
            json!({"slug": "nul-two", "name": "a\u{0}b", "preset": "workforce"}),
        ),
    ];
    for (method, path, body) in cases {
        let r = api.send(method.clone(), &path, Some(&body)).await;
        assert!(
            matches!(r.status, 200 | 201) || (400..500).contains(&r.status),
            "{method} {path} with U+0000 answered {}: {}",
            r.status,
            r.text()
        );
        if r.status >= 400 {
            r.expect_error(r.status, "invalid_request");
        }
    }
    let patched = api
        .patch(&group_path, &json!({"description": "a\u{0}b"}))
        .await;
    let expected = match patched.status {
        200 => patched.json(),
        400..=499 => {
            patched.expect_error(patched.status, "invalid_request");
            group
        }
        other => panic!("PATCH with U+0000 answered {other}: {}", patched.text()),
    };
    assert_same(
        &api.get(&group_path).await.expect(200),
        &expected,
        "the group is as the PATCH answered",
    );
}

on_both_backends!(
    nul_characters_in_text_fields,
    malformed_bodies_are_refused,
    unknown_tenants_ids_and_paths,
    sql_looking_strings_are_just_data,
    api_keys_are_checked,
);
