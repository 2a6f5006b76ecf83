//! Anonymized analytics of a tenant: daily sign-ups, sign-ins by method, active users, the
//! registration funnel and consent rates, computed by the store as aggregate counts (never a row
//! per person) and published here under a k-anonymity rule.
//!
//! The rule: a count below the tenant's threshold `k` (`settings.analytics.k_anonymity`, at
//! least 2, default 5) is never shown, zero included; it reads `{"value": null, "suppressed":
//! true}`. A count nested in another (verified accounts among registered ones, people granting a
//! purpose among all accounts) is also suppressed when the difference from its parent is below
//! `k`, so subtracting two published numbers cannot single out fewer than `k` people. A rate is
//! published only when both its numerator and its denominator are.
#![allow(async_fn_in_trait)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::store::StoreResult;
use crate::{CoreError, TenantId, Timestamp};

/// The longest range one request may cover, in days (both ends included).
pub const MAX_RANGE_DAYS: i64 = 366;
pub const DEFAULT_K_ANONYMITY: u32 = 5;
pub const MIN_K_ANONYMITY: u32 = 2;
const MAX_K_ANONYMITY: u32 = 1000;
const MILLIS_PER_DAY: i64 = 86_400_000;

/// `settings.analytics`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsSettings {
    /// Counts below this are suppressed (2 to 1000).
    pub k_anonymity: u32,
}

impl Default for AnalyticsSettings {
    fn default() -> Self {
        AnalyticsSettings {
            k_anonymity: DEFAULT_K_ANONYMITY,
        }
    }
}

impl AnalyticsSettings {
    pub fn validate(&self) -> Result<(), CoreError> {
        if !(MIN_K_ANONYMITY..=MAX_K_ANONYMITY).contains(&self.k_anonymity) {
            return Err(CoreError::invalid(
                "settings.analytics.k_anonymity",
                format!("must be between {MIN_K_ANONYMITY} and {MAX_K_ANONYMITY}"),
            ));
        }
        Ok(())
    }
}

/// One aggregate from the store: how many of `key` on day `day` (days since 1970-01-01, UTC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayCount {
    pub day: i64,
    pub key: String,
    pub count: i64,
}

/// The registration cohort of one day: accounts registered that day, and how many of them have
/// since verified their email address and signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunnelDay {
    pub day: i64,
    pub registered: i64,
    pub verified: i64,
    pub signed_in: i64,
}

/// Everything the store aggregates for a report (no identifier of any person).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawAnalytics {
    /// Per day and event type: `user.registered`, `user.created`, `user.email_verified`.
    pub events: Vec<DayCount>,
    /// Per day and sign-in method label as the audit trail records it (`password`, `passkey`,
    /// `email`, `federation:<alias>`).
    pub sign_ins: Vec<DayCount>,
    /// Per day: distinct accounts that signed in (`key` is empty).
    pub active_users: Vec<DayCount>,
    pub funnel: Vec<FunnelDay>,
    /// Existing accounts now.
    pub accounts: i64,
    /// Per purpose: existing accounts whose newest decision is `granted`.
    pub consents: Vec<(String, i64)>,
}

/// The aggregates behind the analytics endpoint.
pub trait AnalyticsStore {
    /// Aggregates of the audit trail from `from` (included) to `to` (excluded), by UTC day, and
    /// the current consent counts.
    async fn analytics(
        &self,
        tenant: TenantId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<RawAnalytics>;
}

/// A published count: the number, or `null` with `suppressed: true`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Count {
    pub value: Option<i64>,
    pub suppressed: bool,
}

/// A published share (0 to 1), or `null` when a count behind it is suppressed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Rate {
    pub value: Option<f64>,
    pub suppressed: bool,
}

/// Applies the threshold to one count.
pub fn count(n: i64, k: u32) -> Count {
    if n < i64::from(k) {
        Count {
            value: None,
            suppressed: true,
        }
    } else {
        Count {
            value: Some(n),
            suppressed: false,
        }
    }
}

/// A count nested in `parent`: also suppressed when the parent is, or when `parent - n` (the
/// people of the parent outside it) is between 1 and `k - 1`.
pub fn nested_count(n: i64, parent: i64, k: u32) -> Count {
    let rest = parent - n;
    if count(parent, k).suppressed || (rest > 0 && rest < i64::from(k)) {
        return Count {
            value: None,
            suppressed: true,
        };
    }
    count(n, k)
}

/// `part / whole`, published only when both are.
pub fn rate(part: Count, whole: Count) -> Rate {
    match (part.value, whole.value) {
        (Some(p), Some(w)) if w > 0 => Rate {
            value: Some(((p as f64 / w as f64) * 10_000.0).round() / 10_000.0),
            suppressed: false,
        },
        _ => Rate {
            value: None,
            suppressed: true,
        },
    }
}

/// The sign-in methods a report names: what the audit trail records, grouped so that the
/// tenant's own provider aliases do not split counts further.
pub fn method_group(label: &str) -> &'static str {
    match label {
        "password" => "password",
        "passkey" => "passkey",
        "email" => "email_code",
        l if l.starts_with("federation:") => "federation",
        _ => "other",
    }
}

