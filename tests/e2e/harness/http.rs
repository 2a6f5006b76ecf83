//! HTTP clients: [`Api`] for the admin API (bearer key, JSON) and [`Browser`] for the hosted
//! pages (a cookie jar like a browser's, redirects not followed so each hop can be checked).

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, SET_COOKIE};
use serde_json::Value;

use super::process::Server;

/// Every request of the tests is bounded in time.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A response, read completely.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// `METHOD path`, for assertion messages.
    pub what: String,
}

impl Resp {
    async fn read(what: String, r: reqwest::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{what}: the body could not be read: {e}"))
            .to_vec();
        Resp {
            status,
            headers,
            body,
            what,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("header value is ASCII").to_string())
    }

    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: expected a JSON body ({e}), got {}: {}",
                self.what,
                self.status,
                self.text()
            )
        })
    }

    /// Asserts the status and returns the JSON body.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status,
            status,
            "{}: unexpected status; body: {}",
            self.what,
            self.text()
        );
        if self.body.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// Asserts an admin API error: the status, a JSON content type, and the body
    /// `{"error": code, "message": non-empty, ("field": …)}`. Returns the message.
    pub fn expect_error(&self, status: u16, code: &str) -> String {
        assert_eq!(
            self.status,
            status,
            "{}: unexpected status; body: {}",
            self.what,
            self.text()
        );
        let ct = self.header("content-type").unwrap_or_default();
        assert!(
            ct.starts_with("application/json"),
            "{}: error content type is {ct:?}",
            self.what
        );
        let v = self.json();
        assert_eq!(v["error"], code, "{}: error code in {v}", self.what);
        let message = v["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no message in {v}", self.what));
        assert!(!message.is_empty(), "{}: empty message", self.what);
        for key in v.as_object().expect("an object").keys() {
            assert!(
                ["error", "message", "field"].contains(&key.as_str()),
                "{}: unexpected key {key} in error body {v}",
                self.what
            );
        }
        message.to_string()
    }

    /// The `Location` of a redirect, asserting 303 See Other.
    pub fn expect_see_other(&self) -> String {
        assert_eq!(
            self.status,
            303,
            "{}: expected 303 See Other; body: {}",
            self.what,
            self.text()
        );
        self.header("location")
            .unwrap_or_else(|| panic!("{}: 303 without Location", self.what))
    }

    /// The `Set-Cookie` header setting `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().expect("Set-Cookie is ASCII").to_string())
            .find(|c| c.starts_with(&format!("{name}=")))
    }
}

/// An admin API client authenticated with one API key.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
}

impl Api {
    pub fn new(server: &Server, key: &str) -> Api {
        Api {
            http: client(false),
            base: server.base.clone(),
            key: Some(key.to_string()),
        }
    }

    /// The same server with another key (or none).
    pub fn with_key(&self, key: Option<&str>) -> Api {
        Api {
            http: self.http.clone(),
            base: self.base.clone(),
            key: key.map(str::to_string),
        }
    }

