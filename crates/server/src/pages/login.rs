//! `{issuer}/login`: the email + password form.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use tessera_core::Secret;
use tessera_core::tenant::Tenant;

use super::{
    csrf, current_session, issuer_path, load_tenant, parse_form, render, safe_return_to, see_other,
    user_agent,
};
use crate::i18n::{tr, tr_args};
use crate::signin::{SignInError, password_sign_in};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    return_to: Option<String>,
    #[serde(default)]
    login_hint: Option<String>,
    /// `login` asks for the password even when a session exists (OIDC `prompt=login`, `max_age`).
    #[serde(default)]
    prompt: Option<String>,
    /// An identity provider to go to straight away (its alias): a link on another site, or an
    /// application's `kc_idp_hint` / `idp_hint` carried from the authorization request.
    #[serde(default)]
    idp: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    pow_challenge: String,
    #[serde(default)]
    pow_solution: String,
}

pub async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    // A malformed query is treated as an empty one: the form still works.
    let q: LoginQuery = query
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let return_to = q
        .return_to
        .as_deref()
        .and_then(|r| safe_return_to(&state.services.config.public_url, r));
    let forced = q.prompt.as_deref() == Some("login");
    if !forced && current_session(&state, &tenant, &jar).await.is_some() {
        return see_other(
            &return_to.unwrap_or_else(|| format!("{}/account", issuer_path(&tenant.slug))),
        );
    }
    // Straight to an identity provider: named by `idp`, or routed by the hinted email's domain.
    if let Some(to) = crate::federation::login_redirect(
        &state,
        &tenant,
        q.idp.as_deref(),
        q.login_hint.as_deref(),
        return_to.as_deref().unwrap_or(""),
    )
    .await
    {
        return see_other(&to);
    }
    crate::federation::prepare_login_page(&state, &tenant).await;
    let email = q.login_hint.filter(|h| h.len() <= 254).unwrap_or_default();
    form(
        &state,
        &tenant,
        jar,
        StatusCode::OK,
        &email,
        return_to.as_deref().unwrap_or(""),
        None,
    )
}

fn form(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    status: StatusCode,
    email: &str,
    return_to: &str,
    error: Option<&str>,
) -> Response {
    let secure = state.services.config.secure_cookies();
    let (jar, csrf_token) =
        csrf::token_for(jar, &state.csrf_key, &issuer_path(&tenant.slug), secure);
    let (pow_challenge, _) = crate::risk::pow::challenge(state, tenant).unzip();
    let page = render(
        state,
        tenant,
        status,
        "login.html",
        minijinja::context! {
            email, return_to, error, csrf_token, pow_challenge,
            passkey_sign_in => tenant.settings.mfa.passkey_sign_in,
            email_sign_in => tenant.settings.mfa.email_code_sign_in || tenant.settings.mfa.magic_link_sign_in,
            email_code_sign_in => tenant.settings.mfa.email_code_sign_in,
            identity_providers => crate::federation::login_buttons(state, tenant),
        },
    );
    (jar, page).into_response()
}

