//! The authorization endpoint (`{issuer}/authorize`), its continuation after sign-in, and the
//! consent page. The validated request is carried across the sign-in page sealed under the master
//! key (authenticated encryption), so any node can resume it and nobody can alter it.

use axum::body::Bytes;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use tessera_core::client::Client;
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::oauth::{AuthorizationCode, ConsentGrant};
use tessera_core::session::Session;
use tessera_core::store::GrantStore;
use tessera_core::tenant::Tenant;
use tessera_crypto::{random_token, sha256_hex};
use tessera_oidc::authorize::{AuthorizeFailure, AuthorizeRequest, Prompt, ResponseMode, validate};
use tessera_oidc::{ErrorCode, OAuthError, Params};

use crate::app::Services;
use crate::mfa::flow::{NewSession, Outcome};
use crate::pages::{
    csrf, current_session, error_page, issuer_path, load_tenant, parse_form, render, see_other,
};
use crate::state::AppState;

/// How long a sealed authorization request may wait for sign-in and consent.
const PENDING_TTL_SECS: i64 = 30 * 60;
const CODE_TTL_SECS: i64 = 60;

#[derive(Serialize, Deserialize)]
struct Pending {
    tenant: String,
    /// Unix milliseconds when the request arrived.
    started_at: i64,
    req: AuthorizeRequest,
}

fn seal(
    state: &AppState,
    tenant: &Tenant,
    req: &AuthorizeRequest,
    started_at: i64,
) -> Option<String> {
    let p = Pending {
        tenant: tenant.id.to_string(),
        started_at,
        req: req.clone(),
    };
    let json = serde_json::to_vec(&p).ok()?;
    let sealed = state
        .services
        .crypto
        .encrypt(b"authorize-request v1", &json)
        .ok()?;
    Some(URL_SAFE_NO_PAD.encode(sealed))
}

/// Unix time in milliseconds.
fn unix_ms(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn unseal(state: &AppState, tenant: &Tenant, sealed: &str) -> Option<Pending> {
    let raw = URL_SAFE_NO_PAD.decode(sealed.as_bytes()).ok()?;
    let json = state
        .services
        .crypto
        .decrypt(b"authorize-request v1", &raw)
        .ok()?;
    let p: Pending = serde_json::from_slice(&json).ok()?;
    let age_ms = unix_ms(Services::now()) - p.started_at;
    (p.tenant == tenant.id.to_string() && (0..=PENDING_TTL_SECS * 1000).contains(&age_ms))
        .then_some(p)
}

pub async fn get(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(q): RawQuery,
    jar: CookieJar,
) -> Response {
    start(
        state,
        slug,
        q.unwrap_or_default().into_bytes(),
        jar,
        peer.ip(),
    )
    .await
}

pub async fn post(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    start(state, slug, body.to_vec(), jar, peer.ip()).await
}

async fn start(
    state: AppState,
    slug: String,
    raw: Vec<u8>,
    jar: CookieJar,
    ip: IpAddr,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let params = match Params::parse(&raw) {
        Ok(p) => p,
        Err(e) => return bad_request_page(&state, &tenant, &e),
    };
    let Some(client_id) = params.get("client_id") else {
        return bad_request_page(
            &state,
            &tenant,
            &OAuthError::invalid_request("client_id is missing"),
        );
    };
    let client = match state.services.cached_client(tenant.id, client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return bad_request_page(
                &state,
                &tenant,
                &OAuthError::invalid_request("unknown client_id"),
            );
        }
        Err(e) => return server_error(&state, &tenant, &e.to_string()),
    };
    let req = match validate(&params, &client) {
        Ok(r) => r,
        Err(AuthorizeFailure::ShowPage(e)) => return bad_request_page(&state, &tenant, &e),
        Err(AuthorizeFailure::Redirect {
            redirect_uri,
            response_mode,
            state: st,
            error,
        }) => {
            return error_response(
                &state,
                &tenant,
                &redirect_uri,
                response_mode,
                st.as_deref(),
                &error,
            );
        }
    };
    proceed(
        &state,
        &tenant,
        &client,
        req,
        unix_ms(Services::now()),
        jar,
        ip,
        None,
    )
    .await
}

