//! ID token validation (OpenID Connect Core §3.1.3.7): signature with the provider's keys and
//! an allowed algorithm, issuer (with Microsoft's `{tenantid}` pattern), audience and authorized
//! party, expiry and issue time with a small clock skew, the nonce of this sign-in, the subject,
//! and `at_hash` when present.

use serde_json::{Map, Value};
use tessera_crypto::{SigningAlg, VerifyingKey, ct_eq, decode_unverified, sha256_hex, verify_jwt};

use crate::error::IdTokenError;

/// What the token must match.
#[derive(Clone, Debug)]
pub struct Expected<'a> {
    /// The configured issuer; `{tenantid}` stands for the token's `tid`.
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// SHA-256 (hex) of the nonce this sign-in sent; `None` when none was sent.
    pub nonce_hash: Option<&'a str>,
    pub algs: &'a [String],
    /// Unix seconds.
    pub now: i64,
    pub skew_secs: i64,
    /// With `{tenantid}`: the allowed `tid` values (empty: any).
    pub allowed_tenants: &'a [String],
    /// The access token issued with the ID token, for `at_hash`.
    pub access_token: Option<&'a str>,
}

/// A validated ID token: its claims and the issuer it named.
#[derive(Clone, Debug, PartialEq)]
pub struct Validated {
    pub claims: Map<String, Value>,
    pub issuer: String,
}

/// Whether the token's structure is fine but no key verified it, so a fresh key set might.
pub fn needs_fresh_keys(e: &IdTokenError) -> bool {
    matches!(e, IdTokenError::Signature(_))
}

