//! The large-data generator behind `overview` and `reports` (and `nave bench
//! generate`): a deterministic company for a seed and a scale, written in
//! bulk through the store's connection (multi-row inserts, one transaction
//! per batch, the loaded tables' secondary indexes dropped meanwhile and
//! built again at the end), never through HTTP.
//!
//! Scale 1 is PERFORMANCE.md's default: 100,000 accounts with a long-tailed
//! size distribution (account rank r gets weight 1 / r^0.8, so the biggest
//! customer has about 2 % of all invoices and most have a handful), two
//! contacts each on average, 2,000,000 activities, 1,000,000 issued invoices
//! with 5,000,000 lines over four years (most paid, some in part, some
//! overdue, 1.5 % partly credited), their payments and allocations, open
//! quotes and sales orders, open bills of the last five months, 100,000
//! cases and 50,000 opportunities. Invoice lines record their cost of goods
//! sold (60 % of the price), credit-note lines the cost their return gives
//! back, both in the document currency (EUR): the `reports` workload makes
//! EUR the company currency, so margins are figured.
//!
//! Documents are priced by the one pricing engine (`nave_domain::pricing`)
//! and stored the way the store stores them (lines, line taxes, itemized
//! taxes, due dates), and invoice numbers are taken from the invoice
//! sequence in blocks, so reports and the 360° view read generated data
//! exactly as they read data entered by hand; the sales summaries are
//! rebuilt from them once they are in. What the generator does not
//! write: audit entries, change-feed events and search terms (generated
//! records are not found by the global search box).

use std::time::Instant;

use clap::Args;
use nave_domain::duplicates::normalise_name;
use nave_domain::money::Currency;
use nave_domain::pricing::{self, LineKind, TaxRate, TaxRounding};
use nave_store::audit::Actor;
use nave_store::catalog::{self, ProductInput, WarehouseInput};
use nave_store::db::{Arg, Db, Dialect, Tx};
use nave_store::taxes::{self, TaxInput};
use nave_store::tenants::DEFAULT_TENANT;
use nave_store::{args, sequences, users};
use rust_decimal::Decimal;
use serde_json::json;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use super::{BenchDb, Common, Report, Rng, round2};

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub common: Common,
    /// Data size (1 = 100,000 accounts and 5,000,000 invoice lines).
    #[arg(long, default_value_t = 0.01)]
    pub scale: f64,
}

/// The sizes for a scale.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub accounts: usize,
    pub activities: usize,
    pub invoices: usize,
    pub open_orders: usize,
    pub open_quotes: usize,
    pub cases: usize,
    pub opportunities: usize,
    pub products: usize,
    pub reps: usize,
}

impl Sizes {
    pub fn at(scale: f64) -> Sizes {
        let n = |base: f64, min: usize| ((base * scale).round() as usize).max(min);
        Sizes {
            accounts: n(100_000.0, 20),
            activities: n(2_000_000.0, 100),
            invoices: n(1_000_000.0, 100),
            open_orders: n(20_000.0, 5),
            open_quotes: n(30_000.0, 5),
            cases: n(100_000.0, 10),
            opportunities: n(50_000.0, 10),
            products: n(1_000.0, 20).min(1_000),
            reps: n(40.0, 3).min(40),
        }
    }
}

/// What was generated, for the workloads that read it.
#[derive(Debug, Clone)]
pub struct Generated {
    pub sizes: Sizes,
    /// Account public ids by rank: the biggest customers first.
    pub accounts: Vec<Uuid>,
    pub rows: u64,
    pub seconds: f64,
    pub invoice_lines: u64,
}

// ---------------------------------------------------------------------------
// Multi-row inserts.

/// Rows for one table, written as multi-row `INSERT`s with bound values.
pub struct Bulk {
    table: &'static str,
    cols: &'static [&'static str],
    args: Vec<Arg>,
    rows: usize,
    max_rows: usize,
    full_sql: Option<String>,
    pub written: u64,
}

impl Bulk {
    pub fn new(table: &'static str, cols: &'static [&'static str]) -> Bulk {
        // Under SQLite's 32,766 and PostgreSQL's 65,535 bound values.
        let max_rows = (30_000 / cols.len()).min(2_000);
        Bulk { table, cols, args: Vec::new(), rows: 0, max_rows, full_sql: None, written: 0 }
    }

    pub fn push(&mut self, row: Vec<Arg>) {
        debug_assert_eq!(row.len(), self.cols.len(), "{}: wrong number of values", self.table);
        self.args.extend(row);
        self.rows += 1;
    }

    pub fn is_full(&self) -> bool {
        self.rows >= self.max_rows
    }

    /// The statement for `rows` rows. SQLite gets anonymous `?` placeholders,
    /// bound in order: binding a numbered one looks its name up in a list of
    /// every name, which is quadratic in a statement of thousands of values.
    fn sql(&self, rows: usize, numbered: bool) -> String {
        let n = self.cols.len();
        let mut s = format!("INSERT INTO {} ({}) VALUES ", self.table, self.cols.join(", "));
        for r in 0..rows {
            if r > 0 {
                s.push_str(", ");
            }
            s.push('(');
            for c in 0..n {
                if c > 0 {
                    s.push_str(", ");
                }
                if numbered {
                    s.push('$');
                    s.push_str(&(r * n + c + 1).to_string());
                } else {
                    s.push('?');
                }
            }
            s.push(')');
        }
        s
    }

    pub async fn flush(&mut self, tx: &mut Tx) -> anyhow::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mark = tx.dialect() == Dialect::Postgres;
        let sql = if self.rows == self.max_rows {
            if self.full_sql.is_none() {
                self.full_sql = Some(self.sql(self.rows, mark));
            }
            self.full_sql.clone().unwrap_or_default()
        } else {
            self.sql(self.rows, mark)
        };
        let args = std::mem::take(&mut self.args);
        tx.execute(sql, args).await?;
        self.written += self.rows as u64;
        self.rows = 0;
        Ok(())
    }
}

