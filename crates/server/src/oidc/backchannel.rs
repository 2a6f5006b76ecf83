//! OpenID Connect Back-Channel Logout 1.0: when a browser session ends, every client that signed in
//! through it and registered a `backchannel_logout_uri` receives a signed logout token by POST.
//! Deliveries retry with backoff; they run in the background so sign-out never waits on a client.

use std::time::Duration;

use serde_json::json;
use tessera_core::SessionId;
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::session::Session;
use tessera_core::store::{ClientStore, GrantStore, SessionStore};
use tessera_core::tenant::Tenant;
use tessera_crypto::jws::SigningAlg;
use tessera_crypto::random_token;

use super::issue::alg_from_metadata;
use crate::app::Services;
use crate::state::AppState;

/// Waits between attempts; four attempts in all, within about half a minute.
const BACKOFF: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(25),
];
const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Records that a session ended and notifies its clients in the background.
/// Ends every active session of `user` now (each `session.revoked` with `reason`, and a
/// back-channel logout to the applications that were signed in with it); returns how many.
pub async fn end_user_sessions(
    state: &AppState,
    tenant: &Tenant,
    user: tessera_core::UserId,
    reason: &str,
    actor: Actor,
) -> Result<u64, tessera_core::StoreError> {
    let store = &state.services.store;
    let now = Services::now();
    let active = store.list_sessions(tenant.id, Some(user), now).await?;
    let revoked = store.revoke_user_sessions(tenant.id, user, now).await?;
    for s in &active {
        session_ended(state, tenant, s, reason, actor.clone()).await;
    }
    Ok(revoked)
}

pub async fn session_ended(
    state: &AppState,
    tenant: &Tenant,
    session: &Session,
    reason: &str,
    actor: Actor,
) {
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::SessionRevoked {
            session_id: session.id.to_string(),
            reason: reason.to_string(),
        },
        actor,
    )
    .target(Target::new("session", session.id))
    .subject(session.user_id);
    state.services.emit(ev).await;
    let (state, tenant, sid, user) = (state.clone(), tenant.clone(), session.id, session.user_id);
    tokio::spawn(async move {
        notify(&state, &tenant, sid, &user.to_string()).await;
    });
}

/// As [`session_ended`], but returns only once the session's clients are read and their logout
/// tokens signed (the deliveries still run in the background). For callers about to delete the
/// account: its sessions, and the record of which clients they signed in to, go with it.
pub async fn session_ended_before_deletion(
    state: &AppState,
    tenant: &Tenant,
    session: &Session,
    reason: &str,
    actor: Actor,
) {
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::SessionRevoked {
            session_id: session.id.to_string(),
            reason: reason.to_string(),
        },
        actor,
    )
    .target(Target::new("session", session.id))
    .subject(session.user_id);
    state.services.emit(ev).await;
    notify(state, tenant, session.id, &session.user_id.to_string()).await;
}

async fn notify(state: &AppState, tenant: &Tenant, sid: SessionId, sub: &str) {
    let store = &state.services.store;
    let client_ids = match store.list_session_clients(tenant.id, sid).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "back-channel logout: cannot list the session's clients");
            return;
        }
    };
    let issuer = tenant.issuer(&state.services.config.public_url);
    for client_id in client_ids {
        let Ok(Some(client)) = store.get_client(tenant.id, &client_id).await else {
            continue;
        };
        let Some(uri) = client
            .metadata
            .get("backchannel_logout_uri")
            .and_then(|v| v.as_str())
            .map(str::to_string)
        else {
            continue;
        };
        let keys = match state.keys.keys(&state.services, tenant.id).await {
            Ok(k) => k,
            Err(e) => {
                tracing::error!(error = %e, "back-channel logout: signing keys unavailable");
                return;
            }
        };
        let alg = alg_from_metadata(&client, "id_token_signed_response_alg", SigningAlg::RS256);
        let Some(signer) = keys.signer(alg) else {
            continue;
        };
        let now = Services::now().unix_timestamp();
        let claims = json!({
            "iss": issuer,
            "aud": client.client_id,
            "iat": now,
            "exp": now + 120,
            "jti": random_token(16),
            "sub": sub,
            "sid": sid.to_string(),
            "events": { LOGOUT_EVENT: {} },
        });
        let token = match signer.sign_jwt("logout+jwt", &claims) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "back-channel logout: signing failed");
                continue;
            }
        };
        let http = state.http.clone();
        let client_id = client.client_id.clone();
        tokio::spawn(async move {
            for attempt in 0..=BACKOFF.len() {
                let sent = http
                    .post(&uri)
                    .form(&[("logout_token", token.as_str())])
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {
                        tracing::info!(client_id = %client_id, "back-channel logout delivered");
                        return;
                    }
                    Ok(r) => {
                        tracing::warn!(client_id = %client_id, status = r.status().as_u16(), attempt, "back-channel logout refused")
                    }
                    Err(e) => {
                        tracing::warn!(client_id = %client_id, error = %e, attempt, "back-channel logout failed")
                    }
                }
                if let Some(wait) = BACKOFF.get(attempt) {
                    tokio::time::sleep(*wait).await;
                }
            }
            tracing::error!(client_id = %client_id, "back-channel logout gave up after several attempts");
        });
    }
}
