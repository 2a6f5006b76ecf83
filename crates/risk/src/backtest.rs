//! Backtesting: recorded sign-in events (JSON Lines) replayed through the engine in time order,
//! with the state evolving exactly as it would live. `tessera risk evaluate` is a thin adapter
//! over [`parse_events`] and [`replay`].
//!
//! Each line is one object:
//! `{"ts": RFC 3339, "email", "ip", "user_agent", "device_id" (or null), "outcome"}` with
//! `outcome` one of `password_ok`, `password_bad`, `unknown_user`. Optional fields:
//! `password_fingerprint` (a keyed hash of the attempted password, never the password),
//! `password_breached` (bool), `second_factor` (`passed` or `failed`: what a challenged user
//! did next) and `privileged` (bool). Other fields (labels, ids) are ignored; blank lines too.

use std::io::BufRead;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

use crate::engine::{Attempt, Outcome, RiskEngine, RiskState};
use crate::signal::{Assessment, Decision, Reason, Stage};

/// One parsed event and the line it came from.
#[derive(Clone, Debug)]
pub struct Event {
    /// 1-based line number in the input.
    pub line: usize,
    pub attempt: Attempt,
    pub outcome: Outcome,
    pub second_factor: Option<bool>,
}

/// A line that is not a valid event.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

#[derive(Deserialize)]
struct RawEvent {
    ts: String,
    email: String,
    ip: String,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    device_id: Option<String>,
    outcome: String,
    #[serde(default)]
    password_fingerprint: Option<String>,
    #[serde(default)]
    password_breached: bool,
    #[serde(default)]
    second_factor: Option<String>,
    #[serde(default)]
    privileged: bool,
}

/// Longest field accepted (emails, user agents and ids beyond this are not sign-ins).
const MAX_FIELD: usize = 1024;

/// Parses one line (1-based `line` for errors).
pub fn parse_line(line: usize, text: &str) -> Result<Event, LineError> {
    let bad = |message: String| LineError { line, message };
    let raw: RawEvent = serde_json::from_str(text).map_err(|e| {
        let m = e.to_string();
        // serde_json appends "at line 1 column N", which misleads for one-line objects.
        let m = m.split(" at line ").next().unwrap_or(&m).to_string();
        bad(format!("not a valid event: {m}"))
    })?;
    let at = time::OffsetDateTime::parse(raw.ts.trim(), &Rfc3339).map_err(|_| {
        bad(format!(
            "ts: \"{}\" is not an RFC 3339 time such as 2026-03-01T08:30:00Z",
            raw.ts.chars().take(64).collect::<String>()
        ))
    })?;
    let email = raw.email.trim().to_lowercase();
    if email.is_empty() || email.len() > MAX_FIELD {
        return Err(bad("email: must be 1 to 1024 characters".into()));
    }
    let ip: IpAddr = raw.ip.trim().parse().map_err(|_| {
        bad(format!(
            "ip: \"{}\" is not an IPv4 or IPv6 address",
            raw.ip.chars().take(64).collect::<String>()
        ))
    })?;
    let outcome = match raw.outcome.as_str() {
        "password_ok" => Outcome::PasswordOk,
        "password_bad" => Outcome::PasswordBad,
        "unknown_user" => Outcome::UnknownUser,
        other => {
            return Err(bad(format!(
                "outcome: \"{}\" is not one of password_ok, password_bad, unknown_user",
                other.chars().take(64).collect::<String>()
            )));
        }
    };
    let second_factor = match raw.second_factor.as_deref() {
        None => None,
        Some("passed") => Some(true),
        Some("failed") => Some(false),
        Some(other) => {
            return Err(bad(format!(
                "second_factor: \"{}\" is not one of passed, failed",
                other.chars().take(64).collect::<String>()
            )));
        }
    };
    for (name, v) in [
        ("user_agent", &raw.user_agent),
        ("device_id", &raw.device_id),
        ("password_fingerprint", &raw.password_fingerprint),
    ] {
        if v.as_ref().is_some_and(|v| v.len() > MAX_FIELD) {
            return Err(bad(format!("{name}: longer than {MAX_FIELD} characters")));
        }
    }
    Ok(Event {
        line,
        attempt: Attempt {
            at,
            account: email,
            ip: Some(ip),
            user_agent: raw.user_agent,
            device_id: raw.device_id.filter(|d| !d.is_empty()),
            password_fingerprint: raw.password_fingerprint.filter(|f| !f.is_empty()),
            password_breached: raw.password_breached,
            privileged: raw.privileged,
        },
        outcome,
        second_factor,
    })
}

