//! `nave bench`: the performance workloads of PERFORMANCE.md, each with a
//! reference measured in the same run on the same data.
//!
//! Every workload runs against a fresh database it makes itself (a temporary
//! SQLite file, or a schema of its own on the PostgreSQL server `--db`
//! names), prints a human table on stderr and one JSON object per run on
//! stdout: `{"workload", "db", "params", "metrics", "reference", "ratio"}`.
//! Metric names end in their unit. Timing lives here, never in tests; the
//! test suite runs each workload at a tiny size and checks the output's
//! shape and the invariants.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use nave_store::audit::Actor;
use nave_store::db::{ConnectOptions, Db};
use nave_store::tenants::{self, DEFAULT_TENANT};
use nave_store::{migrate, tokens, users};
use serde::Serialize;
use serde_json::{Value, json};

mod contention;
mod generate;
mod import;
mod markdown;
mod o2c;
mod overview;
mod reports;

/// `nave bench WORKLOAD`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    workload: Workload,
}

#[derive(Debug, Subcommand)]
enum Workload {
    /// Order to cash through the HTTP API of a running server, with 1 and 8 clients by default.
    O2c(o2c::O2cArgs),
    /// Many clients confirm, ship and invoice against the same few products; checks the invariants.
    Contention(contention::ContentionArgs),
    /// CSV import of accounts with contacts through `nave import`, against a plain bulk insert.
    Import(import::ImportArgs),
    /// Generate a large company, then time the 360° view of random accounts against hand-written SQL.
    Overview(overview::OverviewArgs),
    /// Generate a large company, then time the sales reports against hand-written SQL.
    Reports(reports::ReportsArgs),
    /// Only generate a large company (deterministic) into the database and keep it.
    Generate(generate::GenerateArgs),
    /// Every workload, one after the other, with the same flags where they apply.
    All(AllArgs),
    /// Write BENCHMARKS.md (to standard output) from the workloads' JSON lines.
    Markdown(markdown::MarkdownArgs),
}

/// Flags every workload takes.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Database: sqlite://FILE (must not exist yet; default a temporary file) or
    /// postgres://USER@HOST/DB (a fresh schema is made there and dropped afterwards).
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// Seed of the data generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Keep the database afterwards (its URL is printed).
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct AllArgs {
    #[command(flatten)]
    common: Common,
    /// Data size of `overview`, `reports` and `import` (1 = the PERFORMANCE.md defaults).
    #[arg(long, default_value_t = 0.01)]
    scale: f64,
    /// Orders of `o2c` and `contention`.
    #[arg(long, default_value_t = 1000)]
    orders: usize,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.workload {
        Workload::O2c(a) => o2c::run(a).await,
        Workload::Contention(a) => contention::run(a).await,
        Workload::Import(a) => import::run(a).await,
        Workload::Overview(a) => overview::run(a).await,
        Workload::Reports(a) => reports::run(a).await,
        Workload::Generate(a) => generate::run_cli(a).await,
        Workload::Markdown(a) => markdown::run(a),
        Workload::All(a) => {
            o2c::run(o2c::O2cArgs::new(a.common.clone(), a.orders)).await?;
            contention::run(contention::ContentionArgs::new(a.common.clone(), a.orders)).await?;
            import::run(import::ImportArgs::new(a.common.clone(), a.scale)).await?;
            overview::run(overview::OverviewArgs::new(a.common.clone(), a.scale)).await?;
            reports::run(reports::ReportsArgs::new(a.common, a.scale)).await
        }
    }
}

// ---------------------------------------------------------------------------
// A fresh database per run.

/// A database made for one run; removed on drop unless kept.
pub struct BenchDb {
    pub db: Db,
    /// A URL another process (`nave serve`, `nave import`) can open.
    pub url: String,
    pub engine: &'static str,
    sqlite_file: Option<PathBuf>,
    pg: Option<(String, String)>,
    keep: bool,
}

fn tag() -> String {
    uuid::Uuid::now_v7().simple().to_string()[..16].to_string()
}

impl BenchDb {
    /// A fresh, migrated database with the default tenant.
    pub async fn fresh(common: &Common) -> anyhow::Result<BenchDb> {
        Self::fresh_at(common.db.as_deref(), common.keep).await
    }

