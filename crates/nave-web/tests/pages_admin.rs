//! The access admin pages over plain HTTP, on both databases: an admin makes
//! a team, a custom role with permissions and field security, and a user in
//! both through the forms; the user logs in and sees what the role allows
//! (and no cost without the capability); refusals are shown next to their
//! field with the input kept; and nobody else reaches the pages.

mod support;

use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{TestApp, created, form, get_ok, json, page, session};

/// The API's view of the user with `email`.
async fn user_by_email(app: &TestApp, who: &support::TestUser, email: &str) -> Value {
    let list = get_ok(app, who, "/api/v1/users").await;
    list["data"].as_array().unwrap().iter().find(|u| u["email"] == email).cloned().unwrap_or(Value::Null)
}

async fn an_admin_manages_teams_roles_and_users_from_the_pages(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let cookie = session(&app, "admin@example.com").await;

    // A team.
    let (status, to, _) = form(&app, &cookie, "/admin/teams", &[("name", "North")]).await;
    assert_eq!((status, to.as_str()), (303, "/admin/teams"));
    let teams = get_ok(&app, &admin, "/api/v1/teams").await;
    let north = teams["data"].as_array().unwrap().iter().find(|t| t["name"] == "North").unwrap().clone();
    let (_, html) = page(&app, &cookie, "/admin/teams").await;
    assert!(html.contains("value=\"North\""), "the team is listed with its rename form");
    // A blank name is refused with a message, and nothing is made.
    let (status, _, html) = form(&app, &cookie, "/admin/teams", &[("name", "  ")]).await;
    assert_eq!(status, 422);
    assert!(html.contains("field-error"), "{html}");
    assert_eq!(get_ok(&app, &admin, "/api/v1/teams").await["data"].as_array().unwrap().len(), 1);

    // A custom role: accounts of the team, products read, and margins but no costs.
    let fields = [
        ("name", "north_rep"),
        ("description", "Sells to the North team's accounts"),
        ("perm.account.read", "team"),
        ("perm.account.update", "team"),
        ("perm.product.read", "all"),
        ("perm.invoice.read", "team"),
        ("capability", "view_margin"),
    ];
    let (status, to, body) = form(&app, &cookie, "/admin/roles", &fields).await;
    assert_eq!(status, 303, "{body}");
    assert!(to.starts_with("/admin/roles/"), "{to}");
    let (status, html) = page(&app, &cookie, &to).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"perm.account.read\""), "a custom role is editable");
    let role = get_ok(&app, &admin, &format!("/api/v1{}", to.trim_start_matches("/admin"))).await;
    let perms = role["permissions"].as_array().unwrap();
    assert!(perms.contains(&json!({"record_type": "account", "action": "read", "scope": "team"})), "{role}");
    assert!(perms.contains(&json!({"record_type": "product", "action": "read", "scope": "all"})), "{role}");
    assert_eq!(role["capabilities"], json!(["view_margin"]));
    // A bad scope is refused next to its cell, keeping the name typed.
    let (status, _, html) =
        form(&app, &cookie, "/admin/roles", &[("name", "broken"), ("perm.account.read", "everyone")]).await;
    assert_eq!(status, 422);
    assert!(html.contains("must be own, team or all"), "{html}");
    assert!(html.contains("value=\"broken\""));
    // Built-in roles are shown, not editable.
    let roles = get_ok(&app, &admin, "/api/v1/roles").await;
    let rep_role = roles["data"].as_array().unwrap().iter().find(|r| r["name"] == "sales_rep").unwrap().clone();
    let (status, html) = page(&app, &cookie, &format!("/admin/roles/{}", rep_role["id"].as_str().unwrap())).await;
    assert_eq!(status, 200);
    assert!(html.contains("Built-in roles cannot be changed") && !html.contains("name=\"perm.account.read\""));
    let (status, _, _) = form(
        &app,
        &cookie,
        &format!("/admin/roles/{}", rep_role["id"].as_str().unwrap()),
        &[("version", &rep_role["version"].to_string()), ("perm.user.read", "all")],
    )
    .await;
    assert!(status == 403 || status == 422, "a built-in role cannot be changed: {status}");

    // A user in the team with the role; a bad e-mail first, shown by its field with the rest kept.
    let north_id = north["id"].as_str().unwrap();
    let mut user = vec![
        ("name", "Nora North"),
        ("email", "not-an-email"),
        ("role", "north_rep"),
        ("team_id", north_id),
        ("locale", "en-GB"),
        ("password", "a long enough password"),
        ("active", "true"),
    ];
    let (status, _, html) = form(&app, &cookie, "/admin/users", &user).await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"email-err\""), "{html}");
    assert!(html.contains("value=\"Nora North\""), "the name typed is kept");
    assert!(user_by_email(&app, &admin, "not-an-email").await.is_null());
    user[1] = ("email", "nora@example.com");
    let (status, to, body) = form(&app, &cookie, "/admin/users", &user).await;
    assert_eq!((status, to.as_str()), (303, "/admin/users"), "{body}");
    let nora = user_by_email(&app, &admin, "nora@example.com").await;
    assert_eq!((nora["role"].as_str(), nora["team_id"].as_str()), (Some("north_rep"), Some(north_id)));
    assert_eq!(nora["locale"], "en-GB");

    // Nora logs in with the password the admin set and sees margins but not costs.
    let r = app.login("nora@example.com", "a long enough password").await;
    assert_eq!(r.status().as_u16(), 303, "Nora logs in");
    let nora_cookie = support::cookie_pair(r.headers().get("set-cookie").unwrap().to_str().unwrap());
    created(
        &app,
        &admin,
        "/api/v1/products",
        json!({"sku": "N-1", "name": "Nut", "cost": "0.1500", "list_price": "1.00"}),
    )
    .await;
    let (status, html) = page(&app, &nora_cookie, "/products").await;
    assert_eq!(status, 200);
    assert!(html.contains("N-1"));
    let (status, _) = page(&app, &nora_cookie, "/admin/users").await;
    assert_eq!(status, 403, "a non-admin never reaches the admin pages");

    // The team cannot go while Nora is in it.
    let (status, _, html) =
        form(&app, &cookie, &format!("/admin/teams/{north_id}/delete"), &[("version", &north["version"].to_string())])
            .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("still referred to"), "{html}");

    // The admin deactivates Nora (and cannot deactivate themself); Nora's login stops.
    let nora_id = nora["id"].as_str().unwrap();
    let version = nora["version"].to_string();
    let mut edit = vec![
        ("version", version.as_str()),
        ("name", "Nora North"),
        ("email", "nora@example.com"),
        ("role", "north_rep"),
        ("team_id", ""),
        ("locale", "en-GB"),
    ];
    let (status, to, body) = form(&app, &cookie, &format!("/admin/users/{nora_id}"), &edit).await;
    assert_eq!((status, to.as_str()), (303, "/admin/users"), "{body}");
    let nora = user_by_email(&app, &admin, "nora@example.com").await;
    assert_eq!((nora["active"].as_bool(), nora["team_id"].as_str()), (Some(false), None));
    assert_ne!(app.login("nora@example.com", "a long enough password").await.status().as_u16(), 303);
    // The same form again is stale now.
    let (status, _, _) = form(&app, &cookie, &format!("/admin/users/{nora_id}"), &edit).await;
    assert_eq!(status, 409, "a stale form does not overwrite");
    edit[0] = ("version", "0");
    let me = user_by_email(&app, &admin, "admin@example.com").await;
    let me_version = me["version"].to_string();
    let mine = [
        ("version", me_version.as_str()),
        ("name", "admin"),
        ("email", "admin@example.com"),
        ("role", "admin"),
        ("locale", "en-US"),
    ];
    let (status, _, html) = form(&app, &cookie, &format!("/admin/users/{}", me["id"].as_str().unwrap()), &mine).await;
    assert_eq!(status, 422);
    assert!(html.contains("cannot deactivate yourself"), "{html}");

    // With Nora out of the team, it can go; the role she holds cannot.
    let north = get_ok(&app, &admin, &format!("/api/v1/teams/{north_id}")).await;
    let (status, to, _) =
        form(&app, &cookie, &format!("/admin/teams/{north_id}/delete"), &[("version", &north["version"].to_string())])
            .await;
    assert_eq!((status, to.as_str()), (303, "/admin/teams"));
    let role_id = role["id"].as_str().unwrap();
    let role = get_ok(&app, &admin, &format!("/api/v1/roles/{role_id}")).await;
    let (status, _, _) =
        form(&app, &cookie, &format!("/admin/roles/{role_id}/delete"), &[("version", &role["version"].to_string())])
            .await;
    assert_eq!(status, 422, "a role a user holds is not deleted");
}

