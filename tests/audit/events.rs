//! Every state change and sign-in lands in the tenant's audit trail as a typed event, with its
//! personal data (emails, names, IP addresses) only in the sealed `personal` part; the trail can
//! be searched (type, outcome, actor, target, IP, time range, cursor pages) and exported as
//! JSON Lines through the API and the CLI.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::harness::{Api, Backend, start};
use crate::support::chain::assert_linked;
use crate::support::{
    TENANT, assert_intact, audit_all, audit_query, db, of_type, one, parse_time, seqs, tenant,
};

/// The id in a created resource.
fn id_of(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_string()
}

async fn state_changes_are_recorded(backend: Backend) {
    let (dep, server, api) = start(backend).await;
    let tid = tenant(&api, TENANT).await;
    let t = format!("/tenants/{TENANT}");

    // Users: create, rename twice, disable, delete.
    let ann = api
        .create_user(TENANT, "ann@acme.test", Some("ann-password-1"))
        .await;
    let ann = id_of(&ann, "id");
    api.patch(&format!("{t}/users/{ann}"), &json!({"name": "Ann Archer"}))
        .await
        .expect(200);
    api.patch(
        &format!("{t}/users/{ann}"),
        &json!({"name": "Ann Baker", "email_verified": true}),
    )
    .await
    .expect(200);
    let bob = id_of(&api.create_user(TENANT, "bob@acme.test", None).await, "id");
    let disabled = api
        .post_empty(&format!("{t}/users/{bob}/disable"))
        .await
        .expect(200);
    assert_eq!(disabled["status"], "disabled");
    assert_eq!(api.delete(&format!("{t}/users/{bob}")).await.status, 204);

    // A group and its members.
    let group = api
        .post(&format!("{t}/groups"), &json!({"name": "Engineering"}))
        .await
        .expect(201);
    let group = id_of(&group, "id");
    api.patch(&format!("{t}/groups/{group}"), &json!({"name": "Platform"}))
        .await
        .expect(200);
    let member = format!("{t}/groups/{group}/members/{ann}");
    assert_eq!(api.put(&member).await.status, 204);
    assert_eq!(api.delete(&member).await.status, 204);
    assert_eq!(api.delete(&format!("{t}/groups/{group}")).await.status, 204);

    // An application: create, rename, rotate its secret, delete.
    let client = api
        .post(
            &format!("{t}/clients"),
            &json!({"name": "Portal", "redirect_uris": ["https://portal.example/cb"]}),
        )
        .await
        .expect(201);
    let client_id = id_of(&client, "client_id");
    let first_secret = id_of(&client, "client_secret");
    let cpath = format!("{t}/clients/{client_id}");
    api.patch(&cpath, &json!({"name": "Portal v2"}))
        .await
        .expect(200);
    let rotated = api.post_empty(&format!("{cpath}/secret")).await.expect(200);
    let second_secret = id_of(&rotated, "client_secret");
    assert_eq!(api.delete(&cpath).await.status, 204);

    // Sign-in through the hosted page: a wrong password, an unknown account, a success, sign-out.
    let browser = server.browser();
    let wrong = browser
        .sign_in(TENANT, "ann@acme.test", "not-her-password")
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text());
    let unknown = browser
        .sign_in(TENANT, "nobody@acme.test", "whatever-password")
        .await;
    assert_eq!(unknown.status, 401, "{}", unknown.text());
    browser
        .sign_in_ok(TENANT, "ann@acme.test", "ann-password-1")
        .await;
    let out = browser.sign_out(TENANT).await;
    assert!(
        out.status == 200 || out.status == 303,
        "sign-out answers 200 or 303, not {}: {}",
        out.status,
        out.text()
    );

    // An operator ends a session through the API.
    let other = server.browser();
    other
        .sign_in_ok(TENANT, "ann@acme.test", "ann-password-1")
        .await;
    let sessions = api
        .get(&format!("{t}/sessions?user_id={ann}"))
        .await
        .expect(200);
    let ended_by_operator = id_of(&sessions["items"][0], "id");
    assert_eq!(
        api.delete(&format!("{t}/sessions/{ended_by_operator}"))
            .await
            .status,
        204
    );

    let all = audit_all(&api, TENANT).await;
    let mut types: Vec<&str> = all.iter().filter_map(|e| e["type"].as_str()).collect();
    types.reverse();
    assert_eq!(
        types,
        [
            "tenant.created",
            "user.created",
            "user.updated",
            "user.updated",
            "user.created",
            "user.disabled",
            "user.updated",
            "user.deleted",
            "group.created",
            "group.updated",
            "group.member_added",
            "group.member_removed",
            "group.deleted",
            "client.created",
            "client.updated",
            "client.secret_rotated",
            "client.deleted",
            "signin.failed",
            "signin.failed",
            "signin.succeeded",
            "session.revoked",
            "signin.succeeded",
            // The second browser is a new device for Ann: she is sent a new sign-in notice.
            "user.verification_sent",
            "session.revoked",
        ],
        "one event per change, in the order of the changes"
    );
    let notice = of_type(&all, "user.verification_sent");
    assert_eq!(
        notice[0]["data"]["purpose"], "sign_in_report",
        "{}",
        notice[0]
    );
    assert_eq!(notice[0]["data"]["reason"], "new_sign_in", "{}", notice[0]);
    let n = all.len() as i64;
    assert_eq!(
        seqs(&all),
        (1..=n).rev().collect::<Vec<_>>(),
        "newest first, seq 1, 2, 3… without gaps"
    );
    for e in &all {
        assert_eq!(e["data"]["type"], e["type"], "{e}");
        assert_eq!(e["data"]["v"], 1, "schema version: {e}");
        assert!(parse_time(&e["occurred_at"]) <= time::OffsetDateTime::now_utc());
        uuid::Uuid::parse_str(e["id"].as_str().expect("id")).expect("event ids are UUIDs");
    }
    // Personal data and secrets never appear in the hashed, plainly stored part.
    let data_text: String = all.iter().map(|e| e["data"].to_string()).collect();
    for secret in [
        "ann@acme.test",
        "bob@acme.test",
        "nobody@acme.test",
        "Ann Archer",
        "Ann Baker",
        "127.0.0.1",
        &first_secret,
        &second_secret,
    ] {
        assert!(
            !data_text.contains(secret),
            "{secret} is not in any event's data"
        );
    }
    let everything = serde_json::to_string(&all).expect("JSON");
    for secret in [&first_secret, &second_secret] {
        assert!(
            !everything.contains(secret.as_str()),
            "client secrets are nowhere in the trail"
        );
    }

    // The API key that made the changes is the actor of the admin changes.
    let created = one(&all, "user.created", &ann);
    let key_actor = created["data"]["actor"].clone();
    assert_eq!(key_actor["kind"], "api_key", "{created}");
    assert!(key_actor["id"].is_string(), "{created}");
    assert_eq!(
        created["data"]["target"],
        json!({"kind": "user", "id": ann})
    );
    assert_eq!(created["data"]["subject"], ann);
    assert_eq!(created["data"]["outcome"], "success");
    assert_eq!(
        created["personal"],
        json!({"details": {"email": "ann@acme.test"}})
    );

    // PATCH name: the hashed part says only "redacted"; before/after are personal.
    let updates: Vec<&Value> = of_type(&all, "user.updated")
        .into_iter()
        .filter(|e| e["data"]["target"]["id"] == ann.as_str())
        .collect();
    assert_eq!(updates.len(), 2, "two updates of ann");
    let (second, first) = (updates[0], updates[1]);
    assert_eq!(
        first["data"]["changes"],
        json!({"name": {"redacted": true}}),
        "{first}"
    );
    assert_eq!(first["data"]["changes"]["name"]["redacted"], true);
    assert_eq!(
        first["personal"]["details"]["name"],
        json!({"before": null, "after": "Ann Archer"}),
        "{first}"
    );
    assert_eq!(
        second["data"]["changes"],
        json!({
            "name": {"redacted": true},
            "email_verified": {"before": false, "after": true},
        }),
        "non-personal fields keep their values: {second}"
    );
    assert_eq!(
        second["personal"]["details"]["name"],
        json!({"before": "Ann Archer", "after": "Ann Baker"})
    );
    assert_eq!(first["data"]["actor"], key_actor);

    // Disable and delete.
    let dis = one(&all, "user.disabled", &bob);
    assert_eq!(dis["data"]["subject"], bob);
    assert_eq!(dis["data"]["actor"], key_actor);
    let status_change = one(&all, "user.updated", &bob);
    assert_eq!(
        status_change["data"]["changes"],
        json!({"status": {"before": "active", "after": "disabled"}})
    );
    let del = one(&all, "user.deleted", &bob);
    assert_eq!(del["data"]["target"], json!({"kind": "user", "id": bob}));
    assert_eq!(del["data"]["actor"], key_actor);

    // Groups.
    let g = one(&all, "group.created", &group);
    assert_eq!(g["data"]["name"], "Engineering");
    assert_eq!(g["data"]["target"]["kind"], "group");
    assert_eq!(
        one(&all, "group.updated", &group)["data"]["changes"],
        json!({"name": {"before": "Engineering", "after": "Platform"}})
    );
    for ty in ["group.member_added", "group.member_removed"] {
        let m = one(&all, ty, &ann);
        assert_eq!(m["data"]["group_id"], group, "{m}");
        assert_eq!(m["data"]["subject"], ann, "{m}");
    }
    one(&all, "group.deleted", &group);

    // Clients.
    let c = one(&all, "client.created", &client_id);
    assert_eq!(c["data"]["name"], "Portal");
    assert_eq!(c["data"]["target"]["kind"], "client");
    let cu = one(&all, "client.updated", &client_id);
    assert_eq!(
        cu["data"]["changes"]["name"],
        json!({"before": "Portal", "after": "Portal v2"}),
        "{cu}"
    );
    one(&all, "client.secret_rotated", &client_id);
    one(&all, "client.deleted", &client_id);

    // Sign-ins: the reason, the outcome and the IP (personal).
    let failed = of_type(&all, "signin.failed");
    let (unknown_e, wrong_e) = (failed[0], failed[1]);
    assert_eq!(wrong_e["data"]["reason"], "wrong_password", "{wrong_e}");
    assert_eq!(wrong_e["data"]["method"], "password");
    assert_eq!(wrong_e["data"]["outcome"], "failure");
    assert_eq!(wrong_e["data"]["actor"], json!({"kind": "anonymous"}));
    assert_eq!(wrong_e["data"]["subject"], ann);
    assert_eq!(
        wrong_e["data"]["target"],
        json!({"kind": "user", "id": ann})
    );
    assert_eq!(wrong_e["personal"]["ip"], "127.0.0.1", "{wrong_e}");
    assert_eq!(
        unknown_e["data"]["reason"], "unknown_account",
        "{unknown_e}"
    );
    assert_eq!(unknown_e["data"]["outcome"], "failure");
    assert!(unknown_e["data"]["subject"].is_null() && unknown_e["data"]["target"].is_null());
    assert_eq!(unknown_e["personal"]["ip"], "127.0.0.1");
    assert_eq!(
        unknown_e["personal"]["details"]["email"],
        "nobody@acme.test"
    );
    let ok = of_type(&all, "signin.succeeded");
    assert_eq!(ok.len(), 2);
    let ok = ok[1];
    assert_eq!(ok["data"]["actor"], json!({"kind": "user", "id": ann}));
    assert_eq!(ok["data"]["outcome"], "success");
    assert_eq!(ok["data"]["method"], "password");
    assert_eq!(ok["personal"]["ip"], "127.0.0.1");
    let session = ok["data"]["target"]["id"].as_str().expect("a session id");
    assert_eq!(ok["data"]["target"]["kind"], "session");
    let revoked = one(&all, "session.revoked", session);
    assert_eq!(revoked["data"]["session_id"], session);
    assert_eq!(revoked["data"]["reason"], "sign_out");
    assert_eq!(revoked["data"]["actor"], json!({"kind": "user", "id": ann}));
    assert_eq!(revoked["data"]["subject"], ann);
    let by_operator = one(&all, "session.revoked", &ended_by_operator);
    assert_eq!(by_operator["data"]["reason"], "revoked_by_operator");
    assert_eq!(by_operator["data"]["actor"], key_actor);

    // The API shows what the database holds, and the chain verifies (format recomputed here).
    let rows = db::entries(&dep, &tid).await;
    assert_eq!(rows.len(), all.len());
    for (row, e) in rows.iter().zip(all.iter().rev()) {
        assert_eq!(row.seq, e["seq"].as_i64().expect("seq"));
        assert_eq!(row.event_id, e["id"].as_str().expect("id"));
        assert_eq!(row.hash, e["hash"].as_str().expect("hash"));
        assert_eq!(row.prev_hash, e["prev_hash"].as_str().expect("prev_hash"));
        assert_eq!(
            serde_json::from_str::<Value>(&row.body).expect("JSON body"),
            e["data"]
        );
        assert_eq!(
            row.personal_sealed.is_some(),
            e["personal"].as_object().is_some_and(|p| !p.is_empty()),
            "entry {} has sealed bytes exactly when it carries personal data",
            row.seq
        );
    }
    assert_linked(&tid, &rows, (0, &"0".repeat(64)));
    let report = assert_intact(&dep, Some((&server, &api)), TENANT).await;
    assert_eq!(report["entries"], n);
    assert_eq!(report["head_seq"], n);
    assert_eq!(report["anchor_seq"], 0);
}

