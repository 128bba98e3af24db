//! Request extractors shared by every API handler: the caller
//! ([`ApiAuth`]), a JSON write with its idempotency key and `If-Match`
//! version ([`ApiWrite`]), and list paging ([`ListParams`]).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use nave_domain::access::{Action, Principal, RecordType, Scope};
use nave_domain::error::ErrorCode;
use nave_store::audit::Actor;
use nave_store::auth::parse_bearer;
use nave_store::page::{Cursor, Ordered, Sort, SortColumn};
use nave_store::{tokens, users};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult, request_id};
use crate::state::AppState;

/// The authenticated caller of an API request (bearer token).
#[derive(Debug, Clone)]
pub struct ApiAuth(pub Principal);

impl ApiAuth {
    /// The scope the caller has for `action` on `record_type`, or 403.
    pub fn require(&self, record_type: RecordType, action: Action) -> ApiResult<Scope> {
        self.0.scope_for(record_type, action).ok_or_else(|| {
            ApiError::forbidden(format!(
                "your role may not {action} {record_type} records",
                record_type = record_type.as_str()
            ))
        })
    }

    /// The actor recorded in audit entries and events.
    pub fn actor(&self) -> Actor {
        actor_of(&self.0)
    }
}

/// The audit actor of a principal.
pub fn actor_of(p: &Principal) -> Actor {
    Actor {
        tenant_id: p.tenant_id,
        user_id: Some(p.user_id),
        token_id: p.token_id,
        source: p.source.clone(),
        request_id: request_id(),
        master_override: false,
    }
}

impl FromRequestParts<AppState> for ApiAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::unauthenticated("send an API token as `Authorization: Bearer <token>`"))?;
        let text = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::unauthenticated("the Authorization header must use the Bearer scheme"))?;
        let invalid = || ApiError::unauthenticated("the API token is not valid, has expired or was revoked");
        let (tenant_id, secret) = parse_bearer(text.trim()).ok_or_else(invalid)?;
        let mut tx = app.db.autocommit().await?;
        let tok = tokens::authenticate(&mut tx, tenant_id, secret).await?.ok_or_else(invalid)?;
        let user = users::get_by_key(&mut tx, tenant_id, tok.user_key).await?.ok_or_else(invalid)?;
        tx.commit().await?;
        let p = app.principal(tenant_id, &user, Some(&tok)).await?;
        app.touch_token(tenant_id, &tok).await;
        Ok(ApiAuth(p))
    }
}

/// A JSON body that is not there (DELETE, actions without input).
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoBody {}

/// A write request: its parsed JSON body, `Idempotency-Key` and `If-Match`.
#[derive(Debug)]
pub struct ApiWrite<T> {
    pub body: T,
    pub idempotency_key: Option<String>,
    /// SHA-256 of method, path and body: a retry must match it.
    pub request_hash: String,
    pub if_match: Option<i64>,
}

fn parse_if_match(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(v) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let s = v.to_str().unwrap_or("").trim();
    let s = s.strip_prefix("W/").unwrap_or(s).trim_matches('"');
    s.parse::<i64>()
        .map(Some)
        .map_err(|_| ApiError::invalid("If-Match", "must be the record's version number, e.g. \"3\""))
}

fn parse_idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    let s = v.to_str().unwrap_or("").trim();
    if s.is_empty() || s.len() > 255 || !s.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters"));
    }
    Ok(Some(s.to_string()))
}

/// Parses a JSON body: syntax errors are 400, shape errors 422 naming the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    let value: serde_json::Value = serde_json::from_slice(text)
        .map_err(|e| ApiError::new(ErrorCode::MalformedRequest, format!("the body is not valid JSON: {e}")))?;
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // The path names the field, an unknown one included (`colour`, `kinds[1]`).
        let field = if path == "." { String::new() } else { path };
        let message = inner.split(" at line ").next().unwrap_or(&inner).to_string();
        if field.is_empty() { ApiError::invalid("body", message) } else { ApiError::invalid(field, message) }
    })
}

