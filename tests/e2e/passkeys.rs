//! Passkeys and security keys (WebAuthn).
//!
//! In headless Chromium with the WebDriver virtual authenticator (CTAP2, internal transport,
//! resident keys, user verification), on `http://localhost`: a signed-in user registers a
//! passkey on the security page, signs out, signs in with no username and no password, and an
//! OpenID Connect client receives an ID token whose `amr` and `acr` say so; with user
//! verification failing and the tenant requiring it, the sign-in is refused.
//!
//! Over HTTP, with a software authenticator (`soft`): registration rules (resident key, excluded
//! and duplicate credentials, names), passwordless sign-in, the second factor, and bad input —
//! answers without a request, replayed answers, a passkey of another user or tenant, a signature
//! counter that went backwards, malformed JSON, base64 and CBOR: clear JSON errors, no session,
//! no change to anyone's factors.

mod soft;

use serde_json::{Value, json};

use crate::harness::webdriver::{Driver, Session, VirtualAuthenticator};
use crate::harness::{Api, Backend, Deployment, element_text, start};
use soft::{SoftKey, Web, assert_refused, b64};

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

// --- over HTTP, with a software authenticator ---------------------------------------------------

async fn passkeys_over_http(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    api.create_tenant("soft", "workforce").await;
    api.create_tenant("other", "workforce").await;
    let ann = api
        .create_user("soft", "ann@soft.test", Some(PASSWORD))
        .await;
    let bob = api
        .create_user("soft", "bob@soft.test", Some(PASSWORD))
        .await;
    let carl = api
        .create_user("other", "carl@other.test", Some(PASSWORD))
        .await;
    let origin = server.public_url.clone();
    let (reg_start, reg_finish) = (
        "/t/soft/webauthn/register/start",
        "/t/soft/webauthn/register/finish",
    );

    // 1. Ann, just signed in, registers a passkey: a resident key for her account id.
    let mut ann_web = Web::new(&server);
    assert_eq!(
        ann_web
            .password_sign_in("soft", "ann@soft.test", PASSWORD)
            .await,
        "/t/soft/account"
    );
    let mut ann_key = SoftKey::new(&origin);
    let options = ann_web
        .post(reg_start, &json!({"name": "Laptop"}))
        .await
        .expect(200);
    let pk = &options["publicKey"];
    assert_eq!(
        pk["authenticatorSelection"]["residentKey"], "required",
        "{pk}"
    );
    assert_eq!(pk["user"]["id"], b64(&uuid_bytes(&ann["id"])), "{pk}");
    assert_eq!(pk["user"]["name"], "ann@soft.test");
    assert_eq!(pk["attestation"], "none");
    assert_eq!(pk["excludeCredentials"], json!([]));
    let created = ann_key.create(&options);
    let done = ann_web
        .post(reg_finish, &json!({ "credential": created }))
        .await
        .expect(200);
    assert_eq!(done["redirect"], "/t/soft/account/security", "{done}");
    assert_eq!(done["factor"]["name"], "Laptop");
    let listed = factors(&api, "soft", &ann).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["name"], "Laptop");
    assert_eq!(listed[0]["discoverable"], true);

    // 2. Registration refusals; none of them adds a factor.
    // The same answer again: its request was used up.
    assert_refused(
        &ann_web
            .post(reg_finish, &json!({ "credential": created }))
            .await,
        400,
        "no_ceremony",
    );
    // The same authenticator again: it is excluded, and refused if it answers anyway.
    let again = ann_web.post(reg_start, &json!({})).await.expect(200);
    assert_eq!(
        again["publicKey"]["excludeCredentials"][0]["id"],
        ann_key.credential_id_text()
    );
    let handle = ann_key.user_handle.clone();
    assert_refused(
        &ann_web
            .post(reg_finish, &json!({ "credential": ann_key.create(&again) }))
            .await,
        409,
        "credential_exists",
    );
    // An attestation object that is not CBOR.
    let opts = ann_web.post(reg_start, &json!({})).await.expect(200);
    let mut broken = SoftKey::new(&origin).create(&opts);
    broken["response"]["attestationObject"] = b64(b"\xa3 this is not CBOR").into();
    assert_refused(
        &ann_web
            .post(reg_finish, &json!({ "credential": broken }))
            .await,
        400,
        "invalid_request",
    );
    // Malformed JSON, bad base64, no CSRF token, a bad name, an unknown context.
    assert_refused(
        &ann_web
            .post_raw(reg_finish, "{\"credential\": {", true)
            .await,
        400,
        "invalid_request",
    );
    ann_web.post(reg_start, &json!({})).await.expect(200);
    let bad_b64 = json!({"credential": {"id": "x", "rawId": "not base64!", "type": "public-key",
        "response": {"attestationObject": "%%%", "clientDataJSON": "e30"}}});
    assert_refused(
        &ann_web.post(reg_finish, &bad_b64).await,
        400,
        "invalid_request",
    );
    assert_refused(
        &ann_web.post_raw(reg_start, "{}", false).await,
        403,
        "csrf_failed",
    );
    assert_refused(
        &ann_web
            .post(reg_start, &json!({"name": "bad\u{7}name"}))
            .await,
        400,
        "invalid_request",
    );
    assert_refused(
        &ann_web
            .post(reg_start, &json!({"context": "elsewhere"}))
            .await,
        400,
        "invalid_request",
    );
    // Without a session there is nobody to register for.
    let mut stranger = Web::new(&server);
    stranger.open_login("soft").await;
    assert_refused(
        &stranger.post(reg_start, &json!({})).await,
        401,
        "not_signed_in",
    );
    assert_refused(
        &stranger
            .post(reg_finish, &json!({ "credential": created }))
            .await,
        401,
        "not_signed_in",
    );
    assert_eq!(factors(&api, "soft", &ann).await.len(), 1);

    // Bob cannot register the credential Ann's authenticator holds; he registers his own.
    let mut bob_web = Web::new(&server);
    bob_web
        .password_sign_in("soft", "bob@soft.test", PASSWORD)
        .await;
    let opts = bob_web.post(reg_start, &json!({})).await.expect(200);
    let stolen = ann_key.create(&opts);
    ann_key.user_handle = handle;
    assert_refused(
        &bob_web
            .post(reg_finish, &json!({ "credential": stolen }))
            .await,
        409,
        "credential_exists",
    );
    assert!(factors(&api, "soft", &bob).await.is_empty());
    let mut bob_key = SoftKey::new(&origin);
    let opts = bob_web
        .post(reg_start, &json!({"name": "Bob's key"}))
        .await
        .expect(200);
    bob_web
        .post(reg_finish, &json!({ "credential": bob_key.create(&opts) }))
        .await
        .expect(200);

    // Carl registers a passkey in another tenant (same site, same RP ID).
    let mut carl_web = Web::new(&server);
    carl_web
        .password_sign_in("other", "carl@other.test", PASSWORD)
        .await;
    let mut carl_key = SoftKey::new(&origin);
    let opts = carl_web
        .post("/t/other/webauthn/register/start", &json!({}))
        .await
        .expect(200);
    carl_web
        .post(
            "/t/other/webauthn/register/finish",
            &json!({ "credential": carl_key.create(&opts) }),
        )
        .await
        .expect(200);

    // 3. Passwordless sign-in with Ann's passkey in a fresh browser.
    let (login_start, login_finish) = (
        "/t/soft/webauthn/login/start",
        "/t/soft/webauthn/login/finish",
    );
    let mut web = Web::new(&server);
    web.open_login("soft").await;
    let nothing = json!({"publicKey": {"rpId": "127.0.0.1", "challenge": b64(b"never asked")}});
    assert_refused(
        &web.post(
            login_finish,
            &json!({ "credential": ann_key.get(&nothing, true) }),
        )
        .await,
        400,
        "no_ceremony",
    );
    let options = web.post(login_start, &json!({})).await.expect(200);
    let pk = &options["publicKey"];
    assert_eq!(pk["rpId"], "127.0.0.1", "{pk}");
    assert_eq!(pk["allowCredentials"], json!([]), "username-less: {pk}");
    assert_eq!(pk["userVerification"], "preferred");
    let assertion = ann_key.get(&options, true);
    let r = web
        .post(login_finish, &json!({ "credential": assertion }))
        .await;
    assert_eq!(r.expect(200)["redirect"], "/t/soft/account");
    assert!(web.session_cookie("soft").is_some(), "signed in");
    let page = web.get("/t/soft/account").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        element_text(&page.text(), "account-email").as_deref(),
        Some("ann@soft.test")
    );
    let sessions = api
        .get(&format!(
            "/tenants/soft/sessions?user_id={}",
            ann["id"].as_str().expect("id")
        ))
        .await
        .expect(200);
    assert_eq!(
        sessions["items"][0]["auth_methods"],
        json!(["hwk", "user", "mfa"]),
        "a device-bound passkey with user verification: {sessions}"
    );

    // 4. Refused answers, each in a browser without a session; the fifth wrong answer ends the
    //    sign-in.
    let mut web2 = Web::new(&server);
    web2.open_login("soft").await;
    // The answer that signed Ann in, replayed: no request awaits it...
    assert_refused(
        &web2
            .post(login_finish, &json!({ "credential": assertion }))
            .await,
        400,
        "no_ceremony",
    );
    // ...and a new request has a new challenge.
    web2.post(login_start, &json!({})).await.expect(200);
    assert_refused(
        &web2
            .post(login_finish, &json!({ "credential": assertion }))
            .await,
        401,
        "verification_failed",
    );
    // A passkey of another tenant.
    let opts = web2.post(login_start, &json!({})).await.expect(200);
    assert_refused(
        &web2
            .post(
                login_finish,
                &json!({ "credential": carl_key.get(&opts, true) }),
            )
            .await,
        401,
        "unknown_credential",
    );
    // Ann's passkey claiming to be Bob's.
    let opts = web2.post(login_start, &json!({})).await.expect(200);
    let mut a = ann_key.get(&opts, true);
    a["response"]["userHandle"] = b64(&uuid_bytes(&bob["id"])).into();
    assert_refused(
        &web2.post(login_finish, &json!({ "credential": a })).await,
        401,
        "unknown_credential",
    );
    // Registered with user verification, used without it.
    let opts = web2.post(login_start, &json!({})).await.expect(200);
    assert_refused(
        &web2
            .post(
                login_finish,
                &json!({ "credential": ann_key.get(&opts, false) }),
            )
            .await,
        401,
        "user_verification_required",
    );
    let opts = web2.post(login_start, &json!({})).await.expect(200);
    assert_refused(
        &web2
            .post(
                login_finish,
                &json!({ "credential": carl_key.get(&opts, true) }),
            )
            .await,
        429,
        "too_many_attempts",
    );
    assert!(web2.session_cookie("soft").is_none());

    // Broken authenticator data, then a signature counter that went backwards (a cloned key).
    let mut web3 = Web::new(&server);
    web3.open_login("soft").await;
    let opts = web3.post(login_start, &json!({})).await.expect(200);
    let mut a = ann_key.get(&opts, true);
    a["response"]["authenticatorData"] = b64(&[1, 2, 3]).into();
    assert_refused(
        &web3.post(login_finish, &json!({ "credential": a })).await,
        400,
        "invalid_request",
    );
    assert_refused(
        &web3
            .post_raw(login_finish, "{\"credential\": 7}", true)
            .await,
        400,
        "invalid_request",
    );
    let counter = ann_key.counter;
    ann_key.counter = 0;
    let opts = web3.post(login_start, &json!({})).await.expect(200);
    assert_refused(
        &web3
            .post(
                login_finish,
                &json!({ "credential": ann_key.get(&opts, true) }),
            )
            .await,
        401,
        "sign_count_regression",
    );
    ann_key.counter = counter;
    assert!(web3.session_cookie("soft").is_none());
    let failed = api
        .get("/tenants/soft/audit?type=mfa.failed&limit=100")
        .await
        .expect(200);
    let reasons: Vec<&str> = failed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["data"]["reason"].as_str())
        .collect();
    for reason in [
        "sign_count_regression",
        "unknown_credential",
        "user_handle_mismatch",
        "user_not_verified",
        "verification_failed",
        "malformed_response",
    ] {
        assert!(reasons.contains(&reason), "{reason} in {failed}");
    }
    let regression = failed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["data"]["reason"] == "sign_count_regression")
        .expect("the regression event");
    assert_eq!(regression["data"]["subject"], ann["id"], "{regression}");

    // 5. As a second factor: Ann's password, then her key (Bob's is not hers).
    let mut w = Web::new(&server);
    assert_eq!(
        w.password_sign_in("soft", "ann@soft.test", PASSWORD).await,
        "/t/soft/login/mfa",
        "an enrolled passkey is asked for after the password"
    );
    let (mfa_start, mfa_finish) = ("/t/soft/webauthn/mfa/start", "/t/soft/webauthn/mfa/finish");
    // The sign-in page's autofill request does not displace this sign-in.
    assert_eq!(
        w.post(login_start, &json!({"conditional": true}))
            .await
            .json()["error"],
        "sign_in_in_progress"
    );
    let opts = w.post(mfa_start, &json!({})).await.expect(200);
    assert_eq!(
        opts["publicKey"]["allowCredentials"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|c| c["id"].clone())
            .collect::<Vec<_>>(),
        vec![json!(ann_key.credential_id_text())],
        "only Ann's keys are offered"
    );
    assert_refused(
        &w.post(
            mfa_finish,
            &json!({ "credential": bob_key.get(&opts, true) }),
        )
        .await,
        401,
        "unknown_credential",
    );
    let opts = w.post(mfa_start, &json!({})).await.expect(200);
    let r = w
        .post(
            mfa_finish,
            &json!({ "credential": ann_key.get(&opts, true), "remember_device": false }),
        )
        .await;
    assert_eq!(r.expect(200)["redirect"], "/t/soft/account");
    assert!(w.session_cookie("soft").is_some());
    let sessions = api
        .get(&format!(
            "/tenants/soft/sessions?user_id={}",
            ann["id"].as_str().expect("id")
        ))
        .await
        .expect(200);
    assert!(
        sessions["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|s| s["auth_methods"] == json!(["pwd", "hwk", "mfa"])),
        "{sessions}"
    );
    // The flow is over: its answer cannot be used twice.
    assert_refused(
        &w.post(
            mfa_finish,
            &json!({ "credential": ann_key.get(&opts, true) }),
        )
        .await,
        400,
        "no_ceremony",
    );

    // 6. With passkey sign-in switched off, there is no username-less request.
    set_mfa(&api, "soft", "passkey_sign_in", json!(false)).await;
    let mut off = Web::new(&server);
    off.open_login("soft").await;
    assert_refused(
        &off.post(login_start, &json!({})).await,
        403,
        "passkey_sign_in_disabled",
    );

    // Nobody's factors changed through any refusal; each registration was recorded.
    assert_eq!(factors(&api, "soft", &ann).await.len(), 1);
    assert_eq!(factors(&api, "soft", &bob).await.len(), 1);
    assert_eq!(factors(&api, "other", &carl).await.len(), 1);
    let enrolled = api
        .get("/tenants/soft/audit?type=mfa.enrolled")
        .await
        .expect(200);
    assert_eq!(
        enrolled["items"].as_array().expect("items").len(),
        2,
        "{enrolled}"
    );
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
}

