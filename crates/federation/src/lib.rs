//! Upstream login for Tessera: people sign in with an identity provider they already have —
//! an enterprise OpenID Provider, Google, Microsoft, Apple, GitHub, Facebook — instead of (or
//! besides) a Tessera password.
//!
//! This crate is the protocol half, without HTTP framework or storage: provider configuration
//! and presets ([`config`], [`presets`]), discovery and key sets with caching ([`discovery`]),
//! the authorization request and the code exchange ([`flow`]), ID token validation
//! ([`id_token`]), the Apple client secret ([`apple`]) and claim mapping ([`mapping`]). HTTP is
//! a [`http::Transport`] the server implements, so every step is tested here in memory.
//!
//! What the server does around it: it keeps state, nonce and PKCE verifier in the database bound
//! to the browser, decides what an upstream identity may do with local accounts (never link
//! one silently), and records every outcome in the audit trail.

pub mod apple;
pub mod config;
pub mod discovery;
pub mod error;
pub mod flow;
pub mod http;
pub mod id_token;
pub mod mapping;
pub mod presets;

#[cfg(test)]
mod fake_tests;

pub use config::ProviderConfig;
pub use discovery::{Endpoints, ProviderCache};
pub use error::{FailureClass, FederationError, IdTokenError};
pub use mapping::{Profile, UpstreamIdentity};
