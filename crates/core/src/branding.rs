//! A tenant's look on its hosted pages and in its emails: product name, colours, support link,
//! custom CSS, logo and default language (`settings.branding`, see docs/branding-i18n.md).
//!
//! Every value is checked here, before it is stored: colours must keep WCAG AA contrast (4.5:1)
//! with the text drawn on them, the support link must be `https:` or `mailto:`, and the custom
//! CSS may not leave the page's origin (it is served as a same-origin stylesheet, so the pages'
//! strict `style-src 'self'` policy holds). The logo itself is stored apart from the settings
//! (it can be large); [`LogoRef`] in the settings only says that one exists and which version.

use serde::{Deserialize, Serialize};

use crate::{CoreError, StoreError, TenantId, Timestamp};

/// Largest custom stylesheet accepted, in bytes.
pub const MAX_CUSTOM_CSS_BYTES: usize = 32 * 1024;
/// Largest logo accepted, in bytes.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;
/// The colour of body text on the hosted pages (`--text` in tessera.css).
pub const TEXT_COLOR: Rgb = Rgb(0x16, 0x18, 0x1d);
/// The colour of text on buttons and of the card behind links (white).
pub const ON_PRIMARY_COLOR: Rgb = Rgb(0xff, 0xff, 0xff);
/// WCAG 2.x level AA for normal text.
pub const MIN_CONTRAST: f64 = 4.5;
/// The image types a logo may have.
pub const LOGO_CONTENT_TYPES: &[&str] = &["image/png", "image/jpeg", "image/svg+xml"];

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrandingSettings {
    /// Shown instead of the tenant's name on pages and in emails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// `#rrggbb`: buttons and links (white button text, links on the white card).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<String>,
    /// `#rrggbb`: the page background behind the card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
    /// `https://…` or `mailto:…`: the "Need help?" link on every page and email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_url: Option<String>,
    /// Extra CSS appended to `{issuer}/branding.css` (same-origin only, at most 32 KiB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_css: Option<String>,
    /// The language of pages and emails when the browser asks for none that Tessera has
    /// (a language tag such as `de` or `fr`; `en` when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_locale: Option<String>,
    /// Set by the logo endpoints (`PUT/DELETE /api/v1/tenants/{slug}/branding/logo`); a value
    /// sent with the settings is ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo: Option<LogoRef>,
}

/// That a tenant has a logo, of which type and version (for cache-busting URLs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoRef {
    pub content_type: String,
    /// The first 16 hex digits of the image's SHA-256.
    pub version: String,
    pub bytes: u64,
}

/// A stored logo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantLogo {
    pub content_type: String,
    pub data: Vec<u8>,
    pub updated_at: Timestamp,
}

/// Where logos are kept (`tenant_logos`).
#[allow(async_fn_in_trait)]
pub trait LogoStore {
    async fn get_logo(&self, tenant: TenantId) -> Result<Option<TenantLogo>, StoreError>;
    async fn put_logo(&self, tenant: TenantId, logo: &TenantLogo) -> Result<(), StoreError>;
    /// Returns false when there was no logo.
    async fn delete_logo(&self, tenant: TenantId) -> Result<bool, StoreError>;
}

