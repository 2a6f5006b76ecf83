//! Token and UserInfo claims (OpenID Connect Core §2, §5.1, §5.4; RFC 9068).

use serde_json::{Map, Value, json};
use tessera_core::user::User;

use crate::scope::claims_for_scope;

/// Standard claims of `user` released by `scopes` (for UserInfo and, without an access token, the ID token).
pub fn user_claims(user: &User, scopes: &[String]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("sub".into(), json!(user.id.to_string()));
    for scope in scopes {
        for claim in claims_for_scope(scope) {
            let v = match *claim {
                "name" => user.name.clone().map(Value::from),
                "given_name" => user.given_name.clone().map(Value::from),
                "family_name" => user.family_name.clone().map(Value::from),
                "updated_at" => Some(json!(user.updated_at.unix_timestamp())),
                "email" => Some(json!(user.email)),
                "email_verified" => Some(json!(user.email_verified)),
                "phone_number" => user.phone.clone().map(Value::from),
                "phone_number_verified" => user.phone.as_ref().map(|_| json!(false)),
                "locale" | "zoneinfo" | "picture" | "website" | "nickname"
                | "preferred_username" => user
                    .attributes
                    .get(*claim)
                    .filter(|v| v.is_string())
                    .cloned(),
                _ => None,
            };
            if let Some(v) = v {
                m.insert((*claim).to_string(), v);
            }
        }
    }
    m
}

/// Everything an ID token needs besides the user's claims.
pub struct IdTokenFacts<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub now: i64,
    pub ttl_secs: i64,
    pub auth_time: Option<i64>,
    pub nonce: Option<&'a str>,
    pub acr: Option<&'a str>,
    pub amr: &'a [String],
    pub sid: Option<&'a str>,
    pub at_hash: Option<&'a str>,
}

pub fn id_token_claims(facts: &IdTokenFacts<'_>, user_claims: Map<String, Value>) -> Value {
    let mut m = user_claims;
    m.insert("iss".into(), json!(facts.issuer));
    m.insert("aud".into(), json!(facts.client_id));
    m.insert("azp".into(), json!(facts.client_id));
    m.insert("iat".into(), json!(facts.now));
    m.insert("exp".into(), json!(facts.now + facts.ttl_secs));
    if let Some(t) = facts.auth_time {
        m.insert("auth_time".into(), json!(t));
    }
    if let Some(n) = facts.nonce {
        m.insert("nonce".into(), json!(n));
    }
    if let Some(a) = facts.acr {
        m.insert("acr".into(), json!(a));
    }
    if !facts.amr.is_empty() {
        m.insert("amr".into(), json!(facts.amr));
    }
    if let Some(s) = facts.sid {
        m.insert("sid".into(), json!(s));
    }
    if let Some(h) = facts.at_hash {
        m.insert("at_hash".into(), json!(h));
    }
    Value::Object(m)
}

/// RFC 9068 JWT access token claims.
pub struct AccessTokenFacts<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub audience: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub jti: &'a str,
    pub now: i64,
    pub ttl_secs: i64,
    pub auth_time: Option<i64>,
    pub acr: Option<&'a str>,
    pub amr: &'a [String],
    pub sid: Option<&'a str>,
}