const METHODS: [&str; 5] = ["password", "passkey", "email_code", "federation", "other"];

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Funnel {
    /// Accounts created on the registration page that day.
    pub registered: Count,
    /// Of those, the ones whose email address has been verified since.
    pub email_verified: Count,
    /// Of those, the ones that have signed in since.
    pub signed_in: Count,
    pub verification_rate: Rate,
    pub sign_in_rate: Rate,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DayReport {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Accounts created on the registration page.
    pub sign_ups: Count,
    /// Accounts created any way (registration, admin API, import, SCIM, upstream sign-in).
    pub accounts_created: Count,
    pub emails_verified: Count,
    /// Successful sign-ins by method: `password`, `passkey`, `email_code`, `federation`, `other`.
    pub sign_ins: BTreeMap<&'static str, Count>,
    /// Distinct accounts that signed in that day.
    pub active_users: Count,
    /// The cohort registered that day, followed to today.
    pub registration_funnel: Funnel,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PurposeRate {
    pub purpose: String,
    /// Existing accounts whose current decision is `granted`.
    pub granting: Count,
    /// `granting / accounts`.
    pub rate: Rate,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConsentRates {
    /// Existing accounts now.
    pub accounts: Count,
    pub purposes: Vec<PurposeRate>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnalyticsReport {
    pub from: String,
    pub to: String,
    pub k_anonymity: u32,
    pub days: Vec<DayReport>,
    /// The state now (not per day).
    pub consent_rates: ConsentRates,
}

fn date_text(d: time::Date) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    d.format(fmt).unwrap_or_default()
}

/// Parses a `YYYY-MM-DD` query parameter (`field` names it in the error).
pub fn parse_day(field: &'static str, s: &str) -> Result<time::Date, CoreError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    if s.len() != 10 {
        return Err(CoreError::invalid(field, "must be a date as YYYY-MM-DD"));
    }
    time::Date::parse(s, fmt).map_err(|_| CoreError::invalid(field, "must be a date as YYYY-MM-DD"))
}

/// Checks a requested range and gives its bounds as times: `from` 00:00 UTC (included) to the
/// day after `to`, 00:00 UTC (excluded).
pub fn range(from: time::Date, to: time::Date) -> Result<(Timestamp, Timestamp), CoreError> {
    if to < from {
        return Err(CoreError::invalid("to", "must not be before from"));
    }
    if (to - from).whole_days() + 1 > MAX_RANGE_DAYS {
        return Err(CoreError::invalid(
            "to",
            format!("the range covers at most {MAX_RANGE_DAYS} days"),
        ));
    }
    let start = from.midnight().assume_utc();
    let end = to
        .next_day()
        .ok_or_else(|| CoreError::invalid("to", "is too far in the future"))?
        .midnight()
        .assume_utc();
    Ok((start, end))
}

fn day_number(d: time::Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp() * 1000 / MILLIS_PER_DAY
}

/// The report of `from..=to` from the store's aggregates, every count under the threshold `k`.
pub fn report(raw: &RawAnalytics, from: time::Date, to: time::Date, k: u32) -> AnalyticsReport {
    let k = k.max(MIN_K_ANONYMITY);
    let lookup = |list: &[DayCount], day: i64, key: &str| -> i64 {
        list.iter()
            .filter(|c| c.day == day && c.key == key)
            .map(|c| c.count)
            .sum()
    };
    let mut days = Vec::new();
    let mut d = from;
    loop {
        let n = day_number(d);
        let mut methods: BTreeMap<&'static str, i64> = METHODS.iter().map(|m| (*m, 0)).collect();
        for c in raw.sign_ins.iter().filter(|c| c.day == n) {
            *methods.entry(method_group(&c.key)).or_default() += c.count;
        }
        let funnel = raw
            .funnel
            .iter()
            .find(|f| f.day == n)
            .cloned()
            .unwrap_or(FunnelDay {
                day: n,
                registered: 0,
                verified: 0,
                signed_in: 0,
            });
        let registered = count(funnel.registered, k);
        let verified = nested_count(funnel.verified, funnel.registered, k);
        let signed_in = nested_count(funnel.signed_in, funnel.registered, k);
        days.push(DayReport {
            date: date_text(d),
            sign_ups: count(lookup(&raw.events, n, "user.registered"), k),
            accounts_created: count(lookup(&raw.events, n, "user.created"), k),
            emails_verified: count(lookup(&raw.events, n, "user.email_verified"), k),
            sign_ins: methods.into_iter().map(|(m, c)| (m, count(c, k))).collect(),
            active_users: count(lookup(&raw.active_users, n, ""), k),
            registration_funnel: Funnel {
                registered,
                email_verified: verified,
                signed_in,
                verification_rate: rate(verified, registered),
                sign_in_rate: rate(signed_in, registered),
            },
        });
        match d.next_day() {
            Some(next) if next <= to => d = next,
            _ => break,
        }
    }
    let accounts = count(raw.accounts, k);
    let purposes = raw
        .consents
        .iter()
        .map(|(purpose, granting)| {
            let granting = nested_count(*granting, raw.accounts, k);
            PurposeRate {
                purpose: purpose.clone(),
                granting,
                rate: rate(granting, accounts),
            }
        })
        .collect();
    AnalyticsReport {
        from: date_text(from),
        to: date_text(to),
        k_anonymity: k,
        days,
        consent_rates: ConsentRates { accounts, purposes },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn small_counts_are_suppressed_zero_included() {
        assert_eq!(
            count(4, 5),
            Count {
                value: None,
                suppressed: true
            }
        );
        assert_eq!(
            count(0, 5),
            Count {
                value: None,
                suppressed: true
            }
        );
        assert_eq!(
            count(5, 5),
            Count {
                value: Some(5),
                suppressed: false
            }
        );
    }

    #[test]
    fn nested_counts_do_not_leak_by_difference() {
        // 10 registered, 9 verified: publishing both would show 1 unverified person.
        assert!(nested_count(9, 10, 5).suppressed);
        assert_eq!(nested_count(10, 10, 5).value, Some(10));
        assert_eq!(nested_count(5, 10, 5).value, Some(5));
        // A suppressed parent suppresses the child.
        assert!(nested_count(3, 4, 2).suppressed);
    }

    #[test]
    fn rates_need_both_counts() {
        let r = rate(count(5, 5), count(10, 5));
        assert_eq!(r.value, Some(0.5));
        assert!(rate(count(4, 5), count(10, 5)).suppressed);
        assert!(rate(count(6, 5), count(3, 5)).value.is_none());
    }

    #[test]
    fn ranges_are_checked() {
        assert!(range(date!(2026 - 06 - 02), date!(2026 - 06 - 01)).is_err());
        assert!(
            range(date!(2025 - 01 - 01), date!(2026 - 01 - 01)).is_ok(),
            "366 days"
        );
        assert!(
            range(date!(2024 - 01 - 01), date!(2024 - 12 - 31)).is_ok(),
            "a leap year"
        );
        assert!(
            range(date!(2024 - 01 - 01), date!(2025 - 01 - 01)).is_err(),
            "367 days"
        );
        assert!(parse_day("from", "2026-02-30").is_err());
        assert!(parse_day("from", "2026-2-3").is_err());
        assert_eq!(
            parse_day("from", "2026-02-03").unwrap(),
            date!(2026 - 02 - 03)
        );
    }

    #[test]
    fn report_groups_methods_and_suppresses() {
        let day = day_number(date!(2026 - 06 - 01));
        let raw = RawAnalytics {
            events: vec![DayCount {
                day,
                key: "user.registered".into(),
                count: 7,
            }],
            sign_ins: vec![
                DayCount {
                    day,
                    key: "password".into(),
                    count: 6,
                },
                DayCount {
                    day,
                    key: "federation:google".into(),
                    count: 3,
                },
                DayCount {
                    day,
                    key: "federation:github".into(),
                    count: 3,
                },
                DayCount {
                    day,
                    key: "passkey".into(),
                    count: 1,
                },
            ],
            active_users: vec![DayCount {
                day,
                key: String::new(),
                count: 8,
            }],
            funnel: vec![FunnelDay {
                day,
                registered: 7,
                verified: 7,
                signed_in: 2,
            }],
            accounts: 40,
            consents: vec![("marketing".into(), 12), ("analytics".into(), 38)],
        };
        let r = report(&raw, date!(2026 - 06 - 01), date!(2026 - 06 - 02), 5);
        assert_eq!(r.days.len(), 2);
        let d = &r.days[0];
        assert_eq!(d.date, "2026-06-01");
        assert_eq!(d.sign_ups.value, Some(7));
        assert_eq!(d.sign_ins["password"].value, Some(6));
        assert_eq!(d.sign_ins["federation"].value, Some(6), "aliases add up");
        assert!(d.sign_ins["passkey"].suppressed);
        assert!(
            d.sign_ins["email_code"].suppressed,
            "zero is suppressed too"
        );
        assert_eq!(d.active_users.value, Some(8));
        assert_eq!(d.registration_funnel.email_verified.value, Some(7));
        assert_eq!(d.registration_funnel.verification_rate.value, Some(1.0));
        assert!(d.registration_funnel.signed_in.suppressed);
        assert!(d.registration_funnel.sign_in_rate.suppressed);
        assert!(r.days[1].sign_ups.suppressed);
        let c = &r.consent_rates;
        assert_eq!(c.accounts.value, Some(40));
        assert_eq!(c.purposes[0].rate.value, Some(0.3));
        assert!(
            c.purposes[1].granting.suppressed,
            "2 people do not grant it"
        );
        assert!(c.purposes[1].rate.suppressed);
        let json = serde_json::to_string(&r).unwrap();
        assert!(
            !json.contains(":1,") && !json.contains(":2,") && !json.contains(":3,"),
            "{json}"
        );
    }
}
