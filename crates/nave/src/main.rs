//! `nave`: the one binary. Subcommands per API.md; `--help` on each.
#![forbid(unsafe_code)]

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use nave_domain::email::Email;
use nave_store::audit::Actor;
use nave_store::auth::{check_password, hash_password};
use nave_store::db::{ConnectOptions, Db};
use nave_store::tenants::{self, DEFAULT_TENANT};
use nave_store::tokens::{self, NewToken};
use nave_store::users::{self, NewUser};
use nave_store::{migrate, roles};
use nave_web::{AppState, WebConfig, import};

mod bench;
mod config;
mod demo;
mod demo_sync;

use config::{Config, Overrides};

/// Nave: the CRM with order management built in.
#[derive(Debug, Parser)]
#[command(name = "nave", version, about, long_about = None)]
struct Cli {
    /// A configuration file (default: ./nave.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args, Default)]
struct DbArgs {
    /// Database URL: sqlite://FILE (default sqlite://nave.db) or postgres://USER@HOST/DB.
    #[arg(long, value_name = "URL")]
    db: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve {
        #[command(flatten)]
        db: DbArgs,
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Fill the database with a demo company, print the logins, and serve it.
    Demo {
        #[command(flatten)]
        db: DbArgs,
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Only load the demo data; do not start the server.
        #[arg(long)]
        no_serve: bool,
    },
    /// Apply the database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Import records from a CSV file (columns by header; see the user guide).
    Import {
        /// What the file holds.
        #[arg(value_enum)]
        kind: ImportKind,
        /// The CSV file (UTF-8, comma-separated, a header row).
        file: PathBuf,
        /// Check every row and report, but write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Accounts: import rows that look like existing accounts (otherwise they are refused).
        #[arg(long)]
        allow_duplicates: bool,
        /// The system the file comes from (e.g. erp): the writes carry it, so master rules
        /// leave the fields another system masters alone and record sync conflicts.
        #[arg(long, value_name = "SYSTEM")]
        source: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Performance workloads (PERFORMANCE.md): o2c, contention, import, overview, generate, all.
    Bench(bench::BenchArgs),
    /// Recurring invoices.
    Subscriptions {
        #[command(subcommand)]
        command: SubscriptionCommand,
    },
    /// The sales summaries the reports read (kept with the documents; ADR 0019).
    Summaries {
        #[command(subcommand)]
        command: SummaryCommand,
    },
}

#[derive(Debug, Subcommand)]
enum SummaryCommand {
    /// Compare the kept summaries with the documents; exits non-zero when they differ.
    Check {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Write the summaries again from the documents (after changing documents outside Nave).
    Rebuild {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum SubscriptionCommand {
    /// Bill every period due on or before the date, exactly once (safe to run again or twice at once).
    Run {
        /// The run date, YYYY-MM-DD (default: today).
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ImportKind {
    /// Products, matched by SKU.
    Products,
    /// Accounts, matched by external id; likely duplicates are refused.
    Accounts,
    /// Contacts, matched by external id; their account by its external id or exact name.
    Contacts,
    /// Invoices with their lines (one row per line, grouped by external_id), matched by external id.
    Invoices,
    /// Payments received with their allocations, matched by external id.
    Payments,
}

impl From<ImportKind> for import::Kind {
    fn from(k: ImportKind) -> Self {
        match k {
            ImportKind::Products => import::Kind::Products,
            ImportKind::Accounts => import::Kind::Accounts,
            ImportKind::Contacts => import::Kind::Contacts,
            ImportKind::Invoices => import::Kind::Invoices,
            ImportKind::Payments => import::Kind::Payments,
        }
    }
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user. The password comes from NAVE_PASSWORD or standard input.
    Add {
        /// The user's e-mail address (their login).
        email: String,
        /// Role: admin, sales_manager, sales_rep, order_desk, warehouse, accounting, support, read_only, or a custom role.
        #[arg(long)]
        role: String,
        /// Full name (default: the e-mail's local part).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token for a user and print it (once) on standard output.
    Create {
        /// The e-mail of the user the token acts as.
        email: String,
        /// What the token is for, e.g. "Shop sync".
        #[arg(long)]
        name: String,
        /// Days until the token expires (default: never).
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<i64>,
        /// The external system the token writes for, e.g. erp.
        #[arg(long, value_name = "SYSTEM")]
        source_system: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

fn init_logs(cfg: &Config, quiet: bool) {
    let filter = if quiet { "warn,sqlx=warn".to_string() } else { cfg.log.clone() };
    let filter =
        tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if cfg.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Opens and migrates the database, and makes sure the default tenant exists.
async fn open(cfg: &Config) -> anyhow::Result<Db> {
    let opts = ConnectOptions { max_connections: cfg.db_max_connections, ..Default::default() };
    let db = Db::connect(&cfg.db, &opts).await?;
    migrate::migrate(&db).await?;
    tenants::ensure(&db, DEFAULT_TENANT, "My Company").await?;
    Ok(db)
}

fn web_config(cfg: &Config) -> anyhow::Result<WebConfig> {
    let webhook_ca_pem = match cfg.webhook_ca_file.trim() {
        "" => None,
        file => {
            let pem = std::fs::read(file).with_context(|| format!("could not read webhook_ca_file {file}"))?;
            nave_web::webhooks::check_ca_pem(&pem).map_err(|e| anyhow::anyhow!("webhook_ca_file {file}: {e}"))?;
            Some(pem)
        }
    };
    Ok(WebConfig {
        secure_cookies: cfg.secure_cookies,
        session_ttl: time::Duration::hours(cfg.session_hours),
        webhook_worker: true,
        webhook_ca_pem,
        ..WebConfig::default()
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

async fn run_server(cfg: &Config, db: Db) -> anyhow::Result<()> {
    let listener =
        tokio::net::TcpListener::bind(&cfg.listen).await.with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(address = %addr, db = %nave_store::db::redact_url(&cfg.db), "Nave is serving");
    eprintln!("Nave is running at http://{addr}/ (API docs at http://{addr}/api/docs). Stop it with Ctrl-C.");
    nave_web::serve(AppState::new(db.clone(), web_config(cfg)?), listener, shutdown_signal()).await?;
    db.close().await;
    Ok(())
}

/// Reads a password from NAVE_PASSWORD, or standard input (hidden when it is a terminal).
fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("NAVE_PASSWORD") {
        return Ok(p);
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let p = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password again: ")?;
        anyhow::ensure!(p == again, "the two passwords differ");
        Ok(p)
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

async fn user_add(cfg: &Config, email: &str, role: &str, name: Option<String>) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|_| anyhow::anyhow!("{email:?} is not a valid e-mail address"))?;
    let password = read_password()?;
    check_password(&password).map_err(|m| anyhow::anyhow!("the password {m}"))?;
    let db = open(cfg).await?;
    let mut tx = db.write().await?;
    if roles::get_by_name(&mut tx, DEFAULT_TENANT, role).await?.is_none() {
        let all = roles::list(&mut tx, DEFAULT_TENANT).await?;
        let names: Vec<String> = all.into_iter().map(|r| r.name).collect();
        bail!("{role:?} is not a role; choose one of: {}", names.join(", "));
    }
    let name = name.unwrap_or_else(|| email.as_str().split('@').next().unwrap_or_default().to_string());
    let new = NewUser {
        email: email.clone(),
        name,
        password_hash: Some(hash_password(&password)),
        role: role.into(),
        team_id: None,
        locale: None,
    };
    let user = users::create(&mut tx, &Actor::system(DEFAULT_TENANT), new).await?;
    tx.commit().await?;
    eprintln!("Created {} with role {}.", user.email, user.role);
    println!("{}", user.id);
    Ok(())
}

async fn token_create(
    cfg: &Config,
    email: &str,
    name: String,
    expires_in_days: Option<i64>,
    source_system: Option<String>,
) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|_| anyhow::anyhow!("{email:?} is not a valid e-mail address"))?;
    if let Some(d) = expires_in_days {
        anyhow::ensure!((1..=3650).contains(&d), "--expires-in-days must be between 1 and 3650");
    }
    let db = open(cfg).await?;
    let mut tx = db.write().await?;
    let user = users::get_by_email(&mut tx, DEFAULT_TENANT, &email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no user with the e-mail {email}"))?;
    anyhow::ensure!(user.active, "the user {email} is deactivated");
    let expires_at = expires_in_days.map(|d| nave_store::db::now() + time::Duration::days(d));
    let new = NewToken { user_key: user.key, name, source_system, expires_at };
    let (token, secret) = tokens::create(&mut tx, &Actor::system(DEFAULT_TENANT), new).await?;
    tx.commit().await?;
    eprintln!(
        "Created API token {:?} for {email} (id {}). It is shown only now; send it as `Authorization: Bearer <token>`.",
        token.name, token.id
    );
    let mut out = std::io::stdout().lock();
    writeln!(out, "{secret}")?;
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let overrides = |db: &DbArgs, listen: Option<&String>| Overrides { db: db.db.clone(), listen: listen.cloned() };
    match cli.command {
        Command::Serve { db, listen } => {
            let cfg = config::load(cli.config.as_deref(), &overrides(&db, listen.as_ref()))?;
            init_logs(&cfg, false);
            let database = open(&cfg).await?;
            {
                let mut tx = database.read().await?;
                if users::count(&mut tx, DEFAULT_TENANT).await? == 0 {
                    eprintln!(
                        "No users yet: create an admin with `nave user add you@example.com --role admin`, or run `nave demo`."
                    );
                }
            }
            run_server(&cfg, database).await
        }
        Command::Demo { db, listen, no_serve } => {
            let cfg = config::load(cli.config.as_deref(), &overrides(&db, listen.as_ref()))?;
            init_logs(&cfg, true);
            let database = open(&cfg).await?;
            demo::load(&database).await?;
            demo::print_logins();
            if no_serve {
                return Ok(());
            }
            run_server(&cfg, database).await
        }
        Command::Migrate { db } => {
            let cfg = config::load(cli.config.as_deref(), &overrides(&db, None))?;
            init_logs(&cfg, true);
            let opts = ConnectOptions { max_connections: 2, ..Default::default() };
            let database = Db::connect(&cfg.db, &opts).await?;
            let n = migrate::migrate(&database).await?;
            tenants::ensure(&database, DEFAULT_TENANT, "My Company").await?;
            eprintln!("Applied {n} migration(s); the schema is at version {}.", migrate::latest_version());
            database.close().await;
            Ok(())
        }
        Command::Import { kind, file, dry_run, allow_duplicates, source, db } => {
            let cfg = config::load(cli.config.as_deref(), &overrides(&db, None))?;
            init_logs(&cfg, true);
            let caller = import::Caller::system(DEFAULT_TENANT)
                .with_source("--source", source.as_deref())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let database = open(&cfg).await?;
            let options = import::Options {
                mode: if dry_run { import::Mode::Check } else { import::Mode::Import },
                allow_duplicates,
                duplicates_hint: import::accounts::CLI_DUPLICATES_HINT,
            };
            import_file(&database, kind.into(), &file, options, &caller).await
        }
        Command::Subscriptions { command: SubscriptionCommand::Run { date, db } } => {
            let cfg = config::load(cli.config.as_deref(), &overrides(&db, None))?;
            init_logs(&cfg, true);
            let date = match date {
                Some(d) => time::Date::parse(&d, time::macros::format_description!("[year]-[month]-[day]"))
                    .with_context(|| format!("--date {d} is not a date written YYYY-MM-DD"))?,
                None => nave_store::db::now().date(),
            };
            let database = open(&cfg).await?;
            let r = nave_web::api::subscriptions::run_due(&database, &Actor::system(DEFAULT_TENANT), date)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
            for i in &r.invoices {
                println!("{}\t{}\t{}", i.number.as_deref().unwrap_or("(draft)"), i.status, i.total);
            }
            eprintln!("{} subscription(s) billed, {} invoice(s) made", r.subscriptions, r.invoices.len());
            Ok(())
        }
        Command::Summaries { command } => {
            let (db, rebuild) = match command {
                SummaryCommand::Check { db } => (db, false),
                SummaryCommand::Rebuild { db } => (db, true),
            };
            let cfg = config::load(cli.config.as_deref(), &overrides(&db, None))?;
            init_logs(&cfg, true);
            let database = open(&cfg).await?;
            let mut tx = database.write().await?;
            if rebuild {
                nave_store::sales_summary::rebuild(&mut tx, DEFAULT_TENANT).await?;
            }
            let drift = nave_store::sales_summary::drift(&mut tx, DEFAULT_TENANT).await?;
            tx.commit().await?;
            database.close().await;
            if drift > 0 {
                anyhow::bail!(
                    "the sales summaries differ from the documents in {drift} row(s): run `nave summaries rebuild`"
                );
            }
            eprintln!("The sales summaries agree with the documents{}.", if rebuild { " (rebuilt)" } else { "" });
            Ok(())
        }
        Command::Bench(args) => {
            let cfg = config::load(cli.config.as_deref(), &Overrides::default())?;
            init_logs(&cfg, true);
            bench::run(args).await
        }
        Command::User { command: UserCommand::Add { email, role, name, db } } => {
            let cfg = config::load(cli.config.as_deref(), &overrides(&db, None))?;
            init_logs(&cfg, true);
            user_add(&cfg, &email, &role, name).await
        }
        Command::Token { command: TokenCommand::Create { email, name, expires_in_days, source_system, db } } => {
            let cfg = config::load(cli.config.as_deref(), &overrides(&db, None))?;
            init_logs(&cfg, true);
            token_create(&cfg, &email, name, expires_in_days, source_system).await
        }
    }
}

/// The progress bar of an import on standard error.
struct Bar(ProgressBar);

impl import::Progress for Bar {
    fn start(&self, rows: u64) {
        self.0.set_length(rows);
    }

    fn advance(&self, rows: u64) {
        self.0.inc(rows);
    }
}

/// Runs an import and reports it: a summary, each refused row, and a
/// non-zero exit status when any row was refused.
async fn import_file(
    db: &Db,
    kind: import::Kind,
    file: &std::path::Path,
    options: import::Options,
    caller: &import::Caller,
) -> anyhow::Result<()> {
    let data = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} rows {msg}").expect("valid template"));
    let bar = Bar(bar);
    let s = import::import(db, kind, &data, options, caller, &bar).await;
    bar.0.finish_and_clear();
    let s = s?;
    let r = &s.report;
    let dry_run = options.mode.is_check();
    let verb = if dry_run { "Dry run: would import" } else { "Imported" };
    // Records found count as updated, as they always have; those the file
    // left as they were are said in brackets.
    let unchanged = if r.unchanged > 0 { format!(" ({} unchanged)", r.unchanged) } else { String::new() };
    eprintln!(
        "{verb} {} {}(s): {} new, {} updated{unchanged}{}.",
        r.imported(),
        kind.noun(),
        r.created,
        r.updated + r.unchanged,
        s.extra
    );
    for e in &r.errors {
        eprintln!("  row {}, column {}: {}", e.row, e.column, e.reason);
    }
    if dry_run {
        eprintln!("Nothing was written.");
    }
    anyhow::ensure!(r.errors.is_empty(), "{} row(s) were refused (listed above)", r.errors.len());
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One sentence: the outermost message and its causes on one line.
            let mut msg = e.to_string();
            for cause in e.chain().skip(1) {
                msg.push_str(": ");
                msg.push_str(&cause.to_string());
            }
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
