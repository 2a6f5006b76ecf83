//! The `scale` scenario: how Tessera behaves with a large tenant. It imports N users (default
//! 1,000,000) with `tessera user import` from JSON Lines, each with a pre-hashed argon2id password,
//! and measures, at N users and again at 1,000 users on a fresh deployment of the same run:
//!
//! - the import rate (users/s, wall clock of the CLI);
//! - password sign-in latency (the hosted form, as `password-signin` posts it) for a user in the
//!   middle of the data set;
//! - lookup by email through the admin API (`GET /users?email=`);
//! - cursor paging through the admin API at page 1 and page 1,000 (100 users a page; the cursor of
//!   page 1,000 is found by walking the 999 pages before it);
//! - the server's resident memory once it is idle after the load.
//!
//! Each figure at N users is set beside the same at 1,000 users (the ratio column).

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use hyper::header::AUTHORIZATION;
use serde_json::Value;
use tessera_crypto::{Argon2Params, PasswordHasher};
use url::form_urlencoded;

use crate::load::{self, RequestTemplate, Window};
use crate::scenario::{SIGNIN_PASSWORD, TENANT};
use crate::server::{Database, Deployment, Server};
use crate::stats::Summary;

/// The small data set every large one is compared with.
pub const SMALL: usize = 1_000;

/// Users per page when paging.
const PAGE: usize = 100;

/// How long the server is left alone before its idle memory is read.
const IDLE_WAIT: Duration = Duration::from_secs(15);

/// The page whose speed is compared with page 1.
const DEEP_PAGE: usize = 1_000;

/// What one data-set size measured.
pub struct ScaleRun {
    pub users: usize,
    pub import: Duration,
    /// (what, summary) in a fixed order: sign-in, lookup by email, page 1, page 1,000 (when the
    /// data set has that many pages).
    pub loads: Vec<(&'static str, Summary)>,
    /// VmRSS of the idle server after the load, KiB.
    pub idle_rss_kib: Option<u64>,
    pub peak_rss_kib: Option<u64>,
}

impl ScaleRun {
    pub fn import_rate(&self) -> f64 {
        self.users as f64 / self.import.as_secs_f64().max(1e-9)
    }

    pub fn load(&self, what: &str) -> Option<&Summary> {
        self.loads.iter().find(|(w, _)| *w == what).map(|(_, s)| s)
    }
}

/// The names of the measured loads, in report order.
pub const LOADS: [&str; 4] = ["sign-in", "lookup by email", "page 1", "page 1000"];

/// How long and how hard each load runs.
#[derive(Clone, Copy)]
pub struct Timing {
    pub warmup: Duration,
    pub measure: Duration,
    pub connections: usize,
}

/// Imports `users` users into a fresh deployment and measures it (see the module comment).
pub async fn run(
    bin: &std::path::Path,
    database: &Database,
    users: usize,
    timing: Timing,
) -> Result<ScaleRun> {
    ensure!(users >= 1, "--scale-users: at least 1");
    let deployment = Deployment::create(bin, database).await?;
    let outcome = measure(&deployment, users, timing).await;
    let cleanup = deployment.destroy().await;
    let run = outcome?;
    cleanup?;
    Ok(run)
}

async fn measure(deployment: &Deployment, users: usize, timing: Timing) -> Result<ScaleRun> {
    deployment
        .cli_json(&["tenant", "create", TENANT, "--preset", "customer"])
        .await?;
    // One argon2id hash with the server's default parameters, given to every user: each sign-in
    // then costs what a real one costs, and the file is written in seconds.
    let hash = PasswordHasher::new(Argon2Params::default())
        .and_then(|h| h.hash(SIGNIN_PASSWORD))
        .map_err(|e| anyhow::anyhow!("cannot hash the bench password: {e}"))?;
    let file = deployment.dir().join("users.jsonl");
    {
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(&file).context("cannot write the users file")?,
        );
        for i in 0..users {
            writeln!(
                w,
                r#"{{"email":"{}","email_verified":true,"name":"User {i}","password_hash":"{hash}"}}"#,
                email(i)
            )?;
        }
        w.flush()?;
    }
    let file_arg = file.display().to_string();
    eprintln!("  scale: importing {users} users");
    let started = Instant::now();
    let report = deployment
        .cli_json_within(
            &["user", "import", "--tenant", TENANT, "--file", &file_arg],
            Duration::from_secs(4 * 3600),
        )
        .await?;
    let import = started.elapsed();
    ensure!(
        report["imported"].as_u64() == Some(users as u64),
        "the import did not take every user: {report}"
    );
    eprintln!(
        "  scale: imported {users} users in {:.1} s ({:.0} users/s)",
        import.as_secs_f64(),
        users as f64 / import.as_secs_f64()
    );
    let _ = std::fs::remove_file(&file);

