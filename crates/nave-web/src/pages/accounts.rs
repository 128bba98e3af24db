//! Account pages: the list, one account, and the new-account form.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, Capability, Principal, RecordType, Scope};
use nave_domain::account::AccountKind;
use nave_domain::error::{ErrorCode, FieldError};
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_store::accounts::{self, Account, AccountQuery, NewAccount, Visibility};
use nave_store::audit::{self, AuditQuery};
use nave_store::page::Cursor;
use serde::Deserialize;

use super::{Layout, PageAuth, PageResult, fmt_time, render};
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::present::present;
use crate::state::AppState;

const T: RecordType = RecordType::Account;

/// The store's visibility for a principal's scope.
pub fn visibility(p: &Principal, scope: Scope) -> Visibility {
    Visibility::of(p, scope)
}

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
        credit_limit: v.get("credit_limit").and_then(|c| c.as_str()).unwrap_or("").to_string(),
        tags: a.tags.join(", "),
        updated: fmt_time(a.updated_at),
    }
}

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    layout: Layout,
    rows: Vec<AccountRow>,
    next: Option<String>,
    can_create: bool,
    show_credit: bool,
    kinds: Vec<String>,
    kind: String,
    archived: bool,
    filter_qs: String,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    kind: Option<String>,
    archived: Option<String>,
    after: Option<String>,
}

/// `GET /accounts`.
pub async fn list(State(app): State<AppState>, auth: PageAuth, Query(q): Query<ListQuery>) -> PageResult {
    let p = &auth.principal;
    let scope = p.scope_for(T, Action::Read).ok_or_else(|| ApiError::forbidden("your role may not read accounts"))?;
    let kind = q.kind.as_deref().filter(|k| !k.is_empty()).and_then(AccountKind::parse);
    let archived = q.archived.as_deref() == Some("true");
    let cursor = q.after.as_deref().and_then(|c| Cursor::decode(c).ok());
    let mut tx = app.db.read().await?;
    let query = AccountQuery {
        visibility: visibility(p, scope),
        kind,
        archived: Some(archived),
        cursor,
        limit: 50,
        ..Default::default()
    };
    let page = accounts::list(&mut tx, p.tenant_id, &query).await?;
    tx.commit().await?;
    let mut filter_qs = String::new();
    if let Some(k) = kind {
        filter_qs.push_str(&format!("&kind={}", k.as_str()));
    }
    if archived {
        filter_qs.push_str("&archived=true");
    }
    let view = AccountsPage {
        layout: auth.layout("accounts"),
        rows: page.items.iter().map(|a| row_of(p, a)).collect(),
        next: page.next.map(|c| c.encode()),
        can_create: p.scope_for(T, Action::Create).is_some(),
        show_credit: p.sees_field(T, "credit_limit"),
        kinds: AccountKind::ALL.iter().map(|k| k.as_str().to_string()).collect(),
        kind: kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
        archived,
        filter_qs,
    };
    Ok(render(&view).into_response())
}

/// One account, after field security, for the detail page.
#[derive(Debug)]
struct AccountView {
    name: String,
    archived: bool,
    kinds: String,
    currency: String,
    credit_limit: Option<String>,
    tax_id: String,
    owner: String,
    tags: String,
    version: i64,
}

#[derive(Debug)]
struct HistoryRow {
    when: String,
    who: String,
    action: String,
    changes: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    a: AccountView,
    history: Vec<HistoryRow>,
}

