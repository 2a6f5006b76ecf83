//! Background maintenance every node runs: scheduled signing-key rotation, audit checkpoints and
//! retention, and purging of expired grants. These are safe to run on several nodes at once
//! (rotation is one transaction and an extra rotation only adds a key; purges are idempotent).
//! The retention pass that deletes accounts and expires consents (`crate::retention`) is started
//! from here too and runs on one node only, under a database lease.

use std::time::Duration;

use tessera_core::store::TenantStore;

use crate::state::AppState;

const INTERVAL: Duration = Duration::from_secs(600);

/// How long password-hash working memory stays reserved after its last use.
const HASH_MEMORY_IDLE: Duration = Duration::from_secs(5);

pub fn spawn(state: AppState) {
    crate::retention::spawn(state.clone());
    // A node at rest gives the memory of its sign-in peak back to the system.
    tokio::spawn(async {
        let mut tick = tokio::time::interval(HASH_MEMORY_IDLE);
        loop {
            tick.tick().await;
            if tessera_crypto::release_idle_hash_memory(HASH_MEMORY_IDLE) > 0 {
                return_free_memory();
            }
        }
    });
    {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(crate::signin::REFUSALS_FLUSH_EVERY);
            loop {
                tick.tick().await;
                crate::signin::flush_refusals(&state).await;
            }
        });
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        loop {
            tick.tick().await;
            run_once(&state).await;
        }
    });
}

pub async fn run_once(state: &AppState) {
    let svc = &state.services;
    match svc.store.list_tenants().await {
        Ok(tenants) => {
            for t in tenants {
                match crate::oidc::keys::rotation_due(svc, &t).await {
                    Ok(true) => {
                        if let Err(e) = crate::oidc::keys::rotate(
                            svc,
                            &state.keys,
                            &t,
                            tessera_core::events::Actor::system(),
                        )
                        .await
                        {
                            tracing::error!(tenant = %t.slug, error = %e, "scheduled signing-key rotation failed");
                        }
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(tenant = %t.slug, error = %e, "could not check signing-key age")
                    }
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "maintenance: cannot list tenants"),
    }
    // Audit: sign a checkpoint at each tenant's head, then apply retention.
    match svc.store.list_tenants().await {
        Ok(tenants) => {
            for t in tenants {
                if let Err(e) = crate::app::audit::checkpoint(svc, &state.keys, t.id).await {
                    tracing::warn!(tenant = %t.slug, error = %e, "audit checkpoint failed");
                }
                match crate::app::audit::enforce_retention(
                    svc,
                    t.id,
                    t.settings.audit_retention_days,
                )
                .await
                {
                    Ok(n) if n > 0 => {
                        tracing::info!(tenant = %t.slug, entries = n, "audit entries past retention pruned")
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(tenant = %t.slug, error = %e, "audit retention failed")
                    }
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "maintenance: cannot list tenants"),
    }
    // Expired grants, sign-ins in progress and spent email links (also part of every retention
    // pass; idempotent, so every node may do it).
    crate::retention::purge_expired(svc).await;
    // The risk engine's shared counts older than the longest velocity window.
    let cutoff = crate::app::Services::now() - crate::risk::shared::KEEP;
    match tessera_core::store::RiskVelocityStore::purge_risk_velocity(&svc.store, cutoff).await {
        Ok(n) if n > 0 => tracing::info!(rows = n, "purged old shared risk counts"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "maintenance: purge of shared risk counts failed"),
    }
    // Accounts whose deletion grace period is over (each under a lease: one node deletes it).
    let deleted = crate::account_portal::run_due_deletions(state).await;
    if deleted > 0 {
        tracing::info!(
            accounts = deleted,
            "deleted accounts at the end of their grace period"
        );
    }
}

/// Asks the allocator to hand freed memory back to the system (glibc keeps it otherwise, in
/// per-thread arenas, after a peak).
fn return_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
