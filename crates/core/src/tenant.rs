//! Tenants: the unit of isolation. Every user, client, session and key belongs to exactly one.

use serde::{Deserialize, Serialize};

use crate::{CoreError, TenantId, Timestamp};

/// The slug of the tenant that holds the deployment's operators and guards the admin API.
pub const ADMIN_TENANT: &str = "admin";

/// A starting point of defaults. Every setting it switches on stays adjustable afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Employees and partners: no self-registration, provisioning from directories, MFA required.
    Workforce,
    /// Consumers: self-registration, social login, consent, risk-based MFA.
    Customer,
}

impl Preset {
    pub fn parse(s: &str) -> Result<Preset, CoreError> {
        match s {
            "workforce" => Ok(Preset::Workforce),
            "customer" => Ok(Preset::Customer),
            _ => Err(CoreError::invalid(
                "preset",
                "must be \"workforce\" or \"customer\"",
            )),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Workforce => "workforce",
            Preset::Customer => "customer",
        }
    }
}

/// Per-tenant behaviour. Unknown keys are refused so a typo never silently does nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantSettings {
    /// Whether `{issuer}/register` accepts sign-ups.
    pub self_registration: bool,
    /// Whether every sign-in must pass a second factor; users without one enrol at their next
    /// sign-in. Off in both presets, so that turning it on is a decision (see docs/mfa.md).
    pub mfa_required: bool,
    /// Which factors, passwordless methods and WebAuthn rules apply (see docs/mfa.md).
    pub mfa: crate::mfa::MfaSettings,
    pub social_login: bool,
    pub consent_management: bool,
    pub scim_provisioning: bool,
    /// A browser session ends after this long without activity.
    pub session_idle_timeout_secs: u64,
    /// A browser session ends this long after sign-in, however active.
    pub session_absolute_timeout_secs: u64,
    /// Lifetime of access tokens.
    pub access_token_ttl_secs: u64,
    /// Lifetime of ID tokens.
    pub id_token_ttl_secs: u64,
    /// A refresh token unused this long expires (each refresh starts the period again).
    pub refresh_token_idle_secs: u64,
    /// Absolute lifetime of an `offline_access` refresh-token family.
    pub offline_token_max_secs: u64,
    /// Signing keys are replaced after this long (0: never automatically).
    pub signing_key_rotation_days: u64,
    /// Audit entries older than this are pruned up to a signed checkpoint (0: kept forever).
    pub audit_retention_days: u64,
    /// Roles given by user attributes (joiner/mover/leaver), e.g. department = finance.
    pub role_rules: Vec<crate::authz::RoleRule>,
    /// Conditional access policies, evaluated in order at sign-in and for each application.
    pub access_policies: Vec<crate::authz::AccessPolicy>,
    /// Rules for passwords chosen on self-service pages (registration, reset, account portal).
    pub password_policy: crate::password_policy::PasswordPolicy,
    /// The sign-up form, email domains, terms and email verification (see docs/self-service.md).
    pub registration: crate::registration::RegistrationSettings,
    /// What people may do with their own account in the account portal, e.g. the grace period
    /// of "delete my account" (see docs/self-service.md).
    pub account: crate::account::AccountSettings,
    /// Product name, colours, support link, custom CSS, logo and default language of the hosted
    /// pages and emails (see docs/branding-i18n.md).
    pub branding: crate::branding::BrandingSettings,
    /// The risk engine's policy: weights, thresholds, velocity windows, profile decay, known-bad
    /// networks and rules (see docs/risk.md).
    pub risk: tessera_risk::RiskSettings,
    /// Anonymized analytics: the k-anonymity threshold under which counts are suppressed (see
    /// docs/privacy.md).
    pub analytics: crate::analytics::AnalyticsSettings,
    /// What is deleted after how long: unverified and inactive accounts (see docs/privacy.md).
    pub retention: crate::privacy_requests::RetentionSettings,
}

impl Default for TenantSettings {
    fn default() -> Self {
        TenantSettings::for_preset(Preset::Workforce)
    }
}

