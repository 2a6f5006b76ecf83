//! The token endpoint (`{issuer}/token`, RFC 6749 §3.2): authorization_code, refresh_token and
//! client_credentials grants.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_core::client::{
    Client, GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS, GRANT_DEVICE_CODE,
    GRANT_REFRESH_TOKEN,
};
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::store::GrantStore;
use tessera_core::tenant::Tenant;
use tessera_crypto::sha256_hex;
use tessera_oidc::pkce::verify_s256;
use tessera_oidc::scope::{OPENID, check_allowed, parse_scope};
use tessera_oidc::{ErrorCode, OAuthError, Params};

use super::client_auth::authenticate;
use super::issue::{Grant, TokenResponse, issue, mint, server_error};
use crate::app::Services;
use crate::state::AppState;

/// JSON answer with the caching headers RFC 6749 §5.1 requires.
pub fn json_no_store(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// An RFC 6749 §5.2 error. `invalid_client` is 401 with a `WWW-Authenticate` challenge.
pub fn oauth_error(e: &OAuthError) -> Response {
    let mut r = json_no_store(
        StatusCode::from_u16(e.code.token_endpoint_status()).unwrap_or(StatusCode::BAD_REQUEST),
        &e.body(),
    );
    if e.code == ErrorCode::InvalidClient {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tessera\""),
        );
    }
    r
}

/// Reads a form body as OAuth parameters, insisting on the form content type.
pub fn form_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(OAuthError::invalid_request(
            "send the parameters as application/x-www-form-urlencoded",
        ));
    }
    Params::parse(body)
}

pub async fn tenant_or_404(state: &AppState, slug: &str) -> Result<Tenant, Response> {
    let found = if tessera_core::tenant::validate_slug(slug).is_ok() {
        state.services.cached_tenant(slug).await.ok().flatten()
    } else {
        None
    };
    found.ok_or_else(|| {
        json_no_store(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": "invalid_request", "error_description": "unknown tenant"}),
        )
    })
}

pub async fn token(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let tenant = match tenant_or_404(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let result = async {
        let params = form_params(&headers, &body)?;
        let client = authenticate(&state, &tenant, &headers, &params).await?;
        let grant_type = params.require("grant_type")?;
        if !client.grant_types.iter().any(|g| g == grant_type) {
            return Err(match grant_type {
                GRANT_AUTHORIZATION_CODE
                | GRANT_REFRESH_TOKEN
                | GRANT_CLIENT_CREDENTIALS
                | GRANT_DEVICE_CODE => OAuthError::new(
                    ErrorCode::UnauthorizedClient,
                    format!("this client may not use the {grant_type} grant"),
                ),
                _ => OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    format!("unsupported grant_type \"{}\"", grant_type.escape_default()),
                ),
            });
        }
        match grant_type {
            GRANT_AUTHORIZATION_CODE => authorization_code(&state, &tenant, &client, &params).await,
            GRANT_REFRESH_TOKEN => {
                let source = Source {
                    ip: peer.ip(),
                    user_agent: headers
                        .get(header::USER_AGENT)
                        .and_then(|v| v.to_str().ok()),
                };
                refresh(&state, &tenant, &client, &params, &source).await
            }
            GRANT_CLIENT_CREDENTIALS => client_credentials(&state, &tenant, &client, &params).await,
            GRANT_DEVICE_CODE => super::device::grant(&state, &tenant, &client, &params).await,
            other => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("unsupported grant_type \"{}\"", other.escape_default()),
            )),
        }
    }
    .await;
    let outcome = match &result {
        Ok(_) => "success",
        Err(e) => e.code.as_str(),
    };
    metrics::counter!("tessera_token_requests_total", "outcome" => outcome).increment(1);
    match result {
        Ok(resp) => json_no_store(StatusCode::OK, &resp),
        Err(e) => oauth_error(&e),
    }
}

/// A storage failure at an OAuth endpoint: logged with its detail, answered as `server_error`.
pub(crate) fn store_error(e: impl std::fmt::Display) -> OAuthError {
    tracing::error!(error = %e, "OAuth endpoint storage error");
    OAuthError::new(ErrorCode::ServerError, "a storage error occurred")
}

