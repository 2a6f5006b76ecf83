//! Public keys as JWKs (RFC 7517, 7518 §6, 8037 §2): reading them into [`VerifyingKey`]s,
//! writing the server's own, and their RFC 7638 thumbprints, which are also Tessera's key ids.

use std::fmt;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RSA_PSS_2048_8192_SHA256, RsaPublicKeyComponents,
};
use serde_json::{Map, Value, json};

use super::{VerifyAlg, b64, truncate};
use crate::error::CryptoError;
use crate::token::sha256;

/// Length of a P-256 coordinate and of an Ed25519 public key.
const COORD_LEN: usize = 32;

/// RSA moduli below this are refused (NIST SP 800-131A; also aws-lc's floor for verifying).
const MIN_RSA_BITS: usize = 2048;
/// aws-lc verifies nothing larger, and a larger key would only slow every verification.
const MAX_RSA_BITS: usize = 8192;

/// The public half of a key in canonical form: what JWKs and thumbprints are made of.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum PublicParts {
    /// Modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// P-256 point coordinates, each 32 bytes big-endian.
    Ec {
        x: [u8; COORD_LEN],
        y: [u8; COORD_LEN],
    },
    /// The 32-byte Ed25519 public key.
    Ed25519 { x: [u8; COORD_LEN] },
}

impl PublicParts {
    fn kty(&self) -> &'static str {
        match self {
            PublicParts::Rsa { .. } => "RSA",
            PublicParts::Ec { .. } => "EC",
            PublicParts::Ed25519 { .. } => "OKP",
        }
    }

    /// The RFC 7638 JWK thumbprint: base64url SHA-256 of the required members in lexicographic
    /// order without whitespace. Built by hand rather than through serde_json so the member
    /// order cannot depend on its map features; the values are base64url, which needs no JSON
    /// escaping.
    pub(super) fn thumbprint(&self) -> String {
        let canonical = match self {
            PublicParts::Rsa { n, e } => {
                format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64(e), b64(n))
            }
            PublicParts::Ec { x, y } => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                b64(x),
                b64(y)
            ),
            PublicParts::Ed25519 { x } => {
                format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64(x))
            }
        };
        b64(&sha256(canonical.as_bytes()))
    }

    /// The public JWK with `kid`, `use` and `alg`, as published in the JWKS document.
    pub(super) fn to_jwk(&self, kid: &str, alg: &str) -> Value {
        let mut jwk = match self {
            PublicParts::Rsa { n, e } => json!({ "n": b64(n), "e": b64(e) }),
            PublicParts::Ec { x, y } => json!({ "crv": "P-256", "x": b64(x), "y": b64(y) }),
            PublicParts::Ed25519 { x } => json!({ "crv": "Ed25519", "x": b64(x) }),
        };
        if let Value::Object(map) = &mut jwk {
            map.insert("kty".into(), self.kty().into());
            map.insert("kid".into(), kid.into());
            map.insert("use".into(), "sig".into());
            map.insert("alg".into(), alg.into());
        }
        jwk
    }
}

/// Verification keys parsed once, so each verification only checks a signature.
#[derive(Clone)]
enum Verifier {
    /// One parsed key per padding: aws-lc binds the padding to the parsed key.
    Rsa {
        pkcs1: ParsedPublicKey,
        pss: ParsedPublicKey,
    },
    Ec(ParsedPublicKey),
    Ed25519(ParsedPublicKey),
}

/// A public key read from a JWK, for verifying client assertions (RFC 7523), request objects
/// and Tessera's own tokens. Supports RSA (2048 to 8192 bits), EC P-256 and OKP Ed25519.
#[derive(Clone)]
pub struct VerifyingKey {
    kid: Option<String>,
    /// The JWK's `alg`, when it declares one: the key is then used for that algorithm only.
    alg: Option<VerifyAlg>,
    parts: PublicParts,
    verifier: Verifier,
}

