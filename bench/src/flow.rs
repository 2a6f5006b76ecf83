//! A person's authorization-code flow over HTTP, as a browser walks it: the authorization request
//! with PKCE (S256), the sign-in form with its CSRF cookie and token, the redirects back to the
//! application's `redirect_uri`, and the code exchanged at the token endpoint. The `refresh` and
//! `userinfo` scenarios get their tokens this way before the clock starts.

use std::net::SocketAddr;

use anyhow::{Context, Result, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper::HeaderMap;
use hyper::header::{AUTHORIZATION, COOKIE, LOCATION, SET_COOKIE, USER_AGENT};
use serde_json::Value;
use tessera_crypto::{random_token, sha256};
use url::form_urlencoded;

use crate::load::{self, Answer, Connection, REQUEST_TIMEOUT, RequestTemplate, host_header};
use crate::scenario::{BROWSER_USER_AGENT, TENANT, hidden_input};

/// The most redirects one authorization request may take before it reaches the application.
const MAX_HOPS: usize = 8;

/// Cookies by name, as one browser keeps them for one site. Paths and domains are not tracked:
/// every cookie the flow meets is set for the tenant's pages on the one loopback origin.
#[derive(Clone, Debug, Default)]
pub struct Jar {
    cookies: Vec<(String, String)>,
}

impl Jar {
    /// Takes the `Set-Cookie` headers of an answer; `Max-Age=0` or an empty value removes.
    pub fn store(&mut self, headers: &HeaderMap) {
        for header in headers.get_all(SET_COOKIE).iter() {
            let Ok(text) = header.to_str() else { continue };
            let mut parts = text.split(';').map(str::trim);
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let expired = parts.any(|a| a.eq_ignore_ascii_case("max-age=0"));
            self.cookies.retain(|(n, _)| n != name);
            if !expired && !value.is_empty() {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
    }

    /// The `Cookie` header to send, if any cookie is kept.
    pub fn header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

/// A PKCE pair (RFC 7636): a random verifier and its S256 challenge.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Pkce {
        Pkce::from_verifier(random_token(32))
    }

    fn from_verifier(verifier: String) -> Pkce {
        let challenge = URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()));
        Pkce {
            verifier,
            challenge,
        }
    }
}

/// The path and query of a `Location` on this server (absolute URLs of its own origin are cut to
/// their path), or the whole URL when it points elsewhere.
pub fn local_target(location: &str, addr: SocketAddr) -> String {
    let origin = format!("http://{addr}");
    match location.strip_prefix(&origin) {
        Some(rest) if rest.starts_with('/') => rest.to_string(),
        Some("") => "/".to_string(),
        _ => location.to_string(),
    }
}

/// The value of query parameter `name` in a URL or path.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A confidential web application registered with `authorization_code` and `refresh_token`.
pub struct WebClient {
    pub id: String,
    pub secret: String,
    pub redirect_uri: String,
}

/// One browser: its cookies and a browser user agent (the risk engine judges a script on a new
/// device more harshly, see the `password-signin` scenario).
pub struct Browser {
    addr: SocketAddr,
    jar: Jar,
    /// One keep-alive connection for the browser's requests, as a browser keeps one per origin.
    conn: Option<Connection>,
}

impl Browser {
    pub fn new(addr: SocketAddr) -> Browser {
        Browser {
            addr,
            jar: Jar::default(),
            conn: None,
        }
    }

    /// A new browser that already holds one cookie (`name=value`), e.g. the device cookie of
    /// the person's usual browser.
    pub fn with_cookie(addr: SocketAddr, pair: &str) -> Browser {
        let mut b = Browser::new(addr);
        if let Some((n, v)) = pair.split_once('=') {
            b.jar.cookies.push((n.to_string(), v.to_string()));
        }
        b
    }

