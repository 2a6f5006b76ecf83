//! `AuthzStore`: roles (`roles`, `role_composites`), role assignments (`role_assignments`), group
//! nesting (`group_parents`) and each tenant's authorization version (`authz_versions`).
//!
//! - Every link goes through `(tenant_id, id)` foreign keys, so a composite, an assignment or a
//!   nesting edge that names a role, user or group of another tenant (or none at all) is refused
//!   by the database, atomically with the write, and reported as `NotFound`.
//! - An assignment names its principal in one of two nullable columns, `user_id` or `group_id`
//!   (a check constraint requires exactly one), each a foreign key with `ON DELETE CASCADE`:
//!   deleting a user or a group deletes its assignments, as deleting a role deletes its
//!   assignments and its place in other roles' composites.
//! - A role name is unique per tenant and application; tenant-wide roles (no application) count as
//!   one more application. The rule is a unique index on `(tenant_id, COALESCE(application, ''),
//!   name)`, which both backends support, so `application` keeps NULL for tenant-wide roles.
//! - Every change bumps `authz_versions.version` ([`BUMP_AUTHZ_VERSION`]) as the last statement
//!   of its transaction, only when it changed something: repeating an idempotent write (adding
//!   an existing nesting edge, deleting what is gone) leaves the version alone. Group membership
//!   changes and group and user deletions (`groups.rs`, `users.rs`) bump it too. Being the last
//!   statement, the bump never holds the version row's lock while waiting for another.
//! - [`AuthzStore::load_authz_graph`] reads roles with their composites, nesting edges and
//!   assignments in three queries, in one transaction that reads one snapshot on both backends
//!   (see `dialect::snapshot_statement`). Read the version before the graph: a graph cached under
//!   that version is then never newer-looking than it is.

use std::collections::{BTreeSet, HashMap};

use tessera_core::authz::{AuthzGraph, Condition, Principal, Role, RoleAssignment};
use tessera_core::store::{AuthzStore, StoreResult};
use tessera_core::{AssignmentId, GroupId, RoleId, StoreError, TenantId, UserId};

use crate::Store;
use crate::codec::{
    from_json, from_millis, id, opt_from_millis, opt_to_millis, to_json, to_millis,
};
use crate::error::corrupt;

/// Raises the authorization version of tenant `$1` (from 0 when it has none yet). Runs in the
/// transaction of the change, as its last statement.
pub(crate) const BUMP_AUTHZ_VERSION: &str = "INSERT INTO authz_versions (tenant_id, version) VALUES ($1, 1) \
     ON CONFLICT (tenant_id) DO UPDATE SET version = authz_versions.version + 1";

/// Roles of tenant `$1`, one row per composite (or one row with a NULL `member_role_id` for a
/// role without composites); append further conditions, then [`ROLE_ORDER`].
macro_rules! role_select {
    () => {
        "SELECT r.tenant_id, r.id, r.name, r.description, r.application, r.permissions, \
         r.created_at, r.updated_at, c.member_role_id \
         FROM roles r LEFT JOIN role_composites c ON c.tenant_id = r.tenant_id AND c.role_id = r.id \
         WHERE r.tenant_id = $1"
    };
}

/// By name, then application (tenant-wide first), then id: the rows of one role are consecutive,
/// as [`fold_roles`] needs.
macro_rules! role_order {
    () => {
        " ORDER BY r.name, COALESCE(r.application, ''), r.id, c.member_role_id"
    };
}

const INSERT_COMPOSITE: &str =
    "INSERT INTO role_composites (tenant_id, role_id, member_role_id) VALUES ($1, $2, $3)";

macro_rules! assignment_columns {
    () => {
        "id, tenant_id, role_id, user_id, group_id, valid_from, valid_until, condition, created_at"
    };
}

#[derive(sqlx::FromRow)]
struct RoleRow {
    tenant_id: String,
    id: String,
    name: String,
    description: Option<String>,
    application: Option<String>,
    permissions: String,
    created_at: i64,
    updated_at: i64,
    member_role_id: Option<String>,
}

