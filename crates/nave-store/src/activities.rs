//! Activities: the touches with a customer, on one timeline per account.
//!
//! An activity hangs from an account, or from a lead before it is converted
//! (conversion moves the lead's activities to the new account). Who may see
//! an activity follows what it hangs from: its account's or its lead's
//! visibility.

use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::activity::{self, ActivityKind, Details, Direction};
use nave_domain::error::Validator;
use nave_domain::ids::PublicId;
use serde::Serialize;
use time::OffsetDateTime;

use crate::accounts::Visibility;
use crate::audit::{self, Actor};
use crate::db::{Arg, DbRow, Tx, now};
use crate::page::{Cursor, Page};
use crate::{StoreError, StoreResult, args, expect_version, users};

/// An activity as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Activity {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub account_key: Option<i64>,
    #[serde(skip)]
    pub lead_key: Option<i64>,
    #[schema(value_type = String)]
    pub id: PublicId,
    /// `call`, `meeting`, `email`, `task`, `note` or `chat`.
    #[schema(value_type = String, example = "call")]
    pub kind: ActivityKind,
    #[schema(value_type = Option<String>)]
    pub account_id: Option<PublicId>,
    #[schema(value_type = Option<String>)]
    pub lead_id: Option<PublicId>,
    #[schema(value_type = Option<String>)]
    pub contact_id: Option<PublicId>,
    #[schema(value_type = Option<String>)]
    pub opportunity_id: Option<PublicId>,
    #[schema(value_type = Option<String>)]
    pub case_id: Option<PublicId>,
    /// An order-side document, as `type:id` (e.g. `invoice:0190…`).
    pub document_ref: Option<String>,
    pub subject: String,
    /// The note, the email's body, the meeting's minutes or the chat's transcript.
    pub body: String,
    /// When it happened (a meeting: when it starts).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: OffsetDateTime,
    /// Meetings: when it ends.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<OffsetDateTime>,
    /// Calls and emails: `inbound` or `outbound`.
    #[schema(value_type = Option<String>)]
    pub direction: Option<Direction>,
    pub duration_seconds: Option<i64>,
    /// Calls: `connected`, `left_voicemail`, `no_answer`, `busy` or `wrong_number`.
    pub outcome: Option<String>,
    pub attendees: Vec<String>,
    pub email_from: Option<String>,
    pub email_to: Vec<String>,
    /// Tasks: when it is due.
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<String>,
    /// Tasks: done or not.
    pub done: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub done_at: Option<OffsetDateTime>,
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<PublicId>,
    pub owner_name: Option<String>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

const SELECT: &str = "SELECT x.id, x.public_id, x.kind, x.account_id, x.lead_id, x.document_ref, x.subject, x.body, \
    x.occurred_at, x.ends_at, x.direction, x.duration_seconds, x.outcome, x.attendees, x.email_from, x.email_to, \
    x.due_date, x.done, x.done_at, x.version, x.created_at, x.updated_at, \
    a.public_id AS account_public_id, l.public_id AS lead_public_id, c.public_id AS contact_public_id, \
    o.public_id AS opportunity_public_id, k.public_id AS case_public_id, u.public_id AS owner_public_id, \
    u.name AS owner_name \
    FROM activities x \
    LEFT JOIN accounts a ON a.tenant_id = x.tenant_id AND a.id = x.account_id \
    LEFT JOIN leads l ON l.tenant_id = x.tenant_id AND l.id = x.lead_id \
    LEFT JOIN contacts c ON c.tenant_id = x.tenant_id AND c.id = x.contact_id \
    LEFT JOIN opportunities o ON o.tenant_id = x.tenant_id AND o.id = x.opportunity_id \
    LEFT JOIN cases k ON k.tenant_id = x.tenant_id AND k.id = x.case_id \
    LEFT JOIN users u ON u.tenant_id = x.tenant_id AND u.id = x.owner_id";

