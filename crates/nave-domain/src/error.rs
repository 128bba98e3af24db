//! Domain errors and the one catalogue of stable error codes.
//!
//! Every refusal a user can meet has a stable snake_case code here. The web
//! edge maps each code to an HTTP status and renders problem+json or a page;
//! the code and the message are the contract, the HTTP status is a detail of
//! one output.

use serde::Serialize;

/// A stable, documented error code. The string form never changes once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request body is not well-formed (e.g. malformed JSON).
    MalformedRequest,
    /// The request is well-formed but a field is missing, unknown or invalid.
    ValidationFailed,
    /// No credentials, or credentials that are not valid.
    Unauthenticated,
    /// The caller is known but may not do this.
    Forbidden,
    /// The record does not exist, or the caller may not know that it exists.
    NotFound,
    /// The request conflicts with the current state (e.g. a duplicate name).
    Conflict,
    /// A business action not allowed in the record's current state.
    InvalidTransition,
    /// The new record looks like one that exists (a likely duplicate); the
    /// request may say to create it anyway.
    LikelyDuplicate,
    /// The `If-Match` version is not the record's current version.
    VersionMismatch,
    /// An `Idempotency-Key` was reused with a different request.
    IdempotencyKeyReused,
    /// Too many attempts; retry later.
    RateLimited,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// The body has a content type the endpoint does not accept.
    UnsupportedMediaType,
    /// The cross-site request was refused (CSRF protection).
    CrossSiteRequest,
    /// The HTTP method is not supported on this path.
    MethodNotAllowed,
    /// Something failed on the server; the response carries a request id.
    Internal,
}

impl ErrorCode {
    /// All codes, for documentation and the catalogue endpoint.
    pub const ALL: [ErrorCode; 16] = [
        ErrorCode::MalformedRequest,
        ErrorCode::ValidationFailed,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::InvalidTransition,
        ErrorCode::LikelyDuplicate,
        ErrorCode::VersionMismatch,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::RateLimited,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::CrossSiteRequest,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Internal,
    ];

    /// The stable snake_case string of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedRequest => "malformed_request",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::InvalidTransition => "invalid_transition",
            ErrorCode::LikelyDuplicate => "likely_duplicate",
            ErrorCode::VersionMismatch => "version_mismatch",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::CrossSiteRequest => "cross_site_request",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Internal => "internal",
        }
    }

    /// A short human title, the same for every occurrence of the code.
    pub fn title(self) -> &'static str {
        match self {
            ErrorCode::MalformedRequest => "The request body could not be read",
            ErrorCode::ValidationFailed => "Some fields are missing or invalid",
            ErrorCode::Unauthenticated => "Authentication required",
            ErrorCode::Forbidden => "Not allowed",
            ErrorCode::NotFound => "Not found",
            ErrorCode::Conflict => "Conflict with the current state",
            ErrorCode::InvalidTransition => "Action not allowed in the current state",
            ErrorCode::LikelyDuplicate => "This looks like a record that exists already",
            ErrorCode::VersionMismatch => "The record was changed by someone else",
            ErrorCode::IdempotencyKeyReused => "Idempotency key reused with a different request",
            ErrorCode::RateLimited => "Too many attempts",
            ErrorCode::PayloadTooLarge => "Request body too large",
            ErrorCode::UnsupportedMediaType => "Unsupported content type",
            ErrorCode::CrossSiteRequest => "Cross-site request refused",
            ErrorCode::MethodNotAllowed => "Method not allowed",
            ErrorCode::Internal => "Internal error",
        }
    }
}

/// One invalid field: its path in the input (`addresses[0].city`) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// A refusal by a domain rule. Each variant maps to one [`ErrorCode`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum DomainError {
    #[error("{}", summarize(.0))]
    Validation(Vec<FieldError>),
    #[error("{record} not found")]
    NotFound { record: &'static str },
    #[error("{0}")]
    Conflict(String),
    #[error("cannot {action} the {record}: it is {current}; allowed actions: {}", if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") })]
    InvalidTransition { record: &'static str, current: String, action: &'static str, allowed: Vec<&'static str> },
    #[error("the {record} is at version {current}, not the version given in If-Match")]
    VersionMismatch { record: &'static str, current: i64 },
    #[error("{0}")]
    Forbidden(String),
}

fn summarize(errors: &[FieldError]) -> String {
    match errors {
        [] => "invalid input".to_string(),
        [one] => format!("{}: {}", one.field, one.message),
        [first, rest @ ..] => format!("{}: {} (and {} more)", first.field, first.message, rest.len()),
    }
}

impl DomainError {
    /// A single-field validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Validation(vec![FieldError::new(field, message)])
    }

    /// The catalogue code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            DomainError::Validation(_) => ErrorCode::ValidationFailed,
            DomainError::NotFound { .. } => ErrorCode::NotFound,
            DomainError::Conflict(_) => ErrorCode::Conflict,
            DomainError::InvalidTransition { .. } => ErrorCode::InvalidTransition,
            DomainError::VersionMismatch { .. } => ErrorCode::VersionMismatch,
            DomainError::Forbidden(_) => ErrorCode::Forbidden,
        }
    }
}

/// Collects field errors while checking an input, so all of them are reported at once.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error for `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Keeps the value of a fallible parse, or records its error under `field`.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    /// `Ok(())` when nothing was recorded.
    pub fn finish(self) -> Result<(), DomainError> {
        if self.errors.is_empty() { Ok(()) } else { Err(DomainError::Validation(self.errors)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_string() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {}", c.as_str());
            let json = serde_json::to_value(c).unwrap();
            assert_eq!(json, c.as_str());
        }
    }

    #[test]
    fn a_refused_transition_names_the_state_and_the_allowed_actions() {
        let e = DomainError::InvalidTransition {
            record: "invoice",
            current: "issued".into(),
            action: "edit",
            allowed: vec!["void"],
        };
        assert_eq!(e.to_string(), "cannot edit the invoice: it is issued; allowed actions: void");
    }
}