    /// `name=value` of a cookie the browser holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar
            .cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(n, v)| format!("{n}={v}"))
    }

    async fn send(&mut self, mut t: RequestTemplate) -> Result<Answer> {
        t = t.header(USER_AGENT, BROWSER_USER_AGENT)?;
        if let Some(c) = self.jar.header() {
            t = t.header(COOKIE, &c)?;
        }
        let mut conn = match self.conn.take() {
            Some(c) if !c.is_closed() => c,
            _ => Connection::open(self.addr).await?,
        };
        let req = t.build(&host_header(self.addr)?)?;
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, conn.send(req))
            .await
            .with_context(|| format!("{} {} timed out", t.method, t.path))??;
        self.conn = Some(conn);
        self.jar.store(&answer.headers);
        Ok(answer)
    }

    /// Runs the authorization request for `scope` until the server redirects to the client's
    /// `redirect_uri`, signing in on the way when the browser has no session yet, and exchanges
    /// the code. Returns the token endpoint's JSON answer.
    pub async fn code_flow(
        &mut self,
        client: &WebClient,
        scope: &str,
        email: &str,
        password: &str,
    ) -> Result<Value> {
        let pkce = Pkce::new();
        let state = random_token(12);
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &client.id)
            .append_pair("redirect_uri", &client.redirect_uri)
            .append_pair("scope", scope)
            .append_pair("state", &state)
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        let mut next = format!("/t/{TENANT}/authorize?{query}");
        let mut answer = self.send(RequestTemplate::get(&next)).await?;
        let mut signed_in = false;
        let code = 'hops: {
            for _ in 0..MAX_HOPS {
                if answer.status.is_redirection() {
                    let to = location(&answer, &next)?;
                    if to.starts_with(&client.redirect_uri) {
                        break 'hops code_of(&to, &state)?;
                    }
                    next = local_target(&to, self.addr);
                    answer = self.send(RequestTemplate::get(&next)).await?;
                    continue;
                }
                ensure!(
                    answer.status.is_success() && next.starts_with(&format!("/t/{TENANT}/login")),
                    "GET {next} answered {} during the authorization flow",
                    answer.describe()
                );
                ensure!(
                    !signed_in,
                    "the sign-in page came back after a successful sign-in (GET {next})"
                );
                // The sign-in answers with where the browser goes next: for a sign-in that
                // completes, the authorization request's own answer (the redirect with the code).
                answer = self.sign_in(&answer, &next, email, password).await?;
                next = format!("/t/{TENANT}/login");
                signed_in = true;
            }
            bail!(
                "the authorization request did not reach the redirect_uri within {MAX_HOPS} redirects (last: {next})"
            );
        };
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", &code)
            .append_pair("redirect_uri", &client.redirect_uri)
            .append_pair("code_verifier", &pkce.verifier)
            .finish();
        let exchange = RequestTemplate::post_form(&format!("/t/{TENANT}/token"), form).header(
            AUTHORIZATION,
            &crate::scenario::basic_auth(&client.id, &client.secret),
        )?;
        let answer = load::once(self.addr, &exchange).await?;
        ensure!(
            answer.status.is_success(),
            "the code exchange at /t/{TENANT}/token answered {}",
            answer.describe()
        );
        serde_json::from_slice(&answer.body).context("the code exchange answered without JSON")
    }

    /// Posts the sign-in form of `page` (fetched from `path`) and returns the answer, a redirect.
    async fn sign_in(
        &mut self,
        page: &Answer,
        path: &str,
        email: &str,
        password: &str,
    ) -> Result<Answer> {
        let html = String::from_utf8_lossy(&page.body);
        let token = hidden_input(&html, "csrf_token")
            .with_context(|| format!("the page of GET {path} has no csrf_token field"))?;
        // The return address travels in the query of the sign-in page's URL; taking it from
        // there avoids reading it back out of HTML (where it is escaped).
        let return_to = query_param(path, "return_to").unwrap_or_default();
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("email", email)
            .append_pair("password", password)
            .append_pair("csrf_token", &token)
            .append_pair("return_to", &return_to)
            .finish();
        let login = format!("/t/{TENANT}/login");
        let answer = self.send(RequestTemplate::post_form(&login, form)).await?;
        ensure!(
            answer.status.is_redirection(),
            "the sign-in of the authorization flow answered {} (a challenge or a refusal: the flow needs a plain password sign-in)",
            answer.describe()
        );
        Ok(answer)
    }
}

