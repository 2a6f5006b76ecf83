//! The risk engine in the live sign-in path, through the real sign-in page, behind a trusted
//! reverse proxy (`TESSERA_TRUSTED_PROXIES`; the test sends the `X-Forwarded-For` the proxy
//! would add) with a geo-IP database the test writes (`TESSERA_GEOIP_DB`):
//! - the right password from a new country and a new browser gets a step-up (an emailed code,
//!   the account having no factor of its own), recorded as `risk.assessed` and listed by the
//!   admin API with its reasons; the same person at home is not asked;
//! - credential stuffing from one address is refused within 20 attempts, and further attempts
//!   (even with a right password) are refused without computing a password hash
//!   (`tessera_password_hash_computations_total` stays put), while others sign in;
//! - the owner gets a "new sign-in" notice whose "this wasn't me" link (after a confirmation,
//!   CSRF-protected) ends every session, disables the password and mails a reset link;
//! - `monitor` mode records without acting; `off` skips the engine;
//! - two nodes on one database share their counts: stuffing refused on one is refused on the
//!   other;
//! - a public client's refresh-token grant from a blocked network is refused at the token
//!   endpoint (`invalid_grant`), the same token still works from home.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::smtp::SmtpSink;
use crate::harness::{Api, Backend, Browser, Deployment, Server, hidden_input};

const PASSWORD: &str = "correct horse battery staple 7";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_IOS: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const WAIT: Duration = Duration::from_secs(20);

const HOME_IP: &str = "85.0.1.10"; // DE
const AWAY_IP: &str = "177.0.3.3"; // BR
const STUFFER_IP: &str = "45.0.0.66"; // US

async fn start(backend: Backend, sink: Option<&SmtpSink>) -> (Deployment, Server, Api) {
    let dep = Deployment::new(backend);
    let geo = crate::risk_cli::geo_db(&dep);
    let mut env: Vec<(&str, String)> = vec![
        ("TESSERA_GEOIP_DB", geo),
        ("TESSERA_TRUSTED_PROXIES", "127.0.0.1,::1".into()),
    ];
    if let Some(s) = sink {
        env.extend(s.env());
    }
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = dep.start_with(&extra).await;
    let api = server.admin_api().await;
    api.create_tenant("shop", "customer").await;
    (dep, server, api)
}

async fn verified_user(api: &Api, email: &str) -> String {
    let user = api.create_user("shop", email, Some(PASSWORD)).await;
    let uid = user["id"].as_str().expect("id").to_string();
    api.patch(
        &format!("/tenants/shop/users/{uid}"),
        &json!({"email_verified": true}),
    )
    .await
    .expect(200);
    uid
}

async fn set_risk(api: &Api, change: impl Fn(&mut Value)) {
    let tenant = api.get("/tenants/shop").await.expect(200);
    let mut settings = tenant["settings"].clone();
    change(&mut settings["risk"]);
    api.patch("/tenants/shop", &json!({ "settings": settings }))
        .await
        .expect(200);
}

/// A browser of a person at `ip` (as the proxy reports it) with user agent `ua`.
fn person(server: &Server, ip: &str, ua: &str) -> Browser {
    Browser::new(server).with_headers(&[("x-forwarded-for", ip), ("user-agent", ua)])
}

