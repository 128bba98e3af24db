//! Every list sorts by its columns, on both databases: the pages through
//! their column headings (and the `Next page` links, which keep the order),
//! the API through `?sort=` and its `next` cursor, and the CSV export of a
//! sorted view in the same order. Ties go by creation in the sort's
//! direction, so no row is lost or shown twice across pages.

mod support;

use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{TestApp, TestUser, json, page, session, whole_page_list};

async fn made(app: &TestApp, who: &TestUser, path: &str, body: Value) -> String {
    let (st, v) = json(app.post(path, who, &body).await).await;
    assert_eq!(st, 201, "{path}: {v}");
    v["id"].as_str().unwrap().to_string()
}

/// Every id of an API list in `sort`, read `limit` at a time.
async fn whole_api_list(app: &TestApp, who: &TestUser, path: &str, sort: &str, limit: usize) -> Vec<String> {
    let mut ids = vec![];
    let base = format!("/api/v1/{path}?sort={sort}&limit={limit}");
    let mut url = base.clone();
    loop {
        let (st, v) = json(app.get(&url, who).await).await;
        assert_eq!(st, 200, "{url}: {v}");
        let data = v["data"].as_array().unwrap();
        assert!(data.len() <= limit);
        ids.extend(data.iter().map(|d| d["id"].as_str().unwrap().to_string()));
        match v["next"].as_str() {
            Some(n) => url = format!("{base}&after={n}"),
            None => break,
        }
        assert!(ids.len() <= 300, "the list never ends");
    }
    ids
}

/// `ids` (in creation order) ordered by `key`, ties by creation; reversed
/// entirely for a descending sort.
fn expected<K: Ord + Clone>(rows: &[(K, String)], descending: bool) -> Vec<String> {
    let mut order: Vec<(K, usize, String)> =
        rows.iter().enumerate().map(|(i, (k, id))| (k.clone(), i, id.clone())).collect();
    order.sort();
    if descending {
        order.reverse();
    }
    order.into_iter().map(|(_, _, id)| id).collect()
}

async fn accounts_sort_by_name_across_pages_in_the_page_the_api_and_the_export(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    // 56 accounts, more than a page, made out of name order, in three currencies (which tie).
    let mut by_name: Vec<(String, String)> = vec![];
    let mut by_currency: Vec<(String, String)> = vec![];
    for i in 0..56 {
        let name = format!("Account {:02}", (i * 17) % 56);
        let currency = ["USD", "EUR", "GBP"][i % 3];
        let id = made(&app, &admin, "/api/v1/accounts", json!({"name": name, "currency": currency})).await;
        by_name.push((name, id.clone()));
        by_currency.push((currency.to_string(), id));
    }
    let cookie = session(&app, "admin@example.com").await;
    let up = expected(&by_name, false);
    let down = expected(&by_name, true);
    assert_eq!(whole_page_list(&app, &cookie, "accounts", "/accounts?sort=name").await, up);
    assert_eq!(whole_page_list(&app, &cookie, "accounts", "/accounts?sort=-name").await, down);
    assert_eq!(whole_api_list(&app, &admin, "accounts", "name", 9).await, up);
    assert_eq!(whole_api_list(&app, &admin, "accounts", "-name", 50).await, down);
    // Ties across page boundaries: every account once, by currency then creation.
    let up = expected(&by_currency, false);
    assert_eq!(whole_page_list(&app, &cookie, "accounts", "/accounts?sort=currency").await, up);
    assert_eq!(whole_api_list(&app, &admin, "accounts", "currency", 7).await, up);
    assert_eq!(whole_api_list(&app, &admin, "accounts", "-currency", 11).await, expected(&by_currency, true));

    // The heading links sort and flip, and say which way the list is sorted.
    let (_, html) = page(&app, &cookie, "/accounts?sort=name").await;
    assert!(html.contains("aria-sort=\"ascending\"") && html.contains("sort=-name"), "{html}");
    // The filter form keeps the order.
    assert!(html.contains("name=\"sort\" value=\"name\""), "{html}");

    // The export of a sorted view is in that order, every account once.
    let (st, csv) = page(&app, &cookie, "/accounts/export.csv?sort=-name").await;
    assert_eq!(st, 200, "{csv}");
    let names: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    let mut want: Vec<&str> = by_name.iter().map(|(n, _)| n.as_str()).collect();
    want.sort();
    want.reverse();
    assert_eq!(names, want);

    // An order the list does not offer is a readable refusal; a cursor of another order is refused by the API.
    let (st, html) = page(&app, &cookie, "/accounts?sort=credit_limit").await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("must be one of name, currency"), "{html}");
    let (st, v) = json(app.get("/api/v1/accounts?sort=owner", &admin).await).await;
    assert_eq!((st, v["errors"][0]["field"].as_str()), (422, Some("sort")), "{v}");
    let (_, first) = json(app.get("/api/v1/accounts?limit=5", &admin).await).await;
    let plain_cursor = first["next"].as_str().unwrap();
    let (st, v) = json(app.get(&format!("/api/v1/accounts?sort=name&after={plain_cursor}"), &admin).await).await;
    assert_eq!((st, v["errors"][0]["field"].as_str()), (422, Some("after")), "{v}");
}

