//! Whole sign-ins against an in-memory provider: discovery, the authorization request, the code
//! exchange with PKCE and client authentication, ID token validation across a key rotation,
//! user-info for OAuth 2.0 providers, and Apple's signed client secret.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};
use tessera_core::Secret;
use tessera_crypto::{SigningAlg, SigningKey, VerifyingKey, verify_jwt};

use crate::config::ProviderConfig;
use crate::discovery::ProviderCache;
use crate::error::{FederationError, IdTokenError};
use crate::flow::{
    AuthorizationRequest, CallbackResult, Credentials, Upstream, authorization_url, finish,
    pkce_challenge,
};
use crate::http::{HttpRequest, HttpResponse, Method, Transport};

const ISSUER: &str = "https://idp.example";
const NOW: i64 = 1_800_000_000;
const REDIRECT: &str = "https://tessera.example/t/acme/login/idp/corp/callback";

/// Checks a token request's client authentication; `Some(error)` refuses it.
type ClientCheck = Box<dyn Fn(&HttpRequest) -> Option<String> + Send + Sync>;
/// Changes an ID token's claims before signing.
type Tamper = Box<dyn Fn(&mut Value) + Send + Sync>;

struct Pending {
    challenge: Option<String>,
    nonce: Option<String>,
}

/// A provider in memory: it issues codes for authorization URLs, answers its endpoints and
/// counts how often each was called.
struct FakeIdp {
    key: Mutex<SigningKey>,
    codes: Mutex<HashMap<String, Pending>>,
    calls: Mutex<HashMap<String, usize>>,
    claims: Value,
    userinfo: Value,
    emails: Value,
    /// Checks the token request's client authentication; returns an error text when refused.
    client_check: ClientCheck,
    /// Changes the ID token's claims before signing (to forge bad tokens).
    tamper: Mutex<Tamper>,
    /// Signs ID tokens with a key it never publishes.
    forge: Mutex<bool>,
}

impl FakeIdp {
    fn new(claims: Value) -> FakeIdp {
        FakeIdp {
            key: Mutex::new(SigningKey::generate(SigningAlg::RS256).unwrap()),
            codes: Mutex::default(),
            calls: Mutex::default(),
            claims,
            userinfo: json!({}),
            emails: json!([]),
            client_check: Box::new(|req| {
                let ok = req.header_value("Authorization") == Some("Basic Y2xpZW50LTE6czNjcmV0"); // client-1:s3cret
                (!ok).then(|| "invalid_client".to_string())
            }),
            tamper: Mutex::new(Box::new(|_| {})),
            forge: Mutex::new(false),
        }
    }

