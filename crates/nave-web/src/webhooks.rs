//! Webhooks out: the delivery worker, and the rule for subscription URLs.
//!
//! The worker is a tokio task beside the server (`nave serve` starts it; tests
//! call [`Worker::run_once`] with the time they want). It never runs inside a
//! user's request, so a slow or dead receiver slows no one. Each pass, per
//! tenant with an active subscription: turn new events into deliveries, lease
//! the ones that may go (the first pending one of each record, when due), send
//! them concurrently with a short timeout, record each outcome in its own
//! transaction, and go round again while that let more through. All state is in
//! the database (ADR 0013): a worker killed mid-send leaves leased deliveries
//! that are sent again when their lease ends.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use nave_domain::access::Principal;
use nave_store::feed::{self, Detail};
use nave_store::webhooks::{self, Kind, Leased, Outcome, Subscription};
use nave_store::{Db, StoreResult};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How long a receiver has to answer.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the background worker looks for work.
pub const POLL_EVERY: Duration = Duration::from_secs(1);

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    pub enqueued: usize,
    pub sent: usize,
    pub succeeded: usize,
    pub disabled: usize,
}

/// The delivery worker.
#[derive(Debug, Clone)]
pub struct Worker {
    db: Db,
    client: reqwest::Client,
    timeout: Duration,
    own_addr: Option<SocketAddr>,
}

impl Worker {
    /// A worker over `db` whose sends time out after `timeout`; `own_addr` is
    /// the server's address, never sent to.
    pub fn new(db: Db, timeout: Duration, own_addr: Option<SocketAddr>) -> Worker {
        let client = client(timeout, vec![]).expect("the HTTP client builds");
        Worker { db, client, timeout, own_addr }
    }

    /// This worker, trusting the certificate authorities of `pem` for https
    /// receivers beside the system's (see [`check_ca_pem`]).
    pub fn trusting(mut self, pem: &[u8]) -> Result<Worker, String> {
        self.client = client(self.timeout, authorities(pem)?)?;
        Ok(self)
    }

    /// How long a delivery stays leased: past the send timeout, so a live
    /// worker always records its outcome before anyone may send it again.
    fn lease(&self) -> time::Duration {
        time::Duration::try_from(self.timeout).unwrap_or(time::Duration::seconds(10)) + time::Duration::seconds(20)
    }

    /// Runs until the task is aborted, one pass every `every`.
    pub async fn run(self, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.run_once(nave_store::db::now()).await {
                Ok(r) if r.sent > 0 || r.enqueued > 0 => tracing::debug!(?r, "webhook pass"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook pass failed"),
            }
        }
    }

    /// One pass as if the time were `now`: everything due by then is sent.
    pub async fn run_once(&self, now: OffsetDateTime) -> StoreResult<PassReport> {
        let mut report = PassReport::default();
        let tenants = {
            let mut tx = self.db.read().await?;
            let t = webhooks::tenants_with_active(&mut tx).await?;
            tx.commit().await?;
            t
        };
        for tenant in tenants {
            let mut owners: HashMap<i64, Principal> = HashMap::new();
            // Rounds: a success lets the record's next delivery go in the same pass.
            for _ in 0..100 {
                let mut tx = self.db.write().await?;
                let mut jobs: Vec<(Subscription, Principal, Leased)> = Vec::new();
                let mut enqueued = 0;
                for sub in webhooks::active(&mut tx, tenant).await? {
                    let owner = match owners.get(&sub.key) {
                        Some(p) => p.clone(),
                        None => {
                            let p = webhooks::owner_principal(&mut tx, tenant, &sub).await?;
                            owners.insert(sub.key, p.clone());
                            p
                        }
                    };
                    enqueued += webhooks::enqueue(&mut tx, tenant, &sub, &owner, now, 500).await?;
                    for l in webhooks::lease_due(&mut tx, tenant, &sub, now, self.lease(), 100).await? {
                        jobs.push((sub.clone(), owner.clone(), l));
                    }
                }
                tx.commit().await?;
                report.enqueued += enqueued;
                if jobs.is_empty() && enqueued == 0 {
                    break;
                }
                let mut set = tokio::task::JoinSet::new();
                for (sub, owner, leased) in jobs {
                    let this = self.clone();
                    set.spawn(async move {
                        let outcome = this.send(&sub, &owner, &leased, now).await;
                        (sub.key, leased.delivery_key, outcome)
                    });
                }
                while let Some(done) = set.join_next().await {
                    let Ok((sub_key, delivery_key, outcome)) = done else { continue };
                    report.sent += 1;
                    if outcome.succeeded() {
                        report.succeeded += 1;
                    }
                    let mut tx = self.db.write().await?;
                    let disabled =
                        webhooks::record_attempt(&mut tx, tenant, sub_key, delivery_key, &outcome, now).await?;
                    tx.commit().await?;
                    if let Some(reason) = disabled {
                        report.disabled += 1;
                        tracing::warn!(tenant, subscription = sub_key, %reason, "webhook subscription disabled");
                    }
                }
            }
        }
        Ok(report)
    }

