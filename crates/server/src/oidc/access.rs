//! Checking presented access tokens (UserInfo, introspection, revocation): signature, issuer,
//! expiry, type, and revocation of the token or its grant.

use serde_json::Value;
use tessera_core::store::GrantStore;
use tessera_core::tenant::Tenant;
use tessera_crypto::jws::verify_jwt;
use tessera_crypto::sha256_hex;

use crate::app::Services;
use crate::state::AppState;

/// The claims of an active access token, or `None` when it is not (for whatever reason; callers
/// must not tell the presenter which).
pub async fn active_access_token(state: &AppState, tenant: &Tenant, token: &str) -> Option<Value> {
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
        if let Some((rec, family_revoked)) = svc
            .store
            .get_access_token_with_family(tenant.id, jti)
            .await
            .ok()?
            && (rec.revoked_at.is_some() || family_revoked)
        {
            return None;
        }
        return Some(claims);
    }
    let (rec, family_revoked) = svc
        .store
        .get_access_token_with_family(tenant.id, &sha256_hex(token.as_bytes()))
        .await
        .ok()??;
    if rec.revoked_at.is_some() || family_revoked || rec.expires_at <= now {
        return None;
    }
    rec.opaque_claims
}