/// Checks the signature and every claim rule. The signature comes first, so nothing unverified
/// is ever looked at beyond its structure.
pub fn validate(
    token: &str,
    keys: &[VerifyingKey],
    expected: &Expected<'_>,
) -> Result<Validated, IdTokenError> {
    decode_unverified(token).map_err(|e| IdTokenError::Malformed(e.to_string()))?;
    let algs: Vec<&str> = expected.algs.iter().map(String::as_str).collect();
    let jwt = verify_jwt(token, keys, &algs).map_err(|e| IdTokenError::Signature(e.to_string()))?;
    let Value::Object(claims) = jwt.claims else {
        return Err(IdTokenError::Malformed(
            "the claims are not an object".into(),
        ));
    };

    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let wanted_issuer = if expected.issuer.contains("{tenantid}") {
        let tid = claims.get("tid").and_then(Value::as_str).unwrap_or("");
        let tid_ok = !tid.is_empty()
            && tid.len() <= 64
            && tid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !tid_ok {
            return Err(IdTokenError::Issuer { found: iss });
        }
        if !expected.allowed_tenants.is_empty()
            && !expected.allowed_tenants.iter().any(|t| t == tid)
        {
            return Err(IdTokenError::TenantNotAllowed);
        }
        expected.issuer.replace("{tenantid}", tid)
    } else {
        expected.issuer.to_string()
    };
    if iss != wanted_issuer {
        return Err(IdTokenError::Issuer { found: iss });
    }

    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(IdTokenError::Audience);
    }
    let azp = claims.get("azp").and_then(Value::as_str);
    // Other audiences are trusted only when this client is the authorized party.
    if audiences.len() > 1 && azp != Some(expected.client_id) {
        return Err(IdTokenError::AuthorizedParty);
    }
    if azp.is_some_and(|a| a != expected.client_id) {
        return Err(IdTokenError::AuthorizedParty);
    }

    let number = |k: &str| claims.get(k).and_then(Value::as_f64).map(|f| f as i64);
    let exp = number("exp").ok_or(IdTokenError::Expired)?;
    if expected.now > exp.saturating_add(expected.skew_secs) {
        return Err(IdTokenError::Expired);
    }
    let iat = number("iat").ok_or(IdTokenError::IssuedInFuture)?;
    if iat > expected.now.saturating_add(expected.skew_secs) {
        return Err(IdTokenError::IssuedInFuture);
    }

    if let Some(want) = expected.nonce_hash {
        let got = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
        if got.is_empty() || !ct_eq(sha256_hex(got.as_bytes()).as_bytes(), want.as_bytes()) {
            return Err(IdTokenError::Nonce);
        }
    }

    match claims.get("sub").and_then(Value::as_str) {
        Some(s) if !s.is_empty() => {}
        _ => return Err(IdTokenError::MissingSubject),
    }

    if let (Some(at_hash), Some(access)) = (
        claims.get("at_hash").and_then(Value::as_str),
        expected.access_token,
    ) {
        let alg = jwt.header.get("alg").and_then(Value::as_str).unwrap_or("");
        let hash_alg = match alg {
            "RS256" | "PS256" => Some(SigningAlg::RS256),
            "ES256" => Some(SigningAlg::ES256),
            "EdDSA" => Some(SigningAlg::EdDSA),
            _ => None,
        };
        if let Some(a) = hash_alg
            && !ct_eq(
                tessera_crypto::token_hash(a, access).as_bytes(),
                at_hash.as_bytes(),
            )
        {
            return Err(IdTokenError::AccessTokenHash);
        }
    }

    Ok(Validated {
        claims,
        issuer: wanted_issuer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tessera_crypto::SigningKey;

    const NOW: i64 = 1_800_000_000;

    fn algs() -> Vec<String> {
        crate::config::DEFAULT_ALGS
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn expected<'a>(nonce_hash: &'a str, algs: &'a [String]) -> Expected<'a> {
        Expected {
            issuer: "https://idp.example",
            client_id: "client-1",
            nonce_hash: Some(nonce_hash),
            algs,
            now: NOW,
            skew_secs: 60,
            allowed_tenants: &[],
            access_token: None,
        }
    }

    fn good_claims() -> Value {
        json!({
            "iss": "https://idp.example", "aud": "client-1", "sub": "u-1",
            "iat": NOW - 5, "exp": NOW + 300, "nonce": "n-1",
        })
    }

    fn with(change: impl FnOnce(&mut Value)) -> Value {
        let mut c = good_claims();
        change(&mut c);
        c
    }

    #[test]
    fn a_good_token_passes_and_each_broken_rule_is_named() {
        let key = SigningKey::generate(SigningAlg::RS256).unwrap();
        let keys = vec![key.verifying_key()];
        let nh = sha256_hex(b"n-1");
        let a = algs();
        let e = expected(&nh, &a);
        let sign = |c: &Value| key.sign_jwt("JWT", c).unwrap();
        let ok = validate(&sign(&good_claims()), &keys, &e).unwrap();
        assert_eq!(ok.claims["sub"], "u-1");

        let cases: Vec<(Value, IdTokenError)> = vec![
            (
                with(|c| c["iss"] = json!("https://evil.example")),
                IdTokenError::Issuer {
                    found: "https://evil.example".into(),
                },
            ),
            (with(|c| c["aud"] = json!("other")), IdTokenError::Audience),
            (
                with(|c| c["aud"] = json!(["client-1", "other"])),
                IdTokenError::AuthorizedParty,
            ),
            (
                with(|c| c["azp"] = json!("other")),
                IdTokenError::AuthorizedParty,
            ),
            (with(|c| c["exp"] = json!(NOW - 61)), IdTokenError::Expired),
            (
                with(|c| c["iat"] = json!(NOW + 61)),
                IdTokenError::IssuedInFuture,
            ),
            (with(|c| c["nonce"] = json!("n-2")), IdTokenError::Nonce),
            (
                with(|c| {
                    c.as_object_mut().unwrap().remove("nonce");
                }),
                IdTokenError::Nonce,
            ),
            (with(|c| c["sub"] = json!("")), IdTokenError::MissingSubject),
        ];
        for (claims, want) in cases {
            assert_eq!(validate(&sign(&claims), &keys, &e).unwrap_err(), want);
        }
        // Within the skew is fine; several audiences with this client as azp too.
        validate(&sign(&with(|c| c["exp"] = json!(NOW - 30))), &keys, &e).unwrap();
        validate(
            &sign(&with(|c| {
                c["aud"] = json!(["client-1", "other"]);
                c["azp"] = json!("client-1");
            })),
            &keys,
            &e,
        )
        .unwrap();
    }

    #[test]
    fn signatures_from_other_keys_forged_or_unsigned_tokens_fail() {
        let key = SigningKey::generate(SigningAlg::ES256).unwrap();
        let other = SigningKey::generate(SigningAlg::ES256).unwrap();
        let nh = sha256_hex(b"n-1");
        let a = algs();
        let e = expected(&nh, &a);
        let token = other.sign_jwt("JWT", &good_claims()).unwrap();
        let err = validate(&token, &[key.verifying_key()], &e).unwrap_err();
        assert!(needs_fresh_keys(&err), "{err:?}");
        // alg none
        use base64::Engine;
        let b64 = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        let none = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&good_claims()));
        assert!(validate(&none, &[key.verifying_key()], &e).is_err());
        // An algorithm the provider's configuration does not allow.
        let only_rs = vec!["RS256".to_string()];
        let e2 = expected(&nh, &only_rs);
        let token = key.sign_jwt("JWT", &good_claims()).unwrap();
        assert!(matches!(
            validate(&token, &[key.verifying_key()], &e2),
            Err(IdTokenError::Signature(_))
        ));
        assert!(matches!(
            validate("garbage", &[key.verifying_key()], &e),
            Err(IdTokenError::Malformed(_))
        ));
    }

    #[test]
    fn the_tenant_placeholder_takes_the_tokens_tid() {
        let key = SigningKey::generate(SigningAlg::RS256).unwrap();
        let keys = vec![key.verifying_key()];
        let nh = sha256_hex(b"n-1");
        let a = algs();
        let allowed = vec!["t-1".to_string()];
        let mut e = expected(&nh, &a);
        e.issuer = "https://login.example/{tenantid}/v2.0";
        let claims = with(|c| {
            c["iss"] = json!("https://login.example/t-1/v2.0");
            c["tid"] = json!("t-1");
        });
        let v = validate(&key.sign_jwt("JWT", &claims).unwrap(), &keys, &e).unwrap();
        assert_eq!(v.issuer, "https://login.example/t-1/v2.0");
        // A token whose iss names another tenant than its tid.
        let mixed = with(|c| {
            c["iss"] = json!("https://login.example/t-2/v2.0");
            c["tid"] = json!("t-1");
        });
        assert!(matches!(
            validate(&key.sign_jwt("JWT", &mixed).unwrap(), &keys, &e),
            Err(IdTokenError::Issuer { .. })
        ));
        e.allowed_tenants = &allowed;
        let other_tenant = with(|c| {
            c["iss"] = json!("https://login.example/t-3/v2.0");
            c["tid"] = json!("t-3");
        });
        assert_eq!(
            validate(&key.sign_jwt("JWT", &other_tenant).unwrap(), &keys, &e).unwrap_err(),
            IdTokenError::TenantNotAllowed
        );
    }

    #[test]
    fn at_hash_is_checked_when_present() {
        let key = SigningKey::generate(SigningAlg::RS256).unwrap();
        let keys = vec![key.verifying_key()];
        let nh = sha256_hex(b"n-1");
        let a = algs();
        let mut e = expected(&nh, &a);
        e.access_token = Some("at-1");
        let good =
            with(|c| c["at_hash"] = json!(tessera_crypto::token_hash(SigningAlg::RS256, "at-1")));
        validate(&key.sign_jwt("JWT", &good).unwrap(), &keys, &e).unwrap();
        let bad =
            with(|c| c["at_hash"] = json!(tessera_crypto::token_hash(SigningAlg::RS256, "at-2")));
        assert_eq!(
            validate(&key.sign_jwt("JWT", &bad).unwrap(), &keys, &e).unwrap_err(),
            IdTokenError::AccessTokenHash
        );
    }
}
