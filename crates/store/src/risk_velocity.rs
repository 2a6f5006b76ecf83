//! `RiskVelocityStore`: the `risk_velocity` journal the nodes share their velocity counts
//! through. The IP is sealed, bound to its tenant and account key
//! (`risk_velocity.ip:{tenant}:{account}`).

use tessera_core::store::{RiskVelocityKind, RiskVelocityRecord, RiskVelocityStore, StoreResult};
use tessera_core::{TenantId, Timestamp};

use crate::Store;
use crate::codec::{Sealer, from_millis, id, to_millis};
use crate::error::corrupt;

type Row = (
    i64,
    String,
    String,
    i64,
    String,
    String,
    Option<Vec<u8>>,
    Option<String>,
);

impl RiskVelocityStore for Store {
    async fn append_risk_velocity(&self, records: &[RiskVelocityRecord]) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut sealed = Vec::with_capacity(records.len());
        for r in records {
            let sealer = Sealer::new(&self.crypto, "risk_velocity", r.tenant_id, &r.account);
            sealed.push(sealer.seal_opt("ip", r.ip.as_deref())?);
        }
        transaction!(self, tx => {
            for (r, ip) in records.iter().zip(&sealed) {
                tx_execute!(
                    tx,
                    sqlx::query(
                        "INSERT INTO risk_velocity \
                         (tenant_id, node, at, kind, account, ip, password_fingerprint) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)"
                    )
                    .bind(r.tenant_id.to_string())
                    .bind(&r.node)
                    .bind(to_millis(r.at))
                    .bind(r.kind.as_str())
                    .bind(&r.account)
                    .bind(ip.clone())
                    .bind(r.password_fingerprint.as_deref())
                )?;
            }
            Ok(())
        })
    }

    async fn risk_velocity_since(
        &self,
        since: Timestamp,
        except_node: &str,
        limit: u32,
    ) -> StoreResult<Vec<RiskVelocityRecord>> {
        let rows: Vec<Row> = fetch_all!(
            self,
            sqlx::query_as(
                "SELECT id, tenant_id, node, at, kind, account, ip, password_fingerprint \
                 FROM risk_velocity WHERE at >= $1 AND node <> $2 ORDER BY at, id LIMIT $3"
            )
            .bind(to_millis(since))
            .bind(except_node)
            .bind(i64::from(limit))
        )?;
        rows.into_iter()
            .map(
                |(row_id, tenant, node, at, kind, account, ip, fingerprint)| {
                    let tenant_id = id("risk_velocity.tenant_id", &tenant, TenantId::parse)?;
                    let ip = Sealer::new(&self.crypto, "risk_velocity", tenant_id, &account)
                        .open_opt("ip", ip.as_deref())?;
                    Ok(RiskVelocityRecord {
                        id: row_id,
                        tenant_id,
                        node,
                        at: from_millis(at)?,
                        kind: RiskVelocityKind::parse(&kind)
                            .ok_or_else(|| corrupt("risk_velocity.kind is not a known kind"))?,
                        account,
                        ip,
                        password_fingerprint: fingerprint,
                    })
                },
            )
            .collect()
    }

    async fn purge_risk_velocity(&self, before: Timestamp) -> StoreResult<u64> {
        execute!(
            self,
            sqlx::query("DELETE FROM risk_velocity WHERE at < $1").bind(to_millis(before))
        )
    }
}
