//! The import page and the background jobs of imports and exports, over real
//! HTTP on both databases: a check of an accounts file writes nothing and
//! names a bad row by line and column; the import writes the good rows and its
//! progress part stops asking once done, with counts that match; importing the
//! same file again leaves the records unchanged; a role that may not create
//! the records may not import them, and a user's rows are held to their scope
//! and field security; a job is its starter's only; a post from another site
//! is refused; and an export job gives the file the direct export URL gives.

mod support;

use std::time::{Duration, Instant};

use nave_testkit::{TestDb, both_backends};
use serde_json::json;
use support::{TestApp, created, get_ok, id_of, location, page, session};

/// A multipart form as a browser sends it: text fields, then the file.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str)>) -> (String, Vec<u8>) {
    let boundary = "nave-import-boundary".to_string();
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some((filename, content)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
                 Content-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts the import form from `origin` (the app's own unless given): (status, `Location`, body).
async fn post_import(
    app: &TestApp,
    cookie: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &str)>,
    origin: Option<&str>,
) -> (u16, String, String) {
    let (content_type, body) = multipart(fields, file);
    let own = format!("http://{}", app.addr);
    // The server answers a body over its limit before reading all of it and
    // closes the connection: never keep that one for the next request.
    let connection = if body.len() > 1024 * 1024 { "close" } else { "keep-alive" };
    let r = app
        .client
        .post(app.url("/imports"))
        .header("connection", connection)
        .header("cookie", cookie)
        .header("origin", origin.unwrap_or(&own))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let to = location(&r);
    (status, to, r.text().await.unwrap())
}

/// Starts an import through the page and returns the job's page address.
async fn start_import(app: &TestApp, cookie: &str, kind: &str, mode: &str, csv: &str) -> String {
    let (st, to, body) =
        post_import(app, cookie, &[("kind", kind), ("source", ""), ("mode", mode)], Some(("file.csv", csv)), None)
            .await;
    assert_eq!(st, 303, "{body}");
    assert!(to.starts_with("/jobs/"), "{to}");
    to
}

/// The job's progress part as htmx asks for it.
async fn progress_part(app: &TestApp, cookie: &str, job: &str) -> (u16, String) {
    let r = app
        .client
        .get(app.url(&format!("{job}/progress")))
        .header("cookie", cookie)
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Asks for the progress part as the page does until the job is finished:
/// while it runs, the part asks again every second; the finished part does not.
async fn finished(app: &TestApp, cookie: &str, job: &str) -> String {
    let started = Instant::now();
    loop {
        let (st, html) = progress_part(app, cookie, job).await;
        assert_eq!(st, 200, "{html}");
        assert!(html.trim_start().starts_with("<div id=\"job-progress\""), "a part, not a page: {html}");
        assert!(!html.contains("</html>"), "{html}");
        if !html.contains("hx-get=") {
            assert!(!html.contains("hx-trigger"), "{html}");
            return html;
        }
        assert!(html.contains("hx-trigger=\"every 1s\"") && html.contains(&format!("hx-get=\"{job}/progress\"")));
        assert!(html.contains("<progress"), "a progress bar while it runs: {html}");
        assert!(started.elapsed() < Duration::from_secs(60), "the job finishes: {html}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The number in the summary cell `id`.
fn count(html: &str, cell: &str) -> u64 {
    let at = html.find(&format!("id=\"{cell}\">")).unwrap_or_else(|| panic!("no {cell} in {html}"));
    let rest = &html[at + cell.len() + 6..];
    rest[..rest.find('<').unwrap()].replace(',', "").trim().parse().unwrap()
}

async fn accounts_in_db(app: &TestApp) -> i64 {
    let mut tx = app.db.db.read().await.unwrap();
    tx.scalar_i64("SELECT COUNT(*) AS v FROM accounts", vec![]).await.unwrap()
}

const ACCOUNTS: &str = "name,kinds,currency,website,external_ids\n\
    Harbour Supplies,customer,EUR,https://harbour.example,erp:A-1\n\
    Broken Ltd,customer,EURO,,erp:A-2\n\
    Inland Tools,customer; supplier,EUR,https://inland.example,erp:A-3\n";

async fn a_check_writes_nothing_and_the_import_writes_the_good_rows(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let cookie = session(&app, "admin@example.com").await;
    let (st, html) = page(&app, &cookie, "/imports?kind=accounts").await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("enctype=\"multipart/form-data\"") && html.contains("value=\"check\""), "{html}");
    assert!(html.contains("<option value=\"accounts\" selected>"), "{html}");
    let logs = app.log_counts().await;

    // The check: the bad row by its line and column, nothing written.
    let job = start_import(&app, &cookie, "accounts", "check", ACCOUNTS).await;
    let html = finished(&app, &cookie, &job).await;
    assert!(html.contains("Nothing was written"), "{html}");
    assert_eq!((count(&html, "created"), count(&html, "updated"), count(&html, "refused")), (2, 0, 1), "{html}");
    assert!(html.contains("<td class=\"num\">3</td><td><code>currency</code></td>"), "line 3, the currency: {html}");
    assert_eq!(accounts_in_db(&app).await, 0, "a check stores nothing");
    assert_eq!(app.log_counts().await, logs, "no audit entry, no event");
    let (_, problems) = page(&app, &cookie, &format!("{job}/download")).await;
    assert!(problems.starts_with("line,column,problem\n3,currency,"), "{problems}");

    // The job's page: the whole page, with the same part.
    let (st, full) = page(&app, &cookie, &job).await;
    assert_eq!(st, 200);
    assert!(full.contains("</html>") && full.contains("Import of accounts (check only)"), "{full}");
    assert!(full.contains("id=\"job-progress\"") && !full.contains("hx-trigger"), "{full}");

    // The import: the good rows are written and the counts match them.
    let job = start_import(&app, &cookie, "accounts", "import", ACCOUNTS).await;
    let html = finished(&app, &cookie, &job).await;
    assert!(html.contains("The import is done: 3 rows read"), "{html}");
    assert_eq!((count(&html, "created"), count(&html, "updated"), count(&html, "unchanged")), (2, 0, 0));
    assert_eq!(count(&html, "refused"), 1);
    assert_eq!(accounts_in_db(&app).await, 2);
    let harbour = get_ok(&app, &admin, "/api/v1/accounts/by-external-id/erp/A-1").await;
    assert_eq!(
        (harbour["name"].as_str(), harbour["website"].as_str()),
        (Some("Harbour Supplies"), Some("https://harbour.example"))
    );
    assert_eq!(harbour["owner_id"], json!(admin.user.id.to_string()), "the importing user writes, as on the API");
    let inland = get_ok(&app, &admin, "/api/v1/accounts/by-external-id/erp/A-3").await;
    assert_eq!(inland["kinds"], json!(["customer", "supplier"]));

    // The same file again: found by external id, nothing to change.
    let job = start_import(&app, &cookie, "accounts", "import", ACCOUNTS).await;
    let html = finished(&app, &cookie, &job).await;
    assert_eq!((count(&html, "created"), count(&html, "updated"), count(&html, "unchanged")), (0, 0, 2), "{html}");
    assert_eq!(accounts_in_db(&app).await, 2);
    // A changed cell is an update.
    let job = start_import(
        &app,
        &cookie,
        "accounts",
        "import",
        "name,website,external_ids\n,https://harbour.example/new,erp:A-1\n",
    )
    .await;
    let html = finished(&app, &cookie, &job).await;
    assert_eq!((count(&html, "updated"), count(&html, "unchanged"), count(&html, "refused")), (1, 0, 0), "{html}");

    // The user's jobs are listed on the import page.
    let (_, html) = page(&app, &cookie, "/imports").await;
    assert_eq!(html.matches("href=\"/jobs/").count(), 4, "{html}");
}

async fn a_file_the_kind_cannot_read_is_refused_at_once(db: TestDb) {
    let app = TestApp::start(db).await;
    app.user("admin@example.com", "admin").await;
    let cookie = session(&app, "admin@example.com").await;
    let fields = [("kind", "products"), ("source", "erp"), ("mode", "import"), ("allow_duplicates", "true")];
    let (st, _, html) = post_import(&app, &cookie, &fields, Some(("p.csv", "sku,colour\nX,red\n")), None).await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("id=\"file-err\"") && html.contains("unknown column &#34;colour&#34;"), "{html}");
    assert!(html.contains("<option value=\"products\" selected>") && html.contains("value=\"erp\""), "kept: {html}");
    let (st, _, html) = post_import(&app, &cookie, &[("kind", "products"), ("mode", "check")], None, None).await;
    assert_eq!(st, 422);
    assert!(html.contains("choose a CSV file"), "{html}");
    let bad_source = [("kind", "products"), ("source", "not a system!"), ("mode", "check")];
    let (st, _, html) = post_import(&app, &cookie, &bad_source, Some(("p.csv", "sku\nX\n")), None).await;
    assert_eq!(st, 422);
    assert!(html.contains("id=\"source-err\""), "{html}");
    // A file over the upload limit is refused, not read into memory.
    let big = format!("sku,name\n{}", "SKU-1,A product with a long name to fill the file\n".repeat(200_000));
    assert!(big.len() > nave_web::extract::MAX_UPLOAD_BYTES);
    let (st, _, html) =
        post_import(&app, &cookie, &[("kind", "products"), ("mode", "check")], Some(("big.csv", &big)), None).await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("is larger than 8 MiB"), "{html}");
    let (_, html) = page(&app, &cookie, "/imports").await;
    assert!(!html.contains("href=\"/jobs/"), "no job was started: {html}");
}

async fn only_roles_that_may_create_the_records_import_them_within_their_scope(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    app.user("wh@example.com", "warehouse").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    app.user("ro@example.com", "read_only").await;
    created(
        &app,
        &admin,
        "/api/v1/accounts",
        json!({"name": "Admin's Account", "currency": "EUR",
        "external_ids": [{"system": "erp", "id": "X-1"}]}),
    )
    .await;

    // The warehouse may not create accounts: refused, nothing written.
    let wh = session(&app, "wh@example.com").await;
    let (st, _, html) =
        post_import(&app, &wh, &[("kind", "accounts"), ("mode", "import")], Some(("a.csv", ACCOUNTS)), None).await;
    assert_eq!(st, 403, "{html}");
    assert_eq!(accounts_in_db(&app).await, 1);
    // A read-only user sees no form at all; a rep is offered what they may create.
    let (st, html) = page(&app, &session(&app, "ro@example.com").await, "/imports").await;
    assert_eq!(st, 200);
    assert!(!html.contains("enctype=\"multipart/form-data\""), "{html}");
    let rep_cookie = session(&app, "rep@example.com").await;
    let (_, html) = page(&app, &rep_cookie, "/imports").await;
    assert!(html.contains("value=\"accounts\"") && !html.contains("value=\"products\""), "{html}");
    let (st, _, _) =
        post_import(&app, &rep_cookie, &[("kind", "products"), ("mode", "check")], Some(("p.csv", "sku\nX\n")), None)
            .await;
    assert_eq!(st, 403, "a rep may not create products");

    // A rep's rows: a new account is theirs; an account of someone else's and
    // a credit limit (a field their role may not see) are refused.
    let csv = "name,credit_limit,external_ids\n\
        Rep Account,,erp:R-1\n\
        Taken Over,,erp:X-1\n\
        Big Limit,90000,erp:R-2\n";
    let job = start_import(&app, &rep_cookie, "accounts", "import", csv).await;
    let html = finished(&app, &rep_cookie, &job).await;
    assert_eq!((count(&html, "created"), count(&html, "refused")), (1, 2), "{html}");
    assert!(html.contains("names an account your role may not change"), "{html}");
    assert!(html.contains("<code>credit_limit</code></td><td>your role may not set this field"), "{html}");
    let mine = get_ok(&app, &admin, "/api/v1/accounts/by-external-id/erp/R-1").await;
    assert_eq!(mine["owner_id"], json!(rep.user.id.to_string()));
    let theirs = get_ok(&app, &admin, "/api/v1/accounts/by-external-id/erp/X-1").await;
    assert_eq!(theirs["name"], "Admin's Account", "left as it was");
}

async fn a_job_is_its_starters_only(db: TestDb) {
    let app = TestApp::start(db).await;
    app.user("admin@example.com", "admin").await;
    app.user("other@example.com", "admin").await;
    let cookie = session(&app, "admin@example.com").await;
    let job = start_import(&app, &cookie, "accounts", "check", ACCOUNTS).await;
    finished(&app, &cookie, &job).await;
    let other = session(&app, "other@example.com").await;
    for path in [job.clone(), format!("{job}/progress"), format!("{job}/download")] {
        let (st, html) = page(&app, &other, &path).await;
        assert_eq!(st, 404, "{path}: {html}");
        assert!(html.contains("</html>"));
    }
    let (st, _) = progress_part(&app, &other, &job).await;
    assert_eq!(st, 404);
    let (_, html) = page(&app, &other, "/imports").await;
    assert!(!html.contains(&job), "not in another user's list: {html}");
    let (st, _) = page(&app, &cookie, "/jobs/not-an-id").await;
    assert_eq!(st, 404);
    let (st, _) = page(&app, &cookie, "/jobs/0190a1b2-0000-7000-8000-000000000000").await;
    assert_eq!(st, 404);
}

async fn an_import_posted_from_another_site_is_refused(db: TestDb) {
    let app = TestApp::start(db).await;
    app.user("admin@example.com", "admin").await;
    let cookie = session(&app, "admin@example.com").await;
    let fields = [("kind", "accounts"), ("mode", "import")];
    let (st, _, html) =
        post_import(&app, &cookie, &fields, Some(("a.csv", ACCOUNTS)), Some("http://evil.example")).await;
    assert_eq!(st, 403, "{html}");
    assert_eq!(accounts_in_db(&app).await, 0);
    let (_, html) = page(&app, &cookie, "/imports").await;
    assert!(!html.contains("href=\"/jobs/"), "no job: {html}");
    // The export button's post too.
    let r = app
        .client
        .post(app.url("/exports/accounts"))
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

/// Starts the export of a list's view through its button and returns the file the job made.
async fn export_job(app: &TestApp, cookie: &str, path: &str) -> (String, String) {
    let r = app.submit(path, cookie, &[]).await;
    assert_eq!(r.status(), 303, "{path}");
    let job = location(&r);
    let html = finished(app, cookie, &job).await;
    assert!(html.contains(&format!("href=\"{job}/download\"")), "{html}");
    let r = app.client.get(app.url(&format!("{job}/download"))).header("cookie", cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let disposition = r.headers()["content-disposition"].to_str().unwrap().to_string();
    (disposition, r.text().await.unwrap())
}

async fn an_export_job_gives_the_file_of_the_direct_export(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    for (name, tag) in [("Harbour Supplies", "marine"), ("Harbour Freight", "marine"), ("Inland Tools", "tools")] {
        created(&app, &admin, "/api/v1/accounts", json!({"name": name, "currency": "EUR", "tags": [tag]})).await;
    }
    let acme = created(&app, &admin, "/api/v1/accounts", json!({"name": "Acme", "currency": "EUR"})).await;
    for n in 1..=3 {
        let inv = created(
            &app,
            &admin,
            "/api/v1/invoices",
            json!({"account_id": id_of(&acme), "reference": format!("PO-{n}"),
                   "lines": [{"description": "Work", "quantity": format!("{n}"), "unit_price": "12.50"}]}),
        )
        .await;
        assert!(inv["id"].is_string());
    }
    let cookie = session(&app, "admin@example.com").await;
    let (_, list) = page(&app, &cookie, "/accounts?q=harbour").await;
    assert!(list.contains("action=\"/exports/accounts?q=harbour\""), "the button exports the view: {list}");
    let (disposition, file) = export_job(&app, &cookie, "/exports/accounts?q=harbour").await;
    let (st, direct) = page(&app, &cookie, "/accounts/export.csv?q=harbour").await;
    assert_eq!(st, 200);
    assert_eq!(file, direct, "the same file as the direct export");
    assert_eq!(file.lines().count(), 3, "the header and the view's two accounts: {file}");
    assert!(disposition.contains("accounts.csv"), "{disposition}");

    let (_, file) = export_job(&app, &cookie, "/exports/invoices").await;
    let (_, direct) = page(&app, &cookie, "/invoices/export.csv").await;
    assert_eq!(file, direct);
    assert_eq!(file.lines().count(), 4, "{file}");

    let r = app.submit("/exports/widgets", &cookie, &[]).await;
    assert_eq!(r.status(), 404, "there is no list of widgets");
    app.user("ro@example.com", "warehouse").await;
    let wh = session(&app, "ro@example.com").await;
    let r = app.submit("/exports/invoices", &wh, &[]).await;
    assert_eq!(r.status(), 403, "the warehouse may not read invoices");
}

async fn the_leads_and_every_document_list_export_their_view(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let acme = created(&app, &admin, "/api/v1/accounts", json!({"name": "Acme", "currency": "EUR"})).await;
    for (n, price) in [(1, "40.00"), (2, "15.00"), (3, "99.00")] {
        created(
            &app,
            &admin,
            "/api/v1/quotes",
            json!({"account_id": id_of(&acme), "reference": format!("RFQ-{n}"),
                   "lines": [{"description": "Work", "quantity": "1", "unit_price": price}]}),
        )
        .await;
    }
    for (who, company) in [(&admin, "Globex"), (&rep, "Initech"), (&admin, "Acme Leads")] {
        created(&app, who, "/api/v1/leads", json!({"company": company, "last_name": "Buyer"})).await;
    }
    let cookie = session(&app, "admin@example.com").await;

    // Quotes: one row each, in the view's order, the button's job giving the same file.
    let (_, list) = page(&app, &cookie, "/quotes?sort=-total").await;
    assert!(list.contains("action=\"/exports/quotes?sort=-total\""), "the button exports the view: {list}");
    let (disposition, file) = export_job(&app, &cookie, "/exports/quotes?sort=-total").await;
    let (st, direct) = page(&app, &cookie, "/quotes/export.csv?sort=-total").await;
    assert_eq!(st, 200, "{direct}");
    assert_eq!(file, direct);
    assert!(disposition.contains("quotes.csv"), "{disposition}");
    let mut lines = file.lines();
    assert_eq!(
        lines.next(),
        Some("id,number,account,date,due_date,status,reference,currency,total,balance,created_at")
    );
    let refs: Vec<&str> = lines.map(|l| l.split(',').nth(6).unwrap()).collect();
    assert_eq!(refs, ["RFQ-3", "RFQ-1", "RFQ-2"], "largest total first: {file}");
    // An empty list is its header; a purchase list too.
    for list in ["credit-notes", "purchase-orders", "bills", "sales-orders", "receipts", "bill-credits"] {
        let (st, csv) = page(&app, &cookie, &format!("/{list}/export.csv")).await;
        assert_eq!((st, csv.lines().count()), (200, 1), "{list}: {csv}");
    }
    // Invoices keep their own export, with lines in the importer's columns.
    let (st, csv) = page(&app, &cookie, "/invoices/export.csv").await;
    assert_eq!(st, 200);
    assert!(csv.starts_with("external_id,number,"), "{csv}");

    // Leads: the view's filters and order; a rep gets only their own.
    let (_, file) = export_job(&app, &cookie, "/exports/leads?sort=company").await;
    let companies: Vec<&str> = file.lines().skip(1).map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(companies, ["Acme Leads", "Globex", "Initech"], "{file}");
    assert!(file.starts_with("id,company,first_name,last_name,"), "{file}");
    let rep_cookie = session(&app, "rep@example.com").await;
    let (st, csv) = page(&app, &rep_cookie, "/leads/export.csv").await;
    assert_eq!(st, 200);
    assert!(csv.contains("Initech") && !csv.contains("Globex"), "{csv}");
    // A bad order is a readable refusal, not a file.
    let (st, html) = page(&app, &cookie, "/leads/export.csv?sort=shoe_size").await;
    assert_eq!(st, 422, "{html}");
}

both_backends!(
    the_leads_and_every_document_list_export_their_view,
    a_check_writes_nothing_and_the_import_writes_the_good_rows,
    a_file_the_kind_cannot_read_is_refused_at_once,
    only_roles_that_may_create_the_records_import_them_within_their_scope,
    a_job_is_its_starters_only,
    an_import_posted_from_another_site_is_refused,
    an_export_job_gives_the_file_of_the_direct_export,
);
