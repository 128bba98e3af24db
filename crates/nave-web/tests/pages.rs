//! The web pages over real HTTP: login, session cookie, CSRF, rate limit,
//! field security on pages, and every page rendering for every role.

mod support;

use nave_domain::access::BuiltinRole;
use nave_testkit::{TestDb, both_backends};
use serde_json::json;
use support::{PASSWORD, TestApp, cookie_pair};

async fn logging_in_sets_a_safe_session_cookie_and_logging_out_ends_it(db: TestDb) {
    let app = TestApp::start(db).await;
    app.user("ann@example.com", "sales_rep").await;
    let r = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers().get("location").unwrap(), "/");
    let set = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(set.starts_with("nave_session="), "{set}");
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Lax"), "{set}");
    assert!(set.contains("Path=/"), "{set}");
    assert!(!set.contains("Secure"), "plain HTTP: no Secure flag ({set})");
    let cookie = cookie_pair(&set);

    let home = app.client.get(app.url("/")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let csp = home.headers().get("content-security-policy").unwrap().to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self' 'nonce-"), "{csp}");
    let html = home.text().await.unwrap();
    assert!(html.contains("ann"), "the current user is shown");
    assert!(html.contains("Log out"));
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "scripts carry this response's nonce");

    let out = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .header("origin", format!("http://{}", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(out.headers().get("set-cookie").unwrap().to_str().unwrap().contains("Max-Age=0"));
    let after = app.client.get(app.url("/")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(after.status(), 303, "the old session no longer works");
    assert!(after.headers().get("location").unwrap().to_str().unwrap().starts_with("/login"));
}

async fn the_cookie_is_secure_behind_https(db: TestDb) {
    let app = TestApp::start(db).await;
    app.user("ann@example.com", "sales_rep").await;
    let r = app
        .client
        .post(app.url("/login"))
        .header("x-forwarded-proto", "https")
        .form(&[("email", "ann@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers().get("set-cookie").unwrap().to_str().unwrap().contains("; Secure"));
}

async fn a_cross_site_form_post_is_refused_and_stores_nothing(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let set = app
        .login("admin@example.com", PASSWORD)
        .await
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let cookie = cookie_pair(&set);
    let r = app
        .client
        .post(app.url("/accounts"))
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("name", "Evil Corp"), ("kinds", "customer"), ("currency", "USD")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Cross-site request refused"));
    let (_, list) = support::json(app.get("/api/v1/accounts", &admin).await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    // The same post from the app's own origin works.
    let r = app
        .client
        .post(app.url("/accounts"))
        .header("cookie", &cookie)
        .header("origin", format!("http://{}", app.addr))
        .header("sec-fetch-site", "same-origin")
        .form(&[("name", "Good Corp"), ("kinds", "customer"), ("kinds", "supplier"), ("currency", "USD")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, list) = support::json(app.get("/api/v1/accounts", &admin).await).await;
    assert_eq!(list["data"][0]["kinds"], json!(["customer", "supplier"]));
}

async fn repeated_failed_logins_are_rate_limited(db: TestDb) {
    let app = TestApp::start(db).await;
    app.user("ann@example.com", "sales_rep").await;
    for _ in 0..5 {
        let r = app.login("ann@example.com", "wrong password!").await;
        assert_eq!(r.status(), 401);
        let html = r.text().await.unwrap();
        assert!(html.contains("do not match"), "a readable message");
        assert!(html.contains("value=\"ann@example.com\""), "the form keeps the e-mail");
    }
    let r = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(r.status(), 429, "even the right password waits once the limit is reached");
    assert!(r.headers().get("retry-after").is_some());
    // Another user from the same client is not locked out.
    app.user("bob@example.com", "sales_rep").await;
    assert_eq!(app.login("bob@example.com", PASSWORD).await.status(), 303);
}

async fn a_form_error_keeps_the_input_and_names_the_field(db: TestDb) {
    let app = TestApp::start(db).await;
    app.user("admin@example.com", "admin").await;
    let set = app
        .login("admin@example.com", PASSWORD)
        .await
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let r = app
        .client
        .post(app.url("/accounts"))
        .header("cookie", cookie_pair(&set))
        .form(&[("name", "Keeps Me"), ("currency", "USD"), ("credit_limit", "12.345")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("value=\"Keeps Me\""));
    assert!(html.contains("class=\"field-error\""), "{html}");
    assert!(html.contains("more decimal places"), "the credit limit's error is shown");
}

async fn every_page_renders_for_every_role_and_reps_never_see_credit_limits(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let (_, acc) =
        support::json(app.post("/api/v1/accounts", &admin, &json!({"name": "Shared", "credit_limit": "777.00"})).await)
            .await;
    let acc_path = format!("/accounts/{}", acc["id"].as_str().unwrap());
    for &role in BuiltinRole::ALL {
        let email = format!("{}.user@example.com", role.as_str());
        let who = app.user(&email, role.as_str()).await;
        // Give each user an account of their own, with a credit limit.
        let (_, own) = support::json(
            app.post("/api/v1/accounts", &admin, &json!({"name": format!("{role} account"), "owner_id": who.user.id.to_string(), "credit_limit": "4321.00"})).await,
        )
        .await;
        let set = app.login(&email, PASSWORD).await.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
        let cookie = cookie_pair(&set);
        let own_path = format!("/accounts/{}", own["id"].as_str().unwrap());
        let (_, contact) = support::json(
            app.post("/api/v1/contacts", &admin, &json!({"account_id": own["id"], "last_name": "Lee"})).await,
        )
        .await;
        let contact_path = format!("/contacts/{}", contact["id"].as_str().unwrap());
        let (edit_path, new_contact_path, contact_edit_path) =
            (format!("{own_path}/edit"), format!("{own_path}/contacts/new"), format!("{contact_path}/edit"));
        for path in [
            "/",
            "/accounts",
            "/accounts/new",
            "/settings/tokens",
            "/admin/users",
            own_path.as_str(),
            acc_path.as_str(),
            edit_path.as_str(),
            new_contact_path.as_str(),
            contact_path.as_str(),
            contact_edit_path.as_str(),
            "/no/such/page",
        ] {
            let r = app.client.get(app.url(path)).header("cookie", &cookie).send().await.unwrap();
            let status = r.status().as_u16();
            let html = r.text().await.unwrap();
            assert!(status < 500, "{role} {path}: {status}");
            assert!(html.contains("</html>"), "{role} {path}: a whole page");
            let sees = matches!(
                role,
                BuiltinRole::Admin | BuiltinRole::SalesManager | BuiltinRole::OrderDesk | BuiltinRole::Accounting
            );
            if !sees {
                assert!(!html.contains("4321.00") && !html.contains("777.00"), "{role} {path} shows a credit limit");
                assert!(!html.contains("Credit limit"), "{role} {path} shows the credit limit column");
            }
        }
    }
}

async fn an_unauthenticated_page_request_goes_to_the_login(db: TestDb) {
    let app = TestApp::start(db).await;
    let r = app.client.get(app.url("/accounts?kind=customer")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers().get("location").unwrap(), "/login?next=%2Faccounts%3Fkind%3Dcustomer");
    let r = app.client.get(app.url("/login?next=//evil.example")).send().await.unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("name=\"next\" value=\"/\""), "no open redirect");
    let css = app.client.get(app.url("/assets/app.css")).send().await.unwrap();
    assert_eq!(css.status(), 200);
    let js = app.client.get(app.url("/assets/vendor/htmx-2.0.11.min.js")).send().await.unwrap();
    assert_eq!(js.status(), 200);
}

both_backends!(
    logging_in_sets_a_safe_session_cookie_and_logging_out_ends_it,
    the_cookie_is_secure_behind_https,
    a_cross_site_form_post_is_refused_and_stores_nothing,
    repeated_failed_logins_are_rate_limited,
    a_form_error_keeps_the_input_and_names_the_field,
    every_page_renders_for_every_role_and_reps_never_see_credit_limits,
    an_unauthenticated_page_request_goes_to_the_login,
);