fn decode(r: &dyn DbRow) -> StoreResult<Activity> {
    let bad = |e: String| StoreError::Decode(e);
    let kind = ActivityKind::parse(&r.text("kind")?).ok_or_else(|| bad("unknown activity kind".into()))?;
    let list =
        |col: &str| -> StoreResult<Vec<String>> { serde_json::from_str(&r.text(col)?).map_err(|e| bad(e.to_string())) };
    let uuid = |col: &str| -> StoreResult<Option<PublicId>> { Ok(r.opt_uuid(col)?.map(PublicId::from_uuid)) };
    Ok(Activity {
        key: r.i64("id")?,
        account_key: r.opt_i64("account_id")?,
        lead_key: r.opt_i64("lead_id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        kind,
        account_id: uuid("account_public_id")?,
        lead_id: uuid("lead_public_id")?,
        contact_id: uuid("contact_public_id")?,
        opportunity_id: uuid("opportunity_public_id")?,
        case_id: uuid("case_public_id")?,
        document_ref: r.opt_text("document_ref")?,
        subject: r.text("subject")?,
        body: r.text("body")?,
        occurred_at: r.ts("occurred_at")?,
        ends_at: r.opt_ts("ends_at")?,
        direction: r.opt_text("direction")?.as_deref().and_then(Direction::parse),
        duration_seconds: r.opt_i64("duration_seconds")?,
        outcome: r.opt_text("outcome")?,
        attendees: list("attendees")?,
        email_from: r.opt_text("email_from")?,
        email_to: list("email_to")?,
        due_date: r.opt_date("due_date")?.map(|d| d.to_string()),
        done: r.boolean("done")?,
        done_at: r.opt_ts("done_at")?,
        owner_id: uuid("owner_public_id")?,
        owner_name: r.opt_text("owner_name")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Activity>> {
    tx.fetch_optional(format!("{SELECT} WHERE x.tenant_id = $1 AND x.public_id = $2"), args![tenant_id, id], decode)
        .await
}

/// Filters of activity lists. The caller's visibility applies through the
/// account (or lead) each activity hangs from.
#[derive(Debug, Clone)]
pub struct ActivityQuery {
    pub visibility: Visibility,
    pub account_key: Option<i64>,
    pub lead_key: Option<i64>,
    pub contact_key: Option<i64>,
    pub opportunity_key: Option<i64>,
    pub case_key: Option<i64>,
    pub kinds: Vec<ActivityKind>,
    pub owner_key: Option<i64>,
    /// Tasks only: open (`false`) or done (`true`).
    pub done: Option<bool>,
    /// Newest first: only activities before this key (the cursor).
    pub cursor: Option<Cursor>,
    pub limit: i64,
}

impl Default for ActivityQuery {
    fn default() -> Self {
        Self {
            visibility: Visibility::All,
            account_key: None,
            lead_key: None,
            contact_key: None,
            opportunity_key: None,
            case_key: None,
            kinds: vec![],
            owner_key: None,
            done: None,
            cursor: None,
            limit: 50,
        }
    }
}

/// Activities newest first (by when they happened, then by key).
pub async fn list(tx: &mut Tx, tenant_id: i64, q: &ActivityQuery) -> StoreResult<Page<Activity>> {
    let mut sql = format!("{SELECT} WHERE x.tenant_id = $1");
    let mut a: Vec<Arg> = args![tenant_id];
    if q.visibility != Visibility::All {
        let mut on_account = String::new();
        q.visibility.push_on("a.owner_id", "a.team_id", &mut on_account, &mut a);
        let mut on_lead = String::new();
        q.visibility.push_on("l.owner_id", "l.team_id", &mut on_lead, &mut a);
        sql.push_str(&format!(" AND ((x.account_id IS NOT NULL{on_account}) OR (x.account_id IS NULL{on_lead}))"));
    }
    for (col, key) in [
        ("x.account_id", q.account_key),
        ("x.lead_id", q.lead_key),
        ("x.contact_id", q.contact_key),
        ("x.opportunity_id", q.opportunity_key),
        ("x.case_id", q.case_key),
        ("x.owner_id", q.owner_key),
    ] {
        if let Some(k) = key {
            a.push(k.into());
            sql.push_str(&format!(" AND {col} = ${}", a.len()));
        }
    }
    if !q.kinds.is_empty() {
        let mut list = Vec::new();
        for k in &q.kinds {
            a.push(k.as_str().into());
            list.push(format!("${}", a.len()));
        }
        sql.push_str(&format!(" AND x.kind IN ({})", list.join(", ")));
    }
    if let Some(d) = q.done {
        a.push(ActivityKind::Task.as_str().into());
        a.push(d.into());
        sql.push_str(&format!(" AND x.kind = ${} AND x.done = ${}", a.len() - 1, a.len()));
    }
    if let Some(c) = q.cursor {
        // The cursor is the key of the last activity shown; what comes after it
        // is older, or as old with a smaller key.
        a.push(c.0.into());
        let k = a.len();
        sql.push_str(&format!(
            " AND (x.occurred_at < (SELECT occurred_at FROM activities WHERE tenant_id = $1 AND id = ${k}) \
             OR (x.occurred_at = (SELECT occurred_at FROM activities WHERE tenant_id = $1 AND id = ${k}) AND x.id < ${k}))"
        ));
    }
    let limit = q.limit.clamp(1, 200);
    sql.push_str(&format!(" ORDER BY x.occurred_at DESC, x.id DESC LIMIT {}", limit + 1));
    let rows = tx.fetch_all(sql, a, decode).await?;
    Ok(Page::from_rows(rows, limit, |r| r.key))
}

/// What an activity links to, resolved to keys by the caller.
#[derive(Debug, Clone, Copy, Default)]
pub struct Links {
    pub account: Option<i64>,
    pub lead: Option<i64>,
    pub contact: Option<i64>,
    pub opportunity: Option<i64>,
    pub case: Option<i64>,
}

/// An activity's fields as given.
#[derive(Debug, Clone)]
pub struct ActivityInput {
    pub kind: ActivityKind,
    pub links: Links,
    pub document_ref: Option<String>,
    pub details: Details,
    /// Defaults to the acting user.
    pub owner_id: Option<PublicId>,
}

fn check(input: &ActivityInput) -> Result<(), DomainError> {
    let mut v = Validator::new();
    activity::check(&mut v, input.kind, &input.details);
    if input.links.account.is_none() && input.links.lead.is_none() {
        v.add("account_id", "is required (or lead_id, for a lead's activity)");
    }
    if let Some(r) = &input.document_ref {
        let ok = r.split_once(':').is_some_and(|(t, id)| !t.is_empty() && id.parse::<PublicId>().is_ok());
        if !ok || r.len() > 80 {
            v.add("document_ref", "must be type:id, e.g. invoice:0190a5c4-…");
        }
    }
    v.finish()
}

/// The values of `$3`… shared by insert and update.
fn values(input: &ActivityInput, owner: Option<i64>, actor: &Actor, done_at: Option<OffsetDateTime>) -> Vec<Arg> {
    let d = &input.details;
    let json = |v: &Vec<String>| serde_json::to_string(v).expect("strings serialise");
    args![
        input.kind.as_str(),
        input.links.account,
        input.links.lead,
        input.links.contact,
        input.links.opportunity,
        input.links.case,
        input.document_ref.clone(),
        d.subject.trim(),
        d.body.trim(),
        d.occurred_at.unwrap_or_else(now),
        d.ends_at,
        d.direction.map(|x| x.as_str()),
        d.duration_seconds,
        d.outcome.clone(),
        json(&d.attendees),
        d.email_from.clone(),
        json(&d.email_to),
        d.due_date,
        d.done,
        done_at,
        owner,
        now(),
        actor.user_id
    ]
}

async fn owner_key(tx: &mut Tx, actor: &Actor, owner: Option<PublicId>) -> StoreResult<Option<i64>> {
    match owner {
        Some(o) => Ok(Some(users::resolve(tx, actor.tenant_id, o, "owner_id").await?)),
        None => Ok(actor.user_id),
    }
}

pub async fn create(tx: &mut Tx, actor: &Actor, input: ActivityInput) -> StoreResult<Activity> {
    check(&input)?;
    let owner = owner_key(tx, actor, input.owner_id).await?;
    let done_at = input.details.done.then(now);
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO activities (tenant_id, id, public_id, kind, account_id, lead_id, contact_id, opportunity_id, \
         case_id, document_ref, subject, body, occurred_at, ends_at, direction, duration_seconds, outcome, attendees, \
         email_from, email_to, due_date, done, done_at, owner_id, created_at, created_by, updated_at, updated_by, \
         version) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
         $20, $21, $22, $23, $24, $25, $24, $25, 1)",
        tx.new_id_expr("activities", "$1")
    );
    let mut a = args![actor.tenant_id, id];
    a.extend(values(&input, owner, actor, done_at));
    tx.execute(sql, a).await?;
    let act = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "activity" })?;
    audit::created(tx, actor, RecordType::Activity, id, &act).await?;
    Ok(act)
}

