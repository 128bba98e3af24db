//! Account pages: the list, one account (with its addresses and contacts),
//! and the account form for new and existing accounts.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, Capability, Principal, RecordType, Scope};
use nave_domain::account::AccountKind;
use nave_domain::address::{AccountAddress, PostalAddress};
use nave_domain::duplicates::Reason;
use nave_domain::error::{ErrorCode, FieldError};
use nave_domain::external_id::{ExternalId, parse_pair};
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_domain::tax::TaxTreatment;
use nave_store::accounts::{self, Account, AccountPatch, AccountQuery, NewAccount, Visibility};
use nave_store::audit::{self, AuditQuery};
use serde::Deserialize;

use super::show;
use super::views::{Sorting, ViewQuery, read_sort};
use super::{FormErrors, Layout, PageAuth, PageError, PageResult, fmt_time, form_errors, render};
use crate::api::accounts::refuse_duplicates;
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::present::{may_act, present};
use crate::state::AppState;

const T: RecordType = RecordType::Account;

/// One account as a table row, after field security.
#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: String,
    pub name: String,
    pub kinds: String,
    pub currency: String,
    pub credit_limit: String,
    pub tags: String,
    pub updated: String,
}

/// Builds a row from the account as `p` may see it.
pub fn row_of(p: &Principal, a: &Account) -> AccountRow {
    let v = present(p, T, a).unwrap_or_default();
    AccountRow {
        id: a.id.to_string(),
        name: a.name.clone(),
        kinds: a.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "),
        currency: a.currency.code().to_string(),
        credit_limit: v
            .get("credit_limit")
            .and_then(|c| c.as_str())
            .map(|c| show::amount(c, a.currency))
            .unwrap_or_default(),
        tags: a.tags.join(", "),
        updated: fmt_time(a.updated_at),
    }
}

/// The columns the accounts list can show: (key, heading), in this order.
const COLUMNS: &[(&str, &str)] = &[
    ("kinds", "Kinds"),
    ("owner", "Owner"),
    ("currency", "Currency"),
    ("credit_limit", "Credit limit"),
    ("tags", "Tags"),
    ("updated", "Updated"),
];
/// Shown until the user chooses.
const DEFAULT_COLUMNS: &[&str] = &["kinds", "currency", "credit_limit", "tags"];

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    layout: Layout,
    rows: Vec<(AccountRow, String)>,
    next: Option<String>,
    can_create: bool,
    /// Bulk actions offered: the user may change accounts.
    can_bulk: bool,
    kinds: Vec<String>,
    kind: String,
    archived: bool,
    words: String,
    owner: String,
    owners: super::Choices,
    /// Every column the user may see: (key, heading, shown).
    columns: super::views::Columns,
    filter_qs: String,
    views: super::views::ViewsBar,
    sorting: Sorting,
}

/// The filters (and order) the accounts list reads from its query string.
const FILTERS: &[&str] = &["kind", "archived", "q", "owner", "sort"];

/// The accounts list's view, read from its query string: a kind it does not
/// know is no filter, and only `archived=true` shows archived accounts (so
/// saved views and paging links keep just what the list shows).
fn view_of(raw: Option<&str>) -> ViewQuery {
    ViewQuery::parse(raw, FILTERS)
        .normalized("kind", |k| AccountKind::parse(k).map(|k| k.as_str().to_string()))
        .normalized("archived", |a| (a == "true").then(|| "true".to_string()))
}

/// The store query of the view `v`, for the accounts `p` may see (the list
/// and its CSV export read the same view). `owner` is a user's public id, or `me`.
async fn store_query(
    tx: &mut nave_store::Tx,
    p: &Principal,
    scope: Scope,
    v: &ViewQuery,
) -> Result<AccountQuery, PageError> {
    let (sort, cursor, sorted_after) = read_sort(accounts::SORTS, v)?;
    let owner_id = match v.get("owner") {
        "" => None,
        "me" => Some(p.user_id),
        id => {
            let id: PublicId = id.parse().map_err(|_| ApiError::invalid("owner", "is not the id of a user"))?;
            Some(nave_store::users::resolve(tx, p.tenant_id, id, "owner").await?)
        }
    };
    let q = AccountQuery {
        visibility: Visibility::of(p, scope),
        kind: AccountKind::parse(v.get("kind")),
        owner_id,
        archived: Some(v.flag("archived")),
        words: nave_domain::search::query_words(v.get("q")),
        cursor,
        sort,
        sorted_after,
        limit: 50,
        ..Default::default()
    };
    Ok(q)
}

