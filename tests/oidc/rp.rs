//! The relying party's side of every scenario: a tenant as an OpenID Provider with one user,
//! registered clients, authorization requests with PKCE, a browser driven through `/authorize`,
//! the hosted sign-in page and the consent page, and calls to the back-channel endpoints.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Url;
use serde_json::{Value, json};

use crate::browser::{Browser, read};
use crate::harness::{Api, Deployment, Resp, Server, hidden_input};
use crate::jose::{Jwt, Pkce, half_hash, random, verified};

pub const PASSWORD: &str = "oidc-password-1";
/// Where the test applications receive their answers. Nothing listens there: the tests read the
/// redirects instead of following them.
pub const CALLBACK: &str = "http://localhost:9/callback";
pub const LOGGED_OUT: &str = "http://localhost:9/logged-out";

const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One tenant of a running server, seen as an OpenID Provider, with one user who can sign in.
pub struct Op {
    pub slug: String,
    /// `{public_url}/t/{slug}`.
    pub issuer: String,
    /// `/t/{slug}`: the issuer's path, for the browser.
    pub path: String,
    pub email: String,
    pub user_id: String,
    base: String,
    http: reqwest::Client,
}

/// A registered client, with its secret when it has one.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
}

impl Op {
    /// Creates the tenant (workforce preset) and its user `{slug}-user@{slug}.test`.
    pub async fn new(server: &Server, api: &Api, slug: &str) -> Op {
        api.create_tenant(slug, "workforce").await;
        let email = format!("user@{slug}.test");
        let user = api.create_user(slug, &email, Some(PASSWORD)).await;
        Op::existing(
            server,
            slug,
            &email,
            user["id"].as_str().expect("the user has an id"),
        )
    }

    /// A provider for a tenant and user that already exist (after a restart, for instance).
    pub fn existing(server: &Server, slug: &str, email: &str, user_id: &str) -> Op {
        Op {
            slug: slug.to_string(),
            issuer: format!("{}/t/{slug}", server.public_url),
            path: format!("/t/{slug}"),
            email: email.to_string(),
            user_id: user_id.to_string(),
            base: server.base.clone(),
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(REQUEST_TIMEOUT)
                .build()
                .expect("an HTTP client can be built"),
        }
    }

    /// The same tenant on another server process of the same deployment.
    pub fn on(&self, server: &Server) -> Op {
        Op::existing(server, &self.slug, &self.email, &self.user_id)
    }

