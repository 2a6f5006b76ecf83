//! Self-registration rules of a tenant (`settings.registration`): which profile fields the sign-up
//! form asks for, custom attributes and their validation, the terms to accept, which email domains
//! may register, and what an unverified email address may still do.
//!
//! Everything here is a pure decision on plain values; the hosted pages call it and act on the
//! answer.

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::user::{NewUser, User, validate_email};
use crate::{CoreError, TenantId, Timestamp};

/// The attribute that records which terms a person accepted and when (kept with the account, so
/// a data export shows it).
pub const TERMS_ATTRIBUTE: &str = "terms_accepted";
/// The attribute that holds the birthdate (`YYYY-MM-DD`) when the form asks for it.
pub const BIRTHDATE_ATTRIBUTE: &str = "birthdate";
/// The attribute set to `true` on an account registered below
/// `settings.registration.parental_consent_below`: it cannot sign in until an operator records
/// the parental consent (which replaces it with [`PARENTAL_CONSENT_ATTRIBUTE`]).
pub const PARENTAL_CONSENT_REQUIRED_ATTRIBUTE: &str = "parental_consent_required";
/// The attribute recording when and by whom a parental consent was recorded.
pub const PARENTAL_CONSENT_ATTRIBUTE: &str = "parental_consent";
/// The oldest minimum age a tenant may set.
const MAX_AGE_SETTING: u32 = 120;

const MAX_CUSTOM_ATTRIBUTES: usize = 20;
const MAX_ALLOWED_VALUES: usize = 100;
const MAX_PATTERN_CHARS: usize = 500;
const DEFAULT_MAX_LENGTH: u32 = 200;
const MAX_MAX_LENGTH: u32 = 1000;
const MAX_DOMAINS: usize = 1000;

/// The built-in list of disposable email domains: see `data/disposable-email-domains.txt` for its
/// source and licence and `scripts/gen-disposable-domains.sh` for how it is made.
const DISPOSABLE_DOMAINS_TXT: &str = include_str!("../data/disposable-email-domains.txt");

static DISPOSABLE_DOMAINS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    DISPOSABLE_DOMAINS_TXT
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// Whether a profile field appears on the sign-up form, and whether it must be filled in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldRequirement {
    #[default]
    Hidden,
    Optional,
    Required,
}

impl FieldRequirement {
    pub fn shown(self) -> bool {
        self != FieldRequirement::Hidden
    }
    pub fn required(self) -> bool {
        self == FieldRequirement::Required
    }
}

/// The standard profile fields of the sign-up form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileFields {
    pub name: FieldRequirement,
    pub given_name: FieldRequirement,
    pub family_name: FieldRequirement,
    pub phone: FieldRequirement,
    /// Stored as the `birthdate` attribute, `YYYY-MM-DD`.
    pub birthdate: FieldRequirement,
}

impl Default for ProfileFields {
    fn default() -> Self {
        ProfileFields {
            name: FieldRequirement::Optional,
            given_name: FieldRequirement::Hidden,
            family_name: FieldRequirement::Hidden,
            phone: FieldRequirement::Hidden,
            birthdate: FieldRequirement::Hidden,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttributeType {
    #[default]
    String,
    Number,
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
}

/// A tenant-defined field of the sign-up form, stored under `name` in the user's attributes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomAttribute {
    /// Attribute key: a lowercase letter, then lowercase letters, digits or `_` (at most 64).
    pub name: String,
    /// What the form shows next to the field.
    pub label: String,
    #[serde(rename = "type", default)]
    pub kind: AttributeType,
    /// For `boolean`, required means the box must be ticked.
    #[serde(default)]
    pub required: bool,
    /// Most characters of a `string` value (default 200, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// A regular expression the whole `string` value must match (linear-time engine, no
    /// look-around or back-references).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// When not empty, a `string` value must be one of these (the form shows a choice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<String>,
}

/// Terms of service a person must accept to register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermsSettings {
    /// Where the terms can be read (`https://…` or `http://…`).
    pub url: String,
    /// Recorded with each acceptance, so a new version can be told apart.
    pub version: String,
}

/// `settings.registration`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationSettings {
    pub fields: ProfileFields,
    pub custom_attributes: Vec<CustomAttribute>,
    pub terms: Option<TermsSettings>,
    /// When not empty, only these domains (and their subdomains) may register.
    pub allowed_email_domains: Vec<String>,
    /// These domains (and their subdomains) may not register.
    pub denied_email_domains: Vec<String>,
    /// Refuse the built-in list of disposable (throwaway) email domains.
    pub block_disposable_emails: bool,
    /// Whether an account whose email is not verified may sign in once its grace period is over.
    pub require_verified_email_to_sign_in: bool,
    /// Days after registration during which an unverified account may still sign in.
    pub unverified_grace_days: u32,
    /// Sign-up attempts accepted per client IP address and hour.
    pub max_attempts_per_ip_per_hour: u32,
    /// Age gate: people younger than this (in whole years, from the birthdate the form then
    /// asks for) cannot register. `None`: no minimum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_age: Option<u32>,
    /// People younger than this (and at least `minimum_age`) may register, but their account
    /// carries `parental_consent_required` and cannot sign in until an operator records the
    /// parental consent. `None`: never asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parental_consent_below: Option<u32>,
}

