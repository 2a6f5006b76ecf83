//! Signed tokens (compact JWS, RFC 7515) for the OpenID Connect provider: the server's signing
//! keys and their public JWKs ([`SigningKey`]), public keys read from JWKs ([`VerifyingKey`]),
//! signature verification of compact tokens ([`verify_jwt`]) and the `at_hash` / `c_hash`
//! values of ID tokens ([`token_hash`]).
//!
//! This module checks signatures and structure only. Claims (`iss`, `aud`, `exp`, …) are the
//! caller's to validate, because what is acceptable depends on the protocol step.
//!
//! Header parameters that point at keys (`jwk`, `jku`, `x5c`, `x5u`) are ignored on purpose: a
//! token never chooses the key that verifies it, only the caller's key set does.

mod jwk;
mod signing;

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::CryptoError;

pub use jwk::VerifyingKey;
pub use signing::SigningKey;

/// Tokens longer than this are refused before any decoding, so an attacker cannot make the
/// server parse megabytes of JSON. Real ID tokens and client assertions are well under 4 KiB.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The algorithms Tessera signs with. Serialized with their JOSE names (`"RS256"`, `"ES256"`,
/// `"EdDSA"`, RFC 7518 §3.1 and RFC 8037 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, on 2048-bit (or larger imported) keys. The one algorithm
    /// every OpenID Connect relying party must support.
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// EdDSA on Ed25519 (RFC 8037).
    EdDSA,
}

impl SigningAlg {
    /// The JOSE name, as it appears in `alg` header and JWK members.
    pub const fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }

    /// Parses a JOSE name. Names are case-sensitive (RFC 7515 §4.1.1), so `"rs256"` is refused.
    pub fn parse(name: &str) -> Result<SigningAlg, CryptoError> {
        match name {
            "RS256" => Ok(SigningAlg::RS256),
            "ES256" => Ok(SigningAlg::ES256),
            "EdDSA" => Ok(SigningAlg::EdDSA),
            _ => Err(CryptoError::InvalidKey(format!(
                "unsupported signing algorithm {:?} (expected RS256, ES256 or EdDSA)",
                truncate(name)
            ))),
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlg {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SigningAlg::parse(s)
    }
}

/// The algorithms [`verify_jwt`] can check. PS256 is verify-only: clients may sign their
/// assertions with it (FAPI requires PS256 or ES256), but Tessera signs with PKCS#1 v1.5 because
/// every relying party supports RS256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VerifyAlg {
    RS256,
    PS256,
    ES256,
    EdDSA,
}

impl VerifyAlg {
    fn from_name(name: &str) -> Option<VerifyAlg> {
        match name {
            "RS256" => Some(VerifyAlg::RS256),
            "PS256" => Some(VerifyAlg::PS256),
            "ES256" => Some(VerifyAlg::ES256),
            "EdDSA" => Some(VerifyAlg::EdDSA),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            VerifyAlg::RS256 => "RS256",
            VerifyAlg::PS256 => "PS256",
            VerifyAlg::ES256 => "ES256",
            VerifyAlg::EdDSA => "EdDSA",
        }
    }
}

impl From<SigningAlg> for VerifyAlg {
    fn from(alg: SigningAlg) -> Self {
        match alg {
            SigningAlg::RS256 => VerifyAlg::RS256,
            SigningAlg::ES256 => VerifyAlg::ES256,
            SigningAlg::EdDSA => VerifyAlg::EdDSA,
        }
    }
}

/// The `at_hash` / `c_hash` of an ID token (OpenID Connect Core 1.0 §3.1.3.6, §3.3.2.11):
/// base64url of the left half of the hash of the ASCII `value`, where the hash is the one of
/// the ID token's `alg`.
///
/// RS256 and ES256 use SHA-256 (16 bytes kept). EdDSA names no hash of its own; following the
/// OpenID Connect Core errata and what other providers and client libraries do for Ed25519,
/// SHA-512 (the hash inside Ed25519) is used, keeping 32 bytes.
pub fn token_hash(alg: SigningAlg, value: &str) -> String {
    let algorithm = match alg {
        SigningAlg::RS256 | SigningAlg::ES256 => &digest::SHA256,
        SigningAlg::EdDSA => &digest::SHA512,
    };
    let hash = digest::digest(algorithm, value.as_bytes());
    let bytes = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

/// The decoded header and claims of a compact JWS. From [`verify_jwt`] the signature has been
/// checked; from [`decode_unverified`] nothing has.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedJwt {
    /// The JOSE header, always a JSON object.
    pub header: Value,
    /// The payload, always a JSON object (a JWT claims set).
    pub claims: Value,
}