    /// `{issuer}{path}` as the tests reach it.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}{path}", self.base, self.path)
    }

    /// Registers a client through the admin API. `body` is completed with a name and, unless it
    /// says otherwise, the callback as redirect URI, `first_party: true` and the logged-out page.
    pub async fn client(&self, api: &Api, body: Value) -> Client {
        let mut b = json!({
            "name": "Test application",
            "redirect_uris": [CALLBACK],
            "post_logout_redirect_uris": [LOGGED_OUT],
            "first_party": true,
        });
        for (k, v) in body.as_object().expect("a JSON object") {
            b[k] = v.clone();
        }
        let created = api
            .post(&format!("/tenants/{}/clients", self.slug), &b)
            .await
            .expect(201);
        Client {
            id: created["client_id"]
                .as_str()
                .expect("client_id")
                .to_string(),
            secret: created["client_secret"].as_str().map(str::to_string),
            redirect_uri: created["redirect_uris"][0]
                .as_str()
                .unwrap_or("")
                .to_string(),
        }
    }

    /// A confidential first-party web application (code + refresh).
    pub async fn web_client(&self, api: &Api) -> Client {
        self.client(api, json!({})).await
    }

    /// A machine client allowed `scopes` with client credentials.
    pub async fn machine_client(&self, api: &Api, scopes: &[&str]) -> Client {
        self.client(
            api,
            json!({"grant_types": ["client_credentials"], "allowed_scopes": scopes, "redirect_uris": []}),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Resp {
        let url = self.url(path);
        let what = format!("GET {}{path}", self.path);
        let r = self.http.get(&url).send().await;
        read(what, r).await
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        let v = r.expect(200);
        assert!(
            r.header("content-type")
                .unwrap_or_default()
                .starts_with("application/json"),
            "{}: JSON content type",
            r.what
        );
        v
    }

    pub async fn discovery(&self) -> Value {
        self.get_json("/.well-known/openid-configuration").await
    }

    pub async fn jwks(&self) -> Value {
        self.get_json("/jwks").await
    }

    /// POSTs a form to `path`, authenticating with HTTP Basic as `basic` when given.
    pub async fn post_form(
        &self,
        path: &str,
        basic: Option<&Client>,
        form: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.http.post(self.url(path)).form(form);
        if let Some(c) = basic {
            req = req.basic_auth(&c.id, c.secret.as_deref());
        }
        let r = req.send().await;
        read(format!("POST {}{path}", self.path), r).await
    }

    /// POSTs a raw form body (for malformed requests).
    pub async fn post_raw(&self, path: &str, basic: Option<&Client>, body: &str) -> Resp {
        let mut req = self
            .http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string());
        if let Some(c) = basic {
            req = req.basic_auth(&c.id, c.secret.as_deref());
        }
        let r = req.send().await;
        read(format!("POST {}{path} (raw)", self.path), r).await
    }

    /// POSTs a form with a bearer token in the `Authorization` header as well.
    pub async fn post_form_bearer(&self, path: &str, token: &str, form: &[(&str, &str)]) -> Resp {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .form(form)
            .send()
            .await;
        read(format!("POST {}{path} (bearer and form)", self.path), r).await
    }

    /// The token endpoint, the client authenticating as its registration says (Basic with a
    /// secret, `client_id` in the form without one).
    pub async fn token(&self, client: &Client, form: &[(&str, &str)]) -> Resp {
        if client.secret.is_some() {
            self.post_form("/token", Some(client), form).await
        } else {
            let mut all = form.to_vec();
            all.push(("client_id", &client.id));
            self.post_form("/token", None, &all).await
        }
    }

    /// A successful token response (RFC 6749 §5.1, with its caching headers).
    pub async fn token_ok(&self, client: &Client, form: &[(&str, &str)]) -> Value {
        let r = self.token(client, form).await;
        token_success(&r)
    }

    pub async fn introspect(&self, client: &Client, token: &str) -> Value {
        let r = self
            .post_form("/introspect", Some(client), &[("token", token)])
            .await;
        let v = r.expect(200);
        assert_eq!(
            r.header("cache-control").as_deref(),
            Some("no-store"),
            "{}",
            r.what
        );
        v
    }

    /// Asserts the token is inactive at introspection: `{"active": false}` and nothing else
    /// (RFC 7662 §2.2 lets an inactive answer say nothing more).
    pub async fn assert_inactive(&self, client: &Client, token: &str, what: &str) {
        let v = self.introspect(client, token).await;
        assert_eq!(
            v,
            json!({"active": false}),
            "{what} is inactive at introspection"
        );
    }

    pub async fn revoke(&self, client: &Client, token: &str) {
        let r = self
            .post_form("/revoke", Some(client), &[("token", token)])
            .await;
        assert_eq!(r.status, 200, "{}: {}", r.what, r.text());
    }

    pub async fn userinfo_get(&self, token: &str) -> Resp {
        let r = self
            .http
            .get(self.url("/userinfo"))
            .bearer_auth(token)
            .send()
            .await;
        read(format!("GET {}/userinfo", self.path), r).await
    }

    pub async fn userinfo_post_header(&self, token: &str) -> Resp {
        let r = self
            .http
            .post(self.url("/userinfo"))
            .bearer_auth(token)
            .send()
            .await;
        read(format!("POST {}/userinfo (header)", self.path), r).await
    }

    /// RFC 6750 §2.2: the token in the form body.
    pub async fn userinfo_post_form(&self, token: &str) -> Resp {
        let r = self
            .http
            .post(self.url("/userinfo"))
            .form(&[("access_token", token)])
            .send()
            .await;
        read(format!("POST {}/userinfo (form)", self.path), r).await
    }

    /// Asserts that userinfo accepts `token` and answers about this provider's user.
    pub async fn assert_userinfo_ok(&self, token: &str, what: &str) -> Value {
        let r = self.userinfo_get(token).await;
        assert_eq!(
            r.status,
            200,
            "{what}: userinfo answers 200; body {}",
            r.text()
        );
        assert_eq!(
            r.header("cache-control").as_deref(),
            Some("no-store"),
            "{what}"
        );
        let v = r.json();
        assert_eq!(v["sub"], self.user_id.as_str(), "{what}: {v}");
        v
    }

    /// Asserts `r` sends the browser to this tenant's sign-in page, carrying the request.
    #[track_caller]
    pub fn assert_sign_in_asked(&self, r: &Resp) -> String {
        let login = r.expect_see_other();
        assert!(
            login.starts_with(&format!("{}/login?return_to=", self.path)),
            "{}: the browser is sent to sign in, not to {login}",
            r.what
        );
        login
    }

    /// Asserts that userinfo refuses `token` as RFC 6750 §3.1 says: 401, `invalid_token` in the
    /// body and in the `WWW-Authenticate` challenge.
    pub async fn assert_userinfo_rejects(&self, token: &str, what: &str) {
        let r = self.userinfo_get(token).await;
        assert_eq!(
            r.status,
            401,
            "{what}: userinfo answers 401; body {}",
            r.text()
        );
        let v = r.json();
        assert_eq!(v["error"], "invalid_token", "{what}: {v}");
        assert!(
            v["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{v}"
        );
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
            "{what}: WWW-Authenticate is {challenge:?}"
        );
    }

    /// The code flow from the first request to the tokens, signing in with the password when the
    /// browser has no session. The client must not need consent.
    pub async fn sign_in_and_get_tokens(
        &self,
        browser: &Browser,
        client: &Client,
        scope: &str,
    ) -> (AuthRequest, Value) {
        let req = AuthRequest::new(client, scope);
        let code = self.code(browser, &req).await;
        let tokens = self.exchange(client, &req, &code).await;
        (req, tokens)
    }

    /// Runs the authorization request in `browser` (signing in if needed) and returns the code.
    pub async fn code(&self, browser: &Browser, req: &AuthRequest) -> String {
        let mut r = self.authorize(browser, req).await;
        if r.status == 303 {
            let login = r.expect_see_other();
            r = self.sign_in_at(browser, &login, PASSWORD).await;
        }
        let params = self.redirect_params(&r, req);
        params
            .get("code")
            .unwrap_or_else(|| panic!("no code in the answer: {params:?}"))
            .clone()
    }

    /// `GET {issuer}/authorize?…` in the browser.
    pub async fn authorize(&self, browser: &Browser, req: &AuthRequest) -> Resp {
        browser
            .get(&format!("{}/authorize?{}", self.path, req.query()))
            .await
    }

    /// Given the `Location` of a redirect to the sign-in page, opens the page, checks where it
    /// will return to and submits the form. The sign-in answers for the authorization request
    /// it was made for (the redirect to the client, the consent page, the request's error), as
    /// `/authorize/continue` would have. Returns that answer.
    pub async fn sign_in_at(&self, browser: &Browser, login: &str, password: &str) -> Resp {
        assert!(
            login.starts_with(&format!("{}/login?", self.path)),
            "the browser is sent to this tenant's sign-in page, not {login}"
        );
        let page = browser.get(login).await;
        assert_eq!(page.status, 200, "the sign-in page opens: {}", page.text());
        let html = page.text();
        let csrf = hidden_input(&html, "csrf_token").expect("the sign-in form has a CSRF token");
        let return_to = hidden_input(&html, "return_to").expect("the sign-in form has return_to");
        assert!(
            return_to.starts_with(&format!("{}/authorize/continue?req=", self.path)),
            "the sign-in form returns to the authorization request: {return_to}"
        );
        let posted = browser
            .post_form(
                &format!("{}/login", self.path),
                &[
                    ("email", &self.email),
                    ("password", password),
                    ("csrf_token", &csrf),
                    ("return_to", &return_to),
                ],
            )
            .await;
        assert!(
            posted.status != 303 || posted.header("location").as_deref() != Some(&return_to),
            "the sign-in answers for the authorization request itself, not with a redirect to it"
        );
        assert!(
            !(300..400).contains(&posted.status) || posted.status == 303,
            "a redirect after the password form is 303 (RFC 9700 §4.12), not {}",
            posted.status
        );
        posted
    }

    /// Asserts `r` is the authorization response to `req` (RFC 6749 §4.1.2, RFC 9207): a 302 to
    /// the request's redirect URI carrying its `state` and this issuer's `iss`. Returns the
    /// parameters.
    #[track_caller]
    pub fn redirect_params(&self, r: &Resp, req: &AuthRequest) -> BTreeMap<String, String> {
        // 302 from the authorization endpoint; 303 from a sign-in step that answers a form.
        let expected = if r.what.starts_with("POST") && !r.what.contains("/authorize") {
            303
        } else {
            302
        };
        assert_eq!(
            r.status,
            expected,
            "{}: expected the redirect to the client; body: {}",
            r.what,
            r.text()
        );
        assert_eq!(
            r.header("cache-control").as_deref(),
            Some("no-store"),
            "{}",
            r.what
        );
        let location = r.header("location").expect("a Location");
        let params = redirect_query(&location, &req.redirect_uri);
        assert_eq!(
            params.get("state"),
            Some(&req.state),
            "state comes back: {location}"
        );
        assert_eq!(
            params.get("iss"),
            Some(&self.issuer),
            "iss (RFC 9207): {location}"
        );
        params
    }

    /// Asserts `r` sends the error `code` back to the client, with state and iss.
    #[track_caller]
    pub fn assert_error_redirect(&self, r: &Resp, req: &AuthRequest, code: &str) {
        let params = self.redirect_params(r, req);
        assert_eq!(
            params.get("error").map(String::as_str),
            Some(code),
            "{params:?}"
        );
        assert!(
            params
                .get("error_description")
                .is_some_and(|d| !d.is_empty()),
            "an error_description: {params:?}"
        );
        assert!(
            !params.contains_key("code"),
            "no code with an error: {params:?}"
        );
    }

    /// `grant_type=authorization_code` for `code`, with the request's verifier.
    pub async fn exchange(&self, client: &Client, req: &AuthRequest, code: &str) -> Value {
        self.token_ok(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &req.redirect_uri),
                ("code_verifier", &req.pkce.verifier),
            ],
        )
        .await
    }

    /// `grant_type=authorization_code` with whatever redirect URI and verifier the test chooses.
    pub async fn redeem(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: &str,
        verifier: Option<&str>,
    ) -> Resp {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        self.token(client, &form).await
    }

    pub async fn refresh(&self, client: &Client, refresh_token: &str) -> Resp {
        self.token(
            client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// Verifies an ID token against the JWKS and checks the claims OpenID Connect Core §2 and
    /// §3.1.3.7 require of it for `req`. Returns it.
    pub async fn check_id_token(&self, client: &Client, req: &AuthRequest, tokens: &Value) -> Jwt {
        let jwks = self.jwks().await;
        let id_token = tokens["id_token"].as_str().expect("an id_token");
        let jwt = verified(id_token, &jwks);
        assert_eq!(jwt.header["typ"], "JWT", "{}", jwt.header);
        let c = &jwt.claims;
        assert_eq!(c["iss"], self.issuer.as_str(), "{c}");
        assert_eq!(c["aud"], client.id.as_str(), "{c}");
        assert_eq!(c["azp"], client.id.as_str(), "{c}");
        assert_eq!(c["sub"], self.user_id.as_str(), "{c}");
        assert_eq!(c["nonce"], req.nonce.as_str(), "{c}");
        let (iat, exp) = (int(c, "iat"), int(c, "exp"));
        assert_eq!(exp - iat, 300, "the workforce ID token lives 300 s: {c}");
        let auth_time = int(c, "auth_time");
        assert!(
            auth_time <= iat && iat - auth_time < 3600,
            "auth_time before iat: {c}"
        );
        assert_eq!(c["amr"], json!(["pwd"]), "{c}");
        assert!(
            c["sid"].as_str().is_some_and(|s| !s.is_empty()),
            "a sid: {c}"
        );
        let access = tokens["access_token"].as_str().expect("an access token");
        assert_eq!(
            c["at_hash"],
            half_hash(jwt.alg(), access).as_str(),
            "at_hash: {c}"
        );
        jwt
    }
}

/// An authorization request (RFC 6749 §4.1.1 with PKCE, state and nonce).
pub struct AuthRequest {
    params: Vec<(String, String)>,
    pub state: String,
    pub nonce: String,
    pub pkce: Pkce,
    pub redirect_uri: String,
}

impl AuthRequest {
    pub fn new(client: &Client, scope: &str) -> AuthRequest {
        let pkce = Pkce::new();
        let state = random(12);
        let nonce = random(12);
        let params = [
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("scope", scope),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        AuthRequest {
            params,
            state,
            nonce,
            pkce,
            redirect_uri: client.redirect_uri.clone(),
        }
    }

    /// Sets (or replaces) a parameter.
    pub fn with(mut self, key: &str, value: &str) -> AuthRequest {
        self.params.retain(|(k, _)| k != key);
        self.params.push((key.to_string(), value.to_string()));
        if key == "redirect_uri" {
            self.redirect_uri = value.to_string();
        }
        self
    }

    /// Removes a parameter.
    pub fn without(mut self, key: &str) -> AuthRequest {
        self.params.retain(|(k, _)| k != key);
        self
    }

    pub fn query(&self) -> String {
        let mut url = Url::parse("http://x/").expect("a URL");
        url.query_pairs_mut().extend_pairs(self.params.iter());
        url.query().unwrap_or("").to_string()
    }
}

/// The query of `location`, which must be `redirect_uri` plus a query, as a map (each name once).
#[track_caller]
pub fn redirect_query(location: &str, redirect_uri: &str) -> BTreeMap<String, String> {
    assert!(
        location.starts_with(&format!("{redirect_uri}?")),
        "the redirect goes to {redirect_uri}, not {location}"
    );
    let url = Url::parse(location).expect("the Location is an absolute URL");
    let mut map = BTreeMap::new();
    for (k, v) in url.query_pairs() {
        assert!(
            map.insert(k.to_string(), v.to_string()).is_none(),
            "{k} twice in {location}"
        );
    }
    map
}

/// Asserts an RFC 6749 §5.1 success and returns the body.
#[track_caller]
pub fn token_success(r: &Resp) -> Value {
    let v = r.expect(200);
    assert_eq!(
        r.header("cache-control").as_deref(),
        Some("no-store"),
        "{}",
        r.what
    );
    assert_eq!(
        r.header("pragma").as_deref(),
        Some("no-cache"),
        "{}",
        r.what
    );
    assert_eq!(v["token_type"], "Bearer", "{v}");
    assert!(
        v["access_token"].as_str().is_some_and(|t| !t.is_empty()),
        "{v}"
    );
    assert!(v["expires_in"].as_i64().is_some_and(|e| e > 0), "{v}");
    v
}

/// Asserts an RFC 6749 §5.2 error: the status, the code, a description, no-store, JSON.
#[track_caller]
pub fn assert_oauth_error(r: &Resp, status: u16, code: &str) -> String {
    assert_eq!(r.status, status, "{}: status; body {}", r.what, r.text());
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("application/json"),
        "{}: JSON error",
        r.what
    );
    assert_eq!(
        r.header("cache-control").as_deref(),
        Some("no-store"),
        "{}",
        r.what
    );
    let v = r.json();
    assert_eq!(v["error"], code, "{}: {v}", r.what);
    let keys: Vec<&String> = v.as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["error", "error_description"], "{}: {v}", r.what);
    let d = v["error_description"]
        .as_str()
        .expect("a description")
        .to_string();
    assert!(!d.is_empty(), "{}: empty description", r.what);
    d
}

