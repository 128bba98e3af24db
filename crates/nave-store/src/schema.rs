//! Reads the live schema back from either engine, in one normalised shape,
//! so tests can check the schema rules and compare SQLite with PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};

use crate::db::{Dialect, Tx};
use crate::{StoreResult, args};

/// A column: name, normalised type, nullability.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Column {
    pub name: String,
    /// `bigint`, `text`, `uuid`, `timestamp`, `boolean`, `date`, `bytes`, or the raw
    /// declared type lower-cased when it is none of those.
    pub ty: String,
    pub nullable: bool,
}

/// A foreign key: columns → table(columns), and its delete rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    /// `cascade`, `restrict`, `set null`, `set default` or `no action`.
    pub on_delete: String,
}

/// One table's shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    /// Column lists of unique constraints and unique indexes (not the primary key).
    pub uniques: BTreeSet<Vec<String>>,
    /// Column lists of every index, the primary key's included.
    pub indexes: BTreeSet<Vec<String>>,
    pub foreign_keys: BTreeSet<ForeignKey>,
}

/// Tables by name.
pub type Schema = BTreeMap<String, Table>;

fn normalise_type(raw: &str) -> String {
    let t = raw.trim().to_ascii_lowercase();
    match t.as_str() {
        "bigint" | "integer" | "int8" => "bigint",
        "text" | "character varying" => "text",
        "uuid" | "blob" => "uuid",
        "bytea" => "bytes",
        "timestamp with time zone" | "timestamptz" | "datetime" => "timestamp",
        "boolean" | "bool" => "boolean",
        "date" => "date",
        other => return other.to_string(),
    }
    .to_string()
}

fn split(cols: &str) -> Vec<String> {
    cols.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// Reads the schema of the database `tx` is connected to (PostgreSQL: the current schema).
pub async fn read(tx: &mut Tx) -> StoreResult<Schema> {
    match tx.dialect() {
        Dialect::Sqlite => read_sqlite(tx).await,
        Dialect::Postgres => read_pg(tx).await,
    }
}

async fn read_sqlite(tx: &mut Tx) -> StoreResult<Schema> {
    let names = tx
        .fetch_all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            vec![],
            |r| r.text("name"),
        )
        .await?;
    let mut schema = Schema::new();
    for name in names {
        let mut t = Table::default();
        let cols = tx
            .fetch_all(
                "SELECT name, type, \"notnull\" AS nn, pk FROM pragma_table_info($1) ORDER BY cid",
                args![name.as_str()],
                |r| Ok((r.text("name")?, r.text("type")?, r.i64("nn")? != 0, r.i64("pk")?)),
            )
            .await?;
        let mut pk: Vec<(i64, String)> = Vec::new();
        for (c, ty, nn, p) in cols {
            if p > 0 {
                pk.push((p, c.clone()));
            }
            t.columns.push(Column { name: c, ty: normalise_type(&ty), nullable: !nn && p == 0 });
        }
        pk.sort();
        t.primary_key = pk.into_iter().map(|(_, c)| c).collect();
        t.indexes.insert(t.primary_key.clone());
        let indexes = tx
            .fetch_all("SELECT name, \"unique\" AS u, origin FROM pragma_index_list($1)", args![name.as_str()], |r| {
                Ok((r.text("name")?, r.i64("u")? != 0, r.text("origin")?))
            })
            .await?;
        for (iname, unique, origin) in indexes {
            let cols = tx
                .fetch_all("SELECT name FROM pragma_index_info($1) ORDER BY seqno", args![iname.as_str()], |r| {
                    r.text("name")
                })
                .await?;
            if unique && origin != "pk" {
                t.uniques.insert(cols.clone());
            }
            t.indexes.insert(cols);
        }
        let fks = tx
            .fetch_all(
                "SELECT id, seq, \"table\" AS tbl, \"from\" AS src, \"to\" AS dst, on_delete FROM pragma_foreign_key_list($1) \
                 ORDER BY id, seq",
                args![name.as_str()],
                |r| Ok((r.i64("id")?, r.text("tbl")?, r.text("src")?, r.text("dst")?, r.text("on_delete")?)),
            )
            .await?;
        let mut by_id: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for (id, tbl, src, dst, del) in fks {
            let fk = by_id.entry(id).or_insert_with(|| ForeignKey {
                columns: vec![],
                ref_table: tbl,
                ref_columns: vec![],
                on_delete: del.to_ascii_lowercase(),
            });
            fk.columns.push(src);
            fk.ref_columns.push(dst);
        }
        t.foreign_keys = by_id.into_values().collect();
        schema.insert(name, t);
    }
    Ok(schema)
}

async fn read_pg(tx: &mut Tx) -> StoreResult<Schema> {
    let names = tx
        .fetch_all(
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
            vec![],
            |r| r.text("name"),
        )
        .await?;
    let mut schema = Schema::new();
    for name in names {
        let columns = tx
            .fetch_all(
                "SELECT column_name::text AS name, data_type::text AS ty, is_nullable::text AS nullable \
                 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 \
                 ORDER BY ordinal_position",
                args![name.as_str()],
                |r| {
                    Ok(Column {
                        name: r.text("name")?,
                        ty: normalise_type(&r.text("ty")?),
                        nullable: r.text("nullable")? == "YES",
                    })
                },
            )
            .await?;
        let mut t = Table { columns, ..Table::default() };
        let indexes = tx
            .fetch_all(
                "SELECT i.indisunique AS uniq, i.indisprimary AS prim, \
                 (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS cols \
                 FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
                 WHERE n.nspname = current_schema() AND t.relname = $1",
                args![name.as_str()],
                |r| Ok((r.boolean("uniq")?, r.boolean("prim")?, r.text("cols")?)),
            )
            .await?;
        for (uniq, prim, cols) in indexes {
            let cols = split(&cols);
            if prim {
                t.primary_key = cols.clone();
            } else if uniq {
                t.uniques.insert(cols.clone());
            }
            t.indexes.insert(cols);
        }
        t.foreign_keys = tx
            .fetch_all(
                "SELECT rt.relname::text AS ref_table, c.confdeltype::text AS del, \
                 (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS cols, \
                 (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord) \
                  JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) AS ref_cols \
                 FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class rt ON rt.oid = c.confrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 WHERE c.contype = 'f' AND n.nspname = current_schema() AND t.relname = $1",
                args![name.as_str()],
                |r| {
                    let on_delete = match r.text("del")?.as_str() {
                        "c" => "cascade",
                        "r" => "restrict",
                        "n" => "set null",
                        "d" => "set default",
                        _ => "no action",
                    };
                    Ok(ForeignKey {
                        columns: split(&r.text("cols")?),
                        ref_table: r.text("ref_table")?,
                        ref_columns: split(&r.text("ref_cols")?),
                        on_delete: on_delete.to_string(),
                    })
                },
            )
            .await?
            .into_iter()
            .collect();
        schema.insert(name, t);
    }
    Ok(schema)
}
