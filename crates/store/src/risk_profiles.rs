//! `RiskProfileStore`: the `risk_profiles` table. The profile (countries, networks, devices and
//! the last location of a user's sign-ins) is personal data, sealed as one field bound to its
//! tenant and user (`risk_profile.profile:{tenant}:{user}`); the row goes with the user.

use tessera_core::store::{RiskProfileStore, StoreResult};
use tessera_core::{TenantId, Timestamp, UserId};

use crate::Store;
use crate::codec::{Sealer, to_millis};

impl RiskProfileStore for Store {
    async fn risk_profile(&self, tenant: TenantId, user: UserId) -> StoreResult<Option<String>> {
        let row: Option<(Vec<u8>,)> = fetch_optional!(
            self,
            sqlx::query_as(
                "SELECT profile FROM risk_profiles WHERE tenant_id = $1 AND user_id = $2"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
        )?;
        row.map(|(sealed,)| {
            Sealer::new(&self.crypto, "risk_profile", tenant, user).open("profile", &sealed)
        })
        .transpose()
    }

    async fn save_risk_profile(
        &self,
        tenant: TenantId,
        user: UserId,
        profile_json: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        let sealed = Sealer::new(&self.crypto, "risk_profile", tenant, user)
            .seal("profile", profile_json)?;
        // A user deleted meanwhile breaks the foreign key: nothing to keep then.
        let result = execute!(
            self,
            sqlx::query(
                "INSERT INTO risk_profiles (tenant_id, user_id, profile, updated_at) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, user_id) DO UPDATE SET profile = $3, updated_at = $4"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(sealed)
            .bind(to_millis(at))
        );
        match result {
            Ok(_) | Err(tessera_core::StoreError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
