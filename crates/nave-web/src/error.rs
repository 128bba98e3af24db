//! The one error type at the HTTP edge.
//!
//! API errors are RFC 9457 `application/problem+json` with a stable `code`
//! from the domain's catalogue and the request id; pages render the same
//! error as HTML (see `pages`). Internal details go to the log with the
//! request id, never into a response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nave_domain::DomainError;
use nave_domain::error::{ErrorCode, FieldError};
use nave_store::StoreError;
use serde::Serialize;

tokio::task_local! {
    /// The id of the request being served, for error bodies and logs.
    pub static REQUEST_ID: String;
}

/// The current request's id, if inside a request.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The HTTP status of an error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::MalformedRequest => StatusCode::BAD_REQUEST,
        ErrorCode::ValidationFailed | ErrorCode::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden | ErrorCode::CrossSiteRequest => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict | ErrorCode::InvalidTransition | ErrorCode::LikelyDuplicate => StatusCode::CONFLICT,
        ErrorCode::VersionMismatch => StatusCode::PRECONDITION_FAILED,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error on its way to becoming a response.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds to wait before retrying (rate limits).
    pub retry_after: Option<u64>,
    /// The record's current version (version mismatches).
    pub current_version: Option<i64>,
    /// The records a new one looks like (likely duplicates).
    pub candidates: Vec<DuplicateCandidate>,
}

/// A record that a new one looks like, and why (`likely_duplicate` problems).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DuplicateCandidate {
    pub id: String,
    pub name: String,
    /// `same_name`, `same_domain`, `same_tax_id`, `same_phone`.
    pub reasons: Vec<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: vec![],
            retry_after: None,
            current_version: None,
            candidates: vec![],
        }
    }

    pub fn not_found(record: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{record} not found"))
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, detail)
    }

    /// A validation error on one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let e = FieldError::new(field, message);
        let mut err = Self::new(ErrorCode::ValidationFailed, format!("{}: {}", e.field, e.message));
        err.errors.push(e);
        err
    }

    /// An unexpected failure: logged in full with the request id, reported vaguely.
    pub fn internal(err: &dyn std::fmt::Display) -> Self {
        let rid = request_id().unwrap_or_default();
        tracing::error!(request.id = %rid, error = %err, "request failed");
        Self::new(
            ErrorCode::Internal,
            format!("something went wrong on the server; quote request id {rid} when reporting it"),
        )
    }

    pub fn status(&self) -> StatusCode {
        status_of(self.code)
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let mut err = ApiError::new(e.code(), e.to_string());
        match e {
            DomainError::Validation(errors) => err.errors = errors,
            DomainError::VersionMismatch { current, .. } => err.current_version = Some(current),
            _ => {}
        }
        err
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => d.into(),
            // A reference no check foresaw: still a clear refusal, never a 500.
            e if e.is_foreign_key_violation() => {
                tracing::warn!(error = %e, "foreign key refusal without a domain check");
                ApiError::new(
                    ErrorCode::Conflict,
                    "other records still refer to this one, or a referenced record is missing",
                )
            }
            other => ApiError::internal(&other),
        }
    }
}

/// The problem+json body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `/api/problems/<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The stable error code (see the catalogue at `/api/problems`).
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
    /// The records a new one looks like (`likely_duplicate` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<DuplicateCandidate>,
}

impl ApiError {
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("/api/problems/{}", self.code.as_str()),
            title: self.code.title().to_string(),
            status: self.status().as_u16(),
            detail: self.detail.clone(),
            code: self.code.as_str().to_string(),
            request_id: request_id(),
            errors: self.errors.clone(),
            current_version: self.current_version,
            candidates: self.candidates.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut res = (self.status(), body).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.code == ErrorCode::Unauthenticated {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"nave\""));
        }
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res
    }
}
