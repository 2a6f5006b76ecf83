//! The two halves of an upstream sign-in: the authorization request that sends the browser to
//! the provider ([`authorization_url`]), and, when it comes back with a code, the token exchange,
//! ID token validation and user-info reading that end in an [`UpstreamIdentity`] ([`finish`]).
//!
//! The caller keeps the state, nonce and PKCE verifier between the two (Tessera stores them in
//! the database, bound to the browser), checks that the callback's `state` is the one it sent,
//! and passes only what this module needs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use tessera_core::Secret;

use crate::config::{ClientAuth, Protocol, ProviderConfig, ResponseMode};
use crate::discovery::{Endpoints, ProviderCache};
use crate::error::{FederationError, Result};
use crate::http::{HttpRequest, HttpResponse, Transport};
use crate::id_token::{Expected, needs_fresh_keys, validate};
use crate::mapping::{UpstreamIdentity, UpstreamTokens, identity_from_claims};

/// Sent as `User-Agent` (GitHub's API refuses requests without one).
pub const USER_AGENT: &str = "Tessera";

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(tessera_crypto::sha256(verifier.as_bytes()))
}

/// The values of one authorization request.
pub struct AuthorizationRequest<'a> {
    pub redirect_uri: &'a str,
    pub state: &'a str,
    /// Sent to OpenID Connect providers only.
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    pub login_hint: Option<&'a str>,
}

/// The URL to send the browser to.
pub fn authorization_url(
    config: &ProviderConfig,
    endpoints: &Endpoints,
    req: &AuthorizationRequest<'_>,
) -> Result<String> {
    let mut url = url::Url::parse(&endpoints.authorization)
        .map_err(|_| FederationError::Config("the authorization endpoint is not a URL".into()))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code");
        q.append_pair("client_id", &config.client_id);
        q.append_pair("redirect_uri", req.redirect_uri);
        if !config.scopes.is_empty() {
            q.append_pair("scope", &config.scopes.join(" "));
        }
        q.append_pair("state", req.state);
        if config.protocol == Protocol::Oidc {
            q.append_pair("nonce", req.nonce);
        }
        if config.pkce {
            q.append_pair("code_challenge", &pkce_challenge(req.pkce_verifier));
            q.append_pair("code_challenge_method", "S256");
        }
        if config.response_mode == ResponseMode::FormPost {
            q.append_pair("response_mode", "form_post");
        }
        if let Some(h) = req.login_hint.filter(|h| !h.is_empty() && h.len() <= 254) {
            q.append_pair("login_hint", h);
        }
        for (k, v) in &config.authorize_params {
            q.append_pair(k, v);
        }
    }
    Ok(url.into())
}

/// The client's credentials for the token endpoint.
pub enum Credentials<'a> {
    None,
    /// The client secret, or for Apple the private key (PEM).
    Secret(&'a Secret),
}

/// The context of [`finish`]: the provider, how to reach it, and the time.
pub struct Upstream<'a, T: Transport> {
    pub config: &'a ProviderConfig,
    pub credentials: Credentials<'a>,
    pub transport: &'a T,
    pub cache: &'a ProviderCache,
    /// Unix seconds.
    pub now: i64,
}

/// What came back to the callback, after the caller matched its `state`.
pub struct CallbackResult<'a> {
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub pkce_verifier: &'a str,
    /// SHA-256 (hex) of the nonce sent.
    pub nonce_hash: &'a str,
    /// Apple's `user` form field (name and email, on the first sign-in only).
    pub apple_user: Option<&'a str>,
}

/// The token response (RFC 6749 §5.1).
#[derive(Debug)]
pub struct TokenResponse {
    pub access_token: String,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires_in: Option<i64>,
    pub scope: Option<String>,
}

fn token_request<T: Transport>(
    up: &Upstream<'_, T>,
    endpoints: &Endpoints,
    cb: &CallbackResult<'_>,
) -> Result<HttpRequest> {
    let config = up.config;
    let mut form = vec![
        ("grant_type".to_string(), "authorization_code".to_string()),
        ("code".to_string(), cb.code.to_string()),
        ("redirect_uri".to_string(), cb.redirect_uri.to_string()),
    ];
    if config.pkce {
        form.push(("code_verifier".into(), cb.pkce_verifier.to_string()));
    }
    authenticated(up, endpoints, form)
}

