//! Audit trail, event pipeline and outbound deliveries, end to end: the real `tessera` binary on
//! SQLite (`…::sqlite::…`) and on a throwaway PostgreSQL database (`…::postgres::…`, skipped with
//! a notice when PostgreSQL is not reachable, failing in CI).
//!
//! What is proven here: every state change lands in the tenant's hash chain with its personal data
//! sealed apart (`events`); the chain and its signed checkpoints expose any change made behind the
//! server's back (`tamper`); concurrent writers, on one node or two, never fork it and the outbox
//! delivers each event once (`concurrency`); webhooks are signed, retried, dead-lettered,
//! redelivered and survive a crash (`webhooks`); syslog and JSON Lines streams carry the same
//! events (`streams`); erasing a user shreds their data but not the chain (`erasure`); retention
//! prunes up to a signed checkpoint (`retention`).
//!
//! The process harness is the end-to-end suite's, shared by path; `support` holds what these
//! tests add to it: a local webhook receiver, syslog collectors, raw database access (to tamper
//! with) and an independent implementation of the chain format and of the webhook signature.

#[macro_use]
#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../e2e/harness/mod.rs"]
mod harness;

#[macro_use]
mod support;

/// Like `on_both_backends!`, for scenarios that show a product bug: they are declared (so
/// `cargo test --test audit -- --ignored` reproduces the bug) but ignored with `reason` until the
/// fix lands.
#[allow(unused_macros)]
macro_rules! known_bug_on_both_backends {
    ($reason:literal: $($name:ident),* $(,)?) => {
        mod known_bug {
            mod sqlite {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    #[ignore = $reason]
                    async fn $name() {
                        super::super::$name($crate::harness::Backend::sqlite()).await;
                    }
                )*
            }
            mod postgres {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    #[ignore = $reason]
                    async fn $name() {
                        let Some(backend) = $crate::harness::Backend::postgres().await else {
                            return;
                        };
                        super::super::$name(backend).await;
                    }
                )*
            }
        }
    };
}

mod concurrency;
mod erasure;
mod events;
mod retention;
mod streams;
mod tamper;
mod webhooks;
