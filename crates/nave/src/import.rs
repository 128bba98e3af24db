//! `nave import KIND FILE.csv [--dry-run]`: CSV import with a progress bar,
//! a per-row error report, and a dry run that writes nothing.
//!
//! Products are matched by SKU (case-insensitive): a known SKU updates the
//! product (empty cells keep its values), a new one creates it. Good rows are
//! imported and bad ones reported (row, column, reason); a SKU twice in one
//! file is refused on its second row. A dry run checks everything inside one
//! transaction and rolls it back.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use nave_domain::DomainError;
use nave_domain::catalog::ProductKind;
use nave_domain::external_id::{ExternalId, parse_pair};
use nave_domain::money::Currency;
use nave_store::audit::Actor;
use nave_store::catalog::{self, ProductInput};
use nave_store::tenants::DEFAULT_TENANT;
use nave_store::{Db, StoreError, Tx, taxes, tenants};

/// The columns a product file may have; `sku` and `name` are required.
pub const PRODUCT_COLUMNS: &[&str] = &[
    "sku",
    "name",
    "description",
    "kind",
    "unit",
    "category",
    "currency",
    "list_price",
    "cost",
    "tax_category",
    "weight_kg",
    "barcode",
    "notes",
    "active",
    "external_ids",
];

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
    pub categories_created: usize,
    pub errors: Vec<RowError>,
}

fn cell<'a>(row: &'a HashMap<String, String>, col: &str) -> Option<&'a str> {
    row.get(col).map(String::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "y" => Some(true),
        "false" | "no" | "0" | "n" => Some(false),
        _ => None,
    }
}

/// Reads `system:id; system:id`, the form the CSV export writes.
pub fn parse_external_ids(list: &str) -> Option<Vec<ExternalId>> {
    list.split(';').map(str::trim).filter(|p| !p.is_empty()).map(parse_pair).collect()
}

/// Turns a store refusal into row errors, naming the CSV column.
fn row_errors(row: u64, e: StoreError) -> anyhow::Result<Vec<RowError>> {
    let column = |field: &str| match field {
        "category_id" => "category".to_string(),
        "tax_category_id" => "tax_category".to_string(),
        f => f.split(['[', '.']).next().unwrap_or(f).to_string(),
    };
    match e {
        StoreError::Domain(DomainError::Validation(errs)) => {
            Ok(errs.into_iter().map(|f| RowError { row, column: column(&f.field), reason: f.message }).collect())
        }
        StoreError::Domain(other) => Ok(vec![RowError { row, column: "sku".into(), reason: other.to_string() }]),
        other => Err(other.into()),
    }
}

