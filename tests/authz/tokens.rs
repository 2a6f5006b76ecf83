//! Roles in tokens: a client whose `metadata.claims` asks for `"roles"` and `"permissions"` gets,
//! in ID tokens and UserInfo, the roles the user holds for THAT application and what they grant,
//! never tenant-wide roles nor another application's; conditional grants that need request facts
//! stay out; and a revoked assignment is gone from the next refresh's ID token.

use serde_json::{Value, json};

use crate::harness::{Backend, start};
use crate::jose::verified;
use crate::rp::{AuthRequest, Client, Op, browser, token_success};
use crate::support::{Tenant, assert_no_server_errors, id};

const CLAIMS: &str = r#"{"claims": {"roles": "roles", "permissions": "permissions"}}"#;

/// Asks for the roles and permissions claims in the client's metadata (PATCH /clients/{id}).
async fn ask_for_roles(t: &Tenant, client: &Client) {
    let metadata: Value = serde_json::from_str(CLAIMS).expect("JSON");
    let v = t
        .patch(
            &format!("/clients/{}", client.id),
            &json!({"metadata": metadata}),
        )
        .await
        .expect(200);
    assert_eq!(v["metadata"]["claims"], metadata["claims"], "{v}");
}

/// `claims[name]` as a sorted list of strings; an absent claim is an empty list.
fn list(claims: &Value, name: &str) -> Vec<String> {
    match &claims[name] {
        Value::Null => Vec::new(),
        Value::Array(items) => {
            let mut v: Vec<String> = items
                .iter()
                .map(|i| {
                    i.as_str()
                        .unwrap_or_else(|| panic!("{name} holds strings: {claims}"))
                        .to_string()
                })
                .collect();
            v.sort();
            v
        }
        other => panic!("{name} is a list, not {other}: {claims}"),
    }
}

/// The verified claims of the response's ID token.
async fn id_claims(op: &Op, tokens: &Value) -> Value {
    let jwks = op.jwks().await;
    verified(tokens["id_token"].as_str().expect("an id_token"), &jwks).claims
}

async fn userinfo(op: &Op, tokens: &Value) -> Value {
    op.assert_userinfo_ok(
        tokens["access_token"].as_str().expect("an access token"),
        "UserInfo",
    )
    .await
}

#[track_caller]
fn assert_roles(claims: &Value, roles: &[&str], permissions: &[&str], what: &str) {
    assert_eq!(list(claims, "roles"), roles, "{what}: roles in {claims}");
    assert_eq!(
        list(claims, "permissions"),
        permissions,
        "{what}: permissions in {claims}"
    );
}