/// Folds the rows of [`role_select!`] (those of one role consecutive) into roles, in row order.
fn fold_roles(rows: Vec<RoleRow>) -> Result<Vec<Role>, StoreError> {
    let mut roles: Vec<Role> = Vec::new();
    for row in rows {
        let role_id = id("roles.id", &row.id, RoleId::parse)?;
        let member = row
            .member_role_id
            .as_deref()
            .map(|m| id("role_composites.member_role_id", m, RoleId::parse))
            .transpose()?;
        let role = match roles.last_mut() {
            Some(last) if last.id == role_id => last,
            _ => {
                roles.push(Role {
                    id: role_id,
                    tenant_id: id("roles.tenant_id", &row.tenant_id, TenantId::parse)?,
                    name: row.name,
                    description: row.description,
                    application: row.application,
                    permissions: from_json("roles.permissions", &row.permissions)?,
                    composites: BTreeSet::new(),
                    created_at: from_millis(row.created_at)?,
                    updated_at: from_millis(row.updated_at)?,
                });
                roles.last_mut().expect("a role was just pushed")
            }
        };
        if let Some(member) = member {
            role.composites.insert(member);
        }
    }
    Ok(roles)
}

#[derive(sqlx::FromRow)]
struct AssignmentRow {
    id: String,
    tenant_id: String,
    role_id: String,
    user_id: Option<String>,
    group_id: Option<String>,
    valid_from: Option<i64>,
    valid_until: Option<i64>,
    condition: Option<String>,
    created_at: i64,
}

impl AssignmentRow {
    fn into_assignment(self) -> Result<RoleAssignment, StoreError> {
        let principal = match (self.user_id.as_deref(), self.group_id.as_deref()) {
            (Some(u), None) => Principal::User(id("role_assignments.user_id", u, UserId::parse)?),
            (None, Some(g)) => {
                Principal::Group(id("role_assignments.group_id", g, GroupId::parse)?)
            }
            _ => {
                return Err(corrupt(
                    "role_assignments does not name exactly one of user_id and group_id",
                ));
            }
        };
        Ok(RoleAssignment {
            id: id("role_assignments.id", &self.id, AssignmentId::parse)?,
            tenant_id: id(
                "role_assignments.tenant_id",
                &self.tenant_id,
                TenantId::parse,
            )?,
            role_id: id("role_assignments.role_id", &self.role_id, RoleId::parse)?,
            principal,
            valid_from: opt_from_millis(self.valid_from)?,
            valid_until: opt_from_millis(self.valid_until)?,
            condition: self
                .condition
                .as_deref()
                .map(|c| from_json::<Condition>("role_assignments.condition", c))
                .transpose()?,
            created_at: from_millis(self.created_at)?,
        })
    }
}

fn into_assignments(rows: Vec<AssignmentRow>) -> Result<Vec<RoleAssignment>, StoreError> {
    rows.into_iter()
        .map(AssignmentRow::into_assignment)
        .collect()
}

/// The column values of a role that every write binds.
struct RoleValues {
    tenant: String,
    id: String,
    permissions: String,
    composites: Vec<String>,
}

impl RoleValues {
    fn new(role: &Role) -> Result<Self, StoreError> {
        Ok(RoleValues {
            tenant: role.tenant_id.to_string(),
            id: role.id.to_string(),
            // A `BTreeSet`: a sorted JSON array.
            permissions: to_json("roles.permissions", &role.permissions)?,
            composites: role.composites.iter().map(ToString::to_string).collect(),
        })
    }
}

/// `(user_id, group_id)` of a principal: exactly one is set.
fn principal_columns(principal: Principal) -> (Option<String>, Option<String>) {
    match principal {
        Principal::User(u) => (Some(u.to_string()), None),
        Principal::Group(g) => (None, Some(g.to_string())),
    }
}

