//! Creating and changing accounts, including password hashing and import of existing hashes.

use tessera_core::store::{GrantStore, SessionStore, UserStore};
use tessera_core::user::{NewUser, User, UserPatch};
use tessera_core::{CoreError, Secret, StoreError, TenantId, UserId};
use tessera_crypto::{PasswordHasher, inspect_imported_hash};

use super::Services;

/// NIST SP 800-63B: at least 8 characters, and long passphrases must be accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// How a new account gets its password, if any.
#[derive(Debug, Default)]
pub enum PasswordInput {
    #[default]
    None,
    Plain(Secret),
    /// A hash exported from another system (bcrypt, scrypt, PBKDF2, argon2), upgraded at next sign-in.
    Imported(Secret),
}

pub fn check_password_rules(password: &str) -> Result<(), CoreError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(CoreError::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(CoreError::invalid(
            "password",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Turns the password input into the stored hash. CPU-heavy for plain passwords: the server calls
/// it through the admission gate.
pub fn prepare_password(
    hasher: &PasswordHasher,
    input: PasswordInput,
) -> Result<Option<Secret>, CoreError> {
    match input {
        PasswordInput::None => Ok(None),
        PasswordInput::Plain(p) => {
            check_password_rules(p.expose())?;
            let hash = hasher
                .hash(p.expose())
                .map_err(|e| CoreError::invalid("password", format!("could not be hashed: {e}")))?;
            Ok(Some(Secret::new(hash)))
        }
        PasswordInput::Imported(h) => {
            inspect_imported_hash(h.expose())
                .map_err(|e| CoreError::invalid("password_hash", e.to_string()))?;
            Ok(Some(h))
        }
    }
}

fn email_conflict(e: StoreError) -> CoreError {
    match e {
        StoreError::Conflict(_) => CoreError::Conflict("a user with this email".into()),
        other => other.into(),
    }
}

impl Services {
    /// Creates an account with an already prepared password hash (see [`prepare_password`]).
    pub async fn create_user(
        &self,
        tenant: TenantId,
        input: NewUser,
        password_hash: Option<Secret>,
    ) -> Result<User, CoreError> {
        let user = User::create(tenant, input, password_hash, Services::now())?;
        self.store
            .create_user(&user)
            .await
            .map_err(email_conflict)?;
        tracing::info!(tenant = %tenant, user = %user.id, "user created");
        Ok(user)
    }

    pub async fn user(&self, tenant: TenantId, id: UserId) -> Result<User, CoreError> {
        self.store
            .get_user(tenant, id)
            .await?
            .ok_or(CoreError::NotFound("user"))
    }

    /// Applies a patch; disabling an account also ends its sessions.
    pub async fn update_user(
        &self,
        tenant: TenantId,
        id: UserId,
        patch: UserPatch,
    ) -> Result<User, CoreError> {
        let mut user = self.user(tenant, id).await?;
        let now = Services::now();
        let disabled = user.apply(patch, now)?;
        self.store
            .update_user(&user)
            .await
            .map_err(email_conflict)?;
        if disabled {
            let n = self.store.revoke_user_sessions(tenant, id, now).await?;
            // Tokens die with the account's access: refresh tokens and recorded access tokens.
            self.store
                .revoke_user_client_tokens(tenant, id, None, now)
                .await?;
            tracing::info!(tenant = %tenant, user = %id, sessions_revoked = n, "user disabled");
        }
        Ok(user)
    }

    pub async fn set_password_hash(
        &self,
        tenant: TenantId,
        id: UserId,
        hash: Secret,
    ) -> Result<User, CoreError> {
        let mut user = self.user(tenant, id).await?;
        user.password_hash = Some(hash);
        user.updated_at = Services::now();
        self.store.update_user(&user).await?;
        Ok(user)
    }

    pub async fn delete_user(&self, tenant: TenantId, id: UserId) -> Result<(), CoreError> {
        if !self.store.delete_user(tenant, id).await? {
            return Err(CoreError::NotFound("user"));
        }
        tracing::info!(tenant = %tenant, user = %id, "user deleted");
        Ok(())
    }
}
