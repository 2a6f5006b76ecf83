//! Conversions between domain values and their portable column forms: unix milliseconds for
//! times, UUID text for ids, JSON text for lists and documents, sealed bytes for personal data.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tessera_core::{StoreError, TenantId, Timestamp};
use tessera_crypto::FieldCrypto;

use crate::error::corrupt;

/// Times are stored as unix milliseconds; anything finer is truncated (towards the past).
pub(crate) fn to_millis(t: Timestamp) -> i64 {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    // `OffsetDateTime` spans years -9999..=9999, well inside i64 milliseconds.
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

pub(crate) fn opt_to_millis(t: Option<Timestamp>) -> Option<i64> {
    t.map(to_millis)
}

pub(crate) fn from_millis(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| corrupt("a stored time is out of range"))
}

pub(crate) fn opt_from_millis(ms: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    ms.map(from_millis).transpose()
}

/// Parses a stored UUID column into a typed id (`TenantId::parse`, `UserId::parse`, …).
pub(crate) fn id<T>(
    column: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    parse(value).ok_or_else(|| corrupt(format!("{column} is not a UUID")))
}

pub(crate) fn to_json<T: Serialize + ?Sized>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|_| StoreError::Backend(format!("{what} could not be encoded as JSON")))
}

pub(crate) fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|_| corrupt(format!("{what} is not valid JSON of the expected shape")))
}

/// Converts a count or duration the domain keeps unsigned into a column value, saturating.
pub(crate) fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Seals and opens the personal fields of one record. The associated data binds every sealed
/// value to its place (`user.email:{tenant}:{user}`), so a value copied into another field, row
/// or tenant fails to open instead of being read as someone else's.
pub(crate) struct Sealer<'a> {
    crypto: &'a FieldCrypto,
    kind: &'static str,
    tenant: TenantId,
    record: String,
}

impl<'a> Sealer<'a> {
    pub(crate) fn new(
        crypto: &'a FieldCrypto,
        kind: &'static str,
        tenant: TenantId,
        record: impl ToString,
    ) -> Self {
        Sealer {
            crypto,
            kind,
            tenant,
            record: record.to_string(),
        }
    }

    fn aad(&self, field: &str) -> String {
        format!("{}.{}:{}:{}", self.kind, field, self.tenant, self.record)
    }

    pub(crate) fn seal(&self, field: &str, value: &str) -> Result<Vec<u8>, StoreError> {
        self.crypto
            .encrypt_str(self.aad(field).as_bytes(), value)
            .map_err(|e| {
                StoreError::Backend(format!("could not encrypt {}.{field}: {e}", self.kind))
            })
    }

    pub(crate) fn seal_opt(
        &self,
        field: &str,
        value: Option<&str>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        value.map(|v| self.seal(field, v)).transpose()
    }

    pub(crate) fn open(&self, field: &str, sealed: &[u8]) -> Result<String, StoreError> {
        self.crypto.decrypt_str(self.aad(field).as_bytes(), sealed).map_err(|_| {
            corrupt(format!(
                "{}.{field} could not be decrypted (a different master key, or data altered or moved)",
                self.kind
            ))
        })
    }

    pub(crate) fn open_opt(
        &self,
        field: &str,
        sealed: Option<&[u8]>,
    ) -> Result<Option<String>, StoreError> {
        sealed.map(|s| self.open(field, s)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip_and_truncate() {
        let t = time::macros::datetime!(2026-03-04 05:06:07.123_456_789 UTC);
        let ms = to_millis(t);
        assert_eq!(ms % 1000, 123);
        assert_eq!(
            from_millis(ms).unwrap(),
            time::macros::datetime!(2026-03-04 05:06:07.123 UTC)
        );
        let before_epoch = time::macros::datetime!(1969-12-31 23:59:59.999_5 UTC);
        assert_eq!(to_millis(before_epoch), -1);
        assert!(from_millis(i64::MAX).is_err());
    }
}
