//! Keys and token formats: per-client ID token algorithms, opaque access tokens, `private_key_jwt`
//! client authentication (RFC 7523) with replay protection, and `tessera keys rotate`.

use serde_json::{Value, json};

use crate::discovery::check_public_jwks;
use crate::harness::{Backend, Deployment};
use crate::jose::{ClientKey, half_hash, random, verified};
use crate::rp::{Client, Op, assert_invalid_client, browser, restart, token_success, unix_now};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

async fn algorithms_opaque_tokens_private_key_jwt_and_rotation(backend: Backend) {
    let dep = Deployment::new(backend);
    let server = dep.start().await;
    let api = server.admin_api().await;
    let op = Op::new(&server, &api, "keys").await;
    let b = browser(&server);

    // ID tokens in the algorithm each client registered; at_hash follows the algorithm.
    for (alg, hash_len) in [("ES256", 22), ("EdDSA", 43), ("RS256", 22)] {
        let c = op
            .client(
                &api,
                json!({"metadata": {"id_token_signed_response_alg": alg}}),
            )
            .await;
        let (req, tokens) = op.sign_in_and_get_tokens(&b, &c, "openid").await;
        let id = op.check_id_token(&c, &req, &tokens).await;
        assert_eq!(id.alg(), alg, "{}", id.header);
        let at_hash = id.claims["at_hash"].as_str().expect("at_hash");
        assert_eq!(at_hash.len(), hash_len, "{alg}: half of the hash");
        assert_eq!(
            at_hash,
            half_hash(alg, tokens["access_token"].as_str().expect("at"))
        );
    }

    // Opaque access tokens: not a JWT, but introspection and userinfo know them, and revocation
    // ends them.
    let opaque = op
        .client(&api, json!({"metadata": {"access_token_format": "opaque"}}))
        .await;
    let (_, tokens) = op.sign_in_and_get_tokens(&b, &opaque, "openid email").await;
    let access = tokens["access_token"].as_str().expect("at");
    assert_eq!(
        access.split('.').count(),
        1,
        "an opaque token is no JWT: {access}"
    );
    assert!(access.len() >= 40, "{access}");
    let i = op.introspect(&opaque, access).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["sub"], op.user_id.as_str());
    assert_eq!(i["client_id"], opaque.id.as_str());
    assert_eq!(i["scope"], "openid email");
    assert_eq!(i["iss"], op.issuer.as_str());
    let info = op.userinfo_get(access).await.expect(200);
    assert_eq!(info["email"], op.email.as_str());
    op.revoke(&opaque, access).await;
    op.assert_inactive(&opaque, access, "a revoked opaque token")
        .await;
    op.assert_userinfo_rejects(access, "a revoked opaque token")
        .await;

    // private_key_jwt: the client's own ES256 key, registered as a public JWK.
    let key = ClientKey::generate();
    let pkj = op
        .client(
            &api,
            json!({
                "grant_types": ["client_credentials"],
                "redirect_uris": [],
                "allowed_scopes": ["reports:read"],
                "token_endpoint_auth_method": "private_key_jwt",
                "metadata": {"jwks": {"keys": [key.public_jwk()]}},
            }),
        )
        .await;
    let token_endpoint = format!("{}/token", op.issuer);
    let assertion = key.sign(&assertion_claims(&pkj.id, &token_endpoint, 60));
    let t = token_success(
        &client_assertion_call(
            &op,
            "/token",
            &pkj,
            &assertion,
            &[("scope", "reports:read")],
        )
        .await,
    );
    let at = verified(t["access_token"].as_str().expect("at"), &op.jwks().await);
    assert_eq!(at.claims["client_id"], pkj.id.as_str());
    // The same assertion again (same jti): refused (RFC 7523 §3, item 7).
    let r = client_assertion_call(
        &op,
        "/token",
        &pkj,
        &assertion,
        &[("scope", "reports:read")],
    )
    .await;
    assert_invalid_client(&r);
    // Signed by another key, expired (beyond the minute of clock skew allowed), or for another
    // audience: refused.
    let stranger = ClientKey::generate();
    for (k, claims) in [
        (&stranger, assertion_claims(&pkj.id, &token_endpoint, 60)),
        (&key, assertion_claims(&pkj.id, &token_endpoint, -300)),
        (
            &key,
            assertion_claims(&pkj.id, "https://elsewhere.example/token", 60),
        ),
    ] {
        let r = client_assertion_call(&op, "/token", &pkj, &k.sign(&claims), &[]).await;
        assert_invalid_client(&r);
    }
    // A secret does not authenticate a private_key_jwt client.
    let with_secret = Client {
        secret: pkj.secret.clone().or(Some("x".repeat(43))),
        ..pkj.clone()
    };
    assert_invalid_client(
        &op.token(&with_secret, &[("grant_type", "client_credentials")])
            .await,
    );
    // Assertions also authenticate at introspection (audience: the introspection endpoint).
    let intro = key.sign(&assertion_claims(
        &pkj.id,
        &format!("{}/introspect", op.issuer),
        60,
    ));
    let r = client_assertion_call(
        &op,
        "/introspect",
        &pkj,
        &intro,
        &[("token", t["access_token"].as_str().expect("at"))],
    )
    .await;
    assert_eq!(r.expect(200)["active"], true);

    // Rotation: `tessera keys rotate` replaces the keys; the old ones stay published so the
    // tokens they signed still verify. Nodes cache keys for up to 30 s, so a new server process
    // (another node, in effect) shows the rotation at once.
    let c = op.web_client(&api).await;
    let (req, before) = op.sign_in_and_get_tokens(&b, &c, "openid").await;
    let old_id = op.check_id_token(&c, &req, &before).await;
    let old_jwks = op.jwks().await;
    let rotated = server
        .cli_json(&["keys", "rotate", "--tenant", "keys"])
        .await;
    assert_eq!(rotated["rotated"], true, "{rotated}");
    assert_eq!(rotated["tenant"], "keys");
    let new_kids: Vec<String> = rotated["active_kids"]
        .as_array()
        .expect("active_kids")
        .iter()
        .map(|k| k.as_str().expect("kid").to_string())
        .collect();
    assert_eq!(new_kids.len(), 3, "{rotated}");
    let server = restart(&dep, server, &[]).await;
    let op = op.on(&server);
    let b = b.on(&server);
    let jwks = op.jwks().await;
    check_public_jwks(&jwks);
    let published = kids(&jwks);
    for kid in kids(&old_jwks).iter().chain(new_kids.iter()) {
        assert!(
            published.contains(kid),
            "{kid} is published after the rotation: {jwks}"
        );
    }
    assert_eq!(
        published.len(),
        6,
        "three retired and three new keys: {jwks}"
    );
    // Tokens from before still verify and still work.
    verified(before["id_token"].as_str().expect("id"), &jwks);
    let old_access = before["access_token"].as_str().expect("at");
    verified(old_access, &jwks);
    op.assert_userinfo_ok(old_access, "an access token signed before the rotation")
        .await;
    // New tokens use the new keys.
    let (req, after) = op.sign_in_and_get_tokens(&b, &c, "openid").await;
    let new_id = op.check_id_token(&c, &req, &after).await;
    assert_ne!(new_id.kid(), old_id.kid());
    assert!(
        new_kids.iter().any(|k| k == new_id.kid()),
        "the ID token uses a new key: {}",
        new_id.header
    );
    let new_at = verified(after["access_token"].as_str().expect("at"), &jwks);
    assert!(
        new_kids.iter().any(|k| k == new_at.kid()),
        "the access token uses a new key: {}",
        new_at.header
    );
    // Refresh tokens from before the rotation keep working.
    token_success(
        &op.refresh(&c, before["refresh_token"].as_str().expect("rt"))
            .await,
    );
    // The old ID token is still a valid id_token_hint for logout.
    let r = b
        .get(&format!(
            "/t/keys/logout?id_token_hint={}&post_logout_redirect_uri={}",
            before["id_token"].as_str().expect("id"),
            "http%3A%2F%2Flocalhost%3A9%2Flogged-out"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains("Sign out?"),
        "the confirmation page: {}",
        r.text()
    );
    crate::rp::assert_no_server_errors(&server);
}

