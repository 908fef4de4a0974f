//! A real browser (headless Chromium through chromedriver): signing up, the dashboard,
//! signing out and in, resetting a forgotten password through the mailed link, and
//! joining an organization through an invitation.

use fantoccini::Locator;

use crate::common::browser::{Driver, click, fill, submit, text, wait_for_path};
use crate::common::{PASSWORD, TestApp};

#[tokio::test]
async fn a_person_signs_up_sees_the_dashboard_and_signs_out_in_a_browser() {
    let app = TestApp::spawn().await;
    let driver = Driver::start();
    let b = driver.browser().await;

    b.goto(&app.address).await.expect("landing");
    click(&b, Locator::LinkText("Create an organization")).await;
    assert!(b.current_url().await.unwrap().path().ends_with("/signup"));
    assert_eq!(text(&b, "h1").await, "Create your organization");

    // A weak password first: the page explains, and keeps what was typed.
    fill(&b, "#company_name", "Initech Software").await;
    b.find(Locator::Css("#business_type"))
        .await
        .unwrap()
        .select_by_value("software")
        .await
        .unwrap();
    b.find(Locator::Css("#country"))
        .await
        .unwrap()
        .select_by_value("NL")
        .await
        .unwrap();
    fill(&b, "#name", "Peter Gibbons").await;
    fill(&b, "#email", "peter@initech.test").await;
    fill(&b, "#password", "password1234").await;
    click(&b, Locator::Css("form.form button[type=submit]")).await;
    let err = text(&b, "#password-error").await;
    assert!(err.contains("too easy to guess"), "{err}");
    let kept = b
        .find(Locator::Css("#company_name"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("Initech Software"));

    fill(&b, "#password", PASSWORD).await;
    click(&b, Locator::Css("form.form button[type=submit]")).await;

    // The dashboard of the new organization, for its admin.
    let url = b.current_url().await.unwrap();
    assert_eq!(url.path(), "/t/initech-software/dashboard");
    assert_eq!(text(&b, "#org-name").await, "Initech Software");
    assert_eq!(text(&b, "#whoami-name").await, "Peter Gibbons");
    assert_eq!(text(&b, "#whoami-role").await.to_lowercase(), "admin");
    assert_eq!(text(&b, "#member-count").await, "1");
    let activity = text(&b, "#activity").await;
    assert!(
        activity.contains("peter@initech.test created the organization"),
        "{activity}"
    );

    // Sign out: back at the sign-in page, and the dashboard is closed.
    click(&b, Locator::Css("form[action$='/logout'] button")).await;
    assert_eq!(
        b.current_url().await.unwrap().path(),
        "/t/initech-software/login"
    );
    assert!(
        text(&b, "[role=status]")
            .await
            .contains("You have signed out")
    );
    b.goto(&format!("{}/t/initech-software/dashboard", app.address))
        .await
        .unwrap();
    assert_eq!(
        b.current_url().await.unwrap().path(),
        "/t/initech-software/login"
    );

    // And in again.
    fill(&b, "#email", "peter@initech.test").await;
    fill(&b, "#password", PASSWORD).await;
    click(&b, Locator::Css("form.form button[type=submit]")).await;
    assert_eq!(
        b.current_url().await.unwrap().path(),
        "/t/initech-software/dashboard"
    );
    assert!(
        text(&b, "#activity")
            .await
            .contains("peter@initech.test signed in")
    );

    b.close().await.expect("close browser");
}

#[tokio::test]
async fn a_person_who_forgot_their_password_resets_it_by_mail_in_a_browser() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let driver = Driver::start();
    let b = driver.browser().await;

    b.goto(&format!("{}/t/acme/login", app.address))
        .await
        .unwrap();
    click(&b, Locator::LinkText("Forgot your password?")).await;
    assert_eq!(text(&b, "h1").await, "Reset your password");
    fill(&b, "#email", "ada@acme.test").await;
    submit(&b).await;
    let sent = text(&b, "#reset-sent").await;
    assert!(sent.contains("ada@acme.test"), "{sent}");

    // The link from the mail, opened in the browser.
    let mail = app.wait_for_mail("ada@acme.test", "Reset", 1).await;
    b.goto(&format!("{}{}", app.address, mail.link("/password/reset/")))
        .await
        .unwrap();
    assert_eq!(text(&b, "h1").await, "Choose a new password");
    fill(&b, "#password", "qwerty12345").await;
    submit(&b).await;
    assert!(
        text(&b, "#password-error")
            .await
            .contains("too easy to guess")
    );
    let new_password = "Velvet-Tractor-Morning-3310";
    fill(&b, "#password", new_password).await;
    submit(&b).await;

    // At the sign-in page, told the password changed; the new one works.
    assert_eq!(b.current_url().await.unwrap().path(), "/t/acme/login");
    assert!(
        text(&b, "[role=status]")
            .await
            .contains("Your password has been changed")
    );
    fill(&b, "#email", "ada@acme.test").await;
    fill(&b, "#password", new_password).await;
    submit(&b).await;
    assert_eq!(b.current_url().await.unwrap().path(), "/t/acme/dashboard");
    let activity = text(&b, "#activity").await;
    assert!(
        activity.contains("ada@acme.test set a new password through a reset link"),
        "{activity}"
    );

    b.close().await.expect("close browser");
}

