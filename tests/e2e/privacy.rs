//! Privacy (issue 10) through the admin API and the account portal: bad input is refused with a
//! JSON 4xx and writes nothing; one tenant's key reaches none of another's purposes or records;
//! the consenting-users query pages with a cursor; the registration page records the accepted
//! terms as a consent of the published version; a consent's IP address and user agent are sealed
//! at rest, shown in the data export, and destroyed by erasure while the pseudonymous record
//! stays.

use serde_json::{Value, json};
use sqlx::Connection;

use crate::harness::{Api, Backend, Deployment, Resp, Server, db, hidden_input, start};

const UA: &str = "Quillfeather-Consent-Browser/7.31 (privacy-e2e)";

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

async fn purpose(api: &Api, slug: &str, key: &str, extra: Value) -> Value {
    let mut body = json!({"key": key, "legal_basis": "consent", "descriptions": {"en": key}});
    for (k, v) in extra.as_object().expect("an object") {
        body[k] = v.clone();
    }
    api.post(&format!("/tenants/{slug}/privacy/purposes"), &body)
        .await
        .expect(201)
}

async fn bad_input_is_refused_and_tenants_are_isolated(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    for slug in ["alpha", "beta"] {
        api.create_tenant(slug, "customer").await;
    }
    let ann = id(&api.create_user("alpha", "ann@alpha.test", None).await);
    let base = "/tenants/alpha/privacy";

    // Purposes.
    for (body, field) in [
        (
            json!({"key": "Marketing", "legal_basis": "consent", "descriptions": {"en": "x"}}),
            "key",
        ),
        (
            json!({"key": "m-", "legal_basis": "consent", "descriptions": {"en": "x"}}),
            "key",
        ),
        (
            json!({"key": "m", "legal_basis": "whim", "descriptions": {"en": "x"}}),
            "legal_basis",
        ),
        (
            json!({"key": "m", "legal_basis": "consent", "descriptions": {}}),
            "descriptions",
        ),
        (
            json!({"key": "m", "legal_basis": "consent", "descriptions": {"en": " "}}),
            "descriptions",
        ),
        (
            json!({"key": "m", "legal_basis": "consent", "descriptions": {"<b>": "x"}}),
            "descriptions",
        ),
        (
            json!({"key": "m", "legal_basis": "consent", "descriptions": {"en": "x"}, "document": "Terms"}),
            "document",
        ),
    ] {
        let r = api.post(&format!("{base}/purposes"), &body).await;
        r.expect_error(400, "invalid_request");
        assert_eq!(r.json()["field"], field, "{body}: {}", r.text());
    }
    api.post(
        &format!("{base}/purposes"),
        &json!({"key": "m", "legal_basis": "consent", "descriptions": {"en": "x"}, "colour": 1}),
    )
    .await
    .expect_error(400, "invalid_request");
    let r = api
        .send_raw(
            reqwest::Method::POST,
            &format!("{base}/purposes"),
            Some("text/plain"),
            b"key=m".to_vec(),
        )
        .await;
    assert_eq!(r.status, 415, "{}", r.text());
    assert_eq!(
        api.get(&format!("{base}/purposes")).await.expect(200),
        json!({"items": []}),
        "nothing was written"
    );

    // Documents.
    for (body, field) in [
        (
            json!({"kind": "terms", "version": "", "url": "https://a.example/t"}),
            "version",
        ),
        (
            json!({"kind": "terms", "version": " 1", "url": "https://a.example/t"}),
            "version",
        ),
        (
            json!({"kind": "terms", "version": "1", "url": "javascript:alert(1)"}),
            "url",
        ),
        (
            json!({"kind": "terms", "version": "1", "url": "/relative"}),
            "url",
        ),
        (
            json!({"kind": "terms", "version": "1", "url": "https://a.example/t", "effective_at": "tomorrow"}),
            "effective_at",
        ),
        (
            json!({"kind": "terms", "version": "1", "url": "https://a.example/t", "grace_days": 366}),
            "grace_days",
        ),
        (
            json!({"kind": "Terms!", "version": "1", "url": "https://a.example/t"}),
            "kind",
        ),
    ] {
        let r = api.post(&format!("{base}/documents"), &body).await;
        r.expect_error(400, "invalid_request");
        assert_eq!(r.json()["field"], field, "{body}: {}", r.text());
    }
    assert_eq!(
        api.get(&format!("{base}/documents")).await.expect(200),
        json!({"items": []})
    );
    let doc = json!({"kind": "terms", "version": "2026-06", "url": "https://a.example/t"});
    api.post(&format!("{base}/documents"), &doc)
        .await
        .expect(201);
    api.post(&format!("{base}/documents"), &doc)
        .await
        .expect_error(409, "conflict");
    purpose(&api, "alpha", "marketing-email", json!({})).await;
    let dup = api
        .post(
            &format!("{base}/purposes"),
            &json!({"key": "marketing-email", "legal_basis": "consent", "descriptions": {"en": "x"}}),
        )
        .await;
    dup.expect_error(409, "conflict");
    purpose(
        &api,
        "alpha",
        "terms-of-service",
        json!({"document": "terms", "required": true, "legal_basis": "contract"}),
    )
    .await;
    purpose(&api, "alpha", "do-not-sell", json!({})).await;

    // Consent records.
    let consents = format!("{base}/users/{ann}/consents");
    for (body, status, field) in [
        (
            json!({"purpose": "nope", "state": "granted"}),
            400,
            Some("purpose"),
        ),
        (
            json!({"purpose": "marketing-email", "state": "maybe"}),
            400,
            Some("state"),
        ),
        (
            json!({"purpose": "marketing-email", "state": "granted", "channel": "signup"}),
            400,
            Some("channel"),
        ),
        (
            json!({"purpose": "marketing-email", "state": "granted", "policy_version": "1"}),
            400,
            Some("policy_version"),
        ),
        (
            json!({"purpose": "terms-of-service", "state": "granted", "policy_version": "9"}),
            400,
            Some("policy_version"),
        ),
        (json!({"purpose": "marketing-email"}), 400, None),
    ] {
        let r = api.post(&consents, &body).await;
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert_eq!(r.json()["error"], "invalid_request", "{body}");
        if let Some(f) = field {
            assert_eq!(r.json()["field"], f, "{body}: {}", r.text());
        }
    }
    api.post(
        &format!("{base}/users/{}/consents", uuid::Uuid::now_v7()),
        &json!({"purpose": "marketing-email", "state": "granted"}),
    )
    .await
    .expect_error(404, "not_found");
    assert_eq!(
        api.get(&consents).await.expect(200),
        json!({"current": {}, "history": []}),
        "nothing was recorded"
    );
    let r = api
        .post(
            &consents,
            &json!({"purpose": "terms-of-service", "state": "granted"}),
        )
        .await
        .expect(201);
    assert_eq!(r["policy_version"], "2026-06", "the version in effect: {r}");
    assert_eq!(r["channel"], "api");

    // Topics and preferences.
    let r = api
        .send(
            reqwest::Method::PUT,
            &format!("{base}/topics"),
            Some(&json!({"topics": [{"key": "news", "names": {"en": "News"}}, {"key": "news", "names": {"en": "Again"}}]})),
        )
        .await;
    r.expect_error(400, "invalid_request");
    assert_eq!(
        api.get(&format!("{base}/topics")).await.expect(200),
        json!({"topics": []})
    );
    api.send(
        reqwest::Method::PUT,
        &format!("{base}/topics"),
        Some(&json!({"topics": [{"key": "news", "names": {"en": "News", "de": "Neuigkeiten"}}]})),
    )
    .await
    .expect(200);
    let prefs = format!("{base}/users/{ann}/preferences");
    for body in [
        json!({"channels": ["fax"], "topics": [], "frequency": "weekly"}),
        json!({"channels": ["email"], "topics": ["sports"], "frequency": "weekly"}),
        json!({"channels": ["email"], "topics": [], "frequency": "hourly"}),
    ] {
        api.send(reqwest::Method::PUT, &prefs, Some(&body))
            .await
            .expect_error(400, "invalid_request");
    }
    let got = api.get(&prefs).await.expect(200);
    assert_eq!(got["channels"], json!([]), "defaults: {got}");
    assert_eq!(got["frequency"], "weekly", "defaults: {got}");
    let saved = api
        .send(
            reqwest::Method::PUT,
            &prefs,
            Some(&json!({"channels": ["sms", "email", "email"], "topics": ["news"], "frequency": "monthly"})),
        )
        .await
        .expect(200);
    assert_eq!(saved["channels"], json!(["email", "sms"]), "{saved}");

    // The consenting-users query: paging and bad cursors.
    let mut granted = Vec::new();
    for i in 0..3 {
        let u = id(&api
            .create_user("alpha", &format!("u{i}@alpha.test"), None)
            .await);
        api.post(
            &format!("{base}/users/{u}/consents"),
            &json!({"purpose": "do-not-sell", "state": "granted"}),
        )
        .await
        .expect(201);
        granted.push(u);
    }
    granted.sort();
    let users = format!("{base}/purposes/do-not-sell/users");
    let first = api.get(&format!("{users}?limit=2")).await.expect(200);
    assert_eq!(first["items"], json!(granted[..2]), "{first}");
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = api
        .get(&format!("{users}?limit=2&after={cursor}"))
        .await
        .expect(200);
    assert_eq!(second["items"], json!(granted[2..]), "{second}");
    assert_eq!(second["next_cursor"], Value::Null);
    api.get(&format!("{users}?after=garbage"))
        .await
        .expect_error(400, "invalid_request");
    api.get(&format!("{users}?limit=0"))
        .await
        .expect_error(400, "invalid_request");
    api.get(&format!("{users}?colour=red"))
        .await
        .expect_error(400, "invalid_request");
    api.get(&format!("{base}/purposes/nope/users"))
        .await
        .expect_error(404, "not_found");

    // Another tenant's key: none of alpha's privacy objects, answered as missing ones.
    let beta_key = server.api_key("beta", "write").await;
    let beta = Api::new(&server, &beta_key);
    for path in [
        format!("{base}/purposes"),
        format!("{base}/documents"),
        format!("{base}/purposes/do-not-sell/users"),
        format!("{base}/users/{ann}/consents"),
        format!("{base}/users/{ann}/receipt"),
    ] {
        let r = beta.get(&path).await;
        assert!(
            r.status == 404 || r.status == 403,
            "{path}: {} {}",
            r.status,
            r.text()
        );
    }
    // Alpha's user under beta's path, with the deployment's key: not found.
    api.get(&format!("/tenants/beta/privacy/users/{ann}/consents"))
        .await
        .expect_error(404, "not_found");
    api.post(
        &format!("/tenants/beta/privacy/users/{ann}/consents"),
        &json!({"purpose": "marketing-email", "state": "granted"}),
    )
    .await
    .expect_error(404, "not_found");
    assert_eq!(
        beta.get("/tenants/beta/privacy/purposes").await.expect(200),
        json!({"items": []})
    );
    // The audit trail names every change.
    let audit = api
        .get("/tenants/alpha/audit?type=privacy.consent_granted&limit=200")
        .await
        .expect(200);
    assert_eq!(
        audit["items"].as_array().expect("items").len(),
        4,
        "{audit}"
    );
}

