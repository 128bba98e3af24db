//! Leads, and their conversion into an account, a contact and an opportunity.
//!
//! A lead moves `new → working → qualified | unqualified`; a qualified (or
//! working) lead is converted once: the conversion creates the account (or
//! links an existing one), the contact and, when asked, the opportunity, moves
//! the lead's activities to them, and keeps the links on the lead.

use nave_domain::DomainError;
use nave_domain::access::{Ownership, RecordType};
use nave_domain::catalog::check_text;
use nave_domain::contact::{ConsentChange, Phone};
use nave_domain::error::Validator;
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, Money};
use nave_domain::search::Field;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::accounts::{self, NewAccount, Visibility};
use crate::audit::{self, Actor};
use crate::db::{Arg, DbRow, Tx, now};
use crate::page::{Cursor, Page, Sort, SortColumn, SortCursor, SortValue};
use crate::{StoreError, StoreResult, activities, args, contacts, expect_version, pipeline, teams, users};

/// Where a lead stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    New,
    Working,
    Qualified,
    Unqualified,
    Converted,
}

impl LeadStatus {
    pub const ALL: [LeadStatus; 5] =
        [LeadStatus::New, LeadStatus::Working, LeadStatus::Qualified, LeadStatus::Unqualified, LeadStatus::Converted];

    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Working => "working",
            LeadStatus::Qualified => "qualified",
            LeadStatus::Unqualified => "unqualified",
            LeadStatus::Converted => "converted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A lead as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Lead {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub ownership: Ownership,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub company: String,
    pub first_name: String,
    pub last_name: String,
    pub title: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    /// Where the lead came from: "web form", "trade fair", …
    pub source: String,
    /// `new`, `working`, `qualified`, `unqualified` or `converted`.
    #[schema(value_type = String, example = "qualified")]
    pub status: LeadStatus,
    pub notes: String,
    /// What the lead might be worth, a decimal string in `currency`.
    pub estimated_amount: Option<String>,
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<PublicId>,
    #[schema(value_type = Option<String>)]
    pub team_id: Option<PublicId>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub converted_at: Option<OffsetDateTime>,
    /// What the conversion made or linked.
    #[schema(value_type = Option<String>)]
    pub account_id: Option<PublicId>,
    #[schema(value_type = Option<String>)]
    pub contact_id: Option<PublicId>,
    #[schema(value_type = Option<String>)]
    pub opportunity_id: Option<PublicId>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

const SELECT: &str = "SELECT l.id, l.public_id, l.company, l.first_name, l.last_name, l.title, l.email, l.phone, \
    l.website, l.source, l.status, l.notes, l.estimated_minor, l.currency, l.owner_id, l.team_id, l.converted_at, \
    l.version, l.created_at, l.updated_at, o.public_id AS owner_public_id, t.public_id AS team_public_id, \
    a.public_id AS account_public_id, c.public_id AS contact_public_id, p.public_id AS opportunity_public_id \
    FROM leads l \
    LEFT JOIN users o ON o.tenant_id = l.tenant_id AND o.id = l.owner_id \
    LEFT JOIN teams t ON t.tenant_id = l.tenant_id AND t.id = l.team_id \
    LEFT JOIN accounts a ON a.tenant_id = l.tenant_id AND a.id = l.account_id \
    LEFT JOIN contacts c ON c.tenant_id = l.tenant_id AND c.id = l.contact_id \
    LEFT JOIN opportunities p ON p.tenant_id = l.tenant_id AND p.id = l.opportunity_id";

fn decode(r: &dyn DbRow) -> StoreResult<Lead> {
    let bad = |e: String| StoreError::Decode(e);
    let currency = Currency::parse(&r.text("currency")?).map_err(|e| bad(e.to_string()))?;
    let uuid = |col: &str| -> StoreResult<Option<PublicId>> { Ok(r.opt_uuid(col)?.map(PublicId::from_uuid)) };
    Ok(Lead {
        key: r.i64("id")?,
        ownership: Ownership { owner_id: r.opt_i64("owner_id")?, team_id: r.opt_i64("team_id")? },
        id: PublicId::from_uuid(r.uuid("public_id")?),
        company: r.text("company")?,
        first_name: r.text("first_name")?,
        last_name: r.text("last_name")?,
        title: r.text("title")?,
        email: r.opt_text("email")?,
        phone: r.opt_text("phone")?,
        website: r.opt_text("website")?,
        source: r.text("source")?,
        status: LeadStatus::parse(&r.text("status")?).ok_or_else(|| bad("unknown lead status".into()))?,
        notes: r.text("notes")?,
        estimated_amount: r.opt_i64("estimated_minor")?.map(|m| Money::from_minor(m, currency).to_string()),
        currency,
        owner_id: uuid("owner_public_id")?,
        team_id: uuid("team_public_id")?,
        converted_at: r.opt_ts("converted_at")?,
        account_id: uuid("account_public_id")?,
        contact_id: uuid("contact_public_id")?,
        opportunity_id: uuid("opportunity_public_id")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

impl Lead {
    /// "Ann Smith, Acme" — how lists name a lead.
    pub fn display_name(&self) -> String {
        let person = format!("{} {}", self.first_name, self.last_name).trim().to_string();
        match (person.is_empty(), self.company.is_empty()) {
            (false, false) => format!("{person}, {}", self.company),
            (false, true) => person,
            _ => self.company.clone(),
        }
    }
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Lead>> {
    tx.fetch_optional(format!("{SELECT} WHERE l.tenant_id = $1 AND l.public_id = $2"), args![tenant_id, id], decode)
        .await
}

/// Filters of the lead list.
#[derive(Debug, Clone)]
pub struct LeadQuery {
    pub visibility: Visibility,
    pub status: Option<LeadStatus>,
    pub owner_key: Option<i64>,
    pub words: Vec<String>,
    pub cursor: Option<Cursor>,
    /// The order; the list's own (no column) pages by `cursor`, the others by `sorted_after`.
    pub sort: Sort<Lead>,
    pub sorted_after: Option<SortCursor>,
    pub limit: i64,
}

/// The columns the lead list sorts by (`?sort=`); without one, newest first.
pub static SORTS: &[SortColumn<Lead>] = &[
    SortColumn { name: "company", sql: "l.company", value: |l| SortValue::Text(l.company.clone()) },
    SortColumn {
        name: "name",
        sql: "(l.last_name || ' ' || l.first_name)",
        value: |l| SortValue::Text(format!("{} {}", l.last_name, l.first_name)),
    },
    SortColumn { name: "status", sql: "l.status", value: |l| SortValue::Text(l.status.as_str().to_string()) },
    SortColumn { name: "created", sql: "l.id", value: |l| SortValue::Int(l.key) },
];

impl Default for LeadQuery {
    fn default() -> Self {
        Self {
            visibility: Visibility::All,
            status: None,
            owner_key: None,
            words: vec![],
            cursor: None,
            sort: Sort::default(),
            sorted_after: None,
            limit: 50,
        }
    }
}

pub async fn list(tx: &mut Tx, tenant_id: i64, q: &LeadQuery) -> StoreResult<Page<Lead>> {
    let mut sql = format!("{SELECT} WHERE l.tenant_id = $1");
    let mut a: Vec<Arg> = args![tenant_id];
    q.visibility.push_on("l.owner_id", "l.team_id", &mut sql, &mut a);
    if let Some(s) = q.status {
        a.push(s.as_str().into());
        sql.push_str(&format!(" AND l.status = ${}", a.len()));
    }
    if let Some(o) = q.owner_key {
        a.push(o.into());
        sql.push_str(&format!(" AND l.owner_id = ${}", a.len()));
    }
    if let Some(cond) = crate::search::matching_keys("l.id", RecordType::Lead, &q.words, &mut a) {
        sql.push_str(&format!(" AND {cond}"));
    }
    let mut f = crate::page::ListSql { sql, args: a };
    let limit = f.sorted_page("l.id", true, q.sort, q.cursor, q.sorted_after.as_ref(), q.limit);
    let rows = tx.fetch_all(f.sql, f.args, decode).await?;
    Ok(Page::from_rows(rows, limit, |r| r.key))
}

/// A lead's fields as given.
#[derive(Debug, Clone)]
pub struct LeadInput {
    pub company: String,
    pub first_name: String,
    pub last_name: String,
    pub title: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub source: String,
    /// `converted` is refused: only the conversion converts.
    pub status: LeadStatus,
    pub notes: String,
    pub estimated_amount: Option<String>,
    pub currency: Currency,
    pub owner_id: Option<PublicId>,
    pub team_id: Option<PublicId>,
}

struct Checked {
    company: String,
    first_name: String,
    last_name: String,
    title: String,
    email: Option<String>,
    phone: Option<String>,
    website: Option<String>,
    source: String,
    notes: String,
    estimated_minor: Option<i64>,
}

fn check(input: &LeadInput) -> Result<Checked, DomainError> {
    let mut v = Validator::new();
    let company = check_text(&mut v, "company", &input.company, 0, 200);
    let first_name = check_text(&mut v, "first_name", &input.first_name, 0, 100);
    let last_name = check_text(&mut v, "last_name", &input.last_name, 0, 100);
    if company.is_empty() && first_name.is_empty() && last_name.is_empty() {
        v.add("company", "a lead needs a company or a person's name");
    }
    let title = check_text(&mut v, "title", &input.title, 0, 100);
    let email = match input.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => match nave_domain::email::Email::parse(e) {
            Ok(ok) => Some(ok.as_str().to_string()),
            Err(err) => {
                v.add("email", err.to_string());
                None
            }
        },
        None => None,
    };
    let phone = input.phone.as_deref().map(|p| check_text(&mut v, "phone", p, 0, 50)).filter(|p| !p.is_empty());
    let website = input.website.as_deref().map(|w| check_text(&mut v, "website", w, 0, 200)).filter(|w| !w.is_empty());
    let source = check_text(&mut v, "source", &input.source, 0, 100);
    let notes = check_text(&mut v, "notes", &input.notes, 0, 10_000);
    if input.status == LeadStatus::Converted {
        v.add("status", "a lead becomes converted only through the convert action");
    }
    let estimated_minor = match input.estimated_amount.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => match Money::parse(s, input.currency) {
            Ok(m) if m.is_negative() => {
                v.add("estimated_amount", "must not be negative");
                None
            }
            Ok(m) => Some(m.minor()),
            Err(e) => {
                v.add("estimated_amount", e.to_string());
                None
            }
        },
        None => None,
    };
    v.finish()?;
    Ok(Checked { company, first_name, last_name, title, email, phone, website, source, notes, estimated_minor })
}

async fn owner_and_team(
    tx: &mut Tx,
    actor: &Actor,
    owner: Option<PublicId>,
    team: Option<PublicId>,
) -> StoreResult<(Option<i64>, Option<i64>)> {
    let owner = match owner {
        Some(o) => Some(users::resolve(tx, actor.tenant_id, o, "owner_id").await?),
        None => actor.user_id,
    };
    let team = match (team, owner) {
        (Some(t), _) => Some(
            teams::get(tx, actor.tenant_id, t)
                .await?
                .ok_or_else(|| DomainError::invalid("team_id", "is not the id of a team"))?
                .key,
        ),
        (None, Some(o)) => users::get_by_key(tx, actor.tenant_id, o).await?.and_then(|u| u.team_key),
        (None, None) => None,
    };
    Ok((owner, team))
}

fn values(c: &Checked, input: &LeadInput, owner: Option<i64>, team: Option<i64>, actor: &Actor) -> Vec<Arg> {
    args![
        &c.company,
        &c.first_name,
        &c.last_name,
        &c.title,
        c.email.clone(),
        c.phone.clone(),
        c.website.clone(),
        &c.source,
        input.status.as_str(),
        &c.notes,
        c.estimated_minor,
        input.currency.code(),
        owner,
        team,
        now(),
        actor.user_id
    ]
}

/// Writes the words a lead is found by.
async fn index(tx: &mut Tx, tenant_id: i64, l: &Lead) -> StoreResult<()> {
    let mut fields = vec![Field::Text(&l.company), Field::Text(&l.first_name), Field::Text(&l.last_name)];
    if let Some(e) = &l.email {
        fields.push(Field::Email(e));
    }
    if let Some(p) = &l.phone {
        fields.push(Field::Phone(p));
    }
    crate::search::index(tx, tenant_id, RecordType::Lead, l.key, &fields).await
}

pub async fn create(tx: &mut Tx, actor: &Actor, input: LeadInput) -> StoreResult<Lead> {
    let c = check(&input)?;
    let (owner, team) = owner_and_team(tx, actor, input.owner_id, input.team_id).await?;
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO leads (tenant_id, id, public_id, company, first_name, last_name, title, email, phone, website, \
         source, status, notes, estimated_minor, currency, owner_id, team_id, created_at, created_by, updated_at, \
         updated_by, version) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
         $17, $18, $17, $18, 1)",
        tx.new_id_expr("leads", "$1")
    );
    let mut a = args![actor.tenant_id, id];
    a.extend(values(&c, &input, owner, team, actor));
    tx.execute(sql, a).await?;
    let l = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "lead" })?;
    index(tx, actor.tenant_id, &l).await?;
    audit::created(tx, actor, RecordType::Lead, id, &l).await?;
    Ok(l)
}

