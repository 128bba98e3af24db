//! CSV exports of list pages, in the columns `nave import` reads, so an
//! export can be edited and imported again. A field the caller may not see is
//! left out as a column, never blanked (field security), and only records the
//! caller may read are in the list (record scope).

use std::collections::HashMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nave_domain::access::{Principal, RecordType};
use nave_domain::address::PostalAddress;
use nave_domain::external_id::ExternalId;
use nave_store::accounts::{self, Account};
use nave_store::contacts::{self, Contact};
use nave_store::{Tx, payment_terms, users};

use crate::error::{ApiError, ApiResult};

/// A CSV file as the response to a list request.
pub fn response(filename: &'static str, header: &[&str], rows: &[Vec<String>]) -> ApiResult<Response> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| ApiError::internal(&e);
    w.write_record(header).map_err(internal)?;
    for row in rows {
        w.write_record(row).map_err(internal)?;
    }
    let body = w.into_inner().map_err(|e| ApiError::internal(&e))?;
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    let disposition = format!("attachment; filename=\"{filename}\"");
    r.headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(|e| ApiError::internal(&e))?);
    Ok(r)
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

    fn user(&self, key: Option<i64>) -> String {
        key.and_then(|k| self.users.get(&k).cloned()).unwrap_or_default()
    }
}

/// The columns of the account export for `p` (`credit_limit` only when `p` may see it).
pub fn account_columns(p: &Principal) -> Vec<&'static str> {
    let shows_limit = p.sees_field(RecordType::Account, "credit_limit");
    accounts::CSV_COLUMNS.into_iter().filter(|c| *c != "credit_limit" || shows_limit).collect()
}

/// A page of accounts as CSV. The address columns hold the default billing address.
pub fn accounts(p: &Principal, items: &[Account], names: &Names) -> ApiResult<Response> {
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
    response("accounts.csv", &header, &rows)
}

/// A page of contacts as CSV. `account_refs` says how each account is named
/// in the `account` column (its first external id, else its name).
pub fn contacts(items: &[Contact], account_refs: &HashMap<i64, String>, names: &Names) -> ApiResult<Response> {
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
    response("contacts.csv", &header, &rows)
}
