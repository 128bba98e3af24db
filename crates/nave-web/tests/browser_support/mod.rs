//! A real browser for the browser tests: Debian's headless Chromium driven
//! over WebDriver (`chromedriver`) by fantoccini.
//!
//! Each test starts its own chromedriver on a free loopback port and its own
//! Chromium with a fresh profile directory, so browser tests run in parallel
//! with each other and with the rest of the suite. When a test's body panics,
//! a screenshot and the page source are saved into
//! `target/browser-screenshots/` before the panic goes on.
//!
//! Without `chromedriver` the tests skip themselves with a warning, except
//! under `CI=true`, where a missing browser fails them (`.ci/run` installs
//! `chromium` and `chromium-driver` from apt).

#![allow(dead_code)]

use std::net::TcpStream;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use serde_json::{Value, json};

/// The flags Chromium needs here (STACK.md): without them it hangs trying
/// to reach the network.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
];

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// An executable on `PATH` (or the path in `env`), if any.
fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env).map(PathBuf::from).filter(|p| p.is_file()) {
        return Some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|dir| names.iter().map(move |n| dir.join(n))).find(|p| p.is_file())
}

/// Where screenshots and page sources of failed browser tests go.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| option_env!("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("browser-screenshots")
}

/// A free loopback port (bound, read, released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().unwrap().port()
}

/// One browser: its chromedriver process, its Chromium session and profile.
pub struct Browser {
    pub client: Client,
    /// The test's name, for the files saved on failure.
    name: String,
    _driver: Driver,
}

/// The chromedriver process and the profile directory, ended and removed on drop.
struct Driver {
    child: Child,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session; `None` (with a
    /// warning) when chromedriver is not installed outside CI.
    pub async fn start(name: &str) -> Option<Browser> {
        let Some(driver_bin) = find_program("NAVE_CHROMEDRIVER", &["chromedriver"]) else {
            if in_ci() {
                panic!("chromedriver is required under CI=true (apt-get install chromium chromium-driver)");
            }
            eprintln!("SKIPPED {name}: chromedriver is not installed (apt-get install chromium chromium-driver)");
            return None;
        };
        let chromium = find_program("NAVE_CHROMIUM", &["chromium", "chromium-browser", "google-chrome"]);
        let profile = std::env::temp_dir().join(format!("nave-chromium-{}", uuid_tag()));
        std::fs::create_dir_all(&profile).expect("profile directory");
        let port = free_port();
        let child = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", driver_bin.display()));
        let driver = Driver { child, profile };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on port {port} within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", driver.profile.display()));
        let mut chrome = json!({ "args": args });
        if let Some(bin) = chromium {
            chrome["binary"] = json!(bin.display().to_string());
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), chrome);
        caps.insert("pageLoadStrategy".into(), json!("normal"));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("a Chromium session starts: {e}"));
        Some(Browser { client, name: name.to_string(), _driver: driver })
    }

    /// Runs the test's body; when it panics, saves a screenshot and the page
    /// source, then panics on. The session is closed either way.
    pub async fn run<F: Future<Output = ()>>(&self, body: F) {
        let outcome = AssertUnwindSafe(body).catch_unwind().await;
        if outcome.is_err() {
            self.save_evidence().await;
        }
        let _ = self.client.clone().close().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    /// Saves `<name>.png` and `<name>.html` of the current page.
    pub async fn save_evidence(&self) {
        let dir = screenshot_dir();
        let _ = std::fs::create_dir_all(&dir);
        let stem = dir.join(self.name.replace([':', '/'], "_"));
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(stem.with_extension("png"), png);
        }
        if let Ok(html) = self.client.source().await {
            let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            let _ = std::fs::write(stem.with_extension("html"), format!("<!-- {url} -->\n{html}"));
        }
        eprintln!("browser test {} failed: screenshot and page source in {}", self.name, dir.display());
    }

    /// Goes to `url` and waits for the page.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// The element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Every element matching `css` (none is fine).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap_or_else(|e| panic!("find_all {css}: {e}"))
    }

    /// Types `text` into the field matching `css` (cleared first).
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap_or_else(|err| panic!("clear {css}: {err}"));
        e.send_keys(text).await.unwrap_or_else(|err| panic!("type into {css}: {err}"));
    }

    /// Picks the option with `value` in the select matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css).await.select_by_value(value).await.unwrap_or_else(|e| panic!("select {value} in {css}: {e}"));
    }

    /// Clicks the element matching `css` and waits until the page is a new
    /// one (a click on a submit button sends the form and loads the answer).
    pub async fn click_and_wait(&self, css: &str) {
        let marker: Value = self
            .client
            .execute("window.__naveOld = true; return document.readyState;", vec![])
            .await
            .unwrap_or_else(|e| panic!("mark the page: {e}"));
        let _ = marker;
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let v = self
                .client
                .execute("return window.__naveOld === true ? 'old' : document.readyState;", vec![])
                .await
                .unwrap_or(Value::Null);
            if v == "complete" {
                break;
            }
            assert!(Instant::now() < deadline, "clicking {css} did not load a new page within 15 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of the element matching `css` once it is not empty (an htmx
    /// fragment arrives after the page): waits up to 10 s.
    pub async fn text_when_shown(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(e) = self.find_all(css).await.into_iter().next() {
                let t = e.text().await.unwrap_or_default();
                if !t.trim().is_empty() {
                    return t;
                }
            }
            assert!(Instant::now() < deadline, "{css} did not show within 10 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// The current page's path (`/quotes/…`).
    pub async fn path(&self) -> String {
        self.client.current_url().await.expect("current url").path().to_string()
    }

    /// The visible text of the whole page.
    pub async fn body_text(&self) -> String {
        self.text("body").await
    }

    /// The page's HTML as the browser has it.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// The `href`s of every link on the page, resolved by the browser.
    pub async fn links(&self) -> Vec<String> {
        let v = self
            .client
            .execute("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);", vec![])
            .await
            .expect("links");
        v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
    }

    /// Logs in through the login form.
    pub async fn log_in(&self, base: &str, email: &str, password: &str) {
        self.goto(&format!("{base}/login")).await;
        self.fill("input[name=email]", email).await;
        self.fill("input[name=password]", password).await;
        self.click_and_wait("form[action='/login'] button[type=submit]").await;
        assert_eq!(self.path().await, "/", "{email} lands on the home page after logging in");
    }
}

fn uuid_tag() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}
