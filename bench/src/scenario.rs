//! The load scenarios: what each one seeds through the CLI, the one request it repeats, and the
//! baseline its rate is compared with.

use anyhow::{Context, Result, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hyper::HeaderMap;
use hyper::header::{AUTHORIZATION, COOKIE, SET_COOKIE, USER_AGENT};
use serde_json::Value;
use tessera_crypto::jws::decode_unverified;
use url::form_urlencoded;

use std::sync::Arc;
use std::time::Duration;

use crate::authz;
use crate::flow::{Browser, WebClient};
use crate::load::{self, Conversation, Expect, RequestTemplate};
use crate::refresh::RefreshConversation;
use crate::server::{Deployment, Server};

/// The tenant every scenario works in.
pub const TENANT: &str = "bench";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scenario {
    /// GET /healthz: the HTTP stack alone (router, middleware, JSON), no database.
    Healthz,
    /// GET /t/bench/.well-known/openid-configuration.
    Discovery,
    /// GET /t/bench/jwks.
    Jwks,
    /// POST /t/bench/token, grant_type=client_credentials, client_secret_basic.
    ClientCredentials,
    /// POST /t/bench/introspect of an ES256 JWT access token.
    Introspection,
    /// POST /t/bench/token, grant_type=refresh_token with rotation: each worker spends its own
    /// refresh token and keeps the new one.
    Refresh,
    /// GET /t/bench/userinfo with the access token of an authorization-code flow.
    Userinfo,
    /// POST /t/bench/login (the hosted sign-in form) with the right password.
    PasswordSignin,
    /// Whole authorization-code flows: authorize, the sign-in form, the code, its exchange.
    CodeFlow,
    /// The sign-in form offered five times its capacity, open loop, over up to 256 connections.
    LoginStorm,
    /// POST /api/v1/tenants/bench/authz/check on a large data set (see src/authz.rs). Not part
    /// of `all`: its setup imports 100,000 users by default.
    AuthzCheck,
}

/// What a scenario's rate is divided by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaselineKind {
    /// The scenario is itself the HTTP baseline.
    None,
    /// The `healthz` rate of the same run.
    Healthz,
    /// ES256 JWT signatures per second, all cores, in-process.
    Es256Sign,
    /// ES256 JWT verifications per second, all cores, in-process.
    Es256Verify,
    /// Token pairs signed per second, all cores, in-process: one ES256 access token and one
    /// RS256 ID token, the signatures of a refresh whose scope holds `openid`.
    TokenPairSign,
    /// argon2id verifications per second (default parameters), all cores, in-process.
    Argon2Verify,
    /// The password sign-in rate (closed loop) of this run: `password-signin`'s when it ran,
    /// otherwise a short measurement on the storm's own server.
    SigninCapacity,
}

/// What a scenario's workers send.
pub enum Workload {
    /// The same request from every worker, again and again.
    Repeat(RequestTemplate),
    /// Refresh-token rotation: every worker needs a refresh token of its own.
    Refresh(RefreshSeed),
    /// The sign-in storm: this sign-in request, sent open loop.
    Storm(RequestTemplate),
    /// Whole authorization-code flows, one per iteration.
    Flows(FlowSeed),
}

/// What every flow of the `code-flow` scenario starts from: the web client, and the device
/// cookie of the person's browser (each flow is a new browser session on a known device, as for
/// `password-signin`).
#[derive(Clone)]
pub struct FlowSeed {
    addr: std::net::SocketAddr,
    client: Arc<WebClient>,
    device: Arc<str>,
}

impl FlowSeed {
    /// One flow in a browser without a session: authorize, sign in, code, token exchange.
    pub async fn one_flow(&self) -> Result<()> {
        let tokens = Browser::with_cookie(self.addr, &self.device)
            .code_flow(&self.client, "openid", SIGNIN_EMAIL, SIGNIN_PASSWORD)
            .await?;
        ensure!(
            tokens["id_token"].is_string(),
            "the code exchange issued no ID token: {tokens}"
        );
        Ok(())
    }
}

