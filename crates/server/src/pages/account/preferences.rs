//! The preference centre, `{issuer}/account/privacy`: every purpose of the tenant with the
//! person's current decision and a button to give or withdraw it (required purposes cannot be
//! withdrawn here), their communication preferences (channels, topics, frequency), the full
//! history of their consent records, and a signed consent receipt
//! (`{issuer}/account/privacy/receipt`). Every form carries the CSRF token; a refused form
//! answers 4xx with the page and changes nothing.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::privacy::{
    CHANNELS, CommunicationPreferences, ConsentChannel, ConsentState, Frequency, LegalBasis,
    PrivacyStore, current_document, current_state,
};
use tessera_core::session::Session;
use tessera_core::tenant::Tenant;
use tessera_core::user::User;

use super::signed_in;
use crate::api::rfc3339;
use crate::app::Services;
use crate::i18n::tr;
use crate::pages::{csrf, issuer_path, load_tenant, render, see_other, user_agent};
use crate::privacy::{NewConsent, receipt, record_consent};
use crate::state::AppState;

fn basis_label(b: LegalBasis) -> String {
    tr(match b {
        LegalBasis::Consent => "privacy-basis-consent",
        LegalBasis::Contract => "privacy-basis-contract",
        LegalBasis::LegitimateInterest => "privacy-basis-legitimate-interest",
        LegalBasis::LegalObligation => "privacy-basis-legal-obligation",
        LegalBasis::VitalInterest => "privacy-basis-vital-interest",
        LegalBasis::PublicTask => "privacy-basis-public-task",
    })
}

fn channel_label(c: &str) -> String {
    tr(match c {
        "email" => "privacy-channel-email",
        "sms" => "privacy-channel-sms",
        "push" => "privacy-channel-push",
        _ => "privacy-channel-post",
    })
}

fn frequency_label(f: Frequency) -> String {
    tr(match f {
        Frequency::Immediately => "privacy-frequency-immediately",
        Frequency::Daily => "privacy-frequency-daily",
        Frequency::Weekly => "privacy-frequency-weekly",
        Frequency::Monthly => "privacy-frequency-monthly",
        Frequency::Never => "privacy-frequency-never",
    })
}

fn done_notice(what: &str) -> Option<String> {
    Some(match what {
        "granted" => tr("privacy-done-granted"),
        "withdrawn" => tr("privacy-done-withdrawn"),
        "preferences" => tr("privacy-done-preferences"),
        _ => return None,
    })
}

