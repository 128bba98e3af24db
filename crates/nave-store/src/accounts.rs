//! Accounts: the hub every CRM and order-side record hangs from.
//!
//! This module holds the account's fields, its addresses (`addresses`) and
//! its ids in other systems (`external_ids`), and finds likely duplicates of
//! a new account (`likely_duplicates`, by the keys of
//! `nave_domain::duplicates`). Later modules (contacts, documents, …) refer to
//! accounts by key.

use nave_domain::DomainError;
use nave_domain::access::{Ownership, Principal, RecordType, Scope};
use nave_domain::account::{self, AccountKind};
use nave_domain::address::{AccountAddress, check_account_addresses};
use nave_domain::catalog::check_text;
use nave_domain::duplicates::{self, MatchKeys, Reason};
use nave_domain::error::Validator;
use nave_domain::external_id::{ExternalId, check_external_ids};
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, Money};
use nave_domain::search::Field;
use nave_domain::tax::TaxTreatment;
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::db::{Arg, DbRow, Tx, now};
use crate::external_ids::{self, ACCOUNTS as EXTERNAL};
use crate::page::{Cursor, ListSql, Page, Sort, SortColumn, SortCursor, SortValue};
use crate::{StoreError, StoreResult, addresses, args, expect_version, payment_terms, teams, users};

/// An account as the API shows it. `credit_limit` is field-secured.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Account {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub ownership: Ownership,
    #[serde(skip)]
    pub payment_terms_key: Option<i64>,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub name: String,
    #[schema(value_type = Vec<String>, example = json!(["customer"]))]
    pub kinds: Vec<AccountKind>,
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<PublicId>,
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<PublicId>,
    #[schema(value_type = Option<String>)]
    pub team_id: Option<PublicId>,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// Decimal string in the account's currency; absent without `view_credit_limit`.
    #[schema(value_type = Option<String>, example = "5000.00")]
    pub credit_limit: Option<String>,
    pub tax_id: Option<String>,
    /// `standard`, `exempt` or `reverse_charge`.
    #[schema(value_type = String, example = "standard")]
    pub tax_treatment: TaxTreatment,
    pub tags: Vec<String>,
    pub industry: Option<String>,
    /// The company's web address.
    #[schema(example = "https://www.example.com")]
    pub website: Option<String>,
    pub phone: Option<String>,
    /// The payment terms the account's invoices get by default.
    #[schema(value_type = Option<String>)]
    pub payment_terms_id: Option<PublicId>,
    /// Free text, several lines.
    pub notes: String,
    /// Postal addresses in order; at most one default billing and one default shipping address.
    #[schema(value_type = Vec<crate::addresses::AccountAddressSchema>)]
    pub addresses: Vec<AccountAddress>,
    /// The account's ids in other systems (web shop, ERP), one per system.
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

const SELECT: &str = "SELECT a.id, a.public_id, a.name, a.kinds, a.owner_id, a.team_id, a.currency, \
    a.credit_limit_minor, a.tax_id, a.tax_treatment, a.tags, a.archived, a.version, a.created_at, a.updated_at, \
    a.industry, a.website, a.phone, a.notes, a.payment_terms_id, \
    p.public_id AS parent_public_id, o.public_id AS owner_public_id, t.public_id AS team_public_id, \
    pt.public_id AS payment_terms_public_id \
    FROM accounts a \
    LEFT JOIN accounts p ON p.tenant_id = a.tenant_id AND p.id = a.parent_id \
    LEFT JOIN users o ON o.tenant_id = a.tenant_id AND o.id = a.owner_id \
    LEFT JOIN teams t ON t.tenant_id = a.tenant_id AND t.id = a.team_id \
    LEFT JOIN payment_terms pt ON pt.tenant_id = a.tenant_id AND pt.id = a.payment_terms_id";

