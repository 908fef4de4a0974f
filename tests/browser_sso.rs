//! A real browser (headless Chromium through chromedriver) clicks "Sign in with SSO",
//! signs in at the test OpenID Provider and lands on the dashboard.

mod common;
mod sso_support;

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use common::free_port;
use fantoccini::{Client, ClientBuilder, Locator};
use sso_support::portal_with_provider;

struct Driver {
    child: Child,
    port: u16,
    profile: std::path::PathBuf,
}

impl Driver {
    fn start() -> Driver {
        let port = free_port();
        let child =
            Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver is installed (scripts/test installs chromium-driver)");
        let profile =
            std::env::temp_dir().join(format!("portal-chrome-{}", uuid::Uuid::new_v4().simple()));
        let driver = Driver {
            child,
            port,
            profile,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    async fn browser(&self) -> Client {
        // Two TLS crypto providers are linked into this test binary; pick one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                    format!("--user-data-dir={}", self.profile.display()),
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

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

async fn text(b: &Client, css: &str) -> String {
    b.find(Locator::Css(css))
        .await
        .expect(css)
        .text()
        .await
        .expect("text")
}

#[tokio::test]
async fn a_staff_member_signs_in_with_sso_in_a_browser() {
    let (app, _op) = portal_with_provider(&[]).await;
    let driver = Driver::start();
    let b = driver.browser().await;

    b.goto(&format!("{}/t/acme/login", app.address))
        .await
        .expect("sign-in page");
    b.find(Locator::Id("sso-button"))
        .await
        .expect("SSO button")
        .click()
        .await
        .expect("click");

    // At the provider's sign-in form.
    let login = b
        .wait()
        .for_element(Locator::Id("login"))
        .await
        .expect("provider form");
    login.send_keys("sam").await.expect("type");
    b.find(Locator::Id("login-submit"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");

    // Back at the portal, signed in, provisioned as staff.
    b.wait()
        .for_url(&url::Url::parse(&format!("{}/t/acme/dashboard", app.address)).unwrap())
        .await
        .expect("dashboard");
    assert_eq!(text(&b, "#whoami-name").await, "Sam Staff");
    assert_eq!(text(&b, "#whoami-role").await.to_lowercase(), "staff");
    assert!(
        text(&b, "#activity")
            .await
            .contains("sam@acme.test signed in")
    );

    b.close().await.expect("close browser");
}