async fn authorization_code(
    state: &AppState,
    tenant: &Tenant,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let store = &state.services.store;
    let now = Services::now();
    let code = params.require("code")?;
    let code_hash = sha256_hex(code.as_bytes());
    let record = store
        .consume_authorization_code(tenant.id, &code_hash, now)
        .await
        .map_err(store_error)?;
    let Some(record) = record else {
        return Err(OAuthError::invalid_grant(
            "the authorization code is invalid",
        ));
    };
    if record.consumed_at.is_some() {
        // RFC 6749 §4.1.2: a replayed code revokes what was issued from it.
        let n = store
            .revoke_family(tenant.id, &code_hash, now)
            .await
            .map_err(store_error)?;
        tracing::warn!(tenant = %tenant.slug, client_id = %client.client_id, revoked = n, "authorization code replayed; tokens issued from it are revoked");
        let kind = EventKind::TokenReuseDetected {
            client_id: client.client_id.clone(),
            what: "authorization_code".into(),
        };
        let ev = Event::new(tenant.id, now, kind, Actor::client(&client.client_id))
            .failed()
            .subject(record.user_id);
        state.services.emit(ev).await;
        return Err(OAuthError::invalid_grant(
            "the authorization code was already used",
        ));
    }
    if record.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if now >= record.expires_at {
        return Err(OAuthError::invalid_grant(
            "the authorization code has expired",
        ));
    }
    match params.get("redirect_uri") {
        Some(r) if r == record.redirect_uri => {}
        Some(_) => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        None if client.redirect_uris.len() == 1 => {}
        None => return Err(OAuthError::invalid_request("redirect_uri is required")),
    }
    match (&record.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            if !verify_s256(verifier, challenge) {
                return Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ));
            }
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier is required (PKCE)",
            ));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier given but the authorization request had no code_challenge",
            ));
        }
        (None, None) => {}
    }
    let user = state
        .services
        .user(tenant.id, record.user_id)
        .await
        .map_err(|_| OAuthError::invalid_grant("the user no longer exists"))?;
    if !user.can_sign_in() {
        return Err(OAuthError::invalid_grant("the user account is disabled"));
    }
    let scopes = parse_scope(Some(&record.scope))?;
    let resp = issue(
        state,
        tenant,
        client,
        Grant {
            user: Some(&user),
            scopes,
            auth_time: Some(record.auth_time),
            amr: record.amr.clone(),
            acr: record.acr.clone(),
            nonce: record.nonce.clone(),
            session_id: record.session_id,
            family_id: Some(code_hash),
            family_expires_at: None,
            issue_refresh: true,
        },
    )
    .await?;
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::TokenIssued {
            client_id: client.client_id.clone(),
            grant_type: "authorization_code".into(),
            scope: resp.scope.clone(),
        },
        Actor::user(user.id),
    )
    .target(Target::new("client", &client.client_id))
    .subject(user.id);
    state.services.emit(ev).await;
    Ok(resp)
}

/// Where a token request came from (the client address after trusted proxies).
struct Source<'a> {
    ip: std::net::IpAddr,
    user_agent: Option<&'a str>,
}

