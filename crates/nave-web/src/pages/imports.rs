//! The import page (`/imports`): a CSV file of accounts, contacts, products,
//! invoices or payments, checked (nothing written) or imported as a
//! background job (`crate::jobs`) by the same importers as `nave import`
//! (`crate::import`), writing as the signed-in user: only the kinds their
//! role may create, and each row under their permissions, record scope and
//! field security. The page also lists the user's recent imports and exports.

use std::sync::Arc;

use askama::Template;
use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::Action;
use serde::Deserialize;

use super::{FormErrors, Layout, PageAuth, PageResult, fmt_time, form_again, render};
use crate::error::ApiError;
use crate::extract::MAX_UPLOAD_BYTES;
use crate::import::{self, Caller, ImportError, Kind, Mode};
use crate::jobs::{Job, Output, Work};
use crate::state::AppState;

/// How a likely duplicate's refusal ends on this page.
pub const DUPLICATES_HINT: &str = "tick “Import likely duplicates” to import it anyway";

/// A kind of file the user may import, with its columns.
#[derive(Debug, Clone)]
pub struct KindRow {
    pub value: &'static str,
    pub title: &'static str,
    pub required: &'static str,
    pub columns: String,
}

/// One of the user's jobs in the list.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: String,
    pub title: String,
    pub started: String,
    pub state: String,
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    layout: Layout,
    kinds: Vec<KindRow>,
    kind: String,
    source: String,
    allow_duplicates: bool,
    errors: FormErrors,
    jobs: Vec<JobRow>,
    keep_minutes: u64,
    max_mib: usize,
    batch_rows: usize,
}

fn title(k: Kind) -> &'static str {
    match k {
        Kind::Accounts => "Accounts",
        Kind::Contacts => "Contacts",
        Kind::Products => "Products",
        Kind::Invoices => "Invoices with their lines",
        Kind::Payments => "Payments received with their allocations",
    }
}

/// The kinds `caller` may import.
fn allowed(caller: &Caller) -> Vec<Kind> {
    Kind::ALL.into_iter().filter(|k| k.allowed(caller)).collect()
}

/// What the form was filled with.
#[derive(Debug, Default)]
struct Input {
    kind: String,
    source: String,
    allow_duplicates: bool,
}

fn page(app: &AppState, auth: &PageAuth, input: Input, errors: FormErrors) -> ImportsPage {
    let kinds = allowed(&Caller::user(&auth.principal))
        .into_iter()
        .map(|k| KindRow {
            value: k.as_str(),
            title: title(k),
            required: k.required(),
            columns: k.columns().join(", "),
        })
        .collect();
    let jobs = app
        .jobs
        .of(&auth.principal)
        .iter()
        .map(|j| JobRow {
            id: j.id.to_string(),
            title: super::jobs::title(&j.work),
            started: fmt_time(j.started_at),
            state: super::jobs::state_text(j),
        })
        .collect();
    ImportsPage {
        layout: auth.layout("imports"),
        kinds,
        kind: input.kind,
        source: input.source,
        allow_duplicates: input.allow_duplicates,
        errors,
        jobs,
        keep_minutes: app.jobs.limits().keep.as_secs() / 60,
        max_mib: MAX_UPLOAD_BYTES / (1024 * 1024),
        batch_rows: import::BATCH_ROWS,
    }
}

/// `?kind=` of the import page: the kind chosen at first.
#[derive(Debug, Deserialize)]
pub struct ImportQuery {
    kind: Option<String>,
}

/// `GET /imports`: the form, and the user's recent imports and exports.
pub async fn import_page(State(app): State<AppState>, auth: PageAuth, Query(q): Query<ImportQuery>) -> PageResult {
    let input = Input { kind: q.kind.unwrap_or_default(), ..Input::default() };
    Ok(render(&page(&app, &auth, input, FormErrors::default())).into_response())
}

/// The form as posted: its fields, and the file's name and bytes.
#[derive(Debug, Default)]
struct Posted {
    input: Input,
    mode: String,
    file: Option<(String, Vec<u8>)>,
}

