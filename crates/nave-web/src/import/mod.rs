//! CSV import, shared by `nave import KIND FILE.csv` and the import page
//! (`pages::imports`, run as a background job by `jobs`): a file of one kind
//! of record, checked row by row, with a per-row error report and a check
//! that writes nothing.
//!
//! The machinery is shared by every kind of record (this module); what a row
//! means is each kind's own (`products`, `accounts`, `contacts`, `invoices`,
//! `payments`, each an [`Importer`]). A file is UTF-8, comma-separated, with
//! a header row naming its columns in any order. Good rows are imported and
//! bad ones reported (line, column, reason). Each row is all or nothing (a
//! savepoint), and rows are committed in batches, so an import is quick and a
//! refused row leaves no trace. The same record twice in one file is refused
//! on its second row. A check ([`Mode::Check`]) runs every row the same way
//! and rolls everything back.
//!
//! Who writes is a [`Caller`]: the command line's system, which may do
//! everything like every other command, or a signed-in user, held to the
//! same permissions, record scope and field security as the API (a row the
//! user may not write is refused with the reason). Either may write for
//! another system (`--source`, the page's source system), so master rules
//! apply as they do to that system's API token.

use std::collections::HashMap;

use nave_domain::DomainError;
use nave_domain::access::{Action, Capability, Ownership, Principal, RecordType};
use nave_domain::address::PostalAddress;
use nave_domain::email::Email;
use nave_domain::external_id::{ExternalId, parse_pair};
use nave_domain::ids::PublicId;
use nave_store::accounts::{self as account_store, Account};
use nave_store::addresses::ADDRESS_COLUMNS;
use nave_store::audit::Actor;
use nave_store::{Db, StoreError, Tx, users};
use serde::Serialize;

use crate::extract::actor_of;

pub mod accounts;
pub mod contacts;
pub mod invoices;
pub mod payments;
pub mod products;

/// Rows committed together (each row still all or nothing).
pub const BATCH_ROWS: usize = 500;

/// Why a file could not be imported at all (a refused row is a [`RowError`]).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not one the kind reads: not CSV, no header, an unknown
    /// column. The message is for the user.
    #[error("{0}")]
    File(String),
    /// The database failed; details are for the log.
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type ImportResult<T> = Result<T, ImportError>;

/// One refused row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The line in the file (the header is line 1).
    pub row: u64,
    pub column: String,
    pub reason: String,
}

/// What an import did (or, in a check, would do).
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub created: usize,
    /// Records found and changed.
    pub updated: usize,
    /// Records found that the row left as they were.
    pub unchanged: usize,
    pub errors: Vec<RowError>,
}

impl Report {
    /// The records the rows created or found.
    pub fn imported(&self) -> usize {
        self.created + self.updated + self.unchanged
    }
}

/// What became of a good row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    /// The row named an existing record and changed nothing in it.
    Unchanged,
}

impl Outcome {
    /// `Updated`, or `Unchanged` when `after` is `before` but for its version and times.
    pub fn of_update<R: Serialize>(before: &R, after: &R) -> Outcome {
        match (serde_json::to_value(before), serde_json::to_value(after)) {
            (Ok(b), Ok(a)) if nave_store::audit::diff(Some(&b), Some(&a)).is_empty() => Outcome::Unchanged,
            _ => Outcome::Updated,
        }
    }
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
pub fn row_errors(row: &Row, e: StoreError, column: impl Fn(&str) -> String) -> ImportResult<Vec<RowError>> {
    match e {
        StoreError::Domain(DomainError::Validation(errs)) => Ok(errs
            .into_iter()
            .map(|f| RowError { row: row.line, column: column(&f.field), reason: f.message })
            .collect()),
        StoreError::Domain(other) => {
            Ok(vec![RowError { row: row.line, column: column(""), reason: other.to_string() }])
        }
        other => Err(ImportError::Store(other)),
    }
}

/// The part of an input field's path before any index or sub-field.
pub fn field_root(field: &str) -> &str {
    field.split(['[', '.']).next().unwrap_or(field)
}

/// Who an import writes as, and what they may write.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The actor of every write: the audit entries', the events', and the
    /// source system master rules compare with.
    pub actor: Actor,
    /// The user, held to their role; `None` for the command line's system.
    principal: Option<Principal>,
}

