//! A real browser: headless Chromium, driven over WebDriver, signs in through the hosted sign-in
//! page, sees its email on the account page, and signs out.

use crate::harness::webdriver::Driver;
use crate::harness::{Backend, Deployment};

async fn chromium_signs_in_and_out(backend: Backend) {
    let Some(driver) = Driver::start().await else {
        return;
    };
    // Browsers treat http://localhost as a secure context; the public URL uses it.
    let dep = Deployment::new(backend).public_host("localhost");
    let server = dep.start().await;
    server.tenant("browser").await;
    server
        .user("browser", "nina@browser.test", "nina-password-1")
        .await;
    let origin = server.public_url.clone();
    assert!(origin.starts_with("http://localhost:"), "{origin}");

    let s = driver.session().await;
    s.goto(&format!("{origin}/t/browser/account")).await;
    let at = s
        .wait_for_url("the sign-in page", |u| u.contains("/t/browser/login"))
        .await;
    assert!(
        at.contains("return_to="),
        "the account page sent us to sign in: {at}"
    );

    // A wrong password first: the page says so and we stay on the form.
    let email = s.find("#email").await;
    s.send_keys(&email, "nina@browser.test").await;
    let password = s.find("#password").await;
    s.send_keys(&password, "not-the-password").await;
    let submit = s.find("#submit").await;
    s.click(&submit).await;
    assert_eq!(s.text_of("#error").await, "Incorrect email or password.");

    // The form keeps the email; type the right password.
    let password = s.find("#password").await;
    s.send_keys(&password, "nina-password-1").await;
    let submit = s.find("#submit").await;
    s.click(&submit).await;
    s.wait_for_url("the account page", |u| u.ends_with("/t/browser/account"))
        .await;
    assert_eq!(s.text_of("#account-email").await, "nina@browser.test");

    let sign_out = s.find("#sign-out").await;
    s.click(&sign_out).await;
    s.wait_for_url("the sign-out page", |u| u.ends_with("/t/browser/logout"))
        .await;
    assert_eq!(s.text_of("h1").await, "You are signed out");

    s.goto(&format!("{origin}/t/browser/account")).await;
    s.wait_for_url("the sign-in page after sign-out", |u| {
        u.contains("/t/browser/login")
    })
    .await;
    s.close().await;

    let api = server.admin_api().await;
    let sessions = api.get("/tenants/browser/sessions").await.expect(200);
    assert_eq!(
        sessions["items"],
        serde_json::json!([]),
        "the session ended"
    );
}

on_both_backends!(chromium_signs_in_and_out);
