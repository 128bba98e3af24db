//! Contact pages: one contact, and the contact form (new, from its account's
//! page, and edit). Who may see an account may see its contacts.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::contact::{ConsentChange, Phone};
use nave_domain::error::FieldError;
use nave_domain::external_id::{ExternalId, parse_pair};
use nave_domain::ids::PublicId;
use nave_store::accounts::{self, Account, Visibility};
use nave_store::contacts::{self, Contact, ContactPatch, ContactQuery, NewContact};

use super::accounts::AddressRow;
use super::views::{Sorting, read_sort};
use super::{
    Choices, FormErrors, Layout, PageAuth, PageError, PageResult, account_choices, fmt_time, form_errors, render,
};
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::present::may_act;
use crate::state::AppState;

const T: RecordType = RecordType::Contact;

/// The contact `id`, when `p` may do `action` to it (404 when they may not
/// even read it, 403 when they may read but not act).
async fn contact_for(tx: &mut nave_store::Tx, p: &Principal, id: &str, action: Action) -> Result<Contact, PageError> {
    let id: PublicId = id.parse().map_err(|_| ApiError::not_found("contact"))?;
    let c = contacts::get(tx, p.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("contact"))?;
    may_act(p, T, action, c.ownership)?;
    Ok(c)
}

/// The account `id`, when `p` may add contacts to it.
async fn account_for(tx: &mut nave_store::Tx, p: &Principal, id: &str) -> Result<Account, PageError> {
    let id: PublicId = id.parse().map_err(|_| ApiError::not_found("account"))?;
    let a = accounts::get(tx, p.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("account"))?;
    if !p.may(RecordType::Account, Action::Read, a.ownership) {
        return Err(ApiError::not_found("account").into());
    }
    if !p.may(T, Action::Create, a.ownership) {
        return Err(ApiError::forbidden("your role may not add contacts to this account").into());
    }
    Ok(a)
}

// ------------------------------------------------------------------ the list

/// The columns the contacts list may show beside the name: (key, heading).
const COLUMNS: &[(&str, &str)] = &[
    ("account", "Account"),
    ("title", "Title"),
    ("email", "E-mail"),
    ("phone", "Phone"),
    ("primary", "Primary"),
    ("consent", "Marketing consent"),
    ("updated", "Updated"),
];
const DEFAULT_COLUMNS: &[&str] = &["account", "title", "email", "phone"];

#[derive(Debug)]
struct ContactRow {
    id: String,
    name: String,
    account_id: String,
    account: String,
    title: String,
    email: String,
    phone: String,
    primary: bool,
    consent: bool,
    updated: String,
    archived: bool,
}

fn contact_row(c: &Contact) -> ContactRow {
    ContactRow {
        id: c.id.to_string(),
        name: format!("{} {}", c.first_name, c.last_name).trim().to_string(),
        account_id: c.account_id.to_string(),
        account: c.account_name.clone(),
        title: c.title.clone().unwrap_or_default(),
        email: c.email.clone().unwrap_or_default(),
        phone: c.phone.clone().unwrap_or_default(),
        primary: c.is_primary,
        consent: c.marketing_consent,
        updated: fmt_time(c.updated_at),
        archived: c.archived,
    }
}

#[derive(Template)]
#[template(path = "contacts.html")]
struct ContactsPage {
    layout: Layout,
    rows: Vec<ContactRow>,
    next: Option<String>,
    accounts: Choices,
    q: String,
    account_id: String,
    archived: bool,
    columns: super::views::Columns,
    views: super::views::ViewsBar,
    /// May the user import contacts (create them)?
    can_import: bool,
    sorting: Sorting,
}

/// The filters (and order) the contacts list reads from its query string.
pub(crate) const FILTERS: &[&str] = &["q", "account_id", "archived", "sort"];