/// What makes refresh tokens for the `refresh` workers: a signed-in browser and the web client.
pub struct RefreshSeed {
    browser: Browser,
    client: WebClient,
}

impl RefreshSeed {
    /// `n` conversations, each with a refresh token from its own authorization-code flow (a new
    /// token family each; the browser's session spares a sign-in per flow).
    pub async fn conversations(&mut self, n: usize) -> Result<Vec<RefreshConversation>> {
        let template = RequestTemplate::post_form(&format!("/t/{TENANT}/token"), String::new())
            .header(
                AUTHORIZATION,
                &basic_auth(&self.client.id, &self.client.secret),
            )?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let tokens = self
                .browser
                .code_flow(&self.client, REFRESH_SCOPE, SIGNIN_EMAIL, SIGNIN_PASSWORD)
                .await?;
            let token = tokens["refresh_token"].as_str().with_context(|| {
                format!(
                    "the code exchange issued no refresh token for scope {REFRESH_SCOPE}: {tokens}"
                )
            })?;
            out.push(RefreshConversation::new(
                template.clone(),
                token.to_string(),
            ));
        }
        Ok(out)
    }
}

/// The scope of the `refresh` scenario's flows: `offline_access` makes the refresh token
/// independent of the browser session (the server binds other refresh tokens to it).
const REFRESH_SCOPE: &str = "openid offline_access";

