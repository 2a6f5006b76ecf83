//! Email templates, embedded in the binary like the page templates: `templates/email/<name>.txt`
//! (required) and `templates/email/<name>.html` (optional), rendered with minijinja.
//!
//! The text template's first line is the subject, `Subject: …`, followed by one empty line and
//! the body. `.html` templates escape every value; `.txt` templates do not (they are plain
//! text, never shown as markup). Printing a variable the caller did not give is an error
//! (minijinja's semi-strict undefined), so a message is never sent with a blank code or link;
//! `{% if link %}` still works for optional values (an absent one counts as false).

use std::sync::OnceLock;

use minijinja::{Environment, UndefinedBehavior};

/// Every email template shipped, by name. A test renders each one.
pub const EMAIL_TEMPLATES: &[(&str, &str)] = &[
    (
        "email/base.html",
        include_str!("../../../../templates/email/base.html"),
    ),
    (
        "email/footer.inc",
        include_str!("../../../../templates/email/footer.inc"),
    ),
    (
        "email/test.txt",
        include_str!("../../../../templates/email/test.txt"),
    ),
    (
        "email/test.html",
        include_str!("../../../../templates/email/test.html"),
    ),
    (
        "email/sign_in.txt",
        include_str!("../../../../templates/email/sign_in.txt"),
    ),
    (
        "email/sign_in.html",
        include_str!("../../../../templates/email/sign_in.html"),
    ),
    (
        "email/email_code.txt",
        include_str!("../../../../templates/email/email_code.txt"),
    ),
    (
        "email/email_code.html",
        include_str!("../../../../templates/email/email_code.html"),
    ),
    (
        "email/magic_link.txt",
        include_str!("../../../../templates/email/magic_link.txt"),
    ),
    (
        "email/magic_link.html",
        include_str!("../../../../templates/email/magic_link.html"),
    ),
    (
        "email/verify_email.txt",
        include_str!("../../../../templates/email/verify_email.txt"),
    ),
    (
        "email/verify_email.html",
        include_str!("../../../../templates/email/verify_email.html"),
    ),
    (
        "email/new_sign_in.txt",
        include_str!("../../../../templates/email/new_sign_in.txt"),
    ),
    (
        "email/new_sign_in.html",
        include_str!("../../../../templates/email/new_sign_in.html"),
    ),
    (
        "email/password_reset.txt",
        include_str!("../../../../templates/email/password_reset.txt"),
    ),
    (
        "email/password_reset.html",
        include_str!("../../../../templates/email/password_reset.html"),
    ),
    (
        "email/verify_email_code.txt",
        include_str!("../../../../templates/email/verify_email_code.txt"),
    ),
    (
        "email/verify_email_code.html",
        include_str!("../../../../templates/email/verify_email_code.html"),
    ),
    (
        "email/registration_exists.txt",
        include_str!("../../../../templates/email/registration_exists.txt"),
    ),
    (
        "email/registration_exists.html",
        include_str!("../../../../templates/email/registration_exists.html"),
    ),
    (
        "email/password_changed.txt",
        include_str!("../../../../templates/email/password_changed.txt"),
    ),
    (
        "email/password_changed.html",
        include_str!("../../../../templates/email/password_changed.html"),
    ),
    (
        "email/recovery_passwordless.txt",
        include_str!("../../../../templates/email/recovery_passwordless.txt"),
    ),
    (
        "email/recovery_passwordless.html",
        include_str!("../../../../templates/email/recovery_passwordless.html"),
    ),
    (
        "email/account_email_change.txt",
        include_str!("../../../../templates/email/account_email_change.txt"),
    ),
    (
        "email/account_email_change.html",
        include_str!("../../../../templates/email/account_email_change.html"),
    ),
    (
        "email/account_email_change_notice.txt",
        include_str!("../../../../templates/email/account_email_change_notice.txt"),
    ),
    (
        "email/account_email_change_notice.html",
        include_str!("../../../../templates/email/account_email_change_notice.html"),
    ),
    (
        "email/account_email_taken.txt",
        include_str!("../../../../templates/email/account_email_taken.txt"),
    ),
    (
        "email/account_email_taken.html",
        include_str!("../../../../templates/email/account_email_taken.html"),
    ),
    (
        "email/account_password_changed.txt",
        include_str!("../../../../templates/email/account_password_changed.txt"),
    ),
    (
        "email/account_password_changed.html",
        include_str!("../../../../templates/email/account_password_changed.html"),
    ),
    (
        "email/account_deletion_scheduled.txt",
        include_str!("../../../../templates/email/account_deletion_scheduled.txt"),
    ),
    (
        "email/account_deletion_scheduled.html",
        include_str!("../../../../templates/email/account_deletion_scheduled.html"),
    ),
    (
        "email/account_deleted.txt",
        include_str!("../../../../templates/email/account_deleted.txt"),
    ),
    (
        "email/account_deleted.html",
        include_str!("../../../../templates/email/account_deleted.html"),
    ),
    (
        "email/retention_inactive_warning.txt",
        include_str!("../../../../templates/email/retention_inactive_warning.txt"),
    ),
    (
        "email/retention_inactive_warning.html",
        include_str!("../../../../templates/email/retention_inactive_warning.html"),
    ),
];