impl Default for RegistrationSettings {
    fn default() -> Self {
        RegistrationSettings {
            fields: ProfileFields::default(),
            custom_attributes: Vec::new(),
            terms: None,
            allowed_email_domains: Vec::new(),
            denied_email_domains: Vec::new(),
            block_disposable_emails: true,
            require_verified_email_to_sign_in: false,
            unverified_grace_days: 7,
            max_attempts_per_ip_per_hour: 20,
            minimum_age: None,
            parental_consent_below: None,
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> CoreError {
    CoreError::invalid(field, message)
}

fn valid_attribute_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn valid_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d == d.to_lowercase()
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
}

fn compile_pattern(p: &str) -> Result<regex::Regex, regex::Error> {
    // Anchored: the whole value must match, not a part of it.
    regex::RegexBuilder::new(&format!("^(?:{p})$"))
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
}

impl RegistrationSettings {
    /// Checks the settings (called by `TenantSettings::validate`).
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.custom_attributes.len() > MAX_CUSTOM_ATTRIBUTES {
            return Err(invalid(
                "settings.registration.custom_attributes",
                format!("at most {MAX_CUSTOM_ATTRIBUTES} custom attributes"),
            ));
        }
        let mut seen = HashSet::new();
        for a in &self.custom_attributes {
            let field = "settings.registration.custom_attributes";
            if !valid_attribute_name(&a.name) {
                return Err(invalid(
                    field,
                    format!(
                        "name {:?}: use a lowercase letter, then lowercase letters, digits or _ (at most 64)",
                        a.name
                    ),
                ));
            }
            if [
                TERMS_ATTRIBUTE,
                BIRTHDATE_ATTRIBUTE,
                PARENTAL_CONSENT_REQUIRED_ATTRIBUTE,
                PARENTAL_CONSENT_ATTRIBUTE,
            ]
            .contains(&a.name.as_str())
            {
                return Err(invalid(
                    field,
                    format!("name {:?} is reserved by Tessera", a.name),
                ));
            }
            if !seen.insert(a.name.as_str()) {
                return Err(invalid(field, format!("name {:?} appears twice", a.name)));
            }
            let label = a.label.trim();
            if label.is_empty()
                || label.chars().count() > 200
                || label.chars().any(char::is_control)
            {
                return Err(invalid(
                    field,
                    format!("{}: label must have 1-200 characters", a.name),
                ));
            }
            if let Some(m) = a.max_length
                && !(1..=MAX_MAX_LENGTH).contains(&m)
            {
                return Err(invalid(
                    field,
                    format!(
                        "{}: max_length must be between 1 and {MAX_MAX_LENGTH}",
                        a.name
                    ),
                ));
            }
            let text_only = a.kind == AttributeType::String;
            if !text_only
                && (a.pattern.is_some() || !a.allowed_values.is_empty() || a.max_length.is_some())
            {
                return Err(invalid(
                    field,
                    format!(
                        "{}: pattern, allowed_values and max_length apply to type string only",
                        a.name
                    ),
                ));
            }
            if let Some(p) = &a.pattern {
                if p.chars().count() > MAX_PATTERN_CHARS {
                    return Err(invalid(
                        field,
                        format!(
                            "{}: pattern must be at most {MAX_PATTERN_CHARS} characters",
                            a.name
                        ),
                    ));
                }
                if let Err(e) = compile_pattern(p) {
                    return Err(invalid(
                        field,
                        format!("{}: pattern is not a valid regular expression: {e}", a.name),
                    ));
                }
            }
            if a.allowed_values.len() > MAX_ALLOWED_VALUES
                || a.allowed_values
                    .iter()
                    .any(|v| v.trim().is_empty() || v.chars().count() > 200)
            {
                return Err(invalid(
                    field,
                    format!(
                        "{}: allowed_values takes at most {MAX_ALLOWED_VALUES} non-empty values of up to 200 characters",
                        a.name
                    ),
                ));
            }
        }
        if let Some(t) = &self.terms {
            let url_ok = url::Url::parse(&t.url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !url_ok || t.url.len() > 2048 {
                return Err(invalid(
                    "settings.registration.terms.url",
                    "must be an http(s) URL",
                ));
            }
            let v = t.version.trim();
            if v.is_empty() || v.len() > 64 || v.chars().any(char::is_control) {
                return Err(invalid(
                    "settings.registration.terms.version",
                    "must have 1-64 characters",
                ));
            }
        }
        for (field, list) in [
            (
                "settings.registration.allowed_email_domains",
                &self.allowed_email_domains,
            ),
            (
                "settings.registration.denied_email_domains",
                &self.denied_email_domains,
            ),
        ] {
            if list.len() > MAX_DOMAINS {
                return Err(invalid(field, format!("at most {MAX_DOMAINS} domains")));
            }
            if let Some(bad) = list.iter().find(|d| !valid_domain(d)) {
                return Err(invalid(
                    field,
                    format!("{bad:?} is not a lowercase domain name such as example.com"),
                ));
            }
        }
        if self.unverified_grace_days > 365 {
            return Err(invalid(
                "settings.registration.unverified_grace_days",
                "must be between 0 and 365",
            ));
        }
        for (field, age) in [
            ("settings.registration.minimum_age", self.minimum_age),
            (
                "settings.registration.parental_consent_below",
                self.parental_consent_below,
            ),
        ] {
            if age.is_some_and(|a| !(1..=MAX_AGE_SETTING).contains(&a)) {
                return Err(invalid(
                    field,
                    format!("must be between 1 and {MAX_AGE_SETTING} (years)"),
                ));
            }
        }
        if let (Some(min), Some(parental)) = (self.minimum_age, self.parental_consent_below)
            && parental <= min
        {
            return Err(invalid(
                "settings.registration.parental_consent_below",
                "must be above minimum_age (people from minimum_age up to this age need a parent's consent)",
            ));
        }
        if !(1..=10_000).contains(&self.max_attempts_per_ip_per_hour) {
            return Err(invalid(
                "settings.registration.max_attempts_per_ip_per_hour",
                "must be between 1 and 10000",
            ));
        }
        Ok(())
    }

    /// Whether the sign-up form asks for the birthdate: always required when an age gate
    /// (`minimum_age` or `parental_consent_below`) is set, else as `fields.birthdate` says.
    pub fn birthdate_requirement(&self) -> FieldRequirement {
        if self.minimum_age.is_some() || self.parental_consent_below.is_some() {
            FieldRequirement::Required
        } else {
            self.fields.birthdate
        }
    }

    /// Whether an address may register here: the allow-list, the deny-list and the built-in list
    /// of disposable domains. `Err` carries the message for the form.
    pub fn check_email_domain(&self, email: &str) -> Result<(), String> {
        let domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.trim().trim_end_matches('.').to_lowercase())
            .unwrap_or_default();
        let refused = || {
            Err(format!(
                "Addresses at {domain} cannot be used to register here. Use another email address."
            ))
        };
        if !self.allowed_email_domains.is_empty()
            && !self
                .allowed_email_domains
                .iter()
                .any(|d| domain_matches(&domain, d))
        {
            return refused();
        }
        if self
            .denied_email_domains
            .iter()
            .any(|d| domain_matches(&domain, d))
        {
            return refused();
        }
        if self.block_disposable_emails && is_disposable_domain(&domain) {
            return Err(format!(
                "Addresses at {domain} are disposable (temporary) addresses and cannot be used to register. Use a permanent email address."
            ));
        }
        Ok(())
    }
}

/// `domain` is `rule` or one of its subdomains.
fn domain_matches(domain: &str, rule: &str) -> bool {
    domain == rule
        || domain
            .strip_suffix(rule)
            .is_some_and(|head| head.ends_with('.'))
}

/// Whether the domain, or a domain it belongs to, is on the built-in disposable list.
pub fn is_disposable_domain(domain: &str) -> bool {
    let d = domain.trim().trim_end_matches('.').to_lowercase();
    let mut rest = d.as_str();
    loop {
        if DISPOSABLE_DOMAINS.contains(rest) {
            return true;
        }
        match rest.split_once('.') {
            Some((_, parent)) if parent.contains('.') => rest = parent,
            _ => return false,
        }
    }
}

/// What a person typed into the sign-up form (every value as text, as forms send it).
#[derive(Clone, Debug, Default)]
pub struct RegistrationInput {
    pub email: String,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub phone: String,
    pub birthdate: String,
    /// Custom attribute values by attribute name (a ticked checkbox sends any value).
    pub attributes: BTreeMap<String, String>,
    pub accept_terms: bool,
}

/// A problem with one field of the form, for the page to show beside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// The form field's name (`email`, `name`, `attr_<name>`, `accept_terms`…).
    pub field: String,
    pub message: String,
}

