//! Operators' changes to a tenant's identity providers, shared by the admin API and the CLI:
//! the preset and settings are checked by the protocol crate, the policy fields by the domain,
//! secrets are kept write-only, and every change is an audit event.

use serde_json::{Value, json};
use tessera_core::events::{Actor, Event, EventKind, FieldChange, Target, field_changes};
use tessera_core::federation::{
    FederationStore, IdentityProvider, IdentityProviderId, validate_domains,
};
use tessera_core::tenant::Tenant;
use tessera_core::{CoreError, Secret, StoreError};
use tessera_federation::ProviderConfig;
use tessera_federation::config::{ClientAuth, merge_patch};

use crate::app::Services;

/// A provider to add.
#[derive(Clone, Debug, Default)]
pub struct NewProvider {
    pub alias: String,
    pub display_name: Option<String>,
    pub enabled: bool,
    pub preset: Option<String>,
    pub client_secret: Option<Secret>,
    pub trust_email: bool,
    pub jit: bool,
    pub domains: Vec<String>,
    /// Protocol settings laid over the preset (a JSON object, or null).
    pub config: Value,
}

/// A change; `None` leaves a field as it is, `client_secret: Some(None)` removes the secret,
/// `config` is a JSON merge patch over the current settings.
#[derive(Clone, Debug, Default)]
pub struct ProviderChange {
    pub display_name: Option<String>,
    pub enabled: Option<bool>,
    pub client_secret: Option<Option<Secret>>,
    pub trust_email: Option<bool>,
    pub jit: Option<bool>,
    pub domains: Option<Vec<String>>,
    pub config: Option<Value>,
}

/// The button label a preset implies.
pub fn default_name(preset: Option<&str>, alias: &str) -> String {
    match preset.map(|p| p.split(':').next().unwrap_or(p)) {
        Some("google") => "Google".into(),
        Some("microsoft") => "Microsoft".into(),
        Some("apple") => "Apple".into(),
        Some("github") => "GitHub".into(),
        Some("facebook") => "Facebook".into(),
        _ => alias.to_string(),
    }
}

/// A client secret as given: 1 to 16384 characters, trimmed.
pub fn secret(s: &str) -> Result<Secret, CoreError> {
    let t = s.trim();
    if t.is_empty() || t.len() > 16 * 1024 {
        return Err(CoreError::invalid(
            "client_secret",
            "must be 1 to 16384 characters",
        ));
    }
    Ok(Secret::new(t.to_string()))
}

/// Checks the protocol settings (and an Apple key) and returns them as stored.
fn checked_settings(config: &ProviderConfig, secret: Option<&Secret>) -> Result<Value, CoreError> {
    config
        .validate(secret.is_some())
        .map_err(|e| CoreError::invalid("config", e.to_string()))?;
    if config.client_auth == ClientAuth::AppleJwt
        && let Some(s) = secret
    {
        tessera_federation::apple::read_key(s.expose())
            .map_err(|e| CoreError::invalid("client_secret", e.to_string()))?;
    }
    serde_json::to_value(config).map_err(|e| CoreError::invalid("config", e.to_string()))
}

/// What an event may show of a provider: everything but the secret.
fn public(p: &IdentityProvider) -> Value {
    json!({
        "alias": p.alias, "display_name": p.display_name, "enabled": p.enabled,
        "trust_email": p.trust_email, "jit": p.jit, "domains": p.domains, "config": p.settings,
    })
}

fn alias_conflict(alias: &str) -> impl Fn(StoreError) -> CoreError + '_ {
    move |e| match e {
        StoreError::Conflict(_) => CoreError::Conflict(format!("identity provider {alias}")),
        other => other.into(),
    }
}

