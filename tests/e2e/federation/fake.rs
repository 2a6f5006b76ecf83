//! Local fakes of upstream providers' documented endpoints, served from the test process over
//! real HTTP (a few lines of HTTP/1.1 on a tokio listener): OpenID Connect discovery, JWKS,
//! authorization (answering at once, as if the person had signed in and agreed), the token
//! endpoint (checking the client's authentication as the provider documents it, the code, the
//! redirect URI and PKCE), user-info, GitHub's `/user` and `/user/emails`, Facebook's Graph
//! `me`. Tests choose the person's claims and can make the provider sign bad ID tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tessera_crypto::{SigningAlg, SigningKey, VerifyingKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Which provider's endpoints and rules the fake follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A standard OpenID Provider (and Google): discovery at the issuer.
    Oidc,
    /// Entra ID's multi-tenant endpoints: `/common/v2.0/…`, issuer per directory (`tid`).
    Microsoft,
    /// Sign in with Apple: explicit endpoints, `form_post`, an ES256 JWT as client secret.
    Apple,
    /// GitHub: OAuth 2.0, `/user`, `/user/emails`.
    GitHub,
    /// Facebook: OAuth 2.0, Graph API `/me?fields=…`.
    Facebook,
}

pub type Tamper = Box<dyn Fn(&mut Value) + Send>;

struct Pending {
    nonce: Option<String>,
    challenge: Option<String>,
    redirect_uri: String,
}

struct Inner {
    kind: Kind,
    key: SigningKey,
    client_id: String,
    client_secret: String,
    /// Apple: the team key's public half, to check the client secret JWT.
    apple_key: Option<VerifyingKey>,
    codes: HashMap<String, Pending>,
    tokens: Vec<String>,
    /// The person: ID token claims (OpenID Connect) or the `/user` / `/me` answer.
    person: Value,
    /// GitHub's `/user/emails`.
    emails: Value,
    tamper: Option<Tamper>,
    /// Sign ID tokens with a key the JWKS does not publish.
    forge: bool,
    /// Microsoft: the directory of the person.
    tid: String,
    requests: Vec<String>,
    /// Refresh tokens still valid (each is used once: rotation).
    refresh_tokens: Vec<String>,
    /// `expires_in` of the access tokens it issues.
    expires_in: i64,
}

pub struct Fake {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn pkce(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ))
}

