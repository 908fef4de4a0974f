//! With SMTP_URL set, mail leaves through that SMTP server instead of the mail folder.

use reqwest::StatusCode;

use crate::common::TestApp;
use crate::common::smtp::SmtpSink;

#[tokio::test]
async fn a_reset_link_is_sent_through_the_configured_smtp_server() {
    let sink = SmtpSink::start().await;
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    let app = TestApp::spawn_with(&[
        ("SMTP_URL", url.as_str()),
        ("PORTAL_MAIL_FROM", "Acme Portal <portal@acme.test>"),
    ])
    .await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let v = app.visitor();
    let page = v
        .submit(
            "/t/acme/password/forgot",
            "/t/acme/password/forgot",
            &[("email", "ada@acme.test")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);

    // Sign-up's confirmation mail, then the reset mail.
    let got = sink.wait_for(2).await;
    let reset = got
        .iter()
        .find(|m| m.data.contains("Subject: Reset your Acme password"))
        .expect("the reset mail");
    assert_eq!(reset.to, ["<ada@acme.test>"]);
    assert_eq!(reset.from, "<portal@acme.test>");
    assert!(
        reset
            .data
            .contains("From: \"Acme Portal\" <portal@acme.test>")
            || reset.data.contains("From: Acme Portal <portal@acme.test>"),
        "{}",
        reset.data
    );
    assert!(
        reset.data.contains("/t/acme/password/reset/"),
        "{}",
        reset.data
    );
    // Nothing went to the mail folder.
    assert!(app.mails_to("ada@acme.test").is_empty());
}