/// The store query of a contacts list view, for the contacts `p` may see.
pub(crate) async fn store_query(
    tx: &mut nave_store::Tx,
    p: &Principal,
    f: &super::views::ViewQuery,
) -> Result<ContactQuery, PageError> {
    let (sort, cursor, sorted_after) = read_sort(contacts::SORTS, f)?;
    let scope = p.scope_for(T, Action::Read).ok_or_else(|| ApiError::forbidden("your role may not read contacts"))?;
    let account_key = match f.get("account_id") {
        "" => None,
        id => Some(account_for(tx, p, id).await?.key),
    };
    let q = ContactQuery {
        visibility: Visibility::of(p, scope),
        account_key,
        archived: Some(f.flag("archived")),
        words: nave_domain::search::query_words(f.get("q")),
        cursor,
        sort,
        sorted_after,
        limit: 50,
        ..ContactQuery::default()
    };
    Ok(q)
}

/// `GET /contacts`: the contacts `p` may see (of their accounts), with search,
/// an account filter, archived ones on request, the columns chosen, saved
/// views and the CSV export of the view.
pub async fn list(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    let p = &auth.principal;
    let f = super::views::ViewQuery::parse(raw.as_deref(), FILTERS);
    let mut tx = app.db.read().await?;
    let q = store_query(&mut tx, p, &f).await?;
    let page = contacts::list(&mut tx, p.tenant_id, &q).await?;
    let accounts = account_choices(&mut tx, p).await?;
    let views = super::views::bar(&mut tx, &auth, "contacts", &f.view_qs()).await?;
    tx.commit().await?;
    let view = ContactsPage {
        layout: auth.layout("contacts"),
        rows: page.items.iter().map(contact_row).collect(),
        next: q.sort.next_of(&page),
        accounts,
        q: f.get("q").to_string(),
        account_id: f.get("account_id").to_string(),
        archived: f.flag("archived"),
        columns: super::views::columns(COLUMNS, DEFAULT_COLUMNS, &f.columns),
        views,
        can_import: auth.principal.scope_for(RecordType::Contact, Action::Create).is_some(),
        sorting: Sorting::new("contacts", contacts::SORTS, q.sort, &f),
    };
    Ok(render(&view).into_response())
}

#[derive(Template)]
#[template(path = "contact.html")]
struct ContactPage {
    layout: Layout,
    c: Contact,
    name: String,
    owner: String,
    consent_at: String,
    can_edit: bool,
    attachments: super::attachments::AttachmentsView,
}

/// `GET /contacts/{id}`.
pub async fn show(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    p.scope_for(T, Action::Read).ok_or_else(|| ApiError::not_found("contact"))?;
    let mut tx = app.db.read().await?;
    let c = contact_for(&mut tx, p, &id, Action::Read).await?;
    let owner = match c.owner_key {
        Some(k) => nave_store::users::get_by_key(&mut tx, p.tenant_id, k).await?.map(|u| u.name).unwrap_or_default(),
        None => String::new(),
    };
    tx.commit().await?;
    let attachments = super::attachments::view(&app, p, T, c.id).await?;
    let page = ContactPage {
        attachments,
        layout: auth.layout("accounts"),
        name: c.full_name(),
        owner,
        consent_at: c.consent_at.map(fmt_time).unwrap_or_default(),
        can_edit: p.may(T, Action::Update, c.ownership),
        c,
    };
    Ok(render(&page).into_response())
}

/// One phone row as typed.
#[derive(Debug, Clone, Default)]
struct PhoneRow {
    label: String,
    number: String,
}

/// The contact form as typed, kept when it is shown again with errors.
#[derive(Debug, Default)]
pub struct ContactForm {
    first_name: String,
    last_name: String,
    title: String,
    emails: String,
    phones: Vec<PhoneRow>,
    address: AddressRow,
    is_primary: bool,
    marketing_consent: bool,
    consent_source: String,
    external_ids: String,
    archived: bool,
    version: String,
}

/// Empty phone rows offered for adding numbers.
const SPARE_PHONES: usize = 2;

