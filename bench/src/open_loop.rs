//! The open-loop generator of the `login-storm` scenario and of `--at-fraction` (single requests, refresh
//! grants and whole code flows): requests arrive at a fixed rate whatever
//! the server answers, as a crowd of separate browsers would, instead of each worker waiting for
//! its previous answer (the closed loop of `load.rs`, which slows down with the server).
//!
//! A request takes an idle connection, or opens one when all are busy, up to a limit; when the
//! limit is reached the request is not sent and is counted as such (the generator, not the
//! server, was the bottleneck then). Latency runs from the request's scheduled arrival, so time
//! spent waiting for a connection counts against the answer, as a person would see it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use hyper::StatusCode;
use hyper::header::{HeaderValue, RETRY_AFTER};
use tokio::task::JoinSet;

use crate::load::{Answer, Connection, Expect, REQUEST_TIMEOUT, RequestTemplate, Window};
use crate::load::{host_header, micros};
use crate::refresh;
use crate::stats::{Micros, Summary};

/// When request `i` (from 0) is due, at `rate` requests per second from `start`.
pub fn arrival(start: Instant, rate: f64, i: u64) -> Instant {
    start + Duration::from_secs_f64(i as f64 / rate)
}

/// How one request of the storm ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The expected answer (303 for a sign-in).
    Served,
    /// 503, with or without a `Retry-After` header that holds a number of seconds.
    Overloaded { retry_after: bool },
    /// Any other answer or a transport failure (what, for the first error message).
    Failed(String),
    /// Not sent: every allowed connection was busy.
    Unsent,
}

/// Sorts an answer into an [`Outcome`].
pub fn classify(answer: &Answer, expect: Expect) -> Outcome {
    if expect.accepts(answer.status) {
        Outcome::Served
    } else if answer.status == StatusCode::SERVICE_UNAVAILABLE {
        Outcome::Overloaded {
            retry_after: retry_after_secs(answer.headers.get(RETRY_AFTER)).is_some(),
        }
    } else {
        Outcome::Failed(answer.describe())
    }
}

/// `Retry-After` as delay-seconds (RFC 9110 §10.2.3; the server never sends the date form).
fn retry_after_secs(value: Option<&HeaderValue>) -> Option<u64> {
    value?.to_str().ok()?.trim().parse().ok()
}

/// What a storm measured: the answers that arrived inside the window, whenever their request was
/// due (so the served rate is the server's throughput under the storm, not cut short by the
/// queueing delay of the requests due near the end).
#[derive(Clone, Debug)]
pub struct StormCounts {
    /// Requests per second the generator offered (scheduled), warm-up included.
    pub offered_rate: f64,
    /// Requests due inside the window.
    pub scheduled: u64,
    /// Served answers that arrived inside the window, with their latencies (from when due).
    pub served: Summary,
    /// 503 answers, and how many of them carried `Retry-After`.
    pub overloaded: u64,
    pub overloaded_with_retry_after: u64,
    /// Latencies of the 503 answers (from when due): the gate promises fast refusals.
    pub refused: Summary,
    /// Other answers and transport failures.
    pub failed: u64,
    pub first_failure: Option<String>,
    /// Not sent because every allowed connection was busy (due inside the window).
    pub unsent: u64,
    /// Answers of any kind that arrived after the window ended: what was still queued then.
    pub answered_after: u64,
    /// The most connections open at once.
    pub peak_connections: usize,
}

/// Idle connections, and how many are open (idle or busy).
struct Pool {
    idle: Mutex<Vec<Connection>>,
    open: Mutex<(usize, usize)>, // (open now, most at once)
    max: usize,
}

impl Pool {
    /// An idle connection, or `Some(None)` when a new one may be opened (counted as open from
    /// now), or `None` when the limit is reached.
    fn take(&self) -> Option<Option<Connection>> {
        if let Some(c) = self.idle.lock().ok()?.pop() {
            return Some(Some(c));
        }
        let mut open = self.open.lock().ok()?;
        if open.0 >= self.max {
            return None;
        }
        open.0 += 1;
        open.1 = open.1.max(open.0);
        Some(None)
    }

    fn give_back(&self, c: Connection) {
        if c.is_closed() {
            self.forget();
        } else if let Ok(mut idle) = self.idle.lock() {
            idle.push(c);
        }
    }