/// Forced enrolment with a passkey at sign-in, the attestation allow-list, and the recent
/// sign-in the security page needs.
async fn passkey_enrolment_and_policies_over_http(backend: Backend) {
    let (dep, server, api) = start(backend).await;
    api.create_tenant("corp", "workforce").await;
    let dana = api
        .create_user("corp", "dana@corp.test", Some(PASSWORD))
        .await;
    let tenant = api.get("/tenants/corp").await.expect(200);
    let mut settings = tenant["settings"].clone();
    settings["mfa_required"] = json!(true);
    api.patch("/tenants/corp", &json!({ "settings": settings }))
        .await
        .expect(200);
    let origin = server.public_url.clone();
    let (reg_start, reg_finish) = (
        "/t/corp/webauthn/register/start",
        "/t/corp/webauthn/register/finish",
    );

    // 1. MFA is required and Dana has no factor: after her password she must enrol one, and a
    //    passkey will do. There is no session until then.
    let mut web = Web::new(&server);
    assert_eq!(
        web.password_sign_in("corp", "dana@corp.test", PASSWORD)
            .await,
        "/t/corp/login/mfa/enroll"
    );
    assert!(web.session_cookie("corp").is_none());
    let mut key = SoftKey::new(&origin);
    let options = web
        .post(reg_start, &json!({"name": "Security key"}))
        .await
        .expect(200);
    assert_eq!(
        options["publicKey"]["user"]["id"],
        b64(&uuid_bytes(&dana["id"]))
    );
    // A security-page registration is not what this browser is doing.
    assert_refused(
        &web.post(reg_start, &json!({"context": "account"})).await,
        401,
        "not_signed_in",
    );
    let options = web
        .post(
            reg_start,
            &json!({"name": "Security key", "context": "enroll"}),
        )
        .await
        .expect(200);
    let done = web
        .post(reg_finish, &json!({ "credential": key.create(&options) }))
        .await
        .expect(200);
    assert_eq!(
        done["redirect"], "/t/corp/login/mfa/recovery-codes",
        "new recovery codes are shown before the session starts: {done}"
    );
    let listed = factors(&api, "corp", &dana).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["name"], "Security key");
    let page = web.get("/t/corp/login/mfa/recovery-codes").await;
    assert_eq!(page.status, 200, "{}", page.text());

    // 2. Next time: password, then the key as second factor.
    let mut web = Web::new(&server);
    assert_eq!(
        web.password_sign_in("corp", "dana@corp.test", PASSWORD)
            .await,
        "/t/corp/login/mfa"
    );
    let options = web
        .post("/t/corp/webauthn/mfa/start", &json!({}))
        .await
        .expect(200);
    let r = web
        .post(
            "/t/corp/webauthn/mfa/finish",
            &json!({ "credential": key.get(&options, true) }),
        )
        .await;
    assert_eq!(r.expect(200)["redirect"], "/t/corp/account");

    // 3. Only listed authenticator models may register once the tenant asks for attestation;
    //    an authenticator that does not prove its model (attestation "none") is refused.
    let tenant = api.get("/tenants/corp").await.expect(200);
    let mut settings = tenant["settings"].clone();
    settings["mfa"]["attestation"] = json!("direct");
    settings["mfa"]["aaguid_allowlist"] = json!(["2fc0579f-8113-47ea-b116-bb5a8db9202a"]);
    api.patch("/tenants/corp", &json!({ "settings": settings }))
        .await
        .expect(200);
    let options = web.post(reg_start, &json!({})).await.expect(200);
    assert_eq!(options["publicKey"]["attestation"], "direct");
    assert_refused(
        &web.post(
            reg_finish,
            &json!({ "credential": SoftKey::new(&origin).create(&options) }),
        )
        .await,
        403,
        "authenticator_not_allowed",
    );
    assert_eq!(factors(&api, "corp", &dana).await.len(), 1);

    // 4. Eleven minutes after signing in, adding a passkey needs a fresh sign-in.
    let public_url = server.public_url.clone();
    let mut server = server;
    server.stop().await;
    let server = dep
        .start_with(&[
            ("TESSERA_PUBLIC_URL", public_url.as_str()),
            ("TESSERA_TEST_CLOCK_OFFSET_SECS", "660"),
        ])
        .await;
    let web = web.at(&server);
    assert_eq!(
        web.get("/t/corp/account").await.status,
        200,
        "still signed in"
    );
    assert_refused(
        &web.post(reg_start, &json!({})).await,
        403,
        "reauthentication_required",
    );
    assert_eq!(
        factors(&api_of(&server).await, "corp", &dana).await.len(),
        1
    );
}

async fn api_of(server: &crate::harness::Server) -> Api {
    server.admin_api().await
}

// --- in Chromium, with the virtual authenticator ----------------------------------------------

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

async fn passkey_sign_in_in_chromium(backend: Backend) {
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
    let claims: Value = serde_json::from_slice(&soft::unb64(payload)).expect("JSON claims");
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

async fn unverified_passkey_refused_in_chromium(backend: Backend) {
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
async fn security_key_allow_list_in_chromium(backend: Backend) {
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

on_both_backends!(
    passkeys_over_http,
    passkey_enrolment_and_policies_over_http,
    passkey_sign_in_in_chromium,
    unverified_passkey_refused_in_chromium,
    security_key_allow_list_in_chromium
);
