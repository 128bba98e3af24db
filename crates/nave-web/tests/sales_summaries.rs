//! The sales summaries the reports read (`nave_store::sales_summary`, ADR
//! 0019), on both databases: after every kind of change made through the
//! API (invoices issued or left as drafts, credit notes, voids, payments,
//! products moved between categories), the kept summaries equal a rebuild
//! from the documents; and the reports read from them (sales by account and
//! by category, top customers, profit by customer, category and product,
//! the latter also for one account) give, for periods cut anywhere in a
//! month, the figures and document counts summed from the documents' lines.

mod support;

use std::collections::BTreeMap;

use nave_store::accounts::Visibility;
use nave_store::reports::{
    self, CostFields, CrossSellOptions, ProfitBy, ProfitOptions, Ranking, ReportFilter, SalesByAccountOptions,
    TopOptions,
};
use nave_store::tenants::DEFAULT_TENANT;
use nave_store::{args, sales_summary};
use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, TestUser, json};
use time::{Date, Month};

/// A small deterministic generator (the test is the same on every run).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

async fn created(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Value {
    let (status, v) = json(app.post(path, who, &body).await).await;
    assert!(status == 201 || status == 200, "{path}: {status} {v}");
    v
}

/// A POST that the scenario may try where the rules refuse it (a void of a
/// paid invoice, a credit beyond what is left): `None` on a 409 or 422.
async fn tried(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Option<Value> {
    let (status, v) = json(app.post(path, who, &body).await).await;
    match status {
        200 | 201 => Some(v),
        409 | 422 => None,
        _ => panic!("{path}: {status} {v}"),
    }
}

async fn drift(app: &TestApp) -> i64 {
    let mut tx = app.db.db.read().await.unwrap();
    let n = sales_summary::drift(&mut tx, DEFAULT_TENANT).await.unwrap();
    tx.rollback().await.unwrap();
    n
}

fn day(s: &str) -> Date {
    nave_domain::dates::parse(s).unwrap()
}

/// Per (account name, category name): the net of the period summed from the
/// documents' lines, the way the reports count it; zeros left out.
async fn lines_by_category(app: &TestApp, from: Date, to: Date) -> BTreeMap<(String, String), i64> {
    let mut tx = app.db.db.read().await.unwrap();
    let rows = tx
        .fetch_all(
            "SELECT a.name, COALESCE(c.name, '(no category)') AS category, CAST(SUM(CASE WHEN d.doc_type = 'credit_note' \
             THEN -l.taxable_base_minor ELSE l.taxable_base_minor END) AS BIGINT) AS net FROM documents d \
             JOIN document_lines l ON l.tenant_id = d.tenant_id AND l.document_id = d.id \
             JOIN accounts a ON a.tenant_id = d.tenant_id AND a.id = d.account_id \
             LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id \
             LEFT JOIN product_categories c ON c.tenant_id = p.tenant_id AND c.id = p.category_id \
             WHERE d.tenant_id = $1 AND d.doc_type IN ('invoice', 'credit_note') \
             AND d.status IN ('issued', 'part_paid', 'paid', 'applied') AND l.kind NOT IN ('shipping', 'comment') \
             AND d.doc_date >= $2 AND d.doc_date <= $3 GROUP BY a.name, COALESCE(c.name, '(no category)')",
            args![DEFAULT_TENANT, from, to],
            |r| Ok(((r.text("name")?, r.text("category")?), r.i64("net")?)),
        )
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    rows.into_iter().filter(|(_, v)| *v != 0).collect()
}

/// Per product name: the net of the period (of one account) summed from the lines; zeros left out.
async fn lines_by_product(
    tx: &mut nave_store::Tx,
    from: Date,
    to: Date,
    account: Option<i64>,
) -> BTreeMap<String, i64> {
    let rows = tx
        .fetch_all(
            "SELECT COALESCE(p.name, '(no product)') AS product, CAST(SUM(CASE WHEN d.doc_type = 'credit_note' \
             THEN -l.taxable_base_minor ELSE l.taxable_base_minor END) AS BIGINT) AS net FROM documents d \
             JOIN document_lines l ON l.tenant_id = d.tenant_id AND l.document_id = d.id \
             LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id \
             WHERE d.tenant_id = $1 AND d.doc_type IN ('invoice', 'credit_note') \
             AND d.status IN ('issued', 'part_paid', 'paid', 'applied') AND l.kind NOT IN ('shipping', 'comment') \
             AND d.doc_date >= $2 AND d.doc_date <= $3 AND ($4 = 0 OR d.account_id = $4) \
             GROUP BY COALESCE(p.name, '(no product)')",
            args![DEFAULT_TENANT, from, to, account.unwrap_or(0)],
            |r| Ok((r.text("product")?, r.i64("net")?)),
        )
        .await
        .unwrap();
    rows.into_iter().filter(|(_, v)| *v != 0).collect()
}

/// Per account name: (invoices, credit notes) counted as sales in the period.
async fn documents_by_account(app: &TestApp, from: Date, to: Date) -> BTreeMap<String, (i64, i64)> {
    let mut tx = app.db.db.read().await.unwrap();
    let rows = tx
        .fetch_all(
            "SELECT a.name, SUM(CASE WHEN d.doc_type = 'invoice' THEN 1 ELSE 0 END) AS inv, \
             SUM(CASE WHEN d.doc_type = 'credit_note' THEN 1 ELSE 0 END) AS cn FROM documents d \
             JOIN accounts a ON a.tenant_id = d.tenant_id AND a.id = d.account_id \
             WHERE d.tenant_id = $1 AND d.doc_type IN ('invoice', 'credit_note') \
             AND d.status IN ('issued', 'part_paid', 'paid', 'applied') AND d.doc_date >= $2 AND d.doc_date <= $3 \
             GROUP BY a.name",
            args![DEFAULT_TENANT, from, to],
            |r| Ok((r.text("name")?, (r.i64("inv")?, r.i64("cn")?))),
        )
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    rows.into_iter().collect()
}

/// The reports of `from..=to`, read through the summaries, against the
/// documents.
async fn reports_agree_with_the_documents(app: &TestApp, from: Date, to: Date) {
    let want = lines_by_category(app, from, to).await;
    let mut per_account: BTreeMap<String, i64> = BTreeMap::new();
    for ((account, _), v) in &want {
        *per_account.entry(account.clone()).or_default() += v;
    }
    per_account.retain(|_, v| *v != 0);
    let f = ReportFilter { from: Some(from), to: Some(to), ..Default::default() };
    let all = CostFields { cost: true, margin: true };
    let mut tx = app.db.db.read().await.unwrap();
    let t = DEFAULT_TENANT;

    let m = reports::sales_by_category(&mut tx, t, Visibility::All, &f, CrossSellOptions::default()).await.unwrap();
    let mut got = BTreeMap::new();
    for r in &m.rows {
        for (c, cell) in m.categories.iter().zip(&r.cells) {
            if cell.net_minor != 0 {
                got.insert((r.account.name.clone(), c.name.clone()), cell.net_minor);
            }
        }
    }
    assert_eq!(got, want, "sales by category {from}..={to}");

    let years = u8::try_from(to.year() - from.year() + 1).unwrap();
    let opts = SalesByAccountOptions { years, fall_threshold_percent: 20 };
    let s = reports::sales_by_account(&mut tx, t, Visibility::All, &f, opts).await.unwrap();
    let got: BTreeMap<String, i64> =
        s.rows.iter().filter(|r| r.total_minor != 0).map(|r| (r.account.name.clone(), r.total_minor)).collect();
    assert_eq!(got, per_account, "sales by account {from}..={to}");

    let top = reports::top_customers(&mut tx, t, Visibility::All, &f, TopOptions { limit: 100, ..Default::default() })
        .await
        .unwrap();
    let got: BTreeMap<String, i64> =
        top.rows.iter().filter(|r| r.net_minor != 0).map(|r| (r.account.name.clone(), r.net_minor)).collect();
    assert_eq!(got, per_account, "top customers {from}..={to}");

    let opts = ProfitOptions { by: ProfitBy::Customer, order: Ranking::Revenue, limit: 100, fields: all };
    let p = reports::profit(&mut tx, t, Visibility::All, &f, opts).await.unwrap();
    let got: BTreeMap<String, i64> =
        p.rows.iter().filter(|r| r.figures.sums.net() != 0).map(|r| (r.name.clone(), r.figures.sums.net())).collect();
    assert_eq!(got, per_account, "profit by customer {from}..={to}");
    let counts: BTreeMap<String, (i64, i64)> =
        p.rows.iter().map(|r| (r.name.clone(), (r.invoices, r.credit_notes))).collect();

    let mut per_category: BTreeMap<String, i64> = BTreeMap::new();
    for ((_, category), v) in &want {
        *per_category.entry(category.clone()).or_default() += v;
    }
    per_category.retain(|_, v| *v != 0);
    let opts = ProfitOptions { by: ProfitBy::Category, order: Ranking::Revenue, limit: 100, fields: all };
    let p = reports::profit(&mut tx, t, Visibility::All, &f, opts).await.unwrap();
    let got: BTreeMap<String, i64> =
        p.rows.iter().filter(|r| r.figures.sums.net() != 0).map(|r| (r.name.clone(), r.figures.sums.net())).collect();
    assert_eq!(got, per_category, "profit by category {from}..={to}");
    let category_counts: BTreeMap<String, (i64, i64)> =
        p.rows.iter().map(|r| (r.name.clone(), (r.invoices, r.credit_notes))).collect();

    // Per product: the whole company from the summary; one account (which
    // the product summary does not know) from that account's lines.
    let alpha =
        tx.scalar_i64("SELECT id AS v FROM accounts WHERE tenant_id = $1 AND name = 'Alpha'", args![t]).await.unwrap();
    for account in [None, Some(alpha)] {
        let f = ReportFilter { account_key: account, ..f };
        let opts = ProfitOptions { by: ProfitBy::Product, order: Ranking::Revenue, limit: 100, fields: all };
        let p = reports::profit(&mut tx, t, Visibility::All, &f, opts).await.unwrap();
        let got: BTreeMap<String, i64> = p
            .rows
            .iter()
            .filter(|r| r.figures.sums.net() != 0)
            .map(|r| (r.name.clone(), r.figures.sums.net()))
            .collect();
        assert_eq!(
            got,
            lines_by_product(&mut tx, from, to, account).await,
            "profit by product {from}..={to} {account:?}"
        );
    }
    tx.rollback().await.unwrap();
    assert_eq!(counts, documents_by_account(app, from, to).await, "documents behind profit {from}..={to}");
    assert_eq!(category_counts, documents_by_category(app, from, to).await, "documents per category {from}..={to}");
}

/// Per category name: (invoices, credit notes) with lines of it counted as sales in the period.
async fn documents_by_category(app: &TestApp, from: Date, to: Date) -> BTreeMap<String, (i64, i64)> {
    let mut tx = app.db.db.read().await.unwrap();
    let rows = tx
        .fetch_all(
            "SELECT COALESCE(c.name, '(no category)') AS category, \
             COUNT(DISTINCT CASE WHEN d.doc_type = 'invoice' THEN d.id END) AS inv, \
             COUNT(DISTINCT CASE WHEN d.doc_type = 'credit_note' THEN d.id END) AS cn FROM documents d \
             JOIN document_lines l ON l.tenant_id = d.tenant_id AND l.document_id = d.id \
             LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id \
             LEFT JOIN product_categories c ON c.tenant_id = p.tenant_id AND c.id = p.category_id \
             WHERE d.tenant_id = $1 AND d.doc_type IN ('invoice', 'credit_note') \
             AND d.status IN ('issued', 'part_paid', 'paid', 'applied') AND l.kind NOT IN ('shipping', 'comment') \
             AND d.doc_date >= $2 AND d.doc_date <= $3 GROUP BY COALESCE(c.name, '(no category)')",
            args![DEFAULT_TENANT, from, to],
            |r| Ok((r.text("category")?, (r.i64("inv")?, r.i64("cn")?))),
        )
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    rows.into_iter().collect()
}

async fn the_summaries_follow_every_change_and_the_reports_read_them(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "admin").await;
    let vat = created(&app, &mgr, "/api/v1/taxes", json!({"name": "VAT 10 %", "rate": "10"})).await;
    let std = created(&app, &mgr, "/api/v1/tax-categories", json!({"name": "Standard", "tax_ids": [vat["id"]]})).await;
    let mut categories = vec![];
    for name in ["Hardware", "Software", "Services"] {
        categories.push(id(&created(&app, &mgr, "/api/v1/product-categories", json!({"name": name})).await));
    }
    let mut products = vec![];
    for i in 0..5 {
        // The last product has no category.
        let category = categories.get(i).cloned();
        let p = created(
            &app,
            &mgr,
            "/api/v1/products",
            json!({"sku": format!("P{i}"), "name": format!("Product {i}"), "list_price": format!("{}.50", 10 + i * 7),
                   "currency": "EUR", "category_id": category, "tax_category_id": std["id"]}),
        )
        .await;
        products.push(id(&p));
    }
    let mut accounts = vec![];
    for name in ["Alpha", "Beta", "Gamma", "Delta"] {
        let a =
            created(&app, &mgr, "/api/v1/accounts", json!({"name": name, "currency": "EUR", "kinds": ["customer"]}))
                .await;
        accounts.push(id(&a));
    }
    assert_eq!(drift(&app).await, 0);

    let mut rng = Lcg(2026);
    // Issued invoices: (id, account, its lines).
    let mut issued: Vec<(String, String, Vec<Value>)> = vec![];
    for step in 0..36 {
        let what = if issued.is_empty() { 0 } else { rng.below(10) };
        match what {
            0..=4 => {
                let account = accounts[rng.below(4) as usize].clone();
                let date = Date::from_calendar_date(
                    2025 + rng.below(2) as i32,
                    Month::try_from(1 + rng.below(12) as u8).unwrap(),
                    1 + rng.below(28) as u8,
                )
                .unwrap();
                let lines: Vec<Value> = (0..1 + rng.below(3))
                    .map(|_| json!({"product_id": products[rng.below(5) as usize], "quantity": format!("{}", 1 + rng.below(4))}))
                    .collect();
                let body = json!({"account_id": account, "date": nave_domain::dates::format(date), "lines": lines});
                let inv = created(&app, &mgr, "/api/v1/invoices", body).await;
                // One in five stays a draft, which counts for nothing.
                if rng.below(5) > 0 {
                    let inv = created(&app, &mgr, &format!("/api/v1/invoices/{}/issue", id(&inv)), json!({})).await;
                    let lines = inv["groups"][0]["lines"].as_array().unwrap().clone();
                    issued.push((id(&inv), account, lines));
                }
            }
            5 | 6 => {
                // A credit note for one unit of a line of an issued invoice, dated
                // up to a month after it (it may fall in the next month).
                let (inv, account, lines) = issued[rng.below(issued.len() as u64) as usize].clone();
                let line = &lines[rng.below(lines.len() as u64) as usize];
                let invoice = support::json(app.get(&format!("/api/v1/invoices/{inv}"), &mgr).await).await.1;
                let date = day(invoice["date"].as_str().unwrap()) + time::Duration::days(rng.below(31) as i64);
                let body = json!({"account_id": account, "invoice_id": inv, "date": nave_domain::dates::format(date),
                    "lines": [{"product_id": line["product_id"], "quantity": "1", "origin_line_id": line["id"]}]});
                if let Some(cn) = tried(&app, &mgr, "/api/v1/credit-notes", body).await {
                    tried(&app, &mgr, &format!("/api/v1/credit-notes/{}/issue", id(&cn)), json!({})).await;
                }
            }
            7 => {
                // A void: refused once anything settles the invoice.
                let i = rng.below(issued.len() as u64) as usize;
                if tried(&app, &mgr, &format!("/api/v1/invoices/{}/void", issued[i].0), json!({})).await.is_some() {
                    issued.remove(i);
                }
            }
            8 => {
                // A payment of the balance: the invoice is paid, its figures stay.
                let (inv, account, _) = issued[rng.below(issued.len() as u64) as usize].clone();
                let invoice = support::json(app.get(&format!("/api/v1/invoices/{inv}"), &mgr).await).await.1;
                let balance = invoice["balance"].as_str().unwrap_or("0.00").to_string();
                if balance != "0.00" {
                    let body = json!({"account_id": account, "amount": balance, "currency": "EUR",
                        "method": "bank_transfer", "date": invoice["date"],
                        "allocations": [{"invoice_id": inv, "amount": balance}]});
                    created(&app, &mgr, "/api/v1/payments", body).await;
                }
            }
            _ => {
                // A product moves to another category, or out of every one.
                let p = &products[rng.below(5) as usize];
                let to = match rng.below(4) {
                    3 => Value::Null,
                    c => json!(categories[c as usize]),
                };
                let (status, v) = json(
                    app.req(Method::PATCH, &format!("/api/v1/products/{p}"), &mgr)
                        .json(&json!({"category_id": to}))
                        .send()
                        .await
                        .unwrap(),
                )
                .await;
                assert_eq!(status, 200, "{v}");
            }
        }
        assert_eq!(drift(&app).await, 0, "after step {step} ({what})");
    }
    assert!(issued.len() >= 5, "the scenario issued too little: {}", issued.len());

    // Whole years, whole months, and periods cut inside months.
    for (from, to) in [
        ("2025-01-01", "2026-12-31"),
        ("2025-01-01", "2025-12-31"),
        ("2025-02-01", "2025-02-28"),
        ("2025-01-15", "2026-06-17"),
        ("2025-03-31", "2025-04-01"),
        ("2025-05-10", "2025-05-20"),
        ("2026-01-02", "2026-12-30"),
    ] {
        reports_agree_with_the_documents(&app, day(from), day(to)).await;
    }

    // A rebuild changes nothing, and puts back a summary that was tampered with.
    let mut tx = app.db.db.write().await.unwrap();
    tx.execute("UPDATE sales_months SET invoiced_minor = invoiced_minor + 1", vec![]).await.unwrap();
    tx.execute("DELETE FROM sales_month_categories WHERE category_id = 0", vec![]).await.unwrap();
    assert!(sales_summary::drift(&mut tx, DEFAULT_TENANT).await.unwrap() > 0);
    sales_summary::rebuild(&mut tx, DEFAULT_TENANT).await.unwrap();
    assert_eq!(sales_summary::drift(&mut tx, DEFAULT_TENANT).await.unwrap(), 0);
    tx.commit().await.unwrap();
    reports_agree_with_the_documents(&app, day("2025-01-15"), day("2026-06-17")).await;
}

both_backends!(the_summaries_follow_every_change_and_the_reports_read_them);
