//! Processes: a [`Deployment`] (data directory + database) from which [`Server`]s are started and
//! CLI commands are run, all with the same configuration, as an operator would.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use tessera_store::testing::{TestDatabase, postgres_test_database};

use super::http::{Api, Browser};
use super::{FAST_ARGON2, poll_until};

/// The binary under test, built by cargo for this test target.
pub const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// How long a server may take to become ready (debug build, migrations, two cores shared).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the deployment keeps its data.
pub enum Backend {
    /// The embedded default: `tessera.db` in the data directory.
    Sqlite,
    /// A fresh PostgreSQL database, dropped when the test ends.
    Postgres(TestDatabase),
}

impl Backend {
    pub fn sqlite() -> Backend {
        Backend::Sqlite
    }

    /// `None` (after a notice) when PostgreSQL is unreachable outside CI; panics in CI.
    pub async fn postgres() -> Option<Backend> {
        postgres_test_database().await.map(Backend::Postgres)
    }

    /// `"sqlite"` or `"postgres"`, as `/readyz` and `tessera migrate` name it.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// One installation: a data directory (master key, SQLite file, logs) and a database. Servers and
/// CLI commands started from it share both.
pub struct Deployment {
    // Declared before `dir` so the PostgreSQL database is dropped while the folder still exists;
    // servers are owned by the tests and dropped (killed) before the deployment.
    backend: Backend,
    dir: TempDir,
    env: BTreeMap<String, String>,
    /// Host name put in `TESSERA_PUBLIC_URL` (`127.0.0.1`, or `localhost` for the browser).
    public_host: String,
    starts: AtomicUsize,
}

impl Deployment {
    /// A deployment with small argon2 parameters.
    pub fn new(backend: Backend) -> Deployment {
        let mut d = Deployment::with_default_hashing(backend);
        for (k, v) in FAST_ARGON2 {
            d.env.insert(k.into(), v.into());
        }
        d
    }

    /// A deployment with the product's default argon2 parameters.
    pub fn with_default_hashing(backend: Backend) -> Deployment {
        let dir = tempfile::Builder::new()
            .prefix("tessera-e2e-")
            .tempdir()
            .expect("a temporary directory can be created");
        let mut env = BTreeMap::new();
        env.insert(
            "TESSERA_DATA_DIR".to_string(),
            dir.path().join("data").display().to_string(),
        );
        if let Backend::Postgres(db) = &backend {
            env.insert("TESSERA_DATABASE_URL".to_string(), db.url().to_string());
        }
        // Variables of the test suite's own namespace must be accepted by the server.
        env.insert("TESSERA_TEST_E2E".to_string(), "1".to_string());
        Deployment {
            backend,
            dir,
            env,
            public_host: "127.0.0.1".into(),
            starts: AtomicUsize::new(0),
        }
    }

    /// Sets (or overrides) a configuration variable for every later server and CLI run.
    pub fn set(mut self, key: &str, value: &str) -> Deployment {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Uses `localhost` instead of `127.0.0.1` in the public URL (browsers treat it as secure).
    pub fn public_host(mut self, host: &str) -> Deployment {
        self.public_host = host.into();
        self
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn master_key_file(&self) -> PathBuf {
        self.data_dir().join("master.key")
    }

    /// The SQLite file, for the SQLite backend.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        match self.backend {
            Backend::Sqlite => Some(self.data_dir().join("tessera.db")),
            Backend::Postgres(_) => None,
        }
    }

    /// The database URL the product uses (for direct reads by the tests).
    pub fn database_url(&self) -> String {
        match &self.backend {
            Backend::Sqlite => format!("sqlite://{}", self.data_dir().join("tessera.db").display()),
            Backend::Postgres(db) => db.url().to_string(),
        }
    }

    /// Starts `tessera serve` and waits until `/readyz` answers 200.
    pub async fn start(&self) -> Server {
        self.start_with(&[]).await
    }

    /// Starts `tessera serve` with extra variables for this process only.
    pub async fn start_with(&self, extra: &[(&str, &str)]) -> Server {
        let mut last_log = String::new();
        // The port is found free, then bound by the server; another process may take it in
        // between, so a failure to listen is retried on a fresh port.
        for _attempt in 0..5 {
            let port = free_port();
            let mut env = self.env.clone();
            env.insert("TESSERA_LISTEN".into(), format!("127.0.0.1:{port}"));
            env.insert(
                "TESSERA_PUBLIC_URL".into(),
                format!("http://{}:{port}", self.public_host),
            );
            for (k, v) in extra {
                env.insert((*k).into(), (*v).into());
            }
            let mut server = Server::spawn(self, env, port);
            match server.wait_ready().await {
                Ok(()) => return server,
                Err(log) if log.contains("cannot listen") => last_log = log,
                Err(log) => panic!("the server did not become ready. Its log:\n{log}"),
            }
        }
        panic!("the server could not listen on any free port. Last log:\n{last_log}")
    }