impl TenantSettings {
    pub fn for_preset(preset: Preset) -> TenantSettings {
        match preset {
            Preset::Workforce => TenantSettings {
                self_registration: false,
                mfa_required: false,
                mfa: crate::mfa::MfaSettings::workforce(),
                social_login: false,
                consent_management: false,
                scim_provisioning: true,
                session_idle_timeout_secs: 30 * 60,
                session_absolute_timeout_secs: 10 * 3600,
                access_token_ttl_secs: 300,
                id_token_ttl_secs: 300,
                refresh_token_idle_secs: 30 * 60,
                offline_token_max_secs: 30 * 24 * 3600,
                signing_key_rotation_days: 90,
                audit_retention_days: 365,
                role_rules: Vec::new(),
                access_policies: Vec::new(),
                password_policy: Default::default(),
                registration: Default::default(),
                account: Default::default(),
                branding: Default::default(),
                risk: Default::default(),
                analytics: Default::default(),
                retention: Default::default(),
            },
            Preset::Customer => TenantSettings {
                self_registration: true,
                mfa_required: false,
                mfa: crate::mfa::MfaSettings::customer(),
                social_login: true,
                consent_management: true,
                scim_provisioning: false,
                session_idle_timeout_secs: 7 * 24 * 3600,
                session_absolute_timeout_secs: 30 * 24 * 3600,
                access_token_ttl_secs: 600,
                id_token_ttl_secs: 600,
                refresh_token_idle_secs: 14 * 24 * 3600,
                offline_token_max_secs: 90 * 24 * 3600,
                signing_key_rotation_days: 90,
                audit_retention_days: 365,
                role_rules: Vec::new(),
                access_policies: Vec::new(),
                password_policy: Default::default(),
                registration: Default::default(),
                account: Default::default(),
                branding: Default::default(),
                risk: Default::default(),
                analytics: Default::default(),
                retention: Default::default(),
            },
        }
    }

