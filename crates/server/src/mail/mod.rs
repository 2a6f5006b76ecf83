//! Email: what other modules call to send a message, the templates, the transports and the
//! worker that delivers the persisted outbox.
//!
//! **Sending.** A module never talks to a mail server. It renders a template and queues the
//! result ([`send_templated`]), or queues a message it rendered itself ([`enqueue`]). Queuing
//! writes one row of the database outbox (`mail_outbox`, recipient and content sealed); the
//! worker ([`worker`]) on any node claims due rows under a lease, hands them to the transport,
//! retries failures with exponential backoff (2 s, 4 s, 8 s … capped at 15 minutes, with jitter)
//! and gives up after [`worker::MAX_ATTEMPTS`] attempts, emitting `mail.delivery_failed`. A mail
//! server outage therefore delays messages but loses none. Once a message is sent (or given
//! up) its recipient and content are erased from the database.
//!
//! **Templates** live in `templates/email/` and are compiled into the binary (see
//! [`templates`]): `<name>.txt` is required and starts with a `Subject: …` line and an empty
//! line; `<name>.html` is an optional HTML alternative (values escaped). Every template gets
//! `tenant_name`, `tenant_slug`, `issuer` and `lang` besides the caller's context (the caller
//! cannot override these). Shipped templates and the values they need:
//!
//! | name | context |
//! |---|---|
//! | `test` | `requested_at` |
//! | `email_code` | `code`, `expires_in_minutes` |
//! | `magic_link` | `link`, `expires_in_minutes` |
//! | `verify_email` | `link`, `expires_in_minutes` |
//! | `password_reset` | `link`, `expires_in_minutes` |
//!
//! A missing value is an error, never a blank in a sent message.
//!
//! **Language and branding.** Templates translate with `t("key")` (see [`crate::i18n`]). The
//! message is written in `locale` when Tessera has it; with `None`, in the language of the
//! request that triggered it (its `ui_locales`, cookie or `Accept-Language`), else the tenant's
//! default language, else English. Every template also gets the tenant's branding:
//! `tenant_name` is the product name when one is set, and `brand_color`, `brand_background`,
//! `logo_url` and `support_url` (see [`crate::pages::branding::email_context`]).
//!
//! **Transports** (`TESSERA_MAIL_TRANSPORT`): `smtp` (lettre over rustls, see [`smtp`]) and
//! `log`, which writes each message to the server log and marks it sent (development only).

pub mod smtp;
pub mod templates;
pub mod worker;

use tessera_core::mail::{OutgoingMail, QueuedMail, validate_kind};
use tessera_core::tenant::Tenant;
use tessera_core::{CoreError, StoreError, UserId};
use uuid::Uuid;

use crate::app::Services;
use crate::state::AppState;

pub use worker::spawn;

/// Which transport delivers the outbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailTransport {
    /// Hand messages to the mail server of `TESSERA_SMTP_URL`.
    Smtp,
    /// Write messages to the server log and mark them sent (development only).
    Log,
}

impl MailTransport {
    pub fn as_str(self) -> &'static str {
        match self {
            MailTransport::Smtp => "smtp",
            MailTransport::Log => "log",
        }
    }
}

/// Why a message could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The recipient, subject or kind is malformed (`field` names which).
    #[error("{0}")]
    Invalid(CoreError),
    #[error("{0}")]
    Template(#[from] templates::TemplateError),
    #[error("the message could not be queued: {0}")]
    Store(#[from] StoreError),
}

impl From<CoreError> for MailError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Store(s) => MailError::Store(s),
            other => MailError::Invalid(other),
        }
    }
}

/// Renders `templates/email/<name>.txt` (+ optional `<name>.html`) and queues the result.
pub async fn send_templated(
    state: &AppState,
    tenant: &Tenant,
    to: &str,
    name: &str,
    locale: Option<&str>,
    ctx: minijinja::Value,
) -> Result<(), MailError> {
    send_templated_for(state, tenant, None, to, name, locale, ctx)
        .await
        .map(|_| ())
}

/// [`send_templated`] for a message about an account: `user` is recorded with the message (and
/// named in `mail.delivery_failed` if it is given up). Returns the message id. The template name
/// is the message kind.
pub async fn send_templated_for(
    state: &AppState,
    tenant: &Tenant,
    user: Option<UserId>,
    to: &str,
    name: &str,
    locale: Option<&str>,
    ctx: minijinja::Value,
) -> Result<Uuid, MailError> {
    let mail = render(&state.services, tenant, to, name, locale, ctx)?;
    enqueue_for(&state.services, tenant, user, name, mail).await
}

/// Renders a template into a message for `to` without queuing it.
pub fn render(
    services: &Services,
    tenant: &Tenant,
    to: &str,
    name: &str,
    locale: Option<&str>,
    ctx: minijinja::Value,
) -> Result<OutgoingMail, MailError> {
    let catalog = &services.i18n;
    let locale = locale
        .and_then(|l| catalog.supported(l))
        .unwrap_or_else(|| crate::i18n::locale_for(catalog, tenant));
    let product = tenant.settings.branding.display_name(&tenant.name);
    let base = minijinja::context! {
        tenant_name => product,
        tenant_slug => &tenant.slug,
        issuer => format!("{}/t/{}", services.config.public_url, tenant.slug),
        lang => &locale,
        i18n => crate::i18n::Translator::new(catalog.clone(), &locale, product).into_value(),
    };
    let branding = crate::pages::branding::email_context(tenant, &services.config.public_url);
    // The first map wins: callers cannot change whose name a message carries.
    let ctx = minijinja::value::merge_maps([base, branding, ctx]);
    let r = templates::render(name, &ctx)?;
    Ok(OutgoingMail {
        to: to.trim().to_string(),
        subject: r.subject,
        text: r.text,
        html: r.html,
    })
}

/// Queues an already rendered message.
pub async fn enqueue(
    services: &Services,
    tenant: &Tenant,
    kind: &str,
    mail: OutgoingMail,
) -> Result<(), MailError> {
    enqueue_for(services, tenant, None, kind, mail)
        .await
        .map(|_| ())
}

/// [`enqueue`] for a message about an account; returns the message id.
pub async fn enqueue_for(
    services: &Services,
    tenant: &Tenant,
    user: Option<UserId>,
    kind: &str,
    mail: OutgoingMail,
) -> Result<Uuid, MailError> {
    validate_kind(kind)?;
    mail.validate()?;
    if mail.to.parse::<lettre::Address>().is_err() {
        return Err(MailError::Invalid(CoreError::invalid(
            "to",
            "must be one email address such as alice@example.com",
        )));
    }
    let queued = QueuedMail::new(tenant.id, kind, user, mail, Services::now());
    tessera_core::mail::MailOutboxStore::enqueue_mail(&services.store, &queued).await?;
    metrics::counter!("tessera_mail_total", "kind" => queued.kind.clone(), "outcome" => "queued")
        .increment(1);
    Ok(queued.id)
}
