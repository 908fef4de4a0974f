//! Health endpoints, and what people see when Redis is down.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::common::{self, OwnRedis, TestApp};

#[tokio::test]
async fn readiness_reports_each_component() {
    let app = TestApp::spawn().await;
    let v = app.visitor();
    let live = v.get("/health/live").await;
    assert_eq!(live.status, StatusCode::OK);
    let ready = v.get("/health/ready").await;
    assert_eq!(ready.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(json["components"]["database"]["status"], "up");
    assert_eq!(json["components"]["redis"]["status"], "up");
}

#[tokio::test]
async fn with_redis_stopped_readiness_and_pages_answer_503_quickly_and_recover() {
    let mut redis = OwnRedis::start();
    let url = redis.url();
    let app = TestApp::spawn_with(&[("REDIS_URL", &url)]).await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    assert_eq!(ada.get("/t/acme/dashboard").await.status, StatusCode::OK);

    redis.stop();
    let started = Instant::now();
    let ready = ada.get("/health/ready").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let json: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(json["components"]["redis"]["status"], "down");
    assert_eq!(json["components"]["database"]["status"], "up");

    let dash = ada.get("/t/acme/dashboard").await;
    assert_eq!(dash.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        dash.body.contains("Temporarily unavailable"),
        "{}",
        dash.body
    );
    // A new organization is not half-created while sessions cannot be stored.
    let page = app
        .visitor()
        .signup("Globex", "globex", "hank@globex.test", common::PASSWORD)
        .await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.query_strings("SELECT count(*)::text AS v FROM public.tenants"),
        vec!["1"]
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "answers must not hang: {:?}",
        started.elapsed()
    );

    // Pages without a session still render.
    assert_eq!(app.visitor().get("/signup").await.status, StatusCode::OK);

    // Redis comes back (empty: it keeps nothing on disk): the portal recovers by itself.
    redis.restart();
    let mut recovered = false;
    for _ in 0..40 {
        if ada.get("/health/ready").await.status == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(recovered, "readiness did not recover after Redis restarted");
    let again = ada.get("/t/acme/dashboard").await;
    assert_eq!(
        again.status,
        StatusCode::SEE_OTHER,
        "session data was lost with Redis: sign in again"
    );
    let login = ada.login("acme", "ada@acme.test", common::PASSWORD).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    assert_eq!(ada.get("/t/acme/dashboard").await.status, StatusCode::OK);
}
