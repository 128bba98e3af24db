//! `GET /api/v1/accounts/{id}/overview`: the 360° view of an account in one
//! request. [`build`] assembles it for both the API and the account page, so
//! the two always show the same records under the same rules.

use axum::Json;
use axum::extract::{Path, State};
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::document::DocType;
use nave_domain::forecast::weighted_minor;
use nave_domain::money::{Currency, Money};
use nave_domain::pipeline::StageKind;
use nave_store::Tx;
use nave_store::accounts::{self, Account, Visibility};
use nave_store::activities::{self, Activity, ActivityQuery};
use nave_store::cases::{self, Case, CaseQuery};
use nave_store::contacts::{self, Contact, ContactQuery};
use nave_store::documents::{self, Document, DocumentQuery, Receivables, YearSales};
use nave_store::pipeline::{self, Opportunity, OpportunityQuery};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiAuth;
use crate::present::{present, visible_or_404};
use crate::state::AppState;

/// How many records each list of the overview holds at most.
const LIST_LIMIT: i64 = 200;
/// How many of the latest activities the overview shows.
const LATEST_ACTIVITIES: i64 = 10;

/// Open opportunities of one currency, summed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CurrencyTotal {
    #[schema(example = "EUR")]
    pub currency: String,
    pub count: i64,
    /// Decimal string.
    #[schema(example = "25000.00")]
    pub total: String,
    /// Decimal string: the sum of the weighted amounts.
    #[schema(example = "10000.00")]
    pub weighted_total: String,
}

/// How many records of each kind the caller may see.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverviewCounts {
    pub contacts: i64,
    pub open_opportunities: i64,
    pub open_cases: i64,
    pub activities: i64,
}

/// Everything the caller may see about one account.
#[derive(Debug)]
pub struct Overview {
    pub account: Account,
    /// Active contacts, primary first.
    pub contacts: Vec<Contact>,
    /// Opportunities in an open stage.
    pub opportunities: Vec<Opportunity>,
    pub by_currency: Vec<CurrencyTotal>,
    /// Cases neither resolved nor closed.
    pub cases: Vec<Case>,
    /// The latest activities, newest first.
    pub activities: Vec<Activity>,
    pub attachments: i64,
    pub counts: OverviewCounts,
    /// Quotes not yet decided, open sales orders, invoices with a balance
    /// (each only when the caller may read that type for this account).
    pub open_quotes: Vec<Document>,
    pub open_orders: Vec<Document>,
    pub open_invoices: Vec<Document>,
    /// Net sales this year and last, per currency (needs invoice read access).
    pub sales: Vec<YearSales>,
    pub receivables: Vec<Receivables>,
    /// Credit exposure against the limit (needs invoice read access).
    pub credit: Option<CreditView>,
    /// Suppliers: purchase orders not yet completed or cancelled, the latest
    /// receipts, bills with a balance, the latest payments sent and what is
    /// owed per currency (each only when the caller may read that type).
    pub open_purchase_orders: Vec<Document>,
    pub receipts: Vec<Document>,
    pub open_bills: Vec<Document>,
    pub payments_sent: Vec<nave_store::payments::Payment>,
    pub payables: Vec<Receivables>,
    /// Open sync conflicts of the account (changes a master rule held
    /// back), when the caller may read sync conflicts.
    pub open_sync_conflicts: Option<i64>,
}

/// An account's credit exposure (open receivables + open orders not yet
/// invoiced, in the account's currency) against its limit. `limit` and
/// `available` are absent without the `view_credit_limit` permission.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreditView {
    pub currency: String,
    pub exposure: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// limit − exposure (negative when over the limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<String>,
}

/// Opportunity totals per currency, in currency order.
fn totals(opps: &[Opportunity]) -> Vec<CurrencyTotal> {
    let mut sums: Vec<(Currency, i64, i64, i64)> = Vec::new();
    for o in opps {
        let weighted = weighted_minor(o.amount_minor, o.probability);
        match sums.iter_mut().find(|s| s.0 == o.currency) {
            Some(s) => {
                s.1 += 1;
                s.2 += o.amount_minor;
                s.3 += weighted;
            }
            None => sums.push((o.currency, 1, o.amount_minor, weighted)),
        }
    }
    sums.sort_by(|a, b| a.0.code().cmp(b.0.code()));
    sums.into_iter()
        .map(|(c, n, total, weighted)| CurrencyTotal {
            currency: c.code().to_string(),
            count: n,
            total: Money::from_minor(total, c).to_string(),
            weighted_total: Money::from_minor(weighted, c).to_string(),
        })
        .collect()
}

