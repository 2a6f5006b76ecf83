//! Translations of the hosted pages, their messages and the emails (Project Fluent, `.ftl`).
//!
//! - **Resources.** `locales/<locale>/*.ftl` are compiled into the binary (English and German);
//!   `TESSERA_LOCALES_DIR` names a folder of the same shape whose files are loaded at start-up
//!   over the embedded ones (a message defined there wins), and may add languages. A syntax
//!   error stops start-up with the file and line.
//! - **Templates** call `t("key")` or `t("key", minutes=10)`; the render context carries the
//!   translator of the response's language (`i18n`) and `lang`. Keys ending in `-html` hold
//!   markup written by the translator: their arguments are escaped, the result is not. Every
//!   message also gets `$product` (the tenant's product name or name) unless given.
//! - **Rust code** uses [`tr`] / [`tr_args`] for messages shown on pages (form errors): they use
//!   the language of the request being answered.
//! - **Which language**: see [`negotiate`]. The middleware [`middleware`] records what each
//!   request under `/t/{slug}/` says (`ui_locales` query parameter, `tessera_lang` cookie,
//!   `Accept-Language`) for the duration of the request; the tenant's default joins when the
//!   handler loads the tenant. An explicit `ui_locales` is remembered in the `tessera_lang`
//!   cookie, scoped to the tenant's path, so the later pages of a sign-in keep the language.
//!   Pages say their language in `<html lang>` and `Content-Language`.
//!
//! The request's preferences live in a task-local rather than in every handler's arguments: the
//! pages are many and owned by several modules, and each of them already loads its tenant
//! through [`crate::pages::load_tenant`], which completes the picture.

pub mod negotiate;
pub mod problems;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use minijinja::value::{Kwargs, Object, ValueKind};
use minijinja::{Error, ErrorKind, State as TemplateState, Value};
use tessera_core::tenant::Tenant;

pub use negotiate::{FALLBACK, Preferences};

use crate::state::AppState;

/// The cookie that remembers an explicit `ui_locales` choice, per tenant path.
pub const LANG_COOKIE: &str = "tessera_lang";
/// How long the choice is remembered.
const LANG_COOKIE_MAX_AGE_SECS: u64 = 365 * 24 * 3600;

/// The shipped translations: (locale, file, source).
pub const EMBEDDED: &[(&str, &str, &str)] = &[
    (
        "en",
        "pages.ftl",
        include_str!("../../../../locales/en/pages.ftl"),
    ),
    (
        "en",
        "messages.ftl",
        include_str!("../../../../locales/en/messages.ftl"),
    ),
    (
        "en",
        "emails.ftl",
        include_str!("../../../../locales/en/emails.ftl"),
    ),
    (
        "de",
        "pages.ftl",
        include_str!("../../../../locales/de/pages.ftl"),
    ),
    (
        "de",
        "messages.ftl",
        include_str!("../../../../locales/de/messages.ftl"),
    ),
    (
        "de",
        "emails.ftl",
        include_str!("../../../../locales/de/emails.ftl"),
    ),
    (
        "en",
        "account.ftl",
        include_str!("../../../../locales/en/account.ftl"),
    ),
    (
        "de",
        "account.ftl",
        include_str!("../../../../locales/de/account.ftl"),
    ),
    (
        "en",
        "privacy.ftl",
        include_str!("../../../../locales/en/privacy.ftl"),
    ),
    (
        "de",
        "privacy.ftl",
        include_str!("../../../../locales/de/privacy.ftl"),
    ),
];

type Bundle = FluentBundle<FluentResource>;

/// Every language's messages: the embedded ones, with the operator's on top.
pub struct Catalog {
    /// By locale as spelled in the folder name (`en`, `de`, `pt-BR`).
    bundles: BTreeMap<String, Bundle>,
    /// Message ids per locale (for checks and tests).
    keys: BTreeMap<String, BTreeSet<String>>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("locales", &self.locales())
            .finish()
    }
}