impl VerifyingKey {
    /// Reads a public JWK.
    ///
    /// Refused: other key types and curves, RSA moduli under 2048 bits, EC points not on
    /// P-256, `use` other than `"sig"`, `key_ops` without `"verify"`, an `alg` that is not a
    /// supported signature algorithm for the key type, and JWKs that carry private key
    /// material (`d`): a client that publishes its private key has leaked it, and storing it
    /// would put a secret where public data is expected.
    ///
    /// A JWKS may hold keys this refuses (encryption keys, other algorithms); a caller reading
    /// a whole set should skip those rather than fail.
    pub fn from_jwk(jwk: &Value) -> Result<VerifyingKey, CryptoError> {
        let Value::Object(jwk) = jwk else {
            return Err(bad("a JWK must be a JSON object"));
        };
        let kty = required_str(jwk, "kty")?;

        if let Some(key_use) = optional_str(jwk, "use")?
            && key_use != "sig"
        {
            return Err(bad("the JWK's use is not \"sig\""));
        }
        if let Some(ops) = jwk.get("key_ops") {
            let allows_verify = ops
                .as_array()
                .is_some_and(|ops| ops.iter().any(|op| op == "verify"));
            if !allows_verify {
                return Err(bad("the JWK's key_ops do not include \"verify\""));
            }
        }
        if jwk.contains_key("d") {
            return Err(bad(
                "the JWK contains a private key (d); only public keys are accepted",
            ));
        }
        let kid = optional_str(jwk, "kid")?.map(str::to_owned);

        let (parts, verifier) = match kty {
            "RSA" => rsa_from_jwk(jwk)?,
            "EC" => ec_from_jwk(jwk)?,
            "OKP" => okp_from_jwk(jwk)?,
            other => {
                return Err(CryptoError::InvalidKey(format!(
                    "unsupported JWK key type {:?} (expected RSA, EC or OKP)",
                    truncate(other)
                )));
            }
        };

        let alg = match optional_str(jwk, "alg")? {
            None => None,
            Some(name) => {
                let alg = VerifyAlg::from_name(name).ok_or_else(|| {
                    CryptoError::InvalidKey(format!(
                        "unsupported JWK alg {:?} (expected RS256, PS256, ES256 or EdDSA)",
                        truncate(name)
                    ))
                })?;
                if !verifier.fits(alg) {
                    return Err(CryptoError::InvalidKey(format!(
                        "the JWK's alg {} does not match its key type {kty}",
                        alg.as_str()
                    )));
                }
                Some(alg)
            }
        };

        Ok(VerifyingKey {
            kid,
            alg,
            parts,
            verifier,
        })
    }

    /// The JWK's `kid`, if it had one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The RFC 7638 JWK thumbprint of the key (base64url SHA-256), e.g. for DPoP's `jkt` or to
    /// compare a key with Tessera's own key ids.
    pub fn thumbprint(&self) -> String {
        self.parts.thumbprint()
    }

    pub(super) fn parts(&self) -> &PublicParts {
        &self.parts
    }

    /// Built by [`super::SigningKey`] for its own public half (already validated by aws-lc).
    pub(super) fn from_parts(
        parts: PublicParts,
        kid: String,
        alg: VerifyAlg,
    ) -> Result<VerifyingKey, CryptoError> {
        let verifier = match &parts {
            PublicParts::Rsa { n, e } => rsa_verifier(n, e)?,
            PublicParts::Ec { x, y } => ec_verifier(x, y)?,
            PublicParts::Ed25519 { x } => ed25519_verifier(x)?,
        };
        Ok(VerifyingKey {
            kid: Some(kid),
            alg: Some(alg),
            parts,
            verifier,
        })
    }

    /// Whether this key may check a signature made with `alg`.
    pub(super) fn fits(&self, alg: VerifyAlg) -> bool {
        self.verifier.fits(alg) && self.alg.is_none_or(|own| own == alg)
    }

