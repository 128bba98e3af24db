//! Activities on pages: an account's (or a lead's) timeline with a form to log
//! a call, meeting, email, task, note or chat; ticking a task done; and the
//! open tasks of the signed-in user.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::activity::{ActivityKind, Details, Direction};
use nave_domain::ids::PublicId;
use nave_store::activities::{self, Activity, ActivityInput};
use time::OffsetDateTime;

use super::{FormData, FormErrors, PageAuth, PageResult, fmt_time};
use crate::api::activities::{ActivityFilter, LinkIds, list_for, resolve_links, visible};
use crate::error::{ApiError, ApiResult};
use crate::extract::actor_of;
use crate::state::AppState;

/// An activity as a timeline entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub kind: &'static str,
    pub label: &'static str,
    pub when: String,
    pub subject: String,
    pub body: String,
    /// "outbound · 5 min · connected", "until 10:30 · Ann, Bob", "due 2026-03-01".
    pub facts: String,
    pub owner: String,
    pub open_task: bool,
}

fn entry(a: &Activity) -> Entry {
    let mut facts = Vec::new();
    if let Some(d) = a.direction {
        facts.push(d.as_str().to_string());
    }
    if let Some(s) = a.duration_seconds {
        facts.push(format!("{} min", (s + 59) / 60));
    }
    if let Some(o) = &a.outcome {
        facts.push(o.replace('_', " "));
    }
    if let Some(e) = a.ends_at {
        facts.push(format!("until {}", fmt_time(e)));
    }
    if !a.attendees.is_empty() {
        facts.push(a.attendees.join(", "));
    }
    if !a.email_to.is_empty() {
        facts.push(format!("to {}", a.email_to.join(", ")));
    }
    if let Some(d) = &a.due_date {
        facts.push(format!("due {d}"));
    }
    if a.kind == ActivityKind::Task {
        facts.push(if a.done { "done".into() } else { "open".into() });
    }
    Entry {
        id: a.id.to_string(),
        kind: a.kind.as_str(),
        label: a.kind.label(),
        when: fmt_time(a.occurred_at),
        subject: a.subject.clone(),
        body: a.body.clone(),
        facts: facts.join(" · "),
        owner: a.owner_name.clone().unwrap_or_default(),
        open_task: a.kind == ActivityKind::Task && !a.done,
    }
}

/// What a record page needs to show its timeline and the log form.
#[derive(Debug, Clone, Default)]
pub struct TimelineView {
    /// `account` or `lead`.
    pub owner_type: &'static str,
    pub owner_id: String,
    pub entries: Vec<Entry>,
    /// The kind shown ("" = all).
    pub kind: String,
    pub kinds: Vec<(&'static str, &'static str)>,
    pub can_log: bool,
    pub next: Option<String>,
}

/// The timeline of an account or lead `p` may read.
pub async fn timeline(
    app: &AppState,
    p: &Principal,
    owner_type: &'static str,
    owner_id: PublicId,
    kind: Option<&str>,
) -> ApiResult<TimelineView> {
    let mut f = ActivityFilter {
        kind: kind.filter(|k| !k.is_empty()).map(str::to_string),
        limit: Some(30),
        ..Default::default()
    };
    if owner_type == "lead" {
        f.lead_id = Some(owner_id);
    } else {
        f.account_id = Some(owner_id);
    }
    let mut tx = app.db.read().await?;
    let page = list_for(&mut tx, p, &f).await?;
    tx.commit().await?;
    Ok(TimelineView {
        owner_type,
        owner_id: owner_id.to_string(),
        entries: page.items.iter().map(entry).collect(),
        kind: kind.unwrap_or("").to_string(),
        kinds: ActivityKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        can_log: p.scope_for(RecordType::Activity, Action::Create).is_some(),
        next: page.next.map(|c| c.encode()),
    })
}

fn opt(s: String) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Reads `YYYY-MM-DDTHH:MM` (a datetime-local input, taken as UTC).
fn local_time(errors: &mut FormErrors, field: &str, s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    match time::PrimitiveDateTime::parse(s, &fmt) {
        Ok(t) => Some(t.assume_utc()),
        Err(_) => {
            errors.add(field, "must be a date and time like 2026-03-02T09:30");
            None
        }
    }
}