/// Several tables written together, parents before children, so that a
/// flush never writes a row before the row it refers to.
pub struct Batch {
    pub tables: Vec<Bulk>,
    since_commit: u64,
}

impl Batch {
    pub fn new(tables: Vec<Bulk>) -> Batch {
        Batch { tables, since_commit: 0 }
    }

    pub fn push(&mut self, table: usize, row: Vec<Arg>) {
        self.tables[table].push(row);
    }

    /// Flushes every table when one is full; commits every ~200,000 rows.
    pub async fn tick(&mut self, tx: &mut Tx) -> anyhow::Result<()> {
        if self.tables.iter().any(Bulk::is_full) {
            let before: u64 = self.written();
            self.flush(tx).await?;
            self.since_commit += self.written() - before;
            if self.since_commit > 200_000 {
                // Commit what is written and carry on in a new transaction on the same
                // connection. Opening a second write transaction before this one ends would
                // wait forever on SQLite, whose writers queue behind one gate.
                tx.execute("COMMIT", vec![]).await?;
                let begin = match tx.dialect() {
                    Dialect::Sqlite => "BEGIN IMMEDIATE",
                    Dialect::Postgres => "BEGIN",
                };
                tx.execute(begin, vec![]).await?;
                self.since_commit = 0;
            }
        }
        Ok(())
    }

    pub async fn flush(&mut self, tx: &mut Tx) -> anyhow::Result<()> {
        for t in &mut self.tables {
            t.flush(tx).await?;
        }
        Ok(())
    }

    pub fn written(&self) -> u64 {
        self.tables.iter().map(|t| t.written).sum()
    }
}

/// A deterministic public id.
pub fn uuid(rng: &mut Rng) -> Uuid {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&rng.next().to_le_bytes());
    b[8..].copy_from_slice(&rng.next().to_le_bytes());
    uuid::Builder::from_random_bytes(b).into_uuid()
}

fn at(d: Date, seconds: i64) -> OffsetDateTime {
    d.midnight().assume_utc() + Duration::seconds(seconds)
}

/// Picks from cumulative weights.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut acc = 0.0;
        let cumulative = (1..=n)
            .map(|r| {
                acc += 1.0 / (r as f64).powf(s);
                acc
            })
            .collect();
        Zipf { cumulative }
    }

    fn pick(&self, rng: &mut Rng) -> usize {
        let total = *self.cumulative.last().unwrap_or(&1.0);
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        self.cumulative.partition_point(|&c| c < x).min(self.cumulative.len() - 1)
    }
}

const NAMES: &[&str] = &[
    "Alder", "Birch", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper", "Kestrel", "Linden",
    "Maple", "Nordic", "Orchid", "Pioneer", "Quarry", "Raven", "Summit", "Tundra", "Umber", "Valley", "Willow",
    "Yarrow", "Zephyr",
];
const TRADES: &[&str] =
    &["Tools", "Supplies", "Engineering", "Logistics", "Foods", "Textiles", "Systems", "Builders", "Labs", "Trading"];
const FORMS: &[&str] = &["Ltd", "GmbH", "SAS", "BV", "Inc", "AB", "Oy", "SpA"];
const FIRST: &[&str] =
    &["Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Luca"];
const LAST: &[&str] = &["Meyer", "Novak", "Olsen", "Petit", "Quinn", "Rossi", "Schmidt", "Tanaka", "Ueda", "Varga"];