    /// A connection was dropped (failed, or closed by the server).
    fn forget(&self) {
        if let Ok(mut open) = self.open.lock() {
            open.0 = open.0.saturating_sub(1);
        }
    }

    fn peak(&self) -> usize {
        self.open.lock().map_or(0, |o| o.1)
    }
}

/// One request of the storm: scheduled at `due`, ended at `end`.
struct Record {
    due: Instant,
    end: Instant,
    outcome: Outcome,
}

async fn one(
    addr: SocketAddr,
    pool: Arc<Pool>,
    template: Arc<RequestTemplate>,
    due: Instant,
) -> Record {
    let outcome = match exchange(addr, &pool, &template).await {
        Ok(answer) => classify(&answer, template.expect),
        Err(outcome) => outcome,
    };
    Record {
        due,
        end: Instant::now(),
        outcome,
    }
}

/// Sends `template` on an idle or new connection of `pool`: the answer, or how the request ended
/// without one (not sent, or failed).
async fn exchange(
    addr: SocketAddr,
    pool: &Pool,
    template: &RequestTemplate,
) -> Result<Answer, Outcome> {
    let mut conn = match pool.take() {
        None => return Err(Outcome::Unsent),
        Some(Some(c)) => c,
        Some(None) => match tokio::time::timeout(REQUEST_TIMEOUT, Connection::open(addr)).await {
            Ok(Ok(c)) => c,
            failed => {
                pool.forget();
                return Err(Outcome::Failed(match failed {
                    Ok(Err(e)) => format!("connect: {e:#}"),
                    _ => "connect: timed out".into(),
                }));
            }
        },
    };
    let req = match host_header(addr).and_then(|h| template.build(&h)) {
        Ok(r) => r,
        Err(e) => {
            pool.give_back(conn);
            return Err(Outcome::Failed(format!("{e:#}")));
        }
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, conn.send(req)).await {
        Ok(Ok(answer)) => {
            pool.give_back(conn);
            Ok(answer)
        }
        Ok(Err(e)) => {
            pool.forget();
            Err(Outcome::Failed(format!("transport: {e:#}")))
        }
        Err(_) => {
            pool.forget();
            Err(Outcome::Failed("request timed out".into()))
        }
    }
}

/// One refresh-token grant of the open loop: it spends a token of `tokens` (none free: not sent,
/// like a request without a connection) and puts back the one the answer carries. A refused
/// grant loses its token.
async fn one_refresh(
    addr: SocketAddr,
    pool: Arc<Pool>,
    tokens: Arc<Mutex<Vec<String>>>,
    template: Arc<RequestTemplate>,
    due: Instant,
) -> Record {
    let record = |outcome| Record {
        due,
        end: Instant::now(),
        outcome,
    };
    let Some(token) = tokens.lock().ok().and_then(|mut t| t.pop()) else {
        return record(Outcome::Unsent);
    };
    let mut request = (*template).clone();
    request.body = refresh::grant_body(&token).into();
    match exchange(addr, &pool, &request).await {
        Ok(answer) => match refresh::rotated_token(&answer) {
            Ok(next) => {
                if let Ok(mut t) = tokens.lock() {
                    t.push(next);
                }
                record(Outcome::Served)
            }
            Err(e) => record(Outcome::Failed(e)),
        },
        Err(outcome) => {
            // Not sent: the token is still good.
            if outcome == Outcome::Unsent
                && let Ok(mut t) = tokens.lock()
            {
                t.push(token);
            }
            record(outcome)
        }
    }
}

/// Refresh-token grants offered open loop at `rate`, each spending one of `tokens` (each of its
/// own token family) and keeping the rotated one for a later request; otherwise as [`run`].
/// `template` is the token endpoint POST with the client's authentication (its body is replaced).
pub async fn run_refresh(
    addr: SocketAddr,
    template: &RequestTemplate,
    tokens: Vec<String>,
    rate: f64,
    max_connections: usize,
    window: Window,
    warmup: Duration,
) -> Result<StormCounts> {
    let tokens = Arc::new(Mutex::new(tokens));
    let template = Arc::new(template.clone());
    schedule(
        addr,
        rate,
        max_connections,
        window,
        warmup,
        move |pool, due| one_refresh(addr, pool, Arc::clone(&tokens), Arc::clone(&template), due),
    )
    .await
}