    pub async fn fresh_at(url: Option<&str>, keep: bool) -> anyhow::Result<BenchDb> {
        let t = tag();
        let b = match url {
            Some(u) if u.starts_with("postgres:") || u.starts_with("postgresql:") => {
                let admin = Db::connect(u, &ConnectOptions { max_connections: 1, ..Default::default() })
                    .await
                    .context("cannot reach the PostgreSQL server of --db")?;
                let schema = format!("nave_bench_{t}");
                admin.execute_raw(&format!("CREATE SCHEMA {schema}")).await?;
                admin.close().await;
                let opts =
                    ConnectOptions { max_connections: 16, pg_schema: Some(schema.clone()), ..Default::default() };
                let db = Db::connect(u, &opts).await?;
                let sep = if u.contains('?') { '&' } else { '?' };
                let url = format!("{u}{sep}options=-csearch_path%3D{schema}");
                BenchDb { db, url, engine: "postgres", sqlite_file: None, pg: Some((u.to_string(), schema)), keep }
            }
            other => {
                let path = match other {
                    None => std::env::temp_dir().join(format!("nave-bench-{t}.db")),
                    Some(u) => {
                        let Some(p) = u.strip_prefix("sqlite://").or_else(|| u.strip_prefix("sqlite:")) else {
                            bail!("--db must be sqlite://FILE or postgres://USER@HOST/DB");
                        };
                        let p = PathBuf::from(p);
                        anyhow::ensure!(
                            !p.exists(),
                            "{} exists; the benchmark needs a fresh database (give a new file name)",
                            p.display()
                        );
                        p
                    }
                };
                let url = format!("sqlite://{}", path.display());
                let db = Db::connect(&url, &ConnectOptions::default()).await?;
                BenchDb { db, url, engine: "sqlite", sqlite_file: Some(path), pg: None, keep }
            }
        };
        migrate::migrate(&b.db).await?;
        tenants::ensure(&b.db, DEFAULT_TENANT, "Bench Company").await?;
        Ok(b)
    }

    /// Closes the pool and removes the database unless `--keep` was given.
    pub async fn finish(mut self) {
        self.db.close().await;
        if self.keep {
            eprintln!("The database is kept at {}", nave_store::db::redact_url(&self.url));
            return;
        }
        if let Some(f) = self.sqlite_file.take() {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", f.display()));
            }
        }
        if let Some((base, schema)) = self.pg.take()
            && let Ok(admin) = Db::connect(&base, &ConnectOptions { max_connections: 1, ..Default::default() }).await
        {
            let _ = admin.execute_raw(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
            admin.close().await;
        }
    }
}

/// An admin user and an API token for it; returns the token.
pub async fn admin_token(db: &Db) -> anyhow::Result<String> {
    let mut tx = db.write().await?;
    let system = Actor::system(DEFAULT_TENANT);
    let new = users::NewUser {
        email: nave_domain::email::Email::parse("bench@example.com").map_err(|_| anyhow::anyhow!("bad e-mail"))?,
        name: "Bench".into(),
        password_hash: None,
        role: "admin".into(),
        team_id: None,
        locale: None,
    };
    let user = users::create(&mut tx, &system, new).await?;
    let token = tokens::NewToken { user_key: user.key, name: "bench".into(), source_system: None, expires_at: None };
    let (_, secret) = tokens::create(&mut tx, &system, token).await?;
    tx.commit().await?;
    Ok(secret)
}

// ---------------------------------------------------------------------------
// A real `nave serve` in a child process.

/// A server started from this very binary, stopped on drop.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub fn start(db_url: &str) -> anyhow::Result<Server> {
        let exe = std::env::current_exe().context("cannot find the nave binary")?;
        let mut child = Command::new(exe)
            .args(["serve", "--db", db_url, "--listen", "127.0.0.1:0"])
            .current_dir(std::env::temp_dir())
            // NAVE_BENCH_SERVER_LOG (e.g. `warn,sqlx::query=debug`) lets a profiling run see the server's logs.
            .env("NAVE_LOG", std::env::var("NAVE_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start nave serve")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(rest) = line.split("Nave is running at ").nth(1) {
                    let url = rest.split_whitespace().next().unwrap_or_default().trim_end_matches('/').to_string();
                    let _ = tx.send(Ok(url));
                    sent = true;
                } else if !sent {
                    let _ = tx.send(Err(line));
                } else {
                    eprintln!("server: {line}");
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Ok(base)) => return Ok(Server { child, base }),
                Ok(Err(line)) => seen.push(line),
                Err(_) => {
                    let _ = child.kill();
                    bail!("nave serve did not start: {}", seen.join(" / "));
                }
            }
        }
    }

    /// (current, peak) resident memory of the server in MB, from /proc.
    pub fn rss_mb(&self) -> (Option<f64>, Option<f64>) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status.lines().find(|l| l.starts_with(name)).and_then(|l| {
                l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()).map(|kb| round2(kb / 1024.0))
            })
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// An HTTP client that times every call by kind.

#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

