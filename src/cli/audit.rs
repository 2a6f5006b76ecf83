//! `tessera audit …`: verify the hash chain, sign a checkpoint, export entries.

use clap::Subcommand;
use tessera_core::events::AuditFilter;
use tessera_core::page::PageRequest;
use tessera_core::store::AuditStore;
use tessera_server::app::Services;
use tessera_server::app::audit::{checkpoint, verify_chain};
use tessera_server::oidc::keys::KeyRing;

use super::output::{CliError, Out};

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Check the tenant's audit chain and signed checkpoints; exit status 0 only when intact.
    Verify {
        #[arg(long)]
        tenant: String,
    },
    /// Sign a checkpoint at the current end of the chain.
    Checkpoint {
        #[arg(long)]
        tenant: String,
    },
    /// Print entries as JSON Lines, newest first.
    Export {
        #[arg(long)]
        tenant: String,
        /// Only this event type, e.g. signin.failed.
        #[arg(long = "type")]
        event_type: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 10_000)]
        limit: usize,
    },
}

pub async fn run(cmd: AuditCmd, svc: &Services, out: &Out) -> Result<(), CliError> {
    match cmd {
        AuditCmd::Verify { tenant } => {
            let t = svc.tenant(&tenant).await?;
            let report = verify_chain(svc, t.id, &t.slug)
                .await
                .map_err(CliError::internal)?;
            out.print(&report, || {
                if report.intact {
                    format!(
                        "audit chain of {} is intact: {} entries, {} signed checkpoints",
                        t.slug, report.entries, report.checkpoints
                    )
                } else {
                    format!(
                        "audit chain of {} is BROKEN at entry {}: {}",
                        t.slug,
                        report.first_broken_seq.unwrap_or_default(),
                        report.problem.clone().unwrap_or_default()
                    )
                }
            });
            if !report.intact {
                return Err(CliError {
                    code: "audit_chain_broken",
                    message: report.problem.unwrap_or_default(),
                    exit: 6,
                    silent_json: true,
                });
            }
        }
        AuditCmd::Checkpoint { tenant } => {
            let t = svc.tenant(&tenant).await?;
            let cp = checkpoint(svc, &KeyRing::default(), t.id)
                .await
                .map_err(CliError::internal)?;
            let (seq, created) = match &cp {
                Some(c) => (c.seq, true),
                None => (svc.store.audit_head(t.id).await?.0, false),
            };
            out.print(
                &serde_json::json!({"tenant": t.slug, "seq": seq, "created": created}),
                || {
                    if created {
                        format!("signed a checkpoint at entry {seq}")
                    } else {
                        format!("entry {seq} already has a checkpoint (or the trail is empty)")
                    }
                },
            );
        }
        AuditCmd::Export {
            tenant,
            event_type,
            limit,
        } => {
            let t = svc.tenant(&tenant).await?;
            let filter = AuditFilter {
                event_type,
                ..Default::default()
            };
            let mut page = PageRequest {
                after: None,
                limit: Some(tessera_core::page::MAX_PAGE_SIZE),
            };
            let mut n = 0;
            'pages: loop {
                let p = svc.store.list_audit(t.id, &filter, &page).await?;
                for (e, personal) in p.items {
                    let line = serde_json::json!({
                        "seq": e.seq, "id": e.event_id.to_string(), "occurred_at": e.occurred_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                        "type": e.event_type, "data": e.body, "personal": personal, "hash": e.hash,
                    });
                    println!("{line}");
                    n += 1;
                    if n >= limit {
                        break 'pages;
                    }
                }
                match p.next_cursor {
                    Some(c) => page.after = Some(c),
                    None => break,
                }
            }
        }
    }
    Ok(())
}
