//! The `portal` command as an operator uses it.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use reqwest::StatusCode;

use crate::common::{self, TestApp};

/// Runs `portal` with exactly these variables (no inherited configuration, no .env).
pub(crate) fn portal(args: &[&str], vars: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let dir = std::env::temp_dir();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portal"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("portal binary runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().expect("portal finishes")
}

pub(crate) fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_broken_production_configuration_names_every_variable_and_the_fix() {
    let o = portal(
        &["check"],
        &[("PORTAL_ENV", "production"), ("SECRET_KEY", "changeme")],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    let text = out(&o);
    for v in ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PORTAL_BASE_URL"] {
        assert!(text.contains(v), "{v} not named in:\n{text}");
    }
    assert!(text.contains("placeholder"));

    let o = portal(
        &["check"],
        &[("DATABASE_URL", "postgres://postgres:s3cret-pw@localhost/x")],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    let text = out(&o);
    assert!(
        text.contains("DATABASE_URL") && text.contains("127.0.0.1"),
        "{text}"
    );
    assert!(!text.contains("s3cret-pw"), "the password leaked: {text}");
}

#[tokio::test]
async fn check_reports_each_component_and_fails_when_one_is_down() {
    let app = TestApp::spawn().await;
    let redis = common::redis_url();
    let ok = portal(
        &["check"],
        &[("DATABASE_URL", &app.database_url), ("REDIS_URL", &redis)],
        None,
    );
    let text = out(&ok);
    assert_eq!(ok.status.code(), Some(0), "{text}");
    assert!(
        text.contains("database: ok") && text.contains("redis: ok"),
        "{text}"
    );

    let dead = format!("redis://127.0.0.1:{}", common::free_port());
    let bad = portal(
        &["check"],
        &[("DATABASE_URL", &app.database_url), ("REDIS_URL", &dead)],
        None,
    );
    assert_ne!(bad.status.code(), Some(0));
    assert!(out(&bad).to_lowercase().contains("redis"), "{}", out(&bad));
}

// Multi-threaded: the key server answers while the test waits for the command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_the_identity_providers_key_set_and_its_key_count() {
    let app = TestApp::spawn().await;
    let (a, b) = (
        common::keys::TestKey::new("k1"),
        common::keys::TestKey::new("k2"),
    );
    let keys = common::keys::KeyServer::start(&[&a, &b]).await;
    let redis = common::redis_url();
    let base = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("JWT_ISSUER", "http://127.0.0.1:9/application/o/portal/"),
        ("JWT_AUDIENCE", "portal"),
    ];
    let mut vars = base.to_vec();
    vars.push(("AUTHENTIK_PUBLIC_KEY_URL", keys.url.as_str()));
    let ok = portal(&["check"], &vars, None);
    let text = out(&ok);
    assert_eq!(ok.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!("jwks: ok (2 keys at {})", keys.url)),
        "{text}"
    );

    let dead = format!("http://127.0.0.1:{}/jwks", common::free_port());
    let mut vars = base.to_vec();
    vars.push(("AUTHENTIK_PUBLIC_KEY_URL", dead.as_str()));
    let bad = portal(&["check"], &vars, None);
    assert_ne!(bad.status.code(), Some(0));
    assert!(out(&bad).contains("jwks: FAILED"), "{}", out(&bad));
}

#[tokio::test]
async fn an_operator_lists_and_rotates_the_token_signing_keys() {
    let secret = format!("{}{}", "k".repeat(40), uuid::Uuid::new_v4().simple());
    let app = TestApp::spawn_with(&[("SECRET_KEY", secret.as_str())]).await;
    let vars = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("SECRET_KEY", secret.as_str()),
    ];
    let rows = |o: &Output| -> Vec<String> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .skip_while(|l| !l.starts_with("kid"))
            .skip(1)
            .map(str::to_string)
            .collect()
    };
    let list = portal(&["keys", "list"], &vars, None);
    assert_eq!(list.status.code(), Some(0), "{}", out(&list));
    let first = rows(&list);
    assert_eq!(first.len(), 1, "{}", out(&list));
    assert!(first[0].ends_with("signing"), "{}", out(&list));

    let later = portal(&["keys", "rotate"], &vars, None);
    assert_eq!(later.status.code(), Some(0), "{}", out(&later));
    let two = rows(&later);
    assert_eq!(two.len(), 2, "{}", out(&later));
    assert!(two[0].ends_with("signing") && two[1].ends_with("published, signs later"));

    let now = portal(&["keys", "rotate", "--now"], &vars, None);
    let three = rows(&now);
    assert_eq!(three.len(), 3, "{}", out(&now));
    assert_eq!(three.iter().filter(|r| r.ends_with("signing")).count(), 1);
    assert!(!three[0].ends_with("signing"), "{}", out(&now));

    // Another SECRET_KEY can read the public halves but sign with none of them.
    let other = format!("{}{}", "o".repeat(40), uuid::Uuid::new_v4().simple());
    let foreign = portal(
        &["keys", "list"],
        &[
            ("DATABASE_URL", app.database_url.as_str()),
            ("SECRET_KEY", other.as_str()),
        ],
        None,
    );
    assert!(
        rows(&foreign)
            .iter()
            .all(|r| r.ends_with("sealed with another SECRET_KEY (verify only)")),
        "{}",
        out(&foreign)
    );
}

