//! Every route path of the server, defined once. Discovery documents and redirects derive from
//! these constants instead of repeating strings.

pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";
pub const METRICS: &str = "/metrics";
pub const STYLESHEET: &str = "/static/tessera.css";

/// Hosted pages, under a tenant's issuer path `/t/{slug}`.
pub const LOGIN: &str = "/t/{slug}/login";
pub const LOGOUT: &str = "/t/{slug}/logout";
pub const ACCOUNT: &str = "/t/{slug}/account";
pub const ACCOUNT_REVOKE_APP: &str = "/t/{slug}/account/apps/revoke";

/// The admin API prefix; its own paths live on the handlers (`#[utoipa::path]`) so the OpenAPI
/// document and the router cannot disagree.
pub const API_PREFIX: &str = "/api/v1";
pub const OPENAPI: &str = "/api/v1/openapi.json";
