//! Product pictures, external ids and the product pages, over real HTTP on both databases.

mod support;

use std::io::Cursor;

use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::json;
use support::{TestApp, TestUser, form, json};

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 120]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn stored_files(app: &TestApp) -> i64 {
    let mut tx = app.db.db.read().await.unwrap();
    tx.scalar_i64("SELECT COUNT(*) AS v FROM stored_files", vec![]).await.unwrap()
}

async fn new_product(app: &TestApp, who: &TestUser, sku: &str) -> String {
    let (status, p) =
        json(app.post("/api/v1/products", who, &json!({"sku": sku, "name": sku, "cost": "4.10"})).await).await;
    assert_eq!(status, 201, "{p}");
    p["id"].as_str().unwrap().to_string()
}

async fn pictures_are_checked_stored_and_served_with_thumbnails(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let id = new_product(&app, &mgr, "LAMP-1").await;
    let path = format!("/api/v1/products/{id}/picture");
    let bytes = png(640, 320);

    let (status, p) = json(
        app.req(Method::PUT, &path, &mgr).header("content-type", "image/png").body(bytes.clone()).send().await.unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["picture"]["width"], 640);
    assert_eq!(p["picture"]["height"], 320);
    assert_eq!(p["picture"]["content_type"], "image/png");
    assert_eq!(p["picture"]["url"], path);
    assert_eq!(p["version"], 2, "a new picture is a new version of the product");

    // Anyone who reads products gets the picture, byte for byte, with an ETag.
    let r = app.get(&path, &rep).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(r.bytes().await.unwrap().to_vec(), bytes);
    let again = app.req(Method::GET, &path, &rep).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    let thumb = app.get(&format!("{path}?size=thumbnail"), &rep).await;
    assert_eq!(thumb.headers()["content-type"], "image/png");
    let t = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
    assert_eq!((t.width(), t.height()), (160, 80));
    assert_eq!(app.get(&format!("{path}?size=huge"), &rep).await.status(), 422);

    // Who may not edit products may not change the picture.
    let r = app.req(Method::PUT, &path, &rep).body(png(10, 10)).send().await.unwrap();
    assert_eq!(r.status(), 403);

    // What is not a supported, whole image is refused, and nothing changes.
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec();
    let (status, problem) = json(app.req(Method::PUT, &path, &mgr).body(svg).send().await.unwrap()).await;
    assert_eq!(status, 415, "{problem}");
    let mut broken = png(64, 64);
    broken.truncate(80);
    let (status, problem) = json(app.req(Method::PUT, &path, &mgr).body(broken).send().await.unwrap()).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "picture");
    let (status, _) =
        json(app.req(Method::PUT, &path, &mgr).body(vec![0u8; 8 * 1024 * 1024 + 1]).send().await.unwrap()).await;
    assert_eq!(status, 413);
    let (status, _) = json(app.req(Method::PUT, &path, &mgr).body(Vec::new()).send().await.unwrap()).await;
    assert_eq!(status, 422);
    let (status, _) =
        json(app.req(Method::PUT, &path, &mgr).header("if-match", "1").body(png(8, 8)).send().await.unwrap()).await;
    assert_eq!(status, 412, "a stale version is refused");
    let (_, now) = json(app.get(&format!("/api/v1/products/{id}"), &mgr).await).await;
    assert_eq!(now["version"], 2);
    assert_eq!(now["picture"]["width"], 640);
    assert_eq!(stored_files(&app).await, 2, "the picture and its thumbnail");

    // Replacing keeps no old files; removing leaves none.
    let (status, p) = json(app.req(Method::PUT, &path, &mgr).body(png(100, 200)).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(p["picture"]["height"], 200);
    assert_eq!(stored_files(&app).await, 2);
    let (status, _) = json(app.req(Method::DELETE, &path, &mgr).send().await.unwrap()).await;
    assert_eq!(status, 204);
    assert_eq!(app.get(&path, &rep).await.status(), 404);
    assert_eq!(stored_files(&app).await, 0);
    let (_, log) = json(app.get(&format!("/api/v1/audit-log?record_id={id}"), &mgr).await).await;
    let changed: Vec<_> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "updated" && e["changes"].get("picture").is_some())
        .collect();
    assert_eq!(changed.len(), 3, "setting, replacing and removing are audited: {log}");

    // A product with a picture can be deleted, and takes its files along.
    let (status, _) = json(app.req(Method::PUT, &path, &mgr).body(png(20, 20)).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let (status, _) =
        json(app.req(Method::DELETE, &format!("/api/v1/products/{id}"), &mgr).send().await.unwrap()).await;
    assert_eq!(status, 204);
    assert_eq!(stored_files(&app).await, 0);
}

