//! CSV exports of the list pages: every record of the list's current view
//! that the user may read (up to 10,000), in the columns `nave import`
//! reads, with the fields their role may not see left out (the same writers
//! as the API's `format=csv`, `crate::csv_export`). Cases, opportunities,
//! leads and the document lists other than invoices have no importer and
//! export their own columns (a document list one row per document).
//!
//! Each export is answered two ways from one collector, so both give the
//! same file: at once (`GET /{list}/export.csv?{view}`, for scripts and
//! links), or as a background job (`POST /exports/{list}?{view}`, the list
//! pages' "Export CSV" button) whose page shows how many records have been
//! read and then offers the file (`pages::jobs`).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, Principal, RecordType, Scope};
use nave_domain::document::DocType;
use nave_domain::error::ErrorCode;
use nave_store::catalog;
use nave_store::contacts;
use nave_store::documents;
use nave_store::page::Page;
use nave_store::{accounts, payments};

use super::{PageAuth, PageError, PageResult};
use crate::csv_export::CsvFile;
use crate::error::{ApiError, ApiResult};
use crate::import::{NoProgress, Progress};
use crate::jobs::{self, Job, Output, Work};
use crate::state::AppState;

/// Most records one export holds.
pub const MAX: usize = 10_000;

/// The lists that export CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Accounts,
    Contacts,
    Products,
    Invoices,
    Payments,
    Cases,
    Opportunities,
    Leads,
    /// A document list other than invoices: its headers.
    Documents(DocType),
}

impl List {
    pub const ALL: [List; 15] = [
        List::Accounts,
        List::Contacts,
        List::Products,
        List::Invoices,
        List::Payments,
        List::Cases,
        List::Opportunities,
        List::Leads,
        List::Documents(DocType::Quote),
        List::Documents(DocType::SalesOrder),
        List::Documents(DocType::CreditNote),
        List::Documents(DocType::PurchaseOrder),
        List::Documents(DocType::Receipt),
        List::Documents(DocType::Bill),
        List::Documents(DocType::BillCredit),
    ];

    /// The list of the document type `t`.
    pub fn of_documents(t: DocType) -> List {
        if t == DocType::Invoice { List::Invoices } else { List::Documents(t) }
    }

    /// The list's path: `accounts`.
    pub fn as_str(self) -> &'static str {
        match self {
            List::Accounts => "accounts",
            List::Contacts => "contacts",
            List::Products => "products",
            List::Invoices => "invoices",
            List::Payments => "payments",
            List::Cases => "cases",
            List::Opportunities => "opportunities",
            List::Leads => "leads",
            List::Documents(t) => t.path(),
        }
    }

    pub fn parse(s: &str) -> Option<List> {
        List::ALL.into_iter().find(|l| l.as_str() == s)
    }

    fn record_type(self) -> RecordType {
        match self {
            List::Accounts => RecordType::Account,
            List::Contacts => RecordType::Contact,
            List::Products => RecordType::Product,
            List::Invoices => RecordType::Invoice,
            List::Payments => RecordType::Payment,
            List::Cases => RecordType::Case,
            List::Opportunities => RecordType::Opportunity,
            List::Leads => RecordType::Lead,
            List::Documents(t) => t.record_type(),
        }
    }
}

fn scope(p: &Principal, rt: RecordType) -> ApiResult<Scope> {
    p.scope_for(rt, Action::Read)
        .ok_or_else(|| ApiError::forbidden(format!("your role may not read {} records", rt.as_str())))
}

/// Reads every page of a list into `items` (up to [`MAX`] records) in the
/// view's order: `$page` reads the page at `$query`'s position, which moves
/// past each page read; each page read is told to `$progress`.
macro_rules! all_pages {
    ($items:ident, $query:ident, $progress:expr, $page:expr) => {
        let mut $items = Vec::new();
        loop {
            let page: Page<_> = $page;
            $progress.advance(page.items.len() as u64);
            let more = $query.sort.advance(&page, &mut $query.cursor, &mut $query.sorted_after);
            $items.extend(page.items);
            if !more || $items.len() >= MAX {
                break;
            }
        }
    };
}

