//! `{issuer}/account`: the account portal, behind sign-in. One page shows every section (profile,
//! email address, password, sessions and devices, connected applications, data export, account
//! deletion) and links to the security page (`{issuer}/account/security`); each section's form
//! posts to its own path and answers with the same page, with a notice or the problems found
//! (4xx, nothing changed). The journeys themselves live in [`crate::account_portal`].
//!
//! Every form carries the CSRF token. Changing the email address, setting a first password,
//! downloading the data and deleting the account need a recent sign-in
//! ([`crate::pages::security::recently_signed_in`]); older sessions are offered "confirm it's you".

mod apps;
mod data;
mod email;
mod password;
mod preferences;
mod profile;
mod sessions;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use tessera_core::registration::FieldProblem;
use tessera_core::session::Session;
use tessera_core::store::{SessionStore, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::user::User;

use super::{csrf, current_session, issuer_path, load_tenant, render, see_other};
use crate::account_portal::{Refused, field_label, profile_fields, profile_value};
use crate::api::rfc3339;
use crate::app::Services;
use crate::i18n::{tr, tr_args};
use crate::pages::security::recently_signed_in;
use crate::routes;
use crate::state::AppState;

pub use apps::revoke_app;
pub use preferences::save_preferences;

/// The portal's forms (the page itself and application revocation are routed in `pages`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::ACCOUNT_PROFILE, post(profile::submit))
        .route(routes::ACCOUNT_EMAIL, post(email::submit))
        .route(
            routes::ACCOUNT_EMAIL_CONFIRM,
            get(email::show_confirm).post(email::submit_confirm),
        )
        .route(routes::ACCOUNT_PASSWORD, post(password::submit))
        .route(routes::ACCOUNT_SESSIONS_REVOKE, post(sessions::revoke))
        .route(
            routes::ACCOUNT_SESSIONS_REVOKE_OTHERS,
            post(sessions::revoke_others),
        )
        .route(routes::ACCOUNT_EXPORT, get(data::export))
        .route(routes::ACCOUNT_DELETE, post(data::delete))
        .route(routes::ACCOUNT_PRIVACY, get(preferences::show))
        .route(routes::ACCOUNT_PRIVACY_CONSENT, post(preferences::consent))
        .route(
            routes::ACCOUNT_PRIVACY_PREFERENCES,
            post(preferences::preferences),
        )
        .route(
            routes::ACCOUNT_PRIVACY_RECEIPT,
            get(preferences::download_receipt),
        )
}

/// Longest value echoed back into a form after a refusal.
const ECHO_CHARS: usize = 300;

/// What a form's answer shows besides the account: a notice, an error, problems by field, and
/// what was typed (never passwords).
#[derive(Default)]
struct Feedback {
    error: Option<String>,
    notice: Option<String>,
    problems: Vec<FieldProblem>,
    values: Vec<(String, String)>,
}

impl Feedback {
    fn notice(message: impl Into<String>) -> Feedback {
        Feedback {
            notice: Some(message.into()),
            ..Default::default()
        }
    }

    fn error(message: impl Into<String>) -> Feedback {
        Feedback {
            error: Some(message.into()),
            ..Default::default()
        }
    }

    fn problem_of(&self, field: &str) -> Option<String> {
        self.problems
            .iter()
            .find(|p| p.field == field)
            .map(|p| p.message.clone())
    }

    fn value_of(&self, field: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.chars().take(ECHO_CHARS).collect())
    }
}

/// "Firefox on Linux", in the language of the page.
fn device_label(user_agent: Option<&str>) -> String {
    match tessera_core::account::device(user_agent) {
        (Some(browser), Some(os)) => tr_args(
            "account-device-browser-on-os",
            &[("browser", browser.into()), ("os", os.into())],
        ),
        (Some(browser), None) => tr_args("account-device-browser", &[("browser", browser.into())]),
        (None, Some(os)) => tr_args("account-device-os", &[("os", os.into())]),
        (None, None) => tr("account-device-unknown"),
    }
}

