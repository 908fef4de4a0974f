//! Every state-changing form needs its CSRF token.

use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp};

#[tokio::test]
async fn forms_without_a_valid_token_are_refused_with_403() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let fields = [
        ("company_name", "Evil"),
        ("business_type", "software"),
        ("country", "DE"),
        ("name", "Eve"),
        ("email", "eve@evil.test"),
        ("password", PASSWORD),
    ];

    // No token at all, from a visitor who has the cookie.
    let v = app.visitor();
    v.get("/signup").await;
    let page = v.post_raw("/signup", &fields).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Form expired"));

    // A made-up token.
    let mut forged = vec![("csrf_token", "AAAA")];
    forged.extend_from_slice(&fields);
    assert_eq!(
        v.post_raw("/signup", &forged).await.status,
        StatusCode::FORBIDDEN
    );

    // Another browser's valid token does not fit this browser's cookie.
    let token_of_other = app.visitor().get("/signup").await.csrf();
    let mut stolen = vec![("csrf_token", token_of_other.as_str())];
    stolen.extend_from_slice(&fields);
    assert_eq!(
        v.post_raw("/signup", &stolen).await.status,
        StatusCode::FORBIDDEN
    );

    // A cross-site form post arrives without the cookie at all.
    let fresh = app.visitor();
    let mut with_token = vec![("csrf_token", token_of_other.as_str())];
    with_token.extend_from_slice(&fields);
    assert_eq!(
        fresh.post_raw("/signup", &with_token).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.query_strings("SELECT count(*)::text AS v FROM public.tenants"),
        vec!["1"]
    );

    // Login and logout are protected too: the session survives a forged logout.
    assert_eq!(
        ada.post_raw("/t/acme/logout", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(ada.get("/t/acme/dashboard").await.status, StatusCode::OK);
    let login = v
        .post_raw(
            "/t/acme/login",
            &[("email", "ada@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);

    // A JSON body posted to a page is refused too.
    let res = v
        .http
        .post(format!("{}/signup", app.address))
        .json(&serde_json::json!({ "company_name": "Evil" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_csrf_cookie_is_http_only_and_same_site() {
    let app = TestApp::spawn().await;
    let page = app.visitor().get("/signup").await;
    let cookie = page.set_cookie("portal_csrf");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
}

#[tokio::test]
async fn signing_in_and_out_gives_the_browser_a_new_csrf_seed() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let v = app.visitor();
    let before = v.get("/t/acme/login").await.csrf();
    let seed_before = v.cookie("portal_csrf").expect("a CSRF cookie");

    let signed_in = v.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let seed_after = v.cookie("portal_csrf").expect("a CSRF cookie");
    assert_ne!(seed_before, seed_after, "the seed outlived the sign-in");
    // A form rendered before the sign-in no longer works; one rendered after does.
    let stale = v
        .post_raw(
            "/t/acme/profile/name",
            &[("csrf_token", &before), ("name", "Eve")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    let renamed = v
        .submit(
            "/t/acme/profile",
            "/t/acme/profile/name",
            &[("name", "Ada L.")],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER, "{}", renamed.body);

    let during = v.get("/t/acme/dashboard").await.csrf();
    assert_eq!(v.logout("acme").await.status, StatusCode::SEE_OTHER);
    assert_ne!(
        v.cookie("portal_csrf"),
        Some(seed_after),
        "the seed outlived the sign-out"
    );
    let stale = v
        .post_raw(
            "/t/acme/login",
            &[
                ("csrf_token", &during),
                ("email", "ada@acme.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
}