    /// Sends one delivery; never fails, the outcome says how it went.
    async fn send(&self, sub: &Subscription, owner: &Principal, leased: &Leased, now: OffsetDateTime) -> Outcome {
        let fail = |e: String| Outcome { status: None, error: Some(e) };
        if let Ok(url) = reqwest::Url::parse(&sub.url)
            && points_at_literal(&url, self.own_addr)
        {
            return fail("refused: the URL points at this server".into());
        }
        let mut event = leased.event.clone();
        feed::shape(owner, Detail::Lines, &mut event);
        let body = match sub.kind {
            Kind::Webhook => serde_json::json!({
                "type": event.event_type,
                "timestamp": event.occurred_at.format(&Rfc3339).unwrap_or_default(),
                "data": event,
            }),
            // A connector platform gets the record itself (ADR 0016).
            Kind::RestHook => crate::connectors::hook_body(&leased.event_type, &event.payload, event.version),
        };
        let Ok(bytes) = serde_json::to_vec(&body) else { return fail("the event could not be written as JSON".into()) };
        let msg_id = leased.event.id.to_string();
        let ts = now.unix_timestamp();
        let mut signatures = Vec::new();
        for secret in sub.signing_secrets(now) {
            match webhooks::sign(secret, &msg_id, ts, &bytes) {
                Ok(s) => signatures.push(s),
                Err(e) => return fail(format!("the secret is unusable: {e}")),
            }
        }
        let r = self
            .client
            .post(&sub.url)
            .header("content-type", "application/json")
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(bytes)
            .send()
            .await;
        match r {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let error = (!resp.status().is_success()).then(|| format!("the receiver answered {status}"));
                Outcome { status: Some(status), error }
            }
            Err(e) if e.is_timeout() => fail(format!("no answer within {} s", self.timeout.as_secs_f32())),
            Err(e) if e.is_connect() => fail(format!("could not connect: {}", root_cause(&e))),
            Err(e) => fail(format!("could not send: {e}")),
        }
    }
}

/// The client deliveries go out with: no redirects followed, `timeout` for
/// connecting and for the whole exchange, https checked against the system's
/// certificate authorities and `extra` ones.
fn client(timeout: Duration, extra: Vec<reqwest::Certificate>) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent("Nave-Webhooks/1")
        .tls_certs_merge(extra)
        .build()
        .map_err(|e| format!("the HTTP client could not be made: {e}"))
}

