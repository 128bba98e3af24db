//! The database handle: one API over SQLite and PostgreSQL.
//!
//! Queries are written once, in the SQL both engines share, with `$1`-style
//! placeholders (sqlx binds `$N` by number on SQLite too). Arguments go
//! through [`Arg`] and rows come back as [`DbRow`], so store modules never
//! name a backend. The few real dialect differences (new ids, row locks) are
//! helper methods on [`Tx`].
//!
//! Writes run in [`Tx`] transactions: on SQLite `BEGIN IMMEDIATE` behind an
//! in-process write gate (one writer at a time, no busy-wait), on PostgreSQL
//! `READ COMMITTED` with explicit row locks. Events recorded in a transaction
//! are numbered and inserted at commit, so event positions follow commit order.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{AssertSqlSafe, PgConnection, Postgres, Row, Sqlite, SqliteConnection, Transaction};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{Mutex, OwnedMutexGuard};
use uuid::Uuid;

use crate::events::NewEvent;
use crate::{StoreError, StoreResult};

/// Which SQL engine a handle talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }
}

/// Connection settings beyond the URL.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Most connections in the pool.
    pub max_connections: u32,
    /// PostgreSQL schema to use (tests give each test its own); `None` = default.
    pub pg_schema: Option<String>,
    /// Create a missing SQLite file.
    pub create_if_missing: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self { max_connections: 16, pg_schema: None, create_if_missing: true }
    }
}

enum Backend {
    Sqlite { pool: sqlx::SqlitePool, write_gate: Arc<Mutex<()>> },
    Postgres { pool: sqlx::PgPool },
}

/// A shared handle to the database. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    backend: Arc<Backend>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("dialect", &self.dialect()).finish()
    }
}

