//! The domain's validation messages in the request's language.
//!
//! `tessera-core` words its form problems (registration fields, password policy) in English, for
//! logs and the admin API. The pages show them translated: a refused password by its
//! [`PasswordProblem`], a registration problem by the shapes `validate_registration` produces
//! (pinned by the tests below, so a change of wording in the core is noticed). A message of no
//! known shape stays as the core wrote it.

use fluent_bundle::FluentValue;
use tessera_core::password_policy::{PasswordProblem, PasswordRejection};
use tessera_core::registration::FieldProblem;

use super::{current_locale, tr, tr_args};

/// Whether the response is in English (where the core's own wording, with zxcvbn's English
/// advice, is kept in full).
fn english() -> bool {
    current_locale()
        .split('-')
        .next()
        .is_some_and(|l| l.eq_ignore_ascii_case("en"))
}

/// A refused password, for the page.
pub fn password_rejection(r: &PasswordRejection) -> String {
    let main = match &r.problem {
        PasswordProblem::TooShort { min } => {
            tr_args("password-too-short", &[("min", (*min as u64).into())])
        }
        PasswordProblem::TooLong { max } => {
            tr_args("password-too-long", &[("max", (*max as u64).into())])
        }
        PasswordProblem::Common => tr("password-common"),
        PasswordProblem::TooWeak { .. } => tr("password-too-weak"),
    };
    if !english() {
        // zxcvbn's warnings and suggestions exist in English only.
        return main;
    }
    let mut out = main;
    if let PasswordProblem::TooWeak {
        warning: Some(w), ..
    } = &r.problem
    {
        out.push(' ');
        out.push_str(w);
    }
    for s in &r.suggestions {
        out.push(' ');
        out.push_str(s);
    }
    out
}

/// Text between the typographic quotes the core puts around a custom field's label.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('\u{201c}')? + '\u{201c}'.len_utf8();
    let end = message[start..].find('\u{201d}')? + start;
    Some(&message[start..end])
}