/// Asserts `invalid_client` as RFC 6749 §5.2 wants it: 401 with a `WWW-Authenticate` challenge.
#[track_caller]
pub fn assert_invalid_client(r: &Resp) {
    assert_oauth_error(r, 401, "invalid_client");
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Basic "),
        "{}: WWW-Authenticate is {challenge:?}",
        r.what
    );
}

/// Asserts an HTML error page with `status` whose text contains `needle`, and no redirect.
#[track_caller]
pub fn assert_error_page(r: &Resp, status: u16, needle: &str) {
    assert_eq!(r.status, status, "{}: status; body {}", r.what, r.text());
    assert!(
        r.header("location").is_none(),
        "{}: an error page, not a redirect",
        r.what
    );
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("text/html"),
        "{}: an HTML page",
        r.what
    );
    let text = r.text();
    assert!(
        text.contains(needle),
        "{}: the page says {needle:?}: {text}",
        r.what
    );
}

/// An integer claim.
#[track_caller]
pub fn int(claims: &Value, name: &str) -> i64 {
    claims[name]
        .as_i64()
        .unwrap_or_else(|| panic!("{name} is an integer: {claims}"))
}

/// The current Unix time of this machine.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// Asserts the server logged no error and no panic: every refusal the tests provoke must be a
/// protocol answer, never a failure of the server (which would also be a 5xx).
#[track_caller]
pub fn assert_no_server_errors(server: &Server) {
    let log = server.log();
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" ERROR ") || l.contains("panicked"))
        .collect();
    assert!(
        bad.is_empty(),
        "the server logged errors:\n{}",
        bad.join("\n")
    );
}

/// Stops `server` (SIGTERM, as an orchestrator would) and starts another process of the same
/// deployment with `extra` variables. The new process keeps the public URL, so the issuer (and
/// with it every token issued so far) stays the same although it listens on another port.
pub async fn restart(dep: &Deployment, mut server: Server, extra: &[(&str, &str)]) -> Server {
    let public_url = server.public_url.clone();
    assert_no_server_errors(&server);
    server.stop().await;
    let mut env = vec![("TESSERA_PUBLIC_URL", public_url.as_str())];
    env.extend_from_slice(extra);
    dep.start_with(&env).await
}

/// A fresh browser of `server` (cookie jar, no redirects followed).
pub fn browser(server: &Server) -> Browser {
    Browser::new(server)
}
