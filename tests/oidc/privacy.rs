//! Privacy (issue 10), end to end through OpenID Connect: a material new version of the terms
//! stops the next sign-in at the re-consent page (declining leaves the browser signed out,
//! accepting records a consent with the new version and continues to the application);
//! withdrawing a consent in the preference centre fires the webhook, removes the purpose from the
//! `consents` claim of the next token and from UserInfo, and from the admin query of consenting
//! users; the consent receipt is a JWS the tenant's JWKS verifies.

use std::time::Duration;

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::harness::{Backend, hidden_input, start};
use crate::jose::verified;
use crate::rp::{AuthRequest, Op, PASSWORD, browser};

#[allow(dead_code)]
#[path = "../audit/support/receiver.rs"]
mod receiver;

const SLUG: &str = "privacy";

/// Signs in at the sign-in page the authorization request led to and returns where the
/// password sent the browser.
async fn password_step(op: &Op, b: &Browser, login: &str) -> (String, String) {
    let page = b.get(login).await;
    assert_eq!(page.status, 200, "the sign-in page: {}", page.text());
    let html = page.text();
    let csrf = hidden_input(&html, "csrf_token").expect("a CSRF token");
    let return_to = hidden_input(&html, "return_to").expect("return_to");
    let posted = b
        .post_form(
            &format!("{}/login", op.path),
            &[
                ("email", &op.email),
                ("password", PASSWORD),
                ("csrf_token", &csrf),
                ("return_to", &return_to),
            ],
        )
        .await;
    (posted.expect_see_other(), return_to)
}

async fn history(api: &crate::harness::Api, op: &Op) -> Value {
    api.get(&format!(
        "/tenants/{SLUG}/privacy/users/{}/consents",
        op.user_id
    ))
    .await
    .expect(200)
}

async fn consenting(api: &crate::harness::Api, purpose: &str) -> Vec<String> {
    let page = api
        .get(&format!("/tenants/{SLUG}/privacy/purposes/{purpose}/users"))
        .await
        .expect(200);
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|v| v.as_str().expect("a user id").to_string())
        .collect()
}

