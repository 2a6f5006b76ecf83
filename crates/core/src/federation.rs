//! Upstream identity providers of a tenant, the upstream identities linked to local accounts,
//! the sign-ins at a provider still in progress, and the rule that decides what an upstream
//! identity may do with the local accounts ([`resolve`]): never join an existing account
//! unless its owner proved it, or the provider is trusted for verified emails.
//!
//! The protocol settings of a provider (endpoints, scopes, claim mapping) are kept as JSON here
//! and interpreted by `tessera-federation`; the domain only needs the policy fields.
#![allow(async_fn_in_trait)]

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::StoreResult;
use crate::user::User;
use crate::{CoreError, Secret, TenantId, Timestamp, UserId};

macro_rules! federation_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::parse_str(s).ok().map(Self)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

federation_id!(
    /// Identifies an upstream identity provider of a tenant.
    IdentityProviderId
);
federation_id!(
    /// Identifies the link between an upstream identity and a local account.
    LinkedIdentityId
);
federation_id!(
    /// Identifies a sign-in at an upstream provider in progress.
    FederationStateId
);

/// How long a person has to come back from the provider, and to prove an existing account.
pub const FEDERATION_STATE_TTL_SECS: i64 = 600;
pub const LINK_PROOF_TTL_SECS: i64 = 900;

/// An upstream provider people of a tenant can sign in with.
#[derive(Clone, Debug, PartialEq)]
pub struct IdentityProvider {
    pub id: IdentityProviderId,
    pub tenant_id: TenantId,
    /// The provider's name in URLs (`{issuer}/login/idp/{alias}`): lowercase letters, digits
    /// and dashes.
    pub alias: String,
    /// The button label ("Continue with {display_name}").
    pub display_name: String,
    pub enabled: bool,
    /// A verified email from this provider may join the existing account with that email
    /// without further proof. Only for providers that own the addresses they vouch for.
    pub trust_email: bool,
    /// Create an account on the first sign-in of someone unknown.
    pub jit: bool,
    /// Email domains routed to this provider from the sign-in page (enterprise connections).
    pub domains: Vec<String>,
    /// The protocol settings (`tessera_federation::ProviderConfig` as JSON).
    pub settings: serde_json::Value,
    /// The client secret (or Apple's private key). Sealed at rest, never returned by the API.
    pub client_secret: Option<Secret>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Checks an alias: 1-40 of `a-z`, `0-9`, `-`, not starting or ending with `-`.
pub fn validate_alias(alias: &str) -> Result<(), CoreError> {
    let ok = !alias.is_empty()
        && alias.len() <= 40
        && alias
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !alias.starts_with('-')
        && !alias.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            "alias",
            "1-40 lowercase letters, digits and dashes (not at either end)",
        ))
    }
}

/// Normalizes and checks routed email domains (`acme.com`, lowercase, no `@`).
pub fn validate_domains(domains: &[String]) -> Result<Vec<String>, CoreError> {
    if domains.len() > 50 {
        return Err(CoreError::invalid("domains", "at most 50 domains"));
    }
    let mut out = Vec::new();
    for d in domains {
        let d = d.trim().trim_start_matches('@').to_lowercase();
        let ok = !d.is_empty()
            && d.len() <= 253
            && d.contains('.')
            && d.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !ok {
            return Err(CoreError::invalid(
                "domains",
                format!("{d:?} is not a domain name such as acme.com"),
            ));
        }
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

impl IdentityProvider {
    /// Validates the policy fields (the protocol settings are checked by the protocol crate).
    pub fn validate(&self) -> Result<(), CoreError> {
        validate_alias(&self.alias)?;
        crate::tenant::validate_display_name("display_name", &self.display_name)?;
        validate_domains(&self.domains)?;
        if !self.settings.is_object() {
            return Err(CoreError::invalid("config", "must be a JSON object"));
        }
        Ok(())
    }

    /// Whether `email` belongs to one of this provider's routed domains.
    pub fn routes_email(&self, email: &str) -> bool {
        let Some((_, domain)) = email.trim().rsplit_once('@') else {
            return false;
        };
        let domain = domain.to_lowercase();
        self.enabled && self.domains.contains(&domain)
    }
}

/// An upstream identity linked to a local account: signing in at the provider as `subject`
/// signs in as `user_id`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkedIdentity {
    pub id: LinkedIdentityId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub provider_id: IdentityProviderId,
    /// The provider's identifier of the person (sealed at rest, found through a blind index).
    pub subject: String,
    /// The email the provider gave when the link was made (sealed), for people to recognize it.
    pub email: Option<String>,
    /// The provider's tokens (sealed JSON), when the provider is set to keep them.
    pub tokens: Option<serde_json::Value>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// Where a sign-in at a provider stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FederationStage {
    /// Sent to the provider; waiting for the browser to come back with a code.
    Authorize,
    /// Back from the provider with an identity that needs a proof before anything happens:
    /// that the existing account with its email is the person's (`target_user`), or that the
    /// unverified address of a new account is (no `target_user`).
    AwaitingProof,
}

impl FederationStage {
    pub fn as_str(self) -> &'static str {
        match self {
            FederationStage::Authorize => "authorize",
            FederationStage::AwaitingProof => "awaiting_proof",
        }
    }
    pub fn parse(s: &str) -> Option<FederationStage> {
        match s {
            "authorize" => Some(FederationStage::Authorize),
            "awaiting_proof" => Some(FederationStage::AwaitingProof),
            _ => None,
        }
    }
}