/// The signed-in person of this browser, or the answer that sends them to sign in.
async fn signed_in(
    state: &AppState,
    tenant: &Tenant,
    jar: &CookieJar,
) -> Result<(Session, User), Response> {
    let base = issuer_path(&tenant.slug);
    let to_login = || {
        let q = serde_urlencoded::to_string([("return_to", format!("{base}/account"))])
            .unwrap_or_default();
        see_other(&format!("{base}/login?{q}"))
    };
    let Some(session) = current_session(state, tenant, jar).await else {
        return Err(to_login());
    };
    match state
        .services
        .store
        .get_user(tenant.id, session.user_id)
        .await
    {
        Ok(Some(u)) if u.can_sign_in() => Ok((session, u)),
        Ok(_) => Err(to_login()),
        Err(e) => {
            tracing::error!(error = %e, "user lookup failed");
            Err((StatusCode::SERVICE_UNAVAILABLE, tr("msg-unavailable")).into_response())
        }
    }
}

/// "Confirm it's you": sign in again (second factor included), then back to `return_to`.
fn reauth_link(tenant: &Tenant, return_to: &str) -> String {
    let base = issuer_path(&tenant.slug);
    let q = serde_urlencoded::to_string([("return_to", return_to), ("prompt", "login")])
        .unwrap_or_default();
    format!("{base}/login?{q}")
}

/// The account page with `fb`, answered with `status`.
#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    session: &Session,
    user: &User,
    status: StatusCode,
    fb: Feedback,
) -> Response {
    let base = issuer_path(&tenant.slug);
    let (jar, csrf_token) = csrf::token_for(
        jar,
        &state.csrf_key,
        &base,
        state.services.config.secure_cookies(),
    );
    let profile: Vec<minijinja::Value> = profile_fields(tenant, user)
        .into_iter()
        .map(|f| {
            let value = fb
                .value_of(f.name)
                .unwrap_or_else(|| profile_value(user, f.name).unwrap_or("").to_string());
            minijinja::context! {
                name => f.name,
                label => field_label(f.name),
                input_type => f.input_type,
                autocomplete => f.autocomplete,
                required => f.required,
                maxlength => if f.name == "phone" { 32 } else { 200 },
                value,
                error => fb.problem_of(f.name),
            }
        })
        .collect();
    let now = Services::now();
    let sessions: Vec<minijinja::Value> = match state
        .services
        .store
        .list_sessions(tenant.id, Some(user.id), now)
        .await
    {
        Ok(list) => list
            .into_iter()
            .map(|s| {
                minijinja::context! {
                    id => s.id.to_string(),
                    device => device_label(s.user_agent.as_deref()),
                    ip => s.ip,
                    created => rfc3339(s.created_at),
                    last_seen => rfc3339(s.last_seen_at),
                    current => s.id == session.id,
                }
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            Vec::new()
        }
    };
    let other_sessions = sessions.len() > 1;
    let apps = apps::connected_apps(state, tenant, user.id).await;
    let html = render(
        state,
        tenant,
        status,
        "account.html",
        minijinja::context! {
            csrf_token,
            error => &fb.error,
            notice => &fb.notice,
            email => &user.email,
            email_verified => user.email_verified,
            name => &user.name,
            signed_in_at => rfc3339(session.created_at),
            recent => recently_signed_in(session),
            reauth_link => reauth_link(tenant, &format!("{base}/account")),
            security_link => format!("{base}/account/security"),
            export_link => format!("{base}/account/export"),
            profile_fields => profile,
            profile_error => fb.problem_of("form"),
            new_email => fb.value_of("email").unwrap_or_default(),
            email_error => fb.problem_of("email"),
            has_password => user.password_hash.is_some(),
            current_password_error => fb.problem_of("current_password"),
            new_password_error => fb.problem_of("new_password"),
            min_length => tenant.settings.password_policy.min_length,
            sessions,
            other_sessions,
            apps,
            deletion_grace_days => tenant.settings.account.deletion_grace_days,
            delete_error => fb.problem_of("confirm"),
        },
    );
    (jar, html).into_response()
}

/// What a successful form said, carried by the redirect back to the page (`?done=…`), so that
/// reloading the page never submits a form again.
fn done_notice(what: &str) -> Option<String> {
    Some(match what {
        "profile" => tr("account-done-profile"),
        "email" => tr("account-done-email"),
        "password" => tr("account-done-password"),
        "password_set" => tr("account-done-password-set"),
        "session" => tr("account-done-session"),
        "sessions" => tr("account-done-sessions"),
        "app" => tr("account-done-app"),
        _ => return None,
    })
}

/// 303 back to the account page with the notice of `what` (see [`done_notice`]).
fn done(tenant: &Tenant, what: &str) -> Response {
    see_other(&format!(
        "{}/account?done={what}",
        issuer_path(&tenant.slug)
    ))
}

/// `GET {issuer}/account`.
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
    let (session, user) = match signed_in(&state, &tenant, &jar).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let done = query
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(&q).ok())
        .and_then(|q| q.into_iter().find(|(k, _)| k == "done"))
        .and_then(|(_, v)| done_notice(&v))
        .map(Feedback::notice)
        .unwrap_or_default();
    page(&state, &tenant, jar, &session, &user, StatusCode::OK, done).await
}

