//! Organizations stay apart: sessions, addresses and schemas.

use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp};

#[tokio::test]
async fn a_session_of_one_organization_opens_nothing_in_another() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    app.signup("Globex", "globex", "hank@globex.test").await;

    assert_eq!(ada.get("/t/acme/dashboard").await.status, StatusCode::OK);
    let other = ada.get("/t/globex/dashboard").await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
    assert_eq!(
        other.location.as_deref(),
        Some("/t/globex/login?next=%2Ft%2Fglobex%2Fdashboard")
    );
    assert!(!other.body.contains("Globex"));
    // Signing out of Globex does not end the Acme session either.
    let token = ada.get("/t/globex/login").await.csrf();
    ada.post_raw("/t/globex/logout", &[("csrf_token", &token)])
        .await;
    // (logout purges whatever session the browser has: that is the person's own choice)
}

#[tokio::test]
async fn hostile_or_malformed_addresses_get_a_404_page_and_never_reach_sql() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let v = app.visitor();
    let long = "a".repeat(300);
    for slug in [
        "a;drop",
        "..%2Fx",
        "ACME",
        "%C3%BCnicode",
        "acme%22",
        "acme%27--",
        long.as_str(),
        "ab",
        "nope-not-here",
    ] {
        let page = v.get(&format!("/t/{slug}/login")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "/t/{slug}/login");
        assert!(page.body.contains("Organization not found"), "{slug}");
    }
    let traversal = v.get("/t/../x/login").await;
    assert!(traversal.status.is_client_error());
    assert_eq!(
        app.query_strings("SELECT count(*)::text AS v FROM public.tenants"),
        vec!["1"]
    );
}

#[tokio::test]
async fn hostile_addresses_at_sign_up_are_refused_with_4xx() {
    let app = TestApp::spawn().await;
    let v = app.visitor();
    let long = "a".repeat(300);
    for slug in [
        "a;drop",
        "../x",
        "Acme",
        "ünïcode",
        "x\"; DROP SCHEMA public; --",
        long.as_str(),
        "admin",
    ] {
        let page = v.signup("Acme", slug, "ada@acme.test", PASSWORD).await;
        assert!(page.status.is_client_error(), "{slug}: {}", page.status);
        assert!(page.body.contains("id=\"slug-error\""), "{slug}");
    }
    let schemas = app
        .query_strings("SELECT nspname::text AS v FROM pg_namespace WHERE nspname LIKE 'tenant_%'");
    assert!(schemas.is_empty(), "{schemas:?}");
}

#[tokio::test]
async fn unknown_pages_are_404_pages_and_api_paths_answer_json() {
    let app = TestApp::spawn().await;
    let v = app.visitor();
    let page = v.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("Page not found"));
    let api = v.get("/api/v1/nothing").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    let json: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(json["error"]["type"], "NotFound");
}

/// What another portal instance does to the shared registry reaches this one within a
/// couple of seconds: every instance keeps the registry in memory and re-reads the
/// rows that changed.
#[tokio::test]
async fn a_suspension_made_elsewhere_reaches_this_instance_within_seconds() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    assert_eq!(ada.get("/t/acme/dashboard").await.status, StatusCode::OK);

    // Another instance (here: its statement) suspends the organization.
    app.query_strings(
        "UPDATE public.tenants SET status = 'suspended' WHERE slug = 'acme' RETURNING slug AS v",
    );
    let seen = wait_for_status(&ada, StatusCode::FORBIDDEN).await;
    assert!(seen < std::time::Duration::from_secs(5), "took {seen:?}");
    let dash = ada.get("/t/acme/dashboard").await;
    assert!(dash.body.contains("suspended"), "{}", dash.body);

    app.query_strings(
        "UPDATE public.tenants SET status = 'active' WHERE slug = 'acme' RETURNING slug AS v",
    );
    let seen = wait_for_status(&ada, StatusCode::OK).await;
    assert!(seen < std::time::Duration::from_secs(5), "took {seen:?}");
}

/// Polls Acme's dashboard until it answers `want`; how long that took (at most 40 s).
async fn wait_for_status(who: &crate::common::Visitor, want: StatusCode) -> std::time::Duration {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(40) {
        if who.get("/t/acme/dashboard").await.status == want {
            return started.elapsed();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the dashboard never answered {want}");
}

/// The dashboard's statement is prepared once per organization and connection, and
/// planned generically from its first run there: with thousands of organizations taking
/// turns, most runs would otherwise be among the first five, which PostgreSQL plans
/// afresh each time.
#[tokio::test]
async fn the_dashboards_statement_is_planned_once_per_connection_not_on_each_of_its_first_runs() {
    use diesel::RunQueryDsl;
    use tenant_portal::{db::Db, domain::SchemaName, models::user};

    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Plans {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        generic_plans: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        custom_plans: i64,
    }

    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let id: uuid::Uuid = app.query_strings("SELECT id::text AS v FROM tenant_acme.users")[0]
        .parse()
        .expect("an id");
    // One lane: every transaction below uses the same connection.
    let db = Db::new(&app.database_url, 1).expect("pool");
    let schema = SchemaName::from_registry("tenant_acme").expect("schema name");
    for _ in 0..3 {
        let s = schema.clone();
        let overview = db
            .tenant_prepared(&schema, move |conn| user::overview(conn, &s, id))
            .await
            .expect("the dashboard's data");
        assert_eq!(overview.expect("the admin").email, "ada@acme.test");
    }
    // The connection's own record of its prepared statements.
    let plans = db
        .tenant(&schema, |conn| {
            Ok(diesel::sql_query(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements \
                 WHERE statement LIKE '/* tenant_acme */%'",
            )
            .load::<Plans>(conn)?)
        })
        .await
        .expect("prepared statements");
    assert_eq!(
        plans,
        [Plans {
            generic_plans: 3,
            custom_plans: 0
        }]
    );
}
