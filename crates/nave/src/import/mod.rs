//! `nave import KIND FILE.csv [--dry-run]`: CSV import with a progress bar,
//! a per-row error report, and a dry run that writes nothing.
//!
//! The machinery is shared by every kind of record (this module); what a row
//! means is each kind's own (`products`, `accounts`, `contacts`, each an
//! [`Importer`]; `invoices` and `payments` too). A file is UTF-8, comma-separated, with a header row naming
//! its columns in any order. Good rows are imported and bad ones reported
//! (line, column, reason). Each row is all or nothing (a savepoint), and rows
//! are committed in batches, so an import is quick and a refused row leaves
//! no trace. The same record twice in one file is refused on its second row.
//! A dry run checks every row the same way inside one transaction that is
//! rolled back.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use nave_domain::DomainError;
use nave_domain::address::PostalAddress;
use nave_domain::email::Email;
use nave_domain::external_id::{ExternalId, parse_pair};
use nave_domain::ids::PublicId;
use nave_store::addresses::ADDRESS_COLUMNS;
use nave_store::audit::Actor;
use nave_store::tenants::DEFAULT_TENANT;
use nave_store::{Db, StoreError, Tx, users};

pub mod accounts;
pub mod contacts;
pub mod invoices;
pub mod payments;
pub mod products;

/// Rows committed together (each row still all or nothing).
const BATCH_ROWS: usize = 500;

/// One refused row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The line in the file (the header is line 1).
    pub row: u64,
    pub column: String,
    pub reason: String,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Default)]
pub struct Report {
    pub created: usize,
    pub updated: usize,
    pub errors: Vec<RowError>,
}

/// What became of a good row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
}

/// A row's outcome, or why it was refused.
pub type RowResult = Result<Outcome, Vec<RowError>>;

/// One data row: its cells by (lower-case) column name, and its line.
#[derive(Debug)]
pub struct Row {
    pub line: u64,
    cells: HashMap<String, String>,
}

impl Row {
    /// The trimmed cell of `column`; `None` when absent or empty.
    pub fn cell(&self, column: &str) -> Option<&str> {
        self.cells.get(column).map(String::as_str).map(str::trim).filter(|s| !s.is_empty())
    }

    /// The error of this row in `column`.
    pub fn error(&self, column: &str, reason: impl Into<String>) -> Vec<RowError> {
        vec![RowError { row: self.line, column: column.into(), reason: reason.into() }]
    }

    /// A refusal of this row.
    pub fn refuse(&self, column: &str, reason: impl Into<String>) -> RowResult {
        Err(self.error(column, reason))
    }

    /// The cell of a yes/no column; a row error when it is neither.
    pub fn flag(&self, column: &str) -> Result<Option<bool>, Vec<RowError>> {
        match self.cell(column) {
            None => Ok(None),
            Some(s) => parse_bool(s).map(Some).ok_or_else(|| self.error(column, "must be yes or no")),
        }
    }

    /// The `external_ids` cell: `system:id; system:id`.
    pub fn external_ids(&self) -> Result<Option<Vec<ExternalId>>, Vec<RowError>> {
        match self.cell("external_ids") {
            None => Ok(None),
            Some(list) => parse_external_ids(list)
                .map(Some)
                .ok_or_else(|| self.error("external_ids", "must be system:id pairs separated by ;")),
        }
    }

    /// The address of the `address_*` columns, when any of them is filled.
    pub fn address(&self) -> Option<PostalAddress> {
        let cell = |part: &str| self.cell(&format!("address_{part}")).map(str::to_string);
        if ADDRESS_COLUMNS.iter().all(|c| self.cell(c).is_none()) {
            return None;
        }
        Some(PostalAddress {
            label: cell("label").unwrap_or_default(),
            line1: cell("line1").unwrap_or_default(),
            line2: cell("line2"),
            city: cell("city").unwrap_or_default(),
            region: cell("region"),
            postal_code: cell("postal_code"),
            country: cell("country").unwrap_or_default(),
        })
    }
}

/// Reads `yes`/`no` (also `true`/`false`, `1`/`0`, `y`/`n`).
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "y" => Some(true),
        "false" | "no" | "0" | "n" => Some(false),
        _ => None,
    }
}

/// Reads `system:id; system:id`, the form the CSV exports write.
pub fn parse_external_ids(list: &str) -> Option<Vec<ExternalId>> {
    list.split(';').map(str::trim).filter(|p| !p.is_empty()).map(parse_pair).collect()
}

