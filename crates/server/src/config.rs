//! Configuration: one typed struct, built once from an optional `tessera.toml` and `TESSERA_*`
//! environment variables (the environment wins), then passed down. Unknown keys and bad values
//! stop start-up with a message naming the key and the fix.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Environment variables with this prefix belong to the test suite, not to the server.
const TEST_ENV_PREFIX: &str = "TESSERA_TEST_";

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Socket the HTTP server binds.
    pub listen: SocketAddr,
    /// The URL browsers and clients use to reach this deployment; issuers derive from it.
    pub public_url: String,
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    pub master_key_file: PathBuf,
    /// Base64 master key given directly (for deployments that inject secrets as variables).
    pub master_key: Option<String>,
    pub bootstrap_admin_email: Option<String>,
    pub bootstrap_admin_password: Option<String>,
    pub geoip_db: Option<PathBuf>,
    /// Reverse proxies whose `X-Forwarded-For`/`Forwarded` headers name the client (see
    /// `client_ip`). Empty: the direct peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub log_level: String,
    pub log_format: LogFormat,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Password hashes computed at once; default: the number of cores.
    pub hash_concurrency: usize,
    /// Sign-ins allowed to wait for a hashing slot before new ones get 503.
    pub hash_queue: usize,
    /// Whether each running password hash keeps to one CPU of its own (see `gate::Pinning`).
    pub hash_pinning: crate::gate::PinningMode,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Failed sign-ins per account before a temporary lockout.
    pub lockout_after: u32,
    pub lockout_secs: u64,
    /// Seconds in-flight requests get to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// The mail server (`TESSERA_SMTP_URL`), when email is sent over SMTP.
    pub smtp_url: Option<crate::mail::smtp::SmtpSettings>,
    /// Sender of every email, `Name <address>` or a bare address.
    pub mail_from: String,
    /// `smtp` (default when `smtp_url` is set) or `log` (development: messages go to the log).
    pub mail_transport: crate::mail::MailTransport,
    /// A folder of `<locale>/*.ftl` translations loaded over the embedded ones (see
    /// docs/branding-i18n.md).
    pub locales_dir: Option<PathBuf>,
    /// Data residency (`TESSERA_REGION`): the region this node's database is in. New tenants
    /// get it, and tenants of another region are refused (one database per region; see
    /// docs/privacy.md). `None`: tenants declare any region, or none.
    pub region: Option<String>,
}

/// The file form: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    public_url: Option<String>,
    data_dir: Option<String>,
    database_url: Option<String>,
    master_key_file: Option<String>,
    master_key: Option<String>,
    bootstrap_admin_email: Option<String>,
    bootstrap_admin_password: Option<String>,
    geoip_db: Option<String>,
    trusted_proxies: Option<String>,
    log_level: Option<String>,
    log_format: Option<String>,
    argon2_memory_kib: Option<u32>,
    argon2_iterations: Option<u32>,
    argon2_parallelism: Option<u32>,
    hash_concurrency: Option<usize>,
    hash_queue: Option<usize>,
    hash_pinning: Option<String>,
    max_body_bytes: Option<usize>,
    lockout_after: Option<u32>,
    lockout_secs: Option<u64>,
    shutdown_grace_secs: Option<u64>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    mail_transport: Option<String>,
    locales_dir: Option<String>,
    region: Option<String>,
}