impl Caller {
    /// The system acting for the command line on a tenant: it may write
    /// every record and field, like every other command.
    pub fn system(tenant_id: i64) -> Caller {
        Caller { actor: Actor::system(tenant_id), principal: None }
    }

    /// A signed-in user: their role's permissions, record scope and field
    /// security apply to every row, as they do to the user's API calls.
    pub fn user(p: &Principal) -> Caller {
        Caller { actor: actor_of(p), principal: Some(p.clone()) }
    }

    /// Writes for another system (`erp`), so its master rules apply as to
    /// that system's API token; `field` names the input in an error.
    pub fn with_source(mut self, field: &str, source: Option<&str>) -> Result<Caller, DomainError> {
        if let Some(s) = source {
            let mut v = nave_domain::error::Validator::new();
            let s = nave_domain::sync::check_system(&mut v, field, s);
            v.finish()?;
            self.actor.source = Some(s);
        }
        Ok(self)
    }

    pub fn tenant_id(&self) -> i64 {
        self.actor.tenant_id
    }

    /// The user, when a user imports.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// May the caller do `action` on a record of `rt` with this ownership?
    pub fn may(&self, rt: RecordType, action: Action, own: Ownership) -> bool {
        self.principal.as_ref().is_none_or(|p| p.may(rt, action, own))
    }

    /// May the caller do `action` on some records of `rt` (records without an owner: products)?
    pub fn may_any(&self, rt: RecordType, action: Action) -> bool {
        self.principal.as_ref().is_none_or(|p| p.scope_for(rt, action).is_some())
    }

    /// Has the caller the capability (to write the field it guards)?
    pub fn has(&self, c: Capability) -> bool {
        self.principal.as_ref().is_none_or(|p| p.has(c))
    }

    /// A refusal of a field the caller's role may not write (the API's words).
    pub fn field_refused(row: &Row, column: &str) -> Vec<RowError> {
        row.error(column, "your role may not set this field")
    }
}

/// One kind of record a file can hold.
pub trait Importer: Send {
    /// What the rows are, for messages ("product").
    const NOUN: &'static str;
    /// The record type a row writes: importing needs the permission to create it.
    const RECORD: RecordType;
    /// The columns a file may have.
    const COLUMNS: &'static [&'static str];
    /// The column every file must have.
    const REQUIRED: &'static str;

    /// What identifies the row's record in the file (`column`, key, as written),
    /// so that the same record twice is refused on its second row.
    fn keys(&self, row: &Row) -> Vec<(&'static str, String, String)>;

    /// Checks and writes one row inside `tx`. A refused row may leave writes
    /// behind in `tx`; they are rolled back with the row. The row writes as
    /// `caller.actor` and only what the caller may write.
    fn import(
        &mut self,
        tx: &mut Tx,
        caller: &Caller,
        row: &Row,
    ) -> impl Future<Output = ImportResult<RowResult>> + Send;

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
        caller: &Caller,
        rows: &[Row],
    ) -> impl Future<Output = ImportResult<RowResult>> + Send {
        async move { self.import(tx, caller, &rows[0]).await }
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
    pub async fn of(
        &mut self,
        tx: &mut Tx,
        tenant_id: i64,
        row: &Row,
    ) -> ImportResult<Result<Option<PublicId>, Vec<RowError>>> {
        let Some(cell) = row.cell("owner") else { return Ok(Ok(None)) };
        let Ok(email) = Email::parse(cell) else {
            return Ok(Err(row.error("owner", "must be a user's e-mail address")));
        };
        let found = match self.0.get(&email.key()) {
            Some(found) => *found,
            None => {
                let u = users::get_by_email(tx, tenant_id, &email).await?.map(|u| u.id);
                self.0.insert(email.key(), u);
                u
            }
        };
        Ok(found.map(Some).ok_or_else(|| row.error("owner", format!("there is no user with the e-mail {cell}"))))
    }
}

