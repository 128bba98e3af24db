//! Shared state of the server: the database, settings, and small in-memory
//! caches (role grants, login attempts), and the pages' background jobs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nave_domain::access::{Grants, Principal};
use nave_store::Db;
use nave_store::tokens::TokenAuth;
use nave_store::users::User;
use nave_store::{roles, tokens};

use crate::error::{ApiError, ApiResult};
use crate::jobs::Jobs;

/// Settings of the web edge.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The tenant a login page and a session belong to on this host.
    pub tenant_id: i64,
    /// How long a web session lasts without a new login.
    pub session_ttl: time::Duration,
    /// Mark cookies `Secure` (served over TLS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// Failed logins allowed per e-mail and client within `login_window`.
    pub login_max_failures: u32,
    pub login_window: Duration,
    /// Run the webhook delivery worker beside the server (`nave serve`); tests drive it themselves.
    pub webhook_worker: bool,
    /// Certificate authorities (PEM) trusted for https webhook receivers
    /// beside the system's.
    pub webhook_ca_pem: Option<Vec<u8>>,
    /// How long a report page waits for its figures before it makes their
    /// computation a background job and sends the user to the job's page;
    /// zero makes every report a job.
    pub report_wait: Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            tenant_id: nave_store::tenants::DEFAULT_TENANT,
            session_ttl: time::Duration::hours(12),
            secure_cookies: false,
            login_max_failures: 5,
            login_window: Duration::from_secs(15 * 60),
            webhook_worker: false,
            webhook_ca_pem: None,
            report_wait: Duration::from_secs(2),
        }
    }
}

/// Counts failed logins per key in a sliding window.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    /// Seconds to wait before `key` may try again, or `None` when it may try now.
    pub fn blocked_for(&self, key: &str, max: u32, window: Duration) -> Option<u64> {
        let mut map = self.failures.lock().expect("limiter lock");
        let now = Instant::now();
        let list = map.entry(key.to_string()).or_default();
        list.retain(|t| now.duration_since(*t) < window);
        if list.len() as u32 >= max {
            let oldest = list[0];
            Some(window.saturating_sub(now.duration_since(oldest)).as_secs().max(1))
        } else {
            None
        }
    }

    pub fn record_failure(&self, key: &str) {
        let mut map = self.failures.lock().expect("limiter lock");
        if map.len() > 100_000 {
            map.clear(); // bounded memory under a flood of distinct keys
        }
        map.entry(key.to_string()).or_default().push(Instant::now());
    }

    pub fn reset(&self, key: &str) {
        self.failures.lock().expect("limiter lock").remove(key);
    }
}

/// Role grants by (tenant, role key, role version).
type GrantsCache = Mutex<HashMap<(i64, i64, i64), Arc<Grants>>>;

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<WebConfig>,
    grants: Arc<GrantsCache>,
    pub login_limiter: Arc<LoginLimiter>,
    /// When each token's use was last written, to write it at most once a minute.
    token_touched: Arc<Mutex<HashMap<i64, Instant>>>,
    /// The address the server listens on, once serving: webhooks may not point at it.
    pub listen_addr: Arc<std::sync::OnceLock<std::net::SocketAddr>>,
    /// Imports, exports and slow reports running in the background for the pages (in memory).
    pub jobs: Jobs,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("db", &self.db).field("config", &self.config).finish()
    }
}

impl AppState {
    pub fn new(db: Db, config: WebConfig) -> Self {
        Self {
            db,
            config: Arc::new(config),
            grants: Arc::new(Mutex::new(HashMap::new())),
            login_limiter: Arc::new(LoginLimiter::default()),
            token_touched: Arc::new(Mutex::new(HashMap::new())),
            listen_addr: Arc::new(std::sync::OnceLock::new()),
            jobs: Jobs::default(),
        }
    }

    /// The grants of a user's role, cached by role version.
    async fn grants_for(&self, tenant_id: i64, user: &User) -> ApiResult<Arc<Grants>> {
        let key = (tenant_id, user.role_key, user.role_version);
        if let Some(g) = self.grants.lock().expect("grants lock").get(&key) {
            return Ok(g.clone());
        }
        let mut tx = self.db.read().await?;
        let g = Arc::new(roles::grants_of(&mut tx, tenant_id, user.role_key).await?);
        tx.commit().await?;
        let mut cache = self.grants.lock().expect("grants lock");
        cache.retain(|(t, r, _), _| !(*t == tenant_id && *r == user.role_key));
        cache.insert(key, g.clone());
        Ok(g)
    }

    /// Builds the principal of an active user, optionally acting through a token.
    pub async fn principal(&self, tenant_id: i64, user: &User, token: Option<&TokenAuth>) -> ApiResult<Principal> {
        if !user.active {
            return Err(ApiError::unauthenticated("this user is deactivated"));
        }
        Ok(Principal {
            tenant_id,
            user_id: user.key,
            team_id: user.team_key,
            role: user.role.clone(),
            grants: self.grants_for(tenant_id, user).await?,
            token_id: token.map(|t| t.token_key),
            source: token.and_then(|t| t.source_system.clone()),
        })
    }

    /// Records a token's use at most once a minute, so reads stay reads.
    pub async fn touch_token(&self, tenant_id: i64, t: &TokenAuth) {
        let stale = t.last_used_at.is_none_or(|at| nave_store::db::now() - at > time::Duration::minutes(1));
        if !stale {
            return;
        }
        {
            // Concurrent requests with one token: only the first writes.
            let mut touched = self.token_touched.lock().expect("touch lock");
            let now = Instant::now();
            if touched.get(&t.token_key).is_some_and(|at| now.duration_since(*at) < Duration::from_secs(60)) {
                return;
            }
            if touched.len() > 10_000 {
                touched.clear();
            }
            touched.insert(t.token_key, now);
        }
        let r = async {
            let mut tx = self.db.write().await?;
            tokens::touch(&mut tx, tenant_id, t.token_key).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "could not record token use");
        }
    }
}
