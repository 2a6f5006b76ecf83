//! Erasure by crypto-shredding: deleting a user keeps their audit entries (pseudonymous) but
//! destroys their personal data: the API shows `personal: null`, the stored sealed bytes are gone
//! (their digests stay, hashed into the chain), the user's audit key is deleted, other people's
//! data is untouched, and the chain still verifies.

use serde_json::{Value, json};

use crate::harness::{Backend, start};
use crate::support::chain::assert_linked;
use crate::support::{TENANT, assert_intact, audit_all, db, tenant};

fn about<'a>(all: &'a [Value], user: &str) -> Vec<&'a Value> {
    all.iter()
        .filter(|e| e["data"]["subject"] == user || e["data"]["target"]["id"] == user)
        .collect()
}

async fn deleting_a_user_erases_their_personal_data(backend: Backend) {
    let (dep, server, api) = start(backend).await;
    let tid = tenant(&api, TENANT).await;
    let t = format!("/tenants/{TENANT}");
    let eve = api
        .create_user(TENANT, "eve@acme.test", Some("eve-password-1"))
        .await;
    let eve = eve["id"].as_str().expect("id").to_string();
    let kim = api
        .create_user(TENANT, "kim@acme.test", Some("kim-password-1"))
        .await;
    let kim = kim["id"].as_str().expect("id").to_string();
    api.patch(&format!("{t}/users/{eve}"), &json!({"name": "Eve Example"}))
        .await
        .expect(200);
    let browser = server.browser();
    assert_eq!(
        browser
            .sign_in(TENANT, "eve@acme.test", "wrong-password")
            .await
            .status,
        401
    );
    browser
        .sign_in_ok(TENANT, "eve@acme.test", "eve-password-1")
        .await;
    server
        .browser()
        .sign_in_ok(TENANT, "kim@acme.test", "kim-password-1")
        .await;
    let group = api
        .post(&format!("{t}/groups"), &json!({"name": "Team"}))
        .await
        .expect(201);
    assert_eq!(
        api.put(&format!(
            "{t}/groups/{}/members/{eve}",
            group["id"].as_str().expect("id")
        ))
        .await
        .status,
        204
    );

    let before = audit_all(&api, TENANT).await;
    let eve_before = about(&before, &eve);
    let personal_before: Vec<&&Value> = eve_before
        .iter()
        .filter(|e| e["personal"].as_object().is_some_and(|p| !p.is_empty()))
        .collect();
    // user.created (email), user.updated (name), signin.failed and signin.succeeded (IP).
    assert_eq!(personal_before.len(), 4, "{eve_before:?}");
    let text = serde_json::to_string(&personal_before).expect("JSON");
    for s in ["eve@acme.test", "Eve Example", "127.0.0.1"] {
        assert!(text.contains(s), "readable before erasure: {s}");
    }
    let rows_before = db::entries(&dep, &tid).await;
    let sealed_before: Vec<i64> = rows_before
        .iter()
        .filter(|r| {
            r.subject_user_id.as_deref() == Some(eve.as_str()) && r.personal_sealed.is_some()
        })
        .map(|r| r.seq)
        .collect();
    assert_eq!(sealed_before.len(), 4);
    assert!(db::subject_keys(&dep, &tid).await.contains(&eve));

    assert_eq!(api.delete(&format!("{t}/users/{eve}")).await.status, 204);

    let after = audit_all(&api, TENANT).await;
    assert_eq!(
        after.len(),
        before.len() + 1,
        "entries stay; user.deleted added"
    );
    assert_eq!(after[0]["type"], "user.deleted");
    assert_eq!(after[0]["data"]["target"]["id"], eve.as_str());
    let eve_after = about(&after[1..], &eve);
    assert_eq!(eve_after.len(), eve_before.len(), "eve's entries remain");
    for (a, b) in eve_after.iter().zip(&eve_before) {
        assert_eq!(a["seq"], b["seq"]);
        assert_eq!(a["data"], b["data"], "the hashed part is unchanged");
        assert_eq!(a["hash"], b["hash"]);
        if b["personal"].as_object().is_some_and(|p| !p.is_empty()) {
            assert!(a["personal"].is_null(), "erased: {a}");
        } else {
            assert_eq!(a["personal"], json!({}), "nothing to erase: {a}");
        }
    }
    let text = serde_json::to_string(&after).expect("JSON");
    for s in ["eve@acme.test", "Eve Example"] {
        assert!(!text.contains(s), "{s} is gone from the trail");
    }
    // Kim's data is untouched.
    let kim_created = after
        .iter()
        .find(|e| e["type"] == "user.created" && e["data"]["target"]["id"] == kim.as_str())
        .expect("kim's creation");
    assert_eq!(kim_created["personal"]["details"]["email"], "kim@acme.test");
    let kim_signin = after
        .iter()
        .find(|e| e["type"] == "signin.succeeded" && e["data"]["actor"]["id"] == kim.as_str())
        .expect("kim's sign-in");
    assert_eq!(kim_signin["personal"]["ip"], "127.0.0.1");

    // At rest: the sealed bytes are gone, their digests stay, the key is destroyed.
    let rows_after = db::entries(&dep, &tid).await;
    for seq in &sealed_before {
        let b = &rows_before[(*seq - 1) as usize];
        let a = &rows_after[(*seq - 1) as usize];
        assert!(
            a.personal_sealed.is_none(),
            "entry {seq}: personal_sealed is NULL"
        );
        assert_eq!(
            a.personal_digest, b.personal_digest,
            "entry {seq}: digest kept"
        );
        assert!(a.personal_digest.is_some());
        assert_eq!(a.hash, b.hash);
    }
    assert!(
        rows_after
            .iter()
            .filter(|r| r.subject_user_id.as_deref() == Some(kim.as_str()))
            .all(|r| r.personal_sealed.is_some() == r.personal_digest.is_some()),
        "kim's sealed data stays"
    );
    let keys = db::subject_keys(&dep, &tid).await;
    assert!(
        !keys.contains(&eve),
        "eve's audit key is destroyed: {keys:?}"
    );
    assert!(keys.contains(&kim), "kim's stays: {keys:?}");

    // The chain still verifies, and export still works.
    assert_linked(&tid, &rows_after, (0, &"0".repeat(64)));
    assert_intact(&dep, Some((&server, &api)), TENANT).await;
    let export = api.get(&format!("{t}/audit/export")).await;
    assert_eq!(export.status, 200, "{}", export.text());
    assert_eq!(export.text().lines().count(), after.len());
}

