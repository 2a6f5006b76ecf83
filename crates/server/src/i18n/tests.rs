use std::path::{Path, PathBuf};

use super::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every string literal key in `calls` like `t("key"` found in `text`.
fn keys_called(text: &str, calls: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for call in calls {
        let needle = format!("{call}(\"");
        let mut rest = text;
        while let Some(i) = rest.find(&needle) {
            // `t(` must not be the end of a longer name (`set(`, `sort(`).
            let before = rest[..i].chars().last();
            rest = &rest[i + needle.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(end) = rest.find('"') {
                out.push(rest[..end].to_string());
            }
        }
    }
    out
}

fn files_under(dir: &Path, ext: &[&str], out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, ext, out);
        } else if p.extension().is_some_and(|x| ext.iter().any(|e| x == *e)) {
            out.push(p);
        }
    }
}

#[test]
fn the_embedded_translations_parse_and_english_and_german_have_the_same_keys() {
    let c = Catalog::embedded();
    assert!(c.locales().contains(&"en") && c.locales().contains(&"de"));
    let en = c.keys("en");
    let de = c.keys("de");
    assert!(en.len() > 150, "{}", en.len());
    let only_en: Vec<_> = en.difference(&de).collect();
    let only_de: Vec<_> = de.difference(&en).collect();
    assert!(only_en.is_empty(), "missing in German: {only_en:?}");
    assert!(only_de.is_empty(), "missing in English: {only_de:?}");
}

#[test]
fn every_key_used_in_templates_and_code_exists_in_english_and_german() {
    let c = Catalog::embedded();
    let mut files = Vec::new();
    files_under(
        &repo().join("templates"),
        &["html", "txt", "inc"],
        &mut files,
    );
    let mut code = Vec::new();
    files_under(&repo().join("crates/server/src"), &["rs"], &mut code);
    let mut used = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        used.extend(
            keys_called(&text, &["t"])
                .into_iter()
                .map(|k| (k, f.clone())),
        );
    }
    for f in &code {
        if f.ends_with("i18n/tests.rs") || f.ends_with("i18n/mod.rs") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        used.extend(
            keys_called(&text, &["tr", "tr_args"])
                .into_iter()
                .map(|k| (k, f.clone())),
        );
    }
    assert!(used.len() > 200, "the scan finds the calls: {}", used.len());
    for locale in ["en", "de"] {
        let keys = c.keys(locale);
        let missing: Vec<_> = used
            .iter()
            .filter(|(k, _)| !keys.contains(k))
            .map(|(k, f)| format!("{k} ({})", f.display()))
            .collect();
        assert!(missing.is_empty(), "not in {locale}: {missing:#?}");
    }
}

#[test]
fn messages_format_with_arguments_plurals_and_fallbacks() {
    let c = Catalog::embedded();
    let mut a = FluentArgs::new();
    a.set("seconds", 30);
    assert_eq!(
        c.format("de", "login-error-throttled", Some(&a)),
        "Zu viele fehlgeschlagene Versuche. Versuchen Sie es in 30 Sekunden erneut."
    );
    let mut a = FluentArgs::new();
    a.set("days", 1);
    assert!(
        c.format("en", "mfa-remember", Some(&a))
            .ends_with("for 1 day")
    );
    a.set("days", 30);
    assert!(
        c.format("en", "mfa-remember", Some(&a))
            .ends_with("for 30 days")
    );
    // An unknown language falls back to English, an unknown key to itself.
    assert_eq!(c.format("xx", "login-title", None), "Sign in");
    assert_eq!(c.format("de", "no-such-key", None), "no-such-key");
}

fn render(source: &str, ctx: minijinja::Value) -> String {
    let mut env = minijinja::Environment::new();
    install(&mut env);
    env.add_template("x.html", source).unwrap();
    env.get_template("x.html").unwrap().render(ctx).unwrap()
}