impl Db {
    /// Connects to `sqlite://path`, `sqlite::memory:` or `postgres://…`.
    pub async fn connect(url: &str, opts: &ConnectOptions) -> StoreResult<Db> {
        if url.starts_with("sqlite:") {
            let o = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Config(format!("bad SQLite URL: {e}")))?
                .create_if_missing(opts.create_if_missing)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("temp_store", "memory")
                .pragma("cache_size", "-32000");
            let pool = SqlitePoolOptions::new()
                .max_connections(opts.max_connections.clamp(1, 8))
                .connect_with(o)
                .await
                .map_err(|e| StoreError::Config(format!("cannot open the SQLite database: {e}")))?;
            Ok(Db { backend: Arc::new(Backend::Sqlite { pool, write_gate: Arc::new(Mutex::new(())) }) })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let mut o =
                PgConnectOptions::from_str(url).map_err(|e| StoreError::Config(format!("bad PostgreSQL URL: {e}")))?;
            if let Some(schema) = &opts.pg_schema {
                o = o.options([("search_path", schema.as_str())]);
            }
            // No JIT compilation (ADR 0018): Nave's queries are short, and a
            // report whose estimated cost crosses `jit_above_cost` spent more
            // time compiling than running.
            o = o.options([("jit", "off")]);
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections.max(1))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(o)
                .await
                .map_err(|e| StoreError::Config(format!("cannot connect to PostgreSQL: {e}")))?;
            Ok(Db { backend: Arc::new(Backend::Postgres { pool }) })
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL {:?}: use sqlite://FILE or postgres://…",
                redact_url(url)
            )))
        }
    }

    pub fn dialect(&self) -> Dialect {
        match &*self.backend {
            Backend::Sqlite { .. } => Dialect::Sqlite,
            Backend::Postgres { .. } => Dialect::Postgres,
        }
    }

    /// Starts a transaction that will write.
    pub async fn write(&self) -> StoreResult<Tx> {
        let conn = match &*self.backend {
            Backend::Sqlite { pool, write_gate } => {
                let guard = write_gate.clone().lock_owned().await;
                Conn::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, Some(guard))
            }
            Backend::Postgres { pool } => Conn::Postgres(pool.begin().await?),
        };
        Ok(Tx { conn, events: Vec::new(), writes: true })
    }

    /// Starts the write transaction of a schema migration. On SQLite the
    /// connection has foreign-key enforcement switched off first (SQLite
    /// ignores that switch inside a transaction), which is SQLite's documented
    /// way to rebuild a table that other tables refer to; the migration checks
    /// [`Tx::foreign_key_violations`] before it commits, and the connection is
    /// closed afterwards instead of going back to the pool with enforcement off.
    /// On PostgreSQL this is [`Db::write`].
    pub async fn write_schema(&self) -> StoreResult<Tx> {
        match &*self.backend {
            Backend::Sqlite { pool, write_gate } => {
                let guard = write_gate.clone().lock_owned().await;
                let mut conn = pool.acquire().await?;
                conn.close_on_drop();
                sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await?;
                let t = Transaction::begin(conn, Some(sqlx::SqlSafeStr::into_sql_str("BEGIN IMMEDIATE"))).await?;
                Ok(Tx { conn: Conn::Sqlite(t, Some(guard)), events: Vec::new(), writes: true })
            }
            Backend::Postgres { .. } => self.write().await,
        }
    }

    /// Starts a transaction that only reads (a consistent snapshot).
    pub async fn read(&self) -> StoreResult<Tx> {
        let conn = match &*self.backend {
            Backend::Sqlite { pool, .. } => Conn::Sqlite(pool.begin().await?, None),
            Backend::Postgres { pool } => {
                Conn::Postgres(pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?)
            }
        };
        Ok(Tx { conn, events: Vec::new(), writes: false })
    }

    /// A connection without a transaction, for reads that are one statement
    /// (or need no snapshot across statements): it saves the round trips of
    /// `BEGIN` and `COMMIT` on hot read paths such as authentication.
    pub async fn autocommit(&self) -> StoreResult<Tx> {
        let conn = match &*self.backend {
            Backend::Sqlite { pool, .. } => Conn::SqliteAuto(pool.acquire().await?),
            Backend::Postgres { pool } => Conn::PostgresAuto(pool.acquire().await?),
        };
        Ok(Tx { conn, events: Vec::new(), writes: false })
    }

    /// Makes every open SQLite connection of the pool read the planner
    /// statistics again (`ANALYZE sqlite_schema`); nothing on PostgreSQL. It
    /// checks out as many connections as the pool holds at once, so each one
    /// is reached, and waits for those in use.
    pub async fn reload_sqlite_stats(&self) -> StoreResult<()> {
        if let Backend::Sqlite { pool, .. } = &*self.backend {
            let mut held = Vec::new();
            for _ in 0..pool.size().max(1) {
                let mut c = pool.acquire().await?;
                sqlx::query("ANALYZE sqlite_schema").execute(&mut *c).await?;
                held.push(c);
            }
        }
        Ok(())
    }

    /// Runs one statement outside a transaction (schema set-up, maintenance).
    pub async fn execute_raw(&self, sql: &str) -> StoreResult<()> {
        match &*self.backend {
            Backend::Sqlite { pool, .. } => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(pool).await?;
            }
            Backend::Postgres { pool } => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match &*self.backend {
            Backend::Sqlite { pool, .. } => pool.close().await,
            Backend::Postgres { pool } => pool.close().await,
        }
    }
}

/// Hides a password in a database URL, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

