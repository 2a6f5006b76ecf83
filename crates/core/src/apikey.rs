//! Admin API keys: bearer credentials for automation, stored hashed, with read/write scopes.

use serde::{Deserialize, Serialize};

use crate::{ApiKeyId, CoreError, TenantId, Timestamp};

/// Every API key starts with this, so leaked keys are easy to spot by secret scanners.
pub const API_KEY_PREFIX: &str = "tsk_";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiScope {
    Read,
    Write,
}

impl ApiScope {
    pub fn parse(s: &str) -> Result<ApiScope, CoreError> {
        match s {
            "read" => Ok(ApiScope::Read),
            "write" => Ok(ApiScope::Write),
            _ => Err(CoreError::invalid("scope", "must be \"read\" or \"write\"")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::Read => "read",
            ApiScope::Write => "write",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: String,
    /// The first characters of the key, shown in listings to tell keys apart.
    pub display_prefix: String,
    #[serde(skip)]
    pub key_hash: String,
    pub scopes: Vec<ApiScope>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<Timestamp>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<Timestamp>,
}

impl ApiKey {
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }

    /// Write implies read.
    pub fn allows(&self, needed: ApiScope) -> bool {
        self.scopes.contains(&needed)
            || (needed == ApiScope::Read && self.scopes.contains(&ApiScope::Write))
    }
}
