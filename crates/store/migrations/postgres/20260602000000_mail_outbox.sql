-- The mail outbox: every email Tessera sends (sign-in codes, verification and recovery links,
-- operators' test messages) waits here until the mail worker has handed it to the mail server,
-- so an outage of that server loses nothing. While a message waits its recipient and content are
-- sealed (AES-256-GCM, bound to the row); once it is sent or given up both are erased (NULL):
-- codes and links must not linger. `user_id` names the account the message is about, when known.
CREATE TABLE mail_outbox (
    id                TEXT    COLLATE "C" NOT NULL,
    tenant_id         TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind              TEXT    NOT NULL,
    user_id           TEXT,
    recipient_sealed  BYTEA,
    content_sealed    BYTEA,
    status            TEXT    NOT NULL,
    attempts          BIGINT  NOT NULL,
    next_attempt_at   BIGINT  NOT NULL,
    lease_until       BIGINT,
    last_error        TEXT,
    created_at        BIGINT  NOT NULL,
    finished_at       BIGINT,
    CONSTRAINT mail_outbox_pkey PRIMARY KEY (id)
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (status, next_attempt_at);
CREATE INDEX mail_outbox_tenant_idx ON mail_outbox (tenant_id, id);
CREATE INDEX mail_outbox_finished_idx ON mail_outbox (finished_at);