/// Company-wide records made through the store: reps, a tax, product lines
/// and products, a warehouse. Returns (rep keys, products as (key, sku, name, price)).
async fn reference_data(db: &Db, s: &Sizes) -> anyhow::Result<(Vec<i64>, Vec<(i64, String, String, Decimal)>, i64)> {
    let system = Actor::system(DEFAULT_TENANT);
    let mut tx = db.write().await?;
    let mut reps = Vec::new();
    for i in 0..s.reps {
        let new = users::NewUser {
            email: nave_domain::email::Email::parse(&format!("rep{i}@bench.example"))
                .map_err(|_| anyhow::anyhow!("bad e-mail"))?,
            name: format!("Rep {i}"),
            password_hash: None,
            role: "sales_rep".into(),
            team_id: None,
            locale: None,
        };
        reps.push(users::create(&mut tx, &system, new).await?.key);
    }
    let tax = taxes::create_tax(
        &mut tx,
        &system,
        TaxInput { name: "VAT 10 %".into(), rate: Decimal::from(10), valid_from: None, valid_to: None, active: true },
    )
    .await?;
    let cat = taxes::create_category(&mut tx, &system, "Standard", &[tax.id]).await?;
    catalog::create_warehouse(
        &mut tx,
        &system,
        WarehouseInput { name: "Main".into(), address: String::new(), allow_negative_stock: false, active: true },
    )
    .await?;
    let mut lines = Vec::new();
    for l in ["Hand tools", "Power tools", "Fasteners", "Safety", "Storage", "Electrical", "Plumbing", "Paint"] {
        lines.push(catalog::create_category(&mut tx, &system, l, None).await?.id);
    }
    let mut products = Vec::new();
    let mut rng = Rng::new(7);
    for i in 0..s.products {
        let price = Decimal::new(199 + (rng.below(40_000) as i64), 2);
        let input = ProductInput {
            sku: format!("SKU-{i:05}"),
            name: format!("{} {} #{i}", NAMES[i % NAMES.len()], TRADES[i % TRADES.len()]),
            description: String::new(),
            kind: nave_domain::catalog::ProductKind::Service,
            unit: "pcs".into(),
            category_id: Some(lines[i % lines.len()]),
            currency: Currency::parse("EUR").map_err(|e| anyhow::anyhow!("{e}"))?,
            list_price: price.to_string(),
            cost: (price * Decimal::new(6, 1)).round_dp(2).to_string(),
            tax_category_id: Some(cat.id),
            weight_kg: None,
            barcode: None,
            notes: String::new(),
            active: true,
            components: None,
            suppliers: None,
            external_ids: None,
        };
        let p = catalog::create_product(&mut tx, &system, input).await?;
        products.push((p.key, p.sku.clone(), p.name.clone(), price));
    }
    tx.commit().await?;
    let mut tx = db.read().await?;
    let tax_key = tx
        .scalar_i64("SELECT id AS v FROM taxes WHERE tenant_id = $1 AND name = 'VAT 10 %'", args![DEFAULT_TENANT])
        .await?;
    tx.rollback().await?;
    Ok((reps, products, tax_key))
}

async fn next_id(db: &Db, table: &str) -> anyhow::Result<i64> {
    let mut tx = db.read().await?;
    let v = tx
        .scalar_i64(
            format!("SELECT COALESCE(MAX(id), 0) + 1 AS v FROM {table} WHERE tenant_id = $1"),
            args![DEFAULT_TENANT],
        )
        .await?;
    tx.rollback().await?;
    Ok(v)
}

const DOC_COLS: &[&str] = &[
    "tenant_id",
    "id",
    "public_id",
    "doc_type",
    "status",
    "number",
    "revision",
    "account_id",
    "account_name",
    "currency",
    "doc_date",
    "valid_until",
    "due_date",
    "payment_terms_id",
    "warehouse_id",
    "invoice_policy",
    "prices_include_tax",
    "tax_rounding",
    "notes",
    "subtotal_minor",
    "discount_minor",
    "net_minor",
    "shipping_minor",
    "tax_minor",
    "total_minor",
    "settled_minor",
    "balance_minor",
    "issued_at",
    "version",
    "created_at",
    "updated_at",
];
const GROUP_COLS: &[&str] = &[
    "tenant_id",
    "id",
    "public_id",
    "document_id",
    "position",
    "name",
    "discount_percent_e4",
    "show_subtotal",
    "net_minor",
];
const LINE_COLS: &[&str] = &[
    "tenant_id",
    "id",
    "public_id",
    "document_id",
    "group_id",
    "position",
    "kind",
    "product_id",
    "sku",
    "description",
    "unit",
    "quantity_e4",
    "unit_price_e4",
    "discount_percent_e4",
    "discount_amount_minor",
    "gross_minor",
    "discount_minor",
    "net_minor",
    "taxable_base_minor",
    "tax_minor",
    "qty_reserved_e4",
    "qty_shipped_e4",
    "qty_invoiced_e4",
    "qty_credited_e4",
    "cost_minor",
];
const LINE_TAX_COLS: &[&str] = &["tenant_id", "line_id", "position", "tax_id", "name", "rate_e4", "amount_minor"];
const DOC_TAX_COLS: &[&str] =
    &["tenant_id", "document_id", "position", "tax_id", "name", "rate_e4", "base_minor", "amount_minor"];
const DUE_COLS: &[&str] = &["tenant_id", "document_id", "position", "due_date", "amount_minor"];
const PAY_COLS: &[&str] = &[
    "tenant_id",
    "id",
    "public_id",
    "direction",
    "account_id",
    "amount_minor",
    "currency",
    "payment_date",
    "method",
    "reference",
    "notes",
    "allocated_minor",
    "status",
    "version",
    "created_at",
    "updated_at",
];
const ALLOC_COLS: &[&str] =
    &["tenant_id", "id", "payment_id", "credit_note_id", "invoice_id", "amount_minor", "allocated_on", "created_at"];

// Table positions in the document batch.
const T_DOC: usize = 0;
const T_GROUP: usize = 1;
const T_LINE: usize = 2;
const T_LINE_TAX: usize = 3;
const T_DOC_TAX: usize = 4;
const T_DUE: usize = 5;
const T_PAY: usize = 6;
const T_ALLOC: usize = 7;

