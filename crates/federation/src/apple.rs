//! Sign in with Apple's client secret: a short-lived ES256 JWT signed with the team's private
//! key (the `.p8` file Apple hands out), with Apple's key id in the header, the team as issuer
//! and the services id as subject.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

use crate::error::{FederationError, Result};

/// Lifetime of a client secret. Apple accepts up to six months; a fresh one per token request
/// keeps a leaked one useless.
pub const SECRET_TTL_SECS: i64 = 300;

/// Reads the private key: a PEM `PRIVATE KEY` block (the `.p8` file) or base64 of the DER.
pub fn read_key(text: &str) -> Result<Vec<u8>> {
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(body.as_bytes()).map_err(|_| {
        FederationError::Config("the Apple private key is not a PEM or base64 PKCS#8 key".into())
    })?;
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).map_err(|_| {
        FederationError::Config("the Apple private key is not a P-256 PKCS#8 key".into())
    })?;
    Ok(der)
}

/// The client secret for a token request at `now` (unix seconds). `audience` is Apple's issuer.
pub fn client_secret(
    private_key: &str,
    team_id: &str,
    key_id: &str,
    client_id: &str,
    audience: &str,
    now: i64,
) -> Result<String> {
    let der = read_key(private_key)?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
        .map_err(|_| FederationError::Config("the Apple private key cannot be used".into()))?;
    let header = json!({"alg": "ES256", "kid": key_id, "typ": "JWT"});
    let claims = json!({
        "iss": team_id,
        "iat": now,
        "exp": now + SECRET_TTL_SECS,
        "aud": audience,
        "sub": client_id,
    });
    let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
    let sig = pair
        .sign(&SystemRandom::new(), token.as_bytes())
        .map_err(|_| FederationError::Config("signing the Apple client secret failed".into()))?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(sig.as_ref()));
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_crypto::{SigningAlg, SigningKey, verify_jwt};

    #[test]
    fn the_secret_verifies_with_the_keys_public_half_and_names_team_key_and_client() {
        let key = SigningKey::generate(SigningAlg::ES256).unwrap();
        let der = key.to_pkcs8_der().unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(der.as_slice())
        );
        let jwt = client_secret(
            &pem,
            "TEAM123",
            "KEY456",
            "com.example.web",
            "https://appleid.apple.com",
            1_800_000_000,
        )
        .unwrap();
        // The public JWK without its thumbprint kid: Apple's kid is in the header.
        let mut jwk = key.public_jwk();
        jwk.as_object_mut().unwrap().remove("kid");
        let v = verify_jwt(
            &jwt,
            &[tessera_crypto::VerifyingKey::from_jwk(&jwk).unwrap()],
            &["ES256"],
        )
        .unwrap();
        assert_eq!(v.header["kid"], "KEY456");
        assert_eq!(v.claims["iss"], "TEAM123");
        assert_eq!(v.claims["sub"], "com.example.web");
        assert_eq!(v.claims["aud"], "https://appleid.apple.com");
        assert_eq!(v.claims["exp"], 1_800_000_000 + SECRET_TTL_SECS);
        assert!(read_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_err());
    }
}
