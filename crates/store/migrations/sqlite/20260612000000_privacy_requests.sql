-- Data-subject requests (GDPR Art. 15-21) with their deadlines, the processing-restriction flag,
-- retention warnings, consent expiry per purpose and job leases (see
-- crates/core/src/privacy_requests.rs). Keep in step with
-- migrations/postgres/20260612000000_privacy_requests.sql.

-- No foreign key to users: the request is the tenant's proof that it answered, and outlives an
-- erased account (it holds no personal data beyond the random user id).
CREATE TABLE privacy_requests (
    tenant_id         TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                TEXT    NOT NULL,
    user_id           TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    note              TEXT,
    received_at       INTEGER NOT NULL,
    due_at            INTEGER NOT NULL,
    extended_at       INTEGER,
    extension_reason  TEXT,
    closed_at         INTEGER,
    resolution        TEXT,
    created_by        TEXT    NOT NULL,
    CONSTRAINT privacy_requests_pkey PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE INDEX privacy_requests_due_idx ON privacy_requests (tenant_id, status, due_at);

-- "Processing restricted" (GDPR Art. 18): goes with the account.
CREATE TABLE privacy_restrictions (
    tenant_id      TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    restricted_at  INTEGER NOT NULL,
    CONSTRAINT privacy_restrictions_pkey PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT privacy_restrictions_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

-- When the retention job warned an inactive account that it will be deleted.
CREATE TABLE retention_warnings (
    tenant_id  TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    warned_at  INTEGER NOT NULL,
    CONSTRAINT retention_warnings_pkey PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT retention_warnings_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

-- Granted consents of the purpose older than this many days expire (NULL: never).
ALTER TABLE privacy_purposes ADD COLUMN expires_after_days INTEGER;

-- One row per background job: the node holding it runs the job until expires_at.
CREATE TABLE job_leases (
    name        TEXT    NOT NULL PRIMARY KEY,
    holder      TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
