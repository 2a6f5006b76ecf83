//! A software WebAuthn authenticator (ES256, "none" attestation, written here from the WebAuthn
//! and CTAP2 specifications, sharing no code with the server) and a JSON client for the WebAuthn
//! endpoints, so that the HTTP-level scenarios can make real, replayable and deliberately broken
//! responses without a browser.

use std::sync::Arc;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::cookie::{CookieStore, Jar};
use serde_json::{Value, json};

use crate::harness::{Resp, Server, hidden_input};

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text)
        .unwrap_or_else(|e| panic!("{text:?} is not base64url: {e}"))
}

// --- CBOR (RFC 8949), the few shapes WebAuthn needs ----------------------------------------

fn cbor_head(major: u8, n: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
}

fn cbor_int(v: i64, out: &mut Vec<u8>) {
    if v >= 0 {
        cbor_head(0, v as u64, out);
    } else {
        cbor_head(1, (-1 - v) as u64, out);
    }
}

fn cbor_bytes(b: &[u8], out: &mut Vec<u8>) {
    cbor_head(2, b.len() as u64, out);
    out.extend(b);
}

fn cbor_text(s: &str, out: &mut Vec<u8>) {
    cbor_head(3, s.len() as u64, out);
    out.extend(s.as_bytes());
}

/// Authenticator data flags (WebAuthn §6.1).
const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

/// One credential of the software authenticator.
pub struct SoftKey {
    key: EcdsaKeyPair,
    pub credential_id: Vec<u8>,
    /// The user handle the relying party gave at registration.
    pub user_handle: Vec<u8>,
    /// The signature counter; each assertion increments it first.
    pub counter: u32,
    rp_id: String,
    origin: String,
}

impl SoftKey {
    /// A new key for the relying party of `origin` (RP ID = its host).
    pub fn new(origin: &str) -> SoftKey {
        let url = reqwest::Url::parse(origin).expect("an origin URL");
        let rp_id = url.host_str().expect("a host").to_string();
        let rng = SystemRandom::new();
        let mut credential_id = vec![0u8; 32];
        aws_lc_rs::rand::SecureRandom::fill(&rng, &mut credential_id).expect("random bytes");
        SoftKey {
            key: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).expect("a P-256 key"),
            credential_id,
            user_handle: Vec::new(),
            counter: 0,
            rp_id,
            origin: origin.trim_end_matches('/').to_string(),
        }
    }

    pub fn credential_id_text(&self) -> String {
        b64(&self.credential_id)
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    fn rp_id_hash(&self) -> Vec<u8> {
        digest(&SHA256, self.rp_id.as_bytes()).as_ref().to_vec()
    }

    /// The COSE_Key (RFC 9053) of the public key: EC2, ES256, P-256, x, y.
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.public_key().as_ref();
        assert_eq!(point.len(), 65, "an uncompressed P-256 point");
        let mut out = Vec::new();
        cbor_head(5, 5, &mut out);
        cbor_int(1, &mut out);
        cbor_int(2, &mut out);
        cbor_int(3, &mut out);
        cbor_int(-7, &mut out);
        cbor_int(-1, &mut out);
        cbor_int(1, &mut out);
        cbor_int(-2, &mut out);
        cbor_bytes(&point[1..33], &mut out);
        cbor_int(-3, &mut out);
        cbor_bytes(&point[33..], &mut out);
        out
    }

    /// `navigator.credentials.create()` for the server's options (`{"publicKey": …}`): the
    /// credential as `static/webauthn.js` posts it.
    pub fn create(&mut self, options: &Value) -> Value {
        let pk = &options["publicKey"];
        assert_eq!(pk["rp"]["id"], self.rp_id.as_str(), "the RP ID: {pk}");
        self.user_handle = unb64(pk["user"]["id"].as_str().expect("user.id"));
        let challenge = pk["challenge"].as_str().expect("a challenge");
        let client_data = self.client_data("webauthn.create", challenge);
        let mut auth_data = self.rp_id_hash();
        auth_data.push(UP | UV | AT);
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]);
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(self.cose_key());
        let mut attestation = Vec::new();
        cbor_head(5, 3, &mut attestation);
        cbor_text("fmt", &mut attestation);
        cbor_text("none", &mut attestation);
        cbor_text("attStmt", &mut attestation);
        cbor_head(5, 0, &mut attestation);
        cbor_text("authData", &mut attestation);
        cbor_bytes(&auth_data, &mut attestation);
        json!({
            "id": self.credential_id_text(),
            "rawId": self.credential_id_text(),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&client_data),
                "transports": ["internal"],
            },
            "extensions": {"credProps": {"rk": true}},
        })
    }

    /// `navigator.credentials.get()` for the server's options: an assertion, with or without
    /// user verification.
    pub fn get(&mut self, options: &Value, user_verified: bool) -> Value {
        let pk = &options["publicKey"];
        assert_eq!(pk["rpId"], self.rp_id.as_str(), "the RP ID: {pk}");
        let challenge = pk["challenge"].as_str().expect("a challenge");
        self.counter += 1;
        let client_data = self.client_data("webauthn.get", challenge);
        let mut auth_data = self.rp_id_hash();
        auth_data.push(if user_verified { UP | UV } else { UP });
        auth_data.extend(self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(digest(&SHA256, &client_data).as_ref());
        let signature = self
            .key
            .sign(&SystemRandom::new(), &signed)
            .expect("ECDSA signs");
        json!({
            "id": self.credential_id_text(),
            "rawId": self.credential_id_text(),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.as_ref()),
                "userHandle": b64(&self.user_handle),
            },
            "extensions": {},
        })
    }
}