/// A colour as red, green and blue bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb` (either case).
    pub fn parse(s: &str) -> Option<Rgb> {
        let hex = s.strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Rgb(byte(0)?, byte(2)?, byte(4)?))
    }

    /// WCAG 2.x relative luminance.
    pub fn luminance(self) -> f64 {
        let lin = |c: u8| {
            let s = f64::from(c) / 255.0;
            if s <= 0.04045 {
                s / 12.92
            } else {
                ((s + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(self.0) + 0.7152 * lin(self.1) + 0.0722 * lin(self.2)
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// WCAG 2.x contrast ratio, from 1 (none) to 21 (black on white).
pub fn contrast_ratio(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (a.luminance(), b.luminance());
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// Rounded down to two decimals, so a ratio shown as 4.50 really reaches 4.5.
fn show_ratio(r: f64) -> String {
    format!("{:.2}:1", (r * 100.0).floor() / 100.0)
}

impl BrandingSettings {
    pub fn validate(&self) -> Result<(), CoreError> {
        if let Some(n) = &self.product_name {
            let len = n.trim().chars().count();
            if len == 0 || len > 100 || n.chars().any(char::is_control) {
                return Err(CoreError::invalid(
                    "settings.branding.product_name",
                    "must be 1-100 characters without control characters",
                ));
            }
        }
        check_color(
            "settings.branding.primary_color",
            self.primary_color.as_deref(),
            ON_PRIMARY_COLOR,
            "the white text of buttons and the white card behind links",
        )?;
        check_color(
            "settings.branding.background_color",
            self.background_color.as_deref(),
            TEXT_COLOR,
            "the text colour #16181d",
        )?;
        if let Some(u) = &self.support_url {
            check_support_url(u)?;
        }
        if let Some(css) = &self.custom_css {
            check_custom_css(css)
                .map_err(|m| CoreError::invalid("settings.branding.custom_css", m))?;
        }
        if let Some(l) = &self.default_locale
            && !is_language_tag(l)
        {
            return Err(CoreError::invalid(
                "settings.branding.default_locale",
                "must be a language tag such as \"en\", \"de\" or \"pt-BR\"",
            ));
        }
        Ok(())
    }

    /// The name people see: the product name when set, else the tenant's name.
    pub fn display_name<'a>(&'a self, tenant_name: &'a str) -> &'a str {
        self.product_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(tenant_name)
    }

    /// Whether `{issuer}/branding.css` has anything to say.
    pub fn has_stylesheet(&self) -> bool {
        self.primary_color.is_some() || self.background_color.is_some() || self.custom_css.is_some()
    }

    /// The tenant's stylesheet: colour variables over tessera.css's defaults, then the custom CSS.
    pub fn stylesheet(&self) -> String {
        let mut out = String::new();
        let mut vars = String::new();
        if let Some(c) = self.primary_color.as_deref().and_then(Rgb::parse) {
            vars.push_str(&format!(" --accent: {};", c.hex()));
        }
        if let Some(c) = self.background_color.as_deref().and_then(Rgb::parse) {
            vars.push_str(&format!(" --bg: {};", c.hex()));
        }
        if !vars.is_empty() {
            out.push_str(&format!(":root {{{vars} }}\n"));
        }
        if let Some(css) = &self.custom_css {
            out.push_str(css);
            out.push('\n');
        }
        out
    }
}

fn check_color(
    field: &'static str,
    v: Option<&str>,
    against: Rgb,
    what: &str,
) -> Result<(), CoreError> {
    let Some(v) = v else { return Ok(()) };
    let Some(c) = Rgb::parse(v) else {
        return Err(CoreError::invalid(
            field,
            "must be a colour written #rrggbb, such as #1f4fd1",
        ));
    };
    let ratio = contrast_ratio(c, against);
    if ratio < MIN_CONTRAST {
        return Err(CoreError::invalid(
            field,
            format!(
                "{} has a contrast ratio of {} with {what}; WCAG AA needs at least 4.5:1",
                c.hex(),
                show_ratio(ratio)
            ),
        ));
    }
    Ok(())
}

fn check_support_url(u: &str) -> Result<(), CoreError> {
    let field = "settings.branding.support_url";
    if u.len() > 2048 || u.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(CoreError::invalid(
            field,
            "must be one URL of at most 2048 characters",
        ));
    }
    let parsed = url::Url::parse(u)
        .map_err(|_| CoreError::invalid(field, "must be an https:// URL or a mailto: address"))?;
    match parsed.scheme() {
        "https" if parsed.host_str().is_some() => Ok(()),
        "mailto" if parsed.path().contains('@') => Ok(()),
        _ => Err(CoreError::invalid(
            field,
            "must be an https:// URL or a mailto: address",
        )),
    }
}

/// `en`, `de`, `pt-BR`, `zh-Hant-TW`: a language subtag and optional subtags.
pub fn is_language_tag(s: &str) -> bool {
    if s.is_empty() || s.len() > 35 {
        return false;
    }
    let mut parts = s.split('-');
    let lang = parts.next().unwrap_or("");
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Refuses CSS that could load anything from another origin or break out of a stylesheet.
/// Checked on the text with comments removed and CSS escapes decoded, so `@\69mport` or
/// `u/**/rl(` do not slip through. (The pages' CSP `img-src 'self' data:` and
/// `default-src 'none'` stop such loads in the browser as well.)
pub fn check_custom_css(css: &str) -> Result<(), String> {
    if css.len() > MAX_CUSTOM_CSS_BYTES {
        return Err(format!(
            "is {} bytes; at most {MAX_CUSTOM_CSS_BYTES} are allowed",
            css.len()
        ));
    }
    if css.contains('\0') {
        return Err("must not contain NUL characters".into());
    }
    let plain = decode_css(css).to_ascii_lowercase();
    for (needle, why) in [
        ("</style", "must not contain </style"),
        ("<!--", "must not contain <!--"),
        (
            "@import",
            "must not use @import (every rule must be in the stylesheet itself)",
        ),
        ("expression(", "must not use expression()"),
        ("javascript:", "must not contain javascript: URLs"),
        ("://", "must not refer to other origins (no scheme://)"),
        (
            "image-set(",
            "must not use image-set(); use url() with a path on this server",
        ),
        (
            "image(",
            "must not use image(); use url() with a path on this server",
        ),
    ] {
        if plain.contains(needle) {
            return Err(why.into());
        }
    }
    // Every url(…) (and image-set/src strings) must be a same-origin path or a data: image.
    let mut i = 0;
    while let Some(pos) = plain[i..].find("url(") {
        let start = i + pos + 4;
        let end = plain[start..]
            .find(')')
            .map(|e| start + e)
            .unwrap_or(plain.len());
        let target = plain[start..end]
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .trim();
        if !same_origin_reference(target) {
            return Err(format!(
                "url({target}) points off this origin; use a path on this server or a data: image"
            ));
        }
        i = end.min(plain.len());
    }
    Ok(())
}

fn same_origin_reference(target: &str) -> bool {
    if let Some(rest) = target.strip_prefix("data:") {
        return rest.starts_with("image/");
    }
    // A scheme (letters then ':') before any '/', '?' or '#' makes the reference absolute.
    let before = target.split(['/', '?', '#']).next().unwrap_or("");
    !before.contains(':') && !target.starts_with("//")
}

/// Removes `/* … */` comments and decodes CSS escapes (`\41`, `\@`).
fn decode_css(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let chars: Vec<char> = css.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
            continue;
        }
        if c == '\\' {
            let mut hex = String::new();
            let mut j = i + 1;
            while j < chars.len() && hex.len() < 6 && chars[j].is_ascii_hexdigit() {
                hex.push(chars[j]);
                j += 1;
            }
            if !hex.is_empty() {
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
                // One whitespace character after a hex escape belongs to it.
                if j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                i = j;
                continue;
            }
            if let Some(next) = chars.get(i + 1) {
                out.push(*next);
                i += 2;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Sniffs the image type from its first bytes and checks it against the declared one.
/// Returns the content type to serve.
pub fn check_logo(declared: &str, data: &[u8]) -> Result<&'static str, CoreError> {
    let declared = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let Some(kind) = LOGO_CONTENT_TYPES.iter().find(|t| **t == declared) else {
        return Err(CoreError::invalid(
            "content-type",
            "must be image/png, image/jpeg or image/svg+xml",
        ));
    };
    if data.is_empty() {
        return Err(CoreError::invalid("body", "is empty: send the image"));
    }
    if data.len() > MAX_LOGO_BYTES {
        return Err(CoreError::invalid(
            "body",
            format!(
                "is {} bytes; a logo may have at most {MAX_LOGO_BYTES}",
                data.len()
            ),
        ));
    }
    let ok = match *kind {
        "image/png" => data.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => data.starts_with(&[0xff, 0xd8, 0xff]),
        _ => std::str::from_utf8(data).is_ok_and(|s| {
            let head = s
                .trim_start_matches('\u{feff}')
                .trim_start()
                .to_ascii_lowercase();
            (head.starts_with("<svg") || head.starts_with("<?xml") || head.starts_with("<!--"))
                && head.contains("<svg")
        }),
    };
    if !ok {
        return Err(CoreError::invalid(
            "body",
            format!("is not a {declared} image"),
        ));
    }
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut BrandingSettings)) -> Result<(), CoreError> {
        let mut b = BrandingSettings::default();
        f(&mut b);
        b.validate()
    }

    fn message(r: Result<(), CoreError>) -> (String, String) {
        match r {
            Err(CoreError::Invalid { field, message }) => (field.to_string(), message),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn contrast_follows_wcag() {
        let white = Rgb(255, 255, 255);
        let black = Rgb(0, 0, 0);
        assert!((contrast_ratio(white, black) - 21.0).abs() < 1e-9);
        assert!((contrast_ratio(white, white) - 1.0).abs() < 1e-9);
        // #767676 on white is the classic 4.54:1.
        let grey = Rgb::parse("#767676").unwrap();
        assert!((contrast_ratio(grey, white) - 4.54).abs() < 0.01);
        // The default theme meets AA.
        assert!(contrast_ratio(Rgb::parse("#1f4fd1").unwrap(), white) >= MIN_CONTRAST);
        assert!(contrast_ratio(Rgb::parse("#f3f5f9").unwrap(), TEXT_COLOR) >= MIN_CONTRAST);
        assert!(contrast_ratio(Rgb::parse("#4a5060").unwrap(), white) >= MIN_CONTRAST);
        // Error text on its tint, and the secondary button's text (static/tessera.css).
        let pair =
            |a: &str, b: &str| contrast_ratio(Rgb::parse(a).unwrap(), Rgb::parse(b).unwrap());
        assert!(pair("#a1120c", "#fdecea") >= MIN_CONTRAST);
        assert!(pair("#16181d", "#e4e7ee") >= MIN_CONTRAST);
        // Input borders are user-interface components: 3:1.
        assert!(pair("#8a90a0", "#ffffff") >= 3.0);
    }

    #[test]
    fn colours_need_the_format_and_aa_contrast() {
        assert!(with(|b| b.primary_color = Some("#1F4FD1".into())).is_ok());
        assert!(with(|b| b.background_color = Some("#ffffff".into())).is_ok());
        let (field, m) = message(with(|b| b.primary_color = Some("#ffff00".into())));
        assert_eq!(field, "settings.branding.primary_color");
        assert!(m.contains("1.07:1") && m.contains("4.5:1"), "{m}");
        let (field, m) = message(with(|b| b.background_color = Some("#222222".into())));
        assert_eq!(field, "settings.branding.background_color");
        assert!(m.contains(":1"), "{m}");
        for bad in ["red", "#fff", "#12345g", "1f4fd1", "#1f4fd1 "] {
            let (_, m) = message(with(|b| b.primary_color = Some(bad.into())));
            assert!(m.contains("#rrggbb"), "{bad}: {m}");
        }
    }

    #[test]
    fn support_link_is_https_or_mailto() {
        assert!(with(|b| b.support_url = Some("https://help.example.com/x".into())).is_ok());
        assert!(with(|b| b.support_url = Some("mailto:help@example.com".into())).is_ok());
        for bad in [
            "http://help.example.com",
            "javascript:alert(1)",
            "mailto:",
            "help",
            "https://a b",
        ] {
            assert!(with(|b| b.support_url = Some(bad.into())).is_err(), "{bad}");
        }
    }

    #[test]
    fn custom_css_stays_on_this_origin() {
        for ok in [
            ".card { border: 2px solid #000; }",
            ".card { background: url(/t/acme/logo) no-repeat; }",
            "h1 { background-image: url('data:image/png;base64,AAAA'); }",
            "a::after { content: \"\\2014\"; }",
        ] {
            assert_eq!(check_custom_css(ok), Ok(()), "{ok}");
        }
        for bad in [
            "</style><script>alert(1)</script>",
            "</STYLE>",
            "@import 'https://evil.example/x.css';",
            "@\\69mport 'x.css';",
            "@imp/**/ort url(x.css);",
            "body { background: url(https://evil.example/track.png); }",
            "body { background: url(//evil.example/track.png); }",
            "body { background: u\\72l(https://evil.example/a.png); }",
            "body { background: url(data:text/html,hi); }",
            "body { background: url(javascript:alert(1)); }",
            "body { background: image-set(\"//evil.example/a.png\" 1x); }",
            "div { width: expression(alert(1)); }",
        ] {
            assert!(check_custom_css(bad).is_err(), "{bad}");
        }
        let big = "a{}".repeat(MAX_CUSTOM_CSS_BYTES);
        assert!(check_custom_css(&big).unwrap_err().contains("bytes"));
        let (field, _) = message(with(|b| b.custom_css = Some("@import 'x';".into())));
        assert_eq!(field, "settings.branding.custom_css");
    }

    #[test]
    fn names_and_locales() {
        assert!(with(|b| b.product_name = Some("Acme ID".into())).is_ok());
        assert!(with(|b| b.product_name = Some("  ".into())).is_err());
        assert!(with(|b| b.product_name = Some("x".repeat(101))).is_err());
        for ok in ["en", "de", "pt-BR", "zh-Hant-TW"] {
            assert!(with(|b| b.default_locale = Some(ok.into())).is_ok(), "{ok}");
        }
        for bad in ["", "e", "english", "de_DE", "de-", "../x"] {
            assert!(
                with(|b| b.default_locale = Some(bad.into())).is_err(),
                "{bad}"
            );
        }
        let b = BrandingSettings {
            product_name: Some("Acme ID".into()),
            ..Default::default()
        };
        assert_eq!(b.display_name("acme"), "Acme ID");
        assert_eq!(BrandingSettings::default().display_name("acme"), "acme");
    }

    #[test]
    fn stylesheet_sets_the_colour_variables() {
        let b = BrandingSettings {
            primary_color: Some("#0B5A2A".into()),
            custom_css: Some(".card { border: 1px solid #000; }".into()),
            ..Default::default()
        };
        let css = b.stylesheet();
        assert!(css.starts_with(":root { --accent: #0b5a2a; }"), "{css}");
        assert!(css.contains(".card { border"));
        assert!(!BrandingSettings::default().has_stylesheet());
    }

    #[test]
    fn logos_are_sniffed() {
        let png = b"\x89PNG\r\n\x1a\n rest";
        assert_eq!(check_logo("image/png", png).unwrap(), "image/png");
        assert_eq!(
            check_logo("image/jpeg", &[0xff, 0xd8, 0xff, 0xe0]).unwrap(),
            "image/jpeg"
        );
        assert_eq!(
            check_logo(
                "image/svg+xml; charset=utf-8",
                b"<svg xmlns='http://www.w3.org/2000/svg'/>"
            )
            .unwrap(),
            "image/svg+xml"
        );
        assert!(check_logo("image/gif", b"GIF89a").is_err());
        assert!(check_logo("text/html", b"<html>").is_err());
        assert!(check_logo("image/png", b"<svg/>").is_err());
        assert!(check_logo("image/svg+xml", b"<html><script>").is_err());
        assert!(check_logo("image/png", b"").is_err());
        let mut big = png.to_vec();
        big.resize(MAX_LOGO_BYTES + 1, 0);
        assert!(check_logo("image/png", &big).is_err());
    }
}