    fn calls(&self, path: &str) -> usize {
        self.calls.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn rotate(&self) {
        *self.key.lock().unwrap() = SigningKey::generate(SigningAlg::ES256).unwrap();
    }

    /// Plays the browser and the provider's login page: reads the authorization URL and issues
    /// a code for it.
    fn authorize(&self, url: &str) -> (String, HashMap<String, String>) {
        let u = url::Url::parse(url).unwrap();
        let q: HashMap<String, String> = u.query_pairs().into_owned().collect();
        let code = tessera_crypto::random_token(16);
        self.codes.lock().unwrap().insert(
            code.clone(),
            Pending {
                challenge: q.get("code_challenge").cloned(),
                nonce: q.get("nonce").cloned(),
            },
        );
        (code, q)
    }

    fn token(&self, req: &HttpRequest) -> HttpResponse {
        if let Some(e) = (self.client_check)(req) {
            return HttpResponse::json(401, &json!({"error": e}));
        }
        let code = req.form_value("code").unwrap_or("");
        let Some(p) = self.codes.lock().unwrap().remove(code) else {
            return HttpResponse::json(400, &json!({"error": "invalid_grant"}));
        };
        if let Some(ch) = &p.challenge
            && pkce_challenge(req.form_value("code_verifier").unwrap_or("")) != *ch
        {
            return HttpResponse::json(
                400,
                &json!({"error": "invalid_grant", "error_description": "PKCE"}),
            );
        }
        let mut claims = self.claims.clone();
        if let Some(n) = p.nonce {
            claims["nonce"] = json!(n);
        }
        (self.tamper.lock().unwrap())(&mut claims);
        let id_token = if *self.forge.lock().unwrap() {
            SigningKey::generate(SigningAlg::RS256)
                .unwrap()
                .sign_jwt("JWT", &claims)
                .unwrap()
        } else {
            self.key.lock().unwrap().sign_jwt("JWT", &claims).unwrap()
        };
        HttpResponse::json(
            200,
            &json!({"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600, "id_token": id_token}),
        )
    }
}

impl Transport for FakeIdp {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let path = url::Url::parse(&req.url).unwrap().path().to_string();
        *self.calls.lock().unwrap().entry(path.clone()).or_default() += 1;
        Ok(match (req.method, path.as_str()) {
            (Method::Get, "/.well-known/openid-configuration") => HttpResponse::json(
                200,
                &json!({
                    "issuer": ISSUER,
                    "authorization_endpoint": format!("{ISSUER}/authorize"),
                    "token_endpoint": format!("{ISSUER}/token"),
                    "userinfo_endpoint": format!("{ISSUER}/userinfo"),
                    "jwks_uri": format!("{ISSUER}/jwks"),
                }),
            ),
            (Method::Get, "/jwks") => HttpResponse::json(
                200,
                &json!({"keys": [self.key.lock().unwrap().public_jwk()]}),
            ),
            (Method::Post, "/token") => self.token(&req),
            (Method::Get, "/userinfo") | (Method::Get, "/user") => {
                if req.header_value("Authorization") != Some("Bearer at-1") {
                    return Ok(HttpResponse::json(401, &json!({})));
                }
                HttpResponse::json(200, &self.userinfo)
            }
            (Method::Get, "/user/emails") => HttpResponse::json(200, &self.emails),
            _ => HttpResponse::json(404, &json!({})),
        })
    }
}

fn oidc_config() -> ProviderConfig {
    ProviderConfig {
        issuer: Some(ISSUER.into()),
        client_id: "client-1".into(),
        ..Default::default()
    }
}

fn standard_claims() -> Value {
    json!({
        "iss": ISSUER, "aud": "client-1", "sub": "u-42", "iat": NOW, "exp": NOW + 300,
        "email": "Alice@Corp.example", "email_verified": true, "name": "Alice Liddell",
    })
}

/// One whole sign-in; returns its outcome.
async fn sign_in(
    idp: &FakeIdp,
    config: &ProviderConfig,
    secret: &Secret,
    cache: &ProviderCache,
    now: i64,
) -> crate::error::Result<crate::UpstreamIdentity> {
    let up = Upstream {
        config,
        credentials: Credentials::Secret(secret),
        transport: idp,
        cache,
        now,
    };
    let endpoints = cache.endpoints(config, idp, now).await?;
    let verifier = tessera_crypto::random_token(32);
    let nonce = tessera_crypto::random_token(16);
    let url = authorization_url(
        config,
        &endpoints,
        &AuthorizationRequest {
            redirect_uri: REDIRECT,
            state: "state-1",
            nonce: &nonce,
            pkce_verifier: &verifier,
            login_hint: None,
        },
    )?;
    let (code, _) = idp.authorize(&url);
    finish(
        &up,
        &endpoints,
        &CallbackResult {
            code: &code,
            redirect_uri: REDIRECT,
            pkce_verifier: &verifier,
            nonce_hash: &tessera_crypto::sha256_hex(nonce.as_bytes()),
            apple_user: None,
        },
    )
    .await
}

#[tokio::test]
async fn an_oidc_sign_in_yields_the_identity_and_survives_a_key_rotation() {
    let idp = FakeIdp::new(standard_claims());
    let config = oidc_config();
    let cache = ProviderCache::default();
    let secret = Secret::new("s3cret");
    let id = sign_in(&idp, &config, &secret, &cache, NOW).await.unwrap();
    assert_eq!(id.subject, "u-42");
    assert_eq!(id.email.as_deref(), Some("Alice@Corp.example"));
    assert!(id.email_verified);
    assert_eq!(id.name.as_deref(), Some("Alice Liddell"));
    assert_eq!(id.issuer.as_deref(), Some(ISSUER));
    assert_eq!(
        id.tokens.access_token.as_ref().map(Secret::expose),
        Some("at-1")
    );

    // Cached: a second sign-in reads neither the document nor the keys again.
    sign_in(&idp, &config, &secret, &cache, NOW + 1)
        .await
        .unwrap();
    assert_eq!(idp.calls("/.well-known/openid-configuration"), 1);
    assert_eq!(idp.calls("/jwks"), 1);

    // The provider rotates its key: the unknown key makes Tessera fetch the set once more.
    idp.rotate();
    sign_in(&idp, &config, &secret, &cache, NOW + 60)
        .await
        .unwrap();
    assert_eq!(idp.calls("/jwks"), 2);
}

#[tokio::test]
async fn forged_and_mismatched_tokens_are_refused_with_their_reason() {
    let idp = FakeIdp::new(standard_claims());
    let config = oidc_config();
    let cache = ProviderCache::default();
    let secret = Secret::new("s3cret");
    let cases: Vec<(Tamper, &str)> = vec![
        (
            Box::new(|c| c["aud"] = json!("someone-else")),
            "id_token_audience",
        ),
        (
            Box::new(|c| c["iss"] = json!("https://evil.example")),
            "id_token_issuer",
        ),
        (
            Box::new(|c| c["exp"] = json!(NOW - 3600)),
            "id_token_expired",
        ),
        (
            Box::new(|c| c["nonce"] = json!("replayed")),
            "id_token_nonce",
        ),
    ];
    for (tamper, reason) in cases {
        *idp.tamper.lock().unwrap() = tamper;
        let err = sign_in(&idp, &config, &secret, &cache, NOW)
            .await
            .unwrap_err();
        assert_eq!(err.reason(), reason, "{err}");
    }
    // Signed by a key the provider never published: fetching the set again does not help.
    *idp.tamper.lock().unwrap() = Box::new(|_| {});
    *idp.forge.lock().unwrap() = true;
    let before = idp.calls("/jwks");
    let err = sign_in(&idp, &config, &secret, &cache, NOW + 100)
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "id_token_signature", "{err}");
    assert!(matches!(
        err,
        FederationError::IdToken(IdTokenError::Signature(_))
    ));
    assert_eq!(idp.calls("/jwks"), before + 1, "one refetch, then refused");
}

#[tokio::test]
async fn a_wrong_secret_or_pkce_verifier_fails_at_the_token_endpoint() {
    let idp = FakeIdp::new(standard_claims());
    let config = oidc_config();
    let cache = ProviderCache::default();
    let err = sign_in(&idp, &config, &Secret::new("wrong"), &cache, NOW)
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "provider_bad_response");

