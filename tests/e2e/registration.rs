//! Self-registration end to end, against a real SMTP server (the aiosmtpd sink): sign up → mail →
//! verify (by link, with a confirmation button; the link is single-use) → sign in; verification
//! by code with `return_to`; a tenant without sign-up answers 404; a known and an unknown address
//! get the same page in about the same time; bad input on the form is explained and creates
//! nothing; the honeypot and the per-IP budget stop bots; terms acceptance and custom attributes
//! are recorded with the account.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::smtp::{ReceivedMail, SmtpSink};
use crate::harness::{Api, Backend, Browser, Deployment, Server, element_text, hidden_input};

pub const WAIT: Duration = Duration::from_secs(60);
pub const STRONG: &str = "violet-kettle-orbit-1987";

/// A server sending its mail to a fresh sink, with a `customer` tenant `shop`.
pub async fn start(backend: Backend) -> Option<(SmtpSink, Deployment, Server, Api)> {
    let sink = SmtpSink::start().await?;
    let dep = Deployment::new(backend);
    let env = sink.env();
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = dep.start_with(&extra).await;
    let api = server.admin_api().await;
    api.post(
        "/tenants",
        &json!({"slug": "shop", "preset": "customer", "name": "Shop"}),
    )
    .await
    .expect(201);
    Some((sink, dep, server, api))
}

/// Changes some of a tenant's settings (the API takes the complete object).
pub async fn patch_settings(api: &Api, slug: &str, change: impl FnOnce(&mut Value)) -> Value {
    let mut settings = api.get(&format!("/tenants/{slug}")).await.expect(200)["settings"].clone();
    change(&mut settings);
    api.patch(
        &format!("/tenants/{slug}"),
        &json!({ "settings": settings }),
    )
    .await
    .expect(200)
}

/// Opens the sign-up page and submits it with `fields` (the CSRF token is added).
pub async fn register(b: &Browser, slug: &str, fields: &[(&str, &str)]) -> crate::harness::Resp {
    let page = b.get(&format!("/t/{slug}/register")).await;
    assert_eq!(page.status, 200, "the sign-up page opens: {}", page.text());
    let token = hidden_input(&page.text(), "csrf_token").expect("the form has a CSRF token");
    let mut all = fields.to_vec();
    all.push(("csrf_token", &token));
    b.post_form(&format!("/t/{slug}/register"), &all).await
}

/// The first link in a mail that goes to `page` (e.g. `verify-email`), as a path.
pub fn link_in(mail: &ReceivedMail, server: &Server, page: &str) -> String {
    let marker = format!("/{page}?");
    let at = mail
        .text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {page} link in {:?}", mail.text));
    let start = mail.text[..at]
        .rfind(|c: char| c.is_whitespace())
        .map_or(0, |i| i + 1);
    let end = mail.text[at..]
        .find(|c: char| c.is_whitespace())
        .map_or(mail.text.len(), |i| at + i);
    let url = &mail.text[start..end];
    url.strip_prefix(&server.public_url)
        .unwrap_or_else(|| panic!("the link {url} is on the server's public URL"))
        .to_string()
}

/// The 6-digit code in a mail (an indented line of six digits).
pub fn code_in(mail: &ReceivedMail) -> String {
    mail.text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {:?}", mail.text))
        .to_string()
}

/// The user with this email, through the admin API.
pub async fn find_user(api: &Api, slug: &str, email: &str) -> Option<Value> {
    let r = api
        .get(&format!("/tenants/{slug}/users?email={email}"))
        .await
        .expect(200);
    r["items"].as_array().and_then(|a| a.first().cloned())
}

pub async fn user_count(api: &Api, slug: &str) -> usize {
    api.get(&format!("/tenants/{slug}/users?limit=200"))
        .await
        .expect(200)["items"]
        .as_array()
        .map_or(0, Vec::len)
}

