//! The token endpoint's refusals (replayed codes, PKCE, client authentication, grant types,
//! malformed requests), client credentials, introspection and revocation.

use serde_json::json;

use crate::harness::{Backend, start};
use crate::jose::{Pkce, verified};
use crate::rp::{
    AuthRequest, Client, Op, assert_invalid_client, assert_oauth_error, browser, token_success,
};

async fn code_replay_pkce_and_redirect_binding(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let op = Op::new(&server, &api, "codes").await;
    let web = op.web_client(&api).await;
    let other = op.web_client(&api).await;
    let b = browser(&server);

    // A replayed code is refused and revokes what the first exchange issued (RFC 6749 §4.1.2).
    let req = AuthRequest::new(&web, "openid");
    let code = op.code(&b, &req).await;
    let tokens = op.exchange(&web, &req, &code).await;
    let access = tokens["access_token"].as_str().expect("access");
    let refresh = tokens["refresh_token"].as_str().expect("refresh");
    op.assert_userinfo_ok(access, "the access token works")
        .await;
    let replay = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", req.redirect_uri.as_str()),
        ("code_verifier", req.pkce.verifier.as_str()),
    ];
    let d = assert_oauth_error(&op.token(&web, &replay).await, 400, "invalid_grant");
    assert!(d.contains("already used"), "{d}");
    op.assert_inactive(&web, access, "the access token issued from a replayed code")
        .await;
    op.assert_inactive(
        &web,
        refresh,
        "the refresh token issued from a replayed code",
    )
    .await;
    op.assert_userinfo_rejects(access, "after code replay")
        .await;
    assert_oauth_error(&op.refresh(&web, refresh).await, 400, "invalid_grant");

    // Each case below gets a fresh code (the browser's session signs in silently).
    // A wrong verifier (well-formed, another one's) is invalid_grant (RFC 7636 §4.6).
    let req = AuthRequest::new(&web, "openid");
    let code = op.code(&b, &req).await;
    let wrong = Pkce::new().verifier;
    let d = assert_oauth_error(
        &op.redeem(&web, &code, &req.redirect_uri, Some(&wrong))
            .await,
        400,
        "invalid_grant",
    );
    assert!(d.contains("code_verifier"), "{d}");

    // A missing verifier for a request that had a challenge.
    let req = AuthRequest::new(&web, "openid");
    let code = op.code(&b, &req).await;
    assert_oauth_error(
        &op.redeem(&web, &code, &req.redirect_uri, None).await,
        400,
        "invalid_grant",
    );

    // A verifier although the request had no challenge (a confidential client may omit PKCE).
    let req = AuthRequest::new(&web, "openid")
        .without("code_challenge")
        .without("code_challenge_method");
    let code = op.code(&b, &req).await;
    assert_oauth_error(
        &op.redeem(&web, &code, &req.redirect_uri, Some(&req.pkce.verifier))
            .await,
        400,
        "invalid_grant",
    );
    // … and without one it works.
    let req = AuthRequest::new(&web, "openid")
        .without("code_challenge")
        .without("code_challenge_method");
    let code = op.code(&b, &req).await;
    token_success(&op.redeem(&web, &code, &req.redirect_uri, None).await);

    // The code is bound to the redirect URI and to the client it was issued to.
    let req = AuthRequest::new(&web, "openid");
    let code = op.code(&b, &req).await;
    assert_oauth_error(
        &op.redeem(
            &web,
            &code,
            "http://localhost:9/elsewhere",
            Some(&req.pkce.verifier),
        )
        .await,
        400,
        "invalid_grant",
    );
    let req = AuthRequest::new(&web, "openid");
    let code = op.code(&b, &req).await;
    let d = assert_oauth_error(
        &op.redeem(&other, &code, &req.redirect_uri, Some(&req.pkce.verifier))
            .await,
        400,
        "invalid_grant",
    );
    assert!(d.contains("another client"), "{d}");
    assert_oauth_error(
        &op.redeem(
            &web,
            "not-a-code",
            &req.redirect_uri,
            Some(&req.pkce.verifier),
        )
        .await,
        400,
        "invalid_grant",
    );

    // PKCE rules at the authorization endpoint go back to the client as errors.
    let spa = op.client(&api, json!({"public": true})).await;
    let req = AuthRequest::new(&spa, "openid")
        .without("code_challenge")
        .without("code_challenge_method");
    let r = op.authorize(&b, &req).await;
    op.assert_error_redirect(&r, &req, "invalid_request");
    let req = AuthRequest::new(&spa, "openid");
    let plain = req.pkce.verifier.chars().take(43).collect::<String>();
    let req = req
        .with("code_challenge", &plain)
        .with("code_challenge_method", "plain");
    let r = op.authorize(&b, &req).await;
    op.assert_error_redirect(&r, &req, "invalid_request");
    let req = AuthRequest::new(&spa, "openid").without("code_challenge_method");
    let r = op.authorize(&b, &req).await;
    op.assert_error_redirect(&r, &req, "invalid_request");
    // A public client redeeming without the verifier.
    let req = AuthRequest::new(&spa, "openid");
    let code = op.code(&b, &req).await;
    assert_oauth_error(
        &op.redeem(&spa, &code, &req.redirect_uri, None).await,
        400,
        "invalid_grant",
    );
    crate::rp::assert_no_server_errors(&server);
}

