//! Issue 10, second part: data residency (a region per tenant, refused on a node of another
//! region, shown in the admin API, the CLI and the data export), anonymized analytics (SQL
//! aggregates by day, every small count suppressed, no personal data, role-checked), the age gate
//! of the registration page (too young: refused and nothing created; a minor: created, flagged,
//! cannot sign in until an operator records the parental consent; the birthdate sealed at rest)
//! and the completeness of the account export (every table of the live schema is either exported
//! or listed as holding no one's data, and a user with rows in the per-user tables finds them all
//! in the export).

use serde_json::{Value, json};

use crate::harness::{Api, Backend, Browser, Resp, db, hidden_input, start};
use crate::registration::{patch_settings, register};

const PASSWORD: &str = "Marble-Otter-Lantern-4821";

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

fn ymd(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// The birthdate of someone `years` old today (born on today's date, or 1 March for 29 February).
fn born_years_ago(years: i32) -> String {
    let t = today();
    let d =
        time::Date::from_calendar_date(t.year() - years, t.month(), t.day()).unwrap_or_else(|_| {
            time::Date::from_calendar_date(t.year() - years, time::Month::March, 1).expect("a date")
        });
    ymd(d)
}

fn expect_field(r: &Resp, field: &str) {
    r.expect_error(400, "invalid_request");
    assert_eq!(r.json()["field"], field, "{}", r.text());
}

async fn region_is_declared_enforced_and_exported(backend: Backend) {
    let (dep, server, api) = start(backend).await;

    // A node without TESSERA_REGION: tenants declare any region, or none.
    let t = api
        .post(
            "/tenants",
            &json!({"slug": "euro", "preset": "customer", "region": "eu"}),
        )
        .await
        .expect(201);
    assert_eq!(t["region"], "eu", "{t}");
    let plain = api.create_tenant("plain", "customer").await;
    assert_eq!(plain["region"], Value::Null, "{plain}");
    for bad in ["EU", "e", "eu west", "-eu", "eu--west"] {
        let r = api
            .post(
                "/tenants",
                &json!({"slug": "badregion", "preset": "customer", "region": bad}),
            )
            .await;
        expect_field(&r, "region");
    }
    assert_eq!(
        api.get("/tenants/badregion").await.status,
        404,
        "a refused tenant is not created"
    );
    let r = api
        .patch("/tenants/plain", &json!({"region": "us-east"}))
        .await
        .expect(200);
    assert_eq!(r["region"], "us-east");
    assert_eq!(
        api.get("/tenants/plain").await.expect(200)["region"],
        "us-east"
    );
    expect_field(
        &api.patch("/tenants/plain", &json!({"region": "US"})).await,
        "region",
    );
    let events = api
        .get("/tenants/plain/audit?type=tenant.updated&limit=10")
        .await
        .expect(200);
    assert!(events.to_string().contains("us-east"), "{events}");

    // The CLI.
    let cli = dep
        .cli(&[
            "tenant",
            "create",
            "clitenant",
            "--preset",
            "customer",
            "--region",
            "ap-south-1",
            "--json",
        ])
        .await
        .success_json();
    assert_eq!(cli["region"], "ap-south-1", "{cli}");

    // A node of region eu (one database per region): it gives its region, refuses another.
    let regional = dep.start_with(&[("TESSERA_REGION", "eu")]).await;
    let rapi = Api::new(&regional, &regional.api_key("admin", "write").await);
    let r = rapi
        .post(
            "/tenants",
            &json!({"slug": "yankee", "preset": "customer", "region": "us-east"}),
        )
        .await;
    expect_field(&r, "region");
    assert!(
        r.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("\"eu\"")),
        "{}",
        r.text()
    );
    assert_eq!(rapi.get("/tenants/yankee").await.status, 404);
    let t = rapi
        .post("/tenants", &json!({"slug": "local", "preset": "customer"}))
        .await
        .expect(201);
    assert_eq!(t["region"], "eu", "a regional node gives its region: {t}");
    expect_field(
        &rapi
            .patch("/tenants/plain", &json!({"region": "us-west"}))
            .await,
        "region",
    );
    let message = regional
        .cli(&[
            "tenant", "create", "cliother", "--preset", "customer", "--region", "us-east", "--json",
        ])
        .await
        .error_json("invalid_request");
    assert!(message.contains("region"), "{message}");

    // The OpenAPI document describes the new field and endpoints.
    let doc = server.browser().get("/api/v1/openapi.json").await.json();
    for path in [
        "/api/v1/tenants/{slug}/analytics",
        "/api/v1/tenants/{slug}/users/{id}/parental-consent",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} in the OpenAPI document"
        );
    }
    for schema in ["TenantView", "CreateTenant", "UpdateTenant"] {
        assert!(
            doc["components"]["schemas"][schema]["properties"]["region"].is_object(),
            "{schema}.region in the OpenAPI document"
        );
    }
    assert!(
        doc["components"]["schemas"]["UserView"]["properties"]["parental_consent_required"]
            .is_object()
    );

    // The data export names the region.
    api.create_user("euro", "eva@euro.test", Some(PASSWORD))
        .await;
    let b = Browser::new(&server);
    b.sign_in_ok("euro", "eva@euro.test", PASSWORD).await;
    let export = b.get("/t/euro/account/export").await;
    assert_eq!(export.status, 200, "{}", export.text());
    let doc = export.json();
    assert_eq!(doc["region"], "eu", "{doc}");
    assert_eq!(doc["tenant"]["region"], "eu", "{doc}");
}