/// How many audit entries of `kind` the tenant has.
pub async fn events(api: &Api, slug: &str, kind: &str) -> Vec<Value> {
    api.get(&format!("/tenants/{slug}/audit?type={kind}"))
        .await
        .expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A page body with what legitimately differs between two requests replaced: the CSRF token
/// and the typed address.
pub fn generic(body: &str, email: &str) -> String {
    let body = match hidden_input(body, "csrf_token") {
        Some(token) if !token.is_empty() => body.replace(&token, "<token>"),
        _ => body.to_string(),
    };
    body.replace(email, "<email>")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Asserts two timing samples are alike: medians within 100 ms or within half of the larger.
pub fn assert_similar_timing(a: Vec<Duration>, b: Vec<Duration>, what: &str) {
    let (ma, mb) = (median(a), median(b));
    let diff = ma.abs_diff(mb);
    let tolerance = Duration::from_millis(100).max(ma.max(mb) / 2);
    assert!(
        diff <= tolerance,
        "{what}: medians {ma:?} and {mb:?} differ by more than {tolerance:?}"
    );
}

async fn sign_up_verify_and_sign_in(backend: Backend) {
    let Some((sink, _dep, server, api)) = start(backend).await else {
        return;
    };
    let b = server.browser();
    let page = b.get("/t/shop/register").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("<label for=\"email\">"), "{html}");
    assert!(
        html.contains("Leave this field empty"),
        "the honeypot tells screen-reader users to leave it empty"
    );
    let r = register(
        &b,
        "shop",
        &[
            ("email", "Ann.Lee@Shop.test"),
            ("password", STRONG),
            ("name", "Ann Lee"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Check your email"), "{}", r.text());

    let mail = sink.wait_for("Ann.Lee@Shop.test", WAIT).await;
    assert_eq!(mail.subject, "Confirm your email address for Shop");
    let link = link_in(&mail, &server, "verify-email");
    assert_eq!(code_in(&mail).len(), 6);
    let user = find_user(&api, "shop", "ann.lee@shop.test")
        .await
        .expect("the account exists");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["name"], "Ann Lee");
    assert_eq!(user["has_password"], true);

    // Opening the link (as a mail scanner would) only shows a button.
    let confirm = b.get(&link).await;
    assert_eq!(confirm.status, 200, "{}", confirm.text());
    let token = hidden_input(&confirm.text(), "token").expect("the button carries the token");
    let opened_twice = Browser::cookieless(&server).get(&link).await;
    assert_eq!(opened_twice.status, 200);
    assert_eq!(
        find_user(&api, "shop", "ann.lee@shop.test").await.unwrap()["email_verified"],
        false,
        "GET changes nothing"
    );
    let csrf = hidden_input(&confirm.text(), "csrf_token").unwrap();
    let done = b
        .post_form(
            "/t/shop/verify-email",
            &[("token", &token), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.text().contains("Your email address is confirmed"));
    assert_eq!(
        find_user(&api, "shop", "ann.lee@shop.test").await.unwrap()["email_verified"],
        true
    );
    // The link works once.
    let replay = b
        .post_form(
            "/t/shop/verify-email",
            &[("token", &token), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(replay.status, 400);
    assert_eq!(
        element_text(&replay.text(), "error").as_deref(),
        Some("This link has expired or was already used.")
    );
    assert_eq!(
        b.get(&link).await.status,
        400,
        "a used link shows its state"
    );

    b.sign_in_ok("shop", "ann.lee@shop.test", STRONG).await;
    assert_eq!(events(&api, "shop", "user.registered").await.len(), 1);
    assert_eq!(events(&api, "shop", "user.email_verified").await.len(), 1);
    let sent = events(&api, "shop", "user.verification_sent").await;
    assert_eq!(sent[0]["data"]["reason"], "registration", "{sent:?}");
}

/// A customer signs up without a password and signs in with an emailed code; where the tenant
/// offers no passwordless way in, the password stays required.
async fn passwordless_sign_up(backend: Backend) {
    let Some((sink, _dep, server, api)) = start(backend).await else {
        return;
    };
    let b = server.browser();
    let r = register(&b, "shop", &[("email", "pia@shop.test"), ("password", "")]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mail = sink.wait_for("pia@shop.test", WAIT).await;
    assert_eq!(mail.subject, "Confirm your email address for Shop");
    let user = find_user(&api, "shop", "pia@shop.test")
        .await
        .expect("the account exists");
    assert_eq!(user["has_password"], false);
    // Sign in with an emailed code (which also proves the address).
    let page = b.get("/t/shop/login/email").await;
    let csrf = hidden_input(&page.text(), "csrf_token").expect("csrf");
    let r = b
        .post_form(
            "/t/shop/login/email",
            &[
                ("csrf_token", &csrf),
                ("action", "send"),
                ("email", "pia@shop.test"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mail = sink.wait_for("pia@shop.test", WAIT).await;
    let code = mail
        .text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("a code")
        .to_string();
    let csrf = hidden_input(&r.text(), "csrf_token").expect("csrf");
    let r = b
        .post_form(
            "/t/shop/login/email",
            &[("csrf_token", &csrf), ("action", "verify"), ("code", &code)],
        )
        .await;
    assert_eq!(r.expect_see_other(), "/t/shop/account");
    assert_eq!(
        find_user(&api, "shop", "pia@shop.test").await.unwrap()["email_verified"],
        true
    );
    // Without a passwordless way in, the password is required.
    patch_settings(&api, "shop", |s| {
        s["mfa"]["email_code_sign_in"] = json!(false);
        s["mfa"]["magic_link_sign_in"] = json!(false);
    })
    .await;
    let r = register(
        &server.browser(),
        "shop",
        &[("email", "quinn@shop.test"), ("password", "")],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(find_user(&api, "shop", "quinn@shop.test").await.is_none());
}

async fn code_verification_returns_to_the_application(backend: Backend) {
    let Some((sink, _dep, server, api)) = start(backend).await else {
        return;
    };
    let b = server.browser();
    let back = "/t/shop/authorize?client_id=app&state=xyz";
    let page = b
        .get(&format!(
            "/t/shop/register?return_to={}",
            "%2Ft%2Fshop%2Fauthorize%3Fclient_id%3Dapp%26state%3Dxyz"
        ))
        .await;
    assert_eq!(
        hidden_input(&page.text(), "return_to").as_deref(),
        Some(back)
    );
    let csrf = hidden_input(&page.text(), "csrf_token").unwrap();
    let r = b
        .post_form(
            "/t/shop/register",
            &[
                ("email", "bo@shop.test"),
                ("password", STRONG),
                ("return_to", back),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(hidden_input(&r.text(), "return_to").as_deref(), Some(back));
    let mail = sink.wait_for("bo@shop.test", WAIT).await;
    assert!(
        link_in(&mail, &server, "verify-email").contains("return_to=%2Ft%2Fshop%2Fauthorize"),
        "the emailed link carries return_to"
    );
    let code = code_in(&mail);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let csrf = hidden_input(&r.text(), "csrf_token").unwrap();
    let bad = b
        .post_form(
            "/t/shop/verify-email",
            &[
                ("email", "bo@shop.test"),
                ("code", wrong),
                ("return_to", back),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        element_text(&bad.text(), "error")
            .unwrap()
            .starts_with("That code is not right")
    );
    let ok = b
        .post_form(
            "/t/shop/verify-email",
            &[
                ("email", "bo@shop.test"),
                ("code", &code),
                ("return_to", back),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let html = ok.text();
    assert!(html.contains("Your email address is confirmed"));
    let at = html.find("id=\"continue\"").expect("a continue link");
    let href_start = html[..at].rfind("href=\"").unwrap() + 6;
    let href = crate::harness::http::unescape(&html[href_start..at - 2]);
    assert!(
        href.starts_with("/t/shop/login?return_to=%2Ft%2Fshop%2Fauthorize"),
        "{href}"
    );
    assert_eq!(
        find_user(&api, "shop", "bo@shop.test").await.unwrap()["email_verified"],
        true
    );
    // The code was used up with its message.
    let again = b
        .post_form(
            "/t/shop/verify-email",
            &[
                ("email", "bo@shop.test"),
                ("code", &code),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(again.status, 400);
}

async fn sign_up_is_404_where_the_tenant_has_none(backend: Backend) {
    let (_dep, server, api) = crate::harness::start(backend).await;
    api.create_tenant("corp", "workforce").await;
    api.create_tenant("shop", "customer").await;
    let b = server.browser();
    let r = b.get("/t/corp/register").await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains("does not offer sign-up"));
    let r = b
        .post_form(
            "/t/corp/register",
            &[("email", "x@corp.test"), ("password", STRONG)],
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(user_count(&api, "corp").await, 0);
    let login = b.get("/t/corp/login").await.text();
    assert!(
        !login.contains("id=\"register\""),
        "no sign-up link: {login}"
    );
    assert!(login.contains("id=\"forgot-password\""));
    let login = crate::harness::http::unescape(&b.get("/t/shop/login").await.text());
    assert!(login.contains("href=\"/t/shop/register\""), "{login}");
    assert_eq!(b.get("/t/no-such-tenant/register").await.status, 404);
}

async fn known_and_unknown_addresses_look_alike(backend: Backend) {
    let Some((sink, _dep, server, api)) = start(backend).await else {
        return;
    };
    patch_settings(&api, "shop", |s| {
        s["registration"]["max_attempts_per_ip_per_hour"] = json!(100);
    })
    .await;
    api.create_user("shop", "known@shop.test", Some("an-existing-password-1"))
        .await;
    let mut known_times = Vec::new();
    let mut new_times = Vec::new();
    let mut bodies = Vec::new();
    for i in 0..5 {
        let fresh = format!("new{i}@shop.test");
        for (email, times) in [
            ("known@shop.test", &mut known_times),
            (fresh.as_str(), &mut new_times),
        ] {
            let b = server.browser();
            let page = b.get("/t/shop/register").await;
            let csrf = hidden_input(&page.text(), "csrf_token").unwrap();
            let started = Instant::now();
            let r = b
                .post_form(
                    "/t/shop/register",
                    &[
                        ("email", email),
                        ("password", STRONG),
                        ("csrf_token", &csrf),
                    ],
                )
                .await;
            times.push(started.elapsed());
            assert_eq!(r.status, 200, "{email}: {}", r.text());
            bodies.push(generic(&r.text(), email));
        }
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every answer is the same page"
    );
    assert_similar_timing(known_times, new_times, "registration");
    // The owner of the known address is told, with a way back in; nothing else changed.
    let notice = sink.wait_for("known@shop.test", WAIT).await;
    assert!(
        notice.subject.contains("tried to create"),
        "{}",
        notice.subject
    );
    link_in(&notice, &server, "reset-password");
    sink.wait_for("new0@shop.test", WAIT).await;
    let known = find_user(&api, "shop", "known@shop.test").await.unwrap();
    assert_eq!(known["email_verified"], false);
    let b = server.browser();
    b.sign_in_ok("shop", "known@shop.test", "an-existing-password-1")
        .await;
}

async fn bad_input_is_explained_and_creates_nothing(backend: Backend) {
    let Some((sink, _dep, server, api)) = start(backend).await else {
        return;
    };
    patch_settings(&api, "shop", |s| {
        let r = &mut s["registration"];
        r["max_attempts_per_ip_per_hour"] = json!(100);
        r["fields"]["given_name"] = json!("required");
        r["terms"] = json!({"url": "https://shop.example/terms", "version": "2026-05"});
        r["custom_attributes"] = json!([{
            "name": "member_no", "label": "Member number", "type": "string",
            "required": true, "max_length": 8, "pattern": "[A-Z]{2}[0-9]+"
        }]);
    })
    .await;
    let good: Vec<(&str, &str)> = vec![
        ("email", "cy@shop.test"),
        ("password", STRONG),
        ("given_name", "Cy"),
        ("attr_member_no", "AB12"),
        ("accept_terms", "on"),
    ];
    let with = |key: &str, value: &str| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = good
            .iter()
            .filter(|(k, _)| *k != key)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !value.is_empty() {
            v.push((key.to_string(), value.to_string()));
        }
        v
    };
    let long = "x".repeat(300);
    // What is wrong, the form as sent, and what the page must say.
    type Case<'a> = (&'a str, Vec<(String, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "missing email",
            with("email", ""),
            "Enter a valid email address",
        ),
        (
            "invalid email",
            with("email", "not-an-address"),
            "Enter a valid email address",
        ),
        (
            "overlong email",
            with("email", &format!("{long}@shop.test")),
            "Enter a valid email address",
        ),
        (
            "disposable email",
            with("email", "cy@mailinator.com"),
            "disposable",
        ),
        // An empty password is a passwordless sign-up here (see `passwordless_sign_up`).
        (
            "short password",
            with("password", "k7#qzp!"),
            "at least 8 characters",
        ),
        (
            "common password",
            with("password", "Password1"),
            "commonly used passwords",
        ),
        (
            "weak password",
            with("password", "aaaaaaaaaaaa"),
            "too easy to guess",
        ),
        (
            "password from the address",
            with("password", "cy@shop.test"),
            "too easy to guess",
        ),
        (
            "missing given name",
            with("given_name", ""),
            "Enter your first name",
        ),
        (
            "overlong given name",
            with("given_name", &long),
            "at most 200 characters",
        ),
        (
            "custom attribute pattern",
            with("attr_member_no", "ab12"),
            "not in the expected format",
        ),
        (
            "custom attribute length",
            with("attr_member_no", "AB1234567"),
            "at most 8 characters",
        ),
        (
            "terms not accepted",
            with("accept_terms", ""),
            "Accept the terms",
        ),
    ];
    for (what, fields, expected) in cases {
        let b = server.browser();
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = register(&b, "shop", &refs).await;
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        let html = crate::harness::http::unescape(&r.text());
        assert!(
            html.contains(expected),
            "{what}: expected {expected:?} in {html}"
        );
        assert!(
            !html.contains(STRONG),
            "{what}: the password is never echoed"
        );
    }
    // A wrong CSRF token.
    let b = server.browser();
    b.get("/t/shop/register").await;
    let r = b
        .post_form(
            "/t/shop/register",
            &[
                ("email", "cy@shop.test"),
                ("password", STRONG),
                ("csrf_token", "forged"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("This form has expired"));
    // A malformed body.
    let r = b
        .post_raw(
            "/t/shop/register",
            "application/x-www-form-urlencoded",
            b"%%%=%%".to_vec(),
        )
        .await;
    assert!(r.status == 400 || r.status == 403, "{}", r.status);

    // A bot fills in the honeypot: the same answer as a success, and nothing happens.
    let mut trap: Vec<(&str, &str)> = good.clone();
    trap[0] = ("email", "bot@shop.test");
    trap.push(("contact_me_by_fax", "http://spam.example"));
    let r = register(&server.browser(), "shop", &trap).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Check your email"));

    // The good form works; once its mail is there, nothing else was created.
    let r = register(&server.browser(), "shop", &good).await;
    assert_eq!(r.status, 200, "{}", r.text());
    sink.wait_for("cy@shop.test", WAIT).await;
    assert_eq!(
        user_count(&api, "shop").await,
        1,
        "only the good sign-up made an account"
    );
    assert!(find_user(&api, "shop", "bot@shop.test").await.is_none());
    let received: Vec<String> = sink
        .received()
        .iter()
        .flat_map(|m| m.rcpt_tos.clone())
        .collect();
    assert_eq!(received, vec!["cy@shop.test".to_string()]);
    // Terms acceptance and the custom attribute are kept with the account.
    let cy = find_user(&api, "shop", "cy@shop.test").await.unwrap();
    assert_eq!(cy["attributes"]["member_no"], "AB12");
    assert_eq!(cy["attributes"]["terms_accepted"]["version"], "2026-05");
    assert!(cy["attributes"]["terms_accepted"]["accepted_at"].is_string());
    assert_eq!(cy["given_name"], "Cy");
}

async fn each_address_gets_a_budget_of_attempts(backend: Backend) {
    let (_dep, server, api) = crate::harness::start(backend).await;
    api.create_tenant("shop", "customer").await;
    patch_settings(&api, "shop", |s| {
        s["registration"]["max_attempts_per_ip_per_hour"] = json!(3);
    })
    .await;
    let b = server.browser();
    for i in 0..3 {
        let r = register(
            &b,
            "shop",
            &[("email", "not-an-address"), ("password", STRONG)],
        )
        .await;
        assert_eq!(r.status, 400, "attempt {i}");
    }
    let r = register(
        &b,
        "shop",
        &[("email", "dee@shop.test"), ("password", STRONG)],
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.header("retry-after").is_some());
    assert!(r.text().contains("Too many sign-up attempts"));
    assert_eq!(user_count(&api, "shop").await, 0);
}

async fn registration_settings_are_validated(backend: Backend) {
    let (_dep, _server, api) = crate::harness::start(backend).await;
    api.create_tenant("shop", "customer").await;
    let settings = api.get("/tenants/shop").await.expect(200)["settings"].clone();
    assert_eq!(settings["password_policy"]["min_length"], 8);
    assert_eq!(settings["registration"]["block_disposable_emails"], true);
    for (what, change, field) in [
        (
            "min_length below 8",
            json!({"password_policy": {"min_length": 6}}),
            "settings.password_policy.min_length",
        ),
        (
            "strength above 4",
            json!({"password_policy": {"min_strength": 5}}),
            "settings.password_policy.min_strength",
        ),
        (
            "bad pattern",
            json!({"registration": {"custom_attributes": [{"name": "x", "label": "X", "pattern": "("}]}}),
            "settings.registration.custom_attributes",
        ),
        (
            "bad terms URL",
            json!({"registration": {"terms": {"url": "javascript:x", "version": "1"}}}),
            "settings.registration.terms.url",
        ),
        (
            "grace too long",
            json!({"registration": {"unverified_grace_days": 400}}),
            "settings.registration.unverified_grace_days",
        ),
    ] {
        let mut s = settings.clone();
        for (k, v) in change.as_object().unwrap() {
            for (kk, vv) in v.as_object().unwrap() {
                s[k][kk] = vv.clone();
            }
        }
        let r = api.patch("/tenants/shop", &json!({ "settings": s })).await;
        let msg = r.expect_error(400, "invalid_request");
        assert!(msg.contains(field), "{what}: {msg}");
    }
    let mut s = settings.clone();
    s["registration"]["unknown_key"] = json!(true);
    api.patch("/tenants/shop", &json!({ "settings": s }))
        .await
        .expect_error(400, "invalid_request");
    patch_settings(&api, "shop", |s| {
        s["password_policy"]["min_length"] = json!(12);
        s["registration"]["require_verified_email_to_sign_in"] = json!(true);
    })
    .await;
}

on_both_backends!(
    passwordless_sign_up,
    sign_up_verify_and_sign_in,
    code_verification_returns_to_the_application,
    sign_up_is_404_where_the_tenant_has_none,
    known_and_unknown_addresses_look_alike,
    bad_input_is_explained_and_creates_nothing,
    each_address_gets_a_budget_of_attempts,
    registration_settings_are_validated,
);
