//! `tessera-bench`: runs the release `tessera` binary, drives HTTP load at it from N keep-alive
//! connections on 127.0.0.1, and reports requests/s, latency percentiles, errors and the
//! server's peak memory per scenario, each compared with a baseline measured in the same run.
//!
//! It builds nothing: `cargo build --release` first. See docs/performance.md.

mod authz;
mod baseline;
mod flow;
mod load;
mod open_loop;
mod peer;
mod postgres;
mod procfs;
mod refresh;
mod report;
mod scale;
mod scenario;
mod server;
mod stats;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::watch;

use crate::load::{Conversation, Window};
use crate::report::{Baseline, PeerComparison, RunInfo, ScenarioResult, StormResult};
use crate::scenario::{BaselineKind, Scenario, Workload};
use crate::server::{Database, Deployment};

/// How long each in-process crypto baseline runs.
const CRYPTO_BASELINE: Duration = Duration::from_secs(2);

#[derive(Parser)]
#[command(
    name = "tessera-bench",
    about = "Load scenarios against the release tessera binary, with baselines measured in the same run"
)]
struct Args {
    /// Scenarios to run (repeat or separate with commas), or `all` (every one but authz-check,
    /// peer and scale). discovery, jwks and authz-check also run healthz, their baseline;
    /// peer also runs client-credentials and introspection against Tessera.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    scenario: Vec<ScenarioArg>,
    /// PostgreSQL server to use instead of SQLite (postgres://user@host:5432/db). A throwaway
    /// database is created on it for each scenario and dropped afterwards.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Measured seconds per scenario (after the warm-up).
    #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration: u64,
    /// Warm-up seconds per scenario, not measured.
    #[arg(long, default_value_t = 2, value_name = "SECS")]
    warmup: u64,
    /// Concurrent HTTP/1.1 keep-alive connections. Several levels (1,4,16) measure each
    /// scenario once per level on the same deployment (seeded once).
    #[arg(long, value_delimiter = ',', default_value = "16", value_name = "N[,N…]", value_parser = clap::value_parser!(u16).range(1..=4096))]
    connections: Vec<u16>,
    /// authz-check: users imported into the tenant.
    #[arg(long, default_value_t = authz::Sizes::FULL.users, value_name = "N")]
    authz_users: usize,
    /// authz-check: roles (every tenth a composite).
    #[arg(long, default_value_t = authz::Sizes::FULL.roles, value_name = "N")]
    authz_roles: usize,
    /// authz-check: groups, nested as a tree.
    #[arg(long, default_value_t = authz::Sizes::FULL.groups, value_name = "N")]
    authz_groups: usize,
    /// authz-check: children per group in the tree.
    #[arg(long, default_value_t = authz::Sizes::FULL.fanout, value_name = "N")]
    authz_fanout: usize,
    /// authz-check: direct members per group.
    #[arg(long, default_value_t = authz::Sizes::FULL.members_per_group, value_name = "N")]
    authz_members_per_group: usize,
    /// authz-check: users given a role directly.
    #[arg(long, default_value_t = authz::Sizes::FULL.user_assignments, value_name = "N")]
    authz_user_assignments: usize,
    /// login-storm: the offered rate as a multiple of the measured sign-in capacity.
    #[arg(long, default_value_t = 5.0, value_name = "X")]
    storm_factor: f64,
    /// login-storm: the most connections the open-loop generator opens.
    #[arg(long, default_value_t = 256, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=4096))]
    storm_connections: u16,
    /// peer: the folder with provider.mjs and its node_modules (default: bench/peer of the
    /// source tree this runner was built from).
    #[arg(long, value_name = "DIR")]
    peer_dir: Option<PathBuf>,
    /// Also offer each repeated-request scenario, refresh and code-flow open loop at this fraction
    /// (0.8) of the rate it reached, and report the latencies there.
    #[arg(long, value_name = "F")]
    at_fraction: Option<f64>,
    /// With --at-fraction: offer this many requests (flows, for code-flow) per second instead of
    /// the fraction of each maximum, so that two builds are compared at the same load.
    #[arg(long, value_name = "R", requires = "at_fraction")]
    at_rate: Option<f64>,
    /// scale: users imported into the large tenant (compared with 1,000).
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    scale_users: usize,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// The tessera binary (default: target/release/tessera next to this program's target dir).
    #[arg(long, value_name = "PATH")]
    tessera: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ScenarioArg {
    All,
    Healthz,
    Discovery,
    Jwks,
    ClientCredentials,
    Introspection,
    Refresh,
    Userinfo,
    PasswordSignin,
    CodeFlow,
    LoginStorm,
    AuthzCheck,
    /// client-credentials and introspection, against Tessera and against Node oidc-provider.
    Peer,
    /// A large tenant (`--scale-users`, default 1,000,000) against 1,000 users: import rate,
    /// sign-in, lookup by email, paging, idle memory.
    Scale,
}

/// The scenarios to run, in run order, each once, with healthz added when a scenario needs it
/// as its baseline.
fn selected(args: &[ScenarioArg]) -> Vec<Scenario> {
    let mut out: Vec<Scenario> = args
        .iter()
        .flat_map(|a| match a {
            ScenarioArg::All => Scenario::ALL.to_vec(),
            ScenarioArg::Healthz => vec![Scenario::Healthz],
            ScenarioArg::Discovery => vec![Scenario::Discovery],
            ScenarioArg::Jwks => vec![Scenario::Jwks],
            ScenarioArg::ClientCredentials => vec![Scenario::ClientCredentials],
            ScenarioArg::Introspection => vec![Scenario::Introspection],
            ScenarioArg::Refresh => vec![Scenario::Refresh],
            ScenarioArg::Userinfo => vec![Scenario::Userinfo],
            ScenarioArg::PasswordSignin => vec![Scenario::PasswordSignin],
            ScenarioArg::CodeFlow => vec![Scenario::CodeFlow],
            ScenarioArg::LoginStorm => vec![Scenario::LoginStorm],
            ScenarioArg::AuthzCheck => vec![Scenario::AuthzCheck],
            // The peer's rates are compared with Tessera's of the same run.
            ScenarioArg::Peer => vec![Scenario::ClientCredentials, Scenario::Introspection],
            // Runs after the others, on its own deployments (see `scale.rs`).
            ScenarioArg::Scale => vec![],
        })
        .collect();
    if out.iter().any(|s| s.baseline() == BaselineKind::Healthz) {
        out.push(Scenario::Healthz);
    }
    out.sort();
    out.dedup();
    out
}

/// `--tessera`, or `<target dir>/release/tessera`, where the target dir is the one this program
/// was built into (so `CARGO_TARGET_DIR` is followed, and a debug build of the runner still
/// measures the release server).
fn tessera_binary(explicit: Option<&Path>) -> Result<PathBuf> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let exe = std::env::current_exe().context("cannot find this program's path")?;
            let target = exe.parent().and_then(Path::parent).context(
                "this program is not inside a cargo target directory; pass --tessera PATH",
            )?;
            target.join("release").join("tessera")
        }
    };
    if !path.is_file() {
        bail!(
            "the tessera binary was not found at {}: run cargo build --release first (or pass --tessera PATH)",
            path.display()
        );
    }
    // Absolute: the server and the CLI run in each deployment's own directory.
    path.canonicalize()
        .with_context(|| format!("cannot resolve {}", path.display()))
}