/// `GET /accounts`: filters (kind, owner, search words, archived), the
/// columns chosen, saved views, CSV export of the view and bulk actions.
pub async fn list(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    let p = &auth.principal;
    let scope = p.scope_for(T, Action::Read).ok_or_else(|| ApiError::forbidden("your role may not read accounts"))?;
    let q = view_of(raw.as_deref());
    let mut tx = app.db.read().await?;
    let query = store_query(&mut tx, p, scope, &q).await?;
    let page = accounts::list(&mut tx, p.tenant_id, &query).await?;
    let owners = super::user_choices(&mut tx, p.tenant_id).await?;
    let view_qs = q.view_qs();
    let views = super::views::bar(&mut tx, &auth, "accounts", &view_qs).await?;
    tx.commit().await?;
    let names: std::collections::HashMap<String, String> = owners.iter().cloned().collect();
    let offered: Vec<(&str, &str)> =
        COLUMNS.iter().copied().filter(|(k, _)| *k != "credit_limit" || p.sees_field(T, "credit_limit")).collect();
    let columns = super::views::columns(&offered, DEFAULT_COLUMNS, &q.columns);
    let view = AccountsPage {
        layout: auth.layout("accounts"),
        rows: page
            .items
            .iter()
            .map(|a| {
                let owner = a.owner_id.and_then(|o| names.get(&o.to_string()).cloned()).unwrap_or_default();
                (row_of(p, a), owner)
            })
            .collect(),
        next: query.sort.next_of(&page),
        can_create: p.scope_for(T, Action::Create).is_some(),
        can_bulk: p.scope_for(T, Action::Update).is_some(),
        kinds: AccountKind::ALL.iter().map(|k| k.as_str().to_string()).collect(),
        kind: q.get("kind").to_string(),
        archived: q.flag("archived"),
        words: q.get("q").to_string(),
        owner: q.get("owner").to_string(),
        owners,
        columns,
        filter_qs: if view_qs.is_empty() { String::new() } else { format!("&{view_qs}") },
        views,
        sorting: Sorting::new("accounts", accounts::SORTS, query.sort, &q),
    };
    Ok(render(&view).into_response())
}

/// The store query of an export of the view `raw` (the list's query
/// string): every page of it, read 200 at a time (`pages::exports`).
pub async fn export_query(
    tx: &mut nave_store::Tx,
    p: &Principal,
    raw: Option<&str>,
) -> Result<AccountQuery, PageError> {
    let scope = p.scope_for(T, Action::Read).ok_or_else(|| ApiError::forbidden("your role may not read accounts"))?;
    let mut q = view_of(raw);
    q.after = None;
    let mut query = store_query(tx, p, scope, &q).await?;
    query.limit = 200;
    Ok(query)
}

/// `POST /accounts/bulk`: assigns the ticked accounts to an owner, or
/// archives them, all or none; then shows the list as it was.
pub async fn bulk(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    let f = super::FormData::parse(&body);
    let back = match f.get("back") {
        b if b.is_empty() => "/accounts".to_string(),
        b => format!("/accounts?{b}"),
    };
    let ids = f.all("ids");
    if ids.is_empty() {
        return Err(ApiError::invalid("ids", "tick at least one account").into());
    }
    if ids.len() > 200 {
        return Err(ApiError::invalid("ids", "at most 200 accounts at once").into());
    }
    let patch = match f.get("op").as_str() {
        "assign_owner" => {
            let owner: PublicId =
                f.get("owner_id").parse().map_err(|_| ApiError::invalid("owner_id", "choose the new owner"))?;
            AccountPatch { owner_id: Some(Some(owner)), ..Default::default() }
        }
        "archive" => AccountPatch { archived: Some(true), ..Default::default() },
        _ => return Err(ApiError::invalid("op", "must be assign_owner or archive").into()),
    };
    let actor = actor_of(p);
    let mut tx = app.db.write().await?;
    for id in &ids {
        let id: PublicId = id.parse().map_err(|_| ApiError::invalid("ids", "is not a list of account ids"))?;
        let before = accounts::get(&mut tx, p.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("account"))?;
        may_act(p, T, Action::Update, before.ownership)?;
        accounts::update(&mut tx, &actor, &before, None, patch.clone()).await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&back).into_response())
}