async fn reconsent_and_withdrawal(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let op = Op::new(&server, &api, SLUG).await;
    let app = op.web_client(&api).await;
    let hook = receiver::Receiver::start(200).await;
    api.post(
        &format!("/tenants/{SLUG}/webhooks"),
        &json!({"url": hook.url, "event_types": ["privacy.*"]}),
    )
    .await
    .expect(201);

    // The tenant's purposes and the first version of its terms (in force since yesterday).
    api.post(
        &format!("/tenants/{SLUG}/privacy/purposes"),
        &json!({"key": "terms-of-service", "legal_basis": "contract", "required": true,
                "document": "terms", "descriptions": {"en": "Terms of service", "de": "Nutzungsbedingungen"}}),
    )
    .await
    .expect(201);
    api.post(
        &format!("/tenants/{SLUG}/privacy/purposes"),
        &json!({"key": "marketing-email", "legal_basis": "consent",
                "descriptions": {"en": "Marketing emails"}}),
    )
    .await
    .expect(201);
    let yesterday = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let yesterday = yesterday
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a time formats");
    api.post(
        &format!("/tenants/{SLUG}/privacy/documents"),
        &json!({"kind": "terms", "version": "1", "url": "https://privacy.example/terms/1",
                "effective_at": yesterday, "material": true}),
    )
    .await
    .expect(201);
    // The person's earlier consents, imported.
    for purpose in ["terms-of-service", "marketing-email"] {
        let r = api
            .post(
                &format!("/tenants/{SLUG}/privacy/users/{}/consents", op.user_id),
                &json!({"purpose": purpose, "state": "granted", "channel": "import"}),
            )
            .await
            .expect(201);
        assert_eq!(r["seq"], 1, "{r}");
        assert_eq!(r["channel"], "import", "{r}");
    }
    assert_eq!(
        history(&api, &op).await["history"][0]["policy_version"],
        "1"
    );
    assert_eq!(
        consenting(&api, "marketing-email").await,
        std::slice::from_ref(&op.user_id)
    );

    // A sign-in under version 1: no interstitial; the claim lists both purposes.
    let b0 = browser(&server);
    let (_, tokens) = op
        .sign_in_and_get_tokens(&b0, &app, "openid consents")
        .await;
    let jwks = op.jwks().await;
    let id = verified(tokens["id_token"].as_str().expect("an ID token"), &jwks);
    assert_eq!(
        id.claims["consents"],
        json!(["marketing-email", "terms-of-service"]),
        "{}",
        id.claims
    );

    // A material version 2 with a grace period: sign-ins continue as before.
    api.post(
        &format!("/tenants/{SLUG}/privacy/documents"),
        &json!({"kind": "terms", "version": "2-grace", "url": "https://privacy.example/terms/2g",
                "material": true, "grace_days": 30}),
    )
    .await
    .expect(201);
    let b1 = browser(&server);
    let req = AuthRequest::new(&app, "openid consents");
    let login = op.authorize(&b1, &req).await.expect_see_other();
    let (next, _) = password_step(&op, &b1, &login).await;
    assert!(
        next.starts_with(&req.redirect_uri),
        "within the grace period the sign-in continues to the application: {next}"
    );

    // Version 3, material, in force now without grace: the next sign-in stops at the page.
    api.post(
        &format!("/tenants/{SLUG}/privacy/documents"),
        &json!({"kind": "terms", "version": "3", "url": "https://privacy.example/terms/3",
                "material": true}),
    )
    .await
    .expect(201);
    let interstitial = format!("{}/login/policy-update", op.path);
    // Declining: no session, nothing recorded.
    let b2 = browser(&server);
    let req = AuthRequest::new(&app, "openid consents");
    let login = op.authorize(&b2, &req).await.expect_see_other();
    let (next, return_to) = password_step(&op, &b2, &login).await;
    assert_eq!(
        next, interstitial,
        "the sign-in stops at the re-consent page"
    );
    let page = b2.get(&interstitial).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("data-version=\"3\""), "{html}");
    assert!(
        crate::harness::http::unescape(&html).contains("https://privacy.example/terms/3"),
        "{html}"
    );
    let csrf = hidden_input(&html, "csrf_token").expect("a CSRF token");
    // The session does not exist yet: the application's request goes back to sign-in.
    let r = b2.get(&return_to).await;
    assert_eq!(
        r.status,
        303,
        "no session before the decision: {}",
        r.text()
    );
    assert!(
        r.expect_see_other()
            .starts_with(&format!("{}/login?", op.path)),
        "no session before the decision"
    );
    let declined = b2
        .post_form(
            &interstitial,
            &[("csrf_token", &csrf), ("decision", "decline")],
        )
        .await;
    assert_eq!(declined.status, 200, "{}", declined.text());
    assert!(declined.text().contains("id=\"login-link\""));
    let r = b2.get(&return_to).await;
    assert!(
        r.expect_see_other()
            .starts_with(&format!("{}/login?", op.path)),
        "declining does not sign in"
    );
    assert_eq!(
        b2.get(&interstitial).await.status,
        400,
        "the declined flow is gone"
    );

    // Accepting, in another browser: refused without the CSRF token, then recorded with the
    // new version, and the sign-in continues to the application.
    let b3 = browser(&server);
    let req = AuthRequest::new(&app, "openid consents");
    let login = op.authorize(&b3, &req).await.expect_see_other();
    let (next, _) = password_step(&op, &b3, &login).await;
    assert_eq!(next, interstitial);
    let html = b3.get(&interstitial).await.text();
    let csrf = hidden_input(&html, "csrf_token").expect("a CSRF token");
    let forged = b3
        .post_form(
            &interstitial,
            &[("csrf_token", "forged"), ("decision", "accept")],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.text());
    let before = history(&api, &op).await["history"]
        .as_array()
        .expect("history")
        .len();
    assert_eq!(before, 2, "nothing was recorded by the refused forms");
    let accepted = b3
        .post_form(
            &interstitial,
            &[("csrf_token", &csrf), ("decision", "accept")],
        )
        .await;
    // Accepted, the sign-in completes and answers the application's request.
    let code = op.redirect_params(&accepted, &req)["code"].clone();
    let tokens = op.exchange(&app, &req, &code).await;
    let id = verified(tokens["id_token"].as_str().expect("an ID token"), &jwks);
    assert_eq!(
        id.claims["consents"],
        json!(["marketing-email", "terms-of-service"])
    );
    let h = history(&api, &op).await;
    let last = h["history"]
        .as_array()
        .expect("history")
        .iter()
        .rfind(|r| r["purpose"] == "terms-of-service")
        .expect("a terms record")
        .clone();
    assert_eq!(last["policy_version"], "3", "{h}");
    assert_eq!(last["channel"], "reconsent", "{h}");
    assert_eq!(last["state"], "granted", "{h}");
    assert_eq!(last["seq"], 2, "{h}");
    assert_eq!(last["recorded_by"], format!("user:{}", op.user_id), "{h}");
    assert!(
        last["ip"].is_string(),
        "the IP address is kept (sealed): {h}"
    );
    // The next sign-in goes straight through.
    let b4 = browser(&server);
    let req = AuthRequest::new(&app, "openid");
    let login = op.authorize(&b4, &req).await.expect_see_other();
    let (next, _) = password_step(&op, &b4, &login).await;
    assert!(
        next.starts_with(&req.redirect_uri),
        "accepted once, asked once: {next}"
    );

    // Withdraw marketing in the preference centre (b3 is signed in).
    let centre = format!("{}/account/privacy", op.path);
    let page = b3.get(&centre).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("id=\"withdraw-marketing-email\""), "{html}");
    assert!(
        !html.contains("id=\"withdraw-terms-of-service\""),
        "a required purpose is not withdrawn here: {html}"
    );
    let csrf = hidden_input(&html, "csrf_token").expect("a CSRF token");
    let forged = b3
        .post_form(
            &format!("{centre}/consent"),
            &[
                ("purpose", "marketing-email"),
                ("action", "withdraw"),
                ("csrf_token", "nope"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    let required = b3
        .post_form(
            &format!("{centre}/consent"),
            &[
                ("purpose", "terms-of-service"),
                ("action", "withdraw"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(
        required.status, 400,
        "a required purpose cannot be withdrawn"
    );
    assert_eq!(
        consenting(&api, "marketing-email").await,
        std::slice::from_ref(&op.user_id)
    );
    let withdrawn = b3
        .post_form(
            &format!("{centre}/consent"),
            &[
                ("purpose", "marketing-email"),
                ("action", "withdraw"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(
        withdrawn.expect_see_other(),
        format!("{centre}?done=withdrawn")
    );
    let html = b3.get(&centre).await.text();
    assert!(html.contains("id=\"grant-marketing-email\""), "{html}");
    assert!(
        html.contains("account_portal"),
        "the history shows the change: {html}"
    );

    // The webhook fired.
    let got = hook
        .wait(
            "the privacy.consent_withdrawn webhook",
            Duration::from_secs(30),
            |got| {
                got.iter().any(|r| {
                    r.headers.get("tessera-event-type").map(String::as_str)
                        == Some("privacy.consent_withdrawn")
                })
            },
        )
        .await;
    let ev = got
        .iter()
        .find(|r| r.header("tessera-event-type") == "privacy.consent_withdrawn")
        .expect("the event")
        .json();
    assert_eq!(ev["data"]["purpose"], "marketing-email", "{ev}");
    assert_eq!(ev["data"]["channel"], "account_portal", "{ev}");
    assert_eq!(ev["data"]["subject"], op.user_id.as_str(), "{ev}");
    assert!(
        ev["data"].get("ip").is_none(),
        "no personal data in the webhook: {ev}"
    );

    // The next token (same browser, no sign-in needed) no longer carries the purpose.
    let req = AuthRequest::new(&app, "openid consents");
    let code = op.code(&b3, &req).await;
    let tokens = op.exchange(&app, &req, &code).await;
    let id = verified(tokens["id_token"].as_str().expect("an ID token"), &jwks);
    assert_eq!(id.claims["consents"], json!(["terms-of-service"]));
    let info = op
        .assert_userinfo_ok(
            tokens["access_token"].as_str().expect("an access token"),
            "userinfo",
        )
        .await;
    assert_eq!(info["consents"], json!(["terms-of-service"]), "{info}");
    // Without the scope, no claim.
    let req = AuthRequest::new(&app, "openid");
    let code = op.code(&b3, &req).await;
    let tokens = op.exchange(&app, &req, &code).await;
    let id = verified(tokens["id_token"].as_str().expect("an ID token"), &jwks);
    assert!(id.claims.get("consents").is_none(), "{}", id.claims);

    // The query API no longer lists the user; terms still do.
    assert!(consenting(&api, "marketing-email").await.is_empty());
    assert_eq!(
        consenting(&api, "terms-of-service").await,
        std::slice::from_ref(&op.user_id)
    );
    assert!(
        op.discovery().await["scopes_supported"]
            .as_array()
            .expect("scopes_supported")
            .iter()
            .any(|s| s == "consents")
    );

    // The consent receipt: a JWS of the tenant's, with the Kantara fields.
    let r = b3.get(&format!("{centre}/receipt")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let receipt = verified(r.text().trim(), &jwks);
    assert_eq!(receipt.header["typ"], "consent-receipt+jwt");
    let c = &receipt.claims;
    assert_eq!(c["version"], "KI-CR-v1.1.0", "{c}");
    assert_eq!(c["piiPrincipalId"], op.user_id.as_str(), "{c}");
    assert_eq!(c["iss"], op.issuer.as_str(), "{c}");
    let purposes = c["services"][0]["purposes"].as_array().expect("purposes");
    let tos = purposes
        .iter()
        .find(|p| p["purposeKey"] == "terms-of-service")
        .expect("terms in the receipt");
    assert_eq!(tos["policyVersion"], "3", "{c}");
    assert_eq!(tos["policyUrl"], "https://privacy.example/terms/3", "{c}");
    let mkt = purposes
        .iter()
        .find(|p| p["purposeKey"] == "marketing-email")
        .expect("marketing in the receipt");
    assert_eq!(mkt["state"], "withdrawn", "{c}");
    let api_receipt = api
        .get(&format!(
            "/tenants/{SLUG}/privacy/users/{}/receipt",
            op.user_id
        ))
        .await
        .expect(200);
    verified(api_receipt["receipt"].as_str().expect("a receipt"), &jwks);
}

on_both_backends!(reconsent_and_withdrawal);
