//! Report pages that take longer than the page waits (`WebConfig::report_wait`)
//! become background jobs, over real HTTP on both databases: with no wait at
//! all every report page sends the user to a job's page, which offers the
//! report once done; the report opened from the job has the very table the
//! page computes at once; a job is its starter's only, and its `job` id gives
//! nobody else its figures (they get their own, in their own scope); and with
//! the default wait a report answers at once and leaves no job behind.

mod support;

use std::time::{Duration, Instant};

use nave_testkit::{TestDb, both_backends};
use nave_web::{AppState, WebConfig};
use serde_json::json;
use support::{TestApp, TestUser, act, created, location, page, session};

const REPORT: &str = "/reports/top-customers?from=2026-01-01&to=2026-12-31";

/// An issued invoice of `net` (no tax) to `account`.
async fn invoice(app: &TestApp, who: &TestUser, account: &str, net: &str) {
    let inv = created(
        app,
        who,
        "/api/v1/invoices",
        json!({"account_id": account, "date": "2026-03-09", "groups": [{"lines": [
            {"description": "Consulting", "quantity": "1", "unit_price": net, "tax_ids": []}
        ]}]}),
    )
    .await;
    let (s, v) = act(app, who, &format!("/api/v1/invoices/{}/issue", inv["id"].as_str().unwrap())).await;
    assert_eq!(s, 200, "{v}");
}

/// A manager (admin) and two sales reps: Alpha is Rob's, Beta is Sara's,
/// each with an issued invoice in 2026.
async fn world(app: &TestApp) {
    let mgr = app.user("mgr@example.com", "admin").await;
    let rob = app.user("rob@example.com", "sales_rep").await;
    let sara = app.user("sara@example.com", "sales_rep").await;
    for (name, owner, net) in [("Alpha", &rob, "300.00"), ("Beta", &sara, "120.00")] {
        let acc = created(
            app,
            &mgr,
            "/api/v1/accounts",
            json!({"name": name, "currency": "EUR", "kinds": ["customer"], "owner_id": owner.user.id.to_string()}),
        )
        .await;
        invoice(app, &mgr, acc["id"].as_str().unwrap(), net).await;
    }
}

/// Opens a report page and expects to be sent to a job: the job's page address.
async fn report_job(app: &TestApp, cookie: &str, path: &str) -> String {
    let r = app.client.get(app.url(path)).header("cookie", cookie).send().await.unwrap();
    let to = location(&r);
    assert_eq!(r.status(), 303, "{path}: {}", r.text().await.unwrap());
    assert!(to.starts_with("/jobs/"), "{to}");
    to
}