/// Reads the multipart form. A file over the upload limit, or a body that
/// cannot be read, is an error next to the file field.
async fn read_form(form: &mut Multipart, errors: &mut FormErrors) -> Posted {
    let mut posted = Posted::default();
    let too_big = |e: &MultipartError| e.status() == StatusCode::PAYLOAD_TOO_LARGE;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                errors.add(
                    "file",
                    if too_big(&e) { too_large() } else { format!("could not be read: {}", e.body_text()) },
                );
                break;
            }
        };
        let name = field.name().unwrap_or("").to_string();
        let filename = field.file_name().map(str::to_string);
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => {
                errors.add(
                    "file",
                    if too_big(&e) { too_large() } else { format!("could not be read: {}", e.body_text()) },
                );
                break;
            }
        };
        let text = || String::from_utf8_lossy(&bytes).trim().to_string();
        match name.as_str() {
            "kind" => posted.input.kind = text(),
            "source" => posted.input.source = text(),
            "allow_duplicates" => posted.input.allow_duplicates = true,
            "mode" => posted.mode = text(),
            "file" => posted.file = Some((filename.unwrap_or_default(), bytes.to_vec())),
            _ => {}
        }
    }
    posted
}

fn too_large() -> String {
    format!("is larger than {} MiB: split it into smaller files", MAX_UPLOAD_BYTES / (1024 * 1024))
}

/// `POST /imports`: a multipart form with `kind`, `source`,
/// `allow_duplicates`, `file` and `mode` (`check` or `import`). Starts the
/// job and goes to its page; a form that cannot start one is shown again
/// with its errors (422), a kind the user's role may not create is 403.
pub async fn start(State(app): State<AppState>, auth: PageAuth, mut form: Multipart) -> PageResult {
    let p = &auth.principal;
    let mut errors = FormErrors::default();
    let posted = read_form(&mut form, &mut errors).await;
    let user = Caller::user(p);
    if allowed(&user).is_empty() {
        return Err(ApiError::forbidden(
            "your role may not create accounts, contacts, products, invoices or payments, so it may not import them",
        )
        .into());
    }
    let kind = Kind::parse(&posted.input.kind);
    match kind {
        None => errors.add("kind", "choose what the file holds"),
        Some(k) if !k.allowed(&user) => {
            super::require_page(p, k.record_type(), Action::Create)?;
        }
        Some(_) => {}
    }
    let check = posted.mode != "import";
    let source = Some(posted.input.source.trim()).filter(|s| !s.is_empty());
    let caller = match user.with_source("source", source) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.absorb(ApiError::from(e)).map_err(super::PageError)?;
            None
        }
    };
    let (filename, data) = match posted.file {
        Some((name, data)) if !data.is_empty() => (name, data),
        _ => {
            if errors.get("file").is_none() {
                errors.add("file", "choose a CSV file");
            }
            (String::new(), Vec::new())
        }
    };
    if !data.is_empty() {
        if data.len() > MAX_UPLOAD_BYTES {
            errors.add("file", too_large());
        } else if std::str::from_utf8(&data).is_err() {
            errors.add("file", "is not UTF-8 text: save it as CSV UTF-8 and choose it again");
        } else if let Some(k) = kind
            && let Err(e) = import::check_header(k, &data)
        {
            errors.add("file", e.to_string());
        }
    }
    let (Some(kind), Some(caller), true) = (kind, caller, errors.is_empty()) else {
        return form_again(StatusCode::UNPROCESSABLE_ENTITY, &page(&app, &auth, posted.input, errors));
    };
    let work = Work::Import { kind, check, filename, source: caller.actor.source.clone() };
    let db = app.db.clone();
    let options = import::Options {
        mode: if check { Mode::CheckInBatches } else { Mode::Import },
        allow_duplicates: posted.input.allow_duplicates,
        duplicates_hint: DUPLICATES_HINT,
    };
    let started = app.jobs.start(p, work, move |job: Arc<Job>| async move {
        match import::import(&db, kind, &data, options, &caller, &*job).await {
            Ok(summary) => Ok(Output::Import(summary)),
            Err(ImportError::File(message)) => Err(message),
            Err(ImportError::Store(e)) => {
                tracing::error!(job.id = %job.id, error = %e, "an import job failed");
                Err(if check {
                    "the check stopped because of an error on the server; nothing was written".into()
                } else {
                    format!(
                        "the import stopped because of an error on the server; the rows it had written ({} at a \
                         time) stay imported",
                        import::BATCH_ROWS
                    )
                })
            }
        }
    });
    match started {
        Ok(job) => Ok(Redirect::to(&format!("/jobs/{}", job.id)).into_response()),
        Err(busy) => {
            let errors = FormErrors::whole(busy.0);
            form_again(StatusCode::TOO_MANY_REQUESTS, &page(&app, &auth, posted.input, errors))
        }
    }
}