/// `POST /activities`: logs an activity from a record page's form, then goes back to the page.
pub async fn log(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    super::require(p, RecordType::Activity, Action::Create, "log activities")?;
    let f = FormData::parse(&body);
    let owner_type = f.get("owner_type");
    let owner_id: PublicId = f.get("owner_id").parse().map_err(|_| ApiError::invalid("owner_id", "is not an id"))?;
    let back = if owner_type == "lead" { format!("/leads/{owner_id}") } else { format!("/accounts/{owner_id}") };
    let mut errors = FormErrors::default();
    let kind = ActivityKind::parse(&f.get("kind"));
    if kind.is_none() {
        errors.add("kind", "choose what happened");
    }
    let occurred_at = local_time(&mut errors, "occurred_at", &f.get("occurred_at"));
    let ends_at = local_time(&mut errors, "ends_at", &f.get("ends_at"));
    let duration = match f.get("duration_minutes").trim() {
        "" => None,
        m => match m.parse::<i64>() {
            Ok(n) => Some(n * 60),
            Err(_) => {
                errors.add("duration_seconds", "must be whole minutes");
                None
            }
        },
    };
    let due_date = super::form_date(&mut errors, "due_date", &f.get("due_date"));
    let split = |s: String| -> Vec<String> {
        s.split([',', ';', '\n']).map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect()
    };
    if let (Some(kind), true) = (kind, errors.is_empty()) {
        let direction =
            Direction::parse(&f.get("direction")).filter(|_| matches!(kind, ActivityKind::Call | ActivityKind::Email));
        let details = Details {
            subject: f.get("subject"),
            body: f.get("body"),
            occurred_at,
            ends_at: ends_at.filter(|_| kind == ActivityKind::Meeting),
            direction,
            duration_seconds: duration.filter(|_| kind == ActivityKind::Call),
            outcome: opt(f.get("outcome")).filter(|_| kind == ActivityKind::Call),
            attendees: if kind == ActivityKind::Meeting { split(f.get("attendees")) } else { vec![] },
            email_from: None,
            email_to: if kind == ActivityKind::Email { split(f.get("email_to")) } else { vec![] },
            due_date: due_date.filter(|_| kind == ActivityKind::Task),
            done: kind == ActivityKind::Task && f.checked("done"),
        };
        let ids = if owner_type == "lead" {
            LinkIds { lead_id: Some(owner_id), ..Default::default() }
        } else {
            LinkIds { account_id: Some(owner_id), ..Default::default() }
        };
        let mut tx = app.db.write().await?;
        let links = resolve_links(&mut tx, p, ids).await?;
        let input = ActivityInput { kind, links, document_ref: None, details, owner_id: None };
        match activities::create(&mut tx, &actor_of(p), input).await {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::to(&back).into_response());
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    // The form sits on the record's page: say what was wrong there, in one line each.
    let mut msgs: Vec<String> = Vec::new();
    if let Some(g) = &errors.general {
        msgs.push(g.clone());
    }
    for field in [
        "kind",
        "subject",
        "body",
        "occurred_at",
        "ends_at",
        "direction",
        "duration_seconds",
        "outcome",
        "attendees",
        "email_to",
        "due_date",
    ] {
        if let Some(m) = errors.get(field) {
            msgs.push(format!("{}: {m}", field.replace('_', " ")));
        }
    }
    Err(ApiError::invalid("activity", format!("The activity was not logged. {}", msgs.join("; "))).into())
}

/// `POST /activities/{id}/done`: ticks an open task done.
pub async fn done(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    super::require(p, RecordType::Activity, Action::Update, "change activities")?;
    let back = FormData::parse(&body).get("back");
    let mut tx = app.db.write().await?;
    let before = visible(&mut tx, p, &id).await?;
    let links = activities::links_of(&mut tx, p.tenant_id, &before).await?;
    let mut input = activities::input_of(&before, links);
    input.details.done = true;
    activities::update(&mut tx, &actor_of(p), &before, None, input).await?;
    tx.commit().await?;
    let back = if back.starts_with('/') && !back.starts_with("//") { back } else { "/".to_string() };
    Ok(Redirect::to(&back).into_response())
}

/// The signed-in user's open tasks, soonest due first (for the home page).
pub async fn my_open_tasks(app: &AppState, p: &Principal) -> ApiResult<Vec<(Entry, Option<String>)>> {
    if p.scope_for(RecordType::Activity, Action::Read).is_none() {
        return Ok(vec![]);
    }
    let f = ActivityFilter { owner: Some("me".into()), done: Some(false), limit: Some(20), ..Default::default() };
    let mut tx = app.db.read().await?;
    let mut page = list_for(&mut tx, p, &f).await?;
    tx.commit().await?;
    page.items.sort_by(|a, b| a.due_date.cmp(&b.due_date));
    Ok(page
        .items
        .iter()
        .map(|a| {
            let link = a.account_id.map(|id| format!("/accounts/{id}")).or(a.lead_id.map(|id| format!("/leads/{id}")));
            (entry(a), link)
        })
        .collect())
}