async fn hashes(server: &Server) -> f64 {
    let text = server.browser().get("/metrics").await.text();
    text.lines()
        .find(|l| l.starts_with("tessera_password_hash_computations_total{purpose=\"signin\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn new_country_and_device_step_up(backend: Backend) {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let (_dep, server, api) = start(backend, Some(&sink)).await;
    let uid = verified_user(&api, "ann@shop.test").await;

    // Ann signs in at home, in her usual browser, a few times: the profile learns it, and the
    // same context is never questioned.
    let home = person(&server, HOME_IP, FIREFOX);
    for _ in 0..3 {
        home.sign_in_ok("shop", "ann@shop.test", PASSWORD).await;
        home.sign_out("shop").await;
    }

    // The right password from Brazil, in a browser the account never used: a second factor.
    let away = person(&server, AWAY_IP, SAFARI_IOS);
    let r = away.sign_in("shop", "ann@shop.test", PASSWORD).await;
    assert_eq!(r.expect_see_other(), "/t/shop/login/mfa", "a step-up");
    assert!(
        r.set_cookie("tessera_session").is_none(),
        "no session before the second factor"
    );
    assert_eq!(away.account_email("shop").await, None);
    // Ann has no factor of her own: the code goes to her verified address.
    let page = away.get("/t/shop/login/mfa").await;
    assert_eq!(page.status, 200, "{}", page.text());
    let token = hidden_input(&page.text(), "csrf_token").expect("csrf");
    let r = away
        .post_form(
            "/t/shop/login/mfa",
            &[
                ("csrf_token", &token),
                ("method", "send_email"),
                ("code", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mail = sink.wait_for("ann@shop.test", WAIT).await;
    let code = mail
        .text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("a code in the mail")
        .to_string();
    let page = away.get("/t/shop/login/mfa").await;
    let token = hidden_input(&page.text(), "csrf_token").expect("csrf");
    let r = away
        .post_form(
            "/t/shop/login/mfa",
            &[
                ("csrf_token", &token),
                ("method", "email_code"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(r.expect_see_other(), "/t/shop/account", "{}", r.text());
    assert_eq!(
        away.account_email("shop").await.as_deref(),
        Some("ann@shop.test")
    );

    // At home again: no question.
    home.sign_in_ok("shop", "ann@shop.test", PASSWORD).await;

    // Ann got a notice of the sign-in from Brazil, with a "this wasn't me" link.
    let notice = sink.wait_for_notice("ann@shop.test", WAIT).await;
    assert!(notice.text.contains("BR"), "{}", notice.text);
    let link = notice
        .text
        .lines()
        .map(str::trim)
        .find(|l| l.contains("/t/shop/not-me?token="))
        .expect("a report link in the notice");
    let path = &link[link.find("/t/shop/not-me").unwrap()..];
    // Opening the link changes nothing (mail scanners open links).
    let page = home.get(path).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(
        away.account_email("shop").await.as_deref(),
        Some("ann@shop.test")
    );
    let token = hidden_input(&page.text(), "token").expect("the link's token in the form");
    let r = home
        .post_form(
            "/t/shop/not-me",
            &[("csrf_token", "forged"), ("token", &token)],
        )
        .await;
    assert_eq!(r.status, 403, "CSRF: {}", r.text());
    let csrf = hidden_input(&page.text(), "csrf_token").expect("csrf");
    let r = home
        .post_form(
            "/t/shop/not-me",
            &[("csrf_token", &csrf), ("token", &token)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Your account is secured"), "{}", r.text());
    // Everyone is out, the old password no longer works, and a reset link is on its way.
    assert_eq!(away.account_email("shop").await, None);
    assert_eq!(home.account_email("shop").await, None);
    let r = home.sign_in("shop", "ann@shop.test", PASSWORD).await;
    assert_eq!(r.status, 401, "{}", r.text());
    let reset = sink.wait_for("ann@shop.test", WAIT).await;
    assert!(
        reset.text.contains("/t/shop/reset-password?token="),
        "{}",
        reset.text
    );
    // The link works once.
    let r = home
        .post_form(
            "/t/shop/not-me",
            &[("csrf_token", &csrf), ("token", &token)],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let events = api
        .get("/tenants/shop/audit?type=user.sign_in_reported")
        .await
        .expect(200);
    assert_eq!(events["items"].as_array().unwrap().len(), 1, "{events}");

    // The admin API lists the challenge with its reasons, the address and the account.
    let list = api.get("/tenants/shop/risk/attempts").await.expect(200);
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{list}");
    let a = &items[0];
    assert_eq!(a["decision"], "challenge");
    assert_eq!(a["stage"], "first_factor");
    assert_eq!(a["method"], "password");
    assert_eq!(a["enforced"], true);
    assert_eq!(a["user_id"], uid.as_str());
    assert_eq!(a["ip"], AWAY_IP);
    assert!(a["score"].as_f64().unwrap() >= 0.5, "{a}");
    let signals: Vec<&str> = a["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(|r| r["signal"].as_str())
        .collect();
    for s in ["new_country", "new_device"] {
        assert!(signals.contains(&s), "{s} in {signals:?}");
    }
    let detail = a["reasons"].to_string();
    assert!(
        detail.contains("BR"),
        "the reasons name the country: {detail}"
    );
    // Filters.
    let none = api
        .get("/tenants/shop/risk/attempts?decision=block")
        .await
        .expect(200);
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    api.get("/tenants/shop/risk/attempts?decision=maybe")
        .await
        .expect_error(400, "invalid_request");
    api.get("/tenants/shop/risk/attempts?min_score=2")
        .await
        .expect_error(400, "invalid_request");
    // The audit trail holds the event; the webhook-facing part names signals, not the details.
    let audit = api
        .get("/tenants/shop/audit?type=risk.assessed")
        .await
        .expect(200);
    let data = &audit["items"][0]["data"];
    assert_eq!(data["decision"], "challenge", "{audit}");
    assert!(!data.to_string().contains(AWAY_IP), "{data}");
    drop(server);
}

async fn stuffing_is_refused_before_the_hash(backend: Backend) {
    let (_dep, server, api) = start(backend, None).await;
    verified_user(&api, "bob@shop.test").await;
    let before = hashes(&server).await;

    // A script tries one leaked password after another on many accounts from one address.
    let bot = Browser::new(&server).with_headers(&[
        ("x-forwarded-for", STUFFER_IP),
        ("user-agent", "python-requests/2.31"),
    ]);
    let mut refused_at = None;
    for i in 0..20 {
        let r = bot
            .sign_in(
                "shop",
                &format!("victim{i}@shop.test"),
                &format!("leaked-password-{i}"),
            )
            .await;
        match r.status {
            401 => {}
            403 => {
                assert!(
                    r.text().contains("refused for security reasons"),
                    "{}",
                    r.text()
                );
                refused_at = Some(i);
                break;
            }
            other => panic!("attempt {i}: unexpected {other}: {}", r.text()),
        }
    }
    let refused_at = refused_at.expect("stuffing is refused within 20 attempts");
    assert!(
        refused_at >= 3,
        "a few failures are not stuffing ({refused_at})"
    );

    // From now on the source is refused before any hash, even with a right password.
    let hashed = hashes(&server).await;
    assert_eq!(
        hashed - before,
        refused_at as f64,
        "one hash per attempt before the refusal"
    );
    for email in ["victim99@shop.test", "bob@shop.test"] {
        let r = bot.sign_in("shop", email, PASSWORD).await;
        assert_eq!(r.status, 403, "{}", r.text());
        assert!(r.set_cookie("tessera_session").is_none());
    }
    assert_eq!(
        hashes(&server).await,
        hashed,
        "no hash for refused attempts"
    );

    // Bob, elsewhere, signs in.
    person(&server, HOME_IP, FIREFOX)
        .sign_in_ok("shop", "bob@shop.test", PASSWORD)
        .await;

    let blocks = api
        .get("/tenants/shop/risk/attempts?decision=block")
        .await
        .expect(200);
    let items = blocks["items"].as_array().expect("items");
    assert!(items.len() >= 3, "{blocks}");
    assert!(items.iter().all(|a| a["stage"] == "before_password"));
    assert!(items.iter().all(|a| a["ip"] == STUFFER_IP));
    let signals = items[0]["reasons"].to_string();
    assert!(signals.contains("ip_accounts"), "{signals}");
    // Paging: one at a time, no entry twice.
    let first = api
        .get("/tenants/shop/risk/attempts?decision=block&limit=1")
        .await
        .expect(200);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = api
        .get(&format!(
            "/tenants/shop/risk/attempts?decision=block&limit=1&after={cursor}"
        ))
        .await
        .expect(200);
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);

    // Monitor mode: decisions are recorded, not acted on.
    set_risk(&api, |r| r["mode"] = json!("monitor")).await;
    let r = bot.sign_in("shop", "victim98@shop.test", "guess").await;
    assert_eq!(r.status, 401, "monitor mode does not refuse: {}", r.text());
    let monitored = api
        .get("/tenants/shop/risk/attempts?decision=block&limit=1")
        .await
        .expect(200);
    assert_eq!(monitored["items"][0]["enforced"], false, "{monitored}");

    // Off: the engine is not consulted at all.
    set_risk(&api, |r| r["mode"] = json!("off")).await;
    let r = bot.sign_in("shop", "bob@shop.test", PASSWORD).await;
    assert_eq!(r.expect_see_other(), "/t/shop/account");

    // Settings are validated.
    let tenant = api.get("/tenants/shop").await.expect(200);
    let mut settings = tenant["settings"].clone();
    settings["risk"]["challenge_at"] = json!(2);
    api.patch("/tenants/shop", &json!({ "settings": settings }))
        .await
        .expect_error(400, "invalid_request");
    drop(server);
}

/// Without `TESSERA_TRUSTED_PROXIES`, `X-Forwarded-For` is the client's own claim and ignored:
/// a stuffing source cannot escape by rotating the header.
async fn forwarded_for_is_ignored_from_untrusted_peers(backend: Backend) {
    let dep = Deployment::new(backend);
    let server = dep.start().await;
    let api = server.admin_api().await;
    api.create_tenant("shop", "customer").await;
    let mut refused = false;
    for i in 0..20 {
        let b = Browser::new(&server).with_headers(&[
            ("x-forwarded-for", &format!("45.0.{i}.1")),
            ("user-agent", "python-requests/2.31"),
        ]);
        let r = b
            .sign_in("shop", &format!("victim{i}@shop.test"), "leaked")
            .await;
        if r.status == 403 {
            refused = true;
            break;
        }
        assert_eq!(r.status, 401, "{}", r.text());
    }
    assert!(refused, "rotating X-Forwarded-For does not hide the source");
    let list = api.get("/tenants/shop/risk/attempts").await.expect(200);
    let ip = list["items"][0]["ip"].as_str().expect("an address");
    assert!(
        ip == "127.0.0.1" || ip == "::1",
        "the peer's address is recorded, not the header's: {ip}"
    );
    drop(server);
}

/// Fake-account creation from one address: after a handful of sign-ups the engine refuses
/// further ones (nothing is created), while a person elsewhere still signs up.
async fn signup_velocity_is_refused(backend: Backend) {
    let (_dep, server, api) = start(backend, None).await;
    let farm = person(&server, "45.0.0.77", FIREFOX);
    let mut refused_at = None;
    for i in 0..20 {
        let email = format!("fake{i}@shop.test");
        let r = crate::registration::register(
            &farm,
            "shop",
            &[("email", &email), ("password", PASSWORD)],
        )
        .await;
        match r.status {
            200 => {}
            403 => {
                assert!(
                    r.text().contains("refused for security reasons"),
                    "{}",
                    r.text()
                );
                refused_at = Some(i);
                break;
            }
            other => panic!("sign-up {i}: unexpected {other}: {}", r.text()),
        }
    }
    let refused_at = refused_at.expect("sign-ups from one address are refused within 20");
    assert!((5..=15).contains(&refused_at), "refused at {refused_at}");
    let users = api.get("/tenants/shop/users?limit=100").await.expect(200);
    assert_eq!(
        users["items"].as_array().unwrap().len(),
        refused_at,
        "nothing created for the refused sign-up"
    );
    let r = crate::registration::register(
        &person(&server, HOME_IP, FIREFOX),
        "shop",
        &[("email", "real@shop.test"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let list = api
        .get("/tenants/shop/risk/attempts?decision=block")
        .await
        .expect(200);
    let a = &list["items"][0];
    assert_eq!(a["stage"], "registration", "{list}");
    assert!(a["reasons"].to_string().contains("signup_velocity"), "{a}");
    drop(server);
}

/// Proof of work (`always`, 12 bits): a form without a solution is refused before anything is
/// checked (no hash), a solution computed as the page's script does it is accepted once, a
/// forged or reused one is refused; sign-ups likewise; and a real browser (headless Chromium)
/// solves it on its own with `static/pow.js`.
async fn proof_of_work_on_forms(backend: Backend) {
    let (_dep, server, api) = start(backend, None).await;
    verified_user(&api, "cy@shop.test").await;
    set_risk(&api, |r| {
        r["proof_of_work"] = json!({"mode": "always", "difficulty_bits": 12})
    })
    .await;
    let b = person(&server, HOME_IP, FIREFOX);
    let before = hashes(&server).await;
    let r = b.sign_in("shop", "cy@shop.test", PASSWORD).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("security check"), "{}", r.text());
    assert_eq!(hashes(&server).await, before, "no hash without the proof");

    let page = b.get("/t/shop/login").await;
    let challenge = hidden_input(&page.text(), "pow_challenge").expect("a challenge in the form");
    let csrf = hidden_input(&page.text(), "csrf_token").expect("csrf");
    let solution = tessera_server::risk::pow::solve(&challenge).expect("solvable");
    let login = |challenge: String, solution: String| {
        let b = b.clone();
        let csrf = csrf.clone();
        async move {
            b.post_form(
                "/t/shop/login",
                &[
                    ("email", "cy@shop.test"),
                    ("password", PASSWORD),
                    ("csrf_token", &csrf),
                    ("return_to", ""),
                    ("pow_challenge", &challenge),
                    ("pow_solution", &solution),
                ],
            )
            .await
        }
    };
    // A wrong answer, and a challenge whose difficulty was edited, are refused.
    let wrong = (solution.parse::<u64>().unwrap() + 1).to_string();
    let r = login(challenge.clone(), wrong).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let mut parts: Vec<String> = challenge.split('.').map(str::to_string).collect();
    parts[3] = "1".into();
    let easier = parts.join(".");
    let r = login(
        easier.clone(),
        tessera_server::risk::pow::solve(&easier).unwrap(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    // The right answer signs in, once.
    let r = login(challenge.clone(), solution.clone()).await;
    assert_eq!(r.expect_see_other(), "/t/shop/account", "{}", r.text());
    b.sign_out("shop").await;
    let r = login(challenge.clone(), solution.clone()).await;
    assert_eq!(r.status, 400, "a solution is used once: {}", r.text());

    // Sign-ups need it too.
    let r = crate::registration::register(
        &b,
        "shop",
        &[("email", "new@shop.test"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let page = b.get("/t/shop/register").await;
    let challenge = hidden_input(&page.text(), "pow_challenge").expect("a challenge");
    let solution = tessera_server::risk::pow::solve(&challenge).unwrap();
    let r = crate::registration::register(
        &b,
        "shop",
        &[
            ("email", "new@shop.test"),
            ("password", PASSWORD),
            ("pow_challenge", &challenge),
            ("pow_solution", &solution),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    drop(server);
}

/// A real browser (headless Chromium) runs the page's script and signs in without noticing.
async fn proof_of_work_in_a_real_browser(backend: Backend) {
    let Some(driver) = crate::harness::webdriver::Driver::start().await else {
        return;
    };
    let dep = Deployment::new(backend).public_host("localhost");
    let server = dep.start().await;
    let api = server.admin_api().await;
    api.create_tenant("shop", "customer").await;
    verified_user(&api, "cy@shop.test").await;
    set_risk(&api, |r| {
        r["proof_of_work"] = json!({"mode": "always", "difficulty_bits": 16})
    })
    .await;
    let s = driver.session().await;
    s.goto(&format!("{}/t/shop/login", server.public_url)).await;
    let email = s.find("#email").await;
    s.send_keys(&email, "cy@shop.test").await;
    let password = s.find("#password").await;
    s.send_keys(&password, PASSWORD).await;
    let submit = s.find("#submit").await;
    s.click(&submit).await;
    s.wait_for_url("the account page", |u| u.ends_with("/t/shop/account"))
        .await;
    assert_eq!(s.text_of("#account-email").await, "cy@shop.test");
    s.close().await;
    drop(server);
}

/// A counter of `/metrics`, 0 when absent.
async fn metric(server: &Server, line_start: &str) -> f64 {
    let text = server.browser().get("/metrics").await.text();
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Two nodes on one database, as behind a load balancer: stuffing refused on the first node is
/// refused on the second too, before any hash, because the nodes share their counts.
async fn stuffing_is_counted_across_nodes(backend: Backend) {
    let dep = Deployment::new(backend);
    let geo = crate::risk_cli::geo_db(&dep);
    let env = [
        ("TESSERA_GEOIP_DB", geo.as_str()),
        ("TESSERA_TRUSTED_PROXIES", "127.0.0.1,::1"),
    ];
    let node1 = dep.start_with(&env).await;
    let node2 = dep.start_with(&env).await;
    let api = node1.admin_api().await;
    api.create_tenant("shop", "customer").await;
    verified_user(&api, "bob@shop.test").await;
    let bot = |server: &Server| {
        Browser::new(server).with_headers(&[
            ("x-forwarded-for", STUFFER_IP),
            ("user-agent", "python-requests/2.31"),
        ])
    };
    let on1 = bot(&node1);
    let mut refused = false;
    for i in 0..20 {
        let r = on1
            .sign_in(
                "shop",
                &format!("victim{i}@shop.test"),
                &format!("leaked-password-{i}"),
            )
            .await;
        if r.status == 403 {
            refused = true;
            break;
        }
        assert_eq!(r.status, 401, "attempt {i}: {}", r.text());
    }
    assert!(refused, "stuffing is refused on node 1 within 20 attempts");
    // Node 1 writes its counts a fraction of a second later, possibly in more than one batch;
    // node 2, which has seen none of it itself, learns them within a second or two. Wait until
    // it has applied every count node 1 wrote, not merely the first batch.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let written = metric(
            &node1,
            "tessera_risk_shared_counts_total{direction=\"written\"}",
        )
        .await;
        let applied = metric(
            &node2,
            "tessera_risk_shared_counts_total{direction=\"applied\"}",
        )
        .await;
        if written >= 3.0 && applied >= written {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "node 2 applied {applied} of node 1's counts (node 1 wrote {written})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let before = hashes(&node2).await;
    let r = bot(&node2).sign_in("shop", "bob@shop.test", PASSWORD).await;
    assert_eq!(r.status, 403, "refused on node 2 as well: {}", r.text());
    assert_eq!(hashes(&node2).await, before, "without a password hash");
    // Bob, elsewhere, signs in on node 2.
    person(&node2, HOME_IP, FIREFOX)
        .sign_in_ok("shop", "bob@shop.test", PASSWORD)
        .await;
    drop(node2);
    drop(node1);
}

const VERIFIER: &str = "refresh-test-verifier-0123456789abcdefghijklmnop";
const CHALLENGE: &str = "47EmGcBfRv2aTHGLt2iou9G-KguYM1GFK8IP8L9o7EE";

/// A refresh-token grant of a public client comes from the person's device: the engine checks
/// its source like a sign-in's. A rule blocking Brazil refuses a refresh from there, and the
/// refusal is recorded; the same refresh token still works from home.
async fn public_client_refresh_is_checked(backend: Backend) {
    let (_dep, server, api) = start(backend, None).await;
    let uid = verified_user(&api, "rita@shop.test").await;
    let client = server
        .cli_json(&[
            "client",
            "create",
            "--tenant",
            "shop",
            "--name",
            "phone app",
            "--redirect-uri",
            "http://localhost:9/cb",
            "--public",
            "--first-party",
        ])
        .await;
    let client_id = client["client_id"].as_str().expect("client_id").to_string();
    let home = person(&server, HOME_IP, FIREFOX);
    home.sign_in_ok("shop", "rita@shop.test", PASSWORD).await;
    let r = home
        .get(&format!(
            "/t/shop/authorize?response_type=code&client_id={client_id}&redirect_uri=http%3A%2F%2Flocalhost%3A9%2Fcb\
             &scope=openid&state=s1&code_challenge={CHALLENGE}&code_challenge_method=S256"
        ))
        .await;
    assert_eq!(r.status, 302, "back to the application: {}", r.text());
    let to = r.header("location").expect("a redirect to the application");
    let code = to
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap_or_else(|| panic!("a code in {to}"))
        .to_string();
    let r = home
        .post_form(
            "/t/shop/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://localhost:9/cb"),
                ("client_id", &client_id),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let refresh = r.json()["refresh_token"]
        .as_str()
        .expect("a refresh token for a client allowed the grant")
        .to_string();

    set_risk(&api, |r| {
        r["rules"] = json!([{"name": "no-br", "all_of": [{"type": "country_in", "countries": ["BR"]}], "action": "block"}]);
    })
    .await;
    let grant = |token: &str| {
        [
            ("grant_type", "refresh_token".to_string()),
            ("refresh_token", token.to_string()),
            ("client_id", client_id.clone()),
        ]
    };
    let form = grant(&refresh);
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let away = person(&server, AWAY_IP, SAFARI_IOS);
    let r = away.post_form("/t/shop/token", &fields).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_grant", "{}", r.text());
    assert_eq!(
        r.header("cache-control").as_deref(),
        Some("no-store"),
        "RFC 6749 §5.2 answers are not cached"
    );

    // Recorded with its reasons, about Rita.
    let listed = api
        .get("/tenants/shop/risk/attempts?decision=block")
        .await
        .expect(200);
    let attempt = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|a| a["stage"] == "refresh")
        .unwrap_or_else(|| panic!("the refused refresh is listed: {listed}"));
    assert_eq!(attempt["user_id"], uid.as_str(), "{attempt}");
    assert_eq!(attempt["method"], "refresh_token", "{attempt}");

    // Refused, not spent: the token still works from home, once (rotation).
    let r = home.post_form("/t/shop/token", &fields).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["refresh_token"].is_string());
    drop(server);
}

on_both_backends!(
    public_client_refresh_is_checked,
    stuffing_is_counted_across_nodes,
    proof_of_work_on_forms,
    proof_of_work_in_a_real_browser,
    signup_velocity_is_refused,
    new_country_and_device_step_up,
    stuffing_is_refused_before_the_hash,
    forwarded_for_is_ignored_from_untrusted_peers
);
