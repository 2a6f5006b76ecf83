//! The engine: turns one sign-in attempt into signals, a score, reasons and a decision, and
//! updates the state (profiles, velocity windows) the way the live sign-in path does.
//!
//! Two stages, in the order of a live sign-in:
//! 1. [`RiskEngine::before_password`]: cheap checks on the source and the attempt (lists,
//!    velocity, spraying, rules on country/network). A `block` here refuses the attempt before
//!    the password hash is computed.
//! 2. [`RiskEngine::after_password`]: only for a right password; adds the comparison with the
//!    account's profile (new country, device, impossible travel…).
//!
//! Then the caller reports what happened with `record_*`, and only proven sign-ins teach the
//! profile. [`RiskEngine::evaluate`] runs the whole sequence for one recorded event (backtests).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::geo::{GeoInfo, GeoLookup, distance_km};
use crate::lists::{IpLists, canonical, parse_net, subnet_of};
use crate::profile::{Observed, Profile};
use crate::settings::{RiskSettings, RuleAction, RuleClause, SettingsError};
use crate::signal::{Assessment, Decision, Reason, Signal, Stage, logistic};
use crate::ua::{AgentFamily, family};
use crate::velocity::{Counter, Distinct, Windows};

/// One sign-in attempt, as the caller saw it. Time is a parameter: `at` is "now".
#[derive(Clone, Debug)]
pub struct Attempt {
    pub at: Timestamp,
    /// The account tried: a normalized email, or (better) a keyed blind index of it.
    pub account: String,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// The long-lived device cookie's id, when the browser sent one.
    pub device_id: Option<String>,
    /// A keyed hash (e.g. HMAC-SHA-256 under a server secret) of the attempted password, never
    /// the password: lets the engine see one password tried across many accounts.
    pub password_fingerprint: Option<String>,
    /// The caller found the attempted password in its breached/common list.
    pub password_breached: bool,
    /// The caller marks privileged accounts (administrators) for rules.
    pub privileged: bool,
}

impl Attempt {
    pub fn new(at: Timestamp, account: impl Into<String>, ip: Option<IpAddr>) -> Attempt {
        Attempt {
            at,
            account: account.into(),
            ip,
            user_agent: None,
            device_id: None,
            password_fingerprint: None,
            password_breached: false,
            privileged: false,
        }
    }
}

/// What the password check said.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    PasswordOk,
    PasswordBad,
    UnknownUser,
}

/// An attempt with what the engine derives from it once (geo-IP, subnet, user-agent family).
#[derive(Clone, Debug)]
pub struct Observation<'a> {
    pub attempt: &'a Attempt,
    pub ip: Option<IpAddr>,
    pub geo: GeoInfo,
    pub subnet: Option<IpNet>,
    pub agent: AgentFamily,
    account_hash: u64,
}

/// Limits of an in-memory state (a live node keeps one per tenant; a backtest one per run).
#[derive(Clone, Copy, Debug)]
pub struct StateLimits {
    pub max_profiles: usize,
    /// Per kind of velocity key (accounts, IPs, subnets, ASNs, password fingerprints).
    pub max_keys: usize,
}

impl Default for StateLimits {
    fn default() -> Self {
        StateLimits {
            max_profiles: 1_000_000,
            max_keys: 1_000_000,
        }
    }
}

/// Everything the engine remembers between attempts.
#[derive(Clone, Debug)]
pub struct RiskState {
    profiles: std::collections::HashMap<String, Profile>,
    max_profiles: usize,
    account_failures: Windows<String, Counter>,
    ip_failures: Windows<IpAddr, Counter>,
    ip_accounts: Windows<IpAddr, Distinct>,
    subnet_accounts: Windows<IpNet, Distinct>,
    asn_failures: Windows<u32, Counter>,
    spray: Windows<String, Distinct>,
    signups_ip: Windows<IpAddr, Counter>,
    signups_subnet: Windows<IpNet, Counter>,
    signups_asn: Windows<u32, Counter>,
}

