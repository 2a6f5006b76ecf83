//! Creating, finding and changing tenants.

use tessera_core::CoreError;
use tessera_core::store::TenantStore;
use tessera_core::tenant::{Preset, Tenant, TenantSettings};

use super::Services;

impl Services {
    pub async fn create_tenant(
        &self,
        slug: &str,
        name: Option<&str>,
        preset: Preset,
    ) -> Result<Tenant, CoreError> {
        let tenant = Tenant::new(slug, name, preset, Services::now())?;
        self.store
            .create_tenant(&tenant)
            .await
            .map_err(|e| match e {
                tessera_core::StoreError::Conflict(_) => {
                    CoreError::Conflict(format!("tenant \"{slug}\""))
                }
                other => other.into(),
            })?;
        tracing::info!(tenant = %tenant.slug, preset = preset.as_str(), "tenant created");
        Ok(tenant)
    }

    /// The tenant with this slug, or `NotFound("tenant")`.
    pub async fn tenant(&self, slug: &str) -> Result<Tenant, CoreError> {
        self.store
            .get_tenant_by_slug(slug)
            .await?
            .ok_or(CoreError::NotFound("tenant"))
    }

    pub async fn update_tenant(
        &self,
        slug: &str,
        name: Option<&str>,
        settings: Option<TenantSettings>,
    ) -> Result<Tenant, CoreError> {
        let mut tenant = self.tenant(slug).await?;
        if let Some(n) = name {
            tenant.name = tessera_core::tenant::validate_display_name("name", n)?;
        }
        if let Some(s) = settings {
            s.validate()?;
            tenant.settings = s;
        }
        tenant.updated_at = Services::now();
        self.store.update_tenant(&tenant).await?;
        Ok(tenant)
    }

    pub async fn delete_tenant(&self, slug: &str) -> Result<(), CoreError> {
        let tenant = self.tenant(slug).await?;
        if tenant.is_admin() {
            return Err(CoreError::invalid(
                "slug",
                "the admin tenant cannot be deleted",
            ));
        }
        self.store.delete_tenant(tenant.id).await?;
        tracing::info!(tenant = %slug, "tenant deleted");
        Ok(())
    }
}
