//! The load generator: N workers, each owning exactly one HTTP/1.1 keep-alive connection to the
//! server on 127.0.0.1, sending one request after the other (closed loop) until the deadline.
//!
//! Why hyper's connection API and not reqwest or an external tool: the number of connections is
//! the experiment's main knob, and `hyper::client::conn::http1` makes it exact (one socket per
//! worker, no pool that may open more or fewer, a reconnect only after a failure, counted as an
//! error). It also keeps the generator's own cost per request small (no URL parsing, no pool
//! lookup, no redirect or cookie machinery), which matters when the generator and the server
//! share the same two cores. wrk or hey would need installing and parsing their output, and
//! would still share the cores.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_LENGTH, HOST, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::stats::{Micros, Summary};

/// A single request never takes longer than this; a slower one counts as a transport error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Which answers count as successful.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Any 2xx.
    Success,
    /// `303 See Other` (a form post that redirects, such as a sign-in).
    SeeOther,
}

impl Expect {
    pub fn accepts(self, status: StatusCode) -> bool {
        match self {
            Expect::Success => status.is_success(),
            Expect::SeeOther => status == StatusCode::SEE_OTHER,
        }
    }
}

/// One request, sent again and again: built once, cloned cheaply per send.
#[derive(Clone, Debug)]
pub struct RequestTemplate {
    pub method: Method,
    /// Path and query, e.g. `/t/bench/token`.
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    pub expect: Expect,
}

impl RequestTemplate {
    pub fn get(path: &str) -> RequestTemplate {
        RequestTemplate {
            method: Method::GET,
            path: path.to_string(),
            headers: Vec::new(),
            body: Bytes::new(),
            expect: Expect::Success,
        }
    }

    /// A POST of an `application/x-www-form-urlencoded` body (already encoded).
    pub fn post_form(path: &str, form: String) -> RequestTemplate {
        RequestTemplate {
            method: Method::POST,
            path: path.to_string(),
            headers: vec![(
                hyper::header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )],
            body: Bytes::from(form),
            expect: Expect::Success,
        }
    }

    /// A request with a JSON body (`application/json`).
    pub fn json(method: Method, path: &str, body: &serde_json::Value) -> RequestTemplate {
        RequestTemplate {
            method,
            path: path.to_string(),
            headers: vec![(
                hyper::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body: Bytes::from(body.to_string()),
            expect: Expect::Success,
        }
    }

    pub fn expecting(mut self, expect: Expect) -> RequestTemplate {
        self.expect = expect;
        self
    }

    pub fn header(mut self, name: HeaderName, value: &str) -> Result<RequestTemplate> {
        self.headers.push((
            name,
            HeaderValue::from_str(value).context("a header value is not valid")?,
        ));
        Ok(self)
    }

    pub(crate) fn build(&self, host: &HeaderValue) -> Result<Request<Full<Bytes>>> {
        let mut req = Request::builder()
            .method(self.method.clone())
            .uri(&self.path)
            .header(HOST, host.clone());
        for (name, value) in &self.headers {
            req = req.header(name, value.clone());
        }
        if !self.body.is_empty() {
            req = req.header(CONTENT_LENGTH, self.body.len());
        }
        Ok(req.body(Full::new(self.body.clone()))?)
    }
}

/// An HTTP/1.1 connection to the server.
pub(crate) struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    /// Whether the server closed it (or it failed): a new one is needed.
    pub(crate) fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    pub(crate) async fn open(addr: SocketAddr) -> Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        // Requests are small and sent one at a time; Nagle would only add delay.
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        // The connection task ends when `sender` is dropped or the server closes the socket.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Connection { sender })
    }

