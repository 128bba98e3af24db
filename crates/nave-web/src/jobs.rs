//! Background jobs of the web pages: CSV imports and exports that a user
//! starts from a page, and reports that took too long to wait for, which
//! run in a tokio task while the page shows how far they are (ADR 0017).
//!
//! Jobs live in the server's memory ([`Jobs`], in `AppState`), not in the
//! database: a job belongs to the user who started it (anyone else is
//! answered 404), a finished job is kept for [`Limits::keep`] and then
//! forgotten, and a restart of the server loses every job (an import stopped
//! halfway keeps the batches it had committed). Memory is bounded: the
//! uploaded file (at most `extract::MAX_UPLOAD_BYTES`) is held only until its
//! job ends, few jobs wait or run at once, and the oldest finished jobs are
//! forgotten first when the kept ones hold too many bytes.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use nave_domain::access::{Grants, Principal};
use nave_domain::ids::PublicId;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio::task::{JoinError, JoinHandle};

use crate::api::reports::Report;
use crate::import::{self, Progress};

/// How many jobs may wait, run and be kept.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Jobs that run at once; the others wait their turn.
    pub running: usize,
    /// Jobs waiting or running for one user.
    pub unfinished_per_user: usize,
    /// Jobs waiting or running in all (each holds its uploaded file).
    pub unfinished: usize,
    /// How long a finished job is kept.
    pub keep: Duration,
    /// The bytes finished jobs may hold in all (export files, import reports);
    /// past it the oldest are forgotten.
    pub kept_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            running: 2,
            unfinished_per_user: 3,
            unfinished: 12,
            keep: Duration::from_secs(3600),
            kept_bytes: 64 * 1024 * 1024,
        }
    }
}

/// What a job does.
#[derive(Debug, Clone)]
pub enum Work {
    /// A CSV import (or its check) of an uploaded file.
    Import {
        kind: import::Kind,
        /// A check: nothing is written.
        check: bool,
        /// The uploaded file's name, as the browser gave it.
        filename: String,
        /// The source system the rows are written for, if any.
        source: Option<String>,
    },
    /// A CSV export of a list's view.
    Export {
        /// The list: `accounts`, `contacts`, `products`, `invoices` or `payments`.
        list: &'static str,
        /// The list's view: its query string.
        query: String,
    },
    /// A report page whose figures took longer than the page waits
    /// (`WebConfig::report_wait`).
    Report {
        /// The report (`ReportKind::slug`).
        slug: &'static str,
        /// Its filters: the page's query string, without `job`.
        query: String,
    },
}

/// A file a job made.
#[derive(Debug, Clone)]
pub struct File {
    pub filename: &'static str,
    pub bytes: Bytes,
    /// Its data rows.
    pub rows: usize,
}

/// A report's figures, and whom they were computed for: they are shown
/// again only to the same user with the same grants and team, since both
/// decide what the figures hold (record scope, cost and margin).
#[derive(Debug, Clone)]
pub struct ReportResult {
    pub report: Arc<Report>,
    pub team_id: Option<i64>,
    pub grants: Arc<Grants>,
    /// The rows of its table, for the job's page.
    pub rows: usize,
    /// The size of its JSON, for [`Limits::kept_bytes`].
    bytes: usize,
}

impl ReportResult {
    pub fn new(report: Arc<Report>, p: &Principal) -> Self {
        let bytes = serde_json::to_vec(&*report).map(|v| v.len()).unwrap_or(0);
        let rows = report.table().rows.len();
        ReportResult { report, team_id: p.team_id, grants: p.grants.clone(), rows, bytes }
    }

    /// Were the figures computed as `p` would see them now?
    pub fn fits(&self, p: &Principal) -> bool {
        self.team_id == p.team_id && *self.grants == *p.grants
    }
}

/// What a finished job gives.
#[derive(Debug, Clone)]
pub enum Output {
    Import(import::Summary),
    Export(File),
    Report(ReportResult),
}

impl Output {
    /// Roughly the bytes it holds, for [`Limits::kept_bytes`].
    fn weight(&self) -> usize {
        match self {
            Output::Import(s) => s.report.errors.iter().map(|e| 48 + e.column.len() + e.reason.len()).sum::<usize>(),
            Output::Export(f) => f.bytes.len(),
            Output::Report(r) => r.bytes,
        }
    }
}

/// Where a job is.
#[derive(Debug, Clone)]
pub enum Phase {
    /// Waiting for another job to finish.
    Waiting,
    Running,
    Done(Arc<Output>),
    /// Stopped; the message is for the user.
    Failed(String),
}

