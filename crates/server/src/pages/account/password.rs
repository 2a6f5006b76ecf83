//! `POST {issuer}/account/password`: change the password (the current one is asked), or set a
//! first one on an account without a password (after a recent sign-in). Other sessions end.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;

use super::Post;
use crate::account_portal::change_password;
use crate::pages::user_agent;
use crate::state::AppState;

pub async fn submit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let post = match Post::read(&state, &slug, jar, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let had_password = post.user.password_hash.is_some();
    let result = change_password(
        &state,
        &post.tenant,
        &post.user,
        &post.session,
        post.field("current_password"),
        post.field("new_password"),
        Some(peer.ip()),
        user_agent(&headers),
    )
    .await;
    match result {
        Ok(_) if had_password => super::done(&post.tenant, "password"),
        Ok(_) => super::done(&post.tenant, "password_set"),
        // Passwords are never echoed back into the page.
        Err(refused) => post.refused(&state, refused, Vec::new()).await,
    }
}
