//! The start page: a home per role. Each work list is shown to whoever may
//! act on it (not by role name, so custom roles get the lists their grants
//! allow): a sales rep's open opportunities, tasks and accounts; the order
//! desk's orders to ship and to invoice; the warehouse's shipments to do;
//! accounting's overdue invoices and unallocated payments; support's open
//! cases. Every list is one bounded query (`LIMIT`), so the page stays fast
//! however much data the tenant has.

use askama::Template;
use axum::extract::State;
use axum::response::IntoResponse;
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::document::DocType;
use nave_domain::pipeline::StageKind;
use nave_store::Tx;
use nave_store::accounts::{self, AccountQuery, Visibility};
use nave_store::documents::DocumentQuery;
use nave_store::orders::DeskView;
use nave_store::pipeline::OpportunityQuery;
use nave_store::shipments::ShipmentQuery;
use nave_store::{cases, documents, orders, payments, pipeline, shipments};

use super::accounts::{AccountRow, row_of};
use super::show;
use super::{Layout, PageAuth, PageResult, render};
use crate::state::AppState;

/// How many rows a work list shows.
const LIST_ROWS: i64 = 10;

/// One row of a work list.
#[derive(Debug, Clone)]
pub struct WorkRow {
    pub href: String,
    pub label: String,
    pub detail: String,
    pub amount: String,
}

/// One work list of the home page.
#[derive(Debug, Clone)]
pub struct WorkList {
    /// The section's id (`orders-to-ship`), for links and tests.
    pub id: &'static str,
    pub title: &'static str,
    /// Where the whole list is, if anywhere.
    pub all: Option<&'static str>,
    pub empty: &'static str,
    pub rows: Vec<WorkRow>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    first_name: String,
    account_count: String,
    can_create_account: bool,
    recent: Vec<AccountRow>,
    /// The signed-in user's open tasks, with the page of what each hangs from.
    tasks: Vec<(super::activities::Entry, Option<String>)>,
    lists: Vec<WorkList>,
    /// The user's webhooks disabled after failures: (id, name, reason).
    disabled_webhooks: Vec<(String, String, String)>,
}

/// The visibility `p` has for reading `t`, if any.
fn read_scope(p: &Principal, t: RecordType) -> Option<Visibility> {
    p.scope_for(t, Action::Read).map(|s| Visibility::of(p, s))
}

/// May `p` read `t` and do `action` on it?
fn works_on(p: &Principal, t: RecordType, action: Action) -> Option<Visibility> {
    p.scope_for(t, action).and(read_scope(p, t))
}

fn list(id: &'static str, title: &'static str, all: Option<&'static str>, empty: &'static str) -> WorkList {
    WorkList { id, title, all, empty, rows: vec![] }
}