    let endpoints = cache.endpoints(&config, &idp, NOW).await.unwrap();
    let url = authorization_url(
        &config,
        &endpoints,
        &AuthorizationRequest {
            redirect_uri: REDIRECT,
            state: "s",
            nonce: "n",
            pkce_verifier: "the-real-verifier-the-real-verifier-00",
            login_hint: None,
        },
    )
    .unwrap();
    let (code, _) = idp.authorize(&url);
    let secret = Secret::new("s3cret");
    let up = Upstream {
        config: &config,
        credentials: Credentials::Secret(&secret),
        transport: &idp,
        cache: &cache,
        now: NOW,
    };
    let err = finish(
        &up,
        &endpoints,
        &CallbackResult {
            code: &code,
            redirect_uri: REDIRECT,
            pkce_verifier: "a-stolen-code-without-the-verifier-000",
            nonce_hash: &tessera_crypto::sha256_hex(b"n"),
            apple_user: None,
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, FederationError::BadResponse(m) if m.contains("PKCE")));
}

#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_refused() {
    let idp = FakeIdp::new(standard_claims());
    let mut config = oidc_config();
    config.issuer = Some("https://other.example".into());
    config.discovery_url = Some(format!("{ISSUER}/.well-known/openid-configuration"));
    let err = ProviderCache::default()
        .endpoints(&config, &idp, NOW)
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "provider_bad_response");
}

