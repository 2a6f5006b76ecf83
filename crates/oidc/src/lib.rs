//! OAuth 2.x and OpenID Connect as a protocol layer: it validates what arrives on the wire and
//! shapes what goes back (errors, discovery, claims), without HTTP framework or storage. The
//! server maps these onto routes and the store.

pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod params;
pub mod pkce;
pub mod scope;

pub use error::{ErrorCode, OAuthError};
pub use params::Params;
