//! Minting tokens: RFC 9068 JWT access tokens (ES256 by default) or opaque ones per client, ID
//! tokens (RS256 by default, per-client `id_token_signed_response_alg`), rotating refresh tokens.

use serde::Serialize;
use tessera_core::client::{Client, GRANT_REFRESH_TOKEN};
use tessera_core::oauth::RefreshToken;
use tessera_core::store::{AccessTokenRecord, GrantStore, GroupStore};
use tessera_core::tenant::Tenant;
use tessera_core::user::User;
use tessera_core::{SessionId, Timestamp};
use tessera_crypto::jws::{SigningAlg, token_hash};
use tessera_crypto::{random_token, sha256_hex};
use tessera_oidc::claims::{
    AccessTokenFacts, IdTokenFacts, access_token_claims, id_token_claims, mapped_claims,
    mapping_needs_groups, user_claims,
};
use tessera_oidc::scope::{OFFLINE_ACCESS, OPENID};
use tessera_oidc::{ErrorCode, OAuthError};

use crate::app::Services;
use crate::state::AppState;

/// RFC 6749 §5.1 successful token response.
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

/// Who the tokens are about and how they authenticated.
pub struct Grant<'a> {
    pub user: Option<&'a User>,
    pub scopes: Vec<String>,
    pub auth_time: Option<Timestamp>,
    pub amr: Vec<String>,
    pub acr: Option<String>,
    pub nonce: Option<String>,
    pub session_id: Option<SessionId>,
    /// The refresh-token family (the code's hash for a new grant).
    pub family_id: Option<String>,
    /// For a refresh: the family's absolute end, carried over.
    pub family_expires_at: Option<Timestamp>,
    pub issue_refresh: bool,
}

pub(super) fn server_error(e: impl std::fmt::Display) -> OAuthError {
    tracing::error!(error = %e, "token issuance failed");
    OAuthError::new(ErrorCode::ServerError, "the token could not be issued")
}

pub fn alg_from_metadata(client: &Client, key: &str, default: SigningAlg) -> SigningAlg {
    client
        .metadata
        .get(key)
        .and_then(|v| v.as_str())
        .and_then(|s| SigningAlg::parse(s).ok())
        .unwrap_or(default)
}

/// Tokens signed and their records built, not yet stored (see [`mint`]).
pub struct Minted {
    pub response: TokenResponse,
    /// The access token's record, for user tokens and opaque tokens (machine JWTs are not recorded).
    pub access_record: Option<AccessTokenRecord>,
    /// The new refresh token's record, when one is issued.
    pub refresh_record: Option<RefreshToken>,
}

/// Mints the grant's tokens and stores their records.
pub async fn issue(
    state: &AppState,
    tenant: &Tenant,
    client: &Client,
    g: Grant<'_>,
) -> Result<TokenResponse, OAuthError> {
    let minted = mint(state, tenant, client, g).await?;
    let store = &state.services.store;
    let stored = match (&minted.access_record, &minted.refresh_record) {
        // A code exchange's pair in one message to the database.
        (Some(access), Some(refresh)) => store.insert_issued_tokens(access, refresh).await,
        (Some(access), None) => store.insert_access_token(access).await,
        (None, Some(refresh)) => store.insert_refresh_token(refresh).await,
        (None, None) => Ok(()),
    };
    stored.map_err(server_error)?;
    Ok(minted.response)
}

