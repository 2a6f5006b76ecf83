//! Sign-in with upstream identity providers, end to end. The upstream OpenID Provider is real:
//! a second tenant (`upstream`) of the same server, with its own users, client and keys; the
//! downstream tenant (`shop`) federates to it. Local fakes of the documented endpoints of
//! Google, Microsoft, Apple, GitHub and Facebook (and a provider that signs bad ID tokens) run
//! inside the test process (`fake`).
//!
//! Proven here: just-in-time accounts with mapped attributes and a recorded link, buttons, the
//! `idp` parameter, `kc_idp_hint` from an application, domain routing; an upstream identity
//! never joins an existing account without proof (attacker accounts with the victim's address,
//! verified or not); replayed, foreign, mixed-up and forged answers end on a 4xx page with a
//! `federation.failed` event; presets work against fakes of their providers; linked identities
//! are listed and removed (not the last way to sign in) in the portal and the admin API.

mod fake;

use serde_json::{Value, json};

use crate::harness::http::{Browser, hidden_input, unescape};
use crate::harness::{Api, Backend, Resp, Server};

pub const UP_PASSWORD: &str = "upstream passphrase 1";
const LOCAL_PASSWORD: &str = "local passphrase 22";

/// The path (and query) of an absolute URL on the server, or the location as it is.
pub fn path_of(location: &str) -> String {
    match location.find("://") {
        Some(i) => {
            let rest = &location[i + 3..];
            rest.find('/')
                .map_or("/".to_string(), |j| rest[j..].to_string())
        }
        None => location.to_string(),
    }
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    reqwest::Url::parse(&format!("http://x/?{q}"))
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A URL-encoded query string.
pub fn qs(pairs: &[(&str, &str)]) -> String {
    let mut u = reqwest::Url::parse("http://x/").unwrap();
    u.query_pairs_mut().extend_pairs(pairs);
    u.query().unwrap_or("").to_string()
}

/// RFC 7386 merge of `patch` into `target`.
fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        _ => *target = patch.clone(),
    }
}

/// The href of `<a … id="{id}" …>`.
fn link_href(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = html[..at].rfind("<a ")?;
    let tag = &html[start..];
    let h = tag.find("href=\"")? + 6;
    let end = tag[h..].find('"')?;
    Some(unescape(&tag[h..h + end]))
}

/// The `shop` tenant federating to the `upstream` tenant of the same server.
struct World {
    server: Server,
    api: Api,
    client_id: String,
    client_secret: String,
}

fn callback(server: &Server, alias: &str) -> String {
    format!("{}/t/shop/login/idp/{alias}/callback", server.public_url)
}

async fn world(backend: Backend) -> (crate::harness::Deployment, World) {
    let (dep, server, api) = crate::harness::start(backend).await;
    api.create_tenant("upstream", "workforce").await;
    api.create_tenant("shop", "customer").await;
    let client = api
        .post(
            "/tenants/upstream/clients",
            &json!({
                "name": "Shop",
                "redirect_uris": [callback(&server, "corp"), callback(&server, "corp2")],
                "first_party": true,
            }),
        )
        .await
        .expect(201);
    let w = World {
        client_id: client["client_id"].as_str().unwrap().to_string(),
        client_secret: client["client_secret"].as_str().unwrap().to_string(),
        server,
        api,
    };
    add_provider(&w, "corp", json!({})).await;
    (dep, w)
}

async fn add_provider(w: &World, alias: &str, extra: Value) -> Value {
    let mut body = json!({
        "alias": alias,
        "display_name": "Corp SSO",
        "client_secret": w.client_secret,
        "config": {
            "issuer": format!("{}/t/upstream", w.server.public_url),
            "client_id": w.client_id,
            "userinfo": true,
            "attribute_rules": [{"claim": "name", "target": "attributes.upstream_name"}],
        },
    });
    merge(&mut body, &extra);
    w.api
        .post("/tenants/shop/identity-providers", &body)
        .await
        .expect(201)
}

async fn upstream_user(w: &World, email: &str, verified: bool) -> Value {
    w.api
        .post(
            "/tenants/upstream/users",
            &json!({"email": email, "password": UP_PASSWORD, "email_verified": verified, "name": "Alice Upstream"}),
        )
        .await
        .expect(201)
}

async fn local_user(w: &World, email: &str) -> Value {
    w.api
        .post(
            "/tenants/shop/users",
            &json!({"email": email, "password": LOCAL_PASSWORD, "email_verified": true}),
        )
        .await
        .expect(201)
}

/// The location of a 302 or 303 (the authorization endpoint answers applications with 302).
fn redirect(r: &Resp) -> String {
    assert!(
        r.status == 302 || r.status == 303,
        "{}: expected a redirect, got {}: {}",
        r.what,
        r.status,
        r.text()
    );
    r.header("location").expect("a Location")
}

/// GET of an absolute or relative location.
pub async fn follow(b: &Browser, location: &str) -> Resp {
    b.get(&path_of(location)).await
}

/// From `start` (a `/t/shop/login/idp/…` path) to the provider's answer at the callback,
/// signing in at the upstream tenant when it asks. Returns the callback URL (not yet opened).
async fn to_callback(b: &Browser, start: &str, email: &str) -> String {
    let r = b.get(start).await;
    let authorize = r.expect_see_other();
    assert!(
        authorize.contains("/t/upstream/authorize?"),
        "sent to the upstream provider: {authorize}"
    );
    let r = follow(b, &authorize).await;
    let mut next = redirect(&r);
    if path_of(&next).starts_with("/t/upstream/login") {
        let return_to = query_param(&next, "return_to").expect("the login page keeps return_to");
        let page = follow(b, &next).await;
        let token = hidden_input(&page.text(), "csrf_token").expect("a CSRF token");
        let r = b
            .post_form(
                "/t/upstream/login",
                &[
                    ("email", email),
                    ("password", UP_PASSWORD),
                    ("csrf_token", &token),
                    ("return_to", &return_to),
                ],
            )
            .await;
        // The upstream sign-in answers its authorization request itself: the redirect to the
        // callback.
        next = r.expect_see_other();
    }
    assert!(
        next.contains("/t/shop/login/idp/") && next.contains("/callback?"),
        "the upstream answers at the callback: {next}"
    );
    next
}

async fn shop_user(api: &Api, email: &str) -> Option<Value> {
    let q = qs(&[("email", email)]);
    let list = api
        .get(&format!("/tenants/shop/users?{q}"))
        .await
        .expect(200);
    list["items"].as_array().unwrap().first().cloned()
}

