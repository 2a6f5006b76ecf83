//! The `authz-check` scenario's seeding: one tenant with many users (bulk import), roles (some
//! composite), nested groups with members, and role assignments to users and groups, all made
//! the way an operator would (the CLI for the users, the admin API for the rest).

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use hyper::Method;
use hyper::header::AUTHORIZATION;
use serde_json::{Value, json};

use crate::load::{self, RequestTemplate};
use crate::scenario::TENANT;
use crate::server::{Deployment, Server};

/// How big the `authz-check` data set is (`--authz-*` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    /// Users imported into the tenant.
    pub users: usize,
    /// Roles; every tenth is a composite of the nine before it, every hundredth also of the
    /// composites of its hundred.
    pub roles: usize,
    /// Groups, nested as a tree: group g > 0 has parent (g - 1) / fanout.
    pub groups: usize,
    /// Children per group in the tree (so the depth is about log_fanout(groups)).
    pub fanout: usize,
    /// Direct members of each group (distinct users, spread over the imported ones).
    pub members_per_group: usize,
    /// Users given one role directly (besides the assignments to every group).
    pub user_assignments: usize,
}

impl Sizes {
    pub const FULL: Sizes = Sizes {
        users: 100_000,
        roles: 1_000,
        groups: 200,
        fanout: 5,
        members_per_group: 20,
        user_assignments: 1_000,
    };

    pub fn check(&self) -> Result<()> {
        ensure!(self.roles >= 100, "--authz-roles: at least 100");
        ensure!(self.groups >= 2, "--authz-groups: at least 2");
        ensure!(self.fanout >= 1, "--authz-fanout: at least 1");
        ensure!(
            self.users >= self.ids_needed(),
            "--authz-users: at least groups × members-per-group + user-assignments + 1 ({})",
            self.ids_needed()
        );
        Ok(())
    }

    /// Users that get a membership or an assignment, plus the checked subject.
    fn ids_needed(&self) -> usize {
        self.groups * self.members_per_group + self.user_assignments + 1
    }

    /// Depth of group `g` in the tree (the root is 0).
    pub fn depth(&self, mut g: usize) -> usize {
        let mut d = 0;
        while g > 0 {
            g = (g - 1) / self.fanout;
            d += 1;
        }
        d
    }
}

/// The composites of role `i` (indices), by the rule documented on [`Sizes::roles`].
fn composites(i: usize) -> Vec<usize> {
    let mut out = Vec::new();
    if i % 10 == 9 {
        out.extend(i - 9..i);
    }
    if i % 100 == 99 {
        out.extend((1..10).map(|k| i - 10 * k));
    }
    out
}

fn permission(i: usize) -> String {
    format!("res{}:act{}", i % 97, i)
}

/// The admin API of one server, with a write key of the `admin` tenant.
struct Api<'a> {
    server: &'a Server,
    auth: String,
    calls: usize,
}

impl Api<'_> {
    async fn send(&mut self, method: Method, rest: &str, body: Option<Value>) -> Result<Value> {
        let path = format!("/api/v1/tenants/{TENANT}{rest}");
        let t = match body {
            Some(b) => RequestTemplate::json(method.clone(), &path, &b),
            None => RequestTemplate {
                method: method.clone(),
                ..RequestTemplate::get(&path)
            },
        }
        .header(AUTHORIZATION, &self.auth)?;
        let a = load::once(self.server.addr(), &t).await?;
        self.calls += 1;
        if !a.status.is_success() {
            bail!(
                "{method} {path} answered {}: {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            );
        }
        if a.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&a.body).with_context(|| format!("{method} {path}: not JSON"))
    }

    async fn create(&mut self, rest: &str, body: Value) -> Result<String> {
        let v = self.send(Method::POST, rest, Some(body)).await?;
        v["id"]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("POST {rest} gave no id: {v}"))
    }
}