/// One problem of the sign-up form (or of a form that reuses its checks), for the page.
pub fn field_problem(p: &FieldProblem) -> String {
    let m = p.message.as_str();
    let arg = |k: &'static str, v: &str| -> (&'static str, FluentValue<'static>) {
        (k, v.to_string().into())
    };
    if m == "Enter a valid email address, such as name@example.com." {
        return tr("msg-enter-valid-email");
    }
    if m == "Accept the terms of service to create an account." {
        return tr("reg-accept-terms");
    }
    if m == "Enter your date of birth as YYYY-MM-DD (for example 1990-04-23)." {
        return tr("reg-birthdate-format");
    }
    if m == "You are not old enough to create an account here." {
        return tr("reg-too-young");
    }
    if let Some(rest) = m.strip_prefix("Addresses at ") {
        let domain = rest.split(' ').next().unwrap_or("");
        if m.ends_with("cannot be used to register here. Use another email address.") {
            return tr_args("reg-domain-refused", &[arg("domain", domain)]);
        }
        if m.contains("are disposable (temporary) addresses") {
            return tr_args("reg-domain-disposable", &[arg("domain", domain)]);
        }
    }
    if m.starts_with("Enter your ") {
        let key = match p.field.as_str() {
            "name" => Some("reg-enter-name"),
            "given_name" => Some("reg-enter-given-name"),
            "family_name" => Some("reg-enter-family-name"),
            "phone" => Some("reg-enter-phone"),
            "birthdate" => Some("reg-enter-birthdate"),
            _ => None,
        };
        if let Some(k) = key {
            return tr(k);
        }
    }
    if p.field.starts_with("attr_")
        && let Some(label) = quoted(m)
    {
        let with_label = |key: &str| tr_args(key, &[arg("label", label)]);
        if m.starts_with("Tick ") {
            return with_label("reg-attr-tick");
        }
        if m.starts_with("Fill in ") {
            return with_label("reg-attr-fill");
        }
        if m.ends_with("must be a number.") {
            return with_label("reg-attr-number");
        }
        if m.ends_with("must be a date as YYYY-MM-DD.") {
            return with_label("reg-attr-date");
        }
        if m.ends_with("must not contain control characters.") {
            return with_label("reg-attr-control");
        }
        if m.starts_with("Choose one of the offered values") {
            return with_label("reg-attr-choose");
        }
        if m.ends_with("is not in the expected format.") {
            return with_label("reg-attr-format");
        }
        if let Some(max) = m
            .strip_suffix(" characters.")
            .and_then(|r| r.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
        {
            return tr_args(
                "reg-attr-too-long",
                &[arg("label", label), ("max", max.into())],
            );
        }
    }
    m.to_string()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tessera_core::password_policy::PasswordPolicy;
    use tessera_core::registration::{
        AttributeType, CustomAttribute, FieldRequirement, RegistrationInput, RegistrationSettings,
        TermsSettings, validate_registration,
    };

    use super::super::{Catalog, Preferences, REQUEST, RequestLocale};
    use super::*;

    async fn in_german<T>(f: impl FnOnce() -> T) -> T {
        let ctx = Arc::new(RequestLocale {
            catalog: Arc::new(Catalog::embedded()),
            prefs: Preferences {
                ui_locales: Some("de".into()),
                ..Default::default()
            },
            asked: Mutex::new(None),
            tenant_default: Mutex::new(None),
        });
        REQUEST.scope(ctx, async move { f() }).await
    }

    fn settings() -> RegistrationSettings {
        let mut s = RegistrationSettings::default();
        s.fields.name = FieldRequirement::Required;
        s.fields.given_name = FieldRequirement::Required;
        s.fields.family_name = FieldRequirement::Required;
        s.fields.phone = FieldRequirement::Required;
        s.fields.birthdate = FieldRequirement::Required;
        s.terms = Some(TermsSettings {
            url: "https://shop.test/terms".into(),
            version: "1".into(),
        });
        s
    }

    fn attribute(name: &str, kind: AttributeType, extra: serde_json::Value) -> CustomAttribute {
        let mut v = serde_json::json!({
            "name": name, "label": "Loyalty No", "type": kind_name(kind), "required": true
        });
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        serde_json::from_value(v).expect("a custom attribute")
    }

    fn kind_name(k: AttributeType) -> &'static str {
        match k {
            AttributeType::String => "string",
            AttributeType::Number => "number",
            AttributeType::Boolean => "boolean",
            AttributeType::Date => "date",
        }
    }

    fn problems(s: &RegistrationSettings, input: &RegistrationInput) -> Vec<FieldProblem> {
        validate_registration(
            s,
            tessera_core::TenantId::new(),
            input,
            time::OffsetDateTime::now_utc(),
        )
        .expect_err("the form is refused")
    }

    #[tokio::test]
    async fn every_registration_problem_of_the_core_is_translated() {
        let mut s = settings();
        s.custom_attributes = vec![
            attribute("a", AttributeType::Boolean, serde_json::json!({})),
            attribute("b", AttributeType::String, serde_json::json!({})),
            attribute("c", AttributeType::Number, serde_json::json!({})),
            attribute("d", AttributeType::Date, serde_json::json!({})),
            attribute(
                "e",
                AttributeType::String,
                serde_json::json!({"max_length": 3}),
            ),
            attribute(
                "f",
                AttributeType::String,
                serde_json::json!({"allowed_values": ["x", "y"]}),
            ),
            attribute(
                "g",
                AttributeType::String,
                serde_json::json!({"required": false}),
            ),
            attribute(
                "h",
                AttributeType::String,
                serde_json::json!({"pattern": "^[0-9]+$"}),
            ),
        ];
        let empty = RegistrationInput {
            email: "not an address".into(),
            ..Default::default()
        };
        let mut bad = RegistrationInput {
            email: "ann@shop.test".into(),
            name: "Ann".into(),
            given_name: "Ann".into(),
            family_name: "Lee".into(),
            phone: "+4930123456".into(),
            birthdate: "23.04.1990".into(),
            accept_terms: true,
            ..Default::default()
        };
        for (k, v) in [
            ("a", "on"),
            ("b", "ok"),
            ("c", "many"),
            ("d", "soon"),
            ("e", "long"),
            ("f", "z"),
            ("g", "a\u{7}"),
            ("h", "abc"),
        ] {
            bad.attributes.insert(k.into(), v.into());
        }
        let mut all = problems(&s, &empty);
        all.extend(problems(&s, &bad));
        s.custom_attributes.clear();
        s.denied_email_domains = vec!["blocked.test".into()];
        s.block_disposable_emails = true;
        for email in ["a@blocked.test", "a@mailinator.com"] {
            let input = RegistrationInput {
                email: email.into(),
                ..bad.clone()
            };
            all.extend(problems(&s, &input));
        }
        assert!(all.len() >= 16, "{all:#?}");
        let translated = in_german(|| all.iter().map(field_problem).collect::<Vec<_>>()).await;
        for (p, t) in all.iter().zip(&translated) {
            assert_ne!(&p.message, t, "not translated: {p:?}");
        }
        assert!(
            translated.iter().any(|t| t.contains("„Loyalty No“")),
            "{translated:#?}"
        );
        // In English the words stay the core's own.
        for p in &all {
            assert_eq!(field_problem(p), p.message, "{p:?}");
        }
    }

    #[tokio::test]
    async fn password_problems_are_translated() {
        let policy = PasswordPolicy::default();
        let short = policy.check("abc", &[]).unwrap_err();
        let common = policy.check("password1", &[]).unwrap_err();
        assert_eq!(password_rejection(&short), short.to_string());
        assert_eq!(password_rejection(&common), common.to_string());
        let (s, c) = in_german(|| (password_rejection(&short), password_rejection(&common))).await;
        assert!(s.starts_with("Dieses Passwort ist zu kurz"), "{s}");
        assert!(c.contains("häufig verwendeter Passwörter"), "{c}");
    }
}
