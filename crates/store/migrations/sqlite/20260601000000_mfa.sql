-- Multi-factor authentication: enrolled factors, recovery codes, sign-ins in progress.
-- Keep in step with migrations/postgres/20260601000000_mfa.sql.

-- secret: sealed TOTP key or WebAuthn credential record; name: sealed user label.
CREATE TABLE mfa_factors (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id         TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    name            BLOB    NOT NULL,
    secret          BLOB    NOT NULL,
    credential_id   TEXT,
    discoverable    INTEGER NOT NULL,
    aaguid          TEXT,
    confirmed_at    INTEGER,
    last_used_at    INTEGER,
    last_totp_step  INTEGER,
    created_at      INTEGER NOT NULL,
    CONSTRAINT mfa_factors_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX mfa_factors_user_idx ON mfa_factors (tenant_id, user_id);
CREATE UNIQUE INDEX mfa_factors_credential_idx ON mfa_factors (tenant_id, credential_id);

-- Only digests (HMAC under a key derived from the master key) of the codes.
CREATE TABLE recovery_codes (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     TEXT    NOT NULL,
    digest      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER,
    CONSTRAINT recovery_codes_pkey PRIMARY KEY (tenant_id, user_id, digest),
    CONSTRAINT recovery_codes_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

-- binding_hash: SHA-256 of the browser's flow cookie (or session cookie for account ceremonies);
-- pending: sealed JSON of the challenge awaiting an answer; link_hash: SHA-256 of an emailed link.
CREATE TABLE login_flows (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    binding_hash    TEXT    NOT NULL,
    stage           TEXT    NOT NULL,
    user_id         TEXT,
    methods         TEXT    NOT NULL,
    return_to       TEXT    NOT NULL,
    reason          TEXT,
    webauthn_only   INTEGER NOT NULL,
    pending         BLOB,
    link_hash       TEXT,
    attempts        INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX login_flows_binding_idx ON login_flows (tenant_id, binding_hash);
CREATE UNIQUE INDEX login_flows_link_idx ON login_flows (link_hash);
CREATE INDEX login_flows_expiry_idx ON login_flows (expires_at);
