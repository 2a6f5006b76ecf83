//! `tessera client …`

use clap::Subcommand;
use tessera_core::client::NewClient;
use tessera_core::events::Actor;
use tessera_core::store::ClientStore;
use tessera_server::api::clients::{ClientView, CreatedClient};
use tessera_server::app::Services;

use super::output::{CliError, Out};

#[derive(Subcommand)]
pub enum ClientCmd {
    /// Register an application. The secret is printed once.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// Exact redirect URI (repeat for several).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// A public client (SPA, native app): no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code (repeatable).
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[arg(long = "auth-method")]
        token_endpoint_auth_method: Option<String>,
        /// Skip the consent page for this application.
        #[arg(long)]
        first_party: bool,
    },
    List {
        #[arg(long)]
        tenant: String,
    },
    Show {
        #[arg(long)]
        tenant: String,
        client_id: String,
    },
    Delete {
        #[arg(long)]
        tenant: String,
        client_id: String,
    },
    /// Replace a confidential client's secret (printed once).
    RotateSecret {
        #[arg(long)]
        tenant: String,
        client_id: String,
    },
}

pub async fn run(cmd: ClientCmd, svc: &Services, out: &Out) -> Result<(), CliError> {
    match cmd {
        ClientCmd::Create {
            tenant,
            name,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            grant_types,
            scopes,
            token_endpoint_auth_method,
            first_party,
        } => {
            let t = svc.tenant(&tenant).await?;
            let input = NewClient {
                name,
                public,
                redirect_uris,
                post_logout_redirect_uris,
                grant_types,
                allowed_scopes: scopes,
                token_endpoint_auth_method,
                first_party,
                metadata: None,
            };
            let (client, secret) = svc.create_client(t.id, input, Actor::cli()).await?;
            let created = CreatedClient {
                client: client.into(),
                client_secret: secret.map(|s| s.expose().to_string()),
            };
            out.print(&created, || match &created.client_secret {
                Some(s) => format!("client_id: {}\nclient_secret: {s}\n(store the secret now; it is not shown again)", created.client.client_id),
                None => format!("client_id: {} (public client, no secret)", created.client.client_id),
            });
        }
        ClientCmd::List { tenant } => {
            let t = svc.tenant(&tenant).await?;
            let items: Vec<ClientView> = svc
                .store
                .list_clients(t.id)
                .await?
                .into_iter()
                .map(ClientView::from)
                .collect();
            out.print(&serde_json::json!({ "items": items }), || {
                items
                    .iter()
                    .map(|c| format!("{}\t{}\t{}", c.client_id, c.client_type, c.name))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        ClientCmd::Show { tenant, client_id } => {
            let t = svc.tenant(&tenant).await?;
            let view = ClientView::from(svc.client(t.id, &client_id).await?);
            out.print(&view, || {
                serde_json::to_string_pretty(&view).unwrap_or_default()
            });
        }
        ClientCmd::Delete { tenant, client_id } => {
            let t = svc.tenant(&tenant).await?;
            if !svc.remove_client(t.id, &client_id).await? {
                return Err(CliError::not_found("client not found"));
            }
            out.print(
                &serde_json::json!({"deleted": true, "client_id": client_id}),
                || format!("deleted client {client_id}"),
            );
        }
        ClientCmd::RotateSecret { tenant, client_id } => {
            let t = svc.tenant(&tenant).await?;
            let (c, secret) = svc
                .rotate_client_secret(t.id, &client_id, Actor::cli())
                .await?;
            out.print(
                &serde_json::json!({"client_id": c.client_id, "client_secret": secret.expose()}),
                || format!("new client_secret: {}", secret.expose()),
            );
        }
    }
    Ok(())
}
