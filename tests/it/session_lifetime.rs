//! Sessions end after the idle and the absolute lifetime.

use redis::AsyncCommands;
use reqwest::StatusCode;

use crate::common::{OwnRedis, TestApp};

async fn session_keys(conn: &mut redis::aio::MultiplexedConnection) -> Vec<String> {
    conn.keys("*:session:*").await.unwrap()
}

#[tokio::test]
async fn the_idle_lifetime_is_the_redis_expiry_and_the_absolute_lifetime_is_enforced() {
    let redis = OwnRedis::start();
    let url = redis.url();
    let app = TestApp::spawn_with(&[
        ("REDIS_URL", &url),
        ("AUTH_SESSION_IDLE_MINUTES", "30"),
        ("AUTH_SESSION_ABSOLUTE_HOURS", "12"),
    ])
    .await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();

    // One session, stored under a hash of its id (the cookie value never appears).
    let keys = session_keys(&mut conn).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let cookie = ada.cookie("portal_session").unwrap();
    assert!(!keys[0].contains(&cookie));
    let ttl: i64 = conn.ttl(&keys[0]).await.unwrap();
    assert!((29 * 60..=30 * 60).contains(&ttl), "idle expiry {ttl}s");

    // Thirteen hours after sign-in, however active, the session is over.
    let raw: String = conn.get(&keys[0]).await.unwrap();
    let mut state: std::collections::HashMap<String, String> = serde_json::from_str(&raw).unwrap();
    let mut identity: serde_json::Value = serde_json::from_str(&state["identity"]).unwrap();
    let now = identity["iat"].as_i64().unwrap();
    identity["iat"] = (now - 13 * 3600).into();
    identity["seen"] = now.into();
    state.insert("identity".into(), identity.to_string());
    let _: () = conn
        .set_ex(&keys[0], serde_json::to_string(&state).unwrap(), 600)
        .await
        .unwrap();

    let dash = ada.get("/t/acme/dashboard").await;
    assert_eq!(dash.status, StatusCode::SEE_OTHER);
    assert!(dash.location.unwrap().starts_with("/t/acme/login"));
    assert!(
        session_keys(&mut conn).await.is_empty(),
        "the expired session is deleted"
    );
}

#[tokio::test]
async fn sessions_live_under_the_deployments_key_prefix() {
    let redis = OwnRedis::start();
    let url = redis.url();
    let app = TestApp::spawn_with(&[
        ("REDIS_URL", &url),
        ("REDIS_KEY_PREFIX", "tenant-portal-blue"),
    ])
    .await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys: Vec<String> = conn.keys("*session*").await.unwrap();
    keys.sort();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys[0].starts_with("tenant-portal-blue:session:"),
        "{keys:?}"
    );
    assert!(
        keys[1].starts_with("tenant-portal-blue:user-sessions:"),
        "{keys:?}"
    );
}

#[tokio::test]
async fn a_session_in_use_keeps_nearly_all_of_its_idle_time() {
    let redis = OwnRedis::start();
    let url = redis.url();
    let app = TestApp::spawn_with(&[("REDIS_URL", &url), ("AUTH_SESSION_IDLE_MINUTES", "1")]).await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    ada.get("/t/acme/dashboard").await;
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = session_keys(&mut conn).await.pop().expect("a session");

    // Used again a few seconds later: the idle deadline moves with it (it moves at
    // most every twentieth of the idle time, 3 s here).
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(ada.get("/t/acme/dashboard").await.status, StatusCode::OK);
    let ttl: i64 = conn.ttl(&key).await.unwrap();
    assert!(ttl >= 57, "idle deadline not moved: {ttl}s left of 60");
}