    /// Checks `signature` over `message`; false for a bad signature or a key that does not fit.
    pub(super) fn verify(&self, alg: VerifyAlg, message: &[u8], signature: &[u8]) -> bool {
        let key = match (&self.verifier, alg) {
            (Verifier::Rsa { pkcs1, .. }, VerifyAlg::RS256) => pkcs1,
            (Verifier::Rsa { pss, .. }, VerifyAlg::PS256) => pss,
            (Verifier::Ec(key), VerifyAlg::ES256) => key,
            (Verifier::Ed25519(key), VerifyAlg::EdDSA) => key,
            _ => return false,
        };
        key.verify_sig(message, signature).is_ok()
    }
}

impl Verifier {
    fn fits(&self, alg: VerifyAlg) -> bool {
        matches!(
            (self, alg),
            (Verifier::Rsa { .. }, VerifyAlg::RS256 | VerifyAlg::PS256)
                | (Verifier::Ec(_), VerifyAlg::ES256)
                | (Verifier::Ed25519(_), VerifyAlg::EdDSA)
        )
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("kty", &self.parts.kty())
            .field("alg", &self.alg.map(VerifyAlg::as_str))
            .finish()
    }
}

fn rsa_from_jwk(jwk: &Map<String, Value>) -> Result<(PublicParts, Verifier), CryptoError> {
    // RFC 7518 §6.3.1 asks for minimal encodings, but a leading zero does not change the value
    // and some libraries emit one; it is stripped so the thumbprint is the canonical one.
    let n = strip_leading_zeros(b64_member(jwk, "n")?);
    let e = strip_leading_zeros(b64_member(jwk, "e")?);
    let verifier = rsa_verifier(&n, &e)?;
    Ok((PublicParts::Rsa { n, e }, verifier))
}

fn rsa_verifier(n: &[u8], e: &[u8]) -> Result<Verifier, CryptoError> {
    let bits = bit_len(n);
    if bits < MIN_RSA_BITS {
        return Err(CryptoError::InvalidKey(format!(
            "the RSA modulus has {bits} bits; at least {MIN_RSA_BITS} are required"
        )));
    }
    if bits > MAX_RSA_BITS {
        return Err(CryptoError::InvalidKey(format!(
            "the RSA modulus has {bits} bits; at most {MAX_RSA_BITS} are supported"
        )));
    }
    // Checked here because aws-lc would only notice at verification time, where the failure
    // would look like a bad signature. Real exponents are 65537 or another small odd number.
    let e_is_usable =
        !e.is_empty() && e.len() <= 4 && e.last().is_some_and(|low| low & 1 == 1) && bit_len(e) > 1;
    if !e_is_usable {
        return Err(bad(
            "the RSA exponent must be odd, greater than 1 and fit in 32 bits",
        ));
    }
    let components = RsaPublicKeyComponents { n, e };
    let parse = |params| {
        components
            .to_parsed_public_key(params)
            .map_err(|err| CryptoError::InvalidKey(format!("unusable RSA public key: {err}")))
    };
    Ok(Verifier::Rsa {
        pkcs1: parse(&RSA_PKCS1_2048_8192_SHA256)?,
        pss: parse(&RSA_PSS_2048_8192_SHA256)?,
    })
}

fn ec_from_jwk(jwk: &Map<String, Value>) -> Result<(PublicParts, Verifier), CryptoError> {
    let crv = required_str(jwk, "crv")?;
    if crv != "P-256" {
        return Err(CryptoError::InvalidKey(format!(
            "unsupported EC curve {:?} (expected P-256)",
            truncate(crv)
        )));
    }
    // RFC 7518 §6.2.1.2: coordinates are always the full size of the curve.
    let x = coordinate(jwk, "x")?;
    let y = coordinate(jwk, "y")?;
    let verifier = ec_verifier(&x, &y)?;
    Ok((PublicParts::Ec { x, y }, verifier))
}

fn ec_verifier(x: &[u8; COORD_LEN], y: &[u8; COORD_LEN]) -> Result<Verifier, CryptoError> {
    // SEC 1 uncompressed point; aws-lc checks that it lies on P-256, which defeats
    // invalid-curve attacks.
    let mut point = Vec::with_capacity(1 + 2 * COORD_LEN);
    point.push(0x04);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
        .map_err(|_| bad("the EC public key is not a point on P-256"))?;
    Ok(Verifier::Ec(key))
}