/// Call durations by kind, in microseconds.
#[derive(Debug, Default)]
pub struct Timings(pub BTreeMap<&'static str, Vec<u64>>);

impl Timings {
    pub fn merge(&mut self, other: Timings) {
        for (k, mut v) in other.0 {
            self.0.entry(k).or_default().append(&mut v);
        }
    }

    pub fn calls(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    /// `{kind: {"p50_ms", "p99_ms", "calls"}}`.
    pub fn summary(&mut self) -> Value {
        let mut out = serde_json::Map::new();
        for (k, v) in &mut self.0 {
            out.insert(
                (*k).into(),
                json!({"p50_ms": percentile_ms(v, 50.0), "p99_ms": percentile_ms(v, 99.0), "calls": v.len()}),
            );
        }
        Value::Object(out)
    }
}

/// The p-th percentile (nearest rank) of durations in µs, in ms.
pub fn percentile_ms(v: &mut [u64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    round2(v[rank.min(v.len()) - 1] as f64 / 1000.0)
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl Api {
    pub fn new(base: &str, token: &str) -> anyhow::Result<Api> {
        let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
        Ok(Api { client, base: base.to_string(), token: token.to_string() })
    }

    /// One call; returns the status and the JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut r = self.client.request(method, format!("{}/api/v1{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(b);
        }
        let resp = r.send().await.with_context(|| format!("calling {path}"))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        let v = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        Ok((status, v))
    }

    /// A timed POST that must answer `expect`.
    pub async fn post(
        &self,
        t: &mut Timings,
        kind: &'static str,
        path: &str,
        body: &Value,
        expect: u16,
    ) -> anyhow::Result<Value> {
        let start = Instant::now();
        let (status, v) = self.call(reqwest::Method::POST, path, Some(body)).await?;
        t.0.entry(kind).or_default().push(start.elapsed().as_micros() as u64);
        anyhow::ensure!(status == expect, "{kind}: POST {path} answered {status}, expected {expect}: {v}");
        Ok(v)
    }

    /// A timed GET that must answer 200.
    pub async fn get(&self, t: &mut Timings, kind: &'static str, path: &str) -> anyhow::Result<Value> {
        let start = Instant::now();
        let (status, v) = self.call(reqwest::Method::GET, path, None).await?;
        t.0.entry(kind).or_default().push(start.elapsed().as_micros() as u64);
        anyhow::ensure!(status == 200, "{kind}: GET {path} answered {status}: {v}");
        Ok(v)
    }
}

/// The `id` of a JSON record.
pub fn id_of(v: &Value) -> anyhow::Result<String> {
    v["id"].as_str().map(str::to_string).with_context(|| format!("no id in {v}"))
}

// ---------------------------------------------------------------------------
// Output.

/// One workload's result, as printed on stdout.
#[derive(Debug, Serialize)]
pub struct Report {
    pub workload: &'static str,
    pub db: &'static str,
    pub params: Value,
    pub metrics: Value,
    pub reference: Value,
    pub ratio: Option<f64>,
}

impl Report {
    /// Prints the human table on stderr and the JSON line on stdout.
    pub fn emit(&self) {
        eprintln!("\n== {} on {} {}", self.workload, self.db, self.params);
        print_tree("  ", &self.metrics);
        if !self.reference.is_null() {
            eprintln!("  reference:");
            print_tree("    ", &self.reference);
        }
        if let Some(r) = self.ratio {
            eprintln!("  ratio: {r}");
        }
        println!("{}", serde_json::to_string(self).unwrap_or_default());
    }
}

fn print_tree(indent: &str, v: &Value) {
    if let Value::Object(m) = v {
        for (k, v) in m {
            match v {
                Value::Object(_) => {
                    eprintln!("{indent}{k}:");
                    print_tree(&format!("{indent}  "), v);
                }
                other => eprintln!("{indent}{k:<28} {other}"),
            }
        }
    }
}

/// A small deterministic generator (SplitMix64), so that runs with the same
/// seed make the same data on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// True with probability `percent` %.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile_ms(&mut v, 50.0), 50.0);
        assert_eq!(percentile_ms(&mut v, 99.0), 99.0);
        assert_eq!(percentile_ms(&mut [], 99.0), 0.0);
        assert_eq!(percentile_ms(&mut [7000], 99.0), 7.0);
    }

    #[test]
    fn the_generator_is_deterministic() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..5).map(|_| r.next()).collect()
        };
        let mut r = Rng::new(7);
        assert_eq!(a, (0..5).map(|_| r.next()).collect::<Vec<_>>());
        assert_ne!(Rng::new(8).next(), a[0]);
    }
}
