-- Privacy compliance: purposes of processing, versioned policy documents, the append-only consent
-- history, communication topics and preferences (see crates/core/src/privacy.rs).
-- Keep in step with migrations/postgres/20260610000000_privacy.sql.

-- descriptions: JSON object locale -> text.
CREATE TABLE privacy_purposes (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key           TEXT    NOT NULL,
    legal_basis   TEXT    NOT NULL,
    descriptions  TEXT    NOT NULL,
    required      INTEGER NOT NULL,
    document      TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT privacy_purposes_pkey PRIMARY KEY (tenant_id, key)
) STRICT;

-- Published versions are never changed.
CREATE TABLE policy_documents (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    version       TEXT    NOT NULL,
    url           TEXT    NOT NULL,
    effective_at  INTEGER NOT NULL,
    material      INTEGER NOT NULL,
    grace_days    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    CONSTRAINT policy_documents_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT policy_documents_version_unique UNIQUE (tenant_id, kind, version)
) STRICT;

-- Append-only: rows are inserted, never updated, except that erasing the account clears the
-- sealed ip and user_agent. No foreign key to users: the proof outlives the account, pseudonymous.
-- seq orders one person's records of one purpose (1, 2, 3…); the newest is the current state.
CREATE TABLE consent_records (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id         TEXT    NOT NULL,
    purpose         TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    state           TEXT    NOT NULL,
    policy_version  TEXT,
    channel         TEXT    NOT NULL,
    recorded_at     INTEGER NOT NULL,
    recorded_by     TEXT    NOT NULL,
    ip              BLOB,
    user_agent      BLOB,
    CONSTRAINT consent_records_seq_unique UNIQUE (tenant_id, user_id, purpose, seq)
) STRICT;

CREATE INDEX consent_records_purpose_idx ON consent_records (tenant_id, purpose, user_id, seq);

-- topics: JSON list of {key, names}.
CREATE TABLE privacy_topics (
    tenant_id   TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    topics      TEXT    NOT NULL
) STRICT;

-- channels, topics: JSON lists. Goes with the account.
CREATE TABLE communication_preferences (
    tenant_id   TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    channels    TEXT    NOT NULL,
    topics      TEXT    NOT NULL,
    frequency   TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT communication_preferences_pkey PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT communication_preferences_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;
