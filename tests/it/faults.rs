//! Faults right after a commit: what was committed is what the person is told. A
//! session that cannot be written, or a pool with no connection to spare, never turns
//! a created organization into "failed, try again".

use reqwest::StatusCode;

use crate::common::{OwnRedis, PASSWORD, TestApp};

/// Makes Redis hold every write for `ms` while reads still answer: the portal sees
/// Redis up when it checks, and the session write after the commit fails.
async fn pause_redis_writes(redis: &OwnRedis, ms: u64) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(ms)
        .arg("WRITE")
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_sign_up_whose_session_cannot_be_written_is_reported_as_done() {
    let redis = OwnRedis::start();
    let app = TestApp::spawn_with(&[
        ("REDIS_URL", redis.url().as_str()),
        // The limiter writes to Redis too; this test is about the session.
        ("RATE_LIMIT_ENABLED", "false"),
    ])
    .await;
    let v = app.visitor();
    let token = v.get("/signup").await.csrf();
    pause_redis_writes(&redis, 4000).await;
    let page = v
        .post_raw(
            "/signup",
            &[
                ("csrf_token", token.as_str()),
                ("company_name", "Acme"),
                ("business_type", "software"),
                ("country", "DE"),
                ("name", "Ada Lovelace"),
                ("email", "ada@acme.test"),
                ("password", PASSWORD),
                ("slug", "acme"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Acme is created."), "{}", page.body);
    assert!(page.body.contains("/t/acme/login"), "{}", page.body);
    assert!(!page.body.contains("try again"), "{}", page.body);
    // It was created, with its confirmation mail.
    assert_eq!(
        app.query_strings("SELECT slug AS v FROM tenants"),
        ["acme".to_string()]
    );
    app.wait_for_mail("ada@acme.test", "Confirm your email address", 1)
        .await;
    // And the person signs in as told.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let signed_in = app.visitor().login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
}

#[tokio::test]
async fn an_accepted_invitation_whose_session_cannot_be_written_is_reported_as_done() {
    let redis = OwnRedis::start();
    let app = TestApp::spawn_with(&[
        ("REDIS_URL", redis.url().as_str()),
        ("RATE_LIMIT_ENABLED", "false"),
    ])
    .await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    let sent = admin
        .submit(
            "/t/acme/members",
            "/t/acme/members/invite",
            &[("email", "grace@acme.test"), ("role", "staff")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let mail = app
        .wait_for_mail("grace@acme.test", "You are invited", 1)
        .await;
    let link = mail
        .body
        .lines()
        .find(|l| l.contains("/invitations/"))
        .expect("a link")
        .trim()
        .to_string();
    let path = link[link.find("/t/").expect("a path")..].to_string();
    let v = app.visitor();
    let token = v.get(&path).await.csrf();
    pause_redis_writes(&redis, 3000).await;
    let page = v
        .post_raw(
            &path,
            &[
                ("csrf_token", token.as_str()),
                ("name", "Grace Hopper"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("You have joined"), "{}", page.body);
    let members = app
        .query_strings("SELECT email AS v FROM tenant_acme.users WHERE email = 'grace@acme.test'");
    assert_eq!(members, ["grace@acme.test".to_string()]);
}

/// With one database connection for many sign-ups at once, each answer says what
/// happened: every 201 is an organization, and no organization was answered with an
/// error (a retry would find its address taken).
#[tokio::test]
async fn api_sign_ups_on_a_one_connection_pool_answer_what_was_committed() {
    let app = TestApp::spawn_with(&[
        ("PORTAL_DB_POOL_SIZE", "1"),
        ("RATE_LIMIT_ENABLED", "false"),
    ])
    .await;
    let client = reqwest::Client::new();
    let calls = (0..30).map(|i| {
        let client = client.clone();
        let url = format!("{}/api/v1/users", app.address);
        async move {
            let res = client
                .post(url)
                .json(&serde_json::json!({
                    "email": format!("admin{i}@org{i}.test"),
                    "password": PASSWORD,
                    "company_name": format!("Org {i}"),
                    "business_type": "technology",
                    "country": "US",
                    "slug": format!("org-{i}"),
                }))
                .send()
                .await
                .expect("an answer");
            res.status()
        }
    });
    let statuses = futures_util::future::join_all(calls).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    for s in &statuses {
        assert!(
            *s == StatusCode::CREATED || *s == StatusCode::SERVICE_UNAVAILABLE,
            "{statuses:?}"
        );
    }
    let organizations = app.query_strings("SELECT count(*)::text AS v FROM tenants");
    assert_eq!(organizations, [created.to_string()], "{statuses:?}");
    let schemas = app.query_strings(
        "SELECT count(*)::text AS v FROM pg_namespace WHERE nspname LIKE 'tenant\\_org\\_%'",
    );
    assert_eq!(schemas, [created.to_string()]);
}