fn problem(field: impl Into<String>, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.into(),
        message: message.into(),
    }
}

/// Checks the whole form and builds the account to create (without its password). All problems
/// are reported at once, so the person fixes them in one go.
pub fn validate_registration(
    settings: &RegistrationSettings,
    tenant: TenantId,
    input: &RegistrationInput,
    now: Timestamp,
) -> Result<NewUser, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let email = match validate_email(&input.email) {
        Ok(e) => match settings.check_email_domain(&e) {
            Ok(()) => e,
            Err(m) => {
                problems.push(problem("email", m));
                String::new()
            }
        },
        Err(_) => {
            problems.push(problem(
                "email",
                "Enter a valid email address, such as name@example.com.",
            ));
            String::new()
        }
    };
    let f = &settings.fields;
    let mut text = |field: &'static str, label: &str, req: FieldRequirement, value: &str| {
        let v = value.trim();
        if !req.shown() {
            return None;
        }
        if v.is_empty() {
            if req.required() {
                problems.push(problem(field, format!("Enter your {label}.")));
            }
            return None;
        }
        Some(v.to_string())
    };
    let name = text("name", "name", f.name, &input.name);
    let given_name = text("given_name", "first name", f.given_name, &input.given_name);
    let family_name = text(
        "family_name",
        "last name",
        f.family_name,
        &input.family_name,
    );
    let phone = text("phone", "phone number", f.phone, &input.phone);
    let birthdate = text(
        "birthdate",
        "date of birth",
        settings.birthdate_requirement(),
        &input.birthdate,
    );

    let mut attributes = serde_json::Map::new();
    if let Some(b) = birthdate {
        match parse_date(&b) {
            Some(d) if d <= now.date() && d.year() >= 1900 => {
                let age = age_on(d, now.date());
                if settings.minimum_age.is_some_and(|min| age < min) {
                    // The same answer for every address: it says nothing about accounts.
                    problems.push(problem(
                        "birthdate",
                        "You are not old enough to create an account here.",
                    ));
                } else if settings.parental_consent_below.is_some_and(|p| age < p) {
                    attributes.insert(PARENTAL_CONSENT_REQUIRED_ATTRIBUTE.into(), true.into());
                }
                attributes.insert(BIRTHDATE_ATTRIBUTE.into(), b.into());
            }
            _ => problems.push(problem(
                "birthdate",
                "Enter your date of birth as YYYY-MM-DD (for example 1990-04-23).",
            )),
        }
    }
    for a in &settings.custom_attributes {
        let field = format!("attr_{}", a.name);
        let raw = input
            .attributes
            .get(&a.name)
            .map(|s| s.trim())
            .unwrap_or("");
        match custom_value(a, raw) {
            Ok(Some(v)) => {
                attributes.insert(a.name.clone(), v);
            }
            Ok(None) => {}
            Err(m) => problems.push(problem(field, m)),
        }
    }
    if let Some(t) = &settings.terms {
        if input.accept_terms {
            let at = now
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            attributes.insert(
                TERMS_ATTRIBUTE.into(),
                serde_json::json!({"version": t.version, "url": t.url, "accepted_at": at}),
            );
        } else {
            problems.push(problem(
                "accept_terms",
                "Accept the terms of service to create an account.",
            ));
        }
    }
    let new = NewUser {
        email,
        email_verified: false,
        name,
        given_name,
        family_name,
        phone,
        attributes: Some(serde_json::Value::Object(attributes)),
    };
    // The account's own rules (name lengths, phone format, attribute size) decide the rest.
    if problems.iter().all(|p| p.field != "email")
        && let Err(CoreError::Invalid { field, message }) =
            User::create(tenant, new.clone(), None, now)
    {
        let (form_field, label) = match field {
            "name" => ("name", "Name"),
            "given_name" => ("given_name", "First name"),
            "family_name" => ("family_name", "Last name"),
            "phone" => ("phone", "Phone number"),
            "email" => ("email", "Email"),
            _ => ("form", "The form"),
        };
        problems.push(problem(form_field, format!("{label} {message}.")));
    }
    if problems.is_empty() {
        Ok(new)
    } else {
        Err(problems)
    }
}

