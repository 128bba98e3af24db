//! The product-line and payment-terms forms over real HTTP, on both databases.

mod support;

use nave_testkit::{TestDb, both_backends};
use serde_json::Value;
use support::{TestApp, TestUser, json, location};

async fn list(app: &TestApp, who: &TestUser, path: &str) -> Vec<Value> {
    json(app.get(path, who).await).await.1["data"].as_array().unwrap().clone()
}

async fn product_lines_form_a_tree_edited_on_pages(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    app.user("rep@example.com", "sales_rep").await;
    let cookie = app.session("mgr@example.com").await;
    let r = app.submit("/product-categories", &cookie, &[("name", "Tools")]).await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/product-categories".to_string()));
    let tools = list(&app, &mgr, "/api/v1/product-categories").await[0]["id"].as_str().unwrap().to_string();
    let r = app.submit("/product-categories", &cookie, &[("name", "Drills"), ("parent_id", &tools)]).await;
    assert_eq!(r.status(), 303);
    let cats = list(&app, &mgr, "/api/v1/product-categories").await;
    let drills = cats.iter().find(|c| c["name"] == "Drills").unwrap();
    assert_eq!(drills["parent_id"].as_str(), Some(tools.as_str()));
    let (status, html) = app.page("/product-categories", &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("<span class=\"depth-1\">Drills</span>"), "{html}");

    // Refusals: a duplicate name, a loop, a stale form, a category still in use.
    let r = app.submit("/product-categories", &cookie, &[("name", "tools")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("already exists"));
    let edit_tools = format!("/product-categories/{tools}");
    let drills_id = drills["id"].as_str().unwrap();
    let r = app.submit(&edit_tools, &cookie, &[("version", "1"), ("name", "Tools"), ("parent_id", drills_id)]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("would make the category its own ancestor"));
    let r = app.submit(&edit_tools, &cookie, &[("version", "1"), ("name", "Hand and power tools")]).await;
    assert_eq!(r.status(), 303);
    let r = app.submit(&edit_tools, &cookie, &[("version", "1"), ("name", "Old name")]).await;
    assert_eq!(r.status(), 409, "stale");
    let r = app.submit(&format!("{edit_tools}/delete"), &cookie, &[]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("still holds 1 sub-categories"));
    let r = app.submit(&format!("/product-categories/{drills_id}/delete"), &cookie, &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(list(&app, &mgr, "/api/v1/product-categories").await.len(), 1);

    let rep = app.session("rep@example.com").await;
    let (status, html) = app.page("/product-categories", &rep).await;
    assert_eq!(status, 200);
    assert!(!html.contains("/delete"), "reps read the tree without edit buttons");
    assert_eq!(app.submit("/product-categories", &rep, &[("name", "Nope")]).await.status(), 403);
}

async fn payment_terms_are_created_and_edited_with_instalment_rows(db: TestDb) {
    let app = TestApp::start(db).await;
    let acc = app.user("acc@example.com", "accounting").await;
    let cookie = app.session("acc@example.com").await;
    let (status, html) = app.page("/payment-terms", &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("href=\"/payment-terms/new\""));
    let before = list(&app, &acc, "/api/v1/payment-terms").await.len();

    // 30 % now, the rest at 30 days end of month.
    let fields = [
        ("name", "30/70 EOM"),
        ("active", "true"),
        ("instalments[0].percent", "30"),
        ("instalments[0].days", "0"),
        ("instalments[1].percent", ""),
        ("instalments[1].days", "30"),
        ("instalments[1].end_of_month", "true"),
        ("instalments[2].percent", ""),
        ("instalments[2].days", ""),
    ];
    let r = app.submit("/payment-terms", &cookie, &fields).await;
    assert_eq!(r.status(), 303);
    let all = list(&app, &acc, "/api/v1/payment-terms").await;
    assert_eq!(all.len(), before + 1);
    let t = all.iter().find(|t| t["name"] == "30/70 EOM").unwrap();
    assert_eq!(t["instalments"].as_array().unwrap().len(), 2);
    assert_eq!(t["instalments"][1]["end_of_month"], true);

    // Bad rows are named; nothing is stored.
    for (bad, expected) in [
        (vec![("name", "Bad"), ("instalments[0].percent", "abc")], "must be a percentage"),
        (vec![("name", "Bad"), ("instalments[0].percent", "50"), ("instalments[0].days", "x")], "whole number of days"),
        (
            vec![("name", "Bad"), ("instalments[0].percent", "60"), ("instalments[1].percent", "60")],
            "the percents add up to 120, not 100",
        ),
        (vec![("name", "Bad")], "1 to 12 instalments"),
    ] {
        let r = app.submit("/payment-terms", &cookie, &bad).await;
        assert_eq!(r.status(), 422, "{bad:?}");
        let html = r.text().await.unwrap();
        assert!(html.contains(expected), "{expected}: {html}");
    }
    assert_eq!(list(&app, &acc, "/api/v1/payment-terms").await.len(), before + 1);

    let edit = format!("/payment-terms/{}", t["id"].as_str().unwrap());
    let (status, html) = app.page(&format!("{edit}/edit"), &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("value=\"30\"") && html.contains("checked"));
    let r = app
        .submit(
            &edit,
            &cookie,
            &[("version", "1"), ("name", "Net 45"), ("active", "true"), ("instalments[0].days", "45")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app.submit(&edit, &cookie, &[("version", "1"), ("name", "Stale"), ("instalments[0].days", "10")]).await;
    assert_eq!(r.status(), 409);
    let (_, after) = json(app.get(&format!("/api/v1{edit}"), &acc).await).await;
    assert_eq!(after["name"], "Net 45");
    assert_eq!(after["instalments"][0]["days"], 45);

    app.user("rep@example.com", "sales_rep").await;
    let rep = app.session("rep@example.com").await;
    assert_eq!(app.page("/payment-terms/new", &rep).await.0, 403);
}

both_backends!(product_lines_form_a_tree_edited_on_pages, payment_terms_are_created_and_edited_with_instalment_rows);
