//! API tokens: bearer secrets for scripts and integrations, stored hashed,
//! shown once, revocable, optionally expiring.

use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::ids::PublicId;
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::auth::{bearer_text, hash_secret, random_secret};
use crate::db::{DbRow, Tx, now};
use crate::{StoreResult, args};

/// A token as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub user_key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    #[schema(value_type = String)]
    pub user_id: PublicId,
    /// The external system this token writes for (e.g. `erp`), if any.
    pub source_system: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

const SELECT: &str = "SELECT t.id, t.user_id, t.public_id, t.name, t.prefix, u.public_id AS user_public_id, \
    t.source_system, t.expires_at, t.revoked_at, t.last_used_at, t.version, t.created_at, t.updated_at \
    FROM api_tokens t JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.user_id";

fn decode(r: &dyn DbRow) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        key: r.i64("id")?,
        user_key: r.i64("user_id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        name: r.text("name")?,
        prefix: r.text("prefix")?,
        user_id: PublicId::from_uuid(r.uuid("user_public_id")?),
        source_system: r.opt_text("source_system")?,
        expires_at: r.opt_ts("expires_at")?,
        revoked_at: r.opt_ts("revoked_at")?,
        last_used_at: r.opt_ts("last_used_at")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

/// A token to create.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub user_key: i64,
    pub name: String,
    pub source_system: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
}

/// Creates a token; returns it and its bearer text, which is never stored.
pub async fn create(tx: &mut Tx, actor: &Actor, new: NewToken) -> StoreResult<(ApiToken, String)> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::invalid("name", "must be 1 to 100 characters").into());
    }
    if let Some(s) = &new.source_system {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !ok {
            return Err(DomainError::invalid("source_system", "must be 1 to 32 characters of a-z, 0-9, - and _").into());
        }
    }
    if new.expires_at.is_some_and(|e| e <= now()) {
        return Err(DomainError::invalid("expires_at", "must be in the future").into());
    }
    let secret = random_secret();
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO api_tokens (tenant_id, id, public_id, user_id, name, prefix, token_hash, source_system, \
         expires_at, version, created_at, updated_at) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)",
        tx.new_id_expr("api_tokens", "$1")
    );
    tx.execute(
        sql,
        args![
            actor.tenant_id,
            id,
            new.user_key,
            name,
            &secret[..8],
            hash_secret(&secret),
            new.source_system.as_deref(),
            new.expires_at,
            now()
        ],
    )
    .await?;
    let token = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "api_token" })?;
    audit::created(tx, actor, RecordType::ApiToken, id, &token).await?;
    Ok((token, bearer_text(actor.tenant_id, &secret)))
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<ApiToken>> {
    tx.fetch_optional(format!("{SELECT} WHERE t.tenant_id = $1 AND t.public_id = $2"), args![tenant_id, id], decode)
        .await
}

/// Tokens, newest first; only `user_key`'s when given.
pub async fn list(tx: &mut Tx, tenant_id: i64, user_key: Option<i64>) -> StoreResult<Vec<ApiToken>> {
    match user_key {
        Some(u) => {
            tx.fetch_all(
                format!("{SELECT} WHERE t.tenant_id = $1 AND t.user_id = $2 ORDER BY t.id DESC"),
                args![tenant_id, u],
                decode,
            )
            .await
        }
        None => {
            tx.fetch_all(format!("{SELECT} WHERE t.tenant_id = $1 ORDER BY t.id DESC"), args![tenant_id], decode).await
        }
    }
}

/// Revokes a token at once; it stays listed, marked revoked.
pub async fn revoke(tx: &mut Tx, actor: &Actor, id: PublicId) -> StoreResult<ApiToken> {
    let before = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "api_token" })?;
    if before.revoked_at.is_some() {
        return Ok(before);
    }
    tx.execute(
        "UPDATE api_tokens SET revoked_at = $3, version = version + 1, updated_at = $3 WHERE tenant_id = $1 AND id = $2",
        args![actor.tenant_id, before.key, now()],
    )
    .await?;
    let after = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "api_token" })?;
    audit::updated(tx, actor, RecordType::ApiToken, id, after.version, &before, &after).await?;
    Ok(after)
}

/// What a valid bearer secret stands for.
#[derive(Debug, Clone)]
pub struct TokenAuth {
    pub token_key: i64,
    pub user_key: i64,
    pub source_system: Option<String>,
    pub last_used_at: Option<OffsetDateTime>,
}

/// Looks up a live token (not revoked, not expired, its user active).
pub async fn authenticate(tx: &mut Tx, tenant_id: i64, secret: &str) -> StoreResult<Option<TokenAuth>> {
    tx.fetch_optional(
        "SELECT t.id, t.user_id, t.source_system, t.last_used_at FROM api_tokens t \
         JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.user_id \
         WHERE t.tenant_id = $1 AND t.token_hash = $2 AND t.revoked_at IS NULL \
         AND (t.expires_at IS NULL OR t.expires_at > $3) AND u.active = $4",
        args![tenant_id, hash_secret(secret), now(), true],
        |r| {
            Ok(TokenAuth {
                token_key: r.i64("id")?,
                user_key: r.i64("user_id")?,
                source_system: r.opt_text("source_system")?,
                last_used_at: r.opt_ts("last_used_at")?,
            })
        },
    )
    .await
}

/// Records that a token was used (callers throttle this to keep reads cheap).
pub async fn touch(tx: &mut Tx, tenant_id: i64, token_key: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE api_tokens SET last_used_at = $3 WHERE tenant_id = $1 AND id = $2",
        args![tenant_id, token_key, now()],
    )
    .await?;
    Ok(())
}
