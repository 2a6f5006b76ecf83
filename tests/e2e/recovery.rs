//! Account recovery end to end, against a real SMTP server: "forgot password" → mail → reset
//! (old sessions end, the old password stops working, a notice is mailed, the link works once
//! and expires); the same answer in about the same time for known and unknown addresses;
//! recovery of an account without a password through email verification; bad input on both
//! forms; the admin API that sends verification and reset emails.

use std::time::Instant;

use serde_json::json;

use crate::harness::smtp::SmtpSink;
use crate::harness::{Api, Backend, Browser, Server, element_text, hidden_input};
use crate::registration::{
    STRONG, WAIT, assert_similar_timing, code_in, events, find_user, generic, link_in,
    patch_settings, start,
};

const OLD: &str = "the-old-password-42";

/// Opens "forgot password" in `b` and submits `email`.
async fn forgot(b: &Browser, slug: &str, email: &str) -> crate::harness::Resp {
    let page = b.get(&format!("/t/{slug}/forgot-password")).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let csrf = hidden_input(&page.text(), "csrf_token").unwrap();
    b.post_form(
        &format!("/t/{slug}/forgot-password"),
        &[("email", email), ("csrf_token", &csrf)],
    )
    .await
}

/// Asks for a reset link for `email` and returns its path.
async fn reset_link(server: &Server, sink: &SmtpSink, email: &str) -> String {
    let r = forgot(&server.browser(), "shop", email).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mail = sink.wait_for(email, WAIT).await;
    assert!(mail.subject.contains("Reset your"), "{}", mail.subject);
    link_in(&mail, server, "reset-password")
}

/// Opens the reset link and submits `password`.
async fn set_password(b: &Browser, link: &str, password: &str) -> crate::harness::Resp {
    let page = b.get(link).await;
    assert_eq!(page.status, 200, "the reset form opens: {}", page.text());
    let token = hidden_input(&page.text(), "token").unwrap();
    let csrf = hidden_input(&page.text(), "csrf_token").unwrap();
    b.post_form(
        "/t/shop/reset-password",
        &[
            ("token", &token),
            ("password", password),
            ("csrf_token", &csrf),
        ],
    )
    .await
}

