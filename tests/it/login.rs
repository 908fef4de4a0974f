//! People sign in and out with email and password.

use reqwest::StatusCode;

use crate::common::{self, PASSWORD, TestApp};

#[tokio::test]
async fn signing_out_and_in_again_works_and_renews_the_session_id() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let signup_session = ada
        .cookie("portal_session")
        .expect("session cookie after sign-up");

    let out = ada.logout("acme").await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location.as_deref(), Some("/t/acme/login?signed_out=1"));
    assert!(
        ada.cookie("portal_session").is_none(),
        "cookie cleared at sign-out"
    );
    let dash = ada.get("/t/acme/dashboard").await;
    assert_eq!(dash.status, StatusCode::SEE_OTHER);
    assert!(dash.location.unwrap().starts_with("/t/acme/login"));
    // The old session id is dead even if someone kept it.
    let thief = app.visitor();
    thief.jar.add_cookie_str(
        &format!("portal_session={signup_session}"),
        &app.address.parse().unwrap(),
    );
    assert_eq!(
        thief.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );

    // A session id planted before sign-in is replaced at sign-in.
    let before = ada.get("/t/acme/login").await;
    assert!(before.body.contains("Sign in"));
    let planted = "planted-session-id";
    ada.jar.add_cookie_str(
        &format!("portal_session={planted}"),
        &app.address.parse().unwrap(),
    );
    let login = ada.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    assert_eq!(login.location.as_deref(), Some("/t/acme/dashboard"));
    let new_session = ada.cookie("portal_session").unwrap();
    assert_ne!(new_session, planted);
    assert_ne!(new_session, signup_session);
    let dash = ada.get("/t/acme/dashboard").await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(dash.body.contains("ada@acme.test signed in"));
    assert!(dash.body.contains("ada@acme.test signed out"));

    // Signing in again while signed in also gets a fresh id; the old one stops working.
    let again = ada.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let newest = ada.cookie("portal_session").unwrap();
    assert_ne!(newest, new_session);
    let holder = app.visitor();
    holder.jar.add_cookie_str(
        &format!("portal_session={new_session}"),
        &app.address.parse().unwrap(),
    );
    assert_eq!(
        holder.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(ada.get("/t/acme/dashboard").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_password_or_unknown_email_gets_the_same_clear_message_and_is_audited() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let v = app.visitor();

    let wrong = v.login("acme", "ada@acme.test", "Not-The-Password-1").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("The email or password is incorrect."));
    assert!(
        wrong.body.contains(r#"value="ada@acme.test""#),
        "email kept in the form"
    );
    assert!(v.cookie("portal_session").is_none());

    let unknown = v.login("acme", "nobody@acme.test", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.body.contains("The email or password is incorrect."));

    let failures = app.query_strings(
        "SELECT target AS v FROM tenant_acme.audit_log WHERE action = 'login.failed' ORDER BY id",
    );
    assert_eq!(failures, vec!["ada@acme.test", "nobody@acme.test"]);
}

#[tokio::test]
async fn the_same_email_in_two_organizations_is_two_people_with_two_passwords() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "sam@example.test").await;
    let other = app.visitor();
    let page = other
        .signup(
            "Globex",
            "globex",
            "sam@example.test",
            "Purple-Elephant-Rides-77",
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    let v = app.visitor();
    assert_eq!(
        v.login("acme", "sam@example.test", "Purple-Elephant-Rides-77")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        v.login("globex", "sam@example.test", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        v.login("acme", "sam@example.test", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        v.login("globex", "sam@example.test", "Purple-Elephant-Rides-77")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let ids = app.query_strings(
        "SELECT id::text AS v FROM tenant_acme.users UNION ALL SELECT id::text FROM tenant_globex.users",
    );
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test]
async fn next_only_returns_inside_the_same_organization() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let v = app.visitor();
    let dash = v.get("/t/acme/dashboard").await;
    assert_eq!(
        dash.location.as_deref(),
        Some("/t/acme/login?next=%2Ft%2Facme%2Fdashboard")
    );
    for (next, expected) in [
        ("/t/acme/dashboard", "/t/acme/dashboard"),
        ("https://evil.example/", "/t/acme/dashboard"),
        ("//evil.example/t/acme/", "/t/acme/dashboard"),
        ("/t/other/dashboard", "/t/acme/dashboard"),
    ] {
        let page = v
            .submit(
                "/t/acme/login",
                "/t/acme/login",
                &[
                    ("email", "ada@acme.test"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(page.location.as_deref(), Some(expected), "next={next}");
    }
}

#[tokio::test]
async fn the_session_cookie_is_http_only_same_site_and_secure_when_configured() {
    let app = TestApp::spawn().await;
    let v = app.visitor();
    let page = v.signup("Acme", "acme", "ada@acme.test", PASSWORD).await;
    let cookie = page.set_cookie("portal_session");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    assert!(!cookie.contains("Secure"));
    // A browser-session cookie: the server-side idle timeout decides how long it lives.
    assert!(!cookie.contains("Max-Age") && !cookie.contains("Expires"));

    // Behind HTTPS: Secure, and the __Host- prefix pins it to this host.
    let secure = TestApp::spawn_with(&[("AUTH_SESSION_COOKIE_SECURE", "true")]).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = http
        .get(format!("{}/signup", secure.address))
        .send()
        .await
        .unwrap();
    let csrf_cookie = common::set_cookie(form.headers(), "portal_csrf");
    assert!(csrf_cookie.contains("Secure"));
    let seed = csrf_cookie.split(';').next().unwrap().to_string();
    let token = common::hidden_value(&form.text().await.unwrap(), "csrf_token").unwrap();
    let res = http
        .post(format!("{}/signup", secure.address))
        .header("cookie", seed)
        .form(&[
            ("csrf_token", token.as_str()),
            ("company_name", "Acme"),
            ("business_type", "software"),
            ("country", "DE"),
            ("name", "Ada"),
            ("email", "ada@acme.test"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let session = common::set_cookie(res.headers(), "__Host-portal_session");
    assert!(
        session.contains("Secure") && session.contains("HttpOnly") && session.contains("Path=/")
    );
    assert!(!session.contains("Domain"));
}
