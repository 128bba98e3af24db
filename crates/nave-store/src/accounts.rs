//! Accounts: the hub every CRM and order-side record hangs from.
//!
//! This module holds the account's core fields; later modules (contacts,
//! documents, …) refer to accounts by key.

use nave_domain::DomainError;
use nave_domain::access::{Ownership, Principal, RecordType, Scope};
use nave_domain::account::{self, AccountKind};
use nave_domain::error::Validator;
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, Money};
use nave_domain::search::Field;
use nave_domain::tax::TaxTreatment;
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::db::{Arg, DbRow, Tx, now};
use crate::page::{Cursor, Page};
use crate::{StoreError, StoreResult, args, expect_version, ownership};

/// An account as the API shows it. `credit_limit` is field-secured.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Account {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub ownership: Ownership,
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
    p.public_id AS parent_public_id, o.public_id AS owner_public_id, t.public_id AS team_public_id \
    FROM accounts a \
    LEFT JOIN accounts p ON p.tenant_id = a.tenant_id AND p.id = a.parent_id \
    LEFT JOIN users o ON o.tenant_id = a.tenant_id AND o.id = a.owner_id \
    LEFT JOIN teams t ON t.tenant_id = a.tenant_id AND t.id = a.team_id";

fn decode(r: &dyn DbRow) -> StoreResult<Account> {
    let bad = |e: String| StoreError::Decode(e);
    let currency = Currency::parse(&r.text("currency")?).map_err(|e| bad(e.to_string()))?;
    let kinds: Vec<AccountKind> = serde_json::from_str(&r.text("kinds")?).map_err(|e| bad(e.to_string()))?;
    let tags: Vec<String> = serde_json::from_str(&r.text("tags")?).map_err(|e| bad(e.to_string()))?;
    Ok(Account {
        key: r.i64("id")?,
        ownership: Ownership { owner_id: r.opt_i64("owner_id")?, team_id: r.opt_i64("team_id")? },
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
        archived: r.boolean("archived")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

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
    /// What a principal with `scope` may see.
    pub fn of(p: &Principal, scope: Scope) -> Self {
        match scope {
            Scope::All => Visibility::All,
            Scope::Team => Visibility::Team { user: p.user_id, team: p.team_id },
            Scope::Own => Visibility::Owner(p.user_id),
        }
    }

    /// Appends the condition on `a.owner_id`/`a.team_id` to `sql`.
    fn push(self, sql: &mut String, args: &mut Vec<Arg>) {
        self.push_on("a.owner_id", "a.team_id", sql, args);
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

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Account>> {
    tx.fetch_optional(format!("{SELECT} WHERE a.tenant_id = $1 AND a.public_id = $2"), args![tenant_id, id], decode)
        .await
}

/// Writes the words an account is found by.
pub async fn index(tx: &mut Tx, tenant_id: i64, a: &Account) -> StoreResult<()> {
    let mut fields = vec![Field::Text(&a.name)];
    if let Some(t) = &a.tax_id {
        fields.push(Field::Code(t));
    }
    fields.extend(a.tags.iter().map(|t| Field::Text(t)));
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
    /// Search words (`nave_domain::search::query_words`): every one must begin a word of the account.
    pub words: Vec<String>,
    pub cursor: Option<Cursor>,
    pub limit: i64,
}

impl Default for AccountQuery {
    fn default() -> Self {
        Self {
            visibility: Visibility::All,
            kind: None,
            owner_id: None,
            archived: Some(false),
            updated_since: None,
            words: vec![],
            cursor: None,
            limit: 50,
        }
    }
}

pub async fn list(tx: &mut Tx, tenant_id: i64, q: &AccountQuery) -> StoreResult<Page<Account>> {
    let mut sql = format!("{SELECT} WHERE a.tenant_id = $1");
    let mut a = args![tenant_id];
    q.visibility.push(&mut sql, &mut a);
    if let Some(k) = q.kind {
        a.push(format!("%\"{}\"%", k.as_str()).into());
        sql.push_str(&format!(" AND a.kinds LIKE ${}", a.len()));
    }
    if let Some(o) = q.owner_id {
        a.push(o.into());
        sql.push_str(&format!(" AND a.owner_id = ${}", a.len()));
    }
    if let Some(arch) = q.archived {
        a.push(arch.into());
        sql.push_str(&format!(" AND a.archived = ${}", a.len()));
    }
    if let Some(t) = q.updated_since {
        a.push(t.into());
        sql.push_str(&format!(" AND a.updated_at >= ${}", a.len()));
    }
    if let Some(cond) = crate::search::matching_keys("a.id", RecordType::Account, &q.words, &mut a) {
        sql.push_str(&format!(" AND {cond}"));
    }
    if let Some(c) = q.cursor {
        a.push(c.0.into());
        sql.push_str(&format!(" AND a.id > ${}", a.len()));
    }
    let limit = q.limit.clamp(1, 200);
    sql.push_str(&format!(" ORDER BY a.id LIMIT {}", limit + 1));
    let rows = tx.fetch_all(sql, a, decode).await?;
    Ok(Page::from_rows(rows, limit, |r| r.key))
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

pub async fn create(tx: &mut Tx, actor: &Actor, new: NewAccount) -> StoreResult<Account> {
    let mut v = Validator::new();
    let name = account::check_name(&mut v, &new.name);
    let kinds = account::check_kinds(&mut v, &new.kinds);
    let tags = account::check_tags(&mut v, &new.tags);
    let tax_id = account::check_tax_id(&mut v, new.tax_id.as_deref());
    let limit = parse_limit(&mut v, new.credit_limit.as_deref(), new.currency);
    v.finish()?;
    let parent = match new.parent_id {
        Some(p) => Some(resolve_account(tx, actor.tenant_id, p, "parent_id").await?),
        None => None,
    };
    let Ownership { owner_id: owner, team_id: team } =
        ownership::for_new(tx, actor, new.owner_id.map(Some), new.team_id, "owner_id").await?;
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO accounts (tenant_id, id, public_id, name, kinds, parent_id, owner_id, team_id, currency, \
         credit_limit_minor, tax_id, tags, archived, version, created_at, updated_at, created_by, updated_by, \
         tax_treatment) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13, $14, $14, $15)",
        tx.new_id_expr("accounts", "$1")
    );
    tx.execute(
        sql,
        args![
            actor.tenant_id,
            id,
            &name,
            serde_json::to_string(&kinds).expect("kinds serialise"),
            parent,
            owner,
            team,
            new.currency.code(),
            limit,
            tax_id,
            serde_json::to_string(&tags).expect("tags serialise"),
            false,
            now(),
            actor.user_id,
            new.tax_treatment.as_str()
        ],
    )
    .await?;
    let acc = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "account" })?;
    index(tx, actor.tenant_id, &acc).await?;
    audit::created(tx, actor, RecordType::Account, id, &acc).await?;
    Ok(acc)
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

/// Updates an account. The caller has checked the permission on `before`.
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    before: &Account,
    if_version: Option<i64>,
    patch: AccountPatch,
) -> StoreResult<Account> {
    expect_version("account", before.version, if_version)?;
    let mut v = Validator::new();
    let name = account::check_name(&mut v, patch.name.as_deref().unwrap_or(&before.name));
    let kinds = account::check_kinds(&mut v, patch.kinds.as_deref().unwrap_or(&before.kinds));
    let tags = account::check_tags(&mut v, patch.tags.as_deref().unwrap_or(&before.tags));
    let tax_id = match &patch.tax_id {
        Some(t) => account::check_tax_id(&mut v, t.as_deref()),
        None => before.tax_id.clone(),
    };
    let currency = patch.currency.unwrap_or(before.currency);
    let limit_text = match &patch.credit_limit {
        Some(l) => l.clone(),
        None => before.credit_limit.clone(),
    };
    let limit = parse_limit(&mut v, limit_text.as_deref(), currency);
    v.finish()?;
    let t = actor.tenant_id;
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
    let Ownership { owner_id: owner, team_id: team } =
        ownership::changed(tx, t, before.ownership, patch.owner_id, patch.team_id, "owner_id", false).await?;
    let n = tx
        .execute(
            "UPDATE accounts SET name = $4, kinds = $5, parent_id = $6, owner_id = $7, team_id = $8, currency = $9, \
             credit_limit_minor = $10, tax_id = $11, tags = $12, archived = $13, version = version + 1, \
             updated_at = $14, updated_by = $15, tax_treatment = $16 WHERE tenant_id = $1 AND id = $2 AND version = $3",
            args![
                t,
                before.key,
                before.version,
                &name,
                serde_json::to_string(&kinds).expect("kinds serialise"),
                parent,
                owner,
                team,
                currency.code(),
                limit,
                tax_id,
                serde_json::to_string(&tags).expect("tags serialise"),
                patch.archived.unwrap_or(before.archived),
                now(),
                actor.user_id,
                patch.tax_treatment.unwrap_or(before.tax_treatment).as_str()
            ],
        )
        .await?;
    if n == 0 {
        let current = get(tx, t, before.id).await?.map_or(before.version, |a| a.version);
        return Err(DomainError::VersionMismatch { record: "account", current }.into());
    }
    let after = get(tx, t, before.id).await?.ok_or(DomainError::NotFound { record: "account" })?;
    index(tx, actor.tenant_id, &after).await?;
    audit::updated(tx, actor, RecordType::Account, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// Deletes an account nothing refers to; otherwise names what does.
pub async fn delete(tx: &mut Tx, actor: &Actor, before: &Account, if_version: Option<i64>) -> StoreResult<()> {
    expect_version("account", before.version, if_version)?;
    let children = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM accounts WHERE tenant_id = $1 AND parent_id = $2",
            args![actor.tenant_id, before.key],
        )
        .await?;
    if children > 0 {
        return Err(DomainError::Conflict(format!(
            "{} is the parent of {children} account(s); move them first, or archive this account",
            before.name
        ))
        .into());
    }
    let owner = crate::attachments::Owner { record_type: RecordType::Account, key: before.key, id: before.id };
    crate::attachments::delete_for_record(tx, actor, owner).await?;
    crate::search::remove(tx, actor.tenant_id, RecordType::Account, before.key).await?;
    tx.execute("DELETE FROM accounts WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, before.key]).await?;
    audit::deleted(tx, actor, RecordType::Account, before.id, before.version + 1, before).await
}
