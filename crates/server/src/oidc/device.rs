//! Device authorization grant (RFC 8628): the device asks for a code pair, the user confirms the
//! short user code on `{issuer}/device` while signed in, and the device polls the token endpoint.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde_json::json;
use tessera_core::client::{Client, GRANT_DEVICE_CODE};
use tessera_core::oauth::{DeviceAuthorization, DeviceStatus};
use tessera_core::store::{ClientStore, GrantStore};
use tessera_core::tenant::Tenant;
use tessera_crypto::{random_bytes, random_token, sha256_hex};
use tessera_oidc::discovery::{endpoint, paths};
use tessera_oidc::scope::{check_allowed, parse_scope};
use tessera_oidc::{ErrorCode, OAuthError, Params};

use super::client_auth::authenticate;
use super::issue::{Grant, TokenResponse, issue};
use super::token::{form_params, json_no_store, oauth_error, store_error, tenant_or_404};
use crate::app::Services;
use crate::i18n::tr;
use crate::pages::{
    csrf, current_session, error_page, issuer_path, load_tenant, render, see_other,
};
use crate::state::AppState;

const DEVICE_CODE_TTL_SECS: i64 = 600;
const POLL_INTERVAL_SECS: i64 = 5;
/// RFC 8628 §6.1: consonants only (no vowels, so codes never spell words), no ambiguous letters.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

fn new_user_code() -> String {
    // 20 symbols, 8 characters: ~34.5 bits, with rate-limited entry and a 10-minute lifetime.
    let bytes: [u8; 8] = random_bytes();
    bytes
        .iter()
        .map(|b| USER_CODE_ALPHABET[(*b as usize) % USER_CODE_ALPHABET.len()] as char)
        .collect()
}

/// Accepts what people type: any case, with or without the dash or spaces.
pub fn normalize_user_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn display(code: &str) -> String {
    if code.len() == 8 {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_string()
    }
}

/// `POST {issuer}/device/authorize`.
pub async fn authorize(
    State(state): State<AppState>,
    Path(slug): Path<String>,
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
        if !client.grant_types.iter().any(|g| g == GRANT_DEVICE_CODE) {
            return Err(OAuthError::new(ErrorCode::UnauthorizedClient, "this client may not use the device authorization grant"));
        }
        let scopes = parse_scope(params.get("scope"))?;
        check_allowed(&scopes, &client.allowed_scopes)?;
        let now = Services::now();
        let device_code = random_token(32);
        let user_code = new_user_code();
        let record = DeviceAuthorization {
            device_code_hash: sha256_hex(device_code.as_bytes()),
            user_code: user_code.clone(),
            tenant_id: tenant.id,
            client_id: client.client_id.clone(),
            scope: scopes.join(" "),
            status: DeviceStatus::Pending,
            user_id: None,
            session_id: None,
            auth_time: None,
            created_at: now,
            expires_at: now + time::Duration::seconds(DEVICE_CODE_TTL_SECS),
            interval_secs: POLL_INTERVAL_SECS,
            last_polled_at: None,
        };
        state.services.store.insert_device_authorization(&record).await.map_err(|e| {
            tracing::error!(error = %e, "device authorization could not be stored");
            OAuthError::new(ErrorCode::ServerError, "a storage error occurred")
        })?;
        let verification_uri = endpoint(&tenant.issuer(&state.services.config.public_url), paths::DEVICE);
        Ok(json!({
            "device_code": device_code,
            "user_code": display(&user_code),
            "verification_uri": verification_uri,
            "verification_uri_complete": format!("{verification_uri}?user_code={}", display(&user_code)),
            "expires_in": DEVICE_CODE_TTL_SECS,
            "interval": POLL_INTERVAL_SECS,
        }))
    }
    .await;
    match result {
        Ok(v) => json_no_store(StatusCode::OK, &v),
        Err(e) => oauth_error(&e),
    }
}

/// The token endpoint's `urn:ietf:params:oauth:grant-type:device_code` grant (RFC 8628 §3.4-3.5).
pub async fn grant(
    state: &AppState,
    tenant: &Tenant,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let store = &state.services.store;
    let now = Services::now();
    let hash = sha256_hex(params.require("device_code")?.as_bytes());
    let Some(d) = store
        .get_device_by_code_hash(tenant.id, &hash)
        .await
        .map_err(store_error)?
    else {
        return Err(OAuthError::invalid_grant("the device_code is invalid"));
    };
    if d.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the device_code was issued to another client",
        ));
    }
    if now >= d.expires_at {
        return Err(OAuthError::new(
            ErrorCode::ExpiredToken,
            "the device_code has expired; start again",
        ));
    }
    match d.status {
        DeviceStatus::Pending => {
            let too_fast = d
                .last_polled_at
                .is_some_and(|t| now < t + time::Duration::seconds(d.interval_secs));
            store
                .touch_device_poll(tenant.id, &hash, now)
                .await
                .map_err(store_error)?;
            if too_fast {
                return Err(OAuthError::new(
                    ErrorCode::SlowDown,
                    "polling too often; wait the interval (plus 5 seconds)",
                ));
            }
            Err(OAuthError::new(
                ErrorCode::AuthorizationPending,
                "the user has not finished yet",
            ))
        }
        DeviceStatus::Denied => Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "the user denied the request",
        )),
        DeviceStatus::Consumed => Err(OAuthError::invalid_grant(
            "the device_code was already used",
        )),
        DeviceStatus::Approved => {
            if !store
                .consume_device(tenant.id, &hash)
                .await
                .map_err(store_error)?
            {
                return Err(OAuthError::invalid_grant(
                    "the device_code was already used",
                ));
            }
            let user_id = d
                .user_id
                .ok_or_else(|| OAuthError::invalid_grant("no user approved this code"))?;
            let user = state
                .services
                .user(tenant.id, user_id)
                .await
                .map_err(|_| OAuthError::invalid_grant("the user no longer exists"))?;
            if !user.can_sign_in() {
                return Err(OAuthError::invalid_grant("the user account is disabled"));
            }
            issue(
                state,
                tenant,
                client,
                Grant {
                    user: Some(&user),
                    scopes: parse_scope(Some(&d.scope))?,
                    auth_time: d.auth_time,
                    amr: vec!["pwd".into()],
                    acr: None,
                    nonce: None,
                    session_id: None,
                    family_id: Some(hash),
                    family_expires_at: None,
                    issue_refresh: true,
                },
            )
            .await
        }
    }
}