    /// `path` is relative to `/api/v1`.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut req = self
            .http
            .request(method.clone(), format!("{}/api/v1{path}", self.base));
        if let Some(k) = &self.key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let what = format!("{method} /api/v1{path}");
        let r = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
        Resp::read(what, r).await
    }

    /// A request with a raw body and content type (for malformed input).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut req = self
            .http
            .request(method.clone(), format!("{}/api/v1{path}", self.base))
            .body(body);
        if let Some(k) = &self.key {
            req = req.bearer_auth(k);
        }
        if let Some(ct) = content_type {
            req = req.header(CONTENT_TYPE, ct);
        }
        let what = format!("{method} /api/v1{path} (raw)");
        let r = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
        Resp::read(what, r).await
    }

    /// A request with arbitrary headers and no body.
    pub async fn get_with_headers(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.http.get(format!("{}/api/v1{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let what = format!("GET /api/v1{path} with {headers:?}");
        let r = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
        Resp::read(what, r).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }

    /// POST without a body (actions such as disable or rotate).
    pub async fn post_empty(&self, path: &str) -> Resp {
        self.send(Method::POST, path, None).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str) -> Resp {
        self.send(Method::PUT, path, None).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }

    /// Creates a tenant through the API and returns it.
    pub async fn create_tenant(&self, slug: &str, preset: &str) -> Value {
        self.post(
            "/tenants",
            &serde_json::json!({"slug": slug, "preset": preset}),
        )
        .await
        .expect(201)
    }

    /// Creates a user through the API (with a password when given) and returns it.
    pub async fn create_user(&self, tenant: &str, email: &str, password: Option<&str>) -> Value {
        let mut body = serde_json::json!({"email": email});
        if let Some(p) = password {
            body["password"] = p.into();
        }
        self.post(&format!("/tenants/{tenant}/users"), &body)
            .await
            .expect(201)
    }
}

fn client(cookies: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .cookie_store(cookies)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("an HTTP client can be built")
}

fn client_with(jar: std::sync::Arc<reqwest::cookie::Jar>, headers: HeaderMap) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .cookie_provider(jar)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("an HTTP client can be built")
}

/// A browser-like client: it keeps cookies (by domain and path, as browsers do) and does not
/// follow redirects, so each hop is visible.
/// The user agent [`Browser`] sends unless told otherwise.
pub const BROWSER_USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

#[derive(Clone)]
pub struct Browser {
    http: reqwest::Client,
    base: String,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
}

impl Browser {
    pub fn new(server: &Server) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        // Like a person's browser, it names itself (the risk engine treats clients without a
        // user agent as scripts).
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::USER_AGENT,
            reqwest::header::HeaderValue::from_static(BROWSER_USER_AGENT),
        );
        Browser {
            http: client_with(jar.clone(), headers),
            base: server.base.clone(),
            jar,
        }
    }

    /// The same browser (same cookies) sending `headers` with every request: a user agent, or
    /// the `X-Forwarded-For` a reverse proxy in front of the server would add.
    pub fn with_headers(&self, headers: &[(&str, &str)]) -> Browser {
        let mut map = HeaderMap::new();
        map.insert(
            reqwest::header::USER_AGENT,
            reqwest::header::HeaderValue::from_static(BROWSER_USER_AGENT),
        );
        for (k, v) in headers {
            map.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).expect("a header name"),
                v.parse().expect("a header value"),
            );
        }
        Browser {
            http: client_with(self.jar.clone(), map),
            base: self.base.clone(),
            jar: self.jar.clone(),
        }
    }

    /// The same browser (same cookie jar) talking to another server process, e.g. after a
    /// restart on a new port (cookies do not depend on the port).
    pub fn at(&self, server: &Server) -> Browser {
        Browser {
            http: self.http.clone(),
            base: server.base.clone(),
            jar: self.jar.clone(),
        }
    }

    /// A plain client without cookies (for requests with hand-made headers).
    pub fn cookieless(server: &Server) -> Browser {
        Browser {
            http: client(false),
            base: server.base.clone(),
            jar: Default::default(),
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.get_with_headers(path, &[]).await
    }

    pub async fn get_with_headers(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.http.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let what = format!("GET {path}");
        let r = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
        Resp::read(what, r).await
    }

    /// POSTs a URL-encoded form.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let what = format!("POST {path}");
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
        Resp::read(what, r).await
    }

    /// POSTs raw bytes as a form body.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Resp {
        let what = format!("POST {path} (raw)");
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
        Resp::read(what, r).await
    }

    /// Opens the sign-in page and returns its CSRF token (which also sets the CSRF cookie).
    pub async fn csrf_token(&self, slug: &str) -> String {
        let page = self.get(&format!("/t/{slug}/login")).await;
        assert_eq!(page.status, 200, "the sign-in page opens: {}", page.text());
        hidden_input(&page.text(), "csrf_token").expect("the sign-in form carries a CSRF token")
    }

    /// Fills in and submits the sign-in form as a person would; returns the POST's answer.
    pub async fn sign_in(&self, slug: &str, email: &str, password: &str) -> Resp {
        self.sign_in_returning(slug, email, password, "").await
    }

    /// Like [`Browser::sign_in`], with a `return_to` field.
    pub async fn sign_in_returning(
        &self,
        slug: &str,
        email: &str,
        password: &str,
        return_to: &str,
    ) -> Resp {
        let token = self.csrf_token(slug).await;
        self.post_form(
            &format!("/t/{slug}/login"),
            &[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
                ("return_to", return_to),
            ],
        )
        .await
    }

    /// Signs in and asserts success (303 to the account page).
    pub async fn sign_in_ok(&self, slug: &str, email: &str, password: &str) {
        let r = self.sign_in(slug, email, password).await;
        assert_eq!(
            r.expect_see_other(),
            format!("/t/{slug}/account"),
            "sign-in of {email} lands on the account page"
        );
    }

    /// The email shown on the account page, or `None` when the browser is sent to sign in.
    pub async fn account_email(&self, slug: &str) -> Option<String> {
        let r = self.get(&format!("/t/{slug}/account")).await;
        match r.status {
            200 => Some(
                element_text(&r.text(), "account-email")
                    .expect("the account page shows #account-email"),
            ),
            303 => {
                let to = r.expect_see_other();
                assert!(
                    to.starts_with(&format!("/t/{slug}/login")),
                    "a signed-out browser is sent to the sign-in page, not {to}"
                );
                None
            }
            other => panic!("/t/{slug}/account answered {other}: {}", r.text()),
        }
    }

    /// Signs out through the account page's form (POST with the CSRF token).
    pub async fn sign_out(&self, slug: &str) -> Resp {
        let page = self.get(&format!("/t/{slug}/account")).await;
        assert_eq!(page.status, 200, "signed in before signing out");
        let token = hidden_input(&page.text(), "csrf_token").expect("the sign-out form's token");
        self.post_form(&format!("/t/{slug}/logout"), &[("csrf_token", &token)])
            .await
    }
}

