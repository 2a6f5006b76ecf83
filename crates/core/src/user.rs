//! Accounts: the people who sign in to a tenant.

use serde::{Deserialize, Serialize};

use crate::tenant::validate_display_name;
use crate::{CoreError, Secret, TenantId, Timestamp, UserId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    /// Cannot sign in; existing sessions are revoked when an account is disabled.
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }
    pub fn parse(s: &str) -> Result<UserStatus, CoreError> {
        match s {
            "active" => Ok(UserStatus::Active),
            "disabled" => Ok(UserStatus::Disabled),
            _ => Err(CoreError::invalid(
                "status",
                "must be \"active\" or \"disabled\"",
            )),
        }
    }
}

/// A user account. Personal fields are plain here; the store encrypts them at rest.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub phone: Option<String>,
    pub status: UserStatus,
    /// Custom attributes, always a JSON object.
    pub attributes: serde_json::Value,
    /// PHC/MCF password hash, or `None` for accounts without a password.
    pub password_hash: Option<Secret>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_login_at: Option<Timestamp>,
}

/// What a caller supplies to create an account; validated by [`User::create`].
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub phone: Option<String>,
    pub attributes: Option<serde_json::Value>,
}

/// A partial update; `None` leaves a field unchanged, `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<Option<String>>,
    pub given_name: Option<Option<String>>,
    pub family_name: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub status: Option<UserStatus>,
    pub attributes: Option<serde_json::Value>,
}

/// Filters for listing users.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    /// Exact match on the normalized email (through the blind index; no partial search on encrypted data).
    pub email: Option<String>,
    pub status: Option<UserStatus>,
}

impl User {
    /// Validates the input and builds the account; `password_hash` is already hashed (or imported).
    pub fn create(
        tenant_id: TenantId,
        input: NewUser,
        password_hash: Option<Secret>,
        now: Timestamp,
    ) -> Result<User, CoreError> {
        Ok(User {
            id: UserId::new(),
            tenant_id,
            email: validate_email(&input.email)?,
            email_verified: input.email_verified,
            name: optional_name("name", input.name)?,
            given_name: optional_name("given_name", input.given_name)?,
            family_name: optional_name("family_name", input.family_name)?,
            phone: input.phone.map(|p| validate_phone(&p)).transpose()?,
            status: UserStatus::Active,
            attributes: validate_attributes(input.attributes)?,
            password_hash,
            created_at: now,
            updated_at: now,
            last_login_at: None,
        })
    }

    /// Applies a validated patch; returns whether the account went from active to disabled.
    pub fn apply(&mut self, patch: UserPatch, now: Timestamp) -> Result<bool, CoreError> {
        let was_active = self.status == UserStatus::Active;
        if let Some(email) = patch.email {
            let email = validate_email(&email)?;
            if normalize_email(&email) != normalize_email(&self.email) {
                // A new address has not been proven by its owner.
                self.email_verified = false;
            }
            self.email = email;
        }
        if let Some(v) = patch.email_verified {
            self.email_verified = v;
        }
        if let Some(v) = patch.name {
            self.name = optional_name("name", v)?;
        }
        if let Some(v) = patch.given_name {
            self.given_name = optional_name("given_name", v)?;
        }
        if let Some(v) = patch.family_name {
            self.family_name = optional_name("family_name", v)?;
        }
        if let Some(v) = patch.phone {
            self.phone = v.map(|p| validate_phone(&p)).transpose()?;
        }
        if let Some(s) = patch.status {
            self.status = s;
        }
        if let Some(a) = patch.attributes {
            self.attributes = validate_attributes(Some(a))?;
        }
        self.updated_at = now;
        Ok(was_active && self.status == UserStatus::Disabled)
    }

    pub fn can_sign_in(&self) -> bool {
        self.status == UserStatus::Active
    }
}