enum Conn {
    Sqlite(Transaction<'static, Sqlite>, Option<OwnedMutexGuard<()>>),
    Postgres(Transaction<'static, Postgres>),
    /// A pooled connection without a transaction (single-statement reads).
    SqliteAuto(PoolConnection<Sqlite>),
    PostgresAuto(PoolConnection<Postgres>),
}

/// The connection under a [`Tx`], whichever kind it is.
enum ConnRef<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// One value bound to a `$N` placeholder.
#[derive(Debug, Clone)]
pub enum Arg {
    I64(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Uuid(Option<Uuid>),
    Ts(Option<OffsetDateTime>),
    Date(Option<time::Date>),
    Bytes(Option<Vec<u8>>),
}

macro_rules! arg_from {
    ($t:ty, $v:ident, $e:expr) => {
        impl From<$t> for Arg {
            fn from($v: $t) -> Arg {
                $e
            }
        }
    };
}
arg_from!(i64, v, Arg::I64(Some(v)));
arg_from!(Option<i64>, v, Arg::I64(v));
arg_from!(bool, v, Arg::Bool(Some(v)));
arg_from!(Option<bool>, v, Arg::Bool(v));
arg_from!(String, v, Arg::Text(Some(v)));
arg_from!(Option<String>, v, Arg::Text(v));
arg_from!(&str, v, Arg::Text(Some(v.to_owned())));
arg_from!(Option<&str>, v, Arg::Text(v.map(str::to_owned)));
arg_from!(&String, v, Arg::Text(Some(v.clone())));
arg_from!(Option<&String>, v, Arg::Text(v.cloned()));
arg_from!(Uuid, v, Arg::Uuid(Some(v)));
arg_from!(Option<Uuid>, v, Arg::Uuid(v));
arg_from!(nave_domain::ids::PublicId, v, Arg::Uuid(Some(v.as_uuid())));
arg_from!(OffsetDateTime, v, Arg::Ts(Some(v)));
arg_from!(Option<OffsetDateTime>, v, Arg::Ts(v));
arg_from!(time::Date, v, Arg::Date(Some(v)));
arg_from!(Option<time::Date>, v, Arg::Date(v));
arg_from!(Vec<u8>, v, Arg::Bytes(Some(v)));
arg_from!(&[u8], v, Arg::Bytes(Some(v.to_vec())));

/// Appends `values` to `args` and returns their placeholders (`$k`, …),
/// numbered on from those already bound: a row of a multi-row `INSERT`, or
/// the members of an `IN (…)` list.
pub fn bind(args: &mut Vec<Arg>, values: impl IntoIterator<Item = Arg>) -> Vec<String> {
    let first = args.len() + 1;
    args.extend(values);
    (first..=args.len()).map(|n| format!("${n}")).collect()
}

/// Builds a `Vec<Arg>` from values: `args![tenant_id, name, None::<i64>]`.
#[macro_export]
macro_rules! args {
    ($($v:expr),* $(,)?) => { vec![$($crate::db::Arg::from($v)),*] };
}

/// Timestamps on SQLite are fixed-width RFC 3339 UTC text with microseconds,
/// so that text order is time order.
fn sqlite_ts(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// The current time, truncated to the microsecond both engines keep.
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.microsecond() * 1000).unwrap_or(t)
}

type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments>;
type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

fn bind_sqlite(mut q: SqliteQuery<'_>, args: Vec<Arg>) -> SqliteQuery<'_> {
    for a in args {
        q = match a {
            Arg::I64(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::Bool(v) => q.bind(v),
            Arg::Uuid(v) => q.bind(v),
            Arg::Ts(v) => q.bind(v.map(sqlite_ts)),
            Arg::Date(v) => q.bind(v),
            Arg::Bytes(v) => q.bind(v),
        };
    }
    q
}

fn bind_pg(mut q: PgQuery<'_>, args: Vec<Arg>) -> PgQuery<'_> {
    for a in args {
        q = match a {
            Arg::I64(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::Bool(v) => q.bind(v),
            Arg::Uuid(v) => q.bind(v),
            Arg::Ts(v) => q.bind(v),
            Arg::Date(v) => q.bind(v),
            Arg::Bytes(v) => q.bind(v),
        };
    }
    q
}

/// SQL text: usually a `&'static str`, sometimes assembled (list filters).
pub type Sql = Cow<'static, str>;

/// A row from either engine, read by column name.
pub trait DbRow {
    fn i64(&self, col: &str) -> StoreResult<i64>;
    fn opt_i64(&self, col: &str) -> StoreResult<Option<i64>>;
    fn text(&self, col: &str) -> StoreResult<String>;
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>>;
    fn boolean(&self, col: &str) -> StoreResult<bool>;
    fn uuid(&self, col: &str) -> StoreResult<Uuid>;
    fn opt_uuid(&self, col: &str) -> StoreResult<Option<Uuid>>;
    fn ts(&self, col: &str) -> StoreResult<OffsetDateTime> {
        self.opt_ts(col)?.ok_or_else(|| StoreError::Decode(format!("{col} is null")))
    }
    fn opt_ts(&self, col: &str) -> StoreResult<Option<OffsetDateTime>>;
    fn opt_date(&self, col: &str) -> StoreResult<Option<time::Date>>;
    fn bytes(&self, col: &str) -> StoreResult<Vec<u8>>;
}

macro_rules! impl_db_row {
    ($row:ty, $ts:expr) => {
        impl DbRow for $row {
            fn i64(&self, col: &str) -> StoreResult<i64> {
                Ok(self.try_get::<i64, _>(col)?)
            }
            fn opt_i64(&self, col: &str) -> StoreResult<Option<i64>> {
                Ok(self.try_get::<Option<i64>, _>(col)?)
            }
            fn text(&self, col: &str) -> StoreResult<String> {
                Ok(self.try_get::<String, _>(col)?)
            }
            fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
                Ok(self.try_get::<Option<String>, _>(col)?)
            }
            fn boolean(&self, col: &str) -> StoreResult<bool> {
                Ok(self.try_get::<bool, _>(col)?)
            }
            fn uuid(&self, col: &str) -> StoreResult<Uuid> {
                Ok(self.try_get::<Uuid, _>(col)?)
            }
            fn opt_uuid(&self, col: &str) -> StoreResult<Option<Uuid>> {
                Ok(self.try_get::<Option<Uuid>, _>(col)?)
            }
            fn opt_date(&self, col: &str) -> StoreResult<Option<time::Date>> {
                Ok(self.try_get::<Option<time::Date>, _>(col)?)
            }
            fn bytes(&self, col: &str) -> StoreResult<Vec<u8>> {
                Ok(self.try_get::<Vec<u8>, _>(col)?)
            }
            fn opt_ts(&self, col: &str) -> StoreResult<Option<OffsetDateTime>> {
                let f: fn(&Self, &str) -> StoreResult<Option<OffsetDateTime>> = $ts;
                f(self, col)
            }
        }
    };
}

impl_db_row!(SqliteRow, |r, col| {
    let s: Option<String> = r.try_get(col)?;
    s.map(|s| OffsetDateTime::parse(&s, &Rfc3339).map_err(|e| StoreError::Decode(format!("{col}: {e}")))).transpose()
});
impl_db_row!(PgRow, |r, col| Ok(r.try_get::<Option<OffsetDateTime>, _>(col)?));

/// A point inside a transaction to return to (see [`Tx::savepoint`]). One at
/// a time: savepoints are not nested.
#[derive(Debug)]
#[must_use = "a savepoint is released or rolled back to"]
pub struct Savepoint {
    events: usize,
}

/// A transaction on either engine.
pub struct Tx {
    conn: Conn,
    pub(crate) events: Vec<NewEvent>,
    writes: bool,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").field("dialect", &self.dialect()).field("writes", &self.writes).finish()
    }
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        match self.conn {
            Conn::Sqlite(..) | Conn::SqliteAuto(_) => Dialect::Sqlite,
            Conn::Postgres(_) | Conn::PostgresAuto(_) => Dialect::Postgres,
        }
    }

    fn conn(&mut self) -> ConnRef<'_> {
        match &mut self.conn {
            Conn::Sqlite(t, _) => ConnRef::Sqlite(t),
            Conn::SqliteAuto(c) => ConnRef::Sqlite(c),
            Conn::Postgres(t) => ConnRef::Postgres(t),
            Conn::PostgresAuto(c) => ConnRef::Postgres(c),
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    pub async fn execute(&mut self, sql: impl Into<Sql>, args: Vec<Arg>) -> StoreResult<u64> {
        let sql = AssertSqlSafe(sql.into());
        Ok(match self.conn() {
            ConnRef::Sqlite(c) => bind_sqlite(sqlx::query(sql), args).execute(c).await?.rows_affected(),
            ConnRef::Postgres(c) => bind_pg(sqlx::query(sql), args).execute(c).await?.rows_affected(),
        })
    }

    /// Runs a query and maps every row.
    pub async fn fetch_all<T>(
        &mut self,
        sql: impl Into<Sql>,
        args: Vec<Arg>,
        f: impl Fn(&dyn DbRow) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let sql = AssertSqlSafe(sql.into());
        match self.conn() {
            ConnRef::Sqlite(c) => {
                let rows = bind_sqlite(sqlx::query(sql), args).fetch_all(c).await?;
                rows.iter().map(|r| f(r)).collect()
            }
            ConnRef::Postgres(c) => {
                let rows = bind_pg(sqlx::query(sql), args).fetch_all(c).await?;
                rows.iter().map(|r| f(r)).collect()
            }
        }
    }

    /// Runs a query that returns at most one row.
    pub async fn fetch_optional<T>(
        &mut self,
        sql: impl Into<Sql>,
        args: Vec<Arg>,
        f: impl Fn(&dyn DbRow) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let sql = AssertSqlSafe(sql.into());
        match self.conn() {
            ConnRef::Sqlite(c) => {
                let row = bind_sqlite(sqlx::query(sql), args).fetch_optional(c).await?;
                row.as_ref().map(|r| f(r)).transpose()
            }
            ConnRef::Postgres(c) => {
                let row = bind_pg(sqlx::query(sql), args).fetch_optional(c).await?;
                row.as_ref().map(|r| f(r)).transpose()
            }
        }
    }

    /// Runs a query that returns exactly one row.
    pub async fn fetch_one<T>(
        &mut self,
        sql: impl Into<Sql>,
        args: Vec<Arg>,
        f: impl Fn(&dyn DbRow) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.fetch_optional(sql, args, f).await?.ok_or_else(|| StoreError::Decode("expected one row, got none".into()))
    }

    /// A single `i64` (e.g. a count).
    pub async fn scalar_i64(&mut self, sql: impl Into<Sql>, args: Vec<Arg>) -> StoreResult<i64> {
        self.fetch_one(sql, args, |r| r.i64("v")).await
    }

    /// The SQL expression that yields a new `id` for a row of `table` in an
    /// `INSERT … VALUES` list, given the tenant's placeholder (e.g. `$1`).
    /// PostgreSQL uses the column's identity; SQLite takes the next number
    /// under the write lock this transaction holds.
    pub fn new_id_expr(&self, table: &str, tenant_placeholder: &str) -> String {
        match self.dialect() {
            Dialect::Postgres => "DEFAULT".to_string(),
            Dialect::Sqlite => {
                format!("(SELECT COALESCE(MAX(id), 0) + 1 FROM {table} WHERE tenant_id = {tenant_placeholder})")
            }
        }
    }

    /// ` FOR UPDATE` on PostgreSQL; nothing on SQLite, where the write
    /// transaction already excludes every other writer.
    pub fn for_update(&self) -> &'static str {
        match self.dialect() {
            Dialect::Postgres => " FOR UPDATE",
            Dialect::Sqlite => "",
        }
    }

    /// Rows that break a foreign key (SQLite, after a migration ran with
    /// enforcement off), as `table` names; always empty on PostgreSQL, which
    /// never defers the check.
    pub async fn foreign_key_violations(&mut self) -> StoreResult<Vec<String>> {
        match self.dialect() {
            Dialect::Sqlite => self.fetch_all("PRAGMA foreign_key_check", vec![], |r| r.text("table")).await,
            Dialect::Postgres => Ok(vec![]),
        }
    }

    /// Marks a point this transaction can return to with
    /// [`Tx::rollback_to`], e.g. to undo one row of an import and keep the
    /// others. Events buffered after the point are dropped with it.
    pub async fn savepoint(&mut self) -> StoreResult<Savepoint> {
        self.execute("SAVEPOINT nave_sp", vec![]).await?;
        Ok(Savepoint { events: self.events.len() })
    }

    /// Undoes everything since the savepoint (which is then gone).
    pub async fn rollback_to(&mut self, sp: Savepoint) -> StoreResult<()> {
        self.execute("ROLLBACK TO SAVEPOINT nave_sp", vec![]).await?;
        self.execute("RELEASE SAVEPOINT nave_sp", vec![]).await?;
        self.events.truncate(sp.events);
        Ok(())
    }

    /// Keeps everything since the savepoint.
    pub async fn release(&mut self, _sp: Savepoint) -> StoreResult<()> {
        self.execute("RELEASE SAVEPOINT nave_sp", vec![]).await?;
        Ok(())
    }

    /// Buffers an event; it is numbered and written at commit (see module doc).
    pub fn emit(&mut self, event: NewEvent) {
        self.events.push(event);
    }

    /// Writes buffered events and commits. Events are numbered from the
    /// tenant's counter row, locked last so that the lock is held briefly and
    /// positions follow commit order.
    pub async fn commit(mut self) -> StoreResult<()> {
        let events = std::mem::take(&mut self.events);
        if !events.is_empty() {
            debug_assert!(self.writes, "events emitted in a read transaction");
            crate::events::write_buffered(&mut self, events).await?;
        }
        match self.conn {
            Conn::Sqlite(t, guard) => {
                t.commit().await?;
                drop(guard);
            }
            Conn::Postgres(t) => t.commit().await?,
            Conn::SqliteAuto(_) | Conn::PostgresAuto(_) => {}
        }
        Ok(())
    }

    /// Runs several statements (a migration script).
    pub async fn execute_script(&mut self, sql: &str) -> StoreResult<()> {
        let sql = AssertSqlSafe(sql.to_owned());
        match self.conn() {
            ConnRef::Sqlite(c) => {
                sqlx::raw_sql(sql).execute(c).await?;
            }
            ConnRef::Postgres(c) => {
                sqlx::raw_sql(sql).execute(c).await?;
            }
        }
        Ok(())
    }

    /// Abandons every change (dropping a `Tx` does the same).
    pub async fn rollback(self) -> StoreResult<()> {
        match self.conn {
            Conn::Sqlite(t, _) => t.rollback().await?,
            Conn::Postgres(t) => t.rollback().await?,
            Conn::SqliteAuto(_) | Conn::PostgresAuto(_) => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_timestamps_are_fixed_width_so_text_order_is_time_order() {
        let a = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_100_000_000).unwrap();
        let b = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_120_000_000).unwrap();
        assert_eq!(sqlite_ts(a).len(), sqlite_ts(b).len());
        assert!(sqlite_ts(a) < sqlite_ts(b));
        assert_eq!(OffsetDateTime::parse(&sqlite_ts(a), &Rfc3339).unwrap(), a);
    }

    #[test]
    fn passwords_never_show_in_redacted_urls() {
        assert_eq!(redact_url("postgres://nave:s3cret@db:5432/nave"), "postgres://nave:***@db:5432/nave");
        assert_eq!(redact_url("sqlite://nave.db"), "sqlite://nave.db");
    }
}
