//! Domain and store errors. The HTTP layer maps these to status codes in one place.

/// Errors raised by a store adapter.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated; the string names what collided (e.g. "email").
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Backend(String),
    #[error("stored data could not be decrypted or decoded: {0}")]
    Corrupt(String),
}

/// Errors a domain operation reports to its caller.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0} already exists")]
    Conflict(String),
    /// Input that breaks a rule; `field` names the offending input for machine-readable errors.
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(StoreError),
}

impl CoreError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        CoreError::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => CoreError::NotFound("object"),
            StoreError::Conflict(what) => CoreError::Conflict(what),
            other => CoreError::Store(other),
        }
    }
}
