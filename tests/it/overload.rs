//! Under a flood of sign-ins the portal hashes passwords on a bounded number of threads
//! with a bounded line: past it, people get a quick 503 with Retry-After, not a wait
//! without end, and nothing is done with their request.

use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp};

#[tokio::test]
async fn past_the_line_for_password_checks_sign_in_answers_busy_at_once() {
    let app = TestApp::spawn_with(&[
        ("AUTH_PASSWORD_HASH_ROUNDS", "12"),
        ("AUTH_PASSWORD_HASH_THREADS", "1"),
        ("AUTH_PASSWORD_HASH_QUEUE", "1"),
        ("AUTH_MAX_FAILED_ATTEMPTS", "100"),
    ])
    .await;
    app.signup("Acme", "acme", "ada@acme.test").await;

    let attempts = (0..12).map(|_| {
        let v = app.visitor();
        async move { v.login("acme", "ada@acme.test", "not-the-password").await }
    });
    let pages = futures_util::future::join_all(attempts).await;
    let busy: Vec<_> = pages
        .iter()
        .filter(|p| p.status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    let checked = pages
        .iter()
        .filter(|p| p.status == StatusCode::UNAUTHORIZED)
        .count();
    assert!(!busy.is_empty(), "no attempt was turned away");
    assert!(checked >= 2, "the thread and the queue place were not used");
    assert_eq!(busy.len() + checked, pages.len(), "other answers came back");
    for page in &busy {
        assert_eq!(page.headers["retry-after"], "2");
        assert!(
            page.body.contains("busy checking passwords"),
            "{}",
            page.body
        );
    }
    // Turned-away attempts were not counted as wrong passwords: no lock.
    let failures = app.query_strings(
        "SELECT COALESCE(max(failures), 0)::text AS v FROM tenant_acme.login_throttle",
    );
    assert_eq!(failures, [checked.to_string()]);
    // Once the flood is over, the right password signs in.
    let ok = app.visitor().login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
}
