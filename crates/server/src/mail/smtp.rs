//! The SMTP transport: `TESSERA_SMTP_URL` parsed into [`SmtpSettings`], and lettre's async
//! client built from it (rustls on aws-lc-rs, the system's trust store).
//!
//! URL forms (the `tls` parameter is the only one accepted):
//! - `smtp://user:pass@host:port`: STARTTLS **required** (default port 587); a server that does
//!   not offer it, or whose certificate does not verify, gets nothing;
//! - `smtps://user:pass@host:port`: TLS from the first byte (implicit TLS, default port 465);
//! - `smtp://host:port?tls=none`: plain, unencrypted SMTP (default port 25), an explicit opt-in
//!   meant for local sinks and relays on the same machine;
//! - `smtp://…?tls=required` says the default explicitly.
//!
//! User and password are optional (both or neither) and percent-decoded.

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use tessera_core::Secret;

/// How long one SMTP conversation may take before the attempt counts as failed.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://`: plain connection upgraded with STARTTLS, which is required.
    StartTls,
    /// `smtps://`: TLS from the start.
    ImplicitTls,
    /// `smtp://…?tls=none`: no encryption at all (local development sinks).
    None,
}

impl SmtpSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::StartTls => "starttls",
            SmtpSecurity::ImplicitTls => "tls",
            SmtpSecurity::None => "none",
        }
    }
}

/// The mail server to hand messages to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

const FORMS: &str = "expected smtp://user:password@host:587 (STARTTLS required), \
     smtps://user:password@host:465 (implicit TLS) or smtp://host:port?tls=none \
     (unencrypted, local sinks only)";

impl SmtpSettings {
    /// Parses a `TESSERA_SMTP_URL` value. The error says what is wrong and which forms are
    /// accepted, never repeating the password.
    pub fn parse(value: &str) -> Result<SmtpSettings, String> {
        let url = url::Url::parse(value.trim()).map_err(|e| format!("not a URL ({e}); {FORMS}"))?;
        let mut tls: Option<String> = None;
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "tls" if tls.is_none() => tls = Some(v.into_owned()),
                "tls" => return Err("the tls parameter is given twice".into()),
                other => {
                    return Err(format!(
                        "unknown parameter {other:?}: only tls=required or tls=none is accepted"
                    ));
                }
            }
        }
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtp", None | Some("required")) => SmtpSecurity::StartTls,
            ("smtp", Some("none")) => SmtpSecurity::None,
            ("smtp", Some(other)) => {
                return Err(format!(
                    "tls={other:?} is not supported: use tls=required (the default: STARTTLS) or tls=none (unencrypted, local sinks only)"
                ));
            }
            ("smtps", None) => SmtpSecurity::ImplicitTls,
            ("smtps", Some(_)) => {
                return Err("smtps:// always uses TLS; remove the tls parameter".into());
            }
            (other, _) => return Err(format!("unsupported scheme {other:?}; {FORMS}")),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("no host; {FORMS}"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err(format!("no path or fragment is allowed; {FORMS}"));
        }
        let port = url.port().unwrap_or(match security {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::ImplicitTls => 465,
            SmtpSecurity::None => 25,
        });
        let decode = |s: &str, what: &str| {
            percent_decode(s)
                .ok_or_else(|| format!("the {what} is not valid percent-encoded UTF-8"))
        };
        let username = (!url.username().is_empty())
            .then(|| decode(url.username(), "user name"))
            .transpose()?;
        let password = url
            .password()
            .map(|p| decode(p, "password").map(Secret::new))
            .transpose()?;
        if username.is_some() != password.is_some() {
            return Err(
                "give both a user name and a password (smtp://user:password@host), or neither"
                    .into(),
            );
        }
        Ok(SmtpSettings {
            host,
            port,
            security,
            username,
            password,
        })
    }

    /// The settings as a URL without the password, for logs.
    pub fn redacted(&self) -> String {
        let scheme = match self.security {
            SmtpSecurity::ImplicitTls => "smtps",
            _ => "smtp",
        };
        let user = self
            .username
            .as_deref()
            .map(|u| format!("{u}:***@"))
            .unwrap_or_default();
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let tls = if self.security == SmtpSecurity::None {
            "?tls=none"
        } else {
            ""
        };
        format!("{scheme}://{user}{host}:{}{tls}", self.port)
    }

    /// lettre's client for these settings. No connection is made here.
    pub fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let builder = match self.security {
            SmtpSecurity::ImplicitTls => AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host),
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host)
            }
            SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &self.host,
            )),
        }
        .map_err(|e| format!("cannot set up TLS for the mail server {}: {e}", self.host))?;
        let mut builder = builder.port(self.port).timeout(Some(SMTP_TIMEOUT));
        if let (Some(user), Some(password)) = (&self.username, &self.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        Ok(builder.build())
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_means_starttls_required() {
        let s = SmtpSettings::parse("smtp://mailer:s%40cret%21@mail.example.com").unwrap();
        assert_eq!(s.security, SmtpSecurity::StartTls);
        assert_eq!(s.port, 587);
        assert_eq!(s.host, "mail.example.com");
        assert_eq!(s.username.as_deref(), Some("mailer"));
        assert_eq!(s.password.as_ref().map(Secret::expose), Some("s@cret!"));
        assert_eq!(
            SmtpSettings::parse("smtp://mail.example.com:2525?tls=required")
                .unwrap()
                .security,
            SmtpSecurity::StartTls
        );
        let s = SmtpSettings::parse("smtp://mail.example.com:2525?tls=required").unwrap();
        assert_eq!(s.port, 2525);
        assert!(s.username.is_none() && s.password.is_none());
    }

    #[test]
    fn smtps_is_implicit_tls_and_none_is_an_explicit_opt_in() {
        let s = SmtpSettings::parse("smtps://u:p@mail.example.com").unwrap();
        assert_eq!((s.security, s.port), (SmtpSecurity::ImplicitTls, 465));
        let s = SmtpSettings::parse("smtp://127.0.0.1:1025?tls=none").unwrap();
        assert_eq!((s.security, s.port), (SmtpSecurity::None, 1025));
        assert_eq!(s.host, "127.0.0.1");
        let s = SmtpSettings::parse("smtp://[::1]:1025?tls=none").unwrap();
        assert_eq!(s.host, "::1");
        assert_eq!(s.redacted(), "smtp://[::1]:1025?tls=none");
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_the_password() {
        for bad in [
            "mail.example.com",
            "http://mail.example.com",
            "smtp://",
            "smtp://mail.example.com?tls=opportunistic",
            "smtp://mail.example.com?tls=none&tls=none",
            "smtp://mail.example.com?starttls=yes",
            "smtps://mail.example.com?tls=none",
            "smtp://mail.example.com/ehlo",
            "smtp://user@mail.example.com",
            "smtp://user:%ZZ@mail.example.com",
        ] {
            assert!(SmtpSettings::parse(bad).is_err(), "{bad}");
        }
        let e = SmtpSettings::parse("ftp://u:hunter2@h").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("smtps://"), "{e}");
    }

    #[test]
    fn redacted_hides_the_password_and_debug_too() {
        let s = SmtpSettings::parse("smtps://mailer:hunter2@mail.example.com:465").unwrap();
        assert_eq!(s.redacted(), "smtps://mailer:***@mail.example.com:465");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn transports_build_for_every_form() {
        for url in [
            "smtp://u:p@mail.example.com",
            "smtps://mail.example.com",
            "smtp://127.0.0.1:1025?tls=none",
        ] {
            SmtpSettings::parse(url).unwrap().transport().unwrap();
        }
    }
}
