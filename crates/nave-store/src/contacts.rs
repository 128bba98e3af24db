//! Contacts: the people at an account.
//!
//! A contact belongs to one account and is seen by whoever may see that
//! account (its record scope is the account's ownership; the contact's own
//! `owner_id` says who looks after the person, not who may see them).
//!
//! **Primary contact.** Among an account's contacts that are not archived,
//! exactly one is primary: the first contact becomes primary; making another
//! primary un-marks the old one in the same transaction; deleting, archiving
//! or moving away the primary promotes the oldest remaining contact. An
//! archived contact is never primary. Every contact whose flag changes gets a
//! new version, an audit entry and an event.

use nave_domain::DomainError;
use nave_domain::access::{Ownership, RecordType};
use nave_domain::account::check_optional;
use nave_domain::address::{PostalAddress, check_postal};
use nave_domain::contact::{self, Consent, ConsentChange, Phone};
use nave_domain::error::Validator;
use nave_domain::external_id::{ExternalId, check_external_ids};
use nave_domain::ids::PublicId;
use nave_domain::search::Field;
use serde::Serialize;
use time::OffsetDateTime;

use crate::accounts::Visibility;
use crate::audit::{self, Actor};
use crate::db::{Arg, DbRow, Tx, now};
use crate::external_ids::{self, CONTACTS as EXTERNAL};
use crate::page::{Cursor, ListSql, Page, Sort, SortColumn, SortCursor, SortValue};
use crate::{StoreError, StoreResult, args, expect_version, users};

const T: RecordType = RecordType::Contact;

/// A contact as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Contact {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub account_key: i64,
    /// The account's ownership: the contact's record scope.
    #[serde(skip)]
    pub ownership: Ownership,
    #[serde(skip)]
    pub owner_key: Option<i64>,
    #[serde(skip)]
    pub account_name: String,
    #[schema(value_type = String)]
    pub id: PublicId,
    #[schema(value_type = String)]
    pub account_id: PublicId,
    pub first_name: String,
    pub last_name: String,
    /// Job title, e.g. "Head of purchasing".
    pub title: Option<String>,
    /// E-mail addresses, the preferred one first.
    pub emails: Vec<String>,
    /// The first of `emails`.
    pub email: Option<String>,
    #[schema(value_type = Vec<Object>, example = json!([{"label": "mobile", "number": "+44 7700 900123"}]))]
    pub phones: Vec<Phone>,
    /// The number of the first of `phones`.
    pub phone: Option<String>,
    #[schema(value_type = Option<crate::addresses::PostalAddressSchema>)]
    pub address: Option<PostalAddress>,
    /// The account's primary contact; exactly one of an account's active contacts is.
    pub is_primary: bool,
    /// May we send this person marketing?
    pub marketing_consent: bool,
    /// When consent was given (or its withdrawal recorded).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub consent_at: Option<OffsetDateTime>,
    /// Where consent came from, e.g. "web form".
    pub consent_source: Option<String>,
    /// The user who looks after this person.
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<PublicId>,
    #[schema(value_type = Vec<crate::external_ids::ExternalIdSchema>)]
    pub external_ids: Vec<ExternalId>,
    pub archived: bool,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl Contact {
    /// "First Last", or whichever is given.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name).trim().to_string()
    }

    fn consent(&self) -> Consent {
        Consent { given: self.marketing_consent, at: self.consent_at, source: self.consent_source.clone() }
    }
}

/// The columns of contacts in CSV exports and imports, in order. `account`
/// names the account by an external id or its exact name.
pub const CSV_COLUMNS: [&str; 20] = [
    "account",
    "first_name",
    "last_name",
    "title",
    "emails",
    "phones",
    "address_label",
    "address_line1",
    "address_line2",
    "address_city",
    "address_region",
    "address_postal_code",
    "address_country",
    "is_primary",
    "marketing_consent",
    "consent_at",
    "consent_source",
    "owner",
    "archived",
    "external_ids",
];