/// Replaces an activity's fields (the caller merged the patch into `input`).
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    before: &Activity,
    if_version: Option<i64>,
    input: ActivityInput,
) -> StoreResult<Activity> {
    expect_version("activity", before.version, if_version)?;
    check(&input)?;
    let owner = owner_key(tx, actor, input.owner_id.or(before.owner_id)).await?;
    let done_at = match (input.details.done, before.done) {
        (true, true) => before.done_at,
        (true, false) => Some(now()),
        (false, _) => None,
    };
    let mut a = args![actor.tenant_id, before.key];
    a.extend(values(&input, owner, actor, done_at));
    tx.execute(
        "UPDATE activities SET kind = $3, account_id = $4, lead_id = $5, contact_id = $6, opportunity_id = $7, \
         case_id = $8, document_ref = $9, subject = $10, body = $11, occurred_at = $12, ends_at = $13, direction = $14, \
         duration_seconds = $15, outcome = $16, attendees = $17, email_from = $18, email_to = $19, due_date = $20, \
         done = $21, done_at = $22, owner_id = $23, updated_at = $24, updated_by = $25, version = version + 1 \
         WHERE tenant_id = $1 AND id = $2",
        a,
    )
    .await?;
    let after = get(tx, actor.tenant_id, before.id).await?.ok_or(DomainError::NotFound { record: "activity" })?;
    audit::updated(tx, actor, RecordType::Activity, after.id, after.version, before, &after).await?;
    Ok(after)
}