/// The value of `<input … name="{name}" value="…">` in a page.
pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let v = rest.find("value=\"")? + "value=\"".len();
    let end = rest[v..].find('"')?;
    Some(unescape(&rest[v..v + end]))
}

/// The text inside the element with `id="{id}"` (no nested elements expected).
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')?;
    Some(unescape(rest[start..start + end].trim()))
}

/// Undoes the HTML escaping the templates apply.
pub fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `value` with every RFC 3339 timestamp cut to whole milliseconds, the precision the store keeps
/// (a create or update answers with the time it computed, a later read with the stored one).
pub fn at_millis(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(cut_to_millis(s)),
        Value::Array(items) => Value::Array(items.iter().map(at_millis).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), at_millis(v))).collect())
        }
        other => other.clone(),
    }
}

fn cut_to_millis(s: &str) -> String {
    // 2026-01-02T03:04:05.123456789Z → 2026-01-02T03:04:05.123Z
    let b = s.as_bytes();
    let looks_like_time = s.len() > 20 && b[4] == b'-' && b[10] == b'T' && b[19] == b'.';
    if !looks_like_time || !s.ends_with('Z') {
        return s.to_string();
    }
    let frac = &s[20..s.len() - 1];
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return s.to_string();
    }
    let ms: String = frac.chars().chain(std::iter::repeat('0')).take(3).collect();
    format!("{}.{ms}Z", &s[..19])
}

/// Asserts that two API representations of one resource agree (timestamps to the millisecond).
#[track_caller]
pub fn assert_same(actual: &Value, expected: &Value, what: &str) {
    assert_eq!(at_millis(actual), at_millis(expected), "{what}");
}
