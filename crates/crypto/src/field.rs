//! Field-level encryption of personal data, keyed blind indexes for looking such data up, and
//! purpose-bound keys for the rest of the server. Everything here is derived from the
//! [`MasterKey`] with HKDF-SHA256, one independent sub-key per purpose, so a leak of one derived
//! key (say a CSRF key) reveals nothing about the others or the master key.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, KeyType, Prk, Salt};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use crate::error::CryptoError;
use crate::master_key::MasterKey;

/// First byte of every sealed value, so the format can change later without guessing.
const FORMAT_V1: u8 = 0x01;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + NONCE_LEN;

const FIELD_ENCRYPTION_PURPOSE: &str = "field-encryption";
const BLIND_INDEX_PURPOSE: &str = "blind-index";

/// Purposes whose derived keys this type uses itself; [`FieldCrypto::derive_key`] refuses them
/// so no caller can obtain the field encryption or blind index key.
const RESERVED_PURPOSES: [&str; 2] = [FIELD_ENCRYPTION_PURPOSE, BLIND_INDEX_PURPOSE];

/// Seals and opens personal data, computes blind indexes and derives purpose keys.
///
/// Holds only derived keys (the master key itself is not kept). Cheap to share behind an `Arc`.
pub struct FieldCrypto {
    encryption: LessSafeKey,
    blind_index: hmac::Key,
    /// The HKDF pseudorandom key of the master key, kept to derive further purpose keys.
    prk: Prk,
    rng: SystemRandom,
}

/// HKDF output length for a 32-byte key of no particular algorithm.
struct Len32;

impl KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

fn info_for(purpose: &str) -> String {
    format!("tessera {purpose} v1")
}

impl FieldCrypto {
    /// Derives the field encryption key (info `"tessera field-encryption v1"`) and the blind
    /// index key (info `"tessera blind-index v1"`) from the master key.
    pub fn new(master: &MasterKey) -> Result<FieldCrypto, CryptoError> {
        // The master key is already uniformly random, so HKDF's salt adds nothing; the empty
        // salt is RFC 5869's "not provided" case.
        let prk = Salt::new(HKDF_SHA256, &[]).extract(master.expose());

        let info = info_for(FIELD_ENCRYPTION_PURPOSE);
        let info = [info.as_bytes()];
        let okm = prk.expand(&info, &AES_256_GCM).map_err(|_| {
            CryptoError::InvalidKey("could not derive the field encryption key".into())
        })?;
        let encryption = LessSafeKey::new(UnboundKey::from(okm));

        let info = info_for(BLIND_INDEX_PURPOSE);
        let info = [info.as_bytes()];
        let okm = prk
            .expand(&info, hmac::HMAC_SHA256)
            .map_err(|_| CryptoError::InvalidKey("could not derive the blind index key".into()))?;
        let blind_index = hmac::Key::from(okm);

        Ok(FieldCrypto {
            encryption,
            blind_index,
            prk,
            rng: SystemRandom::new(),
        })
    }

    /// Seals `plaintext` with AES-256-GCM under a random 96-bit nonce.
    ///
    /// Output layout: version byte `0x01` || 12-byte nonce || ciphertext || 16-byte tag.
    ///
    /// `aad` names the place the value belongs to (e.g. `b"user.email:<tenant>:<user>"`); it is
    /// authenticated but not stored, so a ciphertext copied into another row fails to open.
    /// Random 96-bit nonces keep the collision risk negligible up to about 2^32 values sealed
    /// under one key (NIST SP 800-38D), far more than personal-data fields will ever see.
    pub fn encrypt(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| CryptoError::Rng)?;

