//! The authorization code flow with PKCE through the hosted sign-in page, the tokens it yields
//! (ID token and RFC 9068 access token, checked against the JWKS), UserInfo, and refresh-token
//! rotation with reuse detection.

use serde_json::json;

use crate::harness::{Backend, start};
use crate::jose::verified;
use crate::rp::{AuthRequest, Op, assert_oauth_error, browser, int, token_success};

async fn code_flow_pkce_userinfo_and_refresh_rotation(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let op = Op::new(&server, &api, "flow").await;
    let web = op.web_client(&api).await;
    let b = browser(&server);

    // 1. The unauthenticated browser is sent to the sign-in page with the request sealed in
    //    return_to; signing in there leads back and on to the client with code, state and iss.
    let req = AuthRequest::new(&web, "openid profile email");
    let r = op.authorize(&b, &req).await;
    let login = r.expect_see_other();
    assert!(
        login.starts_with("/t/flow/login?return_to=%2Ft%2Fflow%2Fauthorize%2Fcontinue%3Freq%3D"),
        "{login}"
    );
    let r = op.sign_in_at(&b, &login, crate::rp::PASSWORD).await;
    let params = op.redirect_params(&r, &req);
    let keys: Vec<&str> = params.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["code", "iss", "state"],
        "exactly code, state and iss: {params:?}"
    );
    let code = &params["code"];

    // 2. The code buys an access token, a refresh token and an ID token.
    let tokens = op.exchange(&web, &req, code).await;
    let names: Vec<&String> = tokens.as_object().expect("object").keys().collect();
    assert_eq!(
        names,
        [
            "access_token",
            "expires_in",
            "id_token",
            "refresh_token",
            "scope",
            "token_type"
        ],
        "{tokens}"
    );
    assert_eq!(
        tokens["expires_in"], 300,
        "workforce access tokens live 300 s"
    );
    assert_eq!(tokens["scope"], "openid profile email");

    // 3. The ID token verifies with the JWKS (RS256 by default) and carries the claims.
    let id = op.check_id_token(&web, &req, &tokens).await;
    assert_eq!(id.alg(), "RS256", "RS256 is the default ID token algorithm");
    assert_eq!(
        id.claims["email"],
        op.email.as_str(),
        "the email scope releases email"
    );
    assert_eq!(id.claims["email_verified"], false, "{}", id.claims);
    assert!(
        id.claims["updated_at"].is_i64(),
        "profile releases updated_at: {}",
        id.claims
    );
    assert!(
        id.claims.get("phone_number").is_none(),
        "no phone scope, no phone claim"
    );
    let now = crate::rp::unix_now();
    assert!(
        (int(&id.claims, "iat") - now).abs() < 120,
        "iat is now: {}",
        id.claims
    );

    // 4. The access token is an RFC 9068 JWT (ES256 by default) about the same sign-in.
    let access = tokens["access_token"].as_str().expect("access token");
    let at = verified(access, &op.jwks().await);
    assert_eq!(at.header["typ"], "at+jwt", "{}", at.header);
    assert_eq!(at.alg(), "ES256");
    let c = &at.claims;
    assert_eq!(c["iss"], op.issuer.as_str());
    assert_eq!(c["sub"], op.user_id.as_str());
    assert_eq!(c["aud"], web.id.as_str());
    assert_eq!(c["client_id"], web.id.as_str());
    assert_eq!(c["scope"], "openid profile email");
    assert_eq!(int(c, "exp") - int(c, "iat"), 300);
    assert_eq!(
        c["sid"], id.claims["sid"],
        "the access token names the same session"
    );
    assert_eq!(c["auth_time"], id.claims["auth_time"]);
    assert!(c["jti"].as_str().is_some_and(|j| j.len() >= 16), "{c}");

    // 5. UserInfo, by GET and by POST (header or form body), answers the same claims.
    let expected = json!({
        "sub": op.user_id,
        "email": op.email,
        "email_verified": false,
        "updated_at": id.claims["updated_at"],
    });
    for r in [
        op.userinfo_get(access).await,
        op.userinfo_post_header(access).await,
        op.userinfo_post_form(access).await,
    ] {
        assert_eq!(r.expect(200), expected, "{}", r.what);
        assert_eq!(
            r.header("cache-control").as_deref(),
            Some("no-store"),
            "{}",
            r.what
        );
    }
    // Only this tenant's unaltered access tokens are bearer credentials: not the ID token
    // (RFC 9068 §4: typ at+jwt), not a token whose claims were edited.
    let id_token = tokens["id_token"].as_str().expect("id token");
    op.assert_userinfo_rejects(id_token, "an ID token presented as access token")
        .await;
    let parts: Vec<&str> = access.split('.').collect();
    let mut claims = at.claims.clone();
    claims["scope"] = json!("openid profile email phone");
    let edited = format!(
        "{}.{}.{}",
        parts[0],
        crate::jose::b64url(claims.to_string().as_bytes()),
        parts[2]
    );
    op.assert_userinfo_rejects(&edited, "an access token with edited claims")
        .await;
    assert_eq!(op.introspect(&web, &edited).await, json!({"active": false}));
    // RFC 6750 §2: one token, in one place.
    let both = op
        .post_form_bearer("/userinfo", access, &[("access_token", access)])
        .await;
    assert_eq!(both.status, 400, "{}", both.text());
    assert_eq!(both.json()["error"], "invalid_request");

    // 6. Introspection (RFC 7662) of both tokens.
    let i = op.introspect(&web, access).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["token_type"], "Bearer");
    assert_eq!(i["sub"], op.user_id.as_str());
    assert_eq!(i["client_id"], web.id.as_str());
    assert_eq!(i["scope"], "openid profile email");
    assert_eq!(i["iss"], op.issuer.as_str());
    assert_eq!(i["exp"], c["exp"]);
    let refresh0 = tokens["refresh_token"].as_str().expect("refresh token");
    let i = op.introspect(&web, refresh0).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["token_type"], "refresh_token");
    assert_eq!(i["client_id"], web.id.as_str());
    assert_eq!(i["sub"], op.user_id.as_str());
    assert_eq!(i["scope"], "openid profile email");

    // 7. Refresh rotates: a new refresh token each time, the used one becomes inactive.
    let t1 = token_success(&op.refresh(&web, refresh0).await);
    let refresh1 = t1["refresh_token"]
        .as_str()
        .expect("a rotated refresh token");
    assert_ne!(refresh1, refresh0);
    assert_eq!(t1["scope"], "openid profile email");
    let id1 = verified(
        t1["id_token"].as_str().expect("an ID token on refresh"),
        &op.jwks().await,
    );
    assert_eq!(id1.claims["sub"], id.claims["sub"]);
    assert_eq!(
        id1.claims["auth_time"], id.claims["auth_time"],
        "auth_time is the original sign-in"
    );
    assert_eq!(id1.claims["sid"], id.claims["sid"]);
    op.assert_inactive(&web, refresh0, "the rotated refresh token")
        .await;
    let access1 = t1["access_token"].as_str().expect("access");
    op.assert_userinfo_ok(access1, "the access token works")
        .await;

    // A refresh may narrow the scope but not widen it (RFC 6749 §6).
    let r = op
        .token(
            &web,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh1),
                ("scope", "openid phone"),
            ],
        )
        .await;
    assert_oauth_error(&r, 400, "invalid_scope");
    let t2 = token_success(
        &op.token(
            &web,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh1),
                ("scope", "openid email"),
            ],
        )
        .await,
    );
    assert_eq!(t2["scope"], "openid email");
    let access2 = t2["access_token"].as_str().expect("access");
    let refresh2 = t2["refresh_token"].as_str().expect("refresh");
    assert_eq!(op.introspect(&web, access2).await["active"], true);

    // 8. Reuse of a rotated refresh token revokes the whole family (RFC 9700 §4.14.2): the
    //    tokens of the latest refresh stop working too.
    let r = op.refresh(&web, refresh0).await;
    let d = assert_oauth_error(&r, 400, "invalid_grant");
    assert!(d.contains("already used"), "{d}");
    op.assert_inactive(&web, access2, "the access token of the second refresh")
        .await;
    op.assert_inactive(&web, access1, "the access token of the first refresh")
        .await;
    op.assert_inactive(&web, access, "the first access token")
        .await;
    op.assert_inactive(&web, refresh2, "the newest refresh token")
        .await;
    op.assert_userinfo_rejects(access2, "after reuse detection")
        .await;
    let r = op.refresh(&web, refresh2).await;
    assert_oauth_error(&r, 400, "invalid_grant");

    // 9. A public client (no secret, PKCE required) in the same browser: single sign-on, no
    //    password asked, and the code is redeemed with client_id and the verifier alone.
    let spa = op
        .client(
            &api,
            json!({"public": true, "redirect_uris": ["http://127.0.0.1:9/spa"]}),
        )
        .await;
    assert!(spa.secret.is_none());
    let req = AuthRequest::new(&spa, "openid offline_access");
    let r = op.authorize(&b, &req).await;
    let code = op.redirect_params(&r, &req)["code"].clone();
    let t = op.exchange(&spa, &req, &code).await;
    let sid = op.check_id_token(&spa, &req, &t).await.claims["sid"].clone();
    assert_eq!(
        sid, id.claims["sid"],
        "one browser session for both applications"
    );
    let t = token_success(
        &op.refresh(&spa, t["refresh_token"].as_str().expect("refresh"))
            .await,
    );
    assert!(t["refresh_token"].is_string(), "{t}");
    // A public client cannot introspect (RFC 7662 §2.1 wants client authentication).
    let r = op
        .post_form(
            "/introspect",
            None,
            &[
                ("token", t["access_token"].as_str().expect("at")),
                ("client_id", &spa.id),
            ],
        )
        .await;
    assert_oauth_error(&r, 400, "unauthorized_client");
    crate::rp::assert_no_server_errors(&server);
}

on_both_backends!(code_flow_pkce_userinfo_and_refresh_rotation);