    let server = deployment.start().await?;
    // The admin tenant exists once the server has started.
    let key = deployment
        .cli_json(&[
            "keys",
            "create-api-key",
            "--tenant",
            "admin",
            "--scope",
            "read",
        ])
        .await?;
    let key = key["api_key"]
        .as_str()
        .with_context(|| format!("create-api-key printed no api_key: {key}"))?;
    let auth = format!("Bearer {key}");

    let mut loads = Vec::new();
    let middle = users / 2;
    let signin = crate::scenario::signin_post(&server, &email(middle)).await?;
    loads.push((
        "sign-in",
        measure_load(&server, &signin, timing, "sign-in").await?,
    ));
    let users_path = format!("/api/v1/tenants/{TENANT}/users");
    let lookup = RequestTemplate::get(&format!(
        "{users_path}?email={}",
        form_urlencoded::byte_serialize(email(users - 1 - middle / 2).as_bytes())
            .collect::<String>()
    ))
    .header(AUTHORIZATION, &auth)?;
    let found = answer_json(&server, &lookup).await?;
    ensure!(
        found["items"].as_array().is_some_and(|a| a.len() == 1),
        "the lookup by email found no single user: {found}"
    );
    loads.push((
        "lookup by email",
        measure_load(&server, &lookup, timing, "lookup by email").await?,
    ));
    let first =
        RequestTemplate::get(&format!("{users_path}?limit={PAGE}")).header(AUTHORIZATION, &auth)?;
    loads.push((
        "page 1",
        measure_load(&server, &first, timing, "page 1").await?,
    ));
    if users > PAGE * (DEEP_PAGE - 1) {
        // Walk to page 1,000 the way a client would, cursor after cursor.
        let started = Instant::now();
        let mut after: Option<String> = None;
        for page in 1..DEEP_PAGE {
            let q = match &after {
                Some(a) => format!("{users_path}?limit={PAGE}&after={a}"),
                None => format!("{users_path}?limit={PAGE}"),
            };
            let v = answer_json(
                &server,
                &RequestTemplate::get(&q).header(AUTHORIZATION, &auth)?,
            )
            .await?;
            after = Some(
                v["next_cursor"]
                    .as_str()
                    .with_context(|| format!("page {page} has no next_cursor"))?
                    .to_string(),
            );
        }
        eprintln!(
            "  scale: walked to page {DEEP_PAGE} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let after = after.context("no cursor for the deep page")?;
        let deep = RequestTemplate::get(&format!("{users_path}?limit={PAGE}&after={after}"))
            .header(AUTHORIZATION, &auth)?;
        let v = answer_json(&server, &deep).await?;
        ensure!(
            v["items"].as_array().is_some_and(|a| a.len() == PAGE),
            "page {DEEP_PAGE} is not a full page"
        );
        loads.push((
            "page 1000",
            measure_load(&server, &deep, timing, "page 1000").await?,
        ));
    }
    // Idle: what the server keeps once the load is over (it lets go of password-hash memory
    // unused for 5 s, checked every 5 s).
    tokio::time::sleep(IDLE_WAIT).await;
    let idle_rss_kib = crate::procfs::rss_kib(server.pid());
    let peak_rss_kib = crate::procfs::peak_rss_kib(server.pid());
    server.stop().await?;
    Ok(ScaleRun {
        users,
        import,
        loads,
        idle_rss_kib,
        peak_rss_kib,
    })
}

/// The email of imported user `i`.
fn email(i: usize) -> String {
    format!("user{i}@scale.example")
}

async fn answer_json(server: &Server, t: &RequestTemplate) -> Result<Value> {
    let a = load::once(server.addr(), t).await?;
    if !a.status.is_success() {
        bail!(
            "{} {} answered {}: {}",
            t.method,
            t.path,
            a.status,
            String::from_utf8_lossy(&a.body)
        );
    }
    serde_json::from_slice(&a.body).with_context(|| format!("{} {}: not JSON", t.method, t.path))
}

async fn measure_load(
    server: &Server,
    t: &RequestTemplate,
    timing: Timing,
    what: &str,
) -> Result<Summary> {
    let window = Window::starting_now(timing.warmup, timing.measure);
    let conversations = vec![t.clone(); timing.connections];
    let r = load::run_each(server.addr(), conversations, window).await?;
    if let Some(e) = &r.first_error {
        eprintln!(
            "  scale: {what}: {} errors; the first: {e}",
            r.summary.errors
        );
    }
    ensure!(r.summary.ok > 0, "scale: {what}: no request succeeded");
    Ok(r.summary)
}

/// The scale table: each figure at 1,000 users and at N users, and their ratio.
pub fn table(small: &ScaleRun, large: &ScaleRun) -> String {
    let headers = [
        "measure",
        &format!("{} users", small.users),
        &format!("{} users", large.users),
        "large ÷ small",
    ];
    let right = [false, true, true, true];
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if a > 0.0 => format!("{:.2}", b / a),
        _ => "-".into(),
    };
    let mut rows = vec![vec![
        "import users/s".to_string(),
        format!("{:.0}", small.import_rate()),
        format!("{:.0}", large.import_rate()),
        ratio(Some(small.import_rate()), Some(large.import_rate())),
    ]];
    let ms = |us: Option<crate::stats::Micros>| us.map(|us| f64::from(us) / 1000.0);
    let fmt = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.2}"));
    for what in LOADS {
        for (label, pick) in [
            (
                "p50 ms",
                (|s: &Summary| s.p50) as fn(&Summary) -> Option<crate::stats::Micros>,
            ),
            ("p95 ms", |s: &Summary| s.p95),
        ] {
            let a = small.load(what).and_then(|s| ms(pick(s)));
            let b = large.load(what).and_then(|s| ms(pick(s)));
            rows.push(vec![format!("{what} {label}"), fmt(a), fmt(b), ratio(a, b)]);
        }
        let a = small.load(what).map(|s| s.rate);
        let b = large.load(what).map(|s| s.rate);
        rows.push(vec![
            format!("{what} requests/s"),
            a.map_or("-".into(), |v| format!("{v:.0}")),
            b.map_or("-".into(), |v| format!("{v:.0}")),
            ratio(a, b),
        ]);
    }
    let mib = |k: Option<u64>| k.map(|k| k as f64 / 1024.0);
    for (label, a, b) in [
        (
            "server RSS idle after the load, MiB",
            mib(small.idle_rss_kib),
            mib(large.idle_rss_kib),
        ),
        (
            "server peak RSS, MiB",
            mib(small.peak_rss_kib),
            mib(large.peak_rss_kib),
        ),
    ] {
        rows.push(vec![label.to_string(), fmt(a), fmt(b), ratio(a, b)]);
    }
    crate::report::markdown_table(&headers, &right, &rows)
}

