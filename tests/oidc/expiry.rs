//! Expiry without waiting: tokens are issued, then the server is restarted on the same
//! deployment with its clock one day ahead (`TESSERA_TEST_CLOCK_OFFSET_SECS`).

use crate::harness::{Backend, Deployment};
use crate::rp::{AuthRequest, Op, assert_oauth_error, browser, restart, token_success};

const ONE_DAY: &str = "86400";

async fn tokens_expire_on_a_later_clock(backend: Backend) {
    let dep = Deployment::new(backend);
    let server = dep.start().await;
    let api = server.admin_api().await;
    let op = Op::new(&server, &api, "later").await;
    let web = op.web_client(&api).await;
    let opaque = op
        .client(
            &api,
            serde_json::json!({"metadata": {"access_token_format": "opaque"}}),
        )
        .await;
    let machine = op.machine_client(&api, &["jobs:run"]).await;
    let b = browser(&server);
    let (_, user) = op.sign_in_and_get_tokens(&b, &web, "openid").await;
    let (_, offline) = op
        .sign_in_and_get_tokens(&b, &web, "openid offline_access")
        .await;
    let (_, opaque_tokens) = op.sign_in_and_get_tokens(&b, &opaque, "openid").await;
    let cc = op
        .token_ok(
            &machine,
            &[("grant_type", "client_credentials"), ("scope", "jobs:run")],
        )
        .await;
    let access = user["access_token"].as_str().expect("at");
    let opaque_access = opaque_tokens["access_token"].as_str().expect("at");
    let cc_access = cc["access_token"].as_str().expect("at");
    for (client, t) in [
        (&web, access),
        (&opaque, opaque_access),
        (&machine, cc_access),
    ] {
        assert_eq!(
            op.introspect(client, t).await["active"],
            true,
            "active before"
        );
    }
    op.assert_userinfo_ok(access, "the access token works")
        .await;
    let server = restart(&dep, server, &[("TESSERA_TEST_CLOCK_OFFSET_SECS", ONE_DAY)]).await;
    let op = op.on(&server);
    let b = b.on(&server);

    // Access tokens (300 s): inactive at introspection and refused by userinfo, JWT or opaque.
    op.assert_inactive(&web, access, "a day-old access token")
        .await;
    op.assert_inactive(&opaque, opaque_access, "a day-old opaque access token")
        .await;
    op.assert_inactive(&machine, cc_access, "a day-old client-credentials token")
        .await;
    op.assert_userinfo_rejects(access, "a day-old access token")
        .await;
    op.assert_userinfo_rejects(opaque_access, "a day-old opaque access token")
        .await;

    // Refresh tokens: idle for a day (30 min allowed), the offline one included.
    for t in [&user, &offline] {
        let refresh = t["refresh_token"].as_str().expect("rt");
        assert_oauth_error(&op.refresh(&web, refresh).await, 400, "invalid_grant");
        op.assert_inactive(&web, refresh, "a day-old refresh token")
            .await;
    }

    // The browser session ended too (10 h absolute): a new request asks for the password, and
    // after it everything works on the new clock.
    let req = AuthRequest::new(&web, "openid").with("prompt", "none");
    op.assert_error_redirect(&op.authorize(&b, &req).await, &req, "login_required");
    let (req, fresh) = op.sign_in_and_get_tokens(&b, &web, "openid").await;
    let id = op.check_id_token(&web, &req, &fresh).await;
    let now = crate::rp::unix_now();
    let iat = crate::rp::int(&id.claims, "iat");
    assert!(
        (iat - now - 86400).abs() < 120,
        "tokens are issued on the shifted clock: {}",
        id.claims
    );
    let fresh_access = fresh["access_token"].as_str().expect("at");
    assert_eq!(op.introspect(&web, fresh_access).await["active"], true);
    token_success(
        &op.refresh(&web, fresh["refresh_token"].as_str().expect("rt"))
            .await,
    );
    crate::rp::assert_no_server_errors(&server);
}

on_both_backends!(tokens_expire_on_a_later_clock);
