//! The store's behaviour, proven on both backends: each body below runs as `sqlite::<name>` on a
//! temporary SQLite file and as `postgres::<name>` on a fresh PostgreSQL database.

#[macro_use]
mod common;

mod account_portal;
mod analytics;
mod api_keys;
mod at_rest;
mod audit;
mod authz;
mod clients;
mod connect;
mod federation;
mod grants;
mod groups;
mod isolation;
mod mail;
mod mfa;
mod plans;
mod privacy;
mod privacy_requests;
mod risk_velocity;
mod schema;
mod sessions;
mod signing_keys;
mod tenants;
mod throttle;
mod users;
mod verification;
mod webhooks;

on_both_backends!(
    mfa::factors_lifecycle_and_totp_replay,
    federation::identity_providers_crud,
    federation::linked_identities_are_unique_and_go_with_user_and_provider,
    federation::federation_states_are_used_once_and_bound_to_their_browser,
    federation::federation_secrets_are_encrypted_at_rest,
    mfa::webauthn_credentials_are_unique_per_tenant,
    mfa::recovery_codes_are_single_use_and_replaced,
    mfa::login_flows_bind_browsers_and_links,
    mfa::sessions_are_renewed_in_place,
    tenants::migrations_are_idempotent,
    tenants::tenants_crud,
    tenants::delete_tenant_cascades,
    users::users_crud,
    users::duplicate_email_conflicts,
    users::bulk_create_skips_taken_emails,
    users::bulk_create_spans_several_statements,
    users::users_pagination_and_filters,
    users::decryption_failure_is_corrupt,
    groups::groups_crud,
    groups::membership,
    clients::clients_crud,
    sessions::sessions_lifecycle,
    sessions::list_sessions_filters_inactive,
    sessions::starting_a_session_records_the_sign_in,
    throttle::throttle_counts_restarts_and_locks,
    throttle::concurrent_failures_are_all_counted,
    throttle::two_keys_are_read_in_one_call,
    api_keys::api_keys_crud,
    isolation::tenant_isolation,
    isolation::grant_tables_isolation,
    signing_keys::signing_keys_lifecycle,
    grants::authorization_codes_are_single_use,
    grants::refresh_rotation_and_reuse,
    grants::family_revocation_reaches_access_tokens,
    grants::access_tokens_record_and_revoke,
    grants::revoke_user_client_tokens_scopes_by_user_and_client,
    grants::consents_crud,
    grants::assertion_jtis_refuse_replays,
    grants::session_clients_recorded,
    grants::issued_tokens_are_stored_together,
    grants::codes_record_their_session_client,
    grants::device_flow_transitions,
    grants::purge_removes_only_what_ended,
    grants::grants_go_with_their_user_and_tenant,
    grants::concurrent_code_redemption_has_one_winner,
    grants::concurrent_refresh_rotation_has_one_winner,
    grants::rotation_stores_the_successor_in_one_transaction,
    grants::reads_with_family_agree_with_is_family_revoked,
    grants::presented_tokens_carry_their_user_and_session,
    at_rest::personal_data_is_encrypted_at_rest,
    at_rest::audit_and_webhook_secrets_are_encrypted_at_rest,
    isolation::audit_and_webhook_isolation,
    audit::append_builds_a_verifiable_chain,
    audit::tampering_is_detectable,
    audit::concurrent_appends_chain_without_gaps,
    audit::list_audit_filters_and_pages,
    audit::ip_filter_reads_across_batches,
    audit::pruning_requires_a_checkpoint,
    audit::erasure_shreds_personal_data_and_keeps_the_chain,
    audit::append_is_all_or_nothing,
    audit::batches_chain_across_tenants_all_or_nothing,
    audit::concurrent_batches_over_the_same_tenants_both_commit,
    audit::a_long_batch_moves_every_head,
    audit::audit_goes_with_its_tenant,
    audit::two_stores_on_one_database_continue_each_others_chain,
    audit::appends_go_on_after_a_refused_batch,
    webhooks::webhooks_crud,
    webhooks::delivery_lifecycle,
    webhooks::deliveries_pagination,
    webhooks::concurrent_claims_never_share_a_row,
    authz::roles_crud,
    authz::composites_follow_their_roles,
    authz::assignments_crud,
    authz::group_nesting,
    authz::authz_tenant_isolation,
    authz::every_change_bumps_the_version,
    authz::graph_matches_what_was_written,
    mail::mail_outbox_lifecycle,
    mail::an_expired_lease_is_claimed_again,
    mail::queued_mail_is_sealed_and_finished_mail_erased,
    mail::concurrent_mail_claims_never_share_a_row,
    mail::mail_stays_with_its_tenant,
    verification::verification_tokens_are_single_use,
    verification::newer_verification_tokens_supersede_older_ones,
    verification::verification_codes_limit_attempts,
    verification::verification_tokens_seal_and_go_with_their_user,
    account_portal::scheduled_deletions_lease_and_cascade,
    account_portal::audit_lists_a_subjects_events,
    privacy::purposes_and_documents_are_unique_per_tenant,
    privacy::consent_history_is_append_only_and_queryable,
    risk_velocity::risk_velocity_journal_is_shared_and_purged,
    analytics::analytics_aggregate_by_day,
    schema::every_table_is_exported_or_listed,
    privacy_requests::one_node_holds_a_job_lease_until_it_expires,
    privacy_requests::privacy_requests_filter_page_and_transition_once,
    privacy_requests::restriction_and_retention_candidates,
);
