//! `{issuer}/account/security`: a signed-in user's factors. Adding, renaming or removing a factor
//! and making new recovery codes need a recent sign-in ([`REAUTH_WINDOW_SECS`]); an older session
//! is sent through the sign-in page again (with its second factor, if any) first.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::mfa::{FactorKind, SecondFactor};
use tessera_core::session::Session;
use tessera_core::store::{MfaStore, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::user::User;

use super::{csrf, current_session, issuer_path, load_tenant, parse_form, render, see_other};
use crate::app::Services;
use crate::i18n::tr;
use crate::mfa::{recovery, totp};
use crate::state::AppState;

/// How recent a sign-in must be to change factors.
pub const REAUTH_WINDOW_SECS: i64 = 10 * 60;

/// Whether the session signed in recently enough to change its factors.
pub fn recently_signed_in(session: &Session) -> bool {
    (Services::now() - session.created_at).whole_seconds() < REAUTH_WINDOW_SECS
}

fn login_redirect(tenant: &Tenant, prompt_login: bool) -> Response {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair(
        "return_to",
        &format!("{}/account/security", issuer_path(&tenant.slug)),
    );
    if prompt_login {
        q.append_pair("prompt", "login");
    }
    see_other(&format!(
        "{}/login?{}",
        issuer_path(&tenant.slug),
        q.finish()
    ))
}

async fn signed_in(
    state: &AppState,
    tenant: &Tenant,
    jar: &CookieJar,
) -> Result<(Session, User), Response> {
    let Some(session) = current_session(state, tenant, jar).await else {
        return Err(login_redirect(tenant, false));
    };
    match state
        .services
        .store
        .get_user(tenant.id, session.user_id)
        .await
    {
        Ok(Some(u)) if u.can_sign_in() => Ok((session, u)),
        Ok(_) => Err(login_redirect(tenant, false)),
        Err(e) => {
            tracing::error!(error = %e, "user lookup failed");
            Err((StatusCode::SERVICE_UNAVAILABLE, "Temporarily unavailable.").into_response())
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    session: &Session,
    user: &User,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
    new_codes: Option<Vec<String>>,
) -> Response {
    let store = &state.services.store;
    let factors = match store.list_factors(tenant.id, user.id).await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "factor lookup failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "Temporarily unavailable.").into_response();
        }
    };
    let recovery_left = store
        .count_recovery_codes(tenant.id, user.id)
        .await
        .unwrap_or(0);
    let s = &tenant.settings.mfa;
    let recent = recently_signed_in(session);
    let enabled = s.enabled;
    let totp_setup = if recent && enabled && s.allows(SecondFactor::Totp) {
        match totp::pending_factor(state, tenant, user).await {
            Ok(f) => {
                let e = totp::enrollment(tenant, user, &f);
                Some(minijinja::context! {
                    factor_id => e.factor_id.to_string(),
                    uri => e.uri,
                    qr_svg => minijinja::Value::from_safe_string(e.qr_svg),
                    secret => e.secret_display,
                })
            }
            Err(e) => {
                tracing::error!(error = %e, "could not prepare a TOTP enrolment");
                None
            }
        }
    } else {
        None
    };
    let list: Vec<minijinja::Value> = factors
        .iter()
        .filter(|f| f.is_confirmed())
        .map(|f| {
            minijinja::context! {
                id => f.id.to_string(),
                kind => f.kind.as_str(),
                kind_label => match f.kind {
                    FactorKind::Totp => tr("security-kind-totp"),
                    FactorKind::Webauthn if f.discoverable => tr("security-kind-passkey"),
                    FactorKind::Webauthn => tr("security-kind-security-key"),
                },
                name => &f.name,
                created => crate::api::rfc3339(f.created_at),
                last_used => f.last_used_at.map(crate::api::rfc3339),
            }
        })
        .collect();
    let (jar, csrf_token) = csrf::token_for(
        jar,
        &state.csrf_key,
        &issuer_path(&tenant.slug),
        state.services.config.secure_cookies(),
    );
    let html = render(
        state,
        tenant,
        status,
        "security.html",
        minijinja::context! {
            csrf_token, error, notice,
            factors => list,
            recent,
            recovery_left,
            new_codes,
            totp => totp_setup,
            webauthn => s.allows(SecondFactor::Webauthn) && (enabled || s.passkey_sign_in),
            recovery_allowed => enabled && s.allows(SecondFactor::RecoveryCode),
            reauth_link => {
                let mut q = url::form_urlencoded::Serializer::new(String::new());
                q.append_pair("return_to", &format!("{}/account/security", issuer_path(&tenant.slug)));
                q.append_pair("prompt", "login");
                format!("{}/login?{}", issuer_path(&tenant.slug), q.finish())
            },
        },
    );
    (jar, html).into_response()
}

pub async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (session, user) = match signed_in(&state, &tenant, &jar).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    page(
        &state,
        &tenant,
        jar,
        &session,
        &user,
        StatusCode::OK,
        None,
        None,
        None,
    )
    .await
}

