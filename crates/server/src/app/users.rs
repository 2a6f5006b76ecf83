//! Creating and changing accounts, including password hashing and import of existing hashes.

use std::collections::BTreeMap;

use tessera_core::events::{Actor, Event, EventKind, FieldChange, Target};
use tessera_core::store::{AuditStore, GrantStore, SessionStore, UserStore};
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
        actor: Actor,
    ) -> Result<User, CoreError> {
        let user = User::create(tenant, input, password_hash, Services::now())?;
        self.store
            .create_user(&user)
            .await
            .map_err(email_conflict)?;
        tracing::info!(tenant = %tenant, user = %user.id, "user created");
        let ev = Event::new(tenant, user.created_at, EventKind::UserCreated, actor)
            .target(Target::new("user", user.id))
            .subject(user.id)
            .detail("email", user.email.clone().into());
        self.emit(ev).await;
        Ok(user)
    }

    pub async fn user(&self, tenant: TenantId, id: UserId) -> Result<User, CoreError> {
        self.store
            .get_user(tenant, id)
            .await?
            .ok_or(CoreError::NotFound("user"))
    }

    /// Applies a patch; disabling an account also ends its sessions and revokes its tokens.
    pub async fn update_user(
        &self,
        tenant: TenantId,
        id: UserId,
        patch: UserPatch,
        actor: Actor,
    ) -> Result<User, CoreError> {
        let mut user = self.user(tenant, id).await?;
        let before = user.clone();
        let now = Services::now();
        let disabled = user.apply(patch, now)?;
        self.store
            .update_user(&user)
            .await
            .map_err(email_conflict)?;
        if disabled {
            let ended = self.store.list_sessions(tenant, Some(id), now).await?;
            let n = self.store.revoke_user_sessions(tenant, id, now).await?;
            for session in ended {
                let kind = EventKind::SessionRevoked {
                    session_id: session.id.to_string(),
                    reason: "user_disabled".into(),
                };
                self.emit(
                    Event::new(tenant, now, kind, actor.clone())
                        .target(Target::new("session", session.id))
                        .subject(id),
                )
                .await;
            }
            // Tokens die with the account's access: refresh tokens and recorded access tokens.
            self.store
                .revoke_user_client_tokens(tenant, id, None, now)
                .await?;
            tracing::info!(tenant = %tenant, user = %id, sessions_revoked = n, "user disabled");
        }
        let (changes, personal) = user_changes(&before, &user);
        let target = Target::new("user", id);
        if before.status != user.status {
            let kind = if disabled {
                EventKind::UserDisabled
            } else {
                EventKind::UserEnabled
            };
            self.emit(
                Event::new(tenant, now, kind, actor.clone())
                    .target(target.clone())
                    .subject(id),
            )
            .await;
        }
        if !changes.is_empty() {
            let mut ev = Event::new(tenant, now, EventKind::UserUpdated { changes }, actor)
                .target(target)
                .subject(id);
            for (k, v) in personal {
                ev = ev.detail(&k, v);
            }
            self.emit(ev).await;
        }
        Ok(user)
    }

    pub async fn set_password_hash(
        &self,
        tenant: TenantId,
        id: UserId,
        hash: Secret,
        actor: Actor,
    ) -> Result<User, CoreError> {
        let mut user = self.user(tenant, id).await?;
        user.password_hash = Some(hash);
        user.updated_at = Services::now();
        self.store.update_user(&user).await?;
        let ev = Event::new(tenant, user.updated_at, EventKind::PasswordChanged, actor)
            .target(Target::new("user", id))
            .subject(id);
        self.emit(ev).await;
        Ok(user)
    }

    /// Deletes the account and erases its personal data from the audit trail (the entries stay,
    /// pseudonymous, and the chain stays verifiable).
    pub async fn delete_user(
        &self,
        tenant: TenantId,
        id: UserId,
        actor: Actor,
    ) -> Result<(), CoreError> {
        if !self.store.delete_user(tenant, id).await? {
            return Err(CoreError::NotFound("user"));
        }
        tracing::info!(tenant = %tenant, user = %id, "user deleted");
        self.emit(
            Event::new(tenant, Services::now(), EventKind::UserDeleted, actor)
                .target(Target::new("user", id)),
        )
        .await;
        match self.store.erase_audit_subject(tenant, id).await {
            Ok(n) => {
                tracing::info!(tenant = %tenant, user = %id, entries = n, "personal data erased from the audit trail")
            }
            Err(e) => {
                tracing::error!(tenant = %tenant, user = %id, error = %e, "could not erase the user's personal data from the audit trail")
            }
        }
        // Consent records stay as pseudonymous proof; their sealed IP and user agent go.
        crate::privacy::erase(self, tenant, id).await;
        Ok(())
    }
}

/// Field-by-field differences for `user.updated`: personal fields appear only as "redacted" in
/// the hashed part; their before/after go to the encrypted personal part.
fn user_changes(
    before: &User,
    after: &User,
) -> (
    BTreeMap<String, FieldChange>,
    BTreeMap<String, serde_json::Value>,
) {
    let mut changes = BTreeMap::new();
    let mut personal = BTreeMap::new();
    let mut personal_field = |name: &str, b: serde_json::Value, a: serde_json::Value| {
        if b != a {
            changes.insert(name.to_string(), FieldChange::redacted());
            personal.insert(
                name.to_string(),
                serde_json::json!({"before": b, "after": a}),
            );
        }
    };
    personal_field(
        "email",
        before.email.clone().into(),
        after.email.clone().into(),
    );
    personal_field(
        "name",
        before.name.clone().into(),
        after.name.clone().into(),
    );
    personal_field(
        "given_name",
        before.given_name.clone().into(),
        after.given_name.clone().into(),
    );
    personal_field(
        "family_name",
        before.family_name.clone().into(),
        after.family_name.clone().into(),
    );
    personal_field(
        "phone",
        before.phone.clone().into(),
        after.phone.clone().into(),
    );
    personal_field(
        "attributes",
        before.attributes.clone(),
        after.attributes.clone(),
    );
    if before.email_verified != after.email_verified {
        changes.insert(
            "email_verified".into(),
            FieldChange::values(before.email_verified.into(), after.email_verified.into()),
        );
    }
    if before.status != after.status {
        changes.insert(
            "status".into(),
            FieldChange::values(before.status.as_str().into(), after.status.as_str().into()),
        );
    }
    (changes, personal)
}
