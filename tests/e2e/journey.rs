//! The customer's whole life cycle in headless Chromium, against a real SMTP server (the aiosmtpd
//! sink), through the hosted pages' own forms: sign up → the verification mail → confirm → sign
//! in → edit the profile → change the email (confirmed from the new address) → sign out →
//! "forgot password" → reset from the mailed link → sign in with the new password → download the
//! data → delete the account → signing in again fails.

use serde_json::{Value, json};

use crate::harness::smtp::SmtpSink;
use crate::harness::webdriver::{Driver, Session};
use crate::harness::{Api, Backend, Deployment, Server};
use crate::registration::{STRONG, WAIT, find_user, link_in};

const NEW_PASSWORD: &str = "amber-walrus-canyon-2041";

async fn setup(backend: Backend) -> Option<(Driver, SmtpSink, Deployment, Server, Api)> {
    let driver = Driver::start().await?;
    let sink = SmtpSink::start().await?;
    // Browsers treat http://localhost as a secure context; the public URL uses it.
    let dep = Deployment::new(backend).public_host("localhost");
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
    Some((driver, sink, dep, server, api))
}

/// Replaces the field's value with `text`, typed.
async fn type_into(s: &Session<'_>, css: &str, text: &str) {
    let e = s.find(css).await;
    s.execute("arguments[0].value = '';", json!([{ELEMENT: e}]))
        .await;
    s.send_keys(&e, text).await;
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

async fn click(s: &Session<'_>, css: &str) {
    let e = s.find(css).await;
    s.click(&e).await;
}

async fn sign_in(s: &Session<'_>, origin: &str, email: &str, password: &str) {
    s.goto(&format!("{origin}/t/shop/login")).await;
    type_into(s, "#email", email).await;
    type_into(s, "#password", password).await;
    click(s, "#submit").await;
}

async fn customer_life_cycle_in_chromium(backend: Backend) {
    let Some((driver, sink, _dep, server, api)) = setup(backend).await else {
        return;
    };
    let origin = server.public_url.clone();
    assert!(origin.starts_with("http://localhost:"), "{origin}");
    let s = driver.session().await;
    let (first, second) = ("ann.lee@shop.test", "ann.new@shop.test");

    // 1. Sign up on the hosted page.
    s.goto(&format!("{origin}/t/shop/login")).await;
    click(&s, "#register").await;
    s.wait_for_url("the sign-up page", |u| u.contains("/t/shop/register"))
        .await;
    type_into(&s, "#email", first).await;
    type_into(&s, "#password", STRONG).await;
    click(&s, "#submit").await;
    let heading = s
        .wait_for_text_containing("the answer to the sign-up", "h1", "Check your email")
        .await;
    assert!(heading.contains("Check your email"), "{heading}");
    let user = find_user(&api, "shop", first)
        .await
        .expect("the account exists");
    assert_eq!(user["email_verified"], false);

    // 2. The verification mail; its link shows a button that confirms.
    let mail = sink.wait_for(first, WAIT).await;
    let link = link_in(&mail, &server, "verify-email");
    s.goto(&format!("{origin}{link}")).await;
    click(&s, "#confirm").await;
    let done = s.wait_for_text("the confirmation", "#message").await;
    assert!(done.contains(first), "{done}");
    assert_eq!(
        find_user(&api, "shop", first).await.expect("the user")["email_verified"],
        true
    );

    // 3. Sign in.
    sign_in(&s, &origin, first, STRONG).await;
    s.wait_for_url("the account page", |u| u.ends_with("/t/shop/account"))
        .await;
    assert_eq!(s.text_of("#account-email").await, first);

    // 4. Edit the profile.
    type_into(&s, "#profile-name", "Ann Journey").await;
    click(&s, "#save-profile").await;
    let name = s
        .wait_for_text_containing("the saved name", "#account-name", "Ann Journey")
        .await;
    assert_eq!(name, "Ann Journey");

    // 5. Change the email; the new address confirms it.
    s.goto(&format!("{origin}/t/shop/account")).await;
    type_into(&s, "#new-email", second).await;
    click(&s, "#change-email").await;
    let mail = sink.wait_for(second, WAIT).await;
    let link = link_in(&mail, &server, "account/email/confirm");
    let notice = sink.wait_for(first, WAIT).await;
    assert!(notice.text.contains(second), "{}", notice.text);
    s.goto(&format!("{origin}{link}")).await;
    click(&s, "#confirm").await;
    let done = s.wait_for_text("the changed email", "#message").await;
    assert!(done.contains(second), "{done}");
    s.goto(&format!("{origin}/t/shop/account")).await;
    assert_eq!(s.text_of("#account-email").await, second);

    // 6. Sign out, then "forgot password".
    click(&s, "#sign-out").await;
    s.wait_for_url("the sign-out page", |u| u.ends_with("/t/shop/logout"))
        .await;
    s.goto(&format!("{origin}/t/shop/login")).await;
    click(&s, "#forgot-password").await;
    s.wait_for_url("the recovery page", |u| {
        u.contains("/t/shop/forgot-password")
    })
    .await;
    type_into(&s, "#email", second).await;
    click(&s, "#submit").await;
    let mail = sink.wait_for(second, WAIT).await;
    let link = link_in(&mail, &server, "reset-password");
    s.goto(&format!("{origin}{link}")).await;
    type_into(&s, "#password", NEW_PASSWORD).await;
    click(&s, "#submit").await;
    s.wait_for_text("the reset confirmation", "#message").await;

    // 7. The old password no longer works; the new one does.
    sign_in(&s, &origin, second, STRONG).await;
    let error = s.wait_for_text("the sign-in error", "#error").await;
    assert_eq!(error, "Incorrect email or password.");
    sign_in(&s, &origin, second, NEW_PASSWORD).await;
    s.wait_for_url("the account page", |u| u.ends_with("/t/shop/account"))
        .await;

    // 8. Download the data, from the page (its cookies, its origin).
    let href = s
        .execute(
            "return document.querySelector('#export-link').href;",
            json!([]),
        )
        .await;
    let href = href.as_str().expect("the export link").to_string();
    assert!(href.ends_with("/t/shop/account/export"), "{href}");
    let exported = s
        .execute(
            "return fetch(arguments[0], {credentials: 'same-origin'}).then(function (r) { return r.text().then(function (t) { return [r.status, t]; }); });",
            json!([href]),
        )
        .await;
    assert_eq!(exported[0], 200, "{exported}");
    let data: Value = serde_json::from_str(exported[1].as_str().expect("a body"))
        .unwrap_or_else(|e| panic!("JSON data: {e}: {exported}"));
    let text = data.to_string();
    assert!(text.contains(second), "the export names the user: {text}");
    assert!(text.contains("Ann Journey"), "{text}");
    assert!(text.contains(user["id"].as_str().expect("id")), "{text}");

    // 9. Delete the account (typing its email address).
    s.goto(&format!("{origin}/t/shop/account")).await;
    type_into(&s, "#delete-confirm", second).await;
    click(&s, "#delete-account").await;
    let body = s
        .wait_for_text_containing(
            "the deletion page",
            "main, body",
            "Your account was deleted",
        )
        .await;
    assert!(body.contains("Your account was deleted"), "{body}");
    assert!(find_user(&api, "shop", second).await.is_none());

    // 10. Signing in again fails.
    sign_in(&s, &origin, second, NEW_PASSWORD).await;
    let error = s.wait_for_text("the sign-in error", "#error").await;
    assert_eq!(error, "Incorrect email or password.");
    s.close().await;
}

on_both_backends!(customer_life_cycle_in_chromium);
