//! CSV exports of list pages, in the columns `nave import` reads, so an
//! export can be edited and imported again. A field the caller may not see is
//! left out as a column, never blanked (field security), and only records the
//! caller may read are in the list (record scope).

use std::collections::HashMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nave_domain::access::{Principal, RecordType};
use nave_domain::address::PostalAddress;
use nave_domain::document::DocType;
use nave_domain::external_id::ExternalId;
use nave_store::accounts::{self, Account};
use nave_store::contacts::{self, Contact};
use nave_store::documents::Document;
use nave_store::{Tx, payment_terms, users};

use crate::error::{ApiError, ApiResult};

/// A CSV file an export wrote: answered at once, or kept by a job
/// (`jobs`) until its user downloads it.
#[derive(Debug, Clone)]
pub struct CsvFile {
    pub filename: &'static str,
    pub bytes: Vec<u8>,
    /// The data rows (without the header).
    pub rows: usize,
}

impl CsvFile {
    /// Writes the header and the rows.
    pub fn write(filename: &'static str, header: &[&str], rows: &[Vec<String>]) -> ApiResult<CsvFile> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let internal = |e: csv::Error| ApiError::internal(&e);
        w.write_record(header).map_err(internal)?;
        for row in rows {
            w.write_record(row).map_err(internal)?;
        }
        let bytes = w.into_inner().map_err(|e| ApiError::internal(&e))?;
        Ok(CsvFile { filename, bytes, rows: rows.len() })
    }
}

impl IntoResponse for CsvFile {
    fn into_response(self) -> Response {
        attachment(self.filename, self.bytes)
    }
}

/// A CSV download: `text/csv`, saved as `filename` (a name of ours, plain ASCII).
pub fn attachment(filename: &str, body: impl Into<axum::body::Body>) -> Response {
    let mut r = (StatusCode::OK, body.into()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// A CSV file as the response to a list request.
pub fn response(filename: &'static str, header: &[&str], rows: &[Vec<String>]) -> ApiResult<Response> {
    Ok(CsvFile::write(filename, header, rows)?.into_response())
}

/// `system:id; system:id`, the form the importers read.
pub fn external_ids(ids: &[ExternalId]) -> String {
    ids.iter().map(ExternalId::to_string).collect::<Vec<_>>().join("; ")
}

/// `yes` or `no`.
pub fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// The cells of the address columns (`nave_store::addresses::ADDRESS_COLUMNS`) for an address (empty without one).
pub fn address_cells(a: Option<&PostalAddress>) -> Vec<String> {
    match a {
        Some(a) => vec![
            a.label.clone(),
            a.line1.clone(),
            a.line2.clone().unwrap_or_default(),
            a.city.clone(),
            a.region.clone().unwrap_or_default(),
            a.postal_code.clone().unwrap_or_default(),
            a.country.clone(),
        ],
        None => vec![String::new(); nave_store::addresses::ADDRESS_COLUMNS.len()],
    }
}

/// What exports write instead of keys: users' e-mails and payment terms' names.
#[derive(Debug, Default)]
pub struct Names {
    users: HashMap<i64, String>,
    terms: HashMap<i64, String>,
}

impl Names {
    pub async fn load(tx: &mut Tx, tenant_id: i64) -> ApiResult<Self> {
        let users = users::list(tx, tenant_id).await?.into_iter().map(|u| (u.key, u.email)).collect();
        let terms = payment_terms::list(tx, tenant_id, true).await?.into_iter().map(|t| (t.key, t.name)).collect();
        Ok(Names { users, terms })
    }

    /// The e-mail of the user `key`, or "".
    pub fn user(&self, key: Option<i64>) -> String {
        key.and_then(|k| self.users.get(&k).cloned()).unwrap_or_default()
    }
}

/// The columns of the account export for `p` (`credit_limit` only when `p` may see it).
pub fn account_columns(p: &Principal) -> Vec<&'static str> {
    let shows_limit = p.sees_field(RecordType::Account, "credit_limit");
    accounts::CSV_COLUMNS.into_iter().filter(|c| *c != "credit_limit" || shows_limit).collect()
}

/// A page of accounts as CSV. The address columns hold the default billing address.
pub fn accounts(p: &Principal, items: &[Account], names: &Names) -> ApiResult<CsvFile> {
    let header = account_columns(p);
    let shows_limit = header.contains(&"credit_limit");
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|a| {
            let mut row = vec![
                a.name.clone(),
                a.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join("; "),
                a.currency.code().to_string(),
            ];
            if shows_limit {
                row.push(a.credit_limit.clone().unwrap_or_default());
            }
            row.extend([
                a.payment_terms_key.and_then(|k| names.terms.get(&k).cloned()).unwrap_or_default(),
                a.tax_id.clone().unwrap_or_default(),
                a.tax_treatment.as_str().to_string(),
                a.industry.clone().unwrap_or_default(),
                a.website.clone().unwrap_or_default(),
                a.phone.clone().unwrap_or_default(),
                names.user(a.ownership.owner_id),
                a.tags.join("; "),
                a.notes.clone(),
                yes_no(a.archived),
            ]);
            let billing = a.addresses.iter().find(|x| x.is_default_billing).or(a.addresses.first());
            row.extend(address_cells(billing.map(|x| x.postal()).as_ref()));
            row.push(external_ids(&a.external_ids));
            row
        })
        .collect();
    CsvFile::write("accounts.csv", &header, &rows)
}