/// A rendered message without its recipient.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Rendered messages hold codes and links.
        f.write_str("Rendered(redacted)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("no email template named {0:?} (templates/email/{0}.txt)")]
    Unknown(String),
    #[error("the email template {name} could not be rendered: {detail}")]
    Render { name: String, detail: String },
}

/// The parsed templates, built once per process (they are compiled into the binary).
fn environment() -> Result<&'static Environment<'static>, TemplateError> {
    static ENV: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        crate::i18n::install(&mut env);
        for (name, source) in EMAIL_TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| format!("{name} does not parse: {e}"))?;
        }
        Ok(env)
    })
    .as_ref()
    .map_err(|detail| TemplateError::Render {
        name: "(all)".into(),
        detail: detail.clone(),
    })
}

/// Whether `name` is a safe template name: lowercase letters, digits and `_`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Renders `email/<name>.txt` and, when it exists, `email/<name>.html` with `ctx`.
pub fn render(name: &str, ctx: &minijinja::Value) -> Result<Rendered, TemplateError> {
    if !valid_name(name) {
        return Err(TemplateError::Unknown(name.into()));
    }
    let env = environment()?;
    let failed = |file: &str, e: minijinja::Error| TemplateError::Render {
        name: file.to_string(),
        detail: e.to_string(),
    };
    let text_name = format!("email/{name}.txt");
    let text_template = env
        .get_template(&text_name)
        .map_err(|_| TemplateError::Unknown(name.into()))?;
    let text = text_template
        .render(ctx)
        .map_err(|e| failed(&text_name, e))?;
    let (subject, body) = split_subject(&text).ok_or_else(|| TemplateError::Render {
        name: text_name.clone(),
        detail: "the first line must be `Subject: …`, followed by an empty line".into(),
    })?;
    let html_name = format!("email/{name}.html");
    let html = match env.get_template(&html_name) {
        Ok(t) => Some(t.render(ctx).map_err(|e| failed(&html_name, e))?),
        Err(_) => None,
    };
    Ok(Rendered {
        subject,
        text: body,
        html,
    })
}

/// `Subject: …\n\nbody` into the subject (trimmed, one line) and the body.
fn split_subject(text: &str) -> Option<(String, String)> {
    let (first, rest) = text.split_once('\n')?;
    let subject = first.strip_prefix("Subject:")?.trim();
    if subject.is_empty() {
        return None;
    }
    let body = rest
        .strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))?;
    let mut body = body.to_string();
    if !body.ends_with('\n') {
        body.push('\n');
    }
    Some((subject.to_string(), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(tenant_name: &str) -> minijinja::Value {
        minijinja::context! {
            tenant_name => tenant_name,
            tenant_slug => "acme",
            issuer => "https://id.example.com/t/acme",
            lang => "en",
            requested_at => "2026-06-02T10:00:00Z",
            code => "123456",
            link => "https://id.example.com/t/acme/verify?token=abc&x=<y>",
            expires_in_minutes => 10,
            new_email => "new@example.com",
            due_date => "2026-06-18",
            when => "2026-06-02 10:00 UTC",
            place => "DE",
            browser => "firefox/linux",
        }
    }

    #[test]
    fn every_template_renders_with_a_subject_and_escapes_html() {
        let names: Vec<&str> = EMAIL_TEMPLATES
            .iter()
            .filter_map(|(n, _)| n.strip_prefix("email/")?.strip_suffix(".txt"))
            .collect();
        assert!(names.contains(&"test") && names.len() >= 5, "{names:?}");
        for name in names {
            let r = render(name, &ctx("<b>Acme & Co</b>")).unwrap();
            assert!(!r.subject.is_empty() && !r.subject.contains('\n'), "{name}");
            assert!(!r.text.starts_with('\n'), "{name}");
            assert!(
                r.subject.contains("<b>Acme & Co</b>") || r.text.contains("<b>Acme & Co</b>"),
                "{name}: the text names the tenant"
            );
            let html = r.html.expect("every shipped template has an HTML variant");
            assert!(!html.contains("<b>Acme"), "{name}: HTML escapes values");
            assert!(html.contains("&lt;b&gt;Acme &amp; Co"), "{name}");
        }
        let r = render("email_code", &ctx("Acme")).unwrap();
        assert_eq!(r.subject, "123456 is your Acme sign-in code");
        assert!(r.text.contains("    123456\n"));
    }

    #[test]
    fn missing_values_and_unknown_names_are_errors() {
        let e = render("email_code", &minijinja::context! { tenant_name => "Acme" }).unwrap_err();
        assert!(matches!(e, TemplateError::Render { .. }), "{e}");
        assert!(matches!(
            render("nope", &ctx("Acme")),
            Err(TemplateError::Unknown(_))
        ));
        assert!(matches!(
            render("../base", &ctx("Acme")),
            Err(TemplateError::Unknown(_))
        ));
        assert!(matches!(
            render("base", &ctx("Acme")),
            Err(TemplateError::Unknown(_))
        ));
    }

    #[test]
    fn subject_line_is_required() {
        assert_eq!(
            split_subject("Subject: Hi\n\nBody"),
            Some(("Hi".into(), "Body\n".into()))
        );
        assert_eq!(split_subject("Hi\n\nBody"), None);
        assert_eq!(split_subject("Subject: Hi\nBody"), None);
        assert_eq!(split_subject("Subject:  \n\nBody"), None);
    }
}