/// The scope `p` has for reading `rt` on records of this account, when any.
fn readable(p: &Principal, rt: RecordType, a: &Account) -> Option<Visibility> {
    p.scope_for(rt, Action::Read)
        .map(|s| Visibility::of(p, s))
        .filter(|_| rt != RecordType::Contact || p.may(rt, Action::Read, a.ownership))
}

/// Assembles the overview of `account`, which `p` may read: each list holds
/// only what `p` may see of it (opportunities and cases by their own record
/// scope, contacts and activities through the account). A fixed number of
/// indexed queries, whatever the account holds.
pub async fn build(tx: &mut Tx, p: &Principal, account: Account) -> ApiResult<Overview> {
    let t = p.tenant_id;
    let mut contacts = match readable(p, RecordType::Contact, &account) {
        Some(visibility) => {
            let q =
                ContactQuery { visibility, account_key: Some(account.key), limit: LIST_LIMIT, ..Default::default() };
            contacts::list(tx, t, &q).await?.items
        }
        None => vec![],
    };
    contacts.sort_by_key(|c| !c.is_primary);
    let opportunities = match readable(p, RecordType::Opportunity, &account) {
        Some(visibility) => {
            let q = OpportunityQuery {
                visibility,
                account_key: Some(account.key),
                status: Some(StageKind::Open),
                limit: LIST_LIMIT,
                ..Default::default()
            };
            pipeline::list(tx, t, &q).await?.items
        }
        None => vec![],
    };
    let cases = match readable(p, RecordType::Case, &account) {
        Some(visibility) => {
            let q = CaseQuery {
                visibility,
                account_key: Some(account.key),
                open_only: true,
                limit: LIST_LIMIT,
                ..Default::default()
            };
            cases::list(tx, t, &q).await?.items
        }
        None => vec![],
    };
    // Activities are visible through their account, which `p` may read.
    let may_read_activities = p.may(RecordType::Activity, Action::Read, account.ownership);
    let (activities, activity_count) = if may_read_activities {
        let q = ActivityQuery { account_key: Some(account.key), limit: LATEST_ACTIVITIES, ..Default::default() };
        let latest = activities::list(tx, t, &q).await?.items;
        let n = tx
            .scalar_i64(
                "SELECT COUNT(*) AS v FROM activities WHERE tenant_id = $1 AND account_id = $2",
                nave_store::args![t, account.key],
            )
            .await?;
        (latest, n)
    } else {
        (vec![], 0)
    };
    let attachments = if p.may(RecordType::Attachment, Action::Read, account.ownership) {
        tx.scalar_i64(
            "SELECT COUNT(*) AS v FROM attachments WHERE tenant_id = $1 AND record_type = $2 AND record_id = $3",
            nave_store::args![t, RecordType::Account.as_str(), account.key],
        )
        .await?
    } else {
        0
    };
    let docs = |dt: DocType| -> Option<Visibility> {
        p.scope_for(dt.record_type(), Action::Read)
            .filter(|_| p.may(dt.record_type(), Action::Read, account.ownership))
            .map(|s| Visibility::of(p, s))
    };
    let mut open = Vec::new();
    for dt in [DocType::Quote, DocType::SalesOrder, DocType::Invoice] {
        open.push(match docs(dt) {
            Some(visibility) => {
                let mut q = DocumentQuery::new(dt);
                q.visibility = visibility;
                q.account_key = Some(account.key);
                q.open_only = true;
                q.limit = LIST_LIMIT;
                documents::list(tx, t, &q).await?.items
            }
            None => vec![],
        });
    }
    let open_invoices = open.pop().unwrap_or_default();
    let open_orders = open.pop().unwrap_or_default();
    let open_quotes = open.pop().unwrap_or_default();
    let credit = if docs(DocType::Invoice).is_some() {
        let exposure = nave_store::credit::exposure(tx, t, account.key).await?;
        let limit = nave_store::credit::limit(tx, t, account.key)
            .await?
            .filter(|_| p.has(nave_domain::access::Capability::ViewCreditLimit));
        let c = account.currency;
        Some(CreditView {
            currency: c.code().to_string(),
            exposure: Money::from_minor(exposure, c).to_string(),
            limit: limit.map(|l| Money::from_minor(l, c).to_string()),
            available: limit.map(|l| Money::from_minor(l - exposure, c).to_string()),
        })
    } else {
        None
    };
    let (sales, receivables) = if docs(DocType::Invoice).is_some() {
        let year = nave_store::db::now().year();
        (
            documents::sales_by_year(tx, t, account.key, &[year, year - 1]).await?,
            documents::receivables(tx, t, account.key).await?,
        )
    } else {
        (vec![], vec![])
    };
    // The supplier side.
    let supplier = account.kinds.contains(&nave_domain::account::AccountKind::Supplier);
    let mut purchase = Vec::new();
    for (dt, open_only, limit) in
        [(DocType::PurchaseOrder, true, LIST_LIMIT), (DocType::Receipt, false, 10), (DocType::Bill, true, LIST_LIMIT)]
    {
        purchase.push(match docs(dt).filter(|_| supplier) {
            Some(visibility) => {
                let mut q = DocumentQuery::new(dt);
                q.visibility = visibility;
                q.account_key = Some(account.key);
                q.open_only = open_only;
                q.limit = limit;
                documents::list(tx, t, &q).await?.items
            }
            None => vec![],
        });
    }
    let open_bills = purchase.pop().unwrap_or_default();
    let receipts = purchase.pop().unwrap_or_default();
    let open_purchase_orders = purchase.pop().unwrap_or_default();
    let payments_sent = match p.scope_for(RecordType::PaymentSent, Action::Read).filter(|_| supplier) {
        Some(s) => {
            let q = nave_store::payments::PaymentQuery {
                sent: true,
                visibility: Visibility::of(p, s),
                account_key: Some(account.key),
                limit: 10,
                ..Default::default()
            };
            nave_store::payments::list(tx, t, &q).await?.items
        }
        None => vec![],
    };
    let payables =
        if supplier && docs(DocType::Bill).is_some() { documents::payables(tx, t, account.key).await? } else { vec![] };
    let counts = OverviewCounts {
        contacts: contacts.len() as i64,
        open_opportunities: opportunities.len() as i64,
        open_cases: cases.len() as i64,
        activities: activity_count,
    };
    let open_sync_conflicts = match crate::api::sync::may_see_conflicts(p) {
        true => Some(nave_store::sync::open_count(tx, t, RecordType::Account, account.key).await?),
        false => None,
    };
    Ok(Overview {
        open_sync_conflicts,
        by_currency: totals(&opportunities),
        account,
        contacts,
        opportunities,
        cases,
        activities,
        attachments,
        counts,
        open_quotes,
        open_orders,
        open_invoices,
        sales,
        receivables,
        credit,
        open_purchase_orders,
        receipts,
        open_bills,
        payments_sent,
        payables,
    })
}

