use tessera_core::StoreError;
use tessera_core::client::{ClientType, GRANT_CLIENT_CREDENTIALS};
use tessera_core::store::ClientStore;
use time::Duration;

use crate::common::*;

pub async fn clients_crud(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let mut web = client(s, t.id, "web-app").await;
    let mut machine = new_client(t.id, "cron");
    machine.grant_types = vec![GRANT_CLIENT_CREDENTIALS.into()];
    machine.redirect_uris.clear();
    machine.created_at = t0() + Duration::seconds(1);
    machine.updated_at = machine.created_at;
    s.create_client(&machine).await.unwrap();

    assert_eq!(
        s.get_client(t.id, "web-app").await.unwrap(),
        Some(web.clone())
    );
    assert_eq!(s.get_client(t.id, "nope").await.unwrap(), None);
    assert_eq!(
        s.list_clients(t.id).await.unwrap(),
        vec![web.clone(), machine.clone()]
    );
    let dup = new_client(t.id, "web-app");
    assert!(
        matches!(s.create_client(&dup).await, Err(StoreError::Conflict(w)) if w == "client_id")
    );

    web.name = "Web app v2".into();
    web.client_type = ClientType::Public;
    web.secret_hash = None;
    web.token_endpoint_auth_method = "none".into();
    web.redirect_uris.push("http://localhost:3000/cb".into());
    web.post_logout_redirect_uris = vec!["https://app.example.com/bye".into()];
    web.first_party = true;
    web.metadata = serde_json::json!({"logo_uri": "https://app.example.com/logo.png", "n": [1, 2]});
    web.updated_at = t0() + Duration::minutes(3);
    s.update_client(&web).await.unwrap();
    assert_eq!(
        s.get_client(t.id, "web-app").await.unwrap(),
        Some(web.clone())
    );
    let ghost = new_client(t.id, "ghost");
    assert!(matches!(
        s.update_client(&ghost).await,
        Err(StoreError::NotFound)
    ));

    assert!(s.delete_client(t.id, "cron").await.unwrap());
    assert!(!s.delete_client(t.id, "cron").await.unwrap());
    assert_eq!(s.list_clients(t.id).await.unwrap(), vec![web]);
}
