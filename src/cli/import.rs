//! `tessera user import`: bulk creation of accounts from JSON Lines or CSV, for migrations from
//! another identity system. Passwords come as existing hashes (bcrypt, scrypt, PBKDF2, argon2 in
//! PHC/MCF form), upgraded to argon2id at each user's next sign-in; plain passwords are refused
//! (hashing them here would take hours for large imports and put them in files).

use std::io::BufRead;

use serde::Deserialize;
use tessera_core::Secret;
use tessera_core::events::{Actor, Event, EventKind};
use tessera_core::store::{StoreResult, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::user::{NewUser, User};
use tessera_crypto::inspect_imported_hash;
use tessera_server::app::Services;

use super::output::CliError;

/// One account as given in the file; unknown fields are refused so a typo is reported.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ImportRecord {
    pub email: String,
    #[serde(default)]
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub phone: Option<String>,
    pub attributes: Option<serde_json::Value>,
    pub password_hash: Option<String>,
}

#[derive(serde::Serialize)]
pub struct ImportError {
    pub line: u64,
    pub message: String,
}

#[derive(serde::Serialize)]
pub struct ImportReport {
    pub imported: u64,
    pub failed: u64,
    /// The first 100 problems found, with their line numbers (1-based, header included for CSV),
    /// sorted by line. A repeated email is found when its batch of 1,000 accounts is written, so
    /// beyond 100 problems the list may skip one of an earlier line.
    pub errors: Vec<ImportError>,
}

const MAX_REPORTED_ERRORS: usize = 100;

/// Accounts written per transaction.
const IMPORT_BATCH: usize = 1000;

/// A batch of accounts being written by its own task, with the file lines they came from.
type Write = tokio::task::JoinHandle<(Vec<u64>, StoreResult<Vec<bool>>)>;

/// Starts writing `users` (sealing each, then one transaction) on a task of its own, so the next
/// batch can be read and parsed meanwhile.
fn start_write(svc: &Services, lines: Vec<u64>, users: Vec<User>) -> Write {
    let store = svc.store.clone();
    tokio::spawn(async move {
        let created = store.create_users(&users).await;
        (lines, created)
    })
}

/// Waits for a batch written by [`start_write`] and reports each account of it; an account whose
/// email is already taken is reported on its line.
async fn finish_write(
    write: Write,
    report: &mut ImportReport,
    fail: impl Fn(&mut ImportReport, u64, String),
) -> Result<(), CliError> {
    let (lines, created) = write
        .await
        .map_err(|e| CliError::internal(format!("the import's writer stopped: {e}")))?;
    let created = created.map_err(|e| {
        CliError::internal(format!(
            "lines {} to {}: {e} (imported so far: {}; these {} accounts were not written)",
            lines[0],
            lines[lines.len() - 1],
            report.imported,
            lines.len()
        ))
    })?;
    for (line, created) in lines.into_iter().zip(created) {
        if created {
            report.imported += 1;
        } else {
            fail(
                report,
                line,
                "an account with this email already exists".into(),
            );
        }
    }
    Ok(())
}

fn to_user(tenant: &Tenant, r: ImportRecord) -> Result<User, String> {
    let hash = match r.password_hash.filter(|h| !h.trim().is_empty()) {
        Some(h) => {
            inspect_imported_hash(&h).map_err(|e| format!("password_hash: {e}"))?;
            Some(Secret::new(h))
        }
        None => None,
    };
    let input = NewUser {
        email: r.email,
        email_verified: r.email_verified.unwrap_or(false),
        name: r.name,
        given_name: r.given_name,
        family_name: r.family_name,
        phone: r.phone,
        attributes: r.attributes,
    };
    User::create(tenant.id, input, hash, Services::now()).map_err(|e| e.to_string())
}

