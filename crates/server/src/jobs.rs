//! Background maintenance every node runs: scheduled signing-key rotation and purging of expired
//! grants. Both are safe to run on several nodes at once (rotation is one transaction and an extra
//! rotation only adds a key; purges are idempotent), so no lease is taken yet.

use std::time::Duration;

use tessera_core::store::{GrantStore, TenantStore};

use crate::app::Services;
use crate::state::AppState;

const INTERVAL: Duration = Duration::from_secs(600);

pub fn spawn(state: AppState) {
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
    match svc.store.purge_expired_grants(Services::now()).await {
        Ok(n) if n > 0 => tracing::info!(rows = n, "purged expired codes and tokens"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "maintenance: purge of expired grants failed"),
    }
    // Sign-ins in progress that expired (abandoned at the second factor, unused emailed codes).
    match tessera_core::store::MfaStore::purge_login_flows(&svc.store, Services::now()).await {
        Ok(n) if n > 0 => tracing::info!(rows = n, "purged expired sign-ins in progress"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "maintenance: purge of sign-ins in progress failed"),
    }
    // Spent or expired email links are kept a day (a late click still finds "already used").
    let cutoff = Services::now() - time::Duration::days(1);
    match tessera_core::verification::VerificationStore::purge_verifications(&svc.store, cutoff)
        .await
    {
        Ok(n) if n > 0 => tracing::info!(rows = n, "purged spent or expired email links"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "maintenance: purge of email links failed"),
    }
    // The risk engine's shared counts older than the longest velocity window.
    let cutoff = Services::now() - crate::risk::shared::KEEP;
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
