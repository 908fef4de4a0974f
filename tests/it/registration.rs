//! People join an organization on their own at /t/<slug>/register, as far as its
//! admins allow: open, invitation only, or limited to email domains.

use reqwest::StatusCode;

use crate::common::{self, PASSWORD, TestApp, Visitor};

const SETTINGS: &str = "/t/acme/settings";
const REGISTER: &str = "/t/acme/register";

async fn set(admin: &Visitor, registration: &str, domains: &str) -> common::Page {
    admin
        .submit(
            SETTINGS,
            SETTINGS,
            &[
                ("registration", registration),
                ("allowed_domains", domains),
                ("password_login", "on"),
            ],
        )
        .await
}

async fn register(
    app: &TestApp,
    name: &str,
    email: &str,
    password: &str,
) -> (Visitor, common::Page) {
    let v = app.visitor();
    let page = v
        .submit(
            REGISTER,
            REGISTER,
            &[("name", name), ("email", email), ("password", password)],
        )
        .await;
    (v, page)
}

#[tokio::test]
async fn an_organization_is_invitation_only_until_its_admin_opens_it() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;

    let v = app.visitor();
    let closed = v.get(REGISTER).await;
    assert_eq!(closed.status, StatusCode::FORBIDDEN);
    assert!(
        closed.body.contains("by invitation only"),
        "{}",
        closed.body
    );
    let post = v
        .submit(
            "/t/acme/login",
            REGISTER,
            &[
                ("name", "Eve"),
                ("email", "eve@acme.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);
    assert!(!v.get("/t/acme/login").await.body.contains(REGISTER));
    assert_eq!(
        app.query_strings("SELECT email AS v FROM tenant_acme.users"),
        ["ada@acme.test"]
    );

    // The admin opens registration; the change is visible and audited.
    let saved = set(&admin, "open", "").await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = admin.get("/t/acme/settings?saved=1").await;
    assert!(page.body.contains("Settings saved."));
    assert!(page.body.contains(r#"value="open" checked"#));
    assert!(
        app.visitor()
            .get("/t/acme/login")
            .await
            .body
            .contains(REGISTER)
    );
    let audited = app.query_strings(
        "SELECT details->'after'->>'registration' AS v FROM tenant_acme.audit_log \
         WHERE action = 'settings.updated'",
    );
    assert_eq!(audited, ["open"]);
}

#[tokio::test]
async fn open_registration_makes_a_signed_in_member_who_cannot_administer() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    set(&admin, "open", "").await;

    let (bob, page) = register(&app, "Bob Stone", "bob@elsewhere.test", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/t/acme/dashboard"));
    let dash = bob.get("/t/acme/dashboard").await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(dash.body.contains("Bob Stone"));
    assert!(
        dash.body.contains(r#"id="whoami-role">Member"#),
        "{}",
        dash.body
    );
    assert!(!dash.body.contains("/t/acme/settings"));
    app.wait_for_mail("bob@elsewhere.test", "Confirm", 1).await;

    // A member cannot see or change the settings, nor lift locks.
    assert_eq!(bob.get(SETTINGS).await.status, StatusCode::FORBIDDEN);
    let post = bob
        .submit(
            "/t/acme/dashboard",
            SETTINGS,
            &[("registration", "invite_only"), ("password_login", "on")],
        )
        .await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);
    assert_eq!(
        bob.get("/t/acme/security").await.status,
        StatusCode::FORBIDDEN
    );

    // The same email cannot register twice; bad input gets field messages.
    let (_, twice) = register(&app, "Bob Again", "BOB@elsewhere.test", PASSWORD).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(
        twice.body.contains("already has an account here"),
        "{}",
        twice.body
    );
    let (_, bad) = register(&app, "", "not-an-email", "short").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["name-error", "email-error", "password-error"] {
        assert!(bad.body.contains(field), "{field}: {}", bad.body);
    }
    assert!(
        !bad.body.contains("short"),
        "the password is never sent back"
    );

    let rows = app.query_strings(
        "SELECT email || ':' || role AS v FROM tenant_acme.users ORDER BY created_at",
    );
    assert_eq!(rows, ["ada@acme.test:admin", "bob@elsewhere.test:member"]);
    let audited = app.query_strings(
        "SELECT target AS v FROM tenant_acme.audit_log WHERE action = 'user.registered'",
    );
    assert_eq!(audited, ["bob@elsewhere.test"]);
}

#[tokio::test]
async fn domain_limited_registration_admits_only_listed_domains() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;

    // The admin's list is checked before it is saved.
    let empty = set(&admin, "domains", "").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("List at least one domain"));
    let bad = set(&admin, "domains", "acme.test, not a domain").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("is not a domain name"), "{}", bad.body);
    let saved = set(&admin, "domains", "@Acme.test\nsub.acme.test").await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

    let form = app.visitor().get(REGISTER).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("acme.test, sub.acme.test"));

    let (_, outside) = register(&app, "Eve", "eve@notacme.test", PASSWORD).await;
    assert_eq!(outside.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        outside
            .body
            .contains("accepts accounts only for addresses at acme.test"),
        "{}",
        outside.body
    );
    let (_, inside) = register(&app, "Carol", "carol@sub.acme.test", PASSWORD).await;
    assert_eq!(inside.status, StatusCode::SEE_OTHER, "{}", inside.body);
    let rows = app.query_strings("SELECT email AS v FROM tenant_acme.users ORDER BY email");
    assert_eq!(rows, ["ada@acme.test", "carol@sub.acme.test"]);
}

