-- OAuth 2 / OpenID Connect state, SQLite dialect. Keep in step with migrations/postgres (same
-- tables, columns, constraint names and indexes); only the types differ.
--
-- Same conventions as the initial schema. Secrets (codes, refresh tokens, device codes, opaque
-- access tokens) are stored only as their SHA-256; signing keys arrive already sealed by the
-- caller. Rows that belong to a user reference it through (tenant_id, user_id) with ON DELETE
-- CASCADE, so deleting an account removes its grants; a NULL user_id (a client's own token) is
-- not checked.

-- Lets session_clients reference a session through (tenant_id, id), refusing links across
-- tenants (sessions.id alone is already unique). PostgreSQL adds it as a constraint of the same
-- name; SQLite cannot add a constraint to an existing table.
CREATE UNIQUE INDEX sessions_tenant_id_unique ON sessions (tenant_id, id);

CREATE TABLE signing_keys (
    tenant_id           TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kid                 TEXT    NOT NULL,
    alg                 TEXT    NOT NULL,
    private_key_sealed  BLOB    NOT NULL,
    public_jwk          TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    retired_at          INTEGER,
    publish_until       INTEGER,
    CONSTRAINT signing_keys_pkey PRIMARY KEY (tenant_id, kid)
) STRICT;

-- At most one active key per tenant and algorithm.
CREATE UNIQUE INDEX signing_keys_active_idx ON signing_keys (tenant_id, alg) WHERE status = 'active';

CREATE TABLE authorization_codes (
    code_hash               TEXT    NOT NULL,
    tenant_id               TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_id               TEXT    NOT NULL,
    user_id                 TEXT    NOT NULL,
    session_id              TEXT,
    redirect_uri            TEXT    NOT NULL,
    scope                   TEXT    NOT NULL,
    nonce                   TEXT,
    code_challenge          TEXT,
    code_challenge_method   TEXT,
    auth_time               INTEGER NOT NULL,
    acr                     TEXT,
    amr                     TEXT    NOT NULL,
    created_at              INTEGER NOT NULL,
    expires_at              INTEGER NOT NULL,
    consumed_at             INTEGER,
    CONSTRAINT authorization_codes_pkey PRIMARY KEY (code_hash),
    CONSTRAINT authorization_codes_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX authorization_codes_user_idx ON authorization_codes (tenant_id, user_id, client_id);
CREATE INDEX authorization_codes_expires_idx ON authorization_codes (expires_at);

CREATE TABLE refresh_tokens (
    token_hash          TEXT    NOT NULL,
    family_id           TEXT    NOT NULL,
    tenant_id           TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_id           TEXT    NOT NULL,
    user_id             TEXT,
    session_id          TEXT,
    scope               TEXT    NOT NULL,
    auth_time           INTEGER,
    amr                 TEXT    NOT NULL,
    acr                 TEXT,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    family_expires_at   INTEGER NOT NULL,
    rotated_at          INTEGER,
    revoked_at          INTEGER,
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (token_hash),
    CONSTRAINT refresh_tokens_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (tenant_id, family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (tenant_id, user_id, client_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (family_expires_at);

-- Access tokens kept for revocation and introspection. token_id is the jti of a JWT or the
-- SHA-256 of an opaque token; opaque_claims is the JSON introspection returns (opaque only).
CREATE TABLE access_tokens (
    token_id        TEXT    NOT NULL,
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_id       TEXT    NOT NULL,
    user_id         TEXT,
    family_id       TEXT,
    scope           TEXT    NOT NULL,
    opaque_claims   TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    CONSTRAINT access_tokens_pkey PRIMARY KEY (token_id),
    CONSTRAINT access_tokens_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX access_tokens_family_idx ON access_tokens (tenant_id, family_id);
CREATE INDEX access_tokens_user_idx ON access_tokens (tenant_id, user_id, client_id);
CREATE INDEX access_tokens_expires_idx ON access_tokens (expires_at);

-- Families (or authorization codes, whose hash names the family of their tokens) that were
-- revoked, kept until every token the family can hold has expired. A token written into a
-- family listed here is stored revoked.
CREATE TABLE revoked_families (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    family_id   TEXT    NOT NULL,
    revoked_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    CONSTRAINT revoked_families_pkey PRIMARY KEY (tenant_id, family_id)
) STRICT;

CREATE INDEX revoked_families_expires_idx ON revoked_families (expires_at);

CREATE TABLE consents (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     TEXT    NOT NULL,
    client_id   TEXT    NOT NULL,
    scopes      TEXT    NOT NULL,
    granted_at  INTEGER NOT NULL,
    CONSTRAINT consents_pkey PRIMARY KEY (tenant_id, user_id, client_id),
    CONSTRAINT consents_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE client_assertion_jtis (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_id   TEXT    NOT NULL,
    jti         TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    CONSTRAINT client_assertion_jtis_pkey PRIMARY KEY (tenant_id, client_id, jti)
) STRICT;

CREATE INDEX client_assertion_jtis_expires_idx ON client_assertion_jtis (expires_at);

CREATE TABLE session_clients (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    session_id  TEXT    NOT NULL,
    client_id   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT session_clients_pkey PRIMARY KEY (tenant_id, session_id, client_id),
    CONSTRAINT session_clients_session_fkey FOREIGN KEY (tenant_id, session_id)
        REFERENCES sessions (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE device_authorizations (
    device_code_hash    TEXT    NOT NULL,
    user_code           TEXT    NOT NULL,
    tenant_id           TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_id           TEXT    NOT NULL,
    scope               TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    user_id             TEXT,
    session_id          TEXT,
    auth_time           INTEGER,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    interval_secs       INTEGER NOT NULL,
    last_polled_at      INTEGER,
    CONSTRAINT device_authorizations_pkey PRIMARY KEY (device_code_hash),
    CONSTRAINT device_authorizations_user_code_unique UNIQUE (tenant_id, user_code),
    CONSTRAINT device_authorizations_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX device_authorizations_user_idx ON device_authorizations (tenant_id, user_id);
CREATE INDEX device_authorizations_expires_idx ON device_authorizations (expires_at);
