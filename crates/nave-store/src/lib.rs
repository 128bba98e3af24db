//! Nave's storage: schema, migrations and queries, for SQLite and PostgreSQL
//! from one query source.
//!
//! One module per aggregate. Every function takes a [`db::Tx`]; a write is a
//! transaction that also records its audit entry and its event (see
//! [`audit::record_change`]), so a rolled-back change leaves neither.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod activities;
pub mod addresses;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod cases;
pub mod catalog;
pub mod company;
pub mod contacts;
pub mod credit;
pub mod db;
pub mod documents;
pub mod drop_ship;
pub mod events;
pub mod external_ids;
pub mod feed;
pub mod files;
pub mod idempotency;
pub mod leads;
pub mod migrate;
pub mod orders;
mod ownership;
pub mod page;
pub mod payment_terms;
pub mod payments;
pub mod pipeline;
pub mod planner;
pub mod price_lists;
pub mod purchase;
pub mod reports;
pub mod roles;
pub mod sales_summary;
pub mod saved_views;
pub mod schema;
pub mod search;
pub mod sequences;
pub mod sessions;
pub mod shipments;
pub mod stock;
pub mod subscriptions;
pub mod sync;
pub mod taxes;
pub mod teams;
pub mod tenants;
pub mod tokens;
pub mod triggers;
pub mod users;
pub mod webhooks;
pub mod woocommerce;

pub use db::{Arg, Db, DbRow, Dialect, Tx};
use nave_domain::DomainError;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A domain rule refused the change; the message is for the user.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The database failed; details are for the log, not the user.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value could not be read back.
    #[error("stored data could not be decoded: {0}")]
    Decode(String),
    /// The database URL or set-up is wrong; the message is for the user.
    #[error("{0}")]
    Config(String),
    /// A migration could not be applied.
    #[error("migration failed: {0}")]
    Migration(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// Is this a uniqueness violation of the given key? PostgreSQL names the
    /// constraint; SQLite names the columns (`table.column`), so both are given.
    pub fn is_unique_violation(&self, pg_constraint: &str, sqlite_column: &str) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                e.constraint() == Some(pg_constraint) || e.message().contains(sqlite_column)
            }
            _ => false,
        }
    }

    /// Is this a foreign-key violation (a row still referred to, or a missing parent)?
    pub fn is_foreign_key_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_foreign_key_violation())
    }

    /// Is this a transient failure worth retrying the whole transaction
    /// (serialization failure, deadlock, SQLite busy)?
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => {
                matches!(e.code().as_deref(), Some("40001") | Some("40P01") | Some("5") | Some("6"))
            }
            StoreError::Database(sqlx::Error::PoolTimedOut) => true,
            _ => false,
        }
    }
}

/// Maps a unique violation of one key to a domain conflict with a clear message.
pub(crate) fn on_unique<T>(
    r: StoreResult<T>,
    pg_constraint: &str,
    sqlite_column: &str,
    err: impl FnOnce() -> DomainError,
) -> StoreResult<T> {
    match r {
        Err(e) if e.is_unique_violation(pg_constraint, sqlite_column) => Err(err().into()),
        other => other,
    }
}

/// Refuses a write whose `If-Match` version is not the record's current one.
pub(crate) fn expect_version(record: &'static str, current: i64, if_version: Option<i64>) -> Result<(), DomainError> {
    match if_version {
        Some(v) if v != current => Err(DomainError::VersionMismatch { record, current }),
        _ => Ok(()),
    }
}

/// The canonical JSON of a record: what the API shows, audits and events carry.
/// A value read back from the database that does not parse is a decoding failure.
pub(crate) fn parsed<E: std::fmt::Display, V>(r: Result<V, E>) -> StoreResult<V> {
    r.map_err(|e| StoreError::Decode(e.to_string()))
}

pub(crate) fn to_json<S: serde::Serialize>(v: &S) -> StoreResult<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| StoreError::Decode(e.to_string()))
}

/// Appends ` AND {cond}` to a list query, where `$?` in `cond` is bound to `value`.
pub(crate) fn and_where(sql: &mut String, args: &mut Vec<db::Arg>, cond: &str, value: impl Into<db::Arg>) {
    args.push(value.into());
    sql.push_str(" AND ");
    sql.push_str(&cond.replace("$?", &format!("${}", args.len())));
}

/// Checks a record's name: trimmed, 1 to `max` characters.
pub(crate) fn clean_name(name: &str, max: usize) -> Result<String, DomainError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > max {
        return Err(DomainError::invalid("name", format!("must be 1 to {max} characters")));
    }
    Ok(n.to_string())
}

/// Reads back a date the API shows as `YYYY-MM-DD`.
pub(crate) fn stored_date(s: &Option<String>) -> Option<time::Date> {
    s.as_deref().and_then(|s| time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok())
}