/// One account, after field security, for the detail page.
#[derive(Debug)]
struct AccountView {
    id: String,
    name: String,
    archived: bool,
    kinds: String,
    currency: String,
    credit_limit: Option<String>,
    tax_id: String,
    tax_treatment: &'static str,
    industry: String,
    website: String,
    phone: String,
    payment_terms: String,
    notes: String,
    owner: String,
    tags: String,
    addresses: Vec<AccountAddress>,
    external_ids: Vec<String>,
    version: i64,
}

#[derive(Debug)]
struct HistoryRow {
    when: String,
    who: String,
    action: String,
    changes: String,
}

/// One contact as a row of the account page.
#[derive(Debug)]
struct ContactRow {
    id: String,
    name: String,
    title: String,
    email: String,
    phone: String,
    is_primary: bool,
    marketing_consent: bool,
}

/// One open opportunity as a row of the account page.
#[derive(Debug)]
struct OpportunityRow {
    id: String,
    name: String,
    stage: String,
    amount: String,
    weighted: String,
    expected_close: String,
}

/// One open case as a row of the account page.
#[derive(Debug)]
struct CaseRow {
    id: String,
    subject: String,
    priority: &'static str,
    status: &'static str,
    assignee: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    a: AccountView,
    contacts: Vec<ContactRow>,
    opportunities: Vec<OpportunityRow>,
    /// One line per currency: count, total and weighted total.
    opportunity_totals: Vec<String>,
    open_cases: Vec<CaseRow>,
    /// Open quotes, orders and invoices of the account.
    documents: Vec<super::documents::AccountDocs>,
    /// Latest payments and credit exposure.
    money: super::payments::AccountMoney,
    /// May the caller make a quote for this account?
    can_new_quote: bool,
    /// May the caller merge this account into another (delete it)?
    can_merge: bool,
    /// Likely duplicates the caller may merge this account into: (id, name).
    merge_candidates: Vec<(String, String)>,
    can_edit: bool,
    can_add_contact: bool,
    history: Vec<HistoryRow>,
    /// Open sync conflicts of the account, for those who may see them.
    open_sync_conflicts: Option<i64>,
    timeline: super::activities::TimelineView,
    attachments: super::attachments::AttachmentsView,
}

/// What the account page shows: the timeline's kind filter.
#[derive(Debug, Deserialize)]
pub struct ShowParams {
    kind: Option<String>,
}

/// The account `id`, when `p` may do `action` to it (404 when they may not
/// even read it, 403 when they may read but not act).
async fn account_for(tx: &mut nave_store::Tx, p: &Principal, id: &str, action: Action) -> Result<Account, PageError> {
    let id: PublicId = id.parse().map_err(|_| ApiError::not_found("account"))?;
    let a = accounts::get(tx, p.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("account"))?;
    may_act(p, T, action, a.ownership)?;
    Ok(a)
}