    /// Runs `tessera serve` with extra variables and expects it to exit by itself (for refused
    /// configurations); returns its exit status and log.
    pub async fn serve_expecting_exit(&self, extra: &[(&str, &str)]) -> (ExitStatus, String) {
        let port = free_port();
        let mut env = self.env.clone();
        env.insert("TESSERA_LISTEN".into(), format!("127.0.0.1:{port}"));
        for (k, v) in extra {
            env.insert((*k).into(), (*v).into());
        }
        let mut server = Server::spawn(self, env, port);
        let status = server.wait_exit(Duration::from_secs(30)).await;
        (status, server.log())
    }

    /// Runs a CLI command with this deployment's configuration (no public URL of a running server).
    pub async fn cli(&self, args: &[&str]) -> CliOutput {
        run_cli(self.dir(), &self.env, args, None).await
    }

    fn next_log_name(&self) -> usize {
        self.starts.fetch_add(1, Ordering::SeqCst)
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("an ephemeral port can be bound on loopback");
    l.local_addr()
        .expect("a bound listener has an address")
        .port()
}

/// A running `tessera serve`, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    /// `http://127.0.0.1:<port>`: where the tests connect.
    pub base: String,
    /// `TESSERA_PUBLIC_URL` of this process.
    pub public_url: String,
    env: BTreeMap<String, String>,
    dir: PathBuf,
    log_path: PathBuf,
    stdout_path: PathBuf,
    exited: Option<ExitStatus>,
}

impl Server {
    fn spawn(dep: &Deployment, env: BTreeMap<String, String>, port: u16) -> Server {
        let n = dep.next_log_name();
        let log_path = dep.dir().join(format!("server-{n}.stderr.log"));
        let stdout_path = dep.dir().join(format!("server-{n}.stdout.log"));
        let stderr = File::create(&log_path).expect("the log file can be created");
        let stdout = File::create(&stdout_path).expect("the stdout file can be created");
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .current_dir(dep.dir())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        clean_env(&mut cmd, &env);
        let child = cmd.spawn().expect("the tessera binary starts");
        Server {
            child,
            port,
            base: format!("http://127.0.0.1:{port}"),
            public_url: env
                .get("TESSERA_PUBLIC_URL")
                .cloned()
                .unwrap_or_else(|| "http://localhost:8080".into()),
            env,
            dir: dep.dir().to_path_buf(),
            log_path,
            stdout_path,
            exited: None,
        }
    }

