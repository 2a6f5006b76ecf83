//! The account portal (`{issuer}/account`) end to end, against a real SMTP server (the aiosmtpd
//! sink) and a relying party's back-channel logout endpoint on a loopback port: editing the
//! profile; changing the email address (link to the new address, notice to the old one, the
//! link works once, a taken address is not revealed); changing and setting a password (wrong
//! current password, weak password, other sessions end, a notice is mailed); listing and ending
//! sessions (back-channel logout); downloading the data (no secrets; refused to a stale session,
//! crossed by restarting the server on a later clock); deleting the account at once and after a
//! grace period (the deletion job, and an operator cancelling by enabling the account); and bad
//! input on every form, which is answered with a message and changes nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::smtp::SmtpSink;
use crate::harness::{
    Api, Backend, Browser, Deployment, Resp, Server, element_text, hidden_input, poll_until,
};
use crate::registration::{STRONG, WAIT, events, find_user, link_in, patch_settings, start};

const OLD: &str = "an-old-long-passphrase";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";

/// The account page of a signed-in browser.
async fn account(b: &Browser) -> String {
    let r = b.get("/t/shop/account").await;
    assert_eq!(r.status, 200, "the account page opens: {}", r.text());
    r.text()
}

/// Posts a form of the account portal with the page's CSRF token.
async fn post(b: &Browser, path: &str, fields: &[(&str, &str)]) -> Resp {
    let page = account(b).await;
    let csrf = hidden_input(&page, "csrf_token").expect("the page carries a CSRF token");
    let mut all = fields.to_vec();
    all.push(("csrf_token", &csrf));
    b.post_form(path, &all).await
}

/// Asserts a success: 303 back to the account page with `done`, whose notice then shows.
async fn assert_done(b: &Browser, r: &Resp, done: &str) -> String {
    assert_eq!(
        r.expect_see_other(),
        format!("/t/shop/account?done={done}"),
        "{}",
        r.text()
    );
    let page = b.get(&format!("/t/shop/account?done={done}")).await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        element_text(&html, "notice").is_some(),
        "a notice is shown: {html}"
    );
    html
}

/// Asserts a refusal: `status`, the page again with an error message.
fn assert_refused(r: &Resp, status: u16, needle: &str) {
    assert_eq!(r.status, status, "{}: {}", r.what, r.text());
    let html = r.text();
    assert!(
        html.contains("role=\"alert\""),
        "{}: an error is shown: {html}",
        r.what
    );
    assert!(
        crate::harness::http::unescape(&html).contains(needle),
        "{}: {needle:?} in {html}",
        r.what
    );
}

async fn user_json(api: &Api, id: &str) -> Value {
    api.get(&format!("/tenants/shop/users/{id}"))
        .await
        .expect(200)
}

async fn new_user(api: &Api, email: &str, password: Option<&str>) -> String {
    api.create_user("shop", email, password).await["id"]
        .as_str()
        .expect("an id")
        .to_string()
}

/// A signed-in browser for `email`.
async fn signed_in(server: &Server, email: &str, password: &str) -> Browser {
    let b = server.browser();
    b.sign_in_ok("shop", email, password).await;
    b
}

/// The ids of the sessions listed on the account page, the current one first.
fn listed_sessions(html: &str) -> (Option<String>, Vec<String>) {
    let mut current = None;
    let mut all = Vec::new();
    for part in html.split("data-session-id=\"").skip(1) {
        let id = part.split('"').next().expect("an id").to_string();
        let tag_end = part.find('>').expect("the tag ends");
        if part[..tag_end].contains("data-current=\"true\"") {
            current = Some(id.clone());
        }
        all.push(id);
    }
    (current, all)
}

// ---------------------------------------------------------------------------------------------
// A relying party's back-channel logout endpoint.

/// Records the logout tokens POSTed to it (payloads decoded) and answers 200.
struct LogoutReceiver {
    url: String,
    tokens: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LogoutReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LogoutReceiver {
    async fn start() -> LogoutReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port can be bound");
        let port = listener.local_addr().expect("an address").port();
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let shared = tokens.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    let (head_end, length) = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                            let length = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            break (i + 4, length);
                        }
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    while buf.len() < head_end + length {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
                    let token = body
                        .split('&')
                        .find_map(|p| p.strip_prefix("logout_token="))
                        .unwrap_or("");
                    if let Some(payload) = token.split('.').nth(1)
                        && let Ok(bytes) = URL_SAFE_NO_PAD.decode(payload)
                        && let Ok(v) = serde_json::from_slice::<Value>(&bytes)
                    {
                        shared.lock().expect("not poisoned").push(v);
                    }
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        LogoutReceiver {
            url: format!("http://127.0.0.1:{port}/backchannel-logout"),
            tokens,
            task,
        }
    }

    fn received(&self) -> Vec<Value> {
        self.tokens.lock().expect("not poisoned").clone()
    }

    /// Waits for a logout token for the session `sid`; returns its claims.
    async fn wait_for_sid(&self, sid: &str) -> Value {
        poll_until(
            &format!("a back-channel logout token for session {sid}"),
            Duration::from_secs(30),
            || {
                let found = self.received().into_iter().find(|t| t["sid"] == sid);
                async move { found }
            },
        )
        .await
    }
}

