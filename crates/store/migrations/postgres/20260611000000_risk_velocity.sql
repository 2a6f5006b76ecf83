-- The risk engine's shared velocity journal: what each node counted (failed and refused attempts,
-- completed sign-ins, sign-ups), read by the other nodes so every node's velocity windows see the
-- whole cluster. Short-lived: rows older than the longest window are purged. The account is a
-- keyed blind index; the IP is personal data and sealed. Keep in step with the other dialect's
-- file of the same name.
CREATE TABLE risk_velocity (
    id          BIGSERIAL PRIMARY KEY,
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    node        TEXT    NOT NULL,
    at          BIGINT NOT NULL,
    kind        TEXT    NOT NULL,
    account     TEXT    NOT NULL,
    ip          BYTEA,
    password_fingerprint TEXT
);
CREATE INDEX risk_velocity_at ON risk_velocity (at);
