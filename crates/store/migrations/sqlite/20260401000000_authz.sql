-- Role-based access control, SQLite dialect. Keep in step with migrations/postgres (same
-- tables, columns, constraint names and indexes); only the types differ.
--
-- Same conventions as the initial schema. Every table references its tenant with ON DELETE
-- CASCADE, and every link between tenant-owned rows goes through (tenant_id, id), so the database
-- refuses a link across tenants (reported as NotFound).

-- Roles. permissions is a JSON array of strings, sorted. application is the client id the role
-- belongs to, NULL for tenant-wide roles; it has no foreign key (a role outlives the client it
-- was made for: deleting a client neither deletes its roles nor turns them tenant-wide).
CREATE TABLE roles (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    description  TEXT,
    application  TEXT,
    permissions  TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CONSTRAINT roles_pkey PRIMARY KEY (tenant_id, id)
) STRICT;

-- A name is unique per tenant and application, tenant-wide roles (NULL application) counting as
-- one more application: an expression index, since a plain UNIQUE would let NULLs repeat.
CREATE UNIQUE INDEX roles_name_unique ON roles (tenant_id, COALESCE(application, ''), name);

-- Composite roles: role_id includes the permissions of member_role_id. Deleting either role
-- removes the link.
CREATE TABLE role_composites (
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    role_id         TEXT    NOT NULL,
    member_role_id  TEXT    NOT NULL,
    CONSTRAINT role_composites_pkey PRIMARY KEY (tenant_id, role_id, member_role_id),
    CONSTRAINT role_composites_role_fkey FOREIGN KEY (tenant_id, role_id)
        REFERENCES roles (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT role_composites_member_fkey FOREIGN KEY (tenant_id, member_role_id)
        REFERENCES roles (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX role_composites_member_idx ON role_composites (tenant_id, member_role_id);

-- Role assignments. The principal is exactly one of user_id and group_id, each a foreign key to
-- its table, so the principal must exist in the tenant and deleting it removes its assignments.
-- valid_from and valid_until are NULL when unbounded; condition is a JSON document or NULL.
CREATE TABLE role_assignments (
    id           TEXT    NOT NULL,
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    role_id      TEXT    NOT NULL,
    user_id      TEXT,
    group_id     TEXT,
    valid_from   INTEGER,
    valid_until  INTEGER,
    condition    TEXT,
    created_at   INTEGER NOT NULL,
    CONSTRAINT role_assignments_pkey PRIMARY KEY (id),
    CONSTRAINT role_assignments_role_fkey FOREIGN KEY (tenant_id, role_id)
        REFERENCES roles (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT role_assignments_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT role_assignments_group_fkey FOREIGN KEY (tenant_id, group_id)
        REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT role_assignments_principal_check CHECK (
        (user_id IS NOT NULL AND group_id IS NULL) OR (user_id IS NULL AND group_id IS NOT NULL)
    )
) STRICT;

CREATE INDEX role_assignments_tenant_idx ON role_assignments (tenant_id, created_at);
CREATE INDEX role_assignments_role_idx ON role_assignments (tenant_id, role_id);
CREATE INDEX role_assignments_user_idx ON role_assignments (tenant_id, user_id);
CREATE INDEX role_assignments_group_idx ON role_assignments (tenant_id, group_id);

-- Nested groups: child_group_id is a member of parent_group_id. Deleting either group removes
-- the edge.
CREATE TABLE group_parents (
    tenant_id        TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    child_group_id   TEXT    NOT NULL,
    parent_group_id  TEXT    NOT NULL,
    CONSTRAINT group_parents_pkey PRIMARY KEY (tenant_id, child_group_id, parent_group_id),
    CONSTRAINT group_parents_child_fkey FOREIGN KEY (tenant_id, child_group_id)
        REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT group_parents_parent_fkey FOREIGN KEY (tenant_id, parent_group_id)
        REFERENCES groups (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX group_parents_parent_idx ON group_parents (tenant_id, parent_group_id);

-- The authorization version of each tenant: raised in the same transaction as every change to
-- roles, assignments, group nesting or group membership, so that nodes know when their cached
-- authorization data is stale. No row means version 0.
CREATE TABLE authz_versions (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    CONSTRAINT authz_versions_pkey PRIMARY KEY (tenant_id)
) STRICT;