/// `file:line:column: problem` for the first syntax error of a resource.
fn parse(name: &str, source: String) -> Result<FluentResource, String> {
    FluentResource::try_new(source.clone()).map_err(|(_, errors)| {
        let e = &errors[0];
        let before = &source[..e.pos.start.min(source.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
        format!("{name}:{line}:{column}: {e}")
    })
}

fn message_ids(r: &FluentResource) -> impl Iterator<Item = String> + '_ {
    r.entries().filter_map(|e| match e {
        fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
        _ => None,
    })
}

impl Catalog {
    /// The embedded translations only.
    pub fn embedded() -> Catalog {
        Catalog::load(None).expect("the embedded translations parse (checked by a unit test)")
    }

    /// The embedded translations with `dir`'s `<locale>/*.ftl` over them.
    pub fn load(dir: Option<&Path>) -> Result<Catalog, String> {
        // (locale, name, resource, overrides?)
        let mut sources: Vec<(String, String, FluentResource, bool)> = Vec::new();
        for (locale, file, source) in EMBEDDED {
            let name = format!("locales/{locale}/{file} (embedded)");
            sources.push((
                locale.to_string(),
                name.clone(),
                parse(&name, source.to_string())?,
                false,
            ));
        }
        if let Some(dir) = dir {
            sources.extend(operator_resources(dir)?);
        }
        let mut bundles: BTreeMap<String, Bundle> = BTreeMap::new();
        let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (locale, name, resource, overriding) in sources {
            let langid: unic_langid::LanguageIdentifier = locale
                .parse()
                .map_err(|_| format!("{name}: {locale:?} is not a language tag"))?;
            keys.entry(locale.clone())
                .or_default()
                .extend(message_ids(&resource));
            let bundle = bundles.entry(locale.clone()).or_insert_with(|| {
                let mut b = Bundle::new_concurrent(vec![langid]);
                // Plain output: no Unicode isolation marks around arguments (they would end up
                // in subjects, plain-text emails and attribute values).
                b.set_use_isolating(false);
                b
            });
            if overriding {
                bundle.add_resource_overriding(resource);
            } else if let Err(errors) = bundle.add_resource(resource) {
                return Err(format!("{name}: {}", errors[0]));
            }
        }
        Ok(Catalog { bundles, keys })
    }

    /// The languages there are translations for.
    pub fn locales(&self) -> Vec<&str> {
        self.bundles.keys().map(String::as_str).collect()
    }

    /// The message ids of one language.
    pub fn keys(&self, locale: &str) -> BTreeSet<String> {
        self.keys.get(locale).cloned().unwrap_or_default()
    }

    /// `locale` as this catalog spells it, when there are translations for it.
    pub fn supported(&self, locale: &str) -> Option<String> {
        negotiate::pick(&self.locales(), [locale])
    }

    /// The message `key` in `locale` (else in English, else the key itself, logged).
    pub fn format(&self, locale: &str, key: &str, args: Option<&FluentArgs>) -> String {
        for l in [locale, FALLBACK] {
            let Some(bundle) = self.bundles.get(l) else {
                continue;
            };
            let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = vec![];
            let out = bundle.format_pattern(pattern, args, &mut errors);
            if !errors.is_empty() {
                tracing::warn!(key, locale = l, errors = ?errors, "a translation could not be fully formatted");
            }
            return out.into_owned();
        }
        tracing::warn!(key, locale, "no translation for this message");
        key.to_string()
    }
}

/// `dir/<locale>/*.ftl`, in name order.
fn operator_resources(dir: &Path) -> Result<Vec<(String, String, FluentResource, bool)>, String> {
    let read_dir =
        |p: &Path| std::fs::read_dir(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let mut locales: Vec<_> = read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .collect();
    locales.sort_by_key(|e| e.file_name());
    let mut out = Vec::new();
    for entry in locales {
        let locale = entry.file_name().to_string_lossy().to_string();
        if !tessera_core::branding::is_language_tag(&locale) {
            return Err(format!(
                "{}: folder names must be language tags such as de or pt-BR",
                entry.path().display()
            ));
        }
        let mut files: Vec<_> = read_dir(&entry.path())?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "ftl"))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let name = file.display().to_string();
            let resource = parse(&name, text)?;
            out.push((locale.clone(), name, resource, true));
        }
    }
    Ok(out)
}