/// Verifies a compact JWS signature with one of `keys` and returns its header and claims.
///
/// - The header's `alg` must be listed in `allowed` and be one of RS256, PS256, ES256 or EdDSA;
///   `"none"` is refused even when listed.
/// - With a `kid` in the header, only keys with that `kid` are tried; if no key has it, keys
///   that carry no `kid` at all are tried (a client may register a JWK without one and still
///   send a `kid`). Keys with another `kid` are never tried. Without a `kid`, every key is
///   tried. Either way a key is tried only if its type fits the `alg` and, when its JWK
///   declares an `alg`, that `alg` is the header's.
/// - A header or payload with a duplicate member name keeps the last one (serde_json's
///   behaviour, which RFC 7515 §4 allows).
/// - A header with `crit` is refused: this implementation understands no extension, and RFC
///   7515 §4.1.11 requires refusing what is not understood.
///
/// Claims (`exp`, `aud`, `iss`, …) are not validated here.
pub fn verify_jwt(
    token: &str,
    keys: &[VerifyingKey],
    allowed: &[&str],
) -> Result<VerifiedJwt, CryptoError> {
    let parts = Compact::parse(token)?;
    let header = parts.header_object()?;

    let alg_name = match header.get("alg") {
        Some(Value::String(alg)) => alg.as_str(),
        Some(_) => return Err(invalid("the header's alg is not a string")),
        None => return Err(invalid("the header has no alg")),
    };
    // Unsigned tokens are never acceptable, whatever a caller's configuration lists.
    if alg_name.eq_ignore_ascii_case("none") {
        return Err(invalid("unsigned tokens (alg none) are refused"));
    }
    let alg = VerifyAlg::from_name(alg_name)
        .ok_or_else(|| invalid("the token's alg is not supported"))?;
    if !allowed.contains(&alg.as_str()) {
        return Err(CryptoError::InvalidToken(format!(
            "alg {} is not allowed here",
            alg.as_str()
        )));
    }
    if header.contains_key("crit") {
        return Err(invalid(
            "the header has critical extensions (crit), which are not supported",
        ));
    }
    let kid = match header.get("kid") {
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(invalid("the header's kid is not a string")),
        None => None,
    };

    let fitting = || keys.iter().filter(move |k| k.fits(alg));
    let candidates: Vec<&VerifyingKey> = match kid {
        Some(kid) if keys.iter().any(|k| k.kid() == Some(kid)) => {
            fitting().filter(|k| k.kid() == Some(kid)).collect()
        }
        Some(_) => fitting().filter(|k| k.kid().is_none()).collect(),
        None => fitting().collect(),
    };
    if candidates.is_empty() {
        return Err(CryptoError::InvalidToken(format!(
            "no key fits the token's alg {} and kid",
            alg.as_str()
        )));
    }

    // The whole structure is checked before the signature, so a malformed token is reported
    // as malformed rather than as a bad signature.
    let claims = parts.claims()?;
    let signature = parts.signature()?;
    let signing_input = parts.signing_input.as_bytes();
    if !candidates
        .iter()
        .any(|k| k.verify(alg, signing_input, &signature))
    {
        return Err(invalid("the signature does not verify"));
    }

    Ok(VerifiedJwt {
        header: Value::Object(header),
        claims,
    })
}

/// Decodes the header and claims of a compact JWS WITHOUT checking its signature, to read `iss`
/// or `kid` before choosing the keys for [`verify_jwt`]. Nothing in the result may be trusted.
///
/// Applies the same structural checks as [`verify_jwt`] (size, three parts, base64url, JSON
/// objects), so a token this refuses would be refused there too.
pub fn decode_unverified(token: &str) -> Result<VerifiedJwt, CryptoError> {
    let parts = Compact::parse(token)?;
    let header = parts.header_object()?;
    parts.signature()?;
    Ok(VerifiedJwt {
        header: Value::Object(header),
        claims: parts.claims()?,
    })
}

/// The three parts of a compact JWS, still encoded.
struct Compact<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    /// `header.payload`, the bytes the signature covers.
    signing_input: &'a str,
}

