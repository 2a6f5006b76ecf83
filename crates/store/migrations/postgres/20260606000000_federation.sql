-- Upstream identity providers, identities linked to accounts, sign-ins at a provider in progress.
-- Keep in step with migrations/sqlite/20260606000000_federation.sql.

-- settings: the protocol settings (JSON); domains: routed email domains (JSON list);
-- client_secret: sealed client secret or Apple private key.
CREATE TABLE identity_providers (
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              TEXT    COLLATE "C" NOT NULL,
    alias           TEXT    NOT NULL,
    display_name    TEXT    NOT NULL,
    enabled         BOOLEAN NOT NULL,
    trust_email     BOOLEAN NOT NULL,
    jit             BOOLEAN NOT NULL,
    domains         TEXT    NOT NULL,
    settings        TEXT    NOT NULL,
    client_secret   BYTEA,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    CONSTRAINT identity_providers_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT identity_providers_alias_unique UNIQUE (tenant_id, alias)
);

-- subject_bidx: keyed blind index of provider id + upstream subject; subject, email, tokens: sealed.
CREATE TABLE linked_identities (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id         TEXT    COLLATE "C" NOT NULL,
    provider_id     TEXT    COLLATE "C" NOT NULL,
    subject_bidx    TEXT    NOT NULL,
    subject         BYTEA   NOT NULL,
    email           BYTEA,
    tokens          BYTEA,
    created_at      BIGINT  NOT NULL,
    last_used_at    BIGINT,
    CONSTRAINT linked_identities_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT linked_identities_provider_fkey FOREIGN KEY (tenant_id, provider_id)
        REFERENCES identity_providers (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT linked_identities_subject_unique UNIQUE (tenant_id, provider_id, subject_bidx),
    CONSTRAINT linked_identities_user_unique UNIQUE (tenant_id, provider_id, user_id)
);

CREATE INDEX linked_identities_user_idx ON linked_identities (tenant_id, user_id);

-- state_hash, binding_hash, nonce_hash: SHA-256 of the state, the browser's cookie and the
-- nonce; pkce_verifier and payload (an identity awaiting proof, or a form_post response): sealed.
CREATE TABLE federation_states (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    provider_id     TEXT    COLLATE "C" NOT NULL,
    stage           TEXT    NOT NULL,
    state_hash      TEXT    NOT NULL,
    binding_hash    TEXT    NOT NULL,
    nonce_hash      TEXT    NOT NULL,
    pkce_verifier   BYTEA   NOT NULL,
    return_to       TEXT    NOT NULL,
    linking_user    TEXT,
    target_user     TEXT,
    payload         BYTEA,
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    CONSTRAINT federation_states_provider_fkey FOREIGN KEY (tenant_id, provider_id)
        REFERENCES identity_providers (tenant_id, id) ON DELETE CASCADE
);

CREATE UNIQUE INDEX federation_states_state_idx ON federation_states (state_hash);
CREATE INDEX federation_states_binding_idx ON federation_states (tenant_id, binding_hash);
CREATE INDEX federation_states_expiry_idx ON federation_states (expires_at);
