//! The signals the engine computes, the evidence each contributes, and the decision it reaches.

use serde::{Deserialize, Serialize};

/// One thing the engine can observe about a sign-in attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// The IP is in one of the operator's lists of known-bad networks (e.g. Tor exits).
    IpListed,
    /// The IP belongs to an autonomous system the operator distrusts (e.g. hosting providers).
    AsnListed,
    /// The user agent is a script or headless browser (curl, python-requests, HeadlessChrome…),
    /// or missing.
    AutomatedClient,
    /// Failed sign-ins of this account in the velocity window.
    AccountFailures,
    /// Failed or refused attempts from this IP in the velocity window.
    IpFailures,
    /// Distinct accounts failing from this IP (credential stuffing).
    IpAccounts,
    /// Distinct accounts failing from this /24 or /48 (stuffing spread over neighbours).
    SubnetAccounts,
    /// Failed attempts from this autonomous system.
    AsnFailures,
    /// The attempted password (by its keyed hash) failed on many accounts (password spraying).
    PasswordSpray,
    /// The caller found the attempted password in the breached/common list.
    BreachedPassword,
    /// The country is not one of the account's usual countries.
    NewCountry,
    /// The network (ASN) is not one of the account's usual networks.
    NewAsn,
    /// The device is not one of the account's devices (or carries no device cookie).
    NewDevice,
    /// The browser family and OS are new for the account.
    NewUserAgent,
    /// The device is one of the account's devices: evidence *against* an attack.
    KnownDevice,
    /// The hour of the day is unusual for the account.
    UnusualHour,
    /// The previous sign-in was too far away for the time elapsed.
    ImpossibleTravel,
    /// The account was not used for a long time.
    DormantAccount,
    /// Many sign-ups from this IP, its /24 (or /48) or its autonomous system in the velocity
    /// window (fake-account creation). Registration only.
    SignupVelocity,
}

impl Signal {
    pub const ALL: [Signal; 19] = [
        Signal::IpListed,
        Signal::AsnListed,
        Signal::AutomatedClient,
        Signal::AccountFailures,
        Signal::IpFailures,
        Signal::IpAccounts,
        Signal::SubnetAccounts,
        Signal::AsnFailures,
        Signal::PasswordSpray,
        Signal::BreachedPassword,
        Signal::NewCountry,
        Signal::NewAsn,
        Signal::NewDevice,
        Signal::NewUserAgent,
        Signal::KnownDevice,
        Signal::UnusualHour,
        Signal::ImpossibleTravel,
        Signal::DormantAccount,
        Signal::SignupVelocity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Signal::IpListed => "ip_listed",
            Signal::AsnListed => "asn_listed",
            Signal::AutomatedClient => "automated_client",
            Signal::AccountFailures => "account_failures",
            Signal::IpFailures => "ip_failures",
            Signal::IpAccounts => "ip_accounts",
            Signal::SubnetAccounts => "subnet_accounts",
            Signal::AsnFailures => "asn_failures",
            Signal::PasswordSpray => "password_spray",
            Signal::BreachedPassword => "breached_password",
            Signal::NewCountry => "new_country",
            Signal::NewAsn => "new_asn",
            Signal::NewDevice => "new_device",
            Signal::NewUserAgent => "new_user_agent",
            Signal::KnownDevice => "known_device",
            Signal::UnusualHour => "unusual_hour",
            Signal::ImpossibleTravel => "impossible_travel",
            Signal::DormantAccount => "dormant_account",
            Signal::SignupVelocity => "signup_velocity",
        }
    }

    /// Whether the signal is computed before the password is checked. These describe the source
    /// and the attempt; the others compare a *successful* sign-in with the account's profile, and
    /// are only meaningful (and only computed) once the password was right.
    pub fn before_password(self) -> bool {
        !matches!(
            self,
            Signal::NewCountry
                | Signal::NewAsn
                | Signal::NewDevice
                | Signal::NewUserAgent
                | Signal::KnownDevice
                | Signal::UnusualHour
                | Signal::ImpossibleTravel
                | Signal::DormantAccount
        )
    }
}

/// Allow, ask for a second factor, or refuse; ordered by severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Challenge,
    Block,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Challenge => "challenge",
            Decision::Block => "block",
        }
    }
}

/// One reason of a decision: a signal with its strength and weighted contribution, or a rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// The signal's name, or `rule` for a conditional rule.
    pub signal: String,
    /// Log-odds added to the score (weight × strength); 0 for rules.
    pub contribution: f64,
    /// What was seen, in words (counts, countries, distances; no personal data beyond what the
    /// caller passed in).
    pub detail: String,
    /// The rule's name and action, for rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// The engine's answer for one attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub decision: Decision,
    /// The probability-like score in [0, 1]: the logistic of the baseline plus every
    /// contribution.
    pub score: f64,
    /// Strongest first; signals that did not fire are left out.
    pub reasons: Vec<Reason>,
    /// `before_password` when only the cheap checks ran (the attempt failed or was refused),
    /// `after_password` when the password was right and the account's profile was consulted.
    pub stage: Stage,
}

/// Which checks an assessment covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    BeforePassword,
    AfterPassword,
}

impl Assessment {
    /// Whether this signal fired.
    pub fn has(&self, s: Signal) -> bool {
        self.reasons.iter().any(|r| r.signal == s.as_str())
    }
}

/// The logistic function: log-odds to a score in [0, 1].
pub fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}
