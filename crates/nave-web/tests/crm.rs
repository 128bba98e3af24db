//! Accounts completed, contacts, duplicate detection and CSV exports, over
//! real HTTP on both databases.

mod support;

use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, TestUser, form, json, page, session};

async fn patch(app: &TestApp, path: &str, who: &TestUser, body: Value) -> (u16, Value) {
    json(app.req(Method::PATCH, path, who).json(&body).send().await.unwrap()).await
}

async fn delete(app: &TestApp, path: &str, who: &TestUser) -> (u16, Value) {
    json(app.req(Method::DELETE, path, who).send().await.unwrap()).await
}

/// Creates something and returns its id, failing the test when it is refused.
async fn made(app: &TestApp, path: &str, who: &TestUser, body: Value) -> String {
    let (status, v) = json(app.post(path, who, &body).await).await;
    assert_eq!(status, 201, "{path}: {v}");
    v["id"].as_str().unwrap().to_string()
}

/// The field a 422 names first.
async fn refused_field(app: &TestApp, method: Method, path: &str, who: &TestUser, body: Value) -> String {
    let (status, p) = json(app.req(method, path, who).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 422, "{body}: {p}");
    p["errors"][0]["field"].as_str().unwrap().to_string()
}

fn ids(list: &Value) -> Vec<String> {
    list["data"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_string()).collect()
}

