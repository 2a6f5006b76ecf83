//! The consent page of third-party applications: allow, deny, remembered grants, new scopes,
//! `prompt=consent`, `prompt=none`, and withdrawal by an operator.

use serde_json::json;

use crate::browser::Browser;
use crate::harness::{Backend, Resp, hidden_input, start};
use crate::rp::{AuthRequest, Op, PASSWORD, browser};

async fn consent_for_third_party_applications(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let op = Op::new(&server, &api, "consent").await;
    let app = op
        .client(&api, json!({"name": "Partner App", "first_party": false}))
        .await;
    let b = browser(&server);

    // First sign-in: the password, then the consent page naming the application and scopes.
    let req = AuthRequest::new(&app, "openid email");
    let login = op.authorize(&b, &req).await.expect_see_other();
    let page = op.sign_in_at(&b, &login, PASSWORD).await;
    let form = consent_form(
        &page,
        &["Sign you in with your account", "See your email address"],
    );
    // Deny: access_denied goes back to the application, and nothing is remembered.
    let r = decide(&op, &b, &form, "deny").await;
    op.assert_error_redirect(&r, &req, "access_denied");
    let consents = api
        .get(&format!("/tenants/consent/users/{}/consents", op.user_id))
        .await
        .expect(200);
    assert_eq!(consents, json!({"items": []}));

    // Asked again; allow: a code that redeems into tokens.
    let req = AuthRequest::new(&app, "openid email");
    let form = consent_form(&op.authorize(&b, &req).await, &["See your email address"]);
    let r = decide(&op, &b, &form, "allow").await;
    let code = op.redirect_params(&r, &req)["code"].clone();
    let tokens = op.exchange(&app, &req, &code).await;
    op.check_id_token(&app, &req, &tokens).await;
    let consents = api
        .get(&format!("/tenants/consent/users/{}/consents", op.user_id))
        .await
        .expect(200);
    assert_eq!(
        consents["items"][0]["client_id"],
        app.id.as_str(),
        "{consents}"
    );
    assert_eq!(
        consents["items"][0]["scopes"],
        json!(["openid", "email"]),
        "{consents}"
    );

    // Remembered: the same scopes (or fewer) go straight through, prompt=none included.
    for req in [
        AuthRequest::new(&app, "openid email"),
        AuthRequest::new(&app, "openid"),
        AuthRequest::new(&app, "openid email").with("prompt", "none"),
    ] {
        let r = op.authorize(&b, &req).await;
        assert!(op.redirect_params(&r, &req).contains_key("code"));
    }
    // prompt=consent shows the page again although the grant covers the request.
    let req = AuthRequest::new(&app, "openid email").with("prompt", "consent");
    consent_form(&op.authorize(&b, &req).await, &["See your email address"]);
    // A new scope needs consent: the page with prompt, consent_required with prompt=none.
    let req = AuthRequest::new(&app, "openid email phone").with("prompt", "none");
    let r = op.authorize(&b, &req).await;
    op.assert_error_redirect(&r, &req, "consent_required");
    let req = AuthRequest::new(&app, "openid email phone");
    let form = consent_form(&op.authorize(&b, &req).await, &["See your phone number"]);
    // The form is CSRF-protected: without the token, or from another browser, it is refused.
    let r = b
        .post_form(
            "/t/consent/authorize/consent",
            &[("req", &form.req), ("decision", "allow")],
        )
        .await;
    crate::rp::assert_error_page(&r, 403, "expired");
    let stranger = browser(&server);
    let r = decide(&op, &stranger, &form, "allow").await;
    crate::rp::assert_error_page(&r, 403, "expired");
    let r = decide(&op, &b, &form, "allow").await;
    assert!(op.redirect_params(&r, &req).contains_key("code"));
    let consents = api
        .get(&format!("/tenants/consent/users/{}/consents", op.user_id))
        .await
        .expect(200);
    assert_eq!(
        consents["items"][0]["scopes"],
        json!(["openid", "email", "phone"]),
        "{consents}"
    );

    // An operator withdraws the consent: the application's tokens stop working and the next
    // request asks again.
    let refresh = tokens["refresh_token"].as_str().expect("refresh");
    assert_eq!(op.introspect(&app, refresh).await["active"], true);
    let r = api
        .delete(&format!(
            "/tenants/consent/users/{}/consents/{}",
            op.user_id, app.id
        ))
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    op.assert_inactive(&app, refresh, "a refresh token after consent withdrawal")
        .await;
    op.assert_inactive(
        &app,
        tokens["access_token"].as_str().expect("at"),
        "its access token",
    )
    .await;
    let req = AuthRequest::new(&app, "openid");
    consent_form(
        &op.authorize(&b, &req).await,
        &["Sign you in with your account"],
    );
    crate::rp::assert_no_server_errors(&server);
}

struct ConsentForm {
    csrf: String,
    req: String,
}

/// Asserts `page` is the consent page listing `expected` and returns its form fields.
#[track_caller]
fn consent_form(page: &Resp, expected: &[&str]) -> ConsentForm {
    assert_eq!(
        page.status,
        200,
        "{}: the consent page; body {}",
        page.what,
        page.text()
    );
    let html = page.text();
    assert!(html.contains("Allow Partner App?"), "{html}");
    for e in expected {
        assert!(html.contains(e), "the consent page lists {e:?}: {html}");
    }
    assert!(html.contains("name=\"decision\" value=\"allow\""), "{html}");
    ConsentForm {
        csrf: hidden_input(&html, "csrf_token").expect("a CSRF token"),
        req: hidden_input(&html, "req").expect("the sealed request"),
    }
}

async fn decide(op: &Op, b: &Browser, form: &ConsentForm, decision: &str) -> Resp {
    b.post_form(
        &format!("{}/authorize/consent", op.path),
        &[
            ("csrf_token", &form.csrf),
            ("req", &form.req),
            ("decision", decision),
        ],
    )
    .await
}

on_both_backends!(consent_for_third_party_applications);
