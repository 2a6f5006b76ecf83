//! The server under test: a [`Deployment`] (temporary data directory, SQLite file or throwaway
//! PostgreSQL database) from which the release `tessera` binary is started as a [`Server`] and
//! seeded through its CLI, exactly as an operator would.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::load::{self, RequestTemplate};
use crate::postgres::ThrowawayDatabase;

/// Migrations on a fresh database and two busy cores: generous, but bounded.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a deployment keeps its data.
#[derive(Clone, Debug)]
pub enum Database {
    /// `tessera.db` in the temporary data directory (the product's default).
    Sqlite,
    /// A throwaway database per scenario on the PostgreSQL server of this admin URL.
    Postgres { admin_url: String },
}

impl Database {
    pub fn name(&self) -> &'static str {
        match self {
            Database::Sqlite => "sqlite",
            Database::Postgres { .. } => "postgres",
        }
    }
}

/// One installation of Tessera, used by one scenario.
pub struct Deployment {
    bin: PathBuf,
    dir: TempDir,
    env: Vec<(String, String)>,
    postgres: Option<ThrowawayDatabase>,
}

impl Deployment {
    pub async fn create(bin: &Path, database: &Database) -> Result<Deployment> {
        let dir = tempfile::Builder::new()
            .prefix("tessera-bench-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        let mut env = vec![(
            "TESSERA_DATA_DIR".to_string(),
            dir.path().join("data").display().to_string(),
        )];
        let postgres = match database {
            Database::Sqlite => None,
            Database::Postgres { admin_url } => {
                let db = ThrowawayDatabase::create(admin_url).await?;
                env.push(("TESSERA_DATABASE_URL".into(), db.url.clone()));
                Some(db)
            }
        };
        Ok(Deployment {
            bin: bin.to_path_buf(),
            dir,
            env,
            postgres,
        })
    }

    /// A `tessera` command with this deployment's configuration and nothing inherited from a
    /// `TESSERA_*` variable of the caller's environment.
    fn command(&self, extra_env: &[(String, String)]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TESSERA_") {
                cmd.env_remove(&key);
            }
        }
        cmd.env("NO_COLOR", "1");
        if let Ok(level) = std::env::var("BENCH_SERVER_LOG_LEVEL") {
            cmd.env("TESSERA_LOG_LEVEL", level);
        }
        cmd.envs(self.env.iter().chain(extra_env).map(|(k, v)| (k, v)));
        cmd.kill_on_drop(true);
        cmd
    }

    /// Starts `tessera serve` on a free loopback port and waits for `/readyz`.
    pub async fn start(&self) -> Result<Server> {
        let mut last_log = String::new();
        // A port found free may be taken before the server binds it: retry on a fresh one.
        for attempt in 0..5 {
            let port = free_port()?;
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let log_path = self.dir.path().join(format!("server-{attempt}.log"));
            let log = std::fs::File::create(&log_path).context("cannot create the server log")?;
            let mut cmd = self.command(&[
                ("TESSERA_LISTEN".into(), addr.to_string()),
                ("TESSERA_PUBLIC_URL".into(), format!("http://{addr}")),
            ]);
            cmd.arg("serve")
                .stdout(log.try_clone().context("cannot share the log file")?)
                .stderr(log);
            let child = cmd
                .spawn()
                .with_context(|| format!("cannot start {} serve", self.bin.display()))?;
            let mut server = Server {
                pid: child.id().context("the server exited at once")?,
                child,
                addr,
                log_path,
            };
            match server.wait_ready().await {
                Ok(()) => return Ok(server),
                Err(log) if log.contains("cannot listen") || log.contains("in use") => {
                    last_log = log
                }
                Err(log) => bail!("the server did not become ready. Its log:\n{log}"),
            }
        }
        bail!("the server could not listen on any free port. Its last log:\n{last_log}")
    }

    /// Runs `tessera <args> --json` against this deployment's database and returns the one
    /// JSON object it prints.
    pub async fn cli_json(&self, args: &[&str]) -> Result<Value> {
        self.cli_json_within(args, CLI_TIMEOUT).await
    }

    /// [`Deployment::cli_json`] with another time limit (a bulk import takes longer).
    pub async fn cli_json_within(&self, args: &[&str], limit: Duration) -> Result<Value> {
        let what = format!("tessera {} --json", args.join(" "));
        let mut cmd = self.command(&[]);
        cmd.args(args)
            .arg("--json")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = tokio::time::timeout(limit, cmd.output())
            .await
            .with_context(|| format!("`{what}` did not finish within {limit:?}"))?
            .with_context(|| format!("cannot run `{what}`"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "`{what}` failed ({}):\n{stdout}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        serde_json::from_str(&stdout)
            .with_context(|| format!("`{what}` printed something other than JSON: {stdout}"))
    }

    /// The deployment's temporary directory (the server's working directory).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Removes the throwaway PostgreSQL database (the data directory goes when dropped).
    pub async fn destroy(self) -> Result<()> {
        if let Some(db) = self.postgres {
            let name = db.name().to_string();
            db.drop_database()
                .await
                .with_context(|| format!("drop it by hand: DROP DATABASE \"{name}\""))?;
        }
        Ok(())
    }
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(l.local_addr()?.port())
}

/// A running `tessera serve`, killed if dropped before [`Server::stop`].
pub struct Server {
    child: Child,
    pid: u32,
    addr: SocketAddr,
    log_path: PathBuf,
}

impl Server {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Waits until `/readyz` answers 200; on failure returns the server's log.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let readyz = RequestTemplate::get("/readyz");
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("(exited with {status})\n{}", self.log()));
            }
            if let Ok(answer) = load::once(self.addr, &readyz).await
                && answer.status.is_success()
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

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// SIGTERM, as an orchestrator stops it, then waits for a clean exit.
    pub async fn stop(mut self) -> Result<()> {
        let pid = libc::pid_t::try_from(self.pid).context("the pid does not fit in pid_t")?;
        // SAFETY: kill(2) on the pid of a child this process spawned and has not reaped yet
        // (`self.child` is only waited on below), so the pid cannot have been reused.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            bail!("cannot send SIGTERM to the server (pid {pid})");
        }
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => bail!(
                "the server exited with {status} after SIGTERM. Its log:\n{}",
                self.log()
            ),
            Ok(Err(e)) => bail!("cannot wait for the server: {e}"),
            Err(_) => {
                let _ = self.child.kill().await;
                bail!("the server did not stop within {STOP_TIMEOUT:?} of SIGTERM; killed it")
            }
        }
    }
}