/// Signs the grant's tokens and builds the records that must be stored before they are handed
/// out; the caller stores them (with [`issue`], or in one transaction with a refresh token's
/// rotation).
pub async fn mint(
    state: &AppState,
    tenant: &Tenant,
    client: &Client,
    g: Grant<'_>,
) -> Result<Minted, OAuthError> {
    let svc = &state.services;
    let now = Services::now();
    let now_unix = now.unix_timestamp();
    let issuer = tenant.issuer(&svc.config.public_url);
    let keys = state
        .keys
        .keys(svc, tenant.id)
        .await
        .map_err(server_error)?;
    let s = &tenant.settings;
    let scope = g.scopes.join(" ");
    let subject = g
        .user
        .map(|u| u.id.to_string())
        .unwrap_or_else(|| client.client_id.clone());
    let sid = g.session_id.map(|s| s.to_string());
    let at_ttl = s.access_token_ttl_secs as i64;
    let jti = random_token(16);
    let audience = client
        .metadata
        .get("access_token_audience")
        .and_then(|v| v.as_str())
        .unwrap_or(&client.client_id)
        .to_string();
    let facts = AccessTokenFacts {
        issuer: &issuer,
        subject: &subject,
        audience: &audience,
        client_id: &client.client_id,
        scope: &scope,
        jti: &jti,
        now: now_unix,
        ttl_secs: at_ttl,
        auth_time: g.auth_time.map(|t| t.unix_timestamp()),
        acr: g.acr.as_deref(),
        amr: &g.amr,
        sid: sid.as_deref(),
    };
    let claims = access_token_claims(&facts);
    let opaque = client
        .metadata
        .get("access_token_format")
        .and_then(|v| v.as_str())
        == Some("opaque");
    let (access_token, token_id) = if opaque {
        let t = random_token(32);
        let id = sha256_hex(t.as_bytes());
        (t, id)
    } else {
        let alg = alg_from_metadata(
            client,
            "access_token_signed_response_alg",
            SigningAlg::ES256,
        );
        let signer = keys
            .signer(alg)
            .ok_or_else(|| server_error("no active signing key"))?;
        (
            signer.sign_jwt("at+jwt", &claims).map_err(server_error)?,
            jti.clone(),
        )
    };
    // User tokens and opaque tokens are recorded so they can be revoked with their grant; machine
    // JWTs are not (they are short-lived and revocable by jti), which keeps client_credentials write-free.
    let access_record = (opaque || g.user.is_some()).then(|| AccessTokenRecord {
        token_id,
        tenant_id: tenant.id,
        client_id: client.client_id.clone(),
        user_id: g.user.map(|u| u.id),
        family_id: g.family_id.clone(),
        scope: scope.clone(),
        opaque_claims: opaque.then(|| claims.clone()),
        created_at: now,
        expires_at: now + time::Duration::seconds(at_ttl),
        revoked_at: None,
    });

    let id_token = match (g.user, g.scopes.iter().any(|s| s == OPENID)) {
        (Some(user), true) => {
            let alg = alg_from_metadata(client, "id_token_signed_response_alg", SigningAlg::RS256);
            let signer = keys
                .signer(alg)
                .ok_or_else(|| server_error("no active signing key"))?;
            let at_hash = token_hash(alg, &access_token);
            let facts = IdTokenFacts {
                issuer: &issuer,
                client_id: &client.client_id,
                now: now_unix,
                ttl_secs: s.id_token_ttl_secs as i64,
                auth_time: g.auth_time.map(|t| t.unix_timestamp()),
                nonce: g.nonce.as_deref(),
                acr: g.acr.as_deref(),
                amr: &g.amr,
                sid: sid.as_deref(),
                at_hash: Some(&at_hash),
            };
            // Like Keycloak and Auth0, the ID token carries the claims the granted scopes release
            // (it travels over the back channel in the code flow); UserInfo returns the same set.
            let base = released_claims(state, tenant, client, user, &g.scopes).await;
            Some(
                signer
                    .sign_jwt("JWT", &id_token_claims(&facts, base))
                    .map_err(server_error)?,
            )
        }
        _ => None,
    };

    let (refresh_token, refresh_record) = if g.issue_refresh
        && g.user.is_some()
        && client.grant_types.iter().any(|t| t == GRANT_REFRESH_TOKEN)
    {
        let offline = g.scopes.iter().any(|s| s == OFFLINE_ACCESS);
        let family_end = g.family_expires_at.unwrap_or_else(|| {
            let max = if offline {
                s.offline_token_max_secs
            } else {
                s.session_absolute_timeout_secs
            };
            now + time::Duration::seconds(max as i64)
        });
        let t = random_token(32);
        let record = RefreshToken {
            token_hash: sha256_hex(t.as_bytes()),
            family_id: g.family_id.clone().unwrap_or_else(|| random_token(16)),
            tenant_id: tenant.id,
            client_id: client.client_id.clone(),
            user_id: g.user.map(|u| u.id),
            session_id: if offline { None } else { g.session_id },
            scope: scope.clone(),
            auth_time: g.auth_time,
            amr: g.amr.clone(),
            acr: g.acr.clone(),
            created_at: now,
            expires_at: (now + time::Duration::seconds(s.refresh_token_idle_secs as i64))
                .min(family_end),
            family_expires_at: family_end,
            rotated_at: None,
            revoked_at: None,
        };
        (Some(t), Some(record))
    } else {
        (None, None)
    };

    Ok(Minted {
        response: TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: at_ttl,
            refresh_token,
            id_token,
            scope,
        },
        access_record,
        refresh_record,
    })
}

/// The user claims a client receives: those the scopes release plus the client's mapped custom
/// claims (`metadata.claims`), loading the user's groups only when a mapping asks for them.
pub async fn released_claims(
    state: &AppState,
    tenant: &Tenant,
    client: &Client,
    user: &User,
    scopes: &[String],
) -> serde_json::Map<String, serde_json::Value> {
    let mut claims = user_claims(user, scopes);
    // Privacy: the purposes the person consents to now (read at issue time, so a withdrawal is
    // missing from the next token).
    if scopes.iter().any(|s| s == tessera_oidc::scope::CONSENTS) {
        let granted = crate::privacy::consents_claim(state, tenant.id, user.id).await;
        claims.insert("consents".into(), serde_json::Value::from(granted));
    }
    let mapping = client.metadata.get("claims");
    let groups: Vec<String> = if mapping_needs_groups(mapping) {
        match state
            .services
            .store
            .groups_of_user(tenant.id, user.id)
            .await
        {
            Ok(g) => g.into_iter().map(|g| g.name).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "could not load the user's groups for token claims");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    for (k, v) in mapped_claims(user, &groups, mapping) {
        claims.entry(k).or_insert(v);
    }
    // "roles" / "permissions": what the user holds for THIS application only (roles whose
    // application is the client), so a token carries only what its audience needs.
    if let Some(serde_json::Value::Object(rules)) = mapping {
        let ctx = tessera_core::authz::AccessContext {
            attributes: user.attributes.clone(),
            ..Default::default()
        };
        for (claim, source) in rules {
            if tessera_oidc::claims::is_reserved_claim(claim) {
                continue;
            }
            let value = match source.as_str() {
                Some("roles") => crate::app::authz::role_names(
                    &state.services,
                    &state.authz,
                    tenant.id,
                    user.id,
                    &ctx,
                    &client.client_id,
                )
                .await
                .map(serde_json::Value::from),
                Some("permissions") => crate::app::authz::application_permissions(
                    &state.services,
                    &state.authz,
                    tenant.id,
                    user.id,
                    &ctx,
                    &client.client_id,
                )
                .await
                .map(serde_json::Value::from),
                _ => continue,
            };
            match value {
                Ok(v) => {
                    claims.entry(claim.clone()).or_insert(v);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not compute roles or permissions for token claims")
                }
            }
        }
    }
    claims
}
