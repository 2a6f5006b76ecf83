-- Data residency (issue 10): the region a tenant's data lives in, as the tenant declares it
-- (a short token such as `eu` or `us-east`; NULL: not declared). A node started with
-- TESSERA_REGION creates and accepts only tenants of its own region (see docs/privacy.md).
ALTER TABLE tenants ADD COLUMN region TEXT;