/// How long one whole flow of [`run_flows`] may take before it counts as failed: its four
/// requests, each allowed [`REQUEST_TIMEOUT`].
const FLOW_TIMEOUT: Duration = Duration::from_secs(4 * REQUEST_TIMEOUT.as_secs());

/// One whole flow of the open loop: started when `pool` allows one more in progress (otherwise
/// not sent), served when `flow` ends without error.
async fn one_flow<Fut>(pool: Arc<Pool>, flow: Fut, due: Instant) -> Record
where
    Fut: std::future::Future<Output = Result<()>>,
{
    let outcome = match pool.take() {
        None => Outcome::Unsent,
        Some(_) => {
            let outcome = match tokio::time::timeout(FLOW_TIMEOUT, flow).await {
                Ok(Ok(())) => Outcome::Served,
                Ok(Err(e)) => Outcome::Failed(format!("{e:#}")),
                Err(_) => Outcome::Failed("the flow timed out".into()),
            };
            // The flow's browser held its own connections, now closed.
            pool.forget();
            outcome
        }
    };
    Record {
        due,
        end: Instant::now(),
        outcome,
    }
}

/// Whole flows (`flow()` makes one: a new browser's authorization request, sign-in and code
/// exchange) offered open loop at `rate` per second, at most `max_flows` in progress at once;
/// a flow's latency runs from when it was due to its last answer. Otherwise as [`run`]. A refusal
/// on the way (a 503 included) ends the flow as an error.
pub async fn run_flows<F, Fut>(
    addr: SocketAddr,
    flow: F,
    rate: f64,
    max_flows: usize,
    window: Window,
    warmup: Duration,
) -> Result<StormCounts>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<()>> + Send + 'static,
{
    schedule(addr, rate, max_flows, window, warmup, move |pool, due| {
        one_flow(pool, flow(), due)
    })
    .await
}

/// Sends `template` at `rate` requests per second from the start of the warm-up to the end of
/// `window`, over at most `max_connections` connections, and waits for the last answers.
pub async fn run(
    addr: SocketAddr,
    template: &RequestTemplate,
    rate: f64,
    max_connections: usize,
    window: Window,
    warmup: Duration,
) -> Result<StormCounts> {
    let template = Arc::new(template.clone());
    schedule(
        addr,
        rate,
        max_connections,
        window,
        warmup,
        move |pool, due| one(addr, pool, Arc::clone(&template), due),
    )
    .await
}

