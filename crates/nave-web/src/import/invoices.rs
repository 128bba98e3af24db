//! Invoices with their lines from CSV, in the columns of the invoice export
//! (`nave_web::csv_export::INVOICE_COLUMNS`): one row per line, the invoice's
//! columns repeated on each of its rows, the rows of one invoice together and
//! keyed by `external_id` (`system:id`).
//!
//! An invoice whose external id is unknown is created as a draft through the
//! documents' own create (the one pricing engine prices it); a known draft is
//! updated (its content replaced); a known issued invoice is refused, since
//! issued documents are immutable. A `status` other than `draft` issues the
//! invoice (the next number of the sequence; `number` is never imported),
//! and a `total` cell, when given, must equal the total Nave computes, so an
//! import reproduces the exported totals to the cent or says where it does not.
//! The key `nave:{id}` (what the export writes for an invoice without
//! external ids) finds the invoice with that id here, and becomes the new
//! invoice's id in the `nave` system elsewhere.
//!
//! A user creates invoices at the accounts their role lets them invoice,
//! changes and issues only the drafts they may change, and issues nothing
//! above an account's credit limit (the page offers no override).

use std::collections::HashMap;

use nave_domain::access::{Action, RecordType};
use nave_domain::document::{DocStatus, DocType};
use nave_domain::external_id::{ExternalId, parse_pair};
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_domain::pricing::{LineKind, TaxRounding};
use nave_store::documents::{self, Document, GroupInput, HeaderInput, LineInput, NewDocument};
use nave_store::{StoreError, Tx, billing, catalog, taxes};
use rust_decimal::Decimal;

use super::{Caller, ImportResult, Importer, Outcome, Row, RowError, RowResult, account_of, row_errors};
use crate::csv_export::{INVOICE_COLUMNS, NAVE_SYSTEM, NO_TAX};

/// Imports invoices; counts those it issued.
#[derive(Debug, Default)]
pub struct Invoices {
    /// Taxes by lower-case name (read once).
    taxes: Option<HashMap<String, PublicId>>,
    pub issued: usize,
}

/// The invoice's columns, equal on each of its rows.
const HEADER: [&str; 9] =
    ["account", "date", "currency", "reference", "notes", "status", "prices_include_tax", "tax_rounding", "total"];

/// The invoice named by a key: by external id, or `nave:{id}` by its id here.
pub async fn find(tx: &mut Tx, tenant_id: i64, key: &ExternalId) -> ImportResult<Option<Document>> {
    if let Some(d) = documents::get_by_external_id(tx, tenant_id, DocType::Invoice, key).await? {
        return Ok(Some(d));
    }
    if key.system == NAVE_SYSTEM
        && let Ok(id) = key.id.parse::<PublicId>()
    {
        return Ok(documents::get(tx, tenant_id, DocType::Invoice, id).await?);
    }
    Ok(None)
}

fn decimal(row: &Row, column: &str) -> Result<Option<Decimal>, Vec<RowError>> {
    match row.cell(column) {
        None => Ok(None),
        Some(s) => s.parse::<Decimal>().map(Some).map_err(|_| row.error(column, "must be a number, e.g. 12.50")),
    }
}

/// The CSV column of a store field, and the row of the line it names
/// (`lines` are the rows of the field's group).
fn locate<'a>(field: &str, lines: &[&'a Row], first: &'a Row) -> (&'a Row, String) {
    // `groups[g].lines[l].f` → the line's row; `l` counts within the group.
    let parse = || -> Option<(usize, String)> {
        let rest = field.strip_prefix("groups[")?;
        let (_, rest) = rest.split_once(']')?;
        let rest = rest.strip_prefix(".lines[")?;
        let (l, rest) = rest.split_once(']')?;
        let f = rest.trim_start_matches('.');
        Some((l.parse().ok()?, f.split(['[', '.']).next().unwrap_or("").to_string()))
    };
    let column = |f: &str| match f {
        "product_id" => "sku".to_string(),
        "tax_ids" => "tax".to_string(),
        "" => "description".to_string(),
        f => f.to_string(),
    };
    if let Some((l, f)) = parse() {
        return (lines.get(l).copied().unwrap_or(first), column(&f));
    }
    let root = field.split(['[', '.']).next().unwrap_or(field);
    let col = match root {
        "" => "external_id",
        "account_id" => "account",
        "groups" => "group",
        r => r,
    };
    (first, col.to_string())
}

