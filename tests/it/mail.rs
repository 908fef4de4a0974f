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

/// Mail waits in the queue while the mail server is down and leaves, once, when it is
/// back: nothing is lost and nothing is sent twice.
#[tokio::test]
async fn an_invitation_sent_while_smtp_is_down_arrives_once_it_is_back() {
    // Nothing listens on this port yet: the mail server is down.
    let port = crate::common::free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = TestApp::spawn_with(&[
        ("SMTP_URL", url.as_str()),
        ("PORTAL_MAIL_BACKOFF_MS", "200"),
    ])
    .await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    let page = admin
        .submit(
            "/t/acme/members",
            "/t/acme/members/invite",
            &[("email", "grace@acme.test"), ("role", "staff")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    // The worker tried and failed; the mail is still queued, nothing was lost.
    // (the first message of a batch is tried; the rest wait with it while the server
    // is down)
    let tried = "SELECT (count(*) FILTER (WHERE subject LIKE 'You are invited%') = 1 \
          AND max(attempts) > 0)::text AS v \
        FROM mail_outbox WHERE status = 'pending'";
    for _ in 0..300 {
        if app.query_strings(tried) == ["true"] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.query_strings(tried),
        ["true"],
        "the invitation waits in the queue: {:?}",
        app.query_strings(
            "SELECT concat_ws(' ', id, status, attempts, subject, last_error) AS v FROM mail_outbox"
        )
    );

    let sink = SmtpSink::start_on(port).await;
    // The confirmation mail of the sign-up and the invitation.
    let got = sink.wait_for(2).await;
    let invitations = |got: &[crate::common::smtp::Received]| {
        got.iter()
            .filter(|m| m.to == ["<grace@acme.test>"] && m.data.contains("/t/acme/invitations/"))
            .count()
    };
    assert_eq!(invitations(&got), 1);
    // Give a duplicate every chance to show up.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let got = sink.inbox.lock().unwrap().clone();
    assert_eq!(invitations(&got), 1, "the invitation was sent twice");
    assert_eq!(got.len(), 2, "{got:?}");
    // Sent rows keep no body: the link is gone from the database.
    let bodies = app.query_strings(
        "SELECT count(*)::text AS v FROM mail_outbox WHERE status = 'sent' AND body = ''",
    );
    assert_eq!(bodies, ["2"]);
}
