//! Per-tenant token signing keys: created on first use, private keys sealed under the master key,
//! parsed once and cached (never re-parsed per request), rotated on demand or on a schedule with the
//! previous key kept in JWKS until every token it signed has expired.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tessera_core::oauth::{KeyStatus, SigningKeyRecord};
use tessera_core::store::SigningKeyStore;
use tessera_core::tenant::Tenant;
use tessera_core::{StoreError, TenantId, Timestamp};
use tessera_crypto::jws::{SigningAlg, SigningKey, VerifyingKey};

use crate::app::Services;

/// How long a node trusts its cached view of a tenant's keys. Another node's rotation becomes
/// visible within this time; retired keys stay published far longer, so tokens keep verifying.
const CACHE_TTL: Duration = Duration::from_secs(30);

pub const ALGS: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

/// The parsed keys of one tenant.
pub struct TenantKeys {
    signers: HashMap<SigningAlg, Arc<SigningKey>>,
    pub verifiers: Vec<VerifyingKey>,
    /// The published keys as the JWKS endpoint serves them, serialized once.
    pub jwks: axum::body::Bytes,
}

impl TenantKeys {
    pub fn signer(&self, alg: SigningAlg) -> Option<&Arc<SigningKey>> {
        self.signers.get(&alg)
    }
}

/// Above this many remembered verifications the memory of them starts over.
const VERIFIED_MAX: usize = 50_000;

#[derive(Default)]
pub struct KeyRing {
    cache: Mutex<HashMap<TenantId, (Instant, Arc<TenantKeys>)>>,
    /// JWT access tokens whose signature, type and issuer this node checked, by tenant and the
    /// token's SHA-256, with their claims. Kept no longer than the key view they were checked
    /// with ([`CACHE_TTL`]) and dropped with it, so a repeated introspection or UserInfo call
    /// skips the signature check but never outlives a key change. Expiry and revocation are not
    /// remembered: they are checked on every call.
    verified: Mutex<HashMap<(TenantId, String), (Instant, Value)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("crypto: {0}")]
    Crypto(String),
}

fn aad(tenant: TenantId, kid: &str) -> Vec<u8> {
    format!("signing-key:{tenant}:{kid}").into_bytes()
}

impl KeyRing {
    /// The tenant's keys, creating the missing active ones.
    pub async fn keys(
        &self,
        svc: &Services,
        tenant: TenantId,
    ) -> Result<Arc<TenantKeys>, KeyError> {
        if let Ok(cache) = self.cache.lock()
            && let Some((at, keys)) = cache.get(&tenant)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(keys.clone());
        }
        let now = Services::now();
        let mut records = svc.store.list_signing_keys(tenant).await?;
        let mut created = false;
        for alg in ALGS {
            let has_active = records
                .iter()
                .any(|r| r.alg == alg.as_str() && r.status == KeyStatus::Active);
            if !has_active {
                let record = new_record(svc, tenant, alg, now)?;
                match svc.store.insert_signing_key(&record).await {
                    // Another node created it first: fine, we reload below.
                    Ok(()) | Err(StoreError::Conflict(_)) => created = true,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        if created {
            records = svc.store.list_signing_keys(tenant).await?;
        }
        let keys = Arc::new(build(svc, tenant, &records, now)?);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(tenant, (Instant::now(), keys.clone()));
        }
        Ok(keys)
    }

    pub fn invalidate(&self, tenant: TenantId) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(&tenant);
        }
        if let Ok(mut verified) = self.verified.lock() {
            verified.retain(|(t, _), _| *t != tenant);
        }
    }

    /// The claims of an access token this node verified less than [`CACHE_TTL`] ago.
    pub fn verified(&self, tenant: TenantId, token_sha256: &str) -> Option<Value> {
        let verified = self.verified.lock().ok()?;
        let (at, claims) = verified.get(&(tenant, token_sha256.to_string()))?;
        (at.elapsed() < CACHE_TTL).then(|| claims.clone())
    }

    /// Remembers a verified access token's claims (see [`KeyRing::verified`]).
    pub fn remember_verified(&self, tenant: TenantId, token_sha256: String, claims: &Value) {
        if let Ok(mut verified) = self.verified.lock() {
            if verified.len() >= VERIFIED_MAX {
                verified.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
                if verified.len() >= VERIFIED_MAX {
                    verified.clear();
                }
            }
            verified.insert((tenant, token_sha256), (Instant::now(), claims.clone()));
        }
    }
}