/// A page of contacts as CSV. `account_refs` says how each account is named
/// in the `account` column (its first external id, else its name).
pub fn contacts(items: &[Contact], account_refs: &HashMap<i64, String>, names: &Names) -> ApiResult<CsvFile> {
    let header = contacts::CSV_COLUMNS;
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|c| {
            let phones = c
                .phones
                .iter()
                .map(|p| if p.label.is_empty() { p.number.clone() } else { format!("{}: {}", p.label, p.number) })
                .collect::<Vec<_>>()
                .join("; ");
            let mut row = vec![
                account_refs.get(&c.account_key).cloned().unwrap_or_default(),
                c.first_name.clone(),
                c.last_name.clone(),
                c.title.clone().unwrap_or_default(),
                c.emails.join("; "),
                phones,
            ];
            row.extend(address_cells(c.address.as_ref()));
            row.extend([
                yes_no(c.is_primary),
                yes_no(c.marketing_consent),
                c.consent_at
                    .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                    .unwrap_or_default(),
                c.consent_source.clone().unwrap_or_default(),
                names.user(c.owner_key),
                yes_no(c.archived),
                external_ids(&c.external_ids),
            ]);
            row
        })
        .collect();
    CsvFile::write("contacts.csv", &header, &rows)
}

/// How each account is named in an export's `account` column: its first
/// external id (`system:id`), else its name. `accounts` are (key, name) pairs.
pub async fn account_refs(tx: &mut Tx, tenant_id: i64, accounts: &[(i64, String)]) -> ApiResult<HashMap<i64, String>> {
    let mut keys: Vec<i64> = accounts.iter().map(|(k, _)| *k).collect();
    keys.sort_unstable();
    keys.dedup();
    let ext = nave_store::external_ids::load(tx, nave_store::external_ids::ACCOUNTS, tenant_id, &keys).await?;
    let mut out = HashMap::new();
    for (key, name) in accounts {
        let r = ext.iter().find(|(k, _)| k == key).map(|(_, e)| e.to_string());
        out.entry(*key).or_insert_with(|| r.unwrap_or_else(|| name.clone()));
    }
    Ok(out)
}

/// The key of a document or payment in an export: its first external id, or
/// `nave:{id}` — its id in this Nave, which an import here matches by id
/// and an import elsewhere keeps as the record's id in the `nave` system.
pub fn record_key(ids: &[ExternalId], id: nave_domain::ids::PublicId) -> String {
    ids.first().map_or_else(|| format!("{}:{id}", NAVE_SYSTEM), ExternalId::to_string)
}