/// Reads a list cell: items separated by `;`, blanks dropped.
pub fn list(cell: Option<&str>) -> Vec<String> {
    cell.map(|c| c.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Turns a store refusal into row errors; `column` names the CSV column of an
/// input field (`addresses[0].city` → `address_city`).
pub fn row_errors(row: &Row, e: StoreError, column: impl Fn(&str) -> String) -> anyhow::Result<Vec<RowError>> {
    match e {
        StoreError::Domain(DomainError::Validation(errs)) => Ok(errs
            .into_iter()
            .map(|f| RowError { row: row.line, column: column(&f.field), reason: f.message })
            .collect()),
        StoreError::Domain(other) => {
            Ok(vec![RowError { row: row.line, column: column(""), reason: other.to_string() }])
        }
        other => Err(other.into()),
    }
}

/// The part of an input field's path before any index or sub-field.
pub fn field_root(field: &str) -> &str {
    field.split(['[', '.']).next().unwrap_or(field)
}

/// One kind of record a file can hold.
pub trait Importer {
    /// What the rows are, for messages ("product").
    const NOUN: &'static str;
    /// The columns a file may have.
    const COLUMNS: &'static [&'static str];
    /// The column every file must have.
    const REQUIRED: &'static str;

    /// What identifies the row's record in the file (`column`, key, as written),
    /// so that the same record twice is refused on its second row.
    fn keys(&self, row: &Row) -> Vec<(&'static str, String, String)>;

    /// Checks and writes one row inside `tx`. A refused row may leave writes
    /// behind in `tx`; they are rolled back with the row.
    /// `actor` is the command line's system, carrying `--source` when given,
    /// so master rules apply to the import as to any write from that system.
    fn import(&mut self, tx: &mut Tx, actor: &Actor, row: &Row) -> impl Future<Output = anyhow::Result<RowResult>>;

    /// The key that groups the rows of one record (an invoice's lines), or
    /// `None` when a row is a record of its own. A record's rows must be
    /// next to each other.
    fn group(&self, _row: &Row) -> Option<String> {
        None
    }

    /// Checks and writes the rows of one record (by default its one row),
    /// all or nothing.
    fn import_rows(
        &mut self,
        tx: &mut Tx,
        actor: &Actor,
        rows: &[Row],
    ) -> impl Future<Output = anyhow::Result<RowResult>> {
        async move { self.import(tx, actor, &rows[0]).await }
    }

    /// What else the import did, for the summary (", 2 new product line(s)").
    fn extra(&self) -> String {
        String::new()
    }
}

/// Users by e-mail, looked up once per import (the `owner` columns).
#[derive(Debug, Default)]
pub struct Owners(HashMap<String, Option<PublicId>>);

impl Owners {
    /// The user whose e-mail is in the row's `owner` cell, if the cell is filled.
    pub async fn of(&mut self, tx: &mut Tx, row: &Row) -> anyhow::Result<Result<Option<PublicId>, Vec<RowError>>> {
        let Some(cell) = row.cell("owner") else { return Ok(Ok(None)) };
        let Ok(email) = Email::parse(cell) else {
            return Ok(Err(row.error("owner", "must be a user's e-mail address")));
        };
        let found = match self.0.get(&email.key()) {
            Some(found) => *found,
            None => {
                let u = users::get_by_email(tx, DEFAULT_TENANT, &email).await?.map(|u| u.id);
                self.0.insert(email.key(), u);
                u
            }
        };
        Ok(found.map(Some).ok_or_else(|| row.error("owner", format!("there is no user with the e-mail {cell}"))))
    }
}

/// The system acting for the command line.
pub fn actor() -> Actor {
    Actor::system(DEFAULT_TENANT)
}

/// The command line acting for another system (`--source erp`): its writes
/// carry that source, like an API token's, so master rules hold back the
/// fields that system does not master and record sync conflicts.
pub fn actor_from(source: Option<&str>) -> anyhow::Result<Actor> {
    let mut a = actor();
    if let Some(s) = source {
        let mut v = nave_domain::error::Validator::new();
        let s = nave_domain::sync::check_system(&mut v, "--source", s);
        v.finish().map_err(|e| anyhow::anyhow!("{e}"))?;
        a.source = Some(s);
    }
    Ok(a)
}

/// Starts a batch's transaction. On PostgreSQL its statements are planned for
/// their values each time: the tables grow quickly during an import, and a
/// plan cached while they were small would scan what an index finds.
async fn begin(db: &Db) -> anyhow::Result<Tx> {
    let mut tx = db.write().await?;
    if tx.dialect() == nave_store::Dialect::Postgres {
        tx.execute("SET LOCAL plan_cache_mode = force_custom_plan", vec![]).await?;
    }
    Ok(tx)
}

/// Imports `file` with `importer`, writing as `actor`.
pub async fn run<I: Importer>(
    db: &Db,
    file: &Path,
    dry_run: bool,
    actor: &Actor,
    importer: &mut I,
) -> anyhow::Result<Report> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_path(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let headers: Vec<String> =
        reader.headers().context("the file has no header row")?.iter().map(|h| h.to_ascii_lowercase()).collect();
    if let Some(bad) = headers.iter().find(|h| !I::COLUMNS.contains(&h.as_str())) {
        anyhow::bail!("unknown column {bad:?}; the columns are {}", I::COLUMNS.join(", "));
    }
    anyhow::ensure!(headers.iter().any(|h| h == I::REQUIRED), "the file needs a {} column", I::REQUIRED);
    let records: Vec<csv::StringRecord> =
        reader.records().collect::<Result<_, _>>().context("the file is not valid CSV")?;
    let bar = ProgressBar::new(records.len() as u64);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} rows {msg}").expect("valid template"));
    let mut report = Report::default();
    // Rows into records: one row each, or the rows a group key holds together.
    let mut units: Vec<Vec<Row>> = Vec::new();
    let mut groups: HashMap<String, u64> = HashMap::new();
    let mut last_group: Option<String> = None;
    for (i, rec) in records.iter().enumerate() {
        let line = rec.position().map_or(i as u64 + 2, |p| p.line());
        let row = Row { line, cells: headers.iter().cloned().zip(rec.iter().map(str::to_string)).collect() };
        match importer.group(&row) {
            Some(k) if last_group.as_ref() == Some(&k) => units.last_mut().expect("the group's unit").push(row),
            Some(k) => {
                if let Some(first) = groups.get(&k) {
                    bar.inc(1);
                    report.errors.push(RowError {
                        row: line,
                        column: "external_id".into(),
                        reason: format!(
                            "{k} is also on row {first}: the rows of one record must be next to each other"
                        ),
                    });
                    last_group = None;
                    continue;
                }
                groups.insert(k.clone(), line);
                last_group = Some(k);
                units.push(vec![row]);
            }
            None => {
                last_group = None;
                units.push(vec![row]);
            }
        }
    }
    let mut seen: HashMap<(&'static str, String), u64> = HashMap::new();
    let mut tx: Option<Tx> = None;
    let mut in_batch = 0;
    for unit in &units {
        bar.inc(unit.len() as u64);
        let row = &unit[0];
        let line = row.line;
        let mut repeated = None;
        for (column, key, shown) in importer.keys(row) {
            if let Some(first) = seen.get(&(column, key.clone())) {
                repeated.get_or_insert(RowError {
                    row: line,
                    column: column.into(),
                    reason: format!("{shown} is also on row {first}"),
                });
            } else {
                seen.insert((column, key), line);
            }
        }
        if let Some(e) = repeated {
            report.errors.push(e);
            continue;
        }
        let t = match tx.as_mut() {
            Some(t) => t,
            None => tx.insert(begin(db).await?),
        };
        let sp = t.savepoint().await?;
        match importer.import_rows(t, actor, unit).await? {
            Ok(outcome) => {
                t.release(sp).await?;
                match outcome {
                    Outcome::Created => report.created += 1,
                    Outcome::Updated => report.updated += 1,
                }
            }
            Err(errs) => {
                t.rollback_to(sp).await?;
                report.errors.extend(errs);
            }
        }
        in_batch += unit.len();
        if !dry_run && in_batch >= BATCH_ROWS {
            if let Some(t) = tx.take() {
                t.commit().await?;
            }
            in_batch = 0;
        }
    }
    bar.finish_and_clear();
    report.errors.sort_by_key(|e| e.row);
    if let Some(t) = tx {
        if dry_run { t.rollback().await? } else { t.commit().await? }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use nave_domain::access::{BuiltinRole, Principal};
    use nave_web::csv_export;

    use super::Importer;
    use super::accounts::Accounts;

    fn principal(role: BuiltinRole) -> Principal {
        Principal {
            tenant_id: 1,
            user_id: 1,
            team_id: None,
            role: role.as_str().into(),
            grants: Arc::new(role.grants()),
            token_id: None,
            source: None,
        }
    }

    #[test]
    fn exports_write_the_columns_the_importers_read_less_what_a_role_may_not_see() {
        assert_eq!(csv_export::account_columns(&principal(BuiltinRole::Admin)), Accounts::COLUMNS);
        let rep = csv_export::account_columns(&principal(BuiltinRole::SalesRep));
        let expected: Vec<&str> = Accounts::COLUMNS.iter().copied().filter(|c| *c != "credit_limit").collect();
        assert_eq!(rep, expected);
    }

    #[test]
    fn list_cells_split_at_semicolons_and_flags_read_yes_and_no() {
        assert_eq!(super::list(Some(" a; b ;; c ")), ["a", "b", "c"]);
        assert_eq!(super::parse_bool("Yes"), Some(true));
        assert_eq!(super::parse_bool("0"), Some(false));
        assert_eq!(super::parse_bool("maybe"), None);
        assert_eq!(super::parse_external_ids("erp:1; shop:gid://x/2").map(|v| v.len()), Some(2));
        assert_eq!(super::parse_external_ids("erp:1; nope"), None);
    }
}
