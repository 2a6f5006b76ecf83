//! The one place that turns failures into HTTP answers for the admin API: a JSON body
//! `{"error": "<code>", "message": "<plain words>"}` and the right status. Internal errors are
//! logged with their detail and answered without it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::{CoreError, StoreError};

#[derive(Debug)]
pub enum ApiError {
    BadRequest {
        field: Option<&'static str>,
        message: String,
    },
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    MethodNotAllowed,
    Conflict(String),
    PayloadTooLarge(String),
    UnsupportedMediaType(String),
    TooManyRequests {
        retry_after_secs: u64,
    },
    Unavailable {
        retry_after_secs: u64,
        message: String,
    },
    Internal(String),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code: invalid_request, unauthorized, forbidden, not_found, conflict,
    /// payload_too_large, unsupported_media_type, too_many_requests, unavailable, internal_error.
    pub error: &'static str,
    /// What went wrong and how to fix it, in plain words.
    pub message: String,
    /// The input field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field: None,
            message: message.into(),
        }
    }
    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "invalid_request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let (message, field, retry_after) = match self {
            ApiError::BadRequest { field, message } => (message, field, None),
            ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::PayloadTooLarge(m)
            | ApiError::UnsupportedMediaType(m) => (m, None, None),
            ApiError::MethodNotAllowed => {
                ("this method is not allowed on this path".into(), None, None)
            }
            ApiError::TooManyRequests { retry_after_secs } => (
                format!("too many requests; retry after {retry_after_secs} seconds"),
                None,
                Some(retry_after_secs),
            ),
            ApiError::Unavailable {
                retry_after_secs,
                message,
            } => (message, None, Some(retry_after_secs)),
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error while handling an admin API request");
                (
                    "an internal error occurred; the server log has the details".into(),
                    None,
                    None,
                )
            }
        };
        let mut resp = (
            status,
            axum::Json(ErrorBody {
                error: code,
                message,
                field,
            }),
        )
            .into_response();
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tessera-admin\""),
            );
        }
        resp
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::NotFound(what) => ApiError::not_found(what),
            CoreError::Conflict(what) => ApiError::Conflict(format!("{what} is already in use")),
            CoreError::Invalid { field, message } => ApiError::BadRequest {
                field: Some(field),
                message: format!("{field}: {message}"),
            },
            CoreError::Store(s) => ApiError::from(s),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("object"),
            StoreError::Conflict(what) => ApiError::Conflict(format!("{what} is already in use")),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