/// The page, with a notice or an error, answered with `status`.
async fn page(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    user: &User,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let store = &state.services.store;
    let base = issuer_path(&tenant.slug);
    let locale = crate::i18n::locale_for(&state.services.i18n, tenant);
    let loaded = async {
        let purposes = store.list_purposes(tenant.id).await?;
        let docs = store.list_policy_documents(tenant.id, None).await?;
        let history = store.consent_history(tenant.id, user.id, None).await?;
        let topics = store.get_topics(tenant.id).await?;
        let prefs = store.get_preferences(tenant.id, user.id).await?;
        Ok::<_, tessera_core::StoreError>((purposes, docs, history, topics, prefs))
    }
    .await;
    let (purposes, docs, history, topics, prefs) = match loaded {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = %e, "the preference centre could not be loaded");
            return crate::pages::error_page(
                state,
                tenant,
                StatusCode::SERVICE_UNAVAILABLE,
                &tr("msg-unavailable"),
                &tr("privacy-error-unavailable"),
                Some(format!("{base}/account")),
            );
        }
    };
    let now = Services::now();
    let current = current_state(&history);
    let purposes: Vec<minijinja::Value> = purposes
        .iter()
        .map(|p| {
            let rec = current.get(&p.key);
            let version = rec.and_then(|r| r.policy_version.clone()).or_else(|| {
                p.document
                    .as_ref()
                    .and_then(|k| current_document(&docs, k, now))
                    .map(|d| d.version.clone())
            });
            minijinja::context! {
                key => p.key.clone(),
                description => p.description(&locale).to_string(),
                legal_basis => p.legal_basis.as_str(),
                basis_label => basis_label(p.legal_basis),
                required => p.required,
                state => rec.map(|r| r.state.as_str()).unwrap_or("none"),
                version,
            }
        })
        .collect();
    let prefs = prefs.unwrap_or_default();
    let channels: Vec<minijinja::Value> = CHANNELS
        .iter()
        .map(|c| {
            minijinja::context! {
                key => *c,
                label => channel_label(c),
                checked => prefs.channels.iter().any(|x| x == c),
            }
        })
        .collect();
    let topics: Vec<minijinja::Value> = topics
        .iter()
        .map(|t| {
            minijinja::context! {
                key => t.key.clone(),
                name => t.name(&locale).to_string(),
                checked => prefs.topics.contains(&t.key),
            }
        })
        .collect();
    let frequencies: Vec<minijinja::Value> = Frequency::ALL
        .iter()
        .map(|f| {
            minijinja::context! {
                key => f.as_str(),
                label => frequency_label(*f),
                selected => *f == prefs.frequency,
            }
        })
        .collect();
    let history: Vec<minijinja::Value> = history
        .iter()
        .rev()
        .map(|r| {
            minijinja::context! {
                id => r.id.to_string(),
                at => rfc3339(r.recorded_at),
                purpose => r.purpose.clone(),
                state => r.state.as_str(),
                version => r.policy_version.clone().unwrap_or_default(),
                channel => r.channel.as_str(),
            }
        })
        .collect();
    let (jar, csrf_token) = csrf::token_for(
        jar,
        &state.csrf_key,
        &base,
        state.services.config.secure_cookies(),
    );
    let html = render(
        state,
        tenant,
        status,
        "account_privacy.html",
        minijinja::context! {
            csrf_token,
            notice,
            error,
            purposes,
            channels,
            topics,
            frequencies,
            history,
        },
    );
    (jar, html).into_response()
}

/// `GET {issuer}/account/privacy`.
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
    let (_, user) = match signed_in(&state, &tenant, &jar).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let notice = query
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(&q).ok())
        .and_then(|q| q.into_iter().find(|(k, _)| k == "done"))
        .and_then(|(_, v)| done_notice(&v));
    page(&state, &tenant, jar, &user, StatusCode::OK, notice, None).await
}

/// A form of the preference centre, read and checked (signed in, readable, CSRF token valid).
async fn read_form(
    state: &AppState,
    slug: &str,
    jar: CookieJar,
    body: &Bytes,
) -> Result<(Tenant, Session, User, CookieJar, Vec<(String, String)>), Response> {
    let tenant = load_tenant(state, slug).await?;
    let (session, user) = signed_in(state, &tenant, &jar).await?;
    let Some(fields) = crate::pages::register::form_pairs(body) else {
        return Err(page(
            state,
            &tenant,
            jar,
            &user,
            StatusCode::BAD_REQUEST,
            None,
            Some(tr("privacy-error-form")),
        )
        .await);
    };
    if !csrf::verify(&jar, &state.csrf_key, super::field(&fields, "csrf_token")) {
        return Err(page(
            state,
            &tenant,
            jar,
            &user,
            StatusCode::FORBIDDEN,
            None,
            Some(tr("privacy-error-expired")),
        )
        .await);
    }
    Ok((tenant, session, user, jar, fields))
}

fn done(tenant: &Tenant, what: &str) -> Response {
    see_other(&format!(
        "{}/account/privacy?done={what}",
        issuer_path(&tenant.slug)
    ))
}