/// Reads `path` (`-` for standard input) in the given format and creates the accounts.
pub async fn run(
    svc: &Services,
    tenant: &Tenant,
    path: &str,
    format: &str,
) -> Result<ImportReport, CliError> {
    let reader: Box<dyn BufRead> = if path == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(path)
            .map_err(|e| CliError::invalid(format!("cannot open {path}: {e}")))?;
        Box::new(std::io::BufReader::new(f))
    };
    let mut report = ImportReport {
        imported: 0,
        failed: 0,
        errors: Vec::new(),
    };
    let fail = |report: &mut ImportReport, line: u64, message: String| {
        report.failed += 1;
        if report.errors.len() < MAX_REPORTED_ERRORS {
            report.errors.push(ImportError { line, message });
        }
    };
    let mut records: Box<dyn Iterator<Item = (u64, Result<ImportRecord, String>)>> = match format {
        "jsonl" => Box::new(reader.lines().enumerate().filter_map(|(i, line)| {
            let n = i as u64 + 1;
            match line {
                Err(e) => Some((n, Err(format!("unreadable line: {e}")))),
                Ok(l) if l.trim().is_empty() => None,
                Ok(l) => Some((
                    n,
                    serde_json::from_str::<ImportRecord>(&l)
                        .map_err(|e| format!("invalid JSON: {e}")),
                )),
            }
        })),
        "csv" => {
            let mut rdr = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(reader);
            let headers = rdr
                .headers()
                .map_err(|e| CliError::invalid(format!("the CSV header cannot be read: {e}")))?
                .clone();
            let known = [
                "email",
                "email_verified",
                "name",
                "given_name",
                "family_name",
                "phone",
                "password_hash",
            ];
            if let Some(h) = headers.iter().find(|h| !known.contains(h)) {
                return Err(CliError::invalid(format!(
                    "unknown CSV column \"{h}\"; use: {}",
                    known.join(", ")
                )));
            }
            if !headers.iter().any(|h| h == "email") {
                return Err(CliError::invalid("the CSV needs an \"email\" column"));
            }
            Box::new(rdr.into_records().enumerate().map(move |(i, rec)| {
                let n = i as u64 + 2;
                let rec = match rec {
                    Ok(r) => r,
                    Err(e) => return (n, Err(format!("invalid CSV row: {e}"))),
                };
                let get = |name: &str| {
                    headers
                        .iter()
                        .position(|h| h == name)
                        .and_then(|i| rec.get(i))
                        .filter(|v| !v.is_empty())
                        .map(str::to_string)
                };
                let verified = match get("email_verified").as_deref() {
                    None => Ok(None),
                    Some("true" | "1" | "yes") => Ok(Some(true)),
                    Some("false" | "0" | "no") => Ok(Some(false)),
                    Some(other) => Err(format!("email_verified: \"{other}\" is not true or false")),
                };
                let r = verified.map(|email_verified| ImportRecord {
                    email: get("email").unwrap_or_default(),
                    email_verified,
                    name: get("name"),
                    given_name: get("given_name"),
                    family_name: get("family_name"),
                    phone: get("phone"),
                    attributes: None,
                    password_hash: get("password_hash"),
                });
                (n, r)
            }))
        }
        other => {
            return Err(CliError::invalid(format!(
                "--format {other}: use jsonl or csv"
            )));
        }
    };
    // Accounts are written IMPORT_BATCH at a time, one transaction each: a commit per account
    // would bound a million-account import by the database's commit rate. While one batch is
    // written, the next is read and parsed; batches are written one after the other, in file
    // order, so the first of two lines with the same email is the one imported.
    let mut lines: Vec<u64> = Vec::with_capacity(IMPORT_BATCH);
    let mut users: Vec<User> = Vec::with_capacity(IMPORT_BATCH);
    let mut writing: Option<Write> = None;
    for (line, record) in records.by_ref() {
        match record.and_then(|r| to_user(tenant, r)) {
            Ok(u) => {
                lines.push(line);
                users.push(u);
            }
            Err(message) => fail(&mut report, line, message),
        }
        if users.len() == IMPORT_BATCH {
            if let Some(w) = writing.take() {
                finish_write(w, &mut report, fail).await?;
            }
            writing = Some(start_write(
                svc,
                std::mem::replace(&mut lines, Vec::with_capacity(IMPORT_BATCH)),
                std::mem::replace(&mut users, Vec::with_capacity(IMPORT_BATCH)),
            ));
        }
    }
    if let Some(w) = writing.take() {
        finish_write(w, &mut report, fail).await?;
    }
    if !users.is_empty() {
        finish_write(start_write(svc, lines, users), &mut report, fail).await?;
    }
    report.errors.sort_by_key(|e| e.line);
    let kind = EventKind::UsersImported {
        imported: report.imported,
        failed: report.failed,
    };
    svc.emit(Event::new(tenant.id, Services::now(), kind, Actor::cli()))
        .await;
    Ok(report)
}