/// Three failed sign-ins, two successes and a few admin changes, to search through.
async fn searchable_trail(server: &crate::harness::Server, api: &Api) -> (String, String) {
    let ann = id_of(
        &api.create_user(TENANT, "ann@acme.test", Some("ann-password-1"))
            .await,
        "id",
    );
    let cy = id_of(
        &api.create_user(TENANT, "cy@acme.test", Some("cy-password-1"))
            .await,
        "id",
    );
    for (email, password, status) in [
        ("ann@acme.test", "wrong-password-1", 401),
        ("ann@acme.test", "wrong-password-2", 401),
        ("ghost@acme.test", "whatever-pass", 401),
        ("ann@acme.test", "ann-password-1", 303),
        ("cy@acme.test", "cy-password-1", 303),
    ] {
        // A fresh browser each time: a signed-in browser is sent past the sign-in page.
        let r = server.browser().sign_in(TENANT, email, password).await;
        assert_eq!(r.status, status, "{email}: {}", r.text());
    }
    for name in ["Red", "Green", "Blue"] {
        api.post(&format!("/tenants/{TENANT}/groups"), &json!({"name": name}))
            .await
            .expect(201);
    }
    (ann, cy)
}

/// The entries of `all` (newest first) that `keep` accepts.
fn expected(all: &[Value], keep: impl Fn(&Value) -> bool) -> Vec<i64> {
    all.iter()
        .filter(|e| keep(e))
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect()
}

