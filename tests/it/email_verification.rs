//! New accounts confirm their email address through a mailed link; an organization
//! can require that before password sign-in.

use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp, Visitor};

const SETTINGS: &str = "/t/acme/settings";

async fn set(admin: &Visitor, fields: &[(&str, &str)]) {
    let saved = admin.submit(SETTINGS, SETTINGS, fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
}

#[tokio::test]
async fn sign_up_mails_a_link_and_the_dashboard_asks_until_it_is_followed() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    let dash = admin.get("/t/acme/dashboard").await;
    assert!(dash.body.contains("verify-banner"), "{}", dash.body);
    assert!(dash.body.contains("Please confirm your email address"));

    let mail = app.wait_for_mail("ada@acme.test", "Confirm", 1).await;
    let link = mail.link("/verify-email/");
    let confirmed = app.visitor().get(&link).await;
    assert_eq!(confirmed.status, StatusCode::OK);
    assert!(confirmed.body.contains("ada@acme.test is confirmed"));

    let dash = admin.get("/t/acme/dashboard").await;
    assert!(!dash.body.contains("verify-banner"));
    let again = app.visitor().get(&link).await;
    assert_eq!(again.status, StatusCode::GONE);
    let audited = app.query_strings(
        "SELECT target AS v FROM tenant_acme.audit_log WHERE action = 'email.verified'",
    );
    assert_eq!(audited, ["ada@acme.test"]);
}

#[tokio::test]
async fn a_new_link_from_the_dashboard_replaces_the_first() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    let first = app.wait_for_mail("ada@acme.test", "Confirm", 1).await;
    let resent = admin
        .submit("/t/acme/dashboard", "/t/acme/verify-email/resend", &[])
        .await;
    assert_eq!(resent.status, StatusCode::SEE_OTHER);
    assert_eq!(
        resent.location.as_deref(),
        Some("/t/acme/dashboard?verification=sent")
    );
    let notice = admin.get("/t/acme/dashboard?verification=sent").await;
    assert!(notice.body.contains("We sent you a new confirmation link"));
    let second = app.wait_for_mail("ada@acme.test", "Confirm", 2).await;
    let v = app.visitor();
    assert_eq!(
        v.get(&first.link("/verify-email/")).await.status,
        StatusCode::GONE
    );
    assert_eq!(
        v.get(&second.link("/verify-email/")).await.status,
        StatusCode::OK
    );

    // Signed out, the button asks for sign-in instead of mailing anyone.
    let stranger = app.visitor();
    let refused = stranger
        .submit("/t/acme/login", "/t/acme/verify-email/resend", &[])
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert!(refused.location.unwrap().starts_with("/t/acme/login"));
}

#[tokio::test]
async fn with_verification_required_an_unconfirmed_account_cannot_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    set(
        &admin,
        &[
            ("registration", "open"),
            ("allowed_domains", ""),
            ("password_login", "on"),
            ("require_email_verification", "on"),
        ],
    )
    .await;

    let bob = app.visitor();
    let registered = bob
        .submit(
            "/t/acme/register",
            "/t/acme/register",
            &[
                ("name", "Bob Stone"),
                ("email", "bob@elsewhere.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    assert!(registered.body.contains("Check your email"));
    assert!(bob.cookie("portal_session").is_none());
    app.wait_for_mail("bob@elsewhere.test", "Confirm", 1).await;

    // The right password is not enough yet; trying sends a fresh link.
    let refused = bob.login("acme", "bob@elsewhere.test", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.body.contains("confirm your email address"),
        "{}",
        refused.body
    );
    assert!(bob.cookie("portal_session").is_none());
    let newest = app.wait_for_mail("bob@elsewhere.test", "Confirm", 2).await;

    // A wrong password still says only that it is wrong.
    let wrong = bob
        .login("acme", "bob@elsewhere.test", "Not-The-Password-1")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    assert_eq!(
        bob.get(&newest.link("/verify-email/")).await.status,
        StatusCode::OK
    );
    let in_ = bob.login("acme", "bob@elsewhere.test", PASSWORD).await;
    assert_eq!(in_.status, StatusCode::SEE_OTHER, "{}", in_.body);

    // The rule holds for admins too: one who never confirmed gets a link as well.
    let ada = app.visitor().login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(ada.status, StatusCode::FORBIDDEN);
    app.wait_for_mail("ada@acme.test", "Confirm", 2).await;
}