impl Default for RiskState {
    fn default() -> Self {
        RiskState::new(StateLimits::default())
    }
}

impl RiskState {
    pub fn new(l: StateLimits) -> RiskState {
        RiskState {
            profiles: Default::default(),
            max_profiles: l.max_profiles.max(1),
            account_failures: Windows::new(l.max_keys),
            ip_failures: Windows::new(l.max_keys),
            ip_accounts: Windows::new(l.max_keys),
            subnet_accounts: Windows::new(l.max_keys),
            asn_failures: Windows::new(l.max_keys),
            spray: Windows::new(l.max_keys),
            signups_ip: Windows::new(l.max_keys),
            signups_subnet: Windows::new(l.max_keys),
            signups_asn: Windows::new(l.max_keys),
        }
    }

    pub fn profile(&self, account: &str) -> Option<&Profile> {
        self.profiles.get(account)
    }

    /// Puts a stored profile in place (for callers that persist profiles).
    pub fn set_profile(&mut self, account: &str, p: Profile) {
        self.profiles.insert(account.to_string(), p);
    }

    fn profile_mut(&mut self, account: &str) -> &mut Profile {
        if !self.profiles.contains_key(account) && self.profiles.len() >= self.max_profiles {
            // Forget the account idle the longest.
            if let Some(k) = self
                .profiles
                .iter()
                .min_by_key(|(_, p)| p.updated_at)
                .map(|(k, _)| k.clone())
            {
                self.profiles.remove(&k);
            }
        }
        self.profiles.entry(account.to_string()).or_default()
    }

    /// Drops an account's profile from memory (for callers that persist profiles and load them
    /// per attempt, so the state holds only the velocity windows).
    pub fn forget_profile(&mut self, account: &str) -> Option<Profile> {
        self.profiles.remove(account)
    }

    pub fn profiles(&self) -> usize {
        self.profiles.len()
    }
}

/// A signal that fired.
#[derive(Clone, Debug)]
struct Fired {
    signal: Signal,
    strength: f64,
    detail: String,
}

enum CompiledClause {
    CountryIn(Vec<String>),
    CountryNotIn(Vec<String>),
    AsnIn(Vec<u32>),
    IpIn(Vec<IpNet>),
    NewDevice,
    NewCountry,
    Privileged,
    Signal(Signal),
}

struct CompiledRule {
    name: String,
    clauses: Vec<CompiledClause>,
    action: RuleAction,
    before_password: bool,
}

/// A tenant's engine: its settings, the geo-IP database and the known-bad lists.
pub struct RiskEngine {
    settings: RiskSettings,
    geo: Option<Arc<dyn GeoLookup>>,
    lists: IpLists,
    rules: Vec<CompiledRule>,
}