async fn other_roles_see_no_admin_page_and_foreign_posts_are_refused(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    app.user("rep@example.com", "sales_rep").await;
    let rep = session(&app, "rep@example.com").await;
    // A rep may read the list of colleagues (to choose an owner), but changes nothing.
    let (status, html) = page(&app, &rep, "/admin/users").await;
    assert_eq!(status, 200);
    assert!(!html.contains("/admin/users/new"), "no New user for a rep");
    let me = admin.user.id.to_string();
    for path in ["/admin/users/new", "/admin/roles/new", &format!("/admin/users/{me}")] {
        let (status, _) = page(&app, &rep, path).await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, _, _) =
        form(&app, &rep, &format!("/admin/users/{me}"), &[("name", "Hijacked"), ("email", "rep@example.com")]).await;
    assert_eq!(status, 403);
    let (status, _, _) = form(&app, &rep, "/admin/teams", &[("name", "Rogue")]).await;
    assert_eq!(status, 403);
    // The admin's form posted from another site is refused.
    let cookie = session(&app, "admin@example.com").await;
    let r = app
        .client
        .post(app.url("/admin/teams"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .form(&[("name", "Forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let (_, teams) = json(app.get("/api/v1/teams", &admin).await).await;
    assert_eq!(teams["data"], json!([]), "no team was made");
}

both_backends!(
    an_admin_manages_teams_roles_and_users_from_the_pages,
    other_roles_see_no_admin_page_and_foreign_posts_are_refused
);