/// A sign-in refused by throttling records the typed email, an existing user's, sealed under the
/// tenant's key instead of the user's: deleting the user must erase it too.
async fn throttled_sign_in_is_erased_with_the_user(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    tenant(&api, TENANT).await;
    let eve = api
        .create_user(TENANT, "eve@acme.test", Some("eve-password-1"))
        .await;
    let eve = eve["id"].as_str().expect("id").to_string();
    let mut throttled = false;
    for _ in 0..8 {
        let r = server
            .browser()
            .sign_in(TENANT, "eve@acme.test", "wrong-password")
            .await;
        assert!(r.status == 401 || r.status == 429, "{}", r.text());
        if r.status == 429 {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "repeated failures are throttled");
    let before = audit_all(&api, TENANT).await;
    let refused = before
        .iter()
        .find(|e| e["data"]["reason"] == "throttled")
        .expect("the throttled attempt is recorded");
    assert_eq!(refused["personal"]["details"]["email"], "eve@acme.test");

    assert_eq!(
        api.delete(&format!("/tenants/{TENANT}/users/{eve}"))
            .await
            .status,
        204
    );
    let after = audit_all(&api, TENANT).await;
    let leftovers: Vec<&Value> = after
        .iter()
        .filter(|e| e["personal"].to_string().contains("eve@acme.test"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "eve's email is still readable in the trail after her erasure: {leftovers:?}"
    );
}

on_both_backends!(
    deleting_a_user_erases_their_personal_data,
    throttled_sign_in_is_erased_with_the_user,
);