/// `{issuer}/authorize/continue?req=…`: where the sign-in page returns to.
pub async fn resume(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(q): RawQuery,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let sealed = Params::parse(q.unwrap_or_default().as_bytes())
        .ok()
        .and_then(|p| p.get("req").map(str::to_string));
    let Some(pending) = sealed.as_deref().and_then(|s| unseal(&state, &tenant, s)) else {
        return error_page(
            &state,
            &tenant,
            StatusCode::BAD_REQUEST,
            &crate::i18n::tr("authorize-expired-heading"),
            &crate::i18n::tr("authorize-expired"),
            None,
        );
    };
    let client = match state
        .services
        .cached_client(tenant.id, &pending.req.client_id)
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) => {
            return bad_request_page(
                &state,
                &tenant,
                &OAuthError::invalid_request("unknown client_id"),
            );
        }
        Err(e) => return server_error(&state, &tenant, &e.to_string()),
    };
    proceed(
        &state,
        &tenant,
        &client,
        pending.req,
        pending.started_at,
        jar,
        peer.ip(),
        None,
    )
    .await
}

/// The answer to a sign-in step that sends the browser to `outcome.location`.
///
/// When the step has just started a session and the location is this tenant's
/// `authorize/continue`, the authorization request continues in this same response, with the
/// session and account the sign-in holds: the code (or the consent page, a step-up, the
/// request's error) comes back with the session's cookies, as `GET {issuer}/authorize/continue`
/// would answer the redirect. That spares the browser a round trip and the server a request with
/// its reads of the session and the account. Any other location, and a continuation that cannot
/// be read (expired or altered: the continuation endpoint shows the page for it) or a step that
/// does not know the browser's address, is a redirect.
pub async fn after_sign_in(
    state: &AppState,
    tenant: &Tenant,
    outcome: Outcome,
    ip: Option<IpAddr>,
) -> Response {
    let Outcome {
        jar,
        location,
        signed_in,
    } = outcome;
    let continuation = format!("{}/authorize/continue?", issuer_path(&tenant.slug));
    let pending = signed_in.as_ref().and_then(|_| {
        let query = location.strip_prefix(&continuation)?;
        let sealed = Params::parse(query.as_bytes())
            .ok()?
            .get("req")?
            .to_string();
        unseal(state, tenant, &sealed)
    });
    // The network address decides conditional access; a step that does not know it leaves the
    // decision to the continuation endpoint, which does.
    let (Some(signed_in), Some(pending), Some(ip)) = (signed_in, pending, ip) else {
        return with_cookies(jar, see_other(&location));
    };
    let client = match state
        .services
        .cached_client(tenant.id, &pending.req.client_id)
        .await
    {
        Ok(Some(c)) => c,
        // Removed since the request started, or not readable now: the continuation endpoint
        // answers it as it would without this shortcut.
        _ => return with_cookies(jar, see_other(&location)),
    };
    let mut response = proceed(
        state,
        tenant,
        &client,
        pending.req,
        pending.started_at,
        jar,
        ip,
        Some(signed_in),
    )
    .await;
    // The step answered a form, most often one with a password: its redirect is 303 See Other,
    // which no user agent follows by sending the form again (RFC 9700 §4.12).
    if response.status() == StatusCode::FOUND {
        *response.status_mut() = StatusCode::SEE_OTHER;
    }
    response
}

