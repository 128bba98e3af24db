//! `import`: CSV import of accounts with their contacts through the real
//! `nave import accounts` and `nave import contacts` commands (child
//! processes of this binary, duplicate detection on), against a plain bulk
//! insert of the same rows into the same tables on a fresh database in the
//! same run.
//!
//! The files are generated for the seed: unique names, web sites and
//! phones (so that duplicate detection checks every row and refuses none),
//! a billing address per account, one to three contacts per account with an
//! e-mail each, and external ids (`bench:A…`, `bench:C…`) on both. After the
//! import the counts are checked.

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use clap::Args;
use nave_domain::duplicates::normalise_name;
use nave_store::args;
use nave_store::tenants::DEFAULT_TENANT;
use serde_json::json;

use super::generate::{Batch, Bulk, finish_bulk_load, uuid};
use super::{BenchDb, Common, Report, Rng, round2};

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub common: Common,
    /// Data size: 1 = 100,000 accounts (and about 200,000 contacts).
    #[arg(long, default_value_t = 0.01)]
    pub scale: f64,
}

impl ImportArgs {
    pub fn new(common: Common, scale: f64) -> ImportArgs {
        ImportArgs { common, scale }
    }
}

const CITIES: &[(&str, &str, &str)] = &[
    ("Berlin", "10115", "DE"),
    ("Lyon", "69001", "FR"),
    ("Leeds", "LS1 4AP", "GB"),
    ("Utrecht", "3511 AB", "NL"),
    ("Malmö", "211 20", "SE"),
];

struct AccountRow {
    name: String,
    website: String,
    phone: String,
    street: String,
    city: (&'static str, &'static str, &'static str),
    contacts: Vec<(String, String, String)>,
}

fn rows(n: usize, seed: u64) -> Vec<AccountRow> {
    let mut rng = Rng::new(seed);
    let first = ["Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo"];
    let last = ["Meyer", "Novak", "Olsen", "Petit", "Quinn", "Rossi", "Schmidt", "Tanaka"];
    (0..n)
        .map(|i| {
            let domain = format!("import{i}.example");
            let contacts = (0..1 + rng.below(3))
                .map(|c| {
                    let f = first[rng.below(first.len() as u64) as usize];
                    let l = last[rng.below(last.len() as u64) as usize];
                    (f.to_string(), l.to_string(), format!("{}.{}{c}@{domain}", f.to_lowercase(), l.to_lowercase()))
                })
                .collect();
            AccountRow {
                name: format!("Imported Company {i} {}", ["Ltd", "GmbH", "SAS", "BV"][i % 4]),
                website: format!("https://www.{domain}"),
                phone: format!("+49 30 {:08}", 10_000_000 + i),
                street: format!("{} Market Street", 1 + rng.below(200)),
                city: CITIES[rng.below(CITIES.len() as u64) as usize],
                contacts,
            }
        })
        .collect()
}

fn write_csv(dir: &std::path::Path, data: &[AccountRow]) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let accounts = dir.join("accounts.csv");
    let contacts = dir.join("contacts.csv");
    let mut a = csv::Writer::from_path(&accounts)?;
    a.write_record([
        "name",
        "kinds",
        "currency",
        "payment_terms",
        "industry",
        "website",
        "phone",
        "address_line1",
        "address_city",
        "address_postal_code",
        "address_country",
        "external_ids",
    ])?;
    let mut c = csv::Writer::from_path(&contacts)?;
    c.write_record(["account", "first_name", "last_name", "emails", "is_primary", "external_ids"])?;
    for (i, r) in data.iter().enumerate() {
        a.write_record([
            r.name.as_str(),
            "customer",
            "EUR",
            "Net 30",
            "Manufacturing",
            &r.website,
            &r.phone,
            &r.street,
            r.city.0,
            r.city.1,
            r.city.2,
            &format!("bench:A{i}"),
        ])?;
        for (j, (f, l, e)) in r.contacts.iter().enumerate() {
            let primary = if j == 0 { "true" } else { "false" };
            c.write_record([
                &format!("bench:A{i}"),
                f.as_str(),
                l.as_str(),
                e.as_str(),
                primary,
                &format!("bench:C{i}-{j}"),
            ])?;
        }
    }
    a.flush()?;
    c.flush()?;
    Ok((accounts, contacts))
}

