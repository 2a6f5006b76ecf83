//! What the authorization scenarios share: a tenant seen through the admin API with helpers for
//! users, groups, roles, assignments and checks; error assertions; and RFC 3339 times computed
//! here (the suite has no date library) for time-bound assignments and check contexts.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::harness::{Api, Resp, Server};

/// One tenant of a running server, driven through the admin API.
#[derive(Clone)]
pub struct Tenant {
    pub slug: String,
    pub api: Api,
}

impl Tenant {
    /// Creates the workforce tenant `slug`.
    pub async fn create(api: &Api, slug: &str) -> Tenant {
        api.create_tenant(slug, "workforce").await;
        Tenant::existing(api, slug)
    }

    /// A tenant that exists already (on another node, for instance).
    pub fn existing(api: &Api, slug: &str) -> Tenant {
        Tenant {
            slug: slug.to_string(),
            api: api.clone(),
        }
    }

    /// `/tenants/{slug}{rest}`.
    pub fn path(&self, rest: &str) -> String {
        format!("/tenants/{}{rest}", self.slug)
    }

    pub async fn get(&self, rest: &str) -> Resp {
        self.api.get(&self.path(rest)).await
    }

    pub async fn post(&self, rest: &str, body: &Value) -> Resp {
        self.api.post(&self.path(rest), body).await
    }

    pub async fn patch(&self, rest: &str, body: &Value) -> Resp {
        self.api.patch(&self.path(rest), body).await
    }

    pub async fn put(&self, rest: &str) -> Resp {
        self.api.put(&self.path(rest)).await
    }

    pub async fn delete(&self, rest: &str) -> Resp {
        self.api.delete(&self.path(rest)).await
    }

    /// A user without a password; returns its id.
    pub async fn user(&self, email: &str) -> String {
        id(&self.api.create_user(&self.slug, email, None).await, "id")
    }

    /// A group; returns its id.
    pub async fn group(&self, name: &str) -> String {
        id(
            &self
                .post("/groups", &json!({"name": name}))
                .await
                .expect(201),
            "id",
        )
    }

    pub async fn add_member(&self, group: &str, user: &str) {
        let r = self.put(&format!("/groups/{group}/members/{user}")).await;
        assert_eq!(r.status, 204, "{}: {}", r.what, r.text());
    }

    pub async fn remove_member(&self, group: &str, user: &str) {
        let r = self
            .delete(&format!("/groups/{group}/members/{user}"))
            .await;
        assert_eq!(r.status, 204, "{}: {}", r.what, r.text());
    }

    /// `PUT /groups/{child}/parents/{parent}`, expecting 204.
    pub async fn nest(&self, child: &str, parent: &str) {
        let r = self.put(&format!("/groups/{child}/parents/{parent}")).await;
        assert_eq!(r.status, 204, "{}: {}", r.what, r.text());
        assert!(r.body.is_empty(), "{}: 204 without a body", r.what);
    }

    /// Creates a role from `body` (expecting 201) and returns it.
    pub async fn role(&self, body: Value) -> Value {
        self.post("/roles", &body).await.expect(201)
    }

    /// A tenant-wide role with these permissions; returns its id.
    pub async fn simple_role(&self, name: &str, permissions: &[&str]) -> String {
        id(
            &self
                .role(json!({"name": name, "permissions": permissions}))
                .await,
            "id",
        )
    }

    /// Creates an assignment from `body` (expecting 201) and returns it.
    pub async fn assign(&self, body: Value) -> Value {
        self.post("/assignments", &body).await.expect(201)
    }

    /// Gives `role` to user `user` without limits; returns the assignment id.
    pub async fn assign_user(&self, role: &str, user: &str) -> String {
        id(
            &self
                .assign(json!({"role_id": role, "principal_type": "user", "principal_id": user}))
                .await,
            "id",
        )
    }

    /// Gives `role` to group `group` without limits; returns the assignment id.
    pub async fn assign_group(&self, role: &str, group: &str) -> String {
        id(
            &self
                .assign(json!({"role_id": role, "principal_type": "group", "principal_id": group}))
                .await,
            "id",
        )
    }