/// A POST of `form` to the token endpoint with the client's authentication (RFC 6749 §2.3).
fn authenticated<T: Transport>(
    up: &Upstream<'_, T>,
    endpoints: &Endpoints,
    mut form: Vec<(String, String)>,
) -> Result<HttpRequest> {
    let config = up.config;
    let secret = match &up.credentials {
        Credentials::Secret(s) => Some(*s),
        Credentials::None => None,
    };
    let need_secret = || {
        secret.ok_or_else(|| FederationError::Config("the provider has no client secret".into()))
    };
    let mut basic = None;
    match config.client_auth {
        ClientAuth::ClientSecretBasic => {
            // RFC 6749 §2.3.1: both parts form-encoded before joining.
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!(
                "{}:{}",
                enc(&config.client_id),
                enc(need_secret()?.expose())
            );
            basic = Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            ));
        }
        ClientAuth::ClientSecretPost => {
            form.push(("client_id".into(), config.client_id.clone()));
            form.push(("client_secret".into(), need_secret()?.expose().to_string()));
        }
        ClientAuth::AppleJwt => {
            let apple = config.apple.as_ref().ok_or_else(|| {
                FederationError::Config("apple_jwt needs apple.team_id and apple.key_id".into())
            })?;
            let audience = config
                .issuer
                .as_deref()
                .unwrap_or("https://appleid.apple.com");
            let jwt = crate::apple::client_secret(
                need_secret()?.expose(),
                &apple.team_id,
                &apple.key_id,
                &config.client_id,
                audience,
                up.now,
            )?;
            form.push(("client_id".into(), config.client_id.clone()));
            form.push(("client_secret".into(), jwt));
        }
        ClientAuth::None => form.push(("client_id".into(), config.client_id.clone())),
    }
    let mut req = HttpRequest::post_form(&endpoints.token, form).header("User-Agent", USER_AGENT);
    if let Some(b) = basic {
        req = req.header("Authorization", b);
    }
    Ok(req)
}

/// Reads a token response: JSON, or the form encoding GitHub answers with by default.
pub fn parse_token_response(resp: &HttpResponse) -> Result<TokenResponse> {
    let json: Map<String, Value> = match serde_json::from_slice::<Value>(&resp.body) {
        Ok(Value::Object(m)) => m,
        _ => url::form_urlencoded::parse(&resp.body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect(),
    };
    let text = |k: &str| {
        json.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    if let Some(error) = text("error") {
        return Err(FederationError::BadResponse(format!(
            "the token endpoint refused the request: {error}{}",
            text("error_description")
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        )));
    }
    if !resp.is_success() {
        return Err(FederationError::BadResponse(format!(
            "the token endpoint answered with status {}",
            resp.status
        )));
    }
    let access_token = text("access_token").ok_or_else(|| {
        FederationError::BadResponse("the token response has no access_token".into())
    })?;
    let expires_in = json.get("expires_in").and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    });
    Ok(TokenResponse {
        access_token,
        id_token: text("id_token"),
        refresh_token: text("refresh_token"),
        expires_in,
        scope: text("scope"),
    })
}

async fn get_json<T: Transport>(
    transport: &T,
    url: &str,
    access_token: &str,
    what: &str,
) -> Result<Value> {
    let req = HttpRequest::get(url)
        .header("Authorization", format!("Bearer {access_token}"))
        .header("User-Agent", USER_AGENT);
    let resp = transport
        .send(req)
        .await
        .map_err(|e| FederationError::Transport(format!("{what}: {e}")))?;
    if !resp.is_success() {
        return Err(FederationError::BadResponse(format!(
            "{what} answered with status {}",
            resp.status
        )));
    }
    serde_json::from_slice(&resp.body)
        .map_err(|_| FederationError::BadResponse(format!("{what} did not answer with JSON")))
}

