//! A real SMTP server for the tests: Python `aiosmtpd` running `tests/interop/python/smtp_sink.py`
//! on a free loopback port, writing each message it accepts into a temporary folder (`<n>.eml`
//! as received, `<n>.json` decoded). The server under test talks to it with its real SMTP
//! transport:
//!
//! ```ignore
//! let Some(sink) = SmtpSink::start().await else { return }; // no python3 here (not CI)
//! let server = dep.start_with(&sink.env()).await;          // TESSERA_SMTP_URL=smtp://…?tls=none
//! // … make the server send a message to bob@example.com …
//! let mail = sink.wait_for("bob@example.com", Duration::from_secs(30)).await;
//! assert!(mail.subject.contains("Acme"));
//! ```
//!
//! `stop` and `restart` (same port, same folder) simulate a mail server outage. Without python3
//! [`SmtpSink::start`] prints a notice and returns `None`, except in CI (`CI=true`), where it
//! panics. Its packages come from `requirements-smtp.txt` (pinned), installed once per content
//! into `<target>/interop/venv-smtp`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::process::free_port;
use super::tools::{interop_dir, python_venv, require};

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A "new sign-in" notice of the risk engine.
fn is_notice(m: &ReceivedMail) -> bool {
    m.subject.starts_with("New sign-in to your")
}

/// One message as the sink received it, decoded.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// The `To` header.
    pub to: String,
    /// The `From` header.
    pub from: String,
    pub subject: String,
    /// The plain-text body (LF line ends); empty when the message has none.
    pub text: String,
    /// The HTML alternative, when there is one.
    pub html: Option<String>,
    /// The envelope: `MAIL FROM` and `RCPT TO`.
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub message_id: Option<String>,
    /// The `.eml` file: the message exactly as received.
    pub eml: PathBuf,
}

impl ReceivedMail {
    /// The raw message as received.
    pub fn raw(&self) -> String {
        std::fs::read_to_string(&self.eml).unwrap_or_default()
    }
}

/// A running SMTP sink; killed when dropped.
pub struct SmtpSink {
    python: PathBuf,
    dir: TempDir,
    port: u16,
    child: Option<tokio::process::Child>,
    /// Messages already handed out by `wait_for`, by number.
    taken: Mutex<BTreeSet<u64>>,
}

impl SmtpSink {
    /// Starts a sink on a free port. `None` (after a notice) when python3 is missing outside CI.
    pub async fn start() -> Option<SmtpSink> {
        if !require(&["python3"], "the SMTP sink of the email tests") {
            return None;
        }
        let python = python_venv("requirements-smtp.txt", "venv-smtp").await;
        let dir = tempfile::Builder::new()
            .prefix("tessera-smtp-")
            .tempdir()
            .expect("a temporary directory can be created");
        let mut sink = SmtpSink {
            python,
            dir,
            port: 0,
            child: None,
            taken: Mutex::new(BTreeSet::new()),
        };
        // The port is found free, then bound by the sink; another process may take it in
        // between, so a failure to listen is retried on a fresh port.
        let mut last = String::new();
        for _ in 0..5 {
            sink.port = free_port();
            match sink.spawn().await {
                Ok(()) => return Some(sink),
                Err(log) => last = log,
            }
        }
        panic!("the SMTP sink could not listen on any free port. Its last log:\n{last}")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `TESSERA_SMTP_URL` that points a server at this sink (plain SMTP, no TLS).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// The variables to start a server with so that it sends its email here.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![("TESSERA_SMTP_URL", self.url())]
    }

