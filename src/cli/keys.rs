//! `tessera keys …`: admin API keys now; token signing keys come with the OpenID Connect provider.

use clap::Subcommand;
use tessera_core::ApiKeyId;
use tessera_core::apikey::{AdminRole, ApiScope};
use tessera_core::events::Actor;
use tessera_core::store::ApiKeyStore;
use tessera_server::app::Services;
use tessera_server::oidc::keys::{KeyRing, rotate};

use super::output::{CliError, Out};

#[derive(Subcommand)]
pub enum KeysCmd {
    /// Create an admin API key (printed once). Keys of the admin tenant reach every tenant.
    CreateApiKey {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// read or write (repeatable; write implies read). Default: write.
        #[arg(long = "scope", value_parser = ["read", "write"])]
        scopes: Vec<String>,
        /// Built-in admin role: operator (admin tenant only), tenant_admin, user_manager, auditor,
        /// app_owner. Default: from the scope (write: operator in the admin tenant, tenant_admin
        /// elsewhere; read: auditor).
        #[arg(long, value_parser = ["operator", "tenant_admin", "user_manager", "auditor", "app_owner"])]
        role: Option<String>,
        /// Lifetime in days (default: no expiry).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List a tenant's API keys (never the secrets).
    ListApiKeys {
        #[arg(long)]
        tenant: String,
    },
    /// Revoke an API key by id.
    RevokeApiKey {
        #[arg(long)]
        tenant: String,
        id: String,
    },
    /// Rotate the tenant's token signing keys.
    Rotate {
        #[arg(long)]
        tenant: String,
    },
}

pub async fn run(cmd: KeysCmd, svc: &Services, out: &Out) -> Result<(), CliError> {
    match cmd {
        KeysCmd::CreateApiKey {
            tenant,
            name,
            scopes,
            role,
            expires_in_days,
        } => {
            let t = svc.tenant(&tenant).await?;
            let role = role.as_deref().map(AdminRole::parse).transpose()?;
            if role == Some(AdminRole::Operator) && !t.is_admin() {
                return Err(CliError::invalid(
                    "--role operator: only keys of the admin tenant can be deployment operators",
                ));
            }
            let scopes = match (scopes.is_empty(), role) {
                (false, _) => scopes,
                (true, Some(AdminRole::Auditor)) => vec!["read".to_string()],
                (true, _) => vec!["write".to_string()],
            };
            let scopes = scopes
                .iter()
                .map(|s| ApiScope::parse(s))
                .collect::<Result<Vec<_>, _>>()?;
            let expires_at =
                expires_in_days.map(|d| Services::now() + time::Duration::days(i64::from(d)));
            let (key, secret) = svc
                .create_api_key(t.id, &name, scopes, role, expires_at, Actor::cli())
                .await?;
            let mut value =
                serde_json::to_value(&key).map_err(|e| CliError::internal(e.to_string()))?;
            value["api_key"] = serde_json::Value::String(secret.expose().to_string());
            value["tenant"] = serde_json::Value::String(t.slug.clone());
            out.print(&value, || {
                format!(
                    "API key (store it now; it is not shown again):\n{}",
                    secret.expose()
                )
            });
        }
        KeysCmd::ListApiKeys { tenant } => {
            let t = svc.tenant(&tenant).await?;
            let keys = svc.store.list_api_keys(t.id).await?;
            out.print(&serde_json::json!({ "items": keys }), || {
                keys.iter()
                    .map(|k| {
                        format!(
                            "{}\t{}…\t{}\t{}",
                            k.id,
                            k.display_prefix,
                            k.name,
                            if k.revoked_at.is_some() {
                                "revoked"
                            } else {
                                "active"
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        KeysCmd::RevokeApiKey { tenant, id } => {
            let t = svc.tenant(&tenant).await?;
            let id =
                ApiKeyId::parse(&id).ok_or_else(|| CliError::not_found("API key not found"))?;
            if !svc.store.revoke_api_key(t.id, id, Services::now()).await? {
                return Err(CliError::not_found("API key not found or already revoked"));
            }
            let ev = tessera_core::events::Event::new(
                t.id,
                Services::now(),
                tessera_core::events::EventKind::ApiKeyRevoked {
                    key_id: id.to_string(),
                },
                Actor::cli(),
            )
            .target(tessera_core::events::Target::new("api_key", id));
            svc.emit(ev).await;
            out.print(
                &serde_json::json!({"revoked": true, "id": id.to_string()}),
                || format!("revoked API key {id}"),
            );
        }
        KeysCmd::Rotate { tenant } => {
            let t = svc.tenant(&tenant).await?;
            let ring = KeyRing::default();
            // Make sure the tenant has keys to rotate from (created on first use otherwise).
            ring.keys(svc, t.id)
                .await
                .map_err(|e| CliError::internal(e.to_string()))?;
            let kids = rotate(svc, &ring, &t, Actor::cli())
                .await
                .map_err(|e| CliError::internal(e.to_string()))?;
            out.print(
                &serde_json::json!({"rotated": true, "tenant": t.slug, "active_kids": kids}),
                || {
                    format!(
                        "rotated the signing keys of {}; new key ids: {}",
                        t.slug,
                        kids.join(", ")
                    )
                },
            );
        }
    }
    Ok(())
}