impl<'a> Compact<'a> {
    fn parse(token: &'a str) -> Result<Compact<'a>, CryptoError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(invalid("the token is longer than 16 KiB"));
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            // Five parts would be an encrypted token (JWE), which Tessera does not accept.
            return Err(invalid(
                "a compact JWS has exactly three dot-separated parts",
            ));
        };
        Ok(Compact {
            header,
            payload,
            signature,
            signing_input: &token[..header.len() + 1 + payload.len()],
        })
    }

    fn header_object(&self) -> Result<serde_json::Map<String, Value>, CryptoError> {
        match decode_json(self.header, "header")? {
            Value::Object(map) => Ok(map),
            _ => Err(invalid("the header is not a JSON object")),
        }
    }

    fn claims(&self) -> Result<Value, CryptoError> {
        let claims = decode_json(self.payload, "payload")?;
        if !claims.is_object() {
            return Err(invalid("the payload is not a JSON object"));
        }
        Ok(claims)
    }

    fn signature(&self) -> Result<Vec<u8>, CryptoError> {
        let signature = b64_decode(self.signature, "signature")?;
        if signature.is_empty() {
            return Err(invalid("the signature is empty"));
        }
        Ok(signature)
    }
}

fn decode_json(part: &str, what: &str) -> Result<Value, CryptoError> {
    let bytes = b64_decode(part, what)?;
    // serde_json's error text may quote the input, so only the part's name is reported.
    serde_json::from_slice(&bytes)
        .map_err(|_| CryptoError::InvalidToken(format!("the {what} is not valid JSON")))
}

/// Strict base64url without padding (RFC 7515 §2): padding, other alphabets and non-canonical
/// trailing bits are refused, so each token has exactly one encoding.
fn b64_decode(part: &str, what: &str) -> Result<Vec<u8>, CryptoError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| CryptoError::InvalidToken(format!("the {what} is not valid base64url")))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn invalid(why: &str) -> CryptoError {
    CryptoError::InvalidToken(why.to_owned())
}