impl ContactForm {
    fn parse(body: &[u8]) -> Self {
        let mut f = ContactForm { address: AddressRow::single_of(body, "address_"), ..Default::default() };
        let (mut labels, mut numbers) = (vec![], vec![]);
        for (k, v) in form_urlencoded::parse(body) {
            let v = v.into_owned();
            match k.as_ref() {
                "first_name" => f.first_name = v,
                "last_name" => f.last_name = v,
                "title" => f.title = v,
                "emails" => f.emails = v,
                "phone_label" => labels.push(v),
                "phone_number" => numbers.push(v),
                "is_primary" => f.is_primary = true,
                "marketing_consent" => f.marketing_consent = true,
                "consent_source" => f.consent_source = v,
                "external_ids" => f.external_ids = v,
                "archived" => f.archived = true,
                "version" => f.version = v,
                _ => {}
            }
        }
        f.phones = numbers
            .into_iter()
            .enumerate()
            .map(|(i, number)| PhoneRow { label: labels.get(i).cloned().unwrap_or_default(), number })
            .collect();
        f
    }

    fn of(c: &Contact) -> Self {
        ContactForm {
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            title: c.title.clone().unwrap_or_default(),
            emails: c.emails.join("\n"),
            phones: c.phones.iter().map(|p| PhoneRow { label: p.label.clone(), number: p.number.clone() }).collect(),
            address: c.address.as_ref().map(AddressRow::of_postal).unwrap_or_default(),
            is_primary: c.is_primary,
            marketing_consent: c.marketing_consent,
            consent_source: c.consent_source.clone().unwrap_or_default(),
            external_ids: c.external_ids.iter().map(ExternalId::to_string).collect::<Vec<_>>().join("\n"),
            archived: c.archived,
            version: c.version.to_string(),
        }
    }

    fn emails(&self) -> Vec<String> {
        self.emails.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
    }

    fn phones(&self) -> Vec<Phone> {
        self.phones
            .iter()
            .filter(|p| !p.number.trim().is_empty())
            .map(|p| Phone { label: p.label.clone(), number: p.number.clone() })
            .collect()
    }

    fn consent(&self) -> ConsentChange {
        let source = Some(self.consent_source.trim().to_string()).filter(|s| !s.is_empty());
        ConsentChange { given: Some(self.marketing_consent), at: None, source: Some(source) }
    }

    fn external_ids(&self) -> Result<Vec<ExternalId>, FormErrors> {
        let mut out = Vec::new();
        let mut errs = Vec::new();
        for (i, line) in self.external_ids.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
            match parse_pair(line) {
                Some(e) => out.push(e),
                None => errs.push(FieldError::new(format!("external_ids[{i}]"), "must be system:id, e.g. webshop:77")),
            }
        }
        if errs.is_empty() { Ok(out) } else { Err(FormErrors::from_fields(errs)) }
    }
}

#[derive(Template)]
#[template(path = "contact_form.html")]
struct ContactFormPage {
    layout: Layout,
    account_id: String,
    account_name: String,
    /// `None` for a new contact.
    id: Option<String>,
    form: ContactForm,
    errors: FormErrors,
}

impl ContactFormPage {
    /// The one-line text fields, in order: name, label, value.
    fn text_fields(&self) -> Vec<(&'static str, &'static str, &str)> {
        let f = &self.form;
        vec![
            ("first_name", "First name", f.first_name.as_str()),
            ("last_name", "Last name", f.last_name.as_str()),
            ("title", "Title", f.title.as_str()),
        ]
    }

    /// The address fields, in order: name, label, value.
    fn address_fields(&self) -> Vec<(&'static str, &'static str, &str)> {
        let a = &self.form.address;
        vec![
            ("address_label", "Label", a.label()),
            ("address_line1", "Street", a.line1()),
            ("address_line2", "Street, second line", a.line2()),
            ("address_city", "City", a.city()),
            ("address_region", "Region", a.region()),
            ("address_postal_code", "Postal code", a.postal_code()),
            ("address_country", "Country (ISO code, e.g. GB)", a.country()),
        ]
    }
}

fn form_page(
    auth: &PageAuth,
    account: &Account,
    id: Option<PublicId>,
    mut form: ContactForm,
    errors: FormErrors,
) -> ContactFormPage {
    form.phones.extend(std::iter::repeat_n(PhoneRow::default(), SPARE_PHONES));
    ContactFormPage {
        layout: auth.layout("accounts"),
        account_id: account.id.to_string(),
        account_name: account.name.clone(),
        id: id.map(|i| i.to_string()),
        form,
        errors,
    }
}

