//! Command-line parsing and dispatch. Every admin command accepts `--json` and then prints exactly
//! one JSON object on stdout (errors too, as `{"error","message"}`), so scripts can rely on it.

mod audit;
mod clients;
mod idp;
mod import;
mod keys;
mod output;
mod risk;
mod tenants;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tessera_server::app::Services;
use tessera_server::config::Config;

use output::{CliError, Out};

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "Tessera identity server: workforce IAM and customer CIAM in one binary"
)]
struct Cli {
    /// Configuration file (default: ./tessera.toml when present, or TESSERA_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print exactly one JSON object on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates the admin tenant on first start).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the version.
    Version,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(tenants::TenantCmd),
    /// Manage applications (OAuth 2 / OpenID Connect clients).
    #[command(subcommand)]
    Client(clients::ClientCmd),
    /// Manage user accounts.
    #[command(subcommand)]
    User(users::UserCmd),
    /// Manage upstream identity providers (social and enterprise sign-in).
    #[command(subcommand)]
    Idp(idp::IdpCmd),
    /// Verify, checkpoint and export the audit trail.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Manage API keys (and, with the OpenID Connect provider, signing keys).
    #[command(subcommand)]
    Keys(keys::KeysCmd),
    /// Backtest the risk policy on recorded sign-in events.
    #[command(subcommand)]
    Risk(risk::RiskCmd),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Out { json: cli.json };
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return out.fail(CliError::config(e.0)),
    };
    let mut log_config = config.clone();
    if !matches!(cli.command, Command::Serve) && std::env::var_os("TESSERA_LOG_LEVEL").is_none() {
        // Admin commands talk through their output; only warnings belong on stderr.
        log_config.log_level = "warn".into();
    }
    tessera_server::telemetry::init(&log_config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return out.fail(CliError::internal(format!(
                "cannot start the async runtime: {e}"
            )));
        }
    };
    match runtime.block_on(run(cli.command, config, &out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => out.fail(e),
    }
}

async fn run(command: Command, config: Config, out: &Out) -> Result<(), CliError> {
    if let Command::Version = command {
        out.print(
            &serde_json::json!({"name": "tessera", "version": env!("CARGO_PKG_VERSION")}),
            || format!("tessera {}", env!("CARGO_PKG_VERSION")),
        );
        return Ok(());
    }
    let services = Services::open(config)
        .await
        .map_err(|e| CliError::config(e.0))?;
    let result = match command {
        Command::Serve => tessera_server::serve(services.clone())
            .await
            .map_err(CliError::internal),
        Command::Migrate => {
            out.print(
                &serde_json::json!({"migrated": true, "database": services.store.backend()}),
                || format!("migrations applied ({})", services.store.backend()),
            );
            Ok(())
        }
        Command::Version => Ok(()),
        Command::Tenant(c) => tenants::run(c, &services, out).await,
        Command::Client(c) => clients::run(c, &services, out).await,
        Command::User(c) => users::run(c, &services, out).await,
        Command::Idp(c) => idp::run(c, &services, out).await,
        Command::Keys(c) => keys::run(c, &services, out).await,
        Command::Audit(c) => audit::run(c, &services, out).await,
        Command::Risk(c) => risk::run(c, &services, out).await,
    };
    services.store.close().await;
    result
}