    /// Sends one request and reads the whole response body.
    pub(crate) async fn send(&mut self, req: Request<Full<Bytes>>) -> Result<Answer> {
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// A response read completely.
pub struct Answer {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The status and the start of the body, for an error message.
    pub fn describe(&self) -> String {
        let body = &self.body[..self.body.len().min(300)];
        format!("HTTP {}: {}", self.status, String::from_utf8_lossy(body))
    }
}

pub(crate) fn micros(d: Duration) -> Micros {
    Micros::try_from(d.as_micros()).unwrap_or(Micros::MAX)
}

/// One request on a fresh connection, for setup (readiness, fetching a token). Not timed.
pub async fn once(addr: SocketAddr, template: &RequestTemplate) -> Result<Answer> {
    let host = host_header(addr)?;
    let exchange = async {
        let mut conn = Connection::open(addr).await?;
        conn.send(template.build(&host)?).await
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .with_context(|| format!("{} {} timed out", template.method, template.path))?
}

pub(crate) fn host_header(addr: SocketAddr) -> Result<HeaderValue> {
    Ok(HeaderValue::from_str(&addr.to_string())?)
}

/// What one worker saw inside the measurement window.
#[derive(Default)]
struct WorkerTally {
    latencies: Vec<Micros>,
    errors: u64,
    /// The first error message, to show when everything failed.
    first_error: Option<String>,
}

impl WorkerTally {
    fn error(&mut self, counted: bool, what: impl FnOnce() -> String) {
        if counted {
            self.errors += 1;
            if self.first_error.is_none() {
                self.first_error = Some(what());
            }
        }
    }
}

/// The timing of a load run: requests that start before `measure_from` are warm-up; requests
/// are counted when they start at or after it and finish by `until`.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub measure_from: Instant,
    pub until: Instant,
}

impl Window {
    pub fn starting_now(warmup: Duration, measure: Duration) -> Window {
        let measure_from = Instant::now() + warmup;
        Window {
            measure_from,
            until: measure_from + measure,
        }
    }

    /// The measured part.
    pub fn length(&self) -> Duration {
        self.until.duration_since(self.measure_from)
    }

    fn counts(&self, start: Instant, end: Instant) -> bool {
        start >= self.measure_from && end <= self.until
    }
}

/// What one worker sends, request after request. A fixed [`RequestTemplate`] is the common case;
/// a stateful conversation (a refresh token that rotates with every answer) builds each request
/// from the previous answer.
pub trait Conversation: Send + 'static {
    /// The request to send next.
    fn next_request(&mut self) -> &RequestTemplate;
    /// Judges a complete answer: `Err` (what was wrong) counts it as an error. A conversation
    /// that could not take what it needed from the answer keeps sending its last state, so a
    /// worker whose token stopped working goes on counting errors.
    fn answered(&mut self, answer: &Answer) -> Result<(), String>;
}

impl Conversation for RequestTemplate {
    fn next_request(&mut self) -> &RequestTemplate {
        self
    }