/// `GET /accounts/{id}/contacts/new`.
pub async fn new_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    p.scope_for(T, Action::Create).ok_or_else(|| ApiError::forbidden("your role may not create contacts"))?;
    let mut tx = app.db.read().await?;
    let a = account_for(&mut tx, p, &id).await?;
    tx.commit().await?;
    Ok(render(&form_page(&auth, &a, None, ContactForm::default(), FormErrors::default())).into_response())
}

/// `GET /contacts/{id}/edit`.
pub async fn edit_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    p.scope_for(T, Action::Update).ok_or_else(|| ApiError::forbidden("your role may not edit contacts"))?;
    let mut tx = app.db.read().await?;
    let c = contact_for(&mut tx, p, &id, Action::Update).await?;
    let a = accounts::get(&mut tx, p.tenant_id, c.account_id).await?.ok_or_else(|| ApiError::not_found("account"))?;
    tx.commit().await?;
    Ok(render(&form_page(&auth, &a, Some(c.id), ContactForm::of(&c), FormErrors::default())).into_response())
}

/// `POST /accounts/{id}/contacts`: creates the contact, or shows the form
/// again with each error next to its field and nothing stored.
pub async fn create(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    p.scope_for(T, Action::Create).ok_or_else(|| ApiError::forbidden("your role may not create contacts"))?;
    let form = ContactForm::parse(&body);
    let mut tx = app.db.write().await?;
    let a = account_for(&mut tx, p, &id).await?;
    let errors = match form.external_ids() {
        Err(errors) => errors,
        Ok(external_ids) => {
            let new = NewContact {
                account_id: Some(a.id),
                first_name: form.first_name.clone(),
                last_name: form.last_name.clone(),
                title: Some(form.title.clone()),
                emails: form.emails(),
                phones: form.phones(),
                address: Some(form.address.postal()).filter(|_| !form.address.is_blank()),
                is_primary: Some(form.is_primary),
                consent: form.consent(),
                owner_id: None,
                external_ids,
                archived: false,
            };
            match contacts::create(&mut tx, &actor_of(p), new).await {
                Ok(c) => {
                    tx.commit().await?;
                    return Ok(Redirect::to(&format!("/contacts/{}", c.id)).into_response());
                }
                Err(e) => form_errors(e)?,
            }
        }
    };
    tx.rollback().await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&form_page(&auth, &a, None, form, errors))).into_response())
}

/// `POST /contacts/{id}`: saves the edit form (with the version it was opened at).
pub async fn update(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    p.scope_for(T, Action::Update).ok_or_else(|| ApiError::forbidden("your role may not edit contacts"))?;
    let form = ContactForm::parse(&body);
    let mut tx = app.db.write().await?;
    let before = contact_for(&mut tx, p, &id, Action::Update).await?;
    let errors = match form.external_ids() {
        Err(errors) => errors,
        Ok(external_ids) => {
            let patch = ContactPatch {
                first_name: Some(form.first_name.clone()),
                last_name: Some(form.last_name.clone()),
                title: Some(Some(form.title.clone())),
                emails: Some(form.emails()),
                phones: Some(form.phones()),
                address: Some(Some(form.address.postal()).filter(|_| !form.address.is_blank())),
                // Un-ticking the primary box is no instruction: another contact is made primary instead.
                is_primary: form.is_primary.then_some(true),
                consent: form.consent(),
                external_ids: Some(external_ids),
                archived: Some(form.archived),
                ..Default::default()
            };
            let version = form.version.trim().parse::<i64>().ok();
            match contacts::update(&mut tx, &actor_of(p), &before, version, patch).await {
                Ok(c) => {
                    tx.commit().await?;
                    return Ok(Redirect::to(&format!("/contacts/{}", c.id)).into_response());
                }
                Err(e) => form_errors(e)?,
            }
        }
    };
    let a =
        accounts::get(&mut tx, p.tenant_id, before.account_id).await?.ok_or_else(|| ApiError::not_found("account"))?;
    tx.rollback().await?;
    let page = form_page(&auth, &a, Some(before.id), form, errors);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}
