//! `POST {issuer}/account/profile`: the person edits their name, given and family name and phone
//! number (the fields the tenant's sign-up form asks for, and any other already filled in).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;

use super::Post;
use crate::account_portal::update_profile;
use crate::state::AppState;

pub async fn submit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let post = match Post::read(&state, &slug, jar, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let values: Vec<(String, String)> = post
        .fields
        .iter()
        .filter(|(k, _)| k != "csrf_token")
        .cloned()
        .collect();
    match update_profile(&state, &post.tenant, &post.user, &values).await {
        Ok(_) => super::done(&post.tenant, "profile"),
        Err(refused) => post.refused(&state, refused, values).await,
    }
}
