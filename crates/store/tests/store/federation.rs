//! Identity providers, linked identities and sign-ins at a provider in progress: secrets and
//! upstream subjects sealed at rest, one link per subject and per account and provider, states
//! used once, and everything goes with its provider, user and tenant.

use serde_json::json;
use tessera_core::federation::{
    FederationStage, FederationState, FederationStateId, FederationStore, IdentityProvider,
    IdentityProviderId, LinkedIdentity, LinkedIdentityId,
};
use tessera_core::store::{TenantStore, UserStore};
use tessera_core::{Secret, StoreError, TenantId};
use time::Duration;

use crate::common::*;

fn provider(tenant: TenantId, alias: &str) -> IdentityProvider {
    IdentityProvider {
        id: IdentityProviderId::new(),
        tenant_id: tenant,
        alias: alias.into(),
        display_name: "Corp SSO".into(),
        enabled: true,
        trust_email: false,
        jit: true,
        domains: vec!["corp.example".into()],
        settings: json!({"issuer": "https://idp.corp.example", "client_id": "tessera"}),
        client_secret: Some(Secret::new("idp-secret-narwhal-77")),
        created_at: t0(),
        updated_at: t0(),
    }
}

fn link(p: &IdentityProvider, user: tessera_core::UserId, subject: &str) -> LinkedIdentity {
    LinkedIdentity {
        id: LinkedIdentityId::new(),
        tenant_id: p.tenant_id,
        user_id: user,
        provider_id: p.id,
        subject: subject.into(),
        email: Some("ann@corp.example".into()),
        tokens: None,
        created_at: t0(),
        last_used_at: None,
    }
}

fn state(p: &IdentityProvider, state_hash: &str, binding: &str) -> FederationState {
    FederationState {
        id: FederationStateId::new(),
        tenant_id: p.tenant_id,
        provider_id: p.id,
        stage: FederationStage::Authorize,
        state_hash: state_hash.into(),
        binding_hash: binding.into(),
        nonce_hash: "nonce-hash".into(),
        pkce_verifier: Secret::new("pkce-verifier-okapi-31"),
        return_to: "/t/acme/account".into(),
        linking_user: None,
        target_user: None,
        payload: None,
        created_at: t0(),
        expires_at: t0() + Duration::minutes(10),
    }
}