/// Next keys of the document batch's tables.
struct Keys {
    doc: i64,
    group: i64,
    line: i64,
    pay: i64,
    alloc: i64,
}

/// One priced document to write.
struct DocSpec<'a> {
    doc_type: &'static str,
    status: &'static str,
    number: Option<String>,
    account: (i64, &'a str),
    date: Date,
    due: Option<Date>,
    valid_until: Option<Date>,
    /// (product index, quantity, discount %)
    lines: Vec<(usize, i64, i64)>,
    /// Fraction (0..=100) of the total settled.
    settled: Option<i64>,
    /// Ledger: the lines are fully shipped and invoiced (completed orders).
    issued: bool,
}

struct Ctx<'a> {
    products: &'a [(i64, String, String, Decimal)],
    tax_key: i64,
    terms: i64,
    warehouse: i64,
    eur: Currency,
}

/// Prices and pushes one document; returns (key, total in minor units).
fn push_doc(b: &mut Batch, k: &mut Keys, rng: &mut Rng, c: &Ctx, d: &DocSpec) -> anyhow::Result<(i64, i64)> {
    let t = DEFAULT_TENANT;
    let rate = TaxRate { id: "vat".into(), name: "VAT 10 %".into(), rate_percent: Decimal::from(10) };
    let input = pricing::DocumentInput {
        currency: c.eur,
        prices_include_tax: false,
        tax_rounding: TaxRounding::Document,
        groups: vec![pricing::GroupInput {
            discount_percent: Decimal::ZERO,
            lines: d
                .lines
                .iter()
                .map(|&(p, q, disc)| pricing::LineInput {
                    kind: LineKind::Product,
                    quantity: Decimal::from(q),
                    unit_price: c.products[p].3,
                    discount_percent: Decimal::from(disc),
                    discount_amount: Decimal::ZERO,
                    taxes: vec![rate.clone()],
                })
                .collect(),
        }],
    };
    let priced = pricing::price(&input)?;
    let tot = &priced.totals;
    let key = k.doc;
    k.doc += 1;
    let total = tot.total.minor();
    let settled = d.settled.map_or(0, |pct| total * pct / 100);
    let created = at(d.date, 9 * 3600 + rng.below(8 * 3600) as i64);
    b.push(
        T_DOC,
        args![
            t,
            key,
            uuid(rng),
            d.doc_type,
            d.status,
            d.number.clone(),
            1i64,
            d.account.0,
            d.account.1,
            "EUR",
            d.date,
            d.valid_until,
            d.due,
            c.terms,
            (d.doc_type == "sales_order").then_some(c.warehouse),
            (d.doc_type == "sales_order").then_some("shipped".to_string()),
            false,
            "document",
            "",
            tot.subtotal.minor(),
            tot.discount.minor(),
            tot.net.minor(),
            tot.shipping.minor(),
            tot.tax.minor(),
            total,
            settled,
            total - settled,
            d.number.as_ref().map(|_| created),
            1i64,
            created,
            created
        ],
    );
    let group = k.group;
    k.group += 1;
    let pg = &priced.groups[0];
    b.push(T_GROUP, args![t, group, uuid(rng), key, 0i64, "", 0i64, false, pg.net.minor()]);
    for (i, (&(p, q, disc), pl)) in d.lines.iter().zip(&pg.lines).enumerate() {
        let line = k.line;
        k.line += 1;
        let (pk, sku, name, price) = &c.products[p];
        let tax: i64 = pl.taxes.iter().map(|(_, m)| m.minor()).sum();
        let q4 = q * 10_000;
        let done = if d.issued { q4 } else { 0 };
        // Invoices record their cost of goods sold (the product's cost, 60 % of
        // its price); credit notes the cost their return gives back.
        let cost = matches!(d.doc_type, "invoice" | "credit_note").then(|| {
            i64::try_from((price * Decimal::new(6, 1) * Decimal::from(q) * Decimal::from(100)).round()).unwrap_or(0)
        });
        b.push(
            T_LINE,
            args![
                t,
                line,
                uuid(rng),
                key,
                group,
                i as i64,
                "product",
                *pk,
                sku.as_str(),
                name.as_str(),
                "pcs",
                q4,
                (price * Decimal::from(10_000)).trunc().try_into().unwrap_or(0i64),
                disc * 10_000,
                0i64,
                pl.gross.minor(),
                pl.discount.minor(),
                pl.net.minor(),
                pl.taxable_base.minor(),
                tax,
                0i64,
                done,
                done,
                0i64,
                cost
            ],
        );
        b.push(T_LINE_TAX, args![t, line, 0i64, c.tax_key, "VAT 10 %", 100_000i64, tax]);
    }
    for (i, tl) in tot.taxes.iter().enumerate() {
        b.push(
            T_DOC_TAX,
            args![t, key, i as i64, c.tax_key, "VAT 10 %", 100_000i64, tl.base.minor(), tl.amount.minor()],
        );
    }
    if let Some(due) = d.due {
        b.push(T_DUE, args![t, key, 0i64, due, total]);
    }
    Ok((key, total))
}