/// The form used for lookups: trimmed and lowercased, so `Alice@Example.com` finds `alice@example.com`.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A pragmatic check (RFC 5321 lengths, one `@`, no spaces or controls); the real proof of an
/// address is the verification email.
pub fn validate_email(email: &str) -> Result<String, CoreError> {
    let e = email.trim();
    let bad = |m: &str| Err(CoreError::invalid("email", m.to_string()));
    if e.is_empty() {
        return bad("must not be empty");
    }
    if e.len() > 254 {
        return bad("must be at most 254 characters");
    }
    if e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must not contain spaces or control characters");
    }
    let Some((local, domain)) = e.rsplit_once('@') else {
        return bad("must look like name@example.com");
    };
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return bad("must look like name@example.com");
    }
    let labels_ok = domain
        .split('.')
        .all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-'));
    if domain.is_empty()
        || !labels_ok
        || domain.contains(['<', '>', '(', ')', '[', ']', ',', ';', ':', '"', '\\'])
    {
        return bad("has an invalid domain part");
    }
    Ok(e.to_string())
}

fn optional_name(field: &'static str, v: Option<String>) -> Result<Option<String>, CoreError> {
    match v {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => validate_display_name(field, &s).map(Some),
    }
}

fn validate_phone(p: &str) -> Result<String, CoreError> {
    let p = p.trim();
    let digits = p.chars().filter(char::is_ascii_digit).count();
    let allowed = p
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if !allowed || !(5..=20).contains(&digits) || p.len() > 32 {
        return Err(CoreError::invalid(
            "phone",
            "use digits with an optional leading + (E.164, e.g. +14155550100)",
        ));
    }
    Ok(p.to_string())
}

/// Custom attributes must be a JSON object and stay small (they are encrypted and loaded with every account).
fn validate_attributes(a: Option<serde_json::Value>) -> Result<serde_json::Value, CoreError> {
    match a {
        None | Some(serde_json::Value::Null) => Ok(serde_json::Value::Object(Default::default())),
        Some(v @ serde_json::Value::Object(_)) => {
            if v.to_string().len() > 16 * 1024 {
                Err(CoreError::invalid(
                    "attributes",
                    "must be at most 16 KiB of JSON",
                ))
            } else {
                Ok(v)
            }
        }
        Some(_) => Err(CoreError::invalid("attributes", "must be a JSON object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        time::macros::datetime!(2026-01-01 0:00 UTC)
    }

    #[test]
    fn emails() {
        for ok in [
            "a@b.c",
            "alice@example.com",
            " Alice@Example.COM ",
            "admin@localhost",
            "o'brien@x.org",
        ] {
            assert!(validate_email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "alice",
            "@x.com",
            "a@",
            "a b@x.com",
            "a@x..com",
            "a@-x.com",
            "a\u{1}b@x.com",
            "a@[1.2.3.4]",
        ] {
            assert!(validate_email(bad).is_err(), "{bad:?}");
        }
        assert_eq!(normalize_email(" Alice@Example.COM "), "alice@example.com");
    }

    #[test]
    fn create_validates_and_defaults() {
        let u = User::create(
            TenantId::new(),
            NewUser {
                email: "a@b.co".into(),
                name: Some("  Alice ".into()),
                ..Default::default()
            },
            None,
            now(),
        )
        .unwrap();
        assert_eq!(u.name.as_deref(), Some("Alice"));
        assert_eq!(u.status, UserStatus::Active);
        assert!(u.attributes.is_object());
        let bad = User::create(
            TenantId::new(),
            NewUser {
                email: "a@b.co".into(),
                attributes: Some(serde_json::json!([1])),
                ..Default::default()
            },
            None,
            now(),
        );
        assert!(bad.is_err());
    }

    #[test]
    fn changing_email_clears_verification_and_disable_is_reported() {
        let mut u = User::create(
            TenantId::new(),
            NewUser {
                email: "a@b.co".into(),
                email_verified: true,
                ..Default::default()
            },
            None,
            now(),
        )
        .unwrap();
        u.apply(
            UserPatch {
                email: Some("A@B.CO".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
        assert!(
            u.email_verified,
            "same address in another case stays verified"
        );
        u.apply(
            UserPatch {
                email: Some("c@b.co".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
        assert!(!u.email_verified);
        let disabled = u
            .apply(
                UserPatch {
                    status: Some(UserStatus::Disabled),
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
        assert!(disabled);
        assert!(!u.can_sign_in());
    }
}