/// Validates the ID token, fetching the key set again once when no cached key verifies it (the
/// provider rotated its keys).
async fn checked_id_token<T: Transport>(
    up: &Upstream<'_, T>,
    endpoints: &Endpoints,
    id_token: &str,
    access_token: &str,
    nonce_hash: &str,
) -> Result<crate::id_token::Validated> {
    let config = up.config;
    let jwks_uri = endpoints
        .jwks_uri
        .as_deref()
        .ok_or_else(|| FederationError::Config("no jwks_uri is known".into()))?;
    let issuer = endpoints
        .issuer
        .as_deref()
        .ok_or_else(|| FederationError::Config("no issuer is configured".into()))?;
    let expected = Expected {
        issuer,
        client_id: &config.client_id,
        nonce_hash: Some(nonce_hash),
        algs: &config.id_token_algs,
        now: up.now,
        skew_secs: i64::from(config.clock_skew_secs),
        allowed_tenants: &config.allowed_tenants,
        access_token: Some(access_token),
    };
    let keys = up.cache.keys(jwks_uri, up.transport, up.now, false).await?;
    match validate(id_token, &keys, &expected) {
        Ok(v) => Ok(v),
        Err(e) if needs_fresh_keys(&e) => {
            let fresh = up.cache.keys(jwks_uri, up.transport, up.now, true).await?;
            Ok(validate(id_token, &fresh, &expected)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The primary verified address from GitHub's `/user/emails`, else the primary one unverified.
fn email_from_list(list: &Value) -> Option<(String, bool)> {
    let items = list.as_array()?;
    let read = |v: &Value| {
        Some((
            v.get("email")?.as_str()?.to_string(),
            v.get("primary").and_then(Value::as_bool).unwrap_or(false),
            v.get("verified").and_then(Value::as_bool).unwrap_or(false),
        ))
    };
    let all: Vec<_> = items.iter().filter_map(read).collect();
    all.iter()
        .find(|(_, p, v)| *p && *v)
        .or_else(|| all.iter().find(|(_, p, _)| *p))
        .map(|(e, _, v)| (e.clone(), *v))
}

/// Apple's `user` field: `{"name": {"firstName", "lastName"}, "email"}`, sent once. Only the
/// name is taken from it: it is not signed, so the email comes from the ID token alone.
fn apple_names(user: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let Ok(v) = serde_json::from_str::<Value>(user) else {
        return out;
    };
    let name = v.get("name");
    let part = |k: &str| {
        name.and_then(|n| n.get(k))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 100)
            .map(str::to_string)
    };
    let given = part("firstName");
    let family = part("lastName");
    if let Some(g) = &given {
        out.insert("given_name".into(), Value::String(g.clone()));
    }
    if let Some(f) = &family {
        out.insert("family_name".into(), Value::String(f.clone()));
    }
    let full: Vec<String> = [given, family].into_iter().flatten().collect();
    if !full.is_empty() {
        out.insert("name".into(), Value::String(full.join(" ")));
    }
    out
}

/// Renews kept tokens with a refresh token (RFC 6749 §6). The provider may rotate the refresh
/// token; when it returns none, the one sent stays valid.
pub async fn refresh<T: Transport>(
    up: &Upstream<'_, T>,
    endpoints: &Endpoints,
    refresh_token: &str,
) -> Result<TokenResponse> {
    let form = vec![
        ("grant_type".to_string(), "refresh_token".to_string()),
        ("refresh_token".to_string(), refresh_token.to_string()),
    ];
    let req = authenticated(up, endpoints, form)?;
    let resp = up
        .transport
        .send(req)
        .await
        .map_err(|e| FederationError::Transport(format!("the token endpoint: {e}")))?;
    parse_token_response(&resp)
}

/// Exchanges the code and works out who signed in.
pub async fn finish<T: Transport>(
    up: &Upstream<'_, T>,
    endpoints: &Endpoints,
    cb: &CallbackResult<'_>,
) -> Result<UpstreamIdentity> {
    let config = up.config;
    let req = token_request(up, endpoints, cb)?;
    let resp = up
        .transport
        .send(req)
        .await
        .map_err(|e| FederationError::Transport(format!("the token endpoint: {e}")))?;
    let tokens = parse_token_response(&resp)?;

    let mut claims = Map::new();
    let mut issuer = None;
    if config.protocol == Protocol::Oidc {
        let id_token = tokens.id_token.as_deref().ok_or_else(|| {
            FederationError::BadResponse("the token response has no id_token".into())
        })?;
        let validated =
            checked_id_token(up, endpoints, id_token, &tokens.access_token, cb.nonce_hash).await?;
        claims = validated.claims;
        issuer = Some(validated.issuer);
    }
    let use_userinfo = config.protocol == Protocol::Oauth2 || config.userinfo;
    if use_userinfo {
        let url = endpoints
            .userinfo
            .as_deref()
            .ok_or_else(|| FederationError::Config("no userinfo_endpoint is known".into()))?;
        let info = get_json(
            up.transport,
            url,
            &tokens.access_token,
            "the user-info endpoint",
        )
        .await?;
        let Value::Object(info) = info else {
            return Err(FederationError::BadResponse(
                "the user-info answer is not a JSON object".into(),
            ));
        };
        if config.protocol == Protocol::Oidc {
            // OpenID Connect Core §5.3.2: the user-info sub must be the ID token's.
            if info.get("sub") != claims.get("sub") {
                return Err(FederationError::BadResponse(
                    "the user-info subject differs from the ID token's".into(),
                ));
            }
        }
        for (k, v) in info {
            claims.entry(k).or_insert(v);
        }
    }
    if let Some(url) = endpoints.emails.as_deref() {
        let list = get_json(
            up.transport,
            url,
            &tokens.access_token,
            "the emails endpoint",
        )
        .await?;
        if let Some((email, verified)) = email_from_list(&list) {
            claims.insert(config.claims.email.clone(), Value::String(email));
            claims.insert(config.claims.email_verified.clone(), Value::Bool(verified));
        }
    }
    if let Some(user) = cb.apple_user {
        for (k, v) in apple_names(user) {
            claims.entry(k).or_insert(v);
        }
    }
    let kept = UpstreamTokens {
        access_token: Some(Secret::new(tokens.access_token)),
        refresh_token: tokens.refresh_token.map(Secret::new),
        expires_in: tokens.expires_in,
        scope: tokens.scope,
    };
    identity_from_claims(config, claims, issuer, kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_authorization_url_carries_state_nonce_and_pkce() {
        let config = ProviderConfig {
            issuer: Some("https://idp.example".into()),
            client_id: "c 1".into(),
            authorize_params: [("prompt".to_string(), "select_account".to_string())].into(),
            ..Default::default()
        };
        let endpoints = crate::discovery::endpoints(
            &ProviderConfig {
                authorization_endpoint: Some("https://idp.example/auth?x=1".into()),
                token_endpoint: Some("https://idp.example/token".into()),
                jwks_uri: Some("https://idp.example/jwks".into()),
                ..config.clone()
            },
            None,
        )
        .unwrap();
        let url = authorization_url(
            &config,
            &endpoints,
            &AuthorizationRequest {
                redirect_uri: "https://tessera.example/t/a/login/idp/x/callback",
                state: "st",
                nonce: "no",
                pkce_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                login_hint: Some("a@b.example"),
            },
        )
        .unwrap();
        let u = url::Url::parse(&url).unwrap();
        let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
        assert_eq!(q["x"], "1");
        assert_eq!(q["client_id"], "c 1");
        assert_eq!(q["state"], "st");
        assert_eq!(q["nonce"], "no");
        assert_eq!(q["scope"], "openid email profile");
        // RFC 7636 appendix B.
        assert_eq!(
            q["code_challenge"],
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["login_hint"], "a@b.example");
        assert_eq!(q["prompt"], "select_account");
        assert!(!q.contains_key("response_mode"));
    }

    #[test]
    fn token_responses_in_json_or_form_encoding_and_errors() {
        let ok = HttpResponse::json(
            200,
            &json!({"access_token": "a", "id_token": "i", "expires_in": 3600}),
        );
        let t = parse_token_response(&ok).unwrap();
        assert_eq!(
            (t.access_token.as_str(), t.id_token.as_deref(), t.expires_in),
            ("a", Some("i"), Some(3600))
        );
        let form = HttpResponse {
            status: 200,
            content_type: Some("application/x-www-form-urlencoded".into()),
            body: b"access_token=gho_x&scope=user%3Aemail&token_type=bearer".to_vec(),
        };
        assert_eq!(parse_token_response(&form).unwrap().access_token, "gho_x");
        let err = HttpResponse::json(400, &json!({"error": "invalid_grant"}));
        assert!(
            matches!(parse_token_response(&err), Err(FederationError::BadResponse(m)) if m.contains("invalid_grant"))
        );
        // GitHub reports errors with status 200.
        let err200 = HttpResponse::json(200, &json!({"error": "bad_verification_code"}));
        assert!(parse_token_response(&err200).is_err());
    }

    #[test]
    fn github_email_lists_prefer_the_primary_verified_address() {
        let list = json!([
            {"email": "old@x.example", "primary": false, "verified": true},
            {"email": "main@x.example", "primary": true, "verified": true}
        ]);
        assert_eq!(
            email_from_list(&list),
            Some(("main@x.example".into(), true))
        );
        let unverified = json!([{"email": "u@x.example", "primary": true, "verified": false}]);
        assert_eq!(
            email_from_list(&unverified),
            Some(("u@x.example".into(), false))
        );
        assert_eq!(email_from_list(&json!({})), None);
    }

    #[test]
    fn apples_user_field_gives_names_only() {
        let m = apple_names(
            r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"evil@x.example"}"#,
        );
        assert_eq!(m["name"], "Ada Lovelace");
        assert!(!m.contains_key("email"));
        assert!(apple_names("not json").is_empty());
    }
}
