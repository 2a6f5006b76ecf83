//! From upstream claims to what Tessera keeps: who the person is at the provider
//! ([`UpstreamIdentity`]) and the profile fields and groups the provider's rules derive from it
//! ([`Profile`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tessera_core::Secret;

use crate::config::{ClaimNames, ProviderConfig};
use crate::error::{FederationError, Result};

/// The longest upstream subject kept (Google's are 21 digits, Microsoft's 43 characters).
const MAX_SUBJECT_LEN: usize = 255;

/// Tokens the provider issued for this sign-in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamTokens {
    pub access_token: Option<Secret>,
    pub refresh_token: Option<Secret>,
    /// Seconds the access token lives, as the provider said.
    pub expires_in: Option<i64>,
    pub scope: Option<String>,
}

/// A person as the provider describes them, after the protocol checks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpstreamIdentity {
    /// The provider's stable identifier of the person.
    pub subject: String,
    /// The issuer that vouched for the person (with Microsoft's multi-tenant endpoints, the
    /// person's own directory).
    pub issuer: Option<String>,
    pub email: Option<String>,
    /// Whether the provider says it verified `email`.
    pub email_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub groups: Vec<String>,
    /// Every claim received (ID token over user-info), for attribute rules.
    pub claims: Map<String, Value>,
    #[serde(skip)]
    pub tokens: UpstreamTokens,
}

/// A claim by dotted path (`address.country`).
pub fn claim<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut current = claims.get(parts.next()?)?;
    for p in parts {
        current = current.as_object()?.get(p)?;
    }
    Some(current)
}

