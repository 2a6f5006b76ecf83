//! The admin REST API under `/api/v1`, described by the OpenAPI document at
//! `/api/v1/openapi.json`. Each resource has its own module; paths are written once, on the
//! handlers, and both the router and the document are generated from them.

pub mod access_reviews;
pub mod analytics;
pub mod audit;
pub mod auth;
pub mod branding;
pub mod clients;
pub mod consents;
pub mod email;
pub mod extract;
pub mod groups;
pub mod identity_providers;
pub mod mfa;
pub mod parental_consent;
pub mod privacy;
pub mod privacy_requests;
pub mod risk;
pub mod roles;
pub mod self_service;
pub mod sessions;
pub mod tenants;
pub mod users;
pub mod webhooks;

use axum::Router;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::routes::API_PREFIX;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera admin API",
        description = "Manage tenants, users, groups, applications (OAuth clients) and sessions. \
Authenticate with an API key: `Authorization: Bearer tsk_...` (create one with `tessera keys create-api-key`). \
Keys of the `admin` tenant reach every tenant; keys of another tenant reach only that tenant. \
Errors are JSON objects `{\"error\": \"<code>\", \"message\": \"...\"}`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "tenants", description = "Tenants and their settings"),
        (name = "users", description = "User accounts"),
        (name = "groups", description = "Groups and membership"),
        (name = "clients", description = "Applications (OAuth 2 / OpenID Connect clients)"),
        (name = "sessions", description = "Browser sessions"),
        (name = "authorization", description = "Roles, permissions, assignments and the authorization check"),
        (name = "audit", description = "The audit trail: search, export, verification"),
        (name = "risk", description = "The risk engine: challenged and refused sign-in attempts"),
        (name = "webhooks", description = "Event subscriptions: webhooks, JSON Lines and syslog streams"),
        (name = "email", description = "Email: test messages and the mail outbox"),
        (name = "identity providers", description = "Upstream identity providers (social and enterprise sign-in) and the identities linked to accounts"),
        (name = "privacy", description = "Privacy compliance: purposes, policy documents, consent records and receipts, communication preferences, data-subject requests, restriction, retention"),
        (name = "analytics", description = "Anonymized, k-anonymous statistics per tenant: sign-ups, sign-ins, active users, registration funnel, consent rates")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tsk_...")
                    .build(),
            ),
        );
    }
}

/// The API router (already nested under `/api/v1`) and its OpenAPI document.
pub fn router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let api = OpenApiRouter::<AppState>::new()
        .routes(routes!(tenants::list_tenants, tenants::create_tenant))
        .routes(routes!(
            tenants::get_tenant,
            tenants::update_tenant,
            tenants::delete_tenant
        ))
        .routes(routes!(branding::put_logo, branding::delete_logo))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(
            users::get_user,
            users::update_user,
            users::delete_user
        ))
        .routes(routes!(users::disable_user))
        .routes(routes!(users::enable_user))
        .routes(routes!(users::user_groups))
        .routes(routes!(mfa::list_factors, mfa::reset_factors))
        .routes(routes!(mfa::delete_factor))
        .routes(routes!(self_service::send_verification))
        .routes(routes!(self_service::send_reset))
        .routes(routes!(consents::list_consents))
        .routes(routes!(consents::revoke_consent))
        .routes(routes!(sessions::revoke_user_sessions))
        .routes(routes!(groups::list_groups, groups::create_group))
        .routes(routes!(
            groups::get_group,
            groups::update_group,
            groups::delete_group
        ))
        .routes(routes!(groups::list_members))
        .routes(routes!(groups::add_member, groups::remove_member))
        .routes(routes!(clients::list_clients, clients::create_client))
        .routes(routes!(
            clients::get_client,
            clients::update_client,
            clients::delete_client
        ))
        .routes(routes!(clients::rotate_secret))
        .routes(routes!(sessions::list_sessions))
        .routes(routes!(sessions::get_session, sessions::revoke_session))
        .routes(routes!(roles::list_roles, roles::create_role))
        .routes(routes!(
            roles::get_role,
            roles::update_role,
            roles::delete_role
        ))
        .routes(routes!(roles::list_assignments, roles::create_assignment))
        .routes(routes!(roles::delete_assignment))
        .routes(routes!(roles::add_parent, roles::remove_parent))
        .routes(routes!(roles::user_permissions))
        .routes(routes!(roles::check_one))
        .routes(routes!(roles::check_batch))
        .routes(routes!(access_reviews::permission_review))
        .routes(routes!(access_reviews::unused_assignments))
        .routes(routes!(audit::list_audit))
        .routes(routes!(audit::export_audit))
        .routes(routes!(audit::verify_audit))
        .routes(routes!(risk::list_attempts))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(webhooks::get_webhook, webhooks::delete_webhook))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(email::send_test))
        .routes(routes!(email::outbox))
        .routes(routes!(
            identity_providers::list_providers,
            identity_providers::create_provider
        ))
        .routes(routes!(
            identity_providers::get_provider,
            identity_providers::update_provider,
            identity_providers::delete_provider
        ))
        .routes(routes!(identity_providers::list_user_identities))
        .routes(routes!(identity_providers::user_identity_token))
        .routes(routes!(identity_providers::delete_user_identity))
        .routes(routes!(privacy::list_purposes, privacy::create_purpose))
        .routes(routes!(privacy::get_purpose, privacy::update_purpose))
        .routes(routes!(privacy::consenting_users))
        .routes(routes!(privacy::list_documents, privacy::create_document))
        .routes(routes!(
            privacy::user_consents,
            privacy::record_user_consent
        ))
        .routes(routes!(privacy::user_receipt))
        .routes(routes!(privacy::get_topics, privacy::put_topics))
        .routes(routes!(privacy::get_preferences, privacy::put_preferences))
        .routes(routes!(analytics::tenant_analytics))
        .routes(routes!(parental_consent::record_parental_consent))
        .routes(routes!(
            privacy_requests::list_requests,
            privacy_requests::create_request
        ))
        .routes(routes!(privacy_requests::get_request))
        .routes(routes!(privacy_requests::complete_request))
        .routes(routes!(privacy_requests::reject_request))
        .routes(routes!(privacy_requests::extend_request))
        .routes(routes!(privacy_requests::export_user))
        .routes(routes!(
            privacy_requests::get_restriction,
            privacy_requests::set_restriction,
            privacy_requests::clear_restriction
        ))
        .routes(routes!(privacy_requests::retention_report))
        .routes(routes!(privacy_requests::retention_run));
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(API_PREFIX, api)
        .split_for_parts();
    let router = router.fallback(api_not_found);
    (router, doc)
}

/// RFC 3339 text of a time, as every admin API response writes it.
pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

async fn api_not_found() -> impl IntoResponse {
    ApiError::NotFound("no such API endpoint; see /api/v1/openapi.json".into())
}
