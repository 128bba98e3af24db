//! Web sessions: a random secret in an `HttpOnly` cookie, stored hashed with
//! its expiry. Logging out deletes the row; so do deactivation and a new
//! password (see [`crate::users::update`]).

use time::{Duration, OffsetDateTime};

use crate::auth::{hash_secret, random_secret};
use crate::db::{Tx, now};
use crate::{StoreResult, args};

/// Starts a session; returns its secret (for the cookie) and expiry.
pub async fn create(
    tx: &mut Tx,
    tenant_id: i64,
    user_key: i64,
    ttl: Duration,
) -> StoreResult<(String, OffsetDateTime)> {
    let secret = random_secret();
    let expires = now() + ttl;
    let sql = format!(
        "INSERT INTO sessions (tenant_id, id, token_hash, user_id, created_at, expires_at) VALUES ($1, {}, $2, $3, $4, $5)",
        tx.new_id_expr("sessions", "$1")
    );
    tx.execute(sql, args![tenant_id, hash_secret(&secret), user_key, now(), expires]).await?;
    Ok((secret, expires))
}

/// The user of a live session.
pub async fn user_of(tx: &mut Tx, tenant_id: i64, secret: &str) -> StoreResult<Option<i64>> {
    tx.fetch_optional(
        "SELECT s.user_id FROM sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id \
         WHERE s.tenant_id = $1 AND s.token_hash = $2 AND s.expires_at > $3 AND u.active = $4",
        args![tenant_id, hash_secret(secret), now(), true],
        |r| r.i64("user_id"),
    )
    .await
}

/// Ends a session.
pub async fn delete(tx: &mut Tx, tenant_id: i64, secret: &str) -> StoreResult<()> {
    tx.execute("DELETE FROM sessions WHERE tenant_id = $1 AND token_hash = $2", args![tenant_id, hash_secret(secret)])
        .await?;
    Ok(())
}

/// Removes expired sessions.
pub async fn purge_expired(tx: &mut Tx) -> StoreResult<u64> {
    tx.execute("DELETE FROM sessions WHERE expires_at <= $1", args![now()]).await
}