/// `GET /accounts/{id}`.
pub async fn show(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    Query(params): Query<ShowParams>,
) -> PageResult {
    let p = &auth.principal;
    p.scope_for(T, Action::Read).ok_or_else(|| ApiError::not_found("account"))?;
    let mut tx = app.db.read().await?;
    let a = account_for(&mut tx, p, &id, Action::Read).await?;
    let owner = match a.ownership.owner_id {
        Some(k) => nave_store::users::get_by_key(&mut tx, p.tenant_id, k).await?.map(|u| u.name).unwrap_or_default(),
        None => String::new(),
    };
    let payment_terms = match a.payment_terms_id {
        Some(t) => nave_store::payment_terms::get(&mut tx, p.tenant_id, t).await?.map(|t| t.name).unwrap_or_default(),
        None => String::new(),
    };
    let overview = crate::api::overview::build(&mut tx, p, a.clone()).await?;
    let contacts = overview
        .contacts
        .iter()
        .map(|c| ContactRow {
            id: c.id.to_string(),
            name: c.full_name(),
            title: c.title.clone().unwrap_or_default(),
            email: c.email.clone().unwrap_or_default(),
            phone: c.phone.clone().unwrap_or_default(),
            is_primary: c.is_primary,
            marketing_consent: c.marketing_consent,
        })
        .collect();
    let opportunities = overview
        .opportunities
        .iter()
        .map(|o| OpportunityRow {
            id: o.id.to_string(),
            name: o.name.clone(),
            stage: o.stage.clone(),
            amount: show::amount(&o.amount.to_string(), o.currency),
            weighted: show::amount(&o.weighted_amount.to_string(), o.currency),
            expected_close: show::date_text(&o.expected_close),
        })
        .collect();
    let open_cases = overview
        .cases
        .iter()
        .map(|c| CaseRow {
            id: c.id.to_string(),
            subject: c.subject.clone(),
            priority: c.priority.as_str(),
            status: c.status.as_str(),
            assignee: c.assignee_name.clone().unwrap_or_default(),
        })
        .collect();
    let opportunity_totals = overview
        .by_currency
        .iter()
        .map(|t| {
            let (total, weighted) =
                (show::amount_in(&t.total, &t.currency), show::amount_in(&t.weighted_total, &t.currency));
            format!("{} open, {total} ({weighted} weighted)", t.count)
        })
        .collect();
    let can_merge = p.may(T, Action::Delete, a.ownership);
    let merge_candidates = if can_merge {
        let keys = nave_domain::duplicates::MatchKeys::of(
            &a.name,
            a.website.as_deref(),
            a.tax_id.as_deref(),
            a.phone.as_deref(),
        );
        accounts::likely_duplicates(&mut tx, p.tenant_id, &keys)
            .await?
            .into_iter()
            .filter(|c| c.key != a.key && p.may(T, Action::Update, c.ownership))
            .map(|c| (c.id.to_string(), c.name))
            .collect()
    } else {
        vec![]
    };
    let history = if p.scope_for(RecordType::AuditEntry, Action::Read) == Some(Scope::All) {
        let log =
            audit::list(&mut tx, p.tenant_id, &AuditQuery { record_id: Some(a.id), limit: 20, ..Default::default() })
                .await?;
        log.items
            .iter()
            .map(|e| {
                let v = crate::api::audit::redact_entry(p, e).unwrap_or_default();
                let fields: Vec<String> =
                    v["changes"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
                HistoryRow {
                    when: fmt_time(e.occurred_at),
                    who: e.actor_name.clone().unwrap_or_else(|| "system".into()),
                    action: e.action.clone(),
                    changes: fields.join(", "),
                }
            })
            .collect()
    } else {
        vec![]
    };
    let documents = super::documents::account_documents(&mut tx, p, &a).await?;
    let money = super::payments::account_money(&mut tx, p, &a).await?;
    tx.commit().await?;
    let shown = present(p, T, &a)?;
    let view = AccountView {
        id: a.id.to_string(),
        name: a.name.clone(),
        archived: a.archived,
        kinds: a.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "),
        currency: a.currency.code().to_string(),
        credit_limit: shown.get("credit_limit").and_then(|c| c.as_str()).map(|c| show::amount(c, a.currency)),
        tax_id: a.tax_id.clone().unwrap_or_default(),
        tax_treatment: a.tax_treatment.as_str(),
        industry: a.industry.clone().unwrap_or_default(),
        website: a.website.clone().unwrap_or_default(),
        phone: a.phone.clone().unwrap_or_default(),
        payment_terms,
        notes: a.notes.clone(),
        owner,
        tags: a.tags.join(", "),
        addresses: a.addresses.clone(),
        external_ids: a.external_ids.iter().map(ExternalId::to_string).collect(),
        version: a.version,
    };
    let timeline = super::activities::timeline(&app, p, "account", a.id, params.kind.as_deref()).await?;
    let attachments = super::attachments::view(&app, p, T, a.id).await?;
    let page = AccountPage {
        layout: auth.layout("accounts"),
        money,
        timeline,
        attachments,
        can_edit: p.may(T, Action::Update, a.ownership),
        can_add_contact: p.may(RecordType::Contact, Action::Create, a.ownership) && !a.archived,
        a: view,
        contacts,
        opportunities,
        opportunity_totals,
        open_cases,
        documents,
        can_new_quote: p.may(RecordType::Quote, Action::Create, a.ownership) && !a.archived,
        can_merge,
        merge_candidates,
        history,
        open_sync_conflicts: overview.open_sync_conflicts,
    };
    Ok(render(&page).into_response())
}

// ---------------------------------------------------------------- the form

/// One address row as typed.
#[derive(Debug, Clone, Default)]
pub struct AddressRow {
    label: String,
    line1: String,
    line2: String,
    city: String,
    region: String,
    postal_code: String,
    country: String,
}

impl AddressRow {
    pub fn is_blank(&self) -> bool {
        [&self.label, &self.line1, &self.line2, &self.city, &self.region, &self.postal_code, &self.country]
            .iter()
            .all(|s| s.trim().is_empty())
    }

    /// The row of a stored address.
    pub fn of_postal(a: &PostalAddress) -> Self {
        Self::of(a)
    }

    pub fn label(&self) -> &str {
        &self.label
    }
    pub fn line1(&self) -> &str {
        &self.line1
    }
    pub fn line2(&self) -> &str {
        &self.line2
    }
    pub fn city(&self) -> &str {
        &self.city
    }
    pub fn region(&self) -> &str {
        &self.region
    }
    pub fn postal_code(&self) -> &str {
        &self.postal_code
    }
    pub fn country(&self) -> &str {
        &self.country
    }

    fn of(a: &PostalAddress) -> Self {
        AddressRow {
            label: a.label.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone().unwrap_or_default(),
            city: a.city.clone(),
            region: a.region.clone().unwrap_or_default(),
            postal_code: a.postal_code.clone().unwrap_or_default(),
            country: a.country.clone(),
        }
    }

    /// The address as the store takes it (blank optional parts are none).
    pub fn postal(&self) -> PostalAddress {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        PostalAddress {
            label: self.label.clone(),
            line1: self.line1.clone(),
            line2: opt(&self.line2),
            city: self.city.clone(),
            region: opt(&self.region),
            postal_code: opt(&self.postal_code),
            country: self.country.clone(),
        }
    }

    /// Reads one address's fields of a form (`{prefix}label`, `{prefix}line1`, …).
    fn take(&mut self, prefix: &str, key: &str, v: &str) -> bool {
        let Some(part) = key.strip_prefix(prefix) else { return false };
        let slot = match part {
            "label" => &mut self.label,
            "line1" => &mut self.line1,
            "line2" => &mut self.line2,
            "city" => &mut self.city,
            "region" => &mut self.region,
            "postal_code" => &mut self.postal_code,
            "country" => &mut self.country,
            _ => return false,
        };
        *slot = v.to_string();
        true
    }

    /// The fields of address rows as repeated form fields: `address_line1` once per row.
    pub fn rows_of(body: &[u8]) -> Vec<AddressRow> {
        let mut rows: Vec<AddressRow> = Vec::new();
        for (k, v) in form_urlencoded::parse(body) {
            if k == "address_label" {
                rows.push(AddressRow::default());
            }
            if let Some(last) = rows.last_mut() {
                last.take("address_", &k, &v);
            }
        }
        rows
    }

    /// The one address of a form whose fields are `{prefix}…`.
    pub fn single_of(body: &[u8], prefix: &str) -> AddressRow {
        let mut a = AddressRow::default();
        for (k, v) in form_urlencoded::parse(body) {
            a.take(prefix, &k, &v);
        }
        a
    }
}

/// Empty address rows offered for adding addresses.
const SPARE_ADDRESSES: usize = 2;

/// The account form as typed, kept when it is shown again with errors.
#[derive(Debug, Default)]
pub struct AccountForm {
    name: String,
    kinds: Vec<String>,
    currency: String,
    credit_limit: String,
    tax_id: String,
    tax_treatment: String,
    industry: String,
    website: String,
    phone: String,
    payment_terms_id: String,
    notes: String,
    tags: String,
    external_ids: String,
    archived: bool,
    addresses: Vec<AddressRow>,
    /// Index of the default billing and shipping address rows.
    billing: String,
    shipping: String,
    allow_duplicate: bool,
    version: String,
}

impl AccountForm {
    /// Reads an url-encoded form body; `kinds` may repeat (checkboxes).
    fn parse(body: &[u8]) -> Self {
        let mut f = AccountForm::default();
        for (k, v) in form_urlencoded::parse(body) {
            let v = v.into_owned();
            match k.as_ref() {
                "name" => f.name = v,
                "kinds" => f.kinds.push(v),
                "currency" => f.currency = v,
                "credit_limit" => f.credit_limit = v,
                "tax_id" => f.tax_id = v,
                "tax_treatment" => f.tax_treatment = v,
                "industry" => f.industry = v,
                "website" => f.website = v,
                "phone" => f.phone = v,
                "payment_terms_id" => f.payment_terms_id = v,
                "notes" => f.notes = v,
                "tags" => f.tags = v,
                "external_ids" => f.external_ids = v,
                "archived" => f.archived = true,
                "billing" => f.billing = v,
                "shipping" => f.shipping = v,
                "allow_duplicate" => f.allow_duplicate = true,
                "version" => f.version = v,
                _ => {}
            }
        }
        f.addresses = AddressRow::rows_of(body);
        f
    }

    fn of(a: &Account, show_credit: bool) -> Self {
        AccountForm {
            name: a.name.clone(),
            kinds: a.kinds.iter().map(|k| k.as_str().to_string()).collect(),
            currency: a.currency.code().into(),
            credit_limit: if show_credit { a.credit_limit.clone().unwrap_or_default() } else { String::new() },
            tax_id: a.tax_id.clone().unwrap_or_default(),
            tax_treatment: a.tax_treatment.as_str().into(),
            industry: a.industry.clone().unwrap_or_default(),
            website: a.website.clone().unwrap_or_default(),
            phone: a.phone.clone().unwrap_or_default(),
            payment_terms_id: a.payment_terms_id.map(|t| t.to_string()).unwrap_or_default(),
            notes: a.notes.clone(),
            tags: a.tags.join(", "),
            external_ids: a.external_ids.iter().map(ExternalId::to_string).collect::<Vec<_>>().join("\n"),
            archived: a.archived,
            addresses: a.addresses.iter().map(|x| AddressRow::of(&x.postal())).collect(),
            billing: a.addresses.iter().position(|x| x.is_default_billing).map(|i| i.to_string()).unwrap_or_default(),
            shipping: a.addresses.iter().position(|x| x.is_default_shipping).map(|i| i.to_string()).unwrap_or_default(),
            allow_duplicate: false,
            version: a.version.to_string(),
        }
    }

    /// The addresses typed, blank rows dropped, with the chosen defaults.
    fn addresses(&self) -> Vec<AccountAddress> {
        self.addresses
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.is_blank())
            .map(|(i, r)| AccountAddress::of(r.postal(), self.billing == i.to_string(), self.shipping == i.to_string()))
            .collect()
    }

    fn tag_list(&self) -> Vec<String> {
        self.tags.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect()
    }
}