fn database(url: Option<&str>) -> Result<Database> {
    match url {
        None => Ok(Database::Sqlite),
        Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
            Ok(Database::Postgres {
                admin_url: u.to_string(),
            })
        }
        Some(_) => bail!(
            "--database-url takes a postgres:// URL (SQLite in a temporary directory is the default)"
        ),
    }
}

/// Whether the authz-check sizes matter for this run.
fn scenarios_need_sizes(args: &[ScenarioArg]) -> bool {
    args.contains(&ScenarioArg::AuthzCheck)
}

/// Everything one run needs to know.
struct Plan {
    bin: PathBuf,
    database: Database,
    connections: Vec<usize>,
    warmup: Duration,
    measure: Duration,
    sizes: authz::Sizes,
    storm_factor: f64,
    storm_connections: usize,
    /// `--at-fraction`: also run each repeated-request scenario, refresh and code-flow open loop at
    /// this fraction of the rate it just reached.
    fraction: Option<f64>,
    /// `--at-rate`: the open-loop rate to offer instead of the fraction of each maximum.
    at_rate: Option<f64>,
}

impl Plan {
    /// The rate to offer open loop after a closed loop that reached `maximum`.
    fn offered(&self, fraction: f64, maximum: f64) -> f64 {
        self.at_rate.unwrap_or(fraction * maximum)
    }
}

/// Becomes true at the first Ctrl-C. One listener for the whole run, so an interrupt between
/// two scenarios is not lost.
fn interrupt_flag() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = tx.send(true);
        }
    });
    rx
}

/// What one scenario measured.
struct Measured {
    connections: usize,
    summary: stats::Summary,
    peak_rss_kib: Option<u64>,
    cpu: CpuShares,
    /// The storm's details, and the sign-in capacity it was compared with.
    storm: Option<StormResult>,
    /// With `--at-fraction`: the same request offered open loop at that fraction of `summary`'s
    /// rate.
    at_fraction: Option<open_loop::StormCounts>,
    /// For a scenario bound by argon2id: its baseline measured again right before and right
    /// after this level's closed loop (see [`argon2_beside`]), used instead of the run's first.
    beside: Option<Baseline>,
}

/// The process a load run is aimed at: Tessera or the peer.
#[derive(Clone, Copy)]
struct Target {
    addr: std::net::SocketAddr,
    pid: u32,
}

impl Target {
    fn of(server: &server::Server) -> Target {
        Target {
            addr: server.addr(),
            pid: server.pid(),
        }
    }
}

/// Runs one scenario on a fresh deployment, which is removed afterwards whatever happened
/// (also on Ctrl-C: the server is killed, the throwaway database dropped).
async fn run_scenario(
    plan: &Plan,
    scenario: Scenario,
    signin_rate: Option<f64>,
    interrupted: &mut watch::Receiver<bool>,
) -> Result<Vec<Measured>> {
    if *interrupted.borrow() {
        bail!("interrupted");
    }
    let deployment = Deployment::create(&plan.bin, &plan.database).await?;
    let outcome = tokio::select! {
        r = measure(plan, scenario, signin_rate, &deployment) => r,
        // An error here means no Ctrl-C listener could be installed: the branch is then disabled.
        Ok(_) = interrupted.wait_for(|stop| *stop) => Err(anyhow::anyhow!("interrupted")),
    };
    // The server (if still running) was killed when its future was dropped.
    let cleanup = deployment.destroy().await;
    let result = outcome?;
    cleanup?;
    Ok(result)
}

