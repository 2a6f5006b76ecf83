//! `/api/v1/tenants/{slug}/users/{id}/send-verification-email` and `…/send-password-reset`:
//! operators trigger the self-service emails for an account (a support desk helping a customer).
//! The registration, verification and password-policy settings themselves are part of the
//! tenant's settings (`PATCH /api/v1/tenants/{slug}`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use tessera_core::UserId;
use tessera_core::apikey::{AdminResource, ApiScope};
use utoipa::ToSchema;

use super::auth::Operator;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::self_service::{SelfServiceError, send_password_reset, send_verification_email};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct MailQueued {
    /// What was queued: `verify_email`, `password_reset`, or `passwordless_recovery` (an account
    /// without a password gets an email verification link instead of a reset link).
    pub sent: String,
}

fn parse_user_id(id: &str) -> ApiResult<UserId> {
    UserId::parse(id).ok_or_else(|| ApiError::not_found("user"))
}

impl From<SelfServiceError> for ApiError {
    fn from(e: SelfServiceError) -> Self {
        match e {
            SelfServiceError::Core(c) => c.into(),
            SelfServiceError::Store(s) => s.into(),
            SelfServiceError::Mail(crate::mail::MailError::Invalid(c)) => ApiError::BadRequest {
                field: None,
                message: format!("the account's address cannot receive mail: {c}"),
            },
            SelfServiceError::Mail(m) => ApiError::Internal(m.to_string()),
        }
    }
}

/// Email the user a link (and 6-digit code) that verifies their address. Earlier verification
/// links of the user stop working.
#[utoipa::path(post, path = "/tenants/{slug}/users/{id}/send-verification-email", tag = "users", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 202, body = MailQueued), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn send_verification(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<MailQueued>)> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Write)
        .await?;
    let user = state.services.user(tenant.id, parse_user_id(&id)?).await?;
    send_verification_email(&state, &tenant, &user, "operator", op.actor(), None).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MailQueued {
            sent: "verify_email".into(),
        }),
    ))
}

/// Email the user a single-use password reset link (accounts without a password get an email
/// verification link instead). Earlier reset links of the user stop working.
#[utoipa::path(post, path = "/tenants/{slug}/users/{id}/send-password-reset", tag = "users", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 202, body = MailQueued), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn send_reset(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<MailQueued>)> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Write)
        .await?;
    let user = state.services.user(tenant.id, parse_user_id(&id)?).await?;
    if !user.can_sign_in() {
        return Err(ApiError::Conflict(
            "the account is disabled; enable it before sending a password reset".into(),
        ));
    }
    let kind = send_password_reset(&state, &tenant, &user, "operator", op.actor(), None).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MailQueued {
            sent: kind.as_str().into(),
        }),
    ))
}