/// A likely duplicate shown on the form.
#[derive(Debug)]
struct DuplicateRow {
    id: String,
    name: String,
    reasons: String,
}

#[derive(Template)]
#[template(path = "account_form.html")]
struct AccountFormPage {
    layout: Layout,
    /// `None` for a new account.
    id: Option<String>,
    form: AccountForm,
    errors: FormErrors,
    kinds: Vec<String>,
    treatments: Vec<&'static str>,
    terms: Vec<(String, String)>,
    show_credit: bool,
    duplicates: Vec<DuplicateRow>,
}

impl AccountFormPage {
    /// The one-line text fields, in order: name, label, value.
    fn text_fields(&self) -> Vec<(&'static str, &'static str, &str)> {
        let f = &self.form;
        vec![
            ("industry", "Industry", f.industry.as_str()),
            ("website", "Website", f.website.as_str()),
            ("phone", "Phone", f.phone.as_str()),
            ("tax_id", "Tax id", f.tax_id.as_str()),
            ("tags", "Tags (comma-separated)", f.tags.as_str()),
        ]
    }
}

async fn form_page(
    app: &AppState,
    auth: &PageAuth,
    id: Option<PublicId>,
    mut form: AccountForm,
    errors: FormErrors,
    duplicates: Vec<DuplicateRow>,
) -> Result<AccountFormPage, PageError> {
    let mut tx = app.db.autocommit().await?;
    let terms = nave_store::payment_terms::list(&mut tx, auth.principal.tenant_id, true).await?;
    let terms = terms
        .into_iter()
        .filter(|t| t.active || form.payment_terms_id == t.id.to_string())
        .map(|t| (t.id.to_string(), t.name))
        .collect();
    form.addresses.extend(std::iter::repeat_n(AddressRow::default(), SPARE_ADDRESSES));
    Ok(AccountFormPage {
        layout: auth.layout("accounts"),
        id: id.map(|i| i.to_string()),
        form,
        errors,
        kinds: AccountKind::ALL.iter().map(|k| k.as_str().to_string()).collect(),
        treatments: vec![
            TaxTreatment::Standard.as_str(),
            TaxTreatment::Exempt.as_str(),
            TaxTreatment::ReverseCharge.as_str(),
        ],
        terms,
        show_credit: auth.principal.has(Capability::ViewCreditLimit),
        duplicates,
    })
}