async fn queries_and_export(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    tenant(&api, TENANT).await;
    let (ann, cy) = searchable_trail(&server, &api).await;
    let all = audit_all(&api, TENANT).await;
    assert_eq!(
        all.len(),
        11,
        "tenant, 2 users, 5 sign-ins, 3 groups: {all:?}"
    );

    let check = |query: &'static str, want: Vec<i64>| {
        let api = api.clone();
        async move {
            let got = audit_query(&api, TENANT, query).await;
            assert_eq!(seqs(&got), want, "?{query}");
            got
        }
    };
    let failed = check(
        "type=signin.failed",
        expected(&all, |e| e["type"] == "signin.failed"),
    )
    .await;
    assert_eq!(failed.len(), 3);
    check(
        "outcome=failure",
        expected(&all, |e| e["data"]["outcome"] == "failure"),
    )
    .await;
    let successes = check(
        "outcome=success",
        expected(&all, |e| e["data"]["outcome"] == "success"),
    )
    .await;
    assert_eq!(successes.len(), 8);
    let by_ann = audit_query(&api, TENANT, &format!("actor={ann}")).await;
    assert_eq!(
        seqs(&by_ann),
        expected(&all, |e| e["data"]["actor"]["id"] == ann.as_str())
    );
    assert_eq!(by_ann.len(), 1, "ann's own sign-in");
    assert_eq!(by_ann[0]["type"], "signin.succeeded");
    let about_ann = audit_query(&api, TENANT, &format!("target={ann}")).await;
    assert_eq!(
        seqs(&about_ann),
        expected(&all, |e| e["data"]["target"]["id"] == ann.as_str())
    );
    assert_eq!(about_ann.len(), 3, "created, two wrong passwords");
    let ann_failed = audit_query(&api, TENANT, &format!("type=signin.failed&target={ann}")).await;
    assert_eq!(ann_failed.len(), 2, "filters combine");
    let from_ip = audit_query(&api, TENANT, "ip=127.0.0.1").await;
    assert_eq!(
        seqs(&from_ip),
        expected(&all, |e| e["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("signin.")))
    );
    assert_eq!(from_ip.len(), 5);
    let mut ip_pages = Vec::new();
    let mut path = format!("/tenants/{TENANT}/audit?ip=127.0.0.1&limit=2");
    loop {
        let page = api.get(&path).await.expect(200);
        ip_pages.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/tenants/{TENANT}/audit?ip=127.0.0.1&limit=2&after={c}"),
            None => break,
        }
    }
    assert_eq!(
        ip_pages, from_ip,
        "the IP filter (applied after decryption) keeps across pages"
    );
    assert!(
        audit_query(&api, TENANT, "ip=10.9.8.7").await.is_empty(),
        "no event from another address"
    );
    let cy_key = audit_query(&api, TENANT, &format!("actor={cy}&ip=127.0.0.1")).await;
    assert_eq!(cy_key.len(), 1);

    // Time range: from inclusive, until exclusive.
    let oldest_first: Vec<&Value> = all.iter().rev().collect();
    let from = oldest_first[3]["occurred_at"].as_str().expect("time");
    let until = oldest_first[9]["occurred_at"].as_str().expect("time");
    let (f, u) = (
        parse_time(&oldest_first[3]["occurred_at"]),
        parse_time(&oldest_first[9]["occurred_at"]),
    );
    let q = format!(
        "from={}&until={}",
        from.replace(':', "%3A").replace('+', "%2B"),
        until.replace(':', "%3A").replace('+', "%2B")
    );
    let ranged = audit_query(&api, TENANT, &q).await;
    let want = expected(&all, |e| {
        let t = parse_time(&e["occurred_at"]);
        f <= t && t < u
    });
    assert!(!want.is_empty());
    assert_eq!(seqs(&ranged), want, "?{q}");
    for e in &ranged {
        let t = parse_time(&e["occurred_at"]);
        assert!(f <= t && t < u, "{e} within [{from}, {until})");
    }

    // Cursor pages: every entry once, newest first, at most `limit` per page.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => format!("/tenants/{TENANT}/audit?limit=5"),
            Some(c) => format!("/tenants/{TENANT}/audit?limit=5&after={c}"),
        };
        let page = api.get(&path).await.expect(200);
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 5 && !items.is_empty(), "{page}");
        paged.extend(items.iter().cloned());
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3, "11 entries in pages of 5");
    assert_eq!(paged, all, "the pages together are the whole trail");
    let mut one_by_one = Vec::new();
    let mut path = format!("/tenants/{TENANT}/audit?type=signin.failed&limit=1");
    loop {
        let page = api.get(&path).await.expect(200);
        one_by_one.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => {
                path = format!("/tenants/{TENANT}/audit?type=signin.failed&limit=1&after={c}")
            }
            None => break,
        }
    }
    assert_eq!(one_by_one, failed, "a filter keeps across pages");

    // Bad queries are refused with the field named.
    for (q, field) in [
        ("outcome=maybe", Some("outcome")),
        ("from=yesterday", Some("from")),
        ("until=2026-13-45", Some("until")),
        ("after=not-a-cursor", Some("after")),
        ("colour=red", None),
    ] {
        let r = api.get(&format!("/tenants/{TENANT}/audit?{q}")).await;
        r.expect_error(400, "invalid_request");
        if let Some(field) = field {
            assert_eq!(r.json()["field"], field, "?{q}");
        }
    }

    // Export: JSON Lines, one entry per line, the same entries as the listing.
    let export = api.get(&format!("/tenants/{TENANT}/audit/export")).await;
    assert_eq!(export.status, 200, "{}", export.text());
    assert_eq!(
        export.header("content-type").as_deref(),
        Some("application/x-ndjson")
    );
    let text = export.text();
    assert!(text.ends_with('\n'), "every line ends with a newline");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("each line is JSON");
            assert!(v.is_object(), "each line is one object: {l}");
            v
        })
        .collect();
    assert_eq!(lines, all, "the export holds what the listing shows");
    let export = api
        .get(&format!(
            "/tenants/{TENANT}/audit/export?type=signin.failed"
        ))
        .await;
    assert_eq!(export.status, 200);
    assert_eq!(export.text().lines().count(), 3);
    api.get(&format!("/tenants/{TENANT}/audit/export?outcome=maybe"))
        .await
        .expect_error(400, "invalid_request");

    // The CLI exports the same lines.
    let cli = server.cli(&["audit", "export", "--tenant", TENANT]).await;
    assert!(cli.status.success(), "{}", cli.stderr);
    let cli_lines: Vec<Value> = cli
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(
        cli_lines
            .iter()
            .map(|l| l["seq"].clone())
            .collect::<Vec<_>>(),
        all.iter().map(|l| l["seq"].clone()).collect::<Vec<_>>()
    );
    for (c, a) in cli_lines.iter().zip(&all) {
        for k in ["id", "type", "data", "personal", "hash", "occurred_at"] {
            assert_eq!(c[k], a[k], "CLI export {k} of entry {}", a["seq"]);
        }
    }
    let cli = server
        .cli(&[
            "audit",
            "export",
            "--tenant",
            TENANT,
            "--type",
            "signin.failed",
            "--limit",
            "2",
        ])
        .await;
    assert!(cli.status.success(), "{}", cli.stderr);
    assert_eq!(cli.stdout.lines().count(), 2);

    // Another tenant's key cannot read this trail; a read key may.
    api.create_tenant("other", "workforce").await;
    let other = Api::new(&server, &server.api_key("other", "read").await);
    other
        .get(&format!("/tenants/{TENANT}/audit"))
        .await
        .expect_error(404, "not_found");
    other
        .get(&format!("/tenants/{TENANT}/audit/export"))
        .await
        .expect_error(404, "not_found");
    let other_trail = audit_all(&other, "other").await;
    let types: BTreeSet<&str> = other_trail
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        types,
        BTreeSet::from(["api_key.created", "tenant.created"]),
        "its own trail: its creation and its key's"
    );
    let reader = Api::new(&server, &server.api_key(TENANT, "read").await);
    let seen = audit_all(&reader, TENANT).await;
    assert!(seen.len() >= all.len());
    assert_eq!(
        seen[seen.len() - all.len()..],
        all[..],
        "a read key of the tenant sees its trail"
    );
}