/// The account named in the `account` cell, by one of its external ids
/// (`erp:C-1001`) or else by its exact name, among the accounts the caller
/// may see (others are as unknown as on the API). The row writes a record of
/// type `rt` at that account, so the caller must be allowed `action` on
/// `rt` with the account's ownership (a contact's, a document's or a
/// payment's scope is its account's); `what` says it for the refusal
/// ("add contacts to").
pub async fn account_of(
    tx: &mut Tx,
    caller: &Caller,
    row: &Row,
    cell: &str,
    (rt, action, what): (RecordType, Action, &str),
) -> ImportResult<Result<Account, Vec<RowError>>> {
    let t = caller.tenant_id();
    let sees = |a: &Account| caller.may(RecordType::Account, Action::Read, a.ownership);
    let mut found = None;
    if let Some(e) = parse_pair(cell)
        && let Some(a) = account_store::get_by_external_id(tx, t, &e).await?
        && sees(&a)
    {
        found = Some(a);
    }
    let account = match found {
        Some(a) => a,
        None => {
            let mut named = account_store::find_by_name(tx, t, cell).await?;
            named.retain(|a| sees(a));
            match named.len() {
                1 => named.remove(0),
                0 => {
                    return Ok(Err(row.error("account", format!("no account has the external id or the name {cell}"))));
                }
                n => {
                    return Ok(Err(row.error(
                        "account",
                        format!("{n} accounts are named {cell}; name the account by its external id"),
                    )));
                }
            }
        }
    };
    if !caller.may(rt, action, account.ownership) {
        return Ok(Err(row.error("account", format!("your role may not {what} the account {}", account.name))));
    }
    Ok(Ok(account))
}

/// Starts a batch's transaction. On PostgreSQL its statements are planned for
/// their values each time: the tables grow quickly during an import, and a
/// plan cached while they were small would scan what an index finds.
async fn begin(db: &Db) -> ImportResult<Tx> {
    let mut tx = db.write().await?;
    if tx.dialect() == nave_store::Dialect::Postgres {
        tx.execute("SET LOCAL plan_cache_mode = force_custom_plan", vec![]).await?;
    }
    Ok(tx)
}

/// How an import writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Writes the good rows, committed [`BATCH_ROWS`] at a time.
    Import,
    /// Writes nothing: every row runs in one transaction that is rolled back
    /// at the end, so each row meets the rows before it exactly as in the
    /// import (the command line's `--dry-run`).
    Check,
    /// Writes nothing, a batch at a time: each batch's transaction is rolled
    /// back, so other writers get the database in between (SQLite has one
    /// writer). A row does not meet what the rows of earlier batches would
    /// have written (a product line they created, an account with the same
    /// name); within a batch it does. The import page's check.
    CheckInBatches,
}

impl Mode {
    /// Does this mode write nothing?
    pub fn is_check(self) -> bool {
        self != Mode::Import
    }
}

/// Told how far an import is: the command line draws a bar, a job keeps count.
pub trait Progress: Sync {
    /// The file has `rows` data rows.
    fn start(&self, _rows: u64) {}
    /// `rows` more rows are done (imported, or refused).
    fn advance(&self, _rows: u64) {}
}

/// No one watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// The lower-case column names of a file's header, checked against the
/// kind's columns; the reader is left at the first data row.
fn header<I: Importer, R: std::io::Read>(reader: &mut csv::Reader<R>) -> ImportResult<Vec<String>> {
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| ImportError::File(format!("the file has no header row: {e}")))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    if let Some(bad) = headers.iter().find(|h| !I::COLUMNS.contains(&h.as_str())) {
        return Err(ImportError::File(format!("unknown column {bad:?}; the columns are {}", I::COLUMNS.join(", "))));
    }
    if !headers.iter().any(|h| h == I::REQUIRED) {
        return Err(ImportError::File(format!("the file needs a {} column", I::REQUIRED)));
    }
    Ok(headers)
}

fn reader(data: &[u8]) -> csv::Reader<&[u8]> {
    // Spreadsheets often save UTF-8 with a byte order mark.
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(data)
}

