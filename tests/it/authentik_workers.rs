//! Several portal instances share one outbox: every change is delivered once.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use tenant_portal::authentik::AuthentikClient;
use tenant_portal::authentik::worker::{LEASE, Worker};
use tenant_portal::config::Settings;
use tenant_portal::models::authentik_outbox as outbox_rows;

use crate::common::authentik_env::{TOKEN, db, outbox as rows, undelivered};
use crate::common::fake_authentik::FakeAuthentik;
use crate::common::{OWN_WORKERS, PASSWORD, TestApp};

fn worker(app: &TestApp, fake: &FakeAuthentik) -> Worker {
    let vars = [
        ("AUTHENTIK_URL".to_string(), fake.url()),
        ("AUTHENTIK_TOKEN".to_string(), TOKEN.to_string()),
    ]
    .into_iter()
    .collect();
    let s = Settings::from_map(&vars).expect("settings");
    let a = s.authentik.clone().expect("configured");
    let client = Arc::new(AuthentikClient::new(&a).expect("client"));
    Worker::new(db(app), client, a, s.authentik_group_prefix.clone())
}

/// A portal with provisioning on whose own worker does not run: the test's workers
/// (other instances, say) deliver.
async fn portal_without_its_worker(fake: &FakeAuthentik) -> TestApp {
    TestApp::spawn_with(&[
        ("RATE_LIMIT_ENABLED", "false"),
        ("AUTHENTIK_URL", &fake.url()),
        ("AUTHENTIK_TOKEN", TOKEN),
        (OWN_WORKERS, "1"),
    ])
    .await
}

#[tokio::test]
async fn two_workers_deliver_each_change_exactly_once() {
    // A portal with provisioning on queues the changes; its own worker does not run,
    // the two below (two instances, say) deliver them to the fake.
    let fake = FakeAuthentik::start(TOKEN).await;
    let app = portal_without_its_worker(&fake).await;
    let http = reqwest::Client::new();
    for i in 0..10 {
        let res = http
            .post(format!("{}/api/v1/users", app.address))
            .json(&serde_json::json!({
                "email": format!("p{i}@org{i}.test"), "password": PASSWORD,
                "company_name": format!("Org {i}"), "business_type": "software",
                "country": "DE", "slug": format!("org{i}"),
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    assert_eq!(undelivered(&app), 20);

    let (a, b) = (worker(&app, &fake), worker(&app, &fake));
    for _ in 0..20 {
        let (ra, rb) = tokio::join!(a.round(), b.round());
        ra.expect("round");
        rb.expect("round");
        if undelivered(&app) == 0 {
            break;
        }
    }
    assert_eq!(undelivered(&app), 0, "{:?}", rows(&app));
    assert_eq!(fake.users().len(), 10);
    assert_eq!(fake.user_creations(), 10, "no person was delivered twice");
    assert_eq!(fake.groups().len(), 30);
    for row in rows(&app) {
        assert!(row.ends_with("|1"), "delivered in one attempt: {row}");
    }
}

#[tokio::test]
async fn a_crashed_workers_rows_come_back_within_its_lease_and_its_late_writes_change_nothing() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let app = portal_without_its_worker(&fake).await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    assert_eq!(undelivered(&app), 2);

    // A worker claims the rows and dies before delivering any of them.
    let crashed = uuid::Uuid::new_v4();
    let claimed = db(&app)
        .run(move |conn| outbox_rows::claim(conn, crashed, 16, LEASE))
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);

    // Another instance's worker finds nothing while the claim lasts, then delivers.
    let survivor = worker(&app, &fake);
    assert_eq!(
        survivor.round().await.expect("round"),
        0,
        "a live claim was taken"
    );
    let started = std::time::Instant::now();
    while undelivered(&app) > 0 {
        assert!(
            started.elapsed() < LEASE * 3,
            "rows of a crashed worker still wait: {:?}",
            rows(&app)
        );
        survivor.round().await.expect("round");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(fake.user_creations(), 1);
    assert_eq!(
        rows(&app),
        ["done|tenant_created|1", "done|person_changed|1"]
    );

    // The crashed worker comes back with writes for rows it no longer holds.
    let ids: Vec<i64> = claimed.iter().map(|r| r.id).collect();
    db(&app)
        .run(move |conn| {
            for id in ids {
                outbox_rows::reschedule(conn, crashed, id, Duration::ZERO, "late", true)?;
                outbox_rows::mark_failed(conn, crashed, id, "late")?;
            }
            Ok(())
        })
        .await
        .expect("late writes");
    assert_eq!(
        rows(&app),
        ["done|tenant_created|1", "done|person_changed|1"]
    );
}