impl Overview {
    /// The overview as the API answers it, every record through field security.
    pub fn to_json(&self, p: &Principal) -> ApiResult<Value> {
        let contacts =
            self.contacts.iter().map(|c| present(p, RecordType::Contact, c)).collect::<ApiResult<Vec<_>>>()?;
        let opps =
            self.opportunities.iter().map(|o| present(p, RecordType::Opportunity, o)).collect::<ApiResult<Vec<_>>>()?;
        let cases = self.cases.iter().map(|c| present(p, RecordType::Case, c)).collect::<ApiResult<Vec<_>>>()?;
        let acts =
            self.activities.iter().map(|a| present(p, RecordType::Activity, a)).collect::<ApiResult<Vec<_>>>()?;
        Ok(json!({
            "account": present(p, RecordType::Account, &self.account)?,
            "contacts": contacts,
            "open_opportunities": {"data": opps, "by_currency": self.by_currency},
            "open_cases": cases,
            "latest_activities": acts,
            "attachments": self.attachments,
            "counts": self.counts,
            "open_quotes": docs(p, &self.open_quotes)?,
            "open_sales_orders": docs(p, &self.open_orders)?,
            "open_invoices": docs(p, &self.open_invoices)?,
            "sales": self.sales,
            "receivables": self.receivables,
            "credit": self.credit,
            "open_purchase_orders": docs(p, &self.open_purchase_orders)?,
            "receipts": docs(p, &self.receipts)?,
            "open_bills": docs(p, &self.open_bills)?,
            "payments_sent": self.payments_sent.iter().map(|x| present(p, RecordType::PaymentSent, x)).collect::<ApiResult<Vec<_>>>()?,
            "payables": self.payables,
            "open_sync_conflicts": self.open_sync_conflicts,
        }))
    }
}

