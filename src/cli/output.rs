//! How commands answer: human text, or exactly one JSON object with `--json`.

use std::process::ExitCode;

use serde::Serialize;
use tessera_core::CoreError;

pub struct Out {
    pub json: bool,
}

#[derive(Debug)]
pub struct CliError {
    /// Machine-readable code, as in the admin API's error bodies.
    pub code: &'static str,
    pub message: String,
    pub exit: u8,
    /// The command already printed its JSON answer (e.g. a failed verification report).
    pub silent_json: bool,
}

impl CliError {
    pub fn config(message: String) -> CliError {
        CliError {
            code: "configuration_error",
            message,
            exit: 78,
            silent_json: false,
        }
    }
    pub fn internal(message: String) -> CliError {
        CliError {
            code: "internal_error",
            message,
            exit: 1,
            silent_json: false,
        }
    }
    pub fn invalid(message: impl Into<String>) -> CliError {
        CliError {
            code: "invalid_request",
            message: message.into(),
            exit: 2,
            silent_json: false,
        }
    }
    pub fn not_found(message: impl Into<String>) -> CliError {
        CliError {
            code: "not_found",
            message: message.into(),
            exit: 3,
            silent_json: false,
        }
    }
}

impl From<CoreError> for CliError {
    fn from(e: CoreError) -> CliError {
        match e {
            CoreError::NotFound(what) => CliError::not_found(format!("{what} not found")),
            CoreError::Conflict(what) => CliError {
                code: "conflict",
                message: format!("{what} already exists"),
                exit: 5,
                silent_json: false,
            },
            CoreError::Invalid { field, message } => {
                CliError::invalid(format!("{field}: {message}"))
            }
            CoreError::Store(s) => CliError::internal(s.to_string()),
        }
    }
}

impl From<tessera_core::StoreError> for CliError {
    fn from(e: tessera_core::StoreError) -> CliError {
        CoreError::from(e).into()
    }
}

impl Out {
    /// Prints `value` as JSON with `--json`, else the human text.
    pub fn print<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) {
        if self.json {
            match serde_json::to_string(value) {
                Ok(s) => println!("{s}"),
                Err(e) => println!(
                    "{}",
                    serde_json::json!({"error": "internal_error", "message": e.to_string()})
                ),
            }
        } else {
            println!("{}", human());
        }
    }

    pub fn fail(&self, e: CliError) -> ExitCode {
        if self.json && !e.silent_json {
            println!(
                "{}",
                serde_json::json!({"error": e.code, "message": e.message})
            );
        }
        eprintln!("error: {}", e.message);
        ExitCode::from(e.exit)
    }
}
