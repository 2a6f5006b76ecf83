//! `{issuer}/register`: the sign-up form, when the tenant allows self-registration. Also routes
//! the other self-service pages (email verification, password recovery).
//!
//! The form asks for what `settings.registration` says; a hidden honeypot field catches bots,
//! each client IP gets a budget of attempts per hour, and the answer to an accepted form is the
//! same "check your email" page whether the address already had an account or not.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use tessera_core::Secret;
use tessera_core::registration::{
    AttributeType, FieldProblem, FieldRequirement, RegistrationInput,
};
use tessera_core::tenant::Tenant;

use super::{csrf, error_page, issuer_path, load_tenant, render, safe_return_to, user_agent};
use crate::i18n::{tr, tr_args};
use crate::routes;
use crate::self_service::{Registration, RequestRefused, register};
use crate::state::AppState;

/// The honeypot: hidden from people by CSS, labelled for screen readers as "leave empty".
pub const HONEYPOT_FIELD: &str = "contact_me_by_fax";

/// The self-service pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::REGISTER, get(show).post(submit))
        .route(
            routes::VERIFY_EMAIL,
            get(super::verify_email::show).post(super::verify_email::submit),
        )
        .route(
            routes::FORGOT_PASSWORD,
            get(super::recovery::show_forgot).post(super::recovery::submit_forgot),
        )
        .route(
            routes::RESET_PASSWORD,
            get(super::recovery::show_reset).post(super::recovery::submit_reset),
        )
        .route(
            routes::NOT_ME,
            get(super::not_me::show).post(super::not_me::submit),
        )
}

#[derive(Deserialize, Default)]
struct RegisterQuery {
    #[serde(default)]
    return_to: Option<String>,
    #[serde(default)]
    login_hint: Option<String>,
}

