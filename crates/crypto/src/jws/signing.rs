//! The server's private signing keys: generating them, storing them as PKCS#8, publishing their
//! public JWKs, and signing compact JWTs with them.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::jwk::PublicParts;
use super::{MAX_TOKEN_LEN, SigningAlg, VerifyingKey};
use crate::error::CryptoError;

/// A private signing key with its key id.
///
/// The key is parsed once, when built, and kept in aws-lc's form, so signing never touches
/// PKCS#8 again. Send + Sync: share one behind an `Arc` across request handlers. `Debug` shows
/// only the key id and algorithm. The private key is freed (and wiped by aws-lc) on drop.
pub struct SigningKey {
    kid: String,
    alg: SigningAlg,
    pair: Pair,
    /// The public half, ready both to publish and to verify Tessera's own tokens.
    public: VerifyingKey,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl SigningKey {
    /// A new random key: RSA 2048 bits for RS256 (the size every relying party accepts, and
    /// signing cost grows steeply above it), P-256 for ES256, Ed25519 for EdDSA. Its key id is
    /// the RFC 7638 thumbprint of its public key.
    pub fn generate(alg: SigningAlg) -> Result<SigningKey, CryptoError> {
        let failed = |_| CryptoError::InvalidKey(format!("could not generate an {alg} key"));
        let pair = match alg {
            SigningAlg::RS256 => Pair::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?),
            SigningAlg::ES256 => {
                Pair::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?)
            }
            SigningAlg::EdDSA => Pair::Ed25519(Ed25519KeyPair::generate().map_err(failed)?),
        };
        SigningKey::new(alg, pair)
    }

    /// Loads a key stored with [`SigningKey::to_pkcs8_der`] (or any unencrypted PKCS#8 key of
    /// the right type: RSA of 2048 to 8192 bits, P-256, or Ed25519 in PKCS#8 v1 or v2). The key
    /// id is recomputed from the public key, so it cannot drift from the key.
    pub fn from_pkcs8(alg: SigningAlg, pkcs8_der: &[u8]) -> Result<SigningKey, CryptoError> {
        let rejected = |e| {
            CryptoError::InvalidKey(format!(
                "the PKCS#8 document is not a usable {alg} private key ({e})"
            ))
        };
        let pair = match alg {
            SigningAlg::RS256 => Pair::Rsa(RsaKeyPair::from_pkcs8(pkcs8_der).map_err(rejected)?),
            SigningAlg::ES256 => Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8_der)
                    .map_err(rejected)?,
            ),
            SigningAlg::EdDSA => {
                Pair::Ed25519(Ed25519KeyPair::from_pkcs8(pkcs8_der).map_err(rejected)?)
            }
        };
        SigningKey::new(alg, pair)
    }

    fn new(alg: SigningAlg, pair: Pair) -> Result<SigningKey, CryptoError> {
        let parts = match &pair {
            Pair::Rsa(kp) => {
                let public = kp.public_key();
                PublicParts::Rsa {
                    n: public.modulus().big_endian_without_leading_zero().to_vec(),
                    e: public.exponent().big_endian_without_leading_zero().to_vec(),
                }
            }
            Pair::Ec(kp) => {
                // aws-lc gives the SEC 1 uncompressed point: 0x04 || x || y.
                let point = kp.public_key().as_ref();
                let coords = point
                    .strip_prefix(&[0x04])
                    .filter(|xy| xy.len() == 64)
                    .ok_or_else(bad_point)?;
                let (x, y) = coords.split_at(32);
                PublicParts::Ec {
                    x: x.try_into().map_err(|_| bad_point())?,
                    y: y.try_into().map_err(|_| bad_point())?,
                }
            }
            Pair::Ed25519(kp) => PublicParts::Ed25519 {
                x: kp.public_key().as_ref().try_into().map_err(|_| {
                    CryptoError::InvalidKey("unexpected Ed25519 public key length".into())
                })?,
            },
        };
        let kid = parts.thumbprint();
        let public = VerifyingKey::from_parts(parts, kid.clone(), alg.into())?;
        Ok(SigningKey {
            kid,
            alg,
            pair,
            public,
        })
    }

    /// The private key as unencrypted PKCS#8 DER, for storing encrypted under the master key.
    /// Wiped from memory when dropped.
    ///
    /// Ed25519 keys are written as PKCS#8 v1 (RFC 5208), the form OpenSSL and most tools read;
    /// [`SigningKey::from_pkcs8`] reads both v1 and v2.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let failed = |_| CryptoError::InvalidKey("could not serialize the private key".into());
        let der = match &self.pair {
            Pair::Rsa(kp) => {
                let der: Pkcs8V1Der<'static> = kp.as_der().map_err(failed)?;
                der.as_ref().to_vec()
            }
            Pair::Ec(kp) => kp.to_pkcs8v1().map_err(failed)?.as_ref().to_vec(),
            Pair::Ed25519(kp) => kp.to_pkcs8v1().map_err(failed)?.as_ref().to_vec(),
        };
        Ok(Zeroizing::new(der))
    }

    /// The key id: the RFC 7638 thumbprint (base64url SHA-256) of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// The public JWK for the JWKS document: `kty`, `kid`, `use: "sig"`, `alg`, and `n`/`e`
    /// (RSA), `crv`/`x`/`y` (EC) or `crv`/`x` (OKP), base64url without padding.
    pub fn public_jwk(&self) -> Value {
        self.public.parts().to_jwk(&self.kid, self.alg.as_str())
    }

    /// The public half as a [`VerifyingKey`], to verify tokens this key signed without going
    /// through JSON.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.public.clone()
    }

    /// Signs `claims` as a compact JWS with the header `{"alg", "kid", "typ"}`.
    ///
    /// `typ` is the token's media type as the protocol names it (`"JWT"` for ID tokens,
    /// `"at+jwt"` for access tokens, RFC 9068; `"logout+jwt"`, …). The claims must be a JSON
    /// object. Tokens longer than [`MAX_TOKEN_LEN`] are refused: [`super::verify_jwt`] would
    /// refuse them, so Tessera could not accept its own token back.
    pub fn sign_jwt(&self, typ: &str, claims: &Value) -> Result<String, CryptoError> {
        if !claims.is_object() {
            return Err(CryptoError::InvalidToken(
                "the claims of a JWT must be a JSON object".into(),
            ));
        }
        let header = json!({ "alg": self.alg.as_str(), "kid": self.kid, "typ": typ });
        let not_json = |_| CryptoError::InvalidToken("the token could not be serialized".into());
        let header = serde_json::to_vec(&header).map_err(not_json)?;
        let payload = serde_json::to_vec(claims).map_err(not_json)?;

        let mut token = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 350);
        URL_SAFE_NO_PAD.encode_string(&header, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = self.sign(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);

        if token.len() > MAX_TOKEN_LEN {
            return Err(CryptoError::InvalidToken(format!(
                "the signed token would be {} bytes, over the {MAX_TOKEN_LEN}-byte limit",
                token.len()
            )));
        }
        Ok(token)
    }

    /// The raw JWS signature of `message`: PKCS#1 v1.5 for RS256, the fixed 64-byte `r || s`
    /// for ES256 (RFC 7518 §3.4, not DER), the 64-byte Ed25519 signature for EdDSA.
    pub(super) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        // aws-lc draws its own randomness for ECDSA nonces; the argument is only for API
        // compatibility with ring, so a fresh handle costs nothing.
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Rsa(kp) => {
                let mut signature = vec![0; kp.public_modulus_len()];
                kp.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(|_| CryptoError::Sign)?;
                Ok(signature)
            }
            Pair::Ec(kp) => kp
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| CryptoError::Sign),
            Pair::Ed25519(kp) => kp
                .try_sign(message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| CryptoError::Sign),
        }
    }
}

