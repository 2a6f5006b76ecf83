//! The admission gate in front of password hashing: with one hashing slot and no queue, a burst
//! of concurrent sign-ins (default argon2 parameters) is answered with fast 503s carrying
//! Retry-After for those that find the slot taken, successes for the others, and never a 500.

use crate::harness::{Backend, Deployment, Resp};

const BURST: usize = 20;

async fn burst_of_sign_ins_degrades_into_503(backend: Backend) {
    let dep = Deployment::with_default_hashing(backend)
        .set("TESSERA_HASH_CONCURRENCY", "1")
        .set("TESSERA_HASH_QUEUE", "0");
    let server = dep.start().await;
    server.tenant("rush").await;
    server
        .user("rush", "kim@rush.test", "kim-password-123")
        .await;

    // Each round fires the whole burst at once; a second round only happens if the first one
    // happened not to overlap at all (which would prove nothing either way).
    let mut all: Vec<Resp> = Vec::new();
    for _round in 0..3 {
        let mut tasks = Vec::new();
        for _ in 0..BURST {
            let b = server.browser();
            tasks.push(tokio::spawn(async move {
                // The form (with its CSRF token) first, so the POSTs go out together.
                let token = b.csrf_token("rush").await;
                (b, token)
            }));
        }
        let mut ready = Vec::new();
        for t in tasks {
            ready.push(t.await.expect("the form loads"));
        }
        let posts: Vec<_> = ready
            .into_iter()
            .map(|(b, token)| {
                tokio::spawn(async move {
                    b.post_form(
                        "/t/rush/login",
                        &[
                            ("email", "kim@rush.test"),
                            ("password", "kim-password-123"),
                            ("csrf_token", &token),
                        ],
                    )
                    .await
                })
            })
            .collect();
        let mut round = Vec::new();
        for p in posts {
            round.push(p.await.expect("the sign-in task completes"));
        }
        let overloaded = round.iter().any(|r| r.status == 503);
        all.extend(round);
        if overloaded {
            break;
        }
    }

    let mut ok = 0;
    let mut busy = 0;
    for r in &all {
        match r.status {
            303 => {
                assert_eq!(r.header("location").as_deref(), Some("/t/rush/account"));
                ok += 1;
            }
            503 => {
                let retry: u64 = r
                    .header("retry-after")
                    .expect("a 503 carries Retry-After")
                    .parse()
                    .expect("Retry-After is seconds");
                assert!((1..=60).contains(&retry), "Retry-After {retry}");
                assert!(
                    r.text().contains("very busy"),
                    "the page explains: {}",
                    r.text()
                );
                assert!(r.set_cookie("tessera_session").is_none());
                busy += 1;
            }
            other => panic!("a sign-in in the burst answered {other}: {}", r.text()),
        }
    }
    assert!(
        busy > 0,
        "some of {} concurrent sign-ins found the gate full",
        all.len()
    );
    assert!(ok > 0, "some sign-ins got through");

    // The gate recovers: a lone sign-in succeeds, and the refusals were counted.
    let b = server.browser();
    b.sign_in_ok("rush", "kim@rush.test", "kim-password-123")
        .await;
    let metrics = server.browser().get("/metrics").await.text();
    let overloaded: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("tessera_signins_total") && l.contains("outcome=\"overloaded\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(
        overloaded as usize, busy,
        "every 503 is counted:\n{metrics}"
    );
    // The audit trail accounts for every refusal: a tenant's first after each flush has an entry
    // of its own, the others are counted into one entry a second (detail `refused`).
    let api = server.admin_api().await;
    let mut accounted = 0;
    for _ in 0..50 {
        let events = api
            .get("/tenants/rush/audit?type=signin.failed")
            .await
            .expect(200);
        let items = events["items"].as_array().expect("items").clone();
        accounted = items
            .iter()
            .filter(|e| e["data"]["reason"] == "overloaded")
            .map(|e| {
                e["personal"]["details"]["refused"]
                    .as_u64()
                    .map_or(1, |n| n as usize)
            })
            .sum::<usize>();
        if accounted >= busy {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(accounted, busy, "every 503 is in the audit trail");
    assert!(
        !server.log().contains("panicked"),
        "no handler panicked:\n{}",
        server.log()
    );
}

on_both_backends!(burst_of_sign_ins_degrades_into_503);
