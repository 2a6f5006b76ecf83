//! Every route path of the server, defined once. Discovery documents and redirects derive from
//! these constants instead of repeating strings.

pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";
pub const METRICS: &str = "/metrics";
pub const STYLESHEET: &str = "/static/tessera.css";
/// The WebAuthn ceremonies of the hosted pages (the only script they load).
pub const WEBAUTHN_SCRIPT: &str = "/static/webauthn.js";
/// The proof-of-work script of the sign-in and sign-up forms (see `crate::risk::pow`).
pub const POW_SCRIPT: &str = "/static/pow.js";

/// Hosted pages, under a tenant's issuer path `/t/{slug}`.
pub const LOGIN: &str = "/t/{slug}/login";
pub const LOGOUT: &str = "/t/{slug}/logout";
/// The tenant's branding: colours and custom CSS as a same-origin stylesheet, and the logo.
pub const BRANDING_CSS: &str = "/t/{slug}/branding.css";
pub const LOGO: &str = "/t/{slug}/logo";
pub const ACCOUNT: &str = "/t/{slug}/account";
pub const ACCOUNT_REVOKE_APP: &str = "/t/{slug}/account/apps/revoke";
/// The account portal's forms (see `crate::pages::account`).
pub const ACCOUNT_PROFILE: &str = "/t/{slug}/account/profile";
pub const ACCOUNT_EMAIL: &str = "/t/{slug}/account/email";
pub const ACCOUNT_EMAIL_CONFIRM: &str = "/t/{slug}/account/email/confirm";
pub const ACCOUNT_PASSWORD: &str = "/t/{slug}/account/password";
pub const ACCOUNT_SESSIONS_REVOKE: &str = "/t/{slug}/account/sessions/revoke";
pub const ACCOUNT_SESSIONS_REVOKE_OTHERS: &str = "/t/{slug}/account/sessions/revoke-others";
pub const ACCOUNT_EXPORT: &str = "/t/{slug}/account/export";
pub const ACCOUNT_DELETE: &str = "/t/{slug}/account/delete";
/// The preference centre: consents, communication preferences, the consent receipt (see
/// `crate::pages::account::preferences`).
pub const ACCOUNT_PRIVACY: &str = "/t/{slug}/account/privacy";
pub const ACCOUNT_PRIVACY_CONSENT: &str = "/t/{slug}/account/privacy/consent";
pub const ACCOUNT_PRIVACY_PREFERENCES: &str = "/t/{slug}/account/privacy/preferences";
pub const ACCOUNT_PRIVACY_RECEIPT: &str = "/t/{slug}/account/privacy/receipt";
/// Multi-factor and passwordless sign-in (see `crate::mfa`).
pub const LOGIN_MFA: &str = "/t/{slug}/login/mfa";
pub const LOGIN_MFA_ENROLL: &str = "/t/{slug}/login/mfa/enroll";
pub const LOGIN_MFA_RECOVERY_CODES: &str = "/t/{slug}/login/mfa/recovery-codes";
pub const LOGIN_MFA_STEP_UP: &str = "/t/{slug}/login/mfa/step-up";
pub const LOGIN_EMAIL: &str = "/t/{slug}/login/email";
pub const LOGIN_EMAIL_LINK: &str = "/t/{slug}/login/email/link";
/// The re-consent page of a sign-in after a material new policy version (see
/// `crate::pages::reconsent`).
pub const LOGIN_POLICY_UPDATE: &str = "/t/{slug}/login/policy-update";
/// The security page of the account portal: factors, recovery codes.
pub const ACCOUNT_SECURITY: &str = "/t/{slug}/account/security";
/// Self-service: sign-up, email verification, password recovery.
pub const REGISTER: &str = "/t/{slug}/register";
pub const VERIFY_EMAIL: &str = "/t/{slug}/verify-email";
pub const FORGOT_PASSWORD: &str = "/t/{slug}/forgot-password";
pub const RESET_PASSWORD: &str = "/t/{slug}/reset-password";
/// The "this wasn't me" link of a new sign-in notice (see `crate::risk::notify`).
pub const NOT_ME: &str = "/t/{slug}/not-me";
/// WebAuthn ceremonies (JSON, called by `static/webauthn.js`): a passkey as first factor, a
/// passkey or security key as second factor, and registration of a new one.
pub const WEBAUTHN_LOGIN_START: &str = "/t/{slug}/webauthn/login/start";
pub const WEBAUTHN_LOGIN_FINISH: &str = "/t/{slug}/webauthn/login/finish";
pub const WEBAUTHN_MFA_START: &str = "/t/{slug}/webauthn/mfa/start";
pub const WEBAUTHN_MFA_FINISH: &str = "/t/{slug}/webauthn/mfa/finish";
pub const WEBAUTHN_REGISTER_START: &str = "/t/{slug}/webauthn/register/start";
pub const WEBAUTHN_REGISTER_FINISH: &str = "/t/{slug}/webauthn/register/finish";
/// An application reads its user's kept upstream token (scope `federated_tokens`).
pub const FEDERATED_TOKEN: &str = "/t/{slug}/federation/{alias}/token";
/// Sign-in with upstream identity providers (see `crate::federation`): the start, the provider's
/// answer, and the proofs an identity may need before it joins an account.
pub const LOGIN_IDP: &str = "/t/{slug}/login/idp/{alias}";
pub const LOGIN_IDP_CALLBACK: &str = "/t/{slug}/login/idp/{alias}/callback";
pub const LOGIN_IDP_LINK: &str = "/t/{slug}/login/idp/{alias}/link";
pub const LOGIN_IDP_LINK_EMAIL: &str = "/t/{slug}/login/idp/{alias}/link/email";
pub const LOGIN_IDP_LINK_CODE: &str = "/t/{slug}/login/idp/{alias}/link/code";
pub const LOGIN_IDP_LINK_CONFIRM: &str = "/t/{slug}/login/idp/{alias}/link/confirm";
/// The account portal's page of linked sign-in providers.
pub const ACCOUNT_IDENTITIES: &str = "/t/{slug}/account/identities";
pub const ACCOUNT_IDENTITIES_REMOVE: &str = "/t/{slug}/account/identities/remove";

/// The admin API prefix; its own paths live on the handlers (`#[utoipa::path]`) so the OpenAPI
/// document and the router cannot disagree.
pub const API_PREFIX: &str = "/api/v1";
pub const OPENAPI: &str = "/api/v1/openapi.json";
