//! Typed configuration, loaded once: defaults → `nave.toml` (or `--config
//! FILE`) → `NAVE_*` environment variables → command-line flags.

use std::path::Path;

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Every setting of a Nave process.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Database URL: `sqlite://FILE` (default `sqlite://nave.db`) or `postgres://…`.
    pub db: String,
    /// Address the server listens on.
    pub listen: String,
    /// Log filter, e.g. `info` or `nave=debug,sqlx=warn`.
    pub log: String,
    /// `text` or `json`.
    pub log_format: String,
    /// Mark cookies `Secure` (set when Nave is reached over HTTPS).
    pub secure_cookies: bool,
    /// Hours a web session lasts.
    pub session_hours: i64,
    /// Most database connections.
    pub db_max_connections: u32,
    /// A PEM file of certificate authorities trusted for https webhook
    /// receivers beside the system's (a company's own CA); empty for none.
    pub webhook_ca_file: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            db: "sqlite://nave.db".into(),
            listen: "127.0.0.1:8080".into(),
            log: "info,sqlx=warn".into(),
            log_format: "text".into(),
            secure_cookies: false,
            session_hours: 12,
            db_max_connections: 16,
            webhook_ca_file: String::new(),
        }
    }
}

impl std::fmt::Debug for Config {
    /// The database URL may hold a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("db", &nave_store::db::redact_url(&self.db))
            .field("listen", &self.listen)
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .field("secure_cookies", &self.secure_cookies)
            .field("session_hours", &self.session_hours)
            .field("db_max_connections", &self.db_max_connections)
            .field("webhook_ca_file", &self.webhook_ca_file)
            .finish()
    }
}

/// Settings given as flags; `None` leaves the lower layers' value.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
}

/// Loads the configuration. `file` is `--config`; without it `nave.toml` is
/// read when present.
pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Config> {
    let mut fig = Figment::from(Serialized::defaults(Config::default()));
    match file {
        Some(f) => {
            anyhow::ensure!(f.exists(), "the configuration file {} does not exist", f.display());
            fig = fig.merge(Toml::file(f));
        }
        None => fig = fig.merge(Toml::file("nave.toml")),
    }
    // NAVE_PASSWORD, NAVE_CONFIG, NAVE_TEST_PG and NAVE_BENCH_SERVER_LOG are not settings.
    let env = Env::prefixed("NAVE_").ignore(&["password", "config", "test_pg", "bench_server_log"]);
    fig = fig.merge(env).merge(Serialized::globals(overrides));
    let cfg: Config = fig.extract().context("the configuration is not valid")?;
    anyhow::ensure!(cfg.session_hours > 0, "session_hours must be at least 1");
    anyhow::ensure!(cfg.db_max_connections > 0, "db_max_connections must be at least 1");
    anyhow::ensure!(matches!(cfg.log_format.as_str(), "text" | "json"), "log_format must be text or json");
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_defaults() {
        let o = Overrides { db: Some("sqlite://other.db".into()), listen: None };
        let c = load(None, &o).unwrap();
        assert_eq!(c.db, "sqlite://other.db");
        assert_eq!(c.listen, "127.0.0.1:8080");
    }

    #[test]
    fn the_debug_form_hides_database_passwords() {
        let c = Config { db: "postgres://nave:hunter2@db/nave".into(), ..Config::default() };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        assert!(load(Some(Path::new("/nonexistent/nave.toml")), &Overrides::default()).is_err());
    }
}
