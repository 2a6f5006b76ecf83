//! In headless Chromium with the WebDriver virtual authenticator, on `http://localhost`.

use serde_json::{Value, json};

use super::soft::{b64, unb64};
use super::{PASSWORD, factors, set_mfa, uuid_bytes};
use crate::harness::webdriver::{Driver, Session, VirtualAuthenticator};
use crate::harness::{Api, Backend, Deployment};

/// A server on `http://localhost:<port>` (an IP address cannot be an RP ID) with one user.
async fn browser_setup(
    backend: Backend,
    slug: &str,
) -> Option<(Driver, Deployment, crate::harness::Server, Api, Value)> {
    let driver = Driver::start().await?;
    let dep = Deployment::new(backend).public_host("localhost");
    let server = dep.start().await;
    let api = server.admin_api().await;
    api.create_tenant(slug, "workforce").await;
    let user = api
        .create_user(slug, &format!("nina@{slug}.test"), Some(PASSWORD))
        .await;
    assert!(server.public_url.starts_with("http://localhost:"));
    Some((driver, dep, server, api, user))
}

async fn password_sign_in(s: &Session<'_>, origin: &str, slug: &str, email: &str) {
    s.goto(&format!("{origin}/t/{slug}/login")).await;
    let field = s.find("#email").await;
    s.send_keys(&field, email).await;
    let field = s.find("#password").await;
    s.send_keys(&field, PASSWORD).await;
    let submit = s.find("#submit").await;
    s.click(&submit).await;
    s.wait_for_url("the account page", |u| {
        u.ends_with(&format!("/t/{slug}/account"))
    })
    .await;
}

async fn sign_out(s: &Session<'_>, origin: &str, slug: &str) {
    s.goto(&format!("{origin}/t/{slug}/account")).await;
    let button = s.find("#sign-out").await;
    s.click(&button).await;
    s.wait_for_url("the sign-out page", |u| {
        u.ends_with(&format!("/t/{slug}/logout"))
    })
    .await;
}

/// Passkey autofill (conditional mediation) completes by itself with a virtual authenticator,
/// since nobody has to pick the passkey from a list. It is switched off in this window (as in a
/// browser without it) until `localStorage["test-autofill"]` is `on`, so that buttons are what
/// the tests press.
const AUTOFILL_SWITCH: &str = r#"
(function () {
  if (!window.PublicKeyCredential || !PublicKeyCredential.isConditionalMediationAvailable) return;
  var available = PublicKeyCredential.isConditionalMediationAvailable.bind(PublicKeyCredential);
  PublicKeyCredential.isConditionalMediationAvailable = function () {
    return localStorage.getItem("test-autofill") === "on" ? available() : Promise.resolve(false);
  };
})();
"#;

async fn passkey_window<'a>(driver: &'a Driver) -> (Session<'a>, String) {
    let s = driver.session().await;
    s.run_on_new_documents(AUTOFILL_SWITCH).await;
    let authenticator = s
        .add_virtual_authenticator(&VirtualAuthenticator::passkey())
        .await;
    (s, authenticator)
}

/// Adds a passkey on the security page (signed in within the last ten minutes) and waits until
/// the page lists it.
async fn register_passkey(s: &Session<'_>, origin: &str, slug: &str, name: &str) {
    s.goto(&format!("{origin}/t/{slug}/account/security")).await;
    let field = s.find("#webauthn-name").await;
    s.send_keys(&field, name).await;
    let button = s.find("button[data-webauthn=\"register\"]").await;
    s.click(&button).await;
    crate::harness::poll_until(
        "the new passkey on the security page",
        std::time::Duration::from_secs(20),
        || async {
            let listed = s
                .execute(
                    "var l = document.querySelector('#factors'); return l ? l.textContent : '';",
                    json!([]),
                )
                .await;
            listed
                .as_str()
                .is_some_and(|t| t.contains(name))
                .then_some(())
        },
    )
    .await;
}

/// Opens the sign-in page and clicks its passkey button (no username, no password).
async fn click_passkey_sign_in(s: &Session<'_>, origin: &str, slug: &str) {
    s.goto(&format!("{origin}/t/{slug}/login")).await;
    let button = s.find("button[data-webauthn=\"login\"]").await;
    s.click(&button).await;
}

fn sha256_b64(text: &str) -> String {
    b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes()).as_ref())
}

