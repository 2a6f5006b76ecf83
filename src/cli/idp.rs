//! `tessera idp …`: a tenant's upstream identity providers (see docs/federation.md). Secrets are
//! read from a file or standard input rather than the command line, where other users of the
//! machine could see them in the process list.

use std::io::Read;
use std::path::PathBuf;

use clap::Subcommand;
use tessera_core::events::Actor;
use tessera_core::federation::FederationStore;
use tessera_server::api::identity_providers::view;
use tessera_server::app::Services;
use tessera_server::federation::admin::{self, NewProvider};

use super::output::{CliError, Out};

#[derive(Subcommand)]
pub enum IdpCmd {
    /// Add an identity provider (from a preset or as a generic OpenID Connect / OAuth 2.0 one).
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        alias: String,
        /// google, microsoft, microsoft:<tenant>, apple, github, facebook.
        #[arg(long)]
        preset: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// The client secret (for Apple, the .p8 private key) from a file; `-` reads standard input.
        #[arg(long, value_name = "FILE")]
        client_secret_file: Option<PathBuf>,
        /// Protocol settings as a JSON object (the API's `config`), e.g.
        /// '{"client_id": "…", "issuer": "https://…"}'.
        #[arg(long, default_value = "{}")]
        settings: String,
        /// Link a verified email from this provider to the account with that address.
        #[arg(long)]
        trust_email: bool,
        /// Do not create accounts for people signing in for the first time.
        #[arg(long)]
        no_jit: bool,
        /// An email domain routed to this provider from the sign-in page (repeatable).
        #[arg(long = "domain")]
        domains: Vec<String>,
        /// Add it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// List a tenant's identity providers.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Delete an identity provider and the identities linked through it.
    Delete {
        #[arg(long)]
        tenant: String,
        alias: String,
    },
}

fn read_secret(path: &PathBuf) -> Result<String, CliError> {
    let mut s = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::invalid(format!("client secret from standard input: {e}")))?;
    } else {
        s = std::fs::read_to_string(path).map_err(|e| {
            CliError::invalid(format!("client secret file {}: {e}", path.display()))
        })?;
    }
    Ok(s)
}

pub async fn run(cmd: IdpCmd, svc: &Services, out: &Out) -> Result<(), CliError> {
    let url = svc.config.public_url.clone();
    match cmd {
        IdpCmd::Create {
            tenant,
            alias,
            preset,
            display_name,
            client_secret_file,
            settings,
            trust_email,
            no_jit,
            domains,
            disabled,
        } => {
            let tenant = svc.tenant(&tenant).await?;
            let config: serde_json::Value = serde_json::from_str(&settings)
                .map_err(|e| CliError::invalid(format!("--settings is not JSON: {e}")))?;
            let client_secret = match &client_secret_file {
                Some(p) => Some(admin::secret(&read_secret(p)?)?),
                None => None,
            };
            let p = admin::create_provider(
                svc,
                &tenant,
                NewProvider {
                    alias,
                    display_name,
                    enabled: !disabled,
                    preset,
                    client_secret,
                    trust_email,
                    jit: !no_jit,
                    domains,
                    config,
                },
                Actor::cli(),
            )
            .await?;
            let v = view(&url, &tenant.slug, &p);
            out.print(&v, || {
                format!(
                    "created identity provider {} ({}); register this redirect URI at the provider: {}",
                    v.alias, v.display_name, v.redirect_uri
                )
            });
        }
        IdpCmd::List { tenant } => {
            let tenant = svc.tenant(&tenant).await?;
            let items: Vec<_> = svc
                .store
                .list_identity_providers(tenant.id)
                .await?
                .iter()
                .map(|p| view(&url, &tenant.slug, p))
                .collect();
            out.print(&serde_json::json!({ "items": items }), || {
                items
                    .iter()
                    .map(|p| {
                        format!(
                            "{}\t{}\t{}\t{}",
                            p.alias,
                            p.display_name,
                            if p.enabled { "enabled" } else { "disabled" },
                            p.redirect_uri
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        IdpCmd::Delete { tenant, alias } => {
            let tenant = svc.tenant(&tenant).await?;
            admin::delete_provider(svc, &tenant, &alias, Actor::cli()).await?;
            out.print(
                &serde_json::json!({"deleted": true, "alias": alias}),
                || format!("deleted identity provider {alias}"),
            );
        }
    }
    Ok(())
}