async fn reset_ends_sessions_and_the_old_password(backend: Backend) {
    let Some((sink, _dep, server, api)) = start(backend).await else {
        return;
    };
    let user = api.create_user("shop", "eve@shop.test", Some(OLD)).await;
    let id = user["id"].as_str().unwrap().to_string();
    let elsewhere = server.browser();
    elsewhere.sign_in_ok("shop", "eve@shop.test", OLD).await;
    assert!(elsewhere.account_email("shop").await.is_some());

    let link = reset_link(&server, &sink, "eve@shop.test").await;
    let b = server.browser();
    // A password the policy refuses leaves the link usable.
    let weak = set_password(&b, &link, "Password1").await;
    assert_eq!(weak.status, 400);
    assert_eq!(
        element_text(&weak.text(), "error").as_deref(),
        Some(
            "This password is on a list of commonly used passwords. Choose another one. A few unrelated words are easier to remember and much harder to guess."
        )
    );
    let done = set_password(&b, &link, STRONG).await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.text().contains("Your password was changed"));

    assert!(
        elsewhere.account_email("shop").await.is_none(),
        "the other browser's session ended"
    );
    let sessions = api
        .get(&format!("/tenants/shop/sessions?user_id={id}"))
        .await
        .expect(200);
    assert_eq!(sessions["items"], json!([]));
    assert_eq!(
        server
            .browser()
            .sign_in("shop", "eve@shop.test", OLD)
            .await
            .status,
        401,
        "the old password is refused"
    );
    server
        .browser()
        .sign_in_ok("shop", "eve@shop.test", STRONG)
        .await;
    let notice = sink.wait_for("eve@shop.test", WAIT).await;
    assert_eq!(notice.subject, "Your Shop password was changed");
    // The link worked once.
    let replay = server.browser().get(&link).await;
    assert_eq!(replay.status, 400);
    assert!(replay.text().contains("expired or was already used"));
    let token = link
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let page = b.get("/t/shop/forgot-password").await;
    let csrf = hidden_input(&page.text(), "csrf_token").unwrap();
    let again = b
        .post_form(
            "/t/shop/reset-password",
            &[
                ("token", token),
                ("password", "another-long-passphrase-9"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(again.status, 400);
    server
        .browser()
        .sign_in_ok("shop", "eve@shop.test", STRONG)
        .await;
    let user = api
        .get(&format!("/tenants/shop/users/{id}"))
        .await
        .expect(200);
    assert_eq!(user["email_verified"], true, "the link proved the address");
    assert_eq!(events(&api, "shop", "user.password_reset").await.len(), 1);
    let revoked = events(&api, "shop", "session.revoked").await;
    assert!(
        revoked
            .iter()
            .any(|e| e["data"]["reason"] == "password_reset"),
        "{revoked:?}"
    );
}

async fn reset_links_expire(backend: Backend) {
    let Some((sink, dep, mut server, api)) = start(backend).await else {
        return;
    };
    api.create_user("shop", "fay@shop.test", Some(OLD)).await;
    let link = reset_link(&server, &sink, "fay@shop.test").await;
    // Thirty-one minutes later (reset links live thirty).
    server.stop().await;
    let env = sink.env();
    let mut extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    extra.push(("TESSERA_TEST_CLOCK_OFFSET_SECS", "1860"));
    let server = dep.start_with(&extra).await;
    let b = server.browser();
    let r = b.get(&link).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("expired or was already used"));
    let token = link
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let page = b.get("/t/shop/forgot-password").await;
    let csrf = hidden_input(&page.text(), "csrf_token").unwrap();
    let r = b
        .post_form(
            "/t/shop/reset-password",
            &[
                ("token", token),
                ("password", STRONG),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    b.sign_in_ok("shop", "fay@shop.test", OLD).await;
}

async fn forgot_password_never_tells(backend: Backend) {
    let Some((sink, _dep, server, api)) = start(backend).await else {
        return;
    };
    patch_settings(&api, "shop", |s| {
        s["registration"]["max_attempts_per_ip_per_hour"] = json!(100);
    })
    .await;
    api.create_user("shop", "gus@shop.test", Some(OLD)).await;
    let mut known_times = Vec::new();
    let mut unknown_times = Vec::new();
    let mut bodies = Vec::new();
    for i in 0..5 {
        let nobody = format!("nobody{i}@shop.test");
        for (email, times) in [
            ("gus@shop.test", &mut known_times),
            (nobody.as_str(), &mut unknown_times),
        ] {
            let b = server.browser();
            let page = b.get("/t/shop/forgot-password").await;
            let csrf = hidden_input(&page.text(), "csrf_token").unwrap();
            let started = Instant::now();
            let r = b
                .post_form(
                    "/t/shop/forgot-password",
                    &[("email", email), ("csrf_token", &csrf)],
                )
                .await;
            times.push(started.elapsed());
            assert_eq!(r.status, 200, "{email}: {}", r.text());
            bodies.push(generic(&r.text(), email));
        }
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "known and unknown addresses get the same page"
    );
    assert_similar_timing(known_times, unknown_times, "forgot password");
    for _ in 0..5 {
        sink.wait_for("gus@shop.test", WAIT).await;
    }
    // Only the newest link works.
    let mails = sink.received();
    let links: Vec<String> = mails
        .iter()
        .filter(|m| m.rcpt_tos.contains(&"gus@shop.test".to_string()))
        .map(|m| link_in(m, &server, "reset-password"))
        .collect();
    assert_eq!(links.len(), 5);
    assert!(
        mails
            .iter()
            .all(|m| m.rcpt_tos == vec!["gus@shop.test".to_string()]),
        "nothing was sent to unknown addresses"
    );
    let b = server.browser();
    let mut usable = 0;
    for l in &links {
        if b.get(l).await.status == 200 {
            usable += 1;
        }
    }
    assert_eq!(usable, 1, "a new link replaces the older ones");
}

async fn passwordless_accounts_recover_through_verification(backend: Backend) {
    let Some((sink, _dep, server, api)) = start(backend).await else {
        return;
    };
    api.create_user("shop", "hal@shop.test", None).await;
    let r = forgot(&server.browser(), "shop", "hal@shop.test").await;
    assert_eq!(r.status, 200);
    let mail = sink.wait_for("hal@shop.test", WAIT).await;
    assert_eq!(mail.subject, "Get back into your Shop account");
    assert!(!mail.text.contains("/reset-password?"), "{}", mail.text);
    let link = link_in(&mail, &server, "verify-email");
    code_in(&mail);
    let b = server.browser();
    let page = b.get(&link).await;
    assert_eq!(page.status, 200);
    let token = hidden_input(&page.text(), "token").unwrap();
    let csrf = hidden_input(&page.text(), "csrf_token").unwrap();
    let done = b
        .post_form(
            "/t/shop/verify-email",
            &[("token", &token), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(
        find_user(&api, "shop", "hal@shop.test").await.unwrap()["email_verified"],
        true
    );
    let sent = events(&api, "shop", "user.verification_sent").await;
    assert_eq!(
        sent[0]["data"]["reason"], "passwordless_recovery",
        "{sent:?}"
    );
}

async fn recovery_forms_explain_bad_input(backend: Backend) {
    let Some((sink, _dep, server, api)) = start(backend).await else {
        return;
    };
    api.create_user("shop", "ida@shop.test", Some(OLD)).await;
    let long = format!("{}@shop.test", "x".repeat(300));
    for (what, email, status, expected) in [
        ("missing email", "", 400, "Enter a valid email address"),
        (
            "invalid email",
            "ida-at-shop",
            400,
            "Enter a valid email address",
        ),
        (
            "overlong email",
            long.as_str(),
            400,
            "Enter a valid email address",
        ),
    ] {
        let r = forgot(&server.browser(), "shop", email).await;
        assert_eq!(r.status, status, "{what}");
        assert!(r.text().contains(expected), "{what}: {}", r.text());
    }
    let b = server.browser();
    b.get("/t/shop/forgot-password").await;
    let r = b
        .post_form(
            "/t/shop/forgot-password",
            &[("email", "ida@shop.test"), ("csrf_token", "forged")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("This form has expired"));

    let link = reset_link(&server, &sink, "ida@shop.test").await;
    let b = server.browser();
    let page = b.get(&link).await;
    let token = hidden_input(&page.text(), "token").unwrap();
    let csrf = hidden_input(&page.text(), "csrf_token").unwrap();
    for (what, fields, status, expected) in [
        (
            "wrong CSRF",
            vec![
                ("token", token.as_str()),
                ("password", STRONG),
                ("csrf_token", "forged"),
            ],
            403,
            "This form has expired",
        ),
        (
            "no password",
            vec![("token", token.as_str()), ("csrf_token", csrf.as_str())],
            400,
            "Enter a new password",
        ),
        (
            "short password",
            vec![
                ("token", token.as_str()),
                ("password", "short"),
                ("csrf_token", csrf.as_str()),
            ],
            400,
            "at least 8 characters",
        ),
        (
            "weak password",
            vec![
                ("token", token.as_str()),
                ("password", "ida@shop.test"),
                ("csrf_token", csrf.as_str()),
            ],
            400,
            "too easy to guess",
        ),
        (
            "unknown link",
            vec![
                ("token", "bogus"),
                ("password", STRONG),
                ("csrf_token", csrf.as_str()),
            ],
            400,
            "expired or was already used",
        ),
    ] {
        let r = b.post_form("/t/shop/reset-password", &fields).await;
        assert_eq!(r.status, status, "{what}: {}", r.text());
        assert!(r.text().contains(expected), "{what}: {}", r.text());
    }
    assert_eq!(
        server.browser().get("/t/shop/reset-password").await.status,
        400
    );
    // Nothing changed: the old password still works and the link is still good.
    server
        .browser()
        .sign_in_ok("shop", "ida@shop.test", OLD)
        .await;
    assert_eq!(server.browser().get(&link).await.status, 200);
}

async fn operators_send_verification_and_reset_emails(backend: Backend) {
    let Some((sink, _dep, server, api)) = start(backend).await else {
        return;
    };
    let doc = api.get("/openapi.json").await.expect(200);
    for p in [
        "/api/v1/tenants/{slug}/users/{id}/send-verification-email",
        "/api/v1/tenants/{slug}/users/{id}/send-password-reset",
    ] {
        assert!(doc["paths"][p]["post"].is_object(), "{p} is documented");
    }
    let jo = api.create_user("shop", "jo@shop.test", Some(OLD)).await;
    let id = jo["id"].as_str().unwrap();
    let r = api
        .post_empty(&format!("/tenants/shop/users/{id}/send-verification-email"))
        .await
        .expect(202);
    assert_eq!(r["sent"], "verify_email");
    let mail = sink.wait_for("jo@shop.test", WAIT).await;
    assert_eq!(mail.subject, "Confirm your email address for Shop");
    let r = api
        .post_empty(&format!("/tenants/shop/users/{id}/send-password-reset"))
        .await
        .expect(202);
    assert_eq!(r["sent"], "password_reset");
    let mail = sink.wait_for("jo@shop.test", WAIT).await;
    let link = link_in(&mail, &server, "reset-password");
    let done = set_password(&server.browser(), &link, STRONG).await;
    assert_eq!(done.status, 200);

    let nopw = api.create_user("shop", "kim@shop.test", None).await;
    let r = api
        .post_empty(&format!(
            "/tenants/shop/users/{}/send-password-reset",
            nopw["id"].as_str().unwrap()
        ))
        .await
        .expect(202);
    assert_eq!(r["sent"], "passwordless_recovery");
    sink.wait_for("kim@shop.test", WAIT).await;

    api.post_empty(&format!("/tenants/shop/users/{id}/disable"))
        .await
        .expect(200);
    api.post_empty(&format!("/tenants/shop/users/{id}/send-password-reset"))
        .await
        .expect_error(409, "conflict");
    let missing = uuid::Uuid::new_v4();
    for action in ["send-verification-email", "send-password-reset"] {
        api.post_empty(&format!("/tenants/shop/users/{missing}/{action}"))
            .await
            .expect_error(404, "not_found");
    }
    let sent = events(&api, "shop", "user.verification_sent").await;
    assert!(
        sent.iter().any(|e| e["data"]["reason"] == "operator"),
        "{sent:?}"
    );
    // A read-only key may not send mail.
    let key = server.api_key("admin", "read").await;
    let reader = Api::new(&server, &key);
    reader
        .post_empty(&format!(
            "/tenants/shop/users/{}/send-verification-email",
            nopw["id"].as_str().unwrap()
        ))
        .await
        .expect_error(403, "forbidden");
}

on_both_backends!(
    reset_ends_sessions_and_the_old_password,
    reset_links_expire,
    forgot_password_never_tells,
    passwordless_accounts_recover_through_verification,
    recovery_forms_explain_bad_input,
    operators_send_verification_and_reset_emails,
);