/// Checks the header row of a file for `kind` without reading further: what
/// the import page says at once, before the job starts.
pub fn check_header(kind: Kind, data: &[u8]) -> ImportResult<()> {
    let mut r = reader(data);
    match kind {
        Kind::Accounts => header::<accounts::Accounts, _>(&mut r).map(drop),
        Kind::Contacts => header::<contacts::Contacts, _>(&mut r).map(drop),
        Kind::Products => header::<products::Products, _>(&mut r).map(drop),
        Kind::Invoices => header::<invoices::Invoices, _>(&mut r).map(drop),
        Kind::Payments => header::<payments::Payments, _>(&mut r).map(drop),
    }
}

/// Imports the CSV `data` with `importer`, writing as `caller`.
pub async fn run<I: Importer>(
    db: &Db,
    data: &[u8],
    mode: Mode,
    caller: &Caller,
    importer: &mut I,
    progress: &dyn Progress,
) -> ImportResult<Report> {
    let mut reader = reader(data);
    let headers = header::<I, _>(&mut reader)?;
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .map_err(|e| ImportError::File(format!("the file is not valid CSV: {e}")))?;
    progress.start(records.len() as u64);
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
                    progress.advance(1);
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
    drop(records);
    let mut seen: HashMap<(&'static str, String), u64> = HashMap::new();
    let mut tx: Option<Tx> = None;
    let mut in_batch = 0;
    for unit in &units {
        progress.advance(unit.len() as u64);
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
        match importer.import_rows(t, caller, unit).await? {
            Ok(outcome) => {
                t.release(sp).await?;
                match outcome {
                    Outcome::Created => report.created += 1,
                    Outcome::Updated => report.updated += 1,
                    Outcome::Unchanged => report.unchanged += 1,
                }
            }
            Err(errs) => {
                t.rollback_to(sp).await?;
                report.errors.extend(errs);
            }
        }
        in_batch += unit.len();
        if mode != Mode::Check && in_batch >= BATCH_ROWS {
            if let Some(t) = tx.take() {
                if mode == Mode::Import { t.commit().await? } else { t.rollback().await? }
            }
            in_batch = 0;
        }
    }
    report.errors.sort_by_key(|e| e.row);
    if let Some(t) = tx {
        if mode == Mode::Import { t.commit().await? } else { t.rollback().await? }
    }
    Ok(report)
}

/// The kinds of record a file can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Accounts,
    Contacts,
    Products,
    Invoices,
    Payments,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Accounts, Kind::Contacts, Kind::Products, Kind::Invoices, Kind::Payments];

    /// The kind's name on the command line and in forms: `accounts`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Accounts => "accounts",
            Kind::Contacts => "contacts",
            Kind::Products => "products",
            Kind::Invoices => "invoices",
            Kind::Payments => "payments",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What one record is called: `account`.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Accounts => accounts::Accounts::NOUN,
            Kind::Contacts => contacts::Contacts::NOUN,
            Kind::Products => products::Products::NOUN,
            Kind::Invoices => invoices::Invoices::NOUN,
            Kind::Payments => payments::Payments::NOUN,
        }
    }

    /// The record type the rows write (importing needs the permission to create it).
    pub fn record_type(self) -> RecordType {
        match self {
            Kind::Accounts => accounts::Accounts::RECORD,
            Kind::Contacts => contacts::Contacts::RECORD,
            Kind::Products => products::Products::RECORD,
            Kind::Invoices => invoices::Invoices::RECORD,
            Kind::Payments => payments::Payments::RECORD,
        }
    }

    /// The columns a file may have.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Accounts => accounts::Accounts::COLUMNS,
            Kind::Contacts => contacts::Contacts::COLUMNS,
            Kind::Products => products::Products::COLUMNS,
            Kind::Invoices => invoices::Invoices::COLUMNS,
            Kind::Payments => payments::Payments::COLUMNS,
        }
    }

    /// The column every file must have.
    pub fn required(self) -> &'static str {
        match self {
            Kind::Accounts => accounts::Accounts::REQUIRED,
            Kind::Contacts => contacts::Contacts::REQUIRED,
            Kind::Products => products::Products::REQUIRED,
            Kind::Invoices => invoices::Invoices::REQUIRED,
            Kind::Payments => payments::Payments::REQUIRED,
        }
    }

    /// May `caller` import this kind: create its records?
    pub fn allowed(self, caller: &Caller) -> bool {
        caller.may_any(self.record_type(), Action::Create)
    }
}