async fn accounts_keep_their_new_fields_addresses_and_external_ids(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let (_, terms) = json(app.get("/api/v1/payment-terms", &mgr).await).await;
    let net30 = terms["data"].as_array().unwrap().iter().find(|t| t["name"] == "Net 30").unwrap()["id"].clone();
    let body = json!({
        "name": "Harbor Foods", "industry": "Food wholesale", "website": "https://harborfoods.example",
        "phone": "+44 20 7946 0958", "payment_terms_id": net30, "notes": "Delivers on Tuesdays.\nAsk for Sam.",
        "addresses": [{"label": "Head office", "line1": "12 Harbour Road", "city": "Hull", "postal_code": "HU1 2AB", "country": "gb"}],
        "external_ids": [{"system": "erp", "id": "C-1001"}]
    });
    let (status, acc) = json(app.post("/api/v1/accounts", &mgr, &body).await).await;
    assert_eq!(status, 201, "{acc}");
    assert_eq!(acc["payment_terms_id"], net30);
    assert_eq!(acc["industry"], "Food wholesale");
    assert_eq!(acc["notes"], "Delivers on Tuesdays.\nAsk for Sam.");
    let a = &acc["addresses"][0];
    assert_eq!((a["country"].as_str(), a["is_default_billing"].as_bool()), (Some("GB"), Some(true)));
    assert_eq!(a["is_default_shipping"], true, "one address is the default for both");
    let path = format!("/api/v1/accounts/{}", acc["id"].as_str().unwrap());

    // Bad input: 422 naming the field, nothing written.
    let before = app.log_counts().await;
    for (bad, field) in [
        (json!({"name": "X", "website": "not a site"}), "website"),
        (json!({"name": "X", "phone": "call us"}), "phone"),
        (json!({"name": "X", "payment_terms_id": "01a209b3-6682-76e2-a05a-79ba0311227c"}), "payment_terms_id"),
        (
            json!({"name": "X", "addresses": [{"line1": "1 A St", "city": "Leeds", "country": "UK"}]}),
            "addresses[0].country",
        ),
        (json!({"name": "X", "addresses": [{"line1": "", "city": "Leeds", "country": "GB"}]}), "addresses[0].line1"),
        (
            json!({"name": "X", "addresses": [
                {"line1": "1 A St", "city": "Leeds", "country": "GB", "is_default_billing": true},
                {"line1": "2 B St", "city": "York", "country": "GB", "is_default_billing": true}]}),
            "addresses[1].is_default_billing",
        ),
        (
            json!({"name": "X", "addresses": [{"line1": "1", "city": "L", "country": "GB", "colour": "red"}]}),
            "addresses[0]",
        ),
        (json!({"name": "X", "external_ids": [{"system": "a b", "id": "1"}]}), "external_ids[0].system"),
    ] {
        let f = refused_field(&app, Method::POST, "/api/v1/accounts", &mgr, bad.clone()).await;
        assert!(f.starts_with(field), "{bad}: {f}");
    }
    assert_eq!(refused_field(&app, Method::PATCH, &path, &mgr, json!({"website": "x"})).await, "website");
    assert_eq!(app.log_counts().await, before, "refusals write nothing");

    // PATCH: absent keeps, null clears, lists replace.
    let two = json!([
        {"label": "Head office", "line1": "12 Harbour Road", "city": "Hull", "country": "GB"},
        {"label": "Warehouse", "line1": "Dock 4", "city": "Hull", "country": "GB", "is_default_shipping": true}
    ]);
    let (status, acc) = patch(&app, &path, &mgr, json!({"website": null, "addresses": two})).await;
    assert_eq!(status, 200, "{acc}");
    assert!(acc["website"].is_null());
    assert_eq!(acc["industry"], "Food wholesale", "absent fields stay");
    assert_eq!(acc["external_ids"], json!([{"system": "erp", "id": "C-1001"}]));
    let flags: Vec<(bool, bool)> = acc["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["is_default_billing"].as_bool().unwrap(), a["is_default_shipping"].as_bool().unwrap()))
        .collect();
    assert_eq!(flags, [(true, false), (false, true)]);
    let (_, acc) = patch(&app, &path, &mgr, json!({"payment_terms_id": null, "external_ids": []})).await;
    assert!(acc["payment_terms_id"].is_null() && acc["external_ids"] == json!([]));

    // Found by external id; the id belongs to one account.
    let (_, acc) = patch(&app, &path, &mgr, json!({"external_ids": [{"system": "erp", "id": "C-1001"}]})).await;
    let (_, found) = json(app.get("/api/v1/accounts?external_id=erp:C-1001", &mgr).await).await;
    assert_eq!(ids(&found), [acc["id"].as_str().unwrap()]);
    assert_eq!(app.get("/api/v1/accounts?external_id=nocolon", &mgr).await.status(), 422);
    let (status, p) = json(
        app.post(
            "/api/v1/accounts",
            &mgr,
            &json!({"name": "Other", "external_ids": [{"system": "ERP", "id": "C-1001"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 409, "{p}");

    // Payment terms an account uses cannot be deleted.
    let (_, acc) = patch(&app, &path, &mgr, json!({"payment_terms_id": net30})).await;
    assert_eq!(acc["payment_terms_id"], net30);
    let admin = app.user("admin@example.com", "admin").await;
    let (status, p) = delete(&app, &format!("/api/v1/payment-terms/{}", net30.as_str().unwrap()), &admin).await;
    assert_eq!(status, 409, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("1 account(s) use them"), "{p}");
}

async fn likely_duplicates_are_answered_with_the_candidates_and_their_reasons(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let acme = made(
        &app,
        "/api/v1/accounts",
        &mgr,
        json!({"name": "Acme, Inc.", "website": "www.acme.example", "tax_id": "GB 123 456 789", "phone": "+44 20 7946 0958"}),
    )
    .await;
    let before = app.log_counts().await;
    for (body, reason) in [
        (json!({"name": "ACME Ltd"}), "same_name"),
        (json!({"name": "Road Runner", "website": "https://acme.example/shop"}), "same_domain"),
        (json!({"name": "Road Runner", "tax_id": "gb123456789"}), "same_tax_id"),
        (json!({"name": "Road Runner", "phone": "020 7946 0958"}), "same_phone"),
    ] {
        let (status, p) = json(app.post("/api/v1/accounts", &mgr, &body).await).await;
        assert_eq!(status, 409, "{body}: {p}");
        assert_eq!(p["code"], "likely_duplicate");
        assert_eq!(p["candidates"][0]["id"], acme.as_str());
        assert_eq!(p["candidates"][0]["name"], "Acme, Inc.");
        assert_eq!(p["candidates"][0]["reasons"], json!([reason]), "{body}");
        assert!(p["detail"].as_str().unwrap().contains("allow_duplicate"), "{p}");
    }
    assert_eq!(app.log_counts().await, before, "nothing was created");
    let (status, p) =
        json(app.post("/api/v1/accounts", &mgr, &json!({"name": "ACME LTD", "phone": "07946 0958"})).await).await;
    assert_eq!(p["candidates"][0]["reasons"], json!(["same_name", "same_phone"]), "{status} {p}");
    // Invalid input is a 422 before it is a duplicate.
    let f = refused_field(&app, Method::POST, "/api/v1/accounts", &mgr, json!({"name": "Acme", "website": "?"})).await;
    assert_eq!(f, "website");
    // Saying so creates it anyway.
    made(&app, "/api/v1/accounts", &mgr, json!({"name": "Acme Ltd", "allow_duplicate": true})).await;

    // The web domain of a new account matches the e-mail domain of another account's contacts.
    let globex = made(&app, "/api/v1/accounts", &mgr, json!({"name": "Globex"})).await;
    made(
        &app,
        "/api/v1/contacts",
        &mgr,
        json!({"account_id": globex, "last_name": "Lee", "emails": ["lee@globex.example"]}),
    )
    .await;
    let (status, p) =
        json(app.post("/api/v1/accounts", &mgr, &json!({"name": "GX Trading", "website": "globex.example"})).await)
            .await;
    assert_eq!(status, 409);
    assert_eq!(p["candidates"][0]["id"], globex.as_str());
    assert_eq!(p["candidates"][0]["reasons"], json!(["same_domain"]));

    // A rep is told of a duplicate they may not see, without its name.
    let rep = app.user("rep@example.com", "sales_rep").await;
    let (status, p) = json(app.post("/api/v1/accounts", &rep, &json!({"name": "Globex GmbH"})).await).await;
    assert_eq!(status, 409);
    assert!(p.get("candidates").is_none(), "{p}");
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("1 account(s) you may not see") && !detail.contains("Globex (the"), "{detail}");
}

async fn contacts_have_one_primary_per_account_and_checked_fields(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let acme = made(&app, "/api/v1/accounts", &mgr, json!({"name": "Acme"})).await;
    let new = |last: &str, extra: Value| {
        let mut b = json!({"account_id": acme, "first_name": "Pat", "last_name": last});
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    let (status, a) = json(
        app.post(
            "/api/v1/contacts",
            &mgr,
            &new(
                "Abel",
                json!({"title": "Buyer", "emails": ["Pat.Abel@Acme.example", "pat@home.example"],
                    "phones": [{"label": "mobile", "number": "+44 7700 900123"}],
                    "address": {"line1": "1 Main St", "city": "Leeds", "country": "gb"}}),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["is_primary"], true, "the first contact is primary");
    assert_eq!(a["email"], "Pat.Abel@acme.example", "the first e-mail, its domain lower-cased");
    assert_eq!(a["phone"], "+44 7700 900123");
    assert_eq!(a["address"]["country"], "GB");
    assert_eq!(a["marketing_consent"], false);
    let b = made(&app, "/api/v1/contacts", &mgr, new("Baker", json!({"is_primary": false}))).await;
    let (_, c) = json(app.post("/api/v1/contacts", &mgr, &new("Cole", json!({"is_primary": true}))).await).await;
    assert_eq!(c["is_primary"], true);
    let primaries = |list: &Value| -> Vec<String> {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["is_primary"] == true)
            .map(|c| c["last_name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, list) = json(app.get(&format!("/api/v1/accounts/{acme}/contacts"), &mgr).await).await;
    assert_eq!(primaries(&list), ["Cole"], "making another primary un-marks the old one");
    let a_id = a["id"].as_str().unwrap();
    let (_, a_now) = json(app.get(&format!("/api/v1/contacts/{a_id}"), &mgr).await).await;
    assert_eq!(a_now["version"], 2, "the old primary changed too");
    let (status, _) = delete(&app, &format!("/api/v1/contacts/{}", c["id"].as_str().unwrap()), &mgr).await;
    assert_eq!(status, 204);
    let (_, list) = json(app.get(&format!("/api/v1/accounts/{acme}/contacts"), &mgr).await).await;
    assert_eq!(primaries(&list), ["Abel"], "deleting the primary promotes the oldest remaining");
    let (status, p) = patch(&app, &format!("/api/v1/contacts/{a_id}"), &mgr, json!({"is_primary": false})).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("is_primary")), "{p}");

    // Consent needs a source, and records the time.
    let path = format!("/api/v1/contacts/{b}");
    assert_eq!(
        refused_field(&app, Method::PATCH, &path, &mgr, json!({"marketing_consent": true})).await,
        "consent_source"
    );
    let (status, bc) = patch(&app, &path, &mgr, json!({"marketing_consent": true, "consent_source": "web form"})).await;
    assert_eq!(status, 200, "{bc}");
    assert_eq!(bc["consent_source"], "web form");
    assert!(bc["consent_at"].as_str().unwrap().starts_with("20"), "{bc}");
    let (_, given) = json(
        app.post(
            "/api/v1/contacts",
            &mgr,
            &new("Dunn", json!({"marketing_consent": true, "consent_source": "trade fair", "consent_at": "2025-10-01T09:00:00Z"})),
        )
        .await,
    )
    .await;
    assert_eq!(given["consent_at"], "2025-10-01T09:00:00Z");

    // Every field a 422 names.
    let old = made(&app, "/api/v1/accounts", &mgr, json!({"name": "Old Co"})).await;
    patch(&app, &format!("/api/v1/accounts/{old}"), &mgr, json!({"archived": true})).await;
    for (body, field) in [
        (new("X", json!({"emails": ["ok@x.example", "not-an-email"]})), "emails[1]"),
        (new("X", json!({"phones": [{"number": "abc"}]})), "phones[0].number"),
        (new("X", json!({"address": {"line1": "1", "city": "L", "country": "ZZ"}})), "address.country"),
        (new("X", json!({"consent_at": "yesterday"})), "consent_at"),
        (json!({"account_id": acme, "first_name": " ", "last_name": ""}), "last_name"),
        (json!({"account_id": "01a209b3-6682-76e2-a05a-79ba0311227c", "last_name": "X"}), "account_id"),
        (json!({"account_id": old, "last_name": "X"}), "account_id"),
        (json!({"last_name": "X"}), "account_id"),
        (new("X", json!({"shoe_size": 9})), "shoe_size"),
    ] {
        assert_eq!(refused_field(&app, Method::POST, "/api/v1/contacts", &mgr, body.clone()).await, field, "{body}");
    }
    let (status, p) = patch(&app, &path, &mgr, json!({"account_id": old})).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("account_id")), "moving to an archived account");
    assert!(p["detail"].as_str().unwrap().contains("archived"));

    // List filters: account, e-mail (ignoring case), changed since.
    let (_, by_mail) = json(app.get("/api/v1/contacts?email=PAT.ABEL@ACME.EXAMPLE", &mgr).await).await;
    assert_eq!(ids(&by_mail), [a_id]);
    let (_, since) = json(app.get("/api/v1/contacts?updated_since=2999-01-01T00:00:00Z", &mgr).await).await;
    assert!(ids(&since).is_empty());
    let (_, all) = json(app.get(&format!("/api/v1/contacts?account_id={acme}&limit=2"), &mgr).await).await;
    assert_eq!(ids(&all).len(), 2);
    assert!(all["next"].is_string(), "paged");
    for bad in
        ["/api/v1/contacts?account_id=nope", "/api/v1/contacts?updated_since=soon", "/api/v1/contacts?colour=red"]
    {
        assert_eq!(app.get(bad, &mgr).await.status(), 422, "{bad}");
    }

    // An account with contacts cannot be deleted: archive it instead.
    let (status, p) = delete(&app, &format!("/api/v1/accounts/{acme}"), &mgr).await;
    assert_eq!(status, 409, "{p}");
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("3 contact(s)") && detail.contains("archive it instead"), "{detail}");
    let lonely = made(&app, "/api/v1/accounts", &mgr, json!({"name": "Lonely"})).await;
    assert_eq!(delete(&app, &format!("/api/v1/accounts/{lonely}"), &mgr).await.0, 204);
}

async fn a_rep_sees_only_the_contacts_of_their_own_accounts(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let rob = app.user("rob@example.com", "sales_rep").await;
    let sara = app.user("sara@example.com", "sales_rep").await;
    let robs =
        made(&app, "/api/v1/accounts", &mgr, json!({"name": "Rob's", "owner_id": rob.user.id.to_string()})).await;
    let saras =
        made(&app, "/api/v1/accounts", &mgr, json!({"name": "Sara's", "owner_id": sara.user.id.to_string()})).await;
    let mine = made(
        &app,
        "/api/v1/contacts",
        &rob,
        json!({"account_id": robs, "last_name": "Mine", "emails": ["m@x.example"]}),
    )
    .await;
    let hers = made(
        &app,
        "/api/v1/contacts",
        &sara,
        json!({"account_id": saras, "last_name": "Hers", "emails": ["h@x.example"]}),
    )
    .await;
    let (_, list) = json(app.get("/api/v1/contacts", &rob).await).await;
    assert_eq!(ids(&list), [mine.as_str()]);
    let (_, list) = json(app.get("/api/v1/contacts?email=h@x.example", &rob).await).await;
    assert!(ids(&list).is_empty());
    assert_eq!(app.get(&format!("/api/v1/contacts/{hers}"), &rob).await.status(), 404);
    assert_eq!(app.get(&format!("/api/v1/accounts/{saras}/contacts"), &rob).await.status(), 404);
    assert_eq!(patch(&app, &format!("/api/v1/contacts/{hers}"), &rob, json!({"title": "x"})).await.0, 404);
    assert_eq!(delete(&app, &format!("/api/v1/contacts/{hers}"), &rob).await.0, 404);
    let f = refused_field(&app, Method::POST, "/api/v1/contacts", &rob, json!({"account_id": saras, "last_name": "X"}))
        .await;
    assert_eq!(f, "account_id", "another rep's account is an unknown one");
    let f = refused_field(&app, Method::PATCH, &format!("/api/v1/contacts/{mine}"), &rob, json!({"account_id": saras}))
        .await;
    assert_eq!(f, "account_id");
    assert_eq!(app.get(&format!("/api/v1/contacts?account_id={saras}"), &rob).await.status(), 422);
    let csv = app.get("/api/v1/contacts?format=csv", &rob).await.text().await.unwrap();
    assert!(csv.contains("Mine") && !csv.contains("Hers"), "{csv}");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    let csv = app.get("/api/v1/contacts?format=csv", &mgr).await.text().await.unwrap();
    assert_eq!(csv.lines().count(), 3, "the manager exports both: {csv}");
    assert!(csv.starts_with("account,first_name,last_name,title,emails,phones,address_label"), "{csv}");
}

async fn the_account_export_honours_filters_scope_and_field_security(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let rob = app.user("rob@example.com", "sales_rep").await;
    let body = json!({"name": "Rob's Customer", "owner_id": rob.user.id.to_string(), "credit_limit": "4321.00",
        "tags": ["vip", "north"], "external_ids": [{"system": "erp", "id": "C-7"}],
        "addresses": [{"line1": "1 Main St", "city": "Leeds", "country": "GB"}]});
    made(&app, "/api/v1/accounts", &mgr, body).await;
    made(&app, "/api/v1/accounts", &mgr, json!({"name": "Someone Else's", "credit_limit": "999.00"})).await;
    made(
        &app,
        "/api/v1/accounts",
        &mgr,
        json!({"name": "A Supplier", "kinds": ["supplier"], "owner_id": rob.user.id.to_string()}),
    )
    .await;

    let r = app.get("/api/v1/accounts?format=csv", &mgr).await;
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = r.text().await.unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.starts_with("name,kinds,currency,credit_limit,payment_terms"), "{header}");
    assert!(header.ends_with("address_country,external_ids"), "{header}");
    assert!(csv.contains("4321.00") && csv.contains("999.00"));
    assert!(csv.contains("vip; north") && csv.contains("erp:C-7") && csv.contains("rob@example.com"), "{csv}");

    let csv = app.get("/api/v1/accounts?format=csv", &rob).await.text().await.unwrap();
    assert!(!csv.lines().next().unwrap().contains("credit_limit"), "no credit limit column for a rep");
    assert!(!csv.contains("4321.00") && !csv.contains("Someone Else's"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "the rep's two accounts: {csv}");
    let csv = app.get("/api/v1/accounts?format=csv&kind=supplier", &rob).await.text().await.unwrap();
    assert_eq!(csv.lines().count(), 2, "filters apply: {csv}");
    assert!(csv.contains("A Supplier"));
    assert_eq!(app.get("/api/v1/accounts?format=xml", &rob).await.status(), 422);
}

async fn the_account_form_creates_warns_of_duplicates_and_edits_addresses(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let cookie = session(&app, "mgr@example.com").await;
    let (status, html) = page(&app, &cookie, "/accounts/new").await;
    assert_eq!(status, 200);
    for field in
        ["name=\"industry\"", "name=\"website\"", "name=\"phone\"", "name=\"payment_terms_id\"", "name=\"notes\""]
    {
        assert!(html.contains(field), "{field}");
    }
    assert!(html.contains("Net 30"), "the payment terms to choose from");
    let (_, terms) = json(app.get("/api/v1/payment-terms", &mgr).await).await;
    let net14 = terms["data"].as_array().unwrap().iter().find(|t| t["name"] == "Net 14").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let fields = vec![
        ("name", "Birch Builders Ltd"),
        ("kinds", "customer"),
        ("currency", "GBP"),
        ("industry", "Construction"),
        ("website", "birch.example"),
        ("phone", "+44 113 496 0000"),
        ("payment_terms_id", net14.as_str()),
        ("notes", "Site deliveries only."),
        ("address_label", "Yard"),
        ("address_line1", "4 Mill Lane"),
        ("address_line2", ""),
        ("address_city", "Leeds"),
        ("address_region", ""),
        ("address_postal_code", "LS1 4AB"),
        ("address_country", "gb"),
        ("address_label", ""),
        ("address_line1", ""),
        ("address_line2", ""),
        ("address_city", ""),
        ("address_region", ""),
        ("address_postal_code", ""),
        ("address_country", ""),
    ];
    let (status, location, _) = form(&app, &cookie, "/accounts", &fields).await;
    assert_eq!(status, 303);
    let id = location.strip_prefix("/accounts/").unwrap().to_string();
    let (_, acc) = json(app.get(&format!("/api/v1/accounts/{id}"), &mgr).await).await;
    assert_eq!(
        (acc["industry"].as_str(), acc["payment_terms_id"].as_str()),
        (Some("Construction"), Some(net14.as_str()))
    );
    assert_eq!(acc["addresses"].as_array().unwrap().len(), 1, "the empty row is dropped");
    assert_eq!(acc["addresses"][0]["is_default_billing"], true);
    let (_, html) = page(&app, &cookie, &location).await;
    assert!(html.contains("4 Mill Lane") && html.contains("default billing") && html.contains("Net 14"), "{html}");

    // The same company again: the form comes back listing it, until told to create it anyway.
    let again = [("name", "BIRCH BUILDERS"), ("kinds", "customer"), ("currency", "GBP")];
    let (status, _, html) = form(&app, &cookie, "/accounts", &again).await;
    assert_eq!(status, 422);
    assert!(html.contains("Likely duplicates") && html.contains(&format!("/accounts/{id}")), "{html}");
    assert!(html.contains("the same name") && html.contains("name=\"allow_duplicate\""), "{html}");
    let mut anyway = again.to_vec();
    anyway.push(("allow_duplicate", "1"));
    assert_eq!(form(&app, &cookie, "/accounts", &anyway).await.0, 303);

    // Editing: a second address becomes the shipping default; a stale form is refused.
    let (status, html) = page(&app, &cookie, &format!("/accounts/{id}/edit")).await;
    assert_eq!(status, 200);
    assert!(html.contains("value=\"4 Mill Lane\"") && html.contains("name=\"version\" value=\"1\""), "{html}");
    let edit = [
        ("version", "1"),
        ("name", "Birch Builders Ltd"),
        ("kinds", "customer"),
        ("currency", "GBP"),
        ("tax_treatment", "standard"),
        ("payment_terms_id", net14.as_str()),
        ("address_label", "Yard"),
        ("address_line1", "4 Mill Lane"),
        ("address_city", "Leeds"),
        ("address_country", "GB"),
        ("address_label", "Site"),
        ("address_line1", "Plot 9"),
        ("address_city", "York"),
        ("address_country", "GB"),
        ("billing", "0"),
        ("shipping", "1"),
    ];
    let (status, _, html) = form(&app, &cookie, &format!("/accounts/{id}"), &edit).await;
    assert_eq!(status, 303, "{html}");
    let (_, acc) = json(app.get(&format!("/api/v1/accounts/{id}"), &mgr).await).await;
    assert_eq!(acc["addresses"][1]["is_default_shipping"], true);
    assert_eq!(acc["addresses"][0]["is_default_shipping"], false);
    assert_eq!(acc["industry"], Value::Null, "the form's empty field clears it");
    let (status, _, html) = form(&app, &cookie, &format!("/accounts/{id}"), &edit).await;
    assert_eq!(status, 422);
    assert!(html.contains("Someone else changed this record"), "{html}");
    let mut bad = edit.to_vec();
    bad[0] = ("version", "2");
    bad[13] = ("address_country", "XX");
    let (status, _, html) = form(&app, &cookie, &format!("/accounts/{id}"), &bad).await;
    assert_eq!(status, 422);
    assert!(html.contains("Row 2, country: must be an ISO 3166-1 alpha-2 country code"), "{html}");
}

async fn contacts_are_listed_on_their_account_and_made_on_its_page(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let acme = made(&app, "/api/v1/accounts", &mgr, json!({"name": "Acme", "owner_id": rep.user.id.to_string()})).await;
    let other = made(&app, "/api/v1/accounts", &mgr, json!({"name": "Other"})).await;
    let cookie = session(&app, "rep@example.com").await;
    let (status, html) = page(&app, &cookie, &format!("/accounts/{acme}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("No contacts.") && html.contains(&format!("/accounts/{acme}/contacts/new")), "{html}");
    assert_eq!(page(&app, &cookie, &format!("/accounts/{other}/contacts/new")).await.0, 404, "not the rep's account");
    let (status, _) = page(&app, &cookie, &format!("/accounts/{acme}/contacts/new")).await;
    assert_eq!(status, 200);
    let path = format!("/accounts/{acme}/contacts");
    let mut fields = vec![
        ("first_name", "Ann"),
        ("last_name", "Lee"),
        ("title", "Head of purchasing"),
        ("emails", "ann.lee@acme.example\nnot an address"),
        ("phone_label", "office"),
        ("phone_number", "+44 20 7946 0000"),
        ("marketing_consent", "1"),
        ("consent_source", ""),
    ];
    let (status, _, html) = form(&app, &cookie, &path, &fields).await;
    assert_eq!(status, 422);
    assert!(html.contains("Row 2: is not a valid e-mail address"), "{html}");
    assert!(html.contains("is required when marketing_consent is true"), "{html}");
    assert!(html.contains("value=\"Head of purchasing\""), "what was typed is kept");
    let (_, list) = json(app.get(&format!("/api/v1/accounts/{acme}/contacts"), &mgr).await).await;
    assert!(ids(&list).is_empty(), "nothing was stored");
    fields[3] = ("emails", "ann.lee@acme.example");
    fields[7] = ("consent_source", "trade fair");
    let (status, location, html) = form(&app, &cookie, &path, &fields).await;
    assert_eq!(status, 303, "{html}");
    let (_, html) = page(&app, &cookie, &location).await;
    assert!(html.contains("Ann Lee") && html.contains("primary") && html.contains("trade fair"), "{html}");
    let (_, html) = page(&app, &cookie, &format!("/accounts/{acme}")).await;
    assert!(html.contains("Ann Lee") && html.contains("ann.lee@acme.example"), "{html}");

    // The edit form keeps the version and the consent's time.
    let cid = location.strip_prefix("/contacts/").unwrap().to_string();
    let (_, before) = json(app.get(&format!("/api/v1/contacts/{cid}"), &mgr).await).await;
    let (status, html) = page(&app, &cookie, &format!("/contacts/{cid}/edit")).await;
    assert_eq!(status, 200);
    assert!(html.contains("value=\"trade fair\""));
    let edit = [
        ("version", "1"),
        ("first_name", "Ann"),
        ("last_name", "Lee-Smith"),
        ("emails", "ann.lee@acme.example"),
        ("is_primary", "1"),
        ("marketing_consent", "1"),
        ("consent_source", "trade fair"),
    ];
    let (status, _, _) = form(&app, &cookie, &format!("/contacts/{cid}"), &edit).await;
    assert_eq!(status, 303);
    let (_, after) = json(app.get(&format!("/api/v1/contacts/{cid}"), &mgr).await).await;
    assert_eq!(after["last_name"], "Lee-Smith");
    assert_eq!(after["consent_at"], before["consent_at"], "the same consent keeps its time");
    let (status, _, html) = form(&app, &cookie, &format!("/contacts/{cid}"), &edit).await;
    assert_eq!(status, 422);
    assert!(html.contains("Someone else changed this record"));
    // Another rep sees none of it.
    app.user("sam@example.com", "sales_rep").await;
    let sam = session(&app, "sam@example.com").await;
    assert_eq!(page(&app, &sam, &format!("/contacts/{cid}")).await.0, 404);
    assert_eq!(page(&app, &sam, &format!("/contacts/{cid}/edit")).await.0, 404);
}

both_backends!(
    accounts_keep_their_new_fields_addresses_and_external_ids,
    likely_duplicates_are_answered_with_the_candidates_and_their_reasons,
    contacts_have_one_primary_per_account_and_checked_fields,
    a_rep_sees_only_the_contacts_of_their_own_accounts,
    the_account_export_honours_filters_scope_and_field_security,
    the_account_form_creates_warns_of_duplicates_and_edits_addresses,
    contacts_are_listed_on_their_account_and_made_on_its_page,
);