/// A sign-in at an upstream provider in progress, bound to the browser that started it.
#[derive(Clone, Debug, PartialEq)]
pub struct FederationState {
    pub id: FederationStateId,
    pub tenant_id: TenantId,
    pub provider_id: IdentityProviderId,
    pub stage: FederationStage,
    /// SHA-256 (hex) of the `state` sent to the provider.
    pub state_hash: String,
    /// SHA-256 (hex) of the browser's `tessera_fed` cookie.
    pub binding_hash: String,
    /// SHA-256 (hex) of the nonce sent to the provider.
    pub nonce_hash: String,
    /// The PKCE verifier (sealed at rest).
    pub pkce_verifier: Secret,
    /// Where to go once signed in (already checked to stay on this origin).
    pub return_to: String,
    /// Set when a signed-in person connects a provider from the account portal: the account the
    /// identity will be linked to.
    pub linking_user: Option<UserId>,
    /// [`FederationStage::AwaitingProof`]: the existing account the identity would join (none
    /// when an account is to be created once the address is proven).
    pub target_user: Option<UserId>,
    /// [`FederationStage::AwaitingProof`]: the upstream identity (sealed JSON); a `form_post`
    /// response waiting for the browser's cookie (sealed JSON) in [`FederationStage::Authorize`].
    pub payload: Option<serde_json::Value>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl FederationState {
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}

/// What an upstream identity may do, once the provider vouched for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// It is linked to this account: sign in.
    SignIn(UserId),
    /// The provider is trusted for emails and vouches for this account's address: link, then
    /// sign in.
    LinkTrusted(UserId),
    /// An account with this email exists: its owner must prove it before the link is made.
    ProveOwnership(UserId),
    /// Nobody has this email: create the account. When the provider did not verify the
    /// address, the person proves it first (an emailed code): otherwise anyone could claim an
    /// address at a lax provider and hold the account before its real owner arrives (account
    /// pre-hijacking).
    Provision { verify_email_first: bool },
    /// Nothing may happen; the reason is recorded (`no_account`, `no_email`, `account_disabled`).
    Refuse(&'static str),
}

/// The linking rule. `linked` is the account the identity is already linked to; `same_email` the
/// account whose email equals the identity's (only looked up when the identity has an email).
pub fn resolve(
    provider: &IdentityProvider,
    linked: Option<&User>,
    same_email: Option<&User>,
    identity_has_email: bool,
    email_verified: bool,
) -> Resolution {
    if let Some(u) = linked {
        return if u.can_sign_in() {
            Resolution::SignIn(u.id)
        } else {
            Resolution::Refuse("account_disabled")
        };
    }
    if let Some(u) = same_email {
        if !u.can_sign_in() {
            return Resolution::Refuse("account_disabled");
        }
        // Linking on an address needs a provider that owns addresses AND says it verified
        // this one, AND an account whose own address is verified (else whoever registered it
        // first, unproven, would be handed the upstream identity's sign-ins or vice versa).
        return if provider.trust_email && email_verified && u.email_verified {
            Resolution::LinkTrusted(u.id)
        } else {
            Resolution::ProveOwnership(u.id)
        };
    }
    if !provider.jit {
        return Resolution::Refuse("no_account");
    }
    if !identity_has_email {
        return Resolution::Refuse("no_email");
    }
    Resolution::Provision {
        verify_email_first: !email_verified,
    }
}

/// Whether removing one of `linked_identities` (the account has that many) would leave the
/// account without a way to sign in.
pub fn can_remove_identity(
    user: &User,
    linked_identities: usize,
    has_passkey: bool,
    email_sign_in: bool,
) -> bool {
    linked_identities > 1
        || user.password_hash.is_some()
        || has_passkey
        || (email_sign_in && user.email_verified)
}

pub trait FederationStore {
    /// `Conflict("alias")` when the tenant already has a provider with this alias.
    async fn create_identity_provider(&self, p: &IdentityProvider) -> StoreResult<()>;
    async fn get_identity_provider(
        &self,
        tenant: TenantId,
        id: IdentityProviderId,
    ) -> StoreResult<Option<IdentityProvider>>;
    async fn find_identity_provider(
        &self,
        tenant: TenantId,
        alias: &str,
    ) -> StoreResult<Option<IdentityProvider>>;
    /// Ordered by alias.
    async fn list_identity_providers(&self, tenant: TenantId)
    -> StoreResult<Vec<IdentityProvider>>;
    /// Writes every field (matched on tenant and id). `NotFound`, or `Conflict("alias")`.
    async fn update_identity_provider(&self, p: &IdentityProvider) -> StoreResult<()>;
    /// Deletes the provider with its linked identities and sign-ins in progress.
    async fn delete_identity_provider(
        &self,
        tenant: TenantId,
        id: IdentityProviderId,
    ) -> StoreResult<bool>;