        let mut sealed = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        sealed.push(FORMAT_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plaintext);
        let tag = self
            .encryption
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut sealed[HEADER_LEN..],
            )
            .map_err(|_| CryptoError::Encrypt)?;
        sealed.extend_from_slice(tag.as_ref());
        Ok(sealed)
    }

    /// Encrypts under a key derived for `purpose` (see [`FieldCrypto::derive_key`]) instead of the
    /// field key, in the same format. Used for crypto-shredding: data sealed under a purpose that
    /// includes a random per-subject salt becomes unreadable once that salt is destroyed.
    pub fn encrypt_with_subkey(
        &self,
        purpose: &str,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &self.derive_key(purpose))
                .map_err(|_| CryptoError::Encrypt)?,
        );
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| CryptoError::Rng)?;
        let mut sealed = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        sealed.push(FORMAT_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plaintext);
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut sealed[HEADER_LEN..],
            )
            .map_err(|_| CryptoError::Encrypt)?;
        sealed.extend_from_slice(tag.as_ref());
        Ok(sealed)
    }

    /// Opens a value made by [`FieldCrypto::encrypt_with_subkey`] with the same purpose and `aad`.
    pub fn decrypt_with_subkey(
        &self,
        purpose: &str,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < HEADER_LEN + TAG_LEN || sealed[0] != FORMAT_V1 {
            return Err(CryptoError::Decrypt);
        }
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &self.derive_key(purpose))
                .map_err(|_| CryptoError::Decrypt)?,
        );
        let nonce = Nonce::try_assume_unique_for_key(&sealed[1..HEADER_LEN])
            .map_err(|_| CryptoError::Decrypt)?;
        let mut buf = sealed[HEADER_LEN..].to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| CryptoError::Decrypt)?;
        Ok(plain.to_vec())
    }

    /// Opens a value made by [`FieldCrypto::encrypt`] with the same `aad`.
    ///
    /// Any failure (tampering, wrong `aad`, another key, unknown version, truncation) is the
    /// same [`CryptoError::Decrypt`].
    pub fn decrypt(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < HEADER_LEN + TAG_LEN || sealed[0] != FORMAT_V1 {
            return Err(CryptoError::Decrypt);
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[1..HEADER_LEN])
            .map_err(|_| CryptoError::Decrypt)?;
        let mut body = sealed[HEADER_LEN..].to_vec();
        let plaintext_len = self
            .encryption
            .open_in_place(nonce, Aad::from(aad), &mut body)
            .map_err(|_| CryptoError::Decrypt)?
            .len();
        body.truncate(plaintext_len);
        Ok(body)
    }

    /// [`FieldCrypto::encrypt`] for text.
    pub fn encrypt_str(&self, aad: &[u8], s: &str) -> Result<Vec<u8>, CryptoError> {
        self.encrypt(aad, s.as_bytes())
    }

    /// [`FieldCrypto::decrypt`] for text sealed with [`FieldCrypto::encrypt_str`]. A plaintext
    /// that is not UTF-8 is reported as [`CryptoError::Decrypt`]: it cannot have come from
    /// `encrypt_str`.
    pub fn decrypt_str(&self, aad: &[u8], sealed: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.decrypt(aad, sealed)?).map_err(|_| CryptoError::Decrypt)
    }

    /// Keyed blind index: lowercase hex of HMAC-SHA256(blind index key, purpose || 0x00 || value).
    ///
    /// Deterministic, so a column of indexes supports equality lookups without storing the value
    /// in clear; keyed, so the index cannot be reversed by hashing guesses without the master
    /// key. The purpose (e.g. `"user.email"`) keeps indexes of different columns unrelated.
    /// Callers normalize `value` first (e.g. lowercase an email address). Purposes are constants
    /// and must not contain NUL, which separates them from the value.
    pub fn blind_index(&self, purpose: &str, value: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.blind_index);
        ctx.update(purpose.as_bytes());
        ctx.update(&[0x00]);
        ctx.update(value.as_bytes());
        hex::encode(ctx.sign().as_ref())
    }

    /// A 32-byte key for a named purpose (e.g. `"csrf"`, `"device-cookie"`): HKDF-SHA256 expand
    /// of the master key with info `"tessera <purpose> v1"`. The same purpose always gives the
    /// same key for the same master key.
    ///
    /// # Panics
    /// If `purpose` is `"field-encryption"` or `"blind-index"`: handing out those keys would let
    /// a caller forge or decrypt personal data. Purposes are constants in the calling code, so
    /// this is a programming error that any test of the caller catches.
    pub fn derive_key(&self, purpose: &str) -> [u8; 32] {
        assert!(
            !RESERVED_PURPOSES.contains(&purpose),
            "derive_key purpose {purpose:?} is reserved for FieldCrypto's own keys"
        );
        let info = info_for(purpose);
        let info = [info.as_bytes()];
        let mut out = [0u8; 32];
        self.prk
            .expand(&info, Len32)
            .and_then(|okm| okm.fill(&mut out))
            .expect("HKDF-SHA256 can always expand to 32 bytes (the limit is 255 * 32)");
        out
    }
}