fn location(answer: &Answer, from: &str) -> Result<String> {
    answer
        .headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .with_context(|| format!("{from} answered {} without a Location", answer.status))
}

/// The `code` of the redirect to the application, after checking `state` and the absence of an
/// `error`.
fn code_of(redirect: &str, state: &str) -> Result<String> {
    if let Some(error) = query_param(redirect, "error") {
        bail!(
            "the authorization request ended in error {error}: {}",
            query_param(redirect, "error_description").unwrap_or_default()
        );
    }
    ensure!(
        query_param(redirect, "state").as_deref() == Some(state),
        "the redirect to the application carries another state: {redirect}"
    );
    query_param(redirect, "code").with_context(|| format!("no code in the redirect {redirect}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jar_keeps_replaces_and_removes_cookies() {
        let mut jar = Jar::default();
        assert_eq!(jar.header(), None);
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            "tessera_csrf=a1; Path=/t/bench; HttpOnly".parse().unwrap(),
        );
        h.append(
            SET_COOKIE,
            "tessera_device_id=d; Max-Age=31536000".parse().unwrap(),
        );
        jar.store(&h);
        assert_eq!(
            jar.header().as_deref(),
            Some("tessera_csrf=a1; tessera_device_id=d")
        );
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            "tessera_csrf=b2; Path=/t/bench".parse().unwrap(),
        );
        h.append(
            SET_COOKIE,
            "tessera_session=s=x; Path=/t/bench; Secure"
                .parse()
                .unwrap(),
        );
        jar.store(&h);
        assert_eq!(
            jar.header().as_deref(),
            Some("tessera_device_id=d; tessera_csrf=b2; tessera_session=s=x")
        );
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            "tessera_session=; Path=/t/bench; Max-Age=0"
                .parse()
                .unwrap(),
        );
        h.append(
            SET_COOKIE,
            "tessera_device_id=gone; max-age=0".parse().unwrap(),
        );
        jar.store(&h);
        assert_eq!(jar.header().as_deref(), Some("tessera_csrf=b2"));
    }

    #[test]
    fn pkce_challenge_is_the_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        let p = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        assert_eq!(p.challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let fresh = Pkce::new();
        assert!(
            (43..=128).contains(&fresh.verifier.len()),
            "{}",
            fresh.verifier
        );
    }

    #[test]
    fn locations_on_this_server_become_paths() {
        let addr: SocketAddr = "127.0.0.1:4242".parse().unwrap();
        assert_eq!(
            local_target("/t/bench/login?x=1", addr),
            "/t/bench/login?x=1"
        );
        assert_eq!(
            local_target(
                "http://127.0.0.1:4242/t/bench/authorize/continue?req=a",
                addr
            ),
            "/t/bench/authorize/continue?req=a"
        );
        assert_eq!(local_target("http://127.0.0.1:4242", addr), "/");
        assert_eq!(
            local_target("http://127.0.0.1:9/cb?code=c", addr),
            "http://127.0.0.1:9/cb?code=c"
        );
        // Another port is another origin.
        assert_eq!(
            local_target("http://127.0.0.1:42421/x", addr),
            "http://127.0.0.1:42421/x"
        );
    }

    #[test]
    fn reads_the_code_and_checks_state_and_errors() {
        let to = "http://127.0.0.1:9/cb?code=c%2B1&state=st";
        assert_eq!(code_of(to, "st").unwrap(), "c+1");
        assert!(code_of(to, "other").is_err());
        let e = code_of(
            "http://127.0.0.1:9/cb?error=access_denied&error_description=no+way&state=st",
            "st",
        )
        .unwrap_err();
        assert!(e.to_string().contains("access_denied: no way"), "{e}");
        assert_eq!(
            query_param(
                "/t/bench/login?return_to=%2Ft%2Fbench%2Fauthorize%2Fcontinue%3Freq%3Dab",
                "return_to"
            )
            .as_deref(),
            Some("/t/bench/authorize/continue?req=ab")
        );
        assert_eq!(query_param("/x", "a"), None);
    }
}
