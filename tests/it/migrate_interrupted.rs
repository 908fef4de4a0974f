//! `portal migrate` stopped part-way (Ctrl-C, a crash) leaves every schema either fully
//! migrated or untouched, and the next run finishes the rest.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::cli::{exec, has_newest, out, portal};
use crate::common::TestApp;

const SCHEMAS: [&str; 3] = ["tenant_alpha_co", "tenant_bravo_co", "tenant_charlie_co"];

/// Whether the tables of the newest tenant migration are in the schema.
fn has_its_tables(app: &TestApp, schema: &str) -> bool {
    app.query_strings(&format!(
        "SELECT coalesce(to_regclass('{schema}.api_sessions')::text, '') || \
                coalesce(to_regclass('{schema}.refresh_tokens')::text, '') AS v"
    ))[0]
        .contains("refresh_tokens")
}

/// Connections of this test database waiting for a lock.
fn waiting_for_a_lock(app: &TestApp) -> usize {
    app.query_strings(
        "SELECT count(*)::text AS v FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )[0]
    .parse()
    .unwrap_or(0)
}

#[tokio::test]
async fn an_interrupted_migrate_leaves_each_schema_whole_or_untouched_and_the_next_run_finishes() {
    let app = TestApp::spawn().await;
    for (name, slug, email) in [
        ("Alpha Co", "alpha-co", "ann@alpha.test"),
        ("Bravo Co", "bravo-co", "bob@bravo.test"),
        ("Charlie Co", "charlie-co", "cat@charlie.test"),
    ] {
        app.signup(name, slug, email).await;
    }
    // The newest tenant migration (two tables) becomes pending everywhere.
    for schema in SCHEMAS {
        exec(
            &app,
            &format!(
                "DROP TABLE {schema}.refresh_tokens, {schema}.api_sessions; \
                 DELETE FROM {schema}.__diesel_schema_migrations WHERE version = '20261122000011'"
            ),
        );
    }
    // Someone holds bravo's people table, so the run (one schema at a time, by address)
    // stops there, half-way through its work, when it is interrupted.
    let mut holder = PgConnection::establish(&app.database_url).expect("connect");
    holder
        .batch_execute("BEGIN; LOCK TABLE tenant_bravo_co.users IN ACCESS EXCLUSIVE MODE")
        .expect("lock taken");

    let mut run = Command::new(env!("CARGO_BIN_EXE_portal"))
        .args(["migrate", "--jobs", "1"])
        .current_dir(std::env::temp_dir())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", &app.database_url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("portal migrate starts");
    let started = Instant::now();
    while waiting_for_a_lock(&app) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "migrate never reached bravo"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Ctrl-C.
    let sent = Command::new("kill")
        .args(["-INT", &run.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = run.wait().expect("migrate ends");
    assert!(
        !status.success(),
        "an interrupted run does not report success"
    );
    holder.batch_execute("ROLLBACK").expect("lock released");

    // Alpha was done before the interruption; bravo (interrupted) and charlie (not
    // reached) are untouched: no schema is half-migrated.
    assert!(has_newest(&app, "tenant_alpha_co") && has_its_tables(&app, "tenant_alpha_co"));
    for schema in ["tenant_bravo_co", "tenant_charlie_co"] {
        assert!(!has_newest(&app, schema), "{schema} recorded a migration");
        assert_eq!(
            app.query_strings(&format!(
                "SELECT coalesce(to_regclass('{schema}.api_sessions')::text, 'none') AS v"
            )),
            ["none"],
            "{schema} holds part of a migration"
        );
    }

    // The next run finishes what is left, and only that.
    let vars = [("DATABASE_URL", app.database_url.as_str())];
    let next = portal(&["migrate"], &vars, None);
    let text = out(&next);
    assert_eq!(next.status.code(), Some(0), "{text}");
    assert!(text.contains("2 migration(s) applied, 0 failed"), "{text}");
    for schema in SCHEMAS {
        assert!(
            has_newest(&app, schema) && has_its_tables(&app, schema),
            "{schema}"
        );
    }
}
