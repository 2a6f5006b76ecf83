//! Analytics aggregates: counts by UTC day and event type, sign-ins by method (read from the JSON
//! body in each dialect), distinct active accounts, the registration cohort funnel, and current
//! consent counts of existing accounts; other tenants and days outside the range left out.

use tessera_core::analytics::{AnalyticsStore, DayCount, FunnelDay};
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::privacy::{ConsentChannel, ConsentRecord, ConsentState, PrivacyStore};
use tessera_core::store::{AuditStore, UserStore};
use tessera_core::{TenantId, UserId};
use time::Duration;
use uuid::Uuid;

use crate::common::*;

fn event(tenant: TenantId, user: UserId, hours: i64, kind: EventKind) -> Event {
    Event::new(
        tenant,
        t0() + Duration::hours(hours),
        kind,
        Actor::user(user),
    )
    .target(Target::new("user", user))
    .subject(user)
}

fn signin(method: &str) -> EventKind {
    EventKind::SignInSucceeded {
        method: method.into(),
    }
}

fn consent(tenant: TenantId, user: UserId, purpose: &str, state: ConsentState) -> ConsentRecord {
    ConsentRecord {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        user_id: user,
        purpose: purpose.into(),
        state,
        policy_version: None,
        channel: ConsentChannel::Api,
        recorded_at: t0(),
        recorded_by: "cli".into(),
        ip: None,
        user_agent: None,
        seq: 0,
    }
}

pub async fn analytics_aggregate_by_day(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "stats").await;
    let other = tenant(s, "other").await;
    let day0 = t0().unix_timestamp() / 86_400;
    let mut users = Vec::new();
    for i in 0..3 {
        users.push(user(s, t.id, &format!("u{i}@stats.test")).await);
    }
    let (a, b, c) = (users[0].id, users[1].id, users[2].id);
    for e in [
        // Day 0: three registrations; a verifies and signs in twice, b signs in with a passkey.
        event(t.id, a, 1, EventKind::UserRegistered),
        event(t.id, b, 1, EventKind::UserRegistered),
        event(t.id, c, 1, EventKind::UserRegistered),
        event(t.id, a, 1, EventKind::UserCreated),
        event(
            t.id,
            a,
            2,
            EventKind::EmailVerified {
                method: "link".into(),
            },
        ),
        event(t.id, a, 3, signin("password")),
        event(t.id, a, 4, signin("password")),
        event(t.id, b, 5, signin("passkey")),
        // Day 1: c signs in upstream.
        event(t.id, c, 25, signin("federation:google")),
        // Day 3: outside the range asked for.
        event(t.id, c, 73, signin("password")),
        // Another tenant.
        event(other.id, a, 1, signin("password")),
    ] {
        s.append_event(&e, &[]).await.unwrap();
    }
    let raw = s
        .analytics(
            t.id,
            t0() - Duration::milliseconds(250),
            t0() + Duration::days(2),
        )
        .await
        .unwrap();
    let mut events = raw.events.clone();
    events.sort_by(|x, y| x.key.cmp(&y.key));
    assert_eq!(
        events,
        vec![
            DayCount {
                day: day0,
                key: "user.created".into(),
                count: 1
            },
            DayCount {
                day: day0,
                key: "user.email_verified".into(),
                count: 1
            },
            DayCount {
                day: day0,
                key: "user.registered".into(),
                count: 3
            },
        ]
    );
    let mut sign_ins = raw.sign_ins.clone();
    sign_ins.sort_by(|x, y| (x.day, &x.key).cmp(&(y.day, &y.key)));
    assert_eq!(
        sign_ins,
        vec![
            DayCount {
                day: day0,
                key: "passkey".into(),
                count: 1
            },
            DayCount {
                day: day0,
                key: "password".into(),
                count: 2
            },
            DayCount {
                day: day0 + 1,
                key: "federation:google".into(),
                count: 1
            },
        ]
    );
    let mut active = raw.active_users.clone();
    active.sort_by_key(|d| d.day);
    assert_eq!(
        active.iter().map(|d| (d.day, d.count)).collect::<Vec<_>>(),
        vec![(day0, 2), (day0 + 1, 1)]
    );
    assert_eq!(
        raw.funnel,
        vec![FunnelDay {
            day: day0,
            registered: 3,
            verified: 1,
            signed_in: 3
        }],
        "the cohort is followed past the range (c signed in on day 3)"
    );
    assert_eq!(raw.accounts, 3);
    assert!(raw.consents.is_empty());

    // Consents: the newest decision counts; deleted accounts do not.
    for r in [
        consent(t.id, a, "news", ConsentState::Granted),
        consent(t.id, b, "news", ConsentState::Granted),
        consent(t.id, b, "news", ConsentState::Withdrawn),
        consent(t.id, c, "news", ConsentState::Granted),
        consent(t.id, a, "analytics", ConsentState::Granted),
    ] {
        s.append_consent(&r).await.unwrap();
    }
    s.delete_user(t.id, c).await.unwrap();
    let raw = s
        .analytics(t.id, t0(), t0() + Duration::days(1))
        .await
        .unwrap();
    let mut consents = raw.consents.clone();
    consents.sort();
    assert_eq!(
        consents,
        vec![("analytics".to_string(), 1), ("news".to_string(), 1)]
    );
    assert_eq!(raw.accounts, 2);
}
