//! Forward-only migrations, embedded in the binary.
//!
//! Each migration exists twice, `migrations/sqlite/NNNN_name.sql` and
//! `migrations/postgres/NNNN_name.sql`; a test applies both and compares the
//! resulting schemas. An applied migration must never change: its checksum is
//! stored and checked at every start.

use sha2::{Digest, Sha256};

use crate::db::{Db, Dialect, now};
use crate::{StoreError, StoreResult, args};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

macro_rules! migration {
    ($version:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $file,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $file, ".sql")),
        }
    };
}

const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_foundation"),
    migration!(2, "0002_payment_terms"),
    migration!(3, "0003_taxes"),
    migration!(4, "0004_catalog"),
    migration!(5, "0005_stock"),
    migration!(6, "0006_product_parts"),
    migration!(7, "0007_price_lists"),
    migration!(8, "0008_tax_treatment"),
    migration!(9, "0009_files"),
    // Versions need not be consecutive: each is applied once, in this order.
    migration!(10, "0010_accounts_contacts"),
    migration!(11, "0011_pipeline_cases"),
    migration!(12, "0012_attachments"),
    migration!(13, "0013_leads"),
    migration!(14, "0014_search"),
    migration!(15, "0015_activities"),
    migration!(16, "0016_order_to_cash"),
    migration!(18, "0018_report_indexes"),
    migration!(19, "0019_purchase"),
    migration!(20, "0020_company_settings"),
    migration!(21, "0021_drop_ship"),
    migration!(22, "0022_webhooks"),
    migration!(23, "0023_master_rules"),
    migration!(24, "0024_saved_views"),
    migration!(25, "0025_woocommerce"),
    migration!(26, "0026_document_external_ids"),
    migration!(27, "0027_sales_summaries"),
];

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

fn checksum(sql: &str) -> String {
    Sha256::digest(sql.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Applies every migration not yet applied; returns how many were applied.
/// Data a migration's new tables need that SQL alone cannot compute.
async fn backfill(tx: &mut crate::Tx, version: i64) -> StoreResult<()> {
    if version == 10 {
        // Duplicate detection keys are computed by the domain's rules, not in SQL.
        crate::accounts::refresh_match_keys(tx).await?;
    }
    if version == 14 {
        // The search index: the words of every existing account, contact, opportunity and case.
        let ids = |table: &'static str| format!("SELECT tenant_id, public_id FROM {table}");
        let decode = |r: &dyn crate::DbRow| {
            Ok((r.i64("tenant_id")?, nave_domain::ids::PublicId::from_uuid(r.uuid("public_id")?)))
        };
        for (tenant, id) in tx.fetch_all(ids("accounts"), vec![], decode).await? {
            if let Some(a) = crate::accounts::get(tx, tenant, id).await? {
                crate::accounts::index(tx, tenant, &a).await?;
            }
        }
        for (tenant, id) in tx.fetch_all(ids("contacts"), vec![], decode).await? {
            if let Some(c) = crate::contacts::get(tx, tenant, id).await? {
                crate::contacts::index(tx, tenant, &c).await?;
            }
        }
        for (tenant, id) in tx.fetch_all(ids("opportunities"), vec![], decode).await? {
            if let Some(o) = crate::pipeline::get(tx, tenant, id).await? {
                crate::pipeline::index(tx, tenant, &o).await?;
            }
        }
        for (tenant, id) in tx.fetch_all(ids("cases"), vec![], decode).await? {
            if let Some(c) = crate::cases::get(tx, tenant, id).await? {
                crate::cases::index(tx, tenant, &c).await?;
            }
        }
    }
    Ok(())
}

pub async fn migrate(db: &Db) -> StoreResult<usize> {
    migrate_to(db, latest_version()).await
}

/// Applies the migrations up to version `last` (tests use it to write data
/// the way an older release did, then migrate it).
pub async fn migrate_to(db: &Db, last: i64) -> StoreResult<usize> {
    db.execute_raw(CREATE_LEDGER).await?;
    let mut applied = 0;
    for m in MIGRATIONS.iter().take_while(|m| m.version <= last) {
        let mut tx = db.write_schema().await?;
        if db.dialect() == Dialect::Postgres {
            // Two servers starting at once: the second waits, then finds it done.
            tx.execute("SELECT pg_advisory_xact_lock(7366101)", vec![]).await?;
        }
        let done = tx
            .fetch_optional("SELECT checksum FROM schema_migrations WHERE version = $1", args![m.version], |r| {
                r.text("checksum")
            })
            .await?;
        let sql = match db.dialect() {
            Dialect::Sqlite => m.sqlite,
            Dialect::Postgres => m.postgres,
        };
        match done {
            Some(sum) if sum == checksum(sql) => continue,
            Some(_) => {
                return Err(StoreError::Migration(format!(
                    "migration {} was changed after it was applied; migrations are forward-only",
                    m.name
                )));
            }
            None => {}
        }
        tx.execute_script(sql).await.map_err(|e| StoreError::Migration(format!("{}: {e}", m.name)))?;
        backfill(&mut tx, m.version).await?;
        let broken = tx.foreign_key_violations().await?;
        if !broken.is_empty() {
            return Err(StoreError::Migration(format!(
                "{} leaves rows that break foreign keys in {}",
                m.name,
                broken.join(", ")
            )));
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
            args![m.version, m.name, checksum(sql), now().to_string()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(migration = m.name, "migration applied");
        applied += 1;
    }
    crate::planner::seed_sqlite_stats(db).await?;
    Ok(applied)
}

/// The newest migration this binary knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}
