-- Privacy compliance: purposes of processing, versioned policy documents, the append-only consent
-- history, communication topics and preferences (see crates/core/src/privacy.rs).
-- Keep in step with migrations/sqlite/20260610000000_privacy.sql.

-- descriptions: JSON object locale -> text.
CREATE TABLE privacy_purposes (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key           TEXT    NOT NULL,
    legal_basis   TEXT    NOT NULL,
    descriptions  TEXT    NOT NULL,
    required      BOOLEAN NOT NULL,
    document      TEXT,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    CONSTRAINT privacy_purposes_pkey PRIMARY KEY (tenant_id, key)
);

-- Published versions are never changed.
CREATE TABLE policy_documents (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    version       TEXT    NOT NULL,
    url           TEXT    NOT NULL,
    effective_at  BIGINT  NOT NULL,
    material      BOOLEAN NOT NULL,
    grace_days    BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL,
    CONSTRAINT policy_documents_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT policy_documents_version_unique UNIQUE (tenant_id, kind, version)
);

-- Append-only: rows are inserted, never updated, except that erasing the account clears the
-- sealed ip and user_agent. No foreign key to users: the proof outlives the account, pseudonymous.
-- seq orders one person's records of one purpose (1, 2, 3…); the newest is the current state.
CREATE TABLE consent_records (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id         TEXT    COLLATE "C" NOT NULL,
    purpose         TEXT    NOT NULL,
    seq             BIGINT  NOT NULL,
    state           TEXT    NOT NULL,
    policy_version  TEXT,
    channel         TEXT    NOT NULL,
    recorded_at     BIGINT  NOT NULL,
    recorded_by     TEXT    NOT NULL,
    ip              BYTEA,
    user_agent      BYTEA,
    CONSTRAINT consent_records_seq_unique UNIQUE (tenant_id, user_id, purpose, seq)
);

CREATE INDEX consent_records_purpose_idx ON consent_records (tenant_id, purpose, user_id, seq);

-- topics: JSON list of {key, names}.
CREATE TABLE privacy_topics (
    tenant_id   TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    topics      TEXT    NOT NULL
);

-- channels, topics: JSON lists. Goes with the account.
CREATE TABLE communication_preferences (
    tenant_id   TEXT    NOT NULL,
    user_id     TEXT    COLLATE "C" NOT NULL,
    channels    TEXT    NOT NULL,
    topics      TEXT    NOT NULL,
    frequency   TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL,
    CONSTRAINT communication_preferences_pkey PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT communication_preferences_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
