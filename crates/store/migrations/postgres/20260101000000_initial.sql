-- Tessera schema, PostgreSQL dialect. Keep in step with migrations/sqlite (same tables, columns,
-- constraint names and indexes); only the types differ.
--
-- Conventions: ids are TEXT (UUID strings), times are BIGINT unix milliseconds, booleans are
-- BOOLEAN, lists and JSON documents are TEXT holding JSON, encrypted personal fields are BYTEA
-- sealed by tessera-crypto. Tenant-owned rows reference their tenant with ON DELETE CASCADE, and
-- rows that point at another tenant-owned row do so through (tenant_id, id), so the database
-- itself refuses a link across tenants.
--
-- Ids that lists page through (`WHERE id > $cursor ORDER BY id`) use the "C" collation, so their
-- order is byte order whatever the database's locale, as on SQLite.

CREATE TABLE tenants (
    id          TEXT    NOT NULL PRIMARY KEY,
    slug        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    preset      TEXT    NOT NULL,
    settings    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    CONSTRAINT tenants_slug_unique UNIQUE (slug)
);

CREATE TABLE users (
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              TEXT    COLLATE "C" NOT NULL,
    email_bidx      TEXT    NOT NULL,
    email           BYTEA   NOT NULL,
    email_verified  BOOLEAN NOT NULL,
    name            BYTEA,
    given_name      BYTEA,
    family_name     BYTEA,
    phone           BYTEA,
    status          TEXT    NOT NULL,
    attributes      BYTEA   NOT NULL,
    password_hash   TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    last_login_at   BIGINT,
    CONSTRAINT users_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_email_unique UNIQUE (tenant_id, email_bidx)
);

CREATE TABLE groups (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          TEXT    COLLATE "C" NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    CONSTRAINT groups_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT groups_name_unique UNIQUE (tenant_id, name)
);

CREATE TABLE group_members (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    group_id    TEXT    COLLATE "C" NOT NULL,
    user_id     TEXT    COLLATE "C" NOT NULL,
    CONSTRAINT group_members_pkey PRIMARY KEY (tenant_id, group_id, user_id),
    CONSTRAINT group_members_group_fkey FOREIGN KEY (tenant_id, group_id)
        REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT group_members_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX group_members_user_idx ON group_members (tenant_id, user_id);

CREATE TABLE clients (
    tenant_id                   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_id                   TEXT    NOT NULL,
    name                        TEXT    NOT NULL,
    client_type                 TEXT    NOT NULL,
    secret_hash                 TEXT,
    redirect_uris               TEXT    NOT NULL,
    post_logout_redirect_uris   TEXT    NOT NULL,
    grant_types                 TEXT    NOT NULL,
    allowed_scopes              TEXT    NOT NULL,
    token_endpoint_auth_method  TEXT    NOT NULL,
    first_party                 BOOLEAN NOT NULL,
    metadata                    TEXT    NOT NULL,
    created_at                  BIGINT  NOT NULL,
    updated_at                  BIGINT  NOT NULL,
    CONSTRAINT clients_pkey PRIMARY KEY (tenant_id, client_id)
);

CREATE TABLE sessions (
    id                  TEXT    NOT NULL PRIMARY KEY,
    tenant_id           TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id             TEXT    COLLATE "C" NOT NULL,
    token_hash          TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    last_seen_at        BIGINT  NOT NULL,
    expires_at          BIGINT  NOT NULL,
    idle_timeout_secs   BIGINT  NOT NULL,
    auth_methods        TEXT    NOT NULL,
    ip                  BYTEA,
    user_agent          BYTEA,
    revoked_at          BIGINT,
    CONSTRAINT sessions_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE UNIQUE INDEX sessions_token_hash_idx ON sessions (token_hash);
CREATE INDEX sessions_user_idx ON sessions (tenant_id, user_id);

-- key_bidx is a blind index of the caller's key (which may hold an email or an IP address).
CREATE TABLE signin_throttle (
    tenant_id        TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key_bidx         TEXT    NOT NULL,
    failures         BIGINT  NOT NULL,
    last_failure_at  BIGINT  NOT NULL,
    locked_until     BIGINT,
    CONSTRAINT signin_throttle_pkey PRIMARY KEY (tenant_id, key_bidx)
);

CREATE TABLE api_keys (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    display_prefix  TEXT    NOT NULL,
    key_hash        TEXT    NOT NULL,
    scopes          TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT,
    revoked_at      BIGINT
);

CREATE UNIQUE INDEX api_keys_key_hash_idx ON api_keys (key_hash);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at);
