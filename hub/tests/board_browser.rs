//! The back-office board in a real browser (issue #15, item 6): Debian's headless Chromium,
//! driven through `chromedriver` (W3C WebDriver), logs in with the board token, assigns a job
//! CityFibre sent, sees the state change; a phone (an unmodified core `Engine` on the hub)
//! accepts and travels, and a reload shows the job's latest message and its delivery; the
//! browser then revokes the phone and sees it marked revoked.
//!
//! WebDriver is spoken with a handful of JSON calls over `reqwest` (already the hub's HTTP
//! client) rather than a WebDriver crate: the test needs seven commands, and `fantoccini`
//! would add its own hyper client, cookie and URL stacks to compile on every run.
//!
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` this test FAILS (it does not skip):
//! `scripts/test.sh` installs them (`need_chromium` in `scripts/install.sh`).

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{World, board_token, eventually};
use jobpack_core::outbox::ItemState;
use jobpack_core::protocol::Location;
use jobpack_sim::sample_job_pack;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C web element identifier.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const IDLE: Duration = Duration::from_secs(20);
/// How long one page step (a click's navigation) may take.
const STEP: Duration = Duration::from_secs(10);

/// `chromedriver` on a free loopback port in a process group of its own; on drop the whole
/// group (chromedriver and the Chromium it started) is killed, so a failed test leaves no
/// browser behind.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
struct Browser {
    http: reqwest::Client,
    session: String,
    _driver: Driver,
}

fn require(path: &str) {
    assert!(
        Path::new(path).is_file(),
        "{path} is missing: this test needs Debian's chromium and chromium-driver \
         (`apt-get install -y chromium chromium-driver`, or `source scripts/install.sh && \
         need_chromium`; scripts/test.sh does it)"
    );
}

impl Browser {
    async fn start(profile: &Path) -> Browser {
        require(CHROMIUM);
        require(CHROMEDRIVER);
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().expect("chromedriver starts");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let status = format!("{}/status", driver.url);
        let mut ready = false;
        for _ in 0..200 {
            if let Ok(response) = http.get(&status).send().await {
                if let Ok(text) = response.text().await {
                    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    if value.pointer("/value/ready") == Some(&Value::Bool(true)) {
                        ready = true;
                        break;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not become ready on {}", driver.url);
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            // The hub's server certificate is issued by its own CA.
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--no-default-browser-check",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let answer = call(
            &http,
            reqwest::Method::POST,
            &format!("{}/session", driver.url),
            Some(capabilities),
        )
        .await;
        let session = answer
            .pointer("/sessionId")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no WebDriver session: {answer}"))
            .to_owned();
        Browser {
            http,
            session,
            _driver: driver,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self._driver.url, self.session)
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        call(&self.http, method, &self.url(path), body).await
    }

    async fn go(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn current_url(&self) -> String {
        self.command(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The element `css` selects, or `None`.
    async fn find(&self, css: &str) -> Option<String> {
        let answer = self
            .http
            .post(self.url("/element"))
            .json_body(json!({"using": "css selector", "value": css}))
            .send()
            .await
            .expect("find");
        let text = answer.text().await.expect("text");
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        value
            .pointer(&format!("/value/{ELEMENT}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// The element `css` selects, waiting for it (a click's navigation may still be under way).
    async fn element(&self, css: &str) -> String {
        let start = tokio::time::Instant::now();
        let mut found = self.find(css).await;
        while found.is_none() && start.elapsed() < STEP {
            tokio::time::sleep(Duration::from_millis(50)).await;
            found = self.find(css).await;
        }
        match found {
            Some(id) => id,
            None => panic!(
                "no element {css} on {}:\n{}",
                self.current_url().await,
                self.source().await
            ),
        }
    }

    async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// The text at `css` now (`None` when there is no such element, or it went stale).
    async fn try_text(&self, css: &str) -> Option<String> {
        let id = self.find(css).await?;
        let answer = self
            .http
            .get(self.url(&format!("/element/{id}/text")))
            .send()
            .await
            .ok()?;
        if !answer.status().is_success() {
            return None;
        }
        let value: Value = serde_json::from_str(&answer.text().await.ok()?).ok()?;
        Some(value.get("value")?.as_str()?.trim().to_owned())
    }

    /// Waits (without reloading) until the text at `css` is `expected`: a click's navigation
    /// ends after the click command returns. `Err` with the last text seen.
    async fn wait_text(&self, css: &str, expected: &str) -> Result<(), Option<String>> {
        let start = tokio::time::Instant::now();
        loop {
            let seen = self.try_text(css).await;
            if seen.as_deref() == Some(expected) {
                return Ok(());
            }
            if start.elapsed() > STEP {
                return Err(seen);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the browser is at a URL ending in `suffix`.
    async fn wait_url(&self, suffix: &str) {
        let start = tokio::time::Instant::now();
        let mut at = self.current_url().await;
        while !at.ends_with(suffix) && start.elapsed() < STEP {
            tokio::time::sleep(Duration::from_millis(50)).await;
            at = self.current_url().await;
        }
        assert!(at.ends_with(suffix), "at {at}, not at {suffix}");
    }

    async fn source(&self) -> String {
        self.command(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Reloads `url` until the text at `css` is `expected`; the last text seen otherwise.
    async fn reload_until(
        &self,
        url: &str,
        css: &str,
        expected: &str,
    ) -> Result<(), Option<String>> {
        let start = tokio::time::Instant::now();
        loop {
            self.go(url).await;
            let seen = self.try_text(css).await;
            if seen.as_deref() == Some(expected) {
                return Ok(());
            }
            if start.elapsed() > IDLE {
                return Err(seen);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn quit(self) {
        self.command(reqwest::Method::DELETE, "", None).await;
    }
}

/// Adds a JSON body (reqwest's `json` feature is not enabled in the workspace).
trait JsonBody {
    fn json_body(self, body: Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, body: Value) -> Self {
        self.header("content-type", "application/json")
            .body(body.to_string())
    }
}

/// One WebDriver command; its `value`, or a panic naming the WebDriver error.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Value {
    let mut request = http.request(method.clone(), url);
    if let Some(body) = body {
        request = request.json_body(body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
    let status = response.status();
    let text = response.text().await.expect("WebDriver answer");
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert!(
        status.is_success(),
        "WebDriver {method} {url} answered {status}: {text}"
    );
    value.get("value").cloned().unwrap_or(Value::Null)
}

fn here() -> Location {
    Location::new(53.8, -1.55, 5.0).expect("location")
}

on_both! {
async fn the_office_logs_in_assigns_a_job_and_sees_the_phone_act_then_revokes_the_phone(kind) {
    let world = World::start(kind, 1).await;
    world
        .cityfibre
        .create_job("S1", sample_job_pack("S1").expect("pack"))
        .await
        .expect("createJob");
    let phone_tls = world.device("phone-e001", "E001");
    let profile = tempfile::tempdir().expect("browser profile");
    let browser = Browser::start(profile.path()).await;
    let board = world.hub.board_url().expect("board").to_owned();
    let jobs = format!("{board}/jobs");
    let row = "tr[data-job=\"S1\"]";

    // No session: the board sends the browser to its login page.
    browser.go(&jobs).await;
    browser.wait_url("/login").await;
    browser.type_into("#token", "wrong-token").await;
    browser.click("#login").await;
    assert_eq!(
        browser
            .wait_text("#login-error", "That is not the board token.")
            .await,
        Ok(())
    );
    browser.type_into("#token", &board_token(&world)).await;
    browser.click("#login").await;
    browser.wait_url("/jobs").await;
    let text = |field: &str| format!("{row} .{field}");
    assert_eq!(browser.wait_text(&text("state"), "received").await, Ok(()));
    assert_eq!(browser.wait_text(&text("engineer"), "").await, Ok(()));

    // Assign S1 to E001 with the row's form.
    browser
        .click(&format!("{row} option[value=\"E001\"]"))
        .await;
    browser
        .click(&format!("{row} button[type=\"submit\"]"))
        .await;
    assert_eq!(browser.wait_text(&text("state"), "assigned").await, Ok(()));
    assert_eq!(browser.wait_text(&text("engineer"), "E001").await, Ok(()));
    assert_eq!(
        browser
            .wait_text(&text("message"), "engineer assigned: E001")
            .await,
        Ok(())
    );
    // The hub forwards the engineer details to CityFibre; the board shows them delivered.
    let delivered = browser.reload_until(&jobs, &text("delivery"), "sent").await;
    assert_eq!(delivered, Ok(()), "the engineer details' delivery");

    // The phone gets the job, accepts it and sets off.
    let engine = world.engine("E001", phone_tls);
    engine.sync_until_idle(IDLE).await.expect("pull");
    assert_eq!(engine.jobs().expect("jobs").len(), 1);
    engine.accept("S1").expect("accept");
    engine.start_travel("S1", here(), None).expect("travel");
    engine.sync_until_idle(IDLE).await.expect("push");
    let hub_sent = || {
        world
            .hub
            .store()
            .outbox(Some("S1"))
            .expect("outbox")
            .iter()
            .all(|i| i.state == ItemState::Sent)
    };
    assert!(eventually(IDLE, hub_sent).await, "the hub forwarded them");
    let seen = browser
        .reload_until(&jobs, &text("message"), "E001: enRoute")
        .await;
    assert_eq!(seen, Ok(()), "the phone's latest message on the board");
    assert_eq!(browser.wait_text(&text("delivery"), "sent").await, Ok(()));
    assert_eq!(browser.wait_text(&text("state"), "assigned").await, Ok(()));

    // Revoke the phone from the devices page.
    browser.click("a[href=\"/devices\"]").await;
    browser.wait_url("/devices").await;
    let device = "tr[data-device=\"phone-e001\"]";
    let status = format!("{device} .status");
    assert_eq!(browser.wait_text(&status, "active").await, Ok(()));
    browser
        .click(&format!("{device} button[type=\"submit\"]"))
        .await;
    let start = tokio::time::Instant::now();
    let mut seen = browser.try_text(&status).await;
    while !seen.as_deref().is_some_and(|s| s.starts_with("revoked")) && start.elapsed() < STEP {
        tokio::time::sleep(Duration::from_millis(50)).await;
        seen = browser.try_text(&status).await;
    }
    assert!(
        seen.as_deref().is_some_and(|s| s.starts_with("revoked")),
        "{seen:?}"
    );
    assert!(
        world
            .hub
            .store()
            .devices()
            .expect("devices")
            .iter()
            .any(|d| d.device_id == "phone-e001" && d.revoked_at.is_some())
    );

    // Logging out ends the session: the board is behind the login again.
    browser.click("#logout").await;
    browser.wait_url("/login").await;
    browser.go(&jobs).await;
    browser.wait_url("/login").await;
    browser.quit().await;
    engine.shutdown();
}
}