#[tokio::test]
async fn an_operator_creates_a_tenant_whose_admin_can_sign_in() {
    let app = TestApp::spawn().await;
    let vars = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("AUTH_PASSWORD_HASH_ROUNDS", "4"),
    ];
    let o = portal(
        &[
            "tenant",
            "create",
            "umbrella",
            "--name",
            "Umbrella Corp",
            "--country",
            "GB",
            "--admin-email",
            "alice@umbrella.test",
        ],
        &vars,
        None,
    );
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("tenant_umbrella"));
    let password = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .and_then(|l| l.split_whitespace().next())
        .expect("password printed once")
        .to_string();

    let v = app.visitor();
    let login = v.login("umbrella", "alice@umbrella.test", &password).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    assert!(
        v.get("/t/umbrella/dashboard")
            .await
            .body
            .contains("Umbrella Corp")
    );

    // The same address twice, and a hostile one, are refused with a message.
    let again = portal(
        &["tenant", "create", "umbrella", "--name", "Again"],
        &vars,
        None,
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(out(&again).contains("already taken"));
    let hostile = portal(&["tenant", "create", "x;drop", "--name", "X"], &vars, None);
    assert_eq!(hostile.status.code(), Some(1));
    assert!(out(&hostile).contains("slug"));

    let list = portal(&["tenant", "list"], &vars, None);
    assert!(out(&list).contains("umbrella") && out(&list).contains("1 organization\n"));

    // Migrating again is harmless and visits every tenant schema.
    let m = portal(&["migrate"], &vars, None);
    assert_eq!(m.status.code(), Some(0), "{}", out(&m));
    assert!(
        out(&m).contains("schema(s) checked, 0 migration(s) applied, 0 failed"),
        "{}",
        out(&m)
    );
}

#[tokio::test]
async fn platform_admins_are_created_with_a_password_from_stdin_or_a_generated_one() {
    let app = TestApp::spawn().await;
    let vars = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("AUTH_PASSWORD_HASH_ROUNDS", "4"),
    ];
    let weak = portal(
        &[
            "admin",
            "create",
            "--email",
            "root@platform.test",
            "--password-stdin",
        ],
        &vars,
        Some("password1234\n"),
    );
    assert_eq!(weak.status.code(), Some(1));
    assert!(out(&weak).contains("too easy to guess"));

    let o = portal(
        &[
            "admin",
            "create",
            "--email",
            "root@platform.test",
            "--password-stdin",
        ],
        &vars,
        Some("Quiet-Harbor-Lantern-58\n"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(!out(&o).contains("Quiet-Harbor-Lantern-58"));
    let hash = app.query_strings("SELECT password_hash AS v FROM public.platform_admins");
    assert!(bcrypt::verify("Quiet-Harbor-Lantern-58", &hash[0]).unwrap());

    let dup = portal(
        &["admin", "create", "--email", "root@platform.test"],
        &vars,
        None,
    );
    assert_eq!(dup.status.code(), Some(1));
    assert!(out(&dup).contains("already exists"));

    let reset = portal(
        &["admin", "reset-password", "--email", "root@platform.test"],
        &vars,
        None,
    );
    assert_eq!(reset.status.code(), Some(0));
    let new_pw = out(&reset)
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("password: ")
                .map(|p| p.split_whitespace().next().unwrap_or("").to_string())
        })
        .expect("generated password printed");
    let hash = app.query_strings("SELECT password_hash AS v FROM public.platform_admins");
    assert!(bcrypt::verify(&new_pw, &hash[0]).unwrap());
}

/// Runs statements on the test database.
pub(crate) fn exec(app: &TestApp, sql: &str) {
    use diesel::{Connection, PgConnection, connection::SimpleConnection};
    let mut conn = PgConnection::establish(&app.database_url).expect("connect");
    conn.batch_execute(sql).expect("statements run");
}