async fn refresh(
    state: &AppState,
    tenant: &Tenant,
    client: &Client,
    params: &Params,
    source: &Source<'_>,
) -> Result<TokenResponse, OAuthError> {
    let store = &state.services.store;
    let now = Services::now();
    let raw = params.require("refresh_token")?;
    let hash = sha256_hex(raw.as_bytes());
    // The token, its family's revocation, its account and its session: one round trip.
    let Some(presented) = store
        .present_refresh_token(tenant.id, &hash)
        .await
        .map_err(store_error)?
    else {
        return Err(OAuthError::invalid_grant("the refresh token is invalid"));
    };
    let token = &presented.token;
    let family_revoked = presented.family_revoked;
    if token.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if token.revoked_at.is_some() {
        return Err(OAuthError::invalid_grant(
            "the refresh token has been revoked",
        ));
    }
    if token.rotated_at.is_some() {
        let n = store
            .revoke_family(tenant.id, &token.family_id, now)
            .await
            .map_err(store_error)?;
        tracing::warn!(tenant = %tenant.slug, client_id = %client.client_id, revoked = n, "refresh token reused; the whole token family is revoked");
        let kind = EventKind::TokenReuseDetected {
            client_id: client.client_id.clone(),
            what: "refresh_token".into(),
        };
        let mut ev = Event::new(tenant.id, now, kind, Actor::client(&client.client_id)).failed();
        if let Some(u) = token.user_id {
            ev = ev.subject(u);
        }
        state.services.emit(ev).await;
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used; all tokens of this grant are revoked",
        ));
    }
    if now >= token.expires_at || now >= token.family_expires_at {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    if family_revoked {
        return Err(OAuthError::invalid_grant(
            "the refresh token has been revoked",
        ));
    }
    // Tokens bound to a browser session end with it (sign-out, revocation); offline tokens do not.
    if token.session_id.is_some() {
        let active = presented.session.is_some_and(|s| s.is_active(now));
        if !active {
            return Err(OAuthError::invalid_grant(
                "the session this refresh token belongs to has ended",
            ));
        }
    }
    let granted = parse_scope(Some(&token.scope))?;
    let scopes = match params.get("scope") {
        None => granted,
        Some(raw) => {
            let asked = parse_scope(Some(raw))?;
            if let Some(extra) = asked.iter().find(|s| !granted.contains(s)) {
                return Err(OAuthError::invalid_scope(format!(
                    "\"{extra}\" was not granted originally"
                )));
            }
            asked
        }
    };
    if token.user_id.is_none() {
        return Err(OAuthError::invalid_grant("the refresh token has no user"));
    }
    let Some(user) = &presented.user else {
        return Err(OAuthError::invalid_grant("the user no longer exists"));
    };
    if !user.can_sign_in() {
        return Err(OAuthError::invalid_grant("the user account is disabled"));
    }
    // A public client refreshes from the person's device: the risk engine checks that source
    // (a confidential client's server is not the person's network, so it is not judged).
    if client.is_public()
        && crate::risk::refresh(state, tenant, user, Some(source.ip), source.user_agent)
            .await
            .is_some()
    {
        return Err(OAuthError::invalid_grant(
            "the refresh was refused for this network; sign in again",
        ));
    }
    let minted = mint(
        state,
        tenant,
        client,
        Grant {
            user: Some(user),
            scopes,
            auth_time: token.auth_time,
            amr: token.amr.clone(),
            acr: token.acr.clone(),
            nonce: None,
            session_id: token.session_id,
            family_id: Some(token.family_id.clone()),
            family_expires_at: Some(token.family_expires_at),
            issue_refresh: true,
        },
    )
    .await?;
    // The rotation and the new tokens' records are one transaction: one commit per refresh. The
    // endpoint admits only clients that may use refresh tokens, and the grant has a user, so
    // `mint` always made a successor.
    let Some(successor) = &minted.refresh_record else {
        return Err(server_error("no successor refresh token was minted"));
    };
    let rotated = store
        .rotate_refresh_token(
            tenant.id,
            &hash,
            now,
            minted.access_record.as_ref(),
            successor,
        )
        .await
        .map_err(store_error)?;
    if !rotated {
        // Someone else used it at the same moment: treat as reuse.
        store
            .revoke_family(tenant.id, &token.family_id, now)
            .await
            .map_err(store_error)?;
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used; all tokens of this grant are revoked",
        ));
    }
    let resp = minted.response;
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::TokenRefreshed {
            client_id: client.client_id.clone(),
        },
        Actor::user(user.id),
    )
    .target(Target::new("client", &client.client_id))
    .subject(user.id);
    state.services.emit(ev).await;
    Ok(resp)
}

async fn client_credentials(
    state: &AppState,
    tenant: &Tenant,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients cannot use client_credentials",
        ));
    }
    let scopes = parse_scope(params.get("scope"))?;
    if scopes.iter().any(|s| s == OPENID) {
        return Err(OAuthError::invalid_scope(
            "openid needs a user; client_credentials has none",
        ));
    }
    if !scopes.is_empty() {
        if client.allowed_scopes.is_empty() {
            return Err(OAuthError::invalid_scope(
                "this client has no scopes registered for client_credentials",
            ));
        }
        check_allowed(&scopes, &client.allowed_scopes)?;
    }
    let resp = issue(
        state,
        tenant,
        client,
        Grant {
            user: None,
            scopes,
            auth_time: None,
            amr: vec![],
            acr: None,
            nonce: None,
            session_id: None,
            family_id: None,
            family_expires_at: None,
            issue_refresh: false,
        },
    )
    .await?;
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::TokenIssued {
            client_id: client.client_id.clone(),
            grant_type: "client_credentials".into(),
            scope: resp.scope.clone(),
        },
        Actor::client(&client.client_id),
    )
    .target(Target::new("client", &client.client_id));
    state.services.emit(ev).await;
    Ok(resp)
}
