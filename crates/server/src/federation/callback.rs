//! `{issuer}/login/idp/{alias}/callback`: the provider's answer. The state is taken once (a
//! replay finds nothing), must belong to this provider (a response meant for another provider
//! is refused: the mix-up defence) and to this browser; the `iss` parameter (RFC 9207) must name
//! the provider's issuer. Then the code is exchanged and the identity decided on
//! ([`tessera_core::federation::resolve`]).
//!
//! `form_post` answers (Apple) arrive as a cross-site POST, which carries no `SameSite=Lax`
//! cookie: the POST only stores the answer on its state and sends the browser to the GET, a
//! top-level navigation that carries the binding cookie.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::federation::{
    FederationStage, FederationState, FederationStateId, FederationStore, IdentityProvider,
    LINK_PROOF_TTL_SECS, LinkedIdentity, LinkedIdentityId, Resolution, resolve,
};
use tessera_core::store::{GroupStore, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::user::{NewUser, User, UserPatch};
use tessera_core::{CoreError, Secret, StoreError};
use tessera_crypto::{ct_eq, random_token, sha256_hex};
use tessera_federation::flow::{CallbackResult, Credentials, Upstream, finish};
use tessera_federation::mapping::{Profile, UpstreamIdentity, profile};
use tessera_federation::{FailureClass, FederationError, ProviderConfig};

use super::{
    AMR_FED, HttpTransport, binding_hash, fail, provider_config, redirect_uri, request_info,
    unix_now,
};
use crate::app::Services;
use crate::i18n::tr;
use crate::mfa::flow::{FlowError, RequestInfo, after_first_factor};
use crate::pages::{current_session, error_page, issuer_path, load_tenant, see_other};
use crate::state::AppState;

/// The parameters of an authorization response (RFC 6749 §4.1.2, RFC 9207, Apple's `user`).
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct CallbackParams {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    user: Option<String>,
}

impl CallbackParams {
    /// Over-long values are dropped rather than carried along.
    fn bounded(mut self) -> CallbackParams {
        let cut = |v: &mut Option<String>, max: usize| {
            if v.as_ref().is_some_and(|s| s.len() > max) {
                *v = None;
            }
        };
        cut(&mut self.state, 512);
        cut(&mut self.code, 4096);
        cut(&mut self.error, 200);
        cut(&mut self.error_description, 1000);
        cut(&mut self.iss, 512);
        cut(&mut self.user, 4096);
        self
    }
}

pub async fn callback_post(
    State(state): State<AppState>,
    Path((slug, alias)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let info = request_info(&peer, &headers);
    let params = crate::pages::parse_form::<CallbackParams>(&body)
        .unwrap_or_default()
        .bounded();
    let Some(state_value) = params.state.clone() else {
        return fail(
            &state,
            &tenant,
            &alias,
            "state_missing",
            FailureClass::Rejected,
            None,
            &info,
        )
        .await;
    };
    let payload = json!({
        "code": params.code,
        "error": params.error,
        "error_description": params.error_description,
        "iss": params.iss,
        "user": params.user,
    });
    match state
        .services
        .store
        .stash_federation_response(
            tenant.id,
            &sha256_hex(state_value.as_bytes()),
            &payload,
            Services::now(),
        )
        .await
    {
        Ok(true) => {
            let q =
                serde_urlencoded::to_string([("state", state_value.as_str())]).unwrap_or_default();
            see_other(&format!(
                "{}/login/idp/{alias}/callback?{q}",
                issuer_path(&tenant.slug)
            ))
        }
        Ok(false) => {
            fail(
                &state,
                &tenant,
                &alias,
                "state_unknown",
                FailureClass::Rejected,
                None,
                &info,
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "a form_post answer could not be stored");
            fail(
                &state,
                &tenant,
                &alias,
                "storage_unavailable",
                FailureClass::Upstream,
                None,
                &info,
            )
            .await
        }
    }
}

pub async fn callback_get(
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
    let params: CallbackParams = query
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    process(&state, &tenant, &alias, params.bounded(), jar, &info).await
}

/// Whether `iss` names the configured issuer (with `{tenantid}` standing for one path segment).
fn issuer_matches(configured: &str, iss: &str) -> bool {
    match configured.split_once("{tenantid}") {
        None => configured == iss,
        Some((prefix, suffix)) => {
            iss.len() > prefix.len() + suffix.len()
                && iss.starts_with(prefix)
                && iss.ends_with(suffix)
                && !iss[prefix.len()..iss.len() - suffix.len()].contains('/')
        }
    }
}

async fn process(
    state: &AppState,
    tenant: &Tenant,
    alias: &str,
    params: CallbackParams,
    jar: CookieJar,
    info: &RequestInfo,
) -> Response {
    let svc = &state.services;
    let now = Services::now();
    let alias: String = alias.chars().take(40).collect();
    let rejected = |reason: &'static str| (reason, FailureClass::Rejected);
    let Some(state_value) = params.state.clone() else {
        let (r, c) = rejected("state_missing");
        return fail(state, tenant, &alias, r, c, None, info).await;
    };
    // Taken before anything else is checked: whatever happens next, this state is spent.
    let st = match svc
        .store
        .take_federation_state(tenant.id, &sha256_hex(state_value.as_bytes()), now)
        .await
    {
        Ok(Some(s)) => s,
        Ok(None) => {
            return fail(
                state,
                tenant,
                &alias,
                "state_unknown",
                FailureClass::Rejected,
                None,
                info,
            )
            .await;
        }
        Err(e) => {
            tracing::error!(error = %e, "federation state lookup failed");
            return fail(
                state,
                tenant,
                &alias,
                "storage_unavailable",
                FailureClass::Upstream,
                None,
                info,
            )
            .await;
        }
    };
    let provider = match svc
        .store
        .get_identity_provider(tenant.id, st.provider_id)
        .await
    {
        Ok(Some(p)) => p,
        Ok(None) => {
            return fail(
                state,
                tenant,
                &alias,
                "provider_unknown",
                FailureClass::Rejected,
                st.linking_user,
                info,
            )
            .await;
        }
        Err(e) => {
            tracing::error!(error = %e, "identity provider lookup failed");
            return fail(
                state,
                tenant,
                &alias,
                "storage_unavailable",
                FailureClass::Upstream,
                st.linking_user,
                info,
            )
            .await;
        }
    };
    // The state was issued for another provider: an answer is being replayed at the wrong
    // callback (mix-up attack), or the browser was sent here by someone else.
    if provider.alias != alias {
        return fail(
            state,
            tenant,
            &alias,
            "provider_mismatch",
            FailureClass::Rejected,
            st.linking_user,
            info,
        )
        .await;
    }
    if !provider.enabled {
        return fail(
            state,
            tenant,
            &alias,
            "provider_unknown",
            FailureClass::Rejected,
            st.linking_user,
            info,
        )
        .await;
    }
    let bound = binding_hash(&jar).is_some_and(|h| ct_eq(h.as_bytes(), st.binding_hash.as_bytes()));
    if !bound {
        return fail(
            state,
            tenant,
            &alias,
            "browser_mismatch",
            FailureClass::Rejected,
            st.linking_user,
            info,
        )
        .await;
    }
    // A form_post answer was stored by the POST; a query answer is in the URL.
    let params = match &st.payload {
        Some(p) => serde_json::from_value::<CallbackParams>(p.clone()).unwrap_or_default(),
        None => params,
    };
    if let Some(error) = params.error.clone() {
        let e = FederationError::Refused {
            error,
            description: params.error_description.clone(),
        };
        return fail(
            state,
            tenant,
            &alias,
            &e.reason(),
            e.class(),
            st.linking_user,
            info,
        )
        .await;
    }
    let config = match provider_config(&provider) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(provider = %alias, error = %e, "identity provider settings are unusable");
            return fail(
                state,
                tenant,
                &alias,
                "provider_misconfigured",
                FailureClass::Upstream,
                st.linking_user,
                info,
            )
            .await;
        }
    };
    let transport = HttpTransport(&state.http);
    let endpoints = match state
        .federation
        .providers
        .endpoints(&config, &transport, unix_now())
        .await
    {
        Ok(e) => e,
        Err(e) => {
            return fail(
                state,
                tenant,
                &alias,
                &e.reason(),
                e.class(),
                st.linking_user,
                info,
            )
            .await;
        }
    };
    // RFC 9207: the answer names who sent it.
    match (&params.iss, &endpoints.issuer) {
        (Some(iss), Some(expected)) if !issuer_matches(expected, iss) => {
            return fail(
                state,
                tenant,
                &alias,
                "issuer_mismatch",
                FailureClass::Rejected,
                st.linking_user,
                info,
            )
            .await;
        }
        (None, Some(_)) if endpoints.iss_parameter_supported => {
            return fail(
                state,
                tenant,
                &alias,
                "issuer_missing",
                FailureClass::Rejected,
                st.linking_user,
                info,
            )
            .await;
        }
        _ => {}
    }
    let Some(code) = params.code.clone() else {
        return fail(
            state,
            tenant,
            &alias,
            "code_missing",
            FailureClass::Rejected,
            st.linking_user,
            info,
        )
        .await;
    };
    let callback = redirect_uri(&svc.config.public_url, &tenant.slug, &provider.alias);
    let credentials = match &provider.client_secret {
        Some(s) => Credentials::Secret(s),
        None => Credentials::None,
    };
    let up = Upstream {
        config: &config,
        credentials,
        transport: &transport,
        cache: &state.federation.providers,
        now: unix_now(),
    };
    let identity = match finish(
        &up,
        &endpoints,
        &CallbackResult {
            code: &code,
            redirect_uri: &callback,
            pkce_verifier: st.pkce_verifier.expose(),
            nonce_hash: &st.nonce_hash,
            apple_user: params.user.as_deref(),
        },
    )
    .await
    {
        Ok(i) => i,
        Err(e) => {
            tracing::info!(provider = %alias, error = %e, "an upstream answer was refused");
            return fail(
                state,
                tenant,
                &alias,
                &e.reason(),
                e.class(),
                st.linking_user,
                info,
            )
            .await;
        }
    };
    decide(state, tenant, &provider, &config, st, identity, jar, info).await
}