/// Reads every event; the first bad line is an error naming it. Nothing is evaluated until the
/// whole input is valid.
pub fn parse_events(input: impl BufRead) -> Result<Vec<Event>, LineError> {
    let mut out = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| LineError {
            line: n,
            message: format!("cannot be read: {e}"),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(parse_line(n, &line)?);
    }
    Ok(out)
}

/// One output line of `tessera risk evaluate`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Verdict {
    pub decision: Decision,
    pub score: f64,
    pub reasons: Vec<Reason>,
    /// The input line of the event.
    pub line: usize,
    /// Which checks ran: `before_password` for failed or refused attempts, `after_password`
    /// for right passwords.
    pub stage: Stage,
}

impl Verdict {
    pub fn new(e: &Event, a: Assessment) -> Verdict {
        Verdict {
            decision: a.decision,
            score: a.score,
            reasons: a.reasons,
            line: e.line,
            stage: a.stage,
        }
    }
}

/// Replays events in time order (stable for equal times: input order) and hands each
/// assessment to `sink` in that order.
pub fn replay(
    engine: &RiskEngine,
    state: &mut RiskState,
    events: &mut [Event],
    mut sink: impl FnMut(&Event, Assessment),
) {
    events.sort_by_key(|e| e.attempt.at);
    for e in events.iter() {
        let a = engine.evaluate(state, &e.attempt, e.outcome, e.second_factor);
        sink(e, a);
    }
}

/// Decisions counted, for a summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub events: usize,
    pub allow: usize,
    pub challenge: usize,
    pub block: usize,
}

impl Summary {
    pub fn add(&mut self, d: Decision) {
        self.events += 1;
        match d {
            Decision::Allow => self.allow += 1,
            Decision::Challenge => self.challenge += 1,
            Decision::Block => self.block += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_fields() {
        let e = parse_line(
            1,
            r#"{"ts":"2026-03-01T08:30:00+01:00","email":" Ann@Example.com ","ip":"203.0.113.9","user_agent":"curl/8","device_id":null,"outcome":"password_bad","label":"ignored"}"#,
        )
        .unwrap();
        assert_eq!(e.attempt.account, "ann@example.com");
        assert_eq!(e.outcome, Outcome::PasswordBad);
        assert_eq!(e.attempt.device_id, None);
        assert_eq!(e.attempt.at.unix_timestamp(), 1_772_350_200);
        let e = parse_line(
            2,
            r#"{"ts":"2026-03-01T08:30:00Z","email":"a@b","ip":"2001:db8::1","device_id":"d1","outcome":"password_ok","second_factor":"passed","password_fingerprint":"ab12"}"#,
        )
        .unwrap();
        assert_eq!(e.second_factor, Some(true));
        assert_eq!(e.attempt.password_fingerprint.as_deref(), Some("ab12"));
    }

    #[test]
    fn errors_name_the_line_and_the_field() {
        let input = "\n{\"ts\":\"2026-03-01T08:30:00Z\",\"email\":\"a@b\",\"ip\":\"1.2.3.4\",\"device_id\":null,\"outcome\":\"password_ok\"}\n{\"ts\":\"yesterday\",\"email\":\"a@b\",\"ip\":\"1.2.3.4\",\"outcome\":\"password_ok\"}\n";
        let e = parse_events(input.as_bytes()).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().starts_with("line 3: ts:"), "{e}");
        for (text, needle) in [
            ("not json", "not a valid event"),
            (
                r#"{"ts":"2026-03-01T08:30:00Z","ip":"1.2.3.4","outcome":"password_ok"}"#,
                "missing field `email`",
            ),
            (
                r#"{"ts":"2026-03-01T08:30:00Z","email":"a@b","ip":"1.2.3","outcome":"password_ok"}"#,
                "ip:",
            ),
            (
                r#"{"ts":"2026-03-01T08:30:00Z","email":"a@b","ip":"1.2.3.4","outcome":"ok"}"#,
                "outcome:",
            ),
            (
                r#"{"ts":"2026-03-01T08:30:00Z","email":"","ip":"1.2.3.4","outcome":"password_ok"}"#,
                "email:",
            ),
        ] {
            let e = parse_line(7, text).unwrap_err();
            assert_eq!(e.line, 7);
            assert!(e.message.contains(needle), "{text}: {e}");
        }
    }
}
