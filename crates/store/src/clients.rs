//! `ClientStore`: the `clients` table, keyed by `(tenant_id, client_id)`. URI lists, grant types,
//! scopes and metadata are JSON text; the secret is stored only as its hash.

use tessera_core::client::{Client, ClientType};
use tessera_core::store::{ClientStore, StoreResult};
use tessera_core::{StoreError, TenantId};

use crate::Store;
use crate::codec::{from_json, from_millis, id, to_json, to_millis};
use crate::error::corrupt;

macro_rules! client_columns {
    () => {
        "tenant_id, client_id, name, client_type, secret_hash, redirect_uris, post_logout_redirect_uris, \
         grant_types, allowed_scopes, token_endpoint_auth_method, first_party, metadata, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    tenant_id: String,
    client_id: String,
    name: String,
    client_type: String,
    secret_hash: Option<String>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    allowed_scopes: String,
    token_endpoint_auth_method: String,
    first_party: bool,
    metadata: String,
    created_at: i64,
    updated_at: i64,
}

fn client_type_str(t: ClientType) -> &'static str {
    match t {
        ClientType::Confidential => "confidential",
        ClientType::Public => "public",
    }
}

fn parse_client_type(s: &str) -> Result<ClientType, StoreError> {
    match s {
        "confidential" => Ok(ClientType::Confidential),
        "public" => Ok(ClientType::Public),
        _ => Err(corrupt("clients.client_type is not a known client type")),
    }
}

impl ClientRow {
    fn into_client(self) -> Result<Client, StoreError> {
        Ok(Client {
            tenant_id: id("clients.tenant_id", &self.tenant_id, TenantId::parse)?,
            client_id: self.client_id,
            name: self.name,
            client_type: parse_client_type(&self.client_type)?,
            secret_hash: self.secret_hash,
            redirect_uris: from_json("clients.redirect_uris", &self.redirect_uris)?,
            post_logout_redirect_uris: from_json(
                "clients.post_logout_redirect_uris",
                &self.post_logout_redirect_uris,
            )?,
            grant_types: from_json("clients.grant_types", &self.grant_types)?,
            allowed_scopes: from_json("clients.allowed_scopes", &self.allowed_scopes)?,
            token_endpoint_auth_method: self.token_endpoint_auth_method,
            first_party: self.first_party,
            metadata: from_json("clients.metadata", &self.metadata)?,
            created_at: from_millis(self.created_at)?,
            updated_at: from_millis(self.updated_at)?,
        })
    }
}

/// The JSON columns of a client, encoded once for an insert or update.
struct ClientJson {
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    allowed_scopes: String,
    metadata: String,
}

impl ClientJson {
    fn new(c: &Client) -> Result<ClientJson, StoreError> {
        Ok(ClientJson {
            redirect_uris: to_json("clients.redirect_uris", &c.redirect_uris)?,
            post_logout_redirect_uris: to_json(
                "clients.post_logout_redirect_uris",
                &c.post_logout_redirect_uris,
            )?,
            grant_types: to_json("clients.grant_types", &c.grant_types)?,
            allowed_scopes: to_json("clients.allowed_scopes", &c.allowed_scopes)?,
            metadata: to_json("clients.metadata", &c.metadata)?,
        })
    }
}

impl ClientStore for Store {
    async fn create_client(&self, client: &Client) -> StoreResult<()> {
        let json = ClientJson::new(client)?;
        execute!(
            self,
            sqlx::query(concat!(
                "INSERT INTO clients (",
                client_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ))
            .bind(client.tenant_id.to_string())
            .bind(&client.client_id)
            .bind(&client.name)
            .bind(client_type_str(client.client_type))
            .bind(&client.secret_hash)
            .bind(&json.redirect_uris)
            .bind(&json.post_logout_redirect_uris)
            .bind(&json.grant_types)
            .bind(&json.allowed_scopes)
            .bind(&client.token_endpoint_auth_method)
            .bind(client.first_party)
            .bind(&json.metadata)
            .bind(to_millis(client.created_at))
            .bind(to_millis(client.updated_at))
        )?;
        Ok(())
    }

    async fn get_client(&self, tenant: TenantId, client_id: &str) -> StoreResult<Option<Client>> {
        let row: Option<ClientRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                client_columns!(),
                " FROM clients WHERE tenant_id = $1 AND client_id = $2"
            ))
            .bind(tenant.to_string())
            .bind(client_id)
        )?;
        row.map(ClientRow::into_client).transpose()
    }

    async fn list_clients(&self, tenant: TenantId) -> StoreResult<Vec<Client>> {
        let rows: Vec<ClientRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                client_columns!(),
                " FROM clients WHERE tenant_id = $1 ORDER BY created_at, client_id"
            ))
            .bind(tenant.to_string())
        )?;
        rows.into_iter().map(ClientRow::into_client).collect()
    }

    async fn update_client(&self, client: &Client) -> StoreResult<()> {
        let json = ClientJson::new(client)?;
        let updated = execute!(
            self,
            sqlx::query(
                "UPDATE clients SET name = $3, client_type = $4, secret_hash = $5, redirect_uris = $6, \
                 post_logout_redirect_uris = $7, grant_types = $8, allowed_scopes = $9, \
                 token_endpoint_auth_method = $10, first_party = $11, metadata = $12, updated_at = $13 \
                 WHERE tenant_id = $1 AND client_id = $2"
            )
            .bind(client.tenant_id.to_string())
            .bind(&client.client_id)
            .bind(&client.name)
            .bind(client_type_str(client.client_type))
            .bind(&client.secret_hash)
            .bind(&json.redirect_uris)
            .bind(&json.post_logout_redirect_uris)
            .bind(&json.grant_types)
            .bind(&json.allowed_scopes)
            .bind(&client.token_endpoint_auth_method)
            .bind(client.first_party)
            .bind(&json.metadata)
            .bind(to_millis(client.updated_at))
        )?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_client(&self, tenant: TenantId, client_id: &str) -> StoreResult<bool> {
        let deleted = execute!(
            self,
            sqlx::query("DELETE FROM clients WHERE tenant_id = $1 AND client_id = $2")
                .bind(tenant.to_string())
                .bind(client_id)
        )?;
        Ok(deleted > 0)
    }
}