/// Decides what the request still needs (sign-in, consent) and otherwise issues the code.
/// `signed_in` is the session a sign-in started in this very request, with its account (see
/// [`after_sign_in`]); without it the browser's session cookie is looked up. Every answer carries
/// the cookies of `jar` (none for a request that set none).
#[allow(clippy::too_many_arguments)]
async fn proceed(
    state: &AppState,
    tenant: &Tenant,
    client: &Client,
    req: AuthorizeRequest,
    started_at: i64,
    jar: CookieJar,
    ip: IpAddr,
    signed_in: Option<Box<NewSession>>,
) -> Response {
    let now = Services::now();
    // The application's `ui_locales` chooses the language of the pages of this request.
    if let Some(l) = &req.ui_locales {
        crate::i18n::ask(l);
    }
    let (session, known_user) = match signed_in {
        Some(s) => {
            let NewSession { session, user } = *s;
            (Some(session), Some(user))
        }
        None => (current_session(state, tenant, &jar).await, None),
    };
    let needs_login = match &session {
        None => true,
        Some(s) => {
            // Millisecond precision: a sign-in made for this very request (after it started) is
            // fresh, whatever prompt=login or max_age say; an earlier one is judged by them.
            let auth_ms = unix_ms(s.created_at);
            let fresh_for_request = auth_ms >= started_at;
            let forced = req.has_prompt(Prompt::Login) && !fresh_for_request;
            let too_old = req.max_age.is_some_and(|m| {
                !fresh_for_request && unix_ms(now) - auth_ms > m.saturating_mul(1000)
            });
            forced || too_old
        }
    };
    if needs_login {
        if req.has_prompt(Prompt::None) {
            let why = "the user is not signed in";
            return refuse(state, tenant, &req, jar, ErrorCode::LoginRequired, why);
        }
        let Some(sealed) = seal(state, tenant, &req, started_at) else {
            return with_cookies(
                jar,
                server_error(state, tenant, "could not seal the authorization request"),
            );
        };
        let base = issuer_path(&tenant.slug);
        let return_to = format!("{base}/authorize/continue?req={sealed}");
        let mut login = url::form_urlencoded::Serializer::new(String::new());
        login.append_pair("return_to", &return_to);
        if session.is_some() {
            login.append_pair("prompt", "login");
        }
        if let Some(h) = &req.login_hint {
            login.append_pair("login_hint", h);
        }
        if let Some(idp) = &req.idp_hint {
            login.append_pair("idp", idp);
        }
        // The application's language wish reaches the sign-in page (which remembers it).
        if let Some(l) = &req.ui_locales {
            login.append_pair("ui_locales", l);
        }
        return with_cookies(jar, see_other(&format!("{base}/login?{}", login.finish())));
    }
    let Some(session) = session else {
        return with_cookies(jar, server_error(state, tenant, "session vanished"));
    };

    let user = match known_user {
        Some(u) => Ok(u),
        None => state.services.user(tenant.id, session.user_id).await,
    };
    let user = match user {
        Ok(u) if u.can_sign_in() => u,
        _ => {
            let why = "the account cannot sign in";
            return refuse(state, tenant, &req, jar, ErrorCode::AccessDenied, why);
        }
    };
    // Conditional access for this application, on this request's network and the session's factors.
    let decision = crate::app::authz::policy_decision(
        &state.services,
        &state.authz,
        tenant,
        &user,
        Some(&client.client_id),
        tessera_core::authz::AccessContext {
            ip: Some(ip),
            auth_time: Some(session.created_at),
            amr: session.auth_methods.clone(),
            country: crate::geo::country(state, Some(ip)),
            trusted_device: crate::mfa::device::remembers(state, tenant, &jar, user.id),
            ..Default::default()
        },
    )
    .await;
    // A second factor the application asks for (acr_values or a require_mfa policy) is a
    // step-up: the signed-in user passes it and comes back here.
    let requested_acr = req.acr_values.as_deref();
    let acr_unmet = tessera_core::mfa::acr_request_needs_mfa(requested_acr)
        && !requested_acr
            .into_iter()
            .flat_map(str::split_whitespace)
            .any(|a| tessera_core::mfa::satisfies_acr(&session.auth_methods, a));
    let refused = match decision {
        Ok(tessera_core::authz::PolicyDecision::Allow) if !acr_unmet => None,
        Ok(tessera_core::authz::PolicyDecision::Deny { policy }) => {
            Some((policy, "access to this application is denied by policy"))
        }
        Ok(tessera_core::authz::PolicyDecision::Allow)
        | Ok(tessera_core::authz::PolicyDecision::MfaRequired { .. }) => {
            if req.has_prompt(Prompt::None) {
                return refuse(
                    state,
                    tenant,
                    &req,
                    jar,
                    ErrorCode::InteractionRequired,
                    "the application asks for a second factor",
                );
            }
            let Some(sealed) = seal(state, tenant, &req, started_at) else {
                return with_cookies(
                    jar,
                    server_error(state, tenant, "could not seal the authorization request"),
                );
            };
            let base = issuer_path(&tenant.slug);
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair(
                "return_to",
                &format!("{base}/authorize/continue?req={sealed}"),
            );
            if acr_unmet && tessera_core::mfa::acr_request_needs_webauthn(requested_acr) {
                q.append_pair("webauthn", "1");
            }
            return with_cookies(
                jar,
                see_other(&format!("{base}/login/mfa/step-up?{}", q.finish())),
            );
        }
        Err(e) => return with_cookies(jar, server_error(state, tenant, &e.to_string())),
    };
    if let Some((policy, why)) = refused {
        let kind = EventKind::AccessDenied {
            policy,
            client_id: Some(client.client_id.clone()),
            reason: why.into(),
        };
        let ev = Event::new(tenant.id, now, kind, Actor::user(user.id))
            .failed()
            .subject(user.id)
            .target(Target::new("client", &client.client_id))
            .ip(Some(ip.to_string()));
        state.services.emit(ev).await;
        return refuse(state, tenant, &req, jar, ErrorCode::AccessDenied, why);
    }

    if !client.first_party {
        let consent = match state
            .services
            .store
            .get_consent(tenant.id, user.id, &client.client_id)
            .await
        {
            Ok(c) => c,
            Err(e) => return with_cookies(jar, server_error(state, tenant, &e.to_string())),
        };
        let requested: Vec<&str> = req.scopes.iter().map(String::as_str).collect();
        let covered = consent.as_ref().is_some_and(|c| c.covers(&requested));
        if !covered || req.has_prompt(Prompt::Consent) {
            if req.has_prompt(Prompt::None) {
                return refuse(
                    state,
                    tenant,
                    &req,
                    jar,
                    ErrorCode::ConsentRequired,
                    "the user has not consented to these scopes",
                );
            }
            return consent_page(state, tenant, client, &req, started_at, jar);
        }
    }
    issue_code(state, tenant, &req, &session, jar).await
}

