//! The write path every API mutation follows, in one place: begin the
//! transaction, honour the idempotency key, do the work, store the response
//! with the key, commit.
//!
//! ```text
//! let mut w = begin_write!(app, auth, req); // or return the stored response of a retry
//! let record = store::create(w.tx(), &auth.actor(), …).await?;
//! w.respond(StatusCode::CREATED, &json).await
//! ```

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nave_domain::error::ErrorCode;
use nave_store::Tx;
use nave_store::idempotency::{self, Reservation};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiAuth, ApiWrite};
use crate::state::AppState;

/// Begins a write for a handler: evaluates to the [`Writer`], or returns the
/// stored response of an earlier identical request from the handler.
#[macro_export]
macro_rules! begin_write {
    ($app:expr, $auth:expr, $req:expr) => {
        match $crate::write::Writer::begin(&$app, &$auth, &$req).await? {
            $crate::write::Begun::Fresh(w) => w,
            $crate::write::Begun::Replay(r) => return Ok(r),
        }
    };
}

/// A write in progress.
#[derive(Debug)]
pub struct Writer {
    tx: Tx,
    key: Option<(i64, i64, String)>,
}

/// Either a fresh write, or the stored response of an earlier identical one.
#[derive(Debug)]
pub enum Begun {
    Fresh(Writer),
    Replay(Response),
}

/// A JSON response with a status.
pub fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

impl Writer {
    pub async fn begin<T>(app: &AppState, auth: &ApiAuth, req: &ApiWrite<T>) -> ApiResult<Begun> {
        let mut tx = app.db.write().await?;
        let Some(key) = &req.idempotency_key else {
            return Ok(Begun::Fresh(Writer { tx, key: None }));
        };
        let p = &auth.0;
        match idempotency::reserve(&mut tx, p.tenant_id, p.user_id, key, &req.request_hash).await? {
            Reservation::Proceed => Ok(Begun::Fresh(Writer { tx, key: Some((p.tenant_id, p.user_id, key.clone())) })),
            Reservation::Replay { status, body } => {
                tx.rollback().await?;
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                let mut r = json_response(status, body.into_bytes());
                r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
                Ok(Begun::Replay(r))
            }
            Reservation::Mismatch => Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was already used for a different request; use a new key",
            )),
        }
    }

    pub fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }

    /// Stores the response with the idempotency key, commits, and answers.
    pub async fn respond<B: Serialize>(mut self, status: StatusCode, body: &B) -> ApiResult<Response> {
        let bytes = if status == StatusCode::NO_CONTENT {
            Vec::new()
        } else {
            serde_json::to_vec(body).map_err(|e| ApiError::internal(&e))?
        };
        if let Some((tenant, user, key)) = &self.key {
            let text = String::from_utf8_lossy(&bytes);
            idempotency::complete(&mut self.tx, *tenant, *user, key, status.as_u16(), &text).await?;
        }
        self.tx.commit().await?;
        Ok(json_response(status, bytes))
    }
}
