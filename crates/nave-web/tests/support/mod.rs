//! `TestApp`: a real Nave server on a loopback port, over an isolated
//! database, with users of any role and their API tokens.

#![allow(dead_code)]

use std::net::SocketAddr;

use nave_domain::email::Email;
use nave_store::audit::Actor;
use nave_store::auth::hash_password;
use nave_store::tenants::DEFAULT_TENANT;
use nave_store::tokens::{self, NewToken};
use nave_store::users::{self, NewUser, User};
use nave_store::{audit, events};
use nave_testkit::TestDb;
use nave_web::{AppState, WebConfig};
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub db: TestDb,
    pub addr: SocketAddr,
    pub client: Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A user of the test app and their bearer token.
pub struct TestUser {
    pub user: User,
    pub token: String,
}

impl TestApp {
    pub async fn start(db: TestDb) -> TestApp {
        Self::start_with(db, WebConfig::default()).await
    }

    pub async fn start_with(db: TestDb, config: WebConfig) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::new(db.db.clone(), config);
        tokio::spawn(async move {
            nave_web::serve(state, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        TestApp { db, addr, client, shutdown: Some(tx) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Creates a user with `role` (and a password) and an API token for them.
    pub async fn user(&self, email: &str, role: &str) -> TestUser {
        self.user_in_team(email, role, None).await
    }

    pub async fn user_in_team(&self, email: &str, role: &str, team: Option<nave_domain::ids::PublicId>) -> TestUser {
        let mut tx = self.db.db.write().await.unwrap();
        let sys = Actor::system(DEFAULT_TENANT);
        let user = users::create(
            &mut tx,
            &sys,
            NewUser {
                email: Email::parse(email).unwrap(),
                name: email.split('@').next().unwrap().to_string(),
                password_hash: Some(hash_password(PASSWORD)),
                role: role.into(),
                team_id: team,
                locale: None,
            },
        )
        .await
        .unwrap();
        let (_, token) = tokens::create(
            &mut tx,
            &sys,
            NewToken { user_key: user.key, name: "test".into(), source_system: None, expires_at: None },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        TestUser { user, token }
    }

    pub fn req(&self, method: Method, path: &str, who: &TestUser) -> RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(&who.token)
    }

    pub async fn get(&self, path: &str, who: &TestUser) -> Response {
        self.req(Method::GET, path, who).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, who: &TestUser, body: &Value) -> Response {
        self.req(Method::POST, path, who).json(body).send().await.unwrap()
    }

    /// (audit entries, events) of the tenant.
    pub async fn log_counts(&self) -> (i64, i64) {
        let mut tx = self.db.db.read().await.unwrap();
        (audit::count(&mut tx, DEFAULT_TENANT).await.unwrap(), events::count(&mut tx, DEFAULT_TENANT).await.unwrap())
    }

    /// Logs in through the login form and returns the session cookie (`name=value`).
    pub async fn session(&self, email: &str) -> String {
        let r = self.login(email, PASSWORD).await;
        assert_eq!(r.status(), 303, "{email} logs in");
        cookie_pair(r.headers().get("set-cookie").unwrap().to_str().unwrap())
    }

    /// A page as a signed-in user sees it: (status, HTML).
    pub async fn page(&self, path: &str, cookie: &str) -> (u16, String) {
        let r = self.client.get(self.url(path)).header("cookie", cookie).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Posts a form as a browser on the app's own page would.
    pub async fn submit(&self, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .header("cookie", cookie)
            .header("origin", format!("http://{}", self.addr))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Logs in through the login form; returns the `Set-Cookie` header.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/login"))
            .header("origin", format!("http://{}", self.addr))
            .form(&[("email", email), ("password", password), ("next", "/")])
            .send()
            .await
            .unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The body of a response as JSON, with its status.
pub async fn json(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, v)
}

/// The `name=value` part of a `Set-Cookie` header.
pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().trim().to_string()
}

/// Where a redirect goes.
pub fn location(r: &Response) -> String {
    r.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default()
}

/// A form's fields, as a browser posts them.
pub type Form<'a> = &'a [(&'a str, &'a str)];

/// Logs in (with the test password) and returns the session cookie.
pub async fn session(app: &TestApp, email: &str) -> String {
    app.session(email).await
}

/// Posts a form as a page of the app does: (status, `Location`, body).
pub async fn form(app: &TestApp, cookie: &str, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
    let r = app.submit(path, cookie, fields).await;
    let status = r.status().as_u16();
    let location = location(&r);
    (status, location, r.text().await.unwrap())
}

/// Gets a page with a session: (status, body).
pub async fn page(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    app.page(path, cookie).await
}

/// The `id` of a record as JSON.
pub fn id_of(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

/// Posts `body` and expects 201: the record made.
pub async fn created(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Value {
    let (s, v) = json(app.post(path, who, &body).await).await;
    assert_eq!(s, 201, "{path}: {v}");
    v
}

/// Posts an empty body to an action path: (status, body).
pub async fn act(app: &TestApp, who: &TestUser, path: &str) -> (u16, Value) {
    json(app.post(path, who, &serde_json::json!({})).await).await
}

/// Gets `path` and expects 200: the body.
pub async fn get_ok(app: &TestApp, who: &TestUser, path: &str) -> Value {
    let (s, v) = json(app.get(path, who).await).await;
    assert_eq!(s, 200, "{path}: {v}");
    v
}

/// Line `i` of a document's first group.
pub fn line(d: &Value, i: usize) -> &Value {
    &d["groups"][0]["lines"][i]
}

/// The record ids linked from a list page's table (`/{path}/{id}`), in order.
pub fn listed(html: &str, path: &str) -> Vec<String> {
    let body = &html[html.find("<tbody>").unwrap_or(0)..];
    let marker = format!("href=\"/{path}/");
    let mut ids: Vec<String> = body
        .match_indices(&marker)
        .map(|(i, _)| body[i + marker.len()..].split('"').next().unwrap().to_string())
        .collect();
    ids.dedup();
    ids
}

/// The `Next page` link of a list page, if any (HTML entities undone).
pub fn next_link(html: &str) -> Option<String> {
    let i = html.find("Next page</a>")?;
    let start = html[..i].rfind("href=\"")? + 6;
    Some(html[start..].split('"').next()?.replace("&amp;", "&").replace("&#38;", "&"))
}

/// Every id of a list page from `first` on, following its `Next page` links.
pub async fn whole_page_list(app: &TestApp, cookie: &str, path: &str, first: &str) -> Vec<String> {
    let mut ids = vec![];
    let mut url = Some(first.to_string());
    while let Some(u) = url {
        let (st, html) = page(app, cookie, &u).await;
        assert_eq!(st, 200, "{u}: {html}");
        ids.extend(listed(&html, path));
        url = next_link(&html);
        assert!(ids.len() <= 300, "the list never ends");
    }
    ids
}