async fn identities(api: &Api, user_id: &str) -> Vec<Value> {
    api.get(&format!("/tenants/shop/users/{user_id}/identities"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// `data` of every audit event of `type` in the shop tenant.
pub async fn audit(api: &Api, tenant: &str, event_type: &str) -> Vec<Value> {
    api.get(&format!(
        "/tenants/{tenant}/audit?type={event_type}&limit=200"
    ))
    .await
    .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"].clone())
        .collect()
}

pub async fn failure_reasons(api: &Api, tenant: &str) -> Vec<String> {
    audit(api, tenant, "federation.failed")
        .await
        .iter()
        .filter_map(|d| d["reason"].as_str().map(str::to_string))
        .collect()
}

async fn first_sign_in_creates_the_account_and_links_it(backend: Backend) {
    let (_dep, w) = world(backend).await;
    upstream_user(&w, "alice@upstream.test", true).await;
    let b = w.server.browser();

    // The sign-in page offers the provider.
    let page = b.get("/t/shop/login").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert_eq!(
        link_href(&html, "idp-corp").as_deref(),
        Some("/t/shop/login/idp/corp")
    );
    assert!(html.contains("Continue with Corp SSO"), "{html}");

    let cb = to_callback(&b, "/t/shop/login/idp/corp", "alice@upstream.test").await;
    assert_eq!(
        query_param(&cb, "iss").as_deref(),
        Some(format!("{}/t/upstream", w.server.public_url).as_str()),
        "the upstream names itself in its answer (RFC 9207)"
    );
    let r = follow(&b, &cb).await;
    assert_eq!(r.expect_see_other(), "/t/shop/account");
    assert_eq!(
        b.account_email("shop").await.as_deref(),
        Some("alice@upstream.test")
    );

    // The account was made with the provider's verified address and mapped attributes, and the
    // identity is linked to it.
    let user = shop_user(&w.api, "alice@upstream.test")
        .await
        .expect("created");
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["has_password"], false);
    assert_eq!(user["attributes"]["upstream_name"], "Alice Upstream");
    let ids = identities(&w.api, user["id"].as_str().unwrap()).await;
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(ids[0]["provider"], "corp");
    assert_eq!(ids[0]["email"], "alice@upstream.test");
    let linked = audit(&w.api, "shop", "federation.linked").await;
    assert_eq!(linked.len(), 1, "{linked:?}");
    assert_eq!(linked[0]["provider"], "corp");
    assert_eq!(linked[0]["method"], "provisioned");
    assert_eq!(linked[0]["subject"], user["id"]);

    // The same answer again is refused: the state was used.
    let r = follow(&b, &cb).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        failure_reasons(&w.api, "shop")
            .await
            .contains(&"state_unknown".to_string())
    );

    // Signing out and in again (the upstream session remains) reuses the account.
    b.sign_out("shop").await;
    assert_eq!(b.account_email("shop").await, None);
    let cb = to_callback(&b, "/t/shop/login/idp/corp", "alice@upstream.test").await;
    assert_eq!(follow(&b, &cb).await.expect_see_other(), "/t/shop/account");
    let users = w.api.get("/tenants/shop/users").await.expect(200);
    assert_eq!(users["items"].as_array().unwrap().len(), 1);
    let ids = identities(&w.api, user["id"].as_str().unwrap()).await;
    assert!(ids[0]["last_used_at"].is_string());
}

async fn hints_and_domains_route_to_the_provider(backend: Backend) {
    let (_dep, w) = world(backend).await;
    upstream_user(&w, "bob@upstream.test", true).await;
    let b = w.server.browser();

    // `idp` on the sign-in page.
    let r = b
        .get("/t/shop/login?idp=corp&return_to=%2Ft%2Fshop%2Faccount")
        .await;
    assert_eq!(
        r.expect_see_other(),
        "/t/shop/login/idp/corp?return_to=%2Ft%2Fshop%2Faccount"
    );
    // An unknown alias shows the page.
    assert_eq!(b.get("/t/shop/login?idp=nope").await.status, 200);

    // Domain routing: an enterprise address goes to its provider, not to the password check.
    w.api
        .patch(
            "/tenants/shop/identity-providers/corp",
            &json!({"domains": ["Upstream.test"]}),
        )
        .await
        .expect(200);
    let token = b.csrf_token("shop").await;
    let r = b
        .post_form(
            "/t/shop/login",
            &[
                ("email", "bob@upstream.test"),
                ("password", ""),
                ("csrf_token", &token),
                ("return_to", ""),
            ],
        )
        .await;
    assert_eq!(
        r.expect_see_other(),
        "/t/shop/login/idp/corp?login_hint=bob%40upstream.test"
    );
    // Other domains keep the password form.
    let r = b
        .post_form(
            "/t/shop/login",
            &[
                ("email", "bob@elsewhere.test"),
                ("password", "x"),
                ("csrf_token", &token),
                ("return_to", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 401);

    // An application's kc_idp_hint skips the sign-in page.
    let app = w
        .api
        .post(
            "/tenants/shop/clients",
            &json!({"name": "App", "redirect_uris": ["http://localhost:9/cb"], "first_party": true}),
        )
        .await
        .expect(201);
    let app_id = app["client_id"].as_str().unwrap();
    let b = w.server.browser();
    let r = b
        .get(&format!(
            "/t/shop/authorize?response_type=code&client_id={app_id}&redirect_uri=http%3A%2F%2Flocalhost%3A9%2Fcb&scope=openid&state=app-state&kc_idp_hint=corp"
        ))
        .await;
    let login = r.expect_see_other();
    assert_eq!(query_param(&login, "idp").as_deref(), Some("corp"));
    let start = follow(&b, &login).await.expect_see_other();
    assert!(start.starts_with("/t/shop/login/idp/corp?"), "{start}");
    let cb = to_callback(&b, &start, "bob@upstream.test").await;
    // The upstream sign-in completes at the callback, which answers the authorization request
    // itself: the redirect to the application.
    let done = redirect(&follow(&b, &cb).await);
    assert!(
        done.starts_with("http://localhost:9/cb?code=") && done.contains("state=app-state"),
        "{done}"
    );
    // The application's ID token says how the person signed in: `fed` (RFC 8176 has no value
    // for an upstream provider's sign-in; see docs/federation.md).
    let code = query_param(&done, "code").unwrap();
    let secret = app["client_secret"].as_str().unwrap();
    let tokens: Value = outside()
        .post(w.server.url("/t/shop/token"))
        .basic_auth(app_id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://localhost:9/cb"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: Value = {
        use base64::Engine;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(claims["amr"], json!(["fed"]), "{claims}");

    // The sign-in pages keep the enabled providers in memory for a second; a change through the
    // API applies at once all the same.
    let b = w.server.browser();
    b.get("/t/shop/login?idp=corp").await.expect_see_other();
    w.api
        .patch(
            "/tenants/shop/identity-providers/corp",
            &json!({"enabled": false}),
        )
        .await
        .expect(200);
    assert_eq!(b.get("/t/shop/login?idp=corp").await.status, 200);
    w.api
        .patch(
            "/tenants/shop/identity-providers/corp",
            &json!({"enabled": true}),
        )
        .await
        .expect(200);
    b.get("/t/shop/login?idp=corp").await.expect_see_other();
}

async fn existing_accounts_are_never_joined_without_proof(backend: Backend) {
    let (_dep, w) = world(backend).await;
    let victim = local_user(&w, "victim@corp.test").await;
    let victim_id = victim["id"].as_str().unwrap().to_string();

    // An attacker's upstream account claims the victim's address, verified by the upstream.
    upstream_user(&w, "victim@corp.test", true).await;
    let attacker = w.server.browser();
    let cb = to_callback(&attacker, "/t/shop/login/idp/corp", "victim@corp.test").await;
    let r = follow(&attacker, &cb).await;
    assert_eq!(r.expect_see_other(), "/t/shop/login/idp/corp/link");
    let page = attacker.get("/t/shop/login/idp/corp/link").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("id=\"link-sign-in\""),
        "{}",
        page.text()
    );
    // No session, no link.
    assert_eq!(attacker.account_email("shop").await, None);
    assert!(identities(&w.api, &victim_id).await.is_empty());
    // Confirming without signing in to the account does nothing.
    let r = attacker.get("/t/shop/login/idp/corp/link/confirm").await;
    assert_eq!(r.status, 403);
    assert!(identities(&w.api, &victim_id).await.is_empty());
    // Guessing the emailed code: a few wrong answers, then the proof is gone.
    let page = attacker.get("/t/shop/login/idp/corp/link").await;
    let token = hidden_input(&page.text(), "csrf_token").unwrap();
    let sent = attacker
        .post_form(
            "/t/shop/login/idp/corp/link/email",
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text());
    for _ in 0..4 {
        let r = attacker
            .post_form(
                "/t/shop/login/idp/corp/link/code",
                &[("csrf_token", &token), ("code", "000000")],
            )
            .await;
        assert_eq!(r.status, 401);
    }
    let r = attacker
        .post_form(
            "/t/shop/login/idp/corp/link/code",
            &[("csrf_token", &token), ("code", "000001")],
        )
        .await;
    assert_eq!(r.status, 400, "the fifth wrong code ends the proof");
    assert_eq!(
        attacker.get("/t/shop/login/idp/corp/link").await.status,
        404
    );
    assert!(identities(&w.api, &victim_id).await.is_empty());
    assert_eq!(attacker.account_email("shop").await, None);

    // Even a provider trusted for emails does not link an address it did not verify.
    w.api
        .patch(
            "/tenants/shop/identity-providers/corp",
            &json!({"trust_email": true}),
        )
        .await
        .expect(200);
    let victim2 = local_user(&w, "victim2@corp.test").await;
    upstream_user(&w, "victim2@corp.test", false).await;
    let attacker2 = w.server.browser();
    let cb = to_callback(&attacker2, "/t/shop/login/idp/corp", "victim2@corp.test").await;
    assert_eq!(
        follow(&attacker2, &cb).await.expect_see_other(),
        "/t/shop/login/idp/corp/link"
    );
    assert_eq!(attacker2.account_email("shop").await, None);
    assert!(
        identities(&w.api, victim2["id"].as_str().unwrap())
            .await
            .is_empty()
    );

    // Trusted and verified on both sides: linked at once.
    let owner = local_user(&w, "owner@corp.test").await;
    upstream_user(&w, "owner@corp.test", true).await;
    let ob = w.server.browser();
    let cb = to_callback(&ob, "/t/shop/login/idp/corp", "owner@corp.test").await;
    assert_eq!(follow(&ob, &cb).await.expect_see_other(), "/t/shop/account");
    assert_eq!(
        ob.account_email("shop").await.as_deref(),
        Some("owner@corp.test")
    );
    assert_eq!(
        identities(&w.api, owner["id"].as_str().unwrap())
            .await
            .len(),
        1
    );

    // The real owner of an account proves it by signing in to it; then the link is made.
    w.api
        .patch(
            "/tenants/shop/identity-providers/corp",
            &json!({"trust_email": false}),
        )
        .await
        .expect(200);
    let carol = local_user(&w, "carol@corp.test").await;
    upstream_user(&w, "carol@corp.test", true).await;
    let cb_ = w.server.browser();
    let cb = to_callback(&cb_, "/t/shop/login/idp/corp", "carol@corp.test").await;
    assert_eq!(
        follow(&cb_, &cb).await.expect_see_other(),
        "/t/shop/login/idp/corp/link"
    );
    let page = cb_.get("/t/shop/login/idp/corp/link").await.text();
    let sign_in = link_href(&page, "link-sign-in").expect("a sign-in link");
    assert_eq!(
        query_param(&sign_in, "login_hint").as_deref(),
        Some("carol@corp.test")
    );
    let return_to = query_param(&sign_in, "return_to").unwrap();
    let r = cb_
        .sign_in_returning("shop", "carol@corp.test", LOCAL_PASSWORD, &return_to)
        .await;
    assert_eq!(r.expect_see_other(), "/t/shop/login/idp/corp/link/confirm");
    let r = cb_.get("/t/shop/login/idp/corp/link/confirm").await;
    assert_eq!(r.expect_see_other(), "/t/shop/account");
    let ids = identities(&w.api, carol["id"].as_str().unwrap()).await;
    assert_eq!(ids.len(), 1);
    let methods: Vec<Value> = audit(&w.api, "shop", "federation.linked")
        .await
        .into_iter()
        .map(|d| d["method"].clone())
        .collect();
    assert!(
        methods.contains(&json!("sign_in")) && methods.contains(&json!("trusted_email")),
        "{methods:?}"
    );
    // From now on the provider signs Carol in directly.
    cb_.sign_out("shop").await;
    let cb = to_callback(&cb_, "/t/shop/login/idp/corp", "carol@corp.test").await;
    assert_eq!(
        follow(&cb_, &cb).await.expect_see_other(),
        "/t/shop/account"
    );
    assert_eq!(
        cb_.account_email("shop").await.as_deref(),
        Some("carol@corp.test")
    );
}

async fn replayed_foreign_and_mixed_up_answers_are_refused(backend: Backend) {
    let (_dep, w) = world(backend).await;
    upstream_user(&w, "dave@upstream.test", true).await;
    add_provider(&w, "corp2", json!({"display_name": "Corp Two"})).await;

    // An answer opened in another browser: refused, and the state is spent for everyone.
    let a = w.server.browser();
    let cb = to_callback(&a, "/t/shop/login/idp/corp", "dave@upstream.test").await;
    let other = w.server.browser();
    let r = follow(&other, &cb).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(follow(&a, &cb).await.status, 400);
    assert_eq!(a.account_email("shop").await, None);

    // Mix-up: an answer to corp2's request presented at corp's callback.
    let r = a.get("/t/shop/login/idp/corp2").await;
    let authorize = r.expect_see_other();
    let state = query_param(&authorize, "state").unwrap();
    let q = qs(&[("code", "whatever"), ("state", &state)]);
    let r = a.get(&format!("/t/shop/login/idp/corp/callback?{q}")).await;
    assert_eq!(r.status, 400);

    // The person declines at the provider.
    let authorize = a.get("/t/shop/login/idp/corp").await.expect_see_other();
    let state = query_param(&authorize, "state").unwrap();
    let q = qs(&[("error", "access_denied"), ("state", &state)]);
    let r = a.get(&format!("/t/shop/login/idp/corp/callback?{q}")).await;
    assert_eq!(r.status, 403, "{}", r.text());

    // An answer naming another issuer (RFC 9207).
    let authorize = a.get("/t/shop/login/idp/corp").await.expect_see_other();
    let state = query_param(&authorize, "state").unwrap();
    let q = qs(&[
        ("code", "x"),
        ("state", &state),
        ("iss", "https://evil.example"),
    ]);
    assert_eq!(
        a.get(&format!("/t/shop/login/idp/corp/callback?{q}"))
            .await
            .status,
        400
    );

    // No state, an invented state, an unknown provider, a bad code.
    assert_eq!(
        a.get("/t/shop/login/idp/corp/callback?code=x").await.status,
        400
    );
    assert_eq!(
        a.get("/t/shop/login/idp/corp/callback?code=x&state=invented")
            .await
            .status,
        400
    );
    assert_eq!(a.get("/t/shop/login/idp/nope").await.status, 404);
    let authorize = a.get("/t/shop/login/idp/corp").await.expect_see_other();
    let state = query_param(&authorize, "state").unwrap();
    let iss = format!("{}/t/upstream", w.server.public_url);
    let q = qs(&[("code", "not-a-code"), ("state", &state), ("iss", &iss)]);
    let r = a.get(&format!("/t/shop/login/idp/corp/callback?{q}")).await;
    assert_eq!(r.status, 502, "the upstream refuses the code: {}", r.text());

    let reasons = failure_reasons(&w.api, "shop").await;
    for want in [
        "browser_mismatch",
        "state_unknown",
        "provider_mismatch",
        "upstream_access_denied",
        "issuer_mismatch",
        "state_missing",
        "provider_unknown",
        "provider_bad_response",
    ] {
        assert!(reasons.iter().any(|r| r == want), "{want} in {reasons:?}");
    }
    assert!(!w.server.log().contains("panicked"));
}

async fn linked_identities_in_the_portal_and_the_api(backend: Backend) {
    let (_dep, w) = world(backend).await;
    upstream_user(&w, "erin@upstream.test", true).await;
    // No emailed sign-in here, so a linked identity may be the only way in.
    let tenant = w.api.get("/tenants/shop").await.expect(200);
    let mut settings = tenant["settings"].clone();
    settings["mfa"]["email_code_sign_in"] = json!(false);
    settings["mfa"]["magic_link_sign_in"] = json!(false);
    w.api
        .patch("/tenants/shop", &json!({ "settings": settings }))
        .await
        .expect(200);
    let b = w.server.browser();
    let cb = to_callback(&b, "/t/shop/login/idp/corp", "erin@upstream.test").await;
    follow(&b, &cb).await.expect_see_other();
    let user = shop_user(&w.api, "erin@upstream.test").await.unwrap();
    let uid = user["id"].as_str().unwrap();

    // The only way to sign in cannot be removed.
    let page = b.get("/t/shop/account/identities").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains("Corp SSO") && html.contains("id=\"last-method\""),
        "{html}"
    );
    // (The forms of the portal share one CSRF token.)
    let account = b.get("/t/shop/account").await.text();
    let token = hidden_input(&account, "csrf_token").unwrap();
    let link_id = identities(&w.api, uid).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = b
        .post_form(
            "/t/shop/account/identities/remove",
            &[("csrf_token", &token), ("id", &link_id)],
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(identities(&w.api, uid).await.len(), 1);

    // Another provider connects from the portal; then either can go.
    add_provider(&w, "corp2", json!({"display_name": "Corp Two"})).await;
    let html = b.get("/t/shop/account/identities").await.text();
    let connect = link_href(&html, "connect-corp2").expect("a connect link");
    assert!(
        connect.starts_with("/t/shop/login/idp/corp2?link=1&csrf_token="),
        "{connect}"
    );
    // Another site cannot start a connection: without the page's token nothing happens.
    let r = b.get("/t/shop/login/idp/corp2?link=1").await;
    assert_eq!(r.expect_see_other(), "/t/shop/account/identities");
    let cb = to_callback(&b, &connect, "erin@upstream.test").await;
    assert_eq!(
        follow(&b, &cb).await.expect_see_other(),
        "/t/shop/account/identities"
    );
    assert_eq!(identities(&w.api, uid).await.len(), 2);
    let r = b
        .post_form(
            "/t/shop/account/identities/remove",
            &[("csrf_token", &token), ("id", &link_id)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(identities(&w.api, uid).await.len(), 1);
    assert_eq!(audit(&w.api, "shop", "federation.unlinked").await.len(), 1);

    // The admin API removes links too, and never returns the client secret.
    let last = identities(&w.api, uid).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    w.api
        .delete(&format!("/tenants/shop/users/{uid}/identities/{last}"))
        .await
        .expect(204);
    assert!(identities(&w.api, uid).await.is_empty());
    let p = w
        .api
        .get("/tenants/shop/identity-providers/corp")
        .await
        .expect(200);
    assert_eq!(p["has_client_secret"], true);
    assert!(!p.to_string().contains(&w.client_secret));
    assert_eq!(
        p["redirect_uri"],
        format!("{}/t/shop/login/idp/corp/callback", w.server.public_url)
    );
    let list = w
        .api
        .get("/tenants/shop/identity-providers")
        .await
        .expect(200);
    assert!(!list.to_string().contains(&w.client_secret));
    // Bad input is refused with the field named.
    let e = w
        .api
        .post(
            "/tenants/shop/identity-providers",
            &json!({"alias": "Bad Alias", "client_secret": "s", "config": {"issuer": "https://x.example", "client_id": "c"}}),
        )
        .await;
    e.expect_error(400, "invalid_request");
    let e = w
        .api
        .post(
            "/tenants/shop/identity-providers",
            &json!({"alias": "plain", "client_secret": "s", "config": {"issuer": "http://idp.example", "client_id": "c"}}),
        )
        .await;
    e.expect_error(400, "invalid_request");
    let e = w
        .api
        .post(
            "/tenants/shop/identity-providers",
            &json!({"alias": "corp", "client_secret": "s", "config": {"issuer": "https://x.example", "client_id": "c"}}),
        )
        .await;
    e.expect_error(409, "conflict");
    w.api
        .delete("/tenants/shop/identity-providers/corp2")
        .await
        .expect(204);
    w.api
        .get("/tenants/shop/identity-providers/corp2")
        .await
        .expect_error(404, "not_found");
}

/// A plain HTTP client for the fake providers (the person's browser at another site).
fn outside() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

/// From `start` through a fake provider to Tessera's answer to the callback. A `form_post`
/// answer is posted cross-site (without the browser's cookies), as a browser does it.
async fn through_fake(server: &Server, b: &Browser, start: &str) -> Resp {
    let authorize = b.get(start).await.expect_see_other();
    let r = outside().get(&authorize).send().await.unwrap();
    match r.status().as_u16() {
        302 => {
            let cb = r.headers()["location"].to_str().unwrap().to_string();
            follow(b, &cb).await
        }
        200 => {
            let form = r.text().await.unwrap();
            let cb = query_param(&authorize, "redirect_uri").unwrap();
            let posted = Browser::cookieless(server)
                .post_raw(
                    &path_of(&cb),
                    "application/x-www-form-urlencoded",
                    form.into_bytes(),
                )
                .await;
            let back = posted.expect_see_other();
            b.get(&back).await
        }
        other => panic!(
            "the fake provider answered {other}: {}",
            r.text().await.unwrap()
        ),
    }
}

async fn fake_provider(api: &Api, alias: &str, preset: Option<&str>, secret: &str, config: Value) {
    let mut body = json!({"alias": alias, "client_secret": secret, "config": config});
    if let Some(p) = preset {
        body["preset"] = json!(p);
    }
    api.post("/tenants/shop/identity-providers", &body)
        .await
        .expect(201);
}

async fn id_tokens_that_do_not_hold_are_refused(backend: Backend) {
    let (_dep, server, api) = crate::harness::start(backend).await;
    api.create_tenant("shop", "customer").await;
    let idp = fake::Fake::start(
        fake::Kind::Oidc,
        "shop-client",
        "shop-secret",
        json!({"sub": "u-1", "email": "una@idp.test", "email_verified": true, "name": "Una"}),
    )
    .await;
    fake_provider(
        &api,
        "idp",
        None,
        "shop-secret",
        json!({"issuer": idp.base, "client_id": "shop-client", "client_auth": "client_secret_post"}),
    )
    .await;
    type Case = (&'static str, Option<fake::Tamper>, bool);
    let cases: Vec<Case> = vec![
        (
            "id_token_audience",
            Some(Box::new(|c: &mut Value| c["aud"] = json!("another-client"))),
            false,
        ),
        (
            "id_token_issuer",
            Some(Box::new(|c: &mut Value| {
                c["iss"] = json!("https://evil.example")
            })),
            false,
        ),
        (
            "id_token_expired",
            Some(Box::new(|c: &mut Value| {
                c["exp"] = json!(c["iat"].as_i64().unwrap() - 3600)
            })),
            false,
        ),
        (
            "id_token_iat",
            Some(Box::new(|c: &mut Value| {
                c["iat"] = json!(c["iat"].as_i64().unwrap() + 3600)
            })),
            false,
        ),
        (
            "id_token_nonce",
            Some(Box::new(|c: &mut Value| {
                c["nonce"] = json!("another-sign-in")
            })),
            false,
        ),
        (
            "id_token_azp",
            Some(Box::new(|c: &mut Value| {
                c["aud"] = json!(["shop-client", "other"]);
                c["azp"] = json!("other");
            })),
            false,
        ),
        ("id_token_signature", None, true),
    ];
    for (reason, tamper, forge) in cases {
        idp.tamper(tamper);
        idp.forge(forge);
        let b = server.browser();
        let r = through_fake(&server, &b, "/t/shop/login/idp/idp").await;
        assert_eq!(r.status, 400, "{reason}: {}", r.text());
        assert!(
            r.text().contains("could not be accepted"),
            "{reason}: a clear page"
        );
        assert_eq!(b.account_email("shop").await, None, "{reason}");
        assert!(
            failure_reasons(&api, "shop")
                .await
                .iter()
                .any(|r| r == reason),
            "{reason} recorded"
        );
    }
    idp.tamper(None);
    idp.forge(false);
    // The genuine token signs in; after a key rotation too (the JWKS is fetched again).
    let b = server.browser();
    let r = through_fake(&server, &b, "/t/shop/login/idp/idp").await;
    assert_eq!(
        r.status,
        303,
        "{:?} {}",
        failure_reasons(&api, "shop").await,
        r.text()
    );
    assert_eq!(r.expect_see_other(), "/t/shop/account");
    idp.rotate();
    let b = server.browser();
    assert_eq!(
        through_fake(&server, &b, "/t/shop/login/idp/idp")
            .await
            .expect_see_other(),
        "/t/shop/account"
    );
    assert_eq!(
        b.account_email("shop").await.as_deref(),
        Some("una@idp.test")
    );
    assert!(
        idp.requests().iter().filter(|r| *r == "GET /jwks").count() >= 2,
        "{:?}",
        idp.requests()
    );
    // An unreachable provider is a 502 page, not an internal error.
    drop(idp);
    let b = server.browser();
    let r = b.get("/t/shop/login/idp/idp").await;
    assert!(r.status == 502 || r.status == 303, "{}", r.text());
    assert!(!server.log().contains("panicked"));
}

async fn presets_work_against_fakes_of_their_providers(backend: Backend) {
    let (_dep, server, api) = crate::harness::start(backend).await;
    api.create_tenant("shop", "customer").await;

    // Google: OpenID Connect with discovery.
    let google = fake::Fake::start(
        fake::Kind::Oidc,
        "g-client",
        "g-secret",
        json!({"sub": "1029384756", "email": "gina@gmail.test", "email_verified": true, "name": "Gina G", "given_name": "Gina", "family_name": "G", "groups": ["eng", "other"]}),
    )
    .await;
    fake_provider(
        &api,
        "google",
        Some("google"),
        "g-secret",
        json!({
            "client_id": "g-client",
            "issuer": google.base,
            "claims": {"groups": "groups"},
            "group_rules": [{"upstream": "eng", "group": "engineering"}],
        }),
    )
    .await;
    api.post("/tenants/shop/groups", &json!({"name": "engineering"}))
        .await
        .expect(201);
    let b = server.browser();
    assert!(
        b.get("/t/shop/login")
            .await
            .text()
            .contains("Continue with Google")
    );
    assert_eq!(
        through_fake(&server, &b, "/t/shop/login/idp/google")
            .await
            .expect_see_other(),
        "/t/shop/account"
    );
    let gina = shop_user(&api, "gina@gmail.test").await.unwrap();
    assert_eq!(gina["email_verified"], true);
    assert_eq!(gina["given_name"], "Gina");
    // The upstream group "eng" put Gina in the local group "engineering" (and nothing else).
    let groups = api
        .get(&format!(
            "/tenants/shop/users/{}/groups",
            gina["id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    let names: Vec<&str> = groups["items"]
        .as_array()
        .or(groups.as_array())
        .unwrap()
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert_eq!(names, vec!["engineering"], "{groups}");

    // GitHub: OAuth 2.0, the profile from /user and the verified primary address.
    let github = fake::Fake::start(
        fake::Kind::GitHub,
        "gh-client",
        "gh-secret",
        json!({"id": 583231, "login": "octocat", "name": "The Octocat", "email": "public@octo.test"}),
    )
    .await;
    github.set_emails(json!([
        {"email": "public@octo.test", "primary": false, "verified": false},
        {"email": "octo@octo.test", "primary": true, "verified": true}
    ]));
    let gb = &github.base;
    fake_provider(
        &api,
        "github",
        Some("github"),
        "gh-secret",
        json!({
            "client_id": "gh-client",
            "authorization_endpoint": format!("{gb}/login/oauth/authorize"),
            "token_endpoint": format!("{gb}/login/oauth/access_token"),
            "userinfo_endpoint": format!("{gb}/user"),
            "emails_endpoint": format!("{gb}/user/emails"),
        }),
    )
    .await;
    let b = server.browser();
    assert_eq!(
        through_fake(&server, &b, "/t/shop/login/idp/github")
            .await
            .expect_see_other(),
        "/t/shop/account"
    );
    let octo = shop_user(&api, "octo@octo.test")
        .await
        .expect("the verified primary address");
    assert_eq!(octo["email_verified"], true);
    assert_eq!(octo["name"], "The Octocat");
    let ids = identities(&api, octo["id"].as_str().unwrap()).await;
    assert_eq!(ids[0]["subject"], "583231");

    // Apple: form_post, a signed client secret, the name only in the first answer.
    let apple = fake::Fake::start(
        fake::Kind::Apple,
        "com.shop.web",
        "",
        json!({"sub": "001234.abcdef", "email": "x7q@privaterelay.appleid.test", "email_verified": "true", "is_private_email": "true"}),
    )
    .await;
    let team_key = tessera_crypto::SigningKey::generate(tessera_crypto::SigningAlg::ES256).unwrap();
    let mut public = team_key.public_jwk();
    public.as_object_mut().unwrap().remove("kid");
    apple.set_apple_key(tessera_crypto::VerifyingKey::from_jwk(&public).unwrap());
    let pem = {
        use base64::Engine;
        let der = team_key.to_pkcs8_der().unwrap();
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der.as_slice())
        )
    };
    let ab = &apple.base;
    fake_provider(
        &api,
        "apple",
        Some("apple"),
        &pem,
        json!({
            "client_id": "com.shop.web",
            "apple": {"team_id": "TEAMID1234", "key_id": "KEYID5678"},
            "issuer": ab,
            "authorization_endpoint": format!("{ab}/auth/authorize"),
            "token_endpoint": format!("{ab}/auth/token"),
            "jwks_uri": format!("{ab}/auth/keys"),
        }),
    )
    .await;
    let p = api
        .get("/tenants/shop/identity-providers/apple")
        .await
        .expect(200);
    assert!(
        !p.to_string().contains("PRIVATE KEY"),
        "the key is never returned"
    );
    let b = server.browser();
    assert_eq!(
        through_fake(&server, &b, "/t/shop/login/idp/apple")
            .await
            .expect_see_other(),
        "/t/shop/account"
    );
    let ada = shop_user(&api, "x7q@privaterelay.appleid.test")
        .await
        .unwrap();
    assert_eq!(ada["name"], "Ada Lovelace");
    assert_eq!(ada["email_verified"], true);

    // Microsoft (multi-tenant): the issuer is the person's directory; its email is not
    // verified by Microsoft, so a new account needs the address proven first.
    let ms = fake::Fake::start(
        fake::Kind::Microsoft,
        "ms-client",
        "ms-secret",
        json!({"sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "email": "mia@contoso.test", "name": "Mia"}),
    )
    .await;
    let mb = &ms.base;
    fake_provider(
        &api,
        "microsoft",
        Some("microsoft"),
        "ms-secret",
        json!({
            "client_id": "ms-client",
            "issuer": format!("{mb}/{{tenantid}}/v2.0"),
            "discovery_url": format!("{mb}/common/v2.0/.well-known/openid-configuration"),
        }),
    )
    .await;
    let b = server.browser();
    let r = through_fake(&server, &b, "/t/shop/login/idp/microsoft").await;
    assert_eq!(r.expect_see_other(), "/t/shop/login/idp/microsoft/link");
    let page = b.get("/t/shop/login/idp/microsoft/link").await.text();
    assert!(page.contains("id=\"verify-intro\""), "{page}");
    assert_eq!(shop_user(&api, "mia@contoso.test").await, None);
    // Only the allowed directories sign in.
    api.patch(
        "/tenants/shop/identity-providers/microsoft",
        &json!({"config": {"allowed_tenants": ["another-directory"]}}),
    )
    .await
    .expect(200);
    let b = server.browser();
    assert_eq!(
        through_fake(&server, &b, "/t/shop/login/idp/microsoft")
            .await
            .status,
        400
    );
    assert!(
        failure_reasons(&api, "shop")
            .await
            .contains(&"id_token_tenant".to_string())
    );
    api.patch(
        "/tenants/shop/identity-providers/microsoft",
        &json!({"config": {"allowed_tenants": [ms.tid()]}}),
    )
    .await
    .expect(200);
    let b = server.browser();
    assert_eq!(
        through_fake(&server, &b, "/t/shop/login/idp/microsoft")
            .await
            .expect_see_other(),
        "/t/shop/login/idp/microsoft/link"
    );
    assert!(ms.issuer().ends_with("/v2.0"));
}

/// Facebook's addresses are not vouched for: the new account's address is proven with an
/// emailed code (through a real SMTP server), then the account exists, verified and linked.
async fn unverified_addresses_are_proven_by_email_before_an_account_exists(backend: Backend) {
    let Some(sink) = crate::harness::smtp::SmtpSink::start().await else {
        return;
    };
    let dep = crate::harness::Deployment::new(backend);
    let env: Vec<(&str, String)> = sink.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = dep.start_with(&env).await;
    let api = server.admin_api().await;
    api.create_tenant("shop", "customer").await;
    let fb = fake::Fake::start(
        fake::Kind::Facebook,
        "fb-client",
        "fb-secret",
        json!({"id": "10170001", "name": "Fay Book", "email": "fay@fb.test", "first_name": "Fay", "last_name": "Book"}),
    )
    .await;
    let fbb = &fb.base;
    fake_provider(&api, "facebook", Some("facebook"), "fb-secret", json!({
        "client_id": "fb-client",
        "authorization_endpoint": format!("{fbb}/v19.0/dialog/oauth"),
        "token_endpoint": format!("{fbb}/v19.0/oauth/access_token"),
        "userinfo_endpoint": format!("{fbb}/v19.0/me?fields=id,name,email,first_name,last_name"),
    })).await;
    let b = server.browser();
    let r = through_fake(&server, &b, "/t/shop/login/idp/facebook").await;
    assert_eq!(r.expect_see_other(), "/t/shop/login/idp/facebook/link");
    let page = b.get("/t/shop/login/idp/facebook/link").await.text();
    let token = hidden_input(&page, "csrf_token").unwrap();
    let r = b
        .post_form(
            "/t/shop/login/idp/facebook/link/email",
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("id=\"code-sent\""));
    let mail = sink
        .wait_for("fay@fb.test", std::time::Duration::from_secs(60))
        .await;
    let code: String = mail
        .text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.chars().all(|c| c.is_ascii_digit()))
        .expect("a six-digit code in the mail")
        .to_string();
    assert_eq!(
        shop_user(&api, "fay@fb.test").await,
        None,
        "no account before the proof"
    );
    let r = b
        .post_form(
            "/t/shop/login/idp/facebook/link/code",
            &[("csrf_token", &token), ("code", &code)],
        )
        .await;
    assert_eq!(r.expect_see_other(), "/t/shop/account");
    let fay = shop_user(&api, "fay@fb.test")
        .await
        .expect("created after the proof");
    assert_eq!(fay["email_verified"], true);
    assert_eq!(fay["given_name"], "Fay");
    let ids = identities(&api, fay["id"].as_str().unwrap()).await;
    assert_eq!(ids[0]["subject"], "10170001");
    // The code was single use.
    let r = b
        .post_form(
            "/t/shop/login/idp/facebook/link/code",
            &[("csrf_token", &token), ("code", &code)],
        )
        .await;
    assert_eq!(r.status, 404);
}

/// `npm ci` of `tests/interop/node-op` when its lock file changed since the last install.
async fn node_op_project() -> std::path::PathBuf {
    use crate::harness::tools::{
        FileLock, INSTALL_TIMEOUT, cache_dir, check_ok, fingerprint, interop_dir, run,
    };
    let dir = interop_dir().join("node-op");
    let _lock = FileLock::acquire(&cache_dir().join("node-op.lock"));
    let stamp = dir.join("node_modules/.tessera-install-stamp");
    let want = fingerprint(&[dir.join("package.json"), dir.join("package-lock.json")]);
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == want) {
        return dir;
    }
    let mut cmd = tokio::process::Command::new("npm");
    cmd.args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir);
    check_ok(
        &run(&mut cmd, "npm ci", INSTALL_TIMEOUT).await,
        "npm ci (tests/interop/node-op)",
    );
    std::fs::write(&stamp, want).expect("the install stamp can be written");
    dir
}

/// An independent OpenID Provider, Node `oidc-provider`, as the upstream: discovery, code with
/// PKCE and nonce, its own keys, `iss` in its answers, user-info.
async fn node_oidc_provider_as_an_independent_upstream(backend: Backend) {
    if !crate::harness::tools::require(&["node", "npm"], "the oidc-provider federation test") {
        return;
    }
    let dir = node_op_project().await;
    let (_dep, server, api) = crate::harness::start(backend).await;
    api.create_tenant("shop", "customer").await;
    let redirect = format!("{}/t/shop/login/idp/node/callback", server.public_url);
    let mut child = tokio::process::Command::new("node")
        .arg("provider.mjs")
        .current_dir(&dir)
        .env("PORT", "0")
        .env("TESSERA_CLIENT_ID", "tessera-shop")
        .env("TESSERA_CLIENT_SECRET", "node-op-secret-0123456789")
        .env("TESSERA_REDIRECT_URI", &redirect)
        .env("ACCOUNT_ID", "node-user-1")
        .env("ACCOUNT_EMAIL", "nora@node-op.test")
        .env("ACCOUNT_EMAIL_VERIFIED", "true")
        .env("ACCOUNT_NAME", "Nora Node")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    use tokio::io::AsyncBufReadExt;
    // Kept open for the provider's lifetime.
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let issuer = {
        let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
            .await
            .expect("oidc-provider starts within a minute")
            .unwrap()
            .expect("oidc-provider prints its issuer");
        let v: Value = serde_json::from_str(&line).expect("a JSON line");
        v["issuer"].as_str().unwrap().to_string()
    };
    api.post(
        "/tenants/shop/identity-providers",
        &json!({
            "alias": "node",
            "display_name": "Node OP",
            "client_secret": "node-op-secret-0123456789",
            "config": {"issuer": issuer, "client_id": "tessera-shop", "userinfo": true},
        }),
    )
    .await
    .expect(201);
    // The person's browser at the provider: its cookies, each redirect walked by hand.
    let at_op = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    for round in 0..2 {
        let b = server.browser();
        let mut url = b.get("/t/shop/login/idp/node").await.expect_see_other();
        assert!(url.starts_with(&issuer), "sent to oidc-provider: {url}");
        let back = loop {
            let r = at_op.get(&url).send().await.unwrap();
            let status = r.status().as_u16();
            assert!(
                status == 302 || status == 303,
                "oidc-provider answered {status} at {url}: {}",
                r.text().await.unwrap_or_default()
            );
            let loc = r.headers()["location"].to_str().unwrap().to_string();
            let loc = if loc.starts_with('/') {
                format!("{issuer}{loc}")
            } else {
                loc
            };
            if loc.starts_with(&server.public_url) {
                break loc;
            }
            url = loc;
        };
        assert_eq!(query_param(&back, "iss").as_deref(), Some(issuer.as_str()));
        let r = follow(&b, &back).await;
        assert_eq!(r.expect_see_other(), "/t/shop/account", "round {round}");
        assert_eq!(
            b.account_email("shop").await.as_deref(),
            Some("nora@node-op.test")
        );
    }
    let nora = shop_user(&api, "nora@node-op.test").await.unwrap();
    assert_eq!(nora["email_verified"], true);
    assert_eq!(nora["name"], "Nora Node");
    let ids = identities(&api, nora["id"].as_str().unwrap()).await;
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0]["subject"], "node-user-1");
    let _ = child.kill().await;
    drop(lines);
}

/// The whole journey in headless Chromium: the sign-in page's button, the upstream tenant's
/// sign-in, back to the proof page (an account with this address exists), signing in to that
/// account, linked; then the provider alone signs in.
async fn chromium_journey_links_an_existing_account(backend: Backend) {
    let Some(driver) = crate::harness::webdriver::Driver::start().await else {
        return;
    };
    let dep = crate::harness::Deployment::new(backend).public_host("localhost");
    let server = dep.start().await;
    let api = server.admin_api().await;
    api.create_tenant("upstream", "workforce").await;
    api.create_tenant("shop", "customer").await;
    let client = api
        .post(
            "/tenants/upstream/clients",
            &json!({"name": "Shop", "redirect_uris": [callback(&server, "corp")], "first_party": true}),
        )
        .await
        .expect(201);
    let w = World {
        client_id: client["client_id"].as_str().unwrap().to_string(),
        client_secret: client["client_secret"].as_str().unwrap().to_string(),
        server,
        api,
    };
    add_provider(&w, "corp", json!({})).await;
    let carol = local_user(&w, "carol@corp.test").await;
    upstream_user(&w, "carol@corp.test", true).await;
    let origin = w.server.public_url.clone();

    let s = driver.session().await;
    s.goto(&format!("{origin}/t/shop/login")).await;
    let button = s.find("#idp-corp").await;
    assert_eq!(s.text(&button).await, "Continue with Corp SSO");
    s.click(&button).await;
    s.wait_for_url("the upstream sign-in page", |u| {
        u.contains("/t/upstream/login")
    })
    .await;
    let email = s.find("#email").await;
    s.send_keys(&email, "carol@corp.test").await;
    let password = s.find("#password").await;
    s.send_keys(&password, UP_PASSWORD).await;
    s.click(&s.find("#submit").await).await;
    s.wait_for_url("the proof page", |u| {
        u.ends_with("/t/shop/login/idp/corp/link")
    })
    .await;
    assert!(s.text_of("#link-intro").await.contains("carol@corp.test"));
    s.click(&s.find("#link-sign-in").await).await;
    let login = s
        .wait_for_url("the shop's sign-in page", |u| u.contains("/t/shop/login?"))
        .await;
    assert!(
        login.contains("return_to=%2Ft%2Fshop%2Flogin%2Fidp%2Fcorp%2Flink%2Fconfirm"),
        "{login}"
    );
    let password = s.find("#password").await;
    s.send_keys(&password, LOCAL_PASSWORD).await;
    s.click(&s.find("#submit").await).await;
    s.wait_for_url("the account page", |u| u.ends_with("/t/shop/account"))
        .await;
    assert_eq!(s.text_of("#account-email").await, "carol@corp.test");
    assert_eq!(
        identities(&w.api, carol["id"].as_str().unwrap())
            .await
            .len(),
        1
    );
    s.goto(&format!("{origin}/t/shop/account/identities")).await;
    assert!(s.text_of("#linked-identities").await.contains("Corp SSO"));

    // Signed out of the shop (still signed in upstream): the button alone signs Carol in.
    s.goto(&format!("{origin}/t/shop/account")).await;
    s.click(&s.find("#sign-out").await).await;
    s.wait_for_url("signed out", |u| u.ends_with("/t/shop/logout"))
        .await;
    s.goto(&format!("{origin}/t/shop/login")).await;
    s.click(&s.find("#idp-corp").await).await;
    s.wait_for_url("the account page", |u| u.ends_with("/t/shop/account"))
        .await;
    assert_eq!(s.text_of("#account-email").await, "carol@corp.test");
    s.close().await;
}

/// `tessera idp create|list|delete`: the same rules as the API; the secret comes from a file and
/// is never printed.
async fn the_cli_manages_providers(backend: Backend) {
    let (dep, server, api) = crate::harness::start(backend).await;
    api.create_tenant("shop", "customer").await;
    let secret_file = dep.dir().join("github-secret.txt");
    std::fs::write(&secret_file, "gh-cli-secret-4242\n").unwrap();
    let created = server
        .cli_json(&[
            "idp",
            "create",
            "--tenant",
            "shop",
            "--alias",
            "github",
            "--preset",
            "github",
            "--client-secret-file",
            secret_file.to_str().unwrap(),
            "--settings",
            r#"{"client_id": "Iv1.cli"}"#,
            "--domain",
            "octo.test",
        ])
        .await;
    assert_eq!(created["alias"], "github");
    assert_eq!(created["display_name"], "GitHub");
    assert_eq!(created["preset"], "github");
    assert_eq!(created["has_client_secret"], true);
    assert_eq!(created["domains"], json!(["octo.test"]));
    assert_eq!(
        created["redirect_uri"],
        format!("{}/t/shop/login/idp/github/callback", server.public_url)
    );
    assert!(!created.to_string().contains("gh-cli-secret-4242"));
    let list = server.cli_json(&["idp", "list", "--tenant", "shop"]).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // The API sees it; the sign-in page offers it.
    api.get("/tenants/shop/identity-providers/github")
        .await
        .expect(200);
    assert!(
        server
            .browser()
            .get("/t/shop/login")
            .await
            .text()
            .contains("Continue with GitHub")
    );
    // Refusals name the problem, as one JSON error.
    let bad = server
        .cli(&[
            "idp",
            "create",
            "--tenant",
            "shop",
            "--alias",
            "plain",
            "--settings",
            r#"{"client_id": "c", "issuer": "http://idp.example"}"#,
            "--json",
        ])
        .await;
    assert!(!bad.status.success());
    let e = bad.json();
    assert_eq!(e["error"], "invalid_request", "{e}");
    assert!(e["message"].as_str().unwrap().contains("issuer"), "{e}");
    let deleted = server
        .cli_json(&["idp", "delete", "--tenant", "shop", "github"])
        .await;
    assert_eq!(deleted["deleted"], true);
    let types: Vec<Value> = api.get("/tenants/shop/audit?limit=50").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert!(
        types.contains(&json!("identity_provider.created")),
        "{types:?}"
    );
    assert!(
        types.contains(&json!("identity_provider.deleted")),
        "{types:?}"
    );
}

/// An access token of `client` for the person signed in in `b` (authorization code flow).
async fn app_token(server: &Server, b: &Browser, client: &Value, scope: &str) -> String {
    let id = client["client_id"].as_str().unwrap();
    let r = b
        .get(&format!(
            "/t/shop/authorize?response_type=code&client_id={id}&redirect_uri=http%3A%2F%2Flocalhost%3A9%2Fcb&scope={}&state=s",
            scope.replace(' ', "%20")
        ))
        .await;
    let done = redirect(&r);
    let code = query_param(&done, "code").unwrap_or_else(|| panic!("a code: {done}"));
    let tokens: Value = outside()
        .post(server.url("/t/shop/token"))
        .basic_auth(id, client["client_secret"].as_str())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://localhost:9/cb"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("an access token: {tokens}"))
        .to_string()
}

/// Kept upstream tokens (`store_tokens`): operators (admin API) and the account's own
/// application (an access token of scope `federated_tokens`) get the provider's access token;
/// one that expires within 30 s is renewed with the refresh token first (the provider rotates
/// refresh tokens; every renewal uses the newest); a revoked refresh token is a clear 409; other
/// scopes, other tokens and accounts without the identity get nothing; every hand-out is audited.
async fn kept_tokens_are_renewed_and_handed_out(backend: Backend) {
    let (_dep, server, api) = crate::harness::start(backend).await;
    api.create_tenant("shop", "customer").await;
    let idp = fake::Fake::start(
        fake::Kind::Oidc,
        "shop-client",
        "shop-secret",
        json!({"sub": "u-7", "email": "tom@idp.test", "email_verified": true, "name": "Tom"}),
    )
    .await;
    fake_provider(
        &api,
        "idp",
        None,
        "shop-secret",
        json!({"issuer": idp.base, "client_id": "shop-client", "client_auth": "client_secret_post", "store_tokens": true}),
    )
    .await;
    let b = server.browser();
    assert_eq!(
        through_fake(&server, &b, "/t/shop/login/idp/idp")
            .await
            .expect_see_other(),
        "/t/shop/account"
    );
    let user = shop_user(&api, "tom@idp.test").await.expect("the account");
    let uid = user["id"].as_str().unwrap().to_string();
    let path = format!("/tenants/shop/users/{uid}/identities/idp/token");

    // A fresh token is handed out as kept.
    let t1 = api.get(&path).await.expect(200);
    assert_eq!(t1["refreshed"], false, "{t1}");
    assert_eq!(t1["provider"], "idp");
    assert!(idp.issued(t1["access_token"].as_str().unwrap()), "{t1}");
    let token_posts = || {
        idp.requests()
            .iter()
            .filter(|r| r.starts_with("POST /token"))
            .count()
    };

    // Tokens about to expire are renewed first, each time with the newest refresh token.
    idp.set_expires_in(10);
    let b2 = server.browser();
    through_fake(&server, &b2, "/t/shop/login/idp/idp")
        .await
        .expect_see_other();
    let before = token_posts();
    let t2 = api.get(&path).await.expect(200);
    assert_eq!(t2["refreshed"], true, "{t2}");
    assert_ne!(t2["access_token"], t1["access_token"]);
    assert!(idp.issued(t2["access_token"].as_str().unwrap()));
    let t3 = api.get(&path).await.expect(200);
    assert_eq!(t3["refreshed"], true, "rotation followed: {t3}");
    assert_eq!(token_posts(), before + 2);
    idp.set_expires_in(3600);
    let t4 = api.get(&path).await.expect(200);
    assert_eq!(t4["refreshed"], true);
    let t5 = api.get(&path).await.expect(200);
    assert_eq!(t5["refreshed"], false, "{t5}");
    assert_eq!(t5["access_token"], t4["access_token"]);

    // The account's application reads it with a token of scope federated_tokens.
    let app = api
        .post(
            "/tenants/shop/clients",
            &json!({"name": "App", "redirect_uris": ["http://localhost:9/cb"], "first_party": true,
                    "allowed_scopes": ["openid", "federated_tokens"]}),
        )
        .await
        .expect(201);
    let at = app_token(&server, &b2, &app, "openid federated_tokens").await;
    let read = |bearer: String| {
        let url = server.url("/t/shop/federation/idp/token");
        async move { outside().get(url).bearer_auth(bearer).send().await.unwrap() }
    };
    let r = read(at.clone()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["access_token"], t5["access_token"], "{body}");
    // Without the scope, or with a bad token, nothing.
    let narrow = app_token(&server, &b2, &app, "openid").await;
    let r = read(narrow).await;
    assert_eq!(r.status(), 403);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    let r = read("not-a-token".into()).await;
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let r = outside()
        .get(server.url("/t/shop/federation/idp/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = read(at.clone()).await;
    assert_eq!(r.status(), 200);
    let r = outside()
        .get(server.url("/t/shop/federation/other/token"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = outside()
        .get(server.url("/t/nowhere/federation/idp/token"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "an unknown tenant");
    let body: serde_json::Value = r.json().await.expect("a JSON error body");
    assert_eq!(body["error"], "not_found", "{body}");

    // The person revoked the app at the provider: an expired token cannot be renewed.
    idp.set_expires_in(10);
    through_fake(&server, &server.browser(), "/t/shop/login/idp/idp")
        .await
        .expect_see_other();
    idp.revoke_refresh_tokens();
    let msg = api.get(&path).await.expect_error(409, "conflict");
    assert!(msg.contains("signs in with the provider again"), "{msg}");
    // An account without the identity, and a provider that keeps nothing.
    let other = api
        .create_user("shop", "ann@shop.test", Some("ann-password-1"))
        .await;
    let other_path = format!(
        "/tenants/shop/users/{}/identities/idp/token",
        other["id"].as_str().unwrap()
    );
    api.get(&other_path).await.expect_error(404, "not_found");

    let reads = audit(&api, "shop", "federation.token_read").await;
    assert_eq!(reads.len(), 7, "{reads:?}");
    assert!(
        reads.iter().any(|d| d["to"] == app["client_id"]),
        "{reads:?}"
    );
    assert!(reads.iter().any(|d| d["to"] == "operator"));
    assert!(
        !server.log().contains(t5["access_token"].as_str().unwrap()),
        "tokens never logged"
    );
}

on_both_backends!(
    kept_tokens_are_renewed_and_handed_out,
    first_sign_in_creates_the_account_and_links_it,
    hints_and_domains_route_to_the_provider,
    existing_accounts_are_never_joined_without_proof,
    replayed_foreign_and_mixed_up_answers_are_refused,
    linked_identities_in_the_portal_and_the_api,
    id_tokens_that_do_not_hold_are_refused,
    presets_work_against_fakes_of_their_providers,
    unverified_addresses_are_proven_by_email_before_an_account_exists,
    node_oidc_provider_as_an_independent_upstream,
    chromium_journey_links_an_existing_account,
    the_cli_manages_providers,
);
