//! Syslog collectors on loopback ports: UDP (one message per datagram) and TCP with RFC 6587
//! octet counting (`<length> <message>`), as a SIEM would listen.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, UdpSocket};

use crate::harness::poll_until;

type Log = Arc<Mutex<Vec<String>>>;

fn snapshot(log: &Log) -> Vec<String> {
    log.lock().expect("the collector is not poisoned").clone()
}

async fn wait_for(log: &Log, what: &str, count: usize) -> Vec<String> {
    poll_until(what, Duration::from_secs(20), || {
        let got = snapshot(log);
        async move { (got.len() >= count).then_some(got) }
    })
    .await
}

/// Collects UDP datagrams, each one message.
pub struct UdpCollector {
    /// `127.0.0.1:<port>`
    pub addr: String,
    log: Log,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for UdpCollector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl UdpCollector {
    pub async fn start() -> UdpCollector {
        let sock = UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("a loopback UDP port can be bound");
        let addr = sock.local_addr().expect("an address").to_string();
        let log: Log = Arc::default();
        let shared = log.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            while let Ok((n, _)) = sock.recv_from(&mut buf).await {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                shared.lock().expect("not poisoned").push(msg);
            }
        });
        UdpCollector { addr, log, task }
    }

    /// Waits until at least `count` messages arrived; returns all of them.
    pub async fn wait(&self, count: usize) -> Vec<String> {
        wait_for(&self.log, "syslog messages over UDP", count).await
    }
}

/// Collects octet-counted messages from TCP connections. A frame whose length does not match its
/// message is recorded as `FRAMING ERROR: …`, so the test fails with what was sent.
pub struct TcpCollector {
    pub addr: String,
    log: Log,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TcpCollector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TcpCollector {
    pub async fn start() -> TcpCollector {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback TCP port can be bound");
        let addr = listener.local_addr().expect("an address").to_string();
        let log: Log = Arc::default();
        let shared = log.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let mut raw = Vec::new();
                    if stream.read_to_end(&mut raw).await.is_err() {
                        return;
                    }
                    let frames = split_frames(&raw);
                    shared.lock().expect("not poisoned").extend(frames);
                });
            }
        });
        TcpCollector { addr, log, task }
    }

    pub async fn wait(&self, count: usize) -> Vec<String> {
        wait_for(&self.log, "syslog messages over TCP", count).await
    }
}

/// Splits `<len> <msg><len> <msg>…` (RFC 6587 §3.4.1).
fn split_frames(mut raw: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while !raw.is_empty() {
        let Some(sp) = raw.iter().position(|b| *b == b' ') else {
            out.push(format!(
                "FRAMING ERROR: no length in {:?}",
                String::from_utf8_lossy(raw)
            ));
            break;
        };
        let Some(len) = std::str::from_utf8(&raw[..sp])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            out.push(format!(
                "FRAMING ERROR: bad length in {:?}",
                String::from_utf8_lossy(raw)
            ));
            break;
        };
        let rest = &raw[sp + 1..];
        if rest.len() < len {
            out.push(format!(
                "FRAMING ERROR: length {len} but {} bytes follow: {:?}",
                rest.len(),
                String::from_utf8_lossy(rest)
            ));
            break;
        }
        out.push(String::from_utf8_lossy(&rest[..len]).into_owned());
        raw = &rest[len..];
    }
    out
}
