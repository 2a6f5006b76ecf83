-- Built-in admin role of an API key (delegated administration); NULL: derived from its scopes.
ALTER TABLE api_keys ADD COLUMN admin_role TEXT;