async fn product_row(
    tx: &mut Tx,
    actor: &Actor,
    company: Currency,
    row: &HashMap<String, String>,
    line: u64,
    report: &mut Report,
) -> anyhow::Result<Result<(), Vec<RowError>>> {
    let err = |column: &str, reason: &str| {
        Ok(Err(vec![RowError { row: line, column: column.into(), reason: reason.into() }]))
    };
    let Some(sku) = cell(row, "sku") else { return err("sku", "is required") };
    let mut new_category = false;
    let existing = catalog::get_product_by_sku(tx, actor.tenant_id, sku).await?;
    let kind = match cell(row, "kind") {
        Some(k) => match ProductKind::parse(&k.to_ascii_lowercase()) {
            Some(k) => k,
            None => return err("kind", "must be goods, service or kit"),
        },
        None => existing.as_ref().map_or(ProductKind::Goods, |p| p.kind),
    };
    if kind == ProductKind::Kit && existing.as_ref().is_none_or(|p| p.kind != ProductKind::Kit) {
        return err("kind", "kits need their components; create them through the API or the page");
    }
    let currency = match cell(row, "currency") {
        Some(c) => match Currency::parse(&c.to_ascii_uppercase()) {
            Ok(c) => c,
            Err(e) => return err("currency", &e.to_string()),
        },
        None => existing.as_ref().map_or(company, |p| p.currency),
    };
    let active = match cell(row, "active") {
        Some(a) => match parse_bool(a) {
            Some(b) => b,
            None => return err("active", "must be yes or no"),
        },
        None => existing.as_ref().is_none_or(|p| p.active),
    };
    let category_id = match cell(row, "category") {
        Some(name) => match catalog::get_category_by_name(tx, actor.tenant_id, name).await? {
            Some(c) => Some(c.id),
            None => match catalog::create_category(tx, actor, name, None).await {
                Ok(c) => {
                    new_category = true;
                    Some(c.id)
                }
                Err(e) => {
                    return Ok(Err(row_errors(line, e)?
                        .into_iter()
                        .map(|e| RowError { column: "category".into(), ..e })
                        .collect()));
                }
            },
        },
        None => existing.as_ref().and_then(|p| p.category_id),
    };
    let tax_category_id = match cell(row, "tax_category") {
        Some(name) => match taxes::get_category_by_name(tx, actor.tenant_id, name).await? {
            Some(c) => Some(c.id),
            None => return err("tax_category", &format!("there is no tax category named {name}")),
        },
        None => existing.as_ref().and_then(|p| p.tax_category_id),
    };
    let text = |col: &str, old: Option<&String>, default: &str| {
        cell(row, col).map(str::to_string).or_else(|| old.cloned()).unwrap_or_else(|| default.to_string())
    };
    let e = existing.as_ref();
    let input = ProductInput {
        sku: sku.to_string(),
        name: match cell(row, "name").map(str::to_string).or_else(|| e.map(|p| p.name.clone())) {
            Some(n) => n,
            None => return err("name", "is required"),
        },
        description: text("description", e.map(|p| &p.description), ""),
        kind,
        unit: text("unit", e.map(|p| &p.unit), "pc"),
        category_id,
        currency,
        list_price: text("list_price", e.map(|p| &p.list_price), "0"),
        cost: text("cost", e.map(|p| &p.cost), "0"),
        tax_category_id,
        weight_kg: cell(row, "weight_kg").map(str::to_string).or_else(|| e.and_then(|p| p.weight_kg.clone())),
        barcode: cell(row, "barcode").map(str::to_string).or_else(|| e.and_then(|p| p.barcode.clone())),
        notes: text("notes", e.map(|p| &p.notes), ""),
        active,
        components: None,
        suppliers: None,
        external_ids: match cell(row, "external_ids") {
            Some(list) => match parse_external_ids(list) {
                Some(ids) => Some(ids),
                None => return err("external_ids", "must be system:id pairs separated by ;"),
            },
            None => None,
        },
    };
    let r = match &existing {
        Some(before) => catalog::update_product(tx, actor, before, None, input).await.map(|_| false),
        None => catalog::create_product(tx, actor, input).await.map(|_| true),
    };
    match r {
        Ok(true) => report.created += 1,
        Ok(false) => report.updated += 1,
        Err(e) => return Ok(Err(row_errors(line, e)?)),
    }
    report.categories_created += usize::from(new_category);
    Ok(Ok(()))
}

/// Imports products from a CSV file.
pub async fn products(db: &Db, file: &Path, dry_run: bool) -> anyhow::Result<Report> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_path(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let headers: Vec<String> =
        reader.headers().context("the file has no header row")?.iter().map(|h| h.to_ascii_lowercase()).collect();
    if let Some(bad) = headers.iter().find(|h| !PRODUCT_COLUMNS.contains(&h.as_str())) {
        anyhow::bail!("unknown column {bad:?}; the columns are {}", PRODUCT_COLUMNS.join(", "));
    }
    anyhow::ensure!(headers.iter().any(|h| h == "sku"), "the file needs a sku column");
    let records: Vec<csv::StringRecord> =
        reader.records().collect::<Result<_, _>>().context("the file is not valid CSV")?;
    let actor = Actor::system(DEFAULT_TENANT);
    let bar = ProgressBar::new(records.len() as u64);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} rows {msg}").expect("valid template"));
    let mut report = Report::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    // A dry run checks every row in one transaction that is rolled back; a
    // real import commits each good row on its own.
    let mut dry_tx = if dry_run { Some(db.write().await?) } else { None };
    let company = {
        let mut tx = db.read().await?;
        tenants::currency(&mut tx, DEFAULT_TENANT).await?
    };
    for (i, rec) in records.iter().enumerate() {
        bar.inc(1);
        let line = rec.position().map_or(i as u64 + 2, |p| p.line());
        let row: HashMap<String, String> = headers.iter().cloned().zip(rec.iter().map(str::to_string)).collect();
        if let Some(sku) = cell(&row, "sku")
            && let Some(first) = seen.insert(sku.to_lowercase(), line)
        {
            report.errors.push(RowError {
                row: line,
                column: "sku".into(),
                reason: format!("{sku} is also on row {first}"),
            });
            continue;
        }
        let outcome = match dry_tx.as_mut() {
            Some(tx) => product_row(tx, &actor, company, &row, line, &mut report).await?,
            None => {
                let mut tx = db.write().await?;
                let o = product_row(&mut tx, &actor, company, &row, line, &mut report).await?;
                if o.is_ok() {
                    tx.commit().await?
                } else {
                    tx.rollback().await?
                }
                o
            }
        };
        if let Err(errs) = outcome {
            report.errors.extend(errs);
        }
    }
    bar.finish_and_clear();
    if let Some(tx) = dry_tx {
        tx.rollback().await?;
    }
    Ok(report)
}