fn doc_batch() -> Batch {
    Batch::new(vec![
        Bulk::new("documents", DOC_COLS),
        Bulk::new("document_groups", GROUP_COLS),
        Bulk::new("document_lines", LINE_COLS),
        Bulk::new("document_line_taxes", LINE_TAX_COLS),
        Bulk::new("document_taxes", DOC_TAX_COLS),
        Bulk::new("document_due_dates", DUE_COLS),
        Bulk::new("payments", PAY_COLS),
        Bulk::new("allocations", ALLOC_COLS),
    ])
}

/// Generates the company into a fresh, migrated database.
pub async fn generate(db: &Db, scale: f64, seed: u64) -> anyhow::Result<Generated> {
    anyhow::ensure!(scale > 0.0 && scale <= 10.0, "--scale must be above 0 and at most 10");
    let started = Instant::now();
    let s = Sizes::at(scale);
    let (reps, products, tax_key) = reference_data(db, &s).await?;
    eprintln!("generate: reference data in {:.1} s", started.elapsed().as_secs_f64());
    let indexes = drop_indexes(db).await?;
    let mut rng = Rng::new(seed);
    let today = nave_store::db::now().date();
    let t = DEFAULT_TENANT;
    let (terms, warehouse, stages) = {
        let mut tx = db.read().await?;
        let terms = tx
            .scalar_i64("SELECT id AS v FROM payment_terms WHERE tenant_id = $1 AND name = 'Net 30'", args![t])
            .await?;
        let wh = tx.scalar_i64("SELECT id AS v FROM warehouses WHERE tenant_id = $1", args![t]).await?;
        let stages = tx
            .fetch_all(
                "SELECT id, probability, kind FROM pipeline_stages WHERE tenant_id = $1 ORDER BY position",
                args![t],
                |r| Ok((r.i64("id")?, r.i64("probability")?, r.text("kind")?)),
            )
            .await?;
        tx.rollback().await?;
        (terms, wh, stages)
    };
    anyhow::ensure!(!stages.is_empty(), "the tenant has no pipeline stages");

    // Accounts and contacts.
    let mut acc_key = next_id(db, "accounts").await?;
    let mut contact_key = next_id(db, "contacts").await?;
    let mut accounts: Vec<(i64, String, Uuid)> = Vec::with_capacity(s.accounts);
    let mut batch = Batch::new(vec![
        Bulk::new(
            "accounts",
            &[
                "tenant_id",
                "id",
                "public_id",
                "name",
                "kinds",
                "owner_id",
                "currency",
                "credit_limit_minor",
                "tags",
                "archived",
                "version",
                "created_at",
                "updated_at",
                "tax_treatment",
                "payment_terms_id",
                "notes",
                "name_key",
                "website",
                "website_domain",
            ],
        ),
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
                "owner_id",
                "archived",
                "version",
                "created_at",
                "updated_at",
            ],
        ),
        Bulk::new("contact_emails", &["tenant_id", "contact_id", "position", "email", "email_key", "domain"]),
    ]);
    let mut tx = db.write().await?;
    let since = today - Duration::days(4 * 365);
    for i in 0..s.accounts {
        let name = format!(
            "{} {} {} {}",
            NAMES[i % NAMES.len()],
            TRADES[(i / NAMES.len()) % TRADES.len()],
            i + 1,
            FORMS[i % FORMS.len()]
        );
        let owner = reps[i % reps.len()];
        let id = uuid(&mut rng);
        let created = at(since, rng.below(86_400) as i64);
        let limit = rng.chance(30).then(|| (5_000 + rng.below(200_000) as i64) * 100);
        let domain = format!("account{}.example", i + 1);
        batch.push(
            0,
            args![
                t,
                acc_key,
                id,
                name.as_str(),
                r#"["customer"]"#,
                owner,
                "EUR",
                limit,
                "[]",
                false,
                1i64,
                created,
                created,
                "standard",
                terms,
                "",
                normalise_name(&name),
                format!("https://{domain}"),
                domain.clone()
            ],
        );
        for c in 0..(1 + rng.below(3)) {
            let (first, last) =
                (FIRST[rng.below(FIRST.len() as u64) as usize], LAST[rng.below(LAST.len() as u64) as usize]);
            batch.push(
                1,
                args![
                    t,
                    contact_key,
                    uuid(&mut rng),
                    acc_key,
                    first,
                    last,
                    "[]",
                    c == 0,
                    false,
                    owner,
                    false,
                    1i64,
                    created,
                    created
                ],
            );
            let email = format!("{}.{}{c}@{domain}", first.to_lowercase(), last.to_lowercase());
            batch.push(2, args![t, contact_key, 0i64, email.as_str(), email.as_str(), domain.as_str()]);
            contact_key += 1;
        }
        accounts.push((acc_key, name, id));
        acc_key += 1;
        batch.tick(&mut tx).await?;
    }
    batch.flush(&mut tx).await?;
    tx.commit().await?;
    let mut rows = batch.written();
    eprintln!("generate: {} accounts with contacts at {:.1} s", s.accounts, started.elapsed().as_secs_f64());

    let by_size = Zipf::new(s.accounts, 0.8);
    let popular = Zipf::new(products.len(), 0.7);
    let ctx = Ctx {
        products: &products,
        tax_key,
        terms,
        warehouse,
        eur: Currency::parse("EUR").map_err(|e| anyhow::anyhow!("{e}"))?,
    };

    // Invoices (dated in order, numbered per year), payments, credit notes.
    let mut k = Keys {
        doc: next_id(db, "documents").await?,
        group: next_id(db, "document_groups").await?,
        line: next_id(db, "document_lines").await?,
        pay: next_id(db, "payments").await?,
        alloc: next_id(db, "allocations").await?,
    };
    let days = (today - since).whole_days().max(1);
    let mut per_year: std::collections::BTreeMap<i32, i64> = Default::default();
    let dates: Vec<Date> =
        (0..s.invoices).map(|i| since + Duration::days(i as i64 * days / s.invoices as i64)).collect();
    for d in &dates {
        *per_year.entry(d.year()).or_default() += 1;
    }
    // Take the numbers in one block per year, so the sequence carries on after them.
    let mut first_of_year = std::collections::BTreeMap::new();
    let mut credit_first = std::collections::BTreeMap::new();
    {
        let mut tx = db.write().await?;
        for (&y, &n) in &per_year {
            first_of_year.insert(y, sequences::take_block(&mut tx, t, "invoice", y, n).await?);
            // At most one credit note per 50 invoices.
            credit_first.insert(y, sequences::take_block(&mut tx, t, "credit_note", y, n / 50 + 1).await?);
        }
        tx.commit().await?;
    }
    let mut used: std::collections::BTreeMap<i32, i64> = Default::default();
    let mut credits_used: std::collections::BTreeMap<i32, i64> = Default::default();
    let mut b = doc_batch();
    let mut tx = db.write().await?;
    let mut invoice_lines = 0u64;
    for date in dates {
        let a = by_size.pick(&mut rng);
        let (acc, ref acc_name, _) = accounts[a];
        let n_lines = 1 + rng.below(9) as usize;
        invoice_lines += n_lines as u64;
        let mut lines = Vec::with_capacity(n_lines);
        for _ in 0..n_lines {
            let disc = if rng.chance(80) { 0 } else { 5 * (1 + rng.below(3) as i64) };
            lines.push((popular.pick(&mut rng), 1 + rng.below(20) as i64, disc));
        }
        let age = (today - date).whole_days();
        let fate = rng.below(100);
        let (status, settled) = match (age > 60, fate) {
            (true, 0..=92) | (false, 0..=39) => ("paid", 100),
            (true, 93..=95) => ("part_paid", 50),
            _ => ("issued", 0),
        };
        let y = date.year();
        let (prefix, padding, first) = first_of_year[&y].clone();
        let u = used.entry(y).or_default();
        let number = nave_domain::document::format_number(&prefix, padding, y, first + *u);
        *u += 1;
        let due = date + Duration::days(30);
        let credited =
            status == "paid" && rng.chance(2) && credits_used.get(&y).copied().unwrap_or(0) < per_year[&y] / 50 + 1;
        let spec = DocSpec {
            doc_type: "invoice",
            status,
            number: Some(number.clone()),
            account: (acc, acc_name),
            date,
            due: Some(due),
            valid_until: None,
            lines: lines.clone(),
            settled: (settled > 0).then_some(settled),
            issued: false,
        };
        let (inv, total) = push_doc(&mut b, &mut k, &mut rng, &ctx, &spec)?;
        let mut to_pay = total * settled / 100;
        if credited {
            // A credit note for the first line, applied to the invoice.
            let (cp, cpad, cfirst) = credit_first[&y].clone();
            let cu = credits_used.entry(y).or_default();
            let cnum = nave_domain::document::format_number(&cp, cpad, y, cfirst + *cu);
            *cu += 1;
            let cdate = (date + Duration::days(7)).min(today);
            let cspec = DocSpec {
                doc_type: "credit_note",
                status: "applied",
                number: Some(cnum),
                account: (acc, acc_name),
                date: cdate,
                due: None,
                valid_until: None,
                lines: vec![lines[0]],
                settled: Some(100),
                issued: false,
            };
            let (cn, ctotal) = push_doc(&mut b, &mut k, &mut rng, &ctx, &cspec)?;
            b.push(T_ALLOC, args![t, k.alloc, None::<i64>, cn, inv, ctotal, cdate, at(cdate, 43_200)]);
            k.alloc += 1;
            to_pay -= ctotal;
        }
        if to_pay > 0 {
            let pdate = (date + Duration::days(10 + rng.below(45) as i64)).min(today);
            let pat = at(pdate, 36_000);
            b.push(
                T_PAY,
                args![
                    t,
                    k.pay,
                    uuid(&mut rng),
                    "received",
                    acc,
                    to_pay,
                    "EUR",
                    pdate,
                    "bank_transfer",
                    Some(number),
                    "",
                    to_pay,
                    "posted",
                    1i64,
                    pat,
                    pat
                ],
            );
            b.push(T_ALLOC, args![t, k.alloc, k.pay, None::<i64>, inv, to_pay, pdate, pat]);
            k.pay += 1;
            k.alloc += 1;
        }
        b.tick(&mut tx).await?;
    }
    // Open quotes and sales orders of the last weeks, for the 360° view, and
    // open bills of the last five months (suppliers' invoices, due in 30 days)
    // for the payables aging.
    let mut q_seq = 1_000_000i64;
    for (doc_type, count, status) in
        [("quote", s.open_quotes, "sent"), ("sales_order", s.open_orders, "open"), ("bill", s.open_quotes, "issued")]
    {
        for _ in 0..count {
            let a = by_size.pick(&mut rng);
            let (acc, ref acc_name, _) = accounts[a];
            let age = if doc_type == "bill" { rng.below(150) } else { rng.below(40) };
            let date = today - Duration::days(age as i64);
            let lines = (0..1 + rng.below(6)).map(|_| (popular.pick(&mut rng), 1 + rng.below(10) as i64, 0)).collect();
            q_seq += 1;
            let prefix = match doc_type {
                "quote" => "BQ-",
                "bill" => "BB-",
                _ => "BSO-",
            };
            let spec = DocSpec {
                doc_type,
                status,
                number: Some(format!("{prefix}{q_seq}")),
                account: (acc, acc_name),
                date,
                due: (doc_type == "bill").then(|| date + Duration::days(30)),
                valid_until: (doc_type == "quote").then(|| date + Duration::days(30)),
                lines,
                settled: None,
                issued: false,
            };
            push_doc(&mut b, &mut k, &mut rng, &ctx, &spec)?;
            b.tick(&mut tx).await?;
        }
    }
    b.flush(&mut tx).await?;
    tx.commit().await?;
    rows += b.written();
    eprintln!("generate: {} invoices and open documents at {:.1} s", s.invoices, started.elapsed().as_secs_f64());

    // Activities, cases and opportunities.
    let mut act_key = next_id(db, "activities").await?;
    let mut case_key = next_id(db, "cases").await?;
    let mut opp_key = next_id(db, "opportunities").await?;
    let mut c = Batch::new(vec![
        Bulk::new(
            "activities",
            &[
                "tenant_id",
                "id",
                "public_id",
                "kind",
                "account_id",
                "subject",
                "body",
                "occurred_at",
                "attendees",
                "email_to",
                "due_date",
                "done",
                "owner_id",
                "version",
                "created_at",
                "updated_at",
            ],
        ),
        Bulk::new(
            "cases",
            &[
                "tenant_id",
                "id",
                "public_id",
                "account_id",
                "subject",
                "description",
                "kind",
                "priority",
                "status",
                "assignee_id",
                "product_id",
                "satisfaction",
                "first_response_at",
                "first_response_seconds",
                "resolved_at",
                "resolution_seconds",
                "closed_at",
                "version",
                "created_at",
                "updated_at",
            ],
        ),
        Bulk::new(
            "opportunities",
            &[
                "tenant_id",
                "id",
                "public_id",
                "account_id",
                "name",
                "stage_id",
                "probability",
                "amount_minor",
                "currency",
                "expected_close",
                "owner_id",
                "description",
                "closed_at",
                "version",
                "created_at",
                "updated_at",
            ],
        ),
    ]);
    let mut tx = db.write().await?;
    let kinds = ["call", "meeting", "email", "note", "task"];
    let secs = days * 86_400;
    for i in 0..s.activities {
        let a = by_size.pick(&mut rng);
        let kind = kinds[rng.below(kinds.len() as u64) as usize];
        let when = at(since, (i as i64 * secs / s.activities as i64).min(secs));
        let open_task = kind == "task" && (today - when.date()).whole_days() < 30 && rng.chance(50);
        let subject = format!("{} about order follow-up #{i}", kind);
        c.push(
            0,
            args![
                t,
                act_key,
                uuid(&mut rng),
                kind,
                accounts[a].0,
                subject,
                "",
                when,
                "[]",
                "[]",
                (kind == "task").then(|| when.date() + Duration::days(7)),
                !open_task,
                reps[a % reps.len()],
                1i64,
                when,
                when
            ],
        );
        act_key += 1;
        c.tick(&mut tx).await?;
    }
    let case_kinds = ["question", "problem", "complaint"];
    for i in 0..s.cases {
        let a = by_size.pick(&mut rng);
        let opened = at(since, (i as i64 * secs / s.cases as i64).min(secs));
        let closed = (today - opened.date()).whole_days() > 14 || rng.chance(60);
        let first = 600 + rng.below(86_400) as i64;
        let resolution = first + rng.below(5 * 86_400) as i64;
        let done = closed.then(|| opened + Duration::seconds(resolution));
        c.push(
            1,
            args![
                t,
                case_key,
                uuid(&mut rng),
                accounts[a].0,
                format!("Case {i}: delivery question"),
                "",
                case_kinds[rng.below(case_kinds.len() as u64) as usize],
                "normal",
                if closed { "closed" } else { "open" },
                reps[a % reps.len()],
                products[popular.pick(&mut rng)].0,
                closed.then(|| 1 + rng.below(5) as i64),
                Some(opened + Duration::seconds(first)),
                Some(first),
                done,
                closed.then_some(resolution),
                done,
                1i64,
                opened,
                done.unwrap_or(opened)
            ],
        );
        case_key += 1;
        c.tick(&mut tx).await?;
    }
    for i in 0..s.opportunities {
        let a = by_size.pick(&mut rng);
        let (stage, prob, kind) = &stages[rng.below(stages.len() as u64) as usize];
        let created = at(since, (i as i64 * secs / s.opportunities as i64).min(secs));
        let expected = (created.date() + Duration::days(30 + rng.below(120) as i64)).max(today - Duration::days(400));
        let closed = (kind != "open").then_some(created + Duration::days(20));
        c.push(
            2,
            args![
                t,
                opp_key,
                uuid(&mut rng),
                accounts[a].0,
                format!("Opportunity {i}"),
                *stage,
                *prob,
                (1_000 + rng.below(50_000) as i64) * 100,
                "EUR",
                expected,
                reps[a % reps.len()],
                "",
                closed,
                1i64,
                created,
                closed.unwrap_or(created)
            ],
        );
        opp_key += 1;
        c.tick(&mut tx).await?;
    }
    c.flush(&mut tx).await?;
    tx.commit().await?;
    rows += c.written();
    eprintln!("generate: activities, cases and opportunities at {:.1} s", started.elapsed().as_secs_f64());
    create_indexes(db, &indexes).await?;
    eprintln!("generate: {} indexes built again at {:.1} s", indexes.len(), started.elapsed().as_secs_f64());
    // The documents were written in bulk, past the summaries' upkeep.
    let mut tx = db.write().await?;
    nave_store::sales_summary::rebuild(&mut tx, DEFAULT_TENANT).await?;
    tx.commit().await?;
    eprintln!("generate: sales summaries at {:.1} s", started.elapsed().as_secs_f64());
    finish_bulk_load(db).await?;
    Ok(Generated {
        sizes: s,
        accounts: accounts.into_iter().map(|a| a.2).collect(),
        rows,
        seconds: started.elapsed().as_secs_f64(),
        invoice_lines,
    })
}