/// Every key, as written in the file; the environment name is `TESSERA_` + uppercase.
const KEYS: &[&str] = &[
    "listen",
    "public_url",
    "data_dir",
    "database_url",
    "master_key_file",
    "master_key",
    "bootstrap_admin_email",
    "bootstrap_admin_password",
    "geoip_db",
    "trusted_proxies",
    "log_level",
    "log_format",
    "argon2_memory_kib",
    "argon2_iterations",
    "argon2_parallelism",
    "hash_concurrency",
    "hash_queue",
    "hash_pinning",
    "max_body_bytes",
    "lockout_after",
    "lockout_secs",
    "shutdown_grace_secs",
    "smtp_url",
    "mail_from",
    "mail_transport",
    "locales_dir",
    "region",
];

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads `file` (or `./tessera.toml` / `TESSERA_CONFIG` when present) and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("TESSERA_"))
            .collect();
        let file = match file {
            Some(f) => Some(f.to_path_buf()),
            None => match env.get("TESSERA_CONFIG") {
                Some(f) => Some(PathBuf::from(f)),
                None => Some(PathBuf::from("tessera.toml")).filter(|p| p.exists()),
            },
        };
        let text = match &file {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                ConfigError(format!(
                    "cannot read the configuration file {}: {e}",
                    path.display()
                ))
            })?),
            None => None,
        };
        Config::from_sources(text.as_deref(), &env)
    }

    /// Builds the configuration from file text and environment pairs (testable without a process).
    pub fn from_sources(
        file_text: Option<&str>,
        env: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let file: FileConfig = match file_text {
            Some(t) => toml::from_str(t).map_err(|e| {
                ConfigError(format!(
                    "tessera.toml: {}. Known keys: {}",
                    e.message(),
                    KEYS.join(", ")
                ))
            })?,
            None => FileConfig::default(),
        };
        for key in env.keys() {
            if key == "TESSERA_CONFIG" || key.starts_with(TEST_ENV_PREFIX) {
                continue;
            }
            let name = key.trim_start_matches("TESSERA_").to_lowercase();
            if !KEYS.contains(&name.as_str()) {
                return Err(ConfigError(format!(
                    "unknown environment variable {key}. Remove it or use one of: {}",
                    KEYS.iter()
                        .map(|k| format!("TESSERA_{}", k.to_uppercase()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        let get = |key: &str, from_file: Option<String>| -> Option<(String, String)> {
            let env_name = format!("TESSERA_{}", key.to_uppercase());
            match env.get(&env_name) {
                Some(v) => Some((env_name, v.clone())),
                None => from_file.map(|v| (key.to_string(), v)),
            }
        };
        let parse_num = |key: &str,
                         from_file: Option<String>,
                         default: u64,
                         min: u64,
                         max: u64|
         -> Result<u64, ConfigError> {
            match get(key, from_file) {
                None => Ok(default),
                Some((src, v)) => match v.trim().parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(n),
                    _ => Err(ConfigError(format!(
                        "{src} = {v:?}: expected a whole number from {min} to {max}"
                    ))),
                },
            }
        };

        let listen = match get("listen", file.listen) {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some((src, v)) => v.trim().parse().map_err(|_| {
                ConfigError(format!("{src} = {v:?}: expected an address and port such as 127.0.0.1:8080 or 0.0.0.0:8080"))
            })?,
        };
        let public_url = match get("public_url", file.public_url) {
            None => "http://localhost:8080".to_string(),
            Some((src, v)) => validate_public_url(&src, &v)?,
        };
        let data_dir = PathBuf::from(
            get("data_dir", file.data_dir)
                .map(|(_, v)| v)
                .unwrap_or_else(|| "./tessera-data".into()),
        );
        let database_url = match get("database_url", file.database_url) {
            None => format!("sqlite://{}", data_dir.join("tessera.db").display()),
            Some((src, v)) => {
                let ok = ["sqlite:", "postgres://", "postgresql://"]
                    .iter()
                    .any(|p| v.starts_with(p));
                if !ok {
                    return Err(ConfigError(format!(
                        "{src}: expected sqlite://path/to/file.db or postgres://user@host:5432/dbname"
                    )));
                }
                v
            }
        };
        let master_key_file = get("master_key_file", file.master_key_file)
            .map(|(_, v)| PathBuf::from(v))
            .unwrap_or_else(|| data_dir.join("master.key"));
        let log_format = match get("log_format", file.log_format) {
            None => LogFormat::Text,
            Some((_, v)) if v == "text" => LogFormat::Text,
            Some((_, v)) if v == "json" => LogFormat::Json,
            Some((src, v)) => {
                return Err(ConfigError(format!(
                    "{src} = {v:?}: expected \"text\" or \"json\""
                )));
            }
        };
        let hash_pinning = match get("hash_pinning", file.hash_pinning) {
            None => crate::gate::PinningMode::Auto,
            Some((src, v)) => crate::gate::PinningMode::parse(&v).ok_or_else(|| {
                ConfigError(format!(
                    "{src} = {v:?}: expected \"auto\", \"on\" or \"off\""
                ))
            })?,
        };
        let cores = std::thread::available_parallelism()
            .map(|n| n.get() as u64)
            .unwrap_or(2);
        let bootstrap_admin_email =
            get("bootstrap_admin_email", file.bootstrap_admin_email).map(|(_, v)| v);
        let bootstrap_admin_password =
            get("bootstrap_admin_password", file.bootstrap_admin_password).map(|(_, v)| v);
        if bootstrap_admin_email.is_some() != bootstrap_admin_password.is_some() {
            return Err(ConfigError(
                "set both TESSERA_BOOTSTRAP_ADMIN_EMAIL and TESSERA_BOOTSTRAP_ADMIN_PASSWORD, or neither (then a one-time setup password is printed)".into(),
            ));
        }
        let smtp_url = match get("smtp_url", file.smtp_url) {
            None => None,
            Some((_, v)) if v.trim().is_empty() => None,
            Some((src, v)) => Some(
                crate::mail::smtp::SmtpSettings::parse(&v)
                    .map_err(|e| ConfigError(format!("{src}: {e}")))?,
            ),
        };
        let mail_transport = match get("mail_transport", file.mail_transport) {
            None if smtp_url.is_some() => crate::mail::MailTransport::Smtp,
            None => crate::mail::MailTransport::Log,
            Some((_, v)) if v == "smtp" && smtp_url.is_some() => crate::mail::MailTransport::Smtp,
            Some((src, v)) if v == "smtp" => {
                return Err(ConfigError(format!(
                    "{src} = {v:?} needs TESSERA_SMTP_URL (smtp://user:password@host:587)"
                )));
            }
            Some((_, v)) if v == "log" => crate::mail::MailTransport::Log,
            Some((src, v)) => {
                return Err(ConfigError(format!(
                    "{src} = {v:?}: expected \"smtp\" or \"log\""
                )));
            }
        };
        let mail_from = match get("mail_from", file.mail_from) {
            None => default_mail_from(&public_url),
            Some((src, v)) => {
                let v = v.trim().to_string();
                if v.parse::<lettre::message::Mailbox>().is_err() {
                    return Err(ConfigError(format!(
                        "{src} = {v:?}: expected an address such as no-reply@example.com or \"Example <no-reply@example.com>\""
                    )));
                }
                v
            }
        };
        let locales_dir = match get("locales_dir", file.locales_dir) {
            None => None,
            Some((_, v)) if v.trim().is_empty() => None,
            Some((src, v)) => {
                let p = PathBuf::from(v.trim());
                if !p.is_dir() {
                    return Err(ConfigError(format!(
                        "{src} = {v:?}: expected a folder holding <locale>/*.ftl files, such as ./locales (see docs/branding-i18n.md)"
                    )));
                }
                Some(p)
            }
        };
        let trusted_proxies = match get("trusted_proxies", file.trusted_proxies) {
            None => Vec::new(),
            Some((src, v)) => crate::client_ip::parse_trusted(&v).map_err(|e| {
                ConfigError(format!(
                    "{src}: {e}; expected comma-separated addresses or CIDR blocks of your reverse proxies, such as 10.0.0.0/8,192.0.2.1"
                ))
            })?,
        };
        let region = match get("region", file.region) {
            None => None,
            Some((_, v)) if v.trim().is_empty() => None,
            Some((src, v)) => Some(
                tessera_core::tenant::validate_region("region", v.trim()).map_err(|_| {
                    ConfigError(format!(
                        "{src} = {v:?}: expected a region token of 2-32 lowercase letters and digits in parts joined by hyphens, such as eu or us-east"
                    ))
                })?,
            ),
        };
        Ok(Config {
            region,
            locales_dir,
            smtp_url,
            mail_from,
            mail_transport,
            hash_pinning,
            listen,
            public_url,
            database_url,
            master_key_file,
            master_key: get("master_key", file.master_key).map(|(_, v)| v),
            bootstrap_admin_email,
            bootstrap_admin_password,
            geoip_db: get("geoip_db", file.geoip_db).map(|(_, v)| PathBuf::from(v)),
            trusted_proxies,
            log_level: get("log_level", file.log_level)
                .map(|(_, v)| v)
                .unwrap_or_else(|| "info".into()),
            log_format,
            argon2_memory_kib: parse_num(
                "argon2_memory_kib",
                file.argon2_memory_kib.map(|n| n.to_string()),
                19456,
                1024,
                4 * 1024 * 1024,
            )? as u32,
            argon2_iterations: parse_num(
                "argon2_iterations",
                file.argon2_iterations.map(|n| n.to_string()),
                2,
                1,
                100,
            )? as u32,
            argon2_parallelism: parse_num(
                "argon2_parallelism",
                file.argon2_parallelism.map(|n| n.to_string()),
                1,
                1,
                64,
            )? as u32,
            hash_concurrency: parse_num(
                "hash_concurrency",
                file.hash_concurrency.map(|n| n.to_string()),
                cores,
                1,
                1024,
            )? as usize,
            hash_queue: parse_num(
                "hash_queue",
                file.hash_queue.map(|n| n.to_string()),
                64 * cores,
                0,
                1_000_000,
            )? as usize,
            max_body_bytes: parse_num(
                "max_body_bytes",
                file.max_body_bytes.map(|n| n.to_string()),
                64 * 1024,
                1024,
                64 * 1024 * 1024,
            )? as usize,
            lockout_after: parse_num(
                "lockout_after",
                file.lockout_after.map(|n| n.to_string()),
                10,
                2,
                1000,
            )? as u32,
            lockout_secs: parse_num(
                "lockout_secs",
                file.lockout_secs.map(|n| n.to_string()),
                900,
                1,
                86400 * 30,
            )?,
            shutdown_grace_secs: parse_num(
                "shutdown_grace_secs",
                file.shutdown_grace_secs.map(|n| n.to_string()),
                20,
                0,
                3600,
            )?,
            data_dir,
        })
    }

    /// Cookies get `Secure` unless the deployment is served over plain HTTP (local development).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// `Tessera <no-reply@{host of the public URL}>`, or `@localhost` when that host is an IP
/// address or has no dot (mail domains are names).
fn default_mail_from(public_url: &str) -> String {
    let host = url::Url::parse(public_url)
        .ok()
        .and_then(|u| match u.host() {
            Some(url::Host::Domain(d)) if d.contains('.') => Some(d.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| "localhost".into());
    format!("Tessera <no-reply@{host}>")
}

fn validate_public_url(src: &str, v: &str) -> Result<String, ConfigError> {
    let err = || {
        ConfigError(format!(
            "{src} = {v:?}: expected an absolute http(s) URL without query or fragment, such as https://id.example.com"
        ))
    };
    let u = url::Url::parse(v.trim()).map_err(|_| err())?;
    if !matches!(u.scheme(), "http" | "https")
        || u.host_str().is_none()
        || u.query().is_some()
        || u.fragment().is_some()
    {
        return Err(err());
    }
    Ok(v.trim().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_work_without_any_configuration() {
        let c = Config::from_sources(None, &env(&[])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url, "http://localhost:8080");
        assert_eq!(c.database_url, "sqlite://./tessera-data/tessera.db");
        assert_eq!(
            c.master_key_file,
            PathBuf::from("./tessera-data/master.key")
        );
        assert_eq!(c.argon2_memory_kib, 19456);
        assert!(!c.secure_cookies());
    }

    #[test]
    fn environment_overrides_file() {
        let c = Config::from_sources(
            Some("listen = \"0.0.0.0:9000\"\npublic_url = \"https://id.example.com/\"\n"),
            &env(&[("TESSERA_LISTEN", "127.0.0.1:9001")]),
        )
        .unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9001");
        assert_eq!(c.public_url, "https://id.example.com");
        assert!(c.secure_cookies());
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let e = Config::from_sources(Some("lissen = \"x\""), &env(&[]))
            .unwrap_err()
            .0;
        assert!(e.contains("lissen"), "{e}");
        let e = Config::from_sources(None, &env(&[("TESSERA_LISTN", "x")]))
            .unwrap_err()
            .0;
        assert!(e.contains("TESSERA_LISTN"), "{e}");
        let e = Config::from_sources(None, &env(&[("TESSERA_LISTEN", "nope")]))
            .unwrap_err()
            .0;
        assert!(e.contains("TESSERA_LISTEN"), "{e}");
        let e = Config::from_sources(None, &env(&[("TESSERA_DATABASE_URL", "mysql://x")]))
            .unwrap_err()
            .0;
        assert!(e.contains("TESSERA_DATABASE_URL"), "{e}");
        let e = Config::from_sources(Some("argon2_iterations = 0"), &env(&[]))
            .unwrap_err()
            .0;
        assert!(e.contains("argon2_iterations"), "{e}");
        let e = Config::from_sources(None, &env(&[("TESSERA_BOOTSTRAP_ADMIN_EMAIL", "a@b.c")]))
            .unwrap_err()
            .0;
        assert!(e.contains("TESSERA_BOOTSTRAP_ADMIN_PASSWORD"), "{e}");
        let e = Config::from_sources(
            None,
            &env(&[("TESSERA_SMTP_URL", "smtp://u:hunter2@h?tls=maybe")]),
        )
        .unwrap_err()
        .0;
        assert!(
            e.contains("TESSERA_SMTP_URL") && !e.contains("hunter2"),
            "{e}"
        );
        let e = Config::from_sources(None, &env(&[("TESSERA_MAIL_TRANSPORT", "smtp")]))
            .unwrap_err()
            .0;
        assert!(e.contains("TESSERA_SMTP_URL"), "{e}");
        let e = Config::from_sources(Some("mail_transport = \"pigeon\""), &env(&[]))
            .unwrap_err()
            .0;
        assert!(e.contains("mail_transport"), "{e}");
        let e = Config::from_sources(None, &env(&[("TESSERA_MAIL_FROM", "not an address")]))
            .unwrap_err()
            .0;
        assert!(e.contains("TESSERA_MAIL_FROM"), "{e}");
        let e = Config::from_sources(None, &env(&[("TESSERA_LOCALES_DIR", "/no/such/folder")]))
            .unwrap_err()
            .0;
        assert!(e.contains("TESSERA_LOCALES_DIR"), "{e}");
        // The test suite's own variables are not the server's business.
        assert!(Config::from_sources(None, &env(&[("TESSERA_TEST_POSTGRES_URL", "x")])).is_ok());
    }

    #[test]
    fn mail_settings() {
        use crate::mail::MailTransport;
        use crate::mail::smtp::SmtpSecurity;
        let c = Config::from_sources(None, &env(&[])).unwrap();
        assert_eq!(c.mail_transport, MailTransport::Log);
        assert!(c.smtp_url.is_none());
        assert_eq!(c.mail_from, "Tessera <no-reply@localhost>");
        let c = Config::from_sources(
            Some("smtp_url = \"smtps://mailer:pw@mail.example.com\"\npublic_url = \"https://id.example.com\"\n"),
            &env(&[]),
        )
        .unwrap();
        assert_eq!(c.mail_transport, MailTransport::Smtp);
        assert_eq!(c.mail_from, "Tessera <no-reply@id.example.com>");
        let smtp = c.smtp_url.as_ref().unwrap();
        assert_eq!((smtp.security, smtp.port), (SmtpSecurity::ImplicitTls, 465));
        assert!(
            !format!("{c:?}").contains("pw@"),
            "Debug hides the password"
        );
        let c = Config::from_sources(
            None,
            &env(&[
                ("TESSERA_SMTP_URL", "smtp://127.0.0.1:2525?tls=none"),
                ("TESSERA_MAIL_TRANSPORT", "log"),
                ("TESSERA_MAIL_FROM", "Acme <id@acme.example>"),
            ]),
        )
        .unwrap();
        assert_eq!(c.mail_transport, MailTransport::Log);
        assert_eq!(c.mail_from, "Acme <id@acme.example>");
        assert_eq!(c.smtp_url.unwrap().security, SmtpSecurity::None);
    }

    #[test]
    fn hash_pinning_is_auto_unless_set() {
        let c = Config::from_sources(None, &env(&[])).unwrap();
        assert_eq!(c.hash_pinning, crate::gate::PinningMode::Auto);
        let c = Config::from_sources(None, &env(&[("TESSERA_HASH_PINNING", "off")])).unwrap();
        assert_eq!(c.hash_pinning, crate::gate::PinningMode::Off);
        let e = Config::from_sources(Some("hash_pinning = \"always\""), &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("hash_pinning") && e.contains("\"auto\""), "{e}");
    }
}