/// `GET /accounts/new`.
pub async fn new_form(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    auth.principal
        .scope_for(T, Action::Create)
        .ok_or_else(|| ApiError::forbidden("your role may not create accounts"))?;
    let form = AccountForm {
        kinds: vec!["customer".into()],
        currency: "USD".into(),
        tax_treatment: "standard".into(),
        ..Default::default()
    };
    Ok(render(&form_page(&app, &auth, None, form, FormErrors::default(), vec![]).await?).into_response())
}

/// `GET /accounts/{id}/edit`.
pub async fn edit_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    p.scope_for(T, Action::Update).ok_or_else(|| ApiError::forbidden("your role may not edit accounts"))?;
    let mut tx = app.db.read().await?;
    let a = account_for(&mut tx, p, &id, Action::Update).await?;
    tx.commit().await?;
    let form = AccountForm::of(&a, p.has(Capability::ViewCreditLimit));
    Ok(render(&form_page(&app, &auth, Some(a.id), form, FormErrors::default(), vec![]).await?).into_response())
}

/// What the form says, in the store's terms; what cannot be read is a field error.
struct Parsed {
    currency: Currency,
    kinds: Vec<AccountKind>,
    /// `None`: not on the form (the default, or the account's current one).
    treatment: Option<TaxTreatment>,
    terms: Option<PublicId>,
    external_ids: Vec<ExternalId>,
}