impl Scenario {
    /// In the order they run: healthz first, because discovery and jwks are compared with it.
    pub const ALL: [Scenario; 10] = [
        Scenario::Healthz,
        Scenario::Discovery,
        Scenario::Jwks,
        Scenario::ClientCredentials,
        Scenario::Introspection,
        Scenario::Refresh,
        Scenario::Userinfo,
        Scenario::PasswordSignin,
        Scenario::CodeFlow,
        Scenario::LoginStorm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Healthz => "healthz",
            Scenario::Discovery => "discovery",
            Scenario::Jwks => "jwks",
            Scenario::ClientCredentials => "client-credentials",
            Scenario::Introspection => "introspection",
            Scenario::Refresh => "refresh",
            Scenario::Userinfo => "userinfo",
            Scenario::PasswordSignin => "password-signin",
            Scenario::CodeFlow => "code-flow",
            Scenario::LoginStorm => "login-storm",
            Scenario::AuthzCheck => "authz-check",
        }
    }

    pub fn baseline(self) -> BaselineKind {
        match self {
            Scenario::Healthz => BaselineKind::None,
            Scenario::Discovery | Scenario::Jwks | Scenario::AuthzCheck => BaselineKind::Healthz,
            Scenario::Refresh => BaselineKind::TokenPairSign,
            Scenario::ClientCredentials => BaselineKind::Es256Sign,
            Scenario::Introspection | Scenario::Userinfo => BaselineKind::Es256Verify,
            Scenario::PasswordSignin | Scenario::CodeFlow => BaselineKind::Argon2Verify,
            Scenario::LoginStorm => BaselineKind::SigninCapacity,
        }
    }

    /// Seeds what the scenario needs and returns what its workers send. `run_for` (warm-up plus
    /// measured time of every level) must fit in the lifetime of a token fetched beforehand.
    pub async fn prepare(
        self,
        deployment: &Deployment,
        server: &Server,
        sizes: authz::Sizes,
        run_for: Duration,
    ) -> Result<Workload> {
        let issuer_path = format!("/t/{TENANT}");
        if self != Scenario::Healthz {
            deployment
                .cli_json(&["tenant", "create", TENANT, "--preset", "customer"])
                .await?;
        }
        let template = match self {
            Scenario::Healthz => RequestTemplate::get("/healthz"),
            Scenario::Discovery => {
                RequestTemplate::get(&format!("{issuer_path}/.well-known/openid-configuration"))
            }
            Scenario::Jwks => RequestTemplate::get(&format!("{issuer_path}/jwks")),
            Scenario::ClientCredentials => {
                let client = MachineClient::create(deployment).await?;
                client.token_request()?
            }
            Scenario::Introspection => {
                let client = MachineClient::create(deployment).await?;
                let token = client.access_token(server).await?;
                let form = form_urlencoded::Serializer::new(String::new())
                    .append_pair("token", &token)
                    .finish();
                RequestTemplate::post_form(&format!("{issuer_path}/introspect"), form)
                    .header(AUTHORIZATION, &client.basic_auth())?
            }
            Scenario::PasswordSignin => signin_request(deployment, server).await?,
            Scenario::LoginStorm => {
                return Ok(Workload::Storm(signin_request(deployment, server).await?));
            }
            Scenario::CodeFlow => {
                let (mut browser, client) = web_client(deployment, server).await?;
                browser
                    .code_flow(&client, "openid", SIGNIN_EMAIL, SIGNIN_PASSWORD)
                    .await?;
                let device = browser
                    .cookie("tessera_device_id")
                    .context("the first sign-in set no tessera_device_id cookie")?;
                let seed = FlowSeed {
                    addr: server.addr(),
                    client: Arc::new(client),
                    device: device.into(),
                };
                // One whole flow before the clock starts, as the workers will run it.
                seed.one_flow()
                    .await
                    .context("code-flow: the first flow from a new browser session failed")?;
                return Ok(Workload::Flows(seed));
            }
            Scenario::Userinfo => {
                let (mut browser, client) = web_client(deployment, server).await?;
                let tokens = browser
                    .code_flow(
                        &client,
                        "openid profile email",
                        SIGNIN_EMAIL,
                        SIGNIN_PASSWORD,
                    )
                    .await?;
                let token = tokens["access_token"].as_str().with_context(|| {
                    format!("the code exchange issued no access token: {tokens}")
                })?;
                let lifetime = tokens["expires_in"].as_u64().unwrap_or(0);
                ensure!(
                    run_for.as_secs() + 5 < lifetime,
                    "userinfo: the access token lives {lifetime} s, less than the run ({} s of warm-up and measurement); shorten --duration",
                    run_for.as_secs()
                );
                RequestTemplate::get(&format!("{issuer_path}/userinfo"))
                    .header(AUTHORIZATION, &format!("Bearer {token}"))?
            }
            Scenario::Refresh => {
                let (browser, client) = web_client(deployment, server).await?;
                let mut seed = RefreshSeed { browser, client };
                // One grant before the clock starts, as for the other scenarios: a setup whose
                // refresh fails is broken, not a result.
                let mut first = seed.conversations(1).await?;
                let mut c = first.pop().context("no refresh conversation was made")?;
                let answer = load::once(server.addr(), c.next_request()).await?;
                c.answered(&answer).map_err(|e| {
                    anyhow::anyhow!("refresh: the first refresh-token grant failed: {e}")
                })?;
                return Ok(Workload::Refresh(seed));
            }
            Scenario::AuthzCheck => authz::prepare(deployment, server, sizes).await?,
        };
        // One request before the clock starts: a scenario whose request fails is a broken
        // setup, not a benchmark result. It also makes what is created on first use (the
        // tenant's signing keys), so the warm-up and the measurement see the steady state.
        let answer = load::once(server.addr(), &template).await?;
        ensure!(
            template.expect.accepts(answer.status),
            "{}: the first {} {} answered {}: {}",
            self.name(),
            template.method,
            template.path,
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        if self == Scenario::Introspection {
            let v: Value =
                serde_json::from_slice(&answer.body).context("introspection is not JSON")?;
            ensure!(
                v["active"] == true,
                "the fresh token introspects as inactive: {v}"
            );
        }
        Ok(Workload::Repeat(template))
    }
}

/// The account of the sign-in and code-flow scenarios, and a first-party web application
/// (`authorization_code` and `refresh_token`, `client_secret_basic`, consent skipped as for the
/// operator's own application), with a browser signed in to nothing yet.
async fn web_client(deployment: &Deployment, server: &Server) -> Result<(Browser, WebClient)> {
    create_signin_user(deployment).await?;
    let v = deployment
        .cli_json(&[
            "client",
            "create",
            "--tenant",
            TENANT,
            "--name",
            "web",
            "--redirect-uri",
            WEB_REDIRECT_URI,
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            "--first-party",
        ])
        .await?;
    let client = WebClient {
        id: created_field(&v, "client_id")?,
        secret: created_field(&v, "client_secret")?,
        redirect_uri: WEB_REDIRECT_URI.to_string(),
    };
    Ok((Browser::new(server.addr()), client))
}