async fn analytics_are_aggregated_and_k_anonymous(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    api.create_tenant("shop", "customer").await;
    let base = "/tenants/shop";
    // Six accounts made by the operator; five sign in with a password, one twice.
    let mut ids = Vec::new();
    for i in 0..6 {
        let u = api
            .create_user("shop", &format!("p{i}@shop.test"), Some(PASSWORD))
            .await;
        ids.push(u["id"].as_str().expect("an id").to_string());
    }
    let mut browsers = Vec::new();
    for i in 0..5 {
        let b = Browser::new(&server);
        b.sign_in_ok("shop", &format!("p{i}@shop.test"), PASSWORD)
            .await;
        browsers.push(b);
    }
    // The same browser again, after signing out: a second sign-in of the same account.
    let r = browsers[0].sign_out("shop").await;
    assert!(r.status < 400, "{}", r.text());
    browsers[0]
        .sign_in_ok("shop", "p0@shop.test", PASSWORD)
        .await;
    // Consents: all six grant `terms`; one grants `news`; nobody `survey`.
    for key in ["terms", "news", "survey"] {
        api.post(
            &format!("{base}/privacy/purposes"),
            &json!({"key": key, "legal_basis": "consent", "descriptions": {"en": key}}),
        )
        .await
        .expect(201);
    }
    for (i, id) in ids.iter().enumerate() {
        let mut purposes = vec!["terms"];
        if i == 0 {
            purposes.push("news");
        }
        for p in purposes {
            api.post(
                &format!("{base}/privacy/users/{id}/consents"),
                &json!({"purpose": p, "state": "granted", "channel": "api"}),
            )
            .await
            .expect(201);
        }
    }

    let day = ymd(today());
    let r = api
        .get(&format!("{base}/analytics?from={day}&to={day}"))
        .await
        .expect(200);
    assert_eq!(r["k_anonymity"], 5, "{r}");
    let days = r["days"].as_array().expect("days");
    assert_eq!(days.len(), 1, "{r}");
    let d = &days[0];
    assert_eq!(d["date"], day.as_str());
    let shown = |v: &Value, n: i64| {
        assert_eq!(v, &json!({"value": n, "suppressed": false}), "{r}");
    };
    let hidden = |v: &Value| {
        assert_eq!(v, &json!({"value": null, "suppressed": true}), "{r}");
    };
    shown(&d["sign_ins"]["password"], 6);
    hidden(&d["sign_ins"]["passkey"]);
    hidden(&d["sign_ins"]["email_code"]);
    shown(&d["active_users"], 5);
    shown(&d["accounts_created"], 6);
    hidden(&d["sign_ups"]);
    hidden(&d["registration_funnel"]["registered"]);
    hidden(&d["registration_funnel"]["verification_rate"]);
    let c = &r["consent_rates"];
    shown(&c["accounts"], 6);
    let purpose = |key: &str| {
        c["purposes"]
            .as_array()
            .expect("purposes")
            .iter()
            .find(|p| p["purpose"] == key)
            .unwrap_or_else(|| panic!("{key} in {c}"))
            .clone()
    };
    shown(&purpose("terms")["granting"], 6);
    assert_eq!(
        purpose("terms")["rate"],
        json!({"value": 1.0, "suppressed": false})
    );
    hidden(&purpose("news")["granting"]);
    hidden(&purpose("news")["rate"]);
    hidden(&purpose("survey")["granting"]);
    // No identifier of anyone in the answer.
    let text = r.to_string();
    for id in &ids {
        assert!(!text.contains(id.as_str()), "{text}");
    }
    assert!(
        !text.contains("@shop.test") && !text.contains("127.0.0.1"),
        "{text}"
    );

    // A lower threshold shows more (never below 2).
    patch_settings(&api, "shop", |s| s["analytics"]["k_anonymity"] = json!(2)).await;
    let r = api
        .get(&format!("{base}/analytics?from={day}&to={day}"))
        .await
        .expect(200);
    assert_eq!(
        r["consent_rates"]["purposes"][0]["purpose"], "news",
        "purposes sorted: {r}"
    );
    let mut settings = api.get("/tenants/shop").await.expect(200)["settings"].clone();
    settings["analytics"]["k_anonymity"] = json!(1);
    expect_field(
        &api.patch("/tenants/shop", &json!({"settings": settings}))
            .await,
        "settings.analytics.k_anonymity",
    );

    // Bad ranges: 400 naming the parameter.
    for (q, field) in [
        ("from=2026-13-01&to=2026-12-01".to_string(), "from"),
        ("from=yesterday&to=2026-12-01".to_string(), "from"),
        (format!("from={day}"), "to"),
        ("to=2026-01-01".to_string(), "from"),
        ("from=2026-02-01&to=2026-01-31".to_string(), "to"),
        ("from=2025-01-01&to=2026-01-02".to_string(), "to"),
    ] {
        expect_field(&api.get(&format!("{base}/analytics?{q}")).await, field);
    }
    api.get(&format!("{base}/analytics?from={day}&to={day}&user=x"))
        .await
        .expect_error(400, "invalid_request");
    // A full year, every day present.
    let year_ago = ymd(today() - time::Duration::days(365));
    let r = api
        .get(&format!("{base}/analytics?from={year_ago}&to={day}"))
        .await
        .expect(200);
    assert_eq!(r["days"].as_array().expect("days").len(), 366);

    // Delegated administration: the auditor reads, the user manager does not.
    for (role, status) in [("auditor", 200), ("user_manager", 403), ("app_owner", 403)] {
        let key = server
            .cli_json(&[
                "keys",
                "create-api-key",
                "--tenant",
                "shop",
                "--name",
                role,
                "--role",
                role,
            ])
            .await["api_key"]
            .as_str()
            .expect("a key")
            .to_string();
        let r = api
            .with_key(Some(&key))
            .get(&format!("{base}/analytics?from={day}&to={day}"))
            .await;
        assert_eq!(r.status, status, "{role}: {}", r.text());
    }
}

