//! Choosing the language of a response, in one place:
//!
//! 1. the `ui_locales` an application sent with its authorization request (OIDC), carried to the
//!    sign-in page and then remembered in the `tessera_lang` cookie of the tenant;
//! 2. the browser's `Accept-Language`, by q-value;
//! 3. the tenant's default (`settings.branding.default_locale`);
//! 4. `en`.
//!
//! At each step a tag matches a supported language exactly (case-insensitively) or by its
//! primary language (`de-CH` → `de`); a tag Tessera has no translation for is skipped.

/// The language every string exists in.
pub const FALLBACK: &str = "en";

/// Most `Accept-Language` entries looked at (a longer header is cut, not refused).
const MAX_ACCEPT_ENTRIES: usize = 32;

/// The first of `candidates` that `supported` can serve, as spelled in `supported`.
pub fn pick<'a, S: AsRef<str>>(
    supported: &[S],
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    for c in candidates {
        let c = c.trim();
        if c.is_empty() || c == "*" || c.len() > 35 {
            continue;
        }
        let c = c.replace('_', "-");
        if let Some(s) = supported
            .iter()
            .find(|s| s.as_ref().eq_ignore_ascii_case(&c))
        {
            return Some(s.as_ref().to_string());
        }
        let primary = c.split('-').next().unwrap_or("");
        if let Some(s) = supported
            .iter()
            .find(|s| s.as_ref().eq_ignore_ascii_case(primary))
        {
            return Some(s.as_ref().to_string());
        }
        // `pt` asked, only `pt-BR` translated: close enough.
        if let Some(s) = supported.iter().find(|s| {
            s.as_ref()
                .split('-')
                .next()
                .is_some_and(|p| p.eq_ignore_ascii_case(primary))
        }) {
            return Some(s.as_ref().to_string());
        }
    }
    None
}

/// The tags of an `Accept-Language` header, most wanted first (ties keep header order);
/// entries with `q=0` or a malformed q-value are dropped.
pub fn accept_language(header: &str) -> Vec<String> {
    let mut entries: Vec<(f32, usize, String)> = Vec::new();
    for (i, part) in header.split(',').take(MAX_ACCEPT_ENTRIES).enumerate() {
        let mut pieces = part.split(';');
        let tag = pieces.next().unwrap_or("").trim();
        if tag.is_empty() {
            continue;
        }
        let mut q = 1.0f32;
        let mut valid = true;
        for p in pieces {
            let p = p.trim();
            if let Some(v) = p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")) {
                match v.trim().parse::<f32>() {
                    Ok(x) if (0.0..=1.0).contains(&x) => q = x,
                    _ => valid = false,
                }
            }
        }
        if valid && q > 0.0 {
            entries.push((q, i, tag.to_string()));
        }
    }
    entries.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    entries.into_iter().map(|(_, _, t)| t).collect()
}

/// What a request says about its language.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preferences {
    /// `ui_locales` of this request (space-separated tags, in order of preference).
    pub ui_locales: Option<String>,
    /// The `tessera_lang` cookie: an earlier `ui_locales` choice.
    pub remembered: Option<String>,
    /// The `Accept-Language` header.
    pub accept_language: Option<String>,
}

/// The language to answer in (see the module documentation for the order).
pub fn negotiate<S: AsRef<str>>(
    supported: &[S],
    prefs: &Preferences,
    tenant_default: Option<&str>,
) -> String {
    if let Some(l) = prefs
        .ui_locales
        .as_deref()
        .and_then(|u| pick(supported, u.split_whitespace()))
    {
        return l;
    }
    if let Some(l) = prefs
        .remembered
        .as_deref()
        .and_then(|r| pick(supported, [r]))
    {
        return l;
    }
    if let Some(h) = &prefs.accept_language {
        let tags = accept_language(h);
        if let Some(l) = pick(supported, tags.iter().map(String::as_str)) {
            return l;
        }
    }
    if let Some(l) = tenant_default.and_then(|d| pick(supported, [d])) {
        return l;
    }
    FALLBACK.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUPPORTED: &[&str] = &["en", "de", "pt-BR"];

    fn prefs(ui: Option<&str>, cookie: Option<&str>, accept: Option<&str>) -> Preferences {
        Preferences {
            ui_locales: ui.map(str::to_string),
            remembered: cookie.map(str::to_string),
            accept_language: accept.map(str::to_string),
        }
    }

    #[test]
    fn ui_locales_beat_accept_language_beats_tenant_default() {
        let p = prefs(Some("de"), None, Some("en-US,en;q=0.9"));
        assert_eq!(negotiate(SUPPORTED, &p, Some("en")), "de");
        let p = prefs(None, None, Some("de-DE,de;q=0.9,en;q=0.5"));
        assert_eq!(negotiate(SUPPORTED, &p, Some("en")), "de");
        let p = prefs(None, None, None);
        assert_eq!(negotiate(SUPPORTED, &p, Some("de")), "de");
        assert_eq!(negotiate(SUPPORTED, &p, None), "en");
        // The remembered choice is an explicit one too: it beats the browser.
        let p = prefs(None, Some("de"), Some("en"));
        assert_eq!(negotiate(SUPPORTED, &p, None), "de");
        // … but this request's ui_locales beat the remembered one.
        let p = prefs(Some("en"), Some("de"), None);
        assert_eq!(negotiate(SUPPORTED, &p, None), "en");
    }

    #[test]
    fn ui_locales_is_a_list_in_order_of_preference() {
        let p = prefs(Some("fr-CA fr de en"), None, None);
        assert_eq!(negotiate(SUPPORTED, &p, None), "de");
        let p = prefs(Some("fr ja"), None, Some("de"));
        assert_eq!(
            negotiate(SUPPORTED, &p, None),
            "de",
            "nothing usable: next step"
        );
    }

    #[test]
    fn q_values_order_the_accept_language_header() {
        assert_eq!(
            accept_language("en;q=0.3, de;q=0.8, fr"),
            vec!["fr", "de", "en"]
        );
        let p = prefs(None, None, Some("en;q=0.3, de;q=0.8, fr"));
        assert_eq!(negotiate(SUPPORTED, &p, None), "de");
        // q=0 means "not this one"; malformed entries are dropped.
        assert_eq!(
            accept_language("de;q=0, en;q=abc, pt-BR;q=0.5"),
            vec!["pt-BR"]
        );
        let p = prefs(None, None, Some("de;q=0, fr"));
        assert_eq!(negotiate(SUPPORTED, &p, Some("pt-BR")), "pt-BR");
        // Equal q-values keep header order.
        assert_eq!(accept_language("de;q=0.5, en;q=0.5"), vec!["de", "en"]);
    }

    #[test]
    fn regions_and_unknown_locales_fall_back() {
        assert_eq!(pick(SUPPORTED, ["de-AT"]).as_deref(), Some("de"));
        assert_eq!(pick(SUPPORTED, ["DE"]).as_deref(), Some("de"));
        assert_eq!(pick(SUPPORTED, ["pt_br"]).as_deref(), Some("pt-BR"));
        assert_eq!(pick(SUPPORTED, ["pt"]).as_deref(), Some("pt-BR"));
        assert_eq!(pick(SUPPORTED, ["xx", "*", ""]), None);
        let p = prefs(Some("xx"), Some("../../etc"), Some("zz, *"));
        assert_eq!(negotiate(SUPPORTED, &p, Some("yy")), "en");
    }
}