/// How to run an import of some kind.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub mode: Mode,
    /// Accounts: import rows that look like existing accounts.
    pub allow_duplicates: bool,
    /// Accounts: how a likely duplicate's refusal ends, saying how to import
    /// it anyway ("use --allow-duplicates to import it anyway").
    pub duplicates_hint: &'static str,
}

/// What an import did: its report, and the kind's extra counts for the
/// summary (", 2 new product line(s)").
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub report: Report,
    pub extra: String,
}

/// Imports the CSV `data` as records of `kind`, writing as `caller`.
pub async fn import(
    db: &Db,
    kind: Kind,
    data: &[u8],
    options: Options,
    caller: &Caller,
    progress: &dyn Progress,
) -> ImportResult<Summary> {
    let company = {
        let mut tx = db.read().await?;
        let c = nave_store::tenants::currency(&mut tx, caller.tenant_id()).await?;
        tx.commit().await?;
        c
    };
    let mode = options.mode;
    async fn go<I: Importer>(
        db: &Db,
        data: &[u8],
        mode: Mode,
        caller: &Caller,
        mut i: I,
        progress: &dyn Progress,
    ) -> ImportResult<Summary> {
        let report = run(db, data, mode, caller, &mut i, progress).await?;
        Ok(Summary { report, extra: i.extra() })
    }
    match kind {
        Kind::Accounts => {
            let i = accounts::Accounts::new(company, options.allow_duplicates, options.duplicates_hint);
            go(db, data, mode, caller, i, progress).await
        }
        Kind::Contacts => go(db, data, mode, caller, contacts::Contacts::default(), progress).await,
        Kind::Products => {
            let i = products::Products { company, categories_created: 0 };
            go(db, data, mode, caller, i, progress).await
        }
        Kind::Invoices => go(db, data, mode, caller, invoices::Invoices::default(), progress).await,
        Kind::Payments => go(db, data, mode, caller, payments::Payments, progress).await,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use nave_domain::access::{BuiltinRole, Principal};

    use super::accounts::Accounts;
    use super::{Caller, Importer, Kind};
    use crate::csv_export;

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

    #[test]
    fn a_user_imports_the_kinds_their_role_may_create_and_the_system_every_kind() {
        let allowed = |c: &Caller| Kind::ALL.into_iter().filter(|k| k.allowed(c)).map(Kind::as_str).collect::<Vec<_>>();
        assert_eq!(allowed(&Caller::system(1)), ["accounts", "contacts", "products", "invoices", "payments"]);
        assert_eq!(allowed(&Caller::user(&principal(BuiltinRole::SalesRep))), ["accounts", "contacts"]);
        assert_eq!(allowed(&Caller::user(&principal(BuiltinRole::Accounting))), ["invoices", "payments"]);
        assert!(allowed(&Caller::user(&principal(BuiltinRole::ReadOnly))).is_empty());
    }

    #[test]
    fn a_source_system_is_checked_and_kept_in_lower_case() {
        let c = Caller::system(1).with_source("--source", Some("ERP")).unwrap();
        assert_eq!(c.actor.source.as_deref(), Some("erp"));
        assert!(Caller::system(1).with_source("--source", Some("not a system!")).is_err());
        assert_eq!(Caller::system(1).with_source("--source", None).unwrap().actor.source, None);
    }

    #[test]
    fn a_byte_order_mark_and_the_header_are_checked_before_the_rows() {
        assert!(super::check_header(Kind::Accounts, b"\xEF\xBB\xBFname,kinds\nAcme,customer\n").is_ok());
        let e = super::check_header(Kind::Products, b"sku,colour\nX,red\n").unwrap_err();
        assert!(e.to_string().starts_with("unknown column \"colour\""), "{e}");
        let e = super::check_header(Kind::Contacts, b"first_name\nAnn\n").unwrap_err();
        assert_eq!(e.to_string(), "the file needs a account column");
    }
}