    fn answered(&mut self, answer: &Answer) -> Result<(), String> {
        if self.expect.accepts(answer.status) {
            Ok(())
        } else {
            Err(answer.describe())
        }
    }
}

async fn worker<C: Conversation>(
    addr: SocketAddr,
    mut conversation: C,
    window: Window,
) -> WorkerTally {
    let mut tally = WorkerTally::default();
    let host = match host_header(addr) {
        Ok(h) => h,
        Err(e) => {
            tally.error(true, || e.to_string());
            return tally;
        }
    };
    let mut conn: Option<Connection> = None;
    while Instant::now() < window.until {
        let start = Instant::now();
        if conn.as_ref().is_none_or(|c| c.sender.is_closed()) {
            match tokio::time::timeout(REQUEST_TIMEOUT, Connection::open(addr)).await {
                Ok(Ok(c)) => conn = Some(c),
                failed => {
                    // A failed connect has no latency; it counts when it began in the window.
                    tally.error(start >= window.measure_from, || match failed {
                        Ok(Err(e)) => format!("connect: {e:#}"),
                        _ => "connect: timed out".to_string(),
                    });
                    // Do not spin on a refused connection.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let req = match conversation.next_request().build(&host) {
            Ok(r) => r,
            Err(e) => {
                tally.error(true, || format!("{e:#}"));
                return tally;
            }
        };
        let start = Instant::now();
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, c.send(req)).await;
        let end = Instant::now();
        let counted = window.counts(start, end);
        match outcome {
            Ok(Ok(answer)) => match conversation.answered(&answer) {
                Ok(()) => {
                    if counted {
                        tally.latencies.push(micros(end.duration_since(start)));
                    }
                }
                Err(what) => tally.error(counted, || what),
            },
            Ok(Err(e)) => {
                conn = None;
                tally.error(counted, || format!("transport: {e:#}"));
            }
            Err(_) => {
                conn = None;
                tally.error(counted, || "request timed out".to_string());
            }
        }
    }
    tally
}

/// What a load run measured, and one example error if there were any.
pub struct LoadResult {
    pub summary: Summary,
    pub first_error: Option<String>,
}

/// Sends each conversation's requests from its own keep-alive connection (one worker each) until
/// the end of `window`, and summarizes the requests inside it.
pub async fn run_each<C: Conversation>(
    addr: SocketAddr,
    conversations: Vec<C>,
    window: Window,
) -> Result<LoadResult> {
    if !addr.ip().is_loopback() {
        bail!("load is only ever sent to the loopback interface, not to {addr}");
    }
    let workers: Vec<_> = conversations
        .into_iter()
        .map(|c| tokio::spawn(worker(addr, c, window)))
        .collect();
    gather(workers, window).await
}

/// Runs `iteration` again and again on `workers` tasks until the end of `window` (closed loop),
/// timing each call as one operation: for work of several requests (a whole sign-in flow) that
/// a [`Conversation`] of one request at a time cannot express.
pub async fn run_iterations<F, Fut>(
    workers: usize,
    window: Window,
    iteration: F,
) -> Result<LoadResult>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let iteration = iteration.clone();
            tokio::spawn(async move {
                let mut tally = WorkerTally::default();
                while Instant::now() < window.until {
                    let start = Instant::now();
                    let outcome = tokio::time::timeout(REQUEST_TIMEOUT, iteration()).await;
                    let end = Instant::now();
                    let counted = window.counts(start, end);
                    match outcome {
                        Ok(Ok(())) if counted => tally.latencies.push(micros(end - start)),
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tally.error(counted, || format!("{e:#}")),
                        Err(_) => tally.error(counted, || "timed out".to_string()),
                    }
                }
                tally
            })
        })
        .collect();
    gather(tasks, window).await
}

/// Waits for the workers and sums up what they counted inside `window`.
async fn gather(
    workers: Vec<tokio::task::JoinHandle<WorkerTally>>,
    window: Window,
) -> Result<LoadResult> {
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for w in workers {
        let tally = w.await.context("a load worker failed")?;
        latencies.extend(tally.latencies);
        errors += tally.errors;
        first_error = first_error.or(tally.first_error);
    }
    Ok(LoadResult {
        summary: Summary::new(latencies, errors, window.length()),
        first_error,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    #[tokio::test]
    async fn iterations_are_timed_whole_and_failures_counted() {
        let calls = Arc::new(AtomicU64::new(0));
        let window = Window::starting_now(Duration::from_millis(20), Duration::from_millis(200));
        let counter = Arc::clone(&calls);
        let result = run_iterations(2, window, move || {
            let counter = Arc::clone(&counter);
            async move {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                if n % 4 == 3 {
                    anyhow::bail!("flow {n} failed");
                }
                Ok(())
            }
        })
        .await
        .expect("the run completes");
        let s = result.summary;
        assert!(s.ok > 0 && s.errors > 0, "{s:?}");
        // Only iterations inside the window count, and each took at least its 5 ms.
        assert!(s.ok + s.errors < calls.load(Ordering::SeqCst));
        assert!(s.p50.is_some_and(|us| us >= 5_000), "{s:?}");
        assert!(
            result
                .first_error
                .is_some_and(|e| e.starts_with("flow ") && e.ends_with(" failed"))
        );
    }
}
