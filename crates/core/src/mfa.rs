//! Multi-factor and passwordless authentication in the domain: the factors a user enrols (TOTP
//! apps, WebAuthn passkeys and security keys, recovery codes), the tenant's MFA policy, a sign-in
//! in progress ([`LoginFlow`]) and the RFC 8176 `amr` / OpenID `acr` values a sign-in earns.
//!
//! What a factor proves is decided here, once: the hosted pages, the token endpoint and the access
//! policies all read the same `amr` list.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{CoreError, FactorId, GroupId, LoginFlowId, Secret, TenantId, Timestamp, UserId};

// --- amr (RFC 8176) ---------------------------------------------------------------------------

/// Password.
pub const AMR_PWD: &str = "pwd";
/// One-time password: TOTP, an emailed code or link, a recovery code.
pub const AMR_OTP: &str = "otp";
/// Proof of possession of a hardware-secured key (a security key or a device-bound passkey).
pub const AMR_HWK: &str = "hwk";
/// Proof of possession of a software-secured key (a synced passkey).
pub const AMR_SWK: &str = "swk";
/// User presence test (WebAuthn "UP").
pub const AMR_USER: &str = "user";
/// Multiple factors.
pub const AMR_MFA: &str = "mfa";
/// Authenticated by an upstream identity provider. RFC 8176 registers no value for this; Tessera
/// uses its own (documented in docs/federation.md) rather than claim a factor it did not see.
pub const AMR_FED: &str = "fed";

/// The `acr` of a sign-in with one factor.
pub const ACR_SINGLE_FACTOR: &str = "urn:tessera:acr:sfa";
/// The `acr` of a sign-in with two factors (the OpenID PAPE multi-factor policy URI, which
/// relying parties such as Auth0's already send as `acr_values`).
pub const ACR_MULTI_FACTOR: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
/// Phishing-resistant authentication (OpenID EAP ACR values): a WebAuthn credential was used.
pub const ACR_PHISHING_RESISTANT: &str = "phr";

/// Every `acr` value this server can satisfy, weakest first (discovery's `acr_values_supported`).
pub const ACR_VALUES_SUPPORTED: [&str; 3] =
    [ACR_SINGLE_FACTOR, ACR_MULTI_FACTOR, ACR_PHISHING_RESISTANT];

/// Whether the methods used include a second factor beyond the first.
pub fn is_multi_factor(amr: &[String]) -> bool {
    amr.iter().any(|m| m == AMR_MFA)
}

fn used_webauthn(amr: &[String]) -> bool {
    amr.iter().any(|m| m == AMR_HWK || m == AMR_SWK)
}

/// Whether a sign-in with these methods satisfies the requested `acr` value. Unknown values are
/// never satisfied.
pub fn satisfies_acr(amr: &[String], acr: &str) -> bool {
    match acr {
        ACR_SINGLE_FACTOR => !amr.is_empty(),
        ACR_MULTI_FACTOR => is_multi_factor(amr),
        ACR_PHISHING_RESISTANT => is_multi_factor(amr) && used_webauthn(amr),
        _ => false,
    }
}

/// The `acr` to assert for a sign-in: the strongest supported value it satisfies.
pub fn acr_for(amr: &[String]) -> &'static str {
    ACR_VALUES_SUPPORTED
        .iter()
        .rev()
        .find(|a| satisfies_acr(amr, a))
        .copied()
        .unwrap_or(ACR_SINGLE_FACTOR)
}

/// The `acr` to put in an ID token when the relying party asked for `requested` (space-separated
/// `acr_values`, in order of preference): the first requested value that was satisfied, else what
/// the sign-in earned.
pub fn acr_for_request(amr: &[String], requested: Option<&str>) -> String {
    requested
        .into_iter()
        .flat_map(str::split_whitespace)
        .find(|a| satisfies_acr(amr, a))
        .unwrap_or_else(|| acr_for(amr))
        .to_string()
}