/// The export of `list`'s view `raw` (its query string) for `p`.
pub async fn collect(
    app: &AppState,
    p: &Principal,
    list: List,
    raw: Option<&str>,
    progress: &dyn Progress,
) -> Result<CsvFile, PageError> {
    scope(p, list.record_type())?;
    let t = p.tenant_id;
    let mut tx = app.db.read().await?;
    let file = match list {
        // The accounts of the view (every page of it).
        List::Accounts => {
            let mut query = super::accounts::export_query(&mut tx, p, raw).await?;
            all_pages!(items, query, progress, { accounts::list(&mut tx, t, &query).await? });
            let names = crate::csv_export::Names::load(&mut tx, t).await?;
            crate::csv_export::accounts(p, &items, &names)?
        }
        // The contacts of the view; without filters, every contact the user
        // may see, archived ones too.
        List::Contacts => {
            let f = super::views::ViewQuery::parse(raw, super::contacts::FILTERS);
            let mut view = super::contacts::store_query(&mut tx, p, &f).await?;
            if raw.unwrap_or("").is_empty() {
                view.archived = None;
            }
            view.limit = 200;
            all_pages!(items, view, progress, { contacts::list(&mut tx, t, &view).await? });
            let names = crate::csv_export::Names::load(&mut tx, t).await?;
            let accounts: Vec<(i64, String)> = items.iter().map(|c| (c.account_key, c.account_name.clone())).collect();
            let refs = crate::csv_export::account_refs(&mut tx, t, &accounts).await?;
            crate::csv_export::contacts(&items, &refs, &names)?
        }
        // The products of the view; without filters, every product, archived ones too.
        List::Products => {
            let f = super::views::ViewQuery::parse(raw, super::catalog::FILTERS);
            let mut view = super::catalog::store_query(&mut tx, t, &f).await?;
            if raw.unwrap_or("").is_empty() {
                view.active = None;
            }
            view.limit = 200;
            all_pages!(items, view, progress, { catalog::list_products(&mut tx, t, &view).await? });
            let categories = catalog::list_categories(&mut tx, t).await?;
            crate::api::catalog::products_csv(p, &items, &categories)?
        }
        // The invoices of the view, with their lines.
        List::Invoices => {
            let (mut view, _) = super::documents::view_query(&mut tx, p, DocType::Invoice, raw).await?;
            view.limit = 200;
            all_pages!(items, view, progress, { documents::list(&mut tx, t, &view).await? });
            crate::api::documents::invoices_csv(&mut tx, p, items).await?
        }
        // The payments received of the view (its account filter), with their allocations.
        List::Payments => {
            let f = super::views::ViewQuery::parse(raw, super::payments::FILTERS);
            let (mut view, _) = super::payments::store_query(&mut tx, p, super::payments::Side::Received, &f).await?;
            view.limit = 200;
            all_pages!(items, view, progress, { payments::list(&mut tx, t, &view).await? });
            crate::api::payments::payments_csv(&mut tx, t, items).await?
        }
        // The cases of the view (its filters), in their own columns (no importer reads them).
        List::Cases => {
            let (mut view, _) = super::cases::view_query(&mut tx, p, raw).await?;
            view.limit = 200;
            all_pages!(items, view, progress, { nave_store::cases::list(&mut tx, t, &view).await? });
            let names = crate::csv_export::Names::load(&mut tx, t).await?;
            crate::csv_export::cases(p, &items, &names)?
        }
        // The opportunities of the view (the board's filters too), in their own columns.
        List::Opportunities => {
            let (mut view, _, _) = super::pipeline::view_query(&mut tx, p, raw).await?;
            view.limit = 200;
            all_pages!(items, view, progress, { nave_store::pipeline::list(&mut tx, t, &view).await? });
            let names = crate::csv_export::Names::load(&mut tx, t).await?;
            crate::csv_export::opportunities(p, &items, &names)?
        }
        // The leads of the view (its filters and order).
        List::Leads => {
            let v = super::views::ViewQuery::parse(raw, super::leads::FILTERS);
            let mut view = crate::api::leads::query_for(p, &super::leads::view_filter(&v))?;
            view.limit = 200;
            all_pages!(items, view, progress, { nave_store::leads::list(&mut tx, t, &view).await? });
            let names = crate::csv_export::Names::load(&mut tx, t).await?;
            crate::csv_export::leads(p, &items, &names)?
        }
        // The documents of the view, one row each.
        List::Documents(doc_type) => {
            let (mut view, _) = super::documents::view_query(&mut tx, p, doc_type, raw).await?;
            view.limit = 200;
            all_pages!(items, view, progress, { documents::list(&mut tx, t, &view).await? });
            crate::csv_export::documents(p, doc_type, &items)?
        }
    };
    tx.commit().await?;
    Ok(file)
}