/// The translations of the embedded resources, for code running outside a request (tests,
/// spawned tasks): English unless told otherwise.
fn embedded_catalog() -> Arc<Catalog> {
    static CATALOG: OnceLock<Arc<Catalog>> = OnceLock::new();
    CATALOG
        .get_or_init(|| Arc::new(Catalog::embedded()))
        .clone()
}

// --- the request's language -----------------------------------------------------------------

/// What the request being answered says about its language.
struct RequestLocale {
    catalog: Arc<Catalog>,
    prefs: Preferences,
    /// A `ui_locales` seen while handling the request (e.g. in a POSTed authorization request).
    asked: Mutex<Option<String>>,
    tenant_default: Mutex<Option<String>>,
}

impl RequestLocale {
    fn locale(&self) -> String {
        let mut prefs = self.prefs.clone();
        if let Some(a) = lock(&self.asked).clone() {
            prefs.ui_locales = Some(a);
        }
        let default = lock(&self.tenant_default).clone();
        negotiate::negotiate(&self.catalog.locales(), &prefs, default.as_deref())
    }

    /// The explicit choice to remember in the cookie, if this request made one.
    fn to_remember(&self) -> Option<String> {
        let asked = lock(&self.asked)
            .clone()
            .or_else(|| self.prefs.ui_locales.clone())?;
        negotiate::pick(&self.catalog.locales(), asked.split_whitespace())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

tokio::task_local! {
    static REQUEST: Arc<RequestLocale>;
}

/// The language of the response being built: negotiated for the request under way, with the
/// tenant's default; `en` outside a request.
pub fn current_locale() -> String {
    REQUEST
        .try_with(|r| r.locale())
        .unwrap_or_else(|_| FALLBACK.to_string())
}

/// Makes the tenant's default language part of the negotiation of this request.
pub fn set_tenant(tenant: &Tenant) {
    let _ = REQUEST.try_with(|r| {
        *lock(&r.tenant_default) = tenant.settings.branding.default_locale.clone();
    });
}

/// Records a `ui_locales` found inside the request (an authorization request's parameter).
pub fn ask(ui_locales: &str) {
    if ui_locales.trim().is_empty() {
        return;
    }
    let _ = REQUEST.try_with(|r| {
        *lock(&r.asked) = Some(ui_locales.chars().take(100).collect());
    });
}

/// The language to render `tenant`'s page or email in: the request's, else the tenant's default.
pub fn locale_for(catalog: &Catalog, tenant: &Tenant) -> String {
    set_tenant(tenant);
    match REQUEST.try_with(|r| r.locale()) {
        Ok(l) => l,
        Err(_) => negotiate::negotiate(
            &catalog.locales(),
            &Preferences::default(),
            tenant.settings.branding.default_locale.as_deref(),
        ),
    }
}

fn request_catalog() -> Arc<Catalog> {
    REQUEST
        .try_with(|r| r.catalog.clone())
        .unwrap_or_else(|_| embedded_catalog())
}

/// A message in the language of the request being answered.
pub fn tr(key: &str) -> String {
    request_catalog().format(&current_locale(), key, None)
}

/// [`tr`] with arguments, e.g. `tr_args("login-throttled", &[("seconds", secs.into())])`.
pub fn tr_args(key: &str, args: &[(&str, FluentValue<'static>)]) -> String {
    let mut a = FluentArgs::new();
    for (k, v) in args {
        a.set(*k, v.clone());
    }
    request_catalog().format(&current_locale(), key, Some(&a))
}

/// `fut` with the language preferences of the request under way, for work a handler spawns
/// (e.g. mails sent after the answer, so timing does not reveal whether an account exists).
pub fn carry<F: std::future::Future>(fut: F) -> impl std::future::Future<Output = F::Output> {
    let ctx = REQUEST.try_with(|r| r.clone()).ok();
    async move {
        match ctx {
            Some(c) => REQUEST.scope(c, fut).await,
            None => fut.await,
        }
    }
}

/// Runs every request under `/t/{slug}/` with its language preferences at hand, and remembers
/// an explicit `ui_locales` in the tenant's `tessera_lang` cookie.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let Some(slug) = path
        .strip_prefix("/t/")
        .and_then(|rest| rest.split('/').next())
        .filter(|s| tessera_core::tenant::validate_slug(s).is_ok())
        .map(str::to_string)
    else {
        return next.run(req).await;
    };
    let ui_locales = req.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "ui_locales")
            .map(|(_, v)| v.chars().take(100).collect::<String>())
    });
    let remembered = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == LANG_COOKIE)
        .map(|(_, v)| v.chars().take(35).collect::<String>());
    let accept_language = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(1000).collect::<String>());
    let ctx = Arc::new(RequestLocale {
        catalog: state.services.i18n.clone(),
        prefs: Preferences {
            ui_locales,
            remembered: remembered.clone(),
            accept_language,
        },
        asked: Mutex::new(None),
        tenant_default: Mutex::new(None),
    });
    let mut resp = REQUEST.scope(ctx.clone(), next.run(req)).await;
    let is_page = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_page
        && !resp.headers().contains_key(header::CONTENT_LANGUAGE)
        && let Ok(v) = HeaderValue::from_str(&ctx.locale())
    {
        resp.headers_mut().insert(header::CONTENT_LANGUAGE, v);
    }
    if let Some(choice) = ctx.to_remember()
        && remembered.as_deref() != Some(choice.as_str())
    {
        let secure = if state.services.config.secure_cookies() {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!(
            "{LANG_COOKIE}={choice}; Path={}; Max-Age={LANG_COOKIE_MAX_AGE_SECS}; HttpOnly; SameSite=Lax{secure}",
            crate::pages::issuer_path(&slug)
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

// --- templates -------------------------------------------------------------------------------

/// The translator a render context carries as `i18n`.
#[derive(Debug)]
pub struct Translator {
    catalog: Arc<Catalog>,
    locale: String,
    /// `$product` for every message: the name people see.
    product: String,
}

impl Object for Translator {}

impl Translator {
    pub fn new(catalog: Arc<Catalog>, locale: &str, product: &str) -> Translator {
        Translator {
            catalog,
            locale: locale.to_string(),
            product: product.to_string(),
        }
    }

    pub fn into_value(self) -> Value {
        Value::from_object(self)
    }
}

/// Escapes `&<>"'` for HTML text and attribute values.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// The template function `t(key, name=value…)`.
pub fn template_t(state: &TemplateState, key: &str, kwargs: Kwargs) -> Result<Value, Error> {
    let looked_up = state.lookup("i18n");
    let fallback;
    let translator = match looked_up
        .as_ref()
        .and_then(|v| v.downcast_object_ref::<Translator>())
    {
        Some(t) => t,
        None => {
            let product = state
                .lookup("tenant_name")
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let locale = state
                .lookup("lang")
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| FALLBACK.to_string());
            fallback = Translator::new(embedded_catalog(), &locale, &product);
            &fallback
        }
    };
    let markup = key.ends_with("-html");
    let mut args = FluentArgs::new();
    let product = &translator.product;
    args.set(
        "product",
        if markup {
            escape_html(product)
        } else {
            product.clone()
        },
    );
    for name in kwargs.args() {
        let v: Value = kwargs.get(name)?;
        let fv: FluentValue = match v.kind() {
            // Where the environment is strict about missing values (emails), so is `t`; in a
            // lenient one (pages) a missing value prints as nothing, as `{{ value }}` would.
            ValueKind::Undefined | ValueKind::None
                if state.undefined_behavior() != minijinja::UndefinedBehavior::Lenient =>
            {
                return Err(Error::new(
                    ErrorKind::UndefinedError,
                    format!("t({key:?}): the argument {name} has no value"),
                ));
            }
            ValueKind::Undefined | ValueKind::None => String::new().into(),
            ValueKind::Number => match v.as_i64() {
                Some(i) => i.into(),
                None => f64::try_from(v.clone()).unwrap_or(0.0).into(),
            },
            _ => {
                let s = v.to_string();
                if markup { escape_html(&s) } else { s }.into()
            }
        };
        args.set(name.to_string(), fv);
    }
    kwargs.assert_all_used()?;
    let text = translator
        .catalog
        .format(&translator.locale, key, Some(&args));
    Ok(if markup {
        Value::from_safe_string(text)
    } else {
        Value::from(text)
    })
}

/// Adds `t` to a template environment.
pub fn install(env: &mut minijinja::Environment<'_>) {
    env.add_function("t", template_t);
}

#[cfg(test)]
mod tests;