/// Seeds the data set and returns the check request: a member of the deepest group asks for a
/// permission that only a composite role assigned to the root group grants, so the decision
/// walks the whole group chain and two composite levels.
pub async fn prepare(
    deployment: &Deployment,
    server: &Server,
    sizes: Sizes,
) -> Result<RequestTemplate> {
    sizes.check()?;
    let key = deployment
        .cli_json(&[
            "keys",
            "create-api-key",
            "--tenant",
            "admin",
            "--scope",
            "write",
        ])
        .await?;
    let key = key["api_key"]
        .as_str()
        .with_context(|| format!("create-api-key printed no api_key: {key}"))?;
    let mut api = Api {
        server,
        auth: format!("Bearer {key}"),
        calls: 0,
    };

    // Users: one JSON Lines file, one `tessera user import`.
    let started = Instant::now();
    let file = deployment.dir().join("users.jsonl");
    {
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(&file).context("cannot write the users file")?,
        );
        for i in 0..sizes.users {
            writeln!(
                w,
                r#"{{"email":"user{i}@bench.example","email_verified":true,"name":"User {i}"}}"#
            )?;
        }
        w.flush()?;
    }
    let file_arg = file.display().to_string();
    let report = deployment
        .cli_json_within(
            &["user", "import", "--tenant", TENANT, "--file", &file_arg],
            Duration::from_secs(3600),
        )
        .await?;
    ensure!(
        report["imported"].as_u64() == Some(sizes.users as u64),
        "the import did not take every user: {report}"
    );
    eprintln!(
        "  authz-check: imported {} users in {:.1} s",
        sizes.users,
        started.elapsed().as_secs_f64()
    );

    // The ids of the users that get memberships and assignments: the first pages of the list.
    let started = Instant::now();
    let mut users = Vec::with_capacity(sizes.ids_needed());
    let mut after: Option<String> = None;
    while users.len() < sizes.ids_needed() {
        let q = match &after {
            Some(a) => format!("/users?limit=200&after={a}"),
            None => "/users?limit=200".to_string(),
        };
        let page = api.send(Method::GET, &q, None).await?;
        for u in page["items"].as_array().context("users: no items")? {
            users.push(u["id"].as_str().context("a user without id")?.to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_string()),
            None => break,
        }
    }
    ensure!(
        users.len() >= sizes.ids_needed(),
        "the tenant lists only {} users",
        users.len()
    );

    // Roles, each composite after the roles it contains.
    let mut roles: Vec<String> = Vec::with_capacity(sizes.roles);
    for i in 0..sizes.roles {
        let body = json!({
            "name": format!("role-{i}"),
            "permissions": [permission(i)],
            "composites": composites(i).iter().map(|&c| roles[c].clone()).collect::<Vec<_>>(),
        });
        roles.push(api.create("/roles", body).await?);
    }

    // Groups nested as a tree, members spread over them, a role for every group.
    let mut groups: Vec<String> = Vec::with_capacity(sizes.groups);
    for g in 0..sizes.groups {
        let id = api
            .create("/groups", json!({"name": format!("group-{g}")}))
            .await?;
        if g > 0 {
            let parent = &groups[(g - 1) / sizes.fanout];
            api.send(Method::PUT, &format!("/groups/{id}/parents/{parent}"), None)
                .await?;
        }
        groups.push(id);
    }
    let mut next_user = 1; // users[0] is the checked subject
    for k in 0..sizes.groups * sizes.members_per_group {
        let g = &groups[k % sizes.groups];
        let u = &users[next_user];
        next_user += 1;
        api.send(Method::PUT, &format!("/groups/{g}/members/{u}"), None)
            .await?;
    }
    // The root group gets the last hundred's top composite; the others an ordinary role each
    // (never the checked permission's role, its composite or the top one, so only the root's
    // assignment grants the checked permission).
    let top = sizes.roles / 100 * 100 - 1;
    for (g, group) in groups.iter().enumerate() {
        let role = if g == 0 { top } else { (g * 7) % (top - 12) };
        api.create(
            "/assignments",
            json!({"role_id": roles[role], "principal_type": "group", "principal_id": group}),
        )
        .await?;
    }
    for i in 0..sizes.user_assignments {
        let u = &users[next_user];
        next_user += 1;
        api.create(
            "/assignments",
            json!({"role_id": roles[(i * 13) % sizes.roles], "principal_type": "user", "principal_id": u}),
        )
        .await?;
    }

    // The subject: a member of the deepest (last) group only.
    let subject = &users[0];
    let leaf = sizes.groups - 1;
    api.send(
        Method::PUT,
        &format!("/groups/{}/members/{subject}", groups[leaf]),
        None,
    )
    .await?;
    eprintln!(
        "  authz-check: {} roles, {} groups (deepest at depth {}), {} admin API calls in {:.1} s",
        sizes.roles,
        sizes.groups,
        sizes.depth(leaf),
        api.calls,
        started.elapsed().as_secs_f64()
    );

    // A permission of a plain role inside a composite inside the top composite.
    let asked = permission(top - 11);
    let check = RequestTemplate::json(
        Method::POST,
        &format!("/api/v1/tenants/{TENANT}/authz/check"),
        &json!({"subject": subject, "permission": asked}),
    )
    .header(AUTHORIZATION, &api.auth)?;
    let v: Value = {
        let a = load::once(server.addr(), &check).await?;
        serde_json::from_slice(&a.body).context("authz/check answered without JSON")?
    };
    ensure!(
        v["allowed"] == true,
        "the seeded check is not allowed (the data set is wrong): {v}"
    );
    eprintln!("  authz-check: the check is allowed via {}", v["via"]);
    Ok(check)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composites_come_before_the_role_and_nest_two_levels() {
        assert!(composites(5).is_empty());
        assert_eq!(composites(19), (10..19).collect::<Vec<_>>());
        let c = composites(999);
        assert!(c.contains(&989) && c.contains(&909) && c.iter().all(|&r| r < 999));
        assert_eq!(composites(989), (980..989).collect::<Vec<_>>());
    }

    #[test]
    fn the_full_tree_is_a_few_levels_deep() {
        let s = Sizes::FULL;
        assert_eq!(s.depth(0), 0);
        assert_eq!(s.depth(1), 1);
        assert_eq!(s.depth(199), 4);
        assert!(s.check().is_ok());
        assert!(
            Sizes {
                users: 10,
                ..Sizes::FULL
            }
            .check()
            .is_err()
        );
    }
}
