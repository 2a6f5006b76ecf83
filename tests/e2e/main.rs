//! End-to-end tests: the real `tessera` binary on a free port, driven through its CLI, its admin
//! API, its hosted pages (with a cookie-keeping HTTP client and with headless Chromium) and its
//! operations endpoints. Every scenario that touches storage runs once on SQLite (`…::sqlite::…`)
//! and once on a throwaway PostgreSQL database (`…::postgres::…`, skipped with a notice when
//! PostgreSQL is not reachable, and failing in CI).
//!
//! `harness` starts processes and talks to them; each other module is one area of the product.
//!
//! Run: `cargo test --test e2e` (PostgreSQL from `TESSERA_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; the browser test needs Debian's `chromium` and
//! `chromium-driver`; `CI=true` turns both "skip with a notice" cases into failures). Servers log
//! to `server-N.stderr.log` in their deployment's temporary folder; assertion messages quote them.

#[macro_use]
mod harness;

mod access_policies;
mod accessibility;
mod account_portal;
mod admin_roles;
mod admission;
mod analytics;
mod api_clients;
mod api_groups;
mod api_sessions;
mod api_tenants;
mod api_users;
mod at_rest;
mod bad_input;
mod bootstrap;
mod branding_i18n;
mod browser;
mod cli;
mod config;
mod email;
mod federation;
mod import;
mod isolation;
mod journey;
mod mfa;
mod ops;
mod passkeys;
mod privacy;
mod privacy_requests;
mod recovery;
mod registration;
mod risk;
mod risk_cli;
mod session_expiry;
mod shutdown;
mod signin;
mod throttle;