/// A cookie-keeping client that announces a distinctive user agent.
fn ua_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .user_agent(UA)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

async fn read(what: String, r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{what}: the body could not be read: {e}"))
        .to_vec();
    Resp {
        status,
        headers,
        body,
        what,
    }
}

async fn get(c: &reqwest::Client, server: &Server, path: &str) -> Resp {
    let r = c
        .get(server.url(path))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    read(format!("GET {path}"), r).await
}

async fn post(c: &reqwest::Client, server: &Server, path: &str, form: &[(&str, &str)]) -> Resp {
    let r = c
        .post(server.url(path))
        .form(form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    read(format!("POST {path}"), r).await
}

/// `(ip IS NULL, user_agent IS NULL)` of every consent record of `user`, read from the database.
async fn sealed_columns(dep: &Deployment, user: &str) -> Vec<(bool, bool)> {
    let sql = "SELECT ip IS NULL, user_agent IS NULL FROM consent_records WHERE user_id = $1";
    match dep.backend() {
        Backend::Sqlite => {
            let mut conn =
                sqlx::SqliteConnection::connect(&format!("{}?mode=ro", dep.database_url()))
                    .await
                    .expect("the SQLite file opens read-only");
            let rows: Vec<(bool, bool)> = sqlx::query_as(sql)
                .bind(user)
                .fetch_all(&mut conn)
                .await
                .expect("consent_records can be read");
            let _ = conn.close().await;
            rows
        }
        Backend::Postgres(pg) => {
            let mut conn = sqlx::PgConnection::connect(pg.url())
                .await
                .expect("PostgreSQL accepts connections");
            let rows: Vec<(bool, bool)> = sqlx::query_as(sql)
                .bind(user)
                .fetch_all(&mut conn)
                .await
                .expect("consent_records can be read");
            let _ = conn.close().await;
            rows
        }
    }
}

async fn consent_data_is_sealed_exported_and_erased(backend: Backend) {
    let (dep, server, api) = start(backend).await;
    api.create_tenant("sealed", "customer").await;
    let base = "/tenants/sealed/privacy";
    api.post(
        &format!("{base}/documents"),
        &json!({"kind": "terms", "version": "v7", "url": "https://sealed.example/terms"}),
    )
    .await
    .expect(201);
    purpose(
        &api,
        "sealed",
        "terms-of-service",
        json!({"document": "terms", "required": true, "legal_basis": "contract"}),
    )
    .await;
    purpose(&api, "sealed", "analytics", json!({})).await;

    // Registration: the checkbox names the published version; the account gets a consent record.
    let c = ua_client();
    let page = get(&c, &server, "/t/sealed/register").await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(
        crate::harness::http::unescape(&html).contains("https://sealed.example/terms"),
        "{html}"
    );
    let csrf = hidden_input(&html, "csrf_token").expect("a CSRF token");
    let email = "consent.sealed@sealed.test";
    let password = "Quill-Sealed-Ferret-9247";
    let r = post(
        &c,
        &server,
        "/t/sealed/register",
        &[
            ("email", email),
            ("password", password),
            ("accept_terms", "on"),
            ("csrf_token", &csrf),
        ],
    )
    .await;
    assert!(r.status < 400, "{}", r.text());
    let user = crate::harness::poll_until(
        "the registered account",
        std::time::Duration::from_secs(20),
        || async {
            let list = api.get("/tenants/sealed/users?limit=10").await.expect(200);
            list["items"].as_array().and_then(|a| a.first()).map(id)
        },
    )
    .await;
    let h = crate::harness::poll_until(
        "the signup consent",
        std::time::Duration::from_secs(20),
        || async {
            let h = api
                .get(&format!("{base}/users/{user}/consents"))
                .await
                .expect(200);
            (!h["history"].as_array().expect("history").is_empty()).then_some(h)
        },
    )
    .await;
    assert_eq!(h["history"][0]["purpose"], "terms-of-service", "{h}");
    assert_eq!(h["history"][0]["policy_version"], "v7", "{h}");
    assert_eq!(h["history"][0]["channel"], "signup", "{h}");
    assert_eq!(h["history"][0]["user_agent"], UA, "{h}");

    // Sign in with the same browser and grant analytics in the preference centre.
    let login = get(&c, &server, "/t/sealed/login").await.text();
    let csrf = hidden_input(&login, "csrf_token").expect("a CSRF token");
    let r = post(
        &c,
        &server,
        "/t/sealed/login",
        &[
            ("email", email),
            ("password", password),
            ("csrf_token", &csrf),
        ],
    )
    .await;
    assert_eq!(r.expect_see_other(), "/t/sealed/account", "{}", r.text());
    let html = get(&c, &server, "/t/sealed/account/privacy").await.text();
    let csrf = hidden_input(&html, "csrf_token").expect("a CSRF token");
    // A request without the token changes nothing.
    let r = post(
        &c,
        &server,
        "/t/sealed/account/privacy/consent",
        &[("purpose", "analytics"), ("action", "grant")],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = post(
        &c,
        &server,
        "/t/sealed/account/privacy/preferences",
        &[("channel", "email"), ("frequency", "daily")],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = post(
        &c,
        &server,
        "/t/sealed/account/privacy/preferences",
        &[
            ("channel", "pigeon"),
            ("frequency", "daily"),
            ("csrf_token", &csrf),
        ],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = post(
        &c,
        &server,
        "/t/sealed/account/privacy/consent",
        &[
            ("purpose", "nope"),
            ("action", "grant"),
            ("csrf_token", &csrf),
        ],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        api.get(&format!("{base}/users/{user}/consents"))
            .await
            .expect(200)["history"]
            .as_array()
            .expect("history")
            .len(),
        1,
        "the refused forms recorded nothing"
    );
    let r = post(
        &c,
        &server,
        "/t/sealed/account/privacy/consent",
        &[
            ("purpose", "analytics"),
            ("action", "grant"),
            ("csrf_token", &csrf),
        ],
    )
    .await;
    assert_eq!(
        r.expect_see_other(),
        "/t/sealed/account/privacy?done=granted"
    );
    let r = post(
        &c,
        &server,
        "/t/sealed/account/privacy/preferences",
        &[
            ("channel", "email"),
            ("channel", "post"),
            ("frequency", "daily"),
            ("csrf_token", &csrf),
        ],
    )
    .await;
    assert_eq!(
        r.expect_see_other(),
        "/t/sealed/account/privacy?done=preferences"
    );
    let prefs = api
        .get(&format!("{base}/users/{user}/preferences"))
        .await
        .expect(200);
    assert_eq!(prefs["channels"], json!(["email", "post"]), "{prefs}");
    assert_eq!(prefs["frequency"], "daily", "{prefs}");
    let html = get(&c, &server, "/t/sealed/account/privacy").await.text();
    assert!(
        html.contains("data-purpose=\"analytics\" data-state=\"granted\""),
        "{html}"
    );
    assert!(
        html.contains("id=\"channel-post\" name=\"channel\" value=\"post\" checked"),
        "{html}"
    );

    // At rest: the user agent appears nowhere in the database; the sealed columns are set.
    let raw = db::raw_contents(&dep).await;
    assert!(!db::reveals(&raw, UA), "the user agent is sealed at rest");
    assert!(
        !db::reveals(&raw, "Quillfeather"),
        "the user agent is sealed at rest"
    );
    assert_eq!(
        sealed_columns(&dep, &user).await,
        [(false, false), (false, false)]
    );

    // The data export carries the history and the preferences.
    let export = get(&c, &server, "/t/sealed/account/export").await;
    assert_eq!(export.status, 200, "{}", export.text());
    let doc = export.json();
    let privacy = &doc["privacy"];
    assert_eq!(privacy["current"]["analytics"], "granted", "{privacy}");
    assert_eq!(
        privacy["history"].as_array().expect("history").len(),
        2,
        "{privacy}"
    );
    assert_eq!(privacy["history"][1]["user_agent"], UA, "{privacy}");
    assert_eq!(
        privacy["communication_preferences"]["channels"],
        json!(["email", "post"]),
        "{privacy}"
    );

    // Erasure: the records stay as pseudonymous proof, without IP address or user agent.
    api.delete(&format!("/tenants/sealed/users/{user}"))
        .await
        .expect(204);
    assert_eq!(
        sealed_columns(&dep, &user).await,
        [(true, true), (true, true)]
    );
    assert!(
        api.get(&format!("{base}/purposes/analytics/users"))
            .await
            .expect(200)["items"]
            .as_array()
            .expect("items")
            .is_empty(),
        "a deleted account consents to nothing"
    );
}

on_both_backends!(
    bad_input_is_refused_and_tenants_are_isolated,
    consent_data_is_sealed_exported_and_erased
);
