//! Statistics for SQLite's query planner.
//!
//! SQLite chooses an index from the statistics in `sqlite_stat1`, which only
//! `ANALYZE` writes. A database that was never analyzed — every new one, and
//! most of the ones people use, since nothing runs `ANALYZE` by itself — has
//! none, and then the planner assumes that an equality on an index's first
//! column picks out a few rows. Every key in Nave starts with `tenant_id`,
//! which picks out the whole company, so without statistics SQLite walks a
//! tenant's entire primary key to save a sort (`… ORDER BY id LIMIT 1`,
//! `GROUP BY sl.id`) instead of using the index that finds the three rows
//! asked for: loading a document or costing a shipment then grows with the
//! size of the database.
//!
//! SQLite's own advice for applications is to ship statistics. After the
//! migrations, [`seed_sqlite_stats`] writes, for every index that starts with
//! `tenant_id` and has no statistics yet, a row that describes a large table
//! with one tenant: `tenant_id` selects every row, each further column
//! narrows to a few, and the last column of a unique index to one. Indexes
//! that a real `ANALYZE` measured keep their measured figures. PostgreSQL
//! keeps its own statistics (autovacuum) and needs none of this.

use crate::StoreResult;
use crate::db::{Db, Dialect};

/// The table size the written statistics describe.
const ROWS: i64 = 1_000_000;
/// Rows per value of a column after `tenant_id` (SQLite's own default guess).
const NARROW: i64 = 10;

/// The `sqlite_stat1` figures of an index over `columns` columns whose first
/// column is `tenant_id`.
fn stat(columns: usize, unique: bool) -> String {
    let mut v = vec![ROWS, ROWS];
    for i in 1..columns {
        v.push(if unique && i == columns - 1 { 1 } else { NARROW });
    }
    v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" ")
}

/// Writes planner statistics for the indexes that have none (SQLite only),
/// then makes the connection pool's planner read them.
pub async fn seed_sqlite_stats(db: &Db) -> StoreResult<usize> {
    if db.dialect() != Dialect::Sqlite {
        return Ok(0);
    }
    let mut tx = db.write().await?;
    // `ANALYZE` of the tiny migrations ledger creates `sqlite_stat1` when it is missing.
    tx.execute("ANALYZE schema_migrations", vec![]).await?;
    let indexes = tx
        .fetch_all(
            "SELECT m.name AS tbl, il.name AS idx, il.\"unique\" AS uniq, \
             (SELECT COUNT(*) FROM pragma_index_info(il.name)) AS columns, \
             (SELECT ii.name FROM pragma_index_info(il.name) ii WHERE ii.seqno = 0) AS first \
             FROM sqlite_schema m, pragma_index_list(m.name) il \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             AND NOT EXISTS (SELECT 1 FROM sqlite_stat1 s WHERE s.tbl = m.name AND s.idx = il.name)",
            vec![],
            |r| {
                Ok((
                    r.text("tbl")?,
                    r.text("idx")?,
                    r.i64("uniq")? != 0,
                    r.i64("columns")?,
                    r.opt_text("first")?.unwrap_or_default(),
                ))
            },
        )
        .await?;
    let mut written = 0;
    for (table, index, unique, columns, first) in indexes {
        if first != "tenant_id" {
            continue;
        }
        tx.execute(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ($1, $2, $3)",
            crate::args![table, index, stat(columns as usize, unique)],
        )
        .await?;
        written += 1;
    }
    tx.commit().await?;
    if written > 0 {
        // A connection reads the statistics when it opens; the ones already open keep what
        // they read until they run `ANALYZE sqlite_schema`.
        db.reload_sqlite_stats().await?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::stat;

    #[test]
    fn the_tenant_column_selects_everything_and_a_unique_key_one_row() {
        assert_eq!(stat(2, true), "1000000 1000000 1");
        assert_eq!(stat(2, false), "1000000 1000000 10");
        assert_eq!(stat(4, true), "1000000 1000000 10 10 1");
        assert_eq!(stat(1, false), "1000000 1000000");
    }
}