pub async fn passkey_sign_in_in_chromium(backend: Backend) {
    let Some((driver, _dep, server, api, user)) = browser_setup(backend, "pk").await else {
        return;
    };
    let origin = server.public_url.clone();
    let email = "nina@pk.test";
    let callback = format!("{origin}/healthz");
    let client = api
        .post(
            "/tenants/pk/clients",
            &json!({"name": "Web app", "redirect_uris": [callback], "first_party": true}),
        )
        .await
        .expect(201);

    let (s, authenticator) = passkey_window(&driver).await;

    // 1. Signed in with the password, Nina adds a passkey on the security page.
    password_sign_in(&s, &origin, "pk", email).await;
    register_passkey(&s, &origin, "pk", "My laptop").await;
    let held = s.authenticator_credentials(&authenticator).await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["isResidentCredential"], true, "a passkey: {held:?}");
    assert_eq!(held[0]["rpId"], "localhost");
    assert_eq!(held[0]["userHandle"], b64(&uuid_bytes(&user["id"])));
    let listed = factors(&api, "pk", &user).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["name"], "My laptop");
    assert_eq!(listed[0]["discoverable"], true);

    // 2. Signed out, she signs in with no username and no password.
    sign_out(&s, &origin, "pk").await;
    click_passkey_sign_in(&s, &origin, "pk").await;
    s.wait_for_url("the account page after the passkey", |u| {
        u.ends_with("/t/pk/account")
    })
    .await;
    assert_eq!(s.text_of("#account-email").await, email);

    // 3. An application's authorization code flow: the ID token says how she signed in.
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let client_id = client["client_id"].as_str().expect("client_id");
    let query = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", callback.as_str()),
        ("scope", "openid"),
        ("state", "passkey-state"),
        ("nonce", "passkey-nonce"),
        ("code_challenge", &sha256_b64(&verifier)),
        ("code_challenge_method", "S256"),
    ];
    let query: String = query
        .iter()
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    s.goto(&format!("{origin}/t/pk/authorize?{query}")).await;
    let back = s
        .wait_for_url("the application's callback", |u| u.starts_with(&callback))
        .await;
    let back = reqwest::Url::parse(&back).expect("a URL");
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| panic!("a code in {back}"));
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client");
    let tokens: Value = http
        .post(server.url("/t/pk/token"))
        .basic_auth(client_id, client["client_secret"].as_str())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", callback.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .expect("the token endpoint answers")
        .json()
        .await
        .expect("JSON tokens");
    let id_token = tokens["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("an ID token: {tokens}"));
    let payload = id_token.split('.').nth(1).expect("a JWS payload");
    let claims: Value = serde_json::from_slice(&unb64(payload)).expect("JSON claims");
    assert_eq!(claims["sub"], user["id"], "{claims}");
    let amr: Vec<&str> = claims["amr"]
        .as_array()
        .unwrap_or_else(|| panic!("amr: {claims}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        amr.contains(&"hwk") || amr.contains(&"swk"),
        "a key was used: {claims}"
    );
    assert!(amr.contains(&"user") && amr.contains(&"mfa"), "{claims}");
    assert!(!amr.contains(&"pwd"), "no password this time: {claims}");
    assert_eq!(claims["acr"], "phr", "phishing-resistant: {claims}");

    // The passkey's use was recorded.
    let listed = factors(&api, "pk", &user).await;
    assert!(listed[0]["last_used_at"].is_string(), "{listed:?}");

    // 4. With passkey autofill (conditional mediation), opening the sign-in page is enough: the
    //    browser offers the passkey in the email field's suggestions, and picking it signs in.
    sign_out(&s, &origin, "pk").await;
    s.execute("localStorage.setItem('test-autofill', 'on');", json!([]))
        .await;
    s.goto(&format!("{origin}/t/pk/login")).await;
    s.wait_for_url("the account page through autofill", |u| {
        u.ends_with("/t/pk/account")
    })
    .await;
    assert_eq!(s.text_of("#account-email").await, email);
    s.close().await;
}

pub async fn unverified_passkey_refused_in_chromium(backend: Backend) {
    let Some((driver, _dep, server, api, user)) = browser_setup(backend, "uv").await else {
        return;
    };
    set_mfa(&api, "uv", "user_verification", json!("required")).await;
    let origin = server.public_url.clone();
    let (s, authenticator) = passkey_window(&driver).await;
    password_sign_in(&s, &origin, "uv", "nina@uv.test").await;
    register_passkey(&s, &origin, "uv", "Phone").await;
    assert_eq!(factors(&api, "uv", &user).await.len(), 1);
    sign_out(&s, &origin, "uv").await;

    // The authenticator no longer verifies her (wrong PIN, no fingerprint).
    s.set_user_verified(&authenticator, false).await;
    click_passkey_sign_in(&s, &origin, "uv").await;
    let message = s
        .wait_for_text("the passkey error", "[data-webauthn-error]")
        .await;
    assert!(
        message.contains("could not verify you"),
        "a clear error: {message}"
    );
    assert!(s.current_url().await.ends_with("/t/uv/login"));
    s.goto(&format!("{origin}/t/uv/account")).await;
    s.wait_for_url("the sign-in page: no session", |u| {
        u.contains("/t/uv/login")
    })
    .await;
    let sessions = api
        .get(&format!(
            "/tenants/uv/sessions?user_id={}",
            user["id"].as_str().expect("id")
        ))
        .await
        .expect(200);
    assert_eq!(sessions["items"], json!([]), "no session: {sessions}");
    s.close().await;
}

/// The model id Chromium's virtual authenticators report in their attestation.
const VIRTUAL_AAGUID: &str = "01020304-0506-0708-0102-030405060708";

/// A workforce tenant that admits one authenticator model: the approved key registers with its
/// attestation, another model is refused, and the key is then the second factor after the
/// password.
pub async fn security_key_allow_list_in_chromium(backend: Backend) {
    let Some((driver, _dep, server, api, user)) = browser_setup(backend, "sk").await else {
        return;
    };
    let tenant = api.get("/tenants/sk").await.expect(200);
    let mut settings = tenant["settings"].clone();
    settings["mfa"]["attestation"] = json!("direct");
    settings["mfa"]["aaguid_allowlist"] = json!([VIRTUAL_AAGUID]);
    api.patch("/tenants/sk", &json!({ "settings": settings }))
        .await
        .expect(200);
    let origin = server.public_url.clone();
    let email = "nina@sk.test";
    let (s, _authenticator) = passkey_window(&driver).await;

    // 1. The approved model registers; its model is recorded.
    password_sign_in(&s, &origin, "sk", email).await;
    register_passkey(&s, &origin, "sk", "Approved key").await;
    let listed = factors(&api, "sk", &user).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["aaguid"], VIRTUAL_AAGUID, "{listed:?}");

    // 2. Once the list names another model, a new key is refused with a clear message.
    set_mfa(
        &api,
        "sk",
        "aaguid_allowlist",
        json!(["2fc0579f-8113-47ea-b116-bb5a8db9202a"]),
    )
    .await;
    // A second authenticator (the first holds the registered key, which is excluded).
    s.add_virtual_authenticator(&VirtualAuthenticator {
        transport: "usb",
        ..VirtualAuthenticator::passkey()
    })
    .await;
    s.goto(&format!("{origin}/t/sk/account/security")).await;
    let button = s.find("button[data-webauthn=\"register\"]").await;
    s.click(&button).await;
    let message = s
        .wait_for_text("the refusal", "[data-webauthn-error]")
        .await;
    assert!(
        message.contains("does not allow this model"),
        "a clear error: {message}"
    );
    assert_eq!(factors(&api, "sk", &user).await.len(), 1);

    // 3. Password, then the approved key as second factor: both factors in the session.
    sign_out(&s, &origin, "sk").await;
    s.goto(&format!("{origin}/t/sk/login")).await;
    let field = s.find("#email").await;
    s.send_keys(&field, email).await;
    let field = s.find("#password").await;
    s.send_keys(&field, PASSWORD).await;
    let submit = s.find("#submit").await;
    s.click(&submit).await;
    s.wait_for_url("the second-factor page", |u| u.ends_with("/t/sk/login/mfa"))
        .await;
    let button = s.find("button[data-webauthn=\"second-factor\"]").await;
    s.click(&button).await;
    s.wait_for_url("the account page", |u| u.ends_with("/t/sk/account"))
        .await;
    let sessions = api
        .get(&format!(
            "/tenants/sk/sessions?user_id={}",
            user["id"].as_str().expect("id")
        ))
        .await
        .expect(200);
    assert_eq!(
        sessions["items"][0]["auth_methods"],
        json!(["pwd", "hwk", "mfa"]),
        "{sessions}"
    );
    s.close().await;
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