fn assertion_claims(client_id: &str, aud: &str, expires_in: i64) -> Value {
    let now = unix_now();
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "jti": random(16),
        "iat": now,
        "exp": now + expires_in,
    })
}

async fn client_assertion_call(
    op: &Op,
    path: &str,
    client: &Client,
    assertion: &str,
    extra: &[(&str, &str)],
) -> crate::harness::Resp {
    let mut form = vec![
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    if path == "/token" {
        form.push(("grant_type", "client_credentials"));
    }
    // client_id is optional with an assertion (RFC 7523 §2.2); sent here as most libraries do.
    form.push(("client_id", &client.id));
    form.extend_from_slice(extra);
    op.post_form(path, None, &form).await
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_string())
        .collect()
}

/// Serves `jwks` (shared, replaceable) over HTTP on a loopback port; returns the URL and a
/// counter of requests served.
async fn serve_jwks(
    jwks: std::sync::Arc<std::sync::Mutex<Value>>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://127.0.0.1:{}/jwks.json",
        listener.local_addr().expect("addr").port()
    );
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let _ = sock.read(&mut buf).await;
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = jwks.lock().expect("lock").to_string();
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });
    (url, hits)
}

/// private_key_jwt with a remote key set (`jwks_uri`): cached, fetched again when the client
/// rotates its key, and a foreign key still refused.
async fn private_key_jwt_with_jwks_uri(backend: Backend) {
    let dep = Deployment::new(backend);
    let server = dep.start().await;
    let api = server.admin_api().await;
    let op = Op::new(&server, &api, "remote").await;
    let key = ClientKey::generate();
    let jwks = std::sync::Arc::new(std::sync::Mutex::new(json!({"keys": [key.public_jwk()]})));
    let (url, hits) = serve_jwks(jwks.clone()).await;
    let pkj = op
        .client(
            &api,
            json!({
                "grant_types": ["client_credentials"],
                "redirect_uris": [],
                "allowed_scopes": ["reports:read"],
                "token_endpoint_auth_method": "private_key_jwt",
                "metadata": {"jwks_uri": url},
            }),
        )
        .await;
    let token_endpoint = format!("{}/token", op.issuer);
    for _ in 0..2 {
        let a = key.sign(&assertion_claims(&pkj.id, &token_endpoint, 60));
        token_success(&client_assertion_call(&op, "/token", &pkj, &a, &[]).await);
    }
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the key set is cached"
    );
    // The client rotates its key: the old cache misses, the set is fetched again, and it works.
    let rotated = ClientKey::generate();
    *jwks.lock().expect("lock") = json!({"keys": [rotated.public_jwk()]});
    let a = rotated.sign(&assertion_claims(&pkj.id, &token_endpoint, 60));
    token_success(&client_assertion_call(&op, "/token", &pkj, &a, &[]).await);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 2);
    // A key that is not in the set is refused.
    let stranger = ClientKey::generate();
    let a = stranger.sign(&assertion_claims(&pkj.id, &token_endpoint, 60));
    assert_invalid_client(&client_assertion_call(&op, "/token", &pkj, &a, &[]).await);
    // A jwks_uri that is not http(s) is refused at registration.
    let r = api
        .post(
            &format!("/tenants/{}/clients", op.slug),
            &json!({"name": "bad", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt", "metadata": {"jwks_uri": "file:///etc/passwd"}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
}

on_both_backends!(
    algorithms_opaque_tokens_private_key_jwt_and_rotation,
    private_key_jwt_with_jwks_uri
);