fn parse_query(q: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{q}"))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

struct Request {
    method: String,
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
    form: HashMap<String, String>,
}

struct Answer {
    status: u16,
    content_type: &'static str,
    location: Option<String>,
    body: String,
}

fn json_answer(status: u16, v: Value) -> Answer {
    Answer {
        status,
        content_type: "application/json",
        location: None,
        body: v.to_string(),
    }
}

impl Fake {
    pub async fn start(kind: Kind, client_id: &str, client_secret: &str, person: Value) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let inner = Arc::new(Mutex::new(Inner {
            kind,
            key: SigningKey::generate(SigningAlg::RS256).unwrap(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            apple_key: None,
            codes: HashMap::new(),
            tokens: Vec::new(),
            person,
            emails: json!([]),
            tamper: None,
            forge: false,
            tid: "9b2a7c43-0000-4000-8000-00000000c0de".into(),
            requests: Vec::new(),
            refresh_tokens: Vec::new(),
            expires_in: 3600,
        }));
        let shared = inner.clone();
        let b = base.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let inner = shared.clone();
                let base = b.clone();
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut sock).await else {
                        return;
                    };
                    let answer = {
                        let mut i = inner.lock().unwrap();
                        i.requests.push(format!("{} {}", req.method, req.path));
                        i.answer(&base, &req)
                    };
                    let mut head = format!(
                        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                        answer.status,
                        answer.content_type,
                        answer.body.len()
                    );
                    if let Some(l) = &answer.location {
                        head.push_str(&format!("Location: {l}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(answer.body.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Fake { base, inner, task }
    }

    /// The issuer ID tokens name (Microsoft: the person's directory).
    pub fn issuer(&self) -> String {
        let i = self.inner.lock().unwrap();
        i.issuer(&self.base)
    }

    pub fn tid(&self) -> String {
        self.inner.lock().unwrap().tid.clone()
    }

    pub fn set_emails(&self, emails: Value) {
        self.inner.lock().unwrap().emails = emails;
    }

    pub fn set_apple_key(&self, key: VerifyingKey) {
        self.inner.lock().unwrap().apple_key = Some(key);
    }

    pub fn tamper(&self, t: Option<Tamper>) {
        self.inner.lock().unwrap().tamper = t;
    }

    pub fn forge(&self, on: bool) {
        self.inner.lock().unwrap().forge = on;
    }

    /// A new signing key (the old one leaves the JWKS).
    pub fn rotate(&self) {
        self.inner.lock().unwrap().key = SigningKey::generate(SigningAlg::ES256).unwrap();
    }

    pub fn requests(&self) -> Vec<String> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// The lifetime (`expires_in`) of the access tokens issued from now on.
    pub fn set_expires_in(&self, secs: i64) {
        self.inner.lock().unwrap().expires_in = secs;
    }

    /// Every refresh token issued so far stops working (the person revoked the app upstream).
    pub fn revoke_refresh_tokens(&self) {
        self.inner.lock().unwrap().refresh_tokens.clear();
    }

    /// Whether `token` is an access token this provider issued.
    pub fn issued(&self, token: &str) -> bool {
        self.inner.lock().unwrap().tokens.iter().any(|t| t == token)
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), parse_query(q)),
        None => (target.clone(), HashMap::new()),
    };
    let form = if method == "POST" {
        parse_query(&String::from_utf8_lossy(&body))
    } else {
        HashMap::new()
    };
    Some(Request {
        method,
        path,
        query,
        headers,
        form,
    })
}

impl Inner {
    fn issuer(&self, base: &str) -> String {
        match self.kind {
            Kind::Microsoft => format!("{base}/{}/v2.0", self.tid),
            _ => base.to_string(),
        }
    }

    fn answer(&mut self, base: &str, req: &Request) -> Answer {
        let path = req.path.as_str();
        match (req.method.as_str(), path) {
            ("GET", "/.well-known/openid-configuration") if self.kind == Kind::Oidc => json_answer(
                200,
                json!({
                    "issuer": base,
                    "authorization_endpoint": format!("{base}/authorize"),
                    "token_endpoint": format!("{base}/token"),
                    "userinfo_endpoint": format!("{base}/userinfo"),
                    "jwks_uri": format!("{base}/jwks"),
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                }),
            ),
            // Entra ID's multi-tenant document names the issuer with a placeholder.
            ("GET", "/common/v2.0/.well-known/openid-configuration")
                if self.kind == Kind::Microsoft =>
            {
                json_answer(
                    200,
                    json!({
                        "issuer": format!("{base}/{{tenantid}}/v2.0"),
                        "authorization_endpoint": format!("{base}/common/oauth2/v2.0/authorize"),
                        "token_endpoint": format!("{base}/common/oauth2/v2.0/token"),
                        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
                        "jwks_uri": format!("{base}/common/discovery/v2.0/keys"),
                    }),
                )
            }
            ("GET", "/jwks" | "/common/discovery/v2.0/keys" | "/auth/keys") => {
                json_answer(200, json!({"keys": [self.key.public_jwk()]}))
            }
            (
                "GET",
                "/authorize"
                | "/common/oauth2/v2.0/authorize"
                | "/auth/authorize"
                | "/login/oauth/authorize"
                | "/v19.0/dialog/oauth",
            ) => self.authorize(req),
            (
                "POST",
                "/token"
                | "/common/oauth2/v2.0/token"
                | "/auth/token"
                | "/login/oauth/access_token"
                | "/v19.0/oauth/access_token",
            ) => self.token(base, req),
            ("GET", "/userinfo" | "/user" | "/v19.0/me") => {
                if !self.bearer_ok(req) {
                    return json_answer(401, json!({"error": "invalid_token"}));
                }
                if path == "/v19.0/me" {
                    // Graph returns only the fields asked for.
                    let fields = req.query.get("fields").cloned().unwrap_or_default();
                    let mut out = serde_json::Map::new();
                    for f in fields.split(',') {
                        if let Some(v) = self.person.get(f) {
                            out.insert(f.to_string(), v.clone());
                        }
                    }
                    return json_answer(200, Value::Object(out));
                }
                json_answer(200, self.person.clone())
            }
            ("GET", "/user/emails") => {
                if !self.bearer_ok(req) {
                    return json_answer(401, json!({"message": "Requires authentication"}));
                }
                json_answer(200, self.emails.clone())
            }
            _ => json_answer(404, json!({"error": "not_found"})),
        }
    }

    fn bearer_ok(&self, req: &Request) -> bool {
        let auth = req
            .headers
            .get("authorization")
            .cloned()
            .unwrap_or_default();
        auth.strip_prefix("Bearer ")
            .is_some_and(|t| self.tokens.iter().any(|k| k == t))
    }

    fn authorize(&mut self, req: &Request) -> Answer {
        let q = &req.query;
        if q.get("client_id") != Some(&self.client_id)
            || q.get("response_type").map(String::as_str) != Some("code")
        {
            return json_answer(400, json!({"error": "invalid_request"}));
        }
        let code = tessera_crypto::random_token(16);
        let redirect_uri = q.get("redirect_uri").cloned().unwrap_or_default();
        self.codes.insert(
            code.clone(),
            Pending {
                nonce: q.get("nonce").cloned(),
                challenge: q.get("code_challenge").cloned(),
                redirect_uri: redirect_uri.clone(),
            },
        );
        let state = q.get("state").cloned().unwrap_or_default();
        if q.get("response_mode").map(String::as_str) == Some("form_post") {
            // The page that auto-posts to the redirect URI: the test posts this form body.
            let mut form = reqwest::Url::parse("http://x/").unwrap();
            form.query_pairs_mut()
                .append_pair("code", &code)
                .append_pair("state", &state)
                .append_pair(
                    "user",
                    r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"ignored@example.com"}"#,
                );
            return Answer {
                status: 200,
                content_type: "application/x-www-form-urlencoded",
                location: None,
                body: form.query().unwrap().to_string(),
            };
        }
        let mut to = reqwest::Url::parse(&redirect_uri).unwrap();
        to.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &state);
        Answer {
            status: 302,
            content_type: "text/plain",
            location: Some(to.to_string()),
            body: String::new(),
        }
    }

    fn client_ok(&self, base: &str, req: &Request) -> bool {
        let f = &req.form;
        match self.kind {
            Kind::Apple => {
                let Some(key) = &self.apple_key else {
                    return false;
                };
                let Some(secret) = f.get("client_secret") else {
                    return false;
                };
                match tessera_crypto::verify_jwt(secret, std::slice::from_ref(key), &["ES256"]) {
                    Ok(v) => {
                        v.claims["iss"] == "TEAMID1234"
                            && v.header["kid"] == "KEYID5678"
                            && v.claims["sub"] == self.client_id.as_str()
                            && v.claims["aud"] == base
                            && v.claims["exp"].as_i64().is_some_and(|e| e > now())
                            && f.get("client_id") == Some(&self.client_id)
                    }
                    Err(_) => false,
                }
            }
            _ => {
                let posted = f.get("client_id") == Some(&self.client_id)
                    && f.get("client_secret") == Some(&self.client_secret);
                let basic = req.headers.get("authorization").is_some_and(|a| {
                    a == &format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD
                            .encode(format!("{}:{}", self.client_id, self.client_secret))
                    )
                });
                posted || basic
            }
        }
    }

    fn token(&mut self, base: &str, req: &Request) -> Answer {
        if !self.client_ok(base, req) {
            return json_answer(401, json!({"error": "invalid_client"}));
        }
        let f = &req.form;
        if f.get("grant_type").map(String::as_str) == Some("refresh_token") {
            let presented = f.get("refresh_token").cloned().unwrap_or_default();
            let Some(i) = self.refresh_tokens.iter().position(|t| *t == presented) else {
                return json_answer(400, json!({"error": "invalid_grant"}));
            };
            self.refresh_tokens.remove(i);
            let access = format!("at-{}", tessera_crypto::random_token(12));
            let refresh = format!("rt-{}", tessera_crypto::random_token(12));
            self.tokens.push(access.clone());
            self.refresh_tokens.push(refresh.clone());
            return json_answer(
                200,
                json!({"access_token": access, "token_type": "Bearer", "expires_in": self.expires_in,
                       "refresh_token": refresh, "scope": "openid email profile"}),
            );
        }
        let Some(p) = f.get("code").and_then(|c| self.codes.remove(c)) else {
            return json_answer(400, json!({"error": "invalid_grant"}));
        };
        if f.get("redirect_uri") != Some(&p.redirect_uri) {
            return json_answer(
                400,
                json!({"error": "invalid_grant", "error_description": "redirect_uri"}),
            );
        }
        if let Some(ch) = &p.challenge
            && pkce(f.get("code_verifier").map(String::as_str).unwrap_or("")) != *ch
        {
            return json_answer(
                400,
                json!({"error": "invalid_grant", "error_description": "PKCE"}),
            );
        }
        let access = format!("at-{}", tessera_crypto::random_token(12));
        let refresh = format!("rt-{}", tessera_crypto::random_token(12));
        self.tokens.push(access.clone());
        self.refresh_tokens.push(refresh.clone());
        let mut body = json!({"access_token": access, "token_type": "Bearer",
                              "expires_in": self.expires_in, "refresh_token": refresh});
        if matches!(self.kind, Kind::Oidc | Kind::Microsoft | Kind::Apple) {
            let mut claims = self.person.clone();
            claims["iss"] = json!(self.issuer(base));
            claims["aud"] = json!(self.client_id);
            claims["iat"] = json!(now());
            claims["exp"] = json!(now() + 300);
            if self.kind == Kind::Microsoft {
                claims["tid"] = json!(self.tid);
            }
            if let Some(n) = &p.nonce {
                claims["nonce"] = json!(n);
            }
            if let Some(t) = &self.tamper {
                t(&mut claims);
            }
            let token = if self.forge {
                SigningKey::generate(SigningAlg::RS256)
                    .unwrap()
                    .sign_jwt("JWT", &claims)
                    .unwrap()
            } else {
                self.key.sign_jwt("JWT", &claims).unwrap()
            };
            body["id_token"] = json!(token);
        }
        json_answer(200, body)
    }
}