/// Runs `nave import KIND FILE --db URL` and returns its duration.
fn import(kind: &str, file: &std::path::Path, url: &str) -> anyhow::Result<f64> {
    let exe = std::env::current_exe()?;
    let start = Instant::now();
    let out = Command::new(exe)
        .arg("import")
        .arg(kind)
        .arg(file)
        .args(["--db", url])
        .current_dir(std::env::temp_dir())
        .output()?;
    let secs = start.elapsed().as_secs_f64();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        anyhow::bail!("nave import {kind} failed: {}", tail.join(" / "));
    }
    Ok(secs)
}

/// The same rows by plain multi-row inserts, in one transaction per batch.
async fn bulk_insert(db: &BenchDb, data: &[AccountRow], seed: u64) -> anyhow::Result<f64> {
    let t = DEFAULT_TENANT;
    let mut rng = Rng::new(seed ^ 1);
    let start = Instant::now();
    let terms = {
        let mut tx = db.db.read().await?;
        let v = tx
            .scalar_i64("SELECT id AS v FROM payment_terms WHERE tenant_id = $1 AND name = 'Net 30'", args![t])
            .await?;
        tx.rollback().await?;
        v
    };
    let mut b = Batch::new(vec![
        Bulk::new(
            "accounts",
            &[
                "tenant_id",
                "id",
                "public_id",
                "name",
                "kinds",
                "currency",
                "tags",
                "archived",
                "version",
                "created_at",
                "updated_at",
                "tax_treatment",
                "industry",
                "website",
                "phone",
                "payment_terms_id",
                "notes",
                "name_key",
                "website_domain",
                "phone_key",
            ],
        ),
        Bulk::new(
            "account_addresses",
            &[
                "tenant_id",
                "account_id",
                "position",
                "label",
                "line1",
                "city",
                "postal_code",
                "country",
                "is_default_billing",
                "is_default_shipping",
            ],
        ),
        Bulk::new("account_external_ids", &["tenant_id", "account_id", "system", "external_id"]),
        Bulk::new(
            "contacts",
            &[
                "tenant_id",
                "id",
                "public_id",
                "account_id",
                "first_name",
                "last_name",
                "phones",
                "is_primary",
                "marketing_consent",
                "archived",
                "version",
                "created_at",
                "updated_at",
            ],
        ),
        Bulk::new("contact_emails", &["tenant_id", "contact_id", "position", "email", "email_key", "domain"]),
        Bulk::new("contact_external_ids", &["tenant_id", "contact_id", "system", "external_id"]),
    ]);
    let mut tx = db.db.write().await?;
    let at = nave_store::db::now();
    let mut contact = 1i64;
    for (i, r) in data.iter().enumerate() {
        let key = i as i64 + 1;
        let domain = nave_domain::duplicates::website_domain(&r.website);
        let phone_key = nave_domain::duplicates::phone_key(&r.phone);
        b.push(
            0,
            args![
                t,
                key,
                uuid(&mut rng),
                r.name.as_str(),
                r#"["customer"]"#,
                "EUR",
                "[]",
                false,
                1i64,
                at,
                at,
                "standard",
                "Manufacturing",
                r.website.as_str(),
                r.phone.as_str(),
                terms,
                "",
                normalise_name(&r.name),
                domain,
                phone_key
            ],
        );
        b.push(1, args![t, key, 0i64, "Billing", r.street.as_str(), r.city.0, r.city.1, r.city.2, true, true]);
        b.push(2, args![t, key, "bench", format!("A{i}")]);
        for (j, (f, l, e)) in r.contacts.iter().enumerate() {
            b.push(
                3,
                args![
                    t,
                    contact,
                    uuid(&mut rng),
                    key,
                    f.as_str(),
                    l.as_str(),
                    "[]",
                    j == 0,
                    false,
                    false,
                    1i64,
                    at,
                    at
                ],
            );
            let d = e.rsplit('@').next().unwrap_or_default();
            b.push(4, args![t, contact, 0i64, e.as_str(), e.to_lowercase(), d]);
            b.push(5, args![t, contact, "bench", format!("C{i}-{j}")]);
            contact += 1;
        }
        b.tick(&mut tx).await?;
    }
    b.flush(&mut tx).await?;
    tx.commit().await?;
    let secs = start.elapsed().as_secs_f64();
    finish_bulk_load(&db.db).await?;
    Ok(secs)
}