/// Whether a tenant schema has recorded the newest tenant migration.
pub(crate) fn has_newest(app: &TestApp, schema: &str) -> bool {
    !app.query_strings(&format!(
        "SELECT version::text AS v FROM {schema}.__diesel_schema_migrations WHERE version = '20261122000011'"
    ))
    .is_empty()
}

#[tokio::test]
async fn migrate_reports_a_failing_schema_migrates_the_others_and_lists_a_dry_run() {
    let app = TestApp::spawn_with(&[("TENANT_SPARE_SCHEMAS", "1")]).await;
    let alpha = app.signup("Alpha Co", "alpha-co", "ann@alpha.test").await;
    app.signup("Bravo Co", "bravo-co", "bob@bravo.test").await;
    app.signup("Charlie Co", "charlie-co", "cat@charlie.test")
        .await;
    // The spare schema kept for the next sign-up is migrated with the rest.
    let mut spare = Vec::new();
    for _ in 0..300 {
        spare = app.query_strings("SELECT schema_name AS v FROM spare_schemas");
        if !spare.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let spare = spare.pop().expect("a spare schema is ready");
    // The newest tenant migration becomes pending in every schema. In bravo its tables
    // stay, so running it again there fails (as a hand-made table in the way would).
    for schema in ["tenant_alpha_co", "tenant_charlie_co", spare.as_str()] {
        exec(
            &app,
            &format!("DROP TABLE {schema}.refresh_tokens; DROP TABLE {schema}.api_sessions;"),
        );
    }
    for schema in [
        "tenant_alpha_co",
        "tenant_bravo_co",
        "tenant_charlie_co",
        spare.as_str(),
    ] {
        exec(
            &app,
            &format!(
                "DELETE FROM {schema}.__diesel_schema_migrations WHERE version = '20261122000011'"
            ),
        );
    }
    let vars = [("DATABASE_URL", app.database_url.as_str())];

    // A dry run lists what would run where and changes nothing.
    let dry = portal(&["migrate", "--dry-run"], &vars, None);
    let text = out(&dry);
    assert_eq!(dry.status.code(), Some(0), "{text}");
    for (slug, schema) in [
        ("alpha-co", "tenant_alpha_co"),
        ("bravo-co", "tenant_bravo_co"),
        ("charlie-co", "tenant_charlie_co"),
        ("spare", spare.as_str()),
    ] {
        assert!(
            text.contains(&format!(
                "{slug} ({schema}): would run 2026-11-22-000011_api_sessions"
            )),
            "{text}"
        );
        assert!(!has_newest(&app, schema), "dry run changed {schema}");
    }
    assert!(
        text.contains("4 schema(s) checked, 4 with pending"),
        "{text}"
    );
    assert_eq!(
        app.query_strings(
            "SELECT coalesce(to_regclass('tenant_alpha_co.api_sessions')::text, 'none') AS v"
        ),
        ["none"]
    );

    // --tenant migrates that organization only.
    let one = portal(&["migrate", "--tenant", "alpha-co"], &vars, None);
    assert_eq!(one.status.code(), Some(0), "{}", out(&one));
    assert!(
        out(&one).contains("1 schema(s) checked, 1 migration(s) applied, 0 failed"),
        "{}",
        out(&one)
    );
    assert!(has_newest(&app, "tenant_alpha_co"));
    assert!(!has_newest(&app, "tenant_charlie_co"));
    let unknown = portal(&["migrate", "--tenant", "nobody-here"], &vars, None);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(out(&unknown).contains("no organization has the address nobody-here"));

    // The whole run: bravo fails and is named, charlie and the spare are migrated
    // anyway, exit 1.
    let all = portal(&["migrate", "--jobs", "2"], &vars, None);
    let text = out(&all);
    assert_eq!(all.status.code(), Some(1), "{text}");
    assert!(
        text.contains("failed: bravo-co (tenant_bravo_co)"),
        "{text}"
    );
    assert!(text.contains("already exists"), "{text}");
    assert!(!text.contains("failed: charlie-co"), "{text}");
    assert!(
        text.contains("4 schema(s) checked, 2 migration(s) applied, 1 failed"),
        "{text}"
    );
    assert!(has_newest(&app, "tenant_charlie_co"));
    assert!(
        !has_newest(&app, "tenant_bravo_co"),
        "a failed schema is left untouched"
    );
    // The portal served throughout and still does.
    let page = alpha.get("/t/alpha-co/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
}
