//! The accounts list as a daily tool, on both databases: search and owner
//! filters, the columns a user chooses, saved views (their own only), the CSV
//! export of the current view, and bulk owner assignment and archiving that
//! apply to all ticked accounts or to none. The other lists the same way:
//! columns that survive paging and saved views on cases, opportunities,
//! shipments and subscriptions; bulk assignment of cases, opportunities and
//! leads, all or none; CSV exports of the case and opportunity views.

mod support;

use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{TestApp, TestUser, form, json, listed, next_link, page, session, whole_page_list};

async fn account(app: &TestApp, who: &TestUser, name: &str, extra: Value) -> Value {
    let mut body = json!({"name": name, "currency": "EUR"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (st, a) = json(app.post("/api/v1/accounts", who, &body).await).await;
    assert_eq!(st, 201, "{a}");
    a
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

async fn the_accounts_list_filters_chooses_columns_and_saves_views(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let rep_id = rep.user.id.to_string();
    account(&app, &admin, "Harbour Supplies", json!({"tags": ["marine"]})).await;
    account(&app, &admin, "Inland Tools", json!({"owner_id": rep_id})).await;
    let cookie = session(&app, "admin@example.com").await;

    // Search words and the owner filter.
    let (st, html) = page(&app, &cookie, "/accounts?q=harb").await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("Harbour Supplies") && !html.contains("Inland Tools"), "{html}");
    let (_, html) = page(&app, &cookie, &format!("/accounts?owner={}", rep_id)).await;
    assert!(html.contains("Inland Tools") && !html.contains("Harbour Supplies"), "{html}");
    let (_, html) = page(&app, &cookie, "/accounts?owner=me").await;
    assert!(html.contains("Harbour Supplies") && !html.contains("Inland Tools"), "{html}");

    // Columns: the owner shown when chosen, tags left out.
    let (_, html) = page(&app, &cookie, "/accounts?col=owner&col=updated").await;
    assert!(html.contains("<th>Owner</th>") && !html.contains("<th>Tags</th>"), "{html}");
    assert!(html.contains(&rep.user.name), "the owner's name: {html}");

    // A saved view keeps filters and columns, is a link, and is the user's own.
    let (st, to, body) = form(
        &app,
        &cookie,
        "/saved-views",
        &[("list", "accounts"), ("name", "Rep's accounts"), ("query", &format!("owner={}&col=owner&after=x", rep_id))],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    assert_eq!(to, format!("/accounts?owner={}&col=owner", rep_id), "the page cursor is not part of a view");
    let (_, html) = page(&app, &cookie, &to).await;
    assert!(html.contains("Rep&#39;s accounts") && html.contains("aria-current=\"page\""), "{html}");
    let (st, _, body) =
        form(&app, &cookie, "/saved-views", &[("list", "accounts"), ("name", " "), ("query", "")]).await;
    assert_eq!(st, 422, "{body}");
    let (st, _, body) = form(&app, &cookie, "/saved-views", &[("list", "nowhere"), ("name", "x"), ("query", "")]).await;
    assert_eq!(st, 422, "{body}");
    let rep_cookie = session(&app, "rep@example.com").await;
    let (_, html) = page(&app, &rep_cookie, "/accounts").await;
    assert!(!html.contains("Rep&#39;s accounts"), "another user's view is not shown: {html}");
    let view_id = html_view_id(&page(&app, &cookie, "/accounts").await.1);
    let (st, _, _) = form(&app, &rep_cookie, &format!("/saved-views/{view_id}/delete"), &[]).await;
    assert_eq!(st, 404, "only its owner deletes a view");
    let (st, to, _) = form(&app, &cookie, &format!("/saved-views/{view_id}/delete"), &[]).await;
    assert_eq!((st, to.as_str()), (303, "/accounts"));
    assert!(!page(&app, &cookie, "/accounts").await.1.contains("Rep&#39;s accounts"));

    // The CSV export is the current view.
    let (st, csv) = page(&app, &cookie, "/accounts/export.csv?q=inland").await;
    assert_eq!(st, 200, "{csv}");
    assert!(csv.starts_with("name,") && csv.contains("Inland Tools"), "{csv}");
    assert!(!csv.contains("Harbour Supplies"), "{csv}");
}

/// The id of the first saved view's delete form on a page.
fn html_view_id(html: &str) -> String {
    let at = html.find("/saved-views/").expect("a saved view") + "/saved-views/".len();
    html[at..].split('/').next().unwrap().to_string()
}

async fn bulk_actions_assign_owners_and_archive_all_or_nothing(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let rep_id = rep.user.id.to_string();
    let a = account(&app, &admin, "Alpha", json!({})).await;
    let b = account(&app, &admin, "Beta", json!({})).await;
    let cookie = session(&app, "admin@example.com").await;
    let (st, to, body) = form(
        &app,
        &cookie,
        "/accounts/bulk",
        &[("ids", id(&a)), ("ids", id(&b)), ("op", "assign_owner"), ("owner_id", rep_id.as_str()), ("back", "q=a")],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    assert_eq!(to, "/accounts?q=a");
    for acc in [&a, &b] {
        let (_, v) = json(app.get(&format!("/api/v1/accounts/{}", id(acc)), &admin).await).await;
        assert_eq!(v["owner_id"], json!(rep_id), "{v}");
    }
    // Nothing ticked, or no owner chosen: refused, nothing changed.
    let (st, _, _) = form(&app, &cookie, "/accounts/bulk", &[("op", "archive")]).await;
    assert_eq!(st, 422);
    let (st, _, _) = form(&app, &cookie, "/accounts/bulk", &[("ids", id(&a)), ("op", "assign_owner")]).await;
    assert_eq!(st, 422);
    // One unknown id: none archived.
    let (st, _, _) = form(
        &app,
        &cookie,
        "/accounts/bulk",
        &[("ids", id(&a)), ("ids", "01a245cc-0000-7000-8000-000000000000"), ("op", "archive")],
    )
    .await;
    assert_eq!(st, 404);
    let (_, v) = json(app.get(&format!("/api/v1/accounts/{}", id(&a)), &admin).await).await;
    assert_eq!(v["archived"], false, "all or nothing: {v}");
    let (st, _, _) =
        form(&app, &cookie, "/accounts/bulk", &[("ids", id(&a)), ("ids", id(&b)), ("op", "archive")]).await;
    assert_eq!(st, 303);
    let (_, html) = page(&app, &cookie, "/accounts").await;
    assert!(!html.contains(">Alpha<") && !html.contains(">Beta<"), "archived accounts leave the list: {html}");
    // A sales rep may archive only their own accounts: another's refuses the whole batch.
    let mine = account(&app, &rep, "Rep's own", json!({})).await;
    let other = account(&app, &admin, "Not the rep's", json!({})).await;
    let rep_cookie = session(&app, "rep@example.com").await;
    let (st, _, _) =
        form(&app, &rep_cookie, "/accounts/bulk", &[("ids", id(&mine)), ("ids", id(&other)), ("op", "archive")]).await;
    assert!(st == 403 || st == 404, "{st}");
    let (_, v) = json(app.get(&format!("/api/v1/accounts/{}", id(&mine)), &admin).await).await;
    assert_eq!(v["archived"], false, "{v}");
}

async fn cases_and_opportunities_keep_saved_views_too(db: TestDb) {
    let app = TestApp::start(db).await;
    app.user("admin@example.com", "admin").await;
    let cookie = session(&app, "admin@example.com").await;
    for (list, query, name) in [("cases", "priority=high", "Hot cases"), ("opportunities", "view=board", "My board")] {
        let (st, to, body) =
            form(&app, &cookie, "/saved-views", &[("list", list), ("name", name), ("query", query)]).await;
        assert_eq!(st, 303, "{body}");
        assert_eq!(to, format!("/{list}?{query}"));
        let (st, html) = page(&app, &cookie, &to).await;
        assert_eq!(st, 200, "{html}");
        assert!(html.contains(name) && html.contains("aria-current=\"page\""), "{list}: {html}");
        let (_, html) = page(&app, &cookie, &format!("/{list}")).await;
        assert!(html.contains(&format!("href=\"/{list}?{query}\"")), "{list}: {html}");
    }
}

async fn document_lists_sort_by_a_column_across_pages_and_keep_views(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let a = account(&app, &admin, "Alder Works", json!({})).await;
    let b = account(&app, &admin, "Birch & Co", json!({})).await;
    // 55 quotes (more than a page), with totals that tie.
    let mut made: Vec<(i64, String, String)> = vec![];
    for i in 0..55 {
        let acc = if i % 2 == 0 { &a } else { &b };
        let price = format!("{}.00", 10 * (i % 7) + 1);
        let (st, q) = json(
            app.post(
                "/api/v1/quotes",
                &admin,
                &json!({"account_id": acc["id"], "lines": [{"description": "Work", "quantity": "1", "unit_price": price}]}),
            )
            .await,
        )
        .await;
        assert_eq!(st, 201, "{q}");
        made.push((10 * (i % 7) + 1, acc["name"].as_str().unwrap().to_string(), id(&q).to_string()));
    }
    let cookie = session(&app, "admin@example.com").await;

    // By total, smallest first; ties in the order they were made; no row lost or repeated across pages.
    let got = whole_page_list(&app, &cookie, "quotes", "/quotes?sort=total").await;
    let mut want = made.clone();
    want.sort_by_key(|(total, _, _)| *total);
    assert_eq!(got, want.iter().map(|m| m.2.clone()).collect::<Vec<_>>());
    // By total, largest first.
    let got = whole_page_list(&app, &cookie, "quotes", "/quotes?sort=-total").await;
    let mut want: Vec<(i64, usize, String)> = made.iter().enumerate().map(|(i, m)| (m.0, i, m.2.clone())).collect();
    want.sort_by(|x, y| y.0.cmp(&x.0).then(y.1.cmp(&x.1)));
    assert_eq!(got, want.into_iter().map(|w| w.2).collect::<Vec<_>>());
    // By account, with a filter kept on every page.
    let got = whole_page_list(&app, &cookie, "quotes", "/quotes?sort=-account&status=draft").await;
    let birch: Vec<String> = made.iter().filter(|m| m.1 == "Birch & Co").map(|m| m.2.clone()).collect();
    assert_eq!(got.len(), 55);
    assert_eq!(got[..birch.len()].to_vec().len(), birch.len());
    assert!(got[..birch.len()].iter().all(|g| birch.contains(g)), "Birch's quotes come first");
    // The API sorts the same way, its `next` cursor keeping the order.
    let mut api_ids = vec![];
    let mut url = "/api/v1/quotes?sort=-total&limit=20".to_string();
    loop {
        let (st, v) = json(app.get(&url, &admin).await).await;
        assert_eq!(st, 200, "{v}");
        api_ids.extend(v["data"].as_array().unwrap().iter().map(|d| id(d).to_string()));
        match v["next"].as_str() {
            Some(n) => url = format!("/api/v1/quotes?sort=-total&limit=20&after={n}"),
            None => break,
        }
    }
    let ui = whole_page_list(&app, &cookie, "quotes", "/quotes?sort=-total").await;
    assert_eq!(api_ids, ui);
    let (st, v) = json(app.get("/api/v1/quotes?sort=price", &admin).await).await;
    assert_eq!((st, v["errors"][0]["field"].as_str()), (422, Some("sort")), "{v}");
    // The heading links flip the direction and say which way it is sorted.
    let (_, html) = page(&app, &cookie, "/quotes?sort=total").await;
    assert!(html.contains("aria-sort=\"ascending\"") && html.contains("sort=-total"), "{html}");

    // Columns chosen: the reference shown, the account hidden.
    let (_, html) = page(&app, &cookie, "/quotes?col=date&col=reference&col=total").await;
    assert!(html.contains(">Reference<") && !html.contains(">Account</a></th>"), "{html}");

    // A view with its sort and columns is saved and listed.
    let query = "col=total&sort=-total";
    let (st, to, body) =
        form(&app, &cookie, "/saved-views", &[("list", "quotes"), ("name", "Biggest"), ("query", query)]).await;
    assert_eq!((st, to.as_str()), (303, "/quotes?col=total&sort=-total"), "{body}");
    let (_, html) = page(&app, &cookie, "/quotes").await;
    assert!(html.contains("Biggest"), "{html}");

    // A sort that is not offered is refused with a message.
    let (st, html) = page(&app, &cookie, "/quotes?sort=colour").await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("must be one of created, date, number, account, total, due"), "{html}");
}

async fn the_contacts_list_searches_filters_by_account_and_exports_the_view(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let mine = account(&app, &admin, "Rep's Customer", json!({"owner_id": rep.user.id.to_string()})).await;
    let other = account(&app, &admin, "Someone Else's", json!({})).await;
    for (acc, first, last, email) in [
        (&mine, "Ada", "Lovelace", "ada@example.com"),
        (&mine, "Grace", "Hopper", "grace@example.com"),
        (&other, "Alan", "Turing", "alan@example.com"),
    ] {
        let (st, c) = json(
            app.post(
                "/api/v1/contacts",
                &admin,
                &json!({"account_id": acc["id"], "first_name": first, "last_name": last, "emails": [email]}),
            )
            .await,
        )
        .await;
        assert_eq!(st, 201, "{c}");
    }
    let cookie = session(&app, "admin@example.com").await;
    let (st, html) = page(&app, &cookie, "/contacts").await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("Ada Lovelace") && html.contains("Alan Turing"), "{html}");
    // Search words and the account filter.
    let (_, html) = page(&app, &cookie, "/contacts?q=hop").await;
    assert!(html.contains("Grace Hopper") && !html.contains("Ada Lovelace"), "{html}");
    let (_, html) = page(&app, &cookie, &format!("/contacts?account_id={}", id(&other))).await;
    assert!(html.contains("Alan Turing") && !html.contains("Grace Hopper"), "{html}");
    // Columns: the e-mail hidden when not chosen.
    let (_, html) = page(&app, &cookie, "/contacts?col=account").await;
    assert!(!html.contains("mailto:ada@example.com") && html.contains("Rep&#39;s Customer"), "{html}");
    // The export holds the view's contacts only.
    let (st, csv) = page(&app, &cookie, &format!("/contacts/export.csv?account_id={}", id(&mine))).await;
    assert_eq!(st, 200);
    assert_eq!(csv.lines().count(), 3, "header and two contacts: {csv}");
    assert!(csv.contains("ada@example.com") && !csv.contains("alan@example.com"), "{csv}");
    // A rep lists the contacts of their own accounts only.
    let rep_cookie = session(&app, "rep@example.com").await;
    let (_, html) = page(&app, &rep_cookie, "/contacts").await;
    assert!(html.contains("Ada Lovelace") && !html.contains("Alan Turing"), "{html}");
    // A saved view of the list.
    let (st, to, body) =
        form(&app, &cookie, "/saved-views", &[("list", "contacts"), ("name", "Hoppers"), ("query", "q=hop")]).await;
    assert_eq!((st, to.as_str()), (303, "/contacts?q=hop"), "{body}");
}

async fn the_products_list_searches_filters_chooses_columns_and_exports_the_view(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    app.user("rep@example.com", "sales_rep").await;
    let (_, tools) = json(app.post("/api/v1/product-categories", &admin, &json!({"name": "Tools"})).await).await;
    for body in [
        json!({"sku": "DRL-1", "name": "Cordless drill", "list_price": "99.00", "cost": "55.0000", "category_id": tools["id"]}),
        json!({"sku": "SAW-1", "name": "Hand saw", "list_price": "19.00", "cost": "8.0000", "category_id": tools["id"]}),
        json!({"sku": "FIT-1", "name": "Fitting service", "kind": "service", "list_price": "60.00"}),
    ] {
        let (st, v) = json(app.post("/api/v1/products", &admin, &body).await).await;
        assert_eq!(st, 201, "{v}");
    }
    let cookie = session(&app, "admin@example.com").await;
    // Search by the start of a word of the name, or of the SKU.
    let (st, html) = page(&app, &cookie, "/products?q=drill").await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("DRL-1") && !html.contains("SAW-1"), "{html}");
    let (_, html) = page(&app, &cookie, "/products?q=saw-").await;
    assert!(html.contains("SAW-1") && !html.contains("DRL-1"), "{html}");
    // Kind and product line filters.
    let (_, html) = page(&app, &cookie, "/products?kind=service").await;
    assert!(html.contains("FIT-1") && !html.contains("DRL-1"), "{html}");
    let (_, html) = page(&app, &cookie, &format!("/products?category_id={}", id(&tools))).await;
    assert!(html.contains("DRL-1") && html.contains("SAW-1") && !html.contains("FIT-1"), "{html}");
    // Columns: cost shown to the admin by default, hidden when not chosen; never offered to a rep.
    let (_, html) = page(&app, &cookie, "/products").await;
    assert!(html.contains(">55.00<"), "{html}");
    let (_, html) = page(&app, &cookie, "/products?col=list_price").await;
    assert!(!html.contains(">55.00<") && html.contains("99.00"), "{html}");
    let rep = session(&app, "rep@example.com").await;
    let (_, html) = page(&app, &rep, "/products?col=cost&col=list_price").await;
    assert!(!html.contains(">55.00<") && !html.contains("value=\"cost\""), "{html}");
    // The export holds the view's products.
    let (st, csv) = page(&app, &cookie, "/products/export.csv?kind=service").await;
    assert_eq!(st, 200);
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("FIT-1"), "{csv}");
    // A bad filter is a readable refusal.
    let (st, html) = page(&app, &cookie, "/products?kind=robot").await;
    assert_eq!(st, 422, "{html}");

    // The payment lists choose columns and keep views too.
    let (st, html) = page(&app, &cookie, "/payments?col=amount").await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("value=\"amount\" checked") && html.contains("value=\"method\" >"), "{html}");
    let (st, to, _) =
        form(&app, &cookie, "/saved-views", &[("list", "payments-sent"), ("name", "Amounts"), ("query", "col=amount")])
            .await;
    assert_eq!((st, to.as_str()), (303, "/payments-sent?col=amount"));

    // And the leads list.
    let (st, html) = page(&app, &cookie, "/leads?status=new&col=source").await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("value=\"source\" checked") && html.contains("value=\"email\" >"), "{html}");
    let (st, to, _) =
        form(&app, &cookie, "/saved-views", &[("list", "leads"), ("name", "New ones"), ("query", "status=new")]).await;
    assert_eq!((st, to.as_str()), (303, "/leads?status=new"));
    let (_, html) = page(&app, &cookie, "/leads").await;
    assert!(html.contains("New ones"), "{html}");
}

