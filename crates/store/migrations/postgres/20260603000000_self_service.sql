-- One-time proofs sent by email (verify an address, reset a password, confirm a new address).
-- Only hashes are stored: the link token as SHA-256, the 6-digit code as a keyed hash; the new
-- address of an email change is sealed. Tokens go with their user and tenant.
CREATE TABLE verification_tokens (
    token_hash  TEXT    COLLATE "C" NOT NULL,
    tenant_id   TEXT    NOT NULL,
    user_id     TEXT    COLLATE "C" NOT NULL,
    purpose     TEXT    NOT NULL,
    code_hash   TEXT,
    new_email   BYTEA,
    attempts    BIGINT  NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    consumed_at BIGINT,
    CONSTRAINT verification_tokens_pkey PRIMARY KEY (token_hash),
    CONSTRAINT verification_tokens_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX verification_tokens_user_idx
    ON verification_tokens (tenant_id, user_id, purpose, consumed_at);
CREATE INDEX verification_tokens_expires_idx ON verification_tokens (expires_at);