/// What the verified identity may do.
#[allow(clippy::too_many_arguments)]
async fn decide(
    state: &AppState,
    tenant: &Tenant,
    provider: &IdentityProvider,
    config: &ProviderConfig,
    st: FederationState,
    identity: UpstreamIdentity,
    jar: CookieJar,
    info: &RequestInfo,
) -> Response {
    let svc = &state.services;
    let alias = provider.alias.as_str();
    let linked = match svc
        .store
        .find_linked_identity(tenant.id, provider.id, &identity.subject)
        .await
    {
        Ok(l) => l,
        Err(e) => return unavailable(state, tenant, e),
    };
    // Connecting a provider from the account portal: the signed-in person is the account.
    if let Some(linking_user) = st.linking_user {
        let same_person = current_session(state, tenant, &jar)
            .await
            .is_some_and(|s| s.user_id == linking_user);
        if !same_person {
            return fail(
                state,
                tenant,
                alias,
                "session_changed",
                FailureClass::Rejected,
                Some(linking_user),
                info,
            )
            .await;
        }
        let back = if st.return_to.is_empty() {
            format!("{}/account/identities", issuer_path(&tenant.slug))
        } else {
            st.return_to.clone()
        };
        return match linked {
            Some(l) if l.user_id == linking_user => see_other(&back),
            Some(_) => {
                fail(
                    state,
                    tenant,
                    alias,
                    "identity_linked_elsewhere",
                    FailureClass::Rejected,
                    Some(linking_user),
                    info,
                )
                .await
            }
            None => match create_link(
                state,
                tenant,
                provider,
                config,
                &identity,
                linking_user,
                "account_portal",
                info,
            )
            .await
            {
                Ok(()) => see_other(&back),
                Err(r) => r,
            },
        };
    }
    let linked_user = match &linked {
        Some(l) => match svc.store.get_user(tenant.id, l.user_id).await {
            Ok(u) => u,
            Err(e) => return unavailable(state, tenant, e),
        },
        None => None,
    };
    let same_email = match (&linked, &identity.email) {
        (None, Some(email)) => match svc.store.find_user_by_email(tenant.id, email).await {
            Ok(u) => u,
            Err(e) => return unavailable(state, tenant, e),
        },
        _ => None,
    };
    let decision = resolve(
        provider,
        linked_user.as_ref(),
        same_email.as_ref(),
        identity.email.is_some(),
        identity.email_verified,
    );
    match decision {
        Resolution::SignIn(_) => {
            let (Some(link), Some(user)) = (linked, linked_user) else {
                return fail(
                    state,
                    tenant,
                    alias,
                    "no_account",
                    FailureClass::Rejected,
                    None,
                    info,
                )
                .await;
            };
            let tokens = kept_tokens(config, &identity);
            if let Err(e) = svc
                .store
                .touch_linked_identity(tenant.id, link.id, Services::now(), tokens.as_ref())
                .await
            {
                tracing::warn!(error = %e, "a linked identity's use could not be recorded");
            }
            let user = if config.sync_profile {
                sync_profile(state, tenant, user, &profile(config, &identity)).await
            } else {
                user
            };
            sign_in(
                state,
                tenant,
                jar,
                &user,
                alias,
                st.return_to,
                vec![AMR_FED.into()],
                info,
            )
            .await
        }
        Resolution::LinkTrusted(uid) => {
            let Some(user) = same_email.filter(|u| u.id == uid) else {
                return fail(
                    state,
                    tenant,
                    alias,
                    "no_account",
                    FailureClass::Rejected,
                    None,
                    info,
                )
                .await;
            };
            if let Err(r) = create_link(
                state,
                tenant,
                provider,
                config,
                &identity,
                user.id,
                "trusted_email",
                info,
            )
            .await
            {
                return r;
            }
            sign_in(
                state,
                tenant,
                jar,
                &user,
                alias,
                st.return_to,
                vec![AMR_FED.into()],
                info,
            )
            .await
        }
        Resolution::ProveOwnership(uid) => {
            awaiting_proof(state, tenant, provider, &st, identity, Some(uid), jar).await
        }
        Resolution::Provision {
            verify_email_first: true,
        } => awaiting_proof(state, tenant, provider, &st, identity, None, jar).await,
        Resolution::Provision {
            verify_email_first: false,
        } => match provision(state, tenant, provider, config, &identity, info).await {
            Ok(user) => {
                sign_in(
                    state,
                    tenant,
                    jar,
                    &user,
                    alias,
                    st.return_to,
                    vec![AMR_FED.into()],
                    info,
                )
                .await
            }
            Err(r) => r,
        },
        Resolution::Refuse(reason) => {
            let user = linked_user.or(same_email).map(|u| u.id);
            fail(
                state,
                tenant,
                alias,
                reason,
                FailureClass::Rejected,
                user,
                info,
            )
            .await
        }
    }
}