async fn measure(
    plan: &Plan,
    scenario: Scenario,
    signin_rate: Option<f64>,
    deployment: &Deployment,
) -> Result<Vec<Measured>> {
    let server = deployment.start().await?;
    let runs_per_level = if plan.fraction.is_some() { 2 } else { 1 };
    let run_for = (plan.warmup + plan.measure) * (plan.connections.len() * runs_per_level) as u32;
    let workload = scenario
        .prepare(deployment, &server, plan.sizes, run_for)
        .await?;
    let target = Target::of(&server);
    let mut out = Vec::new();
    match workload {
        Workload::Repeat(template) => {
            for &connections in &plan.connections {
                let workers = vec![template.clone(); connections];
                let before = argon2_before(scenario).await?;
                let mut m = measure_level(scenario.name(), target, workers, plan).await?;
                m.beside = argon2_after(before).await?;
                if let Some(f) = plan.fraction {
                    m.at_fraction = Some(
                        at_fraction(
                            scenario.name(),
                            target,
                            &template,
                            plan.offered(f, m.summary.rate),
                            plan,
                        )
                        .await?,
                    );
                }
                out.push(m);
            }
        }
        Workload::Refresh(mut seed) => {
            for &connections in &plan.connections {
                // Fresh tokens for every level, made before its clock starts.
                let workers = seed.conversations(connections).await?;
                let mut m = measure_level(scenario.name(), target, workers, plan).await?;
                if let Some(f) = plan.fraction {
                    // As many fresh tokens as the open loop may have requests in flight.
                    let fresh = seed.conversations(plan.storm_connections).await?;
                    m.at_fraction = Some(
                        refresh_at_fraction(
                            scenario.name(),
                            target,
                            fresh,
                            plan.offered(f, m.summary.rate),
                            plan,
                        )
                        .await?,
                    );
                }
                out.push(m);
            }
        }
        Workload::Flows(seed) => {
            for &connections in &plan.connections {
                let closed = seed.clone();
                let before = argon2_before(scenario).await?;
                let mut m = measure_with(
                    scenario.name(),
                    target,
                    connections,
                    plan.warmup,
                    plan.measure,
                    move |window| {
                        load::run_iterations(connections, window, move || {
                            let seed = closed.clone();
                            async move { seed.one_flow().await }
                        })
                    },
                )
                .await?;
                m.beside = argon2_after(before).await?;
                if let Some(f) = plan.fraction {
                    let rate = plan.offered(f, m.summary.rate);
                    let seed = seed.clone();
                    m.at_fraction = Some(
                        offered_open_loop(scenario.name(), rate, String::new(), plan, |window| {
                            open_loop::run_flows(
                                target.addr,
                                move || {
                                    let seed = seed.clone();
                                    async move { seed.one_flow().await }
                                },
                                rate,
                                plan.storm_connections,
                                window,
                                plan.warmup,
                            )
                        })
                        .await?,
                    );
                }
                out.push(m);
            }
        }
        Workload::Storm(template) => {
            out.push(storm(target, &template, signin_rate, plan).await?);
        }
    }
    if scenario == Scenario::PasswordSignin {
        risk_cost(&server).await;
    }
    server.stop().await?;
    Ok(out)
}

/// The request of a scenario offered open loop at `rate` (a fraction of its closed-loop maximum):
/// latencies count from when each request was due, so queueing shows (no coordinated omission).
async fn at_fraction(
    name: &str,
    target: Target,
    template: &load::RequestTemplate,
    rate: f64,
    plan: &Plan,
) -> Result<open_loop::StormCounts> {
    offered_open_loop(name, rate, String::new(), plan, |window| {
        open_loop::run(
            target.addr,
            template,
            rate,
            plan.storm_connections,
            window,
            plan.warmup,
        )
    })
    .await
}

/// Refresh-token grants offered open loop at `rate`, each spending one of the conversations'
/// tokens and keeping the rotated one (see `open_loop::run_refresh`).
async fn refresh_at_fraction(
    name: &str,
    target: Target,
    conversations: Vec<refresh::RefreshConversation>,
    rate: f64,
    plan: &Plan,
) -> Result<open_loop::StormCounts> {
    let Some(template) = conversations.first().map(|c| c.template().clone()) else {
        bail!("{name}: no refresh token to offer open loop");
    };
    let tokens = conversations
        .iter()
        .map(|c| c.token().to_string())
        .collect();
    let families = format!(" with {} token families", conversations.len());
    offered_open_loop(name, rate, families, plan, |window| {
        open_loop::run_refresh(
            target.addr,
            &template,
            tokens,
            rate,
            plan.storm_connections,
            window,
            plan.warmup,
        )
    })
    .await
}

