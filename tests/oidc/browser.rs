//! A browser-like client whose cookie jar outlives the server process: scenarios that restart
//! the server (a shifted clock, rotated keys) keep the same browser session across the restart,
//! as a real browser would. Redirects are not followed, so each hop can be checked.

use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::{CookieStore, Jar};

use crate::harness::{Resp, Server};

pub struct Browser {
    jar: Arc<Jar>,
    http: reqwest::Client,
    base: String,
}

impl Browser {
    pub fn new(server: &Server) -> Browser {
        Browser::with_jar(Arc::new(Jar::default()), server)
    }

    /// The same cookies, talking to another server process of the same deployment (cookies are
    /// kept per host and path, not per port, exactly as browsers keep them).
    pub fn on(&self, server: &Server) -> Browser {
        Browser::with_jar(self.jar.clone(), server)
    }

    fn with_jar(jar: Arc<Jar>, server: &Server) -> Browser {
        let http = reqwest::Client::builder()
            .no_proxy()
            // Like a person's browser, it names itself (the risk engine treats clients without a
            // user agent as scripts).
            .user_agent(crate::harness::http::BROWSER_USER_AGENT)
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client can be built");
        Browser {
            jar,
            http,
            base: server.base.clone(),
        }
    }

    /// The cookies this browser would send to `path`.
    pub fn cookies_for(&self, path: &str) -> String {
        let url = format!("{}{path}", self.base).parse().expect("a URL");
        self.jar
            .cookies(&url)
            .map(|v| v.to_str().expect("ASCII cookies").to_string())
            .unwrap_or_default()
    }

    pub async fn get(&self, path: &str) -> Resp {
        let r = self.http.get(format!("{}{path}", self.base)).send().await;
        read(format!("GET {path}"), r).await
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await;
        read(format!("POST {path}"), r).await
    }
}

pub async fn read(what: String, r: reqwest::Result<reqwest::Response>) -> Resp {
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