fn unavailable(state: &AppState, tenant: &Tenant, e: StoreError) -> Response {
    tracing::error!(error = %e, "storage failed during an upstream sign-in");
    error_page(
        state,
        tenant,
        StatusCode::SERVICE_UNAVAILABLE,
        &tr("federation-error-heading"),
        &tr("msg-unavailable"),
        Some(format!("{}/login", issuer_path(&tenant.slug))),
    )
}

/// Keeps the identity and the account it concerns until the person proves what is needed, and
/// sends them to the proof page.
async fn awaiting_proof(
    state: &AppState,
    tenant: &Tenant,
    provider: &IdentityProvider,
    st: &FederationState,
    identity: UpstreamIdentity,
    target: Option<tessera_core::UserId>,
    jar: CookieJar,
) -> Response {
    let now = Services::now();
    let record = FederationState {
        id: FederationStateId::new(),
        tenant_id: tenant.id,
        provider_id: provider.id,
        stage: FederationStage::AwaitingProof,
        // Never sent anywhere: only the browser's cookie finds this record.
        state_hash: sha256_hex(random_token(32).as_bytes()),
        binding_hash: st.binding_hash.clone(),
        nonce_hash: String::new(),
        pkce_verifier: Secret::new(String::new()),
        return_to: st.return_to.clone(),
        linking_user: None,
        target_user: target,
        payload: Some(json!({ "identity": identity })),
        created_at: now,
        expires_at: now + time::Duration::seconds(LINK_PROOF_TTL_SECS),
    };
    if let Err(e) = state.services.store.create_federation_state(&record).await {
        return unavailable(state, tenant, e);
    }
    (
        jar,
        see_other(&format!(
            "{}/login/idp/{}/link",
            issuer_path(&tenant.slug),
            provider.alias
        )),
    )
        .into_response()
}