/// A claim as text: strings trimmed, numbers printed (GitHub's and Facebook's ids are numbers);
/// empty and other types are absent.
pub fn claim_text(claims: &Map<String, Value>, path: &str) -> Option<String> {
    match claim(claims, path)? {
        Value::String(s) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A boolean claim; also the strings `"true"` / `"false"` (Apple sends `email_verified` so).
pub fn claim_bool(claims: &Map<String, Value>, path: &str) -> Option<bool> {
    match claim(claims, path)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn claim_list(claims: &Map<String, Value>, path: &str) -> Vec<String> {
    match claim(claims, path) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .take(500)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Reads the identity out of the merged claims with the provider's claim names.
pub fn identity_from_claims(
    config: &ProviderConfig,
    claims: Map<String, Value>,
    issuer: Option<String>,
    tokens: UpstreamTokens,
) -> Result<UpstreamIdentity> {
    let names: &ClaimNames = &config.claims;
    let subject = claim_text(&claims, &names.subject)
        .filter(|s| s.len() <= MAX_SUBJECT_LEN && !s.chars().any(char::is_control))
        .ok_or(FederationError::MissingClaim("subject"))?;
    let email =
        claim_text(&claims, &names.email).filter(|e| tessera_core::user::validate_email(e).is_ok());
    let email_verified = email.is_some()
        && claim_bool(&claims, &names.email_verified).unwrap_or(config.assume_email_verified);
    let text = |path: &str| {
        claim_text(&claims, path).filter(|s| s.chars().count() <= 200 && !s.contains('\0'))
    };
    Ok(UpstreamIdentity {
        subject,
        issuer,
        email,
        email_verified,
        name: text(&names.name),
        given_name: text(&names.given_name),
        family_name: text(&names.family_name),
        groups: names
            .groups
            .as_deref()
            .map(|g| claim_list(&claims, g))
            .unwrap_or_default(),
        claims,
        tokens,
    })
}

/// Where an attribute rule writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Name,
    GivenName,
    FamilyName,
    Phone,
    Attribute(String),
}

impl Target {
    pub fn parse(s: &str) -> std::result::Result<Target, String> {
        match s {
            "name" => Ok(Target::Name),
            "given_name" => Ok(Target::GivenName),
            "family_name" => Ok(Target::FamilyName),
            "phone" => Ok(Target::Phone),
            other => match other.strip_prefix("attributes.") {
                Some(key)
                    if !key.is_empty()
                        && key.len() <= 64
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
                {
                    Ok(Target::Attribute(key.to_string()))
                }
                _ => Err(format!(
                    "target {other:?} must be name, given_name, family_name, phone or attributes.<key>"
                )),
            },
        }
    }
}

/// What the provider's rules say the local account should hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub phone: Option<String>,
    /// Custom attributes to set (merged into the account's own).
    pub attributes: Map<String, Value>,
    /// Local group names the person belongs in.
    pub groups: Vec<String>,
}

/// Applies the standard names first, then the attribute rules (which may override them), then
/// the group rules.
pub fn profile(config: &ProviderConfig, identity: &UpstreamIdentity) -> Profile {
    let mut p = Profile {
        name: identity.name.clone(),
        given_name: identity.given_name.clone(),
        family_name: identity.family_name.clone(),
        ..Default::default()
    };
    for rule in &config.attribute_rules {
        let Ok(target) = Target::parse(&rule.target) else {
            continue;
        };
        let Some(value) = claim(&identity.claims, &rule.claim) else {
            continue;
        };
        match target {
            Target::Attribute(key) => {
                p.attributes.insert(key, value.clone());
            }
            other => {
                let Some(text) = claim_text(&identity.claims, &rule.claim) else {
                    continue;
                };
                match other {
                    Target::Name => p.name = Some(text),
                    Target::GivenName => p.given_name = Some(text),
                    Target::FamilyName => p.family_name = Some(text),
                    Target::Phone => p.phone = Some(text),
                    Target::Attribute(_) => {}
                }
            }
        }
    }
    for rule in &config.group_rules {
        if identity.groups.iter().any(|g| g == &rule.upstream) && !p.groups.contains(&rule.group) {
            p.groups.push(rule.group.clone());
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AttributeRule, GroupRule};
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn numbers_and_string_booleans_are_read() {
        let c = claims(json!({"id": 12345, "email_verified": "true", "a": {"b": " x "}}));
        assert_eq!(claim_text(&c, "id").as_deref(), Some("12345"));
        assert_eq!(claim_bool(&c, "email_verified"), Some(true));
        assert_eq!(claim_text(&c, "a.b").as_deref(), Some("x"));
        assert_eq!(claim_text(&c, "a.c"), None);
    }

    #[test]
    fn email_verified_is_false_unless_the_provider_says_so() {
        let config = ProviderConfig::default();
        let id = identity_from_claims(
            &config,
            claims(json!({"sub": "1", "email": "a@b.example"})),
            None,
            Default::default(),
        )
        .unwrap();
        assert!(!id.email_verified);
        let id = identity_from_claims(
            &config,
            claims(json!({"sub": "1", "email": "a@b.example", "email_verified": true})),
            None,
            Default::default(),
        )
        .unwrap();
        assert!(id.email_verified);
        // A malformed address is dropped, and cannot be verified.
        let id = identity_from_claims(
            &config,
            claims(json!({"sub": "1", "email": "not an email", "email_verified": true})),
            None,
            Default::default(),
        )
        .unwrap();
        assert_eq!(id.email, None);
        assert!(!id.email_verified);
        let missing = identity_from_claims(
            &config,
            claims(json!({"email": "a@b.example"})),
            None,
            Default::default(),
        );
        assert_eq!(
            missing.unwrap_err(),
            FederationError::MissingClaim("subject")
        );
    }

    #[test]
    fn rules_map_claims_to_fields_attributes_and_groups() {
        let mut config = ProviderConfig::default();
        config.claims.groups = Some("groups".into());
        config.attribute_rules = vec![
            AttributeRule {
                claim: "org.department".into(),
                target: "attributes.department".into(),
            },
            AttributeRule {
                claim: "nickname".into(),
                target: "name".into(),
            },
        ];
        config.group_rules = vec![
            GroupRule {
                upstream: "eng".into(),
                group: "engineering".into(),
            },
            GroupRule {
                upstream: "ops".into(),
                group: "operations".into(),
            },
        ];
        let id = identity_from_claims(
            &config,
            claims(json!({
                "sub": "s", "name": "Alice Liddell", "nickname": "Al",
                "org": {"department": "R&D"}, "groups": ["eng", "other"]
            })),
            None,
            Default::default(),
        )
        .unwrap();
        let p = profile(&config, &id);
        assert_eq!(p.name.as_deref(), Some("Al"));
        assert_eq!(p.attributes.get("department"), Some(&json!("R&D")));
        assert_eq!(p.groups, vec!["engineering".to_string()]);
    }

    #[test]
    fn targets() {
        assert_eq!(
            Target::parse("attributes.cost_center"),
            Ok(Target::Attribute("cost_center".into()))
        );
        assert!(Target::parse("attributes.").is_err());
        assert!(Target::parse("email").is_err());
        assert!(Target::parse("attributes.a b").is_err());
    }
}