fn parse(f: &AccountForm) -> Result<Parsed, FormErrors> {
    let mut errs = Vec::new();
    let currency = Currency::parse(f.currency.trim().to_uppercase().as_str())
        .map_err(|e| errs.push(FieldError::new("currency", e.to_string())))
        .unwrap_or_else(|_| Currency::parse("USD").expect("USD"));
    let treatment = match f.tax_treatment.trim() {
        "" => None,
        t => TaxTreatment::parse(t).or_else(|| {
            errs.push(FieldError::new("tax_treatment", "must be standard, exempt or reverse_charge"));
            None
        }),
    };
    let terms = match f.payment_terms_id.trim() {
        "" => None,
        t => t.parse().map_err(|_| errs.push(FieldError::new("payment_terms_id", "is not one of the choices"))).ok(),
    };
    let mut external_ids = Vec::new();
    for (i, line) in f.external_ids.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        match parse_pair(line) {
            Some(e) => external_ids.push(e),
            None => errs.push(FieldError::new(format!("external_ids[{i}]"), "must be system:id, e.g. erp:C-1001")),
        }
    }
    if !errs.is_empty() {
        return Err(FormErrors::from_fields(errs));
    }
    let kinds = f.kinds.iter().filter_map(|k| AccountKind::parse(k)).collect();
    Ok(Parsed { currency, kinds, treatment, terms, external_ids })
}