/// Whether any of the requested `acr_values` asks for more than one factor (a step-up).
pub fn acr_request_needs_mfa(requested: Option<&str>) -> bool {
    let mut values = requested
        .into_iter()
        .flat_map(str::split_whitespace)
        .peekable();
    if values.peek().is_none() {
        return false;
    }
    // Step up only when no acceptable value is satisfiable with one factor.
    !values.any(|a| a == ACR_SINGLE_FACTOR)
        && requested
            .into_iter()
            .flat_map(str::split_whitespace)
            .any(|a| a == ACR_MULTI_FACTOR || a == ACR_PHISHING_RESISTANT)
}

/// Whether a requested `acr` can only be met with WebAuthn.
pub fn acr_request_needs_webauthn(requested: Option<&str>) -> bool {
    let values: Vec<&str> = requested
        .into_iter()
        .flat_map(str::split_whitespace)
        .collect();
    !values.is_empty() && values.iter().all(|a| *a == ACR_PHISHING_RESISTANT)
}

/// Adds `more` to `amr` (no duplicates) and `mfa` once two independent factors were used.
pub fn merge_amr(amr: &[String], more: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = amr.to_vec();
    for m in more {
        if !out.iter().any(|x| x == m) {
            out.push((*m).to_string());
        }
    }
    // The first factor: a password, or an upstream provider's sign-in (independent of the
    // possession factors below, so together they are two factors).
    let knowledge = out.iter().any(|m| m == AMR_PWD || m == AMR_FED);
    let possession = out
        .iter()
        .any(|m| m == AMR_OTP || m == AMR_HWK || m == AMR_SWK);
    if knowledge && possession && !out.iter().any(|m| m == AMR_MFA) {
        out.push(AMR_MFA.into());
    }
    out
}

// --- factors ----------------------------------------------------------------------------------

/// What a user can enrol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorKind {
    /// An authenticator app (RFC 6238).
    Totp,
    /// A passkey or security key.
    Webauthn,
}

impl FactorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FactorKind::Totp => "totp",
            FactorKind::Webauthn => "webauthn",
        }
    }
    pub fn parse(s: &str) -> Option<FactorKind> {
        match s {
            "totp" => Some(FactorKind::Totp),
            "webauthn" => Some(FactorKind::Webauthn),
            _ => None,
        }
    }
}

/// An enrolled factor. The secret (a TOTP key, or a WebAuthn credential record) is encrypted at
/// rest by the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Factor {
    pub id: FactorId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub kind: FactorKind,
    /// The user's label ("YubiKey 5", "Phone").
    pub name: String,
    pub secret: Secret,
    /// WebAuthn credential id (base64url), unique within the tenant.
    pub credential_id: Option<String>,
    /// A WebAuthn credential the browser can offer without a username (a passkey).
    pub discoverable: bool,
    /// WebAuthn authenticator model, when the authenticator said.
    pub aaguid: Option<Uuid>,
    /// `None` until a TOTP factor is confirmed with a first code; WebAuthn factors are confirmed
    /// when registered.
    pub confirmed_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    /// The last TOTP time step accepted (a code is accepted once).
    pub last_totp_step: Option<i64>,
    pub created_at: Timestamp,
}

impl Factor {
    pub fn is_confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

/// Longest factor name.
pub const MAX_FACTOR_NAME_CHARS: usize = 64;

/// Validates and trims a factor name; an empty name becomes `default`.
pub fn factor_name(name: &str, default: &str) -> Result<String, CoreError> {
    let n = name.trim();
    if n.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            "name",
            "must not contain control characters",
        ));
    }
    if n.chars().count() > MAX_FACTOR_NAME_CHARS {
        return Err(CoreError::invalid(
            "name",
            format!("must be at most {MAX_FACTOR_NAME_CHARS} characters"),
        ));
    }
    Ok(if n.is_empty() {
        default.to_string()
    } else {
        n.to_string()
    })
}

/// How many recovery codes a set holds.
pub const RECOVERY_CODES_PER_SET: usize = 10;

/// A factor a sign-in can be asked for (tenant setting `mfa.factors`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondFactor {
    Totp,
    Webauthn,
    EmailCode,
    RecoveryCode,
}

