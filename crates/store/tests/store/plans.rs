//! PostgreSQL only: on a new database (every table empty and never analyzed), the plan that
//! PostgreSQL keeps for a prepared point lookup uses the index made for that lookup.
//!
//! After a few executions of a prepared statement PostgreSQL may switch to one plan for any
//! parameters (a generic plan) and keep it for the connection's life. Without statistics it
//! cannot tell `tenant_id = $1` from `token_hash = $2`, so a secondary index leading with
//! `tenant_id` looked as good as the primary key, and a lookup planned on it read every row of
//! the tenant each time (see migration `20260614000000_index_order.sql`). SQLite's planner
//! prefers a unique index whose every column is bound, so it needs no such care.

use sqlx::Connection;

use tessera_store::testing::postgres_presented_token_reads;

use crate::common::Harness;

/// Each lookup as the store spells its `WHERE` clause (every parameter text), and the index its
/// generic plan must use.
const LOOKUPS: &[(&str, &str)] = &[
    (
        "SELECT * FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2",
        "refresh_tokens_pkey",
    ),
    (
        "UPDATE refresh_tokens SET rotated_at = 1 WHERE tenant_id = $1 AND token_hash = $2 \
         AND rotated_at IS NULL AND revoked_at IS NULL",
        "refresh_tokens_pkey",
    ),
    (
        "SELECT * FROM access_tokens WHERE tenant_id = $1 AND token_id = $2",
        "access_tokens_pkey",
    ),
    (
        "SELECT * FROM authorization_codes WHERE tenant_id = $1 AND code_hash = $2",
        "authorization_codes_pkey",
    ),
    (
        "SELECT * FROM device_authorizations WHERE tenant_id = $1 AND device_code_hash = $2",
        "device_authorizations_pkey",
    ),
    (
        "SELECT * FROM users WHERE tenant_id = $1 AND id = $2",
        "users_pkey",
    ),
    (
        "SELECT * FROM users WHERE tenant_id = $1 AND email_bidx = $2",
        "users_email_unique",
    ),
    (
        "SELECT * FROM sessions WHERE tenant_id = $1 AND token_hash = $2",
        "sessions_token_hash_idx",
    ),
    (
        "SELECT * FROM login_flows WHERE tenant_id = $1 AND id = $2",
        "login_flows_pkey",
    ),
    (
        "SELECT * FROM mfa_factors WHERE tenant_id = $1 AND id = $2",
        "mfa_factors_pkey",
    ),
    (
        "SELECT * FROM federation_states WHERE tenant_id = $1 AND state_hash = $2",
        "federation_states_state_idx",
    ),
    (
        "SELECT * FROM linked_identities WHERE tenant_id = $1 AND id = $2",
        "linked_identities_pkey",
    ),
    (
        "SELECT * FROM refresh_tokens WHERE tenant_id = $1 AND family_id = $2",
        "refresh_tokens_family_idx",
    ),
    (
        "SELECT * FROM access_tokens WHERE tenant_id = $1 AND user_id = $2",
        "access_tokens_user_idx",
    ),
];

/// The indexes the plans of the reads of a presented token (`present_refresh_token`, then
/// `present_access_token`, as the store spells them for PostgreSQL) must use (`a|b`: either; both
/// are unique on the looked-up key). Each joined row must be looked up by its own key: a join
/// condition left as a `Join Filter` means the inner scan reads more than one row (planned as a
/// plain join, the generic plan scanned the tenant's users and sessions,
/// `Index Cond: (tenant_id = $1)`, and filtered them by id).
const JOINED: [&[&str]; 2] = [
    &[
        "refresh_tokens_pkey",
        "users_pkey",
        "sessions_pkey|sessions_tenant_id_unique",
    ],
    &["access_tokens_pkey", "users_pkey"],
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_generic_plans_of_point_lookups_use_their_own_index() {
    let Some(h) = Harness::postgres().await else {
        return;
    };
    let mut conn = sqlx::PgConnection::connect(&h.url()).await.unwrap();
    sqlx::raw_sql("SET plan_cache_mode = force_generic_plan")
        .execute(&mut conn)
        .await
        .unwrap();
    let mut wrong = Vec::new();
    let single = LOOKUPS
        .iter()
        .map(|(statement, index)| (*statement, vec![*index]));
    let joined = postgres_presented_token_reads()
        .into_iter()
        .zip(JOINED)
        .map(|(statement, indexes)| (statement, indexes.to_vec()));
    for (i, (statement, indexes)) in single.chain(joined).enumerate() {
        let prepare = format!("PREPARE lookup_{i} (text, text) AS {statement}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(prepare))
            .execute(&mut conn)
            .await
            .unwrap();
        let explain = format!("EXPLAIN EXECUTE lookup_{i} ('t', 'k')");
        let plan: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(explain))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        let plan: Vec<String> = plan.into_iter().map(|(line,)| line).collect();
        if let Some(filter) = plan.iter().find(|line| line.contains("Join Filter")) {
            wrong.push(format!(
                "{statement}\n  a join condition is a filter ({}), planned:\n    {}",
                filter.trim(),
                plan.join("\n    ")
            ));
        }
        for index in indexes {
            let uses = index.split('|').any(|index| {
                plan.iter().any(|line| {
                    line.contains(&format!(" using {index} on "))
                        || line.contains(&format!(" on {index}"))
                })
            });
            if !uses {
                wrong.push(format!(
                    "{statement}\n  expected {index}, planned:\n    {}",
                    plan.join("\n    ")
                ));
            }
        }
    }
    conn.close().await.unwrap();
    h.finish().await;
    assert!(
        wrong.is_empty(),
        "generic plans on a new database that do not use the lookup's own index:\n{}",
        wrong.join("\n")
    );
}