fn okp_from_jwk(jwk: &Map<String, Value>) -> Result<(PublicParts, Verifier), CryptoError> {
    let crv = required_str(jwk, "crv")?;
    if crv != "Ed25519" {
        return Err(CryptoError::InvalidKey(format!(
            "unsupported OKP curve {:?} (expected Ed25519)",
            truncate(crv)
        )));
    }
    let x = coordinate(jwk, "x")?;
    let verifier = ed25519_verifier(&x)?;
    Ok((PublicParts::Ed25519 { x }, verifier))
}

fn ed25519_verifier(x: &[u8; COORD_LEN]) -> Result<Verifier, CryptoError> {
    let key = ParsedPublicKey::new(&ED25519, x)
        .map_err(|_| bad("the Ed25519 public key is not usable"))?;
    Ok(Verifier::Ed25519(key))
}

fn required_str<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<&'a str, CryptoError> {
    optional_str(jwk, name)?
        .ok_or_else(|| CryptoError::InvalidKey(format!("the JWK has no {name}")))
}

fn optional_str<'a>(
    jwk: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, CryptoError> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(CryptoError::InvalidKey(format!(
            "the JWK's {name} is not a string"
        ))),
    }
}

fn b64_member(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, CryptoError> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    URL_SAFE_NO_PAD
        .decode(required_str(jwk, name)?)
        .map_err(|_| CryptoError::InvalidKey(format!("the JWK's {name} is not valid base64url")))
}

