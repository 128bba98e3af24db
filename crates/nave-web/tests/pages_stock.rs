//! The stock and warehouse pages over real HTTP, on both databases: levels
//! and movements with costs only for roles that may see them, the adjustment
//! and transfer forms (success, refusals that store nothing), warehouses with
//! a version check, and permissions.

mod support;

use nave_domain::access::BuiltinRole;
use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{Form, TestApp, TestUser, json, location};

struct Setup {
    admin: TestUser,
    main: Value,
    hub: Value,
    drill: Value,
}

/// Two warehouses and a drill; 8 drills received in Main at 12.3456, 3 of them moved to Hub.
async fn setup(app: &TestApp) -> Setup {
    let admin = app.user("admin@example.com", "admin").await;
    let (_, main) = json(app.post("/api/v1/warehouses", &admin, &json!({"name": "Main"})).await).await;
    let (_, hub) = json(app.post("/api/v1/warehouses", &admin, &json!({"name": "Hub"})).await).await;
    let (_, drill) = json(
        app.post("/api/v1/products", &admin, &json!({"sku": "DR-1", "name": "Cordless drill", "list_price": "129.90"}))
            .await,
    )
    .await;
    Setup { admin, main, hub, drill }
}

async fn receive_and_move(app: &TestApp, s: &Setup) {
    let line = json!({"product_id": s.drill["id"], "quantity": "8", "unit_cost": "12.3456"});
    let (status, body) = json(
        app.post(
            "/api/v1/stock-adjustments",
            &s.admin,
            &json!({"warehouse_id": s.main["id"], "reason": "opening balance", "lines": [line]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let line = json!({"product_id": s.drill["id"], "quantity": "3"});
    let (status, body) = json(
        app.post(
            "/api/v1/stock-transfers",
            &s.admin,
            &json!({"from_warehouse_id": s.main["id"], "to_warehouse_id": s.hub["id"], "reason": "stock the hub", "lines": [line]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

async fn on_hand(app: &TestApp, s: &Setup, wh: &Value) -> String {
    let path = format!("/api/v1/stock?product_id={}&warehouse_id={}", id(&s.drill), id(wh));
    let (_, v) = json(app.get(&path, &s.admin).await).await;
    v["data"].as_array().unwrap().first().map(|l| l["on_hand"].as_str().unwrap().to_string()).unwrap_or("0".into())
}

async fn movement_count(app: &TestApp, s: &Setup) -> usize {
    let (_, v) = json(app.get("/api/v1/stock-movements?limit=100", &s.admin).await).await;
    v["data"].as_array().unwrap().len()
}

/// The cost figures of the setup: unit cost, the value in Main (5) and Hub (3), and in all.
const COST_FIGURES: [&str; 4] = ["12.3456", "61.728", "37.0368", "98.7648"];

async fn the_stock_page_shows_levels_and_costs_only_to_roles_that_may_see_them(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    receive_and_move(&app, &s).await;
    let admin = app.session("admin@example.com").await;

    let (status, html) = app.page("/stock", &admin).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("DR-1") && html.contains("Cordless drill"));
    assert!(html.contains("<td>Main</td>") && html.contains("<td>Hub</td>"));
    assert!(html.contains("<td class=\"num\">5</td>") && html.contains("<td class=\"num\">3</td>"));
    assert!(html.contains("Average unit cost"));
    for figure in COST_FIGURES {
        assert!(html.contains(figure), "the admin sees {figure}");
    }
    assert!(html.contains("All warehouses"), "a total over the warehouses");
    assert!(html.contains("href=\"/stock\" aria-current=\"page\""), "the nav marks Stock");
    assert!(html.contains("href=\"/warehouses\""), "warehouses are reachable");

    // One warehouse: its rows, no total.
    let (_, html) = app.page(&format!("/stock?warehouse={}", id(&s.hub)), &admin).await;
    assert!(html.contains("<td>Hub</td>") && !html.contains("<td>Main</td>"));
    assert!(!html.contains("All warehouses"));
    // Product by part of its name or by SKU; no match.
    let (_, html) = app.page("/stock?product=cordless", &admin).await;
    assert!(html.contains("DR-1"));
    let (_, html) = app.page("/stock?product=dr-1", &admin).await;
    assert!(html.contains("Cordless drill"));
    let (_, html) = app.page("/stock?product=saw", &admin).await;
    assert!(html.contains("No stock matches") && !html.contains("DR-1</code>"));
    // As of a day: before anything happened, today; a bad date is a readable error.
    let (_, html) = app.page("/stock?as_of=2000-01-01", &admin).await;
    assert!(html.contains("No stock matches"));
    let today = nave_store::db::now().date().to_string();
    let (_, html) = app.page(&format!("/stock?as_of={today}"), &admin).await;
    assert!(html.contains("<td>Hub</td>") && html.contains("98.7648"));
    let (status, html) = app.page("/stock?as_of=31%2F12%2F2026", &admin).await;
    assert_eq!(status, 200);
    assert!(html.contains("is not a date") && html.contains("role=\"alert\""), "{html}");

    // Roles without the cost right see quantities but no cost anywhere.
    for role in ["warehouse", "sales_rep", "read_only"] {
        let email = format!("{role}@example.com");
        app.user(&email, role).await;
        let cookie = app.session(&email).await;
        let (status, html) = app.page("/stock", &cookie).await;
        assert_eq!(status, 200, "{role}");
        assert!(html.contains("DR-1") && html.contains("<td class=\"num\">5</td>"), "{role} sees the levels");
        assert!(!html.contains("Average unit cost") && !html.contains("<th class=\"num\">Value</th>"), "{role}");
        for figure in COST_FIGURES {
            assert!(!html.contains(figure), "{role} sees the cost figure {figure}");
        }
    }
}

async fn the_movements_page_pages_newest_first_and_hides_costs(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let lines: Vec<Value> = (1..=51)
        .map(|q| json!({"product_id": s.drill["id"], "quantity": q.to_string(), "unit_cost": "7.7777"}))
        .collect();
    let (status, doc) = json(
        app.post(
            "/api/v1/stock-adjustments",
            &s.admin,
            &json!({"warehouse_id": s.main["id"], "reason": "big count", "lines": lines}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{doc}");
    let admin = app.session("admin@example.com").await;
    let (status, first) = app.page("/stock/movements", &admin).await;
    assert_eq!(status, 200);
    assert!(first.contains("<td class=\"num\">51</td>"), "the newest first");
    assert!(!first.contains("<td class=\"num\">1</td>"), "the oldest is on the next page");
    assert!(first.contains("big count"));
    assert!(first.contains(&format!("href=\"/stock/adjustments/{}\"", id(&doc))), "the source document");
    assert!(first.contains("7.7777"), "the admin sees unit costs");
    let next = first.split("href=\"/stock/movements?after=").nth(1).expect("a Next link").split('"').next().unwrap();
    let (_, second) = app.page(&format!("/stock/movements?after={}", next.replace("&amp;", "&")), &admin).await;
    assert!(second.contains("<td class=\"num\">1</td>") && !second.contains("<td class=\"num\">51</td>"));
    assert!(!second.contains("movements?after="), "no page after the last");

    // Filters: a warehouse without movements, an unknown SKU.
    let (_, html) = app.page(&format!("/stock/movements?warehouse={}", id(&s.hub)), &admin).await;
    assert!(html.contains("No movements match"));
    let (status, html) = app.page("/stock/movements?product=NOPE", &admin).await;
    assert_eq!(status, 200);
    assert!(html.contains("No product has the SKU") && html.contains("role=\"alert\""));

    // A clerk sees the movements and the document, never their costs.
    app.user("clerk@example.com", "warehouse").await;
    let clerk = app.session("clerk@example.com").await;
    for path in ["/stock/movements".to_string(), format!("/stock/adjustments/{}", id(&doc))] {
        let (status, html) = app.page(&path, &clerk).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains("DR-1"), "{path}");
        assert!(!html.contains("7.7777") && !html.contains("396.6627"), "{path} shows a cost to the clerk");
        assert!(!html.contains("Unit cost"), "{path} shows the cost column to the clerk");
    }
    let (_, html) = app.page(&format!("/stock/adjustments/{}", id(&doc)), &admin).await;
    assert!(html.contains("7.7777") && html.contains("396.6627"), "51 × 7.7777 for the admin");
}

async fn the_adjustment_form_posts_a_document_and_bad_lines_store_nothing(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    app.user("clerk@example.com", "warehouse").await;
    let clerk = app.session("clerk@example.com").await;
    let admin = app.session("admin@example.com").await;
    let main = id(&s.main);

    let (status, html) = app.page("/stock/adjustments/new", &clerk).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"lines[0].sku\"") && html.contains("for=\"lines-0-sku\""));
    assert!(!html.contains("unit_cost"), "a clerk may not set costs");
    let (_, html) = app.page("/stock/adjustments/new", &admin).await;
    assert!(html.contains("name=\"lines[0].unit_cost\""), "the admin may");

    // Success: blank rows are skipped, SKUs are case-insensitive, quantities signed.
    let r = app
        .submit(
            "/stock/adjustments",
            &clerk,
            &[
                ("warehouse_id", main),
                ("reason", "inventory count"),
                ("lines[0].sku", "DR-1"),
                ("lines[0].quantity", "4"),
                ("lines[1].sku", ""),
                ("lines[1].quantity", ""),
                ("lines[2].sku", "dr-1"),
                ("lines[2].quantity", "-1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let doc = location(&r);
    assert!(doc.starts_with("/stock/adjustments/"), "{doc}");
    let (status, html) = app.page(&doc, &clerk).await;
    assert_eq!(status, 200);
    assert!(html.contains("inventory count") && html.contains("Main"));
    assert!(html.contains("<td class=\"num\">4</td>") && html.contains("<td class=\"num\">-1</td>"));
    assert_eq!(on_hand(&app, &s, &s.main).await, "3");
    let api_path = format!("/api/v1/stock-adjustments/{}", doc.rsplit('/').next().unwrap());
    let (_, api_doc) = json(app.get(&api_path, &s.admin).await).await;
    assert_eq!(api_doc["lines"].as_array().unwrap().len(), 2, "{api_doc}");

    // Refusals: each message next to its line, nothing stored.
    let before = (movement_count(&app, &s).await, app.log_counts().await);
    let bad: [(Form, &[&str]); 5] = [
        (
            &[
                ("warehouse_id", main),
                ("reason", "count"),
                ("lines[0].sku", "NOPE"),
                ("lines[0].quantity", "1"),
                ("lines[1].sku", "DR-1"),
                ("lines[1].quantity", "1.23456"),
                ("lines[2].sku", "DR-1"),
                ("lines[2].quantity", "abc"),
            ],
            &[
                "no product has the SKU NOPE",
                "at most 4 decimal places",
                "must be a decimal number",
                "id=\"lines-1-quantity-err\"",
            ],
        ),
        (
            &[("warehouse_id", main), ("reason", "breakage"), ("lines[0].sku", "DR-1"), ("lines[0].quantity", "-100")],
            &["not enough DR-1 in Main", "only 3 on hand, 100 asked", "id=\"lines-0-quantity-err\""],
        ),
        (
            &[("warehouse_id", ""), ("reason", "count"), ("lines[0].sku", "DR-1"), ("lines[0].quantity", "1")],
            &["choose a warehouse", "id=\"warehouse_id-err\""],
        ),
        (&[("warehouse_id", main), ("reason", "count")], &["must list 1 to 500 lines"]),
        (
            &[
                ("warehouse_id", main),
                ("reason", "count"),
                ("lines[0].sku", "DR-1"),
                ("lines[0].quantity", "1"),
                ("lines[0].unit_cost", "2"),
            ],
            &["may not set unit costs"],
        ),
    ];
    for (fields, expected) in bad {
        let r = app.submit("/stock/adjustments", &clerk, fields).await;
        assert_eq!(r.status(), 422, "{fields:?}");
        let html = r.text().await.unwrap();
        assert!(html.contains("aria-invalid=\"true\"") || html.contains("role=\"alert\""), "{html}");
        for e in expected {
            assert!(html.contains(e), "{fields:?}: {e} in {html}");
        }
        assert!(html.contains("name=\"reason\""), "the form is shown again");
    }
    assert_eq!((movement_count(&app, &s).await, app.log_counts().await), before, "nothing stored");
    assert_eq!(on_hand(&app, &s, &s.main).await, "3");

    // The admin may give the cost of incoming stock.
    let r = app
        .submit(
            "/stock/adjustments",
            &admin,
            &[
                ("warehouse_id", main),
                ("reason", "purchase"),
                ("lines[0].sku", "DR-1"),
                ("lines[0].quantity", "2"),
                ("lines[0].unit_cost", "3.5"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = app.page(&location(&r), &admin).await;
    assert!(html.contains("3.50") && html.contains("7.00"), "{html}");
}

async fn the_transfer_form_moves_stock_and_refuses_what_is_not_there(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    receive_and_move(&app, &s).await;
    app.user("clerk@example.com", "warehouse").await;
    let clerk = app.session("clerk@example.com").await;
    let (main, hub) = (id(&s.main), id(&s.hub));

    let (status, html) = app.page("/stock/transfers/new", &clerk).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"from_warehouse_id\"") && html.contains("name=\"to_warehouse_id\""));
    let r = app
        .submit(
            "/stock/transfers",
            &clerk,
            &[
                ("from_warehouse_id", main),
                ("to_warehouse_id", hub),
                ("reason", "refill"),
                ("lines[0].sku", "DR-1"),
                ("lines[0].quantity", "2"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let doc = location(&r);
    assert!(doc.starts_with("/stock/transfers/"), "{doc}");
    let (status, html) = app.page(&doc, &clerk).await;
    assert_eq!(status, 200);
    assert!(html.contains("From warehouse") && html.contains("refill"));
    assert!(html.contains("<td class=\"num\">-2</td>") && html.contains("<td class=\"num\">2</td>"));
    assert_eq!((on_hand(&app, &s, &s.main).await, on_hand(&app, &s, &s.hub).await), ("3".into(), "5".into()));

    let before = (movement_count(&app, &s).await, app.log_counts().await);
    let bad: [(Form, &str); 3] = [
        (
            &[
                ("from_warehouse_id", main),
                ("to_warehouse_id", main),
                ("reason", "x"),
                ("lines[0].sku", "DR-1"),
                ("lines[0].quantity", "1"),
            ],
            "must differ from from_warehouse_id",
        ),
        (
            &[
                ("from_warehouse_id", main),
                ("to_warehouse_id", hub),
                ("reason", "x"),
                ("lines[0].sku", "DR-1"),
                ("lines[0].quantity", "4"),
            ],
            "only 3 on hand, 4 asked",
        ),
        (
            &[
                ("from_warehouse_id", main),
                ("to_warehouse_id", hub),
                ("reason", "x"),
                ("lines[0].sku", "DR-1"),
                ("lines[0].quantity", "-1"),
            ],
            "must be above 0",
        ),
    ];
    for (fields, expected) in bad {
        let r = app.submit("/stock/transfers", &clerk, fields).await;
        assert_eq!(r.status(), 422, "{fields:?}");
        let html = r.text().await.unwrap();
        assert!(html.contains(expected), "{expected} in {html}");
    }
    assert_eq!((movement_count(&app, &s).await, app.log_counts().await), before, "nothing stored");
}

async fn warehouses_are_created_and_edited_with_a_version_check(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    app.user("clerk@example.com", "warehouse").await;
    let clerk = app.session("clerk@example.com").await;

    let (status, html) = app.page("/warehouses", &clerk).await;
    assert_eq!(status, 200);
    assert!(html.contains("Main") && html.contains("href=\"/warehouses/new\""));
    let (status, html) = app.page("/warehouses/new", &clerk).await;
    assert_eq!(status, 200);
    assert!(html.contains("for=\"name\"") && html.contains("name=\"allow_negative_stock\""));

    let r = app
        .submit(
            "/warehouses",
            &clerk,
            &[
                ("name", "North"),
                ("address", "1 Quay\nPort Town"),
                ("allow_negative_stock", "true"),
                ("active", "true"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/warehouses");
    let (_, list) = json(app.get("/api/v1/warehouses", &s.admin).await).await;
    let north = list["data"].as_array().unwrap().iter().find(|w| w["name"] == "North").expect("stored").clone();
    assert_eq!(north["allow_negative_stock"], true);
    assert_eq!(north["address"], "1 Quay\nPort Town");

    let before = app.log_counts().await;
    let r = app.submit("/warehouses", &clerk, &[("name", "  "), ("active", "true")]).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"name-err\"") && html.contains("aria-invalid=\"true\""), "{html}");
    let r = app.submit("/warehouses", &clerk, &[("name", "main"), ("active", "true")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("already exists"));
    assert_eq!(app.log_counts().await, before, "nothing stored");

    let edit = format!("/warehouses/{}", id(&north));
    let (status, html) = app.page(&format!("{edit}/edit"), &clerk).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"version\" value=\"1\"") && html.contains("value=\"North\""));
    // Saved at version 1; unticked boxes turn the settings off.
    let r = app.submit(&edit, &clerk, &[("version", "1"), ("name", "North Quay"), ("address", "1 Quay")]).await;
    assert_eq!(r.status(), 303);
    let (_, w) = json(app.get(&format!("/api/v1{edit}"), &s.admin).await).await;
    assert_eq!(
        (w["name"].as_str(), w["version"].as_i64(), w["active"].as_bool()),
        (Some("North Quay"), Some(2), Some(false))
    );
    // A second save of the same stale form is refused and changes nothing.
    let r = app.submit(&edit, &clerk, &[("version", "1"), ("name", "Stale"), ("active", "true")]).await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(html.contains("Someone else changed this record") && html.contains("value=\"Stale\""), "{html}");
    let (_, w) = json(app.get(&format!("/api/v1{edit}"), &s.admin).await).await;
    assert_eq!(w["name"], "North Quay");
    assert_eq!(app.page("/warehouses/not-an-id/edit", &clerk).await.0, 404);
}

async fn roles_without_the_right_are_refused(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    receive_and_move(&app, &s).await;
    app.user("rep@example.com", "sales_rep").await;
    let rep = app.session("rep@example.com").await;
    let edit = format!("/warehouses/{}/edit", id(&s.main));
    for path in ["/stock/adjustments/new", "/stock/transfers/new", "/warehouses/new", edit.as_str()] {
        let (status, html) = app.page(path, &rep).await;
        assert_eq!(status, 403, "{path}");
        assert!(html.contains("your role may not"), "{path}");
    }
    let (_, html) = app.page("/stock", &rep).await;
    assert!(!html.contains("New adjustment") && !html.contains("New transfer"));
    let (_, html) = app.page("/warehouses", &rep).await;
    assert!(!html.contains("/warehouses/new") && !html.contains("/edit"));
    let before = app.log_counts().await;
    let main = id(&s.main);
    let posts: [(&str, Vec<(&str, &str)>); 4] = [
        (
            "/stock/adjustments",
            vec![("warehouse_id", main), ("reason", "x"), ("lines[0].sku", "DR-1"), ("lines[0].quantity", "1")],
        ),
        (
            "/stock/transfers",
            vec![
                ("from_warehouse_id", main),
                ("to_warehouse_id", id(&s.hub)),
                ("reason", "x"),
                ("lines[0].sku", "DR-1"),
                ("lines[0].quantity", "1"),
            ],
        ),
        ("/warehouses", vec![("name", "Rogue")]),
        (&edit[..edit.len() - "/edit".len()], vec![("version", "1"), ("name", "Rogue")]),
    ];
    for (path, fields) in posts {
        assert_eq!(app.submit(path, &rep, &fields).await.status(), 403, "{path}");
    }
    assert_eq!(app.log_counts().await, before, "nothing stored");

    // A custom role without stock rights reads none of it; no session means the login.
    let perms = json!([{"record_type": "account", "action": "read", "scope": "all"}]);
    let (status, _) =
        json(app.post("/api/v1/roles", &s.admin, &json!({"name": "accounts_only", "permissions": perms})).await).await;
    assert_eq!(status, 201);
    app.user("ao@example.com", "accounts_only").await;
    let ao = app.session("ao@example.com").await;
    for path in ["/stock", "/stock/movements", "/warehouses"] {
        assert_eq!(app.page(path, &ao).await.0, 403, "{path}");
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 303, "{path}");
        assert!(location(&r).starts_with("/login?next="), "{path}");
    }
}

async fn every_stock_page_renders_for_every_role_without_leaking_costs(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    receive_and_move(&app, &s).await;
    let (_, moves) = json(app.get("/api/v1/stock-movements", &s.admin).await).await;
    let doc = moves["data"][0]["document_id"].as_str().unwrap().to_string();
    let doc_path = format!("/stock/adjustments/{doc}");
    for &role in BuiltinRole::ALL {
        let email = format!("{}.user@example.com", role.as_str());
        app.user(&email, role.as_str()).await;
        let cookie = app.session(&email).await;
        let sees = matches!(role, BuiltinRole::Admin | BuiltinRole::SalesManager | BuiltinRole::Accounting);
        for path in [
            "/stock",
            "/stock/movements",
            "/warehouses",
            "/stock/adjustments/new",
            "/stock/transfers/new",
            doc_path.as_str(),
        ] {
            let (status, html) = app.page(path, &cookie).await;
            assert!(status < 500, "{role} {path}: {status}");
            assert!(html.contains("</html>"), "{role} {path}");
            if !sees {
                for figure in COST_FIGURES {
                    assert!(!html.contains(figure), "{role} {path} shows {figure}");
                }
            }
        }
    }
}

both_backends!(
    the_stock_page_shows_levels_and_costs_only_to_roles_that_may_see_them,
    the_movements_page_pages_newest_first_and_hides_costs,
    the_adjustment_form_posts_a_document_and_bad_lines_store_nothing,
    the_transfer_form_moves_stock_and_refuses_what_is_not_there,
    warehouses_are_created_and_edited_with_a_version_check,
    roles_without_the_right_are_refused,
    every_stock_page_renders_for_every_role_without_leaking_costs,
);
