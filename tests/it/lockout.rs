//! Guessing passwords locks sign-in for the account, visibly and audited.

use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp};

const WRONG: &str = "Wrong-Guess-Number-1";

#[tokio::test]
async fn the_sixth_attempt_is_refused_even_with_the_right_password_until_an_admin_unlocks() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    // A second person, who will be locked.
    let bob = app.visitor();
    let page = bob
        .signup("Bobco", "bobco", "bob@bobco.test", PASSWORD)
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    app.query_strings(
        "WITH b AS (SELECT email, name, password_hash FROM tenant_bobco.users) \
         INSERT INTO tenant_acme.users (email, name, password_hash, role) \
         SELECT email, name, password_hash, 'member' FROM b RETURNING email AS v",
    );

    let v = app.visitor();
    for attempt in 1..=4 {
        let p = v.login("acme", "bob@bobco.test", WRONG).await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let fifth = v.login("acme", "bob@bobco.test", WRONG).await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        fifth.body.contains("sign-in for this account is paused"),
        "{}",
        fifth.body
    );
    let retry: u64 = fifth.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((14 * 60..=15 * 60).contains(&retry), "{retry}");

    // The right password does not get through the lock.
    let sixth = v.login("acme", "bob@bobco.test", PASSWORD).await;
    assert_eq!(sixth.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(v.cookie("portal_session").is_none());

    // The admin sees the lock, lifts it, and it is audited.
    let sec = admin.get("/t/acme/security").await;
    assert_eq!(sec.status, StatusCode::OK);
    assert!(sec.body.contains("bob@bobco.test"));
    let lifted = admin
        .submit(
            "/t/acme/security",
            "/t/acme/security/unlock",
            &[("email", "bob@bobco.test")],
        )
        .await;
    assert_eq!(lifted.status, StatusCode::SEE_OTHER);
    assert!(
        admin
            .get("/t/acme/security")
            .await
            .body
            .contains("No sign-in is paused")
    );
    assert_eq!(
        v.login("acme", "bob@bobco.test", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    let actions = app.query_strings(
        "SELECT action AS v FROM tenant_acme.audit_log WHERE target = 'bob@bobco.test' ORDER BY id",
    );
    assert_eq!(actions.iter().filter(|a| *a == "login.failed").count(), 5);
    assert!(actions.contains(&"account.locked".to_string()));
    assert!(actions.contains(&"login.refused_locked".to_string()));
    assert!(actions.contains(&"account.unlocked".to_string()));
    assert_eq!(actions.last().map(String::as_str), Some("login.succeeded"));
}

#[tokio::test]
async fn an_unknown_email_locks_the_same_way_so_a_lock_reveals_nothing() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let v = app.visitor();
    for _ in 0..4 {
        assert_eq!(
            v.login("acme", "ghost@acme.test", WRONG).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let known = app.visitor();
    for _ in 0..4 {
        assert_eq!(
            known.login("acme", "ada@acme.test", WRONG).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let ghost = v.login("acme", "ghost@acme.test", WRONG).await;
    let real = known.login("acme", "ada@acme.test", WRONG).await;
    assert_eq!(ghost.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(real.status, StatusCode::TOO_MANY_REQUESTS);
    let strip = |b: &str| {
        b.replace("ghost@acme.test", "X")
            .replace("ada@acme.test", "X")
    };
    let body = |b: &str| {
        strip(&b[b.find("<main").unwrap()..])
            .split("csrf_token")
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(body(&ghost.body), body(&real.body));
}

#[tokio::test]
async fn a_lock_ends_by_itself_after_the_lockout_duration() {
    let app = TestApp::spawn_with(&[
        ("AUTH_MAX_FAILED_ATTEMPTS", "2"),
        ("AUTH_LOCKOUT_DURATION_MINUTES", "1"),
    ])
    .await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let v = app.visitor();
    assert_eq!(
        v.login("acme", "ada@acme.test", WRONG).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        v.login("acme", "ada@acme.test", WRONG).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        v.login("acme", "ada@acme.test", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Let the minute pass without waiting for it.
    app.query_strings(
        "UPDATE tenant_acme.login_throttle SET locked_until = now() - interval '1 second' RETURNING email AS v",
    );
    assert_eq!(
        v.login("acme", "ada@acme.test", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn only_admins_see_or_lift_locks() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    app.query_strings(
        "INSERT INTO tenant_acme.users (email, name, password_hash, role) \
         SELECT 'sam@acme.test', 'Sam', password_hash, 'staff' FROM tenant_acme.users RETURNING email AS v",
    );
    let sam = app.visitor();
    assert_eq!(
        sam.login("acme", "sam@acme.test", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        sam.get("/t/acme/security").await.status,
        StatusCode::FORBIDDEN
    );
    let p = sam
        .submit(
            "/t/acme/dashboard",
            "/t/acme/security/unlock",
            &[("email", "x@acme.test")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
}