impl Invoices {
    async fn tax_ids(
        &mut self,
        tx: &mut Tx,
        t: i64,
        row: &Row,
    ) -> ImportResult<Result<Option<Vec<PublicId>>, Vec<RowError>>> {
        let Some(cell) = row.cell("tax") else { return Ok(Ok(None)) };
        if cell.eq_ignore_ascii_case(NO_TAX) {
            return Ok(Ok(Some(vec![])));
        }
        if self.taxes.is_none() {
            let all = taxes::list_taxes(tx, t).await?;
            self.taxes = Some(all.into_iter().map(|x| (x.name.to_lowercase(), x.id)).collect());
        }
        let known = self.taxes.as_ref().expect("loaded");
        let mut ids = Vec::new();
        for name in super::list(Some(cell)) {
            match known.get(&name.to_lowercase()) {
                Some(id) => ids.push(*id),
                None => return Ok(Err(row.error("tax", format!("there is no tax named {name}")))),
            }
        }
        Ok(Ok(Some(ids)))
    }

    /// One line of a row, or `None` for a row without line cells.
    async fn line(&mut self, tx: &mut Tx, t: i64, row: &Row) -> ImportResult<Result<Option<LineInput>, Vec<RowError>>> {
        let line_cells =
            ["kind", "sku", "description", "quantity", "unit_price", "discount_percent", "discount_amount"];
        if line_cells.iter().all(|c| row.cell(c).is_none()) {
            return Ok(Ok(None));
        }
        let kind = match row.cell("kind") {
            None => None,
            Some(k) => match serde_json::from_value::<LineKind>(serde_json::Value::String(k.to_ascii_lowercase())) {
                Ok(k) => Some(k),
                Err(_) => return Ok(Err(row.error("kind", "must be product, text, comment or shipping"))),
            },
        };
        let product_id = match row.cell("sku") {
            None => None,
            Some(sku) => match catalog::get_product_by_sku(tx, t, sku).await? {
                Some(p) => Some(p.id),
                None => return Ok(Err(row.error("sku", format!("there is no product with the SKU {sku}")))),
            },
        };
        let mut numbers = Vec::new();
        for c in ["quantity", "unit_price", "discount_percent", "discount_amount"] {
            match decimal(row, c) {
                Ok(v) => numbers.push(v),
                Err(e) => return Ok(Err(e)),
            }
        }
        let tax_ids = match self.tax_ids(tx, t, row).await? {
            Ok(ids) => ids,
            Err(e) => return Ok(Err(e)),
        };
        Ok(Ok(Some(LineInput {
            kind,
            product_id,
            description: row.cell("description").map(str::to_string),
            quantity: numbers[0],
            unit_price: numbers[1],
            discount_percent: numbers[2],
            discount_amount: numbers[3],
            tax_ids: if kind == Some(LineKind::Comment) { None } else { tax_ids },
            ..Default::default()
        })))
    }
}

