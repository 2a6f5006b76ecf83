-- When each user last used each permission (an allowed authz check), for access reviews.
-- Keep in step with the other dialect's file of the same name.
CREATE TABLE permission_usage (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL,
    permission    TEXT    NOT NULL,
    last_used_at  INTEGER NOT NULL,
    CONSTRAINT permission_usage_pkey PRIMARY KEY (tenant_id, user_id, permission),
    CONSTRAINT permission_usage_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;