#[tokio::test]
async fn an_admin_invites_a_member_who_accepts_and_signs_in_in_a_browser() {
    let app = TestApp::spawn().await;
    let driver = Driver::start();
    let admin = driver.browser().await;

    // The admin signs in and invites from the members page.
    app.signup("Acme", "acme", "ada@acme.test").await;
    admin
        .goto(&format!("{}/t/acme/login", app.address))
        .await
        .unwrap();
    fill(&admin, "#email", "ada@acme.test").await;
    fill(&admin, "#password", PASSWORD).await;
    submit(&admin).await;
    wait_for_path(&admin, "/t/acme/dashboard").await;
    click(&admin, Locator::LinkText("Members")).await;
    wait_for_path(&admin, "/t/acme/members").await;
    assert_eq!(text(&admin, "h1").await, "Members");
    fill(&admin, "#invite-email", "mia@acme.test").await;
    admin
        .find(Locator::Css("#invite-role"))
        .await
        .unwrap()
        .select_by_value("member")
        .await
        .unwrap();
    click(
        &admin,
        Locator::Css("form[action$='/members/invite'] button"),
    )
    .await;
    assert!(
        text(&admin, "#members-notice")
            .await
            .contains("Invitation sent to mia@acme.test")
    );
    assert!(text(&admin, "#invitations").await.contains("mia@acme.test"));
    admin.close().await.unwrap();

    // The invited person follows the mailed link in their own browser.
    let mail = app.wait_for_mail("mia@acme.test", "invited", 1).await;
    let mia = driver.browser().await;
    mia.goto(&format!("{}{}", app.address, mail.link("/invitations/")))
        .await
        .unwrap();
    assert_eq!(text(&mia, "h1").await, "Join Acme");
    assert!(text(&mia, "#invited-as").await.contains("Member"));
    fill(&mia, "#name", "Mia Wong").await;
    fill(&mia, "#password", PASSWORD).await;
    submit(&mia).await;
    assert_eq!(mia.current_url().await.unwrap().path(), "/t/acme/dashboard");
    assert_eq!(text(&mia, "#whoami-name").await, "Mia Wong");
    assert_eq!(text(&mia, "#whoami-role").await.to_lowercase(), "member");

    // Signed out and in again with the new password.
    click(&mia, Locator::Css("form[action$='/logout'] button")).await;
    fill(&mia, "#email", "mia@acme.test").await;
    fill(&mia, "#password", PASSWORD).await;
    submit(&mia).await;
    assert_eq!(mia.current_url().await.unwrap().path(), "/t/acme/dashboard");
    mia.close().await.unwrap();
}
