//! Under a flood of sign-ins the portal hashes passwords on a bounded number of threads
//! with a bounded line: past it, people get a quick 503 with Retry-After, not a wait
//! without end, and nothing is done with their request.

use reqwest::StatusCode;

use crate::common::own_postgres::OwnPostgres;
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

/// 200 people sign up at once with passwords hashed at cost 12: each is told the truth
/// (303 to their new dashboard, or a clear 429/503 with Retry-After and nothing
/// created), and there are exactly as many organizations and schemas as 303s.
#[tokio::test]
async fn two_hundred_sign_ups_at_once_are_each_answered_with_what_happened() {
    // On a PostgreSQL of its own: the flood of new schemas does not take the shared
    // server's lock table from the other tests running beside it.
    let pg = OwnPostgres::start();
    let url = pg.url("portal");
    let app = TestApp::spawn_with(&[
        ("DATABASE_URL", url.as_str()),
        ("AUTH_PASSWORD_HASH_ROUNDS", "12"),
        ("RATE_LIMIT_ENABLED", "false"),
    ])
    .await;
    // Each visitor fetches its form first, so the sign-ups themselves arrive together.
    let mut visitors = Vec::new();
    for _ in 0..200 {
        let v = app.visitor();
        let token = v.get("/signup").await.csrf();
        visitors.push((v, token));
    }
    let started = std::time::Instant::now();
    let sign_ups = visitors
        .into_iter()
        .enumerate()
        .map(|(i, (v, token))| async move {
            let (company, email, slug) = (
                format!("Flood {i}"),
                format!("admin{i}@flood{i}.test"),
                format!("flood-{i}"),
            );
            v.post_raw(
                "/signup",
                &[
                    ("csrf_token", token.as_str()),
                    ("company_name", company.as_str()),
                    ("business_type", "software"),
                    ("country", "DE"),
                    ("name", "Ada Lovelace"),
                    ("email", email.as_str()),
                    ("password", PASSWORD),
                    ("slug", slug.as_str()),
                ],
            )
            .await
        });
    let pages = futures_util::future::join_all(sign_ups).await;
    let mut created = 0;
    for p in &pages {
        match p.status {
            StatusCode::SEE_OTHER => {
                assert!(
                    p.location
                        .as_deref()
                        .unwrap_or_default()
                        .ends_with("/dashboard")
                );
                created += 1;
            }
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                assert!(p.headers.contains_key("retry-after"), "{}", p.body);
                assert!(p.body.contains("try again"), "{}", p.body);
            }
            other => panic!("unexpected answer {other}: {}", p.body),
        }
    }
    eprintln!(
        "200 sign-ups at cost 12: {created} created, {} turned away, in {:?}",
        pages.len() - created,
        started.elapsed()
    );
    assert!(created > 0, "nobody got in");
    let organizations = pg.query_strings("SELECT count(*)::text AS v FROM tenants");
    assert_eq!(organizations, [created.to_string()]);
    let schemas = pg.query_strings(
        "SELECT count(*)::text AS v FROM pg_namespace WHERE nspname LIKE 'tenant\\_flood\\_%'",
    );
    assert_eq!(schemas, [created.to_string()]);
}