impl SecondFactor {
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactor::Totp => "totp",
            SecondFactor::Webauthn => "webauthn",
            SecondFactor::EmailCode => "email_code",
            SecondFactor::RecoveryCode => "recovery_code",
        }
    }
    pub fn parse(s: &str) -> Option<SecondFactor> {
        [
            SecondFactor::Totp,
            SecondFactor::Webauthn,
            SecondFactor::EmailCode,
            SecondFactor::RecoveryCode,
        ]
        .into_iter()
        .find(|f| f.as_str() == s)
    }
}

// --- policy -----------------------------------------------------------------------------------

/// WebAuthn user verification (PIN or biometric on the authenticator).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserVerification {
    #[default]
    Preferred,
    Required,
    Discouraged,
}

/// Which attestation a WebAuthn registration must carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationPolicy {
    /// No attestation asked for (privacy-friendly; the default).
    #[default]
    None,
    /// Ask for the authenticator's attestation; with an AAGUID allow-list, only those models are
    /// accepted.
    Direct,
}

/// A tenant's MFA and passwordless settings (`settings.mfa`). Whether every sign-in needs a
/// second factor is `settings.mfa_required`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaSettings {
    /// `false` switches second factors off for the tenant: never asked at sign-in (even for users
    /// who enrolled one) and not offered on the security page. Passwordless first factors and an
    /// application's explicit step-up request are not affected.
    pub enabled: bool,
    /// Members of these groups (directly or through nested groups) always need a second factor.
    pub required_groups: Vec<GroupId>,
    /// Second factors users may enrol and sign in with.
    pub factors: Vec<SecondFactor>,
    /// "Remember this device" skips the second factor in that browser for this many days (0: the
    /// option is not offered). A step-up an application asks for is never skipped.
    pub remember_device_days: u32,
    /// Passkeys as a first factor (username-less sign-in).
    pub passkey_sign_in: bool,
    /// One-time codes by email as a first factor.
    pub email_code_sign_in: bool,
    /// Links by email as a first factor.
    pub magic_link_sign_in: bool,
    pub user_verification: UserVerification,
    pub attestation: AttestationPolicy,
    /// With `attestation: direct`, only authenticators of these models (AAGUIDs) may register.
    pub aaguid_allowlist: Vec<Uuid>,
}

impl Default for MfaSettings {
    fn default() -> Self {
        MfaSettings {
            enabled: true,
            required_groups: Vec::new(),
            factors: vec![
                SecondFactor::Totp,
                SecondFactor::Webauthn,
                SecondFactor::EmailCode,
                SecondFactor::RecoveryCode,
            ],
            remember_device_days: 0,
            passkey_sign_in: true,
            email_code_sign_in: false,
            magic_link_sign_in: false,
            user_verification: UserVerification::Preferred,
            attestation: AttestationPolicy::None,
            aaguid_allowlist: Vec::new(),
        }
    }
}

impl MfaSettings {
    /// Defaults for customer tenants: passwordless by email as well, devices remembered a month.
    pub fn customer() -> MfaSettings {
        MfaSettings {
            remember_device_days: 30,
            email_code_sign_in: true,
            magic_link_sign_in: true,
            ..MfaSettings::default()
        }
    }

    /// Defaults for workforce tenants: authenticator apps and security keys (plus recovery codes),
    /// no email factors.
    pub fn workforce() -> MfaSettings {
        MfaSettings {
            factors: vec![
                SecondFactor::Totp,
                SecondFactor::Webauthn,
                SecondFactor::RecoveryCode,
            ],
            ..MfaSettings::default()
        }
    }

    pub fn allows(&self, f: SecondFactor) -> bool {
        self.factors.contains(&f)
    }