/// A case on `account` for `assignee` (the API's default assignee is the caller).
async fn case(app: &TestApp, who: &TestUser, account: &Value, subject: &str, extra: Value) -> Value {
    let mut body = json!({"account_id": account["id"], "subject": subject});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (st, c) = json(app.post("/api/v1/cases", who, &body).await).await;
    assert_eq!(st, 201, "{c}");
    c
}

async fn opportunity(app: &TestApp, who: &TestUser, account: &Value, name: &str, extra: Value) -> Value {
    let mut body =
        json!({"account_id": account["id"], "name": name, "amount": "100.00", "expected_close": "2030-06-30"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (st, o) = json(app.post("/api/v1/opportunities", who, &body).await).await;
    assert_eq!(st, 201, "{o}");
    o
}

/// The headings of the first table of a page.
fn headings(html: &str) -> Vec<String> {
    let Some(start) = html.find("<thead>") else { return vec![] };
    let head = &html[start + "<thead>".len()..start + html[start..].find("</thead>").unwrap()];
    head.split("<th")
        .skip(1)
        .map(|h| {
            // The heading's text, without the link of a sortable column.
            let inner = &h[h.find('>').unwrap() + 1..h.find("</th>").unwrap()];
            let mut text = String::new();
            let mut in_tag = false;
            for c in inner.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text
        })
        .collect()
}

async fn case_and_opportunity_lists_choose_columns_that_survive_paging(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let acc = account(&app, &admin, "Harbour Supplies", json!({})).await;
    // More than a page (50) of each.
    for i in 0..52 {
        case(&app, &admin, &acc, &format!("Pump {i}"), json!({})).await;
        opportunity(&app, &admin, &acc, &format!("Refit {i}"), json!({})).await;
    }
    let cookie = session(&app, "admin@example.com").await;
    // Every column until the user chooses.
    let (st, html) = page(&app, &cookie, "/cases").await;
    assert_eq!(st, 200, "{html}");
    assert!(headings(&html).contains(&"Account".to_string()), "{html}");
    for (list, first, chosen, left_out) in [
        ("cases", "/cases?col=priority&col=assignee", vec!["Subject", "Priority", "Assignee"], "Account"),
        ("opportunities", "/opportunities?col=owner&col=amount", vec!["Name", "Amount", "Owner"], "Stage"),
    ] {
        let (st, html) = page(&app, &cookie, first).await;
        assert_eq!(st, 200, "{html}");
        let shown: Vec<String> = headings(&html).into_iter().filter(|h| !h.contains("Select")).collect();
        assert_eq!(shown, chosen, "{list}: the chosen columns, in the list's order");
        assert_eq!(listed(&html, list).len(), 50, "{list}: a full first page");
        // The next page keeps the columns.
        let next = next_link(&html).unwrap_or_else(|| panic!("{list} has a second page: {html}"));
        assert!(next.contains("col="), "{next}");
        let (st, html) = page(&app, &cookie, &next).await;
        assert_eq!(st, 200, "{html}");
        let shown: Vec<String> = headings(&html).into_iter().filter(|h| !h.contains("Select")).collect();
        assert_eq!(shown, chosen, "{list}, page 2");
        assert!(!shown.iter().any(|h| h == left_out));
        assert_eq!(listed(&html, list).len(), 2, "{list}: the rest on page 2");
    }
    // The board keeps the list's columns in its view, and pages like the list.
    let (st, html) = page(&app, &cookie, "/opportunities?view=board&col=owner").await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("class=\"board\"") && html.contains("value=\"owner\" checked"), "{html}");
    // Shipments and subscriptions choose their columns too.
    for (path, on, off) in [
        ("/shipments?col=status", "value=\"status\" checked", "value=\"account\" >"),
        ("/subscriptions?col=period", "value=\"period\" checked", "value=\"account\" >"),
    ] {
        let (st, html) = page(&app, &cookie, path).await;
        assert_eq!(st, 200, "{path}: {html}");
        assert!(html.contains(on) && html.contains(off), "{path}: {html}");
    }
}

async fn saved_views_come_back_on_every_new_list(db: TestDb) {
    let app = TestApp::start(db).await;
    app.user("admin@example.com", "admin").await;
    app.user("rep@example.com", "sales_rep").await;
    let cookie = session(&app, "admin@example.com").await;
    for (list, query, name) in [
        ("cases", "priority=high&col=priority&col=status", "Hot ones"),
        ("opportunities", "view=board&col=owner", "Board by owner"),
        ("opportunities", "col=amount&col=weighted", "Amounts"),
        ("shipments", "status=draft&col=status&col=date", "To ship"),
        ("subscriptions", "status=paused&col=account", "Paused"),
    ] {
        let (st, to, body) =
            form(&app, &cookie, "/saved-views", &[("list", list), ("name", name), ("query", query)]).await;
        assert_eq!(st, 303, "{list}: {body}");
        assert_eq!(to, format!("/{list}?{query}"));
        let (st, html) = page(&app, &cookie, &to).await;
        assert_eq!(st, 200, "{list}: {html}");
        assert!(
            html.contains(name) && html.contains("aria-current=\"page\""),
            "{list} shows the view as current: {html}"
        );
        let (_, html) = page(&app, &cookie, &format!("/{list}")).await;
        assert!(html.contains(&format!("href=\"/{list}?{}\"", query.replace('&', "&#38;"))), "{list}: {html}");
        // Only its owner sees it.
        let rep = session(&app, "rep@example.com").await;
        let (_, html) = page(&app, &rep, &format!("/{list}")).await;
        assert!(!html.contains(name), "{list}: {html}");
    }
}

async fn bulk_assignment_moves_every_ticked_record_or_none(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let other = app.user("other@example.com", "sales_rep").await;
    let (rep_id, other_id) = (rep.user.id.to_string(), other.user.id.to_string());
    let acc = account(&app, &admin, "Harbour Supplies", json!({"owner_id": rep_id})).await;
    let admin_cookie = session(&app, "admin@example.com").await;
    let rep_cookie = session(&app, "rep@example.com").await;

    // Cases: the rep's two, and one of the admin's (outside the rep's scope).
    let c1 = case(&app, &admin, &acc, "Leaking pump", json!({"assignee_id": rep_id})).await;
    let c2 = case(&app, &admin, &acc, "Broken seal", json!({"assignee_id": rep_id})).await;
    let c3 = case(&app, &admin, &acc, "Admin's own", json!({})).await;
    let (_, html) = page(&app, &rep_cookie, "/cases").await;
    assert!(html.contains("action=\"/cases/bulk\"") && html.contains(&format!("value=\"{}:", id(&c1))), "{html}");
    // One case outside the rep's scope: nothing changes, and the list says why.
    let (st, _, html) = form(
        &app,
        &rep_cookie,
        "/cases/bulk",
        &[
            ("ids", id(&c1)),
            ("ids", id(&c3)),
            ("op", "assign"),
            ("assignee_id", &other_id),
            ("back", "priority=normal"),
        ],
    )
    .await;
    assert_eq!(st, 404, "{html}");
    assert!(html.contains("role=\"alert\"") && html.contains("Nothing was changed"), "{html}");
    assert!(html.contains("Leaking pump"), "the list's view is shown again: {html}");
    let (_, v) = json(app.get(&format!("/api/v1/cases/{}", id(&c1)), &admin).await).await;
    assert_eq!(v["assignee_id"], json!(rep_id), "all or none: {v}");
    // Both of the rep's: both move, and the list's view comes back.
    let c1_ticked = format!("{}:{}", id(&c1), c1["version"]);
    let (st, to, body) = form(
        &app,
        &rep_cookie,
        "/cases/bulk",
        &[
            ("ids", &c1_ticked),
            ("ids", id(&c2)),
            ("op", "assign"),
            ("assignee_id", &other_id),
            ("back", "priority=normal"),
        ],
    )
    .await;
    assert_eq!((st, to.as_str()), (303, "/cases?priority=normal"), "{body}");
    for c in [&c1, &c2] {
        let (_, v) = json(app.get(&format!("/api/v1/cases/{}", id(c)), &admin).await).await;
        assert_eq!(v["assignee_id"], json!(other_id), "{v}");
    }
    // A row shown before someone else changed the case is stale: nothing changes (409).
    let (st, _, html) = form(
        &app,
        &admin_cookie,
        "/cases/bulk",
        &[("ids", id(&c3)), ("ids", &c1_ticked), ("op", "assign"), ("assignee_id", "queue")],
    )
    .await;
    assert_eq!(st, 409, "{html}");
    assert!(html.contains("someone else changed the case “Leaking pump”"), "{html}");
    let (_, v) = json(app.get(&format!("/api/v1/cases/{}", id(&c3)), &admin).await).await;
    assert_eq!(v["assignee_id"], json!(admin.user.id.to_string()), "{v}");
    // To the queue; nothing ticked or nobody chosen is refused.
    let (st, _, _) =
        form(&app, &admin_cookie, "/cases/bulk", &[("ids", id(&c3)), ("op", "assign"), ("assignee_id", "queue")]).await;
    assert_eq!(st, 303);
    let (_, v) = json(app.get(&format!("/api/v1/cases/{}", id(&c3)), &admin).await).await;
    assert_eq!(v["assignee_id"], Value::Null, "{v}");
    let (st, _, html) = form(&app, &admin_cookie, "/cases/bulk", &[("op", "assign"), ("assignee_id", "queue")]).await;
    assert_eq!(st, 422);
    assert!(html.contains("tick at least one"), "{html}");
    let (st, _, _) = form(&app, &admin_cookie, "/cases/bulk", &[("ids", id(&c3)), ("op", "assign")]).await;
    assert_eq!(st, 422);

    // Opportunities: the rep's two and the admin's one.
    let o1 = opportunity(&app, &admin, &acc, "Harbour refit", json!({"owner_id": rep_id})).await;
    let o2 = opportunity(&app, &admin, &acc, "Dock cranes", json!({"owner_id": rep_id})).await;
    let o3 = opportunity(&app, &admin, &acc, "Admin's deal", json!({})).await;
    let (st, _, html) = form(
        &app,
        &rep_cookie,
        "/opportunities/bulk",
        &[("ids", id(&o1)), ("ids", id(&o3)), ("op", "assign_owner"), ("owner_id", &other_id)],
    )
    .await;
    assert_eq!(st, 404, "{html}");
    assert!(html.contains("Nothing was changed") && html.contains("Harbour refit"), "{html}");
    let (_, v) = json(app.get(&format!("/api/v1/opportunities/{}", id(&o1)), &admin).await).await;
    assert_eq!(v["owner_id"], json!(rep_id), "{v}");
    let (st, to, body) = form(
        &app,
        &rep_cookie,
        "/opportunities/bulk",
        &[("ids", id(&o1)), ("ids", id(&o2)), ("op", "assign_owner"), ("owner_id", &other_id)],
    )
    .await;
    assert_eq!((st, to.as_str()), (303, "/opportunities"), "{body}");
    for o in [&o1, &o2] {
        let (_, v) = json(app.get(&format!("/api/v1/opportunities/{}", id(o)), &admin).await).await;
        assert_eq!(v["owner_id"], json!(other_id), "{v}");
    }
    let (st, _, _) =
        form(&app, &admin_cookie, "/opportunities/bulk", &[("ids", id(&o3)), ("op", "assign_owner"), ("owner_id", "")])
            .await;
    assert_eq!(st, 422, "an owner must be chosen");

    // Leads: the rep's two and the admin's one.
    let mut leads = vec![];
    for (who, company) in [(&rep, "Initech"), (&rep, "Globex"), (&admin, "Hooli")] {
        let (st, l) =
            json(app.post("/api/v1/leads", who, &json!({"company": company, "last_name": "Doe"})).await).await;
        assert_eq!(st, 201, "{l}");
        leads.push(l);
    }
    let (st, _, html) = form(
        &app,
        &rep_cookie,
        "/leads/bulk",
        &[("ids", id(&leads[0])), ("ids", id(&leads[2])), ("op", "assign_owner"), ("owner_id", &other_id)],
    )
    .await;
    assert_eq!(st, 404, "{html}");
    assert!(html.contains("Nothing was changed"), "{html}");
    let (_, v) = json(app.get(&format!("/api/v1/leads/{}", id(&leads[0])), &admin).await).await;
    assert_eq!(v["owner_id"], json!(rep_id), "{v}");
    let (st, to, body) = form(
        &app,
        &rep_cookie,
        "/leads/bulk",
        &[
            ("ids", id(&leads[0])),
            ("ids", id(&leads[1])),
            ("op", "assign_owner"),
            ("owner_id", &other_id),
            ("back", "q=g"),
        ],
    )
    .await;
    assert_eq!((st, to.as_str()), (303, "/leads?q=g"), "{body}");
    for l in &leads[..2] {
        let (_, v) = json(app.get(&format!("/api/v1/leads/{}", id(l)), &admin).await).await;
        assert_eq!(v["owner_id"], json!(other_id), "{v}");
    }
    // A role that may not change leads has no bulk form, and its posts are refused.
    app.user("viewer@example.com", "read_only").await;
    let viewer = session(&app, "viewer@example.com").await;
    let (_, html) = page(&app, &viewer, "/leads").await;
    assert!(!html.contains("/leads/bulk"), "{html}");
    let (st, _, _) =
        form(&app, &viewer, "/leads/bulk", &[("ids", id(&leads[2])), ("op", "assign_owner"), ("owner_id", &rep_id)])
            .await;
    assert_eq!(st, 403);
}

async fn case_and_opportunity_exports_carry_the_view(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let rep_id = rep.user.id.to_string();
    let acc = account(&app, &admin, "Harbour Supplies", json!({"owner_id": rep_id})).await;
    case(&app, &admin, &acc, "Urgent leak", json!({"priority": "urgent", "assignee_id": rep_id})).await;
    case(&app, &admin, &acc, "Slow pump", json!({"priority": "low"})).await;
    opportunity(&app, &admin, &acc, "Rep's refit", json!({"owner_id": rep_id, "amount": "2500.00"})).await;
    opportunity(&app, &admin, &acc, "Admin's cranes", json!({})).await;
    let cookie = session(&app, "admin@example.com").await;

    // The list links to the export of its view.
    let (_, html) = page(&app, &cookie, "/cases?priority=urgent&col=priority").await;
    assert!(html.contains("action=\"/exports/cases?priority=urgent&#38;col=priority\""), "{html}");
    let (st, csv) = page(&app, &cookie, "/cases/export.csv?priority=urgent&col=priority").await;
    assert_eq!(st, 200, "{csv}");
    assert!(csv.starts_with("id,subject,account,kind,priority,status,assignee,"), "{csv}");
    assert_eq!(csv.lines().count(), 2, "header and the urgent case: {csv}");
    assert!(csv.contains("Urgent leak") && csv.contains("rep@example.com") && !csv.contains("Slow pump"), "{csv}");
    let (_, csv) = page(&app, &cookie, "/cases/export.csv").await;
    assert_eq!(csv.lines().count(), 3, "{csv}");

    let (_, html) = page(&app, &cookie, &format!("/opportunities?owner_id={rep_id}")).await;
    assert!(html.contains(&format!("action=\"/exports/opportunities?owner_id={rep_id}\"")), "{html}");
    let (st, csv) = page(&app, &cookie, &format!("/opportunities/export.csv?owner_id={rep_id}")).await;
    assert_eq!(st, 200, "{csv}");
    assert!(csv.starts_with("id,name,account,stage,status,amount,currency,probability,"), "{csv}");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("Rep's refit") && csv.contains("2500.00") && !csv.contains("Admin's cranes"), "{csv}");
    // The board's view exports the same opportunities.
    let (_, board) = page(&app, &cookie, &format!("/opportunities/export.csv?view=board&owner_id={rep_id}")).await;
    assert_eq!(board.lines().count(), 2, "{board}");

    // A rep exports only what they may see, whatever the view.
    let rep_cookie = session(&app, "rep@example.com").await;
    let (_, csv) = page(&app, &rep_cookie, "/cases/export.csv").await;
    assert!(csv.contains("Urgent leak") && !csv.contains("Slow pump"), "{csv}");
    let (_, csv) = page(&app, &rep_cookie, "/opportunities/export.csv").await;
    assert!(csv.contains("Rep's refit") && !csv.contains("Admin's cranes"), "{csv}");
    // A bad filter is a readable refusal, not a file.
    let (st, html) = page(&app, &cookie, "/cases/export.csv?priority=extreme").await;
    assert_eq!(st, 422, "{html}");
}

both_backends!(
    the_products_list_searches_filters_chooses_columns_and_exports_the_view,
    the_contacts_list_searches_filters_by_account_and_exports_the_view,
    document_lists_sort_by_a_column_across_pages_and_keep_views,
    cases_and_opportunities_keep_saved_views_too,
    the_accounts_list_filters_chooses_columns_and_saves_views,
    bulk_actions_assign_owners_and_archive_all_or_nothing,
    case_and_opportunity_lists_choose_columns_that_survive_paging,
    saved_views_come_back_on_every_new_list,
    bulk_assignment_moves_every_ticked_record_or_none,
    case_and_opportunity_exports_carry_the_view,
);