/// Signing in again in a browser that holds a session ends that session (the login page revokes
/// it); like every other end of a session, that must be recorded as `session.revoked`.
async fn replaced_session_is_recorded(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    tenant(&api, TENANT).await;
    let ann = id_of(
        &api.create_user(TENANT, "ann@acme.test", Some("ann-password-1"))
            .await,
        "id",
    );
    api.create_user(TENANT, "kim@acme.test", Some("kim-password-1"))
        .await;
    let browser = server.browser();
    // The token is taken before signing in (a signed-in browser is sent past the sign-in page)
    // and stays valid for the second form, as a second tab would send it.
    let token = browser.csrf_token(TENANT).await;
    let login = format!("/t/{TENANT}/login");
    for (email, password) in [
        ("ann@acme.test", "ann-password-1"),
        ("kim@acme.test", "kim-password-1"),
    ] {
        let r = browser
            .post_form(
                &login,
                &[
                    ("email", email),
                    ("password", password),
                    ("csrf_token", &token),
                    ("return_to", ""),
                ],
            )
            .await;
        assert_eq!(r.expect_see_other(), format!("/t/{TENANT}/account"));
    }
    let all = audit_all(&api, TENANT).await;
    let ann_signin = all
        .iter()
        .find(|e| e["type"] == "signin.succeeded" && e["data"]["actor"]["id"] == ann.as_str())
        .expect("ann's sign-in");
    let ann_session = ann_signin["data"]["target"]["id"]
        .as_str()
        .expect("a session id");
    let s = api
        .get(&format!("/tenants/{TENANT}/sessions/{ann_session}"))
        .await
        .expect(200);
    assert_eq!(
        s["active"], false,
        "the second sign-in ended ann's session: {s}"
    );
    let revoked: Vec<&Value> = of_type(&all, "session.revoked")
        .into_iter()
        .filter(|e| e["data"]["session_id"] == ann_session)
        .collect();
    assert_eq!(
        revoked.len(),
        1,
        "the end of ann's session is recorded: {}",
        json!(all)
    );
}