impl fmt::Debug for FieldCrypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FieldCrypto(redacted)")
    }
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut out = [0u8; 32];
    out.copy_from_slice(hmac::sign(&key, data).as_ref());
    out
}

/// Checks an HMAC-SHA256 `tag` of `data` under `key` in constant time.
pub fn verify_hmac_sha256(key: &[u8], data: &[u8], tag: &[u8]) -> bool {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::verify(&key, data, tag).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn subkey_encryption_round_trips_and_is_bound_to_its_purpose() {
        let fc = FieldCrypto::new(&MasterKey::generate().unwrap()).unwrap();
        let sealed = fc
            .encrypt_with_subkey("audit-subject:a:salt1", b"aad", b"personal")
            .unwrap();
        assert_eq!(
            fc.decrypt_with_subkey("audit-subject:a:salt1", b"aad", &sealed)
                .unwrap(),
            b"personal"
        );
        assert!(
            fc.decrypt_with_subkey("audit-subject:a:salt2", b"aad", &sealed)
                .is_err()
        );
        assert!(
            fc.decrypt_with_subkey("audit-subject:a:salt1", b"other", &sealed)
                .is_err()
        );
        assert!(
            fc.decrypt(b"aad", &sealed).is_err(),
            "the field key must not open it"
        );
    }

    use super::*;

    fn crypto() -> FieldCrypto {
        FieldCrypto::new(&MasterKey::generate().expect("rng")).expect("derive")
    }

    fn fixed_crypto(byte: u8) -> FieldCrypto {
        let key = MasterKey::from_base64(&base64_of(&[byte; 32])).expect("key");
        FieldCrypto::new(&key).expect("derive")
    }

    fn base64_of(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    const AAD: &[u8] = b"user.email:tenant-1:user-1";

    #[test]
    fn round_trip() {
        let c = crypto();
        for plaintext in [&b""[..], b"a", b"alice@example.com", &[0u8; 1000]] {
            let sealed = c.encrypt(AAD, plaintext).expect("seal");
            assert_eq!(sealed.len(), 1 + 12 + plaintext.len() + 16);
            assert_eq!(sealed[0], 0x01);
            assert_eq!(c.decrypt(AAD, &sealed).expect("open"), plaintext);
        }
        let sealed = c.encrypt_str(AAD, "Zoë Müller").expect("seal");
        assert_eq!(c.decrypt_str(AAD, &sealed).expect("open"), "Zoë Müller");
    }

    #[test]
    fn tampering_any_byte_fails() {
        let c = crypto();
        let sealed = c.encrypt(AAD, b"alice@example.com").expect("seal");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert_eq!(c.decrypt(AAD, &bad), Err(CryptoError::Decrypt), "byte {i}");
        }
    }

    #[test]
    fn wrong_aad_fails() {
        let c = crypto();
        let sealed = c.encrypt(AAD, b"alice@example.com").expect("seal");
        assert_eq!(
            c.decrypt(b"user.email:tenant-1:user-2", &sealed),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(c.decrypt(b"", &sealed), Err(CryptoError::Decrypt));
    }

    #[test]
    fn other_master_key_fails() {
        let sealed = crypto().encrypt(AAD, b"alice@example.com").expect("seal");
        assert_eq!(crypto().decrypt(AAD, &sealed), Err(CryptoError::Decrypt));
    }

    #[test]
    fn truncated_or_unknown_version_fails() {
        let c = crypto();
        let sealed = c.encrypt(AAD, b"alice@example.com").expect("seal");
        for len in 0..sealed.len() {
            assert_eq!(
                c.decrypt(AAD, &sealed[..len]),
                Err(CryptoError::Decrypt),
                "len {len}"
            );
        }
        let mut v2 = sealed.clone();
        v2[0] = 0x02;
        assert_eq!(c.decrypt(AAD, &v2), Err(CryptoError::Decrypt));
        let mut longer = sealed;
        longer.push(0);
        assert_eq!(c.decrypt(AAD, &longer), Err(CryptoError::Decrypt));
    }

    #[test]
    fn same_plaintext_seals_differently() {
        let c = crypto();
        let a = c.encrypt(AAD, b"alice@example.com").expect("seal");
        let b = c.encrypt(AAD, b"alice@example.com").expect("seal");
        assert_ne!(a, b);
        assert_ne!(a[1..13], b[1..13], "nonces must differ");
    }

    #[test]
    fn decrypt_str_rejects_non_utf8() {
        let c = crypto();
        let sealed = c.encrypt(AAD, &[0xff, 0xfe]).expect("seal");
        assert_eq!(c.decrypt_str(AAD, &sealed), Err(CryptoError::Decrypt));
    }

    #[test]
    fn same_master_key_derives_same_keys() {
        let a = fixed_crypto(9);
        let b = fixed_crypto(9);
        let sealed = a.encrypt(AAD, b"x").expect("seal");
        assert_eq!(b.decrypt(AAD, &sealed).expect("open"), b"x");
        assert_eq!(a.derive_key("csrf"), b.derive_key("csrf"));
    }

    #[test]
    fn blind_index_is_deterministic_and_separated() {
        let c = fixed_crypto(1);
        let idx = c.blind_index("user.email", "alice@example.com");
        assert_eq!(idx.len(), 64);
        assert!(
            idx.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(idx, c.blind_index("user.email", "alice@example.com"));
        assert_eq!(
            idx,
            fixed_crypto(1).blind_index("user.email", "alice@example.com")
        );

        assert_ne!(idx, c.blind_index("user.phone", "alice@example.com"));
        assert_ne!(idx, c.blind_index("user.email", "bob@example.com"));
        assert_ne!(
            idx,
            fixed_crypto(2).blind_index("user.email", "alice@example.com")
        );
        // The separator keeps (purpose, value) pairs from running into each other.
        assert_ne!(c.blind_index("ab", "c"), c.blind_index("a", "bc"));
    }

    #[test]
    fn blind_index_matches_independent_hkdf_and_hmac() {
        // Recompute from the master key with a hand-written HKDF (RFC 5869) over HMAC-SHA256,
        // to pin the derivation so stored indexes stay valid across refactors.
        let master = [1u8; 32];
        let prk = hmac_sha256(&[0u8; 32], &master);
        let mut t1_input = b"tessera blind-index v1".to_vec();
        t1_input.push(0x01);
        let bi_key = hmac_sha256(&prk, &t1_input);
        let expected = hex::encode(hmac_sha256(&bi_key, b"user.email\0alice@example.com"));
        assert_eq!(
            fixed_crypto(1).blind_index("user.email", "alice@example.com"),
            expected
        );

        let mut csrf_input = b"tessera csrf v1".to_vec();
        csrf_input.push(0x01);
        assert_eq!(
            fixed_crypto(1).derive_key("csrf"),
            hmac_sha256(&prk, &csrf_input)
        );
    }

    #[test]
    fn derived_keys_differ_per_purpose_and_master() {
        let c = fixed_crypto(3);
        assert_ne!(c.derive_key("csrf"), c.derive_key("device-cookie"));
        assert_ne!(c.derive_key("csrf"), fixed_crypto(4).derive_key("csrf"));
    }

    #[test]
    #[should_panic(expected = "reserved")]
    fn derive_key_refuses_reserved_purposes() {
        let _ = crypto().derive_key("field-encryption");
    }

    #[test]
    fn hmac_helpers() {
        // RFC 4231 test case 2.
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_hmac_sha256(
            b"Jefe",
            b"what do ya want for nothing?",
            &tag
        ));
        assert!(!verify_hmac_sha256(
            b"Jefe",
            b"what do ya want for nothing!",
            &tag
        ));
        assert!(!verify_hmac_sha256(
            b"jefe",
            b"what do ya want for nothing?",
            &tag
        ));
        assert!(!verify_hmac_sha256(
            b"Jefe",
            b"what do ya want for nothing?",
            &tag[..31]
        ));
    }

    #[test]
    fn debug_redacts() {
        assert_eq!(format!("{:?}", crypto()), "FieldCrypto(redacted)");
    }
}
