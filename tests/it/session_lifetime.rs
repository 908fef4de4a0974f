//! Sessions end after the idle and the absolute lifetime.

use redis::AsyncCommands;
use reqwest::StatusCode;

use crate::common::{OwnRedis, TestApp};

async fn session_keys(conn: &mut redis::aio::MultiplexedConnection) -> Vec<String> {
    conn.keys("portal:session:*").await.unwrap()
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
