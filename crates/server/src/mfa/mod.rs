//! Multi-factor and passwordless sign-in on the hosted pages: the sign-in flow between the first
//! factor and the session (`flow`), "remember this device" (`device`), each factor (`totp`,
//! `recovery`, `email_code`, `webauthn`) and their pages (`pages`). The rules (what a factor
//! proves, when a second one is needed) live in `tessera_core::mfa`.

pub mod device;
pub mod email_code;
pub mod flow;
pub mod pages;
pub mod recovery;
pub mod totp;
pub mod webauthn;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(pages::router())
        .merge(webauthn::router())
}
