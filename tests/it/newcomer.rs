//! What a newcomer or an uptime monitor meets first: `HEAD` answers like `GET` without
//! using up one-time links, and the first sign-in is remembered.

use reqwest::{Method, StatusCode};

use crate::common::TestApp;

#[tokio::test]
async fn head_answers_the_landing_page_and_never_uses_up_a_confirmation_link() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let head = http
        .request(Method::HEAD, format!("{}/", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);

    app.signup("Acme", "acme", "ada@acme.test").await;
    let mail = app.wait_for_mail("ada@acme.test", "Confirm", 1).await;
    let link = mail.link("/verify-email/");
    // A mail scanner checks the link first.
    let scanned = http
        .request(Method::HEAD, format!("{}{link}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(scanned.status(), StatusCode::OK);
    let verified = app
        .query_strings("SELECT (email_verified_at IS NOT NULL)::text AS v FROM tenant_acme.users");
    assert_eq!(verified, ["false"], "HEAD confirmed the address");
    // The person then follows it, and it works.
    let followed = app.visitor().get(&link).await;
    assert_eq!(followed.status, StatusCode::OK, "{}", followed.body);
    assert!(followed.body.contains("ada@acme.test is confirmed"));
}

#[tokio::test]
async fn people_who_arrive_through_sign_up_or_an_invitation_have_signed_in() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    admin
        .submit(
            "/t/acme/members",
            "/t/acme/members/invite",
            &[("email", "mia@acme.test"), ("role", "member")],
        )
        .await;
    let mail = app.wait_for_mail("mia@acme.test", "invited", 1).await;
    let mia = app.visitor();
    let link = mail.link("/invitations/");
    let joined = mia
        .submit(
            &link,
            &link,
            &[("name", "Mia Wong"), ("password", crate::common::PASSWORD)],
        )
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    let list = admin.get("/t/acme/members").await;
    assert!(!list.body.contains("Never"), "{}", list.body);
    let signed_in = app.query_strings(
        "SELECT email || ':' || (last_login_at IS NOT NULL)::text AS v \
         FROM tenant_acme.users ORDER BY email",
    );
    assert_eq!(signed_in, ["ada@acme.test:true", "mia@acme.test:true"]);
}

#[tokio::test]
async fn portal_demo_gives_the_demo_organization_people_an_invitation_and_history() {
    let app = TestApp::spawn().await;
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_portal"))
            .arg("demo")
            .current_dir(std::env::temp_dir())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env("DATABASE_URL", &app.database_url)
            .env("AUTH_PASSWORD_HASH_ROUNDS", "4")
            .output()
            .expect("portal demo runs")
    };
    // Run twice: nothing is added twice (each run prints a fresh admin password).
    assert!(run().status.success());
    let first = run();
    let printed = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(
        first.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let password = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .expect("password printed")
        .trim()
        .to_string();

    let admin = app.visitor();
    let login = admin.login("demo", "admin@demo.example", &password).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    let members = admin.get("/t/demo/members").await;
    for who in [
        "olivia@demo.example",
        "sam@demo.example",
        "priya@demo.example",
    ] {
        assert_eq!(
            members
                .body
                .matches(&format!("data-email=\"{who}\""))
                .count(),
            1,
            "{who}"
        );
    }
    assert!(
        members.body.contains("newhire@demo.example"),
        "the open invitation"
    );
    let dashboard = admin.get("/t/demo/dashboard").await;
    assert!(
        dashboard.body.contains("sam@demo.example signed in"),
        "{}",
        dashboard.body
    );
    let people = app.query_strings("SELECT count(*)::text AS v FROM tenant_demo.users");
    assert_eq!(people, ["4"]);
}

#[tokio::test]
async fn sign_up_names_every_problem_at_once_including_a_taken_address() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let v = app.visitor();
    let page = v
        .signup("Acme Again", "acme", "not-an-email", "password1234")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("already taken"), "{}", page.body);
    assert!(page.body.contains("too easy to guess"), "{}", page.body);
    assert!(page.body.contains("href=\"#email\""), "{}", page.body);
}

#[tokio::test]
async fn the_sign_up_budget_counts_organizations_created_and_its_429_keeps_the_form() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_SIGNUP_PER_HOUR", "2")]).await;
    let v = app.visitor();
    // Typos do not use up the budget.
    for _ in 0..5 {
        let typo = v
            .signup("Acme", "acme", "ada@acme", crate::common::PASSWORD)
            .await;
        assert_eq!(typo.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    app.signup("Acme", "acme", "ada@acme.test").await;
    app.signup("Globex", "globex", "hank@globex.test").await;
    // The third organization within the hour is refused, with the form as typed.
    let refused = app
        .visitor()
        .signup(
            "Initech",
            "initech",
            "peter@initech.test",
            crate::common::PASSWORD,
        )
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.contains_key("retry-after"));
    assert!(
        refused.body.contains("id=\"signup-refused\""),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("value=\"Initech\""),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"peter@initech.test\""));
}