/// The provider's tokens as kept with the link, when the provider is set to keep them.
fn kept_tokens(config: &ProviderConfig, identity: &UpstreamIdentity) -> Option<Value> {
    if !config.store_tokens {
        return None;
    }
    let t = &identity.tokens;
    let expires_at = t
        .expires_in
        .map(|s| unix_now().saturating_add(s.clamp(0, 10 * 365 * 86400)));
    Some(json!({
        "access_token": t.access_token.as_ref().map(Secret::expose),
        "refresh_token": t.refresh_token.as_ref().map(Secret::expose),
        "expires_at": expires_at,
        "scope": t.scope,
    }))
}

/// Records the link and `federation.linked`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn create_link(
    state: &AppState,
    tenant: &Tenant,
    provider: &IdentityProvider,
    config: &ProviderConfig,
    identity: &UpstreamIdentity,
    user: tessera_core::UserId,
    method: &str,
    info: &RequestInfo,
) -> Result<(), Response> {
    let now = Services::now();
    let link = LinkedIdentity {
        id: LinkedIdentityId::new(),
        tenant_id: tenant.id,
        user_id: user,
        provider_id: provider.id,
        subject: identity.subject.clone(),
        email: identity.email.clone(),
        tokens: kept_tokens(config, identity),
        created_at: now,
        last_used_at: Some(now),
    };
    match state.services.store.create_linked_identity(&link).await {
        Ok(()) => {}
        Err(StoreError::Conflict(what)) => {
            let reason = if what == "provider" {
                "account_has_identity"
            } else {
                "identity_linked_elsewhere"
            };
            return Err(fail(
                state,
                tenant,
                &provider.alias,
                reason,
                FailureClass::Rejected,
                Some(user),
                info,
            )
            .await);
        }
        Err(e) => return Err(unavailable(state, tenant, e)),
    }
    let ev = Event::new(
        tenant.id,
        now,
        EventKind::FederationLinked {
            provider: provider.alias.clone(),
            method: method.to_string(),
        },
        Actor::user(user),
    )
    .subject(user)
    .target(Target::new("user", user))
    .ip(info.ip.map(|i| i.to_string()))
    .user_agent(info.user_agent.clone());
    state.services.emit(ev).await;
    Ok(())
}