async fn application_roles_in_id_tokens_and_userinfo(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let op = Op::new(&server, &api, "acme").await;
    let t = Tenant::existing(&api, "acme");
    let user = op.user_id.clone();
    let docs = op.web_client(&api).await;
    let crm = op.web_client(&api).await;
    ask_for_roles(&t, &docs).await;
    ask_for_roles(&t, &crm).await;
    let writers = t.group("Writers").await;
    t.add_member(&writers, &user).await;

    // For the docs application: one role directly, one through a group, one conditional on an
    // attribute the user has, one conditional on recent MFA (needs request facts: left out).
    let app_role = |name: &str, app: &Client, perms: &[&str]| json!({"name": name, "application": app.id, "permissions": perms});
    let editor = id(
        &t.role(app_role("editor", &docs, &["docs:read", "docs:write"]))
            .await,
        "id",
    );
    let to_user = t.assign_user(&editor, &user).await;
    let viewer = id(
        &t.role(app_role("viewer", &docs, &["docs:list"])).await,
        "id",
    );
    t.assign_group(&viewer, &writers).await;
    let signer = id(
        &t.role(app_role("signer", &docs, &["docs:sign"])).await,
        "id",
    );
    t.assign(
        json!({"role_id": signer, "principal_type": "user", "principal_id": user,
        "condition": {"all_of": [{"type": "attribute", "name": "department", "equals": "legal"}]}}),
    )
    .await;
    t.patch(
        &format!("/users/{user}"),
        &json!({"attributes": {"department": "legal"}}),
    )
    .await
    .expect(200);
    let approver = id(
        &t.role(app_role("approver", &docs, &["docs:approve"])).await,
        "id",
    );
    t.assign(
        json!({"role_id": approver, "principal_type": "user", "principal_id": user,
        "condition": {"all_of": [{"type": "mfa_within", "seconds": 900}]}}),
    )
    .await;
    // A tenant-wide role and the CRM's role, held too: not for the docs application.
    let staff = t.simple_role("staff", &["wiki:read"]).await;
    t.assign_user(&staff, &user).await;
    let crm_admin = id(&t.role(app_role("crm-admin", &crm, &["crm:*"])).await, "id");
    t.assign_user(&crm_admin, &user).await;
    // An application role the user does not hold.
    t.role(app_role("owner", &docs, &["docs:delete"])).await;

    // The code flow through the hosted sign-in page.
    let b = browser(&server);
    let (req, tokens) = op.sign_in_and_get_tokens(&b, &docs, "openid").await;
    let id_token = op.check_id_token(&docs, &req, &tokens).await.claims;
    let expected_roles = ["editor", "signer", "viewer"];
    let expected_perms = ["docs:list", "docs:read", "docs:sign", "docs:write"];
    assert_roles(&id_token, &expected_roles, &expected_perms, "ID token");
    let info = userinfo(&op, &tokens).await;
    assert_roles(&info, &expected_roles, &expected_perms, "UserInfo");
    for claims in [&id_token, &info] {
        let text = claims.to_string();
        for leaked in [
            "staff",
            "wiki:read",
            "crm-admin",
            "crm:*",
            "approver",
            "docs:approve",
        ] {
            assert!(!text.contains(leaked), "{leaked} leaked into {claims}");
        }
    }
    // The check API, by contrast, answers for every role (the tenant-wide one included).
    assert!(t.allowed(&user, "wiki:read").await);
    assert!(t.allowed(&user, "crm:export").await);

    // The CRM, signed in through the same browser session, gets only its own role.
    let crm_req = AuthRequest::new(&crm, "openid");
    let code = op.code(&b, &crm_req).await;
    let crm_tokens = op.exchange(&crm, &crm_req, &code).await;
    let crm_id = id_claims(&op, &crm_tokens).await;
    assert_roles(&crm_id, &["crm-admin"], &["crm:*"], "CRM ID token");
    assert_roles(
        &userinfo(&op, &crm_tokens).await,
        &["crm-admin"],
        &["crm:*"],
        "CRM UserInfo",
    );

    // Revoke the editor assignment: the next refresh's ID token no longer has it.
    t.unassign(&to_user).await;
    let refreshed = token_success(
        &op.refresh(
            &docs,
            tokens["refresh_token"].as_str().expect("a refresh token"),
        )
        .await,
    );
    let after = id_claims(&op, &refreshed).await;
    assert_eq!(after["sub"], user.as_str());
    assert_roles(
        &after,
        &["signer", "viewer"],
        &["docs:list", "docs:sign"],
        "ID token after the revocation",
    );
    assert_roles(
        &userinfo(&op, &refreshed).await,
        &["signer", "viewer"],
        &["docs:list", "docs:sign"],
        "UserInfo after the revocation",
    );

    // Leaving the group and changing the attribute take the other two away as well.
    t.remove_member(&writers, &user).await;
    t.patch(
        &format!("/users/{user}"),
        &json!({"attributes": {"department": "sales"}}),
    )
    .await
    .expect(200);
    let again = token_success(
        &op.refresh(
            &docs,
            refreshed["refresh_token"]
                .as_str()
                .expect("a refresh token"),
        )
        .await,
    );
    assert_roles(
        &id_claims(&op, &again).await,
        &[],
        &[],
        "ID token, nothing held",
    );
    assert_roles(
        &userinfo(&op, &again).await,
        &[],
        &[],
        "UserInfo, nothing held",
    );

    // A client that does not ask for them gets neither claim.
    let plain = op.web_client(&api).await;
    t.assign_user(&editor, &user).await;
    let plain_req = AuthRequest::new(&plain, "openid");
    let code = op.code(&b, &plain_req).await;
    let plain_tokens = op.exchange(&plain, &plain_req, &code).await;
    let claims = id_claims(&op, &plain_tokens).await;
    assert!(claims.get("roles").is_none(), "{claims}");
    assert!(claims.get("permissions").is_none(), "{claims}");
    assert_no_server_errors(&server);
}