/// A string field of what `tessera client create --json` printed.
fn created_field(v: &Value, name: &str) -> Result<String> {
    v[name]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("`tessera client create` printed no {name}: {v}"))
}

/// Never contacted: the flow stops at the redirect and reads the code from it.
const WEB_REDIRECT_URI: &str = "http://127.0.0.1:9/cb";

/// The `svc` client of the `bench` tenant: client_credentials, scope `api:read`.
struct MachineClient {
    id: String,
    secret: String,
}

impl MachineClient {
    async fn create(deployment: &Deployment) -> Result<MachineClient> {
        let v = deployment
            .cli_json(&[
                "client",
                "create",
                "--tenant",
                TENANT,
                "--name",
                "svc",
                "--grant-type",
                "client_credentials",
                "--scope",
                "api:read",
            ])
            .await?;
        Ok(MachineClient {
            id: created_field(&v, "client_id")?,
            secret: created_field(&v, "client_secret")?,
        })
    }

    fn basic_auth(&self) -> String {
        basic_auth(&self.id, &self.secret)
    }

    fn token_request(&self) -> Result<RequestTemplate> {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("scope", "api:read")
            .finish();
        RequestTemplate::post_form(&format!("/t/{TENANT}/token"), form)
            .header(AUTHORIZATION, &self.basic_auth())
    }

    /// One access token, checked to be the ES256 JWT the introspection scenario is about.
    async fn access_token(&self, server: &Server) -> Result<String> {
        let answer = load::once(server.addr(), &self.token_request()?).await?;
        let status = answer.status;
        let v: Value = serde_json::from_slice(&answer.body)
            .with_context(|| format!("the token endpoint answered {status} without JSON"))?;
        let Some(token) = v["access_token"].as_str() else {
            bail!("the token endpoint answered {status} without an access token: {v}");
        };
        let jwt = decode_unverified(token).context("the access token is not a JWT")?;
        ensure!(
            jwt.header["alg"] == "ES256",
            "the access token is signed with {}, not ES256",
            jwt.header["alg"]
        );
        Ok(token.to_string())
    }
}

/// `client_secret_basic`: both parts form-encoded, then Base64 (RFC 6749 §2.3.1).
pub fn basic_auth(id: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", enc(id), enc(secret));
    format!("Basic {}", STANDARD.encode(pair))
}

/// The account the sign-in scenario signs in to.
const SIGNIN_EMAIL: &str = "user@bench.example";
pub const SIGNIN_PASSWORD: &str = "correct horse battery staple, bench";

/// Creates the account and returns its sign-in post (see [`signin_post`]).
async fn signin_request(deployment: &Deployment, server: &Server) -> Result<RequestTemplate> {
    create_signin_user(deployment).await?;
    signin_post(server, SIGNIN_EMAIL).await
}

