//! Documents attached to records, over real HTTP on both databases: who may
//! see and change them follows the record.

mod support;

use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::json;
use support::{TestApp, TestUser, json};

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

async fn stored_files(app: &TestApp) -> i64 {
    let mut tx = app.db.db.read().await.unwrap();
    tx.scalar_i64("SELECT COUNT(*) AS v FROM stored_files", vec![]).await.unwrap()
}

async fn attach(app: &TestApp, who: &TestUser, query: &str, body: &[u8]) -> (u16, serde_json::Value) {
    json(app.req(Method::POST, &format!("/api/v1/attachments?{query}"), who).body(body.to_vec()).send().await.unwrap())
        .await
}

async fn attachments_follow_the_record_they_hang_from(db: TestDb) {
    let app = TestApp::start(db).await;
    let ann = app.user("ann@example.com", "sales_rep").await;
    let bob = app.user("bob@example.com", "sales_rep").await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let ro = app.user("ro@example.com", "read_only").await;
    let (status, acme) = json(
        app.post("/api/v1/accounts", &ann, &json!({"name": "Acme", "kinds": ["customer"], "currency": "USD"})).await,
    )
    .await;
    assert_eq!(status, 201, "{acme}");
    let acme_id = acme["id"].as_str().unwrap();
    let q = format!("record_type=account&record_id={acme_id}&filename=Rahmenvertrag%202026.pdf&description=signed");

    let (status, a) = attach(&app, &ann, &q, PDF).await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["filename"], "Rahmenvertrag 2026.pdf");
    assert_eq!(a["content_type"], "application/pdf");
    assert_eq!(a["byte_size"], PDF.len());
    assert_eq!(a["record_type"], "account");
    assert_eq!(a["uploaded_by"], "ann");
    let id = a["id"].as_str().unwrap();

    // The owner and the manager read it; another rep does not learn it exists.
    let list_path = format!("/api/v1/attachments?record_type=account&record_id={acme_id}");
    for who in [&ann, &mgr, &ro] {
        let (status, list) = json(app.get(&list_path, who).await).await;
        assert_eq!(status, 200);
        assert_eq!(list["data"].as_array().unwrap().len(), 1);
    }
    let (status, _) = json(app.get(&list_path, &bob).await).await;
    assert_eq!(status, 422, "bob may not see Acme, so it is not a record he can name");
    assert_eq!(app.get(&format!("/api/v1/attachments/{id}"), &bob).await.status(), 404);
    assert_eq!(app.get(&format!("/api/v1/attachments/{id}/content"), &bob).await.status(), 404);
    let (status, _) = attach(&app, &bob, &q, PDF).await;
    assert_eq!(status, 422);

    let r = app.get(&format!("/api/v1/attachments/{id}/content"), &mgr).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let disposition = r.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.starts_with("attachment; filename=\"Rahmenvertrag 2026.pdf\""), "{disposition}");
    assert!(disposition.contains("filename*=UTF-8''Rahmenvertrag%202026.pdf"), "{disposition}");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF);

    // Read-only users may read the account but not change its documents.
    let (status, _) =
        json(app.req(Method::DELETE, &format!("/api/v1/attachments/{id}"), &ro).send().await.unwrap()).await;
    assert_eq!(status, 403);

    // Bad files and names are refused with nothing stored.
    let html = b"<html><script>alert(1)</script></html>";
    assert_eq!(attach(&app, &ann, &q.replace(".pdf", ".html"), html).await.0, 415);
    assert_eq!(attach(&app, &ann, &q, b"not really a pdf").await.0, 415, "the content must match");
    assert_eq!(attach(&app, &ann, &q, b"").await.0, 422);
    let (status, p) = attach(&app, &ann, &q.replace("Rahmenvertrag", "..%2Fetc%2Fpasswd"), PDF).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("filename")), "{p}");
    let (status, _) = attach(&app, &ann, &q, &vec![b'a'; 8 * 1024 * 1024 + 1]).await;
    assert_eq!(status, 413);
    let (status, p) = attach(&app, &mgr, &format!("record_type=tax&record_id={acme_id}&filename=a.pdf"), PDF).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("record_type")), "{p}");
    assert_eq!(stored_files(&app).await, 1);

    // Deleting the record takes its documents along.
    let (status, _) =
        json(app.req(Method::DELETE, &format!("/api/v1/accounts/{acme_id}"), &mgr).send().await.unwrap()).await;
    assert_eq!(status, 204);
    assert_eq!(stored_files(&app).await, 0);
    assert_eq!(app.get(&format!("/api/v1/attachments/{id}"), &mgr).await.status(), 404);
}