impl AuthzStore for Store {
    async fn create_role(&self, role: &Role) -> StoreResult<()> {
        let v = RoleValues::new(role)?;
        transaction!(self, tx => {
            // An unknown tenant breaks a foreign key: `NotFound`.
            tx_execute!(
                tx,
                sqlx::query(
                    "INSERT INTO roles (tenant_id, id, name, description, application, permissions, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                )
                .bind(&v.tenant)
                .bind(&v.id)
                .bind(&role.name)
                .bind(&role.description)
                .bind(&role.application)
                .bind(&v.permissions)
                .bind(to_millis(role.created_at))
                .bind(to_millis(role.updated_at))
            )?;
            for member in &v.composites {
                // A member outside the tenant breaks a foreign key: `NotFound`.
                tx_execute!(
                    tx,
                    sqlx::query(INSERT_COMPOSITE)
                        .bind(&v.tenant)
                        .bind(&v.id)
                        .bind(member)
                )?;
            }
            tx_execute!(tx, sqlx::query(BUMP_AUTHZ_VERSION).bind(&v.tenant))?;
            Ok(())
        })
    }

    async fn get_role(&self, tenant: TenantId, id: RoleId) -> StoreResult<Option<Role>> {
        let rows: Vec<RoleRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(role_select!(), " AND r.id = $2", role_order!()))
                .bind(tenant.to_string())
                .bind(id.to_string())
        )?;
        Ok(fold_roles(rows)?.into_iter().next())
    }

    async fn list_roles(&self, tenant: TenantId) -> StoreResult<Vec<Role>> {
        let rows: Vec<RoleRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(role_select!(), role_order!())).bind(tenant.to_string())
        )?;
        fold_roles(rows)
    }

    /// The role's application, id and creation time are kept; `updated_at` is taken from `role`.
    async fn update_role(&self, role: &Role) -> StoreResult<()> {
        let v = RoleValues::new(role)?;
        transaction!(self, tx => {
            let updated = tx_execute!(
                tx,
                sqlx::query(
                    "UPDATE roles SET name = $3, description = $4, permissions = $5, updated_at = $6 \
                     WHERE tenant_id = $1 AND id = $2"
                )
                .bind(&v.tenant)
                .bind(&v.id)
                .bind(&role.name)
                .bind(&role.description)
                .bind(&v.permissions)
                .bind(to_millis(role.updated_at))
            )?;
            if updated == 0 {
                return Err(StoreError::NotFound);
            }
            tx_execute!(
                tx,
                sqlx::query("DELETE FROM role_composites WHERE tenant_id = $1 AND role_id = $2")
                    .bind(&v.tenant)
                    .bind(&v.id)
            )?;
            for member in &v.composites {
                tx_execute!(
                    tx,
                    sqlx::query(INSERT_COMPOSITE)
                        .bind(&v.tenant)
                        .bind(&v.id)
                        .bind(member)
                )?;
            }
            tx_execute!(tx, sqlx::query(BUMP_AUTHZ_VERSION).bind(&v.tenant))?;
            Ok(())
        })
    }

    async fn delete_role(&self, tenant: TenantId, id: RoleId) -> StoreResult<bool> {
        let tenant = tenant.to_string();
        transaction!(self, tx => {
            // Assignments and composite links go with it (ON DELETE CASCADE).
            let deleted = tx_execute!(
                tx,
                sqlx::query("DELETE FROM roles WHERE tenant_id = $1 AND id = $2")
                    .bind(&tenant)
                    .bind(id.to_string())
            )?;
            if deleted > 0 {
                tx_execute!(tx, sqlx::query(BUMP_AUTHZ_VERSION).bind(&tenant))?;
            }
            Ok(deleted > 0)
        })
    }

    /// The role, user and group foreign keys check, atomically with the insert, that the role
    /// and the principal exist in the tenant.
    async fn create_assignment(&self, a: &RoleAssignment) -> StoreResult<()> {
        let tenant = a.tenant_id.to_string();
        let (user, group) = principal_columns(a.principal);
        let condition = a
            .condition
            .as_ref()
            .map(|c| to_json("role_assignments.condition", c))
            .transpose()?;
        transaction!(self, tx => {
            tx_execute!(
                tx,
                sqlx::query(concat!(
                    "INSERT INTO role_assignments (",
                    assignment_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ))
                .bind(a.id.to_string())
                .bind(&tenant)
                .bind(a.role_id.to_string())
                .bind(&user)
                .bind(&group)
                .bind(opt_to_millis(a.valid_from))
                .bind(opt_to_millis(a.valid_until))
                .bind(&condition)
                .bind(to_millis(a.created_at))
            )?;
            tx_execute!(tx, sqlx::query(BUMP_AUTHZ_VERSION).bind(&tenant))?;
            Ok(())
        })
    }

    async fn list_assignments(
        &self,
        tenant: TenantId,
        principal: Option<Principal>,
        role: Option<RoleId>,
    ) -> StoreResult<Vec<RoleAssignment>> {
        let (user, group) = principal.map_or((None, None), principal_columns);
        let rows: Vec<AssignmentRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                assignment_columns!(),
                " FROM role_assignments WHERE tenant_id = $1",
                " AND ($2 IS NULL OR user_id = $2) AND ($3 IS NULL OR group_id = $3)",
                " AND ($4 IS NULL OR role_id = $4) ORDER BY created_at, id"
            ))
            .bind(tenant.to_string())
            .bind(user)
            .bind(group)
            .bind(role.map(|r| r.to_string()))
        )?;
        into_assignments(rows)
    }

    async fn delete_assignment(&self, tenant: TenantId, id: AssignmentId) -> StoreResult<bool> {
        let tenant = tenant.to_string();
        transaction!(self, tx => {
            let deleted = tx_execute!(
                tx,
                sqlx::query("DELETE FROM role_assignments WHERE tenant_id = $1 AND id = $2")
                    .bind(&tenant)
                    .bind(id.to_string())
            )?;
            if deleted > 0 {
                tx_execute!(tx, sqlx::query(BUMP_AUTHZ_VERSION).bind(&tenant))?;
            }
            Ok(deleted > 0)
        })
    }

    async fn add_group_parent(
        &self,
        tenant: TenantId,
        child: GroupId,
        parent: GroupId,
    ) -> StoreResult<()> {
        let tenant = tenant.to_string();
        transaction!(self, tx => {
            // A group outside `tenant` breaks a foreign key: `NotFound`. An existing edge is
            // left alone, and so is the version.
            let inserted = tx_execute!(
                tx,
                sqlx::query(
                    "INSERT INTO group_parents (tenant_id, child_group_id, parent_group_id) \
                     VALUES ($1, $2, $3) \
                     ON CONFLICT (tenant_id, child_group_id, parent_group_id) DO NOTHING"
                )
                .bind(&tenant)
                .bind(child.to_string())
                .bind(parent.to_string())
            )?;
            if inserted > 0 {
                tx_execute!(tx, sqlx::query(BUMP_AUTHZ_VERSION).bind(&tenant))?;
            }
            Ok(())
        })
    }

    async fn remove_group_parent(
        &self,
        tenant: TenantId,
        child: GroupId,
        parent: GroupId,
    ) -> StoreResult<bool> {
        let tenant = tenant.to_string();
        transaction!(self, tx => {
            let deleted = tx_execute!(
                tx,
                sqlx::query(
                    "DELETE FROM group_parents \
                     WHERE tenant_id = $1 AND child_group_id = $2 AND parent_group_id = $3"
                )
                .bind(&tenant)
                .bind(child.to_string())
                .bind(parent.to_string())
            )?;
            if deleted > 0 {
                tx_execute!(tx, sqlx::query(BUMP_AUTHZ_VERSION).bind(&tenant))?;
            }
            Ok(deleted > 0)
        })
    }

    async fn load_authz_graph(&self, tenant: TenantId) -> StoreResult<AuthzGraph> {
        let tenant = tenant.to_string();
        let (role_rows, edges, assignment_rows) = read_transaction!(self, tx => {
            if let Some(statement) = crate::dialect::snapshot_statement(&self.db) {
                tx_execute!(tx, sqlx::query(statement))?;
            }
            let role_rows: Vec<RoleRow> = tx_fetch_all!(
                tx,
                sqlx::query_as(concat!(role_select!(), role_order!())).bind(&tenant)
            )?;
            let edges: Vec<(String, String)> = tx_fetch_all!(
                tx,
                sqlx::query_as(
                    "SELECT child_group_id, parent_group_id FROM group_parents \
                     WHERE tenant_id = $1 ORDER BY child_group_id, parent_group_id"
                )
                .bind(&tenant)
            )?;
            let assignment_rows: Vec<AssignmentRow> = tx_fetch_all!(
                tx,
                sqlx::query_as(concat!(
                    "SELECT ",
                    assignment_columns!(),
                    " FROM role_assignments WHERE tenant_id = $1 ORDER BY created_at, id"
                ))
                .bind(&tenant)
            )?;
            Ok((role_rows, edges, assignment_rows))
        })?;
        let roles = fold_roles(role_rows)?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let mut group_parents: HashMap<GroupId, Vec<GroupId>> = HashMap::new();
        for (child, parent) in edges {
            group_parents
                .entry(id("group_parents.child_group_id", &child, GroupId::parse)?)
                .or_default()
                .push(id(
                    "group_parents.parent_group_id",
                    &parent,
                    GroupId::parse,
                )?);
        }
        Ok(AuthzGraph {
            roles,
            group_parents,
            assignments: into_assignments(assignment_rows)?,
            // Attribute rules live in the tenant's settings; the server adds them.
            rules: Vec::new(),
        })
    }

    async fn authz_version(&self, tenant: TenantId) -> StoreResult<i64> {
        let version: Option<i64> = fetch_optional!(
            self,
            sqlx::query_scalar("SELECT version FROM authz_versions WHERE tenant_id = $1")
                .bind(tenant.to_string())
        )?;
        Ok(version.unwrap_or(0))
    }
}