/// A form post of the portal, read and checked: the tenant, the signed-in person, the fields,
/// and a valid CSRF token. `Err` is the answer to send (sign in, 400 or 403 with the page).
struct Post {
    tenant: Tenant,
    session: Session,
    user: User,
    jar: CookieJar,
    fields: Vec<(String, String)>,
}

impl Post {
    async fn read(
        state: &AppState,
        slug: &str,
        jar: CookieJar,
        body: &Bytes,
    ) -> Result<Post, Response> {
        let tenant = load_tenant(state, slug).await?;
        let (session, user) = signed_in(state, &tenant, &jar).await?;
        let Some(fields) = super::register::form_pairs(body) else {
            return Err(page(
                state,
                &tenant,
                jar,
                &session,
                &user,
                StatusCode::BAD_REQUEST,
                Feedback::error(tr("account-error-form")),
            )
            .await);
        };
        if !csrf::verify(&jar, &state.csrf_key, field(&fields, "csrf_token")) {
            return Err(page(
                state,
                &tenant,
                jar,
                &session,
                &user,
                StatusCode::FORBIDDEN,
                Feedback::error(tr("account-error-expired")),
            )
            .await);
        }
        Ok(Post {
            tenant,
            session,
            user,
            jar,
            fields,
        })
    }

    fn field(&self, name: &str) -> &str {
        field(&self.fields, name)
    }

    /// Answers with the account page.
    async fn answer(self, state: &AppState, status: StatusCode, fb: Feedback) -> Response {
        page(
            state,
            &self.tenant,
            self.jar,
            &self.session,
            &self.user,
            status,
            fb,
        )
        .await
    }

    /// Answers a refusal of [`crate::account_portal`] with the page and the matching status.
    async fn refused(
        self,
        state: &AppState,
        refused: Refused,
        values: Vec<(String, String)>,
    ) -> Response {
        let retry = match &refused {
            Refused::Throttled { retry_after_secs } => Some(*retry_after_secs),
            Refused::Overloaded => Some(2),
            _ => None,
        };
        let (status, fb) = match refused {
            Refused::Invalid(problems) => (
                StatusCode::BAD_REQUEST,
                Feedback {
                    error: Some(tr("account-error-attention")),
                    problems,
                    values,
                    ..Default::default()
                },
            ),
            Refused::ReauthNeeded => (
                StatusCode::FORBIDDEN,
                Feedback::error(tr("account-error-reauth")),
            ),
            Refused::WrongPassword => (
                StatusCode::BAD_REQUEST,
                Feedback {
                    error: Some(tr("account-error-attention")),
                    problems: vec![FieldProblem {
                        field: "current_password".into(),
                        message: tr("account-password-wrong"),
                    }],
                    ..Default::default()
                },
            ),
            Refused::Throttled { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                Feedback::error(tr_args(
                    "account-error-throttled",
                    &[("minutes", retry_after_secs.div_ceil(60).into())],
                )),
            ),
            Refused::Overloaded => (
                StatusCode::SERVICE_UNAVAILABLE,
                Feedback::error(tr("account-error-busy")),
            ),
            Refused::Internal(e) => {
                tracing::error!(error = %e, "an account portal request failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Feedback::error(tr("account-error-unavailable")),
                )
            }
        };
        let mut r = self.answer(state, status, fb).await;
        if let Some(secs) = retry {
            super::register::set_retry_after(&mut r, secs);
        }
        r
    }
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}