fn bad_point() -> CryptoError {
    CryptoError::InvalidKey("unexpected P-256 public key encoding".into())
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;

    use super::super::{decode_unverified, verify_jwt};
    use super::*;

    const ALL: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

    fn claims() -> Value {
        json!({
            "iss": "https://id.example.com",
            "sub": "user-1",
            "aud": ["client-a"],
            "exp": 1_900_000_000,
            "name": "Zoë \"Z\" O'Brien </script>",
        })
    }

    fn b64_decode(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).expect("base64url")
    }

    #[test]
    fn signing_keys_are_send_and_sync() {
        fn shareable<T: Send + Sync>() {}
        shareable::<SigningKey>();
        shareable::<VerifyingKey>();
    }

    #[test]
    fn generate_sign_verify_all_algs() {
        for alg in ALL {
            let key = SigningKey::generate(alg).expect("generate");
            assert_eq!(key.alg(), alg);
            let jwk = key.public_jwk();
            let public = VerifyingKey::from_jwk(&jwk).expect("own jwk");
            assert_eq!(public.kid(), Some(key.kid()));
            assert_eq!(
                public.thumbprint(),
                key.kid(),
                "{alg}: kid is the thumbprint"
            );

            let token = key.sign_jwt("at+jwt", &claims()).expect("sign");
            let verified = verify_jwt(&token, &[public], &[alg.as_str()]).expect("verify");
            assert_eq!(verified.claims, claims());
            assert_eq!(
                verified.header,
                json!({"alg": alg.as_str(), "kid": key.kid(), "typ": "at+jwt"})
            );

            // The in-memory public key verifies the same way.
            verify_jwt(&token, &[key.verifying_key()], &[alg.as_str()]).expect("verify");

            // Signatures have the sizes JWA fixes (ECDSA is r || s, not DER).
            let signature = b64_decode(token.rsplit('.').next().expect("three parts"));
            let expected_len = match alg {
                SigningAlg::RS256 => 256,
                SigningAlg::ES256 | SigningAlg::EdDSA => 64,
            };
            assert_eq!(signature.len(), expected_len, "{alg}");

            // Two keys of the same algorithm are different keys with different ids.
            let other = SigningKey::generate(alg).expect("generate");
            assert_ne!(other.kid(), key.kid());
            assert!(verify_jwt(&token, &[other.verifying_key()], &[alg.as_str()]).is_err());
        }
    }

    #[test]
    fn public_jwk_shape() {
        for alg in ALL {
            let key = SigningKey::generate(alg).expect("generate");
            let jwk = key.public_jwk();
            let map = jwk.as_object().expect("object");
            assert_eq!(jwk["kid"], key.kid());
            assert_eq!(jwk["use"], "sig");
            assert_eq!(jwk["alg"], alg.as_str());
            let mut names: Vec<&str> = map.keys().map(String::as_str).collect();
            names.sort_unstable();
            match alg {
                SigningAlg::RS256 => {
                    assert_eq!(names, ["alg", "e", "kid", "kty", "n", "use"]);
                    assert_eq!(jwk["kty"], "RSA");
                    assert_eq!(jwk["e"], "AQAB");
                    let n = b64_decode(jwk["n"].as_str().expect("n"));
                    // Minimal big-endian: 2048 bits are exactly 256 bytes, top bit set.
                    assert_eq!(n.len(), 256);
                    assert!(n[0] & 0x80 != 0);
                }
                SigningAlg::ES256 => {
                    assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x", "y"]);
                    assert_eq!(jwk["kty"], "EC");
                    assert_eq!(jwk["crv"], "P-256");
                    assert_eq!(b64_decode(jwk["x"].as_str().expect("x")).len(), 32);
                    assert_eq!(b64_decode(jwk["y"].as_str().expect("y")).len(), 32);
                }
                SigningAlg::EdDSA => {
                    assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x"]);
                    assert_eq!(jwk["kty"], "OKP");
                    assert_eq!(jwk["crv"], "Ed25519");
                    assert_eq!(b64_decode(jwk["x"].as_str().expect("x")).len(), 32);
                }
            }
            for value in map.values() {
                let text = value.as_str().expect("string members");
                assert!(!text.contains('='), "no padding: {text}");
            }
        }
    }

    #[test]
    fn pkcs8_round_trip_all_algs() {
        for alg in ALL {
            let key = SigningKey::generate(alg).expect("generate");
            let der = key.to_pkcs8_der().expect("export");
            let back = SigningKey::from_pkcs8(alg, &der).expect("import");
            assert_eq!(back.kid(), key.kid(), "{alg}");
            assert_eq!(back.public_jwk(), key.public_jwk(), "{alg}");
            assert_eq!(*back.to_pkcs8_der().expect("export"), *der, "{alg}");

            // A token from the reloaded key verifies under the original's published JWK.
            let token = back.sign_jwt("JWT", &claims()).expect("sign");
            let public = VerifyingKey::from_jwk(&key.public_jwk()).expect("jwk");
            verify_jwt(&token, &[public], &[alg.as_str()]).expect("verify");
        }
    }

    #[test]
    fn ed25519_pkcs8_v1_and_v2_both_import() {
        let key = SigningKey::generate(SigningAlg::EdDSA).expect("generate");
        let Pair::Ed25519(kp) = &key.pair else {
            panic!("an EdDSA key holds an Ed25519 pair");
        };
        let v1 = kp.to_pkcs8v1().expect("v1");
        let v2 = kp.to_pkcs8().expect("v2");
        assert_ne!(v1.as_ref(), v2.as_ref());
        // What is exported is v1.
        assert_eq!(*key.to_pkcs8_der().expect("export"), v1.as_ref());
        for der in [v1.as_ref(), v2.as_ref()] {
            let back = SigningKey::from_pkcs8(SigningAlg::EdDSA, der).expect("import");
            assert_eq!(back.kid(), key.kid());
        }
    }

    #[test]
    fn imports_pkcs8_written_by_another_implementation() {
        // Written by Python's `cryptography` (OpenSSL), with the RFC 7638 thumbprints PyJWT's
        // JWKs give for them.
        let cases = [
            (
                SigningAlg::ES256,
                "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgu2WVgSyfE5Q6Js0TgTQKJhakQwyTGO3Yd\
                 Z84iuHPTMahRANCAAQwP1tWCxIK+5UJEDBCuYTW1KppmJxOhAhGhXHur5Lg5ij+8JqsrZWGi77MS+3lV\
                 XNKCsEHOIUAew9bP73Opscj",
                "KDJcPrcRZ0tLj9pCaFiSZKrxRwtLeo7WQeHwPmhGrDg",
            ),
            (
                SigningAlg::EdDSA,
                "MC4CAQAwBQYDK2VwBCIEIFroRRNT4BvhlqsQwFo1FZG82U9NdYrRnwpRqW62NEGH",
                "7pl1oVk7LJy373_RyaooGqEi5jni1POdas7LRHS9bDU",
            ),
        ];
        for (alg, der, kid) in cases {
            let der = STANDARD.decode(der).expect("base64");
            let key = SigningKey::from_pkcs8(alg, &der).expect("import");
            assert_eq!(key.kid(), kid, "{alg}");
        }
    }

    #[test]
    fn from_pkcs8_refuses_other_key_types_and_garbage() {
        let ec = SigningKey::generate(SigningAlg::ES256).expect("generate");
        let ed = SigningKey::generate(SigningAlg::EdDSA).expect("generate");
        let ec_der = ec.to_pkcs8_der().expect("export");
        let ed_der = ed.to_pkcs8_der().expect("export");
        for (alg, der) in [
            (SigningAlg::RS256, &ec_der[..]),
            (SigningAlg::EdDSA, &ec_der[..]),
            (SigningAlg::ES256, &ed_der[..]),
            (SigningAlg::RS256, &ed_der[..]),
            (SigningAlg::ES256, b"not der".as_slice()),
            (SigningAlg::EdDSA, &[]),
        ] {
            let err = SigningKey::from_pkcs8(alg, der).expect_err("refused");
            assert!(matches!(err, CryptoError::InvalidKey(_)), "{alg}: {err:?}");
        }
    }

    #[test]
    fn debug_shows_only_kid_and_alg() {
        for alg in ALL {
            let key = SigningKey::generate(alg).expect("generate");
            let shown = format!("{key:?}");
            assert_eq!(
                shown,
                format!("SigningKey {{ kid: {:?}, alg: {alg:?}, .. }}", key.kid())
            );
        }
    }

    #[test]
    fn sign_jwt_refuses_non_object_claims_and_oversized_tokens() {
        let key = SigningKey::generate(SigningAlg::EdDSA).expect("generate");
        for claims in [json!([1, 2]), json!("sub"), json!(null)] {
            assert!(matches!(
                key.sign_jwt("JWT", &claims),
                Err(CryptoError::InvalidToken(_))
            ));
        }
        let huge = json!({ "groups": "g".repeat(MAX_TOKEN_LEN) });
        assert!(matches!(
            key.sign_jwt("JWT", &huge),
            Err(CryptoError::InvalidToken(_))
        ));
    }

    #[test]
    fn typ_is_carried_verbatim_and_escaped() {
        let key = SigningKey::generate(SigningAlg::ES256).expect("generate");
        for typ in ["JWT", "logout+jwt", "at+jwt", "odd \"typ\""] {
            let token = key.sign_jwt(typ, &claims()).expect("sign");
            let decoded = decode_unverified(&token).expect("decode");
            assert_eq!(decoded.header["typ"], typ);
        }
    }
}
