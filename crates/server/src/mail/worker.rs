//! The mail worker: delivers the persisted outbox. Every node runs it; the store's lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL) gives each message to one node at a time. Failures
//! retry with exponential backoff and jitter; after [`MAX_ATTEMPTS`] a message is dead-lettered
//! (its content erased) and `mail.delivery_failed` is emitted. A message survives restarts and
//! mail server outages because it lives in the database until it is sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lettre::message::{Mailbox, Message, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::mail::{MailOutboxStore, QueuedMail};
use tessera_crypto::random_bytes;

use super::MailTransport;
use crate::app::Services;
use crate::state::AppState;

/// Attempts before a message is given up (about 1.5 hours of retries).
pub const MAX_ATTEMPTS: i32 = 15;
const POLL: Duration = Duration::from_millis(500);
/// Long enough for a full batch of attempts at the SMTP timeout each.
const LEASE_SECS: i64 = 300;
const BATCH: u32 = 10;
/// Sent and dead messages (already without content) are kept this long for operators.
const KEEP_FINISHED_DAYS: i64 = 7;
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// What the worker delivers with: the transport and the sender address.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

#[derive(Clone)]
enum Transport {
    Smtp(Arc<AsyncSmtpTransport<Tokio1Executor>>),
    Log,
}

impl Mailer {
    /// The mailer the configuration asks for; an error names the setting at fault.
    pub fn from_config(config: &crate::config::Config) -> Result<Mailer, String> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| format!("TESSERA_MAIL_FROM = {:?}: {e}", config.mail_from))?;
        let transport = match config.mail_transport {
            MailTransport::Log => Transport::Log,
            MailTransport::Smtp => {
                let settings = config.smtp_url.as_ref().ok_or(
                    "TESSERA_MAIL_TRANSPORT = smtp needs TESSERA_SMTP_URL (smtp://user:password@host:587)",
                )?;
                Transport::Smtp(Arc::new(settings.transport()?))
            }
        };
        Ok(Mailer { transport, from })
    }

    /// The message as it goes on the wire.
    pub fn build(&self, mail: &QueuedMail) -> Result<Message, String> {
        let to: Mailbox = mail
            .message
            .to
            .parse()
            .map_err(|_| "the recipient is not a valid address".to_string())?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.message.subject.clone())
            .message_id(None);
        let built = match &mail.message.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.message.text.clone(),
                html.clone(),
            )),
            None => builder.singlepart(SinglePart::plain(mail.message.text.clone())),
        };
        built.map_err(|e| format!("the message could not be built: {e}"))
    }

    async fn send(&self, mail: &QueuedMail) -> Result<(), String> {
        match &self.transport {
            Transport::Log => {
                tracing::info!(
                    mail_id = %mail.id,
                    tenant = %mail.tenant_id,
                    kind = %mail.kind,
                    from = %self.from,
                    to = %mail.message.to,
                    subject = %mail.message.subject,
                    text = %mail.message.text,
                    "email (log transport, not sent)"
                );
                Ok(())
            }
            Transport::Smtp(smtp) => {
                let message = self.build(mail)?;
                smtp.send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| scrub(&e.to_string(), &mail.message.to))
            }
        }
    }
}

/// Starts the worker. Fails (and so stops start-up) when the mail settings cannot work.
pub fn spawn(state: AppState) -> Result<(), String> {
    let mailer = Mailer::from_config(&state.services.config)?;
    match &state.services.config.mail_transport {
        MailTransport::Log => log_transport_warning(),
        MailTransport::Smtp => {
            if let Some(s) = &state.services.config.smtp_url {
                tracing::info!(smtp = %s.redacted(), from = %mailer.from, "email goes through SMTP");
            }
        }
    }
    tokio::spawn(async move {
        let mut last_purge: Option<tokio::time::Instant> = None;
        loop {
            if last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
                purge(&state.services).await;
                last_purge = Some(tokio::time::Instant::now());
            }
            let worked = run_once(&state.services, &mailer).await;
            if worked == 0 {
                tokio::time::sleep(POLL).await;
            }
        }
    });
    Ok(())
}

/// Said once per process, loudly: the log transport puts codes and links in the log.
fn log_transport_warning() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::SeqCst) {
        tracing::warn!(
            "EMAIL IS NOT SENT: TESSERA_MAIL_TRANSPORT=log writes every email (sign-in codes and links included) to this log and marks it sent. This is for development only; set TESSERA_SMTP_URL to send email."
        );
    }
}

/// Claims and attempts one batch; returns how many messages were attempted.
pub async fn run_once(services: &Services, mailer: &Mailer) -> usize {
    let now = Services::now();
    let batch = match services
        .store
        .claim_mail(now, now + time::Duration::seconds(LEASE_SECS), BATCH)
        .await
    {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "mail: cannot claim messages");
            return 0;
        }
    };
    let n = batch.len();
    for mail in batch {
        attempt(services, mailer, mail).await;
    }
    n
}