fn consent_page(
    state: &AppState,
    tenant: &Tenant,
    client: &Client,
    req: &AuthorizeRequest,
    started_at: i64,
    jar: CookieJar,
) -> Response {
    let Some(sealed) = seal(state, tenant, req, started_at) else {
        return server_error(state, tenant, "could not seal the authorization request");
    };
    let (jar, csrf_token) = csrf::token_for(
        jar,
        &state.csrf_key,
        &issuer_path(&tenant.slug),
        state.services.config.secure_cookies(),
    );
    let scopes: Vec<String> = req.scopes.iter().map(|s| describe_scope(s)).collect();
    let page = render(
        state,
        tenant,
        StatusCode::OK,
        "consent.html",
        minijinja::context! { client_name => client.name.clone(), scopes, req => sealed, csrf_token },
    );
    (jar, page).into_response()
}

fn describe_scope(s: &str) -> String {
    use crate::i18n::{tr, tr_args};
    match s {
        "openid" => tr("scope-openid"),
        "profile" => tr("scope-profile"),
        "email" => tr("scope-email"),
        "phone" => tr("scope-phone"),
        "address" => tr("scope-address"),
        "offline_access" => tr("scope-offline-access"),
        other => tr_args("scope-other", &[("scope", other.to_string().into())]),
    }
}

