//! The peer comparison: Node `oidc-provider` (OpenID-certified, pinned in
//! `bench/peer/package-lock.json`) started on a loopback port by `bench/peer/provider.mjs`, and
//! the requests of the `client-credentials` and `introspection` scenarios sent to it in the same
//! run, so the report can set Tessera's rate beside the peer's on the same machine.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use hyper::header::AUTHORIZATION;
use serde_json::Value;
use tessera_crypto::jws::decode_unverified;
use tessera_crypto::random_token;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use url::form_urlencoded;

use crate::load::{self, RequestTemplate};
use crate::scenario::basic_auth;

/// How long node may take to print its issuer line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// `bench/peer` of the source tree this runner was built from.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peer")
}

/// A running oidc-provider, killed when dropped.
pub struct Peer {
    _child: Child,
    /// Kept open: node must not meet a closed pipe if it writes to stdout again.
    _stdout: BufReader<ChildStdout>,
    pid: u32,
    addr: SocketAddr,
    client_id: String,
    client_secret: String,
    token_path: String,
    introspection_path: String,
}

/// Checks that Node and the installed package are there (before a run spends minutes on
/// Tessera's scenarios only to find the peer missing).
pub async fn check(dir: &Path) -> Result<()> {
    let version = Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await;
    match version {
        Ok(out) if out.status.success() => {}
        _ => bail!(
            "Node.js was not found (`node --version` failed): the peer scenario runs oidc-provider on Node 20 or later. Install Node.js and npm, or leave out --scenario peer"
        ),
    }
    ensure!(
        dir.join("provider.mjs").is_file(),
        "{} has no provider.mjs; pass --peer-dir with the bench/peer folder of the source tree",
        dir.display()
    );
    ensure!(
        dir.join("node_modules/oidc-provider/package.json")
            .is_file(),
        "oidc-provider is not installed in {0}: run `npm ci` there first (cd {0} && npm ci), which installs the pinned version from package-lock.json",
        dir.display()
    );
    Ok(())
}

impl Peer {
    /// Starts `provider.mjs` (after [`check`]) and reads its discovery document.
    pub async fn start(dir: &Path) -> Result<Peer> {
        check(dir).await?;
        let client_id = "bench-svc".to_string();
        let client_secret = random_token(32);
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(dir)
            .env("BENCH_CLIENT_ID", &client_id)
            .env("BENCH_CLIENT_SECRET", &client_secret)
            .env("PORT", "0")
            .env("NODE_ENV", "production")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start node provider.mjs")?;
        let pid = child.id().context("node exited at once")?;
        let stdout = child.stdout.take().context("no stdout of node")?;
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        tokio::time::timeout(START_TIMEOUT, stdout.read_line(&mut line))
            .await
            .context("oidc-provider did not print its issuer within 30 s (run `node provider.mjs` in bench/peer by hand to see why)")?
            .context("cannot read what oidc-provider printed")?;
        let issuer = serde_json::from_str::<Value>(&line)
            .ok()
            .and_then(|v| v["issuer"].as_str().map(str::to_string))
            .with_context(|| format!("oidc-provider printed no issuer line but: {line:?} (run `node provider.mjs` in bench/peer by hand to see why)"))?;
        let addr: SocketAddr = issuer
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .with_context(|| format!("the peer's issuer is not http://127.0.0.1:PORT: {issuer}"))?;
        let discovery = load::once(
            addr,
            &RequestTemplate::get("/.well-known/openid-configuration"),
        )
        .await?;
        let doc: Value = serde_json::from_slice(&discovery.body)
            .context("the peer's discovery document is not JSON")?;
        let path_of = |name: &str| -> Result<String> {
            let url = doc[name]
                .as_str()
                .with_context(|| format!("the peer's discovery document has no {name}"))?;
            url.strip_prefix(&issuer)
                .map(str::to_string)
                .with_context(|| format!("the peer's {name} {url} is not under {issuer}"))
        };
        Ok(Peer {
            _child: child,
            _stdout: stdout,
            pid,
            addr,
            token_path: path_of("token_endpoint")?,
            introspection_path: path_of("introspection_endpoint")?,
            client_id,
            client_secret,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    fn token_request(&self, resource: Option<&str>) -> Result<RequestTemplate> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials")
            .append_pair("scope", "api:read");
        if let Some(r) = resource {
            form.append_pair("resource", r);
        }
        RequestTemplate::post_form(&self.token_path, form.finish()).header(
            AUTHORIZATION,
            &basic_auth(&self.client_id, &self.client_secret),
        )
    }

    /// The client-credentials request, checked once: an ES256 JWT access token.
    pub async fn client_credentials(&self) -> Result<RequestTemplate> {
        let t = self.token_request(None)?;
        let token = self.fetch_token(&t).await?;
        let jwt = decode_unverified(&token).context("the peer's access token is not a JWT")?;
        ensure!(
            jwt.header["alg"] == "ES256",
            "the peer's access token is signed with {}, not ES256",
            jwt.header["alg"]
        );
        Ok(t)
    }

    /// The introspection request of an opaque token (oidc-provider keeps no record of its JWT
    /// access tokens and introspects them as inactive), checked once to be active.
    pub async fn introspection(&self) -> Result<RequestTemplate> {
        let token = self
            .fetch_token(&self.token_request(Some("https://opaque.bench.example/"))?)
            .await?;
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", &token)
            .finish();
        let t = RequestTemplate::post_form(&self.introspection_path, form).header(
            AUTHORIZATION,
            &basic_auth(&self.client_id, &self.client_secret),
        )?;
        let answer = load::once(self.addr, &t).await?;
        let v: Value = serde_json::from_slice(&answer.body)
            .with_context(|| format!("the peer's introspection answered {}", answer.describe()))?;
        ensure!(
            v["active"] == true,
            "the peer introspects its fresh token as inactive: {v}"
        );
        Ok(t)
    }

    async fn fetch_token(&self, t: &RequestTemplate) -> Result<String> {
        let answer = load::once(self.addr, t).await?;
        ensure!(
            answer.status.is_success(),
            "the peer's token endpoint answered {}",
            answer.describe()
        );
        let v: Value = serde_json::from_slice(&answer.body)
            .context("the peer's token endpoint answered without JSON")?;
        v["access_token"]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("the peer's token endpoint gave no access token: {v}"))
    }
}