pub async fn create_provider(
    svc: &Services,
    tenant: &Tenant,
    input: NewProvider,
    actor: Actor,
) -> Result<IdentityProvider, CoreError> {
    if !input.config.is_object() && !input.config.is_null() {
        return Err(CoreError::invalid("config", "must be a JSON object"));
    }
    let settings = if input.config.is_null() {
        json!({})
    } else {
        input.config
    };
    let config = tessera_federation::presets::build(input.preset.as_deref(), &settings)
        .map_err(|m| CoreError::invalid("config", m))?;
    let settings = checked_settings(&config, input.client_secret.as_ref())?;
    let now = Services::now();
    let provider = IdentityProvider {
        id: IdentityProviderId::new(),
        tenant_id: tenant.id,
        display_name: input
            .display_name
            .unwrap_or_else(|| default_name(input.preset.as_deref(), &input.alias)),
        alias: input.alias,
        enabled: input.enabled,
        trust_email: input.trust_email,
        jit: input.jit,
        domains: validate_domains(&input.domains)?,
        settings,
        client_secret: input.client_secret,
        created_at: now,
        updated_at: now,
    };
    provider.validate()?;
    svc.store
        .create_identity_provider(&provider)
        .await
        .map_err(alias_conflict(&provider.alias))?;
    svc.login_providers.clear();
    let ev = Event::new(
        tenant.id,
        now,
        EventKind::IdentityProviderCreated {
            alias: provider.alias.clone(),
        },
        actor,
    )
    .target(Target::new("identity_provider", provider.id));
    svc.emit(ev).await;
    Ok(provider)
}

pub async fn provider(
    svc: &Services,
    tenant: &Tenant,
    alias: &str,
) -> Result<IdentityProvider, CoreError> {
    svc.store
        .find_identity_provider(tenant.id, alias)
        .await?
        .ok_or(CoreError::NotFound("identity provider"))
}

/// Applies a change; returns the provider before and after (the caller forgets cached discovery
/// documents and keys of both).
pub async fn update_provider(
    svc: &Services,
    tenant: &Tenant,
    alias: &str,
    change: ProviderChange,
    actor: Actor,
) -> Result<(IdentityProvider, IdentityProvider), CoreError> {
    let before = provider(svc, tenant, alias).await?;
    let mut p = before.clone();
    if let Some(n) = change.display_name {
        p.display_name = n;
    }
    if let Some(e) = change.enabled {
        p.enabled = e;
    }
    if let Some(t) = change.trust_email {
        p.trust_email = t;
    }
    if let Some(j) = change.jit {
        p.jit = j;
    }
    if let Some(d) = change.domains {
        p.domains = validate_domains(&d)?;
    }
    if let Some(s) = change.client_secret {
        p.client_secret = s;
    }
    let mut settings = p.settings.clone();
    if let Some(patch) = &change.config {
        if !patch.is_object() {
            return Err(CoreError::invalid(
                "config",
                "must be a JSON object (a merge patch)",
            ));
        }
        merge_patch(&mut settings, patch);
    }
    let config: ProviderConfig = serde_json::from_value(settings)
        .map_err(|e| CoreError::invalid("config", e.to_string()))?;
    p.settings = checked_settings(&config, p.client_secret.as_ref())?;
    p.validate()?;
    p.updated_at = Services::now();
    svc.store
        .update_identity_provider(&p)
        .await
        .map_err(alias_conflict(&p.alias))?;
    svc.login_providers.clear();
    let mut changes = field_changes(&public(&before), &public(&p), "", &[]);
    if before.client_secret != p.client_secret {
        changes.insert("client_secret".into(), FieldChange::redacted());
    }
    let ev = Event::new(
        tenant.id,
        p.updated_at,
        EventKind::IdentityProviderUpdated { changes },
        actor,
    )
    .target(Target::new("identity_provider", p.id));
    svc.emit(ev).await;
    Ok((before, p))
}

/// Deletes a provider with the identities linked through it; returns what was deleted.
pub async fn delete_provider(
    svc: &Services,
    tenant: &Tenant,
    alias: &str,
    actor: Actor,
) -> Result<IdentityProvider, CoreError> {
    let p = provider(svc, tenant, alias).await?;
    if !svc.store.delete_identity_provider(tenant.id, p.id).await? {
        return Err(CoreError::NotFound("identity provider"));
    }
    svc.login_providers.clear();
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::IdentityProviderDeleted {
            alias: p.alias.clone(),
        },
        actor,
    )
    .target(Target::new("identity_provider", p.id));
    svc.emit(ev).await;
    Ok(p)
}
