//! UserInfo (OpenID Connect Core §5.3), GET and POST, bearer token per RFC 6750.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_core::UserId;
use tessera_oidc::Params;
use tessera_oidc::claims::user_claims;

use super::issue::released_claims;
use tessera_oidc::scope::{OPENID, parse_scope};

use super::access::active_access_token_with_user;
use super::token::tenant_or_404;
use crate::state::AppState;

fn bearer_error(status: StatusCode, error: &str, description: &str) -> Response {
    let challenge =
        format!("Bearer realm=\"tessera\", error=\"{error}\", error_description=\"{description}\"");
    let mut r = (
        status,
        axum::Json(serde_json::json!({"error": error, "error_description": description})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub async fn get(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    userinfo(state, slug, headers, None).await
}

pub async fn post(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    userinfo(state, slug, headers, Some(body)).await
}

async fn userinfo(
    state: AppState,
    slug: String,
    headers: HeaderMap,
    body: Option<Bytes>,
) -> Response {
    let tenant = match tenant_or_404(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
                Some(v[7..].trim().to_string())
            } else {
                None
            }
        });
    // RFC 6750 §2.2: the form body may carry the token on POST.
    let from_body = body.as_ref().and_then(|b| {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            Params::parse(b)
                .ok()
                .and_then(|p| p.get("access_token").map(str::to_string))
        } else {
            None
        }
    });
    let token = match (from_header, from_body) {
        (Some(_), Some(_)) => {
            return bearer_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "send the token in one place only",
            );
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => {
            let mut r = StatusCode::UNAUTHORIZED.into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tessera\""),
            );
            return r;
        }
    };
    let Some((claims, holder)) = active_access_token_with_user(&state, &tenant, &token).await
    else {
        return bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid, expired or revoked",
        );
    };
    let scopes = parse_scope(claims.get("scope").and_then(|v| v.as_str())).unwrap_or_default();
    if !scopes.iter().any(|s| s == OPENID) {
        return bearer_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the token was not granted the openid scope",
        );
    }
    let Some(user_id) = claims
        .get("sub")
        .and_then(|v| v.as_str())
        .and_then(UserId::parse)
    else {
        return bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the token does not name a user",
        );
    };
    // The account read with the token's record when it is the subject (it always is for the
    // tokens Tessera records); otherwise, read it now.
    let user = match holder {
        Some(u) if u.id == user_id => Ok(u),
        _ => state.services.user(tenant.id, user_id).await,
    };
    let user = match user {
        Ok(u) if u.can_sign_in() => u,
        _ => {
            return bearer_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the user is not active",
            );
        }
    };
    let client_id = claims
        .get("client_id")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let released = match state.services.cached_client(tenant.id, client_id).await {
        Ok(Some(client)) => released_claims(&state, &tenant, &client, &user, &scopes).await,
        _ => user_claims(&user, &scopes),
    };
    let mut r = axum::Json(serde_json::Value::Object(released)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