/// `GET {issuer}/device`: the page where the user types (or confirms) the code.
pub async fn page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(q): RawQuery,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let code = Params::parse(q.unwrap_or_default().as_bytes())
        .ok()
        .and_then(|p| p.get("user_code").map(normalize_user_code))
        .unwrap_or_default();
    let base = issuer_path(&tenant.slug);
    if current_session(&state, &tenant, &jar).await.is_none() {
        let back = if code.is_empty() {
            format!("{base}/device")
        } else {
            format!("{base}/device?user_code={code}")
        };
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", &back)
            .finish();
        return see_other(&format!("{base}/login?{q}"));
    }
    if code.is_empty() {
        return code_form(&state, &tenant, jar, StatusCode::OK, None);
    }
    confirm(&state, &tenant, jar, &code).await
}

fn code_form(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let (jar, csrf_token) = csrf::token_for(
        jar,
        &state.csrf_key,
        &issuer_path(&tenant.slug),
        state.services.config.secure_cookies(),
    );
    (
        jar,
        render(
            state,
            tenant,
            status,
            "device.html",
            minijinja::context! { step => "enter", csrf_token, error },
        ),
    )
        .into_response()
}

async fn pending(
    state: &AppState,
    tenant: &Tenant,
    code: &str,
) -> Option<(DeviceAuthorization, Client)> {
    let d = state
        .services
        .store
        .get_device_by_user_code(tenant.id, code)
        .await
        .ok()
        .flatten()?;
    if d.status != DeviceStatus::Pending || Services::now() >= d.expires_at {
        return None;
    }
    let client = state
        .services
        .store
        .get_client(tenant.id, &d.client_id)
        .await
        .ok()
        .flatten()?;
    Some((d, client))
}

async fn confirm(state: &AppState, tenant: &Tenant, jar: CookieJar, code: &str) -> Response {
    let Some((d, client)) = pending(state, tenant, code).await else {
        return code_form(
            state,
            tenant,
            jar,
            StatusCode::BAD_REQUEST,
            Some(&tr("device-msg-invalid")),
        );
    };
    let (jar, csrf_token) = csrf::token_for(
        jar,
        &state.csrf_key,
        &issuer_path(&tenant.slug),
        state.services.config.secure_cookies(),
    );
    let scopes: Vec<String> = d
        .scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let ctx = minijinja::context! { step => "confirm", csrf_token, user_code => display(code), client_name => client.name, scopes };
    (
        jar,
        render(state, tenant, StatusCode::OK, "device.html", ctx),
    )
        .into_response()
}

/// `POST {issuer}/device`: a typed code (show the confirmation) or a decision.
pub async fn submit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let params = Params::parse(&body).unwrap_or_default();
    if !csrf::verify(
        &jar,
        &state.csrf_key,
        params.get("csrf_token").unwrap_or(""),
    ) {
        return code_form(
            &state,
            &tenant,
            jar,
            StatusCode::FORBIDDEN,
            Some(&tr("device-msg-form-expired")),
        );
    }
    let Some(session) = current_session(&state, &tenant, &jar).await else {
        return see_other(&format!("{}/device", issuer_path(&tenant.slug)));
    };
    let code = normalize_user_code(params.get("user_code").unwrap_or(""));
    let Some(decision) = params.get("decision") else {
        return confirm(&state, &tenant, jar, &code).await;
    };
    if pending(&state, &tenant, &code).await.is_none() {
        return code_form(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            Some(&tr("device-msg-invalid")),
        );
    }
    let approve = decision == "allow";
    match state
        .services
        .store
        .decide_device(
            tenant.id,
            &code,
            approve,
            session.user_id,
            Some(session.id),
            session.created_at,
        )
        .await
    {
        Ok(true) => {
            let (heading, message) = if approve {
                (tr("device-msg-connected"), tr("device-msg-return"))
            } else {
                (tr("device-msg-denied"), tr("device-msg-not-given"))
            };
            error_page(&state, &tenant, StatusCode::OK, &heading, &message, None)
        }
        Ok(false) => code_form(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            Some(&tr("device-msg-used")),
        ),
        Err(e) => {
            tracing::error!(error = %e, "device decision failed");
            error_page(
                &state,
                &tenant,
                StatusCode::SERVICE_UNAVAILABLE,
                &tr("msg-unavailable"),
                &tr("msg-try-again"),
                None,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes() {
        let c = new_user_code();
        assert_eq!(c.len(), 8);
        assert!(c.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
        assert_eq!(normalize_user_code(" bcdf-ghjk "), "BCDFGHJK");
        assert_eq!(display("BCDFGHJK"), "BCDF-GHJK");
    }
}