/// Creates the account of someone new (just in time), with the provider's mapped profile and
/// groups, and links the identity. `email_verified` is the provider's word, or true once the
/// person proved the address with an emailed code.
pub(super) async fn provision_verified(
    state: &AppState,
    tenant: &Tenant,
    provider: &IdentityProvider,
    config: &ProviderConfig,
    identity: &UpstreamIdentity,
    email_verified: bool,
    info: &RequestInfo,
) -> Result<User, Response> {
    let svc = &state.services;
    let Some(email) = identity.email.clone() else {
        return Err(fail(
            state,
            tenant,
            &provider.alias,
            "no_email",
            FailureClass::Rejected,
            None,
            info,
        )
        .await);
    };
    let p = profile(config, identity);
    let full = NewUser {
        email: email.clone(),
        email_verified,
        name: p.name.clone(),
        given_name: p.given_name.clone(),
        family_name: p.family_name.clone(),
        phone: p.phone.clone(),
        attributes: (!p.attributes.is_empty()).then(|| Value::Object(p.attributes.clone())),
    };
    let created = match svc
        .create_user(tenant.id, full, None, Actor::system())
        .await
    {
        // A profile value the account cannot hold (a malformed phone number, an over-long
        // name) must not keep the person out: the account is made with the address alone.
        Err(CoreError::Invalid { field, message }) => {
            tracing::info!(field, message = %message, "an upstream profile value was not kept");
            svc.create_user(
                tenant.id,
                NewUser {
                    email,
                    email_verified,
                    ..Default::default()
                },
                None,
                Actor::system(),
            )
            .await
        }
        other => other,
    };
    let user = match created {
        Ok(u) => u,
        Err(CoreError::Conflict(_)) => {
            return Err(fail(
                state,
                tenant,
                &provider.alias,
                "account_exists",
                FailureClass::Rejected,
                None,
                info,
            )
            .await);
        }
        Err(e) => {
            tracing::error!(error = %e, "a just-in-time account could not be created");
            return Err(unavailable(
                state,
                tenant,
                StoreError::Backend(e.to_string()),
            ));
        }
    };
    create_link(
        state,
        tenant,
        provider,
        config,
        identity,
        user.id,
        "provisioned",
        info,
    )
    .await?;
    join_groups(state, tenant, &user, &p).await;
    Ok(user)
}

async fn provision(
    state: &AppState,
    tenant: &Tenant,
    provider: &IdentityProvider,
    config: &ProviderConfig,
    identity: &UpstreamIdentity,
    info: &RequestInfo,
) -> Result<User, Response> {
    provision_verified(
        state,
        tenant,
        provider,
        config,
        identity,
        identity.email_verified,
        info,
    )
    .await
}