/// Whole years from `birth` to `today` (the birthday counts from its day; 29 February from
/// 1 March in other years).
pub fn age_on(birth: time::Date, today: time::Date) -> u32 {
    let mut years = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

/// Whether the account waits for a parental consent (and may not sign in until then).
pub fn parental_consent_pending(user: &User) -> bool {
    user.attributes
        .get(PARENTAL_CONSENT_REQUIRED_ATTRIBUTE)
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

fn parse_date(s: &str) -> Option<time::Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    if s.len() != 10 {
        return None;
    }
    time::Date::parse(s, fmt).ok()
}

/// The JSON value of one custom attribute, `None` when left empty (and allowed to be).
fn custom_value(a: &CustomAttribute, raw: &str) -> Result<Option<serde_json::Value>, String> {
    let label = a.label.trim();
    if a.kind == AttributeType::Boolean {
        // A checkbox sends a value only when ticked.
        let ticked = !raw.is_empty() && raw != "false" && raw != "0";
        if a.required && !ticked {
            return Err(format!("Tick \u{201c}{label}\u{201d} to continue."));
        }
        return Ok(Some(ticked.into()));
    }
    if raw.is_empty() {
        return if a.required {
            Err(format!("Fill in \u{201c}{label}\u{201d}."))
        } else {
            Ok(None)
        };
    }
    match a.kind {
        AttributeType::Number => match raw.parse::<f64>() {
            Ok(n) if n.is_finite() && raw.len() <= 40 => {
                // Whole numbers stay integers in JSON.
                let v = if n.fract() == 0.0 && n.abs() < 9e15 {
                    serde_json::Value::from(n as i64)
                } else {
                    serde_json::Number::from_f64(n)
                        .map(serde_json::Value::Number)
                        .unwrap_or(serde_json::Value::Null)
                };
                Ok(Some(v))
            }
            _ => Err(format!("\u{201c}{label}\u{201d} must be a number.")),
        },
        AttributeType::Date => match parse_date(raw) {
            Some(_) => Ok(Some(raw.into())),
            None => Err(format!(
                "\u{201c}{label}\u{201d} must be a date as YYYY-MM-DD."
            )),
        },
        AttributeType::String | AttributeType::Boolean => {
            let max = a.max_length.unwrap_or(DEFAULT_MAX_LENGTH) as usize;
            if raw.chars().count() > max {
                return Err(format!(
                    "\u{201c}{label}\u{201d} must be at most {max} characters."
                ));
            }
            if raw.chars().any(char::is_control) {
                return Err(format!(
                    "\u{201c}{label}\u{201d} must not contain control characters."
                ));
            }
            if !a.allowed_values.is_empty() && !a.allowed_values.iter().any(|v| v == raw) {
                return Err(format!(
                    "Choose one of the offered values for \u{201c}{label}\u{201d}."
                ));
            }
            if let Some(p) = &a.pattern {
                // Settings were validated, so the pattern compiles; refuse if it somehow does not.
                let ok = compile_pattern(p).is_ok_and(|re| re.is_match(raw));
                if !ok {
                    return Err(format!(
                        "\u{201c}{label}\u{201d} is not in the expected format."
                    ));
                }
            }
            Ok(Some(raw.into()))
        }
    }
}

/// Whether `user` may sign in as far as email verification goes: verified accounts always may;
/// unverified ones may while the tenant does not require verification, or during the grace
/// period after the account was created.
pub fn unverified_sign_in_allowed(
    settings: &RegistrationSettings,
    user: &User,
    now: Timestamp,
) -> bool {
    if user.email_verified || !settings.require_verified_email_to_sign_in {
        return true;
    }
    now < user.created_at + time::Duration::days(i64::from(settings.unverified_grace_days))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        time::macros::datetime!(2026-06-01 12:00 UTC)
    }

    fn input(email: &str) -> RegistrationInput {
        RegistrationInput {
            email: email.into(),
            ..Default::default()
        }
    }

    fn fields(p: &[FieldProblem]) -> Vec<&str> {
        p.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn defaults_validate_and_unknown_keys_are_refused() {
        let s = RegistrationSettings::default();
        s.validate().unwrap();
        assert!(s.block_disposable_emails);
        assert!(!s.require_verified_email_to_sign_in);
        let parsed: RegistrationSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, s);
        assert!(serde_json::from_str::<RegistrationSettings>(r#"{"terms_url": "x"}"#).is_err());
    }

    #[test]
    fn settings_bounds() {
        let attr = |name: &str| CustomAttribute {
            name: name.into(),
            label: "L".into(),
            kind: AttributeType::String,
            required: false,
            max_length: None,
            pattern: None,
            allowed_values: vec![],
        };
        let with = |f: &dyn Fn(&mut RegistrationSettings)| {
            let mut s = RegistrationSettings::default();
            f(&mut s);
            s.validate()
        };
        assert!(with(&|s| s.custom_attributes = vec![attr("member_no")]).is_ok());
        for bad in ["", "Member", "1x", "a-b", "terms_accepted", "birthdate"] {
            assert!(
                with(&|s| s.custom_attributes = vec![attr(bad)]).is_err(),
                "{bad}"
            );
        }
        assert!(with(&|s| s.custom_attributes = vec![attr("a"), attr("a")]).is_err());
        assert!(
            with(&|s| {
                let mut a = attr("a");
                a.pattern = Some("(unclosed".into());
                s.custom_attributes = vec![a];
            })
            .is_err()
        );
        assert!(
            with(&|s| {
                let mut a = attr("a");
                a.kind = AttributeType::Number;
                a.max_length = Some(4);
                s.custom_attributes = vec![a];
            })
            .is_err()
        );
        assert!(
            with(&|s| s.terms = Some(TermsSettings {
                url: "javascript:alert(1)".into(),
                version: "1".into()
            }))
            .is_err()
        );
        assert!(with(&|s| s.allowed_email_domains = vec!["Example.com".into()]).is_err());
        assert!(with(&|s| s.allowed_email_domains = vec!["example.com".into()]).is_ok());
        assert!(with(&|s| s.unverified_grace_days = 366).is_err());
        assert!(with(&|s| s.max_attempts_per_ip_per_hour = 0).is_err());
    }

    #[test]
    fn email_domains() {
        let mut s = RegistrationSettings::default();
        s.check_email_domain("a@example.com").unwrap();
        let m = s.check_email_domain("a@mailinator.com").unwrap_err();
        assert!(m.contains("disposable"), "{m}");
        assert!(s.check_email_domain("a@sub.mailinator.com").is_err());
        assert!(s.check_email_domain("a@MAILINATOR.COM").is_err());
        s.block_disposable_emails = false;
        s.check_email_domain("a@mailinator.com").unwrap();
        s.allowed_email_domains = vec!["acme.example".into()];
        s.check_email_domain("a@acme.example").unwrap();
        s.check_email_domain("a@eu.acme.example").unwrap();
        assert!(s.check_email_domain("a@evilacme.example").is_err());
        assert!(s.check_email_domain("a@example.com").is_err());
        s.allowed_email_domains.clear();
        s.denied_email_domains = vec!["competitor.example".into()];
        assert!(s.check_email_domain("a@competitor.example").is_err());
        assert!(s.check_email_domain("a@x.competitor.example").is_err());
        s.check_email_domain("a@example.com").unwrap();
        assert!(is_disposable_domain("guerrillamail.com"));
        assert!(!is_disposable_domain("gmail.com"));
        assert!(!is_disposable_domain("com"));
    }

    #[test]
    fn profile_fields_follow_the_settings() {
        let mut s = RegistrationSettings::default();
        let t = TenantId::new();
        // Defaults: email plus an optional name.
        let u = validate_registration(&s, t, &input("ann@example.com"), now()).unwrap();
        assert_eq!(u.email, "ann@example.com");
        assert_eq!(u.name, None);
        let mut i = input("ann@example.com");
        i.name = " Ann Lee ".into();
        i.phone = "+14155550100".into();
        let u = validate_registration(&s, t, &i, now()).unwrap();
        assert_eq!(u.name.as_deref(), Some("Ann Lee"));
        assert_eq!(u.phone, None, "a hidden field is ignored");

        s.fields.given_name = FieldRequirement::Required;
        s.fields.phone = FieldRequirement::Optional;
        s.fields.birthdate = FieldRequirement::Required;
        let p = validate_registration(&s, t, &input("not-an-email"), now()).unwrap_err();
        assert_eq!(fields(&p), ["email", "given_name", "birthdate"]);
        let mut i = input("ann@example.com");
        i.given_name = "Ann".into();
        i.birthdate = "2999-01-01".into();
        i.phone = "call me".into();
        let p = validate_registration(&s, t, &i, now()).unwrap_err();
        assert_eq!(fields(&p), ["birthdate", "phone"], "{p:?}");
        i.birthdate = "1990-02-30".into();
        assert!(validate_registration(&s, t, &i, now()).is_err());
        i.birthdate = "1990-02-28".into();
        i.phone = "+1 415 555 0100".into();
        let u = validate_registration(&s, t, &i, now()).unwrap();
        assert_eq!(
            u.attributes.unwrap()[BIRTHDATE_ATTRIBUTE],
            serde_json::json!("1990-02-28")
        );
        let mut long = input("ann@example.com");
        long.given_name = "x".repeat(201);
        long.birthdate = "1990-02-28".into();
        let p = validate_registration(&s, t, &long, now()).unwrap_err();
        assert_eq!(fields(&p), ["given_name"]);
    }

    #[test]
    fn custom_attributes_and_terms() {
        let s = RegistrationSettings {
            custom_attributes: vec![
                CustomAttribute {
                    name: "member_no".into(),
                    label: "Member number".into(),
                    kind: AttributeType::String,
                    required: true,
                    max_length: Some(8),
                    pattern: Some("[A-Z]{2}[0-9]+".into()),
                    allowed_values: vec![],
                },
                CustomAttribute {
                    name: "plan".into(),
                    label: "Plan".into(),
                    kind: AttributeType::String,
                    required: false,
                    max_length: None,
                    pattern: None,
                    allowed_values: vec!["free".into(), "pro".into()],
                },
                CustomAttribute {
                    name: "age".into(),
                    label: "Age".into(),
                    kind: AttributeType::Number,
                    required: false,
                    max_length: None,
                    pattern: None,
                    allowed_values: vec![],
                },
                CustomAttribute {
                    name: "newsletter".into(),
                    label: "Newsletter".into(),
                    kind: AttributeType::Boolean,
                    required: false,
                    max_length: None,
                    pattern: None,
                    allowed_values: vec![],
                },
                CustomAttribute {
                    name: "since".into(),
                    label: "Customer since".into(),
                    kind: AttributeType::Date,
                    required: false,
                    max_length: None,
                    pattern: None,
                    allowed_values: vec![],
                },
            ],
            terms: Some(TermsSettings {
                url: "https://shop.example/terms".into(),
                version: "2026-05".into(),
            }),
            ..Default::default()
        };
        s.validate().unwrap();
        let t = TenantId::new();
        let mut i = input("ann@example.com");
        let p = validate_registration(&s, t, &i, now()).unwrap_err();
        assert_eq!(fields(&p), ["attr_member_no", "accept_terms"]);
        for (k, v) in [
            ("member_no", "ab123"),
            ("plan", "gold"),
            ("age", "old"),
            ("since", "yesterday"),
        ] {
            i.attributes.insert(k.into(), v.into());
        }
        let p = validate_registration(&s, t, &i, now()).unwrap_err();
        assert_eq!(
            fields(&p),
            [
                "attr_member_no",
                "attr_plan",
                "attr_age",
                "attr_since",
                "accept_terms"
            ]
        );
        i.attributes.insert("member_no".into(), "AB1234567".into());
        assert!(
            validate_registration(&s, t, &i, now()).unwrap_err()[0]
                .message
                .contains("at most 8")
        );
        for (k, v) in [
            ("member_no", "AB123"),
            ("plan", "pro"),
            ("age", "42"),
            ("since", "2020-01-31"),
            ("newsletter", "on"),
        ] {
            i.attributes.insert(k.into(), v.into());
        }
        i.accept_terms = true;
        let u = validate_registration(&s, t, &i, now()).unwrap();
        let a = u.attributes.unwrap();
        assert_eq!(a["member_no"], "AB123");
        assert_eq!(a["plan"], "pro");
        assert_eq!(a["age"], 42);
        assert_eq!(a["newsletter"], true);
        assert_eq!(a["since"], "2020-01-31");
        assert_eq!(a[TERMS_ATTRIBUTE]["version"], "2026-05");
        assert_eq!(a[TERMS_ATTRIBUTE]["accepted_at"], "2026-06-01T12:00:00Z");
    }

    #[test]
    fn unverified_accounts_follow_the_policy() {
        let mut u = User::create(
            TenantId::new(),
            NewUser {
                email: "a@b.co".into(),
                ..Default::default()
            },
            None,
            now(),
        )
        .unwrap();
        let mut s = RegistrationSettings::default();
        let later = now() + time::Duration::days(30);
        assert!(unverified_sign_in_allowed(&s, &u, later), "not required");
        s.require_verified_email_to_sign_in = true;
        s.unverified_grace_days = 7;
        assert!(unverified_sign_in_allowed(
            &s,
            &u,
            now() + time::Duration::days(6)
        ));
        assert!(!unverified_sign_in_allowed(
            &s,
            &u,
            now() + time::Duration::days(7)
        ));
        s.unverified_grace_days = 0;
        assert!(!unverified_sign_in_allowed(&s, &u, now()));
        u.email_verified = true;
        assert!(unverified_sign_in_allowed(&s, &u, later));
    }
    #[test]
    fn ages_count_whole_years() {
        use time::macros::date;
        assert_eq!(age_on(date!(2010 - 06 - 01), date!(2026 - 06 - 01)), 16);
        assert_eq!(age_on(date!(2010 - 06 - 02), date!(2026 - 06 - 01)), 15);
        assert_eq!(age_on(date!(2008 - 02 - 29), date!(2026 - 02 - 28)), 17);
        assert_eq!(age_on(date!(2008 - 02 - 29), date!(2026 - 03 - 01)), 18);
    }

    #[test]
    fn the_age_gate_refuses_the_young_and_flags_minors() {
        let mut s = RegistrationSettings {
            minimum_age: Some(13),
            parental_consent_below: Some(16),
            ..Default::default()
        };
        s.validate().unwrap();
        assert_eq!(s.birthdate_requirement(), FieldRequirement::Required);
        let tenant = TenantId::new();
        // now() is 2026-06-01.
        let with_birthdate = |b: &str| RegistrationInput {
            birthdate: b.into(),
            ..input("kid@example.com")
        };
        let missing = validate_registration(&s, tenant, &input("kid@example.com"), now());
        assert!(missing.unwrap_err().iter().any(|p| p.field == "birthdate"));
        let young = validate_registration(&s, tenant, &with_birthdate("2014-06-02"), now());
        let problems = young.unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].field, "birthdate");
        assert!(problems[0].message.contains("not old enough"));
        let minor =
            validate_registration(&s, tenant, &with_birthdate("2013-06-01"), now()).unwrap();
        let attrs = minor.attributes.unwrap();
        assert_eq!(attrs[PARENTAL_CONSENT_REQUIRED_ATTRIBUTE], true);
        assert_eq!(attrs[BIRTHDATE_ATTRIBUTE], "2013-06-01");
        let adult =
            validate_registration(&s, tenant, &with_birthdate("2010-06-01"), now()).unwrap();
        assert!(
            adult
                .attributes
                .unwrap()
                .get(PARENTAL_CONSENT_REQUIRED_ATTRIBUTE)
                .is_none()
        );
        s.parental_consent_below = Some(13);
        assert!(
            s.validate().is_err(),
            "parental_consent_below must be above minimum_age"
        );
        s.parental_consent_below = None;
        s.minimum_age = Some(0);
        assert!(s.validate().is_err());
    }
}