/// The system name of records' ids in a Nave export without external ids.
pub const NAVE_SYSTEM: &str = "nave";

/// The columns of the invoice export and import: one row per line, the
/// invoice's columns repeated on each of its rows, grouped by `external_id`.
/// `number` and `total` are written for people and checks: an import never
/// sets a number (issuing takes the next one) and refuses an invoice whose
/// computed total differs from a given `total`.
pub const INVOICE_COLUMNS: [&str; 21] = [
    "external_id",
    "number",
    "account",
    "date",
    "currency",
    "reference",
    "notes",
    "status",
    "prices_include_tax",
    "tax_rounding",
    "group",
    "group_discount_percent",
    "kind",
    "sku",
    "description",
    "quantity",
    "unit_price",
    "discount_percent",
    "discount_amount",
    "tax",
    "total",
];

/// The `tax` cell of a line without any tax (an empty cell means the product's taxes).
pub const NO_TAX: &str = "none";

/// Invoices (with their content) as CSV, one row per line.
pub fn invoices(items: &[nave_store::documents::Document], account_refs: &HashMap<i64, String>) -> ApiResult<CsvFile> {
    let mut rows = Vec::new();
    for d in items {
        let head = |group: &nave_store::documents::Group| -> Vec<String> {
            vec![
                record_key(&d.external_ids, d.id),
                d.number.clone().unwrap_or_default(),
                account_refs.get(&d.account_key).cloned().unwrap_or_else(|| d.account_name.clone()),
                nave_domain::dates::format(d.date),
                d.currency.code().to_string(),
                d.reference.clone().unwrap_or_default(),
                d.notes.clone(),
                d.status.to_string(),
                yes_no(d.prices_include_tax),
                match d.tax_rounding {
                    nave_domain::pricing::TaxRounding::Line => "line",
                    nave_domain::pricing::TaxRounding::Document => "document",
                }
                .to_string(),
                group.name.clone(),
                group.discount_percent.clone(),
            ]
        };
        let mut any = false;
        for g in &d.groups {
            for l in &g.lines {
                any = true;
                let mut row = head(g);
                let kind = serde_json::to_value(l.kind).ok().and_then(|v| v.as_str().map(str::to_string));
                let tax = if l.kind == nave_domain::pricing::LineKind::Comment {
                    String::new()
                } else if l.taxes.is_empty() {
                    NO_TAX.to_string()
                } else {
                    l.taxes.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join("; ")
                };
                row.extend([
                    kind.unwrap_or_default(),
                    l.sku.clone().unwrap_or_default(),
                    l.description.clone(),
                    l.quantity.clone(),
                    l.unit_price.clone(),
                    l.discount_percent.clone(),
                    l.discount_amount.clone(),
                    tax,
                    d.totals.total.clone(),
                ]);
                rows.push(row);
            }
        }
        if !any {
            let empty = nave_store::documents::Group {
                key: 0,
                id: d.id,
                name: String::new(),
                discount_percent: "0".into(),
                show_subtotal: false,
                net: String::new(),
                lines: vec![],
            };
            let mut row = head(&empty);
            row.extend(std::iter::repeat_n(String::new(), 8));
            row.push(d.totals.total.clone());
            rows.push(row);
        }
    }
    CsvFile::write("invoices.csv", &INVOICE_COLUMNS, &rows)
}

/// The columns of the payment export and import. `invoice` lists the
/// invoices the payment settles (each by its key, as in the invoice export,
/// or its number) and `allocated` the amounts, in the same order, `;`-separated.
pub const PAYMENT_COLUMNS: [&str; 11] = [
    "external_id",
    "account",
    "date",
    "amount",
    "currency",
    "method",
    "reference",
    "notes",
    "invoice",
    "allocated",
    "unallocated",
];

