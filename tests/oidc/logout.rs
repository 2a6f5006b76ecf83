//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the confirmation page, the
//! redirect back with `state` to a registered URI only, and what ends with the session.

use serde_json::json;

use crate::harness::{Backend, hidden_input, start};
use crate::rp::{
    AuthRequest, LOGGED_OUT, Op, assert_error_page, assert_oauth_error, browser, token_success,
};

async fn rp_initiated_logout_ends_the_session_and_its_tokens(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let op = Op::new(&server, &api, "bye").await;
    let app = op.web_client(&api).await;
    let other = op
        .client(
            &api,
            json!({"redirect_uris": ["http://127.0.0.1:9/other"], "post_logout_redirect_uris": []}),
        )
        .await;
    let b = browser(&server);
    let (_, t1) = op.sign_in_and_get_tokens(&b, &app, "openid").await;
    let (_, t2) = op.sign_in_and_get_tokens(&b, &other, "openid").await;
    let (_, offline) = op
        .sign_in_and_get_tokens(&b, &other, "openid offline_access")
        .await;
    let id1 = t1["id_token"].as_str().expect("id");
    let id2 = t2["id_token"].as_str().expect("id");
    let logout = |q: &[(&str, &str)]| {
        let mut u = reqwest::Url::parse("http://x/t/bye/logout").expect("url");
        u.query_pairs_mut().extend_pairs(q);
        format!("{}?{}", u.path(), u.query().unwrap_or(""))
    };

    // Unregistered or unidentifiable targets: an error page, never a redirect.
    for (q, needle) in [
        (
            vec![
                ("id_token_hint", id1),
                ("post_logout_redirect_uri", "https://attacker.example/"),
            ],
            "not registered",
        ),
        (
            vec![
                ("id_token_hint", id1),
                (
                    "post_logout_redirect_uri",
                    "http://localhost:9/logged-out/x",
                ),
            ],
            "not registered",
        ),
        (
            vec![
                ("id_token_hint", id2),
                ("post_logout_redirect_uri", LOGGED_OUT),
            ],
            "not registered",
        ),
        (
            vec![("post_logout_redirect_uri", LOGGED_OUT)],
            "needs client_id or id_token_hint",
        ),
        (
            vec![
                ("client_id", &other.id),
                ("id_token_hint", id1),
                ("post_logout_redirect_uri", LOGGED_OUT),
            ],
            "does not match",
        ),
        (
            vec![
                ("id_token_hint", "not.a.jwt"),
                ("post_logout_redirect_uri", LOGGED_OUT),
            ],
            "not a valid ID token",
        ),
    ] {
        let r = b.get(&logout(&q)).await;
        assert_error_page(&r, 400, needle);
    }
    assert!(
        b.cookies_for("/t/bye/account").contains("tessera_session"),
        "still signed in"
    );

    // The confirmation page carries the request into its CSRF-protected form; submitting it
    // signs out and returns to the registered URI with state.
    let q = [
        ("id_token_hint", id1),
        ("post_logout_redirect_uri", LOGGED_OUT),
        ("state", "st-1"),
    ];
    let page = b.get(&logout(&q)).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("Sign out?"), "{html}");
    let field =
        |name: &str| hidden_input(&html, name).unwrap_or_else(|| panic!("{name} in {html}"));
    assert_eq!(field("id_token_hint"), id1);
    assert_eq!(field("post_logout_redirect_uri"), LOGGED_OUT);
    assert_eq!(field("state"), "st-1");
    let csrf = field("csrf_token");
    let r = b
        .post_form(
            "/t/bye/logout",
            &[
                ("id_token_hint", id1),
                ("post_logout_redirect_uri", LOGGED_OUT),
                ("state", "st-1"),
                ("csrf_token", "forged"),
            ],
        )
        .await;
    assert_eq!(
        r.status,
        403,
        "a forged CSRF token signs nobody out: {}",
        r.text()
    );
    assert!(
        r.text().contains("Sign out?"),
        "the form again: {}",
        r.text()
    );
    let r = b
        .post_form(
            "/t/bye/logout",
            &[
                ("id_token_hint", id1),
                ("post_logout_redirect_uri", LOGGED_OUT),
                ("state", "st-1"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(r.expect_see_other(), format!("{LOGGED_OUT}?state=st-1"));
    assert!(
        !b.cookies_for("/t/bye/account").contains("tessera_session"),
        "the session cookie is removed"
    );

    // The session is gone: prompt=none says login_required, a new request asks for the password.
    let req = AuthRequest::new(&app, "openid").with("prompt", "none");
    let r = op.authorize(&b, &req).await;
    op.assert_error_redirect(&r, &req, "login_required");
    op.assert_sign_in_asked(&op.authorize(&b, &AuthRequest::new(&app, "openid")).await);
    // Refresh tokens bound to the session stop working, for both applications.
    for (client, t) in [(&app, &t1), (&other, &t2)] {
        let r = op
            .refresh(client, t["refresh_token"].as_str().expect("rt"))
            .await;
        let d = assert_oauth_error(&r, 400, "invalid_grant");
        assert!(d.contains("session"), "{d}");
    }
    // offline_access grants outlive the browser session (docs/oidc.md, "Tokens").
    token_success(
        &op.refresh(&other, offline["refresh_token"].as_str().expect("rt"))
            .await,
    );

    // Signed out already: the end-session request redirects straight back.
    let r = b.get(&logout(&q)).await;
    assert_eq!(r.expect_see_other(), format!("{LOGGED_OUT}?state=st-1"));
    // Without a redirect URI the page just says so.
    let r = b.get("/t/bye/logout").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("You are signed out"), "{}", r.text());
    crate::rp::assert_no_server_errors(&server);
}

/// RFC 7662 §2.2: a refresh token that can no longer be used is not active. After sign-out, the
/// session-bound refresh token is refused at the token endpoint, so introspection must say
/// `active: false`.
async fn introspection_of_a_refresh_token_after_logout(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let op = Op::new(&server, &api, "byeint").await;
    let app = op.web_client(&api).await;
    let b = browser(&server);
    let (_, t) = op.sign_in_and_get_tokens(&b, &app, "openid").await;
    let refresh = t["refresh_token"].as_str().expect("rt");
    let page = b.get("/t/byeint/logout").await;
    let csrf = hidden_input(&page.text(), "csrf_token").expect("csrf");
    let r = b
        .post_form("/t/byeint/logout", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("You are signed out"), "{}", r.text());
    assert_oauth_error(&op.refresh(&app, refresh).await, 400, "invalid_grant");
    op.assert_inactive(&app, refresh, "a refresh token whose session ended")
        .await;
}

on_both_backends!(
    rp_initiated_logout_ends_the_session_and_its_tokens,
    introspection_of_a_refresh_token_after_logout
);
