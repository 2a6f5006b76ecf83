//! Tenant isolation: an API key of tenant A reaches none of tenant B's users, groups, clients or
//! sessions (answers exactly as for missing ones, 404), B's ids do not work under A's path even
//! for the deployment's admin key, and a session of A does not open B's account page.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Api, Backend, Browser, assert_same, start};

fn id(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_string()
}

/// The value of the session cookie that a sign-in response sets.
fn session_token(set_cookie: &str) -> String {
    set_cookie
        .trim_start_matches("tessera_session=")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn tenants_are_isolated(backend: Backend) {
    let (_dep, server, admin) = start(backend).await;
    for slug in ["alpha", "beta"] {
        admin.create_tenant(slug, "workforce").await;
    }
    let a_user = admin
        .create_user("alpha", "shared@people.test", Some("alpha-password-1"))
        .await;
    let b_user = admin
        .create_user("beta", "shared@people.test", Some("beta-password-1"))
        .await;
    let a_group = admin
        .post("/tenants/alpha/groups", &json!({"name": "Staff"}))
        .await
        .expect(201);
    let b_group = admin
        .post("/tenants/beta/groups", &json!({"name": "Staff"}))
        .await
        .expect(201);
    let b_client = admin
        .post(
            "/tenants/beta/clients",
            &json!({"name": "Beta app", "redirect_uris": ["https://beta.example/cb"]}),
        )
        .await
        .expect(201);
    let beta_browser = server.browser();
    beta_browser
        .sign_in_ok("beta", "shared@people.test", "beta-password-1")
        .await;
    let b_sessions = admin.get("/tenants/beta/sessions").await.expect(200);
    let b_session = id(&b_sessions["items"][0], "id");
    // B's user as it stands after the sign-in (which records last_login_at).
    let b_user = admin
        .get(&format!("/tenants/beta/users/{}", id(&b_user, "id")))
        .await
        .expect(200);

    let (bu, bg, bc) = (
        id(&b_user, "id"),
        id(&b_group, "id"),
        id(&b_client, "client_id"),
    );
    let (au, ag) = (id(&a_user, "id"), id(&a_group, "id"));
    let alpha = Api::new(&server, &server.api_key("alpha", "write").await);
    alpha.get("/tenants/alpha/users").await.expect(200);

    let denied: Vec<(Method, String, Option<Value>)> = vec![
        // B's collections and objects under B's path.
        (Method::GET, "/tenants/beta".into(), None),
        (Method::GET, "/tenants/beta/users".into(), None),
        (Method::GET, "/tenants/beta/groups".into(), None),
        (Method::GET, "/tenants/beta/clients".into(), None),
        (Method::GET, "/tenants/beta/sessions".into(), None),
        (Method::GET, format!("/tenants/beta/users/{bu}"), None),
        (
            Method::POST,
            "/tenants/beta/users".into(),
            Some(json!({"email": "mole@people.test"})),
        ),
        (
            Method::PATCH,
            format!("/tenants/beta/users/{bu}"),
            Some(json!({"name": "Mole"})),
        ),
        (
            Method::POST,
            format!("/tenants/beta/users/{bu}/disable"),
            None,
        ),
        (
            Method::DELETE,
            format!("/tenants/beta/users/{bu}/sessions"),
            None,
        ),
        (Method::DELETE, format!("/tenants/beta/users/{bu}"), None),
        (
            Method::PATCH,
            format!("/tenants/beta/groups/{bg}"),
            Some(json!({"name": "Moles"})),
        ),
        (
            Method::PUT,
            format!("/tenants/beta/groups/{bg}/members/{bu}"),
            None,
        ),
        (
            Method::POST,
            format!("/tenants/beta/clients/{bc}/secret"),
            None,
        ),
        (Method::DELETE, format!("/tenants/beta/clients/{bc}"), None),
        (
            Method::DELETE,
            format!("/tenants/beta/sessions/{b_session}"),
            None,
        ),
        // B's ids under A's own path.
        (Method::GET, format!("/tenants/alpha/users/{bu}"), None),
        (
            Method::PATCH,
            format!("/tenants/alpha/users/{bu}"),
            Some(json!({"name": "Mole"})),
        ),
        (
            Method::POST,
            format!("/tenants/alpha/users/{bu}/disable"),
            None,
        ),
        (
            Method::GET,
            format!("/tenants/alpha/users/{bu}/groups"),
            None,
        ),
        (
            Method::DELETE,
            format!("/tenants/alpha/users/{bu}/sessions"),
            None,
        ),
        (Method::DELETE, format!("/tenants/alpha/users/{bu}"), None),
        (Method::GET, format!("/tenants/alpha/groups/{bg}"), None),
        (
            Method::GET,
            format!("/tenants/alpha/groups/{bg}/members"),
            None,
        ),
        (
            Method::PATCH,
            format!("/tenants/alpha/groups/{bg}"),
            Some(json!({"name": "Moles"})),
        ),
        (Method::DELETE, format!("/tenants/alpha/groups/{bg}"), None),
        (
            Method::PUT,
            format!("/tenants/alpha/groups/{ag}/members/{bu}"),
            None,
        ),
        (
            Method::PUT,
            format!("/tenants/alpha/groups/{bg}/members/{au}"),
            None,
        ),
        (Method::GET, format!("/tenants/alpha/clients/{bc}"), None),
        (
            Method::PATCH,
            format!("/tenants/alpha/clients/{bc}"),
            Some(json!({"name": "Mole app"})),
        ),
        (
            Method::POST,
            format!("/tenants/alpha/clients/{bc}/secret"),
            None,
        ),
        (Method::DELETE, format!("/tenants/alpha/clients/{bc}"), None),
        (
            Method::GET,
            format!("/tenants/alpha/sessions/{b_session}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/tenants/alpha/sessions/{b_session}"),
            None,
        ),
    ];
    for (method, path, body) in &denied {
        alpha
            .send(method.clone(), path, body.as_ref())
            .await
            .expect_error(404, "not_found");
    }
    // Ids belong to their tenant's path even for the deployment's admin key.
    for (method, path, body) in denied
        .iter()
        .filter(|(_, p, _)| p.starts_with("/tenants/alpha/"))
    {
        admin
            .send(method.clone(), path, body.as_ref())
            .await
            .expect_error(404, "not_found");
    }
    let a_sessions = alpha
        .get(&format!("/tenants/alpha/sessions?user_id={bu}"))
        .await
        .expect(200);
    assert_eq!(
        a_sessions["items"],
        json!([]),
        "B's sessions are not listed under A"
    );

    // Nothing of B changed.
    assert_same(
        &admin
            .get(&format!("/tenants/beta/users/{bu}"))
            .await
            .expect(200),
        &b_user,
        "B's user is untouched",
    );
    assert_same(
        &admin
            .get(&format!("/tenants/beta/groups/{bg}"))
            .await
            .expect(200),
        &b_group,
        "B's group is untouched",
    );
    assert_eq!(
        admin
            .get(&format!("/tenants/beta/groups/{bg}/members"))
            .await
            .expect(200)["items"],
        json!([])
    );
    assert_eq!(
        admin.get("/tenants/beta/users").await.expect(200)["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        admin
            .get(&format!("/tenants/beta/clients/{bc}"))
            .await
            .expect(200)["name"],
        "Beta app"
    );
    assert_eq!(
        admin
            .get(&format!("/tenants/alpha/groups/{ag}/members"))
            .await
            .expect(200)["items"],
        json!([])
    );
    assert_eq!(
        beta_browser.account_email("beta").await.as_deref(),
        Some("shared@people.test"),
        "B's session is still active"
    );

    // Hosted pages: the same email is a different account in each tenant, and a session of A
    // does not open B's account page, even when its cookie is sent there on purpose.
    assert_eq!(
        server
            .browser()
            .sign_in("beta", "shared@people.test", "alpha-password-1")
            .await
            .status,
        401,
        "A's password is not B's"
    );
    let alpha_browser = server.browser();
    let r = alpha_browser
        .sign_in("alpha", "shared@people.test", "alpha-password-1")
        .await;
    assert_eq!(r.expect_see_other(), "/t/alpha/account");
    let set_cookie = r.set_cookie("tessera_session").expect("a session cookie");
    assert!(
        set_cookie.contains("Path=/t/alpha"),
        "the session cookie is scoped to the tenant: {set_cookie}"
    );
    assert!(alpha_browser.account_email("beta").await.is_none());
    let token = session_token(&set_cookie);
    let forged = Browser::cookieless(&server)
        .get_with_headers(
            "/t/beta/account",
            &[("cookie", &format!("tessera_session={token}"))],
        )
        .await;
    assert_eq!(
        forged.status,
        303,
        "A's session token does not open B's account page: {}",
        forged.text()
    );
    let own = Browser::cookieless(&server)
        .get_with_headers(
            "/t/alpha/account",
            &[("cookie", &format!("tessera_session={token}"))],
        )
        .await;
    assert_eq!(own.status, 200, "the same token does open A's page");
}

on_both_backends!(tenants_are_isolated);
