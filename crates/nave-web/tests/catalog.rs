//! Products, product categories and warehouses over the API and pages, on both databases.

mod support;

use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::json;
use support::{PASSWORD, TestApp, cookie_pair, json};

async fn products_keep_exact_prices_and_hide_cost_from_reps(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let (status, tools) = json(app.post("/api/v1/product-categories", &mgr, &json!({"name": "Tools"})).await).await;
    assert_eq!(status, 201, "{tools}");
    let (_, drills) =
        json(app.post("/api/v1/product-categories", &mgr, &json!({"name": "Drills", "parent_id": tools["id"]})).await)
            .await;
    assert_eq!(drills["parent_id"], tools["id"]);
    // A category cannot become its own ancestor.
    let tools_path = format!("/api/v1/product-categories/{}", tools["id"].as_str().unwrap());
    let (status, p) =
        json(app.req(Method::PATCH, &tools_path, &mgr).json(&json!({"parent_id": drills["id"]})).send().await.unwrap())
            .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "parent_id");

    let body = json!({"sku": "DR-100", "name": "Cordless drill", "category_id": drills["id"], "list_price": "129.9", "cost": "71.2500", "weight_kg": "1.85"});
    let (status, drill) = json(app.post("/api/v1/products", &mgr, &body).await).await;
    assert_eq!(status, 201, "{drill}");
    assert_eq!(drill["list_price"], "129.90");
    assert_eq!(drill["cost"], "71.25");
    assert_eq!(drill["currency"], "USD");
    assert_eq!(drill["kind"], "goods");
    assert_eq!(drill["unit"], "pc");
    assert_eq!(drill["weight_kg"], "1.85");
    let (status, _) = json(app.post("/api/v1/products", &mgr, &json!({"sku": "dr-100", "name": "Clash"})).await).await;
    assert_eq!(status, 409, "SKUs are unique regardless of case");

    // A rep reads products without cost, anywhere, and cannot create or set cost.
    let path = format!("/api/v1/products/{}", drill["id"].as_str().unwrap());
    let (_, seen) = json(app.get(&path, &rep).await).await;
    assert!(seen.get("cost").is_none(), "{seen}");
    assert_eq!(seen["list_price"], "129.90");
    let (_, list) = json(app.get("/api/v1/products", &rep).await).await;
    assert!(list["data"][0].get("cost").is_none());
    assert_eq!(app.post("/api/v1/products", &rep, &json!({"sku": "X", "name": "X"})).await.status(), 403);
    let (_, evs) = json(app.get("/api/v1/events?types=product", &mgr).await).await;
    assert_eq!(evs["data"][0]["payload"]["cost"], "71.25", "the manager's feed carries cost");
    let ro = app.user("ro@example.com", "read_only").await;
    let (_, evs) = json(app.get("/api/v1/events?types=product", &ro).await).await;
    assert!(evs["data"][0]["payload"].get("cost").is_none(), "read-only users get events without cost");

    for (bad, field) in [
        (json!({"sku": "A 1", "name": "Spaces"}), "sku"),
        (json!({"sku": "A2", "name": "Float", "list_price": 12.5}), "list_price"),
        (json!({"sku": "A3", "name": "Precise", "list_price": "1.23456"}), "list_price"),
        (json!({"sku": "A4", "name": "Negative", "list_price": "-1"}), "list_price"),
        (json!({"sku": "A5", "name": "Kind", "kind": "gadget"}), "kind"),
        (json!({"sku": "A6", "name": "Cat", "category_id": "01a209b3-6682-76e2-a05a-79ba0311227c"}), "category_id"),
        (
            json!({"sku": "A7", "name": "Tax", "tax_category_id": "01a209b3-6682-76e2-a05a-79ba0311227c"}),
            "tax_category_id",
        ),
        (json!({"name": "No SKU"}), "sku"),
    ] {
        let (status, p) = json(app.post("/api/v1/products", &mgr, &bad).await).await;
        assert_eq!(status, 422, "{bad} → {p}");
        assert_eq!(p["errors"][0]["field"], field, "{bad} → {p}");
    }

    // The page shows the cost column only to those who may see it.
    for (email, sees) in [("mgr@example.com", true), ("rep@example.com", false)] {
        let set = app.login(email, PASSWORD).await.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
        let html = app
            .client
            .get(app.url("/products"))
            .header("cookie", cookie_pair(&set))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(html.contains("71.25"), sees, "{email}");
    }

    // The CSV export has the importer's columns, and cost only for those who may see it.
    let r = app.get("/api/v1/products?format=csv", &mgr).await;
    assert_eq!(r.headers().get("content-type").unwrap(), "text/csv; charset=utf-8");
    let text = r.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "sku,name,description,kind,unit,category,currency,list_price,cost,weight_kg,barcode,notes,active,external_ids"
    );
    assert_eq!(lines.next().unwrap(), "DR-100,Cordless drill,,goods,pc,Drills,USD,129.90,71.25,1.85,,,yes,");
    let text = app.get("/api/v1/products?format=csv", &rep).await.text().await.unwrap();
    assert!(!text.lines().next().unwrap().contains("cost") && !text.contains("71.25"), "{text}");
    let (status, _) = json(app.get("/api/v1/products?format=xml", &mgr).await).await;
    assert_eq!(status, 422);

    // Archive instead of delete; archived products leave the default list.
    let (status, archived) = json(
        app.req(Method::PATCH, &path, &mgr)
            .header("if-match", "1")
            .json(&json!({"active": false}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(archived["active"], false);
    assert_eq!(archived["cost"], "71.25", "fields not named stay");
    let (_, list) = json(app.get("/api/v1/products", &mgr).await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    let (_, list) = json(app.get("/api/v1/products?active=all", &mgr).await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    // A category holding products cannot be deleted.
    let drills_path = format!("/api/v1/product-categories/{}", drills["id"].as_str().unwrap());
    let (status, p) = json(app.req(Method::DELETE, &drills_path, &mgr).send().await.unwrap()).await;
    assert_eq!(status, 409);
    assert!(p["detail"].as_str().unwrap().contains("1 product"), "{p}");
}

async fn the_warehouse_role_manages_warehouses(db: TestDb) {
    let app = TestApp::start(db).await;
    let wh = app.user("wh@example.com", "warehouse").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let (status, main) =
        json(app.post("/api/v1/warehouses", &wh, &json!({"name": "Main", "address": "1 Dock Road\nHull"})).await).await;
    assert_eq!(status, 201, "{main}");
    assert_eq!(main["allow_negative_stock"], false, "negative stock is refused by default");
    assert_eq!(app.post("/api/v1/warehouses", &wh, &json!({"name": "main"})).await.status(), 409);
    assert_eq!(app.post("/api/v1/warehouses", &rep, &json!({"name": "Mine"})).await.status(), 403);
    let path = format!("/api/v1/warehouses/{}", main["id"].as_str().unwrap());
    let (status, upd) =
        json(app.req(Method::PATCH, &path, &wh).json(&json!({"allow_negative_stock": true})).send().await.unwrap())
            .await;
    assert_eq!(status, 200);
    assert_eq!(upd["allow_negative_stock"], true);
    assert_eq!(upd["name"], "Main");
    let (_, list) = json(app.get("/api/v1/warehouses", &rep).await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let (status, _) = json(app.post("/api/v1/warehouses", &wh, &json!({"address": "no name"})).await).await;
    assert_eq!(status, 422);
}

async fn kits_list_components_and_products_list_suppliers(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let (_, drill) = json(app.post("/api/v1/products", &mgr, &json!({"sku": "D", "name": "Drill"})).await).await;
    let (_, bat) = json(app.post("/api/v1/products", &mgr, &json!({"sku": "B", "name": "Battery"})).await).await;
    let (status, kit) = json(
        app.post(
            "/api/v1/products",
            &mgr,
            &json!({"sku": "K", "name": "Kit", "kind": "kit", "components": [
                {"product_id": drill["id"], "quantity": "1"}, {"product_id": bat["id"], "quantity": "2"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{kit}");
    assert_eq!(kit["components"][1]["sku"], "B");
    assert_eq!(kit["components"][1]["quantity"], "2");
    for (bad, field) in [
        (json!({"sku": "K2", "name": "Empty kit", "kind": "kit"}), "components"),
        (
            json!({"sku": "K3", "name": "Nested", "kind": "kit", "components": [{"product_id": kit["id"], "quantity": "1"}]}),
            "components[0].product_id",
        ),
        (
            json!({"sku": "K4", "name": "Zero", "kind": "kit", "components": [{"product_id": drill["id"], "quantity": "0"}]}),
            "components[0].quantity",
        ),
        (
            json!({"sku": "G1", "name": "Goods", "components": [{"product_id": drill["id"], "quantity": "1"}]}),
            "components",
        ),
    ] {
        let (status, p) = json(app.post("/api/v1/products", &mgr, &bad).await).await;
        assert_eq!(status, 422, "{bad} → {p}");
        assert_eq!(p["errors"][0]["field"], field, "{bad} → {p}");
    }
    // Suppliers must be supplier accounts; their cost is hidden from reps.
    let (_, sup) = json(
        app.post("/api/v1/accounts", &mgr, &json!({"name": "Bolt Supply", "kinds": ["supplier"], "currency": "EUR"}))
            .await,
    )
    .await;
    let (_, cust) = json(app.post("/api/v1/accounts", &mgr, &json!({"name": "A Customer"})).await).await;
    let path = format!("/api/v1/products/{}", drill["id"].as_str().unwrap());
    let body = json!({"suppliers": [{"supplier_id": sup["id"], "supplier_code": "BS-77", "cost": "55.5", "lead_time_days": 14, "min_quantity": "5", "preferred": true}]});
    let (status, d) = json(app.req(Method::PATCH, &path, &mgr).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["suppliers"][0]["cost"], "55.50");
    assert_eq!(d["suppliers"][0]["currency"], "EUR");
    assert_eq!(d["suppliers"][0]["supplier_name"], "Bolt Supply");
    let (_, seen) = json(app.get(&path, &rep).await).await;
    assert_eq!(seen["suppliers"][0]["supplier_code"], "BS-77");
    assert!(seen["suppliers"][0].get("cost").is_none(), "{seen}");
    let bad = json!({"suppliers": [{"supplier_id": cust["id"]}]});
    let (status, p) = json(app.req(Method::PATCH, &path, &mgr).json(&bad).send().await.unwrap()).await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "suppliers[0].supplier_id");
    // A product used in a kit cannot be deleted.
    let bat_path = format!("/api/v1/products/{}", bat["id"].as_str().unwrap());
    let (status, _) = json(app.req(Method::DELETE, &bat_path, &mgr).send().await.unwrap()).await;
    assert_eq!(status, 409);
}

both_backends!(
    products_keep_exact_prices_and_hide_cost_from_reps,
    the_warehouse_role_manages_warehouses,
    kits_list_components_and_products_list_suppliers,
);
