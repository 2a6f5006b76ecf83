//! `tessera tenant …`

use clap::Subcommand;
use tessera_core::events::Actor;
use tessera_core::store::TenantStore;
use tessera_core::tenant::Preset;
use tessera_server::api::tenants::TenantView;
use tessera_server::app::Services;

use super::output::{CliError, Out};

#[derive(Subcommand)]
pub enum TenantCmd {
    /// Create a tenant from a preset.
    Create {
        slug: String,
        #[arg(long, value_parser = ["workforce", "customer"])]
        preset: String,
        #[arg(long)]
        name: Option<String>,
        /// Data residency: the region the tenant's data lives in (e.g. eu, us-east). Defaults to
        /// TESSERA_REGION; another region than TESSERA_REGION is refused.
        #[arg(long)]
        region: Option<String>,
    },
    /// List tenants.
    List,
    /// Show one tenant.
    Show { slug: String },
    /// Delete a tenant and everything it owns.
    Delete { slug: String },
}

pub async fn run(cmd: TenantCmd, svc: &Services, out: &Out) -> Result<(), CliError> {
    let url = svc.config.public_url.clone();
    match cmd {
        TenantCmd::Create {
            slug,
            preset,
            name,
            region,
        } => {
            let t = svc
                .create_tenant(
                    &slug,
                    name.as_deref(),
                    Preset::parse(&preset)?,
                    region.as_deref(),
                    Actor::cli(),
                )
                .await?;
            let view = TenantView::new(t, &url);
            out.print(&view, || {
                format!(
                    "created tenant {} ({}), issuer {}",
                    view.slug, view.preset, view.issuer
                )
            });
        }
        TenantCmd::List => {
            let items: Vec<TenantView> = svc
                .store
                .list_tenants()
                .await?
                .into_iter()
                .map(|t| TenantView::new(t, &url))
                .collect();
            out.print(&serde_json::json!({ "items": items }), || {
                items
                    .iter()
                    .map(|t| format!("{}\t{}\t{}", t.slug, t.preset, t.issuer))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        TenantCmd::Show { slug } => {
            let view = TenantView::new(svc.tenant(&slug).await?, &url);
            out.print(&view, || {
                serde_json::to_string_pretty(&view).unwrap_or_default()
            });
        }
        TenantCmd::Delete { slug } => {
            svc.delete_tenant(&slug, Actor::cli()).await?;
            out.print(&serde_json::json!({"deleted": true, "slug": slug}), || {
                format!("deleted tenant {slug}")
            });
        }
    }
    Ok(())
}