/// `GET /accounts/{id}`.
pub async fn show(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    p.scope_for(T, Action::Read).ok_or_else(|| ApiError::not_found("account"))?;
    let id: PublicId = id.parse().map_err(|_| ApiError::not_found("account"))?;
    let mut tx = app.db.read().await?;
    let a = accounts::get(&mut tx, p.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("account"))?;
    if !p.may(T, Action::Read, a.ownership) {
        return Err(ApiError::not_found("account").into());
    }
    let owner = match a.ownership.owner_id {
        Some(k) => nave_store::users::get_by_key(&mut tx, p.tenant_id, k).await?.map(|u| u.name).unwrap_or_default(),
        None => String::new(),
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
    tx.commit().await?;
    let shown = present(p, T, &a)?;
    let view = AccountView {
        name: a.name.clone(),
        archived: a.archived,
        kinds: a.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "),
        currency: a.currency.code().to_string(),
        credit_limit: shown.get("credit_limit").and_then(|c| c.as_str()).map(str::to_string),
        tax_id: a.tax_id.clone().unwrap_or_default(),
        owner,
        tags: a.tags.join(", "),
        version: a.version,
    };
    Ok(render(&AccountPage { layout: auth.layout("accounts"), a: view, history }).into_response())
}

/// The new-account form as typed, kept when it is shown again with errors.
#[derive(Debug, Default)]
pub struct AccountForm {
    name: String,
    kinds: Vec<String>,
    currency: String,
    credit_limit: String,
    tax_id: String,
    tags: String,
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
                "tags" => f.tags = v,
                _ => {}
            }
        }
        f
    }
}

#[derive(Template)]
#[template(path = "account_new.html")]
struct NewAccountPage {
    layout: Layout,
    form: AccountForm,
    errors: Vec<FieldError>,
    kinds: Vec<String>,
    show_credit: bool,
}

impl NewAccountPage {
    fn field_error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field || e.field.starts_with(&format!("{field}[")))
            .map(|e| e.message.as_str())
    }
}

fn form_page(auth: &PageAuth, form: AccountForm, errors: Vec<FieldError>) -> NewAccountPage {
    NewAccountPage {
        layout: auth.layout("accounts"),
        form,
        errors,
        kinds: AccountKind::ALL.iter().map(|k| k.as_str().to_string()).collect(),
        show_credit: auth.principal.has(Capability::ViewCreditLimit),
    }
}

/// `GET /accounts/new`.
pub async fn new_form(auth: PageAuth) -> PageResult {
    auth.principal
        .scope_for(T, Action::Create)
        .ok_or_else(|| ApiError::forbidden("your role may not create accounts"))?;
    let form = AccountForm { kinds: vec!["customer".into()], currency: "USD".into(), ..Default::default() };
    Ok(render(&form_page(&auth, form, vec![])).into_response())
}

/// `POST /accounts`: creates the account, or shows the form again with each error next to its field.
pub async fn create(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let form = AccountForm::parse(&body);
    let p = &auth.principal;
    p.scope_for(T, Action::Create).ok_or_else(|| ApiError::forbidden("your role may not create accounts"))?;
    let mut errors = Vec::new();
    let currency = Currency::parse(form.currency.trim().to_uppercase().as_str())
        .map_err(|e| errors.push(FieldError::new("currency", e.to_string())))
        .ok();
    let kinds: Vec<AccountKind> = form.kinds.iter().filter_map(|k| AccountKind::parse(k)).collect();
    let credit_limit =
        Some(form.credit_limit.trim().to_string()).filter(|s| !s.is_empty() && p.has(Capability::ViewCreditLimit));
    if let Some(currency) = currency {
        let new = NewAccount {
            name: form.name.clone(),
            kinds,
            parent_id: None,
            owner_id: None,
            team_id: None,
            currency,
            credit_limit,
            tax_id: Some(form.tax_id.clone()),
            tax_treatment: nave_domain::tax::TaxTreatment::Standard,
            tags: form.tags.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect(),
        };
        let mut tx = app.db.write().await?;
        match accounts::create(&mut tx, &actor_of(p), new).await {
            Ok(a) => {
                tx.commit().await?;
                return Ok(Redirect::to(&format!("/accounts/{}", a.id)).into_response());
            }
            Err(e) => {
                let e: ApiError = e.into();
                if e.code != ErrorCode::ValidationFailed {
                    return Err(e.into());
                }
                errors.extend(e.errors);
            }
        }
    }
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&form_page(&auth, form, errors))).into_response())
}