    pub async fn unassign(&self, assignment: &str) {
        let r = self.delete(&format!("/assignments/{assignment}")).await;
        assert_eq!(r.status, 204, "{}: {}", r.what, r.text());
    }

    /// `authz/check` with an optional context; asserts 200 and the answer's shape.
    pub async fn check_with(&self, user: &str, permission: &str, context: Option<Value>) -> Value {
        let mut body = json!({"subject": user, "permission": permission});
        if let Some(c) = context {
            body["context"] = c;
        }
        let v = self.post("/authz/check", &body).await.expect(200);
        assert_decision(&v);
        v
    }

    pub async fn check(&self, user: &str, permission: &str) -> Value {
        self.check_with(user, permission, None).await
    }

    /// Whether the check allows, asserting the reason says so consistently.
    pub async fn allowed(&self, user: &str, permission: &str) -> bool {
        self.check(user, permission).await["allowed"]
            .as_bool()
            .expect("allowed is a boolean")
    }

    /// The user's effective permissions: permission → its explanation (`via`).
    pub async fn permissions(&self, user: &str) -> Vec<(String, Value)> {
        let v = self
            .get(&format!("/users/{user}/permissions"))
            .await
            .expect(200);
        v["items"]
            .as_array()
            .unwrap_or_else(|| panic!("items in {v}"))
            .iter()
            .map(|i| {
                (
                    i["permission"].as_str().expect("permission").to_string(),
                    i["via"].clone(),
                )
            })
            .collect()
    }

    /// The names of the user's effective permissions.
    pub async fn permission_names(&self, user: &str) -> Vec<String> {
        self.permissions(user)
            .await
            .into_iter()
            .map(|(p, _)| p)
            .collect()
    }
}

/// A decision has exactly `allowed`, a non-empty `reason` and `via` (non-empty when allowed).
#[track_caller]
pub fn assert_decision(v: &Value) {
    let keys: Vec<&String> = v.as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["allowed", "reason", "via"], "decision shape: {v}");
    let allowed = v["allowed"].as_bool().expect("allowed is a boolean");
    assert!(
        v["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "a reason: {v}"
    );
    let via = v["via"].as_array().expect("via is an array");
    assert_eq!(
        allowed,
        !via.is_empty(),
        "a grant carries its path, a denial none: {v}"
    );
}

/// Asserts a denial whose reason contains `needle`.
#[track_caller]
pub fn assert_denied(v: &Value, needle: &str) {
    assert_eq!(v["allowed"], false, "denied: {v}");
    let reason = v["reason"].as_str().expect("a reason");
    assert!(
        reason.contains(needle),
        "the reason mentions {needle:?}: {v}"
    );
}

/// The string `key` of `v`.
#[track_caller]
pub fn id(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_string()
}

/// Asserts a 400 `invalid_request` naming `field`; returns the message.
#[track_caller]
pub fn expect_bad(r: &Resp, field: &str) -> String {
    let message = r.expect_error(400, "invalid_request");
    let v = r.json();
    assert_eq!(v["field"], field, "{}: the field at fault in {v}", r.what);
    message
}

/// Asserts a 400 `invalid_request` (any or no field); returns the message.
#[track_caller]
pub fn expect_400(r: &Resp) -> String {
    r.expect_error(400, "invalid_request")
}

/// Asserts the server logged no error and no panic (a 500 is logged as an error).
#[track_caller]
pub fn assert_no_server_errors(server: &Server) {
    let log = server.log();
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" ERROR ") || l.contains("panicked"))
        .collect();
    assert!(
        bad.is_empty(),
        "the server logged errors:\n{}",
        bad.join("\n")
    );
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// The current UTC hour (0-23).
pub fn utc_hour() -> u8 {
    (unix_now().rem_euclid(86_400) / 3600) as u8
}

/// RFC 3339 (UTC, whole seconds) of `now + offset_secs`.
pub fn rfc3339_in(offset_secs: i64) -> String {
    rfc3339(unix_now() + offset_secs)
}

/// RFC 3339 (UTC, whole seconds) of a Unix time (days to civil date: H. Hinnant's algorithm).
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[test]
fn rfc3339_by_hand() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
}
