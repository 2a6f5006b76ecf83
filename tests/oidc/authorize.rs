//! The authorization endpoint: requests that must never be redirected, errors that go back to the
//! client, `prompt`, `max_age`, `login_hint`, the form_post response mode and single sign-on.

use serde_json::json;

use crate::harness::http::unescape;
use crate::harness::{Backend, Deployment, Resp, hidden_input, start};
use crate::rp::{AuthRequest, CALLBACK, Op, PASSWORD, assert_error_page, browser, int, restart};

async fn refused_requests_prompt_none_form_post_and_sso(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let op = Op::new(&server, &api, "authz").await;
    let web = op.web_client(&api).await;
    let b = browser(&server);

    // Requests whose client or redirect URI cannot be trusted get an error page, never a
    // redirect (RFC 6749 §4.1.2.1): not to an unregistered URI, nor a prefix or case variant.
    for uri in [
        "https://attacker.example/callback",
        "http://localhost:9/callback/more",
        "http://localhost:9/Callback",
        "http://localhost:9/callback?x=1",
    ] {
        let req = AuthRequest::new(&web, "openid").with("redirect_uri", uri);
        let r = op.authorize(&b, &req).await;
        assert_error_page(&r, 400, "redirect_uri does not exactly match");
        assert!(
            !r.text().contains("attacker.example"),
            "the page does not link to the URI"
        );
    }
    let r = op
        .authorize(
            &b,
            &AuthRequest::new(&web, "openid").with("client_id", "nope"),
        )
        .await;
    assert_error_page(&r, 400, "unknown client_id");
    // A duplicated parameter makes the whole request untrustworthy (RFC 6749 §3.1).
    let req = AuthRequest::new(&web, "openid");
    let r = b
        .get(&format!("/t/authz/authorize?{}&state=again", req.query()))
        .await;
    assert_error_page(&r, 400, "included more than once");
    let r = b
        .get(&format!(
            "/t/authz/authorize?{}&redirect_uri=https%3A%2F%2Fattacker.example%2F",
            req.query()
        ))
        .await;
    assert_error_page(&r, 400, "included more than once");

    // Other errors go back to the client with state and iss.
    for (req, code) in [
        (
            AuthRequest::new(&web, "openid").with("response_type", "token"),
            "unsupported_response_type",
        ),
        (
            AuthRequest::new(&web, "openid").with("response_type", "code id_token"),
            "unsupported_response_type",
        ),
        (
            AuthRequest::new(&web, "openid").without("response_type"),
            "invalid_request",
        ),
        (
            AuthRequest::new(&web, "openid admin:write"),
            "invalid_scope",
        ),
        (
            AuthRequest::new(&web, "openid").with("request", "eyJhbGciOiJub25lIn0.e30."),
            "request_not_supported",
        ),
        (
            AuthRequest::new(&web, "openid").with("prompt", "none login"),
            "invalid_request",
        ),
        (
            AuthRequest::new(&web, "openid").with("max_age", "-1"),
            "invalid_request",
        ),
        (
            AuthRequest::new(&web, "openid").with("response_mode", "fragment"),
            "invalid_request",
        ),
        // prompt=none without a session (OpenID Connect Core §3.1.2.6).
        (
            AuthRequest::new(&web, "openid").with("prompt", "none"),
            "login_required",
        ),
    ] {
        let r = op.authorize(&b, &req).await;
        op.assert_error_redirect(&r, &req, code);
    }

    // login_hint fills in the sign-in form.
    let req = AuthRequest::new(&web, "openid").with("login_hint", &op.email);
    let login = op.authorize(&b, &req).await.expect_see_other();
    assert!(login.contains("login_hint=user%40authz.test"), "{login}");
    let page = b.get(&login).await;
    assert_eq!(
        hidden_input(&page.text(), "email").as_deref(),
        Some(op.email.as_str())
    );

    // form_post (OAuth 2.0 Form Post Response Mode), here right after signing in: an HTML form
    // that posts code, state and iss to the redirect URI.
    let req = AuthRequest::new(&web, "openid email").with("response_mode", "form_post");
    let login = op.authorize(&b, &req).await.expect_see_other();
    let r = op.sign_in_at(&b, &login, PASSWORD).await;
    let form = form_post_fields(&r, CALLBACK);
    assert_eq!(form.get("state"), Some(&req.state));
    assert_eq!(form.get("iss"), Some(&op.issuer));
    let tokens = op.exchange(&web, &req, &form["code"]).await;
    let id = op.check_id_token(&web, &req, &tokens).await;
    // Errors use the response mode too.
    let spa = op.client(&api, json!({"public": true})).await;
    let req = AuthRequest::new(&spa, "openid")
        .without("code_challenge")
        .with("response_mode", "form_post");
    let form = form_post_fields(&op.authorize(&b, &req).await, CALLBACK);
    assert_eq!(
        form.get("error").map(String::as_str),
        Some("invalid_request"),
        "{form:?}"
    );
    assert_eq!(form.get("state"), Some(&req.state));

    // Single sign-on: with the session, prompt=none and a second application need no password.
    let req = AuthRequest::new(&web, "openid").with("prompt", "none");
    let code = op.redirect_params(&op.authorize(&b, &req).await, &req)["code"].clone();
    op.exchange(&web, &req, &code).await;
    let second = op
        .client(
            &api,
            json!({"redirect_uris": ["http://127.0.0.1:9/second"]}),
        )
        .await;
    let req = AuthRequest::new(&second, "openid");
    let r = op.authorize(&b, &req).await;
    let code = op.redirect_params(&r, &req)["code"].clone();
    let t = op.exchange(&second, &req, &code).await;
    let id2 = op.check_id_token(&second, &req, &t).await;
    assert_eq!(id2.claims["sid"], id.claims["sid"], "the same session");
    assert_eq!(
        id2.claims["auth_time"], id.claims["auth_time"],
        "no new authentication"
    );
    // A browser without the session is asked to sign in for the same request.
    let other = browser(&server);
    op.assert_sign_in_asked(
        &op.authorize(&other, &AuthRequest::new(&second, "openid"))
            .await,
    );
    crate::rp::assert_no_server_errors(&server);
}

