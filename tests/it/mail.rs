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

/// A worker killed while it delivers (its mail server hangs) loses nothing: another
/// worker takes its messages over once the lease runs out and sends each once.
#[tokio::test]
async fn a_mail_worker_killed_mid_delivery_loses_and_duplicates_nothing() {
    use std::time::Duration;
    use tenant_portal::app::mail_worker::MailWorker;

    // A mail server that accepts connections and never says a word.
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hanging_port = hanging.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = hanging.accept().await {
            open.push(socket);
        }
    });
    let hanging_url = format!("smtp://127.0.0.1:{hanging_port}");
    // The portal's own workers do not run: the test runs them.
    let app = TestApp::spawn_with(&[
        ("SMTP_URL", hanging_url.as_str()),
        (crate::common::OWN_WORKERS, "1"),
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

    let db = tenant_portal::db::Db::new(&app.database_url, 2).unwrap();
    let base = url::Url::parse("http://portal.test").unwrap();
    let settings = tenant_portal::config::MailQueueSettings {
        poll: Duration::from_millis(50),
        backoff: Duration::from_millis(100),
        max_attempts: 5,
    };
    let mailer = |url: &str| {
        tenant_portal::mail::Mailer::new(Some(url), "Portal <p@portal.test>", "mail".into(), &base)
            .unwrap()
    };
    let lease = Duration::from_secs(2);
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let first = MailWorker::new(db.clone(), mailer(&hanging_url), settings).with_lease(lease);
    let killed = tokio::spawn(first.run(stopped.clone()));
    let claimed = "SELECT count(*)::text AS v FROM mail_outbox WHERE claimed_by IS NOT NULL";
    for _ in 0..100 {
        if app.query_strings(claimed) == ["2"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.query_strings(claimed),
        ["2"],
        "the first worker claimed both"
    );
    // Killed mid-delivery: the hanging server never accepted a message.
    killed.abort();
    let _ = killed.await;

    let sink = SmtpSink::start().await;
    let good_url = format!("smtp://127.0.0.1:{}", sink.port);
    let second = MailWorker::new(db, mailer(&good_url), settings).with_lease(lease);
    let survivor = tokio::spawn(second.run(stopped));
    let got = sink.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got_later = sink.inbox.lock().unwrap().clone();
    assert_eq!(got_later.len(), 2, "{got_later:?}");
    let to = |who: &str| got.iter().filter(|m| m.to == [format!("<{who}>")]).count();
    assert_eq!((to("ada@acme.test"), to("grace@acme.test")), (1, 1));
    assert_eq!(
        app.query_strings("SELECT string_agg(status, ',') AS v FROM mail_outbox"),
        ["sent,sent"]
    );
    survivor.abort();
    held.abort();
}
