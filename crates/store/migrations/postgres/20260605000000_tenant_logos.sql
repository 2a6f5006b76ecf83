-- Tenant logos for the hosted pages and emails (`settings.branding.logo` says one exists). Kept
-- apart from the tenant row so that loading a tenant for every page does not load the image.
CREATE TABLE tenant_logos (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    content_type  TEXT    NOT NULL,
    data          BYTEA   NOT NULL,
    updated_at    BIGINT  NOT NULL,
    CONSTRAINT tenant_logos_pkey PRIMARY KEY (tenant_id)
);