fn decode(r: &dyn DbRow) -> StoreResult<Account> {
    let bad = |e: String| StoreError::Decode(e);
    let currency = Currency::parse(&r.text("currency")?).map_err(|e| bad(e.to_string()))?;
    let kinds: Vec<AccountKind> = serde_json::from_str(&r.text("kinds")?).map_err(|e| bad(e.to_string()))?;
    let tags: Vec<String> = serde_json::from_str(&r.text("tags")?).map_err(|e| bad(e.to_string()))?;
    Ok(Account {
        key: r.i64("id")?,
        ownership: Ownership { owner_id: r.opt_i64("owner_id")?, team_id: r.opt_i64("team_id")? },
        payment_terms_key: r.opt_i64("payment_terms_id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        name: r.text("name")?,
        kinds,
        parent_id: r.opt_uuid("parent_public_id")?.map(PublicId::from_uuid),
        owner_id: r.opt_uuid("owner_public_id")?.map(PublicId::from_uuid),
        team_id: r.opt_uuid("team_public_id")?.map(PublicId::from_uuid),
        currency,
        credit_limit: r.opt_i64("credit_limit_minor")?.map(|m| Money::from_minor(m, currency).to_string()),
        tax_id: r.opt_text("tax_id")?,
        tax_treatment: TaxTreatment::parse(&r.text("tax_treatment")?)
            .ok_or_else(|| bad("unknown tax treatment".into()))?,
        tags,
        industry: r.opt_text("industry")?,
        website: r.opt_text("website")?,
        phone: r.opt_text("phone")?,
        payment_terms_id: r.opt_uuid("payment_terms_public_id")?.map(PublicId::from_uuid),
        notes: r.text("notes")?,
        addresses: vec![],
        external_ids: vec![],
        archived: r.boolean("archived")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

/// The columns of accounts in CSV exports and imports, in order. The
/// address columns hold the default billing address; lists inside a cell are
/// separated by `;`.
pub const CSV_COLUMNS: [&str; 22] = [
    "name",
    "kinds",
    "currency",
    "credit_limit",
    "payment_terms",
    "tax_id",
    "tax_treatment",
    "industry",
    "website",
    "phone",
    "owner",
    "tags",
    "notes",
    "archived",
    "address_label",
    "address_line1",
    "address_line2",
    "address_city",
    "address_region",
    "address_postal_code",
    "address_country",
    "external_ids",
];

/// Which accounts a reader may see: the store's form of a record scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    All,
    /// Accounts owned by this user.
    Owner(i64),
    /// Accounts owned by this user or belonging to this team.
    Team {
        user: i64,
        team: Option<i64>,
    },
}

impl Visibility {
    /// The accounts `p` may see with `scope`.
    pub fn of(p: &Principal, scope: Scope) -> Self {
        match scope {
            Scope::All => Visibility::All,
            Scope::Team => Visibility::Team { user: p.user_id, team: p.team_id },
            Scope::Own => Visibility::Owner(p.user_id),
        }
    }

    /// Adds the condition on `a.owner_id`/`a.team_id` to a list.
    pub(crate) fn push(self, f: &mut ListSql) {
        self.push_on("a.owner_id", "a.team_id", &mut f.sql, &mut f.args);
    }

    /// Appends the condition on the given owner and team columns to `sql`:
    /// every record type with a record scope filters through this.
    pub fn push_on(self, owner: &str, team_col: &str, sql: &mut String, args: &mut Vec<Arg>) {
        match self {
            Visibility::All => {}
            Visibility::Owner(u) => {
                args.push(u.into());
                sql.push_str(&format!(" AND {owner} = ${}", args.len()));
            }
            Visibility::Team { user, team } => {
                args.push(user.into());
                let u = args.len();
                match team {
                    Some(t) => {
                        args.push(t.into());
                        sql.push_str(&format!(" AND ({owner} = ${u} OR {team_col} = ${})", args.len()));
                    }
                    None => sql.push_str(&format!(" AND {owner} = ${u}")),
                }
            }
        }
    }
}

/// Fills in the addresses and external ids of accounts (two queries for any number).
async fn with_parts(tx: &mut Tx, tenant_id: i64, mut list: Vec<Account>) -> StoreResult<Vec<Account>> {
    let keys: Vec<i64> = list.iter().map(|a| a.key).collect();
    let addrs = addresses::load(tx, tenant_id, &keys).await?;
    let ext = external_ids::load(tx, EXTERNAL, tenant_id, &keys).await?;
    for a in &mut list {
        a.addresses = addrs.iter().filter(|(k, _)| *k == a.key).map(|(_, x)| x.clone()).collect();
        a.external_ids = ext.iter().filter(|(k, _)| *k == a.key).map(|(_, e)| e.clone()).collect();
    }
    Ok(list)
}

/// The one account matching `cond` (on `$2`), with its addresses and external ids.
async fn get_where(tx: &mut Tx, tenant_id: i64, cond: &str, value: Arg) -> StoreResult<Option<Account>> {
    let row = tx
        .fetch_optional(format!("{SELECT} WHERE a.tenant_id = $1 AND {cond}"), vec![tenant_id.into(), value], decode)
        .await?;
    match row {
        Some(a) => Ok(with_parts(tx, tenant_id, vec![a]).await?.pop()),
        None => Ok(None),
    }
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Account>> {
    get_where(tx, tenant_id, "a.public_id = $2", id.into()).await
}

pub async fn get_by_key(tx: &mut Tx, tenant_id: i64, key: i64) -> StoreResult<Option<Account>> {
    get_where(tx, tenant_id, "a.id = $2", key.into()).await
}

/// The account holding this id in another system, if any.
pub async fn get_by_external_id(tx: &mut Tx, tenant_id: i64, e: &ExternalId) -> StoreResult<Option<Account>> {
    match external_ids::owner_of(tx, EXTERNAL, tenant_id, e).await? {
        Some(key) => get_by_key(tx, tenant_id, key).await,
        None => Ok(None),
    }
}

/// The accounts named exactly `name` (trimmed; the name's duplicate key finds them quickly).
pub async fn find_by_name(tx: &mut Tx, tenant_id: i64, name: &str) -> StoreResult<Vec<Account>> {
    let name = name.trim();
    let rows = tx
        .fetch_all(
            format!("{SELECT} WHERE a.tenant_id = $1 AND a.name_key = $2 ORDER BY a.id"),
            args![tenant_id, duplicates::normalise_name(name)],
            decode,
        )
        .await?;
    let exact = rows.into_iter().filter(|a| a.name == name).collect();
    with_parts(tx, tenant_id, exact).await
}

/// Writes the words an account is found by: its name, tax id, tags,
/// website, phone and ids in other systems.
pub async fn index(tx: &mut Tx, tenant_id: i64, a: &Account) -> StoreResult<()> {
    let mut fields = vec![Field::Text(&a.name)];
    fields.extend(a.tax_id.as_deref().map(Field::Code));
    fields.extend(a.tags.iter().map(|t| Field::Text(t)));
    fields.extend(a.website.as_deref().map(Field::Text));
    fields.extend(a.phone.as_deref().map(Field::Phone));
    fields.extend(a.external_ids.iter().map(|e| Field::Code(&e.id)));
    crate::search::index(tx, tenant_id, RecordType::Account, a.key, &fields).await
}

/// Filters of the account list.
#[derive(Debug, Clone)]
pub struct AccountQuery {
    pub visibility: Visibility,
    pub kind: Option<AccountKind>,
    pub owner_id: Option<i64>,
    /// `None` = both; the default list shows active accounts only.
    pub archived: Option<bool>,
    pub updated_since: Option<OffsetDateTime>,
    /// The account holding this id in another system.
    pub external_id: Option<ExternalId>,
    /// Search words (`nave_domain::search::query_words`): every one must begin a word of the account.
    pub words: Vec<String>,
    pub cursor: Option<Cursor>,
    /// The order; the list's own (no column) pages by `cursor`, the others by `sorted_after`.
    pub sort: Sort<Account>,
    pub sorted_after: Option<SortCursor>,
    pub limit: i64,
}

/// The columns the account list sorts by (`?sort=`); without one, oldest first.
pub static SORTS: &[SortColumn<Account>] = &[
    SortColumn { name: "name", sql: "a.name", value: |a| SortValue::Text(a.name.clone()) },
    SortColumn { name: "currency", sql: "a.currency", value: |a| SortValue::Text(a.currency.code().to_string()) },
];

impl Default for AccountQuery {
    fn default() -> Self {
        Self {
            visibility: Visibility::All,
            kind: None,
            owner_id: None,
            archived: Some(false),
            updated_since: None,
            external_id: None,
            words: vec![],
            cursor: None,
            sort: Sort::default(),
            sorted_after: None,
            limit: 50,
        }
    }
}

pub async fn list(tx: &mut Tx, tenant_id: i64, q: &AccountQuery) -> StoreResult<Page<Account>> {
    let mut f = ListSql::new(SELECT, "a.tenant_id", tenant_id);
    q.visibility.push(&mut f);
    f.and_some("a.kinds LIKE ?", q.kind.map(|k| format!("%\"{}\"%", k.as_str())));
    f.and_some("a.owner_id = ?", q.owner_id);
    f.and_some("a.archived = ?", q.archived);
    f.and_some("a.updated_at >= ?", q.updated_since);
    if let Some(e) = &q.external_id {
        external_ids::push_filter(EXTERNAL, "a.id", e, &mut f);
    }
    if let Some(cond) = crate::search::matching_keys("a.id", RecordType::Account, &q.words, &mut f.args) {
        f.sql.push_str(&format!(" AND {cond}"));
    }
    let limit = f.sorted_page("a.id", false, q.sort, q.cursor, q.sorted_after.as_ref(), q.limit);
    let rows = tx.fetch_all(f.sql, f.args, decode).await?;
    let page = Page::from_rows(rows, limit, |r| r.key);
    let items = with_parts(tx, tenant_id, page.items).await?;
    Ok(Page { items, next: page.next })
}

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub name: String,
    pub kinds: Vec<AccountKind>,
    pub parent_id: Option<PublicId>,
    /// Defaults to the acting user.
    pub owner_id: Option<PublicId>,
    /// Defaults to the owner's team.
    pub team_id: Option<PublicId>,
    pub currency: Currency,
    /// A decimal string in `currency`.
    pub credit_limit: Option<String>,
    pub tax_id: Option<String>,
    pub tax_treatment: TaxTreatment,
    pub tags: Vec<String>,
    pub industry: Option<String>,
    pub website: Option<String>,
    pub phone: Option<String>,
    pub payment_terms_id: Option<PublicId>,
    pub notes: String,
    pub addresses: Vec<AccountAddress>,
    pub external_ids: Vec<ExternalId>,
    /// Imports may bring accounts that are archived already.
    pub archived: bool,
}

impl NewAccount {
    /// An account with a name and defaults elsewhere: a customer in `currency`, owned by the actor.
    pub fn named(name: impl Into<String>, currency: Currency) -> Self {
        NewAccount {
            name: name.into(),
            kinds: vec![AccountKind::Customer],
            parent_id: None,
            owner_id: None,
            team_id: None,
            currency,
            credit_limit: None,
            tax_id: None,
            tax_treatment: TaxTreatment::Standard,
            tags: vec![],
            industry: None,
            website: None,
            phone: None,
            payment_terms_id: None,
            notes: String::new(),
            addresses: vec![],
            external_ids: vec![],
            archived: false,
        }
    }

    /// The keys duplicates of this account would share.
    pub fn match_keys(&self) -> MatchKeys {
        MatchKeys::of(&self.name, self.website.as_deref(), self.tax_id.as_deref(), self.phone.as_deref())
    }
}

/// The plain fields of an account, checked (the references are resolved separately).
struct Checked {
    name: String,
    kinds: Vec<AccountKind>,
    tags: Vec<String>,
    tax_id: Option<String>,
    limit: Option<i64>,
    industry: Option<String>,
    website: Option<String>,
    phone: Option<String>,
    notes: String,
}

impl Checked {
    fn keys(&self) -> MatchKeys {
        MatchKeys::of(&self.name, self.website.as_deref(), self.tax_id.as_deref(), self.phone.as_deref())
    }
}

/// Checks the plain fields of `n`, adding every problem to `v`.
fn check(v: &mut Validator, n: &NewAccount) -> Checked {
    Checked {
        name: account::check_name(v, &n.name),
        kinds: account::check_kinds(v, &n.kinds),
        tags: account::check_tags(v, &n.tags),
        tax_id: account::check_tax_id(v, n.tax_id.as_deref()),
        limit: parse_limit(v, n.credit_limit.as_deref(), n.currency),
        industry: account::check_optional(v, "industry", n.industry.as_deref(), 100),
        website: account::check_website(v, "website", n.website.as_deref()),
        phone: account::check_phone(v, "phone", n.phone.as_deref()),
        notes: check_text(v, "notes", &n.notes, 0, 10_000),
    }
}

/// The key of usable payment terms, or a validation error naming `payment_terms_id`.
async fn resolve_terms(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<i64> {
    let invalid = |m: &str| StoreError::from(DomainError::invalid("payment_terms_id", m));
    let t = payment_terms::get(tx, tenant_id, id).await?.ok_or_else(|| invalid("is not the id of payment terms"))?;
    if !t.active {
        return Err(invalid(&format!("{} are inactive", t.name)));
    }
    Ok(t.key)
}

fn parse_limit(v: &mut Validator, limit: Option<&str>, currency: Currency) -> Option<i64> {
    let s = limit?;
    match Money::parse(s, currency) {
        Ok(m) if m.is_negative() => {
            v.add("credit_limit", "must not be negative");
            None
        }
        Ok(m) => Some(m.minor()),
        Err(e) => {
            v.add("credit_limit", e.to_string());
            None
        }
    }
}

async fn resolve_account(tx: &mut Tx, tenant_id: i64, id: PublicId, field: &str) -> StoreResult<i64> {
    tx.fetch_optional("SELECT id FROM accounts WHERE tenant_id = $1 AND public_id = $2", args![tenant_id, id], |r| {
        r.i64("id")
    })
    .await?
    .ok_or_else(|| DomainError::invalid(field, "is not the id of an account").into())
}

async fn resolve_team(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<i64> {
    teams::get(tx, tenant_id, id)
        .await?
        .map(|t| t.key)
        .ok_or_else(|| DomainError::invalid("team_id", "is not the id of a team").into())
}

/// Checks a new account's own fields without writing anything (references
/// such as `parent_id` are checked when it is created).
pub fn validate(new: &NewAccount) -> Result<(), DomainError> {
    let mut v = Validator::new();
    check(&mut v, new);
    check_account_addresses(&mut v, "addresses", &new.addresses);
    check_external_ids(&mut v, "external_ids", &new.external_ids);
    v.finish()
}

/// Creates an account. Likely duplicates are the caller's to look for first
/// ([`likely_duplicates`]), since whether they stop the create is the caller's choice.
pub async fn create(tx: &mut Tx, actor: &Actor, new: NewAccount) -> StoreResult<Account> {
    let mut v = Validator::new();
    let c = check(&mut v, &new);
    let addrs = check_account_addresses(&mut v, "addresses", &new.addresses);
    let ext = check_external_ids(&mut v, "external_ids", &new.external_ids);
    v.finish()?;
    let terms = match new.payment_terms_id {
        Some(p) => Some(resolve_terms(tx, actor.tenant_id, p).await?),
        None => None,
    };
    let parent = match new.parent_id {
        Some(p) => Some(resolve_account(tx, actor.tenant_id, p, "parent_id").await?),
        None => None,
    };
    let owner = match new.owner_id {
        Some(o) => Some(users::resolve(tx, actor.tenant_id, o, "owner_id").await?),
        None => actor.user_id,
    };
    let team = match (new.team_id, owner) {
        (Some(t), _) => Some(resolve_team(tx, actor.tenant_id, t).await?),
        (None, Some(o)) => users::get_by_key(tx, actor.tenant_id, o).await?.and_then(|u| u.team_key),
        (None, None) => None,
    };
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO accounts (tenant_id, id, public_id, parent_id, owner_id, team_id, payment_terms_id, archived, \
         version, created_at, created_by, name, kinds, currency, credit_limit_minor, tax_id, tags, tax_treatment, \
         industry, website, phone, notes, name_key, website_domain, phone_key, tax_id_key, updated_at, updated_by) \
         VALUES ($1, {}, $2, $3, $4, $5, $6, $7, 1, $8, $9, {}) RETURNING id",
        tx.new_id_expr("accounts", "$1"),
        (10..27).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
    );
    let at = now();
    let mut a = args![actor.tenant_id, id, parent, owner, team, terms, new.archived, at, actor.user_id];
    a.extend(value_args(&c, new.currency, new.tax_treatment, actor, at));
    let key = tx.fetch_one(sql, a, |r| r.i64("id")).await?;
    addresses::insert(tx, actor.tenant_id, key, &addrs).await?;
    external_ids::insert(tx, EXTERNAL, actor.tenant_id, key, &ext).await?;
    // The row as stored, with the parts just written (in the order a read gives them).
    let mut acc = tx
        .fetch_optional(format!("{SELECT} WHERE a.tenant_id = $1 AND a.id = $2"), args![actor.tenant_id, key], decode)
        .await?
        .ok_or(DomainError::NotFound { record: "account" })?;
    acc.addresses = addrs;
    acc.external_ids = ext;
    acc.external_ids.sort_by(|x, y| x.system.cmp(&y.system));
    index(tx, actor.tenant_id, &acc).await?;
    audit::created(tx, actor, RecordType::Account, id, &acc).await?;
    Ok(acc)
}

/// The values of the columns `name` … `updated_by` (17 of them), in the
/// order the insert and the update name them.
fn value_args(c: &Checked, currency: Currency, treatment: TaxTreatment, actor: &Actor, at: OffsetDateTime) -> Vec<Arg> {
    let keys = c.keys();
    args![
        &c.name,
        serde_json::to_string(&c.kinds).expect("kinds serialise"),
        currency.code(),
        c.limit,
        c.tax_id.clone(),
        serde_json::to_string(&c.tags).expect("tags serialise"),
        treatment.as_str(),
        c.industry.clone(),
        c.website.clone(),
        c.phone.clone(),
        &c.notes,
        keys.name,
        keys.domain,
        keys.phone,
        keys.tax_id,
        at,
        actor.user_id
    ]
}

/// Changes to an account; `None` keeps the current value, `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct AccountPatch {
    pub name: Option<String>,
    pub kinds: Option<Vec<AccountKind>>,
    pub parent_id: Option<Option<PublicId>>,
    pub owner_id: Option<Option<PublicId>>,
    pub team_id: Option<Option<PublicId>>,
    pub currency: Option<Currency>,
    pub credit_limit: Option<Option<String>>,
    pub tax_id: Option<Option<String>>,
    pub tax_treatment: Option<TaxTreatment>,
    pub tags: Option<Vec<String>>,
    pub industry: Option<Option<String>>,
    pub website: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub payment_terms_id: Option<Option<PublicId>>,
    pub notes: Option<String>,
    /// Replaces the list.
    pub addresses: Option<Vec<AccountAddress>>,
    /// Replaces the list.
    pub external_ids: Option<Vec<ExternalId>>,
    pub archived: Option<bool>,
}

/// Would making `parent` the parent of `child` close a loop?
async fn creates_cycle(tx: &mut Tx, tenant_id: i64, child: i64, parent: i64) -> StoreResult<bool> {
    let mut cur = Some(parent);
    let mut steps = 0;
    while let Some(c) = cur {
        if c == child {
            return Ok(true);
        }
        steps += 1;
        if steps > 1000 {
            return Ok(true);
        }
        cur = tx
            .fetch_optional(
                "SELECT parent_id FROM accounts WHERE tenant_id = $1 AND id = $2",
                args![tenant_id, c],
                |r| r.opt_i64("parent_id"),
            )
            .await?
            .flatten();
    }
    Ok(false)
}

impl crate::sync::Guarded for AccountPatch {
    type Record = Account;

    fn sets(&self, field: &str, _: &Account) -> bool {
        match field {
            "name" => self.name.is_some(),
            "kinds" => self.kinds.is_some(),
            "parent_id" => self.parent_id.is_some(),
            "owner_id" => self.owner_id.is_some(),
            "team_id" => self.team_id.is_some(),
            "currency" => self.currency.is_some(),
            "credit_limit" => self.credit_limit.is_some(),
            "tax_id" => self.tax_id.is_some(),
            "tax_treatment" => self.tax_treatment.is_some(),
            "tags" => self.tags.is_some(),
            "industry" => self.industry.is_some(),
            "website" => self.website.is_some(),
            "phone" => self.phone.is_some(),
            "payment_terms_id" => self.payment_terms_id.is_some(),
            "notes" => self.notes.is_some(),
            "addresses" => self.addresses.is_some(),
            "archived" => self.archived.is_some(),
            _ => false,
        }
    }

    fn keep(&mut self, field: &str, _: &Account) {
        match field {
            "name" => self.name = None,
            "kinds" => self.kinds = None,
            "parent_id" => self.parent_id = None,
            "owner_id" => self.owner_id = None,
            "team_id" => self.team_id = None,
            "currency" => self.currency = None,
            "credit_limit" => self.credit_limit = None,
            "tax_id" => self.tax_id = None,
            "tax_treatment" => self.tax_treatment = None,
            "tags" => self.tags = None,
            "industry" => self.industry = None,
            "website" => self.website = None,
            "phone" => self.phone = None,
            "payment_terms_id" => self.payment_terms_id = None,
            "notes" => self.notes = None,
            "addresses" => self.addresses = None,
            "archived" => self.archived = None,
            _ => {}
        }
    }
}

/// Updates an account under the master rules (`sync`): fields mastered by
/// another system than the actor's source keep their values, and each
/// refused change is recorded as a sync conflict. The caller has checked the
/// permission on `before`.
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    before: &Account,
    if_version: Option<i64>,
    mut patch: AccountPatch,
) -> StoreResult<Account> {
    expect_version("account", before.version, if_version)?;
    let held = crate::sync::held(tx, actor, RecordType::Account, &patch, before).await?;
    if !held.is_empty() {
        let sp = tx.savepoint().await?;
        let trial = write_update(tx, actor, before, patch.clone()).await;
        tx.rollback_to(sp).await?;
        let record = (before.key, before.id);
        crate::sync::hold_back(tx, actor, RecordType::Account, record, &held, before, &trial?, &mut patch).await?;
    }
    write_update(tx, actor, before, patch).await
}

/// Writes an update as given (the master rules were applied by [`update`]).
async fn write_update(tx: &mut Tx, actor: &Actor, before: &Account, patch: AccountPatch) -> StoreResult<Account> {
    let currency = patch.currency.unwrap_or(before.currency);
    let merged = NewAccount {
        name: patch.name.clone().unwrap_or_else(|| before.name.clone()),
        kinds: patch.kinds.clone().unwrap_or_else(|| before.kinds.clone()),
        tags: patch.tags.clone().unwrap_or_else(|| before.tags.clone()),
        tax_id: patch.tax_id.clone().unwrap_or_else(|| before.tax_id.clone()),
        credit_limit: patch.credit_limit.clone().unwrap_or_else(|| before.credit_limit.clone()),
        industry: patch.industry.clone().unwrap_or_else(|| before.industry.clone()),
        website: patch.website.clone().unwrap_or_else(|| before.website.clone()),
        phone: patch.phone.clone().unwrap_or_else(|| before.phone.clone()),
        notes: patch.notes.clone().unwrap_or_else(|| before.notes.clone()),
        ..NewAccount::named("", currency)
    };
    let mut v = Validator::new();
    let c = check(&mut v, &merged);
    let addrs = patch.addresses.as_deref().map(|l| check_account_addresses(&mut v, "addresses", l));
    let ext = patch.external_ids.as_deref().map(|e| check_external_ids(&mut v, "external_ids", e));
    v.finish()?;
    let t = actor.tenant_id;
    let terms = match patch.payment_terms_id {
        Some(Some(p)) if Some(p) != before.payment_terms_id => Some(resolve_terms(tx, t, p).await?),
        Some(None) => None,
        Some(Some(_)) | None => before.payment_terms_key,
    };
    let parent = match patch.parent_id {
        Some(Some(p)) => {
            let pk = resolve_account(tx, t, p, "parent_id").await?;
            if creates_cycle(tx, t, before.key, pk).await? {
                return Err(DomainError::invalid("parent_id", "would make the account its own ancestor").into());
            }
            Some(pk)
        }
        Some(None) => None,
        None => match before.parent_id {
            Some(p) => Some(resolve_account(tx, t, p, "parent_id").await?),
            None => None,
        },
    };
    let owner = match patch.owner_id {
        Some(Some(o)) => Some(users::resolve(tx, t, o, "owner_id").await?),
        Some(None) => None,
        None => before.ownership.owner_id,
    };
    let team = match patch.team_id {
        Some(Some(tm)) => Some(resolve_team(tx, t, tm).await?),
        Some(None) => None,
        None => before.ownership.team_id,
    };
    let mut a =
        args![t, before.key, before.version, parent, owner, team, terms, patch.archived.unwrap_or(before.archived)];
    a.extend(value_args(&c, currency, patch.tax_treatment.unwrap_or(before.tax_treatment), actor, now()));
    let n = tx
        .execute(
            "UPDATE accounts SET parent_id = $4, owner_id = $5, team_id = $6, payment_terms_id = $7, archived = $8, \
             version = version + 1, name = $9, kinds = $10, currency = $11, credit_limit_minor = $12, tax_id = $13, \
             tags = $14, tax_treatment = $15, industry = $16, website = $17, phone = $18, notes = $19, name_key = $20, \
             website_domain = $21, phone_key = $22, tax_id_key = $23, updated_at = $24, updated_by = $25 \
             WHERE tenant_id = $1 AND id = $2 AND version = $3",
            a,
        )
        .await?;
    if n == 0 {
        let current = get(tx, t, before.id).await?.map_or(before.version, |a| a.version);
        return Err(DomainError::VersionMismatch { record: "account", current }.into());
    }
    if let Some(addrs) = &addrs {
        addresses::replace(tx, t, before.key, addrs).await?;
    }
    if let Some(ext) = &ext {
        external_ids::replace(tx, EXTERNAL, t, before.key, ext).await?;
    }
    let after = get(tx, t, before.id).await?.ok_or(DomainError::NotFound { record: "account" })?;
    index(tx, actor.tenant_id, &after).await?;
    audit::updated(tx, actor, RecordType::Account, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// Deletes an account nothing refers to; otherwise names what does and
/// says to archive it instead.
pub async fn delete(tx: &mut Tx, actor: &Actor, before: &Account, if_version: Option<i64>) -> StoreResult<()> {
    expect_version("account", before.version, if_version)?;
    let t = actor.tenant_id;
    let mut why = Vec::new();
    for (sql, what) in [
        ("SELECT COUNT(*) AS v FROM contacts WHERE tenant_id = $1 AND account_id = $2", "it has {} contact(s)"),
        (
            "SELECT COUNT(*) AS v FROM accounts WHERE tenant_id = $1 AND parent_id = $2",
            "it is the parent of {} account(s)",
        ),
        (
            "SELECT COUNT(*) AS v FROM product_suppliers WHERE tenant_id = $1 AND supplier_id = $2",
            "it supplies {} product(s)",
        ),
    ] {
        let n = tx.scalar_i64(sql, args![t, before.key]).await?;
        if n > 0 {
            why.push(what.replace("{}", &n.to_string()));
        }
    }
    if !why.is_empty() {
        return Err(DomainError::Conflict(format!(
            "{} cannot be deleted: {}; archive it instead",
            before.name,
            why.join(", ")
        ))
        .into());
    }
    let owner = crate::attachments::Owner { record_type: RecordType::Account, key: before.key, id: before.id };
    crate::attachments::delete_for_record(tx, actor, owner).await?;
    crate::search::remove(tx, actor.tenant_id, RecordType::Account, before.key).await?;
    crate::sync::delete_for_record(tx, actor.tenant_id, RecordType::Account, before.key).await?;
    tx.execute("DELETE FROM accounts WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, before.key]).await?;
    audit::deleted(tx, actor, RecordType::Account, before.id, before.version + 1, before).await
}

/// One account a new one looks like.
#[derive(Debug, Clone)]
pub struct DuplicateCandidate {
    pub key: i64,
    pub id: PublicId,
    pub name: String,
    pub ownership: Ownership,
    pub reasons: Vec<Reason>,
}

/// The existing accounts (archived ones included) that an account with these
/// keys would likely duplicate, with the reasons, at most 20. Every key is an
/// indexed lookup, so this stays fast on large databases and in imports.
pub async fn likely_duplicates(tx: &mut Tx, tenant_id: i64, keys: &MatchKeys) -> StoreResult<Vec<DuplicateCandidate>> {
    let name = Some(keys.name.as_str()).filter(|n| !n.is_empty());
    // One statement: the accounts sharing a key, and those whose contacts
    // write from the new account's web domain (`by_mail`).
    let rows = tx
        .fetch_all(
            "SELECT a.id, a.public_id, a.name, a.owner_id, a.team_id, a.name_key, a.website_domain, a.tax_id_key, \
             a.phone_key, FALSE AS by_mail FROM accounts a WHERE a.tenant_id = $1 AND (a.name_key = $2 \
             OR a.website_domain = $3 OR a.tax_id_key = $4 OR a.phone_key = $5) \
             UNION ALL \
             SELECT a.id, a.public_id, a.name, a.owner_id, a.team_id, a.name_key, a.website_domain, a.tax_id_key, \
             a.phone_key, TRUE AS by_mail FROM accounts a JOIN (SELECT DISTINCT c.account_id FROM contact_emails e \
             JOIN contacts c ON c.tenant_id = e.tenant_id AND c.id = e.contact_id \
             WHERE e.tenant_id = $1 AND e.domain = $3) m ON m.account_id = a.id WHERE a.tenant_id = $1 \
             ORDER BY 1 LIMIT 40",
            args![tenant_id, name, keys.domain.as_deref(), keys.tax_id.as_deref(), keys.phone.as_deref()],
            |r| {
                Ok((
                    DuplicateCandidate {
                        key: r.i64("id")?,
                        id: PublicId::from_uuid(r.uuid("public_id")?),
                        name: r.text("name")?,
                        ownership: Ownership { owner_id: r.opt_i64("owner_id")?, team_id: r.opt_i64("team_id")? },
                        reasons: vec![],
                    },
                    MatchKeys {
                        name: r.text("name_key")?,
                        domain: r.opt_text("website_domain")?,
                        tax_id: r.opt_text("tax_id_key")?,
                        phone: r.opt_text("phone_key")?,
                    },
                    r.boolean("by_mail")?,
                ))
            },
        )
        .await?;
    let by_mail: Vec<i64> = rows.iter().filter(|(_, _, m)| *m).map(|(c, _, _)| c.key).collect();
    let mut out: Vec<DuplicateCandidate> = Vec::new();
    for (mut cand, theirs, _) in rows {
        if out.iter().any(|c| c.key == cand.key) {
            continue;
        }
        let domains: Vec<String> =
            if by_mail.contains(&cand.key) { keys.domain.iter().cloned().collect() } else { vec![] };
        cand.reasons = duplicates::reasons(keys, &theirs, &domains);
        if !cand.reasons.is_empty() {
            out.push(cand);
        }
    }
    out.truncate(20);
    Ok(out)
}

/// Recomputes every account's duplicate-detection keys (all tenants), after
/// the rules that make them change or when the columns are first added.
pub async fn refresh_match_keys(tx: &mut Tx) -> StoreResult<()> {
    let rows = tx
        .fetch_all("SELECT tenant_id, id, name, website, tax_id, phone FROM accounts", vec![], |r| {
            Ok((
                r.i64("tenant_id")?,
                r.i64("id")?,
                MatchKeys::of(
                    &r.text("name")?,
                    r.opt_text("website")?.as_deref(),
                    r.opt_text("tax_id")?.as_deref(),
                    r.opt_text("phone")?.as_deref(),
                ),
            ))
        })
        .await?;
    for (tenant, id, k) in rows {
        tx.execute(
            "UPDATE accounts SET name_key = $3, website_domain = $4, tax_id_key = $5, phone_key = $6 \
             WHERE tenant_id = $1 AND id = $2",
            args![tenant, id, k.name, k.domain, k.tax_id, k.phone],
        )
        .await?;
    }
    Ok(())
}

/// Merges the duplicate `loser` into `survivor` in the caller's transaction:
/// every record hanging from the loser moves to the survivor, then the loser
/// is deleted. The survivor keeps its primary contact, its default addresses
/// and its ids in other systems; the loser's take second place or are
/// dropped when the survivor already has one for that system (ids) or that
/// product (supplier links). The caller has checked update on the survivor
/// and delete on the loser.
pub async fn merge(tx: &mut Tx, actor: &Actor, loser: &Account, survivor: &Account) -> StoreResult<Account> {
    let t = actor.tenant_id;
    if loser.key == survivor.key {
        return Err(DomainError::Conflict("an account cannot be merged into itself".into()).into());
    }
    if survivor.archived {
        return Err(
            DomainError::Conflict(format!("{} is archived; restore it before merging into it", survivor.name)).into()
        );
    }
    if loser.currency != survivor.currency {
        return Err(DomainError::Conflict(format!(
            "{} is in {} and {} in {}: accounts in different currencies cannot be merged",
            loser.name,
            loser.currency.code(),
            survivor.name,
            survivor.currency.code()
        ))
        .into());
    }
    if creates_cycle(tx, t, loser.key, survivor.key).await? || creates_cycle(tx, t, survivor.key, loser.key).await? {
        return Err(DomainError::Conflict(format!(
            "{} and {} are in one hierarchy (one is an ancestor of the other) and cannot be merged",
            loser.name, survivor.name
        ))
        .into());
    }
    let (from, to) = (loser.key, survivor.key);
    let a = || args![t, from, to];
    // Contacts: the survivor keeps its primary contact.
    let survivor_has_primary = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM contacts WHERE tenant_id = $1 AND account_id = $2 AND is_primary",
            args![t, to],
        )
        .await?
        > 0;
    if survivor_has_primary {
        tx.execute(
            "UPDATE contacts SET is_primary = FALSE WHERE tenant_id = $1 AND account_id = $2 AND is_primary",
            args![t, from],
        )
        .await?;
    }
    for sql in [
        "UPDATE contacts SET account_id = $3 WHERE tenant_id = $1 AND account_id = $2",
        "UPDATE activities SET account_id = $3 WHERE tenant_id = $1 AND account_id = $2",
        "UPDATE opportunities SET account_id = $3 WHERE tenant_id = $1 AND account_id = $2",
        "UPDATE cases SET account_id = $3 WHERE tenant_id = $1 AND account_id = $2",
        "UPDATE leads SET account_id = $3 WHERE tenant_id = $1 AND account_id = $2",
        "UPDATE accounts SET parent_id = $3 WHERE tenant_id = $1 AND parent_id = $2",
        // Supplier links: the survivor's own link to a product wins.
        "DELETE FROM product_suppliers WHERE tenant_id = $1 AND supplier_id = $2 AND product_id IN \
         (SELECT product_id FROM product_suppliers WHERE tenant_id = $1 AND supplier_id = $3)",
        "UPDATE product_suppliers SET supplier_id = $3 WHERE tenant_id = $1 AND supplier_id = $2",
        // Ids in other systems: the survivor's win, one per system.
        "DELETE FROM account_external_ids WHERE tenant_id = $1 AND account_id = $2 AND system IN \
         (SELECT system FROM account_external_ids WHERE tenant_id = $1 AND account_id = $3)",
        "UPDATE account_external_ids SET account_id = $3 WHERE tenant_id = $1 AND account_id = $2",
        // The price list: the survivor's stays; the loser's only when it has none.
        "DELETE FROM account_price_lists WHERE tenant_id = $1 AND account_id = $2 AND EXISTS \
         (SELECT 1 FROM account_price_lists WHERE tenant_id = $1 AND account_id = $3)",
        "UPDATE account_price_lists SET account_id = $3 WHERE tenant_id = $1 AND account_id = $2",
    ] {
        tx.execute(sql, a()).await?;
    }
    // Addresses after the survivor's, without their default flags.
    let next = tx
        .scalar_i64(
            "SELECT COALESCE(MAX(position) + 1, 0) AS v FROM account_addresses WHERE tenant_id = $1 AND account_id = $2",
            args![t, to],
        )
        .await?;
    tx.execute(
        "UPDATE account_addresses SET account_id = $3, position = position + $4, is_default_billing = FALSE, \
         is_default_shipping = FALSE WHERE tenant_id = $1 AND account_id = $2",
        args![t, from, to, next],
    )
    .await?;
    tx.execute(
        "UPDATE attachments SET record_id = $3, record_public_id = $4 WHERE tenant_id = $1 AND record_type = $5 \
         AND record_id = $2",
        args![t, from, to, survivor.id, RecordType::Account.as_str()],
    )
    .await?;
    crate::search::remove(tx, t, RecordType::Account, from).await?;
    crate::sync::delete_for_record(tx, t, RecordType::Account, from).await?;
    tx.execute("DELETE FROM accounts WHERE tenant_id = $1 AND id = $2", args![t, from]).await?;
    tx.execute(
        "UPDATE accounts SET version = version + 1, updated_at = $3, updated_by = $4 WHERE tenant_id = $1 AND id = $2",
        args![t, to, now(), actor.user_id],
    )
    .await?;
    let after = get_by_key(tx, t, to).await?.ok_or(DomainError::NotFound { record: "account" })?;
    index(tx, t, &after).await?;
    let mut after_json = crate::to_json(&after)?;
    after_json["merged_from"] = serde_json::json!({"id": loser.id, "name": loser.name});
    audit::record_change(
        tx,
        actor,
        audit::Change {
            record_type: RecordType::Account,
            record_id: after.id,
            version: after.version,
            kind: audit::ChangeKind::Updated,
            before: Some(crate::to_json(survivor)?),
            after: Some(after_json),
        },
    )
    .await?;
    audit::deleted(tx, actor, RecordType::Account, loser.id, loser.version + 1, loser).await?;
    Ok(after)
}
