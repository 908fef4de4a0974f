//! `portal serve` on SIGTERM: stops taking connections, finishes the requests under
//! way, lets its workers finish, and exits cleanly.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::common::{self, OWN_WORKERS, PASSWORD, TestApp};

#[tokio::test]
async fn sigterm_finishes_the_sign_up_under_way_then_exits() {
    // A database with the portal's tables (the in-process portal's workers stay off).
    let app = TestApp::spawn_with(&[(OWN_WORKERS, "1")]).await;
    let port = common::free_port();
    let dir = std::env::temp_dir().join(format!("tp-serve-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = "s".repeat(64);
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let mut child = Command::new(env!("CARGO_BIN_EXE_portal"))
        .arg("serve")
        .current_dir(&dir)
        .env("DATABASE_URL", &app.database_url)
        .env("REDIS_URL", common::redis_url())
        .env("REDIS_KEY_PREFIX", &prefix)
        .env("PORTAL_BIND", format!("127.0.0.1:{port}"))
        .env("SECRET_KEY", &secret)
        // Slow enough hashing that the sign-up is surely under way at the signal.
        .env("AUTH_PASSWORD_HASH_ROUNDS", "14")
        .env("PORTAL_MAIL_DIR", dir.join("mail"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("portal starts");
    let address = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut form = None;
    for _ in 0..100 {
        if let Ok(res) = client.get(format!("{address}/signup")).send().await {
            form = Some(res.text().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let token = common::hidden_value(&form.expect("the portal answers"), "csrf_token").unwrap();

    let sign_up = {
        let client = client.clone();
        let url = format!("{address}/signup");
        tokio::spawn(async move {
            client
                .post(url)
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("company_name", "Acme"),
                    ("business_type", "software"),
                    ("country", "DE"),
                    ("name", "Ada Lovelace"),
                    ("email", "ada@acme.test"),
                    ("password", PASSWORD),
                    ("slug", "acme"),
                ])
                .send()
                .await
                .map(|r| r.status())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    // The request under way is finished, and answered with what happened.
    let status = sign_up.await.unwrap().expect("the sign-up is answered");
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.query_strings("SELECT slug AS v FROM tenants"),
        ["acme".to_string()]
    );
    // Then the process ends by itself, cleanly.
    let mut exited = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            exited = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let exited = exited.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("portal serve did not stop within 10 s of SIGTERM")
    });
    assert!(exited.success(), "{exited:?}");
    eprintln!("stopped {:?} after SIGTERM", signalled.elapsed());
    // No new connection is taken any more.
    assert!(
        client
            .get(format!("{address}/signup"))
            .send()
            .await
            .is_err()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