/// Says what is offered, runs `offer` over a window starting now and reports its first failure.
async fn offered_open_loop<F, Fut>(
    name: &str,
    rate: f64,
    detail: String,
    plan: &Plan,
    offer: F,
) -> Result<open_loop::StormCounts>
where
    F: FnOnce(Window) -> Fut,
    Fut: std::future::Future<Output = Result<open_loop::StormCounts>>,
{
    eprintln!(
        "  {name}: open loop at {rate:.1}/s{detail}, {} s warm-up, {} s measured",
        plan.warmup.as_secs(),
        plan.measure.as_secs()
    );
    let counts = offer(Window::starting_now(plan.warmup, plan.measure)).await?;
    if let Some(e) = &counts.first_failure {
        eprintln!(
            "  {name}: open loop: {} errors; the first: {e}",
            counts.failed
        );
    }
    Ok(counts)
}

/// What the risk engine cost inside the server during a sign-in scenario: the quantiles of
/// `tessera_risk_evaluation_seconds` per stage (the checks before the password, those after the
/// first factor with the profile read, and learning with the profile write), from `/metrics`.
async fn risk_cost(server: &server::Server) {
    let page = match load::once(server.addr(), &load::RequestTemplate::get("/metrics")).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("  password-signin: /metrics could not be read: {e}");
            return;
        }
    };
    let text = String::from_utf8_lossy(&page.body);
    for stage in ["before_password", "first_factor", "learn"] {
        let q = |quantile: &str| {
            let prefix = format!(
                "tessera_risk_evaluation_seconds{{stage=\"{stage}\",quantile=\"{quantile}\"}} "
            );
            text.lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|s| format!("{:.3} ms", s * 1000.0))
                .unwrap_or_else(|| "–".into())
        };
        eprintln!(
            "  password-signin: risk engine, stage {stage}: p50 {}, p99 {}, max {}",
            q("0.5"),
            q("0.99"),
            q("1")
        );
    }
}

/// One load run at one number of connections (one per conversation).
async fn measure_level<C: Conversation>(
    name: &str,
    target: Target,
    workers: Vec<C>,
    plan: &Plan,
) -> Result<Measured> {
    measure_closed(name, target, workers, plan.warmup, plan.measure).await
}

/// A closed-loop load run of `workers` against `target`, with its CPU and memory.
async fn measure_closed<C: Conversation>(
    name: &str,
    target: Target,
    workers: Vec<C>,
    warmup: Duration,
    measure: Duration,
) -> Result<Measured> {
    let connections = workers.len();
    let addr = target.addr;
    measure_with(name, target, connections, warmup, measure, move |window| {
        load::run_each(addr, workers, window)
    })
    .await
}

/// The command name of PostgreSQL's processes (the server and its backends).
const POSTGRES_COMMAND: &str = "postgres";

/// CPU time used during a measured window, in % of one core (200 % is both cores of a 2-core
/// machine): the target's, the load generator's (this process) and the database's (every
/// process named `postgres`; whether it is reported depends on the run's database).
#[derive(Clone, Copy, Debug, Default)]
struct CpuShares {
    server: Option<f64>,
    generator: Option<f64>,
    database: Option<f64>,
}

/// Reads the CPU time of the target, of this process and of PostgreSQL's processes when
/// `window` starts measuring and when it ends. 200 % for the server on two cores means it alone
/// kept both busy; much less means it waited (on the database, on a lock, or for CPU the load
/// generator and other processes held).
fn probe_cpu(pid: u32, window: Window) -> tokio::task::JoinHandle<CpuShares> {
    tokio::spawn(async move {
        let me = std::process::id();
        let read = || {
            (
                procfs::cpu_time(pid),
                procfs::cpu_time(me),
                procfs::cpu_time_of_named(POSTGRES_COMMAND),
            )
        };
        tokio::time::sleep_until(window.measure_from.into()).await;
        let before = read();
        tokio::time::sleep_until(window.until.into()).await;
        let after = read();
        let secs = window.length().as_secs_f64();
        let share = |b: Option<Duration>, a: Option<Duration>| {
            Some(100.0 * a?.checked_sub(b?)?.as_secs_f64() / secs)
        };
        CpuShares {
            server: share(before.0, after.0),
            generator: share(before.1, after.1),
            database: share(before.2, after.2),
        }
    })
}

/// A closed-loop load run made by `run` over a window starting now, with the target's CPU and
/// memory.
async fn measure_with<F, Fut>(
    name: &str,
    target: Target,
    connections: usize,
    warmup: Duration,
    measure: Duration,
    run: F,
) -> Result<Measured>
where
    F: FnOnce(Window) -> Fut,
    Fut: std::future::Future<Output = Result<load::LoadResult>>,
{
    eprintln!(
        "  {name}: {} s warm-up, {} s measured, {connections} connections",
        warmup.as_secs(),
        measure.as_secs(),
    );
    let window = Window::starting_now(warmup, measure);
    let cpu_probe = probe_cpu(target.pid, window);
    let load = run(window).await?;
    let cpu = cpu_probe.await.unwrap_or_default();
    let peak_rss_kib = procfs::peak_rss_kib(target.pid);
    if let Some(e) = &load.first_error {
        eprintln!("  {name}: {} errors; the first: {e}", load.summary.errors);
    }
    if load.summary.ok == 0 {
        bail!("{name}: no request succeeded");
    }
    Ok(Measured {
        connections,
        summary: load.summary,
        peak_rss_kib,
        cpu,
        storm: None,
        at_fraction: None,
        beside: None,
    })
}