#[tokio::test]
async fn an_oauth2_provider_reads_the_user_and_a_verified_address() {
    let mut idp = FakeIdp::new(json!({}));
    idp.userinfo = json!({"id": 583231, "login": "octocat", "name": "The Octocat", "email": "public@octo.example"});
    idp.emails = json!([
        {"email": "octo@octo.example", "primary": true, "verified": true},
        {"email": "public@octo.example", "primary": false, "verified": false}
    ]);
    idp.client_check = Box::new(|req| {
        let ok = req.form_value("client_id") == Some("gh-client")
            && req.form_value("client_secret") == Some("gh-secret");
        (!ok).then(|| "incorrect_client_credentials".to_string())
    });
    let config = crate::presets::build(
        Some("github"),
        &json!({
            "client_id": "gh-client",
            "authorization_endpoint": format!("{ISSUER}/login/oauth/authorize"),
            "token_endpoint": format!("{ISSUER}/token"),
            "userinfo_endpoint": format!("{ISSUER}/user"),
            "emails_endpoint": format!("{ISSUER}/user/emails"),
        }),
    )
    .unwrap();
    config.validate(true).unwrap();
    let cache = ProviderCache::default();
    let id = sign_in(&idp, &config, &Secret::new("gh-secret"), &cache, NOW)
        .await
        .unwrap();
    assert_eq!(id.subject, "583231");
    assert_eq!(id.email.as_deref(), Some("octo@octo.example"));
    assert!(id.email_verified);
    assert_eq!(id.name.as_deref(), Some("The Octocat"));
    assert_eq!(idp.calls("/jwks"), 0, "no ID token, no keys");
}

#[tokio::test]
async fn apple_gets_a_signed_client_secret_and_form_post() {
    let team_key = SigningKey::generate(SigningAlg::ES256).unwrap();
    let mut public = team_key.public_jwk();
    public.as_object_mut().unwrap().remove("kid");
    let apple_public = VerifyingKey::from_jwk(&public).unwrap();
    let mut idp = FakeIdp::new(json!({
        "iss": ISSUER, "aud": "com.example.web", "sub": "000123.abc", "iat": NOW, "exp": NOW + 300,
        "email": "x7@privaterelay.appleid.com", "email_verified": "true", "is_private_email": "true"
    }));
    idp.client_check = Box::new(move |req| {
        let secret = req.form_value("client_secret")?;
        match verify_jwt(secret, std::slice::from_ref(&apple_public), &["ES256"]) {
            Ok(v)
                if v.header["kid"] == "KEY1"
                    && v.claims["iss"] == "TEAM1"
                    && v.claims["sub"] == "com.example.web"
                    && v.claims["aud"] == ISSUER =>
            {
                None
            }
            _ => Some("invalid_client".into()),
        }
    });
    let pem = {
        use base64::Engine;
        let der = team_key.to_pkcs8_der().unwrap();
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----",
            base64::engine::general_purpose::STANDARD.encode(der.as_slice())
        )
    };
    let config = crate::presets::build(
        Some("apple"),
        &json!({
            "client_id": "com.example.web",
            "apple": {"team_id": "TEAM1", "key_id": "KEY1"},
            "issuer": ISSUER,
            "authorization_endpoint": format!("{ISSUER}/authorize"),
            "token_endpoint": format!("{ISSUER}/token"),
            "jwks_uri": format!("{ISSUER}/jwks"),
        }),
    )
    .unwrap();
    config.validate(true).unwrap();
    let cache = ProviderCache::default();
    let endpoints = cache.endpoints(&config, &idp, NOW).await.unwrap();
    let url = authorization_url(
        &config,
        &endpoints,
        &AuthorizationRequest {
            redirect_uri: REDIRECT,
            state: "s",
            nonce: "n",
            pkce_verifier: "verifier-verifier-verifier-verifier-0000",
            login_hint: None,
        },
    )
    .unwrap();
    let (code, q) = idp.authorize(&url);
    assert_eq!(q["response_mode"], "form_post");
    assert_eq!(q["scope"], "openid name email");
    let secret = Secret::new(pem);
    let up = Upstream {
        config: &config,
        credentials: Credentials::Secret(&secret),
        transport: &idp,
        cache: &cache,
        now: NOW,
    };
    let id = finish(
        &up,
        &endpoints,
        &CallbackResult {
            code: &code,
            redirect_uri: REDIRECT,
            pkce_verifier: "verifier-verifier-verifier-verifier-0000",
            nonce_hash: &tessera_crypto::sha256_hex(b"n"),
            apple_user: Some(r#"{"name":{"firstName":"Ada","lastName":"Lovelace"}}"#),
        },
    )
    .await
    .unwrap();
    assert_eq!(id.subject, "000123.abc");
    assert!(id.email_verified, "Apple's \"true\" string counts");
    assert_eq!(id.given_name.as_deref(), Some("Ada"));
    assert_eq!(id.name.as_deref(), Some("Ada Lovelace"));
}
