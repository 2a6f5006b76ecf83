//! Which table of the schema holds what, for the account export (GDPR Art. 15 and 20).
//!
//! Every table is in exactly one of two lists: [`EXPORTED_TABLES`] (rows about a person, and
//! the section of `{issuer}/account/export` that carries them) or [`NOT_EXPORTED_TABLES`] (no
//! one's personal data, or nothing a person could use, with the reason). A test lists the tables
//! of a migrated database on both backends (`crates/store/tests/store/schema.rs`) and fails on a
//! table missing from both; the end-to-end test `tests/e2e/export_schema.rs` checks that every
//! section named here is in an export.
//!
//! **Adding a table?** Add it here. If it holds rows about a person, add them to the export in
//! `crates/server/src/account_portal.rs` (`export_account`) and name the section in
//! `EXPORTED_TABLES`; otherwise say in `NOT_EXPORTED_TABLES` why it is not personal data.

/// Tables with rows about one person, and the export section (a top-level key of the export,
/// `a.b` for a key inside one) that carries them.
pub const EXPORTED_TABLES: &[(&str, &str)] = &[
    ("users", "profile"),
    ("sessions", "sessions"),
    ("group_members", "groups"),
    ("role_assignments", "role_assignments"),
    ("consents", "applications"),
    ("mfa_factors", "factors"),
    ("recovery_codes", "recovery_codes_left"),
    ("audit_entries", "audit_events"),
    ("account_deletions", "scheduled_deletion"),
    ("linked_identities", "linked_identities"),
    ("risk_profiles", "risk_profile"),
    ("consent_records", "privacy.history"),
    (
        "communication_preferences",
        "privacy.communication_preferences",
    ),
    ("privacy_requests", "privacy_requests"),
    ("privacy_restrictions", "processing_restricted_at"),
];

/// Tables the export leaves out, and why.
pub const NOT_EXPORTED_TABLES: &[(&str, &str)] = &[
    (
        "tenants",
        "the tenant's configuration; its slug, name and region are in the export's tenant section",
    ),
    (
        "groups",
        "the tenant's groups; the person's memberships are exported (groups)",
    ),
    ("group_parents", "group nesting, the tenant's configuration"),
    (
        "clients",
        "the tenant's applications; the person's grants are exported (applications)",
    ),
    (
        "roles",
        "the tenant's roles; the person's assignments are exported (role_assignments)",
    ),
    (
        "role_composites",
        "role structure, the tenant's configuration",
    ),
    ("authz_versions", "a per-tenant counter"),
    (
        "permission_usage",
        "when a role assignment was last used, per assignment; no personal data beyond the exported assignment",
    ),
    (
        "api_keys",
        "operators' credentials (hashes), not a person's data",
    ),
    ("signing_keys", "the tenant's key material"),
    ("tenant_logos", "branding"),
    (
        "identity_providers",
        "the tenant's upstream providers; the person's links are exported (linked_identities)",
    ),
    (
        "privacy_purposes",
        "the tenant's purposes; the person's decisions are exported (privacy)",
    ),
    ("policy_documents", "the tenant's published documents"),
    ("privacy_topics", "the tenant's communication topics"),
    ("webhook_subscriptions", "the tenant's configuration"),
    (
        "webhook_deliveries",
        "copies of audit events in transit to the tenant's endpoints; the events are exported (audit_events)",
    ),
    ("audit_heads", "the chain head per tenant"),
    ("audit_checkpoints", "signed chain checkpoints"),
    (
        "audit_subject_keys",
        "key material that seals a person's audit data; the data is exported decrypted (audit_events)",
    ),
    (
        "signin_throttle",
        "short-lived failure counters under keyed hashes",
    ),
    (
        "authorization_codes",
        "single-use credentials (hashes) that live minutes; the grant is exported (applications)",
    ),
    (
        "refresh_tokens",
        "credentials (hashes); the grant is exported (applications)",
    ),
    (
        "access_tokens",
        "credentials (hashes); the grant is exported (applications)",
    ),
    ("revoked_families", "revoked token families (hashes)"),
    (
        "client_assertion_jtis",
        "replay protection of client assertions, no person",
    ),
    (
        "session_clients",
        "which applications a session signed in to, for logout; the sessions are exported",
    ),
    (
        "device_authorizations",
        "device-flow requests that live minutes (hashes)",
    ),
    ("login_flows", "sign-ins in progress that live minutes"),
    (
        "verification_tokens",
        "one-time links and codes (hashes) that live hours",
    ),
    (
        "mail_outbox",
        "email waiting to be sent, sealed, erased once sent",
    ),
    (
        "federation_states",
        "upstream sign-ins in progress that live minutes",
    ),
    (
        "retention_warnings",
        "when a deletion warning was mailed, until the account signs in or is deleted; the same fact is in the exported audit trail (privacy.retention_warning_sent)",
    ),
    ("job_leases", "which node runs a background job"),
    (
        "risk_velocity",
        "the risk engine's counts shared between nodes: keyed hashes of addresses, sealed IPs, purged after 8 days; no user id",
    ),
];

/// Where a table is, for the schema test's message: `Some(section)` when exported, `None` when
/// listed as not exported; `Err` when in neither list.
pub fn export_coverage(table: &str) -> Result<Option<&'static str>, String> {
    if let Some((_, section)) = EXPORTED_TABLES.iter().find(|(t, _)| *t == table) {
        return Ok(Some(section));
    }
    if NOT_EXPORTED_TABLES.iter().any(|(t, _)| *t == table) {
        return Ok(None);
    }
    Err(format!(
        "table `{table}` is neither exported nor listed as holding no personal data. If it holds \
         rows about a person, add them to the account export (crates/server/src/account_portal.rs, \
         export_account) and add (\"{table}\", \"<export section>\") to EXPORTED_TABLES in \
         crates/store/src/schema.rs; otherwise add (\"{table}\", \"<why it is not a person's \
         data>\") to NOT_EXPORTED_TABLES there."
    ))
}
