//! `portal authentik sync` repairs drift; `--dry-run` only reports it.

use std::process::{Command, Output, Stdio};

use crate::common::authentik_env::{TOKEN, app_with, wait_delivered};
use crate::common::fake_authentik::FakeAuthentik;

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn sync_repairs_a_drifted_group_membership_and_dry_run_changes_nothing() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let app = app_with(&fake, &[]).await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    app.signup("Beta", "beta", "bob@beta.test").await;
    wait_delivered(&app).await;

    // Someone changed Authentik by hand: Ada lost her admin group and joined members;
    // and she was put in Beta's staff group, where she is nobody.
    fake.set_membership("ada@acme.test", "tenant-acme-admin", false);
    fake.set_membership("ada@acme.test", "tenant-acme-member", true);
    fake.set_membership("ada@acme.test", "tenant-beta-staff", true);
    let drifted = (fake.groups_of("ada@acme.test"), fake.requests());

    let o = tokio::task::spawn_blocking({
        let (db, url) = (app.database_url.clone(), fake.url());
        move || dry_run(&db, &url)
    })
    .await
    .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("acme: add ada@acme.test to tenant-acme-admin"),
        "{out}"
    );
    assert!(
        out.contains("acme: remove ada@acme.test from tenant-acme-member"),
        "{out}"
    );
    assert!(out.contains("beta: remove user pk"), "{out}");
    assert!(out.contains("dry run"), "{out}");
    assert_eq!(
        fake.groups_of("ada@acme.test"),
        drifted.0,
        "dry run changed nothing"
    );

    let o = tokio::task::spawn_blocking({
        let (db, url) = (app.database_url.clone(), fake.url());
        move || run(&db, &url, &["authentik", "sync"])
    })
    .await
    .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("changed 3 thing(s)"), "{out}");
    assert_eq!(fake.groups_of("ada@acme.test"), ["tenant-acme-admin"]);
    assert_eq!(fake.groups_of("bob@beta.test"), ["tenant-beta-admin"]);

    // Once repaired, nothing is left to do; one tenant can be synced alone.
    let o = tokio::task::spawn_blocking({
        let (db, url) = (app.database_url.clone(), fake.url());
        move || run(&db, &url, &["authentik", "sync", "--tenant", "acme"])
    })
    .await
    .unwrap();
    let out = text(&o);
    assert!(
        out.contains("1 organization(s) checked; changed 0 thing(s)"),
        "{out}"
    );

    // The status command shows an empty backlog.
    let o = tokio::task::spawn_blocking({
        let (db, url) = (app.database_url.clone(), fake.url());
        move || run(&db, &url, &["authentik", "status"])
    })
    .await
    .unwrap();
    let out = text(&o);
    assert!(
        out.contains("pending: 0") && out.contains("failed:  0"),
        "{out}"
    );
}

fn dry_run(db: &str, url: &str) -> Output {
    run(db, url, &["authentik", "sync", "--dry-run"])
}

fn run(db: &str, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portal"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", db)
        .env("AUTHENTIK_URL", url)
        .env("AUTHENTIK_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .output()
        .expect("portal runs")
}