/// Payments (with their allocations) as CSV. `invoice_refs` names each
/// allocated invoice by its key in the invoice export (else its number).
pub fn payments(
    items: &[nave_store::payments::Payment],
    account_refs: &HashMap<i64, String>,
    invoice_refs: &HashMap<nave_domain::ids::PublicId, String>,
) -> ApiResult<CsvFile> {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|p| {
            let invoices = p
                .allocations
                .iter()
                .map(|a| {
                    invoice_refs
                        .get(&a.invoice_id)
                        .cloned()
                        .unwrap_or_else(|| a.invoice_number.clone().unwrap_or_else(|| a.invoice_id.to_string()))
                })
                .collect::<Vec<_>>()
                .join("; ");
            let amounts = p.allocations.iter().map(|a| a.amount.as_str()).collect::<Vec<_>>().join("; ");
            vec![
                record_key(&p.external_ids, p.id),
                account_refs.get(&p.account_key).cloned().unwrap_or_else(|| p.account_name.clone()),
                nave_domain::dates::format(p.date),
                p.amount.clone(),
                p.currency.code().to_string(),
                p.method.clone(),
                p.reference.clone().unwrap_or_default(),
                p.notes.clone(),
                invoices,
                amounts,
                p.unallocated.clone(),
            ]
        })
        .collect();
    CsvFile::write("payments.csv", &PAYMENT_COLUMNS, &rows)
}

