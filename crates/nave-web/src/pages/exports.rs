//! The "Export CSV" links of the list pages: every record of the list the
//! user may read (up to 10,000), in the columns `nave import` reads, with
//! the fields their role may not see left out (the same writers as the API's
//! `format=csv`, `crate::csv_export`). Accounts have theirs on their page
//! (`pages::accounts::export`, which keeps the list's view); cases and
//! opportunities have no importer, and export their own columns.

use axum::extract::{RawQuery, State};
use nave_domain::access::{Action, Principal, RecordType, Scope};
use nave_domain::document::DocType;
use nave_store::catalog;
use nave_store::contacts;
use nave_store::documents::{self, DocSort};
use nave_store::page::{Cursor, Page};
use nave_store::payments;

use super::{PageAuth, PageResult};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Most records one export holds.
const MAX: usize = 10_000;

fn scope(p: &Principal, rt: RecordType) -> ApiResult<Scope> {
    p.scope_for(rt, Action::Read)
        .ok_or_else(|| ApiError::forbidden(format!("your role may not read {} records", rt.as_str())))
}

/// Reads every page of a list into `items` (up to [`MAX`] records): `$page`
/// reads the page after `$cursor`.
macro_rules! all_pages {
    ($items:ident, $cursor:ident, $page:expr) => {
        let mut $items = Vec::new();
        let mut $cursor: Option<Cursor> = None;
        loop {
            let page: Page<_> = $page;
            $items.extend(page.items);
            match page.next {
                Some(c) if $items.len() < MAX => $cursor = Some(c),
                _ => break,
            }
        }
    };
}

/// `GET /products/export.csv`: the products of the list's current view (its
/// filters, as the query string gives them); without filters, every product,
/// archived ones too.
pub async fn products(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    let p = &auth.principal;
    scope(p, RecordType::Product)?;
    let mut tx = app.db.read().await?;
    let t = p.tenant_id;
    let f = super::views::ViewQuery::parse(raw.as_deref(), super::catalog::FILTERS);
    let mut view = super::catalog::store_query(&mut tx, t, &f).await?;
    if raw.as_deref().unwrap_or("").is_empty() {
        view.active = None;
    }
    view.limit = 200;
    all_pages!(items, cursor, {
        view.cursor = cursor;
        catalog::list_products(&mut tx, t, &view).await?
    });
    let categories = catalog::list_categories(&mut tx, t).await?;
    tx.commit().await?;
    Ok(crate::api::catalog::products_csv(p, &items, &categories)?)
}

/// `GET /contacts/export.csv`: the contacts of the list's current view (its
/// filters, as the query string gives them); without filters, every contact
/// the user may see, archived ones too.
pub async fn contacts(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    let p = &auth.principal;
    scope(p, RecordType::Contact)?;
    let mut tx = app.db.read().await?;
    let t = p.tenant_id;
    let f = super::views::ViewQuery::parse(raw.as_deref(), super::contacts::FILTERS);
    let mut view = super::contacts::store_query(&mut tx, p, &f).await?;
    if raw.as_deref().unwrap_or("").is_empty() {
        view.archived = None;
    }
    view.limit = 200;
    all_pages!(items, cursor, {
        view.cursor = cursor;
        contacts::list(&mut tx, t, &view).await?
    });
    let names = crate::csv_export::Names::load(&mut tx, t).await?;
    let accounts: Vec<(i64, String)> = items.iter().map(|c| (c.account_key, c.account_name.clone())).collect();
    let refs = crate::csv_export::account_refs(&mut tx, t, &accounts).await?;
    tx.commit().await?;
    Ok(crate::csv_export::contacts(&items, &refs, &names)?)
}

/// `GET /invoices/export.csv`: the invoices of the list's current view
/// (its filters, as the query string gives them), with their lines.
pub async fn invoices(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    let p = &auth.principal;
    scope(p, RecordType::Invoice)?;
    let mut tx = app.db.read().await?;
    let t = p.tenant_id;
    let (mut view, _) = super::documents::view_query(&mut tx, p, DocType::Invoice, raw.as_deref()).await?;
    // The whole view, in the order pages are read.
    view.sort = DocSort::NEWEST;
    view.limit = 200;
    all_pages!(items, cursor, {
        view.cursor = cursor;
        documents::list(&mut tx, t, &view).await?
    });
    let r = crate::api::documents::invoices_csv(&mut tx, p, items).await?;
    tx.commit().await?;
    Ok(r)
}

/// `GET /payments/export.csv`: the payments received of the list's current
/// view (its account filter), with their allocations.
pub async fn payments(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    let p = &auth.principal;
    scope(p, RecordType::Payment)?;
    let mut tx = app.db.read().await?;
    let t = p.tenant_id;
    let f = super::views::ViewQuery::parse(raw.as_deref(), super::payments::FILTERS);
    let (mut view, _) = super::payments::store_query(&mut tx, p, super::payments::Side::Received, &f).await?;
    view.limit = 200;
    all_pages!(items, cursor, {
        view.cursor = cursor;
        payments::list(&mut tx, t, &view).await?
    });
    let r = crate::api::payments::payments_csv(&mut tx, t, items).await?;
    tx.commit().await?;
    Ok(r)
}

/// `GET /cases/export.csv`: the cases of the list's current view (its
/// filters, as the query string gives them).
pub async fn cases(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    let p = &auth.principal;
    scope(p, RecordType::Case)?;
    let mut tx = app.db.read().await?;
    let t = p.tenant_id;
    let (mut view, _) = super::cases::view_query(&mut tx, p, raw.as_deref()).await?;
    view.limit = 200;
    all_pages!(items, cursor, {
        view.cursor = cursor;
        nave_store::cases::list(&mut tx, t, &view).await?
    });
    let names = crate::csv_export::Names::load(&mut tx, t).await?;
    tx.commit().await?;
    Ok(crate::csv_export::cases(p, &items, &names)?)
}

/// `GET /opportunities/export.csv`: the opportunities of the list's current
/// view (its filters, as the query string gives them; the board's too).
pub async fn opportunities(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    let p = &auth.principal;
    scope(p, RecordType::Opportunity)?;
    let mut tx = app.db.read().await?;
    let t = p.tenant_id;
    let (mut view, _, _) = super::pipeline::view_query(&mut tx, p, raw.as_deref()).await?;
    view.limit = 200;
    all_pages!(items, cursor, {
        view.cursor = cursor;
        nave_store::pipeline::list(&mut tx, t, &view).await?
    });
    let names = crate::csv_export::Names::load(&mut tx, t).await?;
    tx.commit().await?;
    Ok(crate::csv_export::opportunities(p, &items, &names)?)
}