/// A browser-like JSON client: a cookie jar, no redirects followed, the page's CSRF token.
pub struct Web {
    http: reqwest::Client,
    jar: Arc<Jar>,
    base: String,
    pub csrf: String,
}

impl Web {
    pub fn new(server: &Server) -> Web {
        let jar = Arc::new(Jar::default());
        Web {
            http: reqwest::Client::builder()
                .no_proxy()
                .cookie_provider(jar.clone())
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .expect("an HTTP client can be built"),
            jar,
            base: server.base.clone(),
            csrf: String::new(),
        }
    }

    /// The same browser (cookies, CSRF token) talking to another server process of the same
    /// deployment; cookies do not depend on the port.
    pub fn at(&self, server: &Server) -> Web {
        Web {
            http: self.http.clone(),
            jar: self.jar.clone(),
            base: server.base.clone(),
            csrf: self.csrf.clone(),
        }
    }

    /// Opens the sign-in page (which sets the CSRF cookie) and keeps its token.
    pub async fn open_login(&mut self, slug: &str) {
        let page = self.get(&format!("/t/{slug}/login")).await;
        assert_eq!(page.status, 200, "the sign-in page opens: {}", page.text());
        self.csrf = hidden_input(&page.text(), "csrf_token").expect("a CSRF token");
    }

    /// Signs in with the password form; returns the redirect target.
    pub async fn password_sign_in(&mut self, slug: &str, email: &str, password: &str) -> String {
        self.open_login(slug).await;
        let r = self
            .http
            .post(format!("{}/t/{slug}/login", self.base))
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", &self.csrf),
                ("return_to", ""),
            ])
            .send()
            .await;
        read(format!("POST /t/{slug}/login"), r)
            .await
            .expect_see_other()
    }

    pub async fn get(&self, path: &str) -> Resp {
        let r = self.http.get(format!("{}{path}", self.base)).send().await;
        read(format!("GET {path}"), r).await
    }

    /// POSTs `body` (raw) as JSON, with the CSRF header when `csrf`.
    pub async fn post_raw(&self, path: &str, body: &str, csrf: bool) -> Resp {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if csrf {
            req = req.header("x-csrf-token", &self.csrf);
        }
        read(format!("POST {path}"), req.send().await).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.post_raw(path, &body.to_string(), true).await
    }

    /// The value of the session cookie this client holds for `slug`, if any.
    pub fn session_cookie(&self, slug: &str) -> Option<String> {
        let url = format!("{}/t/{slug}/account", self.base)
            .parse()
            .expect("a URL");
        let cookies = self.jar.cookies(&url)?;
        cookies
            .to_str()
            .expect("ASCII cookies")
            .split("; ")
            .find_map(|c| c.strip_prefix("tessera_session="))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }
}

/// Asserts a WebAuthn endpoint's JSON error: status, code, a message, and no session started.
#[track_caller]
pub fn assert_refused(r: &Resp, status: u16, code: &str) -> String {
    assert_eq!(r.status, status, "{}: {}", r.what, r.text());
    let v = r.json();
    assert_eq!(v["error"], code, "{}: {v}", r.what);
    assert!(
        v["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}: a message: {v}",
        r.what
    );
    assert!(
        r.set_cookie("tessera_session").is_none(),
        "{}: a refusal starts no session",
        r.what
    );
    v["message"].as_str().unwrap_or_default().to_string()
}

async fn read(what: String, r: reqwest::Result<reqwest::Response>) -> Resp {
    let r = r.unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
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