/// The columns of a list that has no importer, less those `p` may not see
/// of `rt`; each row holds its cells in `columns`' order.
fn visible_columns(
    p: &Principal,
    rt: RecordType,
    filename: &'static str,
    columns: &[&'static str],
    rows: Vec<Vec<String>>,
) -> ApiResult<CsvFile> {
    let shown: Vec<bool> = columns.iter().map(|c| p.sees_field(rt, c)).collect();
    let header: Vec<&str> = columns.iter().zip(&shown).filter(|(_, s)| **s).map(|(c, _)| *c).collect();
    let rows: Vec<Vec<String>> =
        rows.into_iter().map(|r| r.into_iter().zip(&shown).filter(|(_, s)| **s).map(|(v, _)| v).collect()).collect();
    CsvFile::write(filename, &header, &rows)
}

/// A time as the exports write it: RFC 3339, UTC.
fn instant(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// The columns of a document list's export, for every type but invoices
/// (whose export holds their lines, in the columns `nave import invoices`
/// reads); amounts are plain decimals in `currency`, `balance` is empty for
/// the types that are not paid or applied (quotes, orders, receipts).
pub const DOCUMENT_COLUMNS: [&str; 11] = [
    "id",
    "number",
    "account",
    "date",
    "due_date",
    "status",
    "reference",
    "currency",
    "total",
    "balance",
    "created_at",
];

/// The documents of one type's list as CSV, the fields `p` may not see left out as columns.
pub fn documents(p: &Principal, t: DocType, items: &[Document]) -> ApiResult<CsvFile> {
    let rows = items
        .iter()
        .map(|d| {
            vec![
                d.id.to_string(),
                d.number.clone().unwrap_or_default(),
                d.account_name.clone(),
                nave_domain::dates::format(d.date),
                d.due_date.map(nave_domain::dates::format).unwrap_or_default(),
                d.status.as_str().to_string(),
                d.reference.clone().unwrap_or_default(),
                d.currency.code().to_string(),
                d.totals.total.clone(),
                if t.has_balance() { d.balance.clone() } else { String::new() },
                instant(d.created_at),
            ]
        })
        .collect();
    let filename = match t {
        DocType::Quote => "quotes.csv",
        DocType::SalesOrder => "sales-orders.csv",
        DocType::Invoice => "invoices.csv",
        DocType::CreditNote => "credit-notes.csv",
        DocType::PurchaseOrder => "purchase-orders.csv",
        DocType::Receipt => "receipts.csv",
        DocType::Bill => "bills.csv",
        DocType::BillCredit => "bill-credits.csv",
    };
    visible_columns(p, t.record_type(), filename, &DOCUMENT_COLUMNS, rows)
}

/// The columns of the lead export (the leads list's "Export CSV"); the owner is named by e-mail.
pub const LEAD_COLUMNS: [&str; 15] = [
    "id",
    "company",
    "first_name",
    "last_name",
    "title",
    "email",
    "phone",
    "website",
    "source",
    "status",
    "estimated_amount",
    "currency",
    "owner",
    "converted_at",
    "created_at",
];

/// Leads as CSV, the fields `p` may not see left out as columns.
pub fn leads(p: &Principal, items: &[nave_store::leads::Lead], names: &Names) -> ApiResult<CsvFile> {
    let rows = items
        .iter()
        .map(|l| {
            vec![
                l.id.to_string(),
                l.company.clone(),
                l.first_name.clone(),
                l.last_name.clone(),
                l.title.clone(),
                l.email.clone().unwrap_or_default(),
                l.phone.clone().unwrap_or_default(),
                l.website.clone().unwrap_or_default(),
                l.source.clone(),
                l.status.as_str().to_string(),
                l.estimated_amount.clone().unwrap_or_default(),
                l.currency.code().to_string(),
                names.user(l.ownership.owner_id),
                l.converted_at.map(instant).unwrap_or_default(),
                instant(l.created_at),
            ]
        })
        .collect();
    visible_columns(p, RecordType::Lead, "leads.csv", &LEAD_COLUMNS, rows)
}

/// The columns of the case export (the cases list's "Export CSV"); users are named by e-mail.
pub const CASE_COLUMNS: [&str; 14] = [
    "id",
    "subject",
    "account",
    "kind",
    "priority",
    "status",
    "assignee",
    "product",
    "created_at",
    "first_response_seconds",
    "resolved_at",
    "resolution_seconds",
    "closed_at",
    "satisfaction",
];

/// Cases as CSV, the fields `p` may not see left out as columns.
pub fn cases(p: &Principal, items: &[nave_store::cases::Case], names: &Names) -> ApiResult<CsvFile> {
    let opt = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    let rows = items
        .iter()
        .map(|c| {
            vec![
                c.id.to_string(),
                c.subject.clone(),
                c.account_name.clone(),
                c.kind.as_str().to_string(),
                c.priority.as_str().to_string(),
                c.status.as_str().to_string(),
                names.user(c.ownership.owner_id),
                c.product_name.clone().unwrap_or_default(),
                instant(c.created_at),
                opt(c.first_response_seconds),
                c.resolved_at.map(instant).unwrap_or_default(),
                opt(c.resolution_seconds),
                c.closed_at.map(instant).unwrap_or_default(),
                opt(c.satisfaction),
            ]
        })
        .collect();
    visible_columns(p, RecordType::Case, "cases.csv", &CASE_COLUMNS, rows)
}

/// The columns of the opportunity export (the opportunities list's "Export
/// CSV"); amounts are plain decimals in `currency`, the owner is named by e-mail.
pub const OPPORTUNITY_COLUMNS: [&str; 14] = [
    "id",
    "name",
    "account",
    "stage",
    "status",
    "amount",
    "currency",
    "probability",
    "weighted_amount",
    "expected_close",
    "owner",
    "source",
    "closed_at",
    "created_at",
];

/// Opportunities as CSV, the fields `p` may not see left out as columns.
pub fn opportunities(p: &Principal, items: &[nave_store::pipeline::Opportunity], names: &Names) -> ApiResult<CsvFile> {
    let rows = items
        .iter()
        .map(|o| {
            vec![
                o.id.to_string(),
                o.name.clone(),
                o.account_name.clone(),
                o.stage.clone(),
                o.status.as_str().to_string(),
                o.amount.clone(),
                o.currency.code().to_string(),
                o.probability.to_string(),
                o.weighted_amount.clone(),
                o.expected_close.clone(),
                names.user(o.ownership.owner_id),
                o.source.clone().unwrap_or_default(),
                o.closed_at.map(instant).unwrap_or_default(),
                instant(o.created_at),
            ]
        })
        .collect();
    visible_columns(p, RecordType::Opportunity, "opportunities.csv", &OPPORTUNITY_COLUMNS, rows)
}
