//! Groups of users within a tenant (membership drives roles and policies in later features).

use serde::{Deserialize, Serialize};

use crate::tenant::validate_display_name;
use crate::{CoreError, GroupId, TenantId, Timestamp};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub tenant_id: TenantId,
    pub name: String,
    pub description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

impl Group {
    pub fn create(
        tenant_id: TenantId,
        name: &str,
        description: Option<&str>,
        now: Timestamp,
    ) -> Result<Group, CoreError> {
        let description = match description.map(str::trim) {
            None | Some("") => None,
            Some(d) if d.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
                return Err(CoreError::invalid(
                    "description",
                    "must not contain control characters",
                ));
            }
            Some(d) if d.chars().count() > 1000 => {
                return Err(CoreError::invalid(
                    "description",
                    "must be at most 1000 characters",
                ));
            }
            Some(d) => Some(d.to_string()),
        };
        Ok(Group {
            id: GroupId::new(),
            tenant_id,
            name: validate_display_name("name", name)?,
            description,
            created_at: now,
            updated_at: now,
        })
    }
}