/// Saves the form: creates (`id` = `None`) or updates the account, or shows
/// the form again with each error next to its field and nothing stored. A
/// new account that looks like an existing one is shown with the likely
/// duplicates until the form says to create it anyway.
async fn save(app: &AppState, auth: &PageAuth, id: Option<String>, form: AccountForm) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.write().await?;
    let before = match &id {
        Some(id) => Some(account_for(&mut tx, p, id, Action::Update).await?),
        None => None,
    };
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let may_credit = p.has(Capability::ViewCreditLimit);
    let mut duplicates = Vec::new();
    let errors = match parse(&form) {
        Err(errors) => errors,
        Ok(v) => {
            let r = match &before {
                Some(b) => {
                    let patch = AccountPatch {
                        name: Some(form.name.clone()),
                        kinds: Some(v.kinds),
                        currency: Some(v.currency),
                        // A role that may not see the credit limit keeps it as it is.
                        credit_limit: may_credit.then(|| opt(&form.credit_limit)),
                        tax_id: Some(opt(&form.tax_id)),
                        tax_treatment: v.treatment,
                        tags: Some(form.tag_list()),
                        industry: Some(opt(&form.industry)),
                        website: Some(opt(&form.website)),
                        phone: Some(opt(&form.phone)),
                        payment_terms_id: Some(v.terms),
                        notes: Some(form.notes.clone()),
                        addresses: Some(form.addresses()),
                        external_ids: Some(v.external_ids),
                        archived: Some(form.archived),
                        ..Default::default()
                    };
                    let version = form.version.trim().parse::<i64>().ok();
                    accounts::update(&mut tx, &actor_of(p), b, version, patch).await.map_err(ApiError::from)
                }
                None => {
                    let new = NewAccount {
                        kinds: v.kinds,
                        credit_limit: opt(&form.credit_limit).filter(|_| may_credit),
                        tax_id: opt(&form.tax_id),
                        tax_treatment: v.treatment.unwrap_or(TaxTreatment::Standard),
                        tags: form.tag_list(),
                        industry: opt(&form.industry),
                        website: opt(&form.website),
                        phone: opt(&form.phone),
                        payment_terms_id: v.terms,
                        notes: form.notes.clone(),
                        addresses: form.addresses(),
                        external_ids: v.external_ids,
                        ..NewAccount::named(form.name.clone(), v.currency)
                    };
                    let checked = match accounts::validate(&new) {
                        Ok(()) if form.allow_duplicate => Ok(()),
                        Ok(()) => refuse_duplicates(&mut tx, p, &new).await,
                        Err(e) => Err(e.into()),
                    };
                    match checked {
                        Ok(()) => accounts::create(&mut tx, &actor_of(p), new).await.map_err(ApiError::from),
                        Err(e) => Err(e),
                    }
                }
            };
            match r {
                Ok(saved) => {
                    tx.commit().await?;
                    return Ok(Redirect::to(&format!("/accounts/{}", saved.id)).into_response());
                }
                Err(e) if e.code == ErrorCode::LikelyDuplicate => {
                    duplicates = e
                        .candidates
                        .iter()
                        .map(|c| DuplicateRow {
                            id: c.id.clone(),
                            name: c.name.clone(),
                            reasons: c
                                .reasons
                                .iter()
                                .filter_map(|r| Reason::parse(r))
                                .map(|r| r.describe())
                                .collect::<Vec<_>>()
                                .join(", "),
                        })
                        .collect();
                    FormErrors::whole(e.detail.clone())
                }
                Err(e) => form_errors(e)?,
            }
        }
    };
    tx.rollback().await?;
    let id = before.map(|b| b.id);
    let page = form_page(app, auth, id, form, errors, duplicates).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}

/// `POST /accounts`: creates the account, or shows the form again with each error next to its field.
pub async fn create(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    auth.principal
        .scope_for(T, Action::Create)
        .ok_or_else(|| ApiError::forbidden("your role may not create accounts"))?;
    save(&app, &auth, None, AccountForm::parse(&body)).await
}

/// `POST /accounts/{id}`: saves the edit form (with the version it was opened at).
pub async fn update(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    auth.principal
        .scope_for(T, Action::Update)
        .ok_or_else(|| ApiError::forbidden("your role may not edit accounts"))?;
    save(&app, &auth, Some(id), AccountForm::parse(&body)).await
}

/// `POST /accounts/{id}/merge`: merges this account into the one chosen by
/// id (`into_id`) or from the likely duplicates (`into`), then shows the survivor.
pub async fn merge(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    let field = |name: &str| {
        form_urlencoded::parse(&body).find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).unwrap_or_default()
    };
    let typed = field("into_id");
    let chosen = if typed.is_empty() { field("into") } else { typed };
    let into: PublicId = chosen.parse().map_err(|_| ApiError::invalid("into", "choose the account to keep"))?;
    let mut tx = app.db.write().await?;
    let loser = account_for(&mut tx, p, &id, Action::Delete).await?;
    let survivor = crate::api::accounts::account_for(&mut tx, p, "into", into).await?;
    may_act(p, T, Action::Update, survivor.ownership)?;
    let after = accounts::merge(&mut tx, &actor_of(p), &loser, &survivor).await.map_err(ApiError::from)?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/accounts/{}", after.id)).into_response())
}
