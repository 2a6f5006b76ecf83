//! `tessera risk …`: backtests of the tenant's risk policy over recorded sign-in events. A thin
//! adapter over `tessera_risk::backtest`: the same engine and state the live path uses.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;
use tessera_risk::backtest::{Summary, Verdict, parse_events, replay};
use tessera_risk::geo::{GeoLookup, MmdbGeo};
use tessera_risk::{RiskEngine, RiskSettings, RiskState};
use tessera_server::app::Services;

use super::output::{CliError, Out};

#[derive(Subcommand)]
pub enum RiskCmd {
    /// Replay recorded sign-in events (JSON Lines) in time order through the tenant's risk
    /// policy and print one JSON line per event: {"decision","score","reasons",…}.
    Evaluate {
        #[arg(long)]
        tenant: String,
        /// The events, one JSON object per line (`-` for standard input). See docs/risk.md.
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        /// Try these risk settings (a JSON object like the tenant's `settings.risk`) instead of
        /// the tenant's own.
        #[arg(long, value_name = "FILE")]
        settings: Option<PathBuf>,
        /// Add a list of known-bad networks, one IP or CIDR per line (repeatable).
        #[arg(long = "ip-list", value_name = "NAME=FILE")]
        ip_lists: Vec<String>,
    },
}

pub async fn run(cmd: RiskCmd, svc: &Services, out: &Out) -> Result<(), CliError> {
    match cmd {
        RiskCmd::Evaluate {
            tenant,
            input,
            settings,
            ip_lists,
        } => evaluate(svc, out, &tenant, &input, settings, &ip_lists).await,
    }
}

fn open_input(input: &PathBuf) -> Result<Box<dyn BufRead>, CliError> {
    if input.as_os_str() == "-" {
        return Ok(Box::new(BufReader::new(std::io::stdin())));
    }
    let f = std::fs::File::open(input)
        .map_err(|e| CliError::invalid(format!("--input {}: {e}", input.display())))?;
    Ok(Box::new(BufReader::new(f)))
}

async fn evaluate(
    svc: &Services,
    out: &Out,
    slug: &str,
    input: &PathBuf,
    settings_file: Option<PathBuf>,
    ip_lists: &[String],
) -> Result<(), CliError> {
    let tenant = svc.tenant(slug).await?;
    let settings: RiskSettings = match &settings_file {
        None => tenant.settings.risk.clone(),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| CliError::invalid(format!("--settings {}: {e}", p.display())))?;
            serde_json::from_str(&text).map_err(|e| {
                CliError::invalid(format!(
                    "--settings {}: not risk settings: {e}",
                    p.display()
                ))
            })?
        }
    };
    let geo: Option<Arc<dyn GeoLookup>> = match &svc.config.geoip_db {
        Some(path) => Some(Arc::new(MmdbGeo::open(path).map_err(|e| {
            CliError::config(format!(
                "TESSERA_GEOIP_DB: {e}; give a MaxMind-format .mmdb file (GeoIP2/GeoLite2 City, Country or ASN)"
            ))
        })?)),
        None => {
            eprintln!(
                "warning: TESSERA_GEOIP_DB is not set: country, network and travel signals are off"
            );
            None
        }
    };
    let mut engine = RiskEngine::new(settings, geo).map_err(|e| {
        CliError::invalid(match &settings_file {
            Some(p) => format!("--settings {}: {e}", p.display()),
            None => e.to_string(),
        })
    })?;
    for spec in ip_lists {
        let Some((name, file)) = spec
            .split_once('=')
            .filter(|(n, f)| !n.is_empty() && !f.is_empty())
        else {
            return Err(CliError::invalid(format!(
                "--ip-list {spec}: expected NAME=FILE, e.g. tor=./tor-exits.txt"
            )));
        };
        let text = std::fs::read_to_string(file)
            .map_err(|e| CliError::invalid(format!("--ip-list {name}={file}: {e}")))?;
        let nets = tessera_risk::lists::parse_list(&text)
            .map_err(|e| CliError::invalid(format!("--ip-list {name}={file}: {e}")))?;
        engine.add_ip_list(name, nets);
    }
    let reader = open_input(input)?;
    // Every line is checked before anything is evaluated, so a bad file prints no verdicts.
    let mut events =
        parse_events(reader).map_err(|e| CliError::invalid(format!("{}: {e}", input.display())))?;
    let mut state = RiskState::default();
    let mut summary = Summary::default();
    let stdout = std::io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    let mut write_error = None;
    replay(&engine, &mut state, &mut events, |e, a| {
        summary.add(a.decision);
        if write_error.is_some() {
            return;
        }
        let v = Verdict::new(e, a);
        if let Err(err) = serde_json::to_writer(&mut w, &v)
            .and_then(|_| w.write_all(b"\n").map_err(serde_json::Error::io))
        {
            write_error = Some(err);
        }
    });
    if let Some(e) = write_error {
        return Err(CliError::internal(format!("cannot write the output: {e}")));
    }
    w.flush()
        .map_err(|e| CliError::internal(format!("cannot write the output: {e}")))?;
    if !out.json {
        eprintln!(
            "{} events: {} allow, {} challenge, {} block",
            summary.events, summary.allow, summary.challenge, summary.block
        );
    }
    Ok(())
}
