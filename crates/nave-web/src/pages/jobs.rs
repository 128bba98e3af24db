//! The page of a background job (`crate::jobs`): an import or its check, an
//! export, or a report that took too long to wait for. While the job runs,
//! the page asks for its progress part every second (htmx,
//! `GET /jobs/{id}/progress` with `HX-Request`) and swaps it in; the
//! finished part carries no trigger, so the asking stops. Without scripts
//! the same address answers the whole page. A finished import shows
//! its counts and the refused rows; a finished export offers its file; a
//! finished report links to its page, which shows the job's figures (and
//! htmx goes there by itself: the part answers with `HX-Redirect`).
//! A job is seen by the user who started it only: to anyone else it is 404.

use std::collections::BTreeSet;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{Html, IntoResponse};
use nave_domain::error::ErrorCode;
use nave_domain::ids::PublicId;

use super::show::filters;
use super::{Layout, PageAuth, PageResult, fmt_time, render};
use crate::api::reports::ReportKind;
use crate::error::ApiError;
use crate::jobs::{Job, Output, Phase, Work};
use crate::state::AppState;

/// Refused rows a page shows; the download has them all.
const SHOWN_ERRORS: usize = 500;

/// One refused row as the page shows it.
#[derive(Debug, Clone)]
pub struct ErrorRow {
    pub line: u64,
    pub column: String,
    pub reason: String,
}

/// A finished import's summary.
#[derive(Debug, Clone)]
pub struct ImportView {
    pub kind: &'static str,
    pub check: bool,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// The rows refused (a row may have several problems).
    pub refused: usize,
    /// What else it did ("2 new product line(s)").
    pub extra: String,
    pub errors: Vec<ErrorRow>,
    /// Problems not shown.
    pub hidden: usize,
}

/// A finished export's file.
#[derive(Debug, Clone)]
pub struct ExportView {
    pub filename: &'static str,
    pub rows: usize,
    pub size: String,
    /// The address that answers the same file at once.
    pub direct: String,
}

/// A finished report's page.
#[derive(Debug, Clone)]
pub struct ReportView {
    /// The report page with the job's figures.
    pub link: String,
    pub rows: usize,
}

/// A job as its page shows it.
#[derive(Debug, Clone)]
pub struct JobView {
    pub id: String,
    pub title: String,
    pub started: String,
    pub detail: String,
    /// `waiting`, `running`, `done` or `failed`.
    pub state: &'static str,
    pub finished: bool,
    pub done: u64,
    pub total: u64,
    pub percent: u64,
    /// What `done` counts: `rows` or `records`; empty when nothing is
    /// counted (a report).
    pub unit: &'static str,
    pub message: String,
    /// Where the page's crumb leads back to: (address, text).
    pub back: (&'static str, &'static str),
    pub import: Option<ImportView>,
    pub export: Option<ExportView>,
    pub report: Option<ReportView>,
}

/// What a job is called: "Import of accounts (check only)".
pub fn title(work: &Work) -> String {
    match work {
        Work::Import { kind, check: true, .. } => format!("Import of {} (check only)", kind.as_str()),
        Work::Import { kind, .. } => format!("Import of {}", kind.as_str()),
        Work::Export { list, .. } => format!("Export of {list}"),
        Work::Report { slug, .. } => {
            format!("Report: {}", ReportKind::parse(slug).map(|k| k.title()).unwrap_or(slug))
        }
    }
}

/// The report page of a finished report job: its filters and the job.
fn report_link(slug: &str, query: &str, id: PublicId) -> String {
    let and = if query.is_empty() { "" } else { "&" };
    format!("/reports/{slug}?{query}{and}job={id}")
}

/// A report's filters as the job's page names them: "from 2026-01-01, years 2".
fn filters_text(query: &str) -> String {
    let shown: Vec<String> = form_urlencoded::parse(query.as_bytes())
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{} {v}", k.replace('_', " ")))
        .collect();
    if shown.is_empty() { "the default filters".into() } else { format!("filters: {}", shown.join(", ")) }
}

/// Where a job is, in a few words, for lists of jobs.
pub fn state_text(job: &Job) -> String {
    let (done, total) = job.progress();
    match job.phase() {
        Phase::Waiting => "waiting".into(),
        Phase::Running if matches!(job.work, Work::Report { .. }) => "running".into(),
        Phase::Running if total > 0 => format!("running: {done} of {total}"),
        Phase::Running => format!("running: {done} so far"),
        Phase::Failed(_) => "failed".into(),
        Phase::Done(o) => match &*o {
            Output::Import(s) => {
                let r = &s.report;
                format!("done: {} new, {} updated, {} refused", r.created, r.updated, refused_rows(&s.report))
            }
            Output::Export(f) => format!("done: {} rows", f.rows),
            Output::Report(_) => "done: ready to open".into(),
        },
    }
}

fn refused_rows(r: &crate::import::Report) -> usize {
    r.errors.iter().map(|e| e.row).collect::<BTreeSet<_>>().len()
}