/// Adds the person to the local groups the provider's rules name (groups that do not exist are
/// skipped; they are created by operators, not by upstream claims).
async fn join_groups(state: &AppState, tenant: &Tenant, user: &User, p: &Profile) {
    if p.groups.is_empty() {
        return;
    }
    let store = &state.services.store;
    let mut after = None;
    let mut wanted: Vec<&String> = p.groups.iter().collect();
    loop {
        let page = match store
            .list_groups(
                tenant.id,
                &tessera_core::page::PageRequest {
                    after: after.clone(),
                    limit: Some(200),
                },
            )
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "groups could not be listed for upstream group rules");
                return;
            }
        };
        for g in &page.items {
            if let Some(i) = wanted.iter().position(|w| **w == g.name) {
                wanted.remove(i);
                if store.add_member(tenant.id, g.id, user.id).await.is_ok() {
                    let ev = Event::new(
                        tenant.id,
                        Services::now(),
                        EventKind::GroupMemberAdded {
                            group_id: g.id.to_string(),
                        },
                        Actor::system(),
                    )
                    .target(Target::new("user", user.id))
                    .subject(user.id);
                    state.services.emit(ev).await;
                }
            }
        }
        if wanted.is_empty() || page.next_cursor.is_none() {
            return;
        }
        after = page.next_cursor;
    }
}

/// Applies the provider's profile to an existing account at sign-in (`sync_profile`).
async fn sync_profile(state: &AppState, tenant: &Tenant, user: User, p: &Profile) -> User {
    let mut attributes = user.attributes.clone();
    if let Some(obj) = attributes.as_object_mut() {
        for (k, v) in &p.attributes {
            obj.insert(k.clone(), v.clone());
        }
    }
    let patch = UserPatch {
        name: p.name.clone().map(Some),
        given_name: p.given_name.clone().map(Some),
        family_name: p.family_name.clone().map(Some),
        phone: p.phone.clone().map(Some),
        attributes: (attributes != user.attributes).then_some(attributes),
        ..Default::default()
    };
    let updated = match state
        .services
        .update_user(tenant.id, user.id, patch, Actor::system())
        .await
    {
        Ok(u) => u,
        Err(e) => {
            tracing::info!(error = %e, "an upstream profile could not be applied");
            user
        }
    };
    join_groups(state, tenant, &updated, p).await;
    updated
}

/// The identity is settled: the sign-in goes on as any first factor does (access policies, MFA).
#[allow(clippy::too_many_arguments)]
pub(super) async fn sign_in(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    user: &User,
    alias: &str,
    return_to: String,
    methods: Vec<String>,
    info: &RequestInfo,
) -> Response {
    let r = after_first_factor(
        state,
        tenant,
        jar,
        None,
        user,
        methods,
        &format!("federation:{alias}"),
        return_to,
        info,
    )
    .await;
    let base = issuer_path(&tenant.slug);
    let page = |status: StatusCode, message: String| {
        error_page(
            state,
            tenant,
            status,
            &tr("federation-error-heading"),
            &message,
            Some(format!("{base}/login")),
        )
    };
    match r {
        Ok(o) => crate::oidc::authorize::after_sign_in(state, tenant, o, info.ip).await,
        Err(FlowError::EmailUnverified) => {
            page(StatusCode::FORBIDDEN, tr("login-error-unverified"))
        }
        Err(FlowError::Denied { .. }) => page(StatusCode::FORBIDDEN, tr("msg-policy-denied")),
        Err(e) => {
            tracing::error!(error = ?e, "an upstream sign-in could not be completed");
            page(StatusCode::SERVICE_UNAVAILABLE, tr("msg-unavailable"))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn issuer_patterns_match_one_segment() {
        use super::issuer_matches;
        assert!(issuer_matches("https://a.example", "https://a.example"));
        assert!(!issuer_matches("https://a.example", "https://a.example/"));
        let p = "https://login.example/{tenantid}/v2.0";
        assert!(issuer_matches(p, "https://login.example/t-1/v2.0"));
        assert!(!issuer_matches(p, "https://login.example//v2.0"));
        assert!(!issuer_matches(p, "https://login.example/a/b/v2.0"));
        assert!(!issuer_matches(p, "https://evil.example/t-1/v2.0"));
    }
}