    pub fn validate(&self) -> Result<(), CoreError> {
        if self.session_idle_timeout_secs < 60 {
            return Err(CoreError::invalid(
                "settings.session_idle_timeout_secs",
                "must be at least 60",
            ));
        }
        if self.session_absolute_timeout_secs < self.session_idle_timeout_secs {
            return Err(CoreError::invalid(
                "settings.session_absolute_timeout_secs",
                "must be at least session_idle_timeout_secs",
            ));
        }
        for (field, v, min, max) in [
            (
                "settings.access_token_ttl_secs",
                self.access_token_ttl_secs,
                30,
                24 * 3600,
            ),
            (
                "settings.id_token_ttl_secs",
                self.id_token_ttl_secs,
                30,
                24 * 3600,
            ),
            (
                "settings.refresh_token_idle_secs",
                self.refresh_token_idle_secs,
                60,
                366 * 24 * 3600,
            ),
            (
                "settings.offline_token_max_secs",
                self.offline_token_max_secs,
                60,
                5 * 366 * 24 * 3600,
            ),
            (
                "settings.signing_key_rotation_days",
                self.signing_key_rotation_days,
                0,
                3650,
            ),
            (
                "settings.audit_retention_days",
                self.audit_retention_days,
                0,
                36500,
            ),
        ] {
            if !(min..=max).contains(&v) {
                return Err(CoreError::invalid(
                    field,
                    format!("must be between {min} and {max}"),
                ));
            }
        }
        crate::authz::policy::validate_policies(&self.access_policies)?;
        self.password_policy.validate()?;
        self.registration.validate()?;
        self.account.validate()?;
        self.branding.validate()?;
        self.risk
            .validate()
            .map_err(|e| CoreError::invalid(e.field, e.message))?;
        if let Some(bad) = self
            .risk
            .privileged_groups
            .iter()
            .find(|g| crate::GroupId::parse(g).is_none())
        {
            return Err(CoreError::invalid(
                "settings.risk.privileged_groups",
                format!("{bad:?} is not a group id (a UUID, as the groups API returns it)"),
            ));
        }
        self.mfa.validate()?;
        self.analytics.validate()?;
        self.retention.validate()?;
        if self.mfa_required && !self.mfa.enabled {
            return Err(CoreError::invalid(
                "settings.mfa_required",
                "cannot be true while settings.mfa.enabled is false",
            ));
        }
        if self.session_absolute_timeout_secs > 366 * 24 * 3600 {
            return Err(CoreError::invalid(
                "settings.session_absolute_timeout_secs",
                "must be at most one year",
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub preset: Preset,
    /// Where the tenant's data lives (data residency), e.g. `eu` or `us-east`; `None`: not
    /// declared. See [`validate_region`].
    #[serde(default)]
    pub region: Option<String>,
    pub settings: TenantSettings,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

impl Tenant {
    /// Builds a new tenant after checking its slug and name.
    pub fn new(
        slug: &str,
        name: Option<&str>,
        preset: Preset,
        now: Timestamp,
    ) -> Result<Tenant, CoreError> {
        validate_slug(slug)?;
        let name = match name {
            Some(n) => validate_display_name("name", n)?,
            None => slug.to_string(),
        };
        Ok(Tenant {
            id: TenantId::new(),
            slug: slug.to_string(),
            name,
            preset,
            region: None,
            settings: TenantSettings::for_preset(preset),
            created_at: now,
            updated_at: now,
        })
    }

    /// `{public_url}/t/{slug}`: the OpenID issuer and the base of the hosted pages.
    pub fn issuer(&self, public_url: &str) -> String {
        issuer_for(public_url, &self.slug)
    }

    pub fn is_admin(&self) -> bool {
        self.slug == ADMIN_TENANT
    }
}

pub fn issuer_for(public_url: &str, slug: &str) -> String {
    format!("{}/t/{}", public_url.trim_end_matches('/'), slug)
}

/// Slugs appear in URLs and issuers, so they are restricted to a safe, stable alphabet.
pub fn validate_slug(slug: &str) -> Result<(), CoreError> {
    let ok_len = (2..=63).contains(&slug.len());
    let ok_chars = slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let ok_edges = !slug.starts_with('-') && !slug.ends_with('-');
    if ok_len && ok_chars && ok_edges {
        Ok(())
    } else {
        Err(CoreError::invalid(
            "slug",
            "use 2-63 characters: lowercase letters, digits and inner hyphens (e.g. \"acme-corp\")",
        ))
    }
}

/// A region token (data residency): 2-32 characters, lowercase letters and digits in parts
/// joined by single hyphens, such as `eu`, `us-east` or `ap-southeast-2`. Tessera does not keep a
/// list of regions: the token names the deployment's own (one database per region).
pub fn validate_region(field: &'static str, region: &str) -> Result<String, CoreError> {
    let ok_len = (2..=32).contains(&region.len());
    let ok_parts = region.split('-').all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    let starts_with_letter = region
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase());
    if ok_len && ok_parts && starts_with_letter {
        Ok(region.to_string())
    } else {
        Err(CoreError::invalid(
            field,
            "use 2-32 characters: lowercase letters and digits in parts joined by single hyphens, starting with a letter (e.g. \"eu\", \"us-east\")",
        ))
    }
}

/// The region a tenant gets on a node whose own region is `node` (`TESSERA_REGION`), when it
/// asks for `requested`. A node with a region is one database of a "one database per region"
/// deployment: it gives its region to tenants that name none and refuses any other region, so a
/// tenant's data never lands in another region's database. A node without a region takes what
/// is asked (or nothing).
pub fn resolve_region(
    requested: Option<&str>,
    node: Option<&str>,
) -> Result<Option<String>, CoreError> {
    let requested = requested
        .map(|r| validate_region("region", r.trim()))
        .transpose()?;
    match (requested, node) {
        (Some(r), Some(n)) if r != n => Err(CoreError::invalid(
            "region",
            format!(
                "this deployment stores the data of region \"{n}\" only; create a tenant of region \"{r}\" on that region's deployment"
            ),
        )),
        (None, Some(n)) => Ok(Some(n.to_string())),
        (r, _) => Ok(r),
    }
}

/// Trims a human-readable name and checks it is non-empty, short and free of control characters.
pub fn validate_display_name(field: &'static str, value: &str) -> Result<String, CoreError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(CoreError::invalid(field, "must not be empty"));
    }
    if v.chars().count() > 200 {
        return Err(CoreError::invalid(field, "must be at most 200 characters"));
    }
    if v.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["acme", "a1", "acme-corp", "admin"] {
            assert!(validate_slug(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "Acme",
            "-acme",
            "acme-",
            "ac me",
            "acmé",
            "a/b",
            "x'; drop table users; --",
        ] {
            assert!(validate_slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regions() {
        for ok in ["eu", "us-east", "ap-southeast-2", "eu1"] {
            assert_eq!(validate_region("region", ok).unwrap(), ok);
        }
        for bad in [
            "", "e", "EU", "-eu", "eu-", "eu--west", "1eu", "eu west", "eu_west", "é-u",
        ] {
            assert!(validate_region("region", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_regional_node_keeps_to_its_region() {
        assert_eq!(resolve_region(None, None).unwrap(), None);
        assert_eq!(
            resolve_region(Some("us-east"), None).unwrap().as_deref(),
            Some("us-east")
        );
        assert_eq!(
            resolve_region(None, Some("eu")).unwrap().as_deref(),
            Some("eu")
        );
        assert_eq!(
            resolve_region(Some("eu"), Some("eu")).unwrap().as_deref(),
            Some("eu")
        );
        assert!(matches!(
            resolve_region(Some("us-east"), Some("eu")),
            Err(CoreError::Invalid {
                field: "region",
                ..
            })
        ));
        assert!(resolve_region(Some("EU"), None).is_err());
    }

    #[test]
    fn issuer_has_no_double_slash() {
        assert_eq!(
            issuer_for("http://localhost:8080/", "acme"),
            "http://localhost:8080/t/acme"
        );
    }

    #[test]
    fn presets_differ_and_validate() {
        let w = TenantSettings::for_preset(Preset::Workforce);
        let c = TenantSettings::for_preset(Preset::Customer);
        assert!(!w.self_registration && c.self_registration);
        // Requiring MFA is an explicit switch in both presets (see docs/mfa.md).
        assert!(!w.mfa_required && !c.mfa_required);
        assert!(!w.mfa.allows(crate::mfa::SecondFactor::EmailCode));
        assert!(c.mfa.email_code_sign_in && !w.mfa.email_code_sign_in);
        w.validate().unwrap();
        c.validate().unwrap();
    }

    #[test]
    fn settings_refuse_unknown_keys() {
        let r: Result<TenantSettings, _> = serde_json::from_str(r#"{"self_registraton": true}"#);
        assert!(r.is_err());
    }
}