/// How long the storm's own capacity measurement runs at most (when password-signin did not
/// run before it).
const CAPACITY_PROBE: Duration = Duration::from_secs(5);

/// The `login-storm` scenario: the sign-in capacity (password-signin's rate of this run, or a
/// short closed-loop measurement here), then the same sign-in offered at `storm_factor` times
/// that rate, open loop.
async fn storm(
    target: Target,
    template: &load::RequestTemplate,
    signin_rate: Option<f64>,
    plan: &Plan,
) -> Result<Measured> {
    let capacity = match signin_rate {
        Some(rate) => Baseline {
            name: "password-signin".into(),
            rate,
        },
        None => {
            // Two sign-ins per core keep every hashing slot busy (the server hashes one per
            // core at a time by default) without a long queue.
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let probe = measure_closed(
                "login-storm capacity",
                target,
                vec![template.clone(); 2 * cores],
                plan.warmup,
                plan.measure.min(CAPACITY_PROBE),
            )
            .await?;
            Baseline {
                name: "sign-in capacity".into(),
                rate: probe.summary.rate,
            }
        }
    };
    let offered = capacity.rate * plan.storm_factor;
    eprintln!(
        "  login-storm: capacity {:.1}/s ({}), offering {offered:.1}/s open loop over up to {} connections, {} s warm-up, {} s measured",
        capacity.rate,
        capacity.name,
        plan.storm_connections,
        plan.warmup.as_secs(),
        plan.measure.as_secs()
    );
    let window = Window::starting_now(plan.warmup, plan.measure);
    let cpu_probe = probe_cpu(target.pid, window);
    let counts = open_loop::run(
        target.addr,
        template,
        offered,
        plan.storm_connections,
        window,
        plan.warmup,
    )
    .await?;
    let cpu = cpu_probe.await.unwrap_or_default();
    if let Some(e) = &counts.first_failure {
        eprintln!(
            "  login-storm: {} other errors; the first: {e}",
            counts.failed
        );
    }
    if counts.served.ok == 0 {
        bail!("login-storm: no sign-in succeeded during the storm");
    }
    let result = StormResult {
        capacity,
        counts,
        peak_rss_kib: procfs::peak_rss_kib(target.pid),
        end_rss_kib: procfs::rss_kib(target.pid),
    };
    Ok(Measured {
        connections: plan.storm_connections,
        summary: result.counts.served.clone(),
        peak_rss_kib: result.peak_rss_kib,
        cpu,
        storm: Some(result),
        at_fraction: None,
        beside: None,
    })
}

/// The peer comparison: oidc-provider started, the client-credentials and introspection
/// requests sent to it at every number of connections.
async fn run_peer(plan: &Plan, dir: &Path) -> Result<Vec<(&'static str, Measured)>> {
    let peer = peer::Peer::start(dir).await?;
    let target = Target {
        addr: peer.addr(),
        pid: peer.pid(),
    };
    let mut out = Vec::new();
    for (name, template) in [
        ("client-credentials", peer.client_credentials().await?),
        ("introspection", peer.introspection().await?),
    ] {
        for &connections in &plan.connections {
            let workers = vec![template.clone(); connections];
            let m = measure_closed(
                &format!("oidc-provider {name}"),
                target,
                workers,
                plan.warmup,
                plan.measure,
            )
            .await?;
            out.push((name, m));
        }
    }
    Ok(out)
}

/// The in-process baselines a run measured, by kind.
#[derive(Default)]
struct CryptoBaselines(Vec<(BaselineKind, Baseline)>);

impl CryptoBaselines {
    fn set(&mut self, kind: BaselineKind, b: Baseline) {
        self.0.push((kind, b));
    }

    fn get(&self, kind: BaselineKind) -> Option<Baseline> {
        self.0
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, b)| b.clone())
    }
}

/// The first half of [`argon2_beside`]: for a scenario whose baseline is argon2id, that
/// baseline measured now, the server up but idle; `None` for any other scenario.
async fn argon2_before(scenario: Scenario) -> Result<Option<Baseline>> {
    if scenario.baseline() != BaselineKind::Argon2Verify {
        return Ok(None);
    }
    crypto_baseline("argon2id verify, before", baseline::argon2_verify)
        .await
        .map(Some)
}

/// The second half of [`argon2_beside`]: measures the argon2id baseline again when one was
/// measured before, and returns the two as one.
async fn argon2_after(before: Option<Baseline>) -> Result<Option<Baseline>> {
    let Some(before) = before else {
        return Ok(None);
    };
    let after = crypto_baseline("argon2id verify, after", baseline::argon2_verify).await?;
    Ok(Some(argon2_beside(before.rate, after.rate)))
}

/// The argon2id baseline of a sign-in scenario: the mean of the rates measured right before and
/// right after its closed loop. This machine's argon2id rate moves by several per cent within a
/// minute (129 to 143/s in successive runs), so a baseline measured once at the start of the
/// run, minutes before the scenario, compares the scenario with another moment's machine.
fn argon2_beside(before: f64, after: f64) -> Baseline {
    Baseline {
        name: format!("argon2id verify (before {before:.0}, after {after:.0}), mean"),
        rate: (before + after) / 2.0,
    }
}

