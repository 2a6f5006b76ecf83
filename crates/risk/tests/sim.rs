//! The synthetic traffic, replayed in-process through the default policy: the targets of
//! docs/risk.md hold on a seed the weights were not tuned on (seed 3, a smaller population).

use std::sync::Arc;

use tessera_risk::backtest::{Verdict, parse_events, replay};
use tessera_risk::geo::MmdbGeo;
use tessera_risk::sim::{SimConfig, generate, score};
use tessera_risk::{RiskEngine, RiskSettings, RiskState};

#[test]
fn default_policy_meets_the_targets_on_an_unseen_seed() {
    let cfg = SimConfig {
        seed: 3,
        users: 800,
        days: 45,
        ..Default::default()
    };
    let (world, events) = generate(&cfg);
    let geo = MmdbGeo::from_bytes(world.mmdb()).unwrap();
    let engine = RiskEngine::new(RiskSettings::default(), Some(Arc::new(geo))).unwrap();
    // Through the same JSON Lines parser `tessera risk evaluate` uses.
    let text: String = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    let mut parsed = parse_events(text.as_bytes()).unwrap();
    let mut verdicts = Vec::new();
    replay(&engine, &mut RiskState::default(), &mut parsed, |e, a| {
        verdicts.push(Verdict::new(e, a))
    });
    let r = score(&events, &verdicts).unwrap();
    let report = tessera_risk::sim::render(&r);
    assert!(r.legit_challenged_share <= 0.01, "{report}");
    // 95% is the target on the full population; a smaller sample gets some slack.
    assert!(r.takeover_stopped_share >= 0.90, "{report}");
    let s = &r.stuffing_sources;
    assert!(
        s.sources_with_20 > 0 && s.blocked_within_20 == s.sources_with_20,
        "{report}"
    );
    let travel = &r.by_label["impossible_travel"];
    assert!(
        travel.right_password_stopped * 10 >= travel.right_password * 9,
        "{report}"
    );
    let spray = &r.by_label["spraying"];
    assert!(
        spray.challenged_or_blocked * 10 >= spray.events * 9,
        "{report}"
    );
    let brute = &r.brute_force_targets;
    assert_eq!(brute.never_blocked, 0, "{report}");
}