fn coordinate(jwk: &Map<String, Value>, name: &str) -> Result<[u8; COORD_LEN], CryptoError> {
    b64_member(jwk, name)?
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::InvalidKey(format!("the JWK's {name} must be {COORD_LEN} bytes")))
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// Bit length of a big-endian integer without leading zero bytes.
fn bit_len(be: &[u8]) -> usize {
    match be.first() {
        None => 0,
        Some(&top) => (be.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

fn bad(why: &str) -> CryptoError {
    CryptoError::InvalidKey(why.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1: the example RSA key and its thumbprint.
    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    fn rfc7638_jwk() -> Value {
        json!({
            "kty": "RSA",
            "n": RFC7638_N,
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        })
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        let key = VerifyingKey::from_jwk(&rfc7638_jwk()).expect("rfc key");
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert_eq!(key.kid(), Some("2011-04-29"));
        assert!(key.fits(VerifyAlg::RS256));
        // The JWK pins RS256, so the same modulus is not used for PS256.
        assert!(!key.fits(VerifyAlg::PS256));
    }

    #[test]
    fn rfc8037_okp_thumbprint() {
        // RFC 8037 appendix A.2 and A.3.
        let key = VerifyingKey::from_jwk(&json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        }))
        .expect("rfc key");
        assert_eq!(
            key.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        assert_eq!(key.kid(), None);
    }

    #[test]
    fn leading_zero_in_modulus_is_tolerated_and_canonicalized() {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut n = URL_SAFE_NO_PAD.decode(RFC7638_N).expect("b64");
        n.insert(0, 0);
        let mut jwk = rfc7638_jwk();
        jwk["n"] = URL_SAFE_NO_PAD.encode(&n).into();
        let key = VerifyingKey::from_jwk(&jwk).expect("padded modulus");
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    fn assert_refused(jwk: Value, needle: &str) {
        match VerifyingKey::from_jwk(&jwk) {
            Err(CryptoError::InvalidKey(why)) => {
                assert!(why.contains(needle), "{jwk}: {why:?} lacks {needle:?}")
            }
            other => panic!("{jwk}: expected InvalidKey, got {other:?}"),
        }
    }

    #[test]
    fn refuses_unusable_jwks() {
        let p256 = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
        });
        VerifyingKey::from_jwk(&p256).expect("valid P-256 key");
        let with = |base: &Value, name: &str, value: Value| {
            let mut jwk = base.clone();
            jwk[name] = value;
            jwk
        };
        let without = |base: &Value, name: &str| {
            let mut jwk = base.clone();
            jwk.as_object_mut().expect("object").remove(name);
            jwk
        };
        let rsa = rfc7638_jwk();

        assert_refused(json!("RSA"), "JSON object");
        assert_refused(json!({"kty": "oct", "k": "AAAA"}), "key type");
        assert_refused(without(&rsa, "kty"), "no kty");
        assert_refused(with(&rsa, "kty", json!(1)), "not a string");
        assert_refused(with(&rsa, "use", json!("enc")), "use");
        assert_refused(with(&rsa, "key_ops", json!(["encrypt"])), "key_ops");
        assert_refused(with(&rsa, "key_ops", json!("verify")), "key_ops");
        assert_refused(with(&rsa, "d", json!("AAAA")), "private key");
        assert_refused(with(&rsa, "alg", json!("ES256")), "does not match");
        assert_refused(with(&rsa, "alg", json!("HS256")), "unsupported JWK alg");
        assert_refused(with(&rsa, "alg", json!("none")), "unsupported JWK alg");
        assert_refused(with(&rsa, "kid", json!(7)), "kid");
        assert_refused(without(&rsa, "n"), "no n");
        assert_refused(with(&rsa, "n", json!("not base64!")), "base64url");
        // Padding is not base64url as JOSE defines it.
        assert_refused(with(&rsa, "e", json!("AQAB==")), "base64url");
        assert_refused(with(&rsa, "e", json!("AQA")), "exponent"); // 0x0100: even
        assert_refused(with(&rsa, "e", json!("AQ")), "exponent"); // 1
        assert_refused(with(&rsa, "e", json!("")), "exponent");
        // The example modulus has 2048 bits; its first 172 characters make 1032.
        assert_refused(with(&rsa, "n", json!(&RFC7638_N[..172])), "at least 2048");

        assert_refused(with(&p256, "crv", json!("P-384")), "curve");
        assert_refused(without(&p256, "crv"), "no crv");
        assert_refused(without(&p256, "y"), "no y");
        assert_refused(with(&p256, "x", json!("AAAA")), "32 bytes");
        // The RFC 7515 appendix A.3 point with one character of y changed: well-formed, but
        // not on the curve.
        assert_refused(
            with(
                &p256,
                "y",
                json!("y_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"),
            ),
            "not a point on P-256",
        );
        assert_refused(with(&p256, "alg", json!("EdDSA")), "does not match");

        let okp = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert_refused(with(&okp, "crv", json!("X25519")), "curve");
        assert_refused(with(&okp, "crv", json!("Ed448")), "curve");
        assert_refused(with(&okp, "x", json!("11qYAYKxCrfVS_7TyWQHOg")), "32 bytes");
    }

    #[test]
    fn accepts_optional_members_when_consistent() {
        let mut jwk = rfc7638_jwk();
        jwk["use"] = "sig".into();
        jwk["key_ops"] = json!(["verify"]);
        jwk["alg"] = "PS256".into();
        jwk["x5t#S256"] = "ignored".into();
        let key = VerifyingKey::from_jwk(&jwk).expect("key");
        assert!(key.fits(VerifyAlg::PS256));
        assert!(!key.fits(VerifyAlg::RS256));

        let debug = format!("{key:?}");
        assert_eq!(
            debug,
            r#"VerifyingKey { kid: Some("2011-04-29"), kty: "RSA", alg: Some("PS256") }"#
        );
    }

    #[test]
    fn bit_length() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[1]), 1);
        assert_eq!(bit_len(&[0x80]), 8);
        assert_eq!(bit_len(&[0x01, 0x00]), 9);
        assert_eq!(bit_len(&[0x80; 256]), 2048);
        assert_eq!(bit_len(&[0x7f; 256]), 2047);
    }
}
