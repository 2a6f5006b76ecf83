//! `{issuer}/login/idp/{alias}`: sends the browser to the provider. The state, the nonce and the
//! PKCE verifier are fresh random values; the database keeps digests of the first two, the
//! verifier sealed, and the digest of the browser's binding cookie.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use tessera_core::Secret;
use tessera_core::federation::{
    FEDERATION_STATE_TTL_SECS, FederationStage, FederationState, FederationStateId, FederationStore,
};
use tessera_crypto::{random_token, sha256_hex};
use tessera_federation::FailureClass;
use tessera_federation::flow::{AuthorizationRequest, authorization_url};

use super::{HttpTransport, binding, fail, provider_config, redirect_uri, request_info, unix_now};
use crate::app::Services;
use crate::pages::{csrf, current_session, issuer_path, load_tenant, safe_return_to, see_other};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct StartQuery {
    #[serde(default)]
    return_to: Option<String>,
    #[serde(default)]
    login_hint: Option<String>,
    /// `1`: a signed-in person connects this provider to their account (account portal).
    #[serde(default)]
    link: Option<String>,
    /// With `link`: the page's CSRF token, so another site cannot start a connection (the
    /// token's cookie is `SameSite=Strict`).
    #[serde(default)]
    csrf_token: Option<String>,
}

pub async fn start(
    State(state): State<AppState>,
    Path((slug, alias)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let info = request_info(&peer, &headers);
    let q: StartQuery = query
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let svc = &state.services;
    let provider = match svc.store.find_identity_provider(tenant.id, &alias).await {
        Ok(Some(p)) if p.enabled => p,
        Ok(_) => {
            let alias: String = alias.chars().take(40).collect();
            return fail(
                &state,
                &tenant,
                &alias,
                "provider_unknown",
                FailureClass::Rejected,
                None,
                &info,
            )
            .await;
        }
        Err(e) => {
            tracing::error!(error = %e, "identity provider lookup failed");
            return fail(
                &state,
                &tenant,
                &alias,
                "storage_unavailable",
                FailureClass::Upstream,
                None,
                &info,
            )
            .await;
        }
    };
    let config = match provider_config(&provider) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(provider = %provider.alias, error = %e, "identity provider settings are unusable");
            return fail(
                &state,
                &tenant,
                &provider.alias,
                "provider_misconfigured",
                FailureClass::Upstream,
                None,
                &info,
            )
            .await;
        }
    };
    let base = issuer_path(&tenant.slug);
    let mut return_to = q
        .return_to
        .as_deref()
        .and_then(|r| safe_return_to(&svc.config.public_url, r))
        .unwrap_or_default();
    let linking_user = if q.link.as_deref() == Some("1") {
        let Some(session) = current_session(&state, &tenant, &jar).await else {
            let back = format!("{base}/account/identities");
            let q = serde_urlencoded::to_string([("return_to", back.as_str())]).unwrap_or_default();
            return see_other(&format!("{base}/login?{q}"));
        };
        if !csrf::verify(&jar, &state.csrf_key, q.csrf_token.as_deref().unwrap_or("")) {
            return see_other(&format!("{base}/account/identities"));
        }
        if return_to.is_empty() {
            return_to = format!("{base}/account/identities");
        }
        Some(session.user_id)
    } else {
        None
    };
    let now = Services::now();
    let transport = HttpTransport(&state.http);
    let endpoints = match state
        .federation
        .providers
        .endpoints(&config, &transport, unix_now())
        .await
    {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(provider = %provider.alias, error = %e, "the provider's endpoints are unknown");
            return fail(
                &state,
                &tenant,
                &provider.alias,
                &e.reason(),
                e.class(),
                linking_user,
                &info,
            )
            .await;
        }
    };
    // Expired states of every tenant go at each start (an indexed delete).
    if let Err(e) = svc.store.purge_federation_states(now).await {
        tracing::warn!(error = %e, "expired federation states could not be purged");
    }
    let (jar, token) = binding(&state, &tenant, jar);
    let state_value = random_token(32);
    let nonce = random_token(32);
    let verifier = random_token(48);
    let record = FederationState {
        id: FederationStateId::new(),
        tenant_id: tenant.id,
        provider_id: provider.id,
        stage: FederationStage::Authorize,
        state_hash: sha256_hex(state_value.as_bytes()),
        binding_hash: sha256_hex(token.as_bytes()),
        nonce_hash: sha256_hex(nonce.as_bytes()),
        pkce_verifier: Secret::new(verifier.clone()),
        return_to,
        linking_user,
        target_user: None,
        payload: None,
        created_at: now,
        expires_at: now + time::Duration::seconds(FEDERATION_STATE_TTL_SECS),
    };
    if let Err(e) = svc.store.create_federation_state(&record).await {
        tracing::error!(error = %e, "a federation state could not be stored");
        return fail(
            &state,
            &tenant,
            &provider.alias,
            "storage_unavailable",
            FailureClass::Upstream,
            linking_user,
            &info,
        )
        .await;
    }
    let callback = redirect_uri(&svc.config.public_url, &tenant.slug, &provider.alias);
    let hint = q.login_hint.as_deref().map(str::trim);
    let url = match authorization_url(
        &config,
        &endpoints,
        &AuthorizationRequest {
            redirect_uri: &callback,
            state: &state_value,
            nonce: &nonce,
            pkce_verifier: &verifier,
            login_hint: hint,
        },
    ) {
        Ok(u) => u,
        Err(e) => {
            return fail(
                &state,
                &tenant,
                &provider.alias,
                &e.reason(),
                e.class(),
                linking_user,
                &info,
            )
            .await;
        }
    };
    (jar, see_other(&url)).into_response()
}