pub async fn delete(tx: &mut Tx, actor: &Actor, before: &Activity, if_version: Option<i64>) -> StoreResult<()> {
    expect_version("activity", before.version, if_version)?;
    tx.execute("DELETE FROM activities WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, before.key]).await?;
    audit::deleted(tx, actor, RecordType::Activity, before.id, before.version + 1, before).await
}

/// The input that rewrites an activity as it is (for patches).
pub fn input_of(a: &Activity, links: Links) -> ActivityInput {
    ActivityInput {
        kind: a.kind,
        links,
        document_ref: a.document_ref.clone(),
        details: Details {
            subject: a.subject.clone(),
            body: a.body.clone(),
            occurred_at: Some(a.occurred_at),
            ends_at: a.ends_at,
            direction: a.direction,
            duration_seconds: a.duration_seconds,
            outcome: a.outcome.clone(),
            attendees: a.attendees.clone(),
            email_from: a.email_from.clone(),
            email_to: a.email_to.clone(),
            due_date: a.due_date.as_deref().and_then(|d| crate::stored_date(&Some(d.to_string()))),
            done: a.done,
        },
        owner_id: a.owner_id,
    }
}

/// The keys an activity links to, as stored.
pub async fn links_of(tx: &mut Tx, tenant_id: i64, a: &Activity) -> StoreResult<Links> {
    tx.fetch_one(
        "SELECT account_id, lead_id, contact_id, opportunity_id, case_id FROM activities WHERE tenant_id = $1 AND id = $2",
        args![tenant_id, a.key],
        |r| {
            Ok(Links {
                account: r.opt_i64("account_id")?,
                lead: r.opt_i64("lead_id")?,
                contact: r.opt_i64("contact_id")?,
                opportunity: r.opt_i64("opportunity_id")?,
                case: r.opt_i64("case_id")?,
            })
        },
    )
    .await
}

/// Moves every activity of a lead to the account (and contact) it became.
pub async fn move_lead_activities(
    tx: &mut Tx,
    tenant_id: i64,
    lead: i64,
    account: i64,
    contact: Option<i64>,
) -> StoreResult<u64> {
    tx.execute(
        "UPDATE activities SET account_id = $3, contact_id = COALESCE(contact_id, $4) WHERE tenant_id = $1 AND lead_id = $2",
        args![tenant_id, lead, account, contact],
    )
    .await
}

/// Moves every activity of an account to another (account merge).
pub async fn move_account_activities(tx: &mut Tx, tenant_id: i64, from: i64, to: i64) -> StoreResult<u64> {
    tx.execute(
        "UPDATE activities SET account_id = $3 WHERE tenant_id = $1 AND account_id = $2",
        args![tenant_id, from, to],
    )
    .await
}