#[test]
fn the_template_function_uses_the_context_language_and_escapes() {
    let c = Arc::new(Catalog::embedded());
    let ctx = |locale: &str, product: &str| {
        minijinja::context! {
            lang => locale,
            i18n => Translator::new(c.clone(), locale, product).into_value(),
            email => "<b>x</b>@example.com",
        }
    };
    assert_eq!(
        render(r#"{{ t("login-title") }}"#, ctx("de", "Acme")),
        "Anmelden"
    );
    assert_eq!(
        render(r#"{{ t("login-title") }}"#, ctx("en", "Acme")),
        "Sign in"
    );
    // Arguments; $product comes by itself.
    assert_eq!(
        render(r#"{{ t("magic-link-subject") }}"#, ctx("de", "Acme & Co")),
        "Bei Acme &amp; Co anmelden"
    );
    assert_eq!(
        render(r#"{{ t("password-hint", min=12) }}"#, ctx("en", "Acme")),
        "At least 12 characters. A few unrelated words make a strong password."
    );
    // -html messages keep their markup and escape their arguments.
    let html = render(
        r#"{{ t("check-email-register-html", email=email) }}"#,
        ctx("en", "Acme"),
    );
    assert!(
        html.contains("<strong>&lt;b&gt;x&lt;/b&gt;@example.com</strong>"),
        "{html}"
    );
    // Other messages are escaped as a whole.
    let mut env = minijinja::Environment::new();
    install(&mut env);
    env.add_template("y.html", r#"{{ t("consent-heading", client=c) }}"#)
        .unwrap();
    let out = env
        .get_template("y.html")
        .unwrap()
        .render(minijinja::context! { c => "<i>App</i>" })
        .unwrap();
    assert!(!out.contains("<i>"), "{out}");
    // A missing argument value is an error in a strict environment (emails), not a blank.
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
    install(&mut env);
    env.add_template("z.txt", r#"{{ t("password-hint", min=nothing) }}"#)
        .unwrap();
    assert!(
        env.get_template("z.txt")
            .unwrap()
            .render(minijinja::context! {})
            .is_err()
    );
}

#[test]
fn an_operator_folder_overrides_strings_and_adds_languages() {
    let dir = std::env::temp_dir().join(format!("tessera-locales-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("de")).unwrap();
    std::fs::create_dir_all(dir.join("fr")).unwrap();
    std::fs::write(dir.join("de/custom.ftl"), "login-title = Einloggen\n").unwrap();
    std::fs::write(dir.join("fr/pages.ftl"), "login-title = Connexion\n").unwrap();
    let c = Catalog::load(Some(&dir)).unwrap();
    assert_eq!(c.format("de", "login-title", None), "Einloggen");
    assert_eq!(
        c.format("de", "login-submit", None),
        "Anmelden",
        "the rest stays"
    );
    assert_eq!(c.format("fr", "login-title", None), "Connexion");
    assert_eq!(
        c.format("fr", "login-submit", None),
        "Sign in",
        "an incomplete language falls back to English"
    );
    assert!(c.locales().contains(&"fr"));

    std::fs::write(
        dir.join("de/broken.ftl"),
        "ok = fine\n\n= no identifier\nlater = fine\n",
    )
    .unwrap();
    let e = Catalog::load(Some(&dir)).unwrap_err();
    assert!(e.contains("broken.ftl:3:"), "{e}");
    std::fs::remove_file(dir.join("de/broken.ftl")).unwrap();

    std::fs::create_dir_all(dir.join("not a language")).unwrap();
    let e = Catalog::load(Some(&dir)).unwrap_err();
    assert!(e.contains("language tags"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn outside_a_request_messages_are_english() {
    assert_eq!(current_locale(), "en");
    assert_eq!(tr("login-error-invalid"), "Incorrect email or password.");
    assert_eq!(
        tr_args("login-error-throttled", &[("seconds", 5.into())]),
        "Too many failed attempts. Try again in 5 seconds."
    );
}

#[tokio::test]
async fn inside_a_request_the_negotiated_language_and_tenant_default_apply() {
    let ctx = Arc::new(RequestLocale {
        catalog: Arc::new(Catalog::embedded()),
        prefs: Preferences {
            ui_locales: None,
            remembered: None,
            accept_language: Some("fr, ja;q=0.5".into()),
        },
        asked: Mutex::new(None),
        tenant_default: Mutex::new(None),
    });
    REQUEST
        .scope(ctx.clone(), async {
            assert_eq!(current_locale(), "en");
            let mut t = tessera_core::tenant::Tenant::new(
                "acme",
                None,
                tessera_core::tenant::Preset::Customer,
                time::OffsetDateTime::now_utc(),
            )
            .unwrap();
            t.settings.branding.default_locale = Some("de".into());
            set_tenant(&t);
            assert_eq!(tr("login-title"), "Anmelden");
            ask("en-GB");
            assert_eq!(current_locale(), "en");
        })
        .await;
    assert_eq!(ctx.to_remember().as_deref(), Some("en"));
}