fn hash64(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn count_phrase(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl RiskEngine {
    /// Checks the settings and compiles the rules and lists.
    pub fn new(
        settings: RiskSettings,
        geo: Option<Arc<dyn GeoLookup>>,
    ) -> Result<RiskEngine, SettingsError> {
        settings.validate()?;
        let mut lists = IpLists::default();
        for (name, cidrs) in &settings.ip_lists {
            lists.add(name, cidrs.iter().filter_map(|c| parse_net(c)));
        }
        let rules = settings
            .rules
            .iter()
            .map(|r| CompiledRule {
                name: r.name.trim().to_string(),
                before_password: r.before_password(),
                action: r.action,
                clauses: r
                    .all_of
                    .iter()
                    .map(|c| match c {
                        RuleClause::CountryIn { countries } => {
                            CompiledClause::CountryIn(countries.clone())
                        }
                        RuleClause::CountryNotIn { countries } => {
                            CompiledClause::CountryNotIn(countries.clone())
                        }
                        RuleClause::AsnIn { asns } => CompiledClause::AsnIn(asns.clone()),
                        RuleClause::IpIn { cidrs } => CompiledClause::IpIn(
                            cidrs.iter().filter_map(|c| parse_net(c)).collect(),
                        ),
                        RuleClause::NewDevice => CompiledClause::NewDevice,
                        RuleClause::NewCountry => CompiledClause::NewCountry,
                        RuleClause::Privileged => CompiledClause::Privileged,
                        RuleClause::Signal { signal } => CompiledClause::Signal(*signal),
                    })
                    .collect(),
            })
            .collect();
        Ok(RiskEngine {
            settings,
            geo,
            lists,
            rules,
        })
    }

    /// Adds a known-bad list (e.g. loaded from a file) to those of the settings.
    pub fn add_ip_list(&mut self, name: &str, nets: impl IntoIterator<Item = IpNet>) {
        self.lists.add(name, nets);
    }

    pub fn settings(&self) -> &RiskSettings {
        &self.settings
    }

    /// Derives what every stage needs from an attempt (one geo-IP lookup).
    pub fn observe<'a>(&self, attempt: &'a Attempt) -> Observation<'a> {
        let ip = attempt.ip.map(canonical);
        let geo = match (&self.geo, ip) {
            (Some(g), Some(ip)) => g.lookup(ip),
            _ => GeoInfo::default(),
        };
        Observation {
            attempt,
            ip,
            geo,
            subnet: ip.map(subnet_of),
            agent: family(attempt.user_agent.as_deref()),
            account_hash: hash64(&attempt.account),
        }
    }

    fn cutoff(&self, now: Timestamp, secs: u64) -> Timestamp {
        now - time::Duration::seconds(secs as i64)
    }

    /// The cheap signals: the source, the attempt and velocity. Needs no password check.
    fn source_signals(&self, state: &mut RiskState, o: &Observation) -> Vec<Fired> {
        let v = &self.settings.velocity;
        let now = o.attempt.at;
        let cut = self.cutoff(now, v.window_secs);
        let mut out = Vec::new();
        let mut fire = |signal, strength: f64, detail: String| {
            if strength > 0.0 {
                out.push(Fired {
                    signal,
                    strength,
                    detail,
                });
            }
        };
        if let Some(ip) = o.ip
            && let Some(list) = self.lists.find(ip)
        {
            fire(
                Signal::IpListed,
                1.0,
                format!("the IP is in the list \"{list}\""),
            );
        }
        if let Some(asn) = o.geo.asn
            && self.settings.listed_asns.contains(&asn)
        {
            fire(
                Signal::AsnListed,
                1.0,
                format!("AS{asn} is a listed network"),
            );
        }
        if o.agent.automated {
            let detail = if o.agent.label == "none/none" {
                "no user agent".to_string()
            } else {
                "the user agent is a script or a headless browser".to_string()
            };
            fire(Signal::AutomatedClient, 1.0, detail);
        }
        if let Some(c) = state.account_failures.get_mut(&o.attempt.account) {
            let n = c.count(cut);
            fire(
                Signal::AccountFailures,
                v.account_failures.strength(n as f64),
                format!(
                    "{} for this account in {} min",
                    count_phrase(n, "failed sign-in", "failed sign-ins"),
                    v.window_secs / 60
                ),
            );
        }
        if let Some(ip) = o.ip {
            if let Some(c) = state.ip_failures.get_mut(&ip) {
                let n = c.count(cut);
                fire(
                    Signal::IpFailures,
                    v.ip_failures.strength(n as f64),
                    format!(
                        "{} from this IP in {} min",
                        count_phrase(n, "failed attempt", "failed attempts"),
                        v.window_secs / 60
                    ),
                );
            }
            if let Some(d) = state.ip_accounts.get_mut(&ip) {
                let n = d.count(cut, Some(o.account_hash));
                fire(
                    Signal::IpAccounts,
                    v.ip_accounts.strength(n as f64),
                    format!(
                        "{} failed from this IP in {} min",
                        count_phrase(n, "other account", "other accounts"),
                        v.window_secs / 60
                    ),
                );
            }
        }
        if let Some(net) = o.subnet
            && let Some(d) = state.subnet_accounts.get_mut(&net)
        {
            let n = d.count(cut, Some(o.account_hash));
            fire(
                Signal::SubnetAccounts,
                v.subnet_accounts.strength(n as f64),
                format!(
                    "{} failed from {net} in {} min",
                    count_phrase(n, "other account", "other accounts"),
                    v.window_secs / 60
                ),
            );
        }
        if let Some(asn) = o.geo.asn
            && let Some(c) = state.asn_failures.get_mut(&asn)
        {
            let n = c.count(cut);
            fire(
                Signal::AsnFailures,
                v.asn_failures.strength(n as f64),
                format!(
                    "{} from AS{asn} in {} min",
                    count_phrase(n, "failed attempt", "failed attempts"),
                    v.window_secs / 60
                ),
            );
        }
        if let Some(fp) = &o.attempt.password_fingerprint
            && let Some(d) = state.spray.get_mut(fp)
        {
            let n = d.count(self.cutoff(now, v.spray_window_secs), Some(o.account_hash));
            fire(
                Signal::PasswordSpray,
                v.spray_accounts.strength(n as f64),
                format!(
                    "this password failed on {} in {} h",
                    count_phrase(n, "other account", "other accounts"),
                    v.spray_window_secs / 3600
                ),
            );
        }
        if o.attempt.password_breached {
            fire(
                Signal::BreachedPassword,
                1.0,
                "the password is in the breached/common list".into(),
            );
        }
        out
    }

    /// The comparison with the account's profile, for a right password.
    fn profile_signals(&self, state: &RiskState, o: &Observation) -> Vec<Fired> {
        let mut out = Vec::new();
        let Some(p) = state.profile(&o.attempt.account).filter(|p| p.sign_ins > 0) else {
            // A first sign-in has nothing to compare with.
            return out;
        };
        let s = &self.settings.profile;
        let now = o.attempt.at;
        let f = p.factor(now, s);
        let min = s.known_min_weight;
        let mut fire = |signal, strength: f64, detail: String| {
            if strength > 0.0 {
                out.push(Fired {
                    signal,
                    strength,
                    detail,
                });
            }
        };
        if let Some(c) = &o.geo.country
            && p.countries.any_known(f, min)
            && p.countries.weight(c, f) < min
        {
            let usual: Vec<&str> = p
                .countries
                .known(f, min)
                .iter()
                .map(|s| s.as_str())
                .collect();
            fire(
                Signal::NewCountry,
                1.0,
                format!(
                    "{c} is not a usual country of this account ({})",
                    usual.join(", ")
                ),
            );
        }
        if let Some(a) = o.geo.asn
            && p.asns.any_known(f, min)
            && p.asns.weight(&a, f) < min
        {
            fire(
                Signal::NewAsn,
                1.0,
                format!("AS{a} is not a usual network of this account"),
            );
        }
        if p.devices.any_known(f, min) {
            match &o.attempt.device_id {
                Some(d) if p.devices.weight(d, f) >= min => fire(
                    Signal::KnownDevice,
                    1.0,
                    "a device this account uses".into(),
                ),
                Some(_) => fire(
                    Signal::NewDevice,
                    1.0,
                    "a device this account never used".into(),
                ),
                None => fire(Signal::NewDevice, 1.0, "no device cookie".into()),
            }
        }
        if p.agents.any_known(f, min) && p.agents.weight(&o.agent.label, f) < min {
            fire(
                Signal::NewUserAgent,
                1.0,
                format!("{} is a new browser for this account", o.agent.label),
            );
        }
        if p.sign_ins >= s.min_sign_ins_for_hours {
            let share = p.hour_share(now.hour());
            if share < s.unusual_hour_share {
                fire(
                    Signal::UnusualHour,
                    1.0,
                    format!(
                        "{:02}:00 UTC is an unusual hour for this account",
                        now.hour()
                    ),
                );
            }
        }
        if let Some(last) = &p.last {
            if let (Some(a), Some(b)) = (last.location, o.geo.location) {
                let km = distance_km(a, b);
                let hours = ((now - last.at).as_seconds_f64() / 3600.0).max(1.0 / 60.0);
                let kmh = km / hours;
                if km >= s.min_travel_km && kmh > s.max_travel_kmh {
                    fire(
                        Signal::ImpossibleTravel,
                        1.0,
                        format!(
                            "{km:.0} km from the previous sign-in{} {} earlier ({kmh:.0} km/h)",
                            last.country
                                .as_deref()
                                .map(|c| format!(" ({c})"))
                                .unwrap_or_default(),
                            human_duration(now - last.at),
                        ),
                    );
                }
            }
            let idle_days = (now - last.at).whole_days();
            if idle_days >= i64::from(s.dormant_days) {
                fire(
                    Signal::DormantAccount,
                    1.0,
                    format!("the previous sign-in was {idle_days} days ago"),
                );
            }
        }
        out
    }

    fn clause_holds(
        &self,
        c: &CompiledClause,
        state: &RiskState,
        o: &Observation,
        fired: &[Fired],
    ) -> bool {
        let profile = state.profile(&o.attempt.account);
        let now = o.attempt.at;
        let ps = &self.settings.profile;
        match c {
            CompiledClause::CountryIn(cs) => o.geo.country.as_ref().is_some_and(|c| cs.contains(c)),
            CompiledClause::CountryNotIn(cs) => {
                o.geo.country.as_ref().is_some_and(|c| !cs.contains(c))
            }
            CompiledClause::AsnIn(asns) => o.geo.asn.is_some_and(|a| asns.contains(&a)),
            CompiledClause::IpIn(nets) => {
                o.ip.is_some_and(|ip| nets.iter().any(|n| n.contains(&ip)))
            }
            CompiledClause::Privileged => o.attempt.privileged,
            CompiledClause::NewDevice => match (&o.attempt.device_id, profile) {
                (Some(d), Some(p)) => p.devices.weight(d, p.factor(now, ps)) < ps.known_min_weight,
                _ => true,
            },
            CompiledClause::NewCountry => match (&o.geo.country, profile) {
                (Some(c), Some(p)) => {
                    p.countries.weight(c, p.factor(now, ps)) < ps.known_min_weight
                }
                (Some(_), None) => true,
                (None, _) => false,
            },
            CompiledClause::Signal(s) => fired.iter().any(|f| f.signal == *s),
        }
    }

    fn assess(
        &self,
        state: &RiskState,
        o: &Observation,
        fired: &[Fired],
        stage: Stage,
    ) -> Assessment {
        let w = &self.settings.weights;
        let mut logit = w.baseline;
        let mut reasons: Vec<Reason> = fired
            .iter()
            .map(|f| {
                let c = w.of(f.signal) * f.strength;
                logit += c;
                Reason {
                    signal: f.signal.as_str().to_string(),
                    contribution: round3(c),
                    detail: f.detail.clone(),
                    rule: None,
                }
            })
            .filter(|r| r.contribution != 0.0)
            .collect();
        reasons.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
        let score = logistic(logit);
        let by_score = |score: f64| {
            if score >= self.settings.block_at {
                Decision::Block
            } else if score >= self.settings.challenge_at {
                Decision::Challenge
            } else {
                Decision::Allow
            }
        };
        // The profile can ask for a second factor, never refuse: a right password in an unusual
        // context is resolved by the factor. Only evidence about the source (lists, velocity,
        // spraying) or a rule blocks.
        let source_logit = w.baseline
            + fired
                .iter()
                .filter(|f| f.signal.before_password())
                .map(|f| w.of(f.signal) * f.strength)
                .sum::<f64>();
        let mut decision = if by_score(logistic(source_logit)) == Decision::Block {
            Decision::Block
        } else {
            by_score(score).min(Decision::Challenge)
        };
        for r in &self.rules {
            if stage == Stage::BeforePassword && !r.before_password {
                continue;
            }
            if r.clauses
                .iter()
                .all(|c| self.clause_holds(c, state, o, fired))
            {
                let action = match r.action {
                    RuleAction::Challenge => Decision::Challenge,
                    RuleAction::Block => Decision::Block,
                };
                decision = decision.max(action);
                reasons.insert(
                    0,
                    Reason {
                        signal: "rule".into(),
                        contribution: 0.0,
                        detail: format!("rule \"{}\" asks to {}", r.name, action.as_str()),
                        rule: Some(r.name.clone()),
                    },
                );
            }
        }
        Assessment {
            decision,
            score: round3(score),
            reasons,
            stage,
        }
    }

    /// Stage 1: the cheap checks, before the password hash. A `block` means: refuse now and
    /// call [`RiskEngine::record_refused`].
    pub fn before_password(&self, state: &mut RiskState, o: &Observation) -> Assessment {
        let fired = self.source_signals(state, o);
        self.assess(state, o, &fired, Stage::BeforePassword)
    }

    /// Stage 2, for a right password: the cheap checks again plus the account's profile.
    pub fn after_password(&self, state: &mut RiskState, o: &Observation) -> Assessment {
        let mut fired = self.source_signals(state, o);
        fired.extend(self.profile_signals(state, o));
        self.assess(state, o, &fired, Stage::AfterPassword)
    }

    /// A wrong password or an unknown account (or a failed second factor).
    pub fn record_failure(&self, state: &mut RiskState, o: &Observation) {
        self.record_source(state, o, true);
    }

    /// An attempt refused by the engine: counts against its source, not against the account
    /// (an attacker's refused attempts must not lock the owner out).
    pub fn record_refused(&self, state: &mut RiskState, o: &Observation) {
        self.record_source(state, o, false);
    }

    fn record_source(&self, state: &mut RiskState, o: &Observation, against_account: bool) {
        let v = &self.settings.velocity;
        let now = o.attempt.at;
        let cut = self.cutoff(now, v.window_secs);
        if against_account {
            state
                .account_failures
                .entry(o.attempt.account.clone(), cut)
                .add(now);
        }
        if let Some(ip) = o.ip {
            state.ip_failures.entry(ip, cut).add(now);
            state.ip_accounts.entry(ip, cut).add(now, o.account_hash);
        }
        if let Some(net) = o.subnet {
            state
                .subnet_accounts
                .entry(net, cut)
                .add(now, o.account_hash);
        }
        if let Some(asn) = o.geo.asn {
            state.asn_failures.entry(asn, cut).add(now);
        }
        if let Some(fp) = &o.attempt.password_fingerprint {
            let spray_cut = self.cutoff(now, v.spray_window_secs);
            state
                .spray
                .entry(fp.clone(), spray_cut)
                .add(now, o.account_hash);
        }
    }

    /// Another node completed a sign-in of `account`: its failures are forgiven here too (the
    /// profile is in the database, not in this state).
    pub fn forgive(&self, state: &mut RiskState, account: &str) {
        state.account_failures.remove(&account.to_string());
    }

    /// A completed sign-in (allowed, or challenged and proved with a second factor): the
    /// profile learns it and the account's failures are forgiven.
    pub fn record_success(&self, state: &mut RiskState, o: &Observation) {
        state.account_failures.remove(&o.attempt.account);
        let seen = Observed {
            country: o.geo.country.as_deref(),
            asn: o.geo.asn,
            device: o.attempt.device_id.as_deref(),
            agent: Some(o.agent.label.as_str()),
            location: o.geo.location,
        };
        let settings = &self.settings.profile;
        state
            .profile_mut(&o.attempt.account)
            .learn(o.attempt.at, &seen, settings);
    }

    /// A sign-up attempt: the source checks of a sign-in (lists, automated clients, failures,
    /// rules on country and network) plus the sign-ups from the same IP, subnet and autonomous
    /// system in the window. Call [`RiskEngine::record_registration`] afterwards.
    pub fn registration(&self, state: &mut RiskState, o: &Observation) -> Assessment {
        let mut fired = self.source_signals(state, o);
        let v = &self.settings.velocity;
        let cut = self.cutoff(o.attempt.at, v.window_secs);
        let mut best: Option<Fired> = None;
        let mut consider = |n: usize, ramp: crate::settings::Ramp, what: String| {
            let strength = ramp.strength(n as f64);
            if strength > 0.0 && best.as_ref().is_none_or(|b| strength > b.strength) {
                best = Some(Fired {
                    signal: Signal::SignupVelocity,
                    strength,
                    detail: format!(
                        "{} from {what} in {} min",
                        count_phrase(n, "sign-up", "sign-ups"),
                        v.window_secs / 60
                    ),
                });
            }
        };
        if let Some(ip) = o.ip
            && let Some(c) = state.signups_ip.get_mut(&ip)
        {
            consider(c.count(cut), v.signups_per_ip, "this IP".into());
        }
        if let Some(net) = o.subnet
            && let Some(c) = state.signups_subnet.get_mut(&net)
        {
            consider(c.count(cut), v.signups_per_subnet, net.to_string());
        }
        if let Some(asn) = o.geo.asn
            && let Some(c) = state.signups_asn.get_mut(&asn)
        {
            consider(c.count(cut), v.signups_per_asn, format!("AS{asn}"));
        }
        fired.extend(best);
        self.assess(state, o, &fired, Stage::BeforePassword)
    }

    /// Counts a sign-up attempt (accepted or not) against its source.
    pub fn record_registration(&self, state: &mut RiskState, o: &Observation) {
        let now = o.attempt.at;
        let cut = self.cutoff(now, self.settings.velocity.window_secs);
        if let Some(ip) = o.ip {
            state.signups_ip.entry(ip, cut).add(now);
        }
        if let Some(net) = o.subnet {
            state.signups_subnet.entry(net, cut).add(now);
        }
        if let Some(asn) = o.geo.asn {
            state.signups_asn.entry(asn, cut).add(now);
        }
    }

    /// One recorded attempt, in the order of the live sign-in path: the cheap checks (a block
    /// ends there, the password unchecked), then for a right password the profile checks.
    /// `second_factor` says whether a challenged user then passed a second factor (`None`:
    /// unknown, nothing is learned).
    pub fn evaluate(
        &self,
        state: &mut RiskState,
        attempt: &Attempt,
        outcome: Outcome,
        second_factor: Option<bool>,
    ) -> Assessment {
        let o = self.observe(attempt);
        let first = self.before_password(state, &o);
        if first.decision == Decision::Block {
            self.record_refused(state, &o);
            return first;
        }
        if outcome != Outcome::PasswordOk {
            self.record_failure(state, &o);
            return first;
        }
        let full = self.after_password(state, &o);
        match (full.decision, second_factor) {
            (Decision::Allow, _) | (Decision::Challenge, Some(true)) => {
                self.record_success(state, &o)
            }
            (Decision::Challenge, Some(false)) => self.record_failure(state, &o),
            (Decision::Challenge, None) => {}
            (Decision::Block, _) => self.record_refused(state, &o),
        }
        full
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn human_duration(d: time::Duration) -> String {
    let mins = d.whole_minutes();
    if mins < 120 {
        format!("{mins} min")
    } else if mins < 48 * 60 {
        format!("{} h", mins / 60)
    } else {
        format!("{} days", mins / (24 * 60))
    }
}