/// The innermost reason of an error (e.g. the certificate a TLS handshake refused).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The certificates of a PEM bundle; an error when it holds none or one is malformed.
fn authorities(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, String> {
    let certs =
        reqwest::Certificate::from_pem_bundle(pem).map_err(|_| "is not a PEM certificate bundle".to_string())?;
    if certs.is_empty() {
        return Err("holds no certificate (expected PEM blocks BEGIN CERTIFICATE)".into());
    }
    Ok(certs)
}

/// Checks a PEM bundle of certificate authorities before the server starts.
pub fn check_ca_pem(pem: &[u8]) -> Result<(), String> {
    client(SEND_TIMEOUT, authorities(pem)?).map(|_| ())
}

/// Starts the background worker for a serving app.
pub fn spawn_worker(state: &AppState) -> tokio::task::JoinHandle<()> {
    let mut w = Worker::new(state.db.clone(), SEND_TIMEOUT, state.listen_addr.get().copied());
    if let Some(pem) = &state.config.webhook_ca_pem {
        match w.clone().trusting(pem) {
            Ok(t) => w = t,
            Err(e) => tracing::error!(error = %e, "webhook certificate authorities not used"),
        }
    }
    tokio::spawn(w.run(POLL_EVERY))
}

/// Is `ip:port` the server at `own`? Its own address, or — when it listens on
/// loopback or on every interface — a loopback or unspecified address, on its port.
fn is_own(ip: IpAddr, port: u16, own: SocketAddr) -> bool {
    if port != own.port() {
        return false;
    }
    let own_ip = own.ip();
    ip == own_ip
        || ip.is_unspecified()
        || (ip.is_loopback() && (own_ip.is_loopback() || own_ip.is_unspecified()))
        || (own_ip.is_unspecified() && ip.is_loopback())
}

/// The host of a URL: an IP address, or a name (lower case).
enum HostOf {
    Ip(IpAddr),
    Name(String),
}

fn host_of(url: &reqwest::Url) -> Option<HostOf> {
    let h = url.host_str()?.trim_start_matches('[').trim_end_matches(']');
    Some(match h.parse::<IpAddr>() {
        Ok(ip) => HostOf::Ip(ip),
        Err(_) => HostOf::Name(h.trim_end_matches('.').to_ascii_lowercase()),
    })
}

/// Does the URL name the server by an IP address or a `localhost` name (no DNS)?
fn points_at_literal(url: &reqwest::Url, own: Option<SocketAddr>) -> bool {
    let (Some(own), Some(port)) = (own, url.port_or_known_default()) else { return false };
    match host_of(url) {
        Some(HostOf::Ip(ip)) => is_own(ip, port, own),
        Some(HostOf::Name(d)) => {
            (d == "localhost" || d.ends_with(".localhost")) && is_own(IpAddr::from([127, 0, 0, 1]), port, own)
        }
        None => false,
    }
}

/// Checks a subscription URL: absolute http(s) with a host, and not this
/// server (by address, a `localhost` name, or a name resolving to it).
/// Other loopback addresses and ports are allowed (a receiver on the same
/// machine). Answers the URL as it will be used.
pub async fn check_url(url: &str, own: Option<SocketAddr>) -> ApiResult<String> {
    let bad = |m: &str| ApiError::invalid("url", m);
    let url = url.trim();
    if url.len() > 2000 {
        return Err(bad("must be at most 2000 characters"));
    }
    let u = reqwest::Url::parse(url).map_err(|_| bad("must be an absolute URL, e.g. https://example.com/hooks"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad("must use http or https"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(bad("must name a host"));
    }
    if points_at_literal(&u, own) {
        return Err(bad("points at this Nave server itself"));
    }
    if let (Some(own), Some(HostOf::Name(host)), Some(port)) = (own, host_of(&u), u.port_or_known_default()) {
        let lookup = tokio::time::timeout(Duration::from_secs(2), tokio::net::lookup_host((host.as_str(), port))).await;
        if let Ok(Ok(addrs)) = lookup
            && addrs.into_iter().any(|a| is_own(a.ip(), port, own))
        {
            return Err(bad("points at this Nave server itself"));
        }
    }
    Ok(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> Option<SocketAddr> {
        Some("127.0.0.1:8080".parse().unwrap())
    }

    #[test]
    fn the_servers_own_address_is_refused_but_other_loopback_ports_are_not() {
        let at = |s: &str| points_at_literal(&reqwest::Url::parse(s).unwrap(), own());
        assert!(at("http://127.0.0.1:8080/hook"));
        assert!(at("http://localhost:8080/hook"));
        assert!(at("http://0.0.0.0:8080/"));
        assert!(!at("http://127.0.0.1:9999/hook"));
        assert!(!at("http://192.0.2.7:8080/hook"));
        let any: Option<SocketAddr> = Some("0.0.0.0:80".parse().unwrap());
        assert!(points_at_literal(&reqwest::Url::parse("http://127.0.0.1/").unwrap(), any));
    }
}