async fn attempt(services: &Services, mailer: &Mailer, mail: QueuedMail) {
    let store = &services.store;
    let result = mailer.send(&mail).await;
    let now = Services::now();
    match result {
        Ok(()) => {
            if let Err(e) = store.mark_mail_sent(mail.id, now).await {
                tracing::error!(mail_id = %mail.id, error = %e, "mail: sent but could not record it (it may be sent again)");
            }
            metrics::counter!("tessera_mail_total", "kind" => mail.kind.clone(), "outcome" => "sent").increment(1);
        }
        Err(why) => {
            let attempts = mail.attempts + 1;
            let retry_at = (attempts < MAX_ATTEMPTS).then(|| now + backoff(attempts));
            let outcome = if retry_at.is_some() { "retry" } else { "dead" };
            metrics::counter!("tessera_mail_total", "kind" => mail.kind.clone(), "outcome" => outcome).increment(1);
            tracing::warn!(mail_id = %mail.id, kind = %mail.kind, attempts, error = %why, "email delivery failed");
            if let Err(e) = store.fail_mail(mail.id, &why, now, retry_at).await {
                tracing::error!(mail_id = %mail.id, error = %e, "mail: could not record a failed attempt");
                return;
            }
            if retry_at.is_none() {
                let mut event = Event::new(
                    mail.tenant_id,
                    now,
                    EventKind::MailDeliveryFailed {
                        mail_id: mail.id.to_string(),
                        kind: mail.kind.clone(),
                        attempts,
                    },
                    Actor::system(),
                )
                .target(Target::new("mail", mail.id))
                .failed();
                if let Some(user) = mail.user_id {
                    event = event.subject(user);
                }
                services.emit(event).await;
            }
        }
    }
}

async fn purge(services: &Services) {
    let before = Services::now() - time::Duration::days(KEEP_FINISHED_DAYS);
    match services.store.purge_mail(before).await {
        Ok(n) if n > 0 => tracing::info!(rows = n, "purged finished emails from the outbox"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "mail: purge of finished messages failed"),
    }
}

/// 2 s, 4 s, 8 s … capped at 15 minutes, with ±20 % jitter so many retries spread out.
pub fn backoff(attempts: i32) -> time::Duration {
    let base = 2f64 * 2f64.powi((attempts - 1).clamp(0, 20));
    let capped = base.min(900.0);
    let r: [u8; 2] = random_bytes();
    let jitter = 0.8 + 0.4 * (u16::from_le_bytes(r) as f64 / u16::MAX as f64);
    time::Duration::milliseconds((capped * jitter * 1000.0) as i64)
}

