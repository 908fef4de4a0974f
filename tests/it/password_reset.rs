//! Forgotten passwords: a mailed single-use link sets a new one and signs the account
//! out everywhere; the answer never tells whether an email has an account.

use reqwest::StatusCode;

use crate::common::{self, PASSWORD, TestApp};

const NEW_PASSWORD: &str = "Purple-Otter-Lantern-5821";
const FORGOT: &str = "/t/acme/password/forgot";

async fn ask_for_link(app: &TestApp, email: &str) -> common::Page {
    app.visitor()
        .submit(FORGOT, FORGOT, &[("email", email)])
        .await
}

#[tokio::test]
async fn a_mailed_link_sets_a_new_password_once_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let first_device = app.signup("Acme", "acme", "ada@acme.test").await;
    let second_device = app.visitor();
    let signed_in = second_device.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);

    // The sign-in page leads to the form.
    let login = app.visitor().get("/t/acme/login").await;
    assert!(login.body.contains(r#"href="/t/acme/password/forgot""#));

    let sent = ask_for_link(&app, "ada@acme.test").await;
    assert_eq!(sent.status, StatusCode::OK);
    assert!(
        sent.body.contains("we have sent it a link"),
        "{}",
        sent.body
    );
    let mail = app.wait_for_mail("ada@acme.test", "Reset", 1).await;
    assert!(mail.body.contains("30 minutes"), "{}", mail.body);
    let link = mail.link("/password/reset/");

    let v = app.visitor();
    let form = v.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("Choose a new password"));
    assert!(form.body.contains("ada@acme.test"));

    // A weak password is refused and the link keeps working.
    let weak = v.submit(&link, &link, &[("password", "password123")]).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("password-error"), "{}", weak.body);

    let done = v.submit(&link, &link, &[("password", NEW_PASSWORD)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/t/acme/login?reset=1"));
    let notice = v.get("/t/acme/login?reset=1").await;
    assert!(notice.body.contains("Your password has been changed"));

    // Both earlier sessions are over.
    for device in [&first_device, &second_device] {
        let dash = device.get("/t/acme/dashboard").await;
        assert_eq!(dash.status, StatusCode::SEE_OTHER);
        assert!(dash.location.unwrap().starts_with("/t/acme/login"));
    }

    // The old password is gone, the new one works.
    let old = app.visitor().login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = app
        .visitor()
        .login("acme", "ada@acme.test", NEW_PASSWORD)
        .await;
    assert_eq!(new.status, StatusCode::SEE_OTHER);

    // The link works once.
    let again = v.get(&link).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.body.contains("already been used"), "{}", again.body);
    let replay = v
        .submit(FORGOT, &link, &[("password", "Another-Fine-Pass-77")])
        .await;
    assert_eq!(replay.status, StatusCode::GONE);
    let still = app
        .visitor()
        .login("acme", "ada@acme.test", NEW_PASSWORD)
        .await;
    assert_eq!(still.status, StatusCode::SEE_OTHER);

    let audited = app.query_strings(
        "SELECT action AS v FROM tenant_acme.audit_log \
         WHERE action IN ('password.reset_requested', 'password.reset') ORDER BY id",
    );
    assert_eq!(audited, ["password.reset_requested", "password.reset"]);
    // Only a hash of the token is stored.
    let token = link.rsplit('/').next().unwrap();
    let stored = app.query_strings("SELECT token_hash AS v FROM tenant_acme.user_tokens");
    assert!(stored.iter().all(|h| !h.contains(token)));
}

#[tokio::test]
async fn an_unknown_email_gets_the_same_answer_and_no_mail() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;

    let known = ask_for_link(&app, "ada@acme.test").await;
    let unknown = ask_for_link(&app, "nobody@acme.test").await;
    assert_eq!(known.status, unknown.status);
    let strip = |body: &str, email: &str| {
        body.replace(email, "EMAIL")
            .lines()
            .filter(|l| !l.contains("csrf_token"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&known.body, "ada@acme.test"),
        strip(&unknown.body, "nobody@acme.test")
    );
    app.wait_for_mail("ada@acme.test", "Reset", 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.mails_to("nobody@acme.test").is_empty());

    // A malformed address gets a field message, not a 500.
    let bad = ask_for_link(&app, "not-an-email").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("email-error"));
}

#[tokio::test]
async fn an_expired_or_made_up_link_fails_clearly_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    ask_for_link(&app, "ada@acme.test").await;
    let link = app
        .wait_for_mail("ada@acme.test", "Reset", 1)
        .await
        .link("/password/reset/");
    app.query_strings(
        "UPDATE tenant_acme.user_tokens SET expires_at = now() - interval '1 second' \
         WHERE purpose = 'password_reset' RETURNING id::text AS v",
    );

    let v = app.visitor();
    let expired = v.get(&link).await;
    assert_eq!(expired.status, StatusCode::GONE);
    assert!(
        expired.body.contains("This link has expired"),
        "{}",
        expired.body
    );
    assert!(expired.body.contains(r#"href="/t/acme/password/forgot""#));
    let post = v.submit(FORGOT, &link, &[("password", NEW_PASSWORD)]).await;
    assert_eq!(post.status, StatusCode::GONE);

    let made_up = v.get("/t/acme/password/reset/not-a-real-token").await;
    assert_eq!(made_up.status, StatusCode::NOT_FOUND);
    assert!(made_up.body.contains("This link is not valid"));
    let long = format!("/t/acme/password/reset/{}", "x".repeat(500));
    assert_eq!(v.get(&long).await.status, StatusCode::NOT_FOUND);

    let old = app.visitor().login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(old.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_newer_link_replaces_the_older_one() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    ask_for_link(&app, "ada@acme.test").await;
    let first = app.wait_for_mail("ada@acme.test", "Reset", 1).await;
    ask_for_link(&app, "ada@acme.test").await;
    let second = app.wait_for_mail("ada@acme.test", "Reset", 2).await;
    let v = app.visitor();
    assert_eq!(
        v.get(&first.link("/password/reset/")).await.status,
        StatusCode::GONE
    );
    assert_eq!(
        v.get(&second.link("/password/reset/")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_reset_lifts_a_lockout() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let guesser = app.visitor();
    for _ in 0..5 {
        guesser
            .login("acme", "ada@acme.test", "Wrong-Guess-42")
            .await;
    }
    let locked = guesser.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);

    ask_for_link(&app, "ada@acme.test").await;
    let link = app
        .wait_for_mail("ada@acme.test", "Reset", 1)
        .await
        .link("/password/reset/");
    let v = app.visitor();
    let done = v.submit(&link, &link, &[("password", NEW_PASSWORD)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let back = v.login("acme", "ada@acme.test", NEW_PASSWORD).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
}

#[tokio::test]
async fn nobody_can_flood_a_mailbox_with_reset_links() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(ask_for_link(&app, "ada@acme.test").await);
    }
    assert!(statuses[..3].iter().all(|p| p.status == StatusCode::OK));
    let refused = &statuses[3];
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.contains_key("retry-after"));
    assert!(refused.body.contains("Too many password reset requests"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mails_about("ada@acme.test", "Reset").len(), 3);
}
