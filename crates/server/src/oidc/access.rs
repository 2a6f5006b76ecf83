//! Checking presented access tokens (UserInfo, introspection, revocation): signature, issuer,
//! expiry, type, and revocation of the token or its grant.

use serde_json::Value;
use tessera_core::store::{AccessTokenRecord, GrantStore, PresentedToken};
use tessera_core::tenant::Tenant;
use tessera_core::user::User;
use tessera_crypto::jws::verify_jwt;
use tessera_crypto::sha256_hex;

use crate::app::Services;
use crate::state::AppState;

/// The claims of an active access token, or `None` when it is not (for whatever reason; callers
/// must not tell the presenter which).
pub async fn active_access_token(state: &AppState, tenant: &Tenant, token: &str) -> Option<Value> {
    checked(state, tenant, token, Holder::Skip)
        .await
        .map(|(claims, _)| claims)
}

/// As `active_access_token`, with the account the token's record names read in the same round
/// trip (UserInfo). `None` for the user when the token is not recorded (machine tokens) or its
/// account is gone; the caller decides what that means.
pub async fn active_access_token_with_user(
    state: &AppState,
    tenant: &Tenant,
    token: &str,
) -> Option<(Value, Option<User>)> {
    checked(state, tenant, token, Holder::Read).await
}

/// Whether to read the token's account along with its record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Holder {
    Skip,
    Read,
}

/// The record of a token (by jti or by hash), whether its family is revoked and, when asked, its
/// account: one statement either way.
async fn record(
    svc: &Services,
    tenant: &Tenant,
    token_id: &str,
    holder: Holder,
) -> Option<Option<PresentedToken<AccessTokenRecord>>> {
    let store = &svc.store;
    match holder {
        Holder::Read => store.present_access_token(tenant.id, token_id).await.ok(),
        Holder::Skip => store
            .get_access_token_with_family(tenant.id, token_id)
            .await
            .ok()
            .map(|found| {
                found.map(|(token, family_revoked)| PresentedToken {
                    token,
                    family_revoked,
                    user: None,
                    session: None,
                })
            }),
    }
}

async fn checked(
    state: &AppState,
    tenant: &Tenant,
    token: &str,
    holder: Holder,
) -> Option<(Value, Option<User>)> {
    if token.is_empty() || token.len() > 8192 {
        return None;
    }
    let svc = &state.services;
    let now = Services::now();
    if token.split('.').count() == 3 {
        let digest = sha256_hex(token.as_bytes());
        // Signature and type; remembered per token (see `KeyRing::verified`).
        let claims = match state.keys.verified(tenant.id, &digest) {
            Some(claims) => claims,
            None => {
                let keys = state.keys.keys(svc, tenant.id).await.ok()?;
                let jwt = verify_jwt(token, &keys.verifiers, &["ES256", "RS256", "EdDSA"]).ok()?;
                // An ID token is not an access token (RFC 9068 §4: check typ).
                let typ = jwt.header.get("typ").and_then(|v| v.as_str()).unwrap_or("");
                if !typ.eq_ignore_ascii_case("at+jwt")
                    && !typ.eq_ignore_ascii_case("application/at+jwt")
                {
                    return None;
                }
                state.keys.remember_verified(tenant.id, digest, &jwt.claims);
                jwt.claims
            }
        };
        if claims.get("iss").and_then(|v| v.as_str())
            != Some(tenant.issuer(&svc.config.public_url).as_str())
        {
            return None;
        }
        if claims
            .get("exp")
            .and_then(|v| v.as_i64())
            .is_none_or(|exp| exp <= now.unix_timestamp())
        {
            return None;
        }
        let jti = claims.get("jti").and_then(|v| v.as_str())?;
        // Unrecorded machine tokens are active until they expire; recorded ones unless revoked,
        // by themselves or with their family.
        let Some(found) = record(svc, tenant, jti, holder).await? else {
            return Some((claims, None));
        };
        if found.token.revoked_at.is_some() || found.family_revoked {
            return None;
        }
        return Some((claims, found.user));
    }
    let found = record(svc, tenant, &sha256_hex(token.as_bytes()), holder).await??;
    let rec = found.token;
    if rec.revoked_at.is_some() || found.family_revoked || rec.expires_at <= now {
        return None;
    }
    Some((rec.opaque_claims?, found.user))
}