/// A first-party application with a back-channel logout endpoint.
async fn relying_party(api: &Api, receiver: &LogoutReceiver) -> String {
    let c = api
        .post(
            "/tenants/shop/clients",
            &json!({
                "name": "Shop app",
                "redirect_uris": [REDIRECT_URI],
                "first_party": true,
                "metadata": {"backchannel_logout_uri": receiver.url},
            }),
        )
        .await
        .expect(201);
    c["client_id"].as_str().expect("client_id").to_string()
}

/// The signed-in browser signs in to the application (an authorization code is issued), so its
/// session is one the application must hear about when it ends.
async fn sign_in_to_app(b: &Browser, client_id: &str) {
    let q = serde_json::from_value::<BTreeMap<String, String>>(json!({
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
        "scope": "openid", "state": "s1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }))
    .expect("a map");
    let query: Vec<String> = q
        .iter()
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    let mut r = b
        .get(&format!("/t/shop/authorize?{}", query.join("&")))
        .await;
    if r.status == 200 {
        // A consent page (third-party application): allow.
        let html = r.text();
        let csrf = hidden_input(&html, "csrf_token").expect("consent csrf");
        let req = hidden_input(&html, "req").expect("consent request");
        r = b
            .post_form(
                "/t/shop/authorize/consent",
                &[("csrf_token", &csrf), ("req", &req), ("decision", "allow")],
            )
            .await;
    }
    // The authorization endpoint answers the application with 302 Found.
    assert!(
        matches!(r.status, 302 | 303),
        "{}: {} {}",
        r.what,
        r.status,
        r.text()
    );
    let to = r.header("location").unwrap_or_default();
    assert!(
        to.starts_with(&format!("{REDIRECT_URI}?code=")),
        "the application gets a code: {to}"
    );
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// TOTP, to enrol a real factor (RFC 6238 with SHA-1, 6 digits, 30 s).

fn base32_decode(s: &str) -> Vec<u8> {
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| !matches!(c, b' ' | b'=')) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {s}"),
        };
        bits = (bits << 5) | u64::from(v);
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

fn totp(secret: &str, unix: u64) -> String {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &base32_decode(secret));
    let tag = hmac::sign(&key, &(unix / 30).to_be_bytes());
    let h = tag.as_ref();
    let o = usize::from(h[19] & 0x0f);
    let bin = (u32::from(h[o] & 0x7f) << 24)
        | (u32::from(h[o + 1]) << 16)
        | (u32::from(h[o + 2]) << 8)
        | u32::from(h[o + 3]);
    format!("{:06}", bin % 1_000_000)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Restarts the deployment's server `offset_secs` in the future, keeping its public URL and its
/// mail server.
async fn later(dep: &Deployment, mut server: Server, sink: &SmtpSink, offset_secs: i64) -> Server {
    let public_url = server.public_url.clone();
    server.stop().await;
    let offset = offset_secs.to_string();
    let smtp = sink.url();
    dep.start_with(&[
        ("TESSERA_PUBLIC_URL", public_url.as_str()),
        ("TESSERA_TEST_CLOCK_OFFSET_SECS", offset.as_str()),
        ("TESSERA_SMTP_URL", smtp.as_str()),
    ])
    .await
}

// ---------------------------------------------------------------------------------------------
// Scenarios

async fn profile_is_edited_and_bad_input_changes_nothing(backend: Backend) {
    let Some((_sink, _dep, server, api)) = start(backend).await else {
        return;
    };
    patch_settings(&api, "shop", |s| {
        s["registration"]["fields"]["given_name"] = json!("optional");
        s["registration"]["fields"]["family_name"] = json!("required");
        s["registration"]["fields"]["phone"] = json!("optional");
    })
    .await;
    let id = new_user(&api, "ann@shop.test", Some(OLD)).await;
    // Signed out: the page and its forms lead to sign-in.
    let anon = server.browser();
    let r = anon.get("/t/shop/account").await;
    assert!(r.expect_see_other().starts_with("/t/shop/login?return_to="));
    let r = anon
        .post_form("/t/shop/account/profile", &[("name", "Mallory")])
        .await;
    assert!(r.expect_see_other().starts_with("/t/shop/login"));

    let b = signed_in(&server, "ann@shop.test", OLD).await;
    let r = b.get("/t/shop/account").await;
    assert_eq!(r.status, 200);
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = r.text();
    // Accessible structure; nothing inline for the CSP to refuse.
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("<h1>Your account</h1>"));
    for heading in [
        "profile-heading",
        "email-heading",
        "password-heading",
        "sessions-heading",
        "apps-heading",
        "data-heading",
        "delete-heading",
    ] {
        assert!(
            html.contains(&format!("<h2 id=\"{heading}\">")),
            "{heading}"
        );
    }
    assert!(
        crate::harness::http::unescape(&html).contains("href=\"/t/shop/account/security\""),
        "{html}"
    );
    assert!(
        !html.contains("<script") && !html.contains("style="),
        "{html}"
    );
    for input in [
        "profile-name",
        "profile-given_name",
        "profile-family_name",
        "profile-phone",
    ] {
        assert!(
            html.contains(&format!("<label for=\"{input}\">")),
            "every field is labelled: {input}"
        );
    }
    // In German when the browser asks for it.
    let de = b
        .get_with_headers("/t/shop/account", &[("accept-language", "de-DE,de;q=0.9")])
        .await;
    assert_eq!(de.status, 200);
    let de = de.text();
    assert!(de.contains("<html lang=\"de\">"), "{de}");
    assert!(de.contains("<h1>Ihr Konto</h1>"), "{de}");
    assert!(de.contains("Sitzungen und Geräte"), "{de}");

    // Saved, with the person as the actor.
    let r = post(
        &b,
        "/t/shop/account/profile",
        &[
            ("name", "Ann Example"),
            ("given_name", "Ann"),
            ("family_name", "Example"),
            ("phone", "+49 30 1234567"),
        ],
    )
    .await;
    let html = assert_done(&b, &r, "profile").await;
    assert!(html.contains("value=\"Ann Example\""), "{html}");
    let u = user_json(&api, &id).await;
    assert_eq!(
        (&u["name"], &u["given_name"], &u["family_name"], &u["phone"]),
        (
            &json!("Ann Example"),
            &json!("Ann"),
            &json!("Example"),
            &json!("+49 30 1234567")
        )
    );
    let updated = events(&api, "shop", "user.updated").await;
    assert!(
        updated
            .iter()
            .any(|e| e["data"]["actor"] == json!({"kind": "user", "id": id})
                && e["data"]["changes"]["name"]["redacted"] == true),
        "{updated:?}"
    );
    // An optional field can be cleared.
    let r = post(
        &b,
        "/t/shop/account/profile",
        &[
            ("name", "Ann Example"),
            ("given_name", "Ann"),
            ("family_name", "Example"),
            ("phone", ""),
        ],
    )
    .await;
    assert_done(&b, &r, "profile").await;
    assert_eq!(user_json(&api, &id).await["phone"], Value::Null);

    // Bad input: a message, and nothing changes.
    let before = user_json(&api, &id).await;
    let long = "x".repeat(201);
    let full = |name: &'static str, value: &str| {
        let mut f = vec![
            ("name", "Ann Changed".to_string()),
            ("given_name", "Ann".to_string()),
            ("family_name", "Example".to_string()),
            ("phone", String::new()),
        ];
        for (k, v) in f.iter_mut() {
            if *k == name {
                *v = value.to_string();
            }
        }
        f
    };
    for (fields, needle) in [
        (
            full("name", &long),
            "Full name can have at most 200 characters.",
        ),
        (full("family_name", ""), "Last name cannot be empty."),
        (full("phone", "call me maybe"), "Enter a phone number"),
        (
            full("given_name", "A\u{7}nn"),
            "cannot contain line breaks or other control characters",
        ),
    ] {
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post(&b, "/t/shop/account/profile", &f).await;
        assert_refused(&r, 400, needle);
        assert!(
            r.text().contains("aria-invalid=\"true\""),
            "the field is marked: {}",
            r.text()
        );
    }
    // A missing field: the form is incomplete.
    let r = post(&b, "/t/shop/account/profile", &[("name", "Only Name")]).await;
    assert_refused(&r, 400, "The form is incomplete");
    // Wrong or missing CSRF token.
    let r = b
        .post_form(
            "/t/shop/account/profile",
            &[
                ("name", "Forged"),
                ("given_name", "F"),
                ("family_name", "F"),
                ("phone", ""),
                ("csrf_token", "forged"),
            ],
        )
        .await;
    assert_refused(&r, 403, "This form has expired");
    let r = b
        .post_form("/t/shop/account/profile", &[("name", "Forged")])
        .await;
    assert_refused(&r, 403, "This form has expired");
    // A garbled body carries no valid token; an oversized one is refused before it is read.
    let r = b
        .post_raw(
            "/t/shop/account/profile",
            "application/x-www-form-urlencoded",
            b"%zz=%%%&&==".to_vec(),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let huge = format!("name={}", "n".repeat(70_000));
    let r = b
        .post_raw(
            "/t/shop/account/profile",
            "application/x-www-form-urlencoded",
            huge.into_bytes(),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(user_json(&api, &id).await, before, "nothing changed");
}

async fn email_change_needs_the_new_address(backend: Backend) {
    let Some((sink, _dep, server, api)) = start(backend).await else {
        return;
    };
    let id = new_user(&api, "bob@shop.test", Some(OLD)).await;
    new_user(&api, "carl@shop.test", Some(OLD)).await;
    let b = signed_in(&server, "bob@shop.test", OLD).await;

    // Bad input first: a message, nothing sent, nothing changed.
    let long = format!("{}@shop.test", "b".repeat(250));
    for (email, needle) in [
        ("", "Enter a valid email address"),
        ("not-an-email", "Enter a valid email address"),
        ("bob@@shop.test", "Enter a valid email address"),
        (long.as_str(), "at most 254 characters"),
        ("BOB@shop.test", "already your email address"),
    ] {
        let r = post(&b, "/t/shop/account/email", &[("email", email)]).await;
        assert_refused(&r, 400, needle);
    }
    let r = b
        .post_form(
            "/t/shop/account/email",
            &[("email", "bob.new@shop.test"), ("csrf_token", "forged")],
        )
        .await;
    assert_refused(&r, 403, "This form has expired");

    // The change: a link to the new address, a notice to the old one.
    let r = post(
        &b,
        "/t/shop/account/email",
        &[("email", "bob.new@shop.test")],
    )
    .await;
    assert_done(&b, &r, "email").await;
    let mail = sink.wait_for("bob.new@shop.test", WAIT).await;
    assert_eq!(mail.subject, "Confirm your new email address for Shop");
    let link = link_in(&mail, &server, "account/email/confirm");
    let notice = sink.wait_for("bob@shop.test", WAIT).await;
    assert_eq!(notice.subject, "Your Shop email address is being changed");
    assert!(notice.text.contains("bob.new@shop.test"), "{}", notice.text);
    assert_eq!(
        user_json(&api, &id).await["email"],
        "bob@shop.test",
        "nothing changes before the link is used"
    );
    // Nothing was sent for the refused forms.
    assert_eq!(sink.received().len(), 2, "{:?}", sink.received());

    // Opening the link changes nothing; the button does, in any browser.
    let phone = server.browser();
    let page = phone.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let token = hidden_input(&page.text(), "token").expect("the token");
    let csrf = hidden_input(&page.text(), "csrf_token").expect("csrf");
    let r = phone
        .post_form(
            "/t/shop/account/email/confirm",
            &[("token", &token), ("csrf_token", "forged")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(user_json(&api, &id).await["email"], "bob@shop.test");
    let r = phone
        .post_form(
            "/t/shop/account/email/confirm",
            &[("token", &token), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        element_text(&r.text(), "changed-email").as_deref(),
        Some("bob.new@shop.test")
    );
    let u = user_json(&api, &id).await;
    assert_eq!(
        (&u["email"], &u["email_verified"]),
        (&json!("bob.new@shop.test"), &json!(true))
    );
    // The link works once.
    assert_eq!(phone.get(&link).await.status, 400);
    let r = phone
        .post_form(
            "/t/shop/account/email/confirm",
            &[("token", &token), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("can no longer be used"), "{}", r.text());
    let r = phone
        .post_form(
            "/t/shop/account/email/confirm",
            &[("token", &"x".repeat(500)), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status, 400);
    // Signing in: the new address works, the old one no longer does.
    signed_in(&server, "bob.new@shop.test", OLD).await;
    assert_eq!(
        server
            .browser()
            .sign_in("shop", "bob@shop.test", OLD)
            .await
            .status,
        401
    );
    assert_eq!(
        events(&api, "shop", "user.email_change_requested")
            .await
            .len(),
        1
    );

    // An address another account has: the same answer; that address is told, and the link
    // that would reveal it never exists.
    let b = signed_in(&server, "bob.new@shop.test", OLD).await;
    let r = post(&b, "/t/shop/account/email", &[("email", "Carl@shop.test")]).await;
    assert_done(&b, &r, "email").await;
    let taken = sink.wait_for("carl@shop.test", WAIT).await;
    assert_eq!(taken.subject, "This address already has a Shop account");
    assert!(
        !taken.text.contains("account/email/confirm"),
        "{}",
        taken.text
    );
    let notice = sink.wait_for("bob.new@shop.test", WAIT).await;
    assert_eq!(notice.subject, "Your Shop email address is being changed");
    assert_eq!(user_json(&api, &id).await["email"], "bob.new@shop.test");
    assert!(find_user(&api, "shop", "carl@shop.test").await.is_some());

    // Securing the account by changing the password cancels a pending change.
    let r = post(
        &b,
        "/t/shop/account/email",
        &[("email", "bob.third@shop.test")],
    )
    .await;
    assert_done(&b, &r, "email").await;
    let mail = sink.wait_for("bob.third@shop.test", WAIT).await;
    let pending = link_in(&mail, &server, "account/email/confirm");
    sink.wait_for("bob.new@shop.test", WAIT).await;
    assert_eq!(server.browser().get(&pending).await.status, 200);
    let r = post(
        &b,
        "/t/shop/account/password",
        &[("current_password", OLD), ("new_password", STRONG)],
    )
    .await;
    assert_done(&b, &r, "password").await;
    assert_eq!(server.browser().get(&pending).await.status, 400);
    assert_eq!(user_json(&api, &id).await["email"], "bob.new@shop.test");
}

async fn password_change_ends_other_sessions(backend: Backend) {
    let Some((sink, _dep, server, api)) = start(backend).await else {
        return;
    };
    let id = new_user(&api, "dan@shop.test", Some(OLD)).await;
    let b = signed_in(&server, "dan@shop.test", OLD).await;
    let elsewhere = signed_in(&server, "dan@shop.test", OLD).await;
    let hash_before = user_json(&api, &id).await["updated_at"].clone();

    for (fields, status, needle) in [
        (
            vec![
                ("current_password", "wrong-password-1"),
                ("new_password", STRONG),
            ],
            400,
            "Your current password is not right.",
        ),
        (
            vec![("current_password", OLD)],
            400,
            "Enter a new password.",
        ),
        (
            vec![("new_password", STRONG)],
            400,
            "Enter your current password.",
        ),
        (
            vec![("current_password", OLD), ("new_password", "Password1")],
            400,
            "This password is on a list of commonly used passwords.",
        ),
        (
            vec![("current_password", OLD), ("new_password", "password123")],
            400,
            "This password is too easy to guess.",
        ),
        (
            vec![("current_password", OLD), ("new_password", "short")],
            400,
            "at least 8 characters",
        ),
    ] {
        let r = post(&b, "/t/shop/account/password", &fields).await;
        assert_refused(&r, status, needle);
        assert!(!r.text().contains(STRONG), "passwords are never echoed");
    }
    let long = "y".repeat(1025);
    let r = post(
        &b,
        "/t/shop/account/password",
        &[("current_password", OLD), ("new_password", &long)],
    )
    .await;
    assert_eq!(r.status, 400);
    let r = b
        .post_form(
            "/t/shop/account/password",
            &[
                ("current_password", OLD),
                ("new_password", STRONG),
                ("csrf_token", "forged"),
            ],
        )
        .await;
    assert_refused(&r, 403, "This form has expired");
    assert_eq!(user_json(&api, &id).await["updated_at"], hash_before);
    assert!(elsewhere.account_email("shop").await.is_some());
    assert!(
        events(&api, "shop", "user.password_changed")
            .await
            .iter()
            .all(|e| e["data"]["outcome"] == "failure"),
        "only the wrong current password was recorded"
    );

    let r = post(
        &b,
        "/t/shop/account/password",
        &[("current_password", OLD), ("new_password", STRONG)],
    )
    .await;
    assert_done(&b, &r, "password").await;
    assert!(
        b.account_email("shop").await.is_some(),
        "this session stays"
    );
    assert!(
        elsewhere.account_email("shop").await.is_none(),
        "the other session ended"
    );
    assert_eq!(
        server
            .browser()
            .sign_in("shop", "dan@shop.test", OLD)
            .await
            .status,
        401,
        "the old password is refused"
    );
    signed_in(&server, "dan@shop.test", STRONG).await;
    let notice = sink.wait_for("dan@shop.test", WAIT).await;
    assert_eq!(notice.subject, "Your Shop password was changed");
    let changed = events(&api, "shop", "user.password_changed").await;
    assert!(
        changed.iter().any(|e| e["data"]["outcome"] == "success"
            && e["data"]["actor"] == json!({"kind": "user", "id": id})),
        "{changed:?}"
    );
    let revoked = events(&api, "shop", "session.revoked").await;
    assert!(
        revoked
            .iter()
            .any(|e| e["data"]["reason"] == "password_changed"),
        "{revoked:?}"
    );

    // An account without a password sets one (its sign-in is recent), without a current one.
    let pid = new_user(&api, "pat@shop.test", None).await;
    let p = server.browser();
    let page = p.get("/t/shop/login/email").await;
    let csrf = hidden_input(&page.text(), "csrf_token").expect("csrf");
    let r = p
        .post_form(
            "/t/shop/login/email",
            &[
                ("csrf_token", &csrf),
                ("action", "send"),
                ("email", "pat@shop.test"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mail = sink.wait_for("pat@shop.test", WAIT).await;
    let code = mail
        .text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|c| c.is_ascii_digit()))
        .expect("a code")
        .to_string();
    let csrf = hidden_input(&r.text(), "csrf_token").expect("csrf");
    let r = p
        .post_form(
            "/t/shop/login/email",
            &[("csrf_token", &csrf), ("action", "verify"), ("code", &code)],
        )
        .await;
    assert_eq!(r.expect_see_other(), "/t/shop/account");
    let html = account(&p).await;
    assert!(
        !html.contains("current-password"),
        "no current password asked"
    );
    assert!(html.contains("Set a password"));
    let r = post(&p, "/t/shop/account/password", &[("new_password", "pat")]).await;
    assert_refused(&r, 400, "at least 8 characters");
    let r = post(&p, "/t/shop/account/password", &[("new_password", STRONG)]).await;
    assert_done(&p, &r, "password_set").await;
    signed_in(&server, "pat@shop.test", STRONG).await;
    assert!(find_user(&api, "shop", "pat@shop.test").await.is_some());
    let _ = pid;
}

async fn sessions_are_listed_and_ended_with_backchannel_logout(backend: Backend) {
    let Some((_sink, _dep, server, api)) = start(backend).await else {
        return;
    };
    let receiver = LogoutReceiver::start().await;
    let client_id = relying_party(&api, &receiver).await;
    let id = new_user(&api, "eve@shop.test", Some(OLD)).await;
    let b = signed_in(&server, "eve@shop.test", OLD).await;
    let other = signed_in(&server, "eve@shop.test", OLD).await;
    sign_in_to_app(&other, &client_id).await;
    let stranger_id = new_user(&api, "sam@shop.test", Some(OLD)).await;
    let stranger = signed_in(&server, "sam@shop.test", OLD).await;

    let html = account(&b).await;
    let (current, all) = listed_sessions(&html);
    assert_eq!(all.len(), 2, "{html}");
    let current = current.expect("this device is marked");
    assert!(html.contains("this device"));
    assert!(html.contains("IP address 127.0.0.1"), "{html}");
    let other_sid = all
        .iter()
        .find(|s| **s != current)
        .expect("the other")
        .clone();
    let stranger_sid = listed_sessions(&account(&stranger).await).0.expect("sam's");

    // Bad input: nothing ends.
    for (sid, status, needle) in [
        ("", 400, "Choose a session"),
        ("not-a-session", 400, "Choose a session"),
        (current.as_str(), 400, "to end it, sign out"),
        (stranger_sid.as_str(), 404, "already ended"),
        ("00000000-0000-4000-8000-000000000000", 404, "already ended"),
    ] {
        let r = post(
            &b,
            "/t/shop/account/sessions/revoke",
            &[("session_id", sid)],
        )
        .await;
        assert_refused(&r, status, needle);
    }
    let r = b
        .post_form(
            "/t/shop/account/sessions/revoke",
            &[("session_id", &other_sid), ("csrf_token", "forged")],
        )
        .await;
    assert_refused(&r, 403, "This form has expired");
    assert!(other.account_email("shop").await.is_some());
    assert!(stranger.account_email("shop").await.is_some());

    // Ending the other session: the application hears of it.
    let r = post(
        &b,
        "/t/shop/account/sessions/revoke",
        &[("session_id", &other_sid)],
    )
    .await;
    assert_done(&b, &r, "session").await;
    assert!(other.account_email("shop").await.is_none());
    assert!(b.account_email("shop").await.is_some());
    let token = receiver.wait_for_sid(&other_sid).await;
    assert_eq!(token["sub"], id);
    assert_eq!(token["aud"], client_id);
    assert!(
        token["events"]
            .get("http://schemas.openid.net/event/backchannel-logout")
            .is_some(),
        "{token}"
    );
    let revoked = events(&api, "shop", "session.revoked").await;
    assert!(
        revoked
            .iter()
            .any(|e| e["data"]["reason"] == "revoked_by_user"
                && e["data"]["session_id"] == other_sid),
        "{revoked:?}"
    );

    // All others at once.
    let third = signed_in(&server, "eve@shop.test", OLD).await;
    let fourth = signed_in(&server, "eve@shop.test", OLD).await;
    assert_eq!(listed_sessions(&account(&b).await).1.len(), 3);
    let r = post(&b, "/t/shop/account/sessions/revoke-others", &[]).await;
    assert_done(&b, &r, "sessions").await;
    assert!(third.account_email("shop").await.is_none());
    assert!(fourth.account_email("shop").await.is_none());
    assert!(b.account_email("shop").await.is_some());
    assert!(
        stranger.account_email("shop").await.is_some(),
        "others' sessions are untouched"
    );
    let _ = stranger_id;

    // Connected applications: an unknown one cannot be removed.
    let r = post(&b, "/t/shop/account/apps/revoke", &[("client_id", "nope")]).await;
    assert_refused(&r, 404, "no access to remove");
    let r = post(&b, "/t/shop/account/apps/revoke", &[("client_id", "")]).await;
    assert_refused(&r, 400, "Choose an application");
}

async fn data_export_holds_everything_but_secrets(backend: Backend) {
    let Some((sink, dep, server, api)) = start(backend).await else {
        return;
    };
    let id = new_user(&api, "fay@shop.test", Some(OLD)).await;
    api.patch(
        &format!("/tenants/shop/users/{id}"),
        &json!({"name": "Fay Export", "attributes": {"member_no": "AB123"}}),
    )
    .await
    .expect(200);
    let group = api
        .post("/tenants/shop/groups", &json!({"name": "Beta testers"}))
        .await
        .expect(201);
    let gid = group["id"].as_str().expect("group id");
    api.put(&format!("/tenants/shop/groups/{gid}/members/{id}"))
        .await
        .expect(204);
    let role = api
        .post(
            "/tenants/shop/roles",
            &json!({"name": "Reviewer", "permissions": ["reviews:write"]}),
        )
        .await
        .expect(201);
    let rid = role["id"].as_str().expect("role id");
    api.post(
        "/tenants/shop/assignments",
        &json!({"role_id": rid, "principal_type": "user", "principal_id": id}),
    )
    .await
    .expect(201);
    // A third-party application the person allowed.
    let app = api
        .post(
            "/tenants/shop/clients",
            &json!({"name": "Reviews", "redirect_uris": [REDIRECT_URI]}),
        )
        .await
        .expect(201);
    let app_id = app["client_id"].as_str().expect("client id").to_string();

    let b = signed_in(&server, "fay@shop.test", OLD).await;
    sign_in_to_app(&b, &app_id).await;
    let html = account(&b).await;
    assert!(
        html.contains("data-client-id=\"") && html.contains("Reviews"),
        "{html}"
    );
    // An authenticator app, enrolled on the security page with a code made here.
    let sec = b.get("/t/shop/account/security").await;
    assert_eq!(sec.status, 200, "{}", sec.text());
    let sec = sec.text();
    let secret = element_text(&sec, "totp-secret").expect("the TOTP key is shown");
    let factor_id = sec
        .split("name=\"factor_id\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the pending factor")
        .to_string();
    let csrf = hidden_input(&sec, "csrf_token").expect("csrf");
    let r = b
        .post_form(
            "/t/shop/account/security",
            &[
                ("csrf_token", &csrf),
                ("action", "confirm_totp"),
                ("factor_id", &factor_id),
                ("name", "Fay's phone"),
                ("code", &totp(&secret, unix_now())),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let r = b.get("/t/shop/account/export").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let disposition = r.header("content-disposition").unwrap_or_default();
    assert!(
        disposition.starts_with("attachment; filename=\"shop-account-data-")
            && disposition.ends_with(".json\""),
        "{disposition}"
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("application/json")
    );
    let text = r.text();
    let doc = r.json();
    assert_eq!(doc["profile"]["id"], id);
    assert_eq!(doc["profile"]["email"], "fay@shop.test");
    assert_eq!(doc["profile"]["name"], "Fay Export");
    assert_eq!(doc["profile"]["email_verified"], false);
    assert_eq!(doc["attributes"]["member_no"], "AB123");
    assert!(doc["terms_acceptance"].is_null());
    let sessions = doc["sessions"].as_array().expect("sessions");
    assert!(
        sessions
            .iter()
            .any(|s| s["current"] == true && s["ip"] == "127.0.0.1")
    );
    let factors = doc["factors"].as_array().expect("factors");
    assert!(
        factors
            .iter()
            .any(|f| f["kind"] == "totp" && f["name"] == "Fay's phone" && f["confirmed"] == true),
        "{factors:?}"
    );
    assert_eq!(doc["recovery_codes_left"], 10);
    assert_eq!(doc["applications"][0]["client_id"], app_id);
    assert_eq!(doc["applications"][0]["scopes"], json!(["openid"]));
    assert_eq!(doc["groups"][0]["name"], "Beta testers");
    assert_eq!(doc["role_assignments"][0]["role"], "Reviewer");
    let types: Vec<&str> = doc["audit_events"]
        .as_array()
        .expect("audit")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    for t in [
        "user.created",
        "signin.succeeded",
        "mfa.enrolled",
        "consent.given",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    assert_eq!(doc["audit_events_truncated"], false);
    // No secrets: not the TOTP key, no token hashes, no password hash.
    let compact: String = secret.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        !text.contains(&compact) && !text.contains(&secret),
        "the TOTP key leaked"
    );
    for needle in ["\"secret\"", "token_hash", "password_hash", "$argon2"] {
        assert!(!text.contains(needle), "{needle} in the export");
    }
    assert_eq!(events(&api, "shop", "user.data_exported").await.len(), 1);

    // Eleven minutes later the session is still alive, but too old for the export.
    new_user(&api, "gil@shop.test", Some(OLD)).await;
    let gil = signed_in(&server, "gil@shop.test", OLD).await;
    let server = later(&dep, server, &sink, 11 * 60).await;
    let gil = gil.at(&server);
    let html = account(&gil).await;
    assert!(html.contains("id=\"reauth-link\""), "{html}");
    assert!(!html.contains("id=\"delete-account\""), "{html}");
    let r = gil.get("/t/shop/account/export").await;
    let to = r.expect_see_other();
    assert!(
        to.starts_with("/t/shop/login?") && to.contains("prompt=login"),
        "{to}"
    );
    assert!(!r.text().contains("\"profile\""));
    let r = post(
        &gil,
        "/t/shop/account/email",
        &[("email", "gil.new@shop.test")],
    )
    .await;
    assert_refused(&r, 403, "confirm it's you");
    let gid = find_user(&api_at(&server).await, "shop", "gil@shop.test")
        .await
        .expect("gil")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = post(
        &gil,
        "/t/shop/account/delete",
        &[("confirm", "gil@shop.test")],
    )
    .await;
    assert_refused(&r, 403, "confirm it's you");
    // Confirming it's you (signing in again) brings the download back.
    let page = gil.get(&to).await;
    assert_eq!(
        page.status,
        200,
        "the sign-in form is shown again: {}",
        page.text()
    );
    let csrf = hidden_input(&page.text(), "csrf_token").expect("csrf");
    let return_to = hidden_input(&page.text(), "return_to").expect("return_to");
    assert_eq!(return_to, "/t/shop/account/export");
    let r = gil
        .post_form(
            "/t/shop/login",
            &[
                ("email", "gil@shop.test"),
                ("password", OLD),
                ("csrf_token", &csrf),
                ("return_to", &return_to),
            ],
        )
        .await;
    assert_eq!(r.expect_see_other(), "/t/shop/account/export");
    let r = gil.get("/t/shop/account/export").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["profile"]["id"], gid);
}

/// An admin API client for a restarted server.
async fn api_at(server: &Server) -> Api {
    server.admin_api().await
}

async fn account_deletion_at_once_and_after_a_grace_period(backend: Backend) {
    let Some((sink, dep, server, api)) = start(backend).await else {
        return;
    };
    let receiver = LogoutReceiver::start().await;
    let client_id = relying_party(&api, &receiver).await;

    // At once (the default).
    let id = new_user(&api, "hal@shop.test", Some(OLD)).await;
    let b = signed_in(&server, "hal@shop.test", OLD).await;
    let other = signed_in(&server, "hal@shop.test", OLD).await;
    sign_in_to_app(&other, &client_id).await;
    let other_sid = listed_sessions(&account(&other).await).0.expect("current");
    let html = account(&b).await;
    assert!(html.contains("deleted at once"), "{html}");
    for (typed, needle) in [
        ("", "Type your email address"),
        ("hal@shop.tes", "not the email address of your account"),
        ("delete", "not the email address of your account"),
    ] {
        let r = post(&b, "/t/shop/account/delete", &[("confirm", typed)]).await;
        assert_refused(&r, 400, needle);
    }
    let r = b
        .post_form(
            "/t/shop/account/delete",
            &[("confirm", "hal@shop.test"), ("csrf_token", "forged")],
        )
        .await;
    assert_refused(&r, 403, "This form has expired");
    user_json(&api, &id).await;
    let r = post(
        &b,
        "/t/shop/account/delete",
        &[("confirm", " HAL@shop.test ")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains("Your account was deleted"),
        "{}",
        r.text()
    );
    api.get(&format!("/tenants/shop/users/{id}"))
        .await
        .expect_error(404, "not_found");
    assert!(b.account_email("shop").await.is_none());
    assert!(other.account_email("shop").await.is_none());
    let token = receiver.wait_for_sid(&other_sid).await;
    assert_eq!(token["sub"], id);
    let mail = sink.wait_for("hal@shop.test", WAIT).await;
    assert_eq!(mail.subject, "Your Shop account was deleted");
    assert_eq!(
        server
            .browser()
            .sign_in("shop", "hal@shop.test", OLD)
            .await
            .status,
        401
    );
    let requested = events(&api, "shop", "user.deletion_requested").await;
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0]["data"]["grace_days"], 0);
    let deleted = events(&api, "shop", "user.deleted").await;
    assert_eq!(
        deleted[0]["data"]["actor"],
        json!({"kind": "user", "id": id})
    );

    // With a grace period (validated): closed at once, deleted later by the job.
    let tenant = api.get("/tenants/shop").await.expect(200);
    let mut settings = tenant["settings"].clone();
    settings["account"]["deletion_grace_days"] = json!(91);
    let msg = api
        .patch("/tenants/shop", &json!({ "settings": settings }))
        .await
        .expect_error(400, "invalid_request");
    assert!(
        msg.contains("settings.account.deletion_grace_days"),
        "{msg}"
    );
    patch_settings(&api, "shop", |s| {
        s["account"]["deletion_grace_days"] = json!(3)
    })
    .await;
    let ivy = new_user(&api, "ivy@shop.test", Some(OLD)).await;
    let jon = new_user(&api, "jon@shop.test", Some(OLD)).await;
    let b = signed_in(&server, "ivy@shop.test", OLD).await;
    sign_in_to_app(&b, &client_id).await;
    let ivy_sid = listed_sessions(&account(&b).await).0.expect("current");
    assert!(account(&b).await.contains("deleted after 3 days"));
    let r = post(
        &b,
        "/t/shop/account/delete",
        &[("confirm", "ivy@shop.test")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        element_text(&r.text(), "due-date").is_some(),
        "{}",
        r.text()
    );
    assert_eq!(user_json(&api, &ivy).await["status"], "disabled");
    assert!(b.account_email("shop").await.is_none());
    assert_eq!(receiver.wait_for_sid(&ivy_sid).await["sub"], ivy);
    let mail = sink.wait_for("ivy@shop.test", WAIT).await;
    assert!(
        mail.subject
            .starts_with("Your Shop account will be deleted on "),
        "{}",
        mail.subject
    );
    assert_eq!(
        server
            .browser()
            .sign_in("shop", "ivy@shop.test", OLD)
            .await
            .status,
        401,
        "a closed account cannot sign in"
    );
    let requested = events(&api, "shop", "user.deletion_requested").await;
    assert!(
        requested
            .iter()
            .any(|e| e["data"]["grace_days"] == 3 && e["data"]["due_at"].is_string())
    );
    // Jon asks too, and an operator restores his account in time.
    let jb = signed_in(&server, "jon@shop.test", OLD).await;
    let r = post(
        &jb,
        "/t/shop/account/delete",
        &[("confirm", "jon@shop.test")],
    )
    .await;
    assert_eq!(r.status, 200);
    api.post_empty(&format!("/tenants/shop/users/{jon}/enable"))
        .await
        .expect(200);

    // Two days later nothing is deleted yet; three days and an hour later the job deletes Ivy.
    let server = later(&dep, server, &sink, 2 * 86400).await;
    let api = api_at(&server).await;
    assert_eq!(user_json(&api, &ivy).await["status"], "disabled");
    let server = later(&dep, server, &sink, 3 * 86400 + 3600).await;
    let api = api_at(&server).await;
    poll_until("the deletion job deletes the account", WAIT, || {
        let api = api.clone();
        let ivy = ivy.clone();
        async move {
            (api.get(&format!("/tenants/shop/users/{ivy}")).await.status == 404).then_some(())
        }
    })
    .await;
    let gone = sink.wait_for("ivy@shop.test", WAIT).await;
    assert_eq!(gone.subject, "Your Shop account was deleted");
    assert_eq!(
        user_json(&api, &jon).await["status"],
        "active",
        "Jon was restored"
    );
    signed_in(&server, "jon@shop.test", OLD).await;
    let deleted = events(&api, "shop", "user.deleted").await;
    assert!(
        deleted
            .iter()
            .any(|e| e["data"]["actor"]["kind"] == "system" && e["data"]["target"]["id"] == ivy),
        "{deleted:?}"
    );
    let cancelled = events(&api, "shop", "user.deletion_cancelled").await;
    assert!(
        cancelled.iter().any(|e| e["data"]["target"]["id"] == jon),
        "{cancelled:?}"
    );
    drop(server);
}

on_both_backends!(
    profile_is_edited_and_bad_input_changes_nothing,
    email_change_needs_the_new_address,
    password_change_ends_other_sessions,
    sessions_are_listed_and_ended_with_backchannel_logout,
    data_export_holds_everything_but_secrets,
    account_deletion_at_once_and_after_a_grace_period,
);
