//! `GroupStore`: `groups` and `group_members`. A membership row references both its group and
//! its user through `(tenant_id, id)`, so the database refuses a link across tenants; the foreign
//! key violation is reported as `NotFound`.
//!
//! Membership decides effective permissions: adding or removing a member and deleting a group
//! raise the tenant's authorization version (see `authz.rs`) in the same transaction.

use tessera_core::group::Group;
use tessera_core::page::{Page, PageRequest};
use tessera_core::store::{GroupStore, StoreResult};
use tessera_core::{GroupId, StoreError, TenantId, UserId};

use crate::Store;
use crate::authz::BUMP_AUTHZ_VERSION;
use crate::codec::{from_millis, id, to_millis};
use crate::users::page_of;

macro_rules! group_columns {
    () => {
        "tenant_id, id, name, description, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    tenant_id: String,
    id: String,
    name: String,
    description: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl GroupRow {
    fn into_group(self) -> Result<Group, StoreError> {
        Ok(Group {
            id: id("groups.id", &self.id, GroupId::parse)?,
            tenant_id: id("groups.tenant_id", &self.tenant_id, TenantId::parse)?,
            name: self.name,
            description: self.description,
            created_at: from_millis(self.created_at)?,
            updated_at: from_millis(self.updated_at)?,
        })
    }
}

fn into_groups(rows: Vec<GroupRow>) -> Result<Vec<Group>, StoreError> {
    rows.into_iter().map(GroupRow::into_group).collect()
}

impl GroupStore for Store {
    async fn create_group(&self, group: &Group) -> StoreResult<()> {
        execute!(
            self,
            sqlx::query(concat!(
                "INSERT INTO groups (",
                group_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6)"
            ))
            .bind(group.tenant_id.to_string())
            .bind(group.id.to_string())
            .bind(&group.name)
            .bind(&group.description)
            .bind(to_millis(group.created_at))
            .bind(to_millis(group.updated_at))
        )?;
        Ok(())
    }

    async fn get_group(&self, tenant: TenantId, id: GroupId) -> StoreResult<Option<Group>> {
        let row: Option<GroupRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                group_columns!(),
                " FROM groups WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(tenant.to_string())
            .bind(id.to_string())
        )?;
        row.map(GroupRow::into_group).transpose()
    }

    async fn list_groups(&self, tenant: TenantId, page: &PageRequest) -> StoreResult<Page<Group>> {
        let limit = page.limit();
        let rows: Vec<GroupRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                group_columns!(),
                " FROM groups WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"
            ))
            .bind(tenant.to_string())
            .bind(page.after.as_deref().unwrap_or(""))
            .bind(i64::from(limit) + 1)
        )?;
        Ok(page_of(into_groups(rows)?, limit, |g| g.id.to_string()))
    }

    async fn update_group(&self, group: &Group) -> StoreResult<()> {
        let updated = execute!(
            self,
            sqlx::query(
                "UPDATE groups SET name = $3, description = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2"
            )
            .bind(group.tenant_id.to_string())
            .bind(group.id.to_string())
            .bind(&group.name)
            .bind(&group.description)
            .bind(to_millis(group.updated_at))
        )?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_group(&self, tenant: TenantId, id: GroupId) -> StoreResult<bool> {
        let tenant = tenant.to_string();
        transaction!(self, tx => {
            // Memberships, nesting edges and role assignments go with it (ON DELETE CASCADE).
            let deleted = tx_execute!(
                tx,
                sqlx::query("DELETE FROM groups WHERE tenant_id = $1 AND id = $2")
                    .bind(&tenant)
                    .bind(id.to_string())
            )?;
            if deleted > 0 {
                tx_execute!(tx, sqlx::query(BUMP_AUTHZ_VERSION).bind(&tenant))?;
            }
            Ok(deleted > 0)
        })
    }

    async fn add_member(&self, tenant: TenantId, group: GroupId, user: UserId) -> StoreResult<()> {
        let tenant = tenant.to_string();
        transaction!(self, tx => {
            // A group or user outside `tenant` breaks a foreign key: `NotFound`. Membership
            // changes effective permissions: a new one raises the authorization version.
            let inserted = tx_execute!(
                tx,
                sqlx::query(
                    "INSERT INTO group_members (tenant_id, group_id, user_id) VALUES ($1, $2, $3) \
                     ON CONFLICT (tenant_id, group_id, user_id) DO NOTHING"
                )
                .bind(&tenant)
                .bind(group.to_string())
                .bind(user.to_string())
            )?;
            if inserted > 0 {
                tx_execute!(tx, sqlx::query(BUMP_AUTHZ_VERSION).bind(&tenant))?;
            }
            Ok(())
        })
    }

    async fn remove_member(
        &self,
        tenant: TenantId,
        group: GroupId,
        user: UserId,
    ) -> StoreResult<bool> {
        let tenant = tenant.to_string();
        transaction!(self, tx => {
            let deleted = tx_execute!(
                tx,
                sqlx::query(
                    "DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND user_id = $3"
                )
                .bind(&tenant)
                .bind(group.to_string())
                .bind(user.to_string())
            )?;
            if deleted > 0 {
                tx_execute!(tx, sqlx::query(BUMP_AUTHZ_VERSION).bind(&tenant))?;
            }
            Ok(deleted > 0)
        })
    }

    async fn list_members(&self, tenant: TenantId, group: GroupId) -> StoreResult<Vec<UserId>> {
        let ids: Vec<String> = fetch_all!(
            self,
            sqlx::query_scalar("SELECT user_id FROM group_members WHERE tenant_id = $1 AND group_id = $2 ORDER BY user_id")
                .bind(tenant.to_string())
                .bind(group.to_string())
        )?;
        ids.iter()
            .map(|u| id("group_members.user_id", u, UserId::parse))
            .collect()
    }

    async fn groups_of_user(&self, tenant: TenantId, user: UserId) -> StoreResult<Vec<Group>> {
        let rows: Vec<GroupRow> = fetch_all!(
            self,
            sqlx::query_as(
                "SELECT g.tenant_id, g.id, g.name, g.description, g.created_at, g.updated_at \
                 FROM group_members m JOIN groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id \
                 WHERE m.tenant_id = $1 AND m.user_id = $2 ORDER BY g.name"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
        )?;
        into_groups(rows)
    }
}