async fn at_once(app: &AppState, auth: &PageAuth, list: List, raw: Option<String>) -> PageResult {
    Ok(collect(app, &auth.principal, list, raw.as_deref(), &NoProgress).await?.into_response())
}

/// `GET /accounts/export.csv`: the accounts of the list's current view.
pub async fn accounts(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    at_once(&app, &auth, List::Accounts, raw).await
}

/// `GET /contacts/export.csv`: the contacts of the list's current view.
pub async fn contacts(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    at_once(&app, &auth, List::Contacts, raw).await
}

/// `GET /products/export.csv`: the products of the list's current view.
pub async fn products(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    at_once(&app, &auth, List::Products, raw).await
}

/// `GET /{documents}/export.csv`: the documents of the list's current view
/// (invoices with their lines).
pub async fn documents(t: DocType, app: &AppState, auth: &PageAuth, raw: Option<String>) -> PageResult {
    at_once(app, auth, List::of_documents(t), raw).await
}

/// `GET /leads/export.csv`: the leads of the list's current view.
pub async fn leads(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    at_once(&app, &auth, List::Leads, raw).await
}

/// `GET /payments/export.csv`: the payments received of the list's current view.
pub async fn payments(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    at_once(&app, &auth, List::Payments, raw).await
}

/// `POST /exports/{list}?{view}`: starts the export of the view as a job
/// and goes to its page.
pub async fn start(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(list): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let list = List::parse(&list).ok_or_else(|| ApiError::new(ErrorCode::NotFound, "there is no such export"))?;
    scope(&auth.principal, list.record_type())?;
    let p = auth.principal.clone();
    let work = Work::Export { list: list.as_str(), query: raw.clone().unwrap_or_default() };
    let state = app.clone();
    let job = app
        .jobs
        .start(&auth.principal, work, move |job: Arc<Job>| async move {
            match collect(&state, &p, list, raw.as_deref(), &*job).await {
                Ok(f) => Ok(Output::Export(jobs::File { filename: f.filename, rows: f.rows, bytes: f.bytes.into() })),
                Err(PageError(e)) if e.code == ErrorCode::Internal => {
                    tracing::error!(job.id = %job.id, error = %e.detail, "an export job failed");
                    Err("the export stopped because of an error on the server".into())
                }
                Err(PageError(e)) => Err(e.detail),
            }
        })
        .map_err(|busy| ApiError::new(ErrorCode::RateLimited, busy.0))?;
    Ok(Redirect::to(&format!("/jobs/{}", job.id)).into_response())
}

/// `GET /cases/export.csv`: the cases of the list's current view.
pub async fn cases(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    at_once(&app, &auth, List::Cases, raw).await
}

/// `GET /opportunities/export.csv`: the opportunities of the list's current
/// view (the board's too).
pub async fn opportunities(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    at_once(&app, &auth, List::Opportunities, raw).await
}