async fn external_ids_are_unique_per_system_and_find_their_product(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let body = json!({"sku": "MUG-1", "name": "Mug", "external_ids": [{"system": "Shopify", "id": "8301"}, {"system": "erp", "id": "A-17"}]});
    let (status, mug) = json(app.post("/api/v1/products", &mgr, &body).await).await;
    assert_eq!(status, 201, "{mug}");
    assert_eq!(mug["external_ids"], json!([{"system": "erp", "id": "A-17"}, {"system": "shopify", "id": "8301"}]));

    // The same id in the same system belongs to one product only; in another system it is free.
    let taken = json!({"sku": "MUG-2", "name": "Mug 2", "external_ids": [{"system": "shopify", "id": "8301"}]});
    let (status, problem) = json(app.post("/api/v1/products", &mgr, &taken).await).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("shopify id shopify:8301"), "{problem}");
    let (_, list) = json(app.get("/api/v1/products", &mgr).await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "nothing half-written");
    let other = json!({"sku": "MUG-2", "name": "Mug 2", "external_ids": [{"system": "woo", "id": "8301"}]});
    assert_eq!(app.post("/api/v1/products", &mgr, &other).await.status(), 201);
    for (bad, field) in [
        (json!([{"system": "a b", "id": "1"}]), "external_ids[0].system"),
        (json!([{"system": "x", "id": ""}]), "external_ids[0].id"),
        (json!([{"system": "x", "id": "1"}, {"system": "X", "id": "2"}]), "external_ids[1].system"),
    ] {
        let (status, p) =
            json(app.post("/api/v1/products", &mgr, &json!({"sku": "BAD", "name": "Bad", "external_ids": bad})).await)
                .await;
        assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some(field)), "{p}");
    }

    let (_, found) = json(app.get("/api/v1/products?external_id=shopify:8301", &mgr).await).await;
    assert_eq!(found["data"].as_array().unwrap().len(), 1);
    assert_eq!(found["data"][0]["sku"], "MUG-1");
    let (_, none) = json(app.get("/api/v1/products?external_id=shopify:9999", &mgr).await).await;
    assert!(none["data"].as_array().unwrap().is_empty());
    assert_eq!(app.get("/api/v1/products?external_id=nocolon", &mgr).await.status(), 422);

    // The CSV export carries them in the importer's form.
    let csv = app.get("/api/v1/products?format=csv", &mgr).await.text().await.unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",external_ids"), "{csv}");
    assert!(csv.contains("erp:A-17; shopify:8301"), "{csv}");

    // A patch without them keeps them; an empty list clears them.
    let path = format!("/api/v1/products/{}", mug["id"].as_str().unwrap());
    let (_, kept) =
        json(app.req(Method::PATCH, &path, &mgr).json(&json!({"name": "Big mug"})).send().await.unwrap()).await;
    assert_eq!(kept["external_ids"].as_array().unwrap().len(), 2);
    let (_, cleared) =
        json(app.req(Method::PATCH, &path, &mgr).json(&json!({"external_ids": []})).send().await.unwrap()).await;
    assert_eq!(cleared["external_ids"], json!([]));
}

