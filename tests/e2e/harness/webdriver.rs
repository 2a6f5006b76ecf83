//! A small WebDriver client (W3C protocol over HTTP/JSON) for headless Chromium through Debian's
//! `chromedriver`. Every call has a timeout; the driver and the browser it started are killed
//! (as one process group) when the [`Driver`] is dropped.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;

use super::process::free_port;
use super::{in_ci, poll_until};

/// The W3C key under which an element reference travels.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// Upper bound of one WebDriver command (a page load included).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A running chromedriver.
pub struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
    chromium: PathBuf,
    profile: TempDir,
}

/// Finds an executable by name on `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn find_browser() -> Result<(PathBuf, PathBuf), String> {
    let driver = which("chromedriver")
        .ok_or("chromedriver is not installed (Debian package chromium-driver)")?;
    let browser = [Path::new("/usr/bin/chromium").to_path_buf()]
        .into_iter()
        .find(|p| p.is_file())
        .or_else(|| which("chromium"))
        .ok_or("chromium is not installed (Debian package chromium)")?;
    Ok((driver, browser))
}

impl Driver {
    /// Starts chromedriver on a free port. Without Chromium: panics in CI, else prints a notice
    /// and returns `None` so the test can end early.
    pub async fn start() -> Option<Driver> {
        let (driver, chromium) = match find_browser() {
            Ok(found) => found,
            Err(why) => {
                if in_ci() {
                    panic!(
                        "the browser test needs Chromium in CI: {why}. Install chromium and chromium-driver."
                    );
                }
                eprintln!(
                    "notice: skipping the browser test: {why}. Install chromium and chromium-driver to run it."
                );
                return None;
            }
        };
        let port = free_port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so the browser it starts can be killed with it.
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(CALL_TIMEOUT)
            .build()
            .expect("an HTTP client can be built");
        let d = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http,
            chromium,
            profile: tempfile::tempdir().expect("a temporary profile directory"),
        };
        let status_url = format!("{}/status", d.base);
        let http = d.http.clone();
        poll_until("chromedriver to be ready", Duration::from_secs(30), || {
            let (http, url) = (http.clone(), status_url.clone());
            async move {
                let v: Value = http.get(&url).send().await.ok()?.json().await.ok()?;
                v["value"]["ready"].as_bool().filter(|r| *r)
            }
        })
        .await;
        Some(d)
    }

    /// Opens a headless Chromium window.
    pub async fn session(&self) -> Session<'_> {
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            format!("--user-data-dir={}", self.profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {"binary": self.chromium.display().to_string(), "args": args},
        }}});
        let v = call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}/session", self.base),
            Some(caps),
        )
        .await;
        let id = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {v}"))
            .to_string();
        let s = Session { driver: self, id };
        s.cmd(
            reqwest::Method::POST,
            "/timeouts",
            Some(json!({"pageLoad": 20_000, "script": 10_000, "implicit": 5_000})),
        )
        .await;
        s
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Ok(pgid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on the process group this test created for chromedriver.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }
}