async fn age_gate_refuses_the_young_and_holds_minors(backend: Backend) {
    let (dep, server, api) = start(backend).await;
    api.create_tenant("kids", "customer").await;
    // Without an age gate the form does not ask for a birthdate (the customer preset hides it).
    let b = Browser::new(&server);
    let page = b.get("/t/kids/register").await.text();
    assert!(!page.contains("name=\"birthdate\""), "{page}");
    patch_settings(&api, "kids", |s| {
        s["registration"]["minimum_age"] = json!(13);
        s["registration"]["parental_consent_below"] = json!(16);
    })
    .await;
    let mut settings = api.get("/tenants/kids").await.expect(200)["settings"].clone();
    settings["registration"]["parental_consent_below"] = json!(12);
    expect_field(
        &api.patch("/tenants/kids", &json!({"settings": settings}))
            .await,
        "settings.registration.parental_consent_below",
    );
    let page = b.get("/t/kids/register").await.text();
    assert!(page.contains("name=\"birthdate\""), "{page}");
    assert!(hidden_input(&page, "csrf_token").is_some());

    // Too young: refused on the form, the same message for any address; nothing created.
    let young = born_years_ago(12);
    let r = register(
        &b,
        "kids",
        &[
            ("email", "young@kids.test"),
            ("password", PASSWORD),
            ("birthdate", &young),
        ],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("not old enough"), "{}", r.text());
    // No birthdate at all: the form asks for it.
    let r = register(
        &b,
        "kids",
        &[("email", "nobd@kids.test"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let list = api.get("/tenants/kids/users?limit=10").await.expect(200);
    assert_eq!(list["items"], json!([]), "nothing was created");

    // A minor (14): created, flagged, cannot sign in.
    let minor = born_years_ago(14);
    let r = register(
        &b,
        "kids",
        &[
            ("email", "teen@kids.test"),
            ("password", PASSWORD),
            ("birthdate", &minor),
        ],
    )
    .await;
    assert!(r.status < 400, "{}", r.text());
    let user = crate::harness::poll_until(
        "the registered minor",
        std::time::Duration::from_secs(20),
        || async {
            let list = api.get("/tenants/kids/users?limit=10").await.expect(200);
            list["items"].as_array().and_then(|a| a.first()).cloned()
        },
    )
    .await;
    let id = user["id"].as_str().expect("an id").to_string();
    assert_eq!(user["parental_consent_required"], true, "{user}");
    assert_eq!(user["attributes"]["birthdate"], minor.as_str(), "{user}");
    assert_eq!(
        user["attributes"]["parental_consent_required"], true,
        "{user}"
    );
    let teen = Browser::new(&server);
    let r = teen.sign_in("kids", "teen@kids.test", PASSWORD).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(teen.account_email("kids").await, None, "no session");
    // An adult (30): created without the flag.
    let adult = born_years_ago(30);
    let r = register(
        &b,
        "kids",
        &[
            ("email", "parent@kids.test"),
            ("password", PASSWORD),
            ("birthdate", &adult),
        ],
    )
    .await;
    assert!(r.status < 400, "{}", r.text());

    // The birthdate is sealed at rest like the other personal fields.
    let raw = db::raw_contents(&dep).await;
    assert!(
        !db::reveals(&raw, &minor),
        "the birthdate is sealed at rest"
    );

    // The operator records the parental consent; the account signs in.
    let path = format!("/tenants/kids/users/{id}/parental-consent");
    let u = api.post(&path, &json!({})).await.expect(200);
    assert_eq!(u["parental_consent_required"], false, "{u}");
    assert!(
        u["attributes"]["parental_consent"]["recorded_at"].is_string(),
        "{u}"
    );
    api.post(&path, &json!({}))
        .await
        .expect_error(409, "conflict");
    teen.sign_in_ok("kids", "teen@kids.test", PASSWORD).await;
    let doc = teen.get("/t/kids/account/export").await.json();
    assert_eq!(doc["profile"]["parental_consent_required"], false, "{doc}");
    assert_eq!(doc["attributes"]["birthdate"], minor.as_str(), "{doc}");
    let events = api
        .get("/tenants/kids/audit?type=access.denied&limit=10")
        .await
        .expect(200);
    assert!(events.to_string().contains("parental_consent"), "{events}");
}

/// The value at a dotted path of the export (`privacy.history`).
fn section<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |v, k| v.get(k))
}

async fn export_covers_every_personal_table(backend: Backend) {
    let (dep, server, api) = start(backend).await;
    // The live schema: every table exported or listed (the store test checks the same on a
    // migrated store; this is the deployed binary's database).
    let tables = table_names(&dep).await;
    assert!(tables.iter().any(|t| t == "users"), "{tables:?}");
    let missing: Vec<String> = tables
        .iter()
        .filter_map(|t| tessera_store::schema::export_coverage(t).err())
        .collect();
    assert!(missing.is_empty(), "\n{}\n", missing.join("\n"));

    // One person with rows in as many per-user tables as the API reaches.
    api.create_tenant("full", "customer").await;
    let base = "/tenants/full";
    let user = api
        .create_user("full", "ida@full.test", Some(PASSWORD))
        .await;
    let id = user["id"].as_str().expect("an id").to_string();
    let group = api
        .post(&format!("{base}/groups"), &json!({"name": "members"}))
        .await
        .expect(201);
    let r = api
        .put(&format!(
            "{base}/groups/{}/members/{id}",
            group["id"].as_str().expect("id")
        ))
        .await;
    assert!(r.status < 300, "{}", r.text());
    let role = api
        .post(
            &format!("{base}/roles"),
            &json!({"name": "reader", "permissions": ["docs:read"]}),
        )
        .await
        .expect(201);
    api.post(
        &format!("{base}/assignments"),
        &json!({"role_id": role["id"], "principal_type": "user", "principal_id": id}),
    )
    .await
    .expect(201);
    api.post(
        &format!("{base}/privacy/purposes"),
        &json!({"key": "news", "legal_basis": "consent", "descriptions": {"en": "News"}}),
    )
    .await
    .expect(201);
    api.post(
        &format!("{base}/privacy/users/{id}/consents"),
        &json!({"purpose": "news", "state": "granted", "channel": "api"}),
    )
    .await
    .expect(201);
    let b = Browser::new(&server);
    b.sign_in_ok("full", "ida@full.test", PASSWORD).await;
    // The risk profile is saved off the sign-in's path, so it reaches the export a moment later.
    let mut doc = Value::Null;
    for _ in 0..100 {
        let export = b.get("/t/full/account/export").await;
        assert_eq!(export.status, 200, "{}", export.text());
        doc = export.json();
        if section(&doc, "risk_profile").is_some_and(|v| !v.is_null()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for (table, path) in tessera_store::schema::EXPORTED_TABLES {
        assert!(
            section(&doc, path).is_some(),
            "table {table}: the export has no section {path}: {doc}"
        );
    }
    let non_empty = |path: &str| {
        let v = section(&doc, path).unwrap_or(&Value::Null);
        assert!(
            !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()),
            "{path} is empty: {doc}"
        );
    };
    for path in [
        "profile",
        "sessions",
        "groups",
        "role_assignments",
        "audit_events",
        "privacy.history",
        "risk_profile",
    ] {
        non_empty(path);
    }
    assert_eq!(doc["profile"]["id"], id.as_str());
    assert_eq!(doc["groups"][0]["name"], "members", "{doc}");
}

/// The tables of the deployment's database, read directly.
async fn table_names(dep: &crate::harness::Deployment) -> Vec<String> {
    let crypto = tessera_store::testing::test_field_crypto();
    let store = tessera_store::Store::connect(&dep.database_url(), crypto)
        .await
        .expect("the deployment's database opens");
    let tables = store.table_names().await.expect("the tables are listed");
    store.close().await;
    tables
}

on_both_backends!(
    region_is_declared_enforced_and_exported,
    analytics_are_aggregated_and_k_anonymous,
    age_gate_refuses_the_young_and_holds_minors,
    export_covers_every_personal_table
);
