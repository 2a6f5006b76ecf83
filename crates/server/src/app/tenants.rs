//! Creating, finding and changing tenants.

use std::collections::BTreeMap;
use std::time::Duration;

use tessera_core::CoreError;
use tessera_core::events::{Actor, Event, EventKind, FieldChange, Target, field_changes};
use tessera_core::store::{AuthzStore, TenantStore};
use tessera_core::tenant::{Preset, Tenant, TenantSettings};

use super::Services;

/// How long a tenant found by slug is served from memory on the protocol endpoints (see
/// [`super::short_cache`]).
pub const TENANT_CACHE_TTL: Duration = Duration::from_secs(1);

impl Services {
    /// The tenant with this slug, from memory when it was read less than [`TENANT_CACHE_TTL`]
    /// ago: discovery, JWKS, token, introspection and UserInfo would otherwise read the tenants
    /// table on every call.
    pub async fn cached_tenant(
        &self,
        slug: &str,
    ) -> Result<Option<Tenant>, tessera_core::StoreError> {
        if let Some(t) = self.tenant_cache.get(slug) {
            return Ok(Some(t));
        }
        let found = self.store.get_tenant_by_slug(slug).await?;
        if let Some(t) = &found {
            self.tenant_cache.put(slug.to_string(), t.clone());
        }
        Ok(found)
    }

    pub async fn create_tenant(
        &self,
        slug: &str,
        name: Option<&str>,
        preset: Preset,
        region: Option<&str>,
        actor: Actor,
    ) -> Result<Tenant, CoreError> {
        let mut tenant = Tenant::new(slug, name, preset, Services::now())?;
        tenant.region =
            tessera_core::tenant::resolve_region(region, self.config.region.as_deref())?;
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
        let kind = EventKind::TenantCreated {
            slug: tenant.slug.clone(),
            preset: preset.as_str().into(),
            region: tenant.region.clone(),
        };
        self.emit(
            Event::new(tenant.id, tenant.created_at, kind, actor)
                .target(Target::new("tenant", tenant.id)),
        )
        .await;
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
        region: Option<&str>,
        settings: Option<TenantSettings>,
        actor: Actor,
    ) -> Result<Tenant, CoreError> {
        let mut tenant = self.tenant(slug).await?;
        let before = tenant.clone();
        if let Some(r) = region {
            tenant.region =
                tessera_core::tenant::resolve_region(Some(r), self.config.region.as_deref())?;
        }
        if let Some(n) = name {
            tenant.name = tessera_core::tenant::validate_display_name("name", n)?;
        }
        if let Some(mut s) = settings {
            // The logo reference belongs to the logo endpoints, not to the settings document.
            s.branding.logo = before.settings.branding.logo.clone();
            s.validate()?;
            for rule in &s.role_rules {
                if rule.attribute.trim().is_empty() || rule.attribute.len() > 100 {
                    return Err(CoreError::invalid(
                        "settings.role_rules",
                        "each rule needs an attribute name (1-100 characters)",
                    ));
                }
                if self
                    .store
                    .get_role(tenant.id, rule.role_id)
                    .await?
                    .is_none()
                {
                    return Err(CoreError::invalid(
                        "settings.role_rules",
                        format!("role {} does not exist in this tenant", rule.role_id),
                    ));
                }
            }
            tenant.settings = s;
        }
        tenant.updated_at = Services::now();
        self.store.update_tenant(&tenant).await?;
        self.tenant_cache.clear();
        let mut changes = BTreeMap::new();
        if before.name != tenant.name {
            changes.insert(
                "name".to_string(),
                FieldChange::values(before.name.clone().into(), tenant.name.clone().into()),
            );
        }
        if before.region != tenant.region {
            changes.insert(
                "region".to_string(),
                FieldChange::values(before.region.clone().into(), tenant.region.clone().into()),
            );
        }
        changes.extend(field_changes(
            &serde_json::to_value(&before.settings).unwrap_or_default(),
            &serde_json::to_value(&tenant.settings).unwrap_or_default(),
            "settings.",
            &[],
        ));
        if !changes.is_empty() {
            let ev = Event::new(
                tenant.id,
                tenant.updated_at,
                EventKind::TenantUpdated { changes },
                actor,
            )
            .target(Target::new("tenant", tenant.id));
            self.emit(ev).await;
        }
        Ok(tenant)
    }

    /// Records that the tenant has (or no longer has) a logo: `settings.branding.logo`.
    pub async fn set_tenant_logo(
        &self,
        slug: &str,
        logo: Option<tessera_core::branding::LogoRef>,
        actor: Actor,
    ) -> Result<Tenant, CoreError> {
        let mut tenant = self.tenant(slug).await?;
        let before = serde_json::to_value(&tenant.settings.branding.logo).unwrap_or_default();
        tenant.settings.branding.logo = logo;
        tenant.updated_at = Services::now();
        self.store.update_tenant(&tenant).await?;
        self.tenant_cache.clear();
        let after = serde_json::to_value(&tenant.settings.branding.logo).unwrap_or_default();
        if before != after {
            let mut changes = BTreeMap::new();
            changes.insert(
                "settings.branding.logo".to_string(),
                FieldChange::values(before, after),
            );
            let ev = Event::new(
                tenant.id,
                tenant.updated_at,
                EventKind::TenantUpdated { changes },
                actor,
            )
            .target(Target::new("tenant", tenant.id));
            self.emit(ev).await;
        }
        Ok(tenant)
    }

    pub async fn delete_tenant(&self, slug: &str, actor: Actor) -> Result<(), CoreError> {
        let tenant = self.tenant(slug).await?;
        if tenant.is_admin() {
            return Err(CoreError::invalid(
                "slug",
                "the admin tenant cannot be deleted",
            ));
        }
        self.store.delete_tenant(tenant.id).await?;
        self.tenant_cache.clear();
        self.client_cache.clear();
        tracing::info!(tenant = %slug, "tenant deleted");
        // The tenant's own trail goes with it; the deletion is recorded in the admin tenant's trail.
        if let Ok(Some(admin)) = self
            .store
            .get_tenant_by_slug(tessera_core::tenant::ADMIN_TENANT)
            .await
        {
            let ev = Event::new(
                admin.id,
                Services::now(),
                EventKind::TenantDeleted {
                    slug: slug.to_string(),
                },
                actor,
            )
            .target(Target::new("tenant", tenant.id));
            self.emit(ev).await;
        }
        Ok(())
    }
}