/// `POST {issuer}/account/privacy/consent`: `purpose` and `action` (`grant` or `withdraw`).
pub async fn consent(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let (tenant, _, user, jar, fields) = match read_form(&state, &slug, jar, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let key = super::field(&fields, "purpose");
    let action = super::field(&fields, "action");
    let purpose = match state.services.store.get_purpose(tenant.id, key).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "purpose lookup failed");
            None
        }
    };
    let (purpose, new_state) = match (purpose, action) {
        (Some(p), "grant") => (p, ConsentState::Granted),
        (Some(p), "withdraw") if p.withdrawable() => (p, ConsentState::Withdrawn),
        _ => {
            return page(
                &state,
                &tenant,
                jar,
                &user,
                StatusCode::BAD_REQUEST,
                None,
                Some(tr("privacy-error-purpose")),
            )
            .await;
        }
    };
    let result = record_consent(
        &state,
        &tenant,
        NewConsent {
            user: user.id,
            purpose: &purpose,
            state: new_state,
            channel: ConsentChannel::AccountPortal,
            policy_version: None,
            actor: Actor::user(user.id),
            ip: Some(peer.ip()),
            user_agent: user_agent(&headers),
        },
    )
    .await;
    match result {
        Ok(_) => done(
            &tenant,
            if new_state == ConsentState::Granted {
                "granted"
            } else {
                "withdrawn"
            },
        ),
        Err(e) => {
            tracing::error!(error = %e, "recording a consent in the preference centre failed");
            page(
                &state,
                &tenant,
                jar,
                &user,
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                Some(tr("privacy-error-unavailable")),
            )
            .await
        }
    }
}

/// `POST {issuer}/account/privacy/preferences`: `channel` and `topic` (repeated), `frequency`.
pub async fn preferences(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let (tenant, _, user, jar, fields) = match read_form(&state, &slug, jar, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let all = |name: &str| -> Vec<String> {
        fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let Ok(frequency) = Frequency::parse(super::field(&fields, "frequency")) else {
        return refuse_preferences(&state, &tenant, jar, &user).await;
    };
    let topics = match state.services.store.get_topics(tenant.id).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "topics lookup failed");
            return page(
                &state,
                &tenant,
                jar,
                &user,
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                Some(tr("privacy-error-unavailable")),
            )
            .await;
        }
    };
    let mut prefs = CommunicationPreferences {
        channels: all("channel"),
        topics: all("topic"),
        frequency,
        updated_at: Some(Services::now()),
    };
    if prefs.normalize(&topics).is_err() {
        return refuse_preferences(&state, &tenant, jar, &user).await;
    }
    if let Err(e) = save_preferences(&state, &tenant, user.id, &prefs, Actor::user(user.id)).await {
        tracing::error!(error = %e, "saving communication preferences failed");
        return page(
            &state,
            &tenant,
            jar,
            &user,
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            Some(tr("privacy-error-unavailable")),
        )
        .await;
    }
    done(&tenant, "preferences")
}

async fn refuse_preferences(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    user: &User,
) -> Response {
    page(
        state,
        tenant,
        jar,
        user,
        StatusCode::BAD_REQUEST,
        None,
        Some(tr("privacy-error-preferences")),
    )
    .await
}

/// Stores the preferences and emits `privacy.preferences_updated`.
pub async fn save_preferences(
    state: &AppState,
    tenant: &Tenant,
    user: tessera_core::UserId,
    prefs: &CommunicationPreferences,
    actor: Actor,
) -> Result<(), tessera_core::StoreError> {
    state
        .services
        .store
        .put_preferences(tenant.id, user, prefs)
        .await?;
    let ev = Event::new(
        tenant.id,
        prefs.updated_at.unwrap_or_else(Services::now),
        EventKind::PrivacyPreferencesUpdated {
            channels: prefs.channels.clone(),
            topics: prefs.topics.clone(),
            frequency: prefs.frequency.as_str().into(),
        },
        actor,
    )
    .target(Target::new("user", user))
    .subject(user);
    state.services.emit(ev).await;
    Ok(())
}

/// `GET {issuer}/account/privacy/receipt`: the signed consent receipt (a compact JWS) as a
/// download.
pub async fn download_receipt(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (_, user) = match signed_in(&state, &tenant, &jar).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let locale = crate::i18n::locale_for(&state.services.i18n, &tenant);
    let jws = match receipt(&state, &tenant, &user, &locale).await {
        Ok(j) => j,
        Err(e) => {
            tracing::error!(error = %e, "the consent receipt could not be made");
            return crate::pages::error_page(
                &state,
                &tenant,
                StatusCode::SERVICE_UNAVAILABLE,
                &tr("msg-unavailable"),
                &tr("privacy-error-unavailable"),
                Some(format!("{}/account/privacy", issuer_path(&tenant.slug))),
            );
        }
    };
    let mut r = (StatusCode::OK, jws).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwt"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}-consent-receipt.jwt\"",
        tenant.slug
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}
