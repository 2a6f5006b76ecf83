//! `tessera-risk-sim`: seeded synthetic sign-in traffic and the report of how the risk engine
//! judges it. See docs/risk.md.
//!
//! ```sh
//! cargo build --bin tessera && cargo run -p tessera-risk --bin tessera-risk-sim -- run --seed 1
//! ```

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tessera_risk::backtest::{Verdict, parse_events, replay};
use tessera_risk::geo::MmdbGeo;
use tessera_risk::sim::{Report, SimConfig, SimEvent, generate, render, score};
use tessera_risk::{RiskEngine, RiskSettings, RiskState};

#[derive(Parser)]
#[command(
    name = "tessera-risk-sim",
    about = "Synthetic sign-in traffic for the Tessera risk engine"
)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args, Clone)]
struct Gen {
    /// Seed of the generator: the same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Legitimate users.
    #[arg(long, default_value_t = 2000)]
    users: usize,
    /// Days of traffic; attacks start after the first third.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(3..=3650))]
    days: u32,
}

impl Gen {
    fn config(&self) -> SimConfig {
        SimConfig {
            seed: self.seed,
            users: self.users,
            days: self.days,
            ..Default::default()
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Write events.jsonl (labelled) and geo.mmdb into a folder.
    Generate {
        #[command(flatten)]
        gen_args: Gen,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Compare `tessera risk evaluate` output with the labels of the events it judged.
    Score {
        #[arg(long, value_name = "FILE")]
        events: PathBuf,
        #[arg(long, value_name = "FILE")]
        verdicts: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Generate, run `tessera risk evaluate` on a throwaway deployment, and report.
    Run {
        #[command(flatten)]
        gen_args: Gen,
        /// The tessera binary (default: `tessera` next to this program).
        #[arg(long, value_name = "PATH")]
        tessera: Option<PathBuf>,
        /// Risk settings to try instead of the defaults (passed to `--settings`).
        #[arg(long, value_name = "FILE")]
        settings: Option<PathBuf>,
        /// Keep the files (events, geo.mmdb, verdicts) in this folder.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Measures the engine's cost per sign-in attempt: each event of the synthetic traffic
    /// goes through the whole live sequence (geo-IP lookup, the checks before the password,
    /// the profile checks, the state update), timed one by one; prints percentiles. Build with
    /// `--release`.
    Latency {
        #[command(flatten)]
        gen_args: Gen,
        #[arg(long)]
        json: bool,
    },
    /// Like `run`, but with the engine in this process (no database; for quick tuning).
    Replay {
        #[command(flatten)]
        gen_args: Gen,
        #[arg(long, value_name = "FILE")]
        settings: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    match run(Args::parse().cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write_files(cfg: &SimConfig, dir: &Path) -> Result<Vec<SimEvent>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (world, events) = generate(cfg);
    std::fs::write(dir.join("geo.mmdb"), world.mmdb()).map_err(|e| e.to_string())?;
    let f = std::fs::File::create(dir.join("events.jsonl")).map_err(|e| e.to_string())?;
    let mut w = BufWriter::new(f);
    for e in &events {
        serde_json::to_writer(&mut w, e).map_err(|e| e.to_string())?;
        w.write_all(b"\n").map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())?;
    Ok(events)
}

fn read_events(path: &Path) -> Result<Vec<SimEvent>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    BufReader::new(f)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let l = l.map_err(|e| e.to_string())?;
            serde_json::from_str(&l).map_err(|e| format!("{} line {}: {e}", path.display(), i + 1))
        })
        .collect()
}

fn read_verdicts(path: &Path) -> Result<Vec<Verdict>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    BufReader::new(f)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let l = l.map_err(|e| e.to_string())?;
            serde_json::from_str(&l).map_err(|e| format!("{} line {}: {e}", path.display(), i + 1))
        })
        .collect()
}

fn print(report: &Report, json: bool, header: &str) {
    if json {
        println!("{}", serde_json::to_string(report).unwrap_or_default());
    } else {
        println!("{header}\n\n{}", render(report));
    }
}

fn settings_from(path: Option<&Path>) -> Result<RiskSettings, String> {
    match path {
        None => Ok(RiskSettings::default()),
        Some(p) => {
            let t = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            serde_json::from_str(&t).map_err(|e| format!("{}: {e}", p.display()))
        }
    }
}

fn tessera_cmd(bin: &Path, data: &Path, geo: &Path) -> Command {
    let mut c = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TESSERA_") {
            c.env_remove(&k);
        }
    }
    c.env("TESSERA_DATA_DIR", data)
        .env("TESSERA_GEOIP_DB", geo)
        .env("TESSERA_LOG_LEVEL", "warn");
    c
}

