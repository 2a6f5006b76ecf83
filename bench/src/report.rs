//! The report: a Markdown table (readable in a terminal, pasted as-is into docs/performance.md)
//! or, with `--json`, one JSON object with the same numbers.

use serde::Serialize;

use crate::open_loop::StormCounts;
use crate::procfs::Machine;
use crate::stats::{Micros, Summary, ms};

/// A rate measured in-process in the same run, against which a scenario's rate is compared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Baseline {
    /// e.g. `ES256 sign`, `healthz HTTP`.
    pub name: String,
    /// Operations (or requests) per second.
    pub rate: f64,
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct ScenarioResult {
    pub scenario: String,
    pub summary: Summary,
    /// `VmHWM` of the server process at the end of the scenario, in KiB.
    pub peak_rss_kib: Option<u64>,
    /// CPU time the server used during the measured window, in % of one core.
    pub server_cpu_percent: Option<f64>,
    /// CPU time the load generator (the runner's own process) used in that window.
    pub generator_cpu_percent: Option<f64>,
    /// CPU time PostgreSQL's processes used in that window (`None` on SQLite, inside the
    /// server's process, and for the peer).
    pub database_cpu_percent: Option<f64>,
    /// `None` for the scenario that is itself a baseline (`healthz`).
    pub baseline: Option<Baseline>,
}

impl ScenarioResult {
    /// Scenario rate divided by baseline rate.
    pub fn ratio(&self) -> Option<f64> {
        let b = self.baseline.as_ref()?;
        (b.rate > 0.0).then(|| self.summary.rate / b.rate)
    }
}

/// What the `login-storm` scenario saw, beyond its row in the results table.
#[derive(Clone, Debug)]
pub struct StormResult {
    /// The sign-in rate the storm was a multiple of, and where it came from.
    pub capacity: Baseline,
    pub counts: StormCounts,
    /// `VmHWM` of the server after the storm, in KiB.
    pub peak_rss_kib: Option<u64>,
    /// `VmRSS` of the server once the last answer of the storm arrived, in KiB.
    pub end_rss_kib: Option<u64>,
}

impl StormResult {
    /// Served sign-ins per second ÷ capacity (the target is at least 0.9).
    pub fn served_ratio(&self) -> Option<f64> {
        (self.capacity.rate > 0.0).then(|| self.counts.served.rate / self.capacity.rate)
    }
}

/// Tessera's rate and the peer's (oidc-provider) for the same request.
#[derive(Clone, Debug, Serialize)]
pub struct PeerComparison {
    pub scenario: String,
    /// Requests per second; 0 when Tessera's scenario did not run at that level.
    pub tessera: f64,
    pub peer: f64,
}