    pub fn validate(&self) -> Result<(), CoreError> {
        if !self.enabled && !self.required_groups.is_empty() {
            return Err(CoreError::invalid(
                "settings.mfa.required_groups",
                "must be empty while settings.mfa.enabled is false",
            ));
        }
        if self.remember_device_days > 365 {
            return Err(CoreError::invalid(
                "settings.mfa.remember_device_days",
                "must be between 0 and 365",
            ));
        }
        let enrollable = self.allows(SecondFactor::Totp)
            || self.allows(SecondFactor::Webauthn)
            || self.allows(SecondFactor::EmailCode);
        if !enrollable {
            return Err(CoreError::invalid(
                "settings.mfa.factors",
                "must include at least one of totp, webauthn or email_code (recovery codes alone cannot be a factor)",
            ));
        }
        if !self.aaguid_allowlist.is_empty() && self.attestation != AttestationPolicy::Direct {
            return Err(CoreError::invalid(
                "settings.mfa.aaguid_allowlist",
                "needs attestation: \"direct\" (without attestation the authenticator model is not proven)",
            ));
        }
        if self.aaguid_allowlist.len() > 100 {
            return Err(CoreError::invalid(
                "settings.mfa.aaguid_allowlist",
                "must list at most 100 AAGUIDs",
            ));
        }
        Ok(())
    }
}

/// Why a sign-in must pass a second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MfaReason {
    /// The tenant requires it for everyone.
    Tenant,
    /// The user is in a group that requires it.
    Group,
    /// The user enrolled a factor (MFA is optional, and this user opted in).
    Enrolled,
    /// An application asked for it (`acr_values`, or an access policy with `require_mfa`).
    Application,
    /// The risk engine asked for it.
    Risk,
}

/// What the tenant's policy asks of a sign-in after its first factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondFactorRequirement {
    /// The first factor is enough.
    None,
    /// A second factor is needed; the user has one to offer.
    Verify(MfaReason),
    /// A second factor is needed, and the user has none yet: enrolment now, before the session.
    Enroll(MfaReason),
}

/// The facts the policy decides on.
#[derive(Clone, Debug, Default)]
pub struct MfaFacts {
    /// `settings.mfa_required`.
    pub tenant_requires: bool,
    /// The user belongs (possibly through nesting) to one of `mfa.required_groups`.
    pub in_required_group: bool,
    /// The user has a confirmed factor of an allowed kind (TOTP or WebAuthn).
    pub has_enrolled_factor: bool,
    /// Email codes are allowed as a second factor and the user's email is verified.
    pub can_use_email_code: bool,
    /// The first factor already counts as multi-factor (a passkey with user verification).
    pub first_factor_is_mfa: bool,
    /// An application or the risk engine asked for a step-up.
    pub step_up: Option<MfaReason>,
    /// This browser carries a valid "remember this device" cookie for the user.
    pub remembered_device: bool,
}

/// Decides whether a sign-in needs a second factor, and whether the user must enrol one first.
pub fn second_factor_requirement(f: &MfaFacts) -> SecondFactorRequirement {
    if f.first_factor_is_mfa {
        return SecondFactorRequirement::None;
    }
    let reason = if let Some(r) = f.step_up {
        // A step-up is never skipped by a remembered device.
        Some(r)
    } else if f.remembered_device {
        None
    } else if f.tenant_requires {
        Some(MfaReason::Tenant)
    } else if f.in_required_group {
        Some(MfaReason::Group)
    } else if f.has_enrolled_factor {
        Some(MfaReason::Enrolled)
    } else {
        None
    };
    match reason {
        None => SecondFactorRequirement::None,
        Some(r) if f.has_enrolled_factor || f.can_use_email_code => {
            SecondFactorRequirement::Verify(r)
        }
        Some(r) => SecondFactorRequirement::Enroll(r),
    }
}

// --- a sign-in in progress --------------------------------------------------------------------

/// Where a sign-in in progress stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowStage {
    /// No user yet: waiting for a password, a passkey or an emailed code.
    FirstFactor,
    /// The user is known; a second factor is due.
    SecondFactor,
    /// The user is known; they must enrol a factor before the session starts.
    Enroll,
    /// A ceremony of a signed-in user (adding a passkey on the security page); bound to the
    /// session rather than to a sign-in cookie.
    Account,
    /// Every factor passed; the person must accept a material new policy version before the
    /// session starts (`crate::privacy::reconsent_due`).
    Reconsent,
}

