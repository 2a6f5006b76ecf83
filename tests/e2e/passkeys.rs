//! Passkeys and security keys (WebAuthn).
//!
//! `browser`: headless Chromium with the WebDriver virtual authenticator (CTAP2, internal
//! transport, resident keys, user verification) on `http://localhost`. A signed-in user registers
//! a passkey on the security page, signs out, signs in with no username and no password (by the
//! button, then by autofill), and an OpenID Connect client receives an ID token whose `amr` and
//! `acr` say so; with user verification failing and the tenant requiring it, the sign-in is
//! refused; an attestation allow-list admits Chromium's model and refuses another, and the key is
//! a second factor after the password.
//!
//! `http`: a software authenticator (`soft`) over HTTP. Registration rules (resident key,
//! excluded and duplicate credentials, names, recent sign-in), forced enrolment, passwordless
//! sign-in, the second factor, and bad input: answers without a request, replayed answers, a
//! passkey of another user or tenant, a signature counter that went backwards, malformed JSON,
//! base64 and CBOR. Clear JSON errors, no session, no change to anyone's factors.

mod browser;
mod http;
mod soft;

use serde_json::{Value, json};

use self::browser::{
    passkey_sign_in_in_chromium, security_key_allow_list_in_chromium,
    unverified_passkey_refused_in_chromium,
};
use self::http::{passkey_enrolment_and_policies_over_http, passkeys_over_http};
use crate::harness::Api;

const PASSWORD: &str = "a long passphrase 1";

fn uuid_bytes(id: &Value) -> Vec<u8> {
    uuid::Uuid::parse_str(id.as_str().expect("an id"))
        .expect("a UUID")
        .as_bytes()
        .to_vec()
}

/// The user's WebAuthn factors, as the admin API lists them.
async fn factors(api: &Api, slug: &str, user: &Value) -> Vec<Value> {
    let id = user["id"].as_str().expect("an id");
    api.get(&format!("/tenants/{slug}/users/{id}/factors"))
        .await
        .expect(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|f| f["kind"] == "webauthn")
        .cloned()
        .collect()
}

async fn set_mfa(api: &Api, slug: &str, key: &str, value: Value) {
    let tenant = api.get(&format!("/tenants/{slug}")).await.expect(200);
    let mut settings = tenant["settings"].clone();
    settings["mfa"][key] = value;
    api.patch(
        &format!("/tenants/{slug}"),
        &json!({ "settings": settings }),
    )
    .await
    .expect(200);
}

on_both_backends!(
    passkeys_over_http,
    passkey_enrolment_and_policies_over_http,
    passkey_sign_in_in_chromium,
    unverified_passkey_refused_in_chromium,
    security_key_allow_list_in_chromium
);
