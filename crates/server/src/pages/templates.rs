//! The hosted pages' templates, embedded in the binary (one file to deploy) and rendered with
//! automatic HTML escaping.

use minijinja::Environment;

/// Every template shipped, by name. A test renders each one.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../../../templates/base.html")),
    (
        "federation_link.html",
        include_str!("../../../../templates/federation_link.html"),
    ),
    (
        "federation_identities.html",
        include_str!("../../../../templates/federation_identities.html"),
    ),
    (
        "login.html",
        include_str!("../../../../templates/login.html"),
    ),
    (
        "account.html",
        include_str!("../../../../templates/account.html"),
    ),
    (
        "account_email_confirm.html",
        include_str!("../../../../templates/account_email_confirm.html"),
    ),
    (
        "account_deleted.html",
        include_str!("../../../../templates/account_deleted.html"),
    ),
    (
        "logout.html",
        include_str!("../../../../templates/logout.html"),
    ),
    (
        "error.html",
        include_str!("../../../../templates/error.html"),
    ),
    (
        "consent.html",
        include_str!("../../../../templates/consent.html"),
    ),
    (
        "device.html",
        include_str!("../../../../templates/device.html"),
    ),
    ("mfa.html", include_str!("../../../../templates/mfa.html")),
    (
        "mfa_enroll.html",
        include_str!("../../../../templates/mfa_enroll.html"),
    ),
    (
        "mfa_recovery_codes.html",
        include_str!("../../../../templates/mfa_recovery_codes.html"),
    ),
    (
        "email_code.html",
        include_str!("../../../../templates/email_code.html"),
    ),
    (
        "email_link.html",
        include_str!("../../../../templates/email_link.html"),
    ),
    (
        "security.html",
        include_str!("../../../../templates/security.html"),
    ),
    (
        "register.html",
        include_str!("../../../../templates/register.html"),
    ),
    (
        "check_email.html",
        include_str!("../../../../templates/check_email.html"),
    ),
    (
        "verify_email.html",
        include_str!("../../../../templates/verify_email.html"),
    ),
    (
        "not_me.html",
        include_str!("../../../../templates/not_me.html"),
    ),
    (
        "forgot_password.html",
        include_str!("../../../../templates/forgot_password.html"),
    ),
    (
        "reset_password.html",
        include_str!("../../../../templates/reset_password.html"),
    ),
    (
        "reconsent.html",
        include_str!("../../../../templates/reconsent.html"),
    ),
    (
        "account_privacy.html",
        include_str!("../../../../templates/account_privacy.html"),
    ),
];

pub const STYLESHEET: &str = include_str!("../../../../static/tessera.css");

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn new() -> Result<Templates, String> {
        let mut env = Environment::new();
        // `.html` templates escape every value by default, so user data cannot inject markup.
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| format!("template {name} does not parse: {e}"))?;
        }
        crate::i18n::install(&mut env);
        Ok(Templates { env })
    }

    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_and_escapes() {
        let t = Templates::new().unwrap();
        let ctx = minijinja::context! {
            tenant_name => "<script>alert(1)</script>",
            static_base => "/static",
            issuer_path => "/t/acme",
            csrf_token => "tok",
            return_to => "",
            email => "a@b.c",
            error => "Incorrect email or password.",
            heading => "Oops",
            message => "m",
            signed_in_at => "2026-01-01T00:00:00Z",
        };
        for (name, _) in TEMPLATES {
            let html = t.render(name, ctx.clone()).unwrap();
            assert!(!html.contains("<script>alert(1)"), "{name} must escape");
        }
        let login = t.render("login.html", ctx).unwrap();
        assert!(login.contains("name=\"csrf_token\" value=\"tok\""));
        assert!(login.contains("<label for=\"email\">"));
    }
}
