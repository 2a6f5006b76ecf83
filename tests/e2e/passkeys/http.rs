//! Over HTTP, with the software authenticator: registration rules, username-less sign-in, the
//! second factor, forced enrolment, policies, and bad input.

use serde_json::json;

use super::soft::{SoftKey, Web, assert_refused, b64};
use super::{PASSWORD, factors, set_mfa, uuid_bytes};
use crate::harness::{Api, Backend, element_text, start};

pub async fn passkeys_over_http(backend: Backend) {
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
pub async fn passkey_enrolment_and_policies_over_http(backend: Backend) {
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