async fn crypto_baseline(name: &str, f: fn(Duration) -> Result<Baseline>) -> Result<Baseline> {
    eprintln!(
        "baseline: {name} on all cores, best of {} rounds of {:?}",
        baseline::ROUNDS,
        CRYPTO_BASELINE / baseline::ROUNDS
    );
    tokio::task::spawn_blocking(move || f(CRYPTO_BASELINE))
        .await
        .context("the baseline task failed")?
}

async fn run(args: Args) -> Result<()> {
    let plan = Plan {
        bin: tessera_binary(args.tessera.as_deref())?,
        database: database(args.database_url.as_deref())?,
        connections: args.connections.iter().map(|&c| usize::from(c)).collect(),
        warmup: Duration::from_secs(args.warmup),
        measure: Duration::from_secs(args.duration),
        sizes: authz::Sizes {
            users: args.authz_users,
            roles: args.authz_roles,
            groups: args.authz_groups,
            fanout: args.authz_fanout,
            members_per_group: args.authz_members_per_group,
            user_assignments: args.authz_user_assignments,
        },
        storm_factor: args.storm_factor,
        storm_connections: usize::from(args.storm_connections),
        fraction: args.at_fraction,
        at_rate: args.at_rate,
    };
    if let Some(f) = plan.fraction
        && !(f.is_finite() && f > 0.0 && f <= 1.0)
    {
        bail!(
            "--at-fraction takes a number above 0 and at most 1 (0.8 offers 80 % of each maximum)"
        );
    }
    if let Some(r) = plan.at_rate
        && !(r.is_finite() && r > 0.0)
    {
        bail!("--at-rate takes a positive number of requests per second");
    }
    if !(plan.storm_factor.is_finite() && plan.storm_factor > 0.0) {
        bail!("--storm-factor takes a positive number (5 offers five times the sign-in capacity)");
    }
    let peer_dir = args
        .scenario
        .contains(&ScenarioArg::Peer)
        .then(|| args.peer_dir.clone().unwrap_or_else(peer::default_dir));
    if let Some(dir) = &peer_dir {
        peer::check(dir).await?;
    }
    if scenarios_need_sizes(&args.scenario) {
        plan.sizes.check()?;
    }
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build of tessera-bench; its load generator is slow. Use cargo run --release -p tessera-bench"
        );
    }
    let scenarios = selected(&args.scenario);
    let info = RunInfo {
        machine: procfs::Machine::detect(),
        date: OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc())
            .format(&Rfc3339)
            .context("cannot format the date")?,
        database: plan.database.name().to_string(),
        duration_secs: args.duration,
        warmup_secs: args.warmup,
        connections: plan.connections.clone(),
        tessera: plan.bin.display().to_string(),
    };

    // The crypto baselines run first, while no server of this run is up to compete with them.
    let mut baselines = Vec::new();
    let mut crypto = CryptoBaselines::default();
    for (kind, name, measure) in [
        (
            BaselineKind::Es256Sign,
            "ES256 sign",
            baseline::es256_sign as fn(_) -> _,
        ),
        (
            BaselineKind::Es256Verify,
            "ES256 verify",
            baseline::es256_verify,
        ),
        (
            BaselineKind::TokenPairSign,
            "ES256+RS256 sign",
            baseline::token_pair_sign,
        ),
        (
            BaselineKind::Argon2Verify,
            "argon2id verify",
            baseline::argon2_verify,
        ),
    ] {
        if scenarios.iter().any(|s| s.baseline() == kind) {
            let b = crypto_baseline(name, measure).await?;
            baselines.push(b.clone());
            crypto.set(kind, b);
        }
    }

    let mut interrupted = interrupt_flag();
    let mut results: Vec<ScenarioResult> = Vec::new();
    // The healthz rate at each number of connections.
    let mut healthz: Vec<(usize, Baseline)> = Vec::new();
    // The best password-signin rate of this run, for the storm.
    let mut signin_rate: Option<f64> = None;
    let mut storms: Vec<StormResult> = Vec::new();
    // Tessera's client-credentials and introspection rates per number of connections.
    let mut tessera_rates: Vec<(&'static str, usize, f64)> = Vec::new();
    let levels = plan.connections.len();
    let mut fractions: Vec<report::FractionRow> = Vec::new();
    for scenario in scenarios {
        eprintln!("scenario: {} ({})", scenario.name(), plan.database.name());
        let measured = run_scenario(&plan, scenario, signin_rate, &mut interrupted)
            .await
            .with_context(|| format!("scenario {} failed", scenario.name()))?;
        for Measured {
            connections,
            summary,
            peak_rss_kib,
            cpu,
            storm,
            at_fraction,
            beside,
        } in measured
        {
            if let (Some(f), Some(counts)) = (plan.fraction, at_fraction) {
                fractions.push(report::FractionRow {
                    scenario: if levels > 1 {
                        format!("{} x{connections}", scenario.name())
                    } else {
                        scenario.name().to_string()
                    },
                    // With --at-rate, the fraction of this maximum that rate was.
                    fraction: plan.at_rate.map_or(f, |r| r / summary.rate),
                    maximum: summary.rate,
                    counts,
                });
            }
            if scenario == Scenario::PasswordSignin {
                signin_rate = Some(signin_rate.unwrap_or(0.0).max(summary.rate));
            }
            if matches!(
                scenario,
                Scenario::ClientCredentials | Scenario::Introspection
            ) {
                tessera_rates.push((scenario.name(), connections, summary.rate));
            }
            let baseline = match scenario.baseline() {
                _ if beside.is_some() => beside,
                BaselineKind::None => {
                    let b = Baseline {
                        name: if levels > 1 {
                            format!("healthz HTTP x{connections}")
                        } else {
                            "healthz HTTP".into()
                        },
                        rate: summary.rate,
                    };
                    baselines.push(b.clone());
                    healthz.push((connections, b));
                    None
                }
                BaselineKind::Healthz => healthz
                    .iter()
                    .find(|(c, _)| *c == connections)
                    .map(|(_, b)| b.clone()),
                BaselineKind::Es256Sign
                | BaselineKind::Es256Verify
                | BaselineKind::TokenPairSign
                | BaselineKind::Argon2Verify => crypto.get(scenario.baseline()),
                BaselineKind::SigninCapacity => storm.as_ref().map(|s| s.capacity.clone()),
            };
            if let Some(s) = storm {
                storms.push(s);
            }
            results.push(ScenarioResult {
                // The storm runs once, at its own number of connections.
                scenario: if levels > 1 && scenario != Scenario::LoginStorm {
                    format!("{} x{connections}", scenario.name())
                } else {
                    scenario.name().to_string()
                },
                summary,
                peak_rss_kib,
                server_cpu_percent: cpu.server,
                generator_cpu_percent: cpu.generator,
                // On SQLite the database works inside the server's process.
                database_cpu_percent: cpu
                    .database
                    .filter(|_| matches!(plan.database, Database::Postgres { .. })),
                baseline,
            });
        }
    }

    let mut peers: Vec<PeerComparison> = Vec::new();
    if let Some(dir) = peer_dir {
        eprintln!("peer: Node oidc-provider from {}", dir.display());
        let measured = tokio::select! {
            r = run_peer(&plan, &dir) => r.context("the peer comparison failed")?,
            Ok(_) = interrupted.wait_for(|stop| *stop) => bail!("interrupted"),
        };
        for (name, m) in measured {
            let row = if levels > 1 {
                format!("oidc-provider {name} x{}", m.connections)
            } else {
                format!("oidc-provider {name}")
            };
            let tessera = tessera_rates
                .iter()
                .find(|(n, c, _)| *n == name && *c == m.connections)
                .map(|(_, _, r)| *r);
            peers.push(PeerComparison {
                scenario: if levels > 1 {
                    format!("{name} x{}", m.connections)
                } else {
                    name.to_string()
                },
                tessera: tessera.unwrap_or(0.0),
                peer: m.summary.rate,
            });
            results.push(ScenarioResult {
                scenario: row,
                // The same baselines as Tessera's rows, so both are normalized alike.
                baseline: crypto.get(if name == "client-credentials" {
                    BaselineKind::Es256Sign
                } else {
                    BaselineKind::Es256Verify
                }),
                summary: m.summary,
                peak_rss_kib: m.peak_rss_kib,
                server_cpu_percent: m.cpu.server,
                generator_cpu_percent: m.cpu.generator,
                // The peer keeps its data in memory.
                database_cpu_percent: None,
            });
        }
    }

    let mut scale_runs: Vec<scale::ScaleRun> = Vec::new();
    if args.scenario.contains(&ScenarioArg::Scale) {
        let timing = scale::Timing {
            warmup: plan.warmup,
            measure: plan.measure,
            connections: plan.connections.iter().copied().max().unwrap_or(16),
        };
        for users in [scale::SMALL, args.scale_users] {
            eprintln!("scenario: scale, {users} users ({})", plan.database.name());
            let run = tokio::select! {
                r = scale::run(&plan.bin, &plan.database, users, timing) => {
                    r.with_context(|| format!("scenario scale ({users} users) failed"))?
                }
                Ok(_) = interrupted.wait_for(|stop| *stop) => bail!("interrupted"),
            };
            scale_runs.push(run);
        }
    }

    if args.json {
        let mut v: serde_json::Value =
            serde_json::from_str(&report::json(&info, &baselines, &results, &storms, &peers))
                .context("the JSON report is not JSON")?;
        if !scale_runs.is_empty() {
            v["scale"] = scale::json(&scale_runs);
        }
        println!("{v}");
    } else {
        println!("{}", report::header(&info));
        if !results.is_empty() {
            println!("{}", report::results_table(&results));
            println!(
                "ratio = scenario requests/s / baseline rate (baselines measured in this run)."
            );
            let cpu = report::cpu_table(&results, info.machine.cores);
            if !cpu.is_empty() {
                println!("\n{}", cpu.trim_end());
                println!("{}", report::CPU_TABLE_NOTE);
            }
        }
        if !storms.is_empty() {
            println!("\n{}", report::storm_table(&storms).trim_end());
        }
        if !fractions.is_empty() {
            println!("\n{}", report::fraction_table(&fractions).trim_end());
        }
        if let [small, large] = scale_runs.as_slice() {
            println!("\n{}", scale::table(small, large).trim_end());
        }
        if !peers.is_empty() {
            println!("\n{}", report::peer_table(&peers).trim_end());
            println!(
                "oidc-provider runs on one Node thread with its in-memory store (no database); see docs/performance.md."
            );
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_baseline_is_the_mean_of_the_rates_beside_it_and_names_both() {
        let b = argon2_beside(126.4, 131.0);
        assert!((b.rate - 128.7).abs() < 1e-9);
        assert_eq!(b.name, "argon2id verify (before 126, after 131), mean");
    }

    #[test]
    fn all_expands_to_every_scenario_in_run_order() {
        assert_eq!(selected(&[ScenarioArg::All]), Scenario::ALL.to_vec());
        assert_eq!(
            selected(&[ScenarioArg::Introspection, ScenarioArg::All]),
            Scenario::ALL.to_vec()
        );
    }

    #[test]
    fn discovery_and_jwks_bring_their_healthz_baseline() {
        assert_eq!(
            selected(&[ScenarioArg::Jwks]),
            vec![Scenario::Healthz, Scenario::Jwks]
        );
        assert_eq!(
            selected(&[ScenarioArg::ClientCredentials]),
            vec![Scenario::ClientCredentials]
        );
    }

    #[test]
    fn new_scenarios_run_alone_with_what_they_are_compared_with() {
        assert_eq!(selected(&[ScenarioArg::Userinfo]), vec![Scenario::Userinfo]);
        assert_eq!(selected(&[ScenarioArg::CodeFlow]), vec![Scenario::CodeFlow]);
        // Its baseline is in-process (ES256+RS256 signatures), so it needs no healthz run.
        assert_eq!(selected(&[ScenarioArg::Refresh]), vec![Scenario::Refresh]);
        assert_eq!(
            selected(&[ScenarioArg::LoginStorm]),
            vec![Scenario::LoginStorm]
        );
        // password-signin runs before the storm, which then reuses its rate.
        assert_eq!(
            selected(&[ScenarioArg::LoginStorm, ScenarioArg::PasswordSignin]),
            vec![Scenario::PasswordSignin, Scenario::LoginStorm]
        );
        assert_eq!(
            selected(&[ScenarioArg::Peer]),
            vec![Scenario::ClientCredentials, Scenario::Introspection]
        );
        let all = selected(&[ScenarioArg::All]);
        for s in [
            Scenario::Refresh,
            Scenario::Userinfo,
            Scenario::CodeFlow,
            Scenario::LoginStorm,
        ] {
            assert!(all.contains(&s), "{s:?} is in all");
        }
        assert!(!all.contains(&Scenario::AuthzCheck));
        let a = Args::try_parse_from([
            "tessera-bench",
            "--scenario",
            "login-storm",
            "--storm-factor",
            "2.5",
            "--storm-connections",
            "64",
        ])
        .expect("valid arguments");
        assert_eq!((a.storm_factor, a.storm_connections), (2.5, 64));
        let d = Args::try_parse_from(["tessera-bench"]).expect("defaults");
        assert_eq!((d.storm_factor, d.storm_connections), (5.0, 256));
    }

    #[test]
    fn only_postgres_urls_are_accepted() {
        assert!(matches!(database(None), Ok(Database::Sqlite)));
        assert!(matches!(
            database(Some("postgres://postgres@127.0.0.1/postgres")),
            Ok(Database::Postgres { .. })
        ));
        assert!(database(Some("sqlite://x.db")).is_err());
    }

    #[test]
    fn a_missing_binary_says_how_to_build_it() {
        let e = tessera_binary(Some(Path::new("/nonexistent/tessera"))).unwrap_err();
        assert!(
            e.to_string().contains("run cargo build --release first"),
            "{e}"
        );
    }

    #[test]
    fn arguments_parse() {
        let a = Args::try_parse_from([
            "tessera-bench",
            "--scenario",
            "discovery,jwks",
            "--duration",
            "3",
            "--connections",
            "4",
            "--json",
        ])
        .expect("valid arguments");
        assert_eq!(a.scenario, vec![ScenarioArg::Discovery, ScenarioArg::Jwks]);
        assert_eq!((a.duration, a.connections, a.json), (3, vec![4], true));
        assert_eq!(a.authz_users, 100_000);
        let b = Args::try_parse_from([
            "tessera-bench",
            "--scenario",
            "authz-check",
            "--connections",
            "1,4,16",
            "--authz-users",
            "2000",
        ])
        .expect("valid arguments");
        assert_eq!(b.connections, vec![1, 4, 16]);
        assert_eq!(b.authz_users, 2000);
        assert_eq!(
            selected(&b.scenario),
            vec![Scenario::Healthz, Scenario::AuthzCheck]
        );
        assert!(Args::try_parse_from(["tessera-bench", "--connections", "0"]).is_err());
        assert!(Args::try_parse_from(["tessera-bench", "--scenario", "nope"]).is_err());
        assert!(Args::try_parse_from(["tessera-bench", "--duration", "0"]).is_err());
    }
}