/// Reloads the job's page until the job is done (at most about 30 s): the
/// address of "Open the report".
async fn opened(app: &TestApp, cookie: &str, job: &str) -> String {
    let started = Instant::now();
    loop {
        let (st, html) = page(app, cookie, job).await;
        assert_eq!(st, 200, "{html}");
        assert!(html.contains("Report: Top customers"), "{html}");
        if let Some(at) = html.find("id=\"open-report\" href=\"") {
            let rest = &html[at + "id=\"open-report\" href=\"".len()..];
            let link = rest[..rest.find('"').unwrap()].replace("&#38;", "&").replace("&amp;", "&");
            assert!(html.contains("The report is ready"), "{html}");
            return link;
        }
        assert!(!html.contains("class=\"error\""), "the job failed: {html}");
        assert!(html.contains("<progress"), "a bar while it runs: {html}");
        assert!(!html.contains("%)"), "no percentage without a total: {html}");
        assert!(started.elapsed() < Duration::from_secs(30), "the job finishes: {html}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The report's table in a page.
fn table(html: &str) -> &str {
    let start = html.find("<table class=\"report\">").unwrap_or_else(|| panic!("a report table: {html}"));
    let end = start + html[start..].find("</table>").unwrap();
    &html[start..end]
}

/// Another server over the same database, which waits for reports as
/// configured by default; a session is valid on both.
async fn inline_server(app: &TestApp) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(app.db.db.clone(), WebConfig::default());
    tokio::spawn(async move {
        nave_web::serve(state, listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (format!("http://{addr}"), tx)
}

fn no_wait() -> WebConfig {
    WebConfig { report_wait: Duration::ZERO, ..Default::default() }
}

async fn a_report_that_takes_long_becomes_a_job_that_opens_the_same_table(db: TestDb) {
    let app = TestApp::start_with(db, no_wait()).await;
    world(&app).await;
    let cookie = session(&app, "mgr@example.com").await;
    let job = report_job(&app, &cookie, REPORT).await;
    let link = opened(&app, &cookie, &job).await;
    let id = job.trim_start_matches("/jobs/");
    assert_eq!(link, format!("{REPORT}&job={id}"), "the same report and filters, with the job");

    // htmx asking for the finished part is sent to the report.
    let r = app
        .client
        .get(app.url(&format!("{job}/progress")))
        .header("cookie", &cookie)
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("hx-redirect").and_then(|h| h.to_str().ok()), Some(link.as_str()));
    // The job is listed with the user's others, and has no file.
    let (_, html) = page(&app, &cookie, "/imports").await;
    assert!(html.contains(&format!("href=\"{job}\">Report: Top customers")), "{html}");
    let (st, _) = page(&app, &cookie, &format!("{job}/download")).await;
    assert_eq!(st, 404);

    // The report from the job: the figures without the job in the CSV link
    // and the form, and the very table the page gives at once.
    let (st, from_job) = page(&app, &cookie, &link).await;
    assert_eq!(st, 200, "{from_job}");
    assert!(from_job.contains("Alpha") && from_job.contains("Beta"), "{from_job}");
    assert!(!from_job.contains("job="), "the job stays out of the CSV link and the form: {from_job}");
    assert!(from_job.contains("/api/v1/reports/top-customers?") && from_job.contains("format=csv"), "{from_job}");
    let (inline, stop) = inline_server(&app).await;
    let r = app.client.get(format!("{inline}{REPORT}")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let at_once = r.text().await.unwrap();
    assert_eq!(table(&from_job), table(&at_once));
    let _ = stop.send(());

    // Other filters, or another report, with the job's id are computed anew.
    let other =
        report_job(&app, &cookie, &format!("/reports/top-customers?from=2026-02-01&to=2026-12-31&job={id}")).await;
    assert_ne!(other, job);
    let other =
        report_job(&app, &cookie, &format!("/reports/top-products?from=2026-01-01&to=2026-12-31&job={id}")).await;
    assert_ne!(other, job);
    // A bad `job` is no error: the report is computed.
    report_job(&app, &cookie, &format!("{REPORT}&job=not-an-id")).await;
}

async fn a_report_job_is_its_starters_only(db: TestDb) {
    let app = TestApp::start_with(db, no_wait()).await;
    world(&app).await;
    let mgr = session(&app, "mgr@example.com").await;
    let job = report_job(&app, &mgr, REPORT).await;
    let link = opened(&app, &mgr, &job).await;
    let (_, html) = page(&app, &mgr, &link).await;
    assert!(html.contains("Beta"), "the manager sees every account: {html}");

    let rob = session(&app, "rob@example.com").await;
    for path in [job.clone(), format!("{job}/progress"), format!("{job}/download")] {
        let (st, _) = page(&app, &rob, &path).await;
        assert_eq!(st, 404, "{path}");
    }
    // The manager's job id gives Rob his own report, in his scope.
    let own = report_job(&app, &rob, &link).await;
    assert_ne!(own, job, "a job of his own");
    let own_link = opened(&app, &rob, &own).await;
    let (st, html) = page(&app, &rob, &own_link).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("Alpha") && !html.contains("Beta"), "Rob sees his accounts only: {html}");
    // His job is not the manager's.
    let (st, _) = page(&app, &mgr, &own).await;
    assert_eq!(st, 404);
}

async fn with_the_default_wait_a_report_answers_at_once(db: TestDb) {
    let app = TestApp::start(db).await;
    world(&app).await;
    let cookie = session(&app, "mgr@example.com").await;
    let (st, html) = page(&app, &cookie, REPORT).await;
    assert_eq!(st, 200, "{html}");
    assert!(table(&html).contains("Alpha") && html.contains("Beta"), "{html}");
    let (_, html) = page(&app, &cookie, "/imports").await;
    assert!(!html.contains("href=\"/jobs/"), "no job is left behind: {html}");
}

both_backends!(
    a_report_that_takes_long_becomes_a_job_that_opens_the_same_table,
    a_report_job_is_its_starters_only,
    with_the_default_wait_a_report_answers_at_once,
);