impl PeerComparison {
    pub fn ratio(&self) -> Option<f64> {
        (self.peer > 0.0 && self.tessera > 0.0).then(|| self.tessera / self.peer)
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("-".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

/// The storm table: what was offered, what was served, how the rest was refused.
pub fn storm_table(storms: &[StormResult]) -> String {
    let headers = [
        "capacity from",
        "offered/s",
        "capacity/s",
        "served 303/s",
        "served ÷ capacity",
        "503",
        "503 with Retry-After",
        "503 p50 ms",
        "503 p99 ms",
        "other errors",
        "not sent",
        "answered after",
        "p50 ms",
        "p99 ms",
        "peak connections",
        "peak RSS MiB",
        "RSS at end MiB",
    ];
    let mut right = [true; 17];
    right[0] = false;
    let rows: Vec<Vec<String>> = storms
        .iter()
        .map(|s| {
            let c = &s.counts;
            vec![
                s.capacity.name.clone(),
                format!("{:.1}", c.offered_rate),
                format!("{:.1}", s.capacity.rate),
                format!("{:.1}", c.served.rate),
                s.served_ratio().map_or("-".into(), |x| format!("{x:.2}")),
                c.overloaded.to_string(),
                c.overloaded_with_retry_after.to_string(),
                ms(c.refused.p50),
                ms(c.refused.p99),
                c.failed.to_string(),
                c.unsent.to_string(),
                c.answered_after.to_string(),
                ms(c.served.p50),
                ms(c.served.p99),
                c.peak_connections.to_string(),
                mib(s.peak_rss_kib),
                mib(s.end_rss_kib),
            ]
        })
        .collect();
    markdown_table(&headers, &right, &rows)
}

/// Tessera beside oidc-provider.
pub fn peer_table(peers: &[PeerComparison]) -> String {
    let headers = [
        "scenario",
        "Tessera requests/s",
        "oidc-provider requests/s",
        "Tessera ÷ oidc-provider",
    ];
    let right = [false, true, true, true];
    let rows: Vec<Vec<String>> = peers
        .iter()
        .map(|p| {
            vec![
                p.scenario.clone(),
                format!("{:.0}", p.tessera),
                format!("{:.0}", p.peer),
                p.ratio().map_or("-".into(), |x| format!("{x:.2}")),
            ]
        })
        .collect();
    markdown_table(&headers, &right, &rows)
}

/// One scenario offered open loop at a fraction of its closed-loop maximum (`--at-fraction`).
pub struct FractionRow {
    pub scenario: String,
    pub fraction: f64,
    /// The closed-loop rate the fraction is of.
    pub maximum: f64,
    pub counts: crate::open_loop::StormCounts,
}

/// The `--at-fraction` table: the offered rate, what was served, and the latencies there.
pub fn fraction_table(rows: &[FractionRow]) -> String {
    let headers = [
        "scenario",
        "fraction",
        "maximum/s",
        "offered/s",
        "served/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "503",
        "other errors",
        "not sent",
    ];
    let right = [
        false, true, true, true, true, true, true, true, true, true, true,
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let c = &r.counts;
            vec![
                r.scenario.clone(),
                format!("{:.2}", r.fraction),
                format!("{:.0}", r.maximum),
                format!("{:.0}", c.offered_rate),
                format!("{:.0}", c.served.rate),
                crate::stats::ms(c.served.p50),
                crate::stats::ms(c.served.p95),
                crate::stats::ms(c.served.p99),
                c.overloaded.to_string(),
                c.failed.to_string(),
                c.unsent.to_string(),
            ]
        })
        .collect();
    markdown_table(&headers, &right, &body)
}

/// How the run was set up, printed above the table.
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    pub machine: Machine,
    /// RFC 3339, UTC.
    pub date: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    pub duration_secs: u64,
    pub warmup_secs: u64,
    pub connections: Vec<usize>,
    pub tessera: String,
}

/// A Markdown table with every column padded to its widest cell; `right[i]` right-aligns
/// column `i` (numbers), the others are left-aligned.
pub fn markdown_table(headers: &[&str], right: &[bool], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count().max(3)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let is_right = |i: usize| right.get(i).copied().unwrap_or(false);
    let line = |cells: &mut dyn Iterator<Item = String>| {
        let mut out = String::from("|");
        for (i, cell) in cells.enumerate() {
            let w = widths[i];
            if is_right(i) {
                out.push_str(&format!(" {cell:>w$} |"));
            } else {
                out.push_str(&format!(" {cell:<w$} |"));
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(&mut headers.iter().map(|h| h.to_string()));
    out.push_str(&line(&mut widths.iter().enumerate().map(|(i, w)| {
        if is_right(i) {
            format!("{}:", "-".repeat(w - 1))
        } else {
            "-".repeat(*w)
        }
    })));
    for row in rows {
        out.push_str(&line(&mut row.iter().cloned()));
    }
    out
}

/// The results table.
pub fn results_table(results: &[ScenarioResult]) -> String {
    let headers = [
        "scenario",
        "requests/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "server CPU %",
        "peak RSS MiB",
        "baseline",
        "ratio",
    ];
    let right = [false, true, true, true, true, true, true, true, false, true];
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.scenario.clone(),
                format!("{:.0}", r.summary.rate),
                ms(r.summary.p50),
                ms(r.summary.p95),
                ms(r.summary.p99),
                r.summary.errors.to_string(),
                r.server_cpu_percent
                    .map_or("-".into(), |c| format!("{c:.0}")),
                mib(r.peak_rss_kib),
                match &r.baseline {
                    Some(b) => format!("{} {:.0}/s", b.name, b.rate),
                    None => "(is the baseline)".into(),
                },
                r.ratio().map_or("-".into(), |x| format!("{x:.3}")),
            ]
        })
        .collect();
    markdown_table(&headers, &right, &rows)
}

/// What [`cpu_table`] shows, printed under it.
pub const CPU_TABLE_NOTE: &str = "CPU µs/request = CPU time used in the measured window ÷ requests answered in it; \
idle or elsewhere = the machine's cores not used by these processes (other processes, the \
kernel's own threads, idle); cores ÷ sum = the rate at which these processes alone would \
fill every core.";

/// Where the CPU went in each closed-loop row: per request, the server's, the database's
/// (PostgreSQL runs) and the load generator's own CPU time. Empty when no row has them.
pub fn cpu_table(results: &[ScenarioResult], cores: usize) -> String {
    let headers = [
        "scenario",
        "requests/s",
        "server CPU µs/request",
        "database CPU µs/request",
        "load generator CPU µs/request",
        "sum µs/request",
        "idle or elsewhere %",
        "cores ÷ sum, /s",
    ];
    let right = [false, true, true, true, true, true, true, true];
    let per_request = |percent: Option<f64>, rate: f64| {
        percent
            .filter(|_| rate > 0.0)
            .map(|p| p / 100.0 * 1e6 / rate)
    };
    let cell = |us: Option<f64>| us.map_or("-".into(), |u| format!("{u:.1}"));
    let rows: Vec<Vec<String>> = results
        .iter()
        .filter(|r| r.server_cpu_percent.is_some() && r.summary.rate > 0.0)
        .map(|r| {
            let rate = r.summary.rate;
            let server = per_request(r.server_cpu_percent, rate);
            let database = per_request(r.database_cpu_percent, rate);
            let generator = per_request(r.generator_cpu_percent, rate);
            let sum: f64 = [server, database, generator].iter().flatten().sum();
            let used: f64 = [
                r.server_cpu_percent,
                r.database_cpu_percent,
                r.generator_cpu_percent,
            ]
            .iter()
            .flatten()
            .sum();
            let idle = (100.0 * cores as f64 - used).max(0.0) / cores as f64;
            vec![
                r.scenario.clone(),
                format!("{rate:.0}"),
                cell(server),
                cell(database),
                cell(generator),
                format!("{sum:.1}"),
                format!("{idle:.0}"),
                if sum > 0.0 {
                    format!("{:.0}", cores as f64 * 1e6 / sum)
                } else {
                    "-".into()
                },
            ]
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    markdown_table(&headers, &right, &rows)
}

/// The lines above the table.
pub fn header(info: &RunInfo) -> String {
    format!(
        "machine: {} cores, {}, Linux {}, load average at start {}\ndate: {}\ndatabase: {}\nload: {} connections, {} s warm-up + {} s measured per scenario\ntessera: {}\n",
        info.machine.cores,
        info.machine.cpu_model,
        info.machine.kernel,
        info.machine.loadavg_at_start,
        info.date,
        info.database,
        info.connections
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(","),
        info.warmup_secs,
        info.duration_secs,
        info.tessera,
    )
}

#[derive(Serialize)]
struct JsonRow<'a> {
    scenario: &'a str,
    requests_ok: u64,
    requests_per_sec: f64,
    p50_ms: Option<f64>,
    p95_ms: Option<f64>,
    p99_ms: Option<f64>,
    errors: u64,
    server_cpu_percent: Option<f64>,
    generator_cpu_percent: Option<f64>,
    database_cpu_percent: Option<f64>,
    peak_rss_kib: Option<u64>,
    baseline: Option<&'a Baseline>,
    ratio: Option<f64>,
}

#[derive(Serialize)]
struct JsonStorm<'a> {
    capacity: &'a Baseline,
    offered_per_sec: f64,
    scheduled: u64,
    served_per_sec: f64,
    served_ratio: Option<f64>,
    served_p50_ms: Option<f64>,
    served_p99_ms: Option<f64>,
    overloaded_503: u64,
    overloaded_503_with_retry_after: u64,
    overloaded_503_p50_ms: Option<f64>,
    overloaded_503_p99_ms: Option<f64>,
    other_errors: u64,
    not_sent: u64,
    answered_after_window: u64,
    peak_connections: usize,
    peak_rss_kib: Option<u64>,
    end_rss_kib: Option<u64>,
}

/// The whole report as one JSON object.
pub fn json(
    info: &RunInfo,
    baselines: &[Baseline],
    results: &[ScenarioResult],
    storms: &[StormResult],
    peers: &[PeerComparison],
) -> String {
    let to_ms = |us: Option<Micros>| us.map(|us| f64::from(us) / 1000.0);
    let rows: Vec<JsonRow<'_>> = results
        .iter()
        .map(|r| JsonRow {
            scenario: &r.scenario,
            requests_ok: r.summary.ok,
            requests_per_sec: r.summary.rate,
            p50_ms: to_ms(r.summary.p50),
            p95_ms: to_ms(r.summary.p95),
            p99_ms: to_ms(r.summary.p99),
            errors: r.summary.errors,
            server_cpu_percent: r.server_cpu_percent,
            generator_cpu_percent: r.generator_cpu_percent,
            database_cpu_percent: r.database_cpu_percent,
            peak_rss_kib: r.peak_rss_kib,
            baseline: r.baseline.as_ref(),
            ratio: r.ratio(),
        })
        .collect();
    let storms: Vec<JsonStorm<'_>> = storms
        .iter()
        .map(|s| JsonStorm {
            capacity: &s.capacity,
            offered_per_sec: s.counts.offered_rate,
            scheduled: s.counts.scheduled,
            served_per_sec: s.counts.served.rate,
            served_ratio: s.served_ratio(),
            served_p50_ms: to_ms(s.counts.served.p50),
            served_p99_ms: to_ms(s.counts.served.p99),
            overloaded_503: s.counts.overloaded,
            overloaded_503_with_retry_after: s.counts.overloaded_with_retry_after,
            overloaded_503_p50_ms: to_ms(s.counts.refused.p50),
            overloaded_503_p99_ms: to_ms(s.counts.refused.p99),
            other_errors: s.counts.failed,
            not_sent: s.counts.unsent,
            answered_after_window: s.counts.answered_after,
            peak_connections: s.counts.peak_connections,
            peak_rss_kib: s.peak_rss_kib,
            end_rss_kib: s.end_rss_kib,
        })
        .collect();
    let peers: Vec<_> = peers
        .iter()
        .map(|p| serde_json::json!({"scenario": p.scenario, "tessera_per_sec": p.tessera, "oidc_provider_per_sec": p.peer, "ratio": p.ratio()}))
        .collect();
    serde_json::json!({ "run": info, "baselines": baselines, "results": rows, "storms": storms, "peer": peers }).to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn result(name: &str, rate_per_10s: usize, baseline: Option<f64>) -> ScenarioResult {
        ScenarioResult {
            scenario: name.into(),
            summary: Summary::new(
                vec![1500; rate_per_10s],
                if baseline.is_some() { 2 } else { 0 },
                Duration::from_secs(10),
            ),
            peak_rss_kib: Some(30 * 1024 + 512),
            server_cpu_percent: baseline.map(|_| 187.4),
            generator_cpu_percent: baseline.map(|_| 10.0),
            database_cpu_percent: None,
            baseline: baseline.map(|rate| Baseline {
                name: "ES256 sign".into(),
                rate,
            }),
        }
    }

    #[test]
    fn table_columns_are_padded_and_numbers_right_aligned() {
        let t = markdown_table(
            &["name", "n"],
            &[false, true],
            &[
                vec!["a".into(), "1".into()],
                vec!["longer".into(), "100".into()],
            ],
        );
        assert_eq!(
            t,
            "| name   |   n |\n\
             | ------ | --: |\n\
             | a      |   1 |\n\
             | longer | 100 |\n"
        );
    }

    #[test]
    fn cpu_table_divides_each_process_s_cpu_by_the_requests() {
        let mut pg = result("refresh", 500, Some(200.0));
        pg.database_cpu_percent = Some(50.0);
        // healthz (no CPU reading in this fixture) has no row.
        let t = cpu_table(
            &[
                result("healthz", 1000, None),
                result("cc", 500, Some(200.0)),
                pg,
            ],
            2,
        );
        let rows: Vec<Vec<&str>> = t
            .lines()
            .skip(2)
            .map(|l| {
                l.split('|')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .collect()
            })
            .collect();
        assert_eq!(rows.len(), 2, "{t}");
        // 50 requests/s; 187.4 % of a core is 37,480 µs a request, 10 % is 2,000 µs.
        assert_eq!(
            rows[0],
            ["cc", "50", "37480.0", "-", "2000.0", "39480.0", "1", "51"]
        );
        // With the database's 50 % (10,000 µs a request) all but nothing of two cores is used.
        assert_eq!(
            rows[1],
            [
                "refresh", "50", "37480.0", "10000.0", "2000.0", "49480.0", "0", "40"
            ]
        );
        assert!(cpu_table(&[result("healthz", 1000, None)], 2).is_empty());
    }

    #[test]
    fn results_table_shows_rates_latencies_memory_and_ratio() {
        let t = results_table(&[
            result("healthz", 1000, None),
            result("cc", 500, Some(200.0)),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert_eq!(
            lines[0],
            "| scenario | requests/s | p50 ms | p95 ms | p99 ms | errors | server CPU % | peak RSS MiB | baseline          | ratio |"
        );
        assert_eq!(
            lines[2],
            "| healthz  |        100 |   1.50 |   1.50 |   1.50 |      0 |            - |         30.5 | (is the baseline) |     - |"
        );
        assert_eq!(
            lines[3],
            "| cc       |         50 |   1.50 |   1.50 |   1.50 |      2 |          187 |         30.5 | ES256 sign 200/s  | 0.250 |"
        );
    }

    fn storm() -> StormResult {
        let counts = StormCounts {
            offered_rate: 250.0,
            scheduled: 2500,
            served: Summary::new(vec![2000; 480], 1, Duration::from_secs(10)),
            overloaded: 1900,
            overloaded_with_retry_after: 1900,
            refused: Summary::new(vec![3000; 1900], 0, Duration::from_secs(10)),
            failed: 1,
            first_failure: Some("HTTP 500".into()),
            unsent: 0,
            answered_after: 3,
            peak_connections: 256,
        };
        StormResult {
            capacity: Baseline {
                name: "password-signin".into(),
                rate: 50.0,
            },
            counts,
            peak_rss_kib: Some(400 * 1024),
            end_rss_kib: Some(100 * 1024),
        }
    }

    #[test]
    fn fraction_table_shows_the_rate_offered_and_the_latencies_there() {
        let row = FractionRow {
            scenario: "jwks".into(),
            fraction: 0.8,
            maximum: 312.5,
            counts: storm().counts,
        };
        let t = fraction_table(&[row]);
        let line = t.lines().nth(2).expect("one row");
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(
            &cells[1..12],
            &[
                "jwks", "0.80", "312", "250", "48", "2.00", "2.00", "2.00", "1900", "1", "0"
            ]
        );
    }

    #[test]
    fn storm_table_shows_offered_served_refused_and_memory() {
        let s = storm();
        assert!((s.served_ratio().unwrap() - 0.96).abs() < 1e-9);
        let t = storm_table(&[s]);
        let row = t.lines().nth(2).expect("one row");
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(
            &cells[1..18],
            &[
                "password-signin",
                "250.0",
                "50.0",
                "48.0",
                "0.96",
                "1900",
                "1900",
                "3.00",
                "3.00",
                "1",
                "0",
                "3",
                "2.00",
                "2.00",
                "256",
                "400.0",
                "100.0"
            ],
            "{t}"
        );
    }

    #[test]
    fn json_report_has_the_storm_and_the_peer() {
        let info = RunInfo {
            machine: Machine {
                cores: 2,
                cpu_model: "cpu".into(),
                kernel: "6.1".into(),
                loadavg_at_start: "0.00 0.00 0.00".into(),
            },
            date: "2026-11-29T00:00:00Z".into(),
            database: "sqlite".into(),
            duration_secs: 30,
            warmup_secs: 2,
            connections: vec![16],
            tessera: "target/release/tessera".into(),
        };
        let peer = PeerComparison {
            scenario: "client-credentials".into(),
            tessera: 1000.0,
            peer: 500.0,
        };
        let v: serde_json::Value =
            serde_json::from_str(&json(&info, &[], &[], &[storm()], &[peer])).expect("JSON");
        let s = &v["storms"][0];
        assert_eq!(s["capacity"]["name"], "password-signin");
        assert_eq!(s["offered_per_sec"], 250.0);
        assert_eq!(s["served_per_sec"], 48.0);
        assert_eq!(s["overloaded_503_with_retry_after"], 1900);
        assert_eq!(s["end_rss_kib"], 100 * 1024);
        assert_eq!(s["overloaded_503_p99_ms"], 3.0);
        assert_eq!(v["peer"][0]["ratio"], 2.0);
        assert_eq!(v["peer"][0]["oidc_provider_per_sec"], 500.0);
    }

    #[test]
    fn peer_ratio_is_tessera_over_the_peer() {
        let p = PeerComparison {
            scenario: "introspection".into(),
            tessera: 3000.0,
            peer: 1500.0,
        };
        assert_eq!(p.ratio(), Some(2.0));
        assert_eq!(
            PeerComparison {
                tessera: 0.0,
                ..p.clone()
            }
            .ratio(),
            None
        );
        assert!(peer_table(&[p]).contains("| introspection |"));
    }

    #[test]
    fn ratio_needs_a_positive_baseline() {
        assert_eq!(result("h", 10, None).ratio(), None);
        assert_eq!(result("z", 10, Some(0.0)).ratio(), None);
        assert_eq!(result("c", 100, Some(5.0)).ratio(), Some(2.0));
    }

    #[test]
    fn json_report_has_the_same_numbers() {
        let info = RunInfo {
            machine: Machine {
                cores: 2,
                cpu_model: "cpu".into(),
                kernel: "6.1".into(),
                loadavg_at_start: "0.00 0.00 0.00".into(),
            },
            date: "2026-11-29T00:00:00Z".into(),
            database: "sqlite".into(),
            duration_secs: 10,
            warmup_secs: 2,
            connections: vec![16],
            tessera: "target/release/tessera".into(),
        };
        let v: serde_json::Value = serde_json::from_str(&json(
            &info,
            &[],
            &[result("cc", 500, Some(200.0))],
            &[],
            &[],
        ))
        .expect("valid JSON");
        let row = &v["results"][0];
        assert_eq!(row["scenario"], "cc");
        assert_eq!(row["requests_per_sec"], 50.0);
        assert_eq!(row["p99_ms"], 1.5);
        assert_eq!(row["ratio"], 0.25);
        assert_eq!(row["server_cpu_percent"], 187.4);
        assert_eq!(row["baseline"]["name"], "ES256 sign");
        assert_eq!(v["run"]["machine"]["cores"], 2);
    }
}