/// SHA-256 of method, path and body: what a retry with the same
/// `Idempotency-Key` must match.
fn request_hash(parts: &Parts, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update(b" ");
    h.update(parts.uri.path().as_bytes());
    h.update(b"\n");
    h.update(body);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn too_large_or_malformed(too_large: bool, e: impl std::fmt::Display) -> ApiError {
    if too_large {
        ApiError::new(ErrorCode::PayloadTooLarge, "the request body is larger than the server accepts")
    } else {
        ApiError::new(ErrorCode::MalformedRequest, format!("the request body could not be read: {e}"))
    }
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for ApiWrite<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let idempotency_key = parse_idempotency_key(&parts.headers)?;
        let if_match = parse_if_match(&parts.headers)?;
        let ct_ok = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|ct| ct.starts_with("application/json") || ct.starts_with("application/merge-patch+json"));
        let hashed = Parts::clone(&parts);
        let bytes = Bytes::from_request(Request::from_parts(parts, body), app)
            .await
            .map_err(|e| too_large_or_malformed(e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE, e))?;
        if !bytes.is_empty() && !ct_ok {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType, "send the body as application/json"));
        }
        let body = parse_json::<T>(&bytes)?;
        let request_hash = request_hash(&hashed, &bytes);
        Ok(ApiWrite { body, idempotency_key, request_hash, if_match })
    }
}

/// The largest file an upload endpoint reads, in bytes (JSON bodies have
/// the smaller `MAX_BODY_BYTES`).
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;

/// A file upload: the raw body (up to [`MAX_UPLOAD_BYTES`]) with the same
/// `Idempotency-Key` and `If-Match` handling as JSON writes.
#[derive(Debug)]
pub struct ApiUpload(pub ApiWrite<Vec<u8>>);

impl FromRequest<AppState> for ApiUpload {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let idempotency_key = parse_idempotency_key(&parts.headers)?;
        let if_match = parse_if_match(&parts.headers)?;
        let bytes = axum::body::to_bytes(body, MAX_UPLOAD_BYTES).await.map_err(|e| {
            let too_large = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            too_large_or_malformed(too_large, e)
        })?;
        let request_hash = request_hash(&parts, &bytes);
        Ok(ApiUpload(ApiWrite { body: bytes.to_vec(), idempotency_key, request_hash, if_match }))
    }
}

/// `?limit=&after=` of list endpoints.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Rows per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

impl ListParams {
    pub fn limit(&self) -> ApiResult<i64> {
        match self.limit {
            None => Ok(50),
            Some(n) if (1..=200).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::invalid("limit", "must be between 1 and 200")),
        }
    }

    pub fn cursor(&self) -> ApiResult<Option<Cursor>> {
        self.after
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| Cursor::decode(s).map_err(|e| ApiError::invalid("after", e.to_string())))
            .transpose()
    }

    /// The order `sort` of a list sorted by one of `columns` (`name`, or
    /// `-name` descending; none is the list's own order) and the position
    /// after the previous page, whose `next` cursor must be of that order.
    pub fn sorted<T>(&self, columns: &'static [SortColumn<T>], sort: Option<&str>) -> ApiResult<Ordered<T>> {
        let sort = parse_sort(columns, sort.unwrap_or(""))?;
        let (cursor, sorted) = sort.position(self.after.as_deref()).map_err(|e| {
            ApiError::invalid("after", format!("{e}; a cursor is only valid in the order it was made in"))
        })?;
        Ok((sort, cursor, sorted))
    }
}

/// Reads `sort` among `columns`: 422 naming the parameter and the choices
/// when the list does not sort that way.
pub fn parse_sort<T>(columns: &'static [SortColumn<T>], sort: &str) -> ApiResult<Sort<T>> {
    Sort::parse(columns, sort).ok_or_else(|| {
        let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
        ApiError::invalid("sort", format!("must be one of {} (- in front for descending)", names.join(", ")))
    })
}

/// Query strings that do not parse are 422 naming the parameter.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de).map(Query).map_err(|e| {
            let path = e.path().to_string();
            let msg = e.into_inner().to_string();
            ApiError::invalid(if path == "." { "query".to_string() } else { path }, msg)
        })
    }
}
