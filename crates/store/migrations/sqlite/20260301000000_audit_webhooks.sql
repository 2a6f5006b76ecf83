-- Audit trail and event outbox, SQLite dialect. Keep in step with migrations/postgres (same
-- tables, columns, constraint names and indexes); only the types differ.
--
-- Same conventions as the initial schema. Every table references its tenant with ON DELETE
-- CASCADE.

-- One row per tenant that has appended to its audit trail: the chain head (seq and hash of the
-- newest entry; 0 and the genesis hash before the first) and the anchor verification starts from
-- (seq and hash of the last pruned entry; 0 and the genesis hash until the first pruning).
-- Appends take this row's lock, so a tenant's chain never forks.
CREATE TABLE audit_heads (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    hash         TEXT    NOT NULL,
    anchor_seq   INTEGER NOT NULL,
    anchor_hash  TEXT    NOT NULL,
    CONSTRAINT audit_heads_pkey PRIMARY KEY (tenant_id)
) STRICT;

-- The hash-chained entries. body is the event's non-personal part as JSON text, exactly as
-- hashed; actor_id, target_id, event_type and outcome repeat parts of it for filtering.
-- personal_sealed is the event's personal data sealed under its subject's audit key (NULL when
-- there was none, or once erased); personal_digest, its SHA-256, is part of the hashed content
-- and stays after erasure. subject_user_id has no foreign key: entries outlive their subject.
CREATE TABLE audit_entries (
    tenant_id        TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    event_id         TEXT    NOT NULL,
    occurred_at      INTEGER NOT NULL,
    event_type       TEXT    NOT NULL,
    actor_id         TEXT,
    target_id        TEXT,
    outcome          TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    subject_user_id  TEXT,
    personal_sealed  BLOB,
    personal_digest  TEXT,
    prev_hash        TEXT    NOT NULL,
    hash             TEXT    NOT NULL,
    CONSTRAINT audit_entries_pkey PRIMARY KEY (tenant_id, seq),
    CONSTRAINT audit_entries_event_id_unique UNIQUE (event_id)
) STRICT;

CREATE INDEX audit_entries_subject_idx ON audit_entries (tenant_id, subject_user_id);
CREATE INDEX audit_entries_occurred_idx ON audit_entries (tenant_id, occurred_at);

-- The random salt that, with the master key, derives a subject's audit key (subject_id is a user
-- id, or 'tenant' for events without a subject). Deleting the row shreds the subject's data.
CREATE TABLE audit_subject_keys (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    subject_id  TEXT    NOT NULL,
    salt        BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT audit_subject_keys_pkey PRIMARY KEY (tenant_id, subject_id)
) STRICT;

-- Signed statements "entry seq has hash"; pruning goes up to one of them.
CREATE TABLE audit_checkpoints (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    hash        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    signature   TEXT    NOT NULL,
    CONSTRAINT audit_checkpoints_pkey PRIMARY KEY (tenant_id, seq)
) STRICT;

-- Webhook and SIEM destinations. event_types is a JSON list; the secret is sealed.
CREATE TABLE webhook_subscriptions (
    tenant_id      TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    url            TEXT    NOT NULL,
    event_types    TEXT    NOT NULL,
    secret_sealed  BLOB    NOT NULL,
    enabled        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    CONSTRAINT webhook_subscriptions_pkey PRIMARY KEY (tenant_id, id)
) STRICT;

-- The persisted outbox: one row per event and subscription, written in the same transaction as
-- the audit entry. A node owns a row while lease_until is in the future.
CREATE TABLE webhook_deliveries (
    id                TEXT    NOT NULL,
    tenant_id         TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    subscription_id   TEXT    NOT NULL,
    event_id          TEXT    NOT NULL,
    event_type        TEXT    NOT NULL,
    payload           TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    attempts          INTEGER NOT NULL,
    next_attempt_at   INTEGER NOT NULL,
    lease_until       INTEGER,
    last_error        TEXT,
    last_status_code  INTEGER,
    created_at        INTEGER NOT NULL,
    delivered_at      INTEGER,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_deliveries_subscription_fkey FOREIGN KEY (tenant_id, subscription_id)
        REFERENCES webhook_subscriptions (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_subscription_idx
    ON webhook_deliveries (tenant_id, subscription_id, created_at);