/// The same as JSON, for `--json`.
pub fn json(runs: &[ScaleRun]) -> Value {
    let ms = |us: Option<crate::stats::Micros>| us.map(|us| f64::from(us) / 1000.0);
    Value::Array(
        runs.iter()
            .map(|r| {
                serde_json::json!({
                    "users": r.users,
                    "import_secs": r.import.as_secs_f64(),
                    "import_users_per_sec": r.import_rate(),
                    "idle_rss_kib": r.idle_rss_kib,
                    "peak_rss_kib": r.peak_rss_kib,
                    "loads": r.loads.iter().map(|(what, s)| serde_json::json!({
                        "what": what,
                        "requests_per_sec": s.rate,
                        "errors": s.errors,
                        "p50_ms": ms(s.p50),
                        "p95_ms": ms(s.p95),
                        "p99_ms": ms(s.p99),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_distinct_and_valid() {
        assert_eq!(email(0), "user0@scale.example");
        assert_ne!(email(1), email(10));
    }

    fn run(users: usize, import_secs: u64, signin_p95_us: u32, idle_kib: u64) -> ScaleRun {
        let summary = |p95: u32| Summary::new(vec![p95 / 2, p95, p95], 0, Duration::from_secs(1));
        ScaleRun {
            users,
            import: Duration::from_secs(import_secs),
            loads: vec![
                ("sign-in", summary(signin_p95_us)),
                ("lookup by email", summary(3_000)),
            ],
            idle_rss_kib: Some(idle_kib),
            peak_rss_kib: Some(idle_kib * 2),
        }
    }

    #[test]
    fn the_table_sets_each_figure_beside_its_small_counterpart() {
        let small = run(SMALL, 1, 180_000, 40 * 1024);
        let large = run(1_000_000, 80, 198_000, 60 * 1024);
        assert_eq!(small.import_rate(), 1_000.0);
        assert_eq!(large.import_rate(), 12_500.0);
        let t = table(&small, &large);
        assert!(t.contains("| import users/s"), "{t}");
        assert!(t.contains("12500"), "{t}");
        // p95 180 ms against 198 ms: ratio 1.10.
        let row = t
            .lines()
            .find(|l| l.starts_with("| sign-in p95 ms"))
            .expect("row");
        assert!(
            row.contains("180.00") && row.contains("198.00") && row.contains("1.10"),
            "{row}"
        );
        // No deep page in either run: dashes, not zeros.
        let row = t
            .lines()
            .find(|l| l.starts_with("| page 1000 p95 ms"))
            .expect("row");
        assert!(row.contains('-'), "{row}");
        let v = json(&[small, large]);
        assert_eq!(v[1]["users"], 1_000_000);
        assert_eq!(v[1]["loads"][0]["what"], "sign-in");
    }
}
