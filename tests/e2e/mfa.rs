//! Multi-factor sign-in on the hosted pages, end to end: forced TOTP enrolment with codes made
//! by an independent implementation (Python `pyotp` reading the otpauth URI), replay refusal,
//! recovery codes (each usable once), emailed codes and links through a real SMTP server (the
//! aiosmtpd sink), remember-this-device, step-up from `acr_values`, the admin factor API, audit
//! events, and bad input that changes nothing.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::http::{Browser, element_text, hidden_input, unescape};
use crate::harness::smtp::SmtpSink;
use crate::harness::tools::{check_ok, interop_dir, python_venv, run};
use crate::harness::{Api, Backend, Deployment, Server};

const PASSWORD: &str = "a long passphrase";
const WAIT: Duration = Duration::from_secs(60);

async fn set_settings(api: &Api, slug: &str, change: impl Fn(&mut Value)) {
    let tenant = api.get(&format!("/tenants/{slug}")).await.expect(200);
    let mut settings = tenant["settings"].clone();
    change(&mut settings);
    api.patch(
        &format!("/tenants/{slug}"),
        &json!({ "settings": settings }),
    )
    .await
    .expect(200);
}

/// The href of `<a … id="{id}" …>`.
fn link_href(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = html[..at].rfind("<a ")?;
    let tag = &html[start..];
    let h = tag.find("href=\"")? + 6;
    let end = tag[h..].find('"')?;
    Some(unescape(&tag[h..h + end]))
}

/// TOTP codes of `uri` at the given unix times, computed by pyotp. `None` without Python
/// (outside CI).
async fn pyotp_codes(uri: &str, times: &[i64]) -> Vec<String> {
    let python = python_venv("requirements-mfa.txt", "venv-mfa").await;
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(interop_dir().join("python/totp.py")).arg(uri);
    for t in times {
        cmd.arg(t.to_string());
    }
    let out = run(&mut cmd, "pyotp", Duration::from_secs(60)).await;
    check_ok(&out, "pyotp");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

async fn post_mfa(
    b: &Browser,
    slug: &str,
    method: &str,
    code: &str,
    remember: bool,
) -> crate::harness::http::Resp {
    let page = b.get(&format!("/t/{slug}/login/mfa")).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let token = hidden_input(&page.text(), "csrf_token").expect("csrf token");
    let mut fields = vec![
        ("csrf_token", token.as_str()),
        ("method", method),
        ("code", code),
    ];
    if remember {
        fields.push(("remember_device", "1"));
    }
    b.post_form(&format!("/t/{slug}/login/mfa"), &fields).await
}

async fn session_methods(api: &Api, slug: &str, user_id: &str) -> Vec<Vec<String>> {
    let s = api
        .get(&format!("/tenants/{slug}/sessions?user_id={user_id}"))
        .await
        .expect(200);
    s["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            i["auth_methods"]
                .as_array()
                .expect("methods")
                .iter()
                .map(|m| m.as_str().expect("text").to_string())
                .collect()
        })
        .collect()
}

fn has_python() -> bool {
    crate::harness::tools::require(&["python3"], "the MFA test (pyotp)")
}