#[derive(Deserialize)]
struct ConsentForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    req: String,
    #[serde(default)]
    decision: String,
}

/// `POST {issuer}/authorize/consent`.
pub async fn consent(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Some(form) = parse_form::<ConsentForm>(&body) else {
        return error_page(
            &state,
            &tenant,
            StatusCode::BAD_REQUEST,
            &crate::i18n::tr("authorize-invalid-heading"),
            &crate::i18n::tr("msg-form-unreadable-short"),
            None,
        );
    };
    if !csrf::verify(&jar, &state.csrf_key, &form.csrf_token) {
        return error_page(
            &state,
            &tenant,
            StatusCode::FORBIDDEN,
            &crate::i18n::tr("authorize-form-expired-heading"),
            &crate::i18n::tr("authorize-form-expired"),
            None,
        );
    }
    let Some(pending) = unseal(&state, &tenant, &form.req) else {
        return error_page(
            &state,
            &tenant,
            StatusCode::BAD_REQUEST,
            &crate::i18n::tr("authorize-expired-heading"),
            &crate::i18n::tr("authorize-request-expired"),
            None,
        );
    };
    let req = pending.req;
    let Some(session) = current_session(&state, &tenant, &jar).await else {
        return see_other(&format!("{}/login", issuer_path(&tenant.slug)));
    };
    if form.decision != "allow" {
        return error_response(
            &state,
            &tenant,
            &req.redirect_uri,
            req.response_mode,
            req.state.as_deref(),
            &OAuthError::new(ErrorCode::AccessDenied, "the user denied the request"),
        );
    }
    let now = Services::now();
    let mut scopes = req.scopes.clone();
    if let Ok(Some(previous)) = state
        .services
        .store
        .get_consent(tenant.id, session.user_id, &req.client_id)
        .await
    {
        for s in previous.scopes {
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
    }
    let grant = ConsentGrant {
        tenant_id: tenant.id,
        user_id: session.user_id,
        client_id: req.client_id.clone(),
        scopes,
        granted_at: now,
    };
    if let Err(e) = state.services.store.upsert_consent(&grant).await {
        return server_error(&state, &tenant, &e.to_string());
    }
    let kind = EventKind::ConsentGiven {
        client_id: grant.client_id.clone(),
        scopes: req.scopes.clone(),
    };
    let ev = Event::new(tenant.id, now, kind, Actor::user(session.user_id))
        .target(Target::new("client", &grant.client_id))
        .subject(session.user_id);
    state.services.emit(ev).await;
    issue_code(&state, &tenant, &req, &session, jar).await
}

async fn issue_code(
    state: &AppState,
    tenant: &Tenant,
    req: &AuthorizeRequest,
    session: &Session,
    jar: CookieJar,
) -> Response {
    let now = Services::now();
    let code = random_token(32);
    let record = AuthorizationCode {
        code_hash: sha256_hex(code.as_bytes()),
        tenant_id: tenant.id,
        client_id: req.client_id.clone(),
        user_id: session.user_id,
        session_id: Some(session.id),
        redirect_uri: req.redirect_uri.clone(),
        scope: req.scopes.join(" "),
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.clone(),
        code_challenge_method: req.code_challenge_method.clone(),
        auth_time: session.created_at,
        acr: Some(tessera_core::mfa::acr_for_request(
            &session.auth_methods,
            req.acr_values.as_deref(),
        )),
        amr: session.auth_methods.clone(),
        created_at: now,
        expires_at: now + time::Duration::seconds(CODE_TTL_SECS),
        consumed_at: None,
    };
    let store = &state.services.store;
    // Also records the client among the session's clients (for back-channel logout).
    if let Err(e) = store.insert_authorization_code(&record).await {
        return server_error(state, tenant, &e.to_string());
    }
    tracing::info!(tenant = %tenant.slug, client_id = %req.client_id, user = %session.user_id, "authorization code issued");
    let issuer = tenant.issuer(&state.services.config.public_url);
    let mut pairs: Vec<(&str, &str)> = vec![("code", &code)];
    if let Some(s) = &req.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &issuer));
    (jar, respond(&req.redirect_uri, req.response_mode, &pairs)).into_response()
}