/// The work lists `p` may act on, each at most `LIST_ROWS` long.
async fn work_lists(tx: &mut Tx, p: &Principal) -> Result<Vec<WorkList>, super::PageError> {
    let t = p.tenant_id;
    let mut out = vec![];
    if let Some(v) = works_on(p, RecordType::Opportunity, Action::Update) {
        let q =
            OpportunityQuery { visibility: v, status: Some(StageKind::Open), limit: LIST_ROWS, ..Default::default() };
        let mut l = list("open-opportunities", "Open opportunities", Some("/opportunities"), "No open opportunities.");
        l.rows = pipeline::list(tx, t, &q)
            .await?
            .items
            .into_iter()
            .map(|o| WorkRow {
                href: format!("/opportunities/{}", o.id),
                label: o.name,
                detail: format!(
                    "{} · {} · closes {}",
                    o.account_name,
                    o.stage,
                    show::date_text(&o.expected_close.to_string())
                ),
                amount: show::amount(&o.amount.to_string(), o.currency),
            })
            .collect();
        out.push(l);
    }
    if let Some(v) = works_on(p, RecordType::SalesOrder, Action::Read).filter(|_| {
        p.scope_for(RecordType::Shipment, Action::Create).is_some()
            || p.scope_for(RecordType::Invoice, Action::Create).is_some()
    }) {
        for (view, action_on, id, title, empty) in [
            (
                DeskView::ToShip,
                RecordType::Shipment,
                "orders-to-ship",
                "Orders to ship",
                "No orders wait to be shipped.",
            ),
            (
                DeskView::ToInvoice,
                RecordType::Invoice,
                "orders-to-invoice",
                "Orders to invoice",
                "No orders wait to be invoiced.",
            ),
        ] {
            if p.scope_for(action_on, Action::Create).is_none() {
                continue;
            }
            let mut l = list(id, title, Some("/sales-orders?status=open"), empty);
            l.rows = orders::desk(tx, t, view, v, None, LIST_ROWS)
                .await?
                .items
                .into_iter()
                .map(|o| WorkRow {
                    href: format!("/sales-orders/{}", o.id),
                    label: o.number.unwrap_or_else(|| "(draft)".into()),
                    detail: format!("{} · {}", o.account_name, show::date(o.date)),
                    amount: show::amount(&o.total.to_string(), o.currency),
                })
                .collect();
            out.push(l);
        }
    }
    if let Some(v) = works_on(p, RecordType::Shipment, Action::Update) {
        let q = ShipmentQuery {
            visibility: v,
            order_key: None,
            status: Some("draft".into()),
            cursor: None,
            limit: LIST_ROWS,
        };
        let mut l = list("shipments-to-do", "Shipments to do", None, "No shipments wait to go out.");
        l.rows = shipments::list(tx, t, &q)
            .await?
            .items
            .into_iter()
            .map(|s| {
                let order = s.sales_order_number.unwrap_or_else(|| "an order".into());
                WorkRow {
                    href: format!("/sales-orders/{}", s.sales_order_id),
                    label: s.number.unwrap_or_else(|| format!("Shipment of {order}")),
                    detail: format!(
                        "{} · from {} · {} line{}{}",
                        s.account_name,
                        s.warehouse_name,
                        s.lines.len(),
                        if s.lines.len() == 1 { "" } else { "s" },
                        s.carrier.map(|c| format!(" · {c}")).unwrap_or_default()
                    ),
                    amount: String::new(),
                }
            })
            .collect();
        out.push(l);
    }
    if let Some(v) = works_on(p, RecordType::Payment, Action::Create) {
        if let Some(iv) = read_scope(p, RecordType::Invoice) {
            let q = DocumentQuery {
                visibility: iv,
                overdue_only: true,
                limit: LIST_ROWS,
                ..DocumentQuery::new(DocType::Invoice)
            };
            let mut l = list("overdue-invoices", "Overdue invoices", Some("/invoices"), "No invoices are overdue.");
            l.rows = documents::list(tx, t, &q)
                .await?
                .items
                .into_iter()
                .map(|d| WorkRow {
                    href: format!("/invoices/{}", d.id),
                    label: d.number.clone().unwrap_or_else(|| "(draft)".into()),
                    detail: format!(
                        "{} · due {}",
                        d.account_name,
                        d.due_date.map(nave_domain::dates::format).unwrap_or_default()
                    ),
                    amount: show::minor(d.balance_minor, d.currency),
                })
                .collect();
            out.push(l);
        }
        let mut l = list("unallocated-payments", "Unallocated payments", None, "Every payment is allocated.");
        l.rows = payments::unallocated(tx, t, v, LIST_ROWS)
            .await?
            .into_iter()
            .map(|pm| WorkRow {
                href: format!("/accounts/{}", pm.account_id),
                label: format!("{} {}", pm.method.replace('_', " "), pm.reference.unwrap_or_default()).trim().into(),
                detail: format!("{} · {}", pm.account_name, show::date(pm.date)),
                amount: format!(
                    "{} of {}",
                    show::number(&pm.unallocated.to_string()),
                    show::amount(&pm.amount.to_string(), pm.currency)
                ),
            })
            .collect();
        out.push(l);
    }
    if let Some(v) = works_on(p, RecordType::Case, Action::Update) {
        let q = cases::CaseQuery { visibility: v, open_only: true, limit: LIST_ROWS, ..Default::default() };
        let mut l = list("open-cases", "Open cases", Some("/cases"), "No open cases.");
        l.rows = cases::list(tx, t, &q)
            .await?
            .items
            .into_iter()
            .map(|c| WorkRow {
                href: format!("/cases/{}", c.id),
                label: c.subject,
                detail: format!(
                    "{} · {} · {}{}",
                    c.account_name,
                    c.priority.as_str(),
                    c.status.as_str().replace('_', " "),
                    c.assignee_name.map(|n| format!(" · {n}")).unwrap_or_default()
                ),
                amount: String::new(),
            })
            .collect();
        out.push(l);
    }
    Ok(out)
}

/// `GET /`.
pub async fn home(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let (count, recent) = match p.scope_for(RecordType::Account, Action::Read) {
        Some(scope) => {
            let q = AccountQuery { visibility: Visibility::of(p, scope), limit: 200, ..Default::default() };
            let page = accounts::list(&mut tx, p.tenant_id, &q).await?;
            let count = if page.next.is_some() { "200+".to_string() } else { page.items.len().to_string() };
            let mut items = page.items;
            items.sort_by_key(|a| std::cmp::Reverse(a.updated_at));
            items.truncate(8);
            (count, items.iter().map(|a| row_of(p, a)).collect())
        }
        None => ("0".to_string(), vec![]),
    };
    let lists = work_lists(&mut tx, p).await?;
    let disabled_webhooks = nave_store::webhooks::disabled_for_owner(&mut tx, p.tenant_id, p.user_id)
        .await?
        .into_iter()
        .map(|w| {
            let name = if w.description.is_empty() { w.url.clone() } else { w.description.clone() };
            (w.id.to_string(), name, w.disabled_reason.unwrap_or_default())
        })
        .collect();
    tx.commit().await?;
    let tasks = super::activities::my_open_tasks(&app, p).await?;
    let page = HomePage {
        tasks,
        layout: auth.layout("home"),
        first_name: auth.user.name.split_whitespace().next().unwrap_or("").to_string(),
        account_count: count,
        can_create_account: p.scope_for(RecordType::Account, Action::Create).is_some(),
        recent,
        lists,
        disabled_webhooks,
    };
    Ok(render(&page).into_response())
}
