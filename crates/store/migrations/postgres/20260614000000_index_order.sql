-- Secondary indexes lead with their selective column and carry the tenant second.
--
-- PostgreSQL plans a prepared statement once for any parameters (a generic plan) after a few
-- executions, and keeps that plan for the connection's life. On a table that has never been
-- analyzed (a new database, before autovacuum's first ANALYZE) it cannot tell `tenant_id = $1`
-- from `token_hash = $2`: both look like one row. With tenant_id leading a secondary index, a
-- point lookup such as `WHERE tenant_id = $1 AND token_hash = $2` could be planned on that
-- index, which then reads every row of the tenant for each lookup until the plan is replaced
-- (measured: refresh-token grants fell to a third). With the selective column first, the only
-- index that matches the lookup is the one meant for it. Every query on these indexes filters on
-- both columns by equality, so they serve the same queries as before.

DROP INDEX refresh_tokens_family_idx;
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id, tenant_id);
DROP INDEX refresh_tokens_user_idx;
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id, tenant_id, client_id);

DROP INDEX access_tokens_family_idx;
CREATE INDEX access_tokens_family_idx ON access_tokens (family_id, tenant_id);
DROP INDEX access_tokens_user_idx;
CREATE INDEX access_tokens_user_idx ON access_tokens (user_id, tenant_id, client_id);

DROP INDEX authorization_codes_user_idx;
CREATE INDEX authorization_codes_user_idx ON authorization_codes (user_id, tenant_id, client_id);

ALTER TABLE device_authorizations DROP CONSTRAINT device_authorizations_user_code_unique;
ALTER TABLE device_authorizations
    ADD CONSTRAINT device_authorizations_user_code_unique UNIQUE (user_code, tenant_id);
DROP INDEX device_authorizations_user_idx;
CREATE INDEX device_authorizations_user_idx ON device_authorizations (user_id, tenant_id);

ALTER TABLE users DROP CONSTRAINT users_email_unique;
ALTER TABLE users ADD CONSTRAINT users_email_unique UNIQUE (email_bidx, tenant_id);

DROP INDEX mfa_factors_user_idx;
CREATE INDEX mfa_factors_user_idx ON mfa_factors (user_id, tenant_id);
DROP INDEX mfa_factors_credential_idx;
CREATE UNIQUE INDEX mfa_factors_credential_idx ON mfa_factors (credential_id, tenant_id);

DROP INDEX login_flows_binding_idx;
CREATE INDEX login_flows_binding_idx ON login_flows (binding_hash, tenant_id);

DROP INDEX federation_states_binding_idx;
CREATE INDEX federation_states_binding_idx ON federation_states (binding_hash, tenant_id);

DROP INDEX linked_identities_user_idx;
CREATE INDEX linked_identities_user_idx ON linked_identities (user_id, tenant_id);

DROP INDEX sessions_user_idx;
CREATE INDEX sessions_user_idx ON sessions (user_id, tenant_id);

-- A session is looked up by its cookie's hash (unique on its own) as often as by its id.
ALTER TABLE session_clients DROP CONSTRAINT session_clients_session_fkey;
ALTER TABLE sessions DROP CONSTRAINT sessions_tenant_id_unique;
ALTER TABLE sessions ADD CONSTRAINT sessions_tenant_id_unique UNIQUE (id, tenant_id);
ALTER TABLE session_clients ADD CONSTRAINT session_clients_session_fkey FOREIGN KEY (tenant_id, session_id)
    REFERENCES sessions (tenant_id, id) ON DELETE CASCADE;

ALTER TABLE linked_identities DROP CONSTRAINT linked_identities_subject_unique;
ALTER TABLE linked_identities
    ADD CONSTRAINT linked_identities_subject_unique UNIQUE (subject_bidx, provider_id, tenant_id);
ALTER TABLE linked_identities DROP CONSTRAINT linked_identities_user_unique;
ALTER TABLE linked_identities
    ADD CONSTRAINT linked_identities_user_unique UNIQUE (user_id, provider_id, tenant_id);