/// The tables the generator fills in bulk.
const BULK_TABLES: [&str; 14] = [
    "accounts",
    "contacts",
    "contact_emails",
    "activities",
    "cases",
    "opportunities",
    "documents",
    "document_groups",
    "document_lines",
    "document_line_taxes",
    "document_taxes",
    "document_due_dates",
    "payments",
    "allocations",
];

/// Drops the secondary indexes of the bulk-loaded tables and returns the
/// statements that make them again. Rows arrive in key order, so primary
/// keys grow at their end; but each secondary index takes its entries in
/// random order, and once such an index outgrows the engine's cache every
/// row costs disk reads and writes (PostgreSQL at scale 1 slowed to about a
/// thousand rows a second). Built once after the load, each index is one
/// sort. Indexes that back a primary key or a unique constraint stay: they
/// are the rules the data is checked against as it goes in.
async fn drop_indexes(db: &Db) -> anyhow::Result<Vec<String>> {
    let tables = BULK_TABLES.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
    let sql = match db.dialect() {
        Dialect::Sqlite => format!(
            "SELECT name, sql AS def FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
             AND tbl_name IN ({tables}) ORDER BY name"
        ),
        Dialect::Postgres => format!(
            "SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i WHERE i.schemaname = current_schema() \
             AND i.tablename IN ({tables}) AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
             WHERE c.conname = i.indexname AND c.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = i.schemaname)) \
             ORDER BY i.indexname"
        ),
    };
    let mut tx = db.write().await?;
    let found = tx.fetch_all(sql, vec![], |r| Ok((r.text("name")?, r.text("def")?))).await?;
    for (name, _) in &found {
        tx.execute(format!("DROP INDEX {name}"), vec![]).await?;
    }
    tx.commit().await?;
    Ok(found.into_iter().map(|(_, def)| def).collect())
}

