//! Tessera's domain: tenants, accounts, groups, clients (applications), sessions, API keys and the
//! sign-in throttling policy, plus the store traits the adapters implement.
//!
//! This crate knows nothing of HTTP or SQL. Time is always a parameter (`now`), so tests can move
//! through expiry and lockout windows without sleeping.

pub mod account;
pub mod analytics;
pub mod apikey;
pub mod authz;
pub mod branding;
pub mod client;
pub mod error;
pub mod events;
pub mod federation;
pub mod group;
pub mod ids;
pub mod mail;
pub mod mfa;
pub mod oauth;
pub mod page;
pub mod password_policy;
pub mod privacy;
pub mod privacy_requests;
pub mod registration;
pub mod secret;
pub mod session;
pub mod store;
pub mod tenant;
pub mod throttle;
pub mod user;
pub mod verification;
pub mod webhook;

pub use error::{CoreError, StoreError};
pub use ids::{
    ApiKeyId, AssignmentId, FactorId, GroupId, LoginFlowId, RoleId, SessionId, TenantId, UserId,
};
pub use mail::{OutgoingMail, QueuedMail};
pub use secret::Secret;
pub use verification::{VerificationPurpose, VerificationStore, VerificationToken};

/// Time as the domain sees it.
pub type Timestamp = time::OffsetDateTime;
