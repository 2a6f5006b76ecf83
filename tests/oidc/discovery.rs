//! Discovery (OpenID Connect Discovery 1.0, RFC 8414) and the JWKS: what a client library reads
//! first, and that every endpoint it advertises really answers.

use serde_json::{Value, json};

use crate::harness::{Backend, Browser, start};
use crate::rp::{Op, assert_error_page, assert_invalid_client, assert_oauth_error};

async fn discovery_document_and_every_endpoint(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let op = Op::new(&server, &api, "disco").await;
    let d = op.discovery().await;
    let iss = op.issuer.as_str();

    assert_eq!(d["issuer"], iss);
    for (key, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
        ("end_session_endpoint", "/logout"),
    ] {
        assert_eq!(d[key], format!("{iss}{path}"), "{key}");
    }
    assert_eq!(d["response_types_supported"], json!(["code"]));
    assert_eq!(d["response_modes_supported"], json!(["query", "form_post"]));
    let grants = d["grant_types_supported"]
        .as_array()
        .expect("grant_types_supported");
    for g in ["authorization_code", "refresh_token", "client_credentials"] {
        assert!(
            grants.iter().any(|x| x == g),
            "{g} in grant_types_supported: {grants:?}"
        );
    }
    for g in ["implicit", "password"] {
        assert!(
            !grants.iter().any(|x| x == g),
            "{g} is not offered: {grants:?}"
        );
    }
    if grants
        .iter()
        .any(|x| x == "urn:ietf:params:oauth:grant-type:device_code")
    {
        assert!(
            d["device_authorization_endpoint"].is_string(),
            "RFC 8628 §4: {d}"
        );
    }
    assert_eq!(d["subject_types_supported"], json!(["public"]));
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256", "EdDSA"])
    );
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none"
        ])
    );
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["request_parameter_supported"], false);
    assert_eq!(d["request_uri_parameter_supported"], false);
    let scopes = d["scopes_supported"].as_array().expect("scopes_supported");
    for s in ["openid", "profile", "email", "offline_access"] {
        assert!(
            scopes.iter().any(|x| x == s),
            "{s} in scopes_supported: {scopes:?}"
        );
    }
    let claims = d["claims_supported"].as_array().expect("claims_supported");
    for c in [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "sid",
        "at_hash",
        "email",
    ] {
        assert!(claims.iter().any(|x| x == c), "{c} in claims_supported");
    }

    // The RFC 8414 location serves the same document.
    let r = Browser::cookieless(&server)
        .get("/.well-known/oauth-authorization-server/t/disco")
        .await;
    assert_eq!(
        r.expect(200),
        d,
        "RFC 8414 metadata equals the OpenID configuration"
    );
    let r = op.get("/.well-known/openid-configuration").await;
    assert!(
        r.header("cache-control")
            .unwrap_or_default()
            .starts_with("public, max-age=")
    );

    // JWKS: one public key per algorithm, each with a kid, and nothing private.
    let jwks = op.jwks().await;
    check_public_jwks(&jwks);

    // Every endpoint answers its protocol's error for an empty request, never 404 or 500.
    let browser = Browser::cookieless(&server);
    let r = browser.get("/t/disco/authorize").await;
    assert_error_page(&r, 400, "client_id is missing");
    for path in ["/token", "/introspect", "/revoke"] {
        let r = op.post_form(path, None, &[]).await;
        assert_invalid_client(&r);
    }
    let r = op.get("/userinfo").await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(
        r.header("www-authenticate").as_deref(),
        Some("Bearer realm=\"tessera\""),
        "RFC 6750 §3.1: no error code when no credentials were sent"
    );
    assert!(r.body.is_empty(), "{}", r.text());
    let r = browser.get("/t/disco/logout").await;
    assert_eq!(
        r.status,
        200,
        "the end-session endpoint shows its page: {}",
        r.text()
    );
    assert!(r.text().contains("You are signed out"), "{}", r.text());

    // And whatever else the document advertises is under the issuer and answers (an endpoint
    // added later is covered here before it has tests of its own).
    let doc = d.as_object().expect("an object");
    for (key, value) in doc
        .iter()
        .filter(|(k, _)| k.ends_with("_endpoint") || *k == "jwks_uri")
    {
        let url = value
            .as_str()
            .unwrap_or_else(|| panic!("{key} is a string"));
        let path = url
            .strip_prefix(iss)
            .unwrap_or_else(|| panic!("{key} {url} is under the issuer"));
        let mut r = op.get(path).await;
        if r.status == 405 {
            r = op.post_form(path, None, &[]).await;
        }
        assert!(
            ![404, 405].contains(&r.status) && r.status < 500,
            "{key} ({url}) answers: {} {}",
            r.status,
            r.text()
        );
    }

    // Endpoints are per tenant: an unknown tenant has none.
    let r = Browser::cookieless(&server)
        .get("/t/nosuch/.well-known/openid-configuration")
        .await;
    assert_oauth_error(&r, 404, "invalid_request");
    let r = Browser::cookieless(&server)
        .post_form("/t/nosuch/token", &[])
        .await;
    assert_oauth_error(&r, 404, "invalid_request");
    crate::rp::assert_no_server_errors(&server);
}

/// A JWKS of public keys only: RSA, P-256 and Ed25519, each with a distinct kid.
pub fn check_public_jwks(jwks: &Value) {
    let keys = jwks["keys"].as_array().expect("keys");
    let mut kids: Vec<&str> = keys
        .iter()
        .map(|k| k["kid"].as_str().expect("a kid"))
        .collect();
    kids.sort();
    kids.dedup();
    assert_eq!(kids.len(), keys.len(), "distinct kids: {jwks}");
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert!(
            keys.iter().any(|k| k["alg"] == alg),
            "a key for {alg}: {jwks}"
        );
    }
    for k in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(k.get(private).is_none(), "no private part {private} in {k}");
        }
        assert_eq!(k["use"], "sig", "{k}");
    }
}

on_both_backends!(discovery_document_and_every_endpoint);
