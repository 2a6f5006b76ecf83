//! First start: the `admin` tenant and its first operator.

use tessera_core::store::TenantStore;
use tessera_core::tenant::{ADMIN_TENANT, Preset};
use tessera_core::user::NewUser;
use tessera_core::{CoreError, Secret};
use tessera_crypto::random_password;

use tessera_core::events::Actor;

use super::Services;
use super::users::{PasswordInput, prepare_password};

/// The operator email used when `TESSERA_BOOTSTRAP_ADMIN_EMAIL` is unset.
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@localhost";

#[derive(Debug)]
pub enum Bootstrap {
    /// The admin tenant already existed; nothing was done.
    AlreadyDone,
    /// Created with the configured operator credentials.
    Created { email: String },
    /// Created with a generated one-time password that the caller prints exactly once.
    CreatedWithSetupPassword { email: String, password: Secret },
}

impl Services {
    /// Creates the `admin` tenant and its first operator unless the tenant exists. Safe when
    /// several nodes start together: only the one whose insert wins creates the operator.
    pub async fn bootstrap(&self) -> Result<Bootstrap, CoreError> {
        if self.store.get_tenant_by_slug(ADMIN_TENANT).await?.is_some() {
            return Ok(Bootstrap::AlreadyDone);
        }
        let tenant = match self
            .create_tenant(
                ADMIN_TENANT,
                Some("Administration"),
                Preset::Workforce,
                None,
                Actor::system(),
            )
            .await
        {
            Ok(t) => t,
            Err(CoreError::Conflict(_)) => return Ok(Bootstrap::AlreadyDone),
            Err(e) => return Err(e),
        };
        let (email, password, generated) = match (
            &self.config.bootstrap_admin_email,
            &self.config.bootstrap_admin_password,
        ) {
            (Some(e), Some(p)) => (e.clone(), Secret::new(p.clone()), false),
            _ => (
                DEFAULT_ADMIN_EMAIL.to_string(),
                Secret::new(random_password(20)),
                true,
            ),
        };
        let hasher = self.hasher.clone();
        let pw = password.clone();
        let hash = tokio::task::spawn_blocking(move || {
            prepare_password(&hasher, PasswordInput::Plain(pw))
        })
        .await
        .map_err(|e| CoreError::invalid("password", format!("hashing task failed: {e}")))??;
        let attributes = generated.then(|| serde_json::json!({"must_change_password": true}));
        let user = self
            .create_user(
                tenant.id,
                NewUser {
                    email: email.clone(),
                    email_verified: true,
                    name: Some("Administrator".into()),
                    attributes,
                    ..Default::default()
                },
                hash,
                Actor::system(),
            )
            .await;
        if let Err(e) = user {
            // Leave no half-made bootstrap behind: without its operator the admin tenant is useless.
            let _ = self.store.delete_tenant(tenant.id).await;
            return Err(e);
        }
        Ok(if generated {
            Bootstrap::CreatedWithSetupPassword { email, password }
        } else {
            Bootstrap::Created { email }
        })
    }
}
