//! Browser tests' tools: headless Chromium through chromedriver, and page helpers
//! that wait for navigation to finish.

use std::{
    process::{Child, Command},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator};

use super::start_on_free_port;

/// A chromedriver process, stopped (and its browser profile removed) when dropped.
pub struct Driver {
    child: Child,
    port: u16,
    profile: std::path::PathBuf,
}

impl Driver {
    /// Starts chromedriver on a free port. It counts as started once it says so on its
    /// own output (a mere connect could reach another test's chromedriver that took the
    /// port first); one that exits instead is started again on another port.
    pub fn start() -> Driver {
        let profile =
            std::env::temp_dir().join(format!("portal-chrome-{}", uuid::Uuid::new_v4().simple()));
        let (child, port) = start_on_free_port(
            "chromedriver (scripts/test installs chromium-driver)",
            |port| {
                let mut driver = Command::new(
                    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()),
                );
                driver.arg(format!("--port={port}"));
                driver
            },
            "ChromeDriver was started successfully",
            Duration::from_secs(30),
        );
        Driver {
            child,
            port,
            profile,
        }
    }

    /// A new headless Chromium session.
    pub async fn browser(&self) -> Client {
        // Two TLS crypto providers are linked into this test binary; pick one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let profile = self.profile.display().to_string();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                    format!("--user-data-dir={profile}"),
                ]
            }),
        );
        ClientBuilder::rustls()
            .expect("TLS roots")
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("chromedriver session")
    }
}

impl Driver {
    /// Adds a virtual authenticator to the browser (WebDriver's WebAuthn extension, in
    /// chromedriver): a built-in (internal) CTAP2 device that keeps discoverable
    /// credentials and verifies its user when `verifies` (else it has no PIN or
    /// biometrics). Returns its id.
    pub async fn add_authenticator(&self, b: &Client, verifies: bool) -> String {
        let session = b
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let url = format!(
            "http://127.0.0.1:{}/session/{session}/webauthn/authenticator",
            self.port
        );
        let answer: serde_json::Value = reqwest::Client::new()
            .post(url)
            .json(&serde_json::json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": verifies,
                "isUserVerified": verifies,
                "automaticPresenceSimulation": true,
            }))
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("JSON");
        answer["value"]
            .as_str()
            .unwrap_or_else(|| panic!("no authenticator: {answer}"))
            .to_string()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Types a value into a field, replacing what it held.
pub async fn fill(b: &Client, css: &str, value: &str) {
    let el = b.find(Locator::Css(css)).await.expect(css);
    el.clear().await.expect("clear");
    el.send_keys(value).await.expect("type");
}

/// The text of the first element matching `css`.
pub async fn text(b: &Client, css: &str) -> String {
    b.find(Locator::Css(css))
        .await
        .expect(css)
        .text()
        .await
        .expect("text")
}

/// Waits until the browser shows this path (a click returns before navigation ends).
pub async fn wait_for_path(b: &Client, path: &str) {
    for _ in 0..100 {
        let here = b
            .current_url()
            .await
            .map(|u| u.path() == path)
            .unwrap_or(false);
        if here
            && let Ok(state) = b.execute("return document.readyState", vec![]).await
            && state == "complete"
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the browser never reached {path}");
}

/// Submits the page's main form and waits for the next page.
pub async fn submit(b: &Client) {
    click(b, Locator::Css("form.form button[type=submit]")).await;
}

/// Clicks something that loads a new page, and waits until the new page is there (a
/// click returns before the navigation it starts has finished).
pub async fn click(b: &Client, what: Locator<'_>) {
    b.execute("window.__before_click = true", vec![])
        .await
        .expect("mark the page");
    b.find(what)
        .await
        .expect("the element to click")
        .click()
        .await
        .expect("click");
    for _ in 0..200 {
        let loaded = b
            .execute(
                "return window.__before_click === undefined && document.readyState === 'complete'",
                vec![],
            )
            .await;
        if matches!(loaded, Ok(serde_json::Value::Bool(true))) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the click did not load a new page");
}