async fn totp_enrolment_sign_in_replay_and_recovery_codes(backend: Backend) {
    if !has_python() {
        return;
    }
    let (_dep, server, api) = crate::harness::start(backend).await;
    api.create_tenant("corp", "workforce").await;
    let user = api
        .create_user("corp", "ann@corp.test", Some(PASSWORD))
        .await;
    let uid = user["id"].as_str().expect("id").to_string();
    set_settings(&api, "corp", |s| s["mfa_required"] = json!(true)).await;

    // Required but not enrolled: the password leads to enrolment, not to a session.
    let b = server.browser();
    let r = b.sign_in("corp", "ann@corp.test", PASSWORD).await;
    assert_eq!(r.expect_see_other(), "/t/corp/login/mfa/enroll");
    assert!(r.set_cookie("tessera_session").is_none());
    assert_eq!(b.account_email("corp").await, None, "no session yet");
    let page = b.get("/t/corp/login/mfa/enroll").await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("<svg"), "the QR code is an inline SVG");
    let uri = link_href(&html, "totp-uri").expect("the otpauth URI");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains("issuer="), "{uri}");
    let factor_id = hidden_input(&html, "factor_id").expect("factor id");
    let token = hidden_input(&html, "csrf_token").expect("csrf");

    // A wrong code is refused; the right one (from pyotp) enrols.
    let r = b
        .post_form(
            "/t/corp/login/mfa/enroll",
            &[
                ("csrf_token", &token),
                ("factor_id", &factor_id),
                ("code", "000000"),
                ("name", "Phone"),
            ],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text());
    let t0 = now();
    let codes = pyotp_codes(&uri, &[t0, t0 + 30]).await;
    let r = b
        .post_form(
            "/t/corp/login/mfa/enroll",
            &[
                ("csrf_token", &token),
                ("factor_id", &factor_id),
                ("code", &codes[0]),
                ("name", "Phone"),
            ],
        )
        .await;
    assert_eq!(r.expect_see_other(), "/t/corp/login/mfa/recovery-codes");
    let page = b.get("/t/corp/login/mfa/recovery-codes").await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    let recovery: Vec<String> = html
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().expect("code").to_string())
        .collect();
    assert_eq!(recovery.len(), 10, "ten recovery codes: {html}");
    let token = hidden_input(&html, "csrf_token").expect("csrf");
    let r = b
        .post_form(
            "/t/corp/login/mfa/recovery-codes",
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(r.expect_see_other(), "/t/corp/account");
    assert_eq!(
        b.account_email("corp").await.as_deref(),
        Some("ann@corp.test")
    );
    let methods = session_methods(&api, "corp", &uid).await;
    assert!(
        methods.iter().any(|m| m.contains(&"pwd".into())
            && m.contains(&"otp".into())
            && m.contains(&"mfa".into())),
        "{methods:?}"
    );
    // The codes page is gone with the flow.
    assert_eq!(b.get("/t/corp/login/mfa/recovery-codes").await.status, 400);

    // Next sign-in: the second factor is asked; the code used at enrolment is a replay.
    b.sign_out("corp").await;
    let r = b.sign_in("corp", "ann@corp.test", PASSWORD).await;
    assert_eq!(r.expect_see_other(), "/t/corp/login/mfa");
    let r = post_mfa(&b, "corp", "totp", &codes[0], false).await;
    assert_eq!(r.status, 401, "a used code is refused: {}", r.text());
    assert!(unescape(&r.text()).contains("already used"), "{}", r.text());
    let r = post_mfa(&b, "corp", "totp", &codes[1], false).await;
    assert_eq!(r.expect_see_other(), "/t/corp/account");

    // A recovery code works once.
    b.sign_out("corp").await;
    b.sign_in("corp", "ann@corp.test", PASSWORD).await;
    let typed = recovery[3].to_uppercase().replace('-', " ");
    let r = post_mfa(&b, "corp", "recovery_code", &typed, false).await;
    assert_eq!(r.expect_see_other(), "/t/corp/account");
    b.sign_out("corp").await;
    b.sign_in("corp", "ann@corp.test", PASSWORD).await;
    let r = post_mfa(&b, "corp", "recovery_code", &recovery[3], false).await;
    assert_eq!(r.status, 401, "a recovery code is single use: {}", r.text());

    // The admin API lists the factor (no secret) and the codes left; reset removes them.
    let factors = api
        .get(&format!("/tenants/corp/users/{uid}/factors"))
        .await
        .expect(200);
    assert_eq!(
        factors["items"].as_array().expect("items").len(),
        1,
        "{factors}"
    );
    assert_eq!(factors["items"][0]["kind"], "totp");
    assert_eq!(factors["items"][0]["name"], "Phone");
    assert_eq!(factors["recovery_codes_left"], 9);
    assert!(!factors.to_string().contains("secret"), "{factors}");
    let reset = api
        .delete(&format!("/tenants/corp/users/{uid}/factors"))
        .await
        .expect(200);
    assert_eq!(reset["removed"], 1);
    // Without a factor and with MFA required, the next sign-in enrols again.
    let b2 = server.browser();
    let r = b2.sign_in("corp", "ann@corp.test", PASSWORD).await;
    assert_eq!(r.expect_see_other(), "/t/corp/login/mfa/enroll");

    // Every step is in the audit trail.
    let audit = api.get("/tenants/corp/audit?limit=200").await.expect(200);
    let types: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    for t in [
        "mfa.enrolled",
        "mfa.recovery_codes_generated",
        "mfa.verified",
        "mfa.failed",
        "mfa.reset",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    drop(server);
}

async fn second_factor_bad_input_changes_nothing(backend: Backend) {
    if !has_python() {
        return;
    }
    let (_dep, server, api) = crate::harness::start(backend).await;
    api.create_tenant("corp", "workforce").await;
    let user = api
        .create_user("corp", "bo@corp.test", Some(PASSWORD))
        .await;
    let uid = user["id"].as_str().expect("id").to_string();

    // Without a flow, the MFA pages say the sign-in expired.
    let b = server.browser();
    assert_eq!(b.get("/t/corp/login/mfa").await.status, 400);
    assert_eq!(b.get("/t/corp/login/mfa/enroll").await.status, 400);
    let r = b
        .post_form(
            "/t/corp/login/mfa",
            &[("method", "totp"), ("code", "123456")],
        )
        .await;
    assert_eq!(r.status, 400);

    // Enrol through the security page (MFA optional: the user opts in).
    b.sign_in_ok("corp", "bo@corp.test", PASSWORD).await;
    let page = b.get("/t/corp/account/security").await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    let uri = link_href(&html, "totp-uri").expect("a fresh session may add a factor");
    let factor_id = hidden_input(&html, "factor_id").expect("factor id");
    let token = hidden_input(&html, "csrf_token").expect("csrf");
    // Wrong CSRF token: refused, nothing enrolled.
    let t0 = now();
    let codes = pyotp_codes(&uri, &[t0, t0 + 30]).await;
    let r = b
        .post_form(
            "/t/corp/account/security",
            &[
                ("csrf_token", "forged"),
                ("action", "confirm_totp"),
                ("factor_id", &factor_id),
                ("code", &codes[0]),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = b
        .post_form(
            "/t/corp/account/security",
            &[
                ("csrf_token", &token),
                ("action", "confirm_totp"),
                ("factor_id", &factor_id),
                ("code", &codes[0]),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        element_text(&r.text(), "recovery-codes").is_some(),
        "codes shown once"
    );

    // Sign in again: a second factor is now asked. Bad input on its form changes nothing.
    b.sign_out("corp").await;
    let r = b.sign_in("corp", "bo@corp.test", PASSWORD).await;
    assert_eq!(r.expect_see_other(), "/t/corp/login/mfa");
    let r = b
        .post_raw(
            "/t/corp/login/mfa",
            "application/x-www-form-urlencoded",
            vec![0xff, 0xfe, b'='],
        )
        .await;
    assert!(matches!(r.status, 400 | 403), "{}", r.status);
    let r = b
        .post_form(
            "/t/corp/login/mfa",
            &[("csrf_token", "x"), ("method", "totp"), ("code", &codes[1])],
        )
        .await;
    assert_eq!(r.status, 403, "wrong CSRF");
    let r = post_mfa(&b, "corp", "email_code", "123456", false).await;
    assert_eq!(
        r.status,
        400,
        "a factor the tenant does not offer: {}",
        r.text()
    );
    let r = post_mfa(&b, "corp", "totp", &"9".repeat(5000), false).await;
    assert_eq!(r.status, 401);
    assert!(r.set_cookie("tessera_session").is_none());
    // Wrong codes up to the limit end the flow.
    for _ in 0..3 {
        let r = post_mfa(&b, "corp", "totp", "000000", false).await;
        assert_eq!(r.status, 401, "{}", r.text());
    }
    let r = post_mfa(&b, "corp", "totp", "000000", false).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(
        b.get("/t/corp/login/mfa").await.status,
        400,
        "the flow is gone"
    );
    assert_eq!(b.account_email("corp").await, None);
    // A new sign-in (the password is known) does not buy new guesses: the account's second
    // factor is throttled across sign-ins, even for the right code.
    let r = b.sign_in("corp", "bo@corp.test", PASSWORD).await;
    assert_eq!(r.expect_see_other(), "/t/corp/login/mfa");
    let r = post_mfa(&b, "corp", "totp", "000000", false).await;
    assert_eq!(r.status, 401, "{}", r.text());
    let r = post_mfa(&b, "corp", "totp", &codes[1], false).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.header("retry-after").is_some());
    assert!(
        unescape(&r.text()).contains("Too many wrong codes"),
        "{}",
        r.text()
    );
    // With second factors switched off for the tenant, the password is enough again.
    set_settings(&api, "corp", |s| s["mfa"]["enabled"] = json!(false)).await;
    let off = server.browser();
    off.sign_in_ok("corp", "bo@corp.test", PASSWORD).await;
    let bad = api
        .patch(
            "/tenants/corp",
            &json!({"settings": {"mfa_required": true, "mfa": {"enabled": false}}}),
        )
        .await;
    assert_eq!(
        bad.status,
        400,
        "required and off contradict: {}",
        bad.text()
    );
    set_settings(&api, "corp", |s| s["mfa"]["enabled"] = json!(true)).await;
    // The factor is still there, unchanged.
    let factors = api
        .get(&format!("/tenants/corp/users/{uid}/factors"))
        .await
        .expect(200);
    assert_eq!(factors["items"].as_array().expect("items").len(), 1);

    // Without a session the security page's forms lead to the sign-in page.
    let b3 = server.browser();
    let r = b3
        .post_form("/t/corp/account/security", &[("action", "recovery_codes")])
        .await;
    assert_eq!(
        r.expect_see_other().split('?').next(),
        Some("/t/corp/login")
    );
    drop(server);
}

async fn start_customer_with_sink(backend: Backend, sink: &SmtpSink) -> (Deployment, Server, Api) {
    let dep = Deployment::new(backend);
    let env = sink.env();
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = dep.start_with(&extra).await;
    let api = server.admin_api().await;
    api.create_tenant("shop", "customer").await;
    (dep, server, api)
}

async fn ask_code(b: &Browser, email: &str) -> crate::harness::http::Resp {
    let page = b.get("/t/shop/login/email").await;
    assert_eq!(page.status, 200, "{}", page.text());
    let token = hidden_input(&page.text(), "csrf_token").expect("csrf");
    b.post_form(
        "/t/shop/login/email",
        &[("csrf_token", &token), ("action", "send"), ("email", email)],
    )
    .await
}

fn code_and_link(text: &str) -> (String, String) {
    let code = text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("a 6-digit code in the mail")
        .to_string();
    let link = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("http") && l.contains("/login/email/link?token="))
        .expect("a sign-in link in the mail")
        .to_string();
    (code, link)
}

async fn passwordless_email_code_and_magic_link(backend: Backend) {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let (_dep, server, api) = start_customer_with_sink(backend, &sink).await;
    api.create_user("shop", "cat@shop.test", None).await;

    // An emailed code signs in without a password.
    let b = server.browser();
    let r = ask_code(&b, "cat@shop.test").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let sent_page = unescape(&r.text());
    let mail = sink.wait_for("cat@shop.test", WAIT).await;
    assert!(mail.subject.contains("sign-in code"), "{}", mail.subject);
    let (code, link) = code_and_link(&mail.text);
    let token = hidden_input(&r.text(), "csrf_token").expect("csrf");
    let r = b
        .post_form(
            "/t/shop/login/email",
            &[
                ("csrf_token", &token),
                ("action", "verify"),
                ("code", "000000"),
            ],
        )
        .await;
    assert_eq!(r.status, 401);
    let r = b
        .post_form(
            "/t/shop/login/email",
            &[
                ("csrf_token", &token),
                ("action", "verify"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(r.expect_see_other(), "/t/shop/account");
    assert_eq!(
        b.account_email("shop").await.as_deref(),
        Some("cat@shop.test")
    );
    // The link of that mail is spent with its flow.
    let path = link
        .split_once("/t/shop")
        .map(|(_, p)| format!("/t/shop{p}"))
        .expect("path");
    let token_value = path.split("token=").nth(1).expect("token").to_string();
    let lp = b.get(&path).await;
    assert_eq!(lp.status, 200, "GET only shows a button (mail scanners)");
    let csrf = hidden_input(&lp.text(), "csrf_token").expect("csrf");
    let r = b
        .post_form(
            "/t/shop/login/email/link",
            &[("csrf_token", &csrf), ("token", &token_value)],
        )
        .await;
    assert_eq!(r.status, 400, "a used link is refused: {}", r.text());

    // An unknown address gets the same page and no mail.
    let stranger = server.browser();
    let r = ask_code(&stranger, "nobody@shop.test").await;
    assert_eq!(r.status, 200);
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("csrf_token"))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("nobody@shop.test", "X")
            .replace("cat@shop.test", "X")
    };
    assert_eq!(
        strip(&unescape(&r.text())),
        strip(&sent_page),
        "same answer for unknown addresses"
    );

    // A magic link signs in, only in the browser that asked for it.
    let c = server.browser();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = sink.received().len();
    ask_code(&c, "cat@shop.test").await;
    let mail = crate::harness::poll_until("a second mail", WAIT, || async {
        let all = sink.received();
        (all.len() > before).then(|| all.last().cloned()).flatten()
    })
    .await;
    let (_, link) = code_and_link(&mail.text);
    let path = link
        .split_once("/t/shop")
        .map(|(_, p)| format!("/t/shop{p}"))
        .expect("path");
    let token_value = path.split("token=").nth(1).expect("token").to_string();
    let other = server.browser();
    let lp = other.get(&path).await;
    let csrf = hidden_input(&lp.text(), "csrf_token").expect("csrf");
    let r = other
        .post_form(
            "/t/shop/login/email/link",
            &[("csrf_token", &csrf), ("token", &token_value)],
        )
        .await;
    assert_eq!(r.status, 400, "another browser cannot use the link");
    assert!(unescape(&r.text()).contains("same browser"), "{}", r.text());
    let lp = c.get(&path).await;
    let csrf = hidden_input(&lp.text(), "csrf_token").expect("csrf");
    let r = c
        .post_form(
            "/t/shop/login/email/link",
            &[("csrf_token", &csrf), ("token", &token_value)],
        )
        .await;
    assert_eq!(r.expect_see_other(), "/t/shop/account");
    assert_eq!(
        c.account_email("shop").await.as_deref(),
        Some("cat@shop.test")
    );
    // Garbage tokens are a clear 400.
    let r = c
        .post_form(
            "/t/shop/login/email/link",
            &[("csrf_token", &csrf), ("token", &"x".repeat(300))],
        )
        .await;
    assert_eq!(r.status, 400);
    drop(server);
}

async fn email_second_factor_remember_device_and_step_up(backend: Backend) {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let (_dep, server, api) = start_customer_with_sink(backend, &sink).await;
    let user = api
        .create_user("shop", "dan@shop.test", Some(PASSWORD))
        .await;
    let uid = user["id"].as_str().expect("id").to_string();
    api.patch(
        &format!("/tenants/shop/users/{uid}"),
        &json!({"email_verified": true}),
    )
    .await
    .expect(200);
    set_settings(&api, "shop", |s| s["mfa_required"] = json!(true)).await;

    // A verified email is a second factor: no enrolment needed.
    let b = server.browser();
    let r = b.sign_in("shop", "dan@shop.test", PASSWORD).await;
    assert_eq!(r.expect_see_other(), "/t/shop/login/mfa");
    let r = post_mfa(&b, "shop", "send_email", "", false).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mail = sink.wait_for("dan@shop.test", WAIT).await;
    let code = mail
        .text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("code")
        .to_string();
    let r = post_mfa(&b, "shop", "email_code", &code, true).await;
    assert_eq!(r.expect_see_other(), "/t/shop/account");
    assert!(
        r.set_cookie("tessera_device").is_some(),
        "remember this device"
    );
    let methods = session_methods(&api, "shop", &uid).await;
    assert!(
        methods.iter().any(|m| m.contains(&"mfa".into())),
        "{methods:?}"
    );

    // The remembered browser skips the second factor next time.
    b.sign_out("shop").await;
    let r = b.sign_in("shop", "dan@shop.test", PASSWORD).await;
    assert_eq!(r.expect_see_other(), "/t/shop/account");

    // An application asking for a multi-factor acr steps the password-only session up.
    let client = server
        .cli_json(&[
            "client",
            "create",
            "--tenant",
            "shop",
            "--name",
            "bank",
            "--redirect-uri",
            "http://localhost:9/cb",
            "--first-party",
        ])
        .await;
    let client_id = client["client_id"].as_str().expect("client_id");
    let acr = "http%3A%2F%2Fschemas.openid.net%2Fpape%2Fpolicies%2F2007%2F06%2Fmulti-factor";
    let query = format!(
        "response_type=code&client_id={client_id}&redirect_uri=http%3A%2F%2Flocalhost%3A9%2Fcb&scope=openid&state=s1\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&acr_values={acr}"
    );
    let r = b.get(&format!("/t/shop/authorize?{query}")).await;
    let to = r.expect_see_other();
    assert!(to.starts_with("/t/shop/login/mfa/step-up?"), "{to}");
    let r = b.get(&to).await;
    assert_eq!(
        r.expect_see_other(),
        "/t/shop/login/mfa",
        "a remembered device does not skip a step-up"
    );
    drop(server);
}

on_both_backends!(
    totp_enrolment_sign_in_replay_and_recovery_codes,
    second_factor_bad_input_changes_nothing,
    passwordless_email_code_and_magic_link,
    email_second_factor_remember_device_and_step_up,
);