/// Untrusted names quoted in errors are cut short, so a log line stays a line.
fn truncate(s: &str) -> &str {
    match s.char_indices().nth(32) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// RFC 7515 appendix A.2: RS256 over `{"iss":"joe",…}` with the RFC's 2048-bit key.
    const RFC7515_RS256_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
    const RFC7515_RSA_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";

    /// RFC 7515 appendix A.3: ES256 over the same payload.
    const RFC7515_ES256_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

    /// RFC 8037 appendix A.4: Ed25519 over the text "Example of Ed25519 signing" (not JSON).
    const RFC8037_TOKEN: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

    fn rfc7515_rsa_jwk() -> Value {
        json!({"kty": "RSA", "n": RFC7515_RSA_N, "e": "AQAB"})
    }

    fn rfc7515_ec_jwk() -> Value {
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
        })
    }

    fn rfc8037_jwk() -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
    }

    fn key(jwk: Value) -> VerifyingKey {
        VerifyingKey::from_jwk(&jwk).expect("test jwk")
    }

    const ALL_ALGS: &[&str] = &["RS256", "PS256", "ES256", "EdDSA"];

    fn reason(result: Result<VerifiedJwt, CryptoError>) -> String {
        match result {
            Err(CryptoError::InvalidToken(why)) => why,
            other => panic!("expected InvalidToken, got {other:?}"),
        }
    }

    #[test]
    fn signing_alg_names() {
        for (alg, name) in [
            (SigningAlg::RS256, "RS256"),
            (SigningAlg::ES256, "ES256"),
            (SigningAlg::EdDSA, "EdDSA"),
        ] {
            assert_eq!(alg.as_str(), name);
            assert_eq!(alg.to_string(), name);
            assert_eq!(SigningAlg::parse(name).expect("parse"), alg);
            assert_eq!(name.parse::<SigningAlg>().expect("from_str"), alg);
            assert_eq!(serde_json::to_value(alg).expect("ser"), json!(name));
            assert_eq!(
                serde_json::from_value::<SigningAlg>(json!(name)).expect("de"),
                alg
            );
        }
        for bad in ["rs256", "EDDSA", "PS256", "HS256", "none", ""] {
            assert!(matches!(
                SigningAlg::parse(bad),
                Err(CryptoError::InvalidKey(_))
            ));
            assert!(serde_json::from_value::<SigningAlg>(json!(bad)).is_err());
        }
    }

    #[test]
    fn token_hash_vectors() {
        // Computed with Python's hashlib: base64url(sha256(v)[:16]) and
        // base64url(sha512(v)[:32]) for the access token of OpenID Connect Core appendix A.
        let access_token = "jHkWEdUXMU1BwAsC4vtUsZwnNmshEM";
        assert_eq!(
            token_hash(SigningAlg::RS256, access_token),
            "6ge5hDKtftlWVciqAAh2Jw"
        );
        assert_eq!(
            token_hash(SigningAlg::ES256, access_token),
            "6ge5hDKtftlWVciqAAh2Jw"
        );
        assert_eq!(
            token_hash(SigningAlg::EdDSA, access_token),
            "V1MlROKxeHAag1f-hbm7q58s2Lgwx3GRfxAFTk2JvaQ"
        );
        let code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";
        assert_eq!(
            token_hash(SigningAlg::RS256, code),
            "LDktKdoQak3Pk0cnXxCltA"
        );
        assert_eq!(
            token_hash(SigningAlg::EdDSA, code),
            "E9z1C-c0Az4eTEzE0Nm3OQ3BS2BhMgxuP7x5JAQj1_4"
        );
    }

    #[test]
    fn rfc7515_examples_verify() {
        let verified =
            verify_jwt(RFC7515_RS256_TOKEN, &[key(rfc7515_rsa_jwk())], &["RS256"]).expect("A.2");
        assert_eq!(verified.header, json!({"alg": "RS256"}));
        assert_eq!(
            verified.claims,
            json!({"iss": "joe", "exp": 1_300_819_380, "http://example.com/is_root": true})
        );

        let verified =
            verify_jwt(RFC7515_ES256_TOKEN, &[key(rfc7515_ec_jwk())], &["ES256"]).expect("A.3");
        assert_eq!(verified.claims["iss"], "joe");

        // Each fails under the other's key.
        assert!(verify_jwt(RFC7515_RS256_TOKEN, &[key(rfc7515_ec_jwk())], ALL_ALGS).is_err());
        assert!(verify_jwt(RFC7515_ES256_TOKEN, &[key(rfc7515_rsa_jwk())], ALL_ALGS).is_err());
    }

    #[test]
    fn rfc8037_example_signature_verifies() {
        let parts = Compact::parse(RFC8037_TOKEN).expect("parts");
        let signature = parts.signature().expect("signature");
        let ed = key(rfc8037_jwk());
        assert!(ed.verify(VerifyAlg::EdDSA, parts.signing_input.as_bytes(), &signature));
        assert!(!ed.verify(VerifyAlg::EdDSA, b"Example of Ed25519 signinG", &signature));
        // A JWT's payload must be a JSON claims set, which this one is not.
        let why = reason(verify_jwt(RFC8037_TOKEN, &[ed], &["EdDSA"]));
        assert!(why.contains("payload is not valid JSON"), "{why}");
    }

    /// Tokens and JWKs made by PyJWT 2.15 with Python `cryptography` 50 (OpenSSL), over the
    /// same claims, each with `kid` and `typ: JWT` in the header.
    mod pyjwt {
        pub const CLAIMS: &str = r#"{"iss":"https://idp.example.com","sub":"248289761001","aud":"s6BhdRkqt3","nonce":"n-0S6_WzA2Mj","exp":1311281970,"iat":1311280970,"name":"Jane Doe","emoji":"\u00e9\u2603"}"#;
        pub const RSA_N: &str = "gx5u3NzBwdqr-HEezkUobiRVEwpdHDDuSXlZOerXO4ExCTHWSNhSwWuzpaxGvv7CR8I101WMAEnWJ134NgO8q_rTkZ6izIrigrs5dkVRxiOQ4lAJRsx5cv009bBpYdYMBrcvrFI7SaaVEF2tP5jZEXmgO1vsOtkZVzzTpsiAPBAKKzLEYKsgmk-vtc1IzNe3mTqKyNG7D9a33nWOkxWUPLBU88TxZOBSRZjgWjKQiGjy8ZVAH6eGwv02QrIh2ip5ZnPHokPlCDeoXG5qrHdTb7hl3MjRcaObdXehfPEmUYCsUa4X5x-8CySimJ4-zdQaXxqTLFWtZZdxAVAQdX_vjw";
        pub const RS256: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InB5LXJzMjU2IiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLmNvbSIsInN1YiI6IjI0ODI4OTc2MTAwMSIsImF1ZCI6InM2QmhkUmtxdDMiLCJub25jZSI6Im4tMFM2X1d6QTJNaiIsImV4cCI6MTMxMTI4MTk3MCwiaWF0IjoxMzExMjgwOTcwLCJuYW1lIjoiSmFuZSBEb2UiLCJlbW9qaSI6Ilx1MDBlOVx1MjYwMyJ9.EGEcL0QyU3Oq-ofnzsuRd9Y3CCvn35WM44d1DZmd0EIVF6-xV918ljR2nVMSJWcWs4FwZbRvUAG1sQFkFAfqo4RLCEMdDQFLFTlLRRJU_pK0a13I7j8stQzWbn_G31H1evLPA1x9UwflFURBwYEhuBS1PeQwaYtLFC_fiQbA-ekfRq5smYg_i7eq7UJ8Oas7IgllHtu8CMEq8SeFcZ79reoSU2nzNroVkPOrTN0nNyL9XwPRkYiioINMIwLUb10wpI4jgCJGulMu_8IIgHAYppt0ECLJfV62ODFd992eMEBcAo2nGlQSN1oShRcHJbY3b-C18ZZsixQ7qc59G-K0Yw";
        pub const PS256: &str = "eyJhbGciOiJQUzI1NiIsImtpZCI6InB5LXBzMjU2IiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLmNvbSIsInN1YiI6IjI0ODI4OTc2MTAwMSIsImF1ZCI6InM2QmhkUmtxdDMiLCJub25jZSI6Im4tMFM2X1d6QTJNaiIsImV4cCI6MTMxMTI4MTk3MCwiaWF0IjoxMzExMjgwOTcwLCJuYW1lIjoiSmFuZSBEb2UiLCJlbW9qaSI6Ilx1MDBlOVx1MjYwMyJ9.e_niS6_EY1MwWKYD9qM78Wmr1DAe1lyUxfolecwX9xkxkLb7cjiNu9HQtloI0_GVE5WW37LiZNKgkT-aOctN5bxtwIIFThvFmSWY8-UCtRn59kRT-7Bhtaj0-Lw9ynvvqLeQKgeHsr-_mjy6oskfScPDt9aVoVgIGcciZ12q5OQXBt9ewojQOeHoYs2Bc6QWjNjVeRgNtC_GFIkeBWnRpbOAaVgchb25d3n_QkfuWVXzFsGLjU-DJmyXv51rrawHgccYi1z_2hk-KD2uAHnCKd1pUfh0DPRL6JvbCG2qaZGCJnu-7NjMszkdTYJkgvlzc3YxD5MLiZAKxxKYCltLvQ";
        pub const EC_X: &str = "I5cE3gNY01-cjIsnFQnQTDU7uPzZ4aU5Q360HHBtbSk";
        pub const EC_Y: &str = "zagUSm7uWyvLWT9Mwum_4cg-7krqy6aT68_UjfMS7ps";
        pub const ES256: &str = "eyJhbGciOiJFUzI1NiIsImtpZCI6InB5LWVzMjU2IiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLmNvbSIsInN1YiI6IjI0ODI4OTc2MTAwMSIsImF1ZCI6InM2QmhkUmtxdDMiLCJub25jZSI6Im4tMFM2X1d6QTJNaiIsImV4cCI6MTMxMTI4MTk3MCwiaWF0IjoxMzExMjgwOTcwLCJuYW1lIjoiSmFuZSBEb2UiLCJlbW9qaSI6Ilx1MDBlOVx1MjYwMyJ9.eD_U4AFkag4cS2Sr9dmglbIs2rdkfxYklVvrkAx0wVNLfb3vLQ5FR6tiAxpRq6auRI5qsAj4HZPjeMLYULZulw";
        pub const ED_X: &str = "30GrFjKYePNCMWEotO_LoWDpd7wtUC61kaYdopsM8Jo";
        pub const EDDSA: &str = "eyJhbGciOiJFZERTQSIsImtpZCI6InB5LWVkZHNhIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLmNvbSIsInN1YiI6IjI0ODI4OTc2MTAwMSIsImF1ZCI6InM2QmhkUmtxdDMiLCJub25jZSI6Im4tMFM2X1d6QTJNaiIsImV4cCI6MTMxMTI4MTk3MCwiaWF0IjoxMzExMjgwOTcwLCJuYW1lIjoiSmFuZSBEb2UiLCJlbW9qaSI6Ilx1MDBlOVx1MjYwMyJ9.Ho6aItgY5Ww745HBEEJHz8IqSCzyVZXd7ByCH2ymNWnFIZsaoMaFv1D8eUg9xapb32QH2hMxMAyKXuoCGNXBCg";
    }

    /// The PyJWT keys as a client's JWKS would list them.
    fn pyjwt_keys() -> Vec<VerifyingKey> {
        vec![
            key(
                json!({"kty": "RSA", "key_ops": ["verify"], "n": pyjwt::RSA_N, "e": "AQAB", "kid": "py-rs256"}),
            ),
            key(
                json!({"kty": "RSA", "key_ops": ["verify"], "n": pyjwt::RSA_N, "e": "AQAB", "kid": "py-ps256"}),
            ),
            key(
                json!({"kty": "EC", "crv": "P-256", "x": pyjwt::EC_X, "y": pyjwt::EC_Y, "kid": "py-es256"}),
            ),
            key(json!({"kty": "OKP", "crv": "Ed25519", "x": pyjwt::ED_X, "kid": "py-eddsa"})),
        ]
    }

    #[test]
    fn tokens_from_pyjwt_verify() {
        let keys = pyjwt_keys();
        let claims: Value = serde_json::from_str(pyjwt::CLAIMS).expect("claims");
        for (token, alg, kid) in [
            (pyjwt::RS256, "RS256", "py-rs256"),
            (pyjwt::PS256, "PS256", "py-ps256"),
            (pyjwt::ES256, "ES256", "py-es256"),
            (pyjwt::EDDSA, "EdDSA", "py-eddsa"),
        ] {
            let verified = verify_jwt(token, &keys, ALL_ALGS).expect(alg);
            assert_eq!(verified.claims, claims, "{alg}");
            assert_eq!(
                verified.header,
                json!({"alg": alg, "kid": kid, "typ": "JWT"}),
                "{alg}"
            );
            // Only the listed algorithms are accepted.
            let others: Vec<&str> = ALL_ALGS.iter().copied().filter(|a| *a != alg).collect();
            let why = reason(verify_jwt(token, &keys, &others));
            assert!(why.contains("not allowed"), "{alg}: {why}");
        }
    }

    /// Replaces one part (0 header, 1 payload, 2 signature) of a compact token.
    fn with_part(token: &str, index: usize, part: &str) -> String {
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[index] = part;
        parts.join(".")
    }

    fn encode_json(value: &Value) -> String {
        b64(&serde_json::to_vec(value).expect("json"))
    }

    /// Changes one character in the middle of a base64url part, keeping it canonical.
    fn flip_char(part: &str) -> String {
        let mut bytes = part.as_bytes().to_vec();
        let middle = bytes.len() / 2;
        bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).expect("ascii")
    }

    #[test]
    fn tampering_is_detected() {
        let keys = pyjwt_keys();
        for token in [pyjwt::RS256, pyjwt::PS256, pyjwt::ES256, pyjwt::EDDSA] {
            let parts: Vec<&str> = token.split('.').collect();
            let mut header: Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64"))
                    .expect("json");

            let mut claims: Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64"))
                    .expect("json");
            claims["sub"] = "admin".into();
            let forged = with_part(token, 1, &encode_json(&claims));
            let why = reason(verify_jwt(&forged, &keys, ALL_ALGS));
            assert!(why.contains("signature does not verify"), "{why}");

            header["typ"] = "at+jwt".into();
            let forged = with_part(token, 0, &encode_json(&header));
            let why = reason(verify_jwt(&forged, &keys, ALL_ALGS));
            assert!(why.contains("signature does not verify"), "{why}");

            let forged = with_part(token, 2, &flip_char(parts[2]));
            let why = reason(verify_jwt(&forged, &keys, ALL_ALGS));
            assert!(why.contains("signature does not verify"), "{why}");

            // A truncated signature, and one with a byte appended.
            let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
            signature.pop();
            let forged = with_part(token, 2, &b64(&signature));
            assert!(verify_jwt(&forged, &keys, ALL_ALGS).is_err());
            signature.extend_from_slice(&[0, 0]);
            let forged = with_part(token, 2, &b64(&signature));
            assert!(verify_jwt(&forged, &keys, ALL_ALGS).is_err());
        }
    }

    #[test]
    fn wrong_keys_and_kid_selection() {
        let keys = pyjwt_keys();
        let stranger = SigningKey::generate(SigningAlg::ES256).expect("generate");

        // The right kid on the wrong key material.
        let mut impostor = stranger.public_jwk();
        impostor["kid"] = "py-es256".into();
        let why = reason(verify_jwt(pyjwt::ES256, &[key(impostor)], &["ES256"]));
        assert!(why.contains("signature does not verify"), "{why}");

        // The right key under another kid is never tried.
        let renamed = key(
            json!({"kty": "EC", "crv": "P-256", "x": pyjwt::EC_X, "y": pyjwt::EC_Y, "kid": "other"}),
        );
        let why = reason(verify_jwt(pyjwt::ES256, &[renamed], &["ES256"]));
        assert!(why.contains("no key fits"), "{why}");

        // A key without kid is tried when no key carries the token's kid …
        let anonymous =
            key(json!({"kty": "EC", "crv": "P-256", "x": pyjwt::EC_X, "y": pyjwt::EC_Y}));
        verify_jwt(pyjwt::ES256, std::slice::from_ref(&anonymous), &["ES256"])
            .expect("kid-less key");
        // … but not when one does.
        let mut impostor = stranger.public_jwk();
        impostor["kid"] = "py-es256".into();
        assert!(verify_jwt(pyjwt::ES256, &[key(impostor), anonymous], &["ES256"]).is_err());

        // A token without kid is tried against every fitting key.
        let no_kid = SigningKey::generate(SigningAlg::EdDSA).expect("generate");
        let token = no_kid.sign_jwt("JWT", &json!({"sub": "s"})).expect("sign");
        let header = encode_json(&json!({"alg": "EdDSA"}));
        let without_kid = with_part(&token, 0, &header);
        // (The header is part of the signed input, so re-sign through the low-level path.)
        let signing_input = without_kid.rsplit_once('.').expect("dots").0.to_owned();
        let signature = no_kid.sign(signing_input.as_bytes()).expect("sign");
        let without_kid = format!("{signing_input}.{}", b64(&signature));
        let mut set = keys.clone();
        set.push(no_kid.verifying_key());
        verify_jwt(&without_kid, &set, &["EdDSA"]).expect("no kid");

        // Empty key set.
        let why = reason(verify_jwt(pyjwt::EDDSA, &[], ALL_ALGS));
        assert!(why.contains("no key fits"), "{why}");
    }

    #[test]
    fn jwk_alg_pins_the_key_to_one_algorithm() {
        let pinned = key(
            json!({"kty": "RSA", "n": pyjwt::RSA_N, "e": "AQAB", "alg": "RS256", "kid": "py-ps256"}),
        );
        let why = reason(verify_jwt(pyjwt::PS256, &[pinned], ALL_ALGS));
        assert!(why.contains("no key fits"), "{why}");
    }

    #[test]
    fn alg_none_and_unsupported_algs_are_refused() {
        let claims = encode_json(&json!({"sub": "admin"}));
        let keys = pyjwt_keys();
        for alg in ["none", "None", "NONE"] {
            let header = encode_json(&json!({"alg": alg}));
            for token in [
                format!("{header}.{claims}."),
                format!("{header}.{claims}.AAAA"),
            ] {
                let why = reason(verify_jwt(
                    &token,
                    &keys,
                    &["none", "None", "NONE", "RS256"],
                ));
                assert!(why.contains("alg none"), "{why}");
            }
        }
        // HS256 "signed" with the RSA public key (the classic algorithm confusion attack).
        for alg in ["HS256", "RS384", "ES512", "Ed25519", ""] {
            let header = encode_json(&json!({"alg": alg, "kid": "py-rs256"}));
            let token = format!("{header}.{claims}.AAAA");
            let why = reason(verify_jwt(&token, &keys, &[alg, "RS256"]));
            assert!(why.contains("not supported"), "{alg}: {why}");
        }
    }

    #[test]
    fn alg_must_fit_the_key_type() {
        let keys = pyjwt_keys();
        // The RS256 token relabelled ES256 and kept under the RSA key's kid: no EC key has it,
        // and the RSA key does not fit ES256.
        let header = encode_json(&json!({"alg": "ES256", "kid": "py-rs256", "typ": "JWT"}));
        let relabelled = with_part(pyjwt::RS256, 0, &header);
        let why = reason(verify_jwt(&relabelled, &keys, ALL_ALGS));
        assert!(why.contains("no key fits"), "{why}");

        // Relabelled PS256 with a PKCS#1 v1.5 signature: the key fits, the signature does not.
        let header = encode_json(&json!({"alg": "PS256", "kid": "py-rs256", "typ": "JWT"}));
        let relabelled = with_part(pyjwt::RS256, 0, &header);
        assert!(verify_jwt(&relabelled, &keys, ALL_ALGS).is_err());

        // The kid names an RSA key, so kid-less keys are not tried either.
        let anonymous_ec =
            key(json!({"kty": "EC", "crv": "P-256", "x": pyjwt::EC_X, "y": pyjwt::EC_Y}));
        let header = encode_json(&json!({"alg": "ES256", "kid": "py-rs256"}));
        let relabelled = with_part(pyjwt::ES256, 0, &header);
        let mut set = keys.clone();
        set.push(anonymous_ec);
        let why = reason(verify_jwt(&relabelled, &set, ALL_ALGS));
        assert!(why.contains("no key fits"), "{why}");

        // An EdDSA token checked against RSA and EC keys only.
        let why = reason(verify_jwt(pyjwt::EDDSA, &keys[..3], ALL_ALGS));
        assert!(why.contains("no key fits"), "{why}");
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let keys = pyjwt_keys();
        let parts: Vec<&str> = pyjwt::ES256.split('.').collect();
        let (h, p, s) = (parts[0], parts[1], parts[2]);
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "three"),
            (format!("{h}.{p}"), "three"),
            (format!("{h}.{p}.{s}.{s}"), "three"),
            (format!("{h}.{p}.{s}.{s}.{s}"), "three"),
            (format!("{h}={h}.{p}.{s}"), "header is not valid base64url"),
            (format!("{h}.{p}=.{s}"), "payload is not valid base64url"),
            (format!("{h}.{p}.{s}="), "signature is not valid base64url"),
            (
                format!("{h}.{p}.{}", s.replace('_', "/")),
                "signature is not valid base64url",
            ),
            (format!("{h}.{p}."), "signature is empty"),
            (
                format!("{}.{p}.{s}", b64(b"{\"alg\":")),
                "header is not valid JSON",
            ),
            (
                format!("{}.{p}.{s}", b64(b"[\"ES256\"]")),
                "header is not a JSON object",
            ),
            (format!("{}.{p}.{s}", b64(b"{\"typ\":\"JWT\"}")), "no alg"),
            (
                format!("{}.{p}.{s}", b64(b"{\"alg\":256}")),
                "alg is not a string",
            ),
            (
                format!("{}.{p}.{s}", b64(b"{\"alg\":\"ES256\",\"kid\":1}")),
                "kid is not a string",
            ),
            (
                format!(
                    "{}.{p}.{s}",
                    b64(b"{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}")
                ),
                "crit",
            ),
            (
                format!(
                    "{}.{p}.{s}",
                    b64(b"{\"alg\":\"ES256\",\"b64\":false,\"crit\":[\"b64\"]}")
                ),
                "crit",
            ),
            (format!("{h}.{}.{s}", b64(b"not json")), "not valid JSON"),
            (format!("{h}.{}.{s}", b64(b"[1]")), "not a JSON object"),
            (format!("{h}.{}.{s}", b64(b"")), "not valid JSON"),
            (
                format!("{h}.{}.{s}", "A".repeat(MAX_TOKEN_LEN)),
                "longer than 16 KiB",
            ),
        ];
        for (token, needle) in cases {
            let shown = &token[..token.len().min(60)];
            let why = reason(verify_jwt(&token, &keys, ALL_ALGS));
            assert!(why.contains(needle), "{shown}: {why:?} lacks {needle:?}");
        }
    }

    #[test]
    fn decode_unverified_reads_without_checking() {
        let claims: Value = serde_json::from_str(pyjwt::CLAIMS).expect("claims");
        let forged = with_part(
            pyjwt::ES256,
            2,
            &flip_char(pyjwt::ES256.rsplit('.').next().expect("sig")),
        );
        let decoded = decode_unverified(&forged).expect("decodes");
        assert_eq!(decoded.claims, claims);
        assert_eq!(decoded.header["kid"], "py-es256");

        for bad in [
            "a.b",
            "e30.e30.",
            "e30.W10.AAAA",
            "W10.e30.AAAA",
            "e30.e30.AAA=",
        ] {
            assert!(
                matches!(decode_unverified(bad), Err(CryptoError::InvalidToken(_))),
                "{bad}"
            );
        }
        // Structure is all it checks: a header without alg still decodes.
        let decoded = decode_unverified("e30.e30.AAAA").expect("decodes");
        assert_eq!(decoded.header, json!({}));
        assert!(decode_unverified(&"e30.e30.".repeat(3000)).is_err());
    }

    #[test]
    fn errors_do_not_quote_the_token() {
        let secret_claims = encode_json(&json!({"password": "hunter2"}));
        let header = encode_json(&json!({"alg": "ES256", "kid": "hunter2-kid"}));
        let token = format!("{header}.{secret_claims}.AAAA");
        let err = verify_jwt(&token, &pyjwt_keys(), ALL_ALGS).expect_err("refused");
        let text = err.to_string();
        assert!(!text.contains("hunter2"), "{text}");
    }
}