/// One browser window.
pub struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Session<'_> {
    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.driver.base, self.id);
        call(&self.driver.http, method, &url, body).await
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn current_url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .expect("the URL is a string")
            .to_string()
    }

    /// Waits (polling) until the current URL satisfies `pred`; returns it.
    pub async fn wait_for_url(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        poll_until(what, Duration::from_secs(20), || async {
            let u = self.current_url().await;
            pred(&u).then_some(u)
        })
        .await
    }

    /// Finds one element by CSS selector (waiting up to the implicit timeout).
    pub async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element for {css}: {v}"))
            .to_string()
    }

    pub async fn send_keys(&self, element: &str, text: &str) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub async fn click(&self, element: &str) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub async fn text(&self, element: &str) -> String {
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        )
        .await
        .as_str()
        .expect("element text is a string")
        .to_string()
    }

    /// The text of the element matching `css`.
    pub async fn text_of(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.text(&e).await
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page; returns its value.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Waits (polling) until the element matching `css` has a non-empty text; returns it.
    pub async fn wait_for_text(&self, what: &str, css: &str) -> String {
        poll_until(what, Duration::from_secs(20), || async {
            let t = self
                .execute(
                    "var e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : '';",
                    json!([css]),
                )
                .await;
            t.as_str().filter(|s| !s.is_empty()).map(str::to_string)
        })
        .await
    }

    /// Like [`Session::wait_for_text`], but waits until the text contains `needle`: after a
    /// form is sent, the page it replaces may still be showing an element of the same name.
    pub async fn wait_for_text_containing(&self, what: &str, css: &str, needle: &str) -> String {
        poll_until(what, Duration::from_secs(20), || async {
            let t = self
                .execute(
                    "var e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : '';",
                    json!([css]),
                )
                .await;
            t.as_str()
                .filter(|s| s.contains(needle))
                .map(str::to_string)
        })
        .await
    }

    /// Runs `source` in every document this window opens from now on, before the page's own
    /// scripts (Chromium's DevTools `Page.addScriptToEvaluateOnNewDocument`, through
    /// chromedriver).
    pub async fn run_on_new_documents(&self, source: &str) {
        self.cmd(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": source}})),
        )
        .await;
    }

    /// Adds a WebAuthn virtual authenticator (W3C WebAuthn §11.3); returns its id. `options`
    /// are the spec's, e.g. [`VirtualAuthenticator::passkey`].
    pub async fn add_virtual_authenticator(&self, options: &VirtualAuthenticator) -> String {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/webauthn/authenticator",
                Some(options.to_json()),
            )
            .await;
        v.as_str()
            .unwrap_or_else(|| panic!("no authenticator id in {v}"))
            .to_string()
    }

    /// Whether the virtual authenticator's user verification (PIN, biometric) succeeds.
    pub async fn set_user_verified(&self, id: &str, verified: bool) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/webauthn/authenticator/{id}/uv"),
            Some(json!({"isUserVerified": verified})),
        )
        .await;
    }

    /// The credentials the virtual authenticator holds (`credentialId`, `isResidentCredential`,
    /// `rpId`, `privateKey`, `userHandle`, `signCount`; binary values base64url).
    pub async fn authenticator_credentials(&self, id: &str) -> Vec<Value> {
        let v = self
            .cmd(
                reqwest::Method::GET,
                &format!("/webauthn/authenticator/{id}/credentials"),
                None,
            )
            .await;
        v.as_array()
            .unwrap_or_else(|| panic!("credentials are a list: {v}"))
            .clone()
    }

    /// Closes the window and ends the session.
    pub async fn close(self) {
        self.cmd(reqwest::Method::DELETE, "", None).await;
    }
}

/// Options of a WebAuthn virtual authenticator (W3C WebAuthn §11.3, "Add Virtual Authenticator").
#[derive(Clone, Debug)]
pub struct VirtualAuthenticator {
    /// `ctap2` or `ctap1/u2f`.
    pub protocol: &'static str,
    /// `internal` (a platform authenticator), `usb`, `nfc`, `ble`.
    pub transport: &'static str,
    pub has_resident_key: bool,
    pub has_user_verification: bool,
    pub is_user_verified: bool,
}

impl VirtualAuthenticator {
    /// A platform passkey provider: CTAP2, internal, resident keys, user verification that
    /// succeeds.
    pub fn passkey() -> VirtualAuthenticator {
        VirtualAuthenticator {
            protocol: "ctap2",
            transport: "internal",
            has_resident_key: true,
            has_user_verification: true,
            is_user_verified: true,
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "protocol": self.protocol,
            "transport": self.transport,
            "hasResidentKey": self.has_resident_key,
            "hasUserVerification": self.has_user_verification,
            "isUserVerified": self.is_user_verified,
            "isUserConsenting": true,
        })
    }
}

/// One WebDriver call; panics with the driver's error when it fails.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Value {
    let mut req = http.request(method.clone(), url);
    if let Some(b) = &body {
        req = req.json(b);
    }
    let resp = tokio::time::timeout(CALL_TIMEOUT, req.send())
        .await
        .unwrap_or_else(|_| {
            panic!("WebDriver {method} {url} did not answer within {CALL_TIMEOUT:?}")
        })
        .unwrap_or_else(|e| panic!("WebDriver {method} {url} failed: {e}"));
    let status = resp.status();
    let v: Value = resp
        .json()
        .await
        .unwrap_or_else(|e| panic!("WebDriver {method} {url}: not JSON: {e}"));
    assert!(
        status.is_success(),
        "WebDriver {method} {url} answered {status}: {v}"
    );
    v["value"].clone()
}
