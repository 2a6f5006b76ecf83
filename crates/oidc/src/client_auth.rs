//! Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3,
//! OpenID Connect Core §9, RFC 7523). Secrets are compared as SHA-256 digests in constant time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tessera_core::client::Client;
use tessera_crypto::{ct_eq, sha256_hex};

use crate::error::OAuthError;
use crate::params::Params;

pub const ASSERTION_TYPE_JWT_BEARER: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What the client presented, before it is checked against its registration.
#[derive(Clone, PartialEq, Eq)]
pub enum Presented {
    /// `client_secret_basic` or `client_secret_post`.
    Secret {
        client_id: String,
        secret: String,
        via_header: bool,
    },
    /// `private_key_jwt`.
    Assertion {
        client_id: String,
        assertion: String,
    },
    /// `none`: public clients identify themselves only.
    ClientIdOnly { client_id: String },
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Presented({})", self.client_id())
    }
}

impl Presented {
    pub fn client_id(&self) -> &str {
        match self {
            Presented::Secret { client_id, .. }
            | Presented::Assertion { client_id, .. }
            | Presented::ClientIdOnly { client_id } => client_id,
        }
    }
}

/// Reads the client's credentials from the `Authorization` header and the form. Using more than
/// one method in a request is an error (RFC 6749 §2.3).
pub fn extract(authorization: Option<&str>, params: &Params) -> Result<Presented, OAuthError> {
    let basic = match authorization {
        Some(h) if h.len() > 6 && h[..6].eq_ignore_ascii_case("basic ") => {
            Some(decode_basic(&h[6..])?)
        }
        Some(_) | None => None,
    };
    let post_secret = params.get("client_secret");
    let assertion = params.get("client_assertion");
    let form_id = params.get("client_id");
    let methods = [basic.is_some(), post_secret.is_some(), assertion.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if methods > 1 {
        return Err(OAuthError::invalid_request(
            "use exactly one client authentication method",
        ));
    }
    if let Some((id, secret)) = basic {
        if form_id.is_some_and(|f| f != id) {
            return Err(OAuthError::invalid_request(
                "client_id in the form differs from the Authorization header",
            ));
        }
        return Ok(Presented::Secret {
            client_id: id,
            secret,
            via_header: true,
        });
    }
    if let Some(secret) = post_secret {
        let id = form_id.ok_or_else(|| OAuthError::invalid_client("client_id is missing"))?;
        return Ok(Presented::Secret {
            client_id: id.to_string(),
            secret: secret.to_string(),
            via_header: false,
        });
    }
    if let Some(a) = assertion {
        if params.get("client_assertion_type") != Some(ASSERTION_TYPE_JWT_BEARER) {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type must be {ASSERTION_TYPE_JWT_BEARER}"
            )));
        }
        // The client is named by the assertion's `sub`; the caller decodes it when client_id is absent.
        let id = match form_id {
            Some(id) => id.to_string(),
            None => assertion_subject(a)?,
        };
        return Ok(Presented::Assertion {
            client_id: id,
            assertion: a.to_string(),
        });
    }
    match form_id {
        Some(id) => Ok(Presented::ClientIdOnly {
            client_id: id.to_string(),
        }),
        None => Err(OAuthError::invalid_client(
            "client authentication is missing",
        )),
    }
}

fn decode_basic(b64: &str) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError::invalid_client("the Basic authorization header is malformed");
    let raw = STANDARD.decode(b64.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    let dec = |s: &str| -> Result<String, OAuthError> {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .ok_or_else(bad)
    };
    Ok((dec(id)?, dec(secret)?))
}

fn assertion_subject(assertion: &str) -> Result<String, OAuthError> {
    let jwt = tessera_crypto::jws::decode_unverified(assertion)
        .map_err(|_| OAuthError::invalid_client("client_assertion is not a valid JWT"))?;
    jwt.claims
        .get("sub")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| OAuthError::invalid_client("client_assertion has no sub"))
}