/// The view of a job now.
pub fn view(job: &Job) -> JobView {
    let (done, total) = job.progress();
    let phase = job.phase();
    let (state, message) = match &phase {
        Phase::Waiting => ("waiting", String::new()),
        Phase::Running => ("running", String::new()),
        Phase::Done(_) => ("done", String::new()),
        Phase::Failed(m) => ("failed", m.clone()),
    };
    let (detail, unit, back) = match &job.work {
        Work::Import { filename, source, .. } => {
            let mut d = filename.clone();
            if let Some(s) = source {
                d.push_str(&format!(", written for the system {s}"));
            }
            (d, "rows", IMPORTS)
        }
        Work::Export { query, .. } if query.is_empty() => ("the whole list".to_string(), "records", IMPORTS),
        Work::Export { .. } => ("the list's current view".to_string(), "records", IMPORTS),
        Work::Report { query, .. } => (filters_text(query), "", ("/reports", "Reports")),
    };
    let mut v = JobView {
        id: job.id.to_string(),
        title: title(&job.work),
        started: fmt_time(job.started_at),
        detail,
        state,
        finished: phase.finished(),
        done,
        total,
        percent: (done.min(total) * 100).checked_div(total).unwrap_or(0),
        unit,
        message,
        back,
        import: None,
        export: None,
        report: None,
    };
    if let Phase::Done(output) = &phase {
        match (&**output, &job.work) {
            (Output::Import(s), Work::Import { kind, check, .. }) => {
                let r = &s.report;
                v.import = Some(ImportView {
                    kind: kind.as_str(),
                    check: *check,
                    created: r.created,
                    updated: r.updated,
                    unchanged: r.unchanged,
                    refused: refused_rows(r),
                    extra: s.extra.trim_start_matches([',', ' ']).to_string(),
                    errors: r
                        .errors
                        .iter()
                        .take(SHOWN_ERRORS)
                        .map(|e| ErrorRow { line: e.row, column: e.column.clone(), reason: e.reason.clone() })
                        .collect(),
                    hidden: r.errors.len().saturating_sub(SHOWN_ERRORS),
                });
            }
            (Output::Export(f), Work::Export { list, query }) => {
                let q = if query.is_empty() { String::new() } else { format!("?{query}") };
                v.export = Some(ExportView {
                    filename: f.filename,
                    rows: f.rows,
                    size: super::attachments::human_size(f.bytes.len() as i64),
                    direct: format!("/{list}/export.csv{q}"),
                });
            }
            (Output::Report(r), Work::Report { slug, query }) => {
                v.report = Some(ReportView { link: report_link(slug, query, job.id), rows: r.rows });
            }
            _ => {}
        }
    }
    v
}

const IMPORTS: (&str, &str) = ("/imports", "Imports and exports");

/// The menu entry a job's page belongs to.
fn section(job: &Job) -> &'static str {
    match job.work {
        Work::Report { .. } => "reports",
        _ => "imports",
    }
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    layout: Layout,
    job: JobView,
}

#[derive(Template)]
#[template(path = "parts/job_progress.html")]
struct JobProgressPart {
    job: JobView,
}

/// The job `id` of the signed-in user; anyone else's, or none, is 404.
fn find(app: &AppState, auth: &PageAuth, id: &str) -> Result<Arc<Job>, ApiError> {
    let missing = || {
        ApiError::new(
            ErrorCode::NotFound,
            "there is no such import, export or report job (jobs are kept for a while only)",
        )
    };
    let id: PublicId = id.parse().map_err(|_| missing())?;
    app.jobs.get(&auth.principal, id).ok_or_else(missing)
}

/// `GET /jobs/{id}`: the job's page.
pub async fn job_page(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let job = find(&app, &auth, &id)?;
    Ok(render(&JobPage { layout: auth.layout(section(&job)), job: view(&job) }).into_response())
}

/// `GET /jobs/{id}/progress`: the job's progress part, which htmx swaps in
/// (`HX-Request`); other clients get the whole page.
pub async fn progress(
    State(app): State<AppState>,
    auth: PageAuth,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> PageResult {
    let job = find(&app, &auth, &id)?;
    if headers.get("hx-request").is_some() {
        let part = JobProgressPart { job: view(&job) };
        let html: Html<String> = render(&part);
        let mut response = ([(axum::http::header::CACHE_CONTROL, "no-store")], html).into_response();
        // A finished report is seen on its own page: htmx goes there.
        if let Some(r) = &part.job.report
            && let Ok(to) = HeaderValue::from_str(&r.link)
        {
            response.headers_mut().insert("hx-redirect", to);
        }
        return Ok(response);
    }
    Ok(render(&JobPage { layout: auth.layout(section(&job)), job: view(&job) }).into_response())
}

/// `GET /jobs/{id}/download`: a finished export's file, or a finished
/// import's problems (line, column, problem) as CSV.
pub async fn download(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let job = find(&app, &auth, &id)?;
    let Phase::Done(output) = job.phase() else {
        return Err(
            ApiError::new(ErrorCode::Conflict, "the job has not finished: there is nothing to download yet").into()
        );
    };
    match (&*output, &job.work) {
        (Output::Export(f), _) => Ok(crate::csv_export::attachment(f.filename, f.bytes.clone())),
        (Output::Import(s), Work::Import { kind, .. }) => {
            let rows: Vec<Vec<String>> =
                s.report.errors.iter().map(|e| vec![e.row.to_string(), e.column.clone(), e.reason.clone()]).collect();
            let file = crate::csv_export::CsvFile::write("problems.csv", &["line", "column", "problem"], &rows)?;
            Ok(crate::csv_export::attachment(&format!("{}-problems.csv", kind.as_str()), file.bytes))
        }
        (Output::Report(_), _) => {
            Err(ApiError::new(ErrorCode::NotFound, "a report has no file here: open the report for its CSV link")
                .into())
        }
        (Output::Import(_), _) => Err(ApiError::internal(&"a job with an import's output that is no import").into()),
    }
}