impl Importer for Invoices {
    const NOUN: &'static str = "invoice";
    const RECORD: RecordType = RecordType::Invoice;
    const COLUMNS: &'static [&'static str] = &INVOICE_COLUMNS;
    const REQUIRED: &'static str = "external_id";

    fn keys(&self, _row: &Row) -> Vec<(&'static str, String, String)> {
        // The rows of an invoice share its key: `group` holds them together.
        vec![]
    }

    fn group(&self, row: &Row) -> Option<String> {
        row.cell("external_id").map(str::to_lowercase)
    }

    async fn import(&mut self, tx: &mut Tx, caller: &Caller, row: &Row) -> ImportResult<RowResult> {
        self.import_rows(tx, caller, std::slice::from_ref(row)).await
    }

    async fn import_rows(&mut self, tx: &mut Tx, caller: &Caller, rows: &[Row]) -> ImportResult<RowResult> {
        let (t, actor) = (caller.tenant_id(), &caller.actor);
        let first = &rows[0];
        let Some(key_cell) = first.cell("external_id") else { return Ok(first.refuse("external_id", "is required")) };
        let Some(key) = parse_pair(key_cell).filter(|e| !e.system.is_empty() && !e.id.is_empty()) else {
            return Ok(first.refuse("external_id", "must be system:id, e.g. acct:INV-1001"));
        };
        let key = ExternalId::new(key.system.to_lowercase(), key.id);
        for r in &rows[1..] {
            for c in HEADER {
                if r.cell(c).is_some() && r.cell(c) != first.cell(c) {
                    return Ok(r.refuse(c, format!("differs from row {} of the same invoice", first.line)));
                }
            }
        }
        let existing = find(tx, t, &key).await?;
        if let Some(d) = &existing
            && !caller.may(RecordType::Invoice, Action::Update, d.ownership)
        {
            return Ok(first.refuse("external_id", "names an invoice your role may not change"));
        }
        if let Some(d) = &existing
            && d.status != DocStatus::Draft
        {
            return Ok(first.refuse(
                "external_id",
                format!(
                    "invoice {} is {}: issued invoices cannot change (correct it with a credit note)",
                    d.number.as_deref().unwrap_or(key_cell),
                    d.status
                ),
            ));
        }
        let status = match first.cell("status").map(str::to_ascii_lowercase) {
            None => DocStatus::Draft,
            Some(s) => match s.parse::<DocStatus>() {
                Ok(DocStatus::Void) => return Ok(first.refuse("status", "void invoices are not imported")),
                Ok(s @ (DocStatus::Draft | DocStatus::Issued | DocStatus::PartPaid | DocStatus::Paid)) => s,
                _ => return Ok(first.refuse("status", "must be draft, issued, part_paid or paid")),
            },
        };
        let permission = match &existing {
            Some(_) => (RecordType::Invoice, Action::Update, "change invoices of"),
            None => (RecordType::Invoice, Action::Create, "invoice"),
        };
        let account_id = match (first.cell("account"), &existing) {
            (Some(cell), _) => match account_of(tx, caller, first, cell, permission).await? {
                Ok(a) => Some(a.id),
                Err(e) => return Ok(Err(e)),
            },
            (None, Some(_)) => None,
            (None, None) => return Ok(first.refuse("account", "is required for a new invoice")),
        };
        if let (Some(a), Some(d)) = (account_id, &existing)
            && a != d.account_id
        {
            return Ok(first.refuse("account", "cannot change: make a new invoice for the other account"));
        }
        let date = match first.cell("date") {
            None => None,
            Some(d) => match nave_domain::dates::parse(d) {
                Some(d) => Some(d),
                None => return Ok(first.refuse("date", "must be a date written YYYY-MM-DD")),
            },
        };
        let currency = match first.cell("currency") {
            None => None,
            Some(c) => match Currency::parse(&c.to_ascii_uppercase()) {
                Ok(c) => Some(c),
                Err(e) => return Ok(first.refuse("currency", e.to_string())),
            },
        };
        let prices_include_tax = match first.flag("prices_include_tax") {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let tax_rounding = match first.cell("tax_rounding").map(str::to_ascii_lowercase).as_deref() {
            None => None,
            Some("document") => Some(TaxRounding::Document),
            Some("line") => Some(TaxRounding::Line),
            Some(_) => return Ok(first.refuse("tax_rounding", "must be document or line")),
        };
        let total = match decimal(first, "total") {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        // Lines into groups, by the `group` cell of consecutive rows.
        let mut groups: Vec<GroupInput> = Vec::new();
        let mut group_rows: Vec<Vec<&Row>> = Vec::new();
        for r in rows {
            let name = r.cell("group").unwrap_or("").to_string();
            let discount = match decimal(r, "group_discount_percent") {
                Ok(v) => v.filter(|d| !d.is_zero()),
                Err(e) => return Ok(Err(e)),
            };
            let Some(line) = (match self.line(tx, t, r).await? {
                Ok(l) => l,
                Err(e) => return Ok(Err(e)),
            }) else {
                continue;
            };
            match groups.last_mut() {
                Some(g) if g.name == name => {
                    g.lines.push(line);
                    group_rows.last_mut().expect("rows of the group").push(r);
                }
                _ => {
                    groups.push(GroupInput {
                        name,
                        discount_percent: discount,
                        lines: vec![line],
                        ..Default::default()
                    });
                    group_rows.push(vec![r]);
                }
            }
        }
        let header = HeaderInput {
            currency,
            date,
            prices_include_tax,
            tax_rounding,
            reference: first.cell("reference").map(|s| Some(s.to_string())),
            notes: first.cell("notes").map(str::to_string),
            external_ids: match &existing {
                Some(d) if d.external_ids.iter().any(|e| e.system == key.system) => None,
                Some(d) => Some(d.external_ids.iter().cloned().chain([key.clone()]).collect()),
                None => Some(vec![key.clone()]),
            },
            ..Default::default()
        };
        let refused = |e: StoreError| -> ImportResult<Vec<RowError>> {
            let errs = row_errors(first, e, |f| f.to_string())?;
            Ok(errs
                .into_iter()
                .map(|mut err| {
                    let (line_of, col) = locate_in(&err.column, &group_rows, first);
                    err.row = line_of.line;
                    err.column = col;
                    err
                })
                .collect())
        };
        let written = match &existing {
            Some(before) => documents::update(tx, actor, before, None, header, Some(groups)).await,
            None => {
                let new = NewDocument {
                    doc_type: DocType::Invoice,
                    account_id: account_id.expect("a new invoice has its account"),
                    header,
                    groups,
                    origin_key: None,
                };
                documents::create(tx, actor, new).await
            }
        };
        let doc = match written {
            Ok(d) => d,
            Err(e) => return Ok(Err(refused(e)?)),
        };
        if let Some(want) = total {
            let got = doc.totals.total.parse::<Decimal>().unwrap_or_default();
            if got != want {
                return Ok(first.refuse("total", format!("is {want} but the lines come to {got}")));
            }
        }
        if status != DocStatus::Draft && !caller.may(RecordType::Invoice, Action::Update, doc.ownership) {
            return Ok(first.refuse("status", "your role may not issue invoices"));
        }
        if status != DocStatus::Draft {
            match billing::issue(tx, actor, &doc, None, None).await {
                Ok(_) => self.issued += 1,
                Err(e) => return Ok(Err(row_errors(first, e, |_| "status".to_string())?)),
            }
        }
        Ok(Ok(match &existing {
            Some(before) if status == DocStatus::Draft && same_content(before, &doc) => Outcome::Unchanged,
            Some(_) => Outcome::Updated,
            None => Outcome::Created,
        }))
    }

    fn extra(&self) -> String {
        format!(", {} issued", self.issued)
    }
}

/// Has an update left a draft as it was? Its content is written anew, so
/// the ids of its groups and lines are new; the rest must be equal.
fn same_content(before: &Document, after: &Document) -> bool {
    let content = |d: &Document| {
        let mut v = serde_json::to_value(d).ok()?;
        for g in v.get_mut("groups")?.as_array_mut()? {
            let g = g.as_object_mut()?;
            g.remove("id");
            for l in g.get_mut("lines")?.as_array_mut()? {
                l.as_object_mut()?.remove("id");
            }
        }
        Some(v)
    };
    match (content(before), content(after)) {
        (Some(b), Some(a)) => nave_store::audit::diff(Some(&b), Some(&a)).is_empty(),
        _ => false,
    }
}

/// [`locate`] over the rows of each group.
fn locate_in<'a>(field: &str, group_rows: &[Vec<&'a Row>], first: &'a Row) -> (&'a Row, String) {
    let g = field.strip_prefix("groups[").and_then(|r| r.split_once(']')).and_then(|(g, _)| g.parse::<usize>().ok());
    match g.and_then(|g| group_rows.get(g)) {
        Some(rows) => locate(field, rows, first),
        None => locate(field, &[], first),
    }
}