pub fn access_token_claims(f: &AccessTokenFacts<'_>) -> Value {
    let mut m = Map::new();
    m.insert("iss".into(), json!(f.issuer));
    m.insert("sub".into(), json!(f.subject));
    m.insert("aud".into(), json!(f.audience));
    m.insert("client_id".into(), json!(f.client_id));
    m.insert("iat".into(), json!(f.now));
    m.insert("exp".into(), json!(f.now + f.ttl_secs));
    m.insert("jti".into(), json!(f.jti));
    if !f.scope.is_empty() {
        m.insert("scope".into(), json!(f.scope));
    }
    if let Some(t) = f.auth_time {
        m.insert("auth_time".into(), json!(t));
    }
    if let Some(a) = f.acr {
        m.insert("acr".into(), json!(a));
    }
    if !f.amr.is_empty() {
        m.insert("amr".into(), json!(f.amr));
    }
    if let Some(s) = f.sid {
        m.insert("sid".into(), json!(s));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::TenantId;
    use tessera_core::user::NewUser;

    #[test]
    fn scopes_release_only_their_claims() {
        let u = User::create(
            TenantId::new(),
            NewUser {
                email: "a@b.co".into(),
                name: Some("Alice".into()),
                phone: Some("+14155550100".into()),
                ..Default::default()
            },
            None,
            time::macros::datetime!(2026-01-01 0:00 UTC),
        )
        .unwrap();
        let only_openid = user_claims(&u, &["openid".into()]);
        assert_eq!(only_openid.len(), 1);
        let email = user_claims(&u, &["openid".into(), "email".into()]);
        assert_eq!(email["email"], "a@b.co");
        assert!(!email.contains_key("name"));
        let profile = user_claims(&u, &["profile".into(), "phone".into()]);
        assert_eq!(profile["name"], "Alice");
        assert_eq!(profile["phone_number"], "+14155550100");
    }
}

/// Per-client custom claims (`metadata.claims`): `{"<claim>": "attribute:<name>" | "groups" |
/// "roles" | "permissions"}`. This function resolves attributes and groups; the server resolves
/// `roles` and `permissions` (they need the access graph).
/// Attributes come from the user's custom attributes; `groups` is the list of group names. A claim
/// never overrides a standard one.
pub fn mapped_claims(
    user: &User,
    groups: &[String],
    mapping: Option<&Value>,
) -> Map<String, Value> {
    let mut m = Map::new();
    let Some(Value::Object(rules)) = mapping else {
        return m;
    };
    for (claim, source) in rules {
        if RESERVED_CLAIMS.contains(&claim.as_str()) {
            continue;
        }
        let value = match source.as_str() {
            Some("groups") => Some(json!(groups)),
            Some(s) => s
                .strip_prefix("attribute:")
                .and_then(|name| user.attributes.get(name))
                .cloned(),
            None => None,
        };
        if let Some(v) = value {
            m.insert(claim.clone(), v);
        }
    }
    m
}

/// Whether a mapping asks for the user's groups (so the caller loads them only then).
pub fn mapping_needs_groups(mapping: Option<&Value>) -> bool {
    matches!(mapping, Some(Value::Object(rules)) if rules.values().any(|v| v == "groups"))
}

/// Whether a claim name belongs to the protocol or the standard profile (never mapped over).
pub fn is_reserved_claim(name: &str) -> bool {
    RESERVED_CLAIMS.contains(&name)
}

const RESERVED_CLAIMS: &[&str] = &[
    // Released by the `consents` scope from the consent records, never mapped.
    "consents",
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "sid",
    "at_hash",
    "c_hash",
    "scope",
    "client_id",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "phone_number",
    "phone_number_verified",
    "updated_at",
];

#[cfg(test)]
mod mapping_tests {
    use super::*;
    use tessera_core::TenantId;
    use tessera_core::user::NewUser;

    #[test]
    fn attributes_and_groups_map_but_never_override_standard_claims() {
        let u = User::create(
            TenantId::new(),
            NewUser {
                email: "a@b.co".into(),
                attributes: Some(json!({"department": "finance", "sub": "x"})),
                ..Default::default()
            },
            None,
            time::macros::datetime!(2026-01-01 0:00 UTC),
        )
        .unwrap();
        let mapping = json!({"department": "attribute:department", "groups": "groups", "sub": "attribute:sub", "missing": "attribute:nope"});
        let m = mapped_claims(&u, &["admins".to_string()], Some(&mapping));
        assert_eq!(m["department"], "finance");
        assert_eq!(m["groups"], json!(["admins"]));
        assert!(!m.contains_key("sub"));
        assert!(!m.contains_key("missing"));
        assert!(mapping_needs_groups(Some(&mapping)));
        assert!(!mapping_needs_groups(None));
    }
}
