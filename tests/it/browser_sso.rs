//! A real browser (headless Chromium through chromedriver) clicks "Sign in with SSO",
//! signs in at the test OpenID Provider and lands on the dashboard.

use fantoccini::Locator;

use crate::common::browser::{Driver, text};
use crate::common::sso_support::portal_with_provider;

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
