//! Helpers for the Authentik provisioning tests: a portal wired to the fake, and ways
//! to wait for the outbox.

use std::time::{Duration, Instant};

use crate::common::TestApp;
use crate::common::fake_authentik::FakeAuthentik;

/// The token the fake accepts.
pub const TOKEN: &str = "test-authentik-token-0123456789";

/// A portal whose worker delivers to `fake` quickly (short poll, backoff and pause).
pub async fn app_with(fake: &FakeAuthentik, extra: &[(&str, &str)]) -> TestApp {
    let url = fake.url();
    let mut vars: Vec<(&str, &str)> = vec![
        ("AUTHENTIK_URL", url.as_str()),
        ("AUTHENTIK_TOKEN", TOKEN),
        ("AUTHENTIK_OUTBOX_POLL_MS", "25"),
        ("AUTHENTIK_OUTBOX_BACKOFF_MS", "50"),
        ("AUTHENTIK_CIRCUIT_OPEN_SECS", "1"),
        ("AUTHENTIK_TIMEOUT_MS", "1000"),
    ];
    vars.extend_from_slice(extra);
    TestApp::spawn_with(&vars).await
}

/// Waits until `done` holds, or fails the test naming `what`.
pub async fn wait_until(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {secs} s waiting for {what}");
}

/// Each outbox row as `status|kind|attempts`.
pub fn outbox(app: &TestApp) -> Vec<String> {
    app.query_strings(
        "SELECT status || '|' || kind || '|' || attempts AS v FROM public.authentik_outbox ORDER BY id",
    )
}

/// Rows not delivered yet.
pub fn undelivered(app: &TestApp) -> usize {
    app.query_strings("SELECT id::text AS v FROM public.authentik_outbox WHERE status <> 'done'")
        .len()
}

/// Waits until every outbox row reached Authentik.
pub async fn wait_delivered(app: &TestApp) {
    wait_until("the outbox to drain", 30, || {
        !outbox(app).is_empty() && undelivered(app) == 0
    })
    .await;
}

/// A pool on the test's database, to call services directly.
pub fn db(app: &TestApp) -> tenant_portal::db::Db {
    tenant_portal::db::Db::new(&app.database_url, 2).expect("pool")
}

/// The id of the person with this email in a tenant.
pub fn person_id(app: &TestApp, slug: &str, email: &str) -> uuid::Uuid {
    let schema = format!("tenant_{}", slug.replace('-', "_"));
    let ids = app.query_strings(&format!(
        "SELECT id::text AS v FROM {schema}.users WHERE email = '{email}'"
    ));
    ids.first().expect("person exists").parse().expect("uuid")
}
