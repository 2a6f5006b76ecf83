//! `POST /api/v1/tenants/{slug}/users/{id}/parental-consent`: the operator records that a parent
//! or guardian consented to the account of a minor (age gate, `settings.registration.
//! parental_consent_below`). The account's `parental_consent_required` flag is replaced by a
//! `parental_consent` record (when, by whom) and it may sign in from then on.

use axum::Json;
use axum::extract::{Path, State};
use tessera_core::UserId;
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::registration::{
    PARENTAL_CONSENT_ATTRIBUTE, PARENTAL_CONSENT_REQUIRED_ATTRIBUTE, parental_consent_pending,
};
use tessera_core::user::UserPatch;

use super::auth::Operator;
use super::rfc3339;
use super::users::UserView;
use crate::app::Services;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// Record the parental consent of an account flagged `parental_consent_required`: the flag goes,
/// a `parental_consent` attribute (`recorded_at`, `recorded_by`: the credential) stays, sign-in is allowed.
/// `409` when the account does not wait for one.
#[utoipa::path(post, path = "/tenants/{slug}/users/{id}/parental-consent", tag = "users", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn record_parental_consent(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<UserView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Write)
        .await?;
    let id = UserId::parse(&id).ok_or_else(|| ApiError::not_found("user"))?;
    let user = state.services.user(tenant.id, id).await?;
    if !parental_consent_pending(&user) {
        return Err(ApiError::Conflict(
            "this account does not wait for a parental consent".into(),
        ));
    }
    let mut attributes = user.attributes.clone();
    if let Some(obj) = attributes.as_object_mut() {
        obj.remove(PARENTAL_CONSENT_REQUIRED_ATTRIBUTE);
        obj.insert(
            PARENTAL_CONSENT_ATTRIBUTE.into(),
            serde_json::json!({
                "recorded_at": rfc3339(Services::now()),
                "recorded_by": op.actor(),
            }),
        );
    }
    let patch = UserPatch {
        attributes: Some(attributes),
        ..Default::default()
    };
    let user = state
        .services
        .update_user(tenant.id, id, patch, op.actor())
        .await?;
    Ok(Json(user.into()))
}