fn refuse_converted(l: &Lead, action: &'static str) -> Result<(), DomainError> {
    if l.status == LeadStatus::Converted {
        return Err(DomainError::InvalidTransition {
            record: "lead",
            current: "converted".into(),
            action,
            allowed: vec![],
        });
    }
    Ok(())
}

pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    before: &Lead,
    if_version: Option<i64>,
    input: LeadInput,
) -> StoreResult<Lead> {
    expect_version("lead", before.version, if_version)?;
    refuse_converted(before, "update")?;
    let c = check(&input)?;
    let (owner, team) = owner_and_team(tx, actor, input.owner_id.or(before.owner_id), input.team_id).await?;
    let mut a = args![actor.tenant_id, before.key];
    a.extend(values(&c, &input, owner, team, actor));
    tx.execute(
        "UPDATE leads SET company = $3, first_name = $4, last_name = $5, title = $6, email = $7, phone = $8, \
         website = $9, source = $10, status = $11, notes = $12, estimated_minor = $13, currency = $14, owner_id = $15, \
         team_id = $16, updated_at = $17, updated_by = $18, version = version + 1 WHERE tenant_id = $1 AND id = $2",
        a,
    )
    .await?;
    let after = get(tx, actor.tenant_id, before.id).await?.ok_or(DomainError::NotFound { record: "lead" })?;
    index(tx, actor.tenant_id, &after).await?;
    audit::updated(tx, actor, RecordType::Lead, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// Deletes a lead that was not converted (its activities go with it).
pub async fn delete(tx: &mut Tx, actor: &Actor, before: &Lead, if_version: Option<i64>) -> StoreResult<()> {
    expect_version("lead", before.version, if_version)?;
    refuse_converted(before, "delete")?;
    crate::attachments::delete_for_record(
        tx,
        actor,
        crate::attachments::Owner { record_type: RecordType::Lead, key: before.key, id: before.id },
    )
    .await?;
    tx.execute("DELETE FROM leads WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, before.key]).await?;
    crate::search::remove(tx, actor.tenant_id, RecordType::Lead, before.key).await?;
    audit::deleted(tx, actor, RecordType::Lead, before.id, before.version + 1, before).await
}

/// What a conversion makes.
#[derive(Debug, Clone, Default)]
pub struct Conversion {
    /// Link this existing account instead of creating one from the lead's company.
    pub account_id: Option<PublicId>,
    /// Create an opportunity as well.
    pub opportunity: Option<NewDeal>,
}

/// The opportunity a conversion creates.
#[derive(Debug, Clone)]
pub struct NewDeal {
    /// Default: "<company> — <source or 'new business'>".
    pub name: Option<String>,
    /// Default: the lead's estimate.
    pub amount: Option<String>,
    pub expected_close: Date,
    pub stage_id: Option<PublicId>,
}

/// Converts a lead: the account (created from the lead, or the one given),
/// the contact, and the opportunity if asked; the lead's activities move to
/// the account and contact. Only `new`, `working` and `qualified` leads convert.
pub async fn convert(
    tx: &mut Tx,
    actor: &Actor,
    before: &Lead,
    if_version: Option<i64>,
    conv: Conversion,
) -> StoreResult<Lead> {
    expect_version("lead", before.version, if_version)?;
    if matches!(before.status, LeadStatus::Converted | LeadStatus::Unqualified) {
        return Err(DomainError::InvalidTransition {
            record: "lead",
            current: before.status.as_str().into(),
            action: "convert",
            allowed: if before.status == LeadStatus::Unqualified { vec!["update"] } else { vec![] },
        }
        .into());
    }
    let t = actor.tenant_id;
    let account = match conv.account_id {
        Some(id) => {
            let a = accounts::get(tx, t, id)
                .await?
                .ok_or_else(|| DomainError::invalid("account_id", "is not the id of an account"))?;
            if a.archived {
                return Err(DomainError::invalid("account_id", format!("{} is archived", a.name)).into());
            }
            a
        }
        None => {
            let name = if before.company.trim().is_empty() { before.display_name() } else { before.company.clone() };
            let mut new = NewAccount::named(name, before.currency);
            new.kinds = vec![nave_domain::account::AccountKind::Prospect];
            new.owner_id = before.owner_id;
            new.website = before.website.clone();
            new.phone = before.phone.clone();
            accounts::create(tx, actor, new).await?
        }
    };
    let contact = if before.first_name.is_empty() && before.last_name.is_empty() {
        None
    } else {
        let new = contacts::NewContact {
            account_id: Some(account.id),
            first_name: before.first_name.clone(),
            last_name: before.last_name.clone(),
            title: Some(before.title.clone()).filter(|t| !t.is_empty()),
            emails: before.email.iter().cloned().collect(),
            phones: before.phone.iter().map(|p| Phone { label: "work".into(), number: p.clone() }).collect(),
            address: None,
            is_primary: None,
            consent: ConsentChange::default(),
            owner_id: before.owner_id,
            external_ids: vec![],
            archived: false,
        };
        Some(contacts::create(tx, actor, new).await?)
    };
    let opportunity = match conv.opportunity {
        Some(deal) => {
            let new = pipeline::NewOpportunity {
                account_id: account.id,
                name: deal.name.unwrap_or_else(|| {
                    let what = if before.source.is_empty() { "new business" } else { before.source.as_str() };
                    format!("{} — {what}", account.name)
                }),
                stage_id: deal.stage_id,
                probability: None,
                amount: deal.amount.or(before.estimated_amount.clone()),
                currency: Some(before.currency),
                expected_close: deal.expected_close,
                owner_id: Some(before.owner_id),
                team_id: before.team_id,
                source: Some(before.source.clone()).filter(|s| !s.is_empty()),
                description: before.notes.clone(),
                lost_reason: None,
                won_reason: None,
            };
            Some(pipeline::create(tx, actor, new, now()).await?)
        }
        None => None,
    };
    activities::move_lead_activities(tx, t, before.key, account.key, contact.as_ref().map(|c| c.key)).await?;
    tx.execute(
        "UPDATE leads SET status = 'converted', converted_at = $3, account_id = $4, contact_id = $5, \
         opportunity_id = $6, updated_at = $3, updated_by = $7, version = version + 1 WHERE tenant_id = $1 AND id = $2",
        args![
            t,
            before.key,
            now(),
            account.key,
            contact.as_ref().map(|c| c.key),
            opportunity.as_ref().map(|o| o.key),
            actor.user_id
        ],
    )
    .await?;
    let after = get(tx, t, before.id).await?.ok_or(DomainError::NotFound { record: "lead" })?;
    audit::updated(tx, actor, RecordType::Lead, after.id, after.version, before, &after).await?;
    Ok(after)
}
