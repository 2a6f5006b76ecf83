//! Attribute conditions on role assignments (ABAC light): all clauses must hold at check time.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::{CoreError, GroupId, Timestamp};

/// The facts a decision may depend on.
#[derive(Clone, Debug, Default)]
pub struct AccessContext {
    pub ip: Option<IpAddr>,
    /// When the user last authenticated, and with what (RFC 8176 `amr`).
    pub auth_time: Option<Timestamp>,
    pub amr: Vec<String>,
    /// The user's custom attributes (a JSON object).
    pub attributes: serde_json::Value,
    /// ISO 3166-1 alpha-2 country of the request's IP (from the geo-IP database), upper case.
    pub country: Option<String>,
    /// The request comes from a device the user trusted ("remember this device" after a second
    /// factor, a signed cookie).
    pub trusted_device: bool,
}

impl AccessContext {
    /// Whether the authentication used a second factor (RFC 8176 `mfa`, `otp`, `hwk`, `swk`).
    pub fn has_second_factor(&self) -> bool {
        self.amr
            .iter()
            .any(|m| matches!(m.as_str(), "mfa" | "otp" | "hwk" | "swk"))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Clause {
    /// A second factor was used (`amr` contains `mfa`, `otp`, `hwk` or `swk`) within `seconds`.
    MfaWithin { seconds: u64 },
    /// The request comes from one of these networks (CIDR notation).
    IpIn { cidrs: Vec<String> },
    /// Between these UTC hours (`from` inclusive, `to` exclusive; may wrap past midnight).
    HoursUtc { from: u8, to: u8 },
    /// The user attribute equals this value.
    Attribute {
        name: String,
        equals: serde_json::Value,
    },
    /// The user is (directly or through nesting) a member of this group.
    InGroup { group: GroupId },
    /// The request comes from one of these countries (ISO 3166-1 alpha-2, e.g. "DE"), as the
    /// geo-IP database (`TESSERA_GEOIP_DB`) places its IP; unknown countries never match.
    CountryIn { countries: Vec<String> },
    /// The request comes from a device the user trusted (a valid "remember this device" cookie).
    TrustedDevice,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub all_of: Vec<Clause>,
}

impl Condition {
    pub fn validate(&self) -> Result<(), CoreError> {
        for c in &self.all_of {
            match c {
                Clause::IpIn { cidrs } => {
                    for cidr in cidrs {
                        parse_cidr(cidr).ok_or_else(|| {
                            CoreError::invalid(
                                "condition",
                                format!("\"{cidr}\" is not a CIDR such as 10.0.0.0/8"),
                            )
                        })?;
                    }
                }
                Clause::HoursUtc { from, to } if *from > 23 || *to > 24 || from == to => {
                    return Err(CoreError::invalid(
                        "condition",
                        "hours_utc: from 0-23, to 1-24, and different",
                    ));
                }
                Clause::CountryIn { countries }
                    if countries.is_empty()
                        || countries.iter().any(|c| {
                            c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic())
                        }) =>
                {
                    return Err(CoreError::invalid(
                        "condition",
                        "country_in: countries are ISO 3166-1 alpha-2 codes such as \"DE\" (at least one)",
                    ));
                }
                Clause::MfaWithin { seconds } if *seconds == 0 => {
                    return Err(CoreError::invalid(
                        "condition",
                        "mfa_within: seconds must be positive",
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether every clause holds; `None` with the first failing clause's description otherwise.
    pub fn holds(
        &self,
        ctx: &AccessContext,
        groups: &dyn Fn(GroupId) -> bool,
        now: Timestamp,
    ) -> Result<(), String> {
        for c in &self.all_of {
            let ok = match c {
                Clause::MfaWithin { seconds } => {
                    ctx.has_second_factor()
                        && ctx
                            .auth_time
                            // A minute of clock skew is tolerated; an auth_time further in the
                            // future is not a recent authentication, it is a wrong one.
                            .is_some_and(|t| {
                                let age = (now - t).whole_seconds();
                                (-60..=*seconds as i64).contains(&age)
                            })
                }
                Clause::IpIn { cidrs } => ctx.ip.is_some_and(|ip| {
                    cidrs
                        .iter()
                        .filter_map(|c| parse_cidr(c))
                        .any(|net| net.contains(ip))
                }),
                Clause::HoursUtc { from, to } => {
                    let h = now.hour();
                    if from < to {
                        (*from..*to).contains(&h)
                    } else {
                        h >= *from || h < *to
                    }
                }
                Clause::Attribute { name, equals } => ctx.attributes.get(name) == Some(equals),
                Clause::InGroup { group } => groups(*group),
                Clause::CountryIn { countries } => ctx
                    .country
                    .as_deref()
                    .is_some_and(|c| countries.iter().any(|x| x.eq_ignore_ascii_case(c))),
                Clause::TrustedDevice => ctx.trusted_device,
            };
            if !ok {
                return Err(describe(c));
            }
        }
        Ok(())
    }
}

fn describe(c: &Clause) -> String {
    match c {
        Clause::MfaWithin { seconds } => {
            format!("requires a second factor within the last {seconds} seconds")
        }
        Clause::IpIn { .. } => "requires a request from an allowed network".into(),
        Clause::HoursUtc { from, to } => format!("allowed only between {from}:00 and {to}:00 UTC"),
        Clause::Attribute { name, .. } => {
            format!("requires the user attribute \"{name}\" to match")
        }
        Clause::InGroup { group } => format!("requires membership of group {group}"),
        Clause::CountryIn { countries } => {
            format!("allowed only from {}", countries.join(", "))
        }
        Clause::TrustedDevice => "requires a trusted device".into(),
    }
}

#[derive(Clone, Copy, Debug)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix)
                };
                u32::from(n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix)
                };
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }
}

fn parse_cidr(s: &str) -> Option<Net> {
    let (a, p) = s.split_once('/')?;
    let addr: IpAddr = a.parse().ok()?;
    let prefix: u8 = p.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some(Net { addr, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn country_and_trusted_device() {
        let now = datetime!(2026-01-01 10:30 UTC);
        let none = |_g: GroupId| false;
        let c = |clause: Clause| Condition {
            all_of: vec![clause],
        };
        let de = AccessContext {
            country: Some("DE".into()),
            trusted_device: true,
            ..Default::default()
        };
        let unknown = AccessContext::default();
        let eu = c(Clause::CountryIn {
            countries: vec!["de".into(), "FR".into()],
        });
        assert!(eu.validate().is_ok());
        assert!(eu.holds(&de, &none, now).is_ok());
        assert!(eu.holds(&unknown, &none, now).is_err(), "unknown country");
        let trusted = c(Clause::TrustedDevice);
        assert!(trusted.holds(&de, &none, now).is_ok());
        assert!(trusted.holds(&unknown, &none, now).is_err());
        for bad in [vec![], vec!["DEU".to_string()], vec!["1A".to_string()]] {
            assert!(c(Clause::CountryIn { countries: bad }).validate().is_err());
        }
        let parsed: Condition = serde_json::from_value(serde_json::json!(
            {"all_of": [{"type": "trusted_device"}, {"type": "country_in", "countries": ["DE"]}]}
        ))
        .unwrap();
        assert!(parsed.holds(&de, &none, now).is_ok());
    }

    #[test]
    fn clauses() {
        let now = datetime!(2026-01-01 10:30 UTC);
        let no_groups = |_g: GroupId| false;
        let ctx = AccessContext {
            ip: "10.1.2.3".parse().ok(),
            auth_time: Some(now - time::Duration::minutes(5)),
            amr: vec!["pwd".into(), "otp".into()],
            attributes: serde_json::json!({"department": "finance"}),
            ..Default::default()
        };
        let c = |clauses: Vec<Clause>| Condition { all_of: clauses };
        assert!(
            c(vec![Clause::MfaWithin { seconds: 900 }])
                .holds(&ctx, &no_groups, now)
                .is_ok()
        );
        assert!(
            c(vec![Clause::MfaWithin { seconds: 60 }])
                .holds(&ctx, &no_groups, now)
                .is_err()
        );
        assert!(
            c(vec![Clause::IpIn {
                cidrs: vec!["10.0.0.0/8".into()]
            }])
            .holds(&ctx, &no_groups, now)
            .is_ok()
        );
        assert!(
            c(vec![Clause::IpIn {
                cidrs: vec!["192.168.0.0/16".into()]
            }])
            .holds(&ctx, &no_groups, now)
            .is_err()
        );
        assert!(
            c(vec![Clause::HoursUtc { from: 9, to: 17 }])
                .holds(&ctx, &no_groups, now)
                .is_ok()
        );
        assert!(
            c(vec![Clause::HoursUtc { from: 22, to: 6 }])
                .holds(&ctx, &no_groups, now)
                .is_err()
        );
        assert!(
            c(vec![Clause::Attribute {
                name: "department".into(),
                equals: "finance".into()
            }])
            .holds(&ctx, &no_groups, now)
            .is_ok()
        );
        assert!(
            c(vec![Clause::InGroup {
                group: GroupId::new()
            }])
            .holds(&ctx, &no_groups, now)
            .is_err()
        );
        assert!(
            c(vec![Clause::IpIn {
                cidrs: vec!["10.0.0.0/33".into()]
            }])
            .validate()
            .is_err()
        );
    }
}