async fn the_product_form_creates_edits_and_refuses_bad_input(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let cookie = app.session("mgr@example.com").await;
    let (status, html) = app.page("/products/new", &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"cost\""), "managers see the cost field");

    let mut fields = vec![
        ("sku", "CH-1"),
        ("name", "Oak chair"),
        ("kind", "goods"),
        ("unit", "pc"),
        ("currency", "USD"),
        ("list_price", "1.23456"),
        ("cost", "40"),
        ("external_ids", "webshop:77\nbroken line"),
        ("active", "1"),
    ];
    let (status, _, html) = form(&app, &cookie, "/products", &fields).await;
    assert_eq!(status, 422);
    assert!(html.contains("must be system:id"), "the bad external id line is named");
    fields[7] = ("external_ids", "webshop:77");
    let (status, _, html) = form(&app, &cookie, "/products", &fields).await;
    assert_eq!(status, 422);
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"list_price-err\""), "the price is marked");
    assert!(html.contains("value=\"Oak chair\""), "what was typed is kept");
    let (_, list) = json(app.get("/api/v1/products", &mgr).await).await;
    assert!(list["data"].as_array().unwrap().is_empty(), "nothing was stored");

    fields[5] = ("list_price", "149.5");
    let (status, location, _) = form(&app, &cookie, "/products", &fields).await;
    assert_eq!(status, 303);
    let id = location.strip_prefix("/products/").unwrap().to_string();
    let (_, chair) = json(app.get(&format!("/api/v1/products/{id}"), &mgr).await).await;
    assert_eq!(chair["list_price"], "149.50");
    assert_eq!(chair["cost"], "40.00");
    assert_eq!(chair["external_ids"], json!([{"system": "webshop", "id": "77"}]));
    let (status, html) = app.page(&location, &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("webshop:77") && html.contains("$149.50"));

    // A kit from the form, with a component row that names an unknown SKU first.
    let kit = [
        ("sku", "SET-1"),
        ("name", "Chair set"),
        ("kind", "kit"),
        ("unit", "set"),
        ("currency", "USD"),
        ("list_price", "500"),
        ("component_sku", "CH-1"),
        ("component_quantity", "4"),
        ("component_sku", "NOPE"),
        ("component_quantity", "1"),
        ("active", "1"),
    ];
    let (status, _, html) = form(&app, &cookie, "/products", &kit).await;
    assert_eq!(status, 422);
    assert!(html.contains("Row 2, sku: is not the SKU of a product"), "{html}");
    let mut good_kit = kit[..8].to_vec();
    good_kit.push(("active", "1"));
    let (status, location, _) = form(&app, &cookie, "/products", &good_kit).await;
    assert_eq!(status, 303, "{location}");
    let (_, set) = json(app.get(&format!("/api/v1{location}"), &mgr).await).await;
    assert_eq!(set["components"][0]["quantity"], "4");

    // Editing with the version the form was opened at; a stale form is refused.
    let edit = [
        ("version", "1"),
        ("sku", "CH-1"),
        ("name", "Oak chair, natural"),
        ("kind", "goods"),
        ("unit", "pc"),
        ("currency", "USD"),
        ("list_price", "149.50"),
        ("cost", "41"),
        ("active", "1"),
    ];
    let (status, _, _) = form(&app, &cookie, &format!("/products/{id}"), &edit).await;
    assert_eq!(status, 303);
    let (status, _, html) = form(&app, &cookie, &format!("/products/{id}"), &edit).await;
    assert_eq!(status, 409, "a stale form is a conflict, like on every page");
    assert!(html.contains("Someone else changed this record"), "{html}");
    let (_, chair) = json(app.get(&format!("/api/v1/products/{id}"), &mgr).await).await;
    assert_eq!((chair["name"].as_str(), chair["cost"].as_str()), (Some("Oak chair, natural"), Some("41.00")));
    assert!(chair["external_ids"].as_array().unwrap().is_empty(), "the form's external ids replace the list");
}