async fn client_auth_grant_types_and_malformed_requests(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let op = Op::new(&server, &api, "grants").await;
    let machine = op
        .machine_client(&api, &["invoices:read", "invoices:write"])
        .await;
    let web = op.web_client(&api).await;
    let secret = machine.secret.clone().expect("a secret");
    let cc = [
        ("grant_type", "client_credentials"),
        ("scope", "invoices:read"),
    ];

    // Client credentials: an access token about the client, no refresh or ID token.
    let t = op.token_ok(&machine, &cc).await;
    assert_eq!(t["scope"], "invoices:read");
    assert!(
        t.get("refresh_token").is_none() && t.get("id_token").is_none(),
        "{t}"
    );
    let at = verified(t["access_token"].as_str().expect("at"), &op.jwks().await);
    assert_eq!(at.header["typ"], "at+jwt");
    assert_eq!(at.claims["sub"], machine.id.as_str());
    assert_eq!(at.claims["client_id"], machine.id.as_str());
    assert_eq!(at.claims["aud"], machine.id.as_str());
    assert_eq!(at.claims["scope"], "invoices:read");
    for user_claim in ["sid", "auth_time", "amr"] {
        assert!(
            at.claims.get(user_claim).is_none(),
            "no {user_claim}: {}",
            at.claims
        );
    }
    let both = op
        .token_ok(
            &machine,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "invoices:read invoices:write"),
            ],
        )
        .await;
    assert_eq!(both["scope"], "invoices:read invoices:write");
    let none = op
        .token_ok(&machine, &[("grant_type", "client_credentials")])
        .await;
    assert!(
        none.get("scope").is_none(),
        "no scope asked, none granted: {none}"
    );
    // client_secret_post works as well as Basic.
    let r = op
        .post_form(
            "/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &machine.id),
                ("client_secret", &secret),
            ],
        )
        .await;
    token_success(&r);
    for scope in ["invoices:delete", "openid", "invoices:read admin:write"] {
        let r = op
            .token(
                &machine,
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        assert_oauth_error(&r, 400, "invalid_scope");
    }
    // A user-facing client may not use client credentials; unknown grants are unsupported.
    let r = op.token(&web, &cc).await;
    assert_oauth_error(&r, 400, "unauthorized_client");
    for g in [
        "password",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "implicit",
    ] {
        let r = op.token(&machine, &[("grant_type", g)]).await;
        assert_oauth_error(&r, 400, "unsupported_grant_type");
    }
    assert_oauth_error(
        &op.token(&machine, &[("scope", "invoices:read")]).await,
        400,
        "invalid_request",
    );

    // Wrong secrets and unknown clients: 401 invalid_client with a challenge, whichever method.
    let wrong = Client {
        secret: Some(format!("{secret}x")),
        ..machine.clone()
    };
    assert_invalid_client(&op.token(&wrong, &cc).await);
    let unknown = Client {
        id: "no-such-client".into(),
        ..machine.clone()
    };
    assert_invalid_client(&op.token(&unknown, &cc).await);
    let r = op
        .post_form(
            "/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &machine.id),
                ("client_secret", "wrong"),
            ],
        )
        .await;
    assert_invalid_client(&r);
    assert_invalid_client(
        &op.post_form("/introspect", Some(&wrong), &[("token", "x")])
            .await,
    );
    assert_invalid_client(
        &op.post_form("/revoke", Some(&wrong), &[("token", "x")])
            .await,
    );
    // Two authentication methods at once is a malformed request (RFC 6749 §2.3).
    let r = op
        .post_form(
            "/token",
            Some(&machine),
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", &secret),
                ("client_id", &machine.id),
            ],
        )
        .await;
    assert_oauth_error(&r, 400, "invalid_request");

    // Parameters may appear once (RFC 6749 §3.1, §3.2); forms only.
    let r = op
        .post_raw(
            "/token",
            Some(&machine),
            "grant_type=client_credentials&grant_type=client_credentials",
        )
        .await;
    let d = assert_oauth_error(&r, 400, "invalid_request");
    assert!(d.contains("more than once"), "{d}");
    let r = op
        .post_raw(
            "/token",
            Some(&machine),
            "grant_type=client_credentials&scope=invoices%3Aread&scope=invoices%3Aread",
        )
        .await;
    assert_oauth_error(&r, 400, "invalid_request");
    let r = op
        .post_raw("/introspect", Some(&machine), "token=a&token=b")
        .await;
    assert_oauth_error(&r, 400, "invalid_request");
    let http = reqwest::Client::new();
    let r = http
        .post(op.url("/token"))
        .basic_auth(&machine.id, Some(&secret))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .expect("sent");
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.expect("JSON");
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("invalid_request")),
        "{body}"
    );

    // A machine token has no user and no openid scope: UserInfo refuses it as RFC 6750 §3.1 says.
    let r = op
        .userinfo_get(t["access_token"].as_str().expect("at"))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["error"], "insufficient_scope");
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );

    // Introspection of a machine token, then revocation (RFC 7009) makes it inactive.
    let access = t["access_token"].as_str().expect("at");
    let i = op.introspect(&machine, access).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["sub"], machine.id.as_str());
    assert_eq!(i["scope"], "invoices:read");
    op.revoke(&machine, access).await;
    op.assert_inactive(&machine, access, "a revoked client-credentials token")
        .await;
    let other = both["access_token"].as_str().expect("at");
    assert_eq!(
        op.introspect(&machine, other).await["active"],
        true,
        "only that token"
    );
    // Unknown and malformed tokens: inactive, and revoking them is not an error (RFC 7009 §2.2).
    op.assert_inactive(&machine, "no-such-token", "an unknown token")
        .await;
    op.assert_inactive(&machine, "a.b.c", "a malformed JWT")
        .await;
    op.revoke(&machine, "no-such-token").await;
    let r = op
        .post_form(
            "/revoke",
            Some(&machine),
            &[("token", other), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!((r.status, r.json()), (200, json!({})), "{}", r.what);

    // User tokens: revoking the access token ends it at userinfo and introspection; revoking a
    // refresh token ends its whole grant. Another client cannot revoke them.
    let b = browser(&server);
    let (_req, tokens) = op.sign_in_and_get_tokens(&b, &web, "openid email").await;
    let access = tokens["access_token"].as_str().expect("at");
    let refresh = tokens["refresh_token"].as_str().expect("rt");
    op.revoke(&machine, access).await;
    op.revoke(&machine, refresh).await;
    assert_eq!(
        op.introspect(&web, access).await["active"],
        true,
        "another client's revocation is ignored"
    );
    assert_eq!(op.introspect(&web, refresh).await["active"], true);
    op.revoke(&web, access).await;
    op.assert_inactive(&web, access, "a revoked access token")
        .await;
    op.assert_userinfo_rejects(access, "a revoked access token")
        .await;
    let t1 = token_success(&op.refresh(&web, refresh).await);
    let access1 = t1["access_token"].as_str().expect("at");
    let refresh1 = t1["refresh_token"].as_str().expect("rt");
    op.assert_userinfo_ok(access1, "revoking an access token leaves the grant")
        .await;
    op.revoke(&web, refresh1).await;
    op.assert_inactive(&web, refresh1, "a revoked refresh token")
        .await;
    op.assert_inactive(&web, access1, "an access token of a revoked grant")
        .await;
    op.assert_userinfo_rejects(access1, "an access token of a revoked grant")
        .await;
    assert_oauth_error(&op.refresh(&web, refresh1).await, 400, "invalid_grant");
    crate::rp::assert_no_server_errors(&server);
}

/// UserInfo and the refresh grant read the token, its account and its session in one statement:
/// what they answer follows the account. Refreshed tokens carry the same subject and claims; an
/// account disabled or deleted by an operator makes both refuse the tokens it held.
async fn tokens_follow_their_account(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let op = Op::new(&server, &api, "holder").await;
    let app = op.web_client(&api).await;
    let b = browser(&server);
    let (_, t) = op.sign_in_and_get_tokens(&b, &app, "openid email").await;
    let first = op
        .assert_userinfo_ok(t["access_token"].as_str().expect("at"), "first token")
        .await;
    assert_eq!(first["sub"], op.user_id.as_str(), "{first}");
    assert_eq!(first["email"], op.email.as_str(), "{first}");

    let r = op
        .refresh(&app, t["refresh_token"].as_str().expect("rt"))
        .await;
    let refreshed = token_success(&r);
    let again = op
        .assert_userinfo_ok(
            refreshed["access_token"].as_str().expect("at"),
            "refreshed token",
        )
        .await;
    assert_eq!(again, first, "the refreshed token names the same account");

    // Disabled: the refresh grant and UserInfo refuse what the account held.
    let r = api
        .post_empty(&format!("/tenants/holder/users/{}/disable", op.user_id))
        .await
        .expect(200);
    assert_eq!(r["status"], "disabled");
    let rt = refreshed["refresh_token"].as_str().expect("rt");
    assert_oauth_error(&op.refresh(&app, rt).await, 400, "invalid_grant");
    op.assert_userinfo_rejects(
        refreshed["access_token"].as_str().expect("at"),
        "a disabled account's token",
    )
    .await;

    // Deleted: the same, and nothing fails on the way.
    let r = api
        .delete(&format!("/tenants/holder/users/{}", op.user_id))
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_oauth_error(&op.refresh(&app, rt).await, 400, "invalid_grant");
    op.assert_userinfo_rejects(
        refreshed["access_token"].as_str().expect("at"),
        "a deleted account's token",
    )
    .await;
    crate::rp::assert_no_server_errors(&server);
}

on_both_backends!(
    code_replay_pkce_and_redirect_binding,
    client_auth_grant_types_and_malformed_requests,
    tokens_follow_their_account
);
