//! The per-account profile learned from successful sign-ins: usual countries, networks, devices,
//! browsers and hours, each with a weight that halves every `half_life_days`, and the last
//! sign-in (for impossible travel and dormancy).
//!
//! Only sign-ins that passed (allowed, or challenged and then proved with a second factor) teach
//! the profile, so an attacker cannot train it with attempts the engine stopped.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::settings::ProfileSettings;

/// Most entries kept per kind; the lightest is forgotten first.
const MAX_ITEMS: usize = 12;

/// Weighted items that decay together.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Decayed<K> {
    items: Vec<(K, f64)>,
}

impl<K: PartialEq + Clone> Decayed<K> {
    /// The decayed weight of `k`, given the profile's decay factor now.
    pub fn weight(&self, k: &K, factor: f64) -> f64 {
        self.items
            .iter()
            .find(|(x, _)| x == k)
            .map_or(0.0, |(_, w)| w * factor)
    }

    /// Whether any item is still known.
    pub fn any_known(&self, factor: f64, min: f64) -> bool {
        self.items.iter().any(|(_, w)| w * factor >= min)
    }

    /// The known items, heaviest first.
    pub fn known(&self, factor: f64, min: f64) -> Vec<&K> {
        let mut v: Vec<&(K, f64)> = self
            .items
            .iter()
            .filter(|(_, w)| w * factor >= min)
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v.into_iter().map(|(k, _)| k).collect()
    }

    fn decay(&mut self, factor: f64, forget_below: f64) {
        for (_, w) in &mut self.items {
            *w *= factor;
        }
        self.items.retain(|(_, w)| *w >= forget_below);
    }

    fn add(&mut self, k: K) {
        match self.items.iter_mut().find(|(x, _)| *x == k) {
            Some((_, w)) => *w += 1.0,
            None => {
                if self.items.len() >= MAX_ITEMS
                    && let Some(i) = self
                        .items
                        .iter()
                        .enumerate()
                        .min_by(|a, b| a.1.1.total_cmp(&b.1.1))
                        .map(|(i, _)| i)
                {
                    self.items.swap_remove(i);
                }
                self.items.push((k, 1.0));
            }
        }
    }
}

/// Where and when the account last signed in successfully.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastSignIn {
    #[serde(with = "time::serde::rfc3339")]
    pub at: Timestamp,
    pub country: Option<String>,
    pub location: Option<(f64, f64)>,
}

/// What one successful sign-in contributes.
#[derive(Clone, Debug, Default)]
pub struct Observed<'a> {
    pub country: Option<&'a str>,
    pub asn: Option<u32>,
    pub device: Option<&'a str>,
    pub agent: Option<&'a str>,
    pub location: Option<(f64, f64)>,
}

/// One account's learned behaviour.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Weights below are as of this time; they decay from here.
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<Timestamp>,
    pub countries: Decayed<String>,
    pub asns: Decayed<u32>,
    pub devices: Decayed<String>,
    pub agents: Decayed<String>,
    /// Sign-ins per UTC hour (decayed).
    pub hours: [f64; 24],
    /// Sign-ins learned (not decayed).
    pub sign_ins: u32,
    pub last: Option<LastSignIn>,
}

impl Profile {
    /// How much the stored weights count at `now` (1 right after an update).
    pub fn factor(&self, now: Timestamp, s: &ProfileSettings) -> f64 {
        let Some(t) = self.updated_at else {
            return 1.0;
        };
        let days = ((now - t).as_seconds_f64() / 86_400.0).max(0.0);
        0.5f64.powf(days / s.half_life_days)
    }

    /// Learns a successful sign-in.
    pub fn learn(&mut self, now: Timestamp, o: &Observed, s: &ProfileSettings) {
        let f = self.factor(now, s);
        let forget = s.known_min_weight / 4.0;
        self.countries.decay(f, forget);
        self.asns.decay(f, forget);
        self.devices.decay(f, forget);
        self.agents.decay(f, forget);
        for h in &mut self.hours {
            *h *= f;
        }
        if let Some(c) = o.country {
            self.countries.add(c.to_string());
        }
        if let Some(a) = o.asn {
            self.asns.add(a);
        }
        if let Some(d) = o.device {
            self.devices.add(d.to_string());
        }
        if let Some(a) = o.agent {
            self.agents.add(a.to_string());
        }
        self.hours[usize::from(now.hour())] += 1.0;
        self.sign_ins = self.sign_ins.saturating_add(1);
        self.updated_at = Some(now);
        self.last = Some(LastSignIn {
            at: now,
            country: o.country.map(str::to_string),
            location: o.location,
        });
    }

    /// The share of sign-ins in `hour` and its two neighbours.
    pub fn hour_share(&self, hour: u8) -> f64 {
        let total: f64 = self.hours.iter().sum();
        if total <= 0.0 {
            return 1.0;
        }
        let h = usize::from(hour) % 24;
        let near = self.hours[(h + 23) % 24] + self.hours[h] + self.hours[(h + 1) % 24];
        near / total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    fn seen<'a>(country: &'a str, device: &'a str) -> Observed<'a> {
        Observed {
            country: Some(country),
            asn: Some(3320),
            device: Some(device),
            agent: Some("firefox/linux"),
            location: Some((52.5, 13.4)),
        }
    }

    #[test]
    fn learns_then_forgets_with_the_half_life() {
        let s = ProfileSettings::default(); // half-life 60 days, known at 0.25
        let t0 = datetime!(2026-01-01 9:00 UTC);
        let mut p = Profile::default();
        p.learn(t0, &seen("DE", "d1"), &s);
        let known = |p: &Profile, now, c: &str| {
            p.countries.weight(&c.to_string(), p.factor(now, &s)) >= s.known_min_weight
        };
        assert!(known(&p, t0, "DE"));
        assert!(!known(&p, t0, "FR"));
        // One sighting stays known for two half-lives, not three.
        assert!(known(&p, t0 + Duration::days(119), "DE"));
        assert!(!known(&p, t0 + Duration::days(121), "DE"));
        // Repeated use keeps it known far longer.
        let mut q = Profile::default();
        for i in 0..20 {
            q.learn(t0 + Duration::days(i), &seen("DE", "d1"), &s);
        }
        assert!(known(&q, t0 + Duration::days(19 + 300), "DE"));
        assert_eq!(q.sign_ins, 20);
        assert_eq!(q.last.as_ref().unwrap().at, t0 + Duration::days(19));
    }

    #[test]
    fn items_are_bounded() {
        let s = ProfileSettings::default();
        let t0 = datetime!(2026-01-01 9:00 UTC);
        let mut p = Profile::default();
        for i in 0..50 {
            let d = format!("device-{i}");
            p.learn(t0 + Duration::minutes(i), &seen("DE", &d), &s);
        }
        assert!(p.devices.items.len() <= MAX_ITEMS);
        assert!(p.devices.weight(&"device-49".to_string(), 1.0) > 0.0);
    }

    #[test]
    fn hour_shares() {
        let s = ProfileSettings::default();
        let mut p = Profile::default();
        for d in 0..10 {
            p.learn(
                datetime!(2026-01-01 9:00 UTC) + Duration::days(d),
                &seen("DE", "d1"),
                &s,
            );
        }
        assert!(p.hour_share(9) > 0.99);
        assert!(p.hour_share(10) > 0.99, "neighbouring hours count");
        assert!(p.hour_share(3) < 0.01);
    }
}