async fn crm_lists_sort_by_their_columns(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let cookie = session(&app, "admin@example.com").await;
    let acc_a = made(&app, &admin, "/api/v1/accounts", json!({"name": "Alder", "currency": "EUR"})).await;
    let acc_b = made(&app, &admin, "/api/v1/accounts", json!({"name": "Birch", "currency": "EUR"})).await;

    // Contacts by last name then first name, and by account.
    let mut by_name = vec![];
    let mut by_account = vec![];
    for (i, (first, last)) in
        [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing"), ("Bea", "Hopper"), ("Carl", "Lovelace")]
            .into_iter()
            .enumerate()
    {
        let acc = if i % 2 == 0 { &acc_b } else { &acc_a };
        let id =
            made(&app, &admin, "/api/v1/contacts", json!({"account_id": acc, "first_name": first, "last_name": last}))
                .await;
        by_name.push((format!("{last} {first}"), id.clone()));
        by_account.push((if i % 2 == 0 { "Birch" } else { "Alder" }.to_string(), id));
    }
    assert_eq!(whole_page_list(&app, &cookie, "contacts", "/contacts?sort=name").await, expected(&by_name, false));
    assert_eq!(whole_api_list(&app, &admin, "contacts", "-name", 2).await, expected(&by_name, true));
    assert_eq!(whole_api_list(&app, &admin, "contacts", "account", 2).await, expected(&by_account, false));

    // Cases by priority (low to urgent, not alphabetically), and by subject.
    let mut by_priority = vec![];
    let mut by_subject = vec![];
    for (i, priority) in ["high", "low", "urgent", "normal", "low", "urgent", "high"].into_iter().enumerate() {
        let subject = format!("Case {}", (i * 3) % 7);
        let id = made(
            &app,
            &admin,
            "/api/v1/cases",
            json!({"account_id": acc_a, "subject": subject, "kind": "problem", "priority": priority}),
        )
        .await;
        let rank = ["low", "normal", "high", "urgent"].iter().position(|p| *p == priority).unwrap();
        by_priority.push((rank, id.clone()));
        by_subject.push((subject, id));
    }
    assert_eq!(whole_page_list(&app, &cookie, "cases", "/cases?sort=-priority").await, expected(&by_priority, true));
    assert_eq!(whole_api_list(&app, &admin, "cases", "priority", 3).await, expected(&by_priority, false));
    assert_eq!(whole_api_list(&app, &admin, "cases", "subject", 4).await, expected(&by_subject, false));

    // Opportunities by amount and by expected close.
    let mut by_amount = vec![];
    let mut by_close = vec![];
    for (i, amount) in [5000, 1200, 9000, 1200, 300, 7000].into_iter().enumerate() {
        let close = format!("2027-0{}-15", 6 - i % 3);
        let id = made(
            &app,
            &admin,
            "/api/v1/opportunities",
            json!({"account_id": acc_b, "name": format!("Deal {i}"), "amount": format!("{amount}.00"),
                "expected_close": close}),
        )
        .await;
        by_amount.push((amount, id.clone()));
        by_close.push((close, id));
    }
    assert_eq!(
        whole_page_list(&app, &cookie, "opportunities", "/opportunities?sort=-amount").await,
        expected(&by_amount, true)
    );
    assert_eq!(whole_api_list(&app, &admin, "opportunities", "close", 4).await, expected(&by_close, false));

    // Leads by company.
    let mut by_company = vec![];
    for company in ["Initech", "Globex", "Acme", "Globex", "Hooli"] {
        let id = made(&app, &admin, "/api/v1/leads", json!({"company": company, "last_name": "Buyer"})).await;
        by_company.push((company.to_string(), id));
    }
    assert_eq!(whole_page_list(&app, &cookie, "leads", "/leads?sort=company").await, expected(&by_company, false));
    assert_eq!(whole_api_list(&app, &admin, "leads", "-company", 2).await, expected(&by_company, true));
}

async fn catalog_and_payment_lists_sort_by_their_columns(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let cookie = session(&app, "admin@example.com").await;

    // Products by SKU and by name.
    let mut by_sku = vec![];
    let mut by_name = vec![];
    for (sku, name) in [("P-300", "Valve"), ("P-100", "Pump"), ("P-200", "Hose"), ("P-050", "Pump")] {
        let id = made(&app, &admin, "/api/v1/products", json!({"sku": sku, "name": name, "list_price": "10.00"})).await;
        by_sku.push((sku.to_string(), id.clone()));
        by_name.push((name.to_string(), id));
    }
    assert_eq!(whole_page_list(&app, &cookie, "products", "/products?sort=sku").await, expected(&by_sku, false));
    assert_eq!(whole_api_list(&app, &admin, "products", "-name", 3).await, expected(&by_name, true));

    // Payments received by amount and by account.
    let alder = made(&app, &admin, "/api/v1/accounts", json!({"name": "Alder", "currency": "USD"})).await;
    let birch = made(&app, &admin, "/api/v1/accounts", json!({"name": "Birch", "currency": "USD"})).await;
    let mut by_amount = vec![];
    let mut by_account = vec![];
    for (i, amount) in ["75.00", "12.50", "300.00", "12.50", "40.00"].into_iter().enumerate() {
        let (acc, name) = if i % 2 == 0 { (&birch, "Birch") } else { (&alder, "Alder") };
        let id = made(
            &app,
            &admin,
            "/api/v1/payments",
            json!({"account_id": acc, "amount": amount, "method": "bank_transfer"}),
        )
        .await;
        let minor: i64 = amount.replace('.', "").parse().unwrap();
        by_amount.push((minor, id.clone()));
        by_account.push((name.to_string(), id));
    }
    assert_eq!(whole_page_list(&app, &cookie, "payments", "/payments?sort=-amount").await, expected(&by_amount, true));
    assert_eq!(whole_api_list(&app, &admin, "payments", "amount", 2).await, expected(&by_amount, false));
    assert_eq!(whole_api_list(&app, &admin, "payments", "account", 2).await, expected(&by_account, false));
    // The payments export follows the view's order too.
    let (st, csv) = page(&app, &cookie, "/payments/export.csv?sort=-amount").await;
    assert_eq!(st, 200, "{csv}");
    let amounts: Vec<&str> =
        ["300.00", "75.00", "40.00", "12.50", "12.50"].into_iter().filter(|a| csv.contains(a)).collect();
    assert_eq!(amounts.len(), 5, "{csv}");
    let at = |a: &str| csv.find(&format!(",{a},")).unwrap_or_else(|| panic!("{a} in {csv}"));
    assert!(at("300.00") < at("75.00") && at("75.00") < at("40.00") && at("40.00") < at("12.50"), "{csv}");
}

both_backends!(
    accounts_sort_by_name_across_pages_in_the_page_the_api_and_the_export,
    crm_lists_sort_by_their_columns,
    catalog_and_payment_lists_sort_by_their_columns,
);
