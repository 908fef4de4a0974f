//! Rate limits: per client address, shared by every instance through Redis.

use reqwest::StatusCode;

use crate::common::{self, PASSWORD, TestApp};

async fn login_from(v: &common::Visitor, ip: &str, email: &str) -> common::Page {
    let token = v.get("/t/acme/login").await.csrf();
    let res = v
        .http
        .post(format!("{}/t/acme/login", v.address()))
        .header("x-forwarded-for", ip)
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", email),
            ("password", "Wrong-Guess-77"),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    common::Page {
        status,
        location: None,
        headers,
        body: res.text().await.unwrap(),
    }
}

#[tokio::test]
async fn a_burst_from_one_address_gets_429_while_another_address_still_gets_in() {
    let prefix = format!("rl-{}", uuid::Uuid::new_v4().simple());
    let limits = [
        ("PORTAL_TRUSTED_PROXIES", "127.0.0.1"),
        ("RATE_LIMIT_LOGIN_PER_MINUTE", "3"),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
    ];
    let app = TestApp::spawn_with(&limits).await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let attacker = app.visitor();
    for i in 0..3 {
        let p = login_from(&attacker, "203.0.113.7", &format!("user{i}@acme.test")).await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    }
    let limited = login_from(&attacker, "203.0.113.7", "user9@acme.test").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(
        limited.body.contains("Too many sign-in attempts"),
        "{}",
        limited.body
    );

    // Someone else, behind the same proxy, signs in normally.
    let ada = app.visitor();
    let token = ada.get("/t/acme/login").await.csrf();
    let res = ada
        .http
        .post(format!("{}/t/acme/login", app.address))
        .header("x-forwarded-for", "198.51.100.20")
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", "ada@acme.test"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // A second instance (its own database, the same Redis) shares the count: the same
    // address is refused there at once.
    let second = TestApp::spawn_with(&limits).await;
    second.signup("Acme", "acme", "ada@acme.test").await;
    let other = second.visitor();
    let p = login_from(&other, "203.0.113.7", "user10@acme.test").await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
    let fresh = login_from(&other, "192.0.2.55", "user11@acme.test").await;
    assert_eq!(fresh.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forwarded_addresses_are_ignored_unless_the_peer_is_a_trusted_proxy() {
    let prefix = format!("rl-{}", uuid::Uuid::new_v4().simple());
    let app = TestApp::spawn_with(&[
        ("RATE_LIMIT_LOGIN_PER_MINUTE", "2"),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
    ])
    .await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let v = app.visitor();
    // Rotating X-Forwarded-For does not escape the limit: the header is not believed.
    assert_eq!(
        login_from(&v, "10.0.0.1", "a@acme.test").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_from(&v, "10.0.0.2", "b@acme.test").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_from(&v, "10.0.0.3", "c@acme.test").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn the_general_limit_covers_every_page() {
    let prefix = format!("rl-{}", uuid::Uuid::new_v4().simple());
    let app = TestApp::spawn_with(&[
        ("RATE_LIMIT_GENERAL_PER_MINUTE", "5"),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
    ])
    .await;
    let v = app.visitor();
    for _ in 0..5 {
        assert_eq!(v.get("/").await.status, StatusCode::OK);
    }
    let limited = v.get("/signup").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
    assert!(limited.body.contains("Too many attempts"));
    // Health probes are never limited.
    assert_eq!(v.get("/health/live").await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_address_sending_fast_gets_its_limit_and_no_more_from_two_instances() {
    // Two instances, one limit: the requests take turns between them, fast enough
    // for each instance to take several requests' worth from Redis at once.
    let prefix = format!("rl-{}", uuid::Uuid::new_v4().simple());
    let env = [
        ("RATE_LIMIT_GENERAL_PER_MINUTE", "40"),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
    ];
    let (a, b) = (
        TestApp::spawn_with(&env).await,
        TestApp::spawn_with(&env).await,
    );
    let (va, vb) = (a.visitor(), b.visitor());
    let started = std::time::Instant::now();
    let mut allowed = 0;
    for i in 0..60 {
        let v = if i % 2 == 0 { &va } else { &vb };
        match v.get("/").await.status {
            StatusCode::OK => allowed += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("request {i} answered {other}"),
        }
    }
    // 40 at once, then one more every 1.5 s.
    let refilled = (started.elapsed().as_millis() / 1500) as usize;
    assert!(allowed >= 40, "only {allowed} of the 40 allowed got in");
    assert!(
        allowed <= 40 + refilled,
        "{allowed} got in, more than 40 and {refilled} refilled"
    );
}

#[tokio::test]
async fn with_redis_down_limits_fall_back_to_the_process_instead_of_failing_open() {
    let mut redis = common::OwnRedis::start();
    let url = redis.url();
    let app =
        TestApp::spawn_with(&[("REDIS_URL", &url), ("RATE_LIMIT_GENERAL_PER_MINUTE", "4")]).await;
    let v = app.visitor();
    redis.stop();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(v.get("/").await.status);
    }
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn registration_is_limited_per_address_and_per_email() {
    let prefix = format!("rl-{}", uuid::Uuid::new_v4().simple());
    let app = TestApp::spawn_with(&[
        ("PORTAL_TRUSTED_PROXIES", "127.0.0.1"),
        ("RATE_LIMIT_SIGNUP_PER_HOUR", "3"),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
    ])
    .await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    admin
        .submit(
            "/t/acme/settings",
            "/t/acme/settings",
            &[("registration", "open"), ("password_login", "on")],
        )
        .await;
    let register_from = |ip: &'static str, email: &'static str| {
        let v = app.visitor();
        async move {
            let token = v.get("/t/acme/register").await.csrf();
            v.http
                .post(format!("{}/t/acme/register", v.address()))
                .header("x-forwarded-for", ip)
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("name", "Eve"),
                    ("email", email),
                    ("password", PASSWORD),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // Per address: three accounts an hour, then 429. (Typos do not count: see
    // registration::the_registration_limit_counts_accounts_created….)
    for email in ["eve1@acme.test", "eve2@acme.test", "eve3@acme.test"] {
        let r = register_from("10.0.0.1", email).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{email}");
    }
    let limited = register_from("10.0.0.1", "other@acme.test").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
    let elsewhere = register_from("10.0.0.2", "other@acme.test").await;
    assert_eq!(elsewhere.status(), StatusCode::SEE_OTHER);

    // Per email: tries at a taken address count too (their answer tells who has an
    // account), so probing one address from fresh client addresses ends in 429.
    let first = register_from("10.0.1.1", "mallory@acme.test").await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    for ip in ["10.0.1.2", "10.0.1.3"] {
        let r = register_from(ip, "mallory@acme.test").await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{ip}");
    }
    let mut statuses = Vec::new();
    for ip in ["10.0.2.1", "10.0.2.2", "10.0.2.3"] {
        statuses.push(register_from(ip, "mallory@acme.test").await.status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let other = register_from("10.0.3.1", "someone@acme.test").await;
    assert_eq!(other.status(), StatusCode::SEE_OTHER);
}
