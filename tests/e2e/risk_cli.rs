//! `tessera risk evaluate`: the tenant's risk policy replayed over recorded sign-in events with
//! the geo-IP database of `TESSERA_GEOIP_DB` (a small `.mmdb` written by the test), one JSON
//! line per event in time order, and clear errors for bad input.

use serde_json::Value;
use tessera_risk::mmdb::{GeoRecord, build};

use crate::harness::{Backend, Deployment};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_IOS: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

/// A small geo-IP database in the deployment's folder: 85.0/16 Berlin (DE, AS3320), 177.0/16 São
/// Paulo (BR, AS28573), 45.0/16 New York (US, AS14061). Shared with the live-path tests.
pub fn geo_db(dep: &Deployment) -> String {
    let rec = |c: &str, asn: u32, loc: (f64, f64)| GeoRecord {
        country: Some(c.into()),
        location: Some(loc),
        asn: Some(asn),
        asn_org: None,
    };
    let bytes = build(
        "Tessera-Test-City-ASN",
        &[
            (
                "85.0.0.0/16".parse().unwrap(),
                rec("DE", 3320, (52.52, 13.40)),
            ),
            (
                "177.0.0.0/16".parse().unwrap(),
                rec("BR", 28573, (-23.55, -46.63)),
            ),
            (
                "45.0.0.0/16".parse().unwrap(),
                rec("US", 14061, (40.7, -74.0)),
            ),
        ],
    );
    let path = dep.dir().join("geo.mmdb");
    std::fs::write(&path, bytes).expect("the test database can be written");
    path.display().to_string()
}

fn event(ts: &str, email: &str, ip: &str, ua: &str, device: Option<&str>, outcome: &str) -> String {
    serde_json::json!({
        "ts": ts, "email": email, "ip": ip, "user_agent": ua, "device_id": device, "outcome": outcome,
    })
    .to_string()
}

/// Ann's month at home, then (listed out of order on purpose) a takeover from Brazil on a new
/// phone, and credential stuffing from one address.
fn events() -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(event(
        "2026-04-01T09:30:00Z",
        "ann@example.com",
        "177.0.3.3",
        SAFARI_IOS,
        Some("x9"),
        "password_ok",
    ));
    for day in 1..=28 {
        lines.push(event(
            &format!("2026-03-{day:02}T08:{:02}:00Z", day % 50),
            "ann@example.com",
            "85.0.1.10",
            FIREFOX,
            Some("d1"),
            "password_ok",
        ));
    }
    for i in 0..30 {
        lines.push(event(
            &format!("2026-04-02T10:00:{i:02}Z"),
            &format!("victim{i}@example.com"),
            "45.0.0.66",
            "python-requests/2.31",
            None,
            if i % 2 == 0 {
                "password_bad"
            } else {
                "unknown_user"
            },
        ));
    }
    lines
}

