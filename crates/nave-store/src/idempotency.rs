//! Idempotency keys: a retried write returns the first response and does
//! nothing again.
//!
//! The key is reserved by an insert in the write's own transaction, and the
//! response is stored in that same transaction, so an effect and its key
//! commit or roll back together. On PostgreSQL a concurrent retry blocks on the
//! reserved key until the first transaction ends; on SQLite writers are
//! serialised anyway.

use crate::db::{Tx, now};
use crate::{StoreResult, args};

/// What to do with a request carrying an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// First time: do the work, then call [`complete`].
    Proceed,
    /// Seen before with the same request: send this response again.
    Replay { status: u16, body: String },
    /// Seen before with a different request.
    Mismatch,
}

/// Reserves `key` for `user_id`, or finds its earlier use.
pub async fn reserve(
    tx: &mut Tx,
    tenant_id: i64,
    user_id: i64,
    key: &str,
    request_hash: &str,
) -> StoreResult<Reservation> {
    let inserted = tx
        .execute(
            "INSERT INTO idempotency_keys (tenant_id, user_id, idem_key, request_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            args![tenant_id, user_id, key, request_hash, now()],
        )
        .await?;
    if inserted == 1 {
        return Ok(Reservation::Proceed);
    }
    let (hash, status, body) = tx
        .fetch_one(
            "SELECT request_hash, status_code, response_body FROM idempotency_keys \
             WHERE tenant_id = $1 AND user_id = $2 AND idem_key = $3",
            args![tenant_id, user_id, key],
            |r| Ok((r.text("request_hash")?, r.opt_i64("status_code")?, r.opt_text("response_body")?)),
        )
        .await?;
    if hash != request_hash {
        return Ok(Reservation::Mismatch);
    }
    Ok(Reservation::Replay { status: status.unwrap_or(200) as u16, body: body.unwrap_or_default() })
}

/// Stores the response of the first execution.
pub async fn complete(
    tx: &mut Tx,
    tenant_id: i64,
    user_id: i64,
    key: &str,
    status: u16,
    body: &str,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE idempotency_keys SET status_code = $4, response_body = $5 \
         WHERE tenant_id = $1 AND user_id = $2 AND idem_key = $3",
        args![tenant_id, user_id, key, i64::from(status), body],
    )
    .await?;
    Ok(())
}

/// Forgets keys older than `max_age` (they are kept for retries, not forever).
pub async fn purge_older_than(tx: &mut Tx, max_age: time::Duration) -> StoreResult<u64> {
    tx.execute("DELETE FROM idempotency_keys WHERE created_at < $1", args![now() - max_age]).await
}