async fn count(db: &BenchDb, table: &str) -> anyhow::Result<i64> {
    let mut tx = db.db.read().await?;
    let n =
        tx.scalar_i64(format!("SELECT COUNT(*) AS v FROM {table} WHERE tenant_id = $1"), args![DEFAULT_TENANT]).await?;
    tx.rollback().await?;
    Ok(n)
}

pub async fn run(a: ImportArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.scale > 0.0 && a.scale <= 10.0, "--scale must be above 0 and at most 10");
    let n = ((100_000.0 * a.scale).round() as usize).max(10);
    let data = rows(n, a.common.seed);
    let contacts: usize = data.iter().map(|r| r.contacts.len()).sum();
    let dir = std::env::temp_dir().join(format!("nave-bench-import-{}", super::tag()));
    std::fs::create_dir_all(&dir)?;
    let (acc_file, con_file) = write_csv(&dir, &data)?;

    let db = BenchDb::fresh(&a.common).await?;
    let acc_s = import("accounts", &acc_file, &db.url)?;
    let con_s = import("contacts", &con_file, &db.url)?;
    let (got_a, got_c) = (count(&db, "accounts").await?, count(&db, "contacts").await?);
    let engine = db.engine;
    db.finish().await;
    let _ = std::fs::remove_dir_all(&dir);
    anyhow::ensure!(got_a as usize == n, "{got_a} accounts imported, expected {n}");
    anyhow::ensure!(got_c as usize == contacts, "{got_c} contacts imported, expected {contacts}");

    let reference = BenchDb::fresh(&Common { keep: false, ..a.common.clone() }).await?;
    let ref_s = bulk_insert(&reference, &data, a.common.seed).await?;
    let (ref_a, ref_c) = (count(&reference, "accounts").await?, count(&reference, "contacts").await?);
    reference.finish().await;
    anyhow::ensure!(ref_a as usize == n && ref_c as usize == contacts, "the reference inserted {ref_a}/{ref_c} rows");

    let total = (n + contacts) as f64;
    let rows_per_s = round2(total / (acc_s + con_s));
    let ref_rows_per_s = round2(total / ref_s);
    let _ = std::io::stderr().flush();
    Report {
        workload: "import",
        db: engine,
        params: json!({"scale": a.scale, "accounts": n, "contacts": contacts, "duplicate_detection": true, "seed": a.common.seed}),
        metrics: json!({
            "rows_per_s": rows_per_s,
            "accounts_rows_per_s": round2(n as f64 / acc_s),
            "contacts_rows_per_s": round2(contacts as f64 / con_s),
            "elapsed_s": round2(acc_s + con_s),
        }),
        reference: json!({"what": "plain multi-row INSERTs of the same rows", "rows_per_s": ref_rows_per_s, "elapsed_s": round2(ref_s)}),
        ratio: Some(round2(rows_per_s / ref_rows_per_s.max(f64::MIN_POSITIVE))),
    }
    .emit();
    Ok(())
}