impl Phase {
    pub fn finished(&self) -> bool {
        matches!(self, Phase::Done(_) | Phase::Failed(_))
    }
}

#[derive(Debug)]
struct State {
    phase: Phase,
    finished_at: Option<Instant>,
}

/// One job: who started it, what it does, and how far it is.
#[derive(Debug)]
pub struct Job {
    pub id: PublicId,
    pub tenant_id: i64,
    /// The user who started it (their key): only they see it.
    pub user_id: i64,
    pub work: Work,
    pub started_at: OffsetDateTime,
    /// Rows (imports) or records (exports) to do; 0 while not known.
    total: AtomicU64,
    /// Rows or records done so far.
    done: AtomicU64,
    state: Mutex<State>,
}

impl Job {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where the job is now.
    pub fn phase(&self) -> Phase {
        self.state().phase.clone()
    }

    /// (done, total) so far; a total of 0 is not known yet.
    pub fn progress(&self) -> (u64, u64) {
        (self.done.load(Ordering::Relaxed), self.total.load(Ordering::Relaxed))
    }

    fn set(&self, phase: Phase) {
        let mut s = self.state();
        if phase.finished() {
            s.finished_at = Some(Instant::now());
        }
        s.phase = phase;
    }

    /// Ends the job with what its task gave.
    fn finish(&self, outcome: Result<Result<Output, String>, JoinError>) {
        self.set(match outcome {
            Ok(Ok(output)) => Phase::Done(Arc::new(output)),
            Ok(Err(message)) => Phase::Failed(message),
            Err(e) => {
                tracing::error!(job.id = %self.id, error = %e, "a job stopped unexpectedly");
                Phase::Failed("the job stopped because of an error on the server".into())
            }
        });
    }

    /// Is the job finished and older than `keep`?
    fn expired(&self, now: Instant, keep: Duration) -> bool {
        self.state().finished_at.is_some_and(|at| now.duration_since(at) > keep)
    }

    fn weight(&self) -> usize {
        match &self.state().phase {
            Phase::Done(o) => o.weight(),
            _ => 0,
        }
    }

    fn belongs_to(&self, p: &Principal) -> bool {
        self.tenant_id == p.tenant_id && self.user_id == p.user_id
    }
}

impl Progress for Job {
    fn start(&self, rows: u64) {
        self.total.store(rows, Ordering::Relaxed);
    }

    fn advance(&self, rows: u64) {
        self.done.fetch_add(rows, Ordering::Relaxed);
    }
}

/// Why a job was not started; the message is for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy(pub String);

/// The jobs of this server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Oldest first.
    jobs: Mutex<VecDeque<Arc<Job>>>,
    running: Arc<Semaphore>,
    limits: Limits,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs::new(Limits::default())
    }
}