impl FlowStage {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowStage::FirstFactor => "first_factor",
            FlowStage::SecondFactor => "second_factor",
            FlowStage::Enroll => "enroll",
            FlowStage::Account => "account",
            FlowStage::Reconsent => "reconsent",
        }
    }
    pub fn parse(s: &str) -> Option<FlowStage> {
        match s {
            "first_factor" => Some(FlowStage::FirstFactor),
            "second_factor" => Some(FlowStage::SecondFactor),
            "enroll" => Some(FlowStage::Enroll),
            "account" => Some(FlowStage::Account),
            "reconsent" => Some(FlowStage::Reconsent),
            _ => None,
        }
    }
}

/// A question the server asked and awaits an answer to; sealed at rest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PendingChallenge {
    /// A code (and a link) sent by email. Only digests are kept.
    EmailCode {
        code_hash: String,
        #[serde(with = "time::serde::rfc3339")]
        sent_at: Timestamp,
        /// The email went to a real account (unknown addresses get a flow that can never succeed,
        /// so the page cannot tell them apart).
        user_known: bool,
    },
    /// A WebAuthn authentication ceremony (webauthn-rs state, serialized).
    WebauthnAuthentication { state: String },
    /// A WebAuthn registration ceremony.
    WebauthnRegistration { state: String, name: String },
    /// Recovery codes made at enrolment, shown once on the next page, then gone with the flow.
    ShowRecoveryCodes { codes: Vec<String> },
}

/// How long a sign-in may stay between its steps.
pub const LOGIN_FLOW_TTL_SECS: i64 = 15 * 60;
/// How long an emailed code or link is valid.
pub const EMAIL_CODE_TTL_SECS: i64 = 10 * 60;
/// Wrong answers a flow accepts before it is discarded.
pub const MAX_FLOW_ATTEMPTS: u32 = 5;