/// Builds again the indexes [`drop_indexes`] dropped.
async fn create_indexes(db: &Db, defs: &[String]) -> anyhow::Result<()> {
    let mut tx = db.write().await?;
    for def in defs {
        tx.execute(def.clone(), vec![]).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// After explicit keys: PostgreSQL's identity columns carry on after them;
/// both engines refresh their planner statistics.
pub async fn finish_bulk_load(db: &Db) -> anyhow::Result<()> {
    if db.dialect() == Dialect::Postgres {
        for table in [
            "accounts",
            "contacts",
            "documents",
            "document_groups",
            "document_lines",
            "payments",
            "allocations",
            "activities",
            "cases",
            "opportunities",
        ] {
            db.execute_raw(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            ))
            .await?;
        }
    }
    db.execute_raw("ANALYZE").await?;
    Ok(())
}

pub async fn run_cli(a: GenerateArgs) -> anyhow::Result<()> {
    let mut common = a.common.clone();
    common.keep = true;
    let db = BenchDb::fresh(&common).await?;
    let g = generate(&db.db, a.scale, a.common.seed).await?;
    Report {
        workload: "generate",
        db: db.engine,
        params: json!({"scale": a.scale, "seed": a.common.seed}),
        metrics: json!({
            "rows": g.rows,
            "invoice_lines": g.invoice_lines,
            "elapsed_s": round2(g.seconds),
            "rows_per_s": round2(g.rows as f64 / g.seconds.max(1e-9)),
            "accounts": g.sizes.accounts, "invoices": g.sizes.invoices, "activities": g.sizes.activities,
        }),
        reference: serde_json::Value::Null,
        ratio: None,
    }
    .emit();
    println!("{}", db.url);
    db.finish().await;
    Ok(())
}