fn new_record(
    svc: &Services,
    tenant: TenantId,
    alg: SigningAlg,
    now: Timestamp,
) -> Result<SigningKeyRecord, KeyError> {
    let key = SigningKey::generate(alg).map_err(|e| KeyError::Crypto(e.to_string()))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| KeyError::Crypto(e.to_string()))?;
    let sealed = svc
        .crypto
        .encrypt(&aad(tenant, key.kid()), &der)
        .map_err(|e| KeyError::Crypto(e.to_string()))?;
    Ok(SigningKeyRecord {
        kid: key.kid().to_string(),
        tenant_id: tenant,
        alg: alg.as_str().to_string(),
        private_key_sealed: sealed,
        public_jwk: key.public_jwk(),
        status: KeyStatus::Active,
        created_at: now,
        retired_at: None,
        publish_until: None,
    })
}

fn build(
    svc: &Services,
    tenant: TenantId,
    records: &[SigningKeyRecord],
    now: Timestamp,
) -> Result<TenantKeys, KeyError> {
    let mut signers = HashMap::new();
    let mut verifiers = Vec::new();
    let mut published = Vec::new();
    // Newest first, so the newest active key of an algorithm wins if two ever coexist.
    for r in records.iter().rev() {
        if !r.is_published(now) {
            continue;
        }
        if r.status == KeyStatus::Active {
            let alg = SigningAlg::parse(&r.alg).map_err(|e| KeyError::Crypto(e.to_string()))?;
            if let std::collections::hash_map::Entry::Vacant(slot) = signers.entry(alg) {
                let der = svc
                    .crypto
                    .decrypt(&aad(tenant, &r.kid), &r.private_key_sealed)
                    .map_err(|e| {
                        KeyError::Crypto(format!(
                            "signing key {} cannot be decrypted (wrong master key?): {e}",
                            r.kid
                        ))
                    })?;
                let key = SigningKey::from_pkcs8(alg, &der)
                    .map_err(|e| KeyError::Crypto(e.to_string()))?;
                slot.insert(Arc::new(key));
            }
        }
        if let Ok(v) = VerifyingKey::from_jwk(&r.public_jwk) {
            verifiers.push(v);
        }
        published.push(r.public_jwk.clone());
    }
    Ok(TenantKeys {
        signers,
        verifiers,
        jwks: axum::body::Bytes::from(json!({ "keys": published }).to_string()),
    })
}

/// Replaces the tenant's active keys (all algorithms); the old ones stay published for
/// `keep_published_secs` so tokens they signed still verify.
pub async fn rotate(
    svc: &Services,
    ring: &KeyRing,
    tenant: &Tenant,
    actor: tessera_core::events::Actor,
) -> Result<Vec<String>, KeyError> {
    let now = Services::now();
    let s = &tenant.settings;
    let keep = s.access_token_ttl_secs.max(s.id_token_ttl_secs) as i64 + 300;
    let mut kids = Vec::new();
    for alg in ALGS {
        let record = new_record(svc, tenant.id, alg, now)?;
        svc.store
            .rotate_signing_key(&record, now + time::Duration::seconds(keep), now)
            .await?;
        kids.push(record.kid);
    }
    // Retired keys leave JWKS when their tokens have expired but stay in the database (sealed):
    // they still prove the audit checkpoints they signed.
    ring.invalidate(tenant.id);
    tracing::info!(tenant = %tenant.slug, "signing keys rotated");
    let ev = tessera_core::events::Event::new(
        tenant.id,
        now,
        tessera_core::events::EventKind::SigningKeysRotated { kids: kids.clone() },
        actor,
    )
    .target(tessera_core::events::Target::new("keys", &tenant.slug));
    svc.emit(ev).await;
    Ok(kids)
}

/// Whether the tenant's active keys are older than its rotation period.
pub async fn rotation_due(svc: &Services, tenant: &Tenant) -> Result<bool, KeyError> {
    let days = tenant.settings.signing_key_rotation_days;
    if days == 0 {
        return Ok(false);
    }
    let now = Services::now();
    let records = svc.store.list_signing_keys(tenant.id).await?;
    Ok(records
        .iter()
        .filter(|r| r.status == KeyStatus::Active)
        .any(|r| now - r.created_at > time::Duration::days(days as i64)))
}