/// The token endpoint and revocation record `token.issued` and `token.revoked` (client
/// credentials: the client is the actor).
async fn token_events(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    tenant(&api, TENANT).await;
    let machine = api
        .post(
            &format!("/tenants/{TENANT}/clients"),
            &json!({
                "name": "Nightly jobs",
                "grant_types": ["client_credentials"],
                "allowed_scopes": ["jobs:run"],
                "redirect_uris": [],
            }),
        )
        .await
        .expect(201);
    let id = id_of(&machine, "client_id");
    let secret = id_of(&machine, "client_secret");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client");
    let token: Value = http
        .post(server.url(&format!("/t/{TENANT}/token")))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "jobs:run")])
        .send()
        .await
        .expect("the token endpoint answers")
        .json()
        .await
        .expect("a JSON token response");
    let access = token["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("an access token: {token}"));
    let revoked = http
        .post(server.url(&format!("/t/{TENANT}/revoke")))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", access)])
        .send()
        .await
        .expect("the revocation endpoint answers");
    assert_eq!(revoked.status(), 200);

    let all = audit_all(&api, TENANT).await;
    let issued = one(&all, "token.issued", &id);
    assert_eq!(issued["data"]["client_id"], id.as_str());
    assert_eq!(issued["data"]["grant_type"], "client_credentials");
    assert_eq!(issued["data"]["scope"], "jobs:run");
    assert_eq!(issued["data"]["actor"], json!({"kind": "client", "id": id}));
    let gone = of_type(&all, "token.revoked");
    assert_eq!(gone.len(), 1, "{}", json!(all));
    assert_eq!(gone[0]["data"]["client_id"], id.as_str());
    assert_eq!(gone[0]["data"]["token_type"], "access_token");
    assert_eq!(
        gone[0]["data"]["actor"],
        json!({"kind": "client", "id": id})
    );
    assert!(
        !serde_json::to_string(&all).expect("JSON").contains(access),
        "tokens are never in the trail"
    );
}

on_both_backends!(
    state_changes_are_recorded,
    queries_and_export,
    token_events,
    replaced_session_is_recorded,
);
