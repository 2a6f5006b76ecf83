//! One test per signal, rule and decision path of the engine, with a fixed geo-IP table and
//! explicit times (no clock).

use std::sync::Arc;

use tessera_risk::geo::StaticGeo;
use tessera_risk::settings::{RiskRule, RuleAction, RuleClause};
use tessera_risk::{
    Attempt, Decision, Outcome, RiskEngine, RiskSettings, RiskState, Signal, Stage,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const BERLIN: (f64, f64) = (52.52, 13.40);
const PARIS: (f64, f64) = (48.86, 2.35);
const SAO_PAULO: (f64, f64) = (-23.55, -46.63);

fn geo() -> Arc<StaticGeo> {
    Arc::new(
        StaticGeo::default()
            // Home ISP in Germany, a second German ISP, a French ISP, a Brazilian ISP, a hoster.
            .with("85.0.0.0/16", "DE", 3320, BERLIN)
            .with("86.0.0.0/16", "DE", 6805, BERLIN)
            .with("90.0.0.0/16", "FR", 3215, PARIS)
            .with("177.0.0.0/16", "BR", 28573, SAO_PAULO)
            .with("45.0.0.0/16", "US", 14061, (40.7, -74.0)),
    )
}

fn engine(s: RiskSettings) -> RiskEngine {
    RiskEngine::new(s, Some(geo())).unwrap()
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_IOS: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

fn attempt(at: OffsetDateTime, account: &str, ip: &str, device: Option<&str>, ua: &str) -> Attempt {
    let mut a = Attempt::new(at, account, Some(ip.parse().unwrap()));
    a.device_id = device.map(str::to_string);
    a.user_agent = Some(ua.to_string());
    a
}

const T0: OffsetDateTime = datetime!(2026-03-02 9:00 UTC);

/// Ann signs in from home (Berlin, AS3320, laptop d1, Firefox) every weekday morning for a month.
fn with_history(e: &RiskEngine) -> RiskState {
    let mut st = RiskState::default();
    for day in 0..30 {
        let a = attempt(
            T0 + Duration::days(day) + Duration::minutes(day * 3 % 40),
            "ann@example.com",
            "85.0.1.10",
            Some("d1"),
            FIREFOX,
        );
        let r = e.evaluate(&mut st, &a, Outcome::PasswordOk, None);
        assert_eq!(r.decision, Decision::Allow, "{r:?}");
    }
    st
}

const NEXT: OffsetDateTime = datetime!(2026-04-01 9:30 UTC);

#[test]
fn a_usual_sign_in_is_allowed_and_says_why() {
    let e = engine(RiskSettings::default());
    let mut st = with_history(&e);
    let r = e.evaluate(
        &mut st,
        &attempt(NEXT, "ann@example.com", "85.0.1.10", Some("d1"), FIREFOX),
        Outcome::PasswordOk,
        None,
    );
    assert_eq!(r.decision, Decision::Allow);
    assert_eq!(r.stage, Stage::AfterPassword);
    assert!(r.score < 0.01, "{r:?}");
    assert!(r.has(Signal::KnownDevice), "{r:?}");
    assert!(
        r.reasons.iter().all(|x| x.signal == "known_device"),
        "{r:?}"
    );
}

#[test]
fn first_sign_in_has_nothing_to_compare() {
    let e = engine(RiskSettings::default());
    let mut st = RiskState::default();
    let r = e.evaluate(
        &mut st,
        &attempt(NEXT, "new@example.com", "177.0.0.5", None, SAFARI_IOS),
        Outcome::PasswordOk,
        None,
    );
    assert_eq!(r.decision, Decision::Allow, "{r:?}");
    assert!(r.reasons.is_empty(), "{r:?}");
    assert_eq!(st.profile("new@example.com").unwrap().sign_ins, 1);
}

#[test]
fn new_country_and_new_device_together_are_challenged() {
    let e = engine(RiskSettings::default());
    let mut st = with_history(&e);
    let r = e.evaluate(
        &mut st,
        &attempt(NEXT, "ann@example.com", "177.0.3.3", Some("x9"), SAFARI_IOS),
        Outcome::PasswordOk,
        None,
    );
    assert!(r.decision >= Decision::Challenge, "{r:?}");
    for s in [
        Signal::NewCountry,
        Signal::NewAsn,
        Signal::NewDevice,
        Signal::NewUserAgent,
    ] {
        assert!(r.has(s), "{s:?} missing: {r:?}");
    }
    let country = r
        .reasons
        .iter()
        .find(|x| x.signal == "new_country")
        .unwrap();
    assert!(
        country.detail.contains("BR") && country.detail.contains("DE"),
        "{country:?}"
    );
    assert!(country.contribution > 0.0);
    // An unproven sign-in teaches nothing: the profile still knows only Germany.
    let p = st.profile("ann@example.com").unwrap();
    assert_eq!(p.sign_ins, 30);
}

#[test]
fn travel_with_a_known_device_is_allowed() {
    let e = engine(RiskSettings::default());
    let mut st = with_history(&e);
    let r = e.evaluate(
        &mut st,
        &attempt(
            NEXT + Duration::days(1),
            "ann@example.com",
            "90.0.0.7",
            Some("d1"),
            FIREFOX,
        ),
        Outcome::PasswordOk,
        None,
    );
    assert_eq!(r.decision, Decision::Allow, "{r:?}");
    assert!(
        r.has(Signal::NewCountry) && r.has(Signal::KnownDevice),
        "{r:?}"
    );
}

#[test]
fn a_new_device_at_home_is_allowed() {
    let e = engine(RiskSettings::default());
    let mut st = with_history(&e);
    let r = e.evaluate(
        &mut st,
        &attempt(
            NEXT,
            "ann@example.com",
            "85.0.1.10",
            Some("phone"),
            SAFARI_IOS,
        ),
        Outcome::PasswordOk,
        None,
    );
    assert_eq!(r.decision, Decision::Allow, "{r:?}");
    assert!(
        r.has(Signal::NewDevice) && r.has(Signal::NewUserAgent),
        "{r:?}"
    );
    // Allowed, so learned: the phone is known next time.
    let r = e.evaluate(
        &mut st,
        &attempt(
            NEXT + Duration::days(1),
            "ann@example.com",
            "85.0.1.10",
            Some("phone"),
            SAFARI_IOS,
        ),
        Outcome::PasswordOk,
        None,
    );
    assert!(r.has(Signal::KnownDevice), "{r:?}");
}

#[test]
fn a_passed_challenge_teaches_the_profile() {
    let e = engine(RiskSettings::default());
    let mut st = with_history(&e);
    let trip = |at| attempt(at, "ann@example.com", "177.0.3.3", Some("x9"), SAFARI_IOS);
    let r = e.evaluate(&mut st, &trip(NEXT), Outcome::PasswordOk, Some(true));
    assert!(r.decision >= Decision::Challenge, "{r:?}");
    // Three days later, same phone, same country: known now.
    let r = e.evaluate(
        &mut st,
        &trip(NEXT + Duration::days(3)),
        Outcome::PasswordOk,
        None,
    );
    assert_eq!(r.decision, Decision::Allow, "{r:?}");
    assert!(
        r.has(Signal::KnownDevice) && !r.has(Signal::NewCountry),
        "{r:?}"
    );
}

#[test]
fn impossible_travel() {
    let e = engine(RiskSettings::default());
    let mut st = with_history(&e);
    // Berlin at 9:30, São Paulo (about 10,000 km) 2 hours later, with the known laptop.
    let berlin = attempt(NEXT, "ann@example.com", "85.0.1.10", Some("d1"), FIREFOX);
    e.evaluate(&mut st, &berlin, Outcome::PasswordOk, None);
    let r = e.evaluate(
        &mut st,
        &attempt(
            NEXT + Duration::hours(2),
            "ann@example.com",
            "177.0.3.3",
            Some("d1"),
            FIREFOX,
        ),
        Outcome::PasswordOk,
        None,
    );
    assert!(r.has(Signal::ImpossibleTravel), "{r:?}");
    assert!(r.decision >= Decision::Challenge, "{r:?}");
    let d = &r
        .reasons
        .iter()
        .find(|x| x.signal == "impossible_travel")
        .unwrap()
        .detail;
    assert!(d.contains("km/h") && d.contains("(DE)"), "{d}");
    // The same trip over two days is possible.
    let mut st = with_history(&e);
    e.evaluate(&mut st, &berlin, Outcome::PasswordOk, None);
    let r = e.evaluate(
        &mut st,
        &attempt(
            NEXT + Duration::days(2),
            "ann@example.com",
            "177.0.3.3",
            Some("d1"),
            FIREFOX,
        ),
        Outcome::PasswordOk,
        None,
    );
    assert!(!r.has(Signal::ImpossibleTravel), "{r:?}");
    // Short hops never count, however fast (geo-IP is imprecise).
    let mut st = with_history(&e);
    e.evaluate(&mut st, &berlin, Outcome::PasswordOk, None);
    let r = e.evaluate(
        &mut st,
        &attempt(
            NEXT + Duration::minutes(5),
            "ann@example.com",
            "86.0.0.1",
            Some("d1"),
            FIREFOX,
        ),
        Outcome::PasswordOk,
        None,
    );
    assert!(!r.has(Signal::ImpossibleTravel), "{r:?}");
}

#[test]
fn unusual_hour() {
    let e = engine(RiskSettings::default());
    let mut st = with_history(&e);
    let r = e.evaluate(
        &mut st,
        &attempt(
            datetime!(2026-04-01 3:10 UTC),
            "ann@example.com",
            "85.0.1.10",
            Some("d1"),
            FIREFOX,
        ),
        Outcome::PasswordOk,
        None,
    );
    assert!(r.has(Signal::UnusualHour), "{r:?}");
    assert_eq!(r.decision, Decision::Allow, "a weak signal alone: {r:?}");
}

#[test]
fn dormant_account_and_decay() {
    let e = engine(RiskSettings::default());
    let mut st = with_history(&e);
    // Two years later everything learned has faded (30 sign-ins, 12 half-lives): no profile
    // signal fires any more, but the account is dormant.
    let later = NEXT + Duration::days(730);
    let r = e.evaluate(
        &mut st,
        &attempt(
            later,
            "ann@example.com",
            "177.0.3.3",
            Some("x9"),
            SAFARI_IOS,
        ),
        Outcome::PasswordOk,
        None,
    );
    assert!(r.has(Signal::DormantAccount), "{r:?}");
    assert!(
        !r.has(Signal::NewCountry),
        "forgotten after many half-lives: {r:?}"
    );
}

#[test]
fn listed_networks_and_asns() {
    let mut s = RiskSettings::default();
    s.ip_lists.insert("tor".into(), vec!["45.0.9.0/24".into()]);
    s.listed_asns = vec![14061];
    let e = engine(s);
    let mut st = RiskState::default();
    let r = e.evaluate(
        &mut st,
        &attempt(NEXT, "bob@example.com", "45.0.9.9", None, FIREFOX),
        Outcome::PasswordBad,
        None,
    );
    assert!(r.has(Signal::IpListed) && r.has(Signal::AsnListed), "{r:?}");
    assert_eq!(r.stage, Stage::BeforePassword);
    assert!(r.decision >= Decision::Challenge, "{r:?}");
    let r = e.evaluate(
        &mut st,
        &attempt(NEXT, "bob@example.com", "45.0.1.1", None, FIREFOX),
        Outcome::PasswordBad,
        None,
    );
    assert!(
        !r.has(Signal::IpListed) && r.has(Signal::AsnListed),
        "{r:?}"
    );
}

#[test]
fn automated_clients() {
    let e = engine(RiskSettings::default());
    let mut st = RiskState::default();
    for ua in [Some("python-requests/2.31"), Some(""), None] {
        let mut a = attempt(NEXT, "bob@example.com", "85.0.0.1", None, FIREFOX);
        a.user_agent = ua.map(str::to_string);
        let r = e.evaluate(&mut st, &a, Outcome::UnknownUser, None);
        assert!(r.has(Signal::AutomatedClient), "{ua:?}: {r:?}");
    }
}

#[test]
fn credential_stuffing_from_one_ip_is_blocked_quickly_and_before_the_hash() {
    let e = engine(RiskSettings::default());
    let mut st = RiskState::default();
    let mut first_block = None;
    for i in 0..40 {
        let a = attempt(
            NEXT + Duration::seconds(i * 7),
            &format!("victim{i}@example.com"),
            "45.0.0.66",
            None,
            FIREFOX,
        );
        let outcome = if i % 3 == 0 {
            Outcome::UnknownUser
        } else {
            Outcome::PasswordBad
        };
        let r = e.evaluate(&mut st, &a, outcome, None);
        if r.decision == Decision::Block {
            assert_eq!(r.stage, Stage::BeforePassword);
            assert!(r.has(Signal::IpAccounts), "{r:?}");
            first_block.get_or_insert(i + 1);
        } else if first_block.is_some() {
            panic!("attempt {} was let through after a block: {r:?}", i + 1);
        }
    }
    let n = first_block.expect("never blocked");
    assert!(n <= 20, "blocked only at attempt {n}");
    // Even the right password of a stuffed account is refused from that source now.
    let r = e.evaluate(
        &mut st,
        &attempt(
            NEXT + Duration::minutes(6),
            "victim99@example.com",
            "45.0.0.66",
            None,
            FIREFOX,
        ),
        Outcome::PasswordOk,
        None,
    );
    assert_eq!(r.decision, Decision::Block, "{r:?}");
    // Another address of the same /24 is tainted too.
    let r = e.evaluate(
        &mut st,
        &attempt(
            NEXT + Duration::minutes(7),
            "victim98@example.com",
            "45.0.0.67",
            None,
            FIREFOX,
        ),
        Outcome::PasswordBad,
        None,
    );
    assert!(r.has(Signal::SubnetAccounts), "{r:?}");
    // Two hours later the window has passed.
    let r = e.evaluate(
        &mut st,
        &attempt(
            NEXT + Duration::hours(3),
            "victim97@example.com",
            "45.0.0.66",
            None,
            FIREFOX,
        ),
        Outcome::PasswordBad,
        None,
    );
    assert_eq!(r.decision, Decision::Allow, "{r:?}");
}

#[test]
fn brute_force_on_one_account() {
    let e = engine(RiskSettings::default());
    let mut st = with_history(&e);
    let mut last = None;
    for i in 0..30 {
        let a = attempt(
            NEXT + Duration::seconds(i * 20),
            "ann@example.com",
            "177.0.9.9",
            None,
            FIREFOX,
        );
        last = Some(e.evaluate(&mut st, &a, Outcome::PasswordBad, None));
    }
    let r = last.unwrap();
    assert!(
        r.has(Signal::AccountFailures) && r.has(Signal::IpFailures),
        "{r:?}"
    );
    assert_eq!(r.decision, Decision::Block, "{r:?}");
    // The owner at home is not locked out by the attacker's refused attempts.
    let r = e.evaluate(
        &mut st,
        &attempt(
            NEXT + Duration::minutes(15),
            "ann@example.com",
            "85.0.1.10",
            Some("d1"),
            FIREFOX,
        ),
        Outcome::PasswordOk,
        None,
    );
    assert_eq!(r.decision, Decision::Allow, "{r:?}");
}

#[test]
fn a_forgetful_user_is_not_punished() {
    let e = engine(RiskSettings::default());
    let mut st = with_history(&e);
    for i in 0..4 {
        let a = attempt(
            NEXT + Duration::seconds(i * 30),
            "ann@example.com",
            "85.0.1.10",
            Some("d1"),
            FIREFOX,
        );
        let r = e.evaluate(&mut st, &a, Outcome::PasswordBad, None);
        assert_eq!(r.decision, Decision::Allow, "{r:?}");
    }
    let r = e.evaluate(
        &mut st,
        &attempt(
            NEXT + Duration::minutes(3),
            "ann@example.com",
            "85.0.1.10",
            Some("d1"),
            FIREFOX,
        ),
        Outcome::PasswordOk,
        None,
    );
    assert_eq!(r.decision, Decision::Allow, "{r:?}");
    // The success forgives the failures.
    let r = e.evaluate(
        &mut st,
        &attempt(
            NEXT + Duration::minutes(4),
            "ann@example.com",
            "85.0.1.10",
            Some("d1"),
            FIREFOX,
        ),
        Outcome::PasswordBad,
        None,
    );
    assert!(!r.has(Signal::AccountFailures), "{r:?}");
}

#[test]
fn password_spraying_by_keyed_hash() {
    let e = engine(RiskSettings::default());
    let mut st = RiskState::default();
    // One password, many accounts, each from a different address and network: only the
    // fingerprint ties them together.
    let mut detected_at = None;
    for i in 0..12u32 {
        let ip = format!("{}.{}.{}.{}", [85, 86, 90, 177][i as usize % 4], 0, i, 1);
        let mut a = attempt(
            NEXT + Duration::minutes(i64::from(i) * 30),
            &format!("u{i}@example.com"),
            &ip,
            None,
            FIREFOX,
        );
        a.password_fingerprint = Some("hmac:5f4dcc3b".into());
        let r = e.evaluate(&mut st, &a, Outcome::PasswordBad, None);
        if r.decision == Decision::Block {
            assert!(r.has(Signal::PasswordSpray), "{r:?}");
            detected_at.get_or_insert(i + 1);
        }
    }
    assert!(detected_at.is_some_and(|n| n <= 8), "{detected_at:?}");
    // The sprayed password, right for one account, is refused too.
    let mut a = attempt(
        NEXT + Duration::hours(7),
        "lucky@example.com",
        "90.0.5.5",
        None,
        FIREFOX,
    );
    a.password_fingerprint = Some("hmac:5f4dcc3b".into());
    let r = e.evaluate(&mut st, &a, Outcome::PasswordOk, None);
    assert_eq!(r.decision, Decision::Block, "{r:?}");
    // Another password from the same people is not.
    let mut a = attempt(
        NEXT + Duration::hours(7),
        "other@example.com",
        "90.0.5.5",
        None,
        FIREFOX,
    );
    a.password_fingerprint = Some("hmac:other".into());
    let r = e.evaluate(&mut st, &a, Outcome::PasswordOk, None);
    assert!(!r.has(Signal::PasswordSpray), "{r:?}");
}

#[test]
fn breached_password_flag() {
    let e = engine(RiskSettings::default());
    let mut st = RiskState::default();
    let mut a = attempt(NEXT, "bob@example.com", "85.0.0.1", None, FIREFOX);
    a.password_breached = true;
    let r = e.evaluate(&mut st, &a, Outcome::PasswordOk, None);
    assert!(r.has(Signal::BreachedPassword), "{r:?}");
}

#[test]
fn rules_block_countries_and_challenge_admins_on_new_devices() {
    let s = RiskSettings {
        rules: vec![
            RiskRule {
                name: "no-br".into(),
                all_of: vec![RuleClause::CountryIn {
                    countries: vec!["BR".into()],
                }],
                action: RuleAction::Block,
            },
            RiskRule {
                name: "admins-new-device".into(),
                all_of: vec![RuleClause::Privileged, RuleClause::NewDevice],
                action: RuleAction::Challenge,
            },
        ],
        ..Default::default()
    };
    let e = engine(s);
    let mut st = with_history(&e);
    // The country rule needs no password: it blocks before the hash.
    let r = e.evaluate(
        &mut st,
        &attempt(NEXT, "ann@example.com", "177.0.0.1", Some("d1"), FIREFOX),
        Outcome::PasswordOk,
        None,
    );
    assert_eq!(r.decision, Decision::Block, "{r:?}");
    assert_eq!(r.stage, Stage::BeforePassword);
    assert_eq!(r.reasons[0].rule.as_deref(), Some("no-br"));
    // An administrator on a new device at home: the score says allow, the rule says challenge.
    let mut a = attempt(NEXT, "ann@example.com", "85.0.1.10", Some("phone"), FIREFOX);
    a.privileged = true;
    let r = e.evaluate(&mut st, &a, Outcome::PasswordOk, None);
    assert_eq!(r.decision, Decision::Challenge, "{r:?}");
    assert!(r.score < 0.5, "{r:?}");
    // …and on the known laptop, nothing.
    a.device_id = Some("d1".into());
    let r = e.evaluate(&mut st, &a, Outcome::PasswordOk, None);
    assert_eq!(r.decision, Decision::Allow, "{r:?}");
}

#[test]
fn weights_and_thresholds_are_the_tenants() {
    // A tenant that challenges any new device.
    let mut s = RiskSettings::default();
    s.weights.new_device = 4.5;
    let e = engine(s);
    let mut st = with_history(&e);
    let r = e.evaluate(
        &mut st,
        &attempt(NEXT, "ann@example.com", "85.0.1.10", Some("phone"), FIREFOX),
        Outcome::PasswordOk,
        None,
    );
    assert_eq!(r.decision, Decision::Challenge, "{r:?}");
    // A tenant that never blocks on score.
    let s = RiskSettings {
        block_at: 1.0,
        ..Default::default()
    };
    let e = engine(s);
    let mut st = RiskState::default();
    let mut last = None;
    for i in 0..40 {
        let a = attempt(
            NEXT + Duration::seconds(i),
            &format!("v{i}@x"),
            "45.0.0.66",
            None,
            "curl/8",
        );
        last = Some(e.evaluate(&mut st, &a, Outcome::PasswordBad, None));
    }
    assert_eq!(last.unwrap().decision, Decision::Challenge);
}

#[test]
fn scores_are_in_range_and_reasons_explain_them() {
    let e = engine(RiskSettings::default());
    let mut st = with_history(&e);
    let r = e.evaluate(
        &mut st,
        &attempt(NEXT, "ann@example.com", "177.0.3.3", None, "curl/8"),
        Outcome::PasswordOk,
        None,
    );
    assert!((0.0..=1.0).contains(&r.score));
    let logit: f64 = RiskSettings::default().weights.baseline
        + r.reasons.iter().map(|x| x.contribution).sum::<f64>();
    let expect = 1.0 / (1.0 + (-logit).exp());
    assert!((expect - r.score).abs() < 0.01, "{expect} vs {r:?}");
    // Strongest first.
    let c: Vec<f64> = r.reasons.iter().map(|x| x.contribution.abs()).collect();
    assert!(c.windows(2).all(|w| w[0] >= w[1]), "{c:?}");
}

#[test]
fn the_profile_alone_never_blocks() {
    // Everything about the context is new, the travel impossible, the hour odd: a right password
    // still earns a second-factor challenge, not a refusal.
    let e = engine(RiskSettings::default());
    let mut st = with_history(&e);
    e.evaluate(
        &mut st,
        &attempt(NEXT, "ann@example.com", "85.0.1.10", Some("d1"), FIREFOX),
        Outcome::PasswordOk,
        None,
    );
    let r = e.evaluate(
        &mut st,
        &attempt(
            NEXT + Duration::hours(1),
            "ann@example.com",
            "177.0.3.3",
            Some("x9"),
            SAFARI_IOS,
        ),
        Outcome::PasswordOk,
        None,
    );
    assert!(r.score >= 0.97, "{r:?}");
    assert_eq!(r.decision, Decision::Challenge, "{r:?}");
}

#[test]
fn signup_velocity_per_ip_subnet_and_network() {
    let e = engine(RiskSettings::default());
    let mut st = RiskState::default();
    // A farm on one address: the first few sign-ups pass, then the address is refused.
    let mut blocked_at = None;
    for i in 0..20 {
        let a = attempt(
            T0 + Duration::seconds(i * 30),
            &format!("fake{i}@example.com"),
            "45.0.0.77",
            None,
            FIREFOX,
        );
        let o = e.observe(&a);
        let r = e.registration(&mut st, &o);
        e.record_registration(&mut st, &o);
        assert_eq!(r.stage, Stage::BeforePassword);
        if r.decision == Decision::Block {
            assert!(r.has(Signal::SignupVelocity), "{r:?}");
            blocked_at = Some(i);
            break;
        }
    }
    assert_eq!(
        blocked_at,
        Some(10),
        "blocked once 10 sign-ups came from one address"
    );

    // Spread over a /24: the subnet's count catches it later; a neighbour network is untouched.
    let mut st = RiskState::default();
    let mut blocked_at = None;
    for i in 0..60 {
        let a = attempt(
            T0 + Duration::seconds(i * 30),
            &format!("fake{i}@example.com"),
            &format!("85.0.7.{}", i + 1),
            None,
            FIREFOX,
        );
        let o = e.observe(&a);
        let r = e.registration(&mut st, &o);
        e.record_registration(&mut st, &o);
        if r.decision == Decision::Block {
            blocked_at = Some(i);
            break;
        }
    }
    let n = blocked_at.expect("a /24 farm is refused");
    assert!((25..=30).contains(&n), "refused at {n}");
    let o_attempt = attempt(
        T0 + Duration::minutes(40),
        "real@example.com",
        "85.0.8.1",
        None,
        FIREFOX,
    );
    let o = e.observe(&o_attempt);
    assert_eq!(e.registration(&mut st, &o).decision, Decision::Allow);

    // An hour later the window has moved on.
    let later = attempt(
        T0 + Duration::hours(3),
        "late@example.com",
        "85.0.7.9",
        None,
        FIREFOX,
    );
    let o = e.observe(&later);
    assert_eq!(e.registration(&mut st, &o).decision, Decision::Allow);
}