fn docs(p: &Principal, list: &[Document]) -> ApiResult<Vec<Value>> {
    list.iter().map(|d| present(p, d.doc_type.record_type(), d)).collect()
}

/// The open opportunities and their totals (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct OverviewOpportunities {
    data: Vec<Opportunity>,
    by_currency: Vec<CurrencyTotal>,
}

/// Schema of the account overview (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AccountOverview {
    account: Account,
    /// Active contacts, the primary one first.
    contacts: Vec<Contact>,
    /// Opportunities in an open stage that the caller may see, with the count and totals per currency.
    open_opportunities: OverviewOpportunities,
    /// Cases neither resolved nor closed that the caller may see.
    open_cases: Vec<Case>,
    /// The 10 latest activities, newest first.
    latest_activities: Vec<Activity>,
    /// How many files are attached to the account.
    attachments: i64,
    counts: OverviewCounts,
    /// Quotes not yet decided (draft, sent, accepted), headers only.
    open_quotes: Vec<Document>,
    /// Draft and open sales orders, headers only.
    open_sales_orders: Vec<Document>,
    /// Draft, issued and part-paid invoices, headers only (with `balance` and `overdue`).
    open_invoices: Vec<Document>,
    /// Net sales (invoiced − credited) this year and last, per currency.
    sales: Vec<YearSales>,
    /// Open and overdue balances per currency.
    receivables: Vec<Receivables>,
    /// Exposure against the credit limit; null without invoice read access.
    credit: Option<CreditView>,
    /// Suppliers: purchase orders not yet completed or cancelled, headers only.
    open_purchase_orders: Vec<Document>,
    /// Suppliers: the 10 latest receipts.
    receipts: Vec<Document>,
    /// Suppliers: draft, issued and part-paid bills (with `balance` and `overdue`).
    open_bills: Vec<Document>,
    /// Suppliers: the 10 latest payments sent.
    payments_sent: Vec<nave_store::payments::Payment>,
    /// Suppliers: the balance payable (open bills) and the part past due, per currency.
    payables: Vec<Receivables>,
    /// Open sync conflicts of the account (`GET /sync-conflicts?record_id=`); null without
    /// permission to read sync conflicts. The account's ids in other systems are in `account.external_ids`.
    open_sync_conflicts: Option<i64>,
}

#[utoipa::path(get, path = "/accounts/{id}/overview", tag = "accounts", params(("id" = String, Path)),
    description = "The 360° view of an account: the account (field security applies), its active contacts \
        (primary first), its open opportunities with totals per currency, its open cases, the 10 latest \
        activities, the number of attachments and counts; open quotes, sales orders and invoices (headers), \
        net sales this year and last, open and overdue receivables, and credit exposure against the limit (the \
        limit only with the `view_credit_limit` permission); for suppliers, open purchase orders, the latest \
        receipts, open bills, the latest payments sent and the balance payable. Each list holds only the \
        records the caller may see.",
    responses((status = 200, body = AccountOverview), (status = 404, body = Problem)))]
pub async fn account_overview(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require(RecordType::Account, Action::Read)?;
    let id = super::parse_id("account", &id)?;
    let mut tx = app.db.read().await?;
    let acc = accounts::get(&mut tx, auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("account"))?;
    visible_or_404(&auth.0, RecordType::Account, Action::Read, acc.ownership)?;
    let o = build(&mut tx, &auth.0, acc).await?;
    tx.commit().await?;
    Ok(Json(o.to_json(&auth.0)?))
}