pub async fn identity_providers_crud(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let p = provider(t.id, "corp");
    s.create_identity_provider(&p).await.unwrap();
    assert_eq!(
        s.get_identity_provider(t.id, p.id).await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(
        s.find_identity_provider(t.id, "corp").await.unwrap(),
        Some(p.clone())
    );
    let dup = provider(t.id, "corp");
    assert!(matches!(
        s.create_identity_provider(&dup).await,
        Err(StoreError::Conflict(w)) if w == "alias"
    ));
    let mut changed = p.clone();
    changed.display_name = "Corp".into();
    changed.client_secret = None;
    changed.updated_at = t0() + Duration::seconds(1);
    s.update_identity_provider(&changed).await.unwrap();
    assert_eq!(
        s.list_identity_providers(t.id).await.unwrap(),
        vec![changed.clone()]
    );
    // Another tenant sees nothing and may use the same alias.
    let other = tenant(s, "other").await;
    assert_eq!(
        s.find_identity_provider(other.id, "corp").await.unwrap(),
        None
    );
    assert_eq!(s.get_identity_provider(other.id, p.id).await.unwrap(), None);
    s.create_identity_provider(&provider(other.id, "corp"))
        .await
        .unwrap();
    assert!(s.delete_identity_provider(t.id, p.id).await.unwrap());
    assert!(!s.delete_identity_provider(t.id, p.id).await.unwrap());
}

pub async fn linked_identities_are_unique_and_go_with_user_and_provider(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let p = provider(t.id, "corp");
    s.create_identity_provider(&p).await.unwrap();
    let ann = user(s, t.id, "ann@acme.test").await;
    let bob = user(s, t.id, "bob@acme.test").await;
    let l = link(&p, ann.id, "upstream-ann");
    s.create_linked_identity(&l).await.unwrap();
    assert_eq!(
        s.find_linked_identity(t.id, p.id, "upstream-ann")
            .await
            .unwrap(),
        Some(l.clone())
    );
    assert_eq!(
        s.find_linked_identity(t.id, p.id, "upstream-bob")
            .await
            .unwrap(),
        None
    );
    // The same upstream subject cannot be linked to a second account…
    assert!(matches!(
        s.create_linked_identity(&link(&p, bob.id, "upstream-ann")).await,
        Err(StoreError::Conflict(w)) if w == "subject"
    ));
    // …nor one account to two subjects of the same provider.
    assert!(matches!(
        s.create_linked_identity(&link(&p, ann.id, "upstream-other")).await,
        Err(StoreError::Conflict(w)) if w == "provider"
    ));
    let tokens = json!({"access_token": "at"});
    s.touch_linked_identity(t.id, l.id, t0() + Duration::seconds(5), Some(&tokens))
        .await
        .unwrap();
    let listed = s.list_linked_identities(t.id, ann.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].tokens, Some(tokens));
    assert_eq!(listed[0].last_used_at, Some(t0() + Duration::seconds(5)));
    // Only the owner's link is deleted through the owner.
    assert!(!s.delete_linked_identity(t.id, bob.id, l.id).await.unwrap());
    assert!(s.delete_linked_identity(t.id, ann.id, l.id).await.unwrap());
    // Links go with their user and with their provider.
    s.create_linked_identity(&link(&p, ann.id, "upstream-ann"))
        .await
        .unwrap();
    s.create_linked_identity(&link(&p, bob.id, "upstream-bob"))
        .await
        .unwrap();
    assert!(s.delete_user(t.id, ann.id).await.unwrap());
    assert_eq!(
        s.find_linked_identity(t.id, p.id, "upstream-ann")
            .await
            .unwrap(),
        None
    );
    assert!(s.delete_identity_provider(t.id, p.id).await.unwrap());
    assert!(
        s.list_linked_identities(t.id, bob.id)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn federation_states_are_used_once_and_bound_to_their_browser(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let p = provider(t.id, "corp");
    s.create_identity_provider(&p).await.unwrap();
    let st = state(&p, "state-1", "browser-1");
    s.create_federation_state(&st).await.unwrap();
    // A form_post response is kept once.
    let response = json!({"code": "c"});
    assert!(
        s.stash_federation_response(t.id, "state-1", &response, t0())
            .await
            .unwrap()
    );
    assert!(
        !s.stash_federation_response(t.id, "state-1", &response, t0())
            .await
            .unwrap()
    );
    assert!(
        !s.stash_federation_response(t.id, "state-2", &response, t0())
            .await
            .unwrap()
    );
    // Another tenant cannot take it; the first take wins, the second finds nothing.
    let other = tenant(s, "other").await;
    assert_eq!(
        s.take_federation_state(other.id, "state-1", t0())
            .await
            .unwrap(),
        None
    );
    let taken = s
        .take_federation_state(t.id, "state-1", t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.payload, Some(response));
    assert_eq!(taken.pkce_verifier, st.pkce_verifier);
    assert_eq!(
        s.take_federation_state(t.id, "state-1", t0())
            .await
            .unwrap(),
        None
    );
    // An expired state is consumed but not returned.
    let old = state(&p, "state-old", "browser-1");
    s.create_federation_state(&old).await.unwrap();
    assert_eq!(
        s.take_federation_state(t.id, "state-old", t0() + Duration::minutes(11))
            .await
            .unwrap(),
        None
    );
    // States awaiting proof are found by their browser, never taken as authorization states.
    let mut proof = state(&p, "proof-1", "browser-2");
    proof.stage = FederationStage::AwaitingProof;
    proof.payload = Some(json!({"identity": {"subject": "s"}}));
    s.create_federation_state(&proof).await.unwrap();
    assert_eq!(
        s.take_federation_state(t.id, "proof-1", t0())
            .await
            .unwrap(),
        None
    );
    let found = s
        .find_federation_state_by_binding(t.id, "browser-2", FederationStage::AwaitingProof, t0())
        .await
        .unwrap();
    assert_eq!(found, Some(proof.clone()));
    assert_eq!(
        s.find_federation_state_by_binding(t.id, "browser-1", FederationStage::AwaitingProof, t0())
            .await
            .unwrap(),
        None
    );
    let newer = json!({"attempts": 1});
    assert!(
        s.update_federation_payload(t.id, proof.id, &newer)
            .await
            .unwrap()
    );
    assert_eq!(
        s.find_federation_state_by_binding(t.id, "browser-2", FederationStage::AwaitingProof, t0())
            .await
            .unwrap()
            .unwrap()
            .payload,
        Some(newer)
    );
    assert_eq!(
        s.purge_federation_states(t0() + Duration::hours(1))
            .await
            .unwrap(),
        1
    );
    assert!(!s.delete_federation_state(t.id, proof.id).await.unwrap());
    // Everything goes with the tenant.
    s.create_federation_state(&state(&p, "state-3", "b"))
        .await
        .unwrap();
    assert!(s.delete_tenant(t.id).await.unwrap());
    assert_eq!(s.find_identity_provider(t.id, "corp").await.unwrap(), None);
}

pub async fn federation_secrets_are_encrypted_at_rest(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, crate::at_rest::CANARY).await;
    let p = provider(t.id, "corp");
    s.create_identity_provider(&p).await.unwrap();
    let u = user(s, t.id, "ann@acme.test").await;
    let mut l = link(&p, u.id, "upstream-subject-capybara-9");
    l.email = Some("capybara.linked@corp.example".into());
    l.tokens = Some(json!({"access_token": "upstream-token-tapir-3"}));
    s.create_linked_identity(&l).await.unwrap();
    s.create_federation_state(&state(&p, "state-1", "b"))
        .await
        .unwrap();
    crate::at_rest::assert_stored_clean(
        h,
        &[
            "idp-secret-narwhal-77",
            "upstream-subject-capybara-9",
            "capybara.linked",
            "upstream-token-tapir-3",
            "pkce-verifier-okapi-31",
        ],
    )
    .await;
}