/// `prompt=login` and `max_age` against a session that is two minutes old, and a code that
/// outlived its 60 seconds: the server is restarted on the same deployment with its clock two
/// minutes ahead (`TESSERA_TEST_CLOCK_OFFSET_SECS`), so no test waits.
async fn reauthentication_and_code_lifetime_on_a_later_clock(backend: Backend) {
    let dep = Deployment::new(backend);
    let server = dep.start().await;
    let api = server.admin_api().await;
    let op = Op::new(&server, &api, "reauth").await;
    let web = op.web_client(&api).await;
    let (a, c) = (browser(&server), browser(&server));
    let (_, ta) = op.sign_in_and_get_tokens(&a, &web, "openid").await;
    let (_, tc) = op.sign_in_and_get_tokens(&c, &web, "openid").await;
    let first_auth_a = int(
        &crate::jose::Jwt::decode(ta["id_token"].as_str().expect("id")).claims,
        "auth_time",
    );
    let first_auth_c = int(
        &crate::jose::Jwt::decode(tc["id_token"].as_str().expect("id")).claims,
        "auth_time",
    );
    let pending = AuthRequest::new(&web, "openid");
    let stale_code = op.code(&a, &pending).await;
    let server = restart(&dep, server, &[("TESSERA_TEST_CLOCK_OFFSET_SECS", "120")]).await;
    let op = op.on(&server);
    let (a, c) = (a.on(&server), c.on(&server));

    // Authorization codes live 60 seconds.
    let r = op
        .redeem(&web, &stale_code, CALLBACK, Some(&pending.pkce.verifier))
        .await;
    crate::rp::assert_oauth_error(&r, 400, "invalid_grant");
    // Access tokens live 300: the one from before is still good.
    op.assert_userinfo_ok(
        ta["access_token"].as_str().expect("at"),
        "the access token works",
    )
    .await;

    // prompt=login: the password page although the session is valid, then a new auth_time.
    let req = AuthRequest::new(&web, "openid").with("prompt", "login");
    let login = op.authorize(&a, &req).await.expect_see_other();
    assert!(login.contains("prompt=login"), "{login}");
    let r = op.sign_in_at(&a, &login, PASSWORD).await;
    let code = op.redirect_params(&r, &req)["code"].clone();
    let id = op
        .check_id_token(&web, &req, &op.exchange(&web, &req, &code).await)
        .await;
    assert!(
        int(&id.claims, "auth_time") >= first_auth_a + 120,
        "a new authentication: {}",
        id.claims
    );

    // max_age: a 120 s old sign-in satisfies max_age=300 but not max_age=60.
    let req = AuthRequest::new(&web, "openid").with("max_age", "300");
    let code = op.redirect_params(&op.authorize(&c, &req).await, &req)["code"].clone();
    let id = op
        .check_id_token(&web, &req, &op.exchange(&web, &req, &code).await)
        .await;
    assert_eq!(
        int(&id.claims, "auth_time"),
        first_auth_c,
        "no new authentication"
    );
    let req = AuthRequest::new(&web, "openid").with("max_age", "60");
    let login = op.authorize(&c, &req).await.expect_see_other();
    let r = op.sign_in_at(&c, &login, PASSWORD).await;
    let code = op.redirect_params(&r, &req)["code"].clone();
    let id = op
        .check_id_token(&web, &req, &op.exchange(&web, &req, &code).await)
        .await;
    assert!(
        int(&id.claims, "auth_time") >= first_auth_c + 120,
        "{}",
        id.claims
    );
    crate::rp::assert_no_server_errors(&server);
}