impl Jobs {
    pub fn new(limits: Limits) -> Self {
        Jobs {
            inner: Arc::new(Inner {
                jobs: Mutex::new(VecDeque::new()),
                running: Arc::new(Semaphore::new(limits.running.max(1))),
                limits,
            }),
        }
    }

    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    fn list(&self) -> MutexGuard<'_, VecDeque<Arc<Job>>> {
        let mut jobs = self.inner.jobs.lock().unwrap_or_else(|e| e.into_inner());
        Self::forget_old(&mut jobs, &self.inner.limits);
        jobs
    }

    /// Forgets the finished jobs kept too long, then the oldest finished
    /// ones while the kept ones hold more than the limit.
    fn forget_old(jobs: &mut VecDeque<Arc<Job>>, limits: &Limits) {
        let now = Instant::now();
        jobs.retain(|j| !j.expired(now, limits.keep));
        let mut held: usize = jobs.iter().map(|j| j.weight()).sum();
        while held > limits.kept_bytes {
            let Some(i) = jobs.iter().position(|j| j.phase().finished()) else { break };
            let j = jobs.remove(i).expect("the position found");
            held -= j.weight();
        }
    }

    /// Adds a job of `p` in `phase`, unless `p` or the server has too many
    /// jobs waiting or running.
    fn admit(&self, p: &Principal, work: Work, phase: Phase) -> Result<Arc<Job>, Busy> {
        let limits = self.inner.limits;
        let mut jobs = self.list();
        let unfinished: Vec<&Arc<Job>> = jobs.iter().filter(|j| !j.phase().finished()).collect();
        if unfinished.iter().filter(|j| j.belongs_to(p)).count() >= limits.unfinished_per_user {
            return Err(Busy(format!(
                "you have {} imports, exports or reports under way; start another when one of them has finished",
                limits.unfinished_per_user
            )));
        }
        if unfinished.len() >= limits.unfinished {
            return Err(Busy(
                "the server is busy with other imports, exports and reports; try again in a few minutes".into(),
            ));
        }
        let job = Arc::new(Job {
            id: PublicId::new(),
            tenant_id: p.tenant_id,
            user_id: p.user_id,
            work,
            started_at: nave_store::db::now(),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            state: Mutex::new(State { phase, finished_at: None }),
        });
        jobs.push_back(job.clone());
        Ok(job)
    }

    /// Starts `work` for `p` as a job: it waits for a free place, then runs
    /// `run` in a task of its own, which reports its progress on the job.
    /// Refused when `p` or the server has too many jobs waiting or running.
    pub fn start<F, Fut>(&self, p: &Principal, work: Work, run: F) -> Result<Arc<Job>, Busy>
    where
        F: FnOnce(Arc<Job>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Output, String>> + Send + 'static,
    {
        let job = self.admit(p, work, Phase::Waiting)?;
        let running = self.inner.running.clone();
        let this = job.clone();
        tokio::spawn(async move {
            let Ok(_place) = running.acquire_owned().await else {
                this.set(Phase::Failed("the server is shutting down".into()));
                return;
            };
            this.set(Phase::Running);
            // In a task of its own, so that a panic fails the job instead of
            // leaving it running for ever.
            let outcome = tokio::spawn(run(this.clone())).await;
            this.finish(outcome);
        });
        Ok(job)
    }

    /// Makes a task that is already running (a report page stopped waiting
    /// for it) a job of `p`; `output` turns what the task gives into the
    /// job's output or its message. It takes no place among the running
    /// jobs: it runs already, as the request that started it would have.
    /// Refused like [`Jobs::start`]; the task is then handed back, still
    /// running, for the caller to wait for.
    pub fn adopt<T, F>(
        &self,
        p: &Principal,
        work: Work,
        task: JoinHandle<T>,
        output: F,
    ) -> Result<Arc<Job>, (Busy, JoinHandle<T>)>
    where
        T: Send + 'static,
        F: FnOnce(T) -> Result<Output, String> + Send + 'static,
    {
        let job = match self.admit(p, work, Phase::Running) {
            Ok(job) => job,
            Err(busy) => return Err((busy, task)),
        };
        let this = job.clone();
        tokio::spawn(async move {
            let outcome = task.await.map(output);
            this.finish(outcome);
        });
        Ok(job)
    }

    /// The job `id` if `p` started it.
    pub fn get(&self, p: &Principal, id: PublicId) -> Option<Arc<Job>> {
        self.list().iter().find(|j| j.id == id && j.belongs_to(p)).cloned()
    }

    /// The jobs `p` started that are kept, newest first.
    pub fn of(&self, p: &Principal) -> Vec<Arc<Job>> {
        self.list().iter().rev().filter(|j| j.belongs_to(p)).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use nave_domain::access::{BuiltinRole, Principal};

    use super::*;

    fn user(id: i64) -> Principal {
        Principal {
            tenant_id: 1,
            user_id: id,
            team_id: None,
            role: "admin".into(),
            grants: Arc::new(BuiltinRole::Admin.grants()),
            token_id: None,
            source: None,
        }
    }

    fn export() -> Work {
        Work::Export { list: "accounts", query: String::new() }
    }

    fn file(n: usize) -> Output {
        Output::Export(File { filename: "accounts.csv", bytes: Bytes::from(vec![b'x'; n]), rows: 1 })
    }

    async fn finished(j: &Job) {
        for _ in 0..200 {
            if j.phase().finished() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the job did not finish");
    }

    #[tokio::test]
    async fn a_job_is_seen_by_the_user_who_started_it_only() {
        let jobs = Jobs::default();
        let j = jobs.start(&user(1), export(), |_| async { Ok(file(3)) }).unwrap();
        finished(&j).await;
        assert!(jobs.get(&user(1), j.id).is_some());
        assert!(jobs.get(&user(2), j.id).is_none());
        assert_eq!(jobs.of(&user(1)).len(), 1);
        assert!(jobs.of(&user(2)).is_empty());
    }

    #[tokio::test]
    async fn a_user_has_few_jobs_under_way_and_the_server_a_few_more() {
        let limits = Limits { running: 1, unfinished_per_user: 2, unfinished: 3, ..Limits::default() };
        let jobs = Jobs::new(limits);
        let (tx, rx) = tokio::sync::watch::channel(false);
        let slow = |rx: tokio::sync::watch::Receiver<bool>| {
            move |_| async move {
                let mut rx = rx;
                let _ = rx.wait_for(|go| *go).await;
                Ok(file(1))
            }
        };
        let a = jobs.start(&user(1), export(), slow(rx.clone())).unwrap();
        jobs.start(&user(1), export(), slow(rx.clone())).unwrap();
        let refused = jobs.start(&user(1), export(), slow(rx.clone())).unwrap_err();
        assert!(refused.0.contains("under way"), "{refused:?}");
        jobs.start(&user(2), export(), slow(rx.clone())).unwrap();
        let refused = jobs.start(&user(3), export(), slow(rx.clone())).unwrap_err();
        assert!(refused.0.contains("server is busy"), "{refused:?}");
        tx.send(true).unwrap();
        finished(&a).await;
        for j in jobs.of(&user(1)).iter().chain(jobs.of(&user(2)).iter()) {
            finished(j).await;
        }
        assert!(jobs.start(&user(3), export(), |_| async { Ok(file(1)) }).is_ok(), "finished jobs make room");
    }

    #[tokio::test]
    async fn a_failed_or_panicking_job_says_so() {
        let jobs = Jobs::default();
        let j = jobs.start(&user(1), export(), |_| async { Err("the file is not valid CSV".into()) }).unwrap();
        finished(&j).await;
        assert!(matches!(j.phase(), Phase::Failed(m) if m == "the file is not valid CSV"));
        let j = jobs
            .start(&user(1), export(), |_| async {
                if true {
                    panic!("boom");
                }
                Ok(file(1))
            })
            .unwrap();
        finished(&j).await;
        assert!(matches!(j.phase(), Phase::Failed(m) if m.contains("error on the server")));
    }

    #[tokio::test]
    async fn finished_jobs_are_forgotten_after_a_while_or_when_they_hold_too_much() {
        let jobs = Jobs::new(Limits { keep: Duration::from_millis(30), ..Limits::default() });
        let j = jobs.start(&user(1), export(), |_| async { Ok(file(1)) }).unwrap();
        finished(&j).await;
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(jobs.get(&user(1), j.id).is_none(), "kept no longer than `keep`");

        let jobs = Jobs::new(Limits { kept_bytes: 250, ..Limits::default() });
        let mut ids = vec![];
        for _ in 0..3 {
            let j = jobs.start(&user(1), export(), |_| async { Ok(file(100)) }).unwrap();
            finished(&j).await;
            ids.push(j.id);
        }
        let kept: Vec<PublicId> = jobs.of(&user(1)).iter().map(|j| j.id).collect();
        assert_eq!(kept, [ids[2], ids[1]], "the oldest is forgotten first");
    }

    #[tokio::test]
    async fn a_running_task_is_adopted_as_a_job_unless_the_user_is_busy() {
        let jobs = Jobs::new(Limits { unfinished_per_user: 1, ..Limits::default() });
        let (tx, rx) = tokio::sync::oneshot::channel::<usize>();
        let task = tokio::spawn(async move { rx.await.unwrap_or(0) });
        let to_file = |n: usize| if n > 0 { Ok(file(n)) } else { Err("nothing".to_string()) };
        let j = jobs.adopt(&user(1), export(), task, to_file).unwrap();
        assert!(matches!(j.phase(), Phase::Running), "it runs already");
        // The user's second task is handed back, still running.
        let other = tokio::spawn(async { 7 });
        let (busy, other) = jobs.adopt(&user(1), export(), other, to_file).unwrap_err();
        assert!(busy.0.contains("under way"), "{busy:?}");
        assert_eq!(other.await.unwrap(), 7);
        tx.send(5).unwrap();
        finished(&j).await;
        assert!(matches!(j.phase(), Phase::Done(o) if o.weight() == 5));
        assert_eq!(jobs.of(&user(1)).len(), 1);
    }

    #[tokio::test]
    async fn progress_counts_rows_against_the_total() {
        let jobs = Jobs::default();
        let j = jobs
            .start(&user(1), export(), |job| async move {
                job.start(10);
                job.advance(4);
                Ok(file(1))
            })
            .unwrap();
        finished(&j).await;
        assert_eq!(j.progress(), (4, 10));
    }
}
