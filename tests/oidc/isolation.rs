//! Tenants are separate providers: nothing one issues is accepted by another. And the admin API
//! accepts access tokens of the `admin` tenant only, by scope.

use serde_json::json;

use crate::harness::{Backend, start};
use crate::rp::{
    AuthRequest, Client, Op, assert_invalid_client, assert_oauth_error, browser, token_success,
};

async fn tokens_of_one_tenant_mean_nothing_to_another(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let a = Op::new(&server, &api, "tenant-a").await;
    let b = Op::new(&server, &api, "tenant-b").await;
    let (web_a, web_b) = (a.web_client(&api).await, b.web_client(&api).await);
    let (machine_a, machine_b) = (
        a.machine_client(&api, &["data:read"]).await,
        b.machine_client(&api, &["data:read"]).await,
    );
    let browser_a = browser(&server);
    let (req_a, ta) = a
        .sign_in_and_get_tokens(&browser_a, &web_a, "openid email")
        .await;
    a.check_id_token(&web_a, &req_a, &ta).await;
    let access_a = ta["access_token"].as_str().expect("at");
    let refresh_a = ta["refresh_token"].as_str().expect("rt");
    let cc_a = a
        .token_ok(
            &machine_a,
            &[("grant_type", "client_credentials"), ("scope", "data:read")],
        )
        .await;
    let cc_access_a = cc_a["access_token"].as_str().expect("at");

    // B's userinfo and introspection reject A's tokens; A's still accept them.
    b.assert_userinfo_rejects(access_a, "tenant A's token at tenant B")
        .await;
    for t in [access_a, refresh_a, cc_access_a] {
        b.assert_inactive(&machine_b, t, "tenant A's token at tenant B")
            .await;
        assert_eq!(a.introspect(&machine_a, t).await["active"], true);
    }
    // Revoking at B does nothing to A's tokens.
    b.revoke(&machine_b, refresh_a).await;
    assert_eq!(a.introspect(&machine_a, refresh_a).await["active"], true);
    // A's refresh token and A's code are unknown at B's token endpoint.
    assert_oauth_error(&b.refresh(&web_b, refresh_a).await, 400, "invalid_grant");
    let req = AuthRequest::new(&web_a, "openid");
    let code = a.code(&browser_a, &req).await;
    let r = b
        .redeem(&web_b, &code, &web_b.redirect_uri, Some(&req.pkce.verifier))
        .await;
    assert_oauth_error(&r, 400, "invalid_grant");
    // A's clients do not exist at B.
    for c in [&web_a, &machine_a] {
        assert_invalid_client(&b.token(c, &[("grant_type", "client_credentials")]).await);
        assert_invalid_client(
            &b.post_form("/introspect", Some(c), &[("token", access_a)])
                .await,
        );
    }
    let r = browser_a
        .get(&format!(
            "/t/tenant-b/authorize?{}",
            AuthRequest::new(&web_a, "openid").query()
        ))
        .await;
    crate::rp::assert_error_page(&r, 400, "unknown client_id");
    // A's session does not sign anyone in at B; A's ID token is no hint for B's logout.
    let req = AuthRequest::new(&web_b, "openid").with("prompt", "none");
    b.assert_error_redirect(&b.authorize(&browser_a, &req).await, &req, "login_required");
    let r = browser_a
        .get(&format!(
            "/t/tenant-b/logout?id_token_hint={}&post_logout_redirect_uri=http%3A%2F%2Flocalhost%3A9%2Flogged-out",
            ta["id_token"].as_str().expect("id")
        ))
        .await;
    crate::rp::assert_error_page(&r, 400, "id_token_hint");
    // After all this, A's grant is intact.
    token_success(&a.refresh(&web_a, refresh_a).await);
    crate::rp::assert_no_server_errors(&server);
}

async fn admin_api_with_oauth_access_tokens(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let admin = Op::existing(&server, "admin", "-", "-");
    let create = |scopes: &[&str]| {
        json!({
            "name": "automation",
            "grant_types": ["client_credentials"],
            "redirect_uris": [],
            "post_logout_redirect_uris": [],
            "allowed_scopes": scopes,
        })
    };
    let automation = admin
        .client(&api, create(&["admin:read", "admin:write", "reports:read"]))
        .await;
    // admin:write: create a tenant, read it back.
    let write = cc_token(&admin, &automation, "admin:write").await;
    let as_write = api.with_key(Some(&write));
    let created = as_write
        .post(
            "/tenants",
            &json!({"slug": "made-by-oauth", "preset": "customer"}),
        )
        .await
        .expect(201);
    assert_eq!(created["slug"], "made-by-oauth");
    assert_eq!(
        as_write.get("/tenants/made-by-oauth").await.expect(200)["slug"],
        "made-by-oauth"
    );

    // admin:read reads but may not write; a token without either admin scope gets nothing.
    let read = cc_token(&admin, &automation, "admin:read").await;
    let as_read = api.with_key(Some(&read));
    as_read.get("/tenants/made-by-oauth").await.expect(200);
    as_read
        .post(
            "/tenants",
            &json!({"slug": "not-allowed", "preset": "customer"}),
        )
        .await
        .expect_error(403, "forbidden");
    let reports = cc_token(&admin, &automation, "reports:read").await;
    api.with_key(Some(&reports))
        .get("/tenants/made-by-oauth")
        .await
        .expect_error(403, "forbidden");

    // A token of another tenant, even one carrying the scope name, is not an admin credential.
    let other = Op::new(&server, &api, "not-admin").await;
    let impostor = other.client(&api, create(&["admin:write"])).await;
    let foreign = cc_token(&other, &impostor, "admin:write").await;
    api.with_key(Some(&foreign))
        .get("/tenants/made-by-oauth")
        .await
        .expect_error(401, "unauthorized");
    // Nor is a revoked token, or garbage.
    admin.revoke(&automation, &write).await;
    as_write
        .get("/tenants/made-by-oauth")
        .await
        .expect_error(401, "unauthorized");
    api.with_key(Some("not-a-token"))
        .get("/tenants")
        .await
        .expect_error(401, "unauthorized");
    crate::rp::assert_no_server_errors(&server);
}

/// A client-credentials access token of `c` with `scope`.
async fn cc_token(op: &Op, c: &Client, scope: &str) -> String {
    op.token_ok(c, &[("grant_type", "client_credentials"), ("scope", scope)])
        .await["access_token"]
        .as_str()
        .expect("an access token")
        .to_string()
}

on_both_backends!(
    tokens_of_one_tenant_mean_nothing_to_another,
    admin_api_with_oauth_access_tokens
);
