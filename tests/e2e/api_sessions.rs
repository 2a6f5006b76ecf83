//! `/api/v1/tenants/{slug}/sessions`: the sessions that hosted-page sign-ins create, and revoking
//! them (one, or all of a user's), after which the browser's cookie opens nothing.

use serde_json::json;

use crate::harness::{Backend, start};

async fn sessions_list_and_revoke(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    api.create_tenant("desk", "workforce").await;
    let eve = api
        .create_user("desk", "eve@desk.test", Some("eve-password-1"))
        .await;
    let eve_id = eve["id"].as_str().expect("id").to_string();
    let fay = api
        .create_user("desk", "fay@desk.test", Some("fay-password-1"))
        .await;
    let fay_id = fay["id"].as_str().expect("id").to_string();

    assert_eq!(
        api.get("/tenants/desk/sessions").await.expect(200)["items"],
        json!([]),
        "no sign-in, no session"
    );
    let laptop = server.browser();
    laptop
        .sign_in_ok("desk", "eve@desk.test", "eve-password-1")
        .await;
    let list = api.get("/tenants/desk/sessions").await.expect(200);
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{list}");
    let s = &items[0];
    assert_eq!(s["user_id"], eve_id.as_str());
    assert_eq!(s["active"], true);
    assert_eq!(s["auth_methods"], json!(["pwd"]));
    assert_eq!(s["ip"], "127.0.0.1");
    let session_id = s["id"].as_str().expect("id").to_string();
    let one = api
        .get(&format!("/tenants/desk/sessions/{session_id}"))
        .await
        .expect(200);
    assert_eq!(one["id"], session_id.as_str());

    // Revoking the session signs the browser out.
    assert_eq!(
        laptop.account_email("desk").await.as_deref(),
        Some("eve@desk.test")
    );
    assert_eq!(
        api.delete(&format!("/tenants/desk/sessions/{session_id}"))
            .await
            .status,
        204
    );
    assert!(
        laptop.account_email("desk").await.is_none(),
        "a revoked session's cookie no longer opens the account page"
    );
    assert_eq!(
        api.get("/tenants/desk/sessions").await.expect(200)["items"],
        json!([])
    );
    api.delete(&format!("/tenants/desk/sessions/{session_id}"))
        .await
        .expect_error(404, "not_found");

    // Revoking all of a user's sessions leaves other users' sessions alone.
    let phone = server.browser();
    let tablet = server.browser();
    let other = server.browser();
    laptop
        .sign_in_ok("desk", "eve@desk.test", "eve-password-1")
        .await;
    phone
        .sign_in_ok("desk", "eve@desk.test", "eve-password-1")
        .await;
    tablet
        .sign_in_ok("desk", "eve@desk.test", "eve-password-1")
        .await;
    other
        .sign_in_ok("desk", "fay@desk.test", "fay-password-1")
        .await;
    let eves = api
        .get(&format!("/tenants/desk/sessions?user_id={eve_id}"))
        .await
        .expect(200);
    assert_eq!(eves["items"].as_array().map(Vec::len), Some(3));
    let revoked = api
        .delete(&format!("/tenants/desk/users/{eve_id}/sessions"))
        .await
        .expect(200);
    assert_eq!(revoked["revoked"], 3);
    for b in [&laptop, &phone, &tablet] {
        assert!(b.account_email("desk").await.is_none());
    }
    assert_eq!(
        other.account_email("desk").await.as_deref(),
        Some("fay@desk.test")
    );
    let left = api.get("/tenants/desk/sessions").await.expect(200);
    let items = left["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["user_id"], fay_id.as_str());

    // Bad ids.
    api.get("/tenants/desk/sessions/not-an-id")
        .await
        .expect_error(404, "not_found");
    api.get(&format!("/tenants/desk/sessions/{}", uuid::Uuid::new_v4()))
        .await
        .expect_error(404, "not_found");
    api.get("/tenants/desk/sessions?user_id=nobody")
        .await
        .expect_error(400, "invalid_request");
    api.delete(&format!(
        "/tenants/desk/users/{}/sessions",
        uuid::Uuid::new_v4()
    ))
    .await
    .expect_error(404, "not_found");
}

on_both_backends!(sessions_list_and_revoke);
