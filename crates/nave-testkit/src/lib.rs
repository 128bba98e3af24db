//! Test support: a fresh, isolated, migrated database per test, on SQLite
//! (a temporary file) or PostgreSQL (a schema of its own), so tests run in
//! parallel.
//!
//! PostgreSQL is found at `NAVE_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/test`). When it cannot be reached, a
//! PostgreSQL test fails under `CI=true` and is skipped, loudly, elsewhere.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use nave_store::db::{ConnectOptions, Db};
use nave_store::{migrate, tenants};

/// The two engines every storage and API test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests use.
pub fn pg_url() -> String {
    std::env::var("NAVE_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// An isolated database, dropped with the value.
#[derive(Debug)]
pub struct TestDb {
    pub db: Db,
    pub backend: Backend,
    /// The URL a separate process (e.g. `nave serve`) can use.
    pub url: String,
    /// The PostgreSQL schema, when on PostgreSQL.
    pub pg_schema: Option<String>,
    sqlite_file: Option<PathBuf>,
}

impl TestDb {
    /// A fresh database with the default tenant, or `None` when PostgreSQL is
    /// unavailable outside CI.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let t = Self::empty(backend).await?;
        migrate::migrate(&t.db).await.expect("migrations apply");
        tenants::ensure(&t.db, tenants::DEFAULT_TENANT, "Test Company").await.expect("tenant");
        Some(t)
    }

    /// A fresh database without any table.
    pub async fn empty(backend: Backend) -> Option<TestDb> {
        let tag = uuid::Uuid::now_v7().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("nave-test-{tag}.db"));
                let url = format!("sqlite://{}", path.display());
                let db = Db::connect(&url, &ConnectOptions::default()).await.expect("SQLite opens");
                Some(TestDb { db, backend, url, pg_schema: None, sqlite_file: Some(path) })
            }
            Backend::Postgres => {
                let base = pg_url();
                let admin = match Db::connect(&base, &ConnectOptions { max_connections: 1, ..Default::default() }).await
                {
                    Ok(db) => db,
                    Err(e) if !in_ci() => {
                        eprintln!("SKIPPED: PostgreSQL not reachable at {base} ({e}); set NAVE_TEST_PG or start it");
                        return None;
                    }
                    Err(e) => panic!("PostgreSQL is required under CI=true but is not reachable at {base}: {e}"),
                };
                let schema = format!("t_{tag}");
                admin.execute_raw(&format!("CREATE SCHEMA {schema}")).await.expect("create test schema");
                admin.close().await;
                let opts = ConnectOptions { max_connections: 8, pg_schema: Some(schema.clone()), ..Default::default() };
                let db = Db::connect(&base, &opts).await.expect("PostgreSQL connects");
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                Some(TestDb { db, backend, url, pg_schema: Some(schema), sqlite_file: None })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(f) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", f.display()));
            }
        }
        if let Some(schema) = self.pg_schema.take() {
            // Drop the schema from a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                rt.block_on(async {
                    let db = Db::connect(&pg_url(), &ConnectOptions { max_connections: 1, ..Default::default() })
                        .await
                        .ok()?;
                    let _ = db.execute_raw(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
                    db.close().await;
                    Some(())
                })
            })
            .join();
        }
    }
}

/// Runs each named `async fn(TestDb)` once on SQLite and once on PostgreSQL,
/// as `sqlite::NAME` and `postgres::NAME`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::TestDb::new($crate::Backend::Sqlite).await {
                        super::$name(db).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::TestDb::new($crate::Backend::Postgres).await {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}