fn run(cmd: Cmd) -> Result<(), String> {
    match cmd {
        Cmd::Generate { gen_args, out } => {
            let events = write_files(&gen_args.config(), &out)?;
            eprintln!(
                "{} events and the geo-IP database written to {}",
                events.len(),
                out.display()
            );
            Ok(())
        }
        Cmd::Score {
            events,
            verdicts,
            json,
        } => {
            let report = score(&read_events(&events)?, &read_verdicts(&verdicts)?)?;
            print(&report, json, "");
            Ok(())
        }
        Cmd::Latency { gen_args, json } => {
            let cfg = gen_args.config();
            let (world, events) = generate(&cfg);
            let geo = MmdbGeo::from_bytes(world.mmdb())?;
            let engine = RiskEngine::new(RiskSettings::default(), Some(Arc::new(geo)))
                .map_err(|e| e.to_string())?;
            let text: String = events
                .iter()
                .map(|e| serde_json::to_string(e).unwrap_or_default() + "\n")
                .collect();
            let mut parsed = parse_events(text.as_bytes()).map_err(|e| e.to_string())?;
            parsed.sort_by_key(|e| e.attempt.at);
            let mut state = RiskState::default();
            let mut nanos: Vec<u64> = Vec::with_capacity(parsed.len());
            for e in &parsed {
                let started = std::time::Instant::now();
                let a = engine.evaluate(&mut state, &e.attempt, e.outcome, e.second_factor);
                nanos.push(started.elapsed().as_nanos() as u64);
                std::hint::black_box(a);
            }
            nanos.sort_unstable();
            let pct = |p: f64| {
                let i = ((nanos.len() as f64 - 1.0) * p).round() as usize;
                nanos[i.min(nanos.len() - 1)] as f64 / 1000.0
            };
            let mean = nanos.iter().sum::<u64>() as f64 / nanos.len().max(1) as f64 / 1000.0;
            let report = serde_json::json!({
                "events": nanos.len(),
                "profiles": state.profiles(),
                "mean_us": mean,
                "p50_us": pct(0.50),
                "p90_us": pct(0.90),
                "p99_us": pct(0.99),
                "p999_us": pct(0.999),
                "max_us": pct(1.0),
            });
            if json {
                println!("{report}");
            } else {
                println!(
                    "{} attempts, {} profiles: mean {:.1} µs, p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs",
                    nanos.len(),
                    state.profiles(),
                    mean,
                    pct(0.50),
                    pct(0.90),
                    pct(0.99),
                    pct(0.999),
                    pct(1.0)
                );
            }
            Ok(())
        }
        Cmd::Replay {
            gen_args,
            settings,
            json,
        } => {
            let cfg = gen_args.config();
            let (world, events) = generate(&cfg);
            let geo = MmdbGeo::from_bytes(world.mmdb())?;
            let engine = RiskEngine::new(settings_from(settings.as_deref())?, Some(Arc::new(geo)))
                .map_err(|e| e.to_string())?;
            let text: String = events
                .iter()
                .map(|e| serde_json::to_string(e).unwrap_or_default() + "\n")
                .collect();
            let mut parsed = parse_events(text.as_bytes()).map_err(|e| e.to_string())?;
            let mut verdicts = Vec::with_capacity(parsed.len());
            replay(&engine, &mut RiskState::default(), &mut parsed, |e, a| {
                verdicts.push(Verdict::new(e, a))
            });
            let report = score(&events, &verdicts)?;
            print(
                &report,
                json,
                &format!(
                    "seed {}, {} users, {} days, {} events (in-process replay)",
                    cfg.seed,
                    cfg.users,
                    cfg.days,
                    events.len()
                ),
            );
            Ok(())
        }
        Cmd::Run {
            gen_args,
            tessera,
            settings,
            out,
            json,
        } => {
            let bin = match tessera {
                Some(p) => p,
                None => std::env::current_exe()
                    .map_err(|e| e.to_string())?
                    .with_file_name("tessera"),
            };
            if !bin.is_file() {
                return Err(format!(
                    "{} not found: build it first (cargo build --bin tessera) or pass --tessera",
                    bin.display()
                ));
            }
            let (dir, throwaway) = match out {
                Some(d) => (d, false),
                None => (
                    std::env::temp_dir().join(format!("tessera-risk-sim-{}", std::process::id())),
                    true,
                ),
            };
            let result = run_through_cli(&gen_args, &bin, settings.as_deref(), &dir, json);
            if throwaway {
                let _ = std::fs::remove_dir_all(&dir);
            }
            result
        }
    }
}

fn run_through_cli(
    g: &Gen,
    bin: &Path,
    settings: Option<&Path>,
    dir: &Path,
    json: bool,
) -> Result<(), String> {
    let cfg = g.config();
    let events = write_files(&cfg, dir)?;
    let data = dir.join("data");
    let geo = dir.join("geo.mmdb");
    let created = tessera_cmd(bin, &data, &geo)
        .args(["tenant", "create", "sim", "--preset", "customer", "--json"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    if !created.status.success() {
        return Err(format!(
            "tessera tenant create failed: {}{}",
            String::from_utf8_lossy(&created.stdout),
            String::from_utf8_lossy(&created.stderr)
        ));
    }
    let verdicts_path = dir.join("verdicts.jsonl");
    let verdicts_file = std::fs::File::create(&verdicts_path).map_err(|e| e.to_string())?;
    let mut c = tessera_cmd(bin, &data, &geo);
    c.args(["risk", "evaluate", "--tenant", "sim", "--input"])
        .arg(dir.join("events.jsonl"))
        .arg("--json");
    if let Some(s) = settings {
        c.arg("--settings").arg(s);
    }
    let started = std::time::Instant::now();
    let status = c
        .stdin(Stdio::null())
        .stdout(verdicts_file)
        .status()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let elapsed = started.elapsed();
    if !status.success() {
        return Err(format!(
            "tessera risk evaluate failed ({status}); see {}",
            verdicts_path.display()
        ));
    }
    let report = score(&events, &read_verdicts(&verdicts_path)?)?;
    print(
        &report,
        json,
        &format!(
            "seed {}, {} users, {} days, {} events; tessera risk evaluate took {:.1} s",
            cfg.seed,
            cfg.users,
            cfg.days,
            events.len(),
            elapsed.as_secs_f64()
        ),
    );
    Ok(())
}