#[tokio::test]
async fn password_sign_in_cannot_be_turned_off_while_there_is_no_other_way_in() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    let refused = admin
        .submit(SETTINGS, SETTINGS, &[("registration", "invite_only")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("would lock everyone out"));
    let still = app.visitor().login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(still.status, StatusCode::SEE_OTHER);

    // Bad choices are refused with a message, not a 500.
    let odd = admin
        .submit(
            SETTINGS,
            SETTINGS,
            &[("registration", "everyone"), ("password_login", "on")],
        )
        .await;
    assert_eq!(odd.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_registration_limit_counts_accounts_created_and_its_429_keeps_the_form() {
    // The hourly budget per client address is shared with sign-up: Ada's organization
    // uses one of the two.
    let app = TestApp::spawn_with(&[("RATE_LIMIT_SIGNUP_PER_HOUR", "2")]).await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    set(&admin, "open", "").await;

    // Typos do not use up the budget, neither the address's nor the email's (more of
    // them than either allows).
    for _ in 0..6 {
        let (_, typo) = register(&app, "Bob Stone", "bob@elsewhere.test", "short").await;
        assert_eq!(
            typo.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            typo.body
        );
    }
    let (_, bob) = register(&app, "Bob Stone", "bob@elsewhere.test", PASSWORD).await;
    assert_eq!(bob.status, StatusCode::SEE_OTHER, "{}", bob.body);

    // The next account within the hour is refused, with the form as typed but the
    // password, and nothing is created.
    let (_, refused) = register(&app, "Carol Vance", "carol@elsewhere.test", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0);
    assert!(
        refused.body.contains(r#"id="register-refused""#),
        "{}",
        refused.body
    );
    assert!(refused.body.contains(r#"value="Carol Vance""#));
    assert!(refused.body.contains(r#"value="carol@elsewhere.test""#));
    assert!(!refused.body.contains(PASSWORD));
    assert!(
        app.query_strings(
            "SELECT email AS v FROM tenant_acme.users WHERE email = 'carol@elsewhere.test'"
        )
        .is_empty()
    );
    // A typo is still answered with what to correct, not with the limit.
    let (_, typo) = register(&app, "", "carol@elsewhere.test", PASSWORD).await;
    assert_eq!(typo.status, StatusCode::UNPROCESSABLE_ENTITY);
}