async fn evaluates_in_time_order_with_geo_ip(backend: Backend) {
    let dep = Deployment::new(backend);
    let db = geo_db(&dep);
    let dep = dep.set("TESSERA_GEOIP_DB", &db);
    dep.cli(&["tenant", "create", "shop", "--preset", "customer", "--json"])
        .await
        .success_json();
    let input = dep.dir().join("events.jsonl");
    std::fs::write(&input, events().join("\n") + "\n").unwrap();
    let out = dep
        .cli(&[
            "risk",
            "evaluate",
            "--tenant",
            "shop",
            "--input",
            input.to_str().unwrap(),
        ])
        .await;
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    let verdicts: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    assert_eq!(verdicts.len(), 59, "{}", out.stdout);
    for v in &verdicts {
        assert!(
            ["allow", "challenge", "block"].contains(&v["decision"].as_str().unwrap()),
            "{v}"
        );
        let score = v["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score), "{v}");
        assert!(v["reasons"].is_array(), "{v}");
    }
    // Time order: the 28 home sign-ins (lines 2-29) come first, all allowed.
    let lines: Vec<u64> = verdicts
        .iter()
        .map(|v| v["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines[..28], (2..=29).collect::<Vec<u64>>()[..]);
    assert!(
        verdicts[..28].iter().all(|v| v["decision"] == "allow"),
        "{}",
        out.stdout
    );
    // Then the takeover (line 1): right password, new country and device, challenged.
    let takeover = &verdicts[28];
    assert_eq!(takeover["line"], 1);
    assert_eq!(takeover["decision"], "challenge", "{takeover}");
    let signals: Vec<&str> = takeover["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["signal"].as_str().unwrap())
        .collect();
    assert!(
        signals.contains(&"new_country") && signals.contains(&"new_device"),
        "{takeover}"
    );
    // Then the stuffing: blocked within 20 attempts and from then on.
    let stuffing = &verdicts[29..];
    let first = stuffing
        .iter()
        .position(|v| v["decision"] == "block")
        .expect("stuffing is blocked");
    assert!(first < 20, "first block at attempt {}", first + 1);
    assert!(stuffing[first..].iter().all(|v| v["decision"] == "block"));
    assert!(out.stderr.contains("59 events"), "{}", out.stderr);

    // A policy tried from a file: block Brazil outright (a rule, before the password).
    let settings = dep.dir().join("risk.json");
    std::fs::write(
        &settings,
        r#"{"rules": [{"name": "no-br", "all_of": [{"type": "country_in", "countries": ["BR"]}], "action": "block"}]}"#,
    )
    .unwrap();
    let out = dep
        .cli(&[
            "risk",
            "evaluate",
            "--tenant",
            "shop",
            "--input",
            input.to_str().unwrap(),
            "--settings",
            settings.to_str().unwrap(),
            "--json",
        ])
        .await;
    assert!(out.status.success(), "{}", out.stderr);
    let takeover: Value = serde_json::from_str(out.stdout.lines().nth(28).unwrap()).unwrap();
    assert_eq!(takeover["decision"], "block", "{takeover}");
    assert_eq!(takeover["stage"], "before_password", "{takeover}");
    assert_eq!(takeover["reasons"][0]["rule"], "no-br", "{takeover}");
}

async fn bad_input_names_the_line(backend: Backend) {
    let dep = Deployment::new(backend);
    let db = geo_db(&dep);
    let dep = dep.set("TESSERA_GEOIP_DB", &db);
    dep.cli(&["tenant", "create", "shop", "--preset", "customer", "--json"])
        .await
        .success_json();
    let input = dep.dir().join("bad.jsonl");
    let mut lines = events()[..3].to_vec();
    lines.push(r#"{"ts":"2026-03-01T08:30:00Z","email":"a@b","ip":"1.2.3.4","device_id":null,"outcome":"maybe"}"#.into());
    std::fs::write(&input, lines.join("\n")).unwrap();
    let path = input.to_str().unwrap();
    let out = dep
        .cli(&["risk", "evaluate", "--tenant", "shop", "--input", path])
        .await;
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "nothing is evaluated from a bad file: {}",
        out.stdout
    );
    assert!(
        out.stderr.contains("line 4") && out.stderr.contains("outcome"),
        "{}",
        out.stderr
    );
    let msg = dep
        .cli(&[
            "risk", "evaluate", "--tenant", "shop", "--input", path, "--json",
        ])
        .await
        .error_json("invalid_request");
    assert!(msg.contains("line 4"), "{msg}");

    std::fs::write(
        &input,
        "{\"ts\": \"2026-03-01T08:30:00Z\", \"email\": \"a@b\"\n",
    )
    .unwrap();
    let out = dep
        .cli(&["risk", "evaluate", "--tenant", "shop", "--input", path])
        .await;
    assert!(!out.status.success());
    assert!(out.stderr.contains("line 1"), "{}", out.stderr);

    // Unknown tenant, missing file, a geo-IP database that is not one.
    dep.cli(&[
        "risk", "evaluate", "--tenant", "nope", "--input", path, "--json",
    ])
    .await
    .error_json("not_found");
    dep.cli(&[
        "risk",
        "evaluate",
        "--tenant",
        "shop",
        "--input",
        "/no/such/file",
        "--json",
    ])
    .await
    .error_json("invalid_request");
    let not_mmdb = dep.dir().join("not.mmdb");
    std::fs::write(&not_mmdb, "hello").unwrap();
    let dep = dep.set("TESSERA_GEOIP_DB", not_mmdb.to_str().unwrap());
    let msg = dep
        .cli(&[
            "risk", "evaluate", "--tenant", "shop", "--input", path, "--json",
        ])
        .await
        .error_json("configuration_error");
    assert!(msg.contains("TESSERA_GEOIP_DB"), "{msg}");
}

on_both_backends!(
    evaluates_in_time_order_with_geo_ip,
    bad_input_names_the_line
);
