-- The risk engine's per-user profile (usual countries, networks, devices, hours, last sign-in),
-- learned from successful sign-ins. Personal data: the JSON is sealed. Keep in step with the
-- other dialect's file of the same name.
CREATE TABLE risk_profiles (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     TEXT COLLATE "C" NOT NULL,
    profile     BYTEA   NOT NULL,
    updated_at  BIGINT NOT NULL,
    CONSTRAINT risk_profiles_pkey PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT risk_profiles_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