    /// The folder the messages are written to.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the sink (SIGTERM, then waits): connections to its port are refused until
    /// [`SmtpSink::restart`].
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                let pid = libc::pid_t::try_from(pid).expect("a pid fits in pid_t");
                // SAFETY: kill(2) with the pid of a child this sink spawned and has not reaped.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
                Ok(_) => {}
                Err(_) => {
                    let _ = child.kill().await;
                }
            }
        }
    }

    /// Starts the sink again on the same port and folder (after [`SmtpSink::stop`]).
    pub async fn restart(&mut self) {
        self.stop().await;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.spawn().await {
                Ok(()) => return,
                // The port may still be held for a moment by the previous run.
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(log) => panic!(
                    "the SMTP sink could not listen again on port {}:\n{log}",
                    self.port
                ),
            }
        }
    }

    /// Every message received so far, in order of arrival.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.numbered().into_iter().map(|(_, m)| m).collect()
    }

    /// Waits for the next message to `to` (envelope recipient or `To` header, case-insensitive)
    /// that no earlier `wait_for` returned, and returns it; panics after `timeout` with what did
    /// arrive.
    ///
    /// "New sign-in" notices of the risk engine are passed over (a scenario that signs in from
    /// a second browser gets one besides the mail it waits for); [`SmtpSink::wait_for_notice`]
    /// waits for those.
    pub async fn wait_for(&self, to: &str, timeout: Duration) -> ReceivedMail {
        self.wait_for_where(to, timeout, |m| !is_notice(m)).await
    }

    /// Waits for the next "new sign-in" notice to `to`.
    pub async fn wait_for_notice(&self, to: &str, timeout: Duration) -> ReceivedMail {
        self.wait_for_where(to, timeout, is_notice).await
    }

    async fn wait_for_where(
        &self,
        to: &str,
        timeout: Duration,
        wanted: impl Fn(&ReceivedMail) -> bool,
    ) -> ReceivedMail {
        let want = to.to_lowercase();
        let deadline = Instant::now() + timeout;
        loop {
            for (n, mail) in self.numbered() {
                let matches = mail.rcpt_tos.iter().any(|r| r.to_lowercase() == want)
                    || mail.to.to_lowercase().contains(&want);
                if matches
                    && wanted(&mail)
                    && self
                        .taken
                        .lock()
                        .expect("the lock is not poisoned")
                        .insert(n)
                {
                    return mail;
                }
            }
            if Instant::now() > deadline {
                let got: Vec<String> = self
                    .received()
                    .iter()
                    .map(|m| format!("{:?} to {:?}", m.subject, m.rcpt_tos))
                    .collect();
                panic!(
                    "no message to {to} reached the SMTP sink within {timeout:?}; it received: {got:?}. Sink log:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the sink process wrote to stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("sink.log")
    }

    fn numbered(&self) -> Vec<(u64, ReceivedMail)> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.dir.path()) else {
            return out;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(n) = name
                .strip_suffix(".json")
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            let text = std::fs::read_to_string(entry.path()).expect("a sink file is readable");
            let v: Value = serde_json::from_str(&text).expect("the sink writes JSON");
            let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
            out.push((
                n,
                ReceivedMail {
                    to: s("to"),
                    from: s("from"),
                    subject: s("subject"),
                    text: s("text"),
                    html: v["html"].as_str().map(str::to_string),
                    mail_from: s("mail_from"),
                    rcpt_tos: v["rcpt_tos"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|r| r.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                    message_id: v["message_id"].as_str().map(str::to_string),
                    eml: self.dir.path().join(format!("{n}.eml")),
                },
            ));
        }
        out.sort_by_key(|(n, _)| *n);
        out
    }

    /// Starts the process on `self.port` and waits for its "ready" line; on failure returns its
    /// log.
    async fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("the sink log can be created");
        let mut cmd = tokio::process::Command::new(&self.python);
        cmd.arg(interop_dir().join("python/smtp_sink.py"))
            .arg(self.dir.path())
            .arg(self.port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("the SMTP sink starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with("ready") {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        if ready {
            // Keep draining stdout so the process never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            self.child = Some(child);
            Ok(())
        } else {
            let _ = child.kill().await;
            Err(self.log())
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}
