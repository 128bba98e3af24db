//! Black-box tests of the API conventions over real HTTP, on both databases.

mod support;

use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, json};

async fn a_rep_cannot_see_another_reps_account_nor_any_credit_limit(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rob = app.user("rob@example.com", "sales_rep").await;
    let sara = app.user("sara@example.com", "sales_rep").await;
    let body = json!({"name": "Sara's Customer", "owner_id": sara.user.id.to_string(), "credit_limit": "5000.00", "currency": "EUR"});
    let (status, acc) = json(app.post("/api/v1/accounts", &admin, &body).await).await;
    assert_eq!(status, 201, "{acc}");
    assert_eq!(acc["credit_limit"], "5000.00", "an admin sees the credit limit");
    let id = acc["id"].as_str().unwrap();

    // Another rep: 404, not 403, and absent from lists.
    let (status, p) = json(app.get(&format!("/api/v1/accounts/{id}"), &rob).await).await;
    assert_eq!(status, 404, "{p}");
    assert_eq!(p["code"], "not_found");
    let (_, list) = json(app.get("/api/v1/accounts", &rob).await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    let (status, _) = json(
        app.req(Method::PATCH, &format!("/api/v1/accounts/{id}"), &rob)
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);

    // The owner sees the account, but the credit limit is absent, not blank.
    let (status, mine) = json(app.get(&format!("/api/v1/accounts/{id}"), &sara).await).await;
    assert_eq!(status, 200);
    assert!(mine.get("credit_limit").is_none(), "{mine}");
    let (_, list) = json(app.get("/api/v1/accounts", &sara).await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert!(list["data"][0].get("credit_limit").is_none());
    // Writing it is refused too.
    let (status, p) = json(
        app.req(Method::PATCH, &format!("/api/v1/accounts/{id}"), &sara)
            .json(&json!({"credit_limit": "9.00"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "credit_limit");
    let (_, me) = json(app.get("/api/v1/me", &sara).await).await;
    assert!(me["hidden_fields"].as_array().unwrap().contains(&json!("account.credit_limit")));

    // A read-only user can read the audit log and the events, without the limit in either.
    let ro = app.user("ro@example.com", "read_only").await;
    let (status, log) = json(app.get(&format!("/api/v1/audit-log?record_id={id}"), &ro).await).await;
    assert_eq!(status, 200, "{log}");
    let entry = &log["data"][0];
    assert_eq!(entry["action"], "created");
    assert!(entry["changes"].get("name").is_some());
    assert!(entry["changes"].get("credit_limit").is_none(), "{entry}");
    let (status, evs) = json(app.get("/api/v1/events?types=account", &ro).await).await;
    assert_eq!(status, 200);
    let ev = &evs["data"][0];
    assert_eq!(ev["type"], "account.created");
    assert!(ev["payload"].get("credit_limit").is_none(), "{ev}");
    let (_, evs) = json(app.get("/api/v1/events?types=account", &admin).await).await;
    assert_eq!(evs["data"][0]["payload"]["credit_limit"], "5000.00");
    // A rep may read neither.
    assert_eq!(app.get("/api/v1/events", &sara).await.status(), 403);
    assert_eq!(app.get("/api/v1/audit-log", &sara).await.status(), 403);
}

async fn a_retried_write_creates_one_record_and_returns_the_same_body(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let body = json!({"name": "Once Only"});
    let send = |key: &'static str, body: Value| {
        let r = app.req(Method::POST, "/api/v1/accounts", &admin).header("idempotency-key", key).json(&body);
        async move { r.send().await.unwrap() }
    };
    let first = send("k-1", body.clone()).await;
    assert_eq!(first.status(), 201);
    let first_body = first.text().await.unwrap();
    let again = send("k-1", body.clone()).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.text().await.unwrap(), first_body);
    let (_, list) = json(app.get("/api/v1/accounts", &admin).await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let (status, p) = json(send("k-1", json!({"name": "Something else"})).await).await;
    assert_eq!(status, 422);
    assert_eq!(p["code"], "idempotency_key_reused");
}

async fn fifty_concurrent_retries_of_one_key_create_exactly_one(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let mut calls = Vec::new();
    for _ in 0..50 {
        let r = app
            .req(Method::POST, "/api/v1/accounts", &admin)
            .header("idempotency-key", "same-key")
            .json(&json!({"name": "Raced"}));
        calls.push(tokio::spawn(async move { r.send().await.unwrap() }));
    }
    let mut bodies = std::collections::HashSet::new();
    for c in calls {
        let r = c.await.unwrap();
        assert_eq!(r.status(), 201);
        bodies.insert(r.text().await.unwrap());
    }
    assert_eq!(bodies.len(), 1, "every retry got the first response");
    let (_, list) = json(app.get("/api/v1/accounts", &admin).await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.log_counts().await,
        (1 + 2, 1 + 2),
        "one audit entry and one event for the account (plus two for the test user)"
    );
}

async fn a_stale_if_match_gets_412_and_changes_nothing(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let (_, acc) = json(app.post("/api/v1/accounts", &admin, &json!({"name": "V1"})).await).await;
    let path = format!("/api/v1/accounts/{}", acc["id"].as_str().unwrap());
    let (status, ok) = json(
        app.req(Method::PATCH, &path, &admin)
            .header("if-match", "\"1\"")
            .json(&json!({"name": "V2"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(ok["version"], 2);
    let before = app.log_counts().await;
    let (status, p) = json(
        app.req(Method::PATCH, &path, &admin)
            .header("if-match", "1")
            .json(&json!({"name": "V3"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 412, "{p}");
    assert_eq!(p["code"], "version_mismatch");
    assert_eq!(p["current_version"], 2);
    let (_, now) = json(app.get(&path, &admin).await).await;
    assert_eq!(now["name"], "V2");
    assert_eq!(app.log_counts().await, before, "a refused write leaves no audit entry and no event");
}

async fn bad_input_gets_clear_problems_never_a_500(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let post_raw = |body: &'static str, ct: &'static str| {
        let r = app.req(Method::POST, "/api/v1/accounts", &admin).header("content-type", ct).body(body);
        async move { r.send().await.unwrap() }
    };
    let r = post_raw("{\"name\": ", "application/json").await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers().get("content-type").unwrap(), "application/problem+json");
    let (_, p) = json(r).await;
    assert_eq!(p["code"], "malformed_request");
    assert!(p["request_id"].is_string());

    let (status, p) = json(post_raw("{\"name\": \"A\", \"colour\": \"red\"}", "application/json").await).await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "colour", "{p}");

    let (status, p) = json(post_raw("{\"name\": 12}", "application/json").await).await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "name", "{p}");

    let (status, p) = json(post_raw("{\"name\": \"A\", \"credit_limit\": 12.5}", "application/json").await).await;
    assert_eq!(status, 422, "money as a JSON number is refused");
    assert_eq!(p["errors"][0]["field"], "credit_limit");

    let (status, p) = json(post_raw("{\"name\": \"A\", \"credit_limit\": \"12.505\"}", "application/json").await).await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "credit_limit");

    let (status, p) =
        json(post_raw("{\"name\": \"A\", \"kinds\": [\"customer\", \"alien\"]}", "application/json").await).await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "kinds[1]", "{p}");

    let (status, _) = json(post_raw("name=A", "application/x-www-form-urlencoded").await).await;
    assert_eq!(status, 415);

    let (status, p) = json(post_raw("{\"name\": \"\", \"currency\": \"EURO\"}", "application/json").await).await;
    assert_eq!(status, 422, "{p}");

    let (status, p) =
        json(app.post("/api/v1/accounts", &admin, &json!({"name": "Child", "parent_id": uuid_like()})).await).await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "parent_id");

    for path in [
        "/api/v1/accounts/not-an-id",
        "/api/v1/accounts/01a209b3-6682-76e2-a05a-79ba0311227c",
        "/api/v1/accounts?limit=0",
        "/api/v1/accounts?limit=abc",
        "/api/v1/accounts?after=garbage",
        "/api/v1/accounts?kind=alien",
        "/api/v1/accounts?updated_since=yesterday",
        "/api/v1/accounts?colour=red",
        "/api/v1/events?after=-1",
        "/api/v1/events?types=nonsense",
        "/api/v1/audit-log?record_id=zzz",
        "/api/v1/users/1",
        "/api/v1/nothing-here",
    ] {
        let r = app.get(path, &admin).await;
        let status = r.status().as_u16();
        assert!((400..500).contains(&status), "{path} gave {status}");
        assert_eq!(r.headers().get("content-type").unwrap(), "application/problem+json", "{path}");
    }
    let r = app.req(Method::PATCH, "/api/v1/accounts", &admin).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let r = app
        .req(Method::PATCH, "/api/v1/roles/x", &admin)
        .header("if-match", "abc")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}

fn uuid_like() -> String {
    "01a209b3-6682-76e2-a05a-79ba0311227c".into()
}

async fn every_api_write_leaves_one_audit_entry_and_one_event(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let (a0, e0) = app.log_counts().await;
    let (_, team) = json(app.post("/api/v1/teams", &admin, &json!({"name": "North"})).await).await;
    assert_eq!(app.log_counts().await, (a0 + 1, e0 + 1));
    let (_, acc) = json(app.post("/api/v1/accounts", &admin, &json!({"name": "A", "team_id": team["id"]})).await).await;
    assert_eq!(app.log_counts().await, (a0 + 2, e0 + 2));
    let path = format!("/api/v1/accounts/{}", acc["id"].as_str().unwrap());
    app.req(Method::PATCH, &path, &admin).json(&json!({"tags": ["vip"]})).send().await.unwrap();
    assert_eq!(app.log_counts().await, (a0 + 3, e0 + 3));
    let r = app.req(Method::DELETE, &path, &admin).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(app.log_counts().await, (a0 + 4, e0 + 4));
    // Deleting a team still referred to is refused, naming what refers to it.
    let (_, acc2) =
        json(app.post("/api/v1/accounts", &admin, &json!({"name": "B", "team_id": team["id"]})).await).await;
    let (status, p) = json(
        app.req(Method::DELETE, &format!("/api/v1/teams/{}", team["id"].as_str().unwrap()), &admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409);
    assert!(p["detail"].as_str().unwrap().contains("1 account"), "{p}");
    assert!(acc2["id"].is_string());
    let (_, evs) = json(app.get("/api/v1/events", &admin).await).await;
    let types: Vec<&str> = evs["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(
        types.ends_with(&["team.created", "account.created", "account.updated", "account.deleted", "account.created"]),
        "{types:?}"
    );
    let next = evs["next"].as_str().unwrap();
    let (_, rest) = json(app.get(&format!("/api/v1/events?after={next}"), &admin).await).await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 0, "the cursor resumes after the last event");
}

async fn tokens_are_shown_once_and_stop_working_when_revoked(db: TestDb) {
    let app = TestApp::start(db).await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let (status, created) = json(app.post("/api/v1/tokens", &rep, &json!({"name": "script"})).await).await;
    assert_eq!(status, 201, "{created}");
    let secret = created["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("nave_1_"));
    let (_, got) = json(app.get(&format!("/api/v1/tokens/{}", created["id"].as_str().unwrap()), &rep).await).await;
    assert!(got.get("token").is_none(), "the secret is never shown again");
    let other = support::TestUser { user: rep.user.clone(), token: secret };
    assert_eq!(app.get("/api/v1/me", &other).await.status(), 200);
    let r = app
        .req(Method::DELETE, &format!("/api/v1/tokens/{}", created["id"].as_str().unwrap()), &rep)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app.get("/api/v1/me", &other).await;
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    // A rep lists only their own tokens and cannot make one for someone else.
    let admin = app.user("admin@example.com", "admin").await;
    let (_, list) = json(app.get("/api/v1/tokens", &rep).await).await;
    assert!(list["data"].as_array().unwrap().iter().all(|t| t["user_id"] == rep.user.id.to_string()));
    let (status, _) =
        json(app.post("/api/v1/tokens", &rep, &json!({"name": "x", "user_id": admin.user.id.to_string()})).await).await;
    assert_eq!(status, 422);
    let (status, _) =
        json(app.post("/api/v1/tokens", &rep, &json!({"name": "old", "expires_at": "2001-01-01T00:00:00Z"})).await)
            .await;
    assert_eq!(status, 422);
    // A garbage token is 401 problem+json.
    let bad =
        support::TestUser { user: rep.user.clone(), token: "nave_1_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx".into() };
    assert_eq!(app.get("/api/v1/me", &bad).await.status(), 401);
}

async fn admins_manage_users_roles_and_teams_and_others_may_not(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let (status, team) = json(app.post("/api/v1/teams", &admin, &json!({"name": "West"})).await).await;
    assert_eq!(status, 201);
    let perms = json!([{"record_type": "account", "action": "read", "scope": "team"}]);
    let (status, role) =
        json(app.post("/api/v1/roles", &admin, &json!({"name": "team_viewer", "permissions": perms})).await).await;
    assert_eq!(status, 201, "{role}");
    let (status, user) = json(
        app.post(
            "/api/v1/users",
            &admin,
            &json!({"email": "tv@example.com", "name": "Tia Viewer", "role": "team_viewer", "team_id": team["id"], "password": "long enough password"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{user}");
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());
    let (status, p) = json(
        app.post("/api/v1/users", &admin, &json!({"email": "TV@example.com", "name": "Dup", "role": "admin"})).await,
    )
    .await;
    assert_eq!(status, 409, "{p}");
    let (status, p) =
        json(app.post("/api/v1/users", &admin, &json!({"email": "not-an-email", "name": "X", "role": "admin"})).await)
            .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "email");
    let (status, _) =
        json(app.post("/api/v1/users", &admin, &json!({"email": "a@b.example", "name": "X", "role": "boss"})).await)
            .await;
    assert_eq!(status, 422);
    let (status, _) = json(
        app.post(
            "/api/v1/users",
            &admin,
            &json!({"email": "c@b.example", "name": "X", "role": "admin", "password": "short"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    // Built-in roles cannot change; custom ones can, with If-Match.
    let (_, roles) = json(app.get("/api/v1/roles", &admin).await).await;
    let builtin = roles["data"].as_array().unwrap().iter().find(|r| r["name"] == "sales_rep").unwrap();
    let r = app
        .req(Method::PATCH, &format!("/api/v1/roles/{}", builtin["id"].as_str().unwrap()), &admin)
        .json(&json!({"description": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Others may not manage anything.
    assert_eq!(
        app.post("/api/v1/users", &rep, &json!({"email": "z@b.example", "name": "Z", "role": "admin"})).await.status(),
        403
    );
    assert_eq!(app.post("/api/v1/teams", &rep, &json!({"name": "Mine"})).await.status(), 403);
    assert_eq!(app.post("/api/v1/roles", &rep, &json!({"name": "mine"})).await.status(), 403);
    // A role in use cannot be deleted.
    let r = app
        .req(Method::DELETE, &format!("/api/v1/roles/{}", role["id"].as_str().unwrap()), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
}

async fn team_scope_reaches_the_team(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let (_, north) = json(app.post("/api/v1/teams", &admin, &json!({"name": "North"})).await).await;
    let north_id: nave_domain::ids::PublicId = north["id"].as_str().unwrap().parse().unwrap();
    let perms = json!([{"record_type": "account", "action": "read", "scope": "team"}]);
    app.post("/api/v1/roles", &admin, &json!({"name": "team_viewer", "permissions": perms})).await;
    let viewer = app.user_in_team("v@example.com", "team_viewer", Some(north_id)).await;
    let mate = app.user_in_team("m@example.com", "sales_rep", Some(north_id)).await;
    let stranger = app.user("s@example.com", "sales_rep").await;
    for (name, owner) in [("Mate's", &mate), ("Stranger's", &stranger)] {
        let (s, _) = json(
            app.post("/api/v1/accounts", &admin, &json!({"name": name, "owner_id": owner.user.id.to_string()})).await,
        )
        .await;
        assert_eq!(s, 201);
    }
    let (_, list) = json(app.get("/api/v1/accounts", &viewer).await).await;
    let names: Vec<&str> = list["data"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Mate's"]);
}

async fn health_and_readiness_answer(db: TestDb) {
    let app = TestApp::start(db).await;
    let r = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (status, v) = json(app.client.get(app.url("/ready")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(v["status"], "ready");
}

both_backends!(
    a_rep_cannot_see_another_reps_account_nor_any_credit_limit,
    a_retried_write_creates_one_record_and_returns_the_same_body,
    fifty_concurrent_retries_of_one_key_create_exactly_one,
    a_stale_if_match_gets_412_and_changes_nothing,
    bad_input_gets_clear_problems_never_a_500,
    every_api_write_leaves_one_audit_entry_and_one_event,
    tokens_are_shown_once_and_stop_working_when_revoked,
    admins_manage_users_roles_and_teams_and_others_may_not,
    team_scope_reaches_the_team,
    health_and_readiness_answer,
);