/// A form body as name/value pairs (custom attributes have names of the tenant's choosing).
pub fn form_pairs(body: &[u8]) -> Option<Vec<(String, String)>> {
    serde_urlencoded::from_bytes(body).ok()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Longest value kept from any one field (longer ones are refused by validation anyway; this
/// only bounds what is echoed back into the form).
const ECHO_CHARS: usize = 1000;

fn echo(v: &str) -> String {
    v.chars().take(ECHO_CHARS).collect()
}

/// The 404 page of a tenant that does not take sign-ups.
fn closed(state: &AppState, tenant: &Tenant) -> Response {
    error_page(
        state,
        tenant,
        StatusCode::NOT_FOUND,
        &tr("msg-page-not-found"),
        &tr("register-closed"),
        None,
    )
}

pub async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Response {
    let mut tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    if !tenant.settings.self_registration {
        return closed(&state, &tenant);
    }
    // Privacy: a published `terms` policy document takes the place of the registration
    // settings' terms (the checkbox names its current version; see `crate::privacy`).
    if let Some(terms) = crate::privacy::current_terms(&state, &tenant).await {
        tenant.settings.registration.terms = Some(terms);
    }
    let q: RegisterQuery = query
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let return_to = q
        .return_to
        .as_deref()
        .and_then(|r| safe_return_to(&state.services.config.public_url, r))
        .unwrap_or_default();
    let mut values = vec![];
    if let Some(hint) = q.login_hint.filter(|h| h.len() <= 254) {
        values.push(("email".to_string(), hint));
    }
    form(
        &state,
        &tenant,
        jar,
        StatusCode::OK,
        &values,
        &return_to,
        None,
        &[],
    )
}

/// Everything the template needs to draw the form for this tenant, with the values typed so far
/// and the problems found.
#[allow(clippy::too_many_arguments)]
fn form(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    status: StatusCode,
    values: &[(String, String)],
    return_to: &str,
    error: Option<&str>,
    problems: &[FieldProblem],
) -> Response {
    let settings = &tenant.settings.registration;
    let problem_of = |name: &str| {
        problems
            .iter()
            .find(|p| p.field == name)
            .map(crate::i18n::problems::field_problem)
    };
    let value_of = |name: &str| echo(field(values, name));
    let f = &settings.fields;
    let standard: [(&str, &str, FieldRequirement, &str, &str); 5] = [
        ("name", "register-field-name", f.name, "text", "name"),
        (
            "given_name",
            "register-field-given-name",
            f.given_name,
            "text",
            "given-name",
        ),
        (
            "family_name",
            "register-field-family-name",
            f.family_name,
            "text",
            "family-name",
        ),
        ("phone", "register-field-phone", f.phone, "tel", "tel"),
        (
            "birthdate",
            "register-field-birthdate",
            // An age gate asks for the birthdate whatever `fields.birthdate` says.
            settings.birthdate_requirement(),
            "date",
            "bday",
        ),
    ];
    let mut fields = Vec::new();
    for (name, label, req, input_type, autocomplete) in standard {
        if !req.shown() {
            continue;
        }
        let label = tr(label);
        fields.push(minijinja::context! {
            name, label, input_type, autocomplete,
            required => req.required(),
            value => value_of(name),
            error => problem_of(name),
        });
    }
    for a in &settings.custom_attributes {
        let name = format!("attr_{}", a.name);
        let input_type = match a.kind {
            AttributeType::String if !a.allowed_values.is_empty() => "select",
            AttributeType::String => "text",
            AttributeType::Number => "number",
            AttributeType::Boolean => "checkbox",
            AttributeType::Date => "date",
        };
        fields.push(minijinja::context! {
            label => a.label.trim(),
            input_type,
            autocomplete => "off",
            required => a.required,
            options => a.allowed_values.clone(),
            maxlength => a.max_length,
            error => problem_of(&name),
            value => value_of(&name),
            checked => !field(values, &name).is_empty(),
            name,
        });
    }
    let secure = state.services.config.secure_cookies();
    let (jar, csrf_token) =
        csrf::token_for(jar, &state.csrf_key, &issuer_path(&tenant.slug), secure);
    let terms = settings
        .terms
        .as_ref()
        .map(|t| minijinja::context! { url => t.url.clone(), version => t.version.clone() });
    let page = render(
        state,
        tenant,
        status,
        "register.html",
        minijinja::context! {
            csrf_token,
            return_to,
            error,
            email => value_of("email"),
            email_error => problem_of("email"),
            password_error => problem_of("password"),
            terms_error => problem_of("accept_terms"),
            form_error => problem_of("form"),
            fields,
            terms,
            honeypot => HONEYPOT_FIELD,
            min_length => tenant.settings.password_policy.min_length,
            passwordless => crate::self_service::passwordless_allowed(tenant),
            pow_challenge => crate::risk::pow::challenge(state, tenant).map(|(c, _)| c),
        },
    );
    (jar, page).into_response()
}

/// The page every accepted sign-up (and every honeypot hit) gets.
pub fn check_email(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    mode: &str,
    email: &str,
    return_to: &str,
) -> Response {
    let secure = state.services.config.secure_cookies();
    let (jar, csrf_token) =
        csrf::token_for(jar, &state.csrf_key, &issuer_path(&tenant.slug), secure);
    let page = render(
        state,
        tenant,
        StatusCode::OK,
        "check_email.html",
        minijinja::context! { mode, email, return_to, csrf_token },
    );
    (jar, page).into_response()
}

pub fn set_retry_after(r: &mut Response, secs: u64) {
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

pub async fn submit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let mut tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    if !tenant.settings.self_registration {
        return closed(&state, &tenant);
    }
    // Privacy: a published `terms` policy document takes the place of the registration
    // settings' terms (the checkbox names its current version; see `crate::privacy`).
    if let Some(terms) = crate::privacy::current_terms(&state, &tenant).await {
        tenant.settings.registration.terms = Some(terms);
    }
    let Some(pairs) = form_pairs(&body) else {
        return form(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            &[],
            "",
            Some(&tr("msg-form-unreadable")),
            &[],
        );
    };
    let return_to = safe_return_to(
        &state.services.config.public_url,
        field(&pairs, "return_to"),
    )
    .unwrap_or_default();
    // The password is never echoed back into the page.
    let values: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "password" && k != "csrf_token")
        .cloned()
        .collect();
    if !csrf::verify(&jar, &state.csrf_key, field(&pairs, "csrf_token")) {
        return form(
            &state,
            &tenant,
            jar,
            StatusCode::FORBIDDEN,
            &values,
            &return_to,
            Some(&tr("msg-form-expired")),
            &[],
        );
    }
    if let Err(refused) = crate::self_service::ip_budget(
        &state,
        &tenant,
        "reg",
        peer.ip(),
        tenant.settings.registration.max_attempts_per_ip_per_hour,
    )
    .await
    {
        return refused_page(&state, &tenant, jar, &values, &return_to, refused);
    }
    let email = field(&pairs, "email").trim().to_string();
    // A bot filled in the field people cannot see: answer as if it worked, do nothing.
    if !field(&pairs, HONEYPOT_FIELD).is_empty() {
        tracing::info!(tenant = %tenant.slug, "registration honeypot filled; nothing created");
        metrics::counter!("tessera_registrations_total", "outcome" => "honeypot").increment(1);
        return check_email(&state, &tenant, jar, "register", &email, &return_to);
    }
    // The risk engine: known-bad networks, scripts, blocking rules, and sign-up velocity from
    // this address, its subnet and its network. Nothing is created when it refuses.
    let risk_info = crate::risk::AttemptInfo {
        email: &email,
        ip: Some(peer.ip()),
        user_agent: super::user_agent(&headers),
        device_id: crate::risk::device_id(&state, &tenant, &jar),
        password: None,
        privileged: false,
    };
    if crate::risk::pow::required(&state, &tenant, &risk_info)
        && !crate::risk::pow::verify(
            &state,
            &tenant,
            field(&pairs, crate::risk::pow::CHALLENGE_FIELD),
            field(&pairs, crate::risk::pow::SOLUTION_FIELD),
        )
    {
        return form(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            &values,
            &return_to,
            Some(&tr("msg-pow-needed")),
            &[],
        );
    }
    if crate::risk::registration(&state, &tenant, &risk_info).await {
        metrics::counter!("tessera_registrations_total", "outcome" => "risk_blocked").increment(1);
        return form(
            &state,
            &tenant,
            jar,
            StatusCode::FORBIDDEN,
            &values,
            &return_to,
            Some(&tr("login-error-refused")),
            &[],
        );
    }
    let attributes = tenant
        .settings
        .registration
        .custom_attributes
        .iter()
        .map(|a| {
            (
                a.name.clone(),
                field(&pairs, &format!("attr_{}", a.name)).to_string(),
            )
        })
        .collect();
    let input = RegistrationInput {
        email: email.clone(),
        name: field(&pairs, "name").into(),
        given_name: field(&pairs, "given_name").into(),
        family_name: field(&pairs, "family_name").into(),
        phone: field(&pairs, "phone").into(),
        birthdate: field(&pairs, "birthdate").into(),
        attributes,
        accept_terms: !field(&pairs, "accept_terms").is_empty(),
    };
    let reg = Registration {
        input,
        password: Secret::new(field(&pairs, "password").to_string()),
        return_to: Some(return_to.clone()).filter(|r| !r.is_empty()),
        ip: Some(peer.ip()),
        user_agent: user_agent(&headers).map(str::to_string),
    };
    match register(&state, &tenant, reg).await {
        Ok(()) => {
            crate::risk::registered(&state, &tenant, &risk_info);
            metrics::counter!("tessera_registrations_total", "outcome" => "accepted").increment(1);
            check_email(&state, &tenant, jar, "register", &email, &return_to)
        }
        Err(refused) => refused_page(&state, &tenant, jar, &values, &return_to, refused),
    }
}

fn refused_page(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    values: &[(String, String)],
    return_to: &str,
    refused: RequestRefused,
) -> Response {
    let outcome = match &refused {
        RequestRefused::Invalid(_) => "invalid",
        RequestRefused::Throttled { .. } => "throttled",
        RequestRefused::Overloaded => "overloaded",
        RequestRefused::Internal(_) => "error",
    };
    metrics::counter!("tessera_registrations_total", "outcome" => outcome).increment(1);
    match refused {
        RequestRefused::Invalid(problems) => form(
            state,
            tenant,
            jar,
            StatusCode::BAD_REQUEST,
            values,
            return_to,
            Some(&tr("register-msg-attention")),
            &problems,
        ),
        RequestRefused::Throttled { retry_after_secs } => {
            let msg = tr_args(
                "register-msg-throttled",
                &[("minutes", retry_after_secs.div_ceil(60).into())],
            );
            let mut r = form(
                state,
                tenant,
                jar,
                StatusCode::TOO_MANY_REQUESTS,
                values,
                return_to,
                Some(&msg),
                &[],
            );
            set_retry_after(&mut r, retry_after_secs);
            r
        }
        RequestRefused::Overloaded => {
            let mut r = form(
                state,
                tenant,
                jar,
                StatusCode::SERVICE_UNAVAILABLE,
                values,
                return_to,
                Some(&tr("register-msg-busy")),
                &[],
            );
            set_retry_after(&mut r, 2);
            r
        }
        RequestRefused::Internal(e) => {
            tracing::error!(error = %e, "registration failed with an internal error");
            form(
                state,
                tenant,
                jar,
                StatusCode::SERVICE_UNAVAILABLE,
                values,
                return_to,
                Some(&tr("register-msg-unavailable")),
                &[],
            )
        }
    }
}
