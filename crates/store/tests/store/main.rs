//! The store's behaviour, proven on both backends: each body below runs as `sqlite::<name>` on a
//! temporary SQLite file and as `postgres::<name>` on a fresh PostgreSQL database.

#[macro_use]
mod common;

mod api_keys;
mod at_rest;
mod clients;
mod connect;
mod groups;
mod isolation;
mod sessions;
mod tenants;
mod throttle;
mod users;

on_both_backends!(
    tenants::migrations_are_idempotent,
    tenants::tenants_crud,
    tenants::delete_tenant_cascades,
    users::users_crud,
    users::duplicate_email_conflicts,
    users::users_pagination_and_filters,
    users::decryption_failure_is_corrupt,
    groups::groups_crud,
    groups::membership,
    clients::clients_crud,
    sessions::sessions_lifecycle,
    sessions::list_sessions_filters_inactive,
    throttle::throttle_counts_restarts_and_locks,
    throttle::concurrent_failures_are_all_counted,
    api_keys::api_keys_crud,
    isolation::tenant_isolation,
    at_rest::personal_data_is_encrypted_at_rest,
);