/// The request's error `code` sent back to its client (see [`error_response`]), with the
/// cookies `jar` sets.
fn refuse(
    state: &AppState,
    tenant: &Tenant,
    req: &AuthorizeRequest,
    jar: CookieJar,
    code: ErrorCode,
    description: &'static str,
) -> Response {
    let e = OAuthError::new(code, description);
    let response = error_response(
        state,
        tenant,
        &req.redirect_uri,
        req.response_mode,
        req.state.as_deref(),
        &e,
    );
    with_cookies(jar, response)
}

/// `response` with the cookies `jar` sets (none for a jar as the request brought it).
fn with_cookies(jar: CookieJar, response: Response) -> Response {
    (jar, response).into_response()
}

/// Sends an error back to the client (RFC 6749 §4.1.2.1, RFC 9207 `iss`).
fn error_response(
    state: &AppState,
    tenant: &Tenant,
    redirect_uri: &str,
    mode: ResponseMode,
    st: Option<&str>,
    e: &OAuthError,
) -> Response {
    let issuer = tenant.issuer(&state.services.config.public_url);
    let mut pairs: Vec<(&str, &str)> = vec![
        ("error", e.code.as_str()),
        ("error_description", &e.description),
    ];
    if let Some(s) = st {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &issuer));
    respond(redirect_uri, mode, &pairs)
}

fn respond(redirect_uri: &str, mode: ResponseMode, pairs: &[(&str, &str)]) -> Response {
    match mode {
        ResponseMode::Query => {
            let Ok(mut url) = url::Url::parse(redirect_uri) else {
                return (StatusCode::BAD_REQUEST, "invalid redirect_uri").into_response();
            };
            url.query_pairs_mut().extend_pairs(pairs.iter().copied());
            match HeaderValue::from_str(url.as_str()) {
                Ok(v) => (
                    StatusCode::FOUND,
                    [
                        (header::LOCATION, v),
                        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                    ],
                )
                    .into_response(),
                Err(_) => (StatusCode::BAD_REQUEST, "invalid redirect_uri").into_response(),
            }
        }
        ResponseMode::FormPost => form_post(redirect_uri, pairs),
    }
}

/// OAuth 2.0 Form Post Response Mode: an auto-submitting form. The one inline script is allowed by
/// a per-response CSP nonce; without JavaScript the user presses the button.
fn form_post(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let nonce = random_token(16);
    let esc = |s: &str| minijinja::HtmlEscape(s).to_string();
    let inputs: String = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Continue</title></head><body>\
<form method=\"post\" action=\"{}\">{inputs}<noscript><button type=\"submit\">Continue</button></noscript></form>\
<script nonce=\"{nonce}\">document.forms[0].submit();</script></body></html>",
        esc(redirect_uri)
    );
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'"
    );
    let mut resp = (StatusCode::OK, html).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

fn bad_request_page(state: &AppState, tenant: &Tenant, e: &OAuthError) -> Response {
    let msg = crate::i18n::tr_args(
        "authorize-bad-request",
        &[
            ("code", e.code.as_str().to_string().into()),
            ("description", e.description.to_string().into()),
        ],
    );
    error_page(
        state,
        tenant,
        StatusCode::BAD_REQUEST,
        &crate::i18n::tr("authorize-bad-request-heading"),
        &msg,
        None,
    )
}

fn server_error(state: &AppState, tenant: &Tenant, detail: &str) -> Response {
    tracing::error!(error = %detail, "authorization endpoint failed");
    error_page(
        state,
        tenant,
        StatusCode::SERVICE_UNAVAILABLE,
        &crate::i18n::tr("msg-unavailable"),
        &crate::i18n::tr("login-error-unavailable"),
        None,
    )
}