/// Checks a presented secret against the stored digest in constant time.
pub fn secret_matches(client: &Client, secret: &str) -> bool {
    match &client.secret_hash {
        Some(h) => ct_eq(sha256_hex(secret.as_bytes()).as_bytes(), h.as_bytes()),
        None => false,
    }
}

/// Checks the claims of a verified client assertion (RFC 7523 §3). Returns its `jti` and `exp`
/// (unix seconds) so the caller can refuse replays until it expires.
pub fn check_assertion_claims(
    claims: &serde_json::Value,
    client_id: &str,
    audiences: &[String],
    now_unix: i64,
) -> Result<(String, i64), OAuthError> {
    let bad = |m: &str| OAuthError::invalid_client(format!("client_assertion: {m}"));
    let s = |k: &str| claims.get(k).and_then(|v| v.as_str());
    if s("iss") != Some(client_id) || s("sub") != Some(client_id) {
        return Err(bad("iss and sub must both be the client_id"));
    }
    let aud_ok = match claims.get("aud") {
        Some(serde_json::Value::String(a)) => audiences.iter().any(|x| x == a),
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|v| v.as_str())
            .any(|a| audiences.iter().any(|x| x == a)),
        _ => false,
    };
    if !aud_ok {
        return Err(bad("aud must be the token endpoint URL or the issuer"));
    }
    let exp = claims
        .get("exp")
        .and_then(|v| v.as_i64())
        .ok_or_else(|| bad("exp is missing"))?;
    // Allow a minute of clock skew; refuse assertions valid for unreasonably long.
    if exp + 60 < now_unix {
        return Err(bad("it has expired"));
    }
    if exp > now_unix + 3600 {
        return Err(bad("exp is too far in the future (max one hour)"));
    }
    if let Some(nbf) = claims.get("nbf").and_then(|v| v.as_i64())
        && nbf > now_unix + 60
    {
        return Err(bad("it is not valid yet"));
    }
    let jti = s("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| bad("jti is missing"))?;
    Ok((jti.to_string(), exp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> Params {
        Params::parse(q.as_bytes()).unwrap()
    }

    #[test]
    fn basic_is_urldecoded() {
        // client id "a:b" and secret "p w" encoded per RFC 6749 §2.3.1.
        let header = format!("Basic {}", STANDARD.encode("a%3Ab:p+w"));
        let p = extract(Some(&header), &params("grant_type=x")).unwrap();
        assert_eq!(
            p,
            Presented::Secret {
                client_id: "a:b".into(),
                secret: "p w".into(),
                via_header: true
            }
        );
    }

    #[test]
    fn one_method_only() {
        let header = format!("Basic {}", STANDARD.encode("a:b"));
        assert!(extract(Some(&header), &params("client_id=a&client_secret=b")).is_err());
        assert!(extract(None, &params("grant_type=x")).is_err());
        assert!(matches!(
            extract(None, &params("client_id=a")).unwrap(),
            Presented::ClientIdOnly { .. }
        ));
        assert!(extract(Some("Basic !!!"), &params("")).is_err());
    }

    #[test]
    fn assertion_claims() {
        let aud = vec!["https://id.example/t/a/token".to_string()];
        let good = serde_json::json!({"iss":"c","sub":"c","aud":aud[0],"exp":1000,"jti":"j1"});
        assert_eq!(
            check_assertion_claims(&good, "c", &aud, 900).unwrap(),
            ("j1".to_string(), 1000)
        );
        let mut wrong_aud = good.clone();
        wrong_aud["aud"] = "https://other".into();
        assert!(check_assertion_claims(&wrong_aud, "c", &aud, 900).is_err());
        assert!(
            check_assertion_claims(&good, "c", &aud, 2000).is_err(),
            "expired"
        );
        let mut no_jti = good.clone();
        no_jti.as_object_mut().unwrap().remove("jti");
        assert!(check_assertion_claims(&no_jti, "c", &aud, 900).is_err());
        assert!(check_assertion_claims(&good, "other", &aud, 900).is_err());
    }
}
