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

/// Logs in and returns the session cookie.
pub async fn session(app: &TestApp, email: &str) -> String {
    let r = app.login(email, PASSWORD).await;
    cookie_pair(r.headers()["set-cookie"].to_str().unwrap())
}

pub async fn form(app: &TestApp, cookie: &str, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
    let r = app
        .client
        .post(app.url(path))
        .header("cookie", cookie)
        .header("origin", format!("http://{}", app.addr))
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (status, location, r.text().await.unwrap())
}

pub async fn page(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let r = app.client.get(app.url(path)).header("cookie", cookie).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
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
