//! An organization signs up in the browser and lands on its dashboard.

use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp};

#[tokio::test]
async fn signing_up_creates_the_organization_its_schema_and_a_signed_in_admin() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme Labs", "acme-labs", "Ada@Acme.test").await;

    // The registry knows the organization, with its schema.
    let rows = app.query_strings(
        "SELECT slug || '|' || schema_name || '|' || name || '|' || business_type || '|' || country AS v FROM public.tenants",
    );
    assert_eq!(
        rows,
        vec!["acme-labs|tenant_acme_labs|Acme Labs|software|DE"]
    );

    // The schema exists with the tenant tables, and the admin lives inside it.
    let tables = app.query_strings(
        "SELECT table_name::text AS v FROM information_schema.tables WHERE table_schema = 'tenant_acme_labs' ORDER BY 1",
    );
    for t in ["audit_log", "users"] {
        assert!(
            tables.contains(&t.to_string()),
            "{t} missing from {tables:?}"
        );
    }
    let people = app.query_strings("SELECT email || '|' || role || '|' || left(password_hash, 4) AS v FROM tenant_acme_labs.users");
    assert_eq!(people, vec!["ada@acme.test|admin|$2b$"]);
    // No person is stored in the public schema.
    let public_users = app.query_strings(
        "SELECT table_name::text AS v FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'users'",
    );
    assert!(public_users.is_empty());

    // The dashboard shows the organization, the person, the role, the count and activity.
    let dash = ada.get("/t/acme-labs/dashboard").await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(dash.body.contains(r#"<h1 id="org-name">Acme Labs</h1>"#));
    assert!(dash.body.contains("ada@acme.test"));
    assert!(dash.body.contains(r#"id="whoami-role">Admin<"#));
    assert!(dash.body.contains(r#"id="member-count">1<"#));
    assert!(dash.body.contains("ada@acme.test created the organization"));
    assert!(dash.body.contains("ada@acme.test joined"));
}

#[tokio::test]
async fn the_address_is_derived_from_the_company_name_when_left_empty() {
    let app = TestApp::spawn().await;
    let v = app.visitor();
    let page = v
        .signup("Globex Corporation, Inc.", "", "hank@globex.test", PASSWORD)
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        page.location.as_deref(),
        Some("/t/globex-corporation-inc/dashboard")
    );
}

#[tokio::test]
async fn a_taken_address_is_refused_with_a_clear_message_and_nothing_changes() {
    let app = TestApp::spawn().await;
    app.signup("Acme Labs", "acme", "ada@acme.test").await;
    let page = app
        .visitor()
        .signup("Acme Again", "acme", "bob@other.test", PASSWORD)
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(
        page.body.contains("The address acme is already taken"),
        "{}",
        page.body
    );
    // What was typed is kept, except the password.
    assert!(page.body.contains(r#"value="Acme Again""#));
    assert!(!page.body.contains(PASSWORD));
    assert_eq!(
        app.query_strings("SELECT count(*)::text AS v FROM public.tenants"),
        vec!["1"]
    );
    assert_eq!(
        app.query_strings("SELECT email AS v FROM tenant_acme.users"),
        vec!["ada@acme.test"]
    );
}

#[tokio::test]
async fn weak_long_and_missing_input_get_field_messages_not_errors() {
    let app = TestApp::spawn().await;
    let v = app.visitor();

    let weak = v
        .signup("Acme", "acme", "ada@acme.test", "password123")
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("too easy to guess"), "{}", weak.body);

    let short = v.signup("Acme", "acme", "ada@acme.test", "Xy7!").await;
    assert!(short.body.contains("Use at least 10 characters"));

    let long_pw = "Zq8!".repeat(20);
    let too_long = v.signup("Acme", "acme", "ada@acme.test", &long_pw).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.body.contains("at most 72 bytes"));

    let long_name = "A".repeat(101);
    let page = v
        .signup(&long_name, "acme", "ada@acme.test", PASSWORD)
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains("Company name must be at most 100 characters"),
        "{}",
        page.body
    );

    let page = v.signup("Acme", "acme", "not-an-email", PASSWORD).await;
    assert!(
        page.body
            .contains("Enter an email address like name@example.com")
    );

    let page = v
        .submit(
            "/signup",
            "/signup",
            &[("company_name", "Acme"), ("email", "a@b.test")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for msg in [
        "Choose the type of business",
        "Choose your country",
        "Enter your name",
        "Choose a password",
    ] {
        assert!(page.body.contains(msg), "missing {msg:?}");
    }
    assert_eq!(
        app.query_strings("SELECT count(*)::text AS v FROM public.tenants"),
        vec!["0"]
    );
}

#[tokio::test]
async fn an_oversized_form_is_refused_with_413() {
    let app = TestApp::spawn().await;
    let v = app.visitor();
    let huge = "x".repeat(200 * 1024);
    let page = v
        .submit("/signup", "/signup", &[("company_name", &huge)])
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.body.contains("Too much data"));
}

#[tokio::test]
async fn without_authentik_provisioning_nothing_waits_in_the_outbox() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    let invited = admin
        .submit(
            "/t/acme/members",
            "/t/acme/members/invite",
            &[("email", "sam@acme.test"), ("role", "staff")],
        )
        .await;
    assert_eq!(invited.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.query_strings("SELECT count(*)::text AS v FROM public.authentik_outbox"),
        ["0"],
        "changes were queued for an Authentik nobody delivers to"
    );
}
