//! What a sign-in proved, as relying parties see it: `amr` and `acr` in ID tokens after a
//! password and after a second factor (TOTP codes made by Python `pyotp`), `acr_values_supported`
//! in discovery, step-up when an application asks for more than the session has, and
//! `interaction_required` for `prompt=none` when it cannot be met silently.

use std::time::Duration;

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::harness::http::{hidden_input, unescape};
use crate::harness::tools::{check_ok, interop_dir, python_venv, require, run};
use crate::harness::{Backend, start};
use crate::jose::Jwt;
use crate::rp::{AuthRequest, Op};

const MULTI_FACTOR: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
const SINGLE_FACTOR: &str = "urn:tessera:acr:sfa";

fn claims(tokens: &Value) -> Value {
    Jwt::decode(tokens["id_token"].as_str().expect("an ID token")).claims
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_str().expect("text").to_string())
        .collect()
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

async fn pyotp_code(uri: &str) -> String {
    let python = python_venv("requirements-mfa.txt", "venv-mfa").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(interop_dir().join("python/totp.py"))
        .arg(uri)
        .arg(now.to_string());
    let out = run(&mut cmd, "pyotp", Duration::from_secs(60)).await;
    check_ok(&out, "pyotp");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

async fn amr_and_acr_follow_the_factors(backend: Backend) {
    if !require(&["python3"], "the OIDC MFA test (pyotp)") {
        return;
    }
    let (_dep, server, api) = start(backend).await;
    let op = Op::new(&server, &api, "mfa-op").await;
    let client = op.web_client(&api).await;

    let discovery = op.discovery().await;
    let supported = strings(&discovery["acr_values_supported"]);
    for v in [SINGLE_FACTOR, MULTI_FACTOR, "phr"] {
        assert!(supported.contains(&v.to_string()), "{supported:?}");
    }

    // A password alone: one factor.
    let b = Browser::new(&server);
    let (_, tokens) = op.sign_in_and_get_tokens(&b, &client, "openid").await;
    let c = claims(&tokens);
    assert_eq!(strings(&c["amr"]), vec!["pwd".to_string()]);
    assert_eq!(c["acr"], SINGLE_FACTOR);
    let first_sid = c["sid"].clone();

    // prompt=none cannot step up: interaction_required.
    let req = AuthRequest::new(&client, "openid")
        .with("acr_values", MULTI_FACTOR)
        .with("prompt", "none");
    let r = op.authorize(&b, &req).await;
    let params = op.redirect_params(&r, &req);
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("interaction_required")
    );

    // Asking for two factors steps the session up; without a factor the user enrols one.
    let req = AuthRequest::new(&client, "openid").with("acr_values", MULTI_FACTOR);
    let r = op.authorize(&b, &req).await;
    let step_up = r.expect_see_other();
    assert!(
        step_up.starts_with("/t/mfa-op/login/mfa/step-up?"),
        "{step_up}"
    );
    let r = b.get(&step_up).await;
    assert_eq!(r.expect_see_other(), "/t/mfa-op/login/mfa/enroll");
    let page = b.get("/t/mfa-op/login/mfa/enroll").await;
    let html = page.text();
    let uri = link_href(&html, "totp-uri").expect("otpauth URI");
    let code = pyotp_code(&uri).await;
    let r = b
        .post_form(
            "/t/mfa-op/login/mfa/enroll",
            &[
                (
                    "csrf_token",
                    &hidden_input(&html, "csrf_token").expect("csrf"),
                ),
                ("factor_id", &hidden_input(&html, "factor_id").expect("id")),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(r.expect_see_other(), "/t/mfa-op/login/mfa/recovery-codes");
    let page = b.get("/t/mfa-op/login/mfa/recovery-codes").await;
    let csrf = hidden_input(&page.text(), "csrf_token").expect("csrf");
    let r = b
        .post_form(
            "/t/mfa-op/login/mfa/recovery-codes",
            &[("csrf_token", &csrf)],
        )
        .await;
    // The sign-in is complete: its last step answers the authorization request itself.
    let params = op.redirect_params(&r, &req);
    let tokens = op
        .exchange(&client, &req, params.get("code").expect("a code"))
        .await;
    let c = claims(&tokens);
    let amr = strings(&c["amr"]);
    for m in ["pwd", "otp", "mfa"] {
        assert!(amr.contains(&m.to_string()), "{amr:?}");
    }
    assert_eq!(c["acr"], MULTI_FACTOR);
    // The step-up renewed the session in place: the application's sid stays valid.
    assert_eq!(c["sid"], first_sid, "same session after the step-up");

    // A phishing-resistant request cannot be met with TOTP: the step-up asks for a security
    // key, which this user does not have.
    let req = AuthRequest::new(&client, "openid").with("acr_values", "phr");
    let r = op.authorize(&b, &req).await;
    let step_up = r.expect_see_other();
    assert!(step_up.contains("webauthn=1"), "{step_up}");
    let r = b.get(&step_up).await;
    let to = r.expect_see_other();
    let page = b.get(&to).await;
    assert!(
        unescape(&page.text()).contains("needs a security key or passkey")
            || to.ends_with("/login/mfa/enroll"),
        "{to}: {}",
        page.text()
    );
    let _ = json!({});
}

on_both_backends!(amr_and_acr_follow_the_factors);