/// OpenID Connect Core §3.1.2.1: `prompt=login` asks the user to authenticate again, whatever
/// the age of the session, a fresh one included.
async fn prompt_login_right_after_sign_in(backend: Backend) {
    reauthentication_right_after_sign_in(backend, "prompt", "login").await;
}

/// OpenID Connect Core §3.1.2.1: `max_age=0` is equivalent to `prompt=login`.
async fn max_age_zero_right_after_sign_in(backend: Backend) {
    reauthentication_right_after_sign_in(backend, "max_age", "0").await;
}

/// Signs in, then at once (within the same second, almost always) asks with `param=value`: the
/// password page must come, and after it a code. Three rounds, each in a new browser.
async fn reauthentication_right_after_sign_in(backend: Backend, param: &str, value: &str) {
    let (_dep, server, api) = start(backend).await;
    let op = Op::new(&server, &api, "fresh").await;
    let web = op.web_client(&api).await;
    for _ in 0..3 {
        let b = browser(&server);
        op.sign_in_and_get_tokens(&b, &web, "openid").await;
        let req = AuthRequest::new(&web, "openid").with(param, value);
        let r = op.authorize(&b, &req).await;
        assert_eq!(
            r.status,
            303,
            "{param}={value} right after signing in must show the password page, not answer {:?}",
            r.header("location")
        );
        let login = r.expect_see_other();
        let r = op.sign_in_at(&b, &login, PASSWORD).await;
        assert!(
            op.redirect_params(&r, &req).contains_key("code"),
            "{param}={value}: a code after the new sign-in"
        );
    }
}

/// Parses an OAuth 2.0 Form Post response page: 200, no-store, a strict CSP, a form posting to
/// `redirect_uri`. Returns its fields.
#[track_caller]
pub fn form_post_fields(
    r: &Resp,
    redirect_uri: &str,
) -> std::collections::BTreeMap<String, String> {
    assert_eq!(
        r.status,
        200,
        "{}: the form_post page; body {}",
        r.what,
        r.text()
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'nonce-"),
        "{csp}"
    );
    let html = r.text();
    let at = html.find("action=\"").expect("a form action") + "action=\"".len();
    let action = unescape(&html[at..at + html[at..].find('"').expect("closing quote")]);
    assert_eq!(action, redirect_uri, "the form posts to the redirect URI");
    assert!(html.contains("method=\"post\""), "{html}");
    let mut fields = std::collections::BTreeMap::new();
    for name in ["code", "state", "iss", "error", "error_description"] {
        if let Some(v) = hidden_input(&html, name) {
            fields.insert(name.to_string(), v);
        }
    }
    fields
}

/// A sign-in answers for the authorization request it was made for in its own response (the
/// redirect with the code, see `Op::sign_in_at`); a return address it cannot read as one (an
/// altered sealed request) still signs the browser in and sends it there, where the
/// continuation endpoint refuses it, and the request itself can still be continued.
async fn sign_in_with_an_altered_continuation(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let op = Op::new(&server, &api, "sealed").await;
    let web = op.web_client(&api).await;
    let b = browser(&server);
    let req = AuthRequest::new(&web, "openid");
    let login = op.authorize(&b, &req).await.expect_see_other();
    let page = b.get(&login).await;
    let html = page.text();
    let csrf = hidden_input(&html, "csrf_token").expect("csrf");
    let return_to = hidden_input(&html, "return_to").expect("return_to");
    assert!(return_to.starts_with("/t/sealed/authorize/continue?req="));
    // One character inside the sealed request changed (its authentication fails).
    let at = return_to.len() - 10;
    let was = &return_to[at..at + 1];
    let altered = format!(
        "{}{}{}",
        &return_to[..at],
        if was == "A" { "B" } else { "A" },
        &return_to[at + 1..]
    );
    let posted = b
        .post_form(
            "/t/sealed/login",
            &[
                ("email", &op.email),
                ("password", PASSWORD),
                ("csrf_token", &csrf),
                ("return_to", &altered),
            ],
        )
        .await;
    assert_eq!(
        posted.expect_see_other(),
        altered,
        "sent to the return address"
    );
    let r = b.get(&altered).await;
    assert_eq!(
        r.status,
        400,
        "the altered request is refused: {}",
        r.text()
    );
    // The browser is signed in: the untouched request continues to a code without a password.
    let r = b.get(&return_to).await;
    assert!(op.redirect_params(&r, &req).contains_key("code"));
    crate::rp::assert_no_server_errors(&server);
}

on_both_backends!(
    sign_in_with_an_altered_continuation,
    refused_requests_prompt_none_form_post_and_sso,
    reauthentication_and_code_lifetime_on_a_later_clock,
    prompt_login_right_after_sign_in,
    max_age_zero_right_after_sign_in,
);
