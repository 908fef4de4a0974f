//! `GET /metrics`: Prometheus text for the bearer of `METRICS_TOKEN`, with the counts an
//! operator looks at after some traffic.

use reqwest::StatusCode;

use crate::common::TestApp;

const TOKEN: &str = "metrics-token-for-the-test-suite-0123456789";

/// The metrics page as the operator's scraper reads it.
pub async fn scrape(app: &TestApp, token: Option<&str>) -> (StatusCode, String) {
    let mut req = reqwest::Client::new().get(format!("{}/metrics", app.address));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("an answer");
    (res.status(), res.text().await.unwrap_or_default())
}

/// The value of one sample line (`name{labels} value`), if present.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[tokio::test]
async fn metrics_need_the_token_and_count_requests_sign_in_failures_and_lockouts() {
    let app =
        TestApp::spawn_with(&[("METRICS_TOKEN", TOKEN), ("AUTH_MAX_FAILED_ATTEMPTS", "3")]).await;
    assert_eq!(scrape(&app, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        scrape(&app, Some("metrics-token-that-is-wrong-0123456789abc"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    app.signup("Acme", "acme", "ada@acme.test").await;
    let v = app.visitor();
    for expected in [
        StatusCode::UNAUTHORIZED,
        StatusCode::UNAUTHORIZED,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        let page = v.login("acme", "ada@acme.test", "not-the-password").await;
        assert_eq!(page.status, expected, "{}", page.body);
    }

    let (status, text) = scrape(&app, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let logins =
        r#"portal_http_requests_total{method="POST",route="/t/{slug}/login",status="401"}"#;
    assert_eq!(sample(&text, logins), Some(2.0), "{text}");
    let signups = r#"portal_http_requests_total{method="POST",route="/signup",status="303"}"#;
    assert_eq!(sample(&text, signups), Some(1.0), "{text}");
    assert!(
        text.contains(r#"portal_http_request_duration_seconds_count{method="GET",route="/t/{slug}/login",status="200"}"#),
        "{text}"
    );
    assert_eq!(
        sample(&text, "portal_login_failures_total"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(sample(&text, "portal_lockouts_total"), Some(1.0), "{text}");
    assert_eq!(
        sample(&text, "portal_rate_limited_total"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(sample(&text, "portal_db_pool_max"), Some(4.0), "{text}");
    // The sign-ins read the organization's people: tenant work, each on some lane.
    let uses = sample(&text, "portal_db_tenant_uses_total").expect("tenant uses");
    assert!(uses >= 3.0, "{text}");
    let away = sample(&text, "portal_db_tenant_uses_away_total").expect("away uses");
    assert!(away <= uses, "{text}");
    assert_eq!(
        sample(&text, "portal_db_connections_replaced_tenants_total"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "portal_redis_circuit_open"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "portal_authentik_circuit_open"),
        Some(0.0),
        "{text}"
    );
    assert!(
        sample(&text, "portal_mail_queue_pending").is_some(),
        "{text}"
    );
    assert!(
        sample(&text, "portal_authentik_outbox_pending").is_some(),
        "{text}"
    );
    // No slug, address or token ever becomes a label.
    assert!(!text.contains("acme"), "{text}");
}

#[tokio::test]
async fn rate_limit_refusals_are_counted() {
    let app = TestApp::spawn_with(&[
        ("METRICS_TOKEN", TOKEN),
        ("RATE_LIMIT_LOGIN_PER_MINUTE", "2"),
        ("AUTH_MAX_FAILED_ATTEMPTS", "100"),
    ])
    .await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let v = app.visitor();
    let mut refused = 0;
    for _ in 0..6 {
        let page = v.login("acme", "ada@acme.test", "not-the-password").await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(refused > 0, "the limit never refused");
    let (_, text) = scrape(&app, Some(TOKEN)).await;
    assert_eq!(
        sample(&text, "portal_rate_limited_total"),
        Some(f64::from(refused)),
        "{text}"
    );
}

#[tokio::test]
async fn without_a_token_setting_there_is_no_metrics_page() {
    let app = TestApp::spawn().await;
    assert_eq!(scrape(&app, Some(TOKEN)).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_wrong_second_factor_code_counts_as_a_failed_sign_in() {
    let app = TestApp::spawn_with(&[("METRICS_TOKEN", TOKEN)]).await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    crate::common::factors::enroll(&ada, "acme").await;
    ada.logout("acme").await;

    let v = app.visitor();
    let step = "/t/acme/login/second-factor";
    let p = v
        .login("acme", "ada@acme.test", crate::common::PASSWORD)
        .await;
    assert_eq!(p.location.as_deref(), Some(step), "{}", p.body);
    let wrong = v
        .submit(step, step, &[("method", "totp"), ("code", "000000")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);

    let (_, text) = scrape(&app, Some(TOKEN)).await;
    assert_eq!(
        sample(&text, "portal_login_failures_total"),
        Some(1.0),
        "{text}"
    );
}