/// A sign-in in progress: created at the login page, bound to the browser by a cookie (of which
/// only the digest is stored), discarded when the session starts or it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginFlow {
    pub id: LoginFlowId,
    pub tenant_id: TenantId,
    /// SHA-256 (hex) of the browser's flow cookie (or, for `Account`, of its session cookie).
    pub binding_hash: String,
    pub stage: FlowStage,
    pub user_id: Option<UserId>,
    /// Methods passed so far (RFC 8176).
    pub methods: Vec<String>,
    /// Where to go once signed in (already checked to stay on this origin).
    pub return_to: String,
    /// Why a second factor is asked for (shown on the page, recorded in the event).
    pub reason: Option<String>,
    /// A second factor that must be WebAuthn (an application asked for `phr`).
    pub webauthn_only: bool,
    pub pending: Option<PendingChallenge>,
    /// SHA-256 (hex) of an emailed sign-in link's token, to find the flow from the link.
    pub link_hash: Option<String>,
    pub attempts: u32,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl LoginFlow {
    pub fn new(
        tenant_id: TenantId,
        binding_hash: String,
        return_to: String,
        now: Timestamp,
    ) -> LoginFlow {
        LoginFlow {
            id: LoginFlowId::new(),
            tenant_id,
            binding_hash,
            stage: FlowStage::FirstFactor,
            user_id: None,
            methods: Vec::new(),
            return_to,
            reason: None,
            webauthn_only: false,
            pending: None,
            link_hash: None,
            attempts: 0,
            created_at: now,
            expires_at: now + time::Duration::seconds(LOGIN_FLOW_TTL_SECS),
        }
    }

    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at && self.attempts < MAX_FLOW_ATTEMPTS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amr(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn amr_gains_mfa_with_a_second_kind_of_factor() {
        assert_eq!(merge_amr(&[], &[AMR_PWD]), amr(&["pwd"]));
        assert_eq!(
            merge_amr(&amr(&["pwd"]), &[AMR_OTP]),
            amr(&["pwd", "otp", "mfa"])
        );
        assert_eq!(
            merge_amr(&amr(&["pwd", "otp", "mfa"]), &[AMR_OTP]),
            amr(&["pwd", "otp", "mfa"])
        );
        // An emailed code alone is one factor.
        assert_eq!(merge_amr(&[], &[AMR_OTP]), amr(&["otp"]));
    }

    #[test]
    fn acr_reflects_the_methods() {
        assert_eq!(acr_for(&amr(&["pwd"])), ACR_SINGLE_FACTOR);
        assert_eq!(acr_for(&amr(&["pwd", "otp", "mfa"])), ACR_MULTI_FACTOR);
        assert_eq!(
            acr_for(&amr(&["hwk", "user", "mfa"])),
            ACR_PHISHING_RESISTANT
        );
        assert_eq!(
            acr_for_request(
                &amr(&["pwd", "otp", "mfa"]),
                Some("phr urn:tessera:acr:sfa")
            ),
            ACR_SINGLE_FACTOR
        );
        assert_eq!(
            acr_for_request(&amr(&["pwd"]), Some(ACR_MULTI_FACTOR)),
            ACR_SINGLE_FACTOR
        );
    }

    #[test]
    fn acr_requests_that_step_up() {
        assert!(!acr_request_needs_mfa(None));
        assert!(!acr_request_needs_mfa(Some("")));
        assert!(acr_request_needs_mfa(Some(ACR_MULTI_FACTOR)));
        assert!(acr_request_needs_mfa(Some("phr")));
        assert!(!acr_request_needs_mfa(Some("phr urn:tessera:acr:sfa")));
        assert!(!acr_request_needs_mfa(Some("urn:example:unknown")));
        assert!(acr_request_needs_webauthn(Some("phr")));
        assert!(!acr_request_needs_webauthn(Some(&format!(
            "phr {ACR_MULTI_FACTOR}"
        ))));
    }

    #[test]
    fn policy_decides_verify_enroll_or_nothing() {
        use SecondFactorRequirement as R;
        let base = MfaFacts::default();
        assert_eq!(second_factor_requirement(&base), R::None);
        let enrolled = MfaFacts {
            has_enrolled_factor: true,
            ..base.clone()
        };
        assert_eq!(
            second_factor_requirement(&enrolled),
            R::Verify(MfaReason::Enrolled)
        );
        let required = MfaFacts {
            tenant_requires: true,
            ..base.clone()
        };
        assert_eq!(
            second_factor_requirement(&required),
            R::Enroll(MfaReason::Tenant)
        );
        let email = MfaFacts {
            tenant_requires: true,
            can_use_email_code: true,
            ..base.clone()
        };
        assert_eq!(
            second_factor_requirement(&email),
            R::Verify(MfaReason::Tenant)
        );
        let remembered = MfaFacts {
            tenant_requires: true,
            has_enrolled_factor: true,
            remembered_device: true,
            ..base.clone()
        };
        assert_eq!(second_factor_requirement(&remembered), R::None);
        let step_up = MfaFacts {
            step_up: Some(MfaReason::Application),
            ..remembered.clone()
        };
        assert_eq!(
            second_factor_requirement(&step_up),
            R::Verify(MfaReason::Application)
        );
        let passkey = MfaFacts {
            first_factor_is_mfa: true,
            ..step_up
        };
        assert_eq!(second_factor_requirement(&passkey), R::None);
    }

    #[test]
    fn settings_validation() {
        assert!(MfaSettings::default().validate().is_ok());
        let bad = MfaSettings {
            factors: vec![SecondFactor::RecoveryCode],
            ..MfaSettings::default()
        };
        assert!(bad.validate().is_err());
        let bad = MfaSettings {
            aaguid_allowlist: vec![Uuid::nil()],
            ..MfaSettings::default()
        };
        assert!(bad.validate().is_err());
        let off_with_groups = MfaSettings {
            enabled: false,
            required_groups: vec![GroupId::new()],
            ..MfaSettings::default()
        };
        assert!(off_with_groups.validate().is_err());
        assert!(factor_name("  ", "Passkey").unwrap() == "Passkey");
        assert!(factor_name("a\u{7}", "x").is_err());
    }
}
