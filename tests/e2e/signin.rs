//! Sign-in through the hosted pages, as a browser does it: CSRF protection, the session cookie and
//! its attributes, the account page, sign-out, open-redirect attempts, and one generic answer for
//! wrong passwords and unknown accounts. One scenario uses the default argon2 parameters.

use crate::harness::{Backend, Browser, Deployment, Server, db, element_text, hidden_input, start};

async fn setup(backend: Backend) -> (Deployment, Server) {
    let (dep, server, api) = start(backend).await;
    api.create_tenant("web", "customer").await;
    api.create_user("web", "gina@web.test", Some("gina-password-1"))
        .await;
    (dep, server)
}

async fn csrf_is_required(backend: Backend) {
    let (_dep, server) = setup(backend).await;
    let b = server.browser();
    let page = b.get("/t/web/login").await;
    assert_eq!(page.status, 200);
    let csrf_cookie = page.set_cookie("tessera_csrf").expect("a CSRF cookie");
    assert!(csrf_cookie.contains("HttpOnly"), "{csrf_cookie}");
    assert!(csrf_cookie.contains("SameSite=Strict"), "{csrf_cookie}");
    let token = hidden_input(&page.text(), "csrf_token").expect("token");

    let login = "/t/web/login";
    let creds = [("email", "gina@web.test"), ("password", "gina-password-1")];
    // What is wrong, the browser that submits, and the token it sends (if any).
    let attempts: Vec<(&str, Browser, Option<String>)> = vec![
        ("no token", b.clone(), None),
        ("an empty token", b.clone(), Some(String::new())),
        ("a wrong token", b.clone(), Some("A".repeat(43))),
        (
            "a token of another browser",
            server.browser(),
            Some(token.clone()),
        ),
        ("a token that is not base64", b.clone(), Some("%%%".into())),
    ];
    for (what, browser, sent) in attempts {
        let mut fields: Vec<(&str, &str)> = creds.to_vec();
        if let Some(t) = &sent {
            fields.push(("csrf_token", t));
        }
        let r = browser.post_form(login, &fields).await;
        assert_eq!(r.status, 403, "{what}: {}", r.text());
        assert!(
            r.text().contains("This form has expired"),
            "{what}: the page explains: {}",
            r.text()
        );
        assert!(
            r.set_cookie("tessera_session").is_none(),
            "{what}: no session"
        );
        assert!(
            browser.account_email("web").await.is_none(),
            "{what}: not signed in"
        );
    }
    // The same browser with its own token signs in.
    let r = b
        .post_form(
            login,
            &[
                ("email", "gina@web.test"),
                ("password", "gina-password-1"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(r.expect_see_other(), "/t/web/account");

    // Sign-out needs the token too; GET only asks for confirmation.
    let confirm = b.get("/t/web/logout").await;
    assert_eq!(confirm.status, 200);
    assert!(
        b.account_email("web").await.is_some(),
        "GET /logout does not sign out"
    );
    let r = b
        .post_form("/t/web/logout", &[("csrf_token", "forged")])
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        b.account_email("web").await.as_deref(),
        Some("gina@web.test")
    );
}

async fn sign_in_account_and_sign_out(backend: Backend) {
    let (_dep, server) = setup(backend).await;
    let b = server.browser();
    assert!(b.account_email("web").await.is_none(), "not signed in yet");
    let r = b.get("/t/web/account").await;
    assert_eq!(
        r.expect_see_other(),
        "/t/web/login?return_to=%2Ft%2Fweb%2Faccount"
    );

    let r = b
        .sign_in("web", "  Gina@Web.TEST ", "gina-password-1")
        .await;
    assert_eq!(
        r.expect_see_other(),
        "/t/web/account",
        "emails match case-insensitively"
    );
    let cookie = r.set_cookie("tessera_session").expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/t/web"] {
        assert!(
            cookie.contains(attr),
            "the session cookie has {attr}: {cookie}"
        );
    }
    assert!(
        !cookie.contains("Secure"),
        "no Secure flag on a plain-HTTP deployment: {cookie}"
    );
    let account = b.get("/t/web/account").await;
    assert_eq!(account.status, 200);
    assert_eq!(
        element_text(&account.text(), "account-email").as_deref(),
        Some("gina@web.test")
    );
    let csp = account
        .header("content-security-policy")
        .unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(account.header("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(account.header("cache-control").as_deref(), Some("no-store"));
    // A signed-in browser that opens the sign-in page goes straight to its account.
    assert_eq!(
        b.get("/t/web/login").await.expect_see_other(),
        "/t/web/account"
    );

    let token = cookie
        .trim_start_matches("tessera_session=")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    let out = b.sign_out("web").await;
    assert_eq!(out.status, 200);
    assert!(out.text().contains("You are signed out"), "{}", out.text());
    let cleared = out
        .set_cookie("tessera_session")
        .expect("the cookie is cleared");
    assert!(!cleared.contains(&token), "{cleared}");
    assert!(b.account_email("web").await.is_none(), "signed out");
    // The session ended on the server, not only in this browser: the old cookie value is dead.
    let replay = Browser::cookieless(&server)
        .get_with_headers(
            "/t/web/account",
            &[("cookie", &format!("tessera_session={token}"))],
        )
        .await;
    assert_eq!(
        replay.status, 303,
        "a signed-out session cannot be replayed"
    );
}

async fn pages_escape_what_they_echo(backend: Backend) {
    let (_dep, server) = setup(backend).await;
    let payload = "\"><script>alert(1)</script><img src=x onerror=alert(2)>";
    let b = server.browser();
    let page = b
        .get(&format!(
            "/t/web/login?login_hint={}&return_to={}",
            url_encode(payload),
            url_encode(&format!("/t/web/account?x={payload}"))
        ))
        .await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        !html.contains("<script>") && !html.contains("<img"),
        "{html}"
    );
    assert_eq!(
        hidden_input(&html, "email").as_deref(),
        Some(payload),
        "the hint is carried into the form, as text"
    );
    let r = b.sign_in("web", payload, "whatever-password").await;
    assert_eq!(r.status, 401);
    let html = r.text();
    assert!(
        !html.contains("<script>") && !html.contains("<img"),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;"),
        "the typed email is shown escaped: {html}"
    );
}

async fn return_to_stays_on_this_origin(backend: Backend) {
    let (_dep, server) = setup(backend).await;
    for evil in [
        "https://evil.example/",
        "//evil.example/steal",
        "/\\evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "http://127.0.0.1.evil.example/",
        &format!("{}@evil.example/", server.public_url),
    ] {
        let b = server.browser();
        let page = b
            .get(&format!("/t/web/login?return_to={}", url_encode(evil)))
            .await;
        assert_eq!(page.status, 200);
        assert_eq!(
            hidden_input(&page.text(), "return_to").as_deref(),
            Some(""),
            "{evil} is not carried in the form"
        );
        let r = b
            .sign_in_returning("web", "gina@web.test", "gina-password-1", evil)
            .await;
        assert_eq!(
            r.expect_see_other(),
            "/t/web/account",
            "return_to={evil} ends on the account page"
        );
    }
    // Same-origin targets are honoured, in both their relative and absolute forms.
    let b = server.browser();
    let r = b
        .sign_in_returning(
            "web",
            "gina@web.test",
            "gina-password-1",
            "/t/web/account?tab=security",
        )
        .await;
    assert_eq!(r.expect_see_other(), "/t/web/account?tab=security");
    let b = server.browser();
    let absolute = format!("{}/t/web/account", server.public_url);
    let r = b
        .sign_in_returning("web", "gina@web.test", "gina-password-1", &absolute)
        .await;
    assert_eq!(r.expect_see_other(), "/t/web/account");
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The body of a refused sign-in with the per-request parts (typed email, CSRF token) removed.
fn generic_part(body: &str, email: &str) -> String {
    let token = hidden_input(body, "csrf_token").unwrap_or_default();
    body.replace(&token, "<token>").replace(email, "<email>")
}

async fn wrong_password_and_unknown_email_look_alike(backend: Backend) {
    let (_dep, server) = setup(backend).await;
    let wrong = server
        .browser()
        .sign_in("web", "gina@web.test", "not-ginas-password")
        .await;
    let unknown = server
        .browser()
        .sign_in("web", "nobody@web.test", "not-ginas-password")
        .await;
    for r in [&wrong, &unknown] {
        assert_eq!(r.status, 401, "{}", r.text());
        assert_eq!(
            element_text(&r.text(), "error").as_deref(),
            Some("Incorrect email or password.")
        );
        assert!(r.set_cookie("tessera_session").is_none());
    }
    assert_eq!(
        generic_part(&wrong.text(), "gina@web.test"),
        generic_part(&unknown.text(), "nobody@web.test"),
        "wrong password and unknown email get the same page"
    );
    let empty = server.browser().sign_in("web", "gina@web.test", "").await;
    assert_eq!(
        empty.status,
        400,
        "an empty password is a form error: {}",
        empty.text()
    );
    let unknown_tenant = server.browser().get("/t/no-such-tenant/login").await;
    assert_eq!(unknown_tenant.status, 404);
    let b = server.browser();
    b.sign_in_ok("web", "gina@web.test", "gina-password-1")
        .await;
    assert_eq!(
        b.account_email("web").await.as_deref(),
        Some("gina@web.test")
    );
}

/// With the product's default argon2 parameters (m=19456 KiB, t=2, p=1).
async fn sign_in_with_default_hashing(backend: Backend) {
    let dep = Deployment::with_default_hashing(backend);
    let server = dep.start().await;
    let api = server.admin_api().await;
    api.create_tenant("prod", "workforce").await;
    let user = api
        .create_user("prod", "hal@prod.test", Some("default-cost-password"))
        .await;
    let hash = db::password_hash(&dep, user["id"].as_str().expect("id"))
        .await
        .expect("a hash");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "the default parameters are OWASP's: {hash}"
    );
    let b = server.browser();
    b.sign_in_ok("prod", "hal@prod.test", "default-cost-password")
        .await;
    assert_eq!(
        b.account_email("prod").await.as_deref(),
        Some("hal@prod.test")
    );
    assert_eq!(
        server
            .browser()
            .sign_in("prod", "hal@prod.test", "wrong-cost-password")
            .await
            .status,
        401
    );
}

on_both_backends!(
    csrf_is_required,
    sign_in_account_and_sign_out,
    return_to_stays_on_this_origin,
    pages_escape_what_they_echo,
    wrong_password_and_unknown_email_look_alike,
    sign_in_with_default_hashing,
);
