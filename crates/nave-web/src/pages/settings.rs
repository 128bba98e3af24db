//! Reference-data pages: payment terms, with a due-date calculator.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use nave_domain::access::{Action, RecordType};
use nave_domain::money::{Currency, Money};
use nave_store::payment_terms;
use serde::Deserialize;

use super::{Layout, PageAuth, PageResult, render};
use crate::api::payment_terms::parse_date;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug)]
struct TermsRow {
    id: String,
    name: String,
    description: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "payment_terms.html")]
struct PaymentTermsPage {
    layout: Layout,
    terms: Vec<TermsRow>,
    selected: String,
    amount: String,
    currency: String,
    date: String,
    schedule: Vec<(String, String)>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PreviewQuery {
    terms: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    date: Option<String>,
}

/// `GET /payment-terms`: the list, and the due dates of an amount when asked.
pub async fn payment_terms_page(
    State(app): State<AppState>,
    auth: PageAuth,
    Query(q): Query<PreviewQuery>,
) -> PageResult {
    let p = &auth.principal;
    p.scope_for(RecordType::PaymentTerms, Action::Read)
        .ok_or_else(|| ApiError::forbidden("your role may not read payment terms"))?;
    let mut tx = app.db.autocommit().await?;
    let list = payment_terms::list(&mut tx, p.tenant_id, true).await?;
    let mut page = PaymentTermsPage {
        layout: auth.layout("terms"),
        terms: list
            .iter()
            .map(|t| TermsRow {
                id: t.id.to_string(),
                name: t.name.clone(),
                description: t.instalments.iter().map(|i| i.describe()).collect::<Vec<_>>().join("; "),
                active: t.active,
            })
            .collect(),
        selected: q.terms.clone().unwrap_or_default(),
        amount: q.amount.clone().unwrap_or_else(|| "1000.00".into()),
        currency: q.currency.clone().unwrap_or_else(|| "USD".into()),
        date: q.date.clone().unwrap_or_else(|| nave_store::db::now().date().to_string()),
        schedule: vec![],
        error: None,
    };
    if let Some(sel) = &q.terms {
        let computed = (|| {
            let t = list
                .iter()
                .find(|t| t.id.to_string() == *sel)
                .ok_or("Choose payment terms from the list.".to_string())?;
            let currency = Currency::parse(page.currency.trim()).map_err(|e| format!("Currency {e}."))?;
            let amount = Money::parse(&page.amount, currency).map_err(|e| format!("The amount {e}."))?;
            let date =
                parse_date("date", &page.date).map_err(|e| format!("The invoice date {}.", e.errors[0].message))?;
            let terms = t.terms().map_err(|e| e.to_string())?;
            Ok::<_, String>(
                terms.schedule(amount, date).into_iter().map(|d| (d.date.to_string(), d.amount.to_string())).collect(),
            )
        })();
        match computed {
            Ok(s) => page.schedule = s,
            Err(e) => page.error = Some(e),
        }
    }
    Ok(render(&page).into_response())
}

#[derive(Debug)]
struct TaxRow {
    name: String,
    rate: String,
    validity: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "taxes.html")]
struct TaxesPage {
    layout: Layout,
    taxes: Vec<TaxRow>,
    categories: Vec<(String, String)>,
}

/// `GET /taxes`: tax rates and the categories that use them.
pub async fn taxes_page(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    let p = &auth.principal;
    p.scope_for(RecordType::Tax, Action::Read).ok_or_else(|| ApiError::forbidden("your role may not read taxes"))?;
    let mut tx = app.db.autocommit().await?;
    let taxes = nave_store::taxes::list_taxes(&mut tx, p.tenant_id).await?;
    let cats = nave_store::taxes::list_categories(&mut tx, p.tenant_id).await?;
    let name_of = |id: &nave_domain::ids::PublicId| {
        taxes.iter().find(|t| t.id == *id).map(|t| t.name.clone()).unwrap_or_default()
    };
    let page = TaxesPage {
        layout: auth.layout("taxes"),
        categories: cats
            .iter()
            .map(|c| (c.name.clone(), c.tax_ids.iter().map(name_of).collect::<Vec<_>>().join(", ")))
            .collect(),
        taxes: taxes
            .iter()
            .map(|t| TaxRow {
                name: t.name.clone(),
                rate: t.rate.clone(),
                validity: match (&t.valid_from, &t.valid_to) {
                    (None, None) => "always".into(),
                    (Some(f), None) => format!("from {f}"),
                    (None, Some(to)) => format!("until {to}"),
                    (Some(f), Some(to)) => format!("{f} to {to}"),
                },
                active: t.active,
            })
            .collect(),
    };
    Ok(render(&page).into_response())
}
