-- The account portal: accounts whose owner asked to delete them, waiting for the end of the
-- tenant's grace period (`settings.account.deletion_grace_days`). The account is disabled
-- meanwhile; the deletion job (on any node, under a lease) deletes it once `due_at` has passed.
-- A row goes with its account. Keep in step with migrations/sqlite/20260604000000_account_portal.sql.
CREATE TABLE account_deletions (
    tenant_id     TEXT    NOT NULL,
    user_id       TEXT    COLLATE "C" NOT NULL,
    requested_at  BIGINT  NOT NULL,
    due_at        BIGINT  NOT NULL,
    lease_until   BIGINT,
    CONSTRAINT account_deletions_pkey PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT account_deletions_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX account_deletions_due_idx ON account_deletions (due_at);
