//! A webhook receiver on a loopback port: a minimal HTTP/1.1 server (one request per connection,
//! `Connection: close`) that records every request and answers with scripted status codes.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::poll_until;

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Received {
    /// When its last byte arrived.
    pub at: SystemTime,
    pub method: String,
    pub path: String,
    /// Header names lowercased.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// The status the receiver answered.
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("the request carries {name}: {:?}", self.headers))
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the body is JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn event_id(&self) -> String {
        self.header("tessera-event-id").to_string()
    }

    pub fn delivery_id(&self) -> String {
        self.header("tessera-delivery-id").to_string()
    }
}

struct Inner {
    /// Answers for the next requests, in order; then `default`.
    script: VecDeque<u16>,
    default: u16,
    log: Vec<Received>,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    /// `http://127.0.0.1:<port>/hook`
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// A receiver answering `default` unless scripted otherwise.
    pub async fn start(default: u16) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port can be bound");
        let port = listener.local_addr().expect("an address").port();
        let inner = Arc::new(Mutex::new(Inner {
            script: VecDeque::new(),
            default,
            log: Vec::new(),
        }));
        let shared = inner.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, &shared).await;
                });
            }
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            inner,
            task,
        }
    }

    /// The next requests get these statuses, in order.
    pub fn script(&self, statuses: &[u16]) {
        self.lock().script.extend(statuses.iter().copied());
    }

    /// Requests after the script get `status`.
    pub fn answer(&self, status: u16) {
        self.lock().default = status;
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.lock().log.clone()
    }

    /// Polls until `check` accepts the requests received so far; returns them.
    pub async fn wait<F>(&self, what: &str, timeout: Duration, check: F) -> Vec<Received>
    where
        F: Fn(&[Received]) -> bool,
    {
        poll_until(what, timeout, || {
            let got = self.received();
            let ok = check(&got);
            async move { ok.then_some(got) }
        })
        .await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .expect("the receiver's state is not poisoned")
    }
}

async fn serve(mut stream: TcpStream, shared: &Mutex<Inner>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let path = request_line.next().unwrap_or_default().to_string();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let status = {
        let mut inner = shared.lock().expect("the receiver's state is not poisoned");
        let status = inner.script.pop_front().unwrap_or(inner.default);
        inner.log.push(Received {
            at: SystemTime::now(),
            method,
            path,
            headers,
            body,
            status,
        });
        status
    };
    let reply =
        format!("HTTP/1.1 {status} Scripted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    stream.write_all(reply.as_bytes()).await?;
    stream.shutdown().await
}