/// A transport error as stored and logged: mail servers quote addresses in their answers
/// (`550 <alice@example.com>: unknown user`), so the recipient and anything that looks like an
/// address is replaced.
pub fn scrub(error: &str, recipient: &str) -> String {
    let mut out = String::with_capacity(error.len());
    for (i, word) in error.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if word.contains('@') || (!recipient.is_empty() && word.contains(recipient)) {
            out.push_str("<address>");
        } else {
            out.push_str(word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::{OutgoingMail, TenantId};

    #[test]
    fn backoff_grows_and_is_capped() {
        let b1 = backoff(1).whole_milliseconds();
        let b3 = backoff(3).whole_milliseconds();
        assert!((1600..=2400).contains(&b1), "{b1}");
        assert!((6400..=9600).contains(&b3), "{b3}");
        assert!(backoff(40).whole_seconds() <= 1080);
    }

    #[test]
    fn errors_lose_their_addresses() {
        let e = scrub(
            "permanent error (550): 5.1.1 <alice@example.com>: Recipient address rejected",
            "alice@example.com",
        );
        assert!(!e.contains("alice"), "{e}");
        assert!(
            e.contains("550") && e.contains("Recipient address rejected"),
            "{e}"
        );
    }

    #[test]
    fn messages_carry_from_to_subject_and_both_bodies() {
        let mailer = Mailer {
            transport: Transport::Log,
            from: "Tessera <no-reply@id.example.com>".parse().unwrap(),
        };
        let mut q = QueuedMail::new(
            TenantId::new(),
            "test",
            None,
            OutgoingMail {
                to: "bob@example.com".into(),
                subject: "Grüße from Acme".into(),
                text: "plain body".into(),
                html: Some("<p>html body</p>".into()),
            },
            time::macros::datetime!(2026-06-02 10:00 UTC),
        );
        let wire = String::from_utf8(mailer.build(&q).unwrap().formatted()).unwrap();
        assert!(
            wire.contains("From: Tessera <no-reply@id.example.com>"),
            "{wire}"
        );
        assert!(wire.contains("To: bob@example.com"), "{wire}");
        assert!(wire.contains("multipart/alternative"), "{wire}");
        assert!(wire.contains("Message-ID: <"), "{wire}");
        q.message.html = None;
        let wire = String::from_utf8(mailer.build(&q).unwrap().formatted()).unwrap();
        assert!(!wire.contains("multipart"), "{wire}");
        assert!(wire.contains("text/plain; charset=utf-8"), "{wire}");
        q.message.to = "not an address".into();
        assert!(mailer.build(&q).is_err());
    }

    /// Services on a private in-memory SQLite database, with one tenant.
    async fn services() -> (Services, tessera_core::tenant::Tenant) {
        use base64::Engine;
        use tessera_core::store::TenantStore;
        let data_dir =
            std::env::temp_dir().join(format!("tessera-mail-test-{}", uuid::Uuid::new_v4()));
        let env: std::collections::BTreeMap<String, String> = [
            ("TESSERA_DATABASE_URL", "sqlite::memory:".to_string()),
            ("TESSERA_DATA_DIR", data_dir.display().to_string()),
            (
                "TESSERA_MASTER_KEY",
                base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
            ),
            ("TESSERA_ARGON2_MEMORY_KIB", "1024".to_string()),
            ("TESSERA_ARGON2_ITERATIONS", "1".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let config = crate::config::Config::from_sources(None, &env).unwrap();
        let services = Services::open(config).await.unwrap();
        let _ = std::fs::remove_dir_all(&data_dir);
        let tenant = tessera_core::tenant::Tenant::new(
            "mailco",
            Some("Mail Co"),
            tessera_core::tenant::Preset::Workforce,
            Services::now(),
        )
        .unwrap();
        services.store.create_tenant(&tenant).await.unwrap();
        (services, tenant)
    }

    /// A mailer whose server refuses every connection (nothing listens on port 1).
    fn unreachable_mailer() -> Mailer {
        let settings =
            super::super::smtp::SmtpSettings::parse("smtp://127.0.0.1:1?tls=none").unwrap();
        Mailer {
            transport: Transport::Smtp(Arc::new(settings.transport().unwrap())),
            from: "Tessera <no-reply@localhost>".parse().unwrap(),
        }
    }

    fn mail_for(tenant: &tessera_core::tenant::Tenant, to: &str) -> QueuedMail {
        QueuedMail::new(
            tenant.id,
            "email_code",
            Some(tessera_core::UserId::new()),
            OutgoingMail {
                to: to.into(),
                subject: "123456 is your code".into(),
                text: "Your code is 123456".into(),
                html: None,
            },
            Services::now(),
        )
    }

    #[tokio::test]
    async fn failures_retry_then_dead_letter_with_an_event() {
        use tessera_core::events::AuditFilter;
        use tessera_core::mail::MailStatus;
        use tessera_core::page::PageRequest;
        use tessera_core::store::AuditStore;
        let (services, tenant) = services().await;
        let mailer = unreachable_mailer();

        // A first failure schedules a retry a few seconds later and keeps the message.
        let fresh = mail_for(&tenant, "carol@example.com");
        services.store.enqueue_mail(&fresh).await.unwrap();
        assert_eq!(run_once(&services, &mailer).await, 1);
        let page = services
            .store
            .list_mail(tenant.id, None, &PageRequest::default())
            .await
            .unwrap();
        let m = &page.items[0];
        assert_eq!((m.status, m.attempts), (MailStatus::Pending, 1));
        assert!(m.next_attempt_at > Services::now(), "not due again at once");
        let error = m.last_error.clone().unwrap();
        assert!(!error.contains("carol"), "{error}");
        assert_eq!(run_once(&services, &mailer).await, 0, "waits for its retry");

        // The last allowed attempt fails: dead, content erased, one event without the address.
        let mut last = mail_for(&tenant, "dave@example.com");
        last.attempts = MAX_ATTEMPTS - 1;
        services.store.enqueue_mail(&last).await.unwrap();
        assert_eq!(run_once(&services, &mailer).await, 1);
        let counts = services.store.count_mail(tenant.id).await.unwrap();
        assert_eq!((counts.pending, counts.dead), (1, 1));
        let audit = services
            .store
            .list_audit(
                tenant.id,
                &AuditFilter {
                    event_type: Some("mail.delivery_failed".into()),
                    ..Default::default()
                },
                &PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(audit.items.len(), 1);
        let (entry, personal) = &audit.items[0];
        assert_eq!(entry.body["mail_id"], last.id.to_string());
        assert_eq!(entry.body["kind"], "email_code");
        assert_eq!(entry.body["attempts"], MAX_ATTEMPTS);
        assert_eq!(entry.body["outcome"], "failure");
        assert_eq!(entry.body["subject"], last.user_id.unwrap().to_string());
        let all = format!("{} {personal:?}", entry.body);
        assert!(!all.contains("dave"), "{all}");
    }

    #[tokio::test]
    async fn the_log_transport_marks_messages_sent() {
        let (services, tenant) = services().await;
        let mailer = Mailer {
            transport: Transport::Log,
            from: "Tessera <no-reply@localhost>".parse().unwrap(),
        };
        services
            .store
            .enqueue_mail(&mail_for(&tenant, "erin@example.com"))
            .await
            .unwrap();
        assert_eq!(run_once(&services, &mailer).await, 1);
        let counts = services.store.count_mail(tenant.id).await.unwrap();
        assert_eq!((counts.pending, counts.sent), (0, 1));
    }
}
