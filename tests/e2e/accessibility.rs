//! Accessibility of the hosted pages, checked in headless Chromium with axe-core (pinned in
//! `tests/interop/axe/package-lock.json`): every page a customer or a workforce user can reach
//! (sign-in, sign-up, verification, recovery, email sign-in, MFA enrolment and challenge, the
//! account portal, sign-out, error pages) runs axe with the WCAG 2 A/AA rules and must have no
//! `serious` or `critical` violation, a `lang` attribute, exactly one `<h1>`, and a label on each
//! visible form field. Without npm or Chromium the test skips with a notice, except in CI.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::smtp::SmtpSink;
use crate::harness::tools::{
    FileLock, INSTALL_TIMEOUT, cache_dir, check_ok, fingerprint, interop_dir, require, run,
};
use crate::harness::webdriver::{Driver, Session};
use crate::harness::{Api, Backend, Deployment, Server, poll_until};
use crate::registration::{STRONG, WAIT, link_in};

/// `npm ci` into `tests/interop/axe/node_modules` when the lock file changed since the last
/// install (under a file lock); returns the source of `axe.min.js`.
async fn axe_source() -> String {
    let dir = interop_dir().join("axe");
    let _lock = FileLock::acquire(&cache_dir().join("axe.lock"));
    let stamp = dir.join("node_modules/.tessera-install-stamp");
    let want = fingerprint(&[dir.join("package.json"), dir.join("package-lock.json")]);
    if !std::fs::read_to_string(&stamp).is_ok_and(|s| s == want) {
        let mut cmd = tokio::process::Command::new("npm");
        cmd.args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir);
        check_ok(
            &run(&mut cmd, "npm ci", INSTALL_TIMEOUT).await,
            "npm ci (tests/interop/axe)",
        );
        std::fs::write(&stamp, want).expect("the install stamp can be written");
    }
    let file: PathBuf = dir.join("node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The structural checks axe does not make as strictly as the issue asks.
const STRUCTURE: &str = r#"
var problems = [];
var lang = document.documentElement.getAttribute('lang');
if (!lang || !lang.trim()) problems.push('no lang attribute on <html>');
var h1 = document.querySelectorAll('h1').length;
if (h1 !== 1) problems.push(h1 + ' <h1> elements (want exactly one)');
document.querySelectorAll('input, select, textarea').forEach(function (el) {
  if (el.type === 'hidden') return;
  var style = window.getComputedStyle(el);
  if (style.display === 'none' || style.visibility === 'hidden') return;
  var labelled = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') ||
    el.getAttribute('aria-labelledby');
  if (!labelled) problems.push('unlabelled field: ' + el.outerHTML);
});
return problems;
"#;

/// Starts axe on the page (results land in `window.__tesseraAxe` as JSON).
const RUN_AXE: &str = r#"
window.__tesseraAxe = null;
axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
  .then(function (r) {
    window.__tesseraAxe = JSON.stringify({passes: r.passes.length, violations: r.violations.map(function (v) {
      return {id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.map(function (n) { return {target: n.target, html: n.html, summary: n.failureSummary}; })};
    })});
  }, function (e) { window.__tesseraAxe = JSON.stringify({error: String(e)}); });
return true;
"#;

/// Runs axe and the structural checks on the page now open; returns the problems found.
async fn audit(s: &Session<'_>, axe: &str, page: &str) -> Vec<String> {
    let url = s.current_url().await;
    let mut found = Vec::new();
    let structure = s.execute(STRUCTURE, json!([])).await;
    for p in structure.as_array().cloned().unwrap_or_default() {
        found.push(format!(
            "{page} ({url}): {}",
            p.as_str().unwrap_or_default()
        ));
    }
    s.execute(&format!("{axe}\n;return typeof axe;"), json!([]))
        .await;
    s.execute(RUN_AXE, json!([])).await;
    let raw = poll_until("axe to finish", Duration::from_secs(60), || async {
        s.execute("return window.__tesseraAxe;", json!([]))
            .await
            .as_str()
            .map(str::to_string)
    })
    .await;
    let result: Value = serde_json::from_str(&raw).expect("axe results are JSON");
    assert!(
        result.get("error").is_none(),
        "axe failed on {page}: {result}"
    );
    assert!(
        result["passes"].as_u64().is_some_and(|n| n > 0),
        "axe checked nothing on {page}: {result}"
    );
    for v in result["violations"].as_array().cloned().unwrap_or_default() {
        let impact = v["impact"].as_str().unwrap_or_default();
        if matches!(impact, "serious" | "critical") {
            found.push(format!(
                "{page} ({url}): {impact} {} ({}): {}",
                v["id"],
                v["help"],
                serde_json::to_string_pretty(&v["nodes"]).unwrap_or_default()
            ));
        } else {
            eprintln!("note: {page}: {impact} {} ({})", v["id"], v["help"]);
        }
    }
    eprintln!("audited {page}: {url} ({} rules passed)", result["passes"]);
    found
}

async fn type_into(s: &Session<'_>, css: &str, text: &str) {
    s.execute(
        "document.querySelector(arguments[0]).value = '';",
        json!([css]),
    )
    .await;
    let e = s.find(css).await;
    s.send_keys(&e, text).await;
}

async fn click(s: &Session<'_>, css: &str) {
    let e = s.find(css).await;
    s.click(&e).await;
}

async fn sign_in(s: &Session<'_>, origin: &str, slug: &str, email: &str, password: &str) {
    s.goto(&format!("{origin}/t/{slug}/login")).await;
    type_into(s, "#email", email).await;
    type_into(s, "#password", password).await;
    click(s, "#submit").await;
}

/// A server on `http://localhost` sending mail to a sink, with a customer tenant `shop` and a
/// workforce tenant `corp` that requires MFA.
async fn setup(backend: Backend) -> Option<(Driver, SmtpSink, Deployment, Server, Api)> {
    if !require(&["npm"], "the accessibility test") {
        return None;
    }
    let driver = Driver::start().await?;
    let sink = SmtpSink::start().await?;
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

fn base32_decode(s: &str) -> Vec<u8> {
    let (mut bits, mut n, mut out) = (0u64, 0, Vec::new());
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

/// RFC 6238 (SHA-1, 6 digits, 30 s) for the current time.
fn totp(secret: &str) -> String {
    use aws_lc_rs::hmac;
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
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

async fn hosted_pages_have_no_serious_violations(backend: Backend) {
    let Some((driver, sink, _dep, server, api)) = setup(backend).await else {
        return;
    };
    let axe = axe_source().await;
    let origin = server.public_url.clone();
    let s = driver.session().await;
    let mut problems = Vec::new();

    // The checker itself finds what it should: faint text and an unlabelled field, added to the
    // sign-in page.
    s.goto(&format!("{origin}/t/shop/login")).await;
    s.execute(
        "var p = document.createElement('p'); p.textContent = 'Faint text'; \
         p.style.color = '#d0d0d0'; p.style.background = '#ffffff'; \
         var i = document.createElement('input'); i.id = 'unlabelled'; \
         document.querySelector('form').append(p, i); return true;",
        json!([]),
    )
    .await;
    let planted = audit(&s, &axe, "sign-in with planted faults")
        .await
        .join("\n");
    assert!(planted.contains("color-contrast"), "{planted}");
    assert!(planted.contains("unlabelled field"), "{planted}");

    // Signed out: sign-in, sign-up, email sign-in, recovery, verification by code.
    for (page, path) in [
        ("sign-in", "/t/shop/login"),
        ("email sign-in", "/t/shop/login/email"),
        ("forgot password", "/t/shop/forgot-password"),
        ("verify email (code form)", "/t/shop/verify-email"),
        (
            "reset password (invalid link)",
            "/t/shop/reset-password?token=bogus",
        ),
        (
            "error (unknown client)",
            "/t/shop/authorize?client_id=nope&response_type=code",
        ),
        ("sign-up", "/t/shop/register"),
    ] {
        s.goto(&format!("{origin}{path}")).await;
        problems.extend(audit(&s, &axe, page).await);
    }

    // Sign up (the page is open), with a bad password first: the page with its errors.
    type_into(&s, "#email", "ann@shop.test").await;
    type_into(&s, "#password", "short").await;
    click(&s, "#submit").await;
    s.wait_for_text("the password error", "#password-error")
        .await;
    problems.extend(audit(&s, &axe, "sign-up with errors").await);
    type_into(&s, "#password", STRONG).await;
    click(&s, "#submit").await;
    s.wait_for_url("the check-your-email page", |u| {
        u.contains("/t/shop/register")
    })
    .await;
    problems.extend(audit(&s, &axe, "check your email").await);

    let mail = sink.wait_for("ann@shop.test", WAIT).await;
    let link = link_in(&mail, &server, "verify-email");
    s.goto(&format!("{origin}{link}")).await;
    problems.extend(audit(&s, &axe, "verify email (confirm)").await);
    click(&s, "#confirm").await;
    s.wait_for_text("the confirmation", "#message").await;
    problems.extend(audit(&s, &axe, "verify email (done)").await);

    // Recovery with a real link.
    s.goto(&format!("{origin}/t/shop/forgot-password")).await;
    type_into(&s, "#email", "ann@shop.test").await;
    click(&s, "#submit").await;
    s.wait_for_text("the recovery answer", "h1").await;
    problems.extend(audit(&s, &axe, "forgot password (sent)").await);
    let mail = sink.wait_for("ann@shop.test", WAIT).await;
    let link = link_in(&mail, &server, "reset-password");
    s.goto(&format!("{origin}{link}")).await;
    problems.extend(audit(&s, &axe, "reset password").await);
    let new_password = "amber-walrus-canyon-2041";
    type_into(&s, "#password", new_password).await;
    click(&s, "#submit").await;
    s.wait_for_text("the reset confirmation", "#message").await;
    problems.extend(audit(&s, &axe, "reset password (done)").await);

    // Sign-in by email: the "sent" page and the mailed link's page (not used).
    s.goto(&format!("{origin}/t/shop/login/email")).await;
    type_into(&s, "#email", "ann@shop.test").await;
    click(&s, "#send").await;
    s.wait_for_text("the sent notice", "#sent").await;
    problems.extend(audit(&s, &axe, "email sign-in (sent)").await);
    let mail = sink.wait_for("ann@shop.test", WAIT).await;
    if mail.text.contains("/login/email/link?") {
        let link = link_in(&mail, &server, "login/email/link");
        s.goto(&format!("{origin}{link}")).await;
        problems.extend(audit(&s, &axe, "email sign-in link").await);
    }

    // Wrong password: the sign-in page with its error.
    sign_in(&s, &origin, "shop", "ann@shop.test", "not-the-password").await;
    s.wait_for_text("the sign-in error", "#error").await;
    problems.extend(audit(&s, &axe, "sign-in with an error").await);

    // The account portal.
    sign_in(&s, &origin, "shop", "ann@shop.test", new_password).await;
    s.wait_for_url("the account page", |u| u.ends_with("/t/shop/account"))
        .await;
    problems.extend(audit(&s, &axe, "account").await);
    s.goto(&format!("{origin}/t/shop/account/security")).await;
    problems.extend(audit(&s, &axe, "account security").await);
    s.goto(&format!("{origin}/t/shop/device")).await;
    problems.extend(audit(&s, &axe, "device code entry").await);
    type_into(&s, "#user_code", "BCDF-GHJK").await;
    click(&s, "#submit").await;
    s.wait_for_text("the device answer", "h1").await;
    problems.extend(audit(&s, &axe, "device code (unknown code)").await);
    s.goto(&format!("{origin}/t/shop/account")).await;
    click(&s, "#sign-out").await;
    s.wait_for_url("the sign-out page", |u| u.ends_with("/t/shop/logout"))
        .await;
    problems.extend(audit(&s, &axe, "signed out").await);

    // An application's request in German: the sign-in page in German, then the consent page.
    let client = api
        .post(
            "/tenants/shop/clients",
            &json!({"name": "Third-party app", "redirect_uris": ["http://localhost:9/cb"], "first_party": false}),
        )
        .await
        .expect(201);
    let client_id = client["client_id"].as_str().expect("client_id");
    s.goto(&format!(
        "{origin}/t/shop/authorize?response_type=code&client_id={client_id}&redirect_uri=http%3A%2F%2Flocalhost%3A9%2Fcb&scope=openid%20profile%20email&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&ui_locales=de"
    ))
    .await;
    s.wait_for_url("the sign-in page", |u| u.contains("/t/shop/login"))
        .await;
    let lang = s
        .execute("return document.documentElement.lang;", json!([]))
        .await;
    assert!(
        lang.as_str().is_some_and(|l| l.starts_with("de")),
        "German: {lang}"
    );
    problems.extend(audit(&s, &axe, "sign-in (German)").await);
    type_into(&s, "#email", "ann@shop.test").await;
    type_into(&s, "#password", new_password).await;
    click(&s, "#submit").await;
    s.wait_for_text("the consent page", "#allow").await;
    problems.extend(audit(&s, &axe, "consent").await);

    // Email change (the confirmation page and its answer), then deletion.
    s.goto(&format!("{origin}/t/shop/account")).await;
    type_into(&s, "#new-email", "ann.new@shop.test").await;
    click(&s, "#change-email").await;
    s.wait_for_text("the email change notice", "#notice, #error")
        .await;
    problems.extend(audit(&s, &axe, "account after an email change").await);
    let mail = sink.wait_for("ann.new@shop.test", WAIT).await;
    let link = link_in(&mail, &server, "account/email/confirm");
    s.goto(&format!("{origin}{link}")).await;
    problems.extend(audit(&s, &axe, "email change (confirm)").await);
    click(&s, "#confirm").await;
    s.wait_for_text("the changed email", "#message").await;
    problems.extend(audit(&s, &axe, "email change (done)").await);
    s.goto(&format!("{origin}/t/shop/account")).await;
    type_into(&s, "#delete-confirm", "ann.new@shop.test").await;
    click(&s, "#delete-account").await;
    s.wait_for_text("the deletion answer", "#message").await;
    problems.extend(audit(&s, &axe, "account deleted").await);

    // A workforce tenant that requires MFA: enrolment, recovery codes, challenge.
    api.create_tenant("corp", "workforce").await;
    api.create_user("corp", "bo@corp.test", Some(STRONG)).await;
    let mut settings = api.get("/tenants/corp").await.expect(200)["settings"].clone();
    settings["mfa_required"] = json!(true);
    api.patch("/tenants/corp", &json!({ "settings": settings }))
        .await
        .expect(200);
    sign_in(&s, &origin, "corp", "bo@corp.test", STRONG).await;
    s.wait_for_url("MFA enrolment", |u| u.contains("/t/corp/login/mfa/enroll"))
        .await;
    problems.extend(audit(&s, &axe, "MFA enrolment").await);
    let secret = s.text_of("#totp-secret").await;
    type_into(&s, "#totp-code", &totp(&secret)).await;
    click(&s, "#totp-confirm").await;
    s.wait_for_url("the page after enrolment", |u| {
        !u.contains("/t/corp/login/mfa/enroll")
    })
    .await;
    problems.extend(audit(&s, &axe, "after MFA enrolment (recovery codes)").await);
    s.goto(&format!("{origin}/t/corp/account")).await;
    if s.current_url().await.ends_with("/t/corp/account") {
        click(&s, "#sign-out").await;
        s.wait_for_url("the sign-out page", |u| u.ends_with("/t/corp/logout"))
            .await;
    }
    sign_in(&s, &origin, "corp", "bo@corp.test", STRONG).await;
    s.wait_for_url("the MFA challenge", |u| u.ends_with("/t/corp/login/mfa"))
        .await;
    problems.extend(audit(&s, &axe, "MFA challenge").await);
    s.close().await;

    assert!(
        problems.is_empty(),
        "accessibility problems on the hosted pages:\n{}",
        problems.join("\n")
    );
}

on_both_backends!(hosted_pages_have_no_serious_violations);