    /// Waits until the process logs that it serves and `/readyz` answers 200; on failure returns
    /// the log.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("an HTTP client can be built");
        let url = self.url("/readyz");
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("the child can be polled") {
                self.exited = Some(status);
                return Err(format!("(exited with {status})\n{}", self.log()));
            }
            // The start message proves that this process (not another one that took the port in
            // the meantime) holds the port; /readyz then proves its database is reachable.
            if self.log().contains("Tessera is serving")
                && let Ok(r) = http.get(&url).send().await
                && r.status() == 200
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "(not ready after {READY_TIMEOUT:?})\n{}",
                    self.log()
                ));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the process wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Everything the process wrote to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    /// Sends SIGTERM (what `docker stop`, systemd and Kubernetes send).
    pub fn terminate(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid fits in pid_t");
        // SAFETY: kill(2) with a pid this test spawned and still owns (not yet reaped).
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "SIGTERM could not be sent to the server");
    }

    /// Waits (polling) until the process exits, at most `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(s) = self.exited {
            return s;
        }
        let child = &mut self.child;
        let status = poll_until("the server process to exit", timeout, || {
            let s = child.try_wait().expect("the child can be polled");
            async move { s }
        })
        .await;
        self.exited = Some(status);
        status
    }

    /// Stops the server as an orchestrator would (SIGTERM) and expects a clean exit.
    pub async fn stop(&mut self) {
        self.terminate();
        let status = self.wait_exit(Duration::from_secs(30)).await;
        assert!(
            status.success(),
            "the server exits cleanly on SIGTERM, not with {status}. Log:\n{}",
            self.log()
        );
    }

    /// Runs a CLI command with this server's configuration (same database, same public URL).
    pub async fn cli(&self, args: &[&str]) -> CliOutput {
        let mut env = self.env.clone();
        env.remove("TESSERA_LISTEN");
        run_cli(&self.dir, &env, args, None).await
    }

    /// Like [`Server::cli`], with `stdin` written to the command's standard input.
    pub async fn cli_stdin(&self, args: &[&str], stdin: &str) -> CliOutput {
        let mut env = self.env.clone();
        env.remove("TESSERA_LISTEN");
        run_cli(&self.dir, &env, args, Some(stdin)).await
    }

    /// `--json` appended, success expected, the JSON object returned.
    pub async fn cli_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        self.cli(&all).await.success_json()
    }

    /// A new admin API key of `tenant` (through the CLI), with the given scope.
    pub async fn api_key(&self, tenant: &str, scope: &str) -> String {
        let v = self
            .cli_json(&[
                "keys",
                "create-api-key",
                "--tenant",
                tenant,
                "--scope",
                scope,
            ])
            .await;
        v["api_key"]
            .as_str()
            .expect("create-api-key prints api_key")
            .to_string()
    }

    /// An admin API client with a write key of the `admin` tenant (reaches every tenant).
    pub async fn admin_api(&self) -> Api {
        Api::new(self, &self.api_key("admin", "write").await)
    }

    /// A fresh browser-like client (cookie jar, no automatic redirects).
    pub fn browser(&self) -> Browser {
        Browser::new(self)
    }

    /// Creates a tenant through the CLI.
    pub async fn tenant(&self, slug: &str) -> Value {
        self.cli_json(&["tenant", "create", slug, "--preset", "workforce"])
            .await
    }

    /// Creates a user with a password through the CLI; returns the user object.
    pub async fn user(&self, tenant: &str, email: &str, password: &str) -> Value {
        self.cli_json(&[
            "user",
            "create",
            "--tenant",
            tenant,
            "--email",
            email,
            "--password",
            password,
        ])
        .await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Passes the test's environment minus every `TESSERA_*` variable, then the deployment's own.
fn clean_env(cmd: &mut Command, env: &BTreeMap<String, String>) {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TESSERA_") {
            cmd.env_remove(&k);
        }
    }
    // Logs in a file are read by tests; keep them free of colour codes.
    cmd.env("NO_COLOR", "1");
    cmd.envs(env);
}

/// What a CLI command did.
#[derive(Debug)]
pub struct CliOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub args: Vec<String>,
}

impl CliOutput {
    /// The whole stdout as exactly one JSON object on one line.
    pub fn json(&self) -> Value {
        let v: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`tessera {}` printed something other than one JSON value ({e}):\n{}\nstderr:\n{}",
                self.args.join(" "),
                self.stdout,
                self.stderr
            )
        });
        assert!(
            v.is_object(),
            "`tessera {}` printed JSON that is not an object: {v}",
            self.args.join(" ")
        );
        assert_eq!(
            self.stdout.trim_end().lines().count(),
            1,
            "`tessera {}` printed more than one line on stdout:\n{}",
            self.args.join(" "),
            self.stdout
        );
        v
    }

    /// Success and the JSON object.
    pub fn success_json(&self) -> Value {
        assert!(
            self.status.success(),
            "`tessera {}` failed with {}:\nstdout: {}\nstderr: {}",
            self.args.join(" "),
            self.status,
            self.stdout,
            self.stderr
        );
        self.json()
    }

    /// Failure with the JSON error object `{"error": code, "message": …}`; returns the message.
    pub fn error_json(&self, code: &str) -> String {
        assert!(
            !self.status.success(),
            "`tessera {}` succeeded but should have failed:\n{}",
            self.args.join(" "),
            self.stdout
        );
        let v = self.json();
        assert_eq!(
            v["error"],
            code,
            "`tessera {}` error code; stdout: {}",
            self.args.join(" "),
            self.stdout
        );
        let message = v["message"]
            .as_str()
            .expect("the error object has a message")
            .to_string();
        assert!(!message.is_empty(), "the error message is empty");
        let keys: Vec<&String> = v
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(
            keys.len(),
            2,
            "error object has exactly error and message: {v}"
        );
        message
    }
}

async fn run_cli(
    dir: &Path,
    env: &BTreeMap<String, String>,
    args: &[&str],
    stdin: Option<&str>,
) -> CliOutput {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    clean_env(&mut cmd, env);
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true);
    let mut child = cmd.spawn().expect("the tessera binary starts");
    if let Some(input) = stdin {
        use tokio::io::AsyncWriteExt;
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input.as_bytes())
            .await
            .expect("stdin can be written");
        drop(pipe);
    }
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`tessera {}` did not finish within 60 s", args.join(" ")))
        .expect("the CLI's output can be collected");
    CliOutput {
        status: out.status,
        stdout: String::from_utf8(out.stdout).expect("CLI stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        args: args.iter().map(|s| s.to_string()).collect(),
    }
}
