//! User-agent families: enough to tell "Firefox on Windows" from "Safari on iOS" and a browser
//! from a script. Not a full parser: the profile only needs a stable, coarse label.

/// What the engine keeps of a user agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentFamily {
    /// `browser/os`, e.g. `firefox/windows`; `unknown/unknown` when nothing is recognised.
    pub label: String,
    /// A script, an HTTP library or a headless browser (or no user agent at all).
    pub automated: bool,
}

const AUTOMATION: [&str; 20] = [
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "httpx",
    "go-http-client",
    "java/",
    "okhttp",
    "libwww-perl",
    "node-fetch",
    "axios/",
    "undici",
    "headlesschrome",
    "phantomjs",
    "selenium",
    "puppeteer",
    "playwright",
    "scrapy",
    "postmanruntime",
];

/// Classifies a user agent.
pub fn family(user_agent: Option<&str>) -> AgentFamily {
    let Some(ua) = user_agent.map(str::trim).filter(|u| !u.is_empty()) else {
        return AgentFamily {
            label: "none/none".into(),
            automated: true,
        };
    };
    let l = ua.to_ascii_lowercase();
    let automated = AUTOMATION.iter().any(|a| l.contains(a))
        || l.contains("bot/")
        || l.contains("crawler")
        || l.contains("spider");
    let browser = if automated {
        "script"
    } else if l.contains("edg/") || l.contains("edge/") {
        "edge"
    } else if l.contains("opr/") || l.contains("opera") {
        "opera"
    } else if l.contains("firefox/") || l.contains("fxios/") {
        "firefox"
    } else if l.contains("chrome/") || l.contains("crios/") || l.contains("chromium/") {
        "chrome"
    } else if l.contains("safari/") {
        "safari"
    } else {
        "unknown"
    };
    let os = if l.contains("iphone") || l.contains("ipad") || l.contains("ios") {
        "ios"
    } else if l.contains("android") {
        "android"
    } else if l.contains("windows") {
        "windows"
    } else if l.contains("mac os x") || l.contains("macintosh") {
        "macos"
    } else if l.contains("cros") {
        "chromeos"
    } else if l.contains("linux") {
        "linux"
    } else {
        "unknown"
    };
    AgentFamily {
        label: format!("{browser}/{os}"),
        automated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        let f = |s| family(Some(s)).label;
        assert_eq!(
            f("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"),
            "firefox/windows"
        );
        assert_eq!(
            f(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
            ),
            "safari/macos"
        );
        assert_eq!(
            f(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
            ),
            "safari/ios"
        );
        assert_eq!(
            f(
                "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"
            ),
            "chrome/android"
        );
        assert_eq!(
            f(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 Edg/124.0"
            ),
            "edge/windows"
        );
    }

    #[test]
    fn scripts_and_missing_agents_are_automated() {
        assert!(family(Some("curl/8.5.0")).automated);
        assert!(family(Some("python-requests/2.31")).automated);
        assert!(
            family(Some(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0 Safari/537.36"
            ))
            .automated
        );
        assert!(family(None).automated);
        assert!(family(Some("  ")).automated);
        assert!(
            !family(Some(
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
            ))
            .automated
        );
    }
}