async fn documents_are_attached_from_the_product_page(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    app.user("rep@example.com", "sales_rep").await;
    let (_, p) = json(app.post("/api/v1/products", &mgr, &json!({"sku": "TBL-1", "name": "Table"})).await).await;
    let pid = p["id"].as_str().unwrap().to_string();
    let cookie = app.session("mgr@example.com").await;
    let boundary = "b0undary";
    let mut body = Vec::new();
    for (name, value) in [("record_type", "product"), ("record_id", pid.as_str()), ("description", "assembly guide")] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"guide.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(PDF);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = app
        .client
        .post(app.url("/attachments"))
        .header("cookie", &cookie)
        .header("origin", format!("http://{}", app.addr))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/products/{pid}"));
    let html = app.client.get(app.url(&format!("/products/{pid}"))).header("cookie", &cookie).send().await.unwrap();
    let html = html.text().await.unwrap();
    assert!(html.contains("guide.pdf") && html.contains("assembly guide"), "{html}");
    let link = html.split("href=\"/attachments/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let dl = app.client.get(app.url(&format!("/attachments/{link}"))).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(dl.status(), 200);
    assert_eq!(dl.bytes().await.unwrap().as_ref(), PDF);

    // A rep reads products but may not change them: the page lists the document without the upload form.
    let rep = app.session("rep@example.com").await;
    let html = app.client.get(app.url(&format!("/products/{pid}"))).header("cookie", &rep).send().await.unwrap();
    let html = html.text().await.unwrap();
    assert!(html.contains("guide.pdf") && !html.contains("action=\"/attachments\""));
    let id = link.split('/').next().unwrap();
    let r = app
        .client
        .post(app.url(&format!("/attachments/{id}/delete")))
        .header("cookie", &rep)
        .header("origin", format!("http://{}", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .client
        .post(app.url(&format!("/attachments/{id}/delete")))
        .header("cookie", &cookie)
        .header("origin", format!("http://{}", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(stored_files(&app).await, 0);
}

async fn contacts_opportunities_and_cases_carry_documents_on_their_pages(db: TestDb) {
    let app = TestApp::start(db).await;
    let ann = app.user("ann@example.com", "sales_rep").await;
    let bob = app.user("bob@example.com", "sales_rep").await;
    let body = json!({"name": "Acme", "kinds": ["customer"], "currency": "USD"});
    let (_, acc) = json(app.post("/api/v1/accounts", &ann, &body).await).await;
    let acc = acc["id"].as_str().unwrap();
    let records = [
        (
            "contact",
            "/api/v1/contacts",
            json!({"account_id": acc, "first_name": "Jo", "last_name": "Buyer"}),
            "/contacts",
        ),
        (
            "opportunity",
            "/api/v1/opportunities",
            json!({"account_id": acc, "name": "Deal", "expected_close": "2026-06-30"}),
            "/opportunities",
        ),
        ("case", "/api/v1/cases", json!({"account_id": acc, "subject": "Broken", "kind": "problem"}), "/cases"),
    ];
    let cookie = app.session("ann@example.com").await;
    for (rt, create, body, page) in records {
        let (status, r) = json(app.post(create, &ann, &body).await).await;
        assert_eq!(status, 201, "{rt}: {r}");
        let id = r["id"].as_str().unwrap();
        let q = format!("record_type={rt}&record_id={id}&filename={rt}-notes.txt");
        let (status, a) = attach(&app, &ann, &q, b"agreed terms").await;
        assert_eq!(status, 201, "{rt}: {a}");
        let (status, html) = app.page(&format!("{page}/{id}"), &cookie).await;
        assert_eq!(status, 200);
        assert!(html.contains(&format!("{rt}-notes.txt")), "{rt} page lists its document");
        let (status, _) = attach(&app, &bob, &q, b"not mine").await;
        assert_eq!(status, 422, "bob may not see ann's {rt}");
    }
}

both_backends!(
    attachments_follow_the_record_they_hang_from,
    documents_are_attached_from_the_product_page,
    contacts_opportunities_and_cases_carry_documents_on_their_pages,
);