/// Starts `request(pool, due)` for each arrival at `rate` from the start of the warm-up to the end
/// of `window`, and tallies the records once the last has ended.
async fn schedule<F, Fut>(
    addr: SocketAddr,
    rate: f64,
    max_connections: usize,
    window: Window,
    warmup: Duration,
    request: F,
) -> Result<StormCounts>
where
    F: Fn(Arc<Pool>, Instant) -> Fut,
    Fut: std::future::Future<Output = Record> + Send + 'static,
{
    if !addr.ip().is_loopback() {
        bail!("load is only ever sent to the loopback interface, not to {addr}");
    }
    if !(rate.is_finite() && rate > 0.0) {
        bail!("the offered rate must be a positive number of requests per second, not {rate}");
    }
    let pool = Arc::new(Pool {
        idle: Mutex::new(Vec::new()),
        open: Mutex::new((0, 0)),
        max: max_connections.max(1),
    });
    let start = window
        .measure_from
        .checked_sub(warmup)
        .unwrap_or(window.measure_from);
    let mut tasks = JoinSet::new();
    let mut records = Vec::new();
    for i in 0.. {
        let due = arrival(start, rate, i);
        if due >= window.until {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        tasks.spawn(request(Arc::clone(&pool), due));
        // Collect what has finished, so a long storm does not hold every task.
        while let Some(done) = tasks.try_join_next() {
            records.push(done?);
        }
    }
    while let Some(done) = tasks.join_next().await {
        records.push(done?);
    }
    let offered_rate = rate;
    Ok(tally(records, window, offered_rate, pool.peak()))
}

fn tally(records: Vec<Record>, window: Window, offered_rate: f64, peak: usize) -> StormCounts {
    let mut latencies: Vec<Micros> = Vec::new();
    let mut refused: Vec<Micros> = Vec::new();
    let mut c = StormCounts {
        offered_rate,
        scheduled: 0,
        served: Summary::new(Vec::new(), 0, window.length()),
        overloaded: 0,
        overloaded_with_retry_after: 0,
        refused: Summary::new(Vec::new(), 0, window.length()),
        failed: 0,
        first_failure: None,
        unsent: 0,
        answered_after: 0,
        peak_connections: peak,
    };
    for r in records {
        if r.due >= window.measure_from && r.due < window.until {
            c.scheduled += 1;
        }
        if r.end > window.until {
            c.answered_after += 1;
            continue;
        }
        if r.end < window.measure_from {
            continue;
        }
        match r.outcome {
            Outcome::Served => latencies.push(micros(r.end.duration_since(r.due))),
            Outcome::Overloaded { retry_after } => {
                refused.push(micros(r.end.duration_since(r.due)));
                c.overloaded += 1;
                c.overloaded_with_retry_after += u64::from(retry_after);
            }
            Outcome::Failed(what) => {
                c.failed += 1;
                c.first_failure.get_or_insert(what);
            }
            Outcome::Unsent => c.unsent += 1,
        }
    }
    c.served = Summary::new(latencies, c.failed, window.length());
    c.refused = Summary::new(refused, 0, window.length());
    c
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use hyper::HeaderMap;

    use super::*;

    fn answer(status: u16, retry_after: Option<&str>) -> Answer {
        let mut headers = HeaderMap::new();
        if let Some(v) = retry_after {
            headers.insert(RETRY_AFTER, v.parse().unwrap());
        }
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: Bytes::from_static(b"busy"),
        }
    }

    /// A token endpoint on 127.0.0.1 that answers `refresh_token=t-N` with `t-N+1` once per
    /// token (a token spent twice, or `t-bad`, gets 400), over keep-alive HTTP/1.1.
    async fn rotating_token_endpoint() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let spent = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = Arc::clone(&spent);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        // One request: headers, then Content-Length bytes of body.
                        let (head_end, length) = loop {
                            let text = String::from_utf8_lossy(&buf).to_string();
                            if let Some(end) = text.find("\r\n\r\n") {
                                let length = text[..end]
                                    .lines()
                                    .find_map(|l| {
                                        l.to_ascii_lowercase()
                                            .strip_prefix("content-length:")
                                            .map(|v| v.trim().parse::<usize>().unwrap())
                                    })
                                    .unwrap_or(0);
                                if buf.len() >= end + 4 + length {
                                    break (end + 4, length);
                                }
                            }
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let body =
                            String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
                        buf.drain(..head_end + length);
                        let token = body
                            .split("refresh_token=")
                            .nth(1)
                            .unwrap_or("")
                            .to_string();
                        let fresh = {
                            let mut seen = seen.lock().unwrap();
                            let fresh = !seen.contains(&token)
                                && token.starts_with("t-")
                                && token != "t-bad";
                            seen.push(token.clone());
                            fresh
                        };
                        let (status, json) = if fresh {
                            let n: u64 = token[2..].parse().unwrap();
                            ("200 OK", format!(r#"{{"refresh_token":"t-{}"}}"#, n + 1000))
                        } else {
                            (
                                "400 Bad Request",
                                r#"{"error":"invalid_grant"}"#.to_string(),
                            )
                        };
                        let answer = format!(
                            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{json}",
                            json.len()
                        );
                        if socket.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (addr, spent)
    }

    /// The open loop spends each token once and keeps the rotated one; a refused grant loses its
    /// token and counts as failed; with every token in flight a request is not sent.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn open_loop_refreshes_spend_each_token_once() {
        let (addr, spent) = rotating_token_endpoint().await;
        let template = RequestTemplate::post_form("/t/bench/token", String::new());
        let tokens = vec!["t-1".to_string(), "t-2".to_string(), "t-bad".to_string()];
        let window = Window::starting_now(Duration::ZERO, Duration::from_millis(500));
        let c = run_refresh(addr, &template, tokens, 200.0, 8, window, Duration::ZERO)
            .await
            .unwrap();
        let spent = spent.lock().unwrap().clone();
        let mut unique = spent.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            spent.len(),
            "no token was presented twice: {spent:?}"
        );
        assert_eq!(spent.iter().filter(|t| *t == "t-bad").count(), 1);
        assert_eq!(c.failed, 1, "the refused grant: {:?}", c.first_failure);
        assert!(
            c.served.ok + 10 >= spent.len() as u64 - 1,
            "{} served of {}",
            c.served.ok,
            spent.len()
        );
        assert!(
            spent.len() >= 50,
            "two token families at 200/s for 0.5 s: {}",
            spent.len()
        );
        assert_eq!(c.scheduled, 100);
        assert_eq!(
            c.served.ok + c.failed + c.unsent + c.answered_after,
            100,
            "{c:?}"
        );
    }

    #[test]
    fn arrivals_are_evenly_spaced_at_the_rate() {
        let t0 = Instant::now();
        assert_eq!(arrival(t0, 250.0, 0), t0);
        assert_eq!(arrival(t0, 250.0, 1), t0 + Duration::from_millis(4));
        assert_eq!(arrival(t0, 250.0, 500), t0 + Duration::from_secs(2));
        // A fractional rate does not drift: request 3 of 1.5/s is due at exactly 2 s.
        assert_eq!(arrival(t0, 1.5, 3), t0 + Duration::from_secs(2));
    }

    #[test]
    fn answers_are_sorted_into_served_overloaded_and_failed() {
        assert_eq!(
            classify(&answer(303, None), Expect::SeeOther),
            Outcome::Served
        );
        assert_eq!(
            classify(&answer(503, Some("2")), Expect::SeeOther),
            Outcome::Overloaded { retry_after: true }
        );
        assert_eq!(
            classify(&answer(503, None), Expect::SeeOther),
            Outcome::Overloaded { retry_after: false }
        );
        // A date or garbage is not the delay-seconds the server promises.
        assert_eq!(
            classify(&answer(503, Some("soon")), Expect::SeeOther),
            Outcome::Overloaded { retry_after: false }
        );
        assert!(matches!(
            classify(&answer(429, Some("5")), Expect::SeeOther),
            Outcome::Failed(m) if m.starts_with("HTTP 429")
        ));
    }

    #[test]
    fn answers_count_when_they_arrive_inside_the_window() {
        let t0 = Instant::now();
        let window = Window {
            measure_from: t0 + Duration::from_secs(1),
            until: t0 + Duration::from_secs(3),
        };
        let at = |s: f64| t0 + Duration::from_secs_f64(s);
        let r = |due: f64, end: f64, outcome: Outcome| Record {
            due: at(due),
            end: at(end),
            outcome,
        };
        let records = vec![
            r(0.2, 0.9, Outcome::Served), // answered during the warm-up
            r(0.5, 1.5, Outcome::Served), // due in the warm-up, answered in the window
            r(1.0, 1.2, Outcome::Served),
            r(1.5, 1.7, Outcome::Served),
            r(2.5, 3.5, Outcome::Served), // answered after the window
            r(2.0, 2.0, Outcome::Overloaded { retry_after: true }),
            r(2.0, 2.0, Outcome::Overloaded { retry_after: false }),
            r(2.1, 2.2, Outcome::Failed("HTTP 500".into())),
            r(2.2, 2.2, Outcome::Unsent),
            r(3.0, 3.1, Outcome::Served), // due after the window
        ];
        let c = tally(records, window, 10.0, 7);
        assert_eq!(c.scheduled, 7);
        assert_eq!(c.served.ok, 3);
        assert!((c.served.rate - 1.5).abs() < 1e-9);
        assert_eq!(c.served.p50, Some(200_000));
        assert_eq!(c.served.p99, Some(1_000_000));
        assert_eq!((c.overloaded, c.overloaded_with_retry_after), (2, 1));
        assert_eq!(c.refused.p99, Some(0));
        assert_eq!((c.failed, c.unsent, c.answered_after), (1, 1, 2));
        assert_eq!(c.first_failure.as_deref(), Some("HTTP 500"));
        assert_eq!(c.peak_connections, 7);
    }
}