pub async fn submit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Some(f) = parse_form::<LoginForm>(&body) else {
        return form(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            "",
            "",
            Some(&tr("msg-form-unreadable")),
        );
    };
    let return_to = safe_return_to(&state.services.config.public_url, &f.return_to);
    let return_field = return_to.clone().unwrap_or_default();
    let email = f.email.trim().chars().take(254).collect::<String>();
    if !csrf::verify(&jar, &state.csrf_key, &f.csrf_token) {
        return form(
            &state,
            &tenant,
            jar,
            StatusCode::FORBIDDEN,
            &email,
            &return_field,
            Some(&tr("login-error-form-expired")),
        );
    }
    // An address of an enterprise connection's domain signs in at its provider, not here.
    if let Some(to) =
        crate::federation::login_redirect(&state, &tenant, None, Some(&email), &return_field).await
    {
        return see_other(&to);
    }
    crate::federation::prepare_login_page(&state, &tenant).await;
    if email.is_empty() || f.password.is_empty() {
        return form(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            &email,
            &return_field,
            Some(&tr("login-error-missing")),
        );
    }
    // A proof of work, when the tenant asks for one (always, or from suspicious sources).
    let risk_info = crate::risk::AttemptInfo {
        email: &email,
        ip: Some(peer.ip()),
        user_agent: user_agent(&headers),
        device_id: None,
        password: None,
        privileged: false,
    };
    if crate::risk::pow::required(&state, &tenant, &risk_info)
        && !crate::risk::pow::verify(&state, &tenant, &f.pow_challenge, &f.pow_solution)
    {
        return form(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            &email,
            &return_field,
            Some(&tr("msg-pow-needed")),
        );
    }
    match password_sign_in(
        &state,
        &tenant,
        &email,
        Secret::new(f.password),
        Some(peer.ip()),
        user_agent(&headers),
        crate::risk::device_id(&state, &tenant, &jar),
    )
    .await
    {
        Ok(user) => {
            let info = crate::mfa::flow::RequestInfo {
                ip: Some(peer.ip()),
                user_agent: user_agent(&headers).map(str::to_string),
            };
            let flow = crate::mfa::flow::current(&state, &tenant, &jar).await;
            let methods = vec![tessera_core::mfa::AMR_PWD.to_string()];
            match crate::mfa::flow::after_first_factor(
                &state,
                &tenant,
                jar.clone(),
                flow,
                &user,
                methods,
                "password",
                return_field.clone(),
                &info,
            )
            .await
            {
                Ok(o) => {
                    crate::oidc::authorize::after_sign_in(&state, &tenant, o, Some(peer.ip())).await
                }
                Err(crate::mfa::flow::FlowError::EmailUnverified) => form(
                    &state,
                    &tenant,
                    jar,
                    StatusCode::FORBIDDEN,
                    &email,
                    &return_field,
                    Some(&tr("login-error-unverified")),
                ),
                Err(crate::mfa::flow::FlowError::Denied { policy }) => form(
                    &state,
                    &tenant,
                    jar,
                    StatusCode::FORBIDDEN,
                    &email,
                    &return_field,
                    Some(&tr(if policy == crate::mfa::flow::RISK_POLICY {
                        "login-error-refused"
                    } else {
                        "msg-policy-denied"
                    })),
                ),
                Err(e) => {
                    tracing::error!(error = ?e, "sign-in failed with an internal error");
                    form(
                        &state,
                        &tenant,
                        jar,
                        StatusCode::SERVICE_UNAVAILABLE,
                        &email,
                        &return_field,
                        Some(&tr("login-error-unavailable")),
                    )
                }
            }
        }
        Err(SignInError::InvalidCredentials) => form(
            &state,
            &tenant,
            jar,
            StatusCode::UNAUTHORIZED,
            &email,
            &return_field,
            Some(&tr("login-error-invalid")),
        ),
        Err(SignInError::Throttled { retry_after_secs }) => {
            let msg = tr_args(
                "login-error-throttled",
                &[("seconds", retry_after_secs.into())],
            );
            let mut r = form(
                &state,
                &tenant,
                jar,
                StatusCode::TOO_MANY_REQUESTS,
                &email,
                &return_field,
                Some(&msg),
            );
            set_retry_after(&mut r, retry_after_secs);
            r
        }
        Err(SignInError::Overloaded) => {
            let mut r = form(
                &state,
                &tenant,
                jar,
                StatusCode::SERVICE_UNAVAILABLE,
                &email,
                &return_field,
                Some(&tr("login-error-busy")),
            );
            set_retry_after(&mut r, 2);
            r
        }
        Err(SignInError::RiskBlocked) => form(
            &state,
            &tenant,
            jar,
            StatusCode::FORBIDDEN,
            &email,
            &return_field,
            Some(&tr("login-error-refused")),
        ),
        Err(SignInError::PolicyDenied { .. }) => form(
            &state,
            &tenant,
            jar,
            StatusCode::FORBIDDEN,
            &email,
            &return_field,
            Some(&tr("msg-policy-denied")),
        ),
        Err(SignInError::Internal(e)) => {
            tracing::error!(error = %e, "sign-in failed with an internal error");
            let mut r = form(
                &state,
                &tenant,
                jar,
                StatusCode::SERVICE_UNAVAILABLE,
                &email,
                &return_field,
                Some(&tr("login-error-unavailable")),
            );
            // A 503 says when to come back (RFC 9110 §15.6.4), whatever its cause.
            set_retry_after(&mut r, 5);
            r
        }
    }
}

fn set_retry_after(r: &mut Response, secs: u64) {
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
}
