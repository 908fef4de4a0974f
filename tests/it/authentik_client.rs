//! The Authentik client on its own: retries, Retry-After, timeouts, the circuit
//! breaker, and errors that say what failed.

use std::time::{Duration, Instant};

use tenant_portal::authentik::breaker::CircuitState;
use tenant_portal::authentik::{AuthentikClient, AuthentikError};
use tenant_portal::config::Settings;

use crate::common::fake_authentik::FakeAuthentik;

const TOKEN: &str = "client-test-token-42";

fn client(fake: &FakeAuthentik, token: &str, extra: &[(&str, &str)]) -> AuthentikClient {
    let mut vars: std::collections::HashMap<String, String> = [
        ("AUTHENTIK_URL", fake.url()),
        ("AUTHENTIK_TOKEN", token.to_string()),
        ("AUTHENTIK_TIMEOUT_MS", "300".into()),
        ("AUTHENTIK_RETRIES", "2".into()),
        ("AUTHENTIK_CIRCUIT_THRESHOLD", "3".into()),
        ("AUTHENTIK_CIRCUIT_OPEN_SECS", "1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    let settings = Settings::from_map(&vars).expect("valid settings");
    AuthentikClient::new(settings.authentik.as_ref().expect("configured")).expect("client")
}

#[tokio::test]
async fn the_circuit_opens_after_repeated_failures_and_closes_when_authentik_recovers() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let c = client(&fake, TOKEN, &[("AUTHENTIK_RETRIES", "0")]);
    assert!(c.version().await.is_ok());
    assert_eq!(c.circuit(), CircuitState::Closed);

    fake.fail_with(503);
    for _ in 0..3 {
        assert!(matches!(
            c.version().await,
            Err(AuthentikError::Unavailable(_))
        ));
    }
    assert_eq!(c.circuit(), CircuitState::Open);
    let before = fake.requests();
    // Open: callers are answered at once, Authentik sees nothing.
    let t = Instant::now();
    for _ in 0..100 {
        let e = c.version().await.unwrap_err();
        assert!(e.to_string().contains("circuit open"), "{e}");
    }
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(fake.requests(), before);

    // Still failing after the pause: one trial request, and open again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(c.circuit(), CircuitState::HalfOpen);
    assert!(c.version().await.is_err());
    assert_eq!(fake.requests(), before + 1);
    assert_eq!(c.circuit(), CircuitState::Open);

    // Recovered: the next trial closes the circuit.
    fake.heal();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(c.version().await.is_ok());
    assert_eq!(c.circuit(), CircuitState::Closed);
}

#[tokio::test]
async fn server_errors_and_429_are_retried_with_backoff_honouring_retry_after() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let c = client(&fake, TOKEN, &[]);
    fake.fail_times(500, 2, None);
    assert!(c.version().await.is_ok(), "third try succeeds");
    assert_eq!(fake.requests(), 3);

    fake.fail_times(429, 1, Some(1));
    let t = Instant::now();
    assert!(c.version().await.is_ok());
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(fake.requests(), 5);
}

#[tokio::test]
async fn a_timeout_is_retried_then_reported_as_unavailable() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let c = client(&fake, TOKEN, &[("AUTHENTIK_RETRIES", "1")]);
    fake.hang(Duration::from_secs(3));
    let t = Instant::now();
    let e = c.version().await.unwrap_err();
    assert!(
        matches!(&e, AuthentikError::Unavailable(m) if m.contains("timed out")),
        "{e}"
    );
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(fake.requests(), 2);
}

#[tokio::test]
async fn a_refused_token_is_not_retried_and_never_shown() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let c = client(&fake, "wrong-token-secret", &[]);
    let e = c.version().await.unwrap_err();
    assert!(matches!(e, AuthentikError::Unauthorized(401)), "{e:?}");
    assert!(e.to_string().contains("AUTHENTIK_TOKEN"));
    assert_eq!(fake.requests(), 1);
    assert!(!format!("{c:?}").contains("wrong-token-secret"));
    assert_eq!(
        c.circuit(),
        CircuitState::Closed,
        "a refusal is not an outage"
    );
}

#[tokio::test]
async fn validation_errors_carry_authentiks_details_and_are_not_retried() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let c = client(&fake, TOKEN, &[]);
    let (u, created) = c
        .find_or_create_user("grace@navy.test", "Grace Hopper")
        .await
        .unwrap();
    assert!(created);
    let (again, created) = c
        .find_or_create_user("grace@navy.test", "Grace Hopper")
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.pk, u.pk);

    let before = fake.requests();
    let dup = tenant_portal::authentik::models::NewUser {
        username: "grace@navy.test".into(),
        name: "Grace".into(),
        email: "other@navy.test".into(),
        is_active: true,
        path: None,
    };
    match c.create_user(&dup).await {
        Err(AuthentikError::Validation(details)) => {
            assert!(details["username"][0].as_str().unwrap().contains("unique"))
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(fake.requests(), before + 1);

    // Groups: find-or-create, membership, user lifecycle.
    let (g, created) = c.find_or_create_group("tenant-x-admin").await.unwrap();
    assert!(created);
    let (g2, created) = c.find_or_create_group("tenant-x-admin").await.unwrap();
    assert!(!created);
    assert_eq!(g.pk, g2.pk);
    c.add_user_to_group(g.pk, u.pk).await.unwrap();
    let found = c
        .find_user_by_username("grace@navy.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.groups, [g.pk]);
    c.remove_user_from_group(g.pk, u.pk).await.unwrap();
    assert!(!c.deactivate_user(u.pk).await.unwrap().is_active);
    c.delete_user(u.pk).await.unwrap();
    assert!(c.get_user(u.pk).await.unwrap().is_none());
    assert!(matches!(
        c.add_user_to_group(uuid::Uuid::new_v4(), 1).await,
        Err(AuthentikError::NotFound)
    ));
}