#[derive(Deserialize)]
struct SecurityForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    factor_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    code: String,
}

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
    let (session, user) = match signed_in(&state, &tenant, &jar).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    macro_rules! answer {
        ($status:expr, $error:expr, $notice:expr, $codes:expr) => {
            return page(
                &state, &tenant, jar, &session, &user, $status, $error, $notice, $codes,
            )
            .await
        };
    }
    let Some(f) = parse_form::<SecurityForm>(&body) else {
        answer!(
            StatusCode::BAD_REQUEST,
            Some(&tr("msg-form-unreadable")),
            None,
            None
        );
    };
    if !csrf::verify(&jar, &state.csrf_key, &f.csrf_token) {
        answer!(
            StatusCode::FORBIDDEN,
            Some(&tr("msg-form-expired")),
            None,
            None
        );
    }
    if !recently_signed_in(&session) {
        answer!(
            StatusCode::FORBIDDEN,
            Some(&tr("security-msg-reauth")),
            None,
            None
        );
    }
    let store = &state.services.store;
    let factor_id = tessera_core::FactorId::parse(&f.factor_id);
    match f.action.as_str() {
        "confirm_totp" => {
            let Some(id) = factor_id else {
                answer!(
                    StatusCode::BAD_REQUEST,
                    Some(&tr("msg-form-unreadable-short")),
                    None,
                    None
                );
            };
            if !tenant.settings.mfa.enabled || !tenant.settings.mfa.allows(SecondFactor::Totp) {
                answer!(
                    StatusCode::BAD_REQUEST,
                    Some(&tr("mfa-msg-totp-not-offered")),
                    None,
                    None
                );
            }
            match totp::confirm(&state, &tenant, &user, id, &f.code, &f.name).await {
                Ok(true) => {
                    // A first factor set gets recovery codes at once.
                    let codes = if tenant.settings.mfa.allows(SecondFactor::RecoveryCode)
                        && store
                            .count_recovery_codes(tenant.id, user.id)
                            .await
                            .unwrap_or(0)
                            == 0
                    {
                        recovery::generate(&state, &tenant, &user).await.ok()
                    } else {
                        None
                    };
                    answer!(
                        StatusCode::OK,
                        None,
                        Some(&tr("security-msg-totp-added")),
                        codes
                    )
                }
                Ok(false) => answer!(
                    StatusCode::UNAUTHORIZED,
                    Some(&tr("mfa-msg-wrong-totp")),
                    None,
                    None
                ),
                Err(e) => {
                    tracing::error!(error = %e, "TOTP confirmation failed");
                    answer!(
                        StatusCode::SERVICE_UNAVAILABLE,
                        Some(&tr("msg-try-again")),
                        None,
                        None
                    )
                }
            }
        }
        "rename" => {
            let Some(id) = factor_id else {
                answer!(
                    StatusCode::BAD_REQUEST,
                    Some(&tr("msg-form-unreadable-short")),
                    None,
                    None
                );
            };
            let name = match tessera_core::mfa::factor_name(&f.name, "") {
                Ok(n) if !n.is_empty() => n,
                _ => answer!(
                    StatusCode::BAD_REQUEST,
                    Some(&tr("security-msg-name")),
                    None,
                    None
                ),
            };
            match store.rename_factor(tenant.id, user.id, id, &name).await {
                Ok(true) => {
                    let ev = Event::new(
                        tenant.id,
                        Services::now(),
                        EventKind::MfaRenamed {
                            factor_id: id.to_string(),
                        },
                        Actor::user(user.id),
                    )
                    .subject(user.id)
                    .target(Target::new("user", user.id));
                    state.services.emit(ev).await;
                    answer!(
                        StatusCode::OK,
                        None,
                        Some(&tr("security-msg-renamed")),
                        None
                    )
                }
                _ => answer!(
                    StatusCode::NOT_FOUND,
                    Some(&tr("security-msg-gone")),
                    None,
                    None
                ),
            }
        }
        "remove" => {
            let Some(id) = factor_id else {
                answer!(
                    StatusCode::BAD_REQUEST,
                    Some(&tr("msg-form-unreadable-short")),
                    None,
                    None
                );
            };
            let factor = match store.get_factor(tenant.id, id).await {
                Ok(Some(x)) if x.user_id == user.id => x,
                _ => answer!(
                    StatusCode::NOT_FOUND,
                    Some(&tr("security-msg-gone")),
                    None,
                    None
                ),
            };
            match store.delete_factor(tenant.id, user.id, id).await {
                Ok(true) => {
                    let ev = Event::new(
                        tenant.id,
                        Services::now(),
                        EventKind::MfaRemoved {
                            factor: factor.kind.as_str().into(),
                            factor_id: id.to_string(),
                        },
                        Actor::user(user.id),
                    )
                    .subject(user.id)
                    .target(Target::new("user", user.id));
                    state.services.emit(ev).await;
                    answer!(
                        StatusCode::OK,
                        None,
                        Some(&tr("security-msg-removed")),
                        None
                    )
                }
                _ => answer!(
                    StatusCode::NOT_FOUND,
                    Some(&tr("security-msg-gone")),
                    None,
                    None
                ),
            }
        }
        "recovery_codes" => {
            if !tenant.settings.mfa.enabled
                || !tenant.settings.mfa.allows(SecondFactor::RecoveryCode)
            {
                answer!(
                    StatusCode::BAD_REQUEST,
                    Some(&tr("security-msg-recovery-not-offered")),
                    None,
                    None
                );
            }
            match recovery::generate(&state, &tenant, &user).await {
                Ok(codes) => answer!(
                    StatusCode::OK,
                    None,
                    Some(&tr("security-msg-new-codes")),
                    Some(codes)
                ),
                Err(e) => {
                    tracing::error!(error = %e, "recovery code generation failed");
                    answer!(
                        StatusCode::SERVICE_UNAVAILABLE,
                        Some(&tr("msg-try-again")),
                        None,
                        None
                    )
                }
            }
        }
        _ => answer!(
            StatusCode::BAD_REQUEST,
            Some(&tr("security-msg-unknown-action")),
            None,
            None
        ),
    }
}

/// Redirect helper for the account page's link.
pub fn path(tenant: &Tenant) -> String {
    format!("{}/account/security", issuer_path(&tenant.slug))
}
