//! `tessera user …`

use std::io::BufRead;

use clap::Subcommand;
use tessera_core::events::Actor;
use tessera_core::page::PageRequest;
use tessera_core::store::UserStore;
use tessera_core::tenant::Tenant;
use tessera_core::user::{NewUser, User, UserFilter, UserPatch, UserStatus};
use tessera_core::{Secret, UserId};
use tessera_server::api::users::UserView;
use tessera_server::app::Services;
use tessera_server::app::users::{PasswordInput, prepare_password};

use super::output::{CliError, Out};

#[derive(Subcommand)]
pub enum UserCmd {
    /// Create an account.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// The password (visible in the process list; prefer --password-stdin).
        #[arg(long, conflicts_with_all = ["password_hash", "password_stdin"])]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "password_hash")]
        password_stdin: bool,
        /// Import an existing hash (argon2, bcrypt, scrypt, PBKDF2 in PHC/MCF form).
        #[arg(long)]
        password_hash: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email_verified: bool,
    },
    /// List accounts (one page; use --after with the printed next_cursor for more).
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long, value_parser = ["active", "disabled"])]
        status: Option<String>,
        #[arg(long)]
        after: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Show an account, by id or email.
    Show {
        #[arg(long)]
        tenant: String,
        user: String,
    },
    /// Create accounts in bulk from JSON Lines (one object per line) or CSV (with a header):
    /// email, email_verified, name, given_name, family_name, phone, attributes (JSON Lines only),
    /// password_hash (bcrypt, scrypt, PBKDF2 or argon2). Prints a report; bad lines are skipped.
    Import {
        #[arg(long)]
        tenant: String,
        /// The file, or - for standard input.
        #[arg(long)]
        file: String,
        #[arg(long, value_parser = ["jsonl", "csv"], default_value = "jsonl")]
        format: String,
    },
    /// Disable an account and end its sessions.
    Disable {
        #[arg(long)]
        tenant: String,
        user: String,
    },
    /// Enable a disabled account.
    Enable {
        #[arg(long)]
        tenant: String,
        user: String,
    },
    /// Delete an account.
    Delete {
        #[arg(long)]
        tenant: String,
        user: String,
    },
}

/// Finds a user by id or, failing that, by email.
async fn find(svc: &Services, tenant: &Tenant, key: &str) -> Result<User, CliError> {
    let found = match UserId::parse(key) {
        Some(id) => svc.store.get_user(tenant.id, id).await?,
        None => svc.store.find_user_by_email(tenant.id, key).await?,
    };
    found.ok_or_else(|| CliError::not_found("user not found"))
}

pub async fn run(cmd: UserCmd, svc: &Services, out: &Out) -> Result<(), CliError> {
    match cmd {
        UserCmd::Create {
            tenant,
            email,
            password,
            password_stdin,
            password_hash,
            name,
            email_verified,
        } => {
            let t = svc.tenant(&tenant).await?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).map_err(|e| {
                    CliError::invalid(format!("cannot read the password from stdin: {e}"))
                })?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                password
            };
            let input = match (password, password_hash) {
                (Some(p), _) => PasswordInput::Plain(Secret::new(p)),
                (None, Some(h)) => PasswordInput::Imported(Secret::new(h)),
                (None, None) => PasswordInput::None,
            };
            let new = NewUser {
                email,
                email_verified,
                name,
                ..Default::default()
            };
            User::create(t.id, new.clone(), None, Services::now())?;
            let hash = prepare_password(&svc.hasher, input)?;
            let user = svc.create_user(t.id, new, hash, Actor::cli()).await?;
            let view = UserView::from(user);
            out.print(&view, || {
                format!("created user {} ({})", view.email, view.id)
            });
        }
        UserCmd::List {
            tenant,
            email,
            status,
            after,
            limit,
        } => {
            let t = svc.tenant(&tenant).await?;
            if after.as_deref().is_some_and(|a| UserId::parse(a).is_none()) {
                return Err(CliError::invalid(
                    "--after: not a cursor printed by this command",
                ));
            }
            let filter = UserFilter {
                email,
                status: status.as_deref().map(UserStatus::parse).transpose()?,
            };
            let page = svc
                .store
                .list_users(t.id, &filter, &PageRequest { after, limit })
                .await?;
            let items: Vec<UserView> = page.items.into_iter().map(UserView::from).collect();
            let next = page.next_cursor;
            out.print(
                &serde_json::json!({"items": items, "next_cursor": next}),
                || {
                    let mut lines: Vec<String> = items
                        .iter()
                        .map(|u| format!("{}\t{}\t{}", u.id, u.status, u.email))
                        .collect();
                    if let Some(n) = &next {
                        lines.push(format!("(more: --after {n})"));
                    }
                    lines.join("\n")
                },
            );
        }
        UserCmd::Show { tenant, user } => {
            let t = svc.tenant(&tenant).await?;
            let view = UserView::from(find(svc, &t, &user).await?);
            out.print(&view, || {
                serde_json::to_string_pretty(&view).unwrap_or_default()
            });
        }
        UserCmd::Disable { tenant, user } => {
            set_status(svc, out, &tenant, &user, UserStatus::Disabled).await?
        }
        UserCmd::Enable { tenant, user } => {
            set_status(svc, out, &tenant, &user, UserStatus::Active).await?
        }
        UserCmd::Import {
            tenant,
            file,
            format,
        } => {
            let t = svc.tenant(&tenant).await?;
            let report = super::import::run(svc, &t, &file, &format).await?;
            out.print(&report, || {
                let mut lines = vec![format!(
                    "imported {} account(s), {} line(s) refused",
                    report.imported, report.failed
                )];
                lines.extend(
                    report
                        .errors
                        .iter()
                        .map(|e| format!("  line {}: {}", e.line, e.message)),
                );
                lines.join("\n")
            });
        }
        UserCmd::Delete { tenant, user } => {
            let t = svc.tenant(&tenant).await?;
            let u = find(svc, &t, &user).await?;
            svc.delete_user(t.id, u.id, Actor::cli()).await?;
            out.print(
                &serde_json::json!({"deleted": true, "id": u.id.to_string()}),
                || format!("deleted user {}", u.id),
            );
        }
    }
    Ok(())
}

async fn set_status(
    svc: &Services,
    out: &Out,
    tenant: &str,
    user: &str,
    status: UserStatus,
) -> Result<(), CliError> {
    let t = svc.tenant(tenant).await?;
    let u = find(svc, &t, user).await?;
    let updated = svc
        .update_user(
            t.id,
            u.id,
            UserPatch {
                status: Some(status),
                ..Default::default()
            },
            Actor::cli(),
        )
        .await?;
    let view = UserView::from(updated);
    out.print(&view, || {
        format!("user {} is now {}", view.email, view.status)
    });
    Ok(())
}
