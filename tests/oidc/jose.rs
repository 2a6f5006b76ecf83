//! JOSE as a relying party does it, written here on aws-lc-rs so the provider's tokens are checked
//! by code that shares nothing with the provider's own signing: compact JWS decoding, signature
//! verification against a published JWKS (RS256, ES256, EdDSA), `at_hash`, and an ES256 key of
//! the test's own for `private_key_jwt` client assertions.

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair, KeyPair,
    RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64url_decode(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(s)
        .unwrap_or_else(|e| panic!("{s:?} is not base64url without padding: {e}"))
}

/// A compact JWS, decoded (its signature not yet checked).
#[derive(Debug, Clone)]
pub struct Jwt {
    pub header: Value,
    pub claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

impl Jwt {
    /// Decodes `token`, panicking when it is not a compact JWS with JSON header and claims.
    pub fn decode(token: &str) -> Jwt {
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "a compact JWS has three parts: {token}");
        let json = |part: &str, what: &str| -> Value {
            let v: Value = serde_json::from_slice(&b64url_decode(part))
                .unwrap_or_else(|e| panic!("the JWS {what} is not JSON ({e}): {token}"));
            assert!(v.is_object(), "the JWS {what} is not an object: {v}");
            v
        };
        Jwt {
            header: json(parts[0], "header"),
            claims: json(parts[1], "payload"),
            signing_input: format!("{}.{}", parts[0], parts[1]),
            signature: b64url_decode(parts[2]),
        }
    }

    pub fn alg(&self) -> &str {
        self.header["alg"].as_str().expect("the JWS header has alg")
    }

    pub fn kid(&self) -> &str {
        self.header["kid"].as_str().expect("the JWS header has kid")
    }

    /// Checks the signature with the key of `jwks` named by the header's `kid`; `Err` says why not.
    pub fn verify_with(&self, jwks: &Value) -> Result<(), String> {
        let kid = self.header["kid"].as_str().ok_or("the header has no kid")?;
        let key = jwks["keys"]
            .as_array()
            .ok_or("the JWKS has no keys array")?
            .iter()
            .find(|k| k["kid"] == kid)
            .ok_or_else(|| format!("no key with kid {kid} in the JWKS"))?;
        if let Some(key_alg) = key["alg"].as_str()
            && key_alg != self.alg()
        {
            return Err(format!(
                "the key {kid} is for {key_alg}, the token says {}",
                self.alg()
            ));
        }
        let field = |name: &str| -> Result<Vec<u8>, String> {
            let s = key[name]
                .as_str()
                .ok_or_else(|| format!("the JWK lacks {name}: {key}"))?;
            URL_SAFE_NO_PAD
                .decode(s)
                .map_err(|e| format!("JWK {name}: {e}"))
        };
        let msg = self.signing_input.as_bytes();
        let ok = match (self.alg(), key["kty"].as_str()) {
            ("RS256", Some("RSA")) => RsaPublicKeyComponents {
                n: field("n")?,
                e: field("e")?,
            }
            .verify(&RSA_PKCS1_2048_8192_SHA256, msg, &self.signature)
            .is_ok(),
            ("ES256", Some("EC")) => {
                if key["crv"] != "P-256" {
                    return Err(format!("ES256 needs a P-256 key: {key}"));
                }
                let mut point = vec![4u8];
                point.extend(field("x")?);
                point.extend(field("y")?);
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                    .verify(msg, &self.signature)
                    .is_ok()
            }
            ("EdDSA", Some("OKP")) => {
                if key["crv"] != "Ed25519" {
                    return Err(format!("EdDSA here means Ed25519: {key}"));
                }
                UnparsedPublicKey::new(&ED25519, field("x")?)
                    .verify(msg, &self.signature)
                    .is_ok()
            }
            (alg, kty) => return Err(format!("alg {alg} does not fit key type {kty:?}")),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("the {} signature does not verify", self.alg()))
        }
    }
}

/// Decodes `token` and asserts its signature verifies with `jwks`.
#[track_caller]
pub fn verified(token: &str, jwks: &Value) -> Jwt {
    let jwt = Jwt::decode(token);
    if let Err(why) = jwt.verify_with(jwks) {
        panic!("{why}: header {} claims {}", jwt.header, jwt.claims);
    }
    jwt
}

/// `at_hash` / `c_hash` (OpenID Connect Core §3.1.3.6): the left half of the hash that goes with
/// the signing algorithm, base64url-encoded.
pub fn half_hash(alg: &str, value: &str) -> String {
    let algorithm = match alg {
        "RS256" | "ES256" | "PS256" => &digest::SHA256,
        // Ed25519 signs with SHA-512 (OpenID Connect errata for EdDSA).
        "EdDSA" => &digest::SHA512,
        other => panic!("no hash known for {other}"),
    };
    let h = digest::digest(algorithm, value.as_bytes());
    b64url(&h.as_ref()[..h.as_ref().len() / 2])
}

/// `n` random bytes, base64url-encoded.
pub fn random(n: usize) -> String {
    let mut buf = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut buf).expect("the system random number generator works");
    b64url(&buf)
}

/// PKCE (RFC 7636) with S256.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Pkce {
        let verifier = random(48);
        let challenge = b64url(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref());
        Pkce {
            verifier,
            challenge,
        }
    }
}

/// An ES256 key of the client's own (for `private_key_jwt`).
pub struct ClientKey {
    pair: EcdsaKeyPair,
    pub kid: String,
}

impl ClientKey {
    pub fn generate() -> ClientKey {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .expect("a P-256 key can be generated");
        ClientKey {
            pair,
            kid: format!("client-{}", random(6)),
        }
    }

    /// The public key as a JWK, for the client's registered `jwks`.
    pub fn public_jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        assert_eq!(point.len(), 65, "an uncompressed P-256 point");
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(&point[1..33]),
            "y": b64url(&point[33..]),
            "kid": self.kid,
            "alg": "ES256",
            "use": "sig",
        })
    }

    /// A signed compact JWS with this key.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("ES256 signing works");
        format!("{input}.{}", b64url(sig.as_ref()))
    }
}

#[test]
fn own_signatures_verify_and_tampering_is_caught() {
    let key = ClientKey::generate();
    let jwks = json!({"keys": [key.public_jwk()]});
    let token = key.sign(&json!({"sub": "x"}));
    assert!(Jwt::decode(&token).verify_with(&jwks).is_ok());
    let forged = key.sign(&json!({"sub": "y"}));
    let mixed = format!(
        "{}.{}",
        token.rsplit_once('.').expect("three parts").0,
        forged.rsplit_once('.').expect("three parts").1
    );
    assert!(Jwt::decode(&mixed).verify_with(&jwks).is_err());
    // base64url(sha256(v)[..16]), computed with Python's hashlib (the value printed in OpenID
    // Connect Core appendix A for this access token is known not to match it).
    assert_eq!(
        half_hash("RS256", "jHkWEdUXMU1BwAsC4vtUsZwnNmshEM"),
        "6ge5hDKtftlWVciqAAh2Jw"
    );
}
