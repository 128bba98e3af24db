//! Webhooks to an https receiver, on both databases: a receiver on
//! 127.0.0.1 serves TLS with a certificate of a test certificate authority
//! (`tests/fixtures/tls`). The delivery worker refuses it while it trusts only
//! the system's authorities, saying why in the delivery log, and delivers once
//! told to trust the company's authority (`webhook_ca_file`).

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nave_testkit::{TestDb, both_backends};
use nave_web::webhooks::{Worker, check_ca_pem};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use support::{TestApp, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CA: &[u8] = include_bytes!("fixtures/tls/ca.pem");
const CERT: &[u8] = include_bytes!("fixtures/tls/receiver.pem");
const KEY: &[u8] = include_bytes!("fixtures/tls/receiver.key");

/// An https receiver answering 204 to every request; keeps each request's body.
struct TlsReceiver {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl TlsReceiver {
    async fn start() -> TlsReceiver {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(CERT).collect::<Result<_, _>>().expect("the test certificate parses");
        let key = PrivateKeyDer::from_pem_slice(KEY).expect("the test key parses");
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = TlsReceiver { addr: listener.local_addr().unwrap(), bodies: Arc::default() };
        let bodies = r.bodies.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let acceptor = acceptor.clone();
                let bodies = bodies.clone();
                tokio::spawn(async move {
                    // A refused handshake (the worker not trusting us) ends here.
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    if let Some(body) = read_request(&mut tls).await {
                        bodies.lock().unwrap().push(body);
                        let _ = tls.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n").await;
                        let _ = tls.shutdown().await;
                    }
                });
            }
        });
        r
    }

    fn url(&self) -> String {
        format!("https://localhost:{}/hook", self.addr.port())
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

/// Reads one HTTP/1.1 request with a `content-length` body; returns the body.
async fn read_request(s: &mut (impl AsyncReadExt + Unpin)) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if buf.len() >= end + 4 + length {
            return Some(String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).into_owned());
        }
    }
}

async fn deliveries(app: &TestApp, admin: &support::TestUser, hook: &Value) -> Vec<Value> {
    let path = format!("/api/v1/webhooks/{}/deliveries", hook["id"].as_str().unwrap());
    let (status, log) = json(app.get(&path, admin).await).await;
    assert_eq!(status, 200, "{log}");
    log["data"].as_array().unwrap().clone()
}

async fn an_https_receiver_is_delivered_to_once_its_authority_is_trusted(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rx = TlsReceiver::start().await;
    let (status, hook) =
        json(app.post("/api/v1/webhooks", &admin, &json!({"url": rx.url(), "event_types": ["account"]})).await).await;
    assert_eq!(status, 201, "{hook}");
    let (status, account) =
        json(app.post("/api/v1/accounts", &admin, &json!({"name": "Tls Ltd", "currency": "USD"})).await).await;
    assert_eq!(status, 201, "{account}");

    // Trusting only the system's authorities, the handshake is refused and the log says why.
    let plain = Worker::new(app.db.db.clone(), Duration::from_secs(5), Some(app.addr));
    let now = time::OffsetDateTime::now_utc();
    let pass = plain.run_once(now).await.unwrap();
    assert_eq!((pass.sent, pass.succeeded), (1, 0), "{pass:?}");
    assert!(rx.bodies().is_empty(), "nothing reached the receiver");
    let log = deliveries(&app, &admin, &hook).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "pending", "{}", log[0]);
    let error = log[0]["last_error"].as_str().or(log[0]["error"].as_str()).unwrap_or_default().to_lowercase();
    assert!(error.contains("certificate"), "the log names the certificate problem: {}", log[0]);

    // Trusting the company's authority, the retry is delivered over TLS.
    let trusting = Worker::new(app.db.db.clone(), Duration::from_secs(5), Some(app.addr)).trusting(CA).unwrap();
    let pass = trusting.run_once(now + time::Duration::minutes(1)).await.unwrap();
    assert_eq!((pass.sent, pass.succeeded), (1, 1), "{pass:?}");
    let bodies = rx.bodies();
    assert_eq!(bodies.len(), 1);
    let event: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(event["data"]["record_id"], account["id"], "{event}");
    let log = deliveries(&app, &admin, &hook).await;
    assert_eq!((log[0]["status"].as_str(), log[0]["response_status"].as_i64()), (Some("succeeded"), Some(204)));
}

both_backends!(an_https_receiver_is_delivered_to_once_its_authority_is_trusted);

#[test]
fn a_bundle_without_certificates_is_refused() {
    assert!(check_ca_pem(CA).is_ok());
    assert!(check_ca_pem(b"not a certificate").is_err());
    assert!(check_ca_pem(b"").is_err());
}
