//! Conditional access policies: at sign-in and when an application asks for a user, the first
//! policy whose applications and condition match decides (deny, or require a second factor);
//! nothing matching means allow.

use serde::{Deserialize, Serialize};

use super::condition::{AccessContext, Condition};
use crate::{CoreError, GroupId, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyEffect {
    /// Stop evaluating and let the request through.
    Allow,
    Deny,
    /// The session must have used a second factor (`amr` with mfa/otp/hwk/swk).
    RequireMfa,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessPolicy {
    pub name: String,
    /// Client ids the policy applies to; empty: every sign-in and every application.
    #[serde(default)]
    pub applications: Vec<String>,
    /// When the policy matches; an empty condition always matches.
    #[serde(default)]
    pub when: Condition,
    pub effect: PolicyEffect,
}

/// The decision of the policies for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyDecision {
    Allow,
    /// Refused by the named policy.
    Deny {
        policy: String,
    },
    /// The named policy needs a second factor that the session does not have.
    MfaRequired {
        policy: String,
    },
}

pub fn validate_policies(policies: &[AccessPolicy]) -> Result<(), CoreError> {
    for p in policies {
        if p.name.trim().is_empty() || p.name.len() > 100 {
            return Err(CoreError::invalid(
                "settings.access_policies",
                "each policy needs a name (1-100 characters)",
            ));
        }
        p.when.validate()?;
    }
    Ok(())
}

/// Evaluates the policies in order for a sign-in (`application` None: only policies without
/// applications) or for an application's request.
pub fn evaluate(
    policies: &[AccessPolicy],
    application: Option<&str>,
    ctx: &AccessContext,
    in_group: &dyn Fn(GroupId) -> bool,
    now: Timestamp,
) -> PolicyDecision {
    for p in policies {
        let applies = match application {
            None => p.applications.is_empty(),
            Some(app) => p.applications.is_empty() || p.applications.iter().any(|a| a == app),
        };
        if !applies || p.when.holds(ctx, in_group, now).is_err() {
            continue;
        }
        return match p.effect {
            PolicyEffect::Allow => PolicyDecision::Allow,
            PolicyEffect::Deny => PolicyDecision::Deny {
                policy: p.name.clone(),
            },
            PolicyEffect::RequireMfa => {
                if ctx.has_second_factor() {
                    PolicyDecision::Allow
                } else {
                    PolicyDecision::MfaRequired {
                        policy: p.name.clone(),
                    }
                }
            }
        };
    }
    PolicyDecision::Allow
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::condition::Clause;

    #[test]
    fn first_match_decides() {
        let now = time::macros::datetime!(2026-01-01 12:00 UTC);
        let office = AccessPolicy {
            name: "office network".into(),
            applications: vec![],
            when: Condition {
                all_of: vec![Clause::IpIn {
                    cidrs: vec!["10.0.0.0/8".into()],
                }],
            },
            effect: PolicyEffect::Allow,
        };
        let deny_rest = AccessPolicy {
            name: "elsewhere".into(),
            applications: vec!["payroll".into()],
            when: Condition::default(),
            effect: PolicyEffect::Deny,
        };
        let mfa = AccessPolicy {
            name: "mfa".into(),
            applications: vec![],
            when: Condition::default(),
            effect: PolicyEffect::RequireMfa,
        };
        let policies = vec![office, deny_rest, mfa];
        let none = |_g: GroupId| false;
        let inside = AccessContext {
            ip: "10.2.3.4".parse().ok(),
            ..Default::default()
        };
        let outside = AccessContext {
            ip: "203.0.113.9".parse().ok(),
            ..Default::default()
        };
        assert_eq!(
            evaluate(&policies, Some("payroll"), &inside, &none, now),
            PolicyDecision::Allow
        );
        assert_eq!(
            evaluate(&policies, Some("payroll"), &outside, &none, now),
            PolicyDecision::Deny {
                policy: "elsewhere".into()
            }
        );
        // At sign-in only application-less policies apply: the MFA one.
        assert_eq!(
            evaluate(&policies, None, &outside, &none, now),
            PolicyDecision::MfaRequired {
                policy: "mfa".into()
            }
        );
        let strong = AccessContext {
            amr: vec!["pwd".into(), "otp".into()],
            ..outside
        };
        assert_eq!(
            evaluate(&policies, Some("wiki"), &strong, &none, now),
            PolicyDecision::Allow
        );
    }
}