    /// `Conflict("subject")` when the identity is linked already; `Conflict("provider")` when
    /// the account already has an identity of this provider.
    async fn create_linked_identity(&self, link: &LinkedIdentity) -> StoreResult<()>;
    async fn find_linked_identity(
        &self,
        tenant: TenantId,
        provider: IdentityProviderId,
        subject: &str,
    ) -> StoreResult<Option<LinkedIdentity>>;
    /// Oldest first.
    async fn list_linked_identities(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Vec<LinkedIdentity>>;
    async fn delete_linked_identity(
        &self,
        tenant: TenantId,
        user: UserId,
        id: LinkedIdentityId,
    ) -> StoreResult<bool>;
    /// Replaces the kept tokens (after a refresh at the provider), without counting a sign-in.
    async fn update_linked_identity_tokens(
        &self,
        tenant: TenantId,
        id: LinkedIdentityId,
        tokens: &serde_json::Value,
    ) -> StoreResult<()>;
    /// Records a sign-in with the identity, with the provider's latest tokens when kept.
    async fn touch_linked_identity(
        &self,
        tenant: TenantId,
        id: LinkedIdentityId,
        at: Timestamp,
        tokens: Option<&serde_json::Value>,
    ) -> StoreResult<()>;

    async fn create_federation_state(&self, state: &FederationState) -> StoreResult<()>;
    /// Removes and returns the live state with this `state_hash` (each state is used once).
    async fn take_federation_state(
        &self,
        tenant: TenantId,
        state_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<FederationState>>;
    /// Stores a `form_post` response on a state still waiting for it; false when there is no
    /// such state or it already has one.
    async fn stash_federation_response(
        &self,
        tenant: TenantId,
        state_hash: &str,
        payload: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// The live state of `stage` bound to this browser, newest first.
    async fn find_federation_state_by_binding(
        &self,
        tenant: TenantId,
        binding_hash: &str,
        stage: FederationStage,
        now: Timestamp,
    ) -> StoreResult<Option<FederationState>>;
    /// Replaces the payload of a state (a proof's code, its attempts); false when it is gone.
    async fn update_federation_payload(
        &self,
        tenant: TenantId,
        id: FederationStateId,
        payload: &serde_json::Value,
    ) -> StoreResult<bool>;
    async fn delete_federation_state(
        &self,
        tenant: TenantId,
        id: FederationStateId,
    ) -> StoreResult<bool>;
    /// Deletes expired states of every tenant; returns how many.
    async fn purge_federation_states(&self, now: Timestamp) -> StoreResult<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::NewUser;

    fn now() -> Timestamp {
        time::macros::datetime!(2026-06-05 0:00 UTC)
    }

    fn provider(trust_email: bool, jit: bool) -> IdentityProvider {
        IdentityProvider {
            id: IdentityProviderId::new(),
            tenant_id: TenantId::new(),
            alias: "corp".into(),
            display_name: "Corp".into(),
            enabled: true,
            trust_email,
            jit,
            domains: vec!["corp.example".into()],
            settings: serde_json::json!({}),
            client_secret: None,
            created_at: now(),
            updated_at: now(),
        }
    }

    fn user(verified: bool) -> User {
        User::create(
            TenantId::new(),
            NewUser {
                email: "victim@corp.example".into(),
                email_verified: verified,
                ..Default::default()
            },
            None,
            now(),
        )
        .unwrap()
    }

    #[test]
    fn an_existing_account_is_never_joined_without_proof_unless_trusted_and_verified() {
        let victim = user(true);
        // Untrusted provider: proof required, whatever the provider says.
        for verified in [true, false] {
            assert_eq!(
                resolve(&provider(false, true), None, Some(&victim), true, verified),
                Resolution::ProveOwnership(victim.id)
            );
        }
        // Trusted provider, but the address is not verified upstream: proof required.
        assert_eq!(
            resolve(&provider(true, true), None, Some(&victim), true, false),
            Resolution::ProveOwnership(victim.id)
        );
        // Trusted and verified on both sides: linked.
        assert_eq!(
            resolve(&provider(true, true), None, Some(&victim), true, true),
            Resolution::LinkTrusted(victim.id)
        );
        // The local account's own address was never proven: proof required.
        let squatter = user(false);
        assert_eq!(
            resolve(&provider(true, true), None, Some(&squatter), true, true),
            Resolution::ProveOwnership(squatter.id)
        );
    }

    #[test]
    fn linked_identities_sign_in_and_unknown_people_are_provisioned_when_allowed() {
        let u = user(true);
        assert_eq!(
            resolve(&provider(false, false), Some(&u), None, true, false),
            Resolution::SignIn(u.id)
        );
        let mut disabled = u.clone();
        disabled.status = crate::user::UserStatus::Disabled;
        assert_eq!(
            resolve(&provider(false, true), Some(&disabled), None, true, true),
            Resolution::Refuse("account_disabled")
        );
        assert_eq!(
            resolve(&provider(false, true), None, None, true, false),
            Resolution::Provision {
                verify_email_first: true
            }
        );
        assert_eq!(
            resolve(&provider(false, true), None, None, true, true),
            Resolution::Provision {
                verify_email_first: false
            }
        );
        assert_eq!(
            resolve(&provider(false, false), None, None, true, true),
            Resolution::Refuse("no_account")
        );
        assert_eq!(
            resolve(&provider(false, true), None, None, false, false),
            Resolution::Refuse("no_email")
        );
    }

    #[test]
    fn aliases_domains_and_routing() {
        assert!(validate_alias("acme-sso").is_ok());
        for bad in ["", "-a", "a-", "A", "a_b", "a/b", &"a".repeat(41)] {
            assert!(validate_alias(bad).is_err(), "{bad}");
        }
        assert_eq!(
            validate_domains(&["@ACME.com".into(), "acme.com".into()]).unwrap(),
            vec!["acme.com".to_string()]
        );
        assert!(validate_domains(&["localhost".into()]).is_err());
        assert!(validate_domains(&["a b.com".into()]).is_err());
        let p = provider(false, true);
        assert!(p.routes_email("Bob@Corp.Example"));
        assert!(!p.routes_email("bob@corp.example.evil"));
        assert!(!p.routes_email("bob"));
    }

    #[test]
    fn the_last_sign_in_method_stays() {
        let mut u = user(true);
        assert!(!can_remove_identity(&u, 1, false, false));
        assert!(can_remove_identity(&u, 2, false, false));
        assert!(can_remove_identity(&u, 1, true, false));
        assert!(can_remove_identity(&u, 1, false, true));
        u.password_hash = Some(Secret::new("$argon2id$..."));
        assert!(can_remove_identity(&u, 1, false, false));
    }
}