on_both_backends!(application_roles_in_id_tokens_and_userinfo);

/// A permission that both a tenant-wide role and an application role grant belongs in the
/// application's tokens: the application role grants it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_shared_with_a_tenant_wide_role_stays_in_tokens() {
    let (_dep, server, api) = start(Backend::sqlite()).await;
    let op = Op::new(&server, &api, "acme").await;
    let t = Tenant::existing(&api, "acme");
    let user = op.user_id.clone();
    let docs = op.web_client(&api).await;
    ask_for_roles(&t, &docs).await;
    // The application role reaches the user through a group (2 steps) …
    let writers = t.group("Writers").await;
    t.add_member(&writers, &user).await;
    let editor = id(
        &t.role(json!({"name": "editor", "application": docs.id,
                       "permissions": ["docs:read", "docs:write"]}))
            .await,
        "id",
    );
    t.assign_group(&editor, &writers).await;
    // … and a tenant-wide role with one of its permissions directly (1 step).
    let staff = t.simple_role("staff", &["docs:read"]).await;
    t.assign_user(&staff, &user).await;

    let b = browser(&server);
    let (_req, tokens) = op.sign_in_and_get_tokens(&b, &docs, "openid").await;
    let claims = id_claims(&op, &tokens).await;
    assert_roles(
        &claims,
        &["editor"],
        &["docs:read", "docs:write"],
        "ID token",
    );
    assert_no_server_errors(&server);
}

/// "Standard claims are never overridden" (docs/oidc.md), and a mapping cannot put protocol or
/// scope-governed claims in tokens: `attribute:` mappings to reserved names are ignored, so must
/// `"roles"` / `"permissions"` mappings be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_cannot_be_mapped_onto_reserved_claims() {
    let (_dep, server, api) = start(Backend::sqlite()).await;
    let op = Op::new(&server, &api, "acme").await;
    let t = Tenant::existing(&api, "acme");
    let user = op.user_id.clone();
    let docs = op.web_client(&api).await;
    t.patch(
        &format!("/clients/{}", docs.id),
        &json!({"metadata": {"claims": {
            "nbf": "roles", "jti": "permissions", "email": "roles", "client_id": "roles",
            "roles": "roles", "department": "attribute:department", "name": "attribute:department"
        }}}),
    )
    .await
    .expect(200);
    t.patch(
        &format!("/users/{user}"),
        &json!({"attributes": {"department": "legal"}}),
    )
    .await
    .expect(200);
    let editor = id(
        &t.role(json!({"name": "editor", "application": docs.id, "permissions": ["docs:read"]}))
            .await,
        "id",
    );
    t.assign_user(&editor, &user).await;
    let b = browser(&server);
    let (_req, tokens) = op.sign_in_and_get_tokens(&b, &docs, "openid").await;
    for claims in [id_claims(&op, &tokens).await, userinfo(&op, &tokens).await] {
        assert_eq!(claims["roles"], json!(["editor"]), "{claims}");
        assert_eq!(claims["department"], "legal", "{claims}");
        // The attribute mapping onto a reserved name is ignored, as documented …
        assert!(claims.get("name").is_none(), "{claims}");
        // … and so must the roles and permissions mappings be.
        for reserved in ["nbf", "jti", "email", "client_id"] {
            assert!(
                claims.get(reserved).is_none(),
                "{reserved} is reserved: {claims}"
            );
        }
    }
    assert_no_server_errors(&server);
}