/// Fetches the sign-in page once for its CSRF cookie and form token, and returns the form post
/// of `email` with the bench password. The same cookie and token serve every post (a signed
/// double-submit token is valid as long as the cookie is), and a post without a session cookie
/// starts a new session each time, as a storm of separate browsers would.
pub async fn signin_post(server: &Server, email: &str) -> Result<RequestTemplate> {
    let login = format!("/t/{TENANT}/login");
    let page = load::once(server.addr(), &RequestTemplate::get(&login)).await?;
    ensure!(
        page.status.is_success(),
        "GET {login} answered {}",
        page.status
    );
    let cookie = cookie_pair(&page.headers, "tessera_csrf")
        .with_context(|| format!("GET {login} set no tessera_csrf cookie"))?;
    let html = String::from_utf8_lossy(&page.body);
    let token = hidden_input(&html, "csrf_token")
        .with_context(|| format!("the page of GET {login} has no csrf_token field"))?;
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("email", email)
        .append_pair("password", SIGNIN_PASSWORD)
        .append_pair("csrf_token", &token)
        .finish();
    // One person in one browser, as the risk engine sees people: a browser user agent, and the
    // device cookie the first sign-in sets (without them every sign-in is a script on a new
    // device, which the engine rightly challenges).
    let first = RequestTemplate::post_form(&login, form.clone())
        .header(COOKIE, &cookie)?
        .header(USER_AGENT, BROWSER_USER_AGENT)?;
    let answer = load::once(server.addr(), &first).await?;
    ensure!(
        answer.status.as_u16() == 303,
        "the first sign-in of {email} answered {}: {}",
        answer.status,
        String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)])
    );
    let device = cookie_pair(&answer.headers, "tessera_device_id")
        .context("the first sign-in set no tessera_device_id cookie")?;
    Ok(RequestTemplate::post_form(&login, form)
        .header(COOKIE, &format!("{cookie}; {device}"))?
        .header(USER_AGENT, BROWSER_USER_AGENT)?
        .expecting(Expect::SeeOther))
}

async fn create_signin_user(deployment: &Deployment) -> Result<()> {
    deployment
        .cli_json(&[
            "user",
            "create",
            "--tenant",
            TENANT,
            "--email",
            SIGNIN_EMAIL,
            "--password",
            SIGNIN_PASSWORD,
        ])
        .await?;
    Ok(())
}

/// The user agent of the sign-in scenario's requests.
pub const BROWSER_USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// `name=value` of the `Set-Cookie` header that sets `name`, ready for a `Cookie` header.
fn cookie_pair(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::trim)
        .find(|pair| pair.split_once('=').is_some_and(|(n, _)| n == name))
        .map(str::to_string)
}

/// The `value` of `<input … name="NAME" value="…">` in a page Tessera rendered (attributes in
/// that order, double quotes, as its templates write them).
pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_but_healthz_has_a_baseline_that_runs_before_it() {
        for s in Scenario::ALL {
            match s.baseline() {
                BaselineKind::None => assert_eq!(s, Scenario::Healthz),
                // healthz is first in ALL, so its rate is known when discovery and jwks run.
                BaselineKind::Healthz => assert!(Scenario::Healthz < s),
                BaselineKind::Es256Sign
                | BaselineKind::Es256Verify
                | BaselineKind::TokenPairSign
                | BaselineKind::Argon2Verify => {}
                // Measured by the storm itself, or taken from password-signin, which runs first.
                BaselineKind::SigninCapacity => assert!(Scenario::PasswordSignin < s),
            }
        }
        assert!(Scenario::ALL.is_sorted());
    }

    #[test]
    fn finds_the_csrf_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, "other=1; Path=/".parse().unwrap());
        h.append(
            SET_COOKIE,
            "tessera_csrf=abc-DEF_123; Path=/t/bench; HttpOnly; SameSite=Strict"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            cookie_pair(&h, "tessera_csrf").as_deref(),
            Some("tessera_csrf=abc-DEF_123")
        );
        assert_eq!(cookie_pair(&h, "tessera"), None);
    }

    #[test]
    fn reads_a_hidden_input() {
        let html = r#"<form method="post">
  <input type="hidden" name="csrf_token" value="tok_EN-1">
  <input type="hidden" name="return_to" value="">"#;
        assert_eq!(
            hidden_input(html, "csrf_token").as_deref(),
            Some("tok_EN-1")
        );
        assert_eq!(hidden_input(html, "return_to").as_deref(), Some(""));
        assert_eq!(hidden_input(html, "email"), None);
    }

    #[test]
    fn basic_auth_encodes_both_parts_before_base64() {
        let c = MachineClient {
            id: "tc_1".into(),
            secret: "a:b+c".into(),
        };
        // "tc_1:a%3Ab%2Bc"
        assert_eq!(
            c.basic_auth(),
            format!("Basic {}", STANDARD.encode("tc_1:a%3Ab%2Bc"))
        );
    }
}