async fn a_role_without_cost_edits_products_without_seeing_or_losing_cost(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let perms = json!([{"record_type": "product", "action": "read", "scope": "all"}, {"record_type": "product", "action": "update", "scope": "all"}]);
    let (status, role) =
        json(app.post("/api/v1/roles", &admin, &json!({"name": "catalog_clerk", "permissions": perms})).await).await;
    assert_eq!(status, 201, "{role}");
    app.user("clerk@example.com", "catalog_clerk").await;
    let id = new_product(&app, &admin, "DESK-1").await;
    let cookie = app.session("clerk@example.com").await;
    let (status, html) = app.page(&format!("/products/{id}/edit"), &cookie).await;
    assert_eq!(status, 200);
    assert!(!html.contains("name=\"cost\"") && !html.contains("4.10"), "no cost anywhere on the form");
    let (_, html) = app.page(&format!("/products/{id}"), &cookie).await;
    assert!(!html.contains("4.10"), "no cost on the product page");
    let (_, html) = app.page("/products", &cookie).await;
    assert!(!html.contains("4.10"), "no cost in the list");
    let edit = [
        ("version", "1"),
        ("sku", "DESK-1"),
        ("name", "Standing desk"),
        ("kind", "goods"),
        ("unit", "pc"),
        ("currency", "USD"),
        ("list_price", "300"),
        ("cost", "0"),
        ("active", "1"),
    ];
    let (status, _, _) = form(&app, &cookie, &format!("/products/{id}"), &edit).await;
    assert_eq!(status, 303);
    let (_, desk) = json(app.get(&format!("/api/v1/products/{id}"), &admin).await).await;
    assert_eq!(desk["name"], "Standing desk");
    assert_eq!(desk["cost"], "4.10", "a cost field sent by a role that may not see it is ignored");
    // No create permission: the new-product form is refused.
    assert_eq!(app.page("/products/new", &cookie).await.0, 403);
}

fn multipart(boundary: &str, name: &str, filename: &str, content_type: &str, data: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

async fn pictures_upload_from_the_product_page_and_show_as_thumbnails(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let id = new_product(&app, &mgr, "VASE-1").await;
    let cookie = app.session("mgr@example.com").await;
    let upload = |data: Vec<u8>, ct: &'static str| {
        let boundary = "nave-test-boundary";
        app.client
            .post(app.url(&format!("/products/{id}/picture")))
            .header("cookie", &cookie)
            .header("origin", format!("http://{}", app.addr))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(multipart(boundary, "picture", "vase.bin", ct, &data))
            .send()
    };
    let mut broken = png(40, 40);
    broken.truncate(70);
    let r = upload(broken, "image/png").await.unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("The picture could not be read as a PNG image; the file may be damaged."), "{html}");
    let r = upload(b"plain text".to_vec(), "text/plain").await.unwrap();
    assert_eq!(r.status(), 415);
    assert!(r.text().await.unwrap().contains("a picture must be a PNG, JPEG, WebP or GIF image"));
    assert_eq!(stored_files(&app).await, 0);

    // Larger than a JSON body may be, smaller than the picture limit.
    let big = {
        let noise = |x: u32, y: u32, k: u32| {
            ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503).wrapping_add(k)).wrapping_mul(2_246_822_519) >> 24)
                as u8
        };
        let img =
            image::RgbImage::from_fn(1400, 1000, |x, y| image::Rgb([noise(x, y, 1), noise(x, y, 2), noise(x, y, 3)]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    assert!(big.len() > 2 * 1024 * 1024, "{}", big.len());
    let r = upload(big.clone(), "image/png").await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/products/{id}"));
    let (_, html) = app.page("/products", &cookie).await;
    assert!(html.contains(&format!("/products/{id}/picture?size=thumbnail")), "the list shows the thumbnail");
    let (_, html) = app.page(&format!("/products/{id}"), &cookie).await;
    assert!(html.contains("1400 × 1000 px"));
    let img =
        app.client.get(app.url(&format!("/products/{id}/picture"))).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(img.status(), 200);
    assert_eq!(img.bytes().await.unwrap().len(), big.len());
    let anon = app.client.get(app.url(&format!("/products/{id}/picture"))).send().await.unwrap();
    assert_eq!(anon.status(), 303, "pictures need a session");

    let (status, _, _) = form(&app, &cookie, &format!("/products/{id}/picture/delete"), &[]).await;
    assert_eq!(status, 303);
    assert_eq!(stored_files(&app).await, 0);
}

both_backends!(
    pictures_are_checked_stored_and_served_with_thumbnails,
    external_ids_are_unique_per_system_and_find_their_product,
    the_product_form_creates_edits_and_refuses_bad_input,
    a_role_without_cost_edits_products_without_seeing_or_losing_cost,
    pictures_upload_from_the_product_page_and_show_as_thumbnails,
);