const SELECT: &str = "SELECT c.id, c.public_id, c.account_id, c.first_name, c.last_name, c.title, c.phones, \
    c.address, c.is_primary, c.marketing_consent, c.consent_at, c.consent_source, c.owner_id, c.archived, c.version, \
    c.created_at, c.updated_at, a.public_id AS account_public_id, a.owner_id AS account_owner_id, \
    a.team_id AS account_team_id, a.name AS account_name, o.public_id AS owner_public_id \
    FROM contacts c JOIN accounts a ON a.tenant_id = c.tenant_id AND a.id = c.account_id \
    LEFT JOIN users o ON o.tenant_id = c.tenant_id AND o.id = c.owner_id";

fn decode(r: &dyn DbRow) -> StoreResult<Contact> {
    let bad = |e: serde_json::Error| StoreError::Decode(e.to_string());
    let phones: Vec<Phone> = serde_json::from_str(&r.text("phones")?).map_err(bad)?;
    let address = r.opt_text("address")?.map(|a| serde_json::from_str(&a)).transpose().map_err(bad)?;
    Ok(Contact {
        key: r.i64("id")?,
        account_key: r.i64("account_id")?,
        ownership: Ownership { owner_id: r.opt_i64("account_owner_id")?, team_id: r.opt_i64("account_team_id")? },
        owner_key: r.opt_i64("owner_id")?,
        account_name: r.text("account_name")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        account_id: PublicId::from_uuid(r.uuid("account_public_id")?),
        first_name: r.text("first_name")?,
        last_name: r.text("last_name")?,
        title: r.opt_text("title")?,
        emails: vec![],
        email: None,
        phone: phones.first().map(|p| p.number.clone()),
        phones,
        address,
        is_primary: r.boolean("is_primary")?,
        marketing_consent: r.boolean("marketing_consent")?,
        consent_at: r.opt_ts("consent_at")?,
        consent_source: r.opt_text("consent_source")?,
        owner_id: r.opt_uuid("owner_public_id")?.map(PublicId::from_uuid),
        external_ids: vec![],
        archived: r.boolean("archived")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

/// Fills in the e-mails and external ids of contacts (two queries for any number).
async fn with_parts(tx: &mut Tx, tenant_id: i64, mut list: Vec<Contact>) -> StoreResult<Vec<Contact>> {
    if list.is_empty() {
        return Ok(list);
    }
    let keys: Vec<i64> = list.iter().map(|c| c.key).collect();
    // Keys are integers from the database, safe to inline.
    let in_list = keys.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let emails = tx
        .fetch_all(
            format!(
                "SELECT contact_id, email FROM contact_emails WHERE tenant_id = $1 AND contact_id IN ({in_list}) \
                 ORDER BY contact_id, position"
            ),
            args![tenant_id],
            |r| Ok((r.i64("contact_id")?, r.text("email")?)),
        )
        .await?;
    let ext = external_ids::load(tx, EXTERNAL, tenant_id, &keys).await?;
    for c in &mut list {
        c.emails = emails.iter().filter(|(k, _)| *k == c.key).map(|(_, e)| e.clone()).collect();
        c.email = c.emails.first().cloned();
        c.external_ids = ext.iter().filter(|(k, _)| *k == c.key).map(|(_, e)| e.clone()).collect();
    }
    Ok(list)
}

async fn get_where(tx: &mut Tx, tenant_id: i64, cond: &str, value: Arg) -> StoreResult<Option<Contact>> {
    let row = tx
        .fetch_optional(format!("{SELECT} WHERE c.tenant_id = $1 AND {cond}"), vec![tenant_id.into(), value], decode)
        .await?;
    match row {
        Some(c) => Ok(with_parts(tx, tenant_id, vec![c]).await?.pop()),
        None => Ok(None),
    }
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Contact>> {
    get_where(tx, tenant_id, "c.public_id = $2", id.into()).await
}

async fn get_by_key(tx: &mut Tx, tenant_id: i64, key: i64) -> StoreResult<Contact> {
    get_where(tx, tenant_id, "c.id = $2", key.into()).await?.ok_or(DomainError::NotFound { record: "contact" }.into())
}

/// The contact holding this id in another system, if any.
pub async fn get_by_external_id(tx: &mut Tx, tenant_id: i64, e: &ExternalId) -> StoreResult<Option<Contact>> {
    match external_ids::owner_of(tx, EXTERNAL, tenant_id, e).await? {
        Some(key) => get_where(tx, tenant_id, "c.id = $2", key.into()).await,
        None => Ok(None),
    }
}

/// Filters of the contact list.
#[derive(Debug, Clone)]
pub struct ContactQuery {
    /// Whose accounts' contacts.
    pub visibility: Visibility,
    pub account_key: Option<i64>,
    /// Contacts with this e-mail address (any of theirs, ignoring case).
    pub email: Option<String>,
    pub updated_since: Option<OffsetDateTime>,
    /// `None` = both; the default list shows active contacts only.
    pub archived: Option<bool>,
    pub external_id: Option<ExternalId>,
    /// Search words: each must begin a word of the contact (names, emails, phones, external ids).
    pub words: Vec<String>,
    pub cursor: Option<Cursor>,
    /// The order; the list's own (no column) pages by `cursor`, the others by `sorted_after`.
    pub sort: Sort<Contact>,
    pub sorted_after: Option<SortCursor>,
    pub limit: i64,
}

/// The columns the contact list sorts by (`?sort=`); without one, oldest first.
pub static SORTS: &[SortColumn<Contact>] = &[
    SortColumn {
        name: "name",
        sql: "(c.last_name || ' ' || c.first_name)",
        value: |c| SortValue::Text(format!("{} {}", c.last_name, c.first_name)),
    },
    SortColumn { name: "account", sql: "a.name", value: |c| SortValue::Text(c.account_name.clone()) },
];

impl Default for ContactQuery {
    fn default() -> Self {
        Self {
            visibility: Visibility::All,
            account_key: None,
            email: None,
            updated_since: None,
            archived: Some(false),
            external_id: None,
            words: vec![],
            cursor: None,
            sort: Sort::default(),
            sorted_after: None,
            limit: 50,
        }
    }
}

pub async fn list(tx: &mut Tx, tenant_id: i64, q: &ContactQuery) -> StoreResult<Page<Contact>> {
    let mut f = ListSql::new(SELECT, "c.tenant_id", tenant_id);
    q.visibility.push(&mut f);
    f.and_some("c.account_id = ?", q.account_key);
    f.and_some(
        "c.id IN (SELECT e.contact_id FROM contact_emails e WHERE e.tenant_id = $1 AND e.email_key = ?)",
        q.email.as_deref().map(|e| e.trim().to_lowercase()),
    );
    f.and_some("c.updated_at >= ?", q.updated_since);
    f.and_some("c.archived = ?", q.archived);
    if let Some(e) = &q.external_id {
        external_ids::push_filter(EXTERNAL, "c.id", e, &mut f);
    }
    if let Some(cond) = crate::search::matching_keys("c.id", T, &q.words, &mut f.args) {
        f.sql.push_str(&format!(" AND {cond}"));
    }
    let limit = f.sorted_page("c.id", false, q.sort, q.cursor, q.sorted_after.as_ref(), q.limit);
    let rows = tx.fetch_all(f.sql, f.args, decode).await?;
    let page = Page::from_rows(rows, limit, |c| c.key);
    let items = with_parts(tx, tenant_id, page.items).await?;
    Ok(Page { items, next: page.next })
}

/// Writes the words a contact is found by.
pub async fn index(tx: &mut Tx, tenant_id: i64, c: &Contact) -> StoreResult<()> {
    let mut fields = vec![Field::Text(&c.first_name), Field::Text(&c.last_name)];
    fields.extend(c.emails.iter().map(|e| Field::Email(e)));
    fields.extend(c.phones.iter().map(|p| Field::Phone(&p.number)));
    fields.extend(c.external_ids.iter().map(|e| Field::Code(&e.id)));
    crate::search::index(tx, tenant_id, T, c.key, &fields).await
}

/// A contact to create.
#[derive(Debug, Clone, Default)]
pub struct NewContact {
    pub account_id: Option<PublicId>,
    pub first_name: String,
    pub last_name: String,
    pub title: Option<String>,
    pub emails: Vec<String>,
    pub phones: Vec<Phone>,
    pub address: Option<PostalAddress>,
    /// `Some(true)` makes the new contact the primary one; the first contact
    /// of an account is primary regardless.
    pub is_primary: Option<bool>,
    pub consent: ConsentChange,
    /// Default: the account's owner.
    pub owner_id: Option<PublicId>,
    pub external_ids: Vec<ExternalId>,
    /// Imports may bring people who have left already (never primary).
    pub archived: bool,
}

/// Changes to a contact; `None` keeps, `Some(None)` clears, lists replace.
#[derive(Debug, Clone, Default)]
pub struct ContactPatch {
    pub account_id: Option<PublicId>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<Option<String>>,
    pub emails: Option<Vec<String>>,
    pub phones: Option<Vec<Phone>>,
    pub address: Option<Option<PostalAddress>>,
    pub is_primary: Option<bool>,
    pub consent: ConsentChange,
    pub owner_id: Option<Option<PublicId>>,
    pub external_ids: Option<Vec<ExternalId>>,
    pub archived: Option<bool>,
}

/// What a contact's account must be: known, and not archived.
struct AccountRef {
    key: i64,
    owner: Option<i64>,
}

/// Resolves and locks the account a contact is written to: its row is locked
/// so that two writers cannot both decide who is primary.
async fn target_account(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<AccountRef> {
    let sql = format!(
        "SELECT id, name, owner_id, archived FROM accounts WHERE tenant_id = $1 AND public_id = $2{}",
        tx.for_update()
    );
    let row = tx
        .fetch_optional(sql, args![tenant_id, id], |r| {
            Ok((r.i64("id")?, r.text("name")?, r.opt_i64("owner_id")?, r.boolean("archived")?))
        })
        .await?;
    let (key, name, owner, archived) =
        row.ok_or_else(|| DomainError::invalid("account_id", "is not the id of an account"))?;
    if archived {
        return Err(DomainError::invalid(
            "account_id",
            format!("{name} is archived; contacts can only be added to active accounts"),
        )
        .into());
    }
    Ok(AccountRef { key, owner })
}

async fn lock_account(tx: &mut Tx, tenant_id: i64, key: i64) -> StoreResult<()> {
    let sql = format!("SELECT id FROM accounts WHERE tenant_id = $1 AND id = $2{}", tx.for_update());
    tx.fetch_optional(sql, args![tenant_id, key], |r| r.i64("id")).await?;
    Ok(())
}

/// The plain fields of a contact, checked.
struct Checked {
    first_name: String,
    last_name: String,
    title: Option<String>,
    emails: Vec<nave_domain::email::Email>,
    phones: Vec<Phone>,
    address: Option<PostalAddress>,
    consent: Consent,
    external_ids: Option<Vec<ExternalId>>,
}

#[allow(clippy::too_many_arguments)]
fn check(
    v: &mut Validator,
    first: &str,
    last: &str,
    title: Option<&str>,
    emails: &[String],
    phones: &[Phone],
    address: Option<&PostalAddress>,
    before: Option<&Consent>,
    consent: &ConsentChange,
    external_ids: Option<&[ExternalId]>,
) -> Checked {
    let (first_name, last_name) = contact::check_names(v, first, last);
    Checked {
        first_name,
        last_name,
        title: check_optional(v, "title", title, 100),
        emails: contact::check_emails(v, emails),
        phones: contact::check_phones(v, phones),
        address: address.map(|a| check_postal(v, "address", a)),
        consent: contact::check_consent(v, before, consent, now()),
        external_ids: external_ids.map(|e| check_external_ids(v, "external_ids", e)),
    }
}

async fn write_emails(tx: &mut Tx, tenant_id: i64, key: i64, emails: &[nave_domain::email::Email]) -> StoreResult<()> {
    tx.execute("DELETE FROM contact_emails WHERE tenant_id = $1 AND contact_id = $2", args![tenant_id, key]).await?;
    for (i, e) in emails.iter().enumerate() {
        let domain = e.as_str().rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
        tx.execute(
            "INSERT INTO contact_emails (tenant_id, contact_id, position, email, email_key, domain) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![tenant_id, key, i as i64, e.as_str(), e.key(), domain],
        )
        .await?;
    }
    Ok(())
}

fn json_text<S: Serialize>(v: &S) -> String {
    serde_json::to_string(v).expect("contact parts serialise")
}

/// Sets one contact's primary flag as a change of its own (version, audit, event).
async fn set_primary(tx: &mut Tx, actor: &Actor, key: i64, primary: bool) -> StoreResult<()> {
    let before = get_by_key(tx, actor.tenant_id, key).await?;
    tx.execute(
        "UPDATE contacts SET is_primary = $3, version = version + 1, updated_at = $4, updated_by = $5 \
         WHERE tenant_id = $1 AND id = $2",
        args![actor.tenant_id, key, primary, now(), actor.user_id],
    )
    .await?;
    let after = get_by_key(tx, actor.tenant_id, key).await?;
    audit::updated(tx, actor, T, after.id, after.version, &before, &after).await
}

/// Un-marks the account's primary contact, other than `except`.
async fn demote_primary(tx: &mut Tx, actor: &Actor, account: i64, except: Option<i64>) -> StoreResult<()> {
    let current = tx
        .fetch_all(
            "SELECT id FROM contacts WHERE tenant_id = $1 AND account_id = $2 AND is_primary = $3",
            args![actor.tenant_id, account, true],
            |r| r.i64("id"),
        )
        .await?;
    for k in current.into_iter().filter(|k| Some(*k) != except) {
        set_primary(tx, actor, k, false).await?;
    }
    Ok(())
}

/// Makes the oldest active contact of the account primary when none is.
async fn settle_primary(tx: &mut Tx, actor: &Actor, account: i64) -> StoreResult<()> {
    let t = actor.tenant_id;
    let has = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM contacts WHERE tenant_id = $1 AND account_id = $2 AND is_primary = $3",
            args![t, account, true],
        )
        .await?;
    if has > 0 {
        return Ok(());
    }
    let oldest = tx
        .fetch_optional(
            "SELECT id FROM contacts WHERE tenant_id = $1 AND account_id = $2 AND archived = $3 ORDER BY id LIMIT 1",
            args![t, account, false],
            |r| r.i64("id"),
        )
        .await?;
    if let Some(k) = oldest {
        set_primary(tx, actor, k, true).await?;
    }
    Ok(())
}

async fn active_contacts(tx: &mut Tx, tenant_id: i64, account: i64, except: Option<i64>) -> StoreResult<i64> {
    tx.scalar_i64(
        "SELECT COUNT(*) AS v FROM contacts WHERE tenant_id = $1 AND account_id = $2 AND archived = $3 AND id <> $4",
        args![tenant_id, account, false, except.unwrap_or(0)],
    )
    .await
}

pub async fn create(tx: &mut Tx, actor: &Actor, new: NewContact) -> StoreResult<Contact> {
    let mut v = Validator::new();
    if new.account_id.is_none() {
        v.add("account_id", "is required");
    }
    let c = check(
        &mut v,
        &new.first_name,
        &new.last_name,
        new.title.as_deref(),
        &new.emails,
        &new.phones,
        new.address.as_ref(),
        None,
        &new.consent,
        Some(&new.external_ids),
    );
    v.finish()?;
    let t = actor.tenant_id;
    let account = target_account(tx, t, new.account_id.expect("checked")).await?;
    let owner = match new.owner_id {
        Some(o) => Some(users::resolve(tx, t, o, "owner_id").await?),
        None => account.owner.or(actor.user_id),
    };
    let first = active_contacts(tx, t, account.key, None).await? == 0;
    let primary = !new.archived && (first || new.is_primary == Some(true));
    if primary {
        demote_primary(tx, actor, account.key, None).await?;
    }
    let id = PublicId::new();
    let at = now();
    let sql = format!(
        "INSERT INTO contacts (tenant_id, id, public_id, account_id, first_name, last_name, title, phones, address, \
         is_primary, marketing_consent, consent_at, consent_source, owner_id, archived, version, created_at, \
         updated_at, created_by, updated_by) \
         VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $15, $16, $16) RETURNING id",
        tx.new_id_expr("contacts", "$1")
    );
    let key = tx
        .fetch_one(
            sql,
            args![
                t,
                id,
                account.key,
                &c.first_name,
                &c.last_name,
                c.title.clone(),
                json_text(&c.phones),
                c.address.as_ref().map(json_text),
                primary,
                c.consent.given,
                c.consent.at,
                c.consent.source.clone(),
                owner,
                new.archived,
                at,
                actor.user_id
            ],
            |r| r.i64("id"),
        )
        .await?;
    write_emails(tx, t, key, &c.emails).await?;
    external_ids::insert(tx, EXTERNAL, t, key, c.external_ids.as_deref().unwrap_or_default()).await?;
    let created = get_by_key(tx, t, key).await?;
    index(tx, actor.tenant_id, &created).await?;
    audit::created(tx, actor, T, id, &created).await?;
    Ok(created)
}

impl crate::sync::Guarded for ContactPatch {
    type Record = Contact;

    fn sets(&self, field: &str, _: &Contact) -> bool {
        match field {
            "account_id" => self.account_id.is_some(),
            "first_name" => self.first_name.is_some(),
            "last_name" => self.last_name.is_some(),
            "title" => self.title.is_some(),
            "emails" => self.emails.is_some(),
            "phones" => self.phones.is_some(),
            "address" => self.address.is_some(),
            "is_primary" => self.is_primary.is_some(),
            "marketing_consent" => {
                self.consent.given.is_some() || self.consent.at.is_some() || self.consent.source.is_some()
            }
            "owner_id" => self.owner_id.is_some(),
            "archived" => self.archived.is_some(),
            _ => false,
        }
    }

    fn keep(&mut self, field: &str, _: &Contact) {
        match field {
            "account_id" => self.account_id = None,
            "first_name" => self.first_name = None,
            "last_name" => self.last_name = None,
            "title" => self.title = None,
            "emails" => self.emails = None,
            "phones" => self.phones = None,
            "address" => self.address = None,
            "is_primary" => self.is_primary = None,
            "marketing_consent" => self.consent = ConsentChange::default(),
            "owner_id" => self.owner_id = None,
            "archived" => self.archived = None,
            _ => {}
        }
    }
}

/// Updates a contact under the master rules (see `accounts::update`). The
/// caller has checked the permission on `before` (and on the account it
/// moves to).
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    before: &Contact,
    if_version: Option<i64>,
    mut patch: ContactPatch,
) -> StoreResult<Contact> {
    expect_version("contact", before.version, if_version)?;
    let held = crate::sync::held(tx, actor, T, &patch, before).await?;
    if !held.is_empty() {
        let sp = tx.savepoint().await?;
        let trial = write_update(tx, actor, before, patch.clone()).await;
        tx.rollback_to(sp).await?;
        let record = (before.key, before.id);
        crate::sync::hold_back(tx, actor, T, record, &held, before, &trial?, &mut patch).await?;
    }
    write_update(tx, actor, before, patch).await
}

/// Writes an update as given (the master rules were applied by [`update`]).
async fn write_update(tx: &mut Tx, actor: &Actor, before: &Contact, patch: ContactPatch) -> StoreResult<Contact> {
    let mut v = Validator::new();
    let c = check(
        &mut v,
        patch.first_name.as_deref().unwrap_or(&before.first_name),
        patch.last_name.as_deref().unwrap_or(&before.last_name),
        patch.title.clone().unwrap_or_else(|| before.title.clone()).as_deref(),
        patch.emails.as_deref().unwrap_or(&before.emails),
        patch.phones.as_deref().unwrap_or(&before.phones),
        patch.address.clone().unwrap_or_else(|| before.address.clone()).as_ref(),
        Some(&before.consent()),
        &patch.consent,
        patch.external_ids.as_deref(),
    );
    let archived = patch.archived.unwrap_or(before.archived);
    if archived && patch.is_primary == Some(true) {
        v.add("is_primary", "an archived contact cannot be the primary contact");
    }
    v.finish()?;
    let t = actor.tenant_id;
    let account = match patch.account_id {
        Some(a) => target_account(tx, t, a).await?.key,
        None => {
            lock_account(tx, t, before.account_key).await?;
            before.account_key
        }
    };
    let moved = account != before.account_key;
    if moved {
        lock_account(tx, t, before.account_key).await?;
    }
    let owner = match patch.owner_id {
        Some(Some(o)) => Some(users::resolve(tx, t, o, "owner_id").await?),
        Some(None) => None,
        None => before.owner_key,
    };
    let others = active_contacts(tx, t, account, Some(before.key)).await?;
    let primary = if archived {
        false
    } else if others == 0 {
        true
    } else {
        match patch.is_primary {
            Some(true) => true,
            Some(false) if before.is_primary && !moved => {
                return Err(DomainError::invalid(
                    "is_primary",
                    "the account needs a primary contact; make another contact primary instead",
                )
                .into());
            }
            Some(false) => false,
            None => before.is_primary && !moved,
        }
    };
    // Un-mark first, so that the one-primary-per-account index holds at every step.
    if before.is_primary && (!primary || moved) {
        tx.execute("UPDATE contacts SET is_primary = $3 WHERE tenant_id = $1 AND id = $2", args![t, before.key, false])
            .await?;
    }
    if primary {
        demote_primary(tx, actor, account, Some(before.key)).await?;
    }
    let n = tx
        .execute(
            "UPDATE contacts SET account_id = $4, first_name = $5, last_name = $6, title = $7, phones = $8, \
             address = $9, is_primary = $10, marketing_consent = $11, consent_at = $12, consent_source = $13, \
             owner_id = $14, archived = $15, version = version + 1, updated_at = $16, updated_by = $17 \
             WHERE tenant_id = $1 AND id = $2 AND version = $3",
            args![
                t,
                before.key,
                before.version,
                account,
                &c.first_name,
                &c.last_name,
                c.title.clone(),
                json_text(&c.phones),
                c.address.as_ref().map(json_text),
                primary,
                c.consent.given,
                c.consent.at,
                c.consent.source.clone(),
                owner,
                archived,
                now(),
                actor.user_id
            ],
        )
        .await?;
    if n == 0 {
        let current = get(tx, t, before.id).await?.map_or(before.version, |c| c.version);
        return Err(DomainError::VersionMismatch { record: "contact", current }.into());
    }
    if patch.emails.is_some() {
        write_emails(tx, t, before.key, &c.emails).await?;
    }
    if let Some(ext) = &c.external_ids {
        external_ids::replace(tx, EXTERNAL, t, before.key, ext).await?;
    }
    if before.is_primary && (moved || archived) {
        settle_primary(tx, actor, before.account_key).await?;
    }
    let after = get_by_key(tx, t, before.key).await?;
    index(tx, actor.tenant_id, &after).await?;
    audit::updated(tx, actor, T, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// Deletes a contact; when it was the primary one, the oldest remaining
/// contact of the account becomes primary.
pub async fn delete(tx: &mut Tx, actor: &Actor, before: &Contact, if_version: Option<i64>) -> StoreResult<()> {
    expect_version("contact", before.version, if_version)?;
    let t = actor.tenant_id;
    lock_account(tx, t, before.account_key).await?;
    crate::attachments::delete_for_record(
        tx,
        actor,
        crate::attachments::Owner { record_type: RecordType::Contact, key: before.key, id: before.id },
    )
    .await?;
    crate::search::remove(tx, t, T, before.key).await?;
    crate::sync::delete_for_record(tx, t, T, before.key).await?;
    tx.execute("DELETE FROM contacts WHERE tenant_id = $1 AND id = $2", args![t, before.key]).await?;
    audit::deleted(tx, actor, T, before.id, before.version + 1, before).await?;
    if before.is_primary {
        settle_primary(tx, actor, before.account_key).await?;
    }
    Ok(())
}
