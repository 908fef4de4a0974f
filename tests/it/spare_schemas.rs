//! Instant sign-up: organizations take ready, migrated spare schemas from a pool that
//! the background refills.

use std::time::Duration;

use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp};

fn spares(app: &TestApp) -> Vec<String> {
    app.query_strings("SELECT schema_name AS v FROM spare_schemas ORDER BY schema_name")
}

fn schemas(app: &TestApp, like: &str) -> Vec<String> {
    app.query_strings(&format!(
        "SELECT nspname::text AS v FROM pg_namespace WHERE nspname LIKE '{like}' ORDER BY 1"
    ))
}

/// Waits until the pool holds `n` spares.
async fn pool_of(app: &TestApp, n: usize) -> Vec<String> {
    for _ in 0..300 {
        let now = spares(app);
        if now.len() == n {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the pool never held {n} spares: {:?}", spares(app));
}

#[tokio::test]
async fn a_sign_up_takes_a_spare_schema_and_the_pool_is_refilled() {
    let app = TestApp::spawn_with(&[("TENANT_SPARE_SCHEMAS", "2")]).await;
    let before = pool_of(&app, 2).await;
    assert_eq!(
        schemas(&app, "spare_%"),
        before,
        "every spare is a real schema"
    );

    let v = app.signup("Acme Labs", "acme-labs", "ann@acme.test").await;
    let page = v.get("/t/acme-labs/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Acme Labs"));

    // The oldest spare became the organization's schema: gone from the pool and gone
    // under its old name, while the organization's schema holds its admin.
    let left: Vec<String> = before
        .iter()
        .filter(|s| spares(&app).contains(s))
        .cloned()
        .collect();
    assert_eq!(
        left.len(),
        1,
        "one spare taken: {before:?} -> {:?}",
        spares(&app)
    );
    let taken = before.iter().find(|s| !left.contains(s)).unwrap();
    assert!(!schemas(&app, "spare_%").contains(taken));
    assert_eq!(
        app.query_strings("SELECT email AS v FROM tenant_acme_labs.users"),
        ["ann@acme.test"]
    );

    // The background builds a new one in its place.
    let after = pool_of(&app, 2).await;
    assert!(after.iter().any(|s| !before.contains(s)), "{after:?}");
    assert_eq!(schemas(&app, "spare_%"), after);
}

#[tokio::test]
async fn concurrent_sign_ups_never_share_a_schema() {
    let app = TestApp::spawn_with(&[("TENANT_SPARE_SCHEMAS", "3")]).await;
    pool_of(&app, 3).await;
    // More sign-ups at once than spares: some take spares, the rest build their own.
    let slugs = ["org-one", "org-two", "org-three", "org-four", "org-five"];
    let signups = slugs.iter().map(|slug| {
        let v = app.visitor();
        async move {
            let page = v
                .signup(
                    &format!("Company {slug}"),
                    slug,
                    &format!("admin@{slug}.test"),
                    PASSWORD,
                )
                .await;
            (slug, page.status)
        }
    });
    for (slug, status) in futures_util::future::join_all(signups).await {
        assert_eq!(status, StatusCode::SEE_OTHER, "sign-up of {slug}");
    }
    for slug in slugs {
        let schema = format!("tenant_{}", slug.replace('-', "_"));
        assert_eq!(
            app.query_strings(&format!("SELECT email AS v FROM {schema}.users")),
            [format!("admin@{slug}.test")],
            "{schema} holds its own admin only"
        );
    }
    assert_eq!(schemas(&app, "tenant_%").len(), 5);
    // No spare was lost or left half-taken: the pool's rows and schemas agree.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pool = pool_of(&app, 3).await;
    assert_eq!(schemas(&app, "spare_%"), pool);
}

#[tokio::test]
async fn with_no_spares_a_sign_up_builds_its_schema() {
    let app = TestApp::spawn_with(&[("TENANT_SPARE_SCHEMAS", "0")]).await;
    let v = app.signup("Solo Co", "solo-co", "sam@solo.test").await;
    assert_eq!(v.get("/t/solo-co/dashboard").await.status, StatusCode::OK);
    assert!(spares(&app).is_empty());
    assert!(schemas(&app, "spare_%").is_empty());
    assert_eq!(schemas(&app, "tenant_%"), ["tenant_solo_co"]);
}
