//! The numbering page (`/sequences`): each document type's sequence — its
//! prefix, digits, yearly restart and the next number — with a form per
//! sequence for those who may change them. The next number itself is never
//! set by hand: numbers are gapless and never change once given.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use nave_domain::access::{Action, RecordType};
use nave_store::sequences::{self, Sequence};

use super::{FormData, FormErrors, Layout, PageAuth, PageResult, render, require_page};
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::state::AppState;

const T: RecordType = RecordType::Sequence;

/// Every route of the page.
pub fn routes() -> Router<AppState> {
    Router::new().route("/sequences", get(show)).route("/sequences/{kind}", post(update))
}

/// One sequence with its form (values as typed when shown again).
#[derive(Debug)]
struct Row {
    s: Sequence,
    prefix: String,
    padding: String,
    yearly: bool,
    errors: FormErrors,
}

impl Row {
    fn label(&self) -> String {
        label(&self.s.doc_type)
    }
}

#[derive(Template)]
#[template(path = "sequences.html")]
struct SequencesPage {
    layout: Layout,
    rows: Vec<Sequence>,
    /// The sequence whose form is open.
    editing: Option<Row>,
    can_edit: bool,
}

fn label(kind: &str) -> String {
    kind.replace('_', " ")
}

impl SequencesPage {
    fn label(&self, kind: &str) -> String {
        label(kind)
    }
}

async fn page(
    app: &AppState,
    auth: &PageAuth,
    edit: Option<&str>,
    typed: Option<(&FormData, FormErrors)>,
) -> PageResult {
    let p = &auth.principal;
    // Listing creates the sequences not used yet: a write transaction.
    let mut tx = app.db.write().await?;
    let rows = sequences::list(&mut tx, p.tenant_id).await?;
    tx.commit().await?;
    let can_edit = p.scope_for(T, Action::Update).is_some();
    let mut status = StatusCode::OK;
    let editing = match edit.and_then(|k| rows.iter().find(|s| s.doc_type == k)).filter(|_| can_edit) {
        Some(s) => {
            let mut r = Row {
                prefix: s.prefix.clone(),
                padding: s.padding.to_string(),
                yearly: s.yearly,
                errors: FormErrors::default(),
                s: s.clone(),
            };
            if let Some((form, errors)) = typed {
                status = errors.status();
                r.prefix = form.get("prefix");
                r.padding = form.get("padding");
                r.yearly = form.checked("yearly");
                r.errors = errors;
            }
            Some(r)
        }
        None => None,
    };
    let view = SequencesPage { layout: auth.layout("sequences"), rows, editing, can_edit };
    Ok((status, render(&view)).into_response())
}

/// The query of the page: `?edit=invoice` opens that sequence's form.
#[derive(Debug, serde::Deserialize)]
pub struct ShowQuery {
    edit: Option<String>,
}

/// `GET /sequences`.
async fn show(State(app): State<AppState>, auth: PageAuth, Query(q): Query<ShowQuery>) -> PageResult {
    require_page(&auth.principal, T, Action::Read)?;
    page(&app, &auth, q.edit.as_deref(), None).await
}

/// `POST /sequences/{kind}`: changes one sequence, or shows the page again
/// with its errors next to its fields.
async fn update(State(app): State<AppState>, auth: PageAuth, Path(kind): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Update)?;
    let form = FormData::parse(&body);
    let mut errors = FormErrors::default();
    let padding = match form.get("padding").trim().parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add("padding", "must be a whole number of digits, like 5");
            None
        }
    };
    if !errors.is_empty() {
        return page(&app, &auth, Some(&kind), Some((&form, errors))).await;
    }
    let mut tx = app.db.write().await?;
    let version = Some(form.version()).filter(|v| *v > 0);
    let done = sequences::update(
        &mut tx,
        &actor_of(p),
        &kind,
        version,
        Some(form.get("prefix")),
        padding,
        Some(form.checked("yearly")),
    )
    .await;
    match done {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to("/sequences").into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let e: ApiError = e.into();
            if e.code == nave_domain::error::ErrorCode::NotFound {
                return Err(e.into());
            }
            let errors = super::form_errors(e)?;
            page(&app, &auth, Some(&kind), Some((&form, errors))).await
        }
    }
}
