//! A person manages their own name, password and signed-in devices.

use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp, Visitor, assert_asks};

const PROFILE: &str = "/t/acme/profile";
const NEW_PASSWORD: &str = "Granite-Puffin-Orchard-4471";

/// The handles of the sessions listed, the current one first.
async fn sessions(v: &Visitor) -> (String, Vec<String>) {
    let page = v.get(PROFILE).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let mut current = String::new();
    let mut others = Vec::new();
    for item in page.body.split(r#"<li data-sid=""#).skip(1) {
        let sid = item.split('"').next().unwrap().to_string();
        let body = item.split("</li>").next().unwrap();
        if body.contains("This device") {
            current = sid;
        } else {
            others.push(sid);
        }
    }
    (current, others)
}

async fn second_device(app: &TestApp) -> Visitor {
    let v = app.visitor();
    let p = v.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    // The first page after sign-in records the browser.
    v.get("/t/acme/dashboard").await;
    v
}

#[tokio::test]
async fn a_person_sees_their_devices_and_signs_one_or_all_others_out() {
    let app = TestApp::spawn().await;
    let laptop = app.signup("Acme", "acme", "ada@acme.test").await;
    laptop.get("/t/acme/dashboard").await;
    let phone = second_device(&app).await;
    let tablet = second_device(&app).await;

    let (current, others) = sessions(&laptop).await;
    assert!(!current.is_empty());
    assert_eq!(others.len(), 2);
    let (phone_sid, _) = sessions(&phone).await;

    // Signing a device out asks first; asked, the phone is still signed in.
    let end_phone = format!("/t/acme/profile/sessions/{phone_sid}/end");
    let asked = laptop.submit(PROFILE, &end_phone, &[]).await;
    assert_asks(&asked, &end_phone, "sign out that device");
    assert!(asked.body.contains("That browser is signed out at once"));
    assert_eq!(phone.get("/t/acme/dashboard").await.status, StatusCode::OK);
    let ended = laptop.answer_yes(&asked, &end_phone).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    assert_eq!(
        phone.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(tablet.get("/t/acme/dashboard").await.status, StatusCode::OK);
    let (_, left) = sessions(&laptop).await;
    assert_eq!(left.len(), 1);

    // Ending one's own session here is refused (sign out does that); unknown ones are 404.
    let own = laptop
        .submit(
            PROFILE,
            &format!("/t/acme/profile/sessions/{current}/end"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST);
    let unknown = laptop
        .submit(
            PROFILE,
            "/t/acme/profile/sessions/0000/end",
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let end_others = "/t/acme/profile/sessions/end-others";
    let asked = laptop.submit(PROFILE, end_others, &[]).await;
    assert_asks(&asked, end_others, "sign out everywhere else");
    assert_eq!(tablet.get("/t/acme/dashboard").await.status, StatusCode::OK);
    assert_eq!(sessions(&laptop).await.1.len(), 1);
    let all = laptop
        .submit(PROFILE, end_others, &[("confirm", "yes")])
        .await;
    assert_eq!(all.status, StatusCode::SEE_OTHER);
    assert_eq!(
        tablet.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(laptop.get("/t/acme/dashboard").await.status, StatusCode::OK);
    assert_eq!(sessions(&laptop).await.1.len(), 0);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_signs_other_devices_out() {
    let app = TestApp::spawn().await;
    let laptop = app.signup("Acme", "acme", "ada@acme.test").await;
    let phone = second_device(&app).await;
    let url = "/t/acme/profile/password";
    // A password change asks for a fresh confirmation first (second_factor_policy.rs).
    let unconfirmed = laptop
        .submit(
            PROFILE,
            url,
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert!(
        unconfirmed
            .location
            .unwrap()
            .starts_with("/t/acme/profile/confirm?next=")
    );
    crate::common::factors::step_up(&laptop, "acme", PASSWORD, None, PROFILE).await;

    let wrong = laptop
        .submit(
            PROFILE,
            url,
            &[
                ("current_password", "Not-It-At-All-1"),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("current password is not right"));
    let weak = laptop
        .submit(
            PROFILE,
            url,
            &[
                ("current_password", PASSWORD),
                ("new_password", "password1"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("new_password-error"));
    assert_eq!(phone.get("/t/acme/dashboard").await.status, StatusCode::OK);

    let done = laptop
        .submit(
            PROFILE,
            url,
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(laptop.get("/t/acme/dashboard").await.status, StatusCode::OK);
    assert_eq!(
        phone.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    let old = app.visitor().login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = app
        .visitor()
        .login("acme", "ada@acme.test", NEW_PASSWORD)
        .await;
    assert_eq!(new.status, StatusCode::SEE_OTHER);
    let audited = app.query_strings(
        "SELECT action AS v FROM tenant_acme.audit_log WHERE action = 'password.changed'",
    );
    assert_eq!(audited.len(), 1);
}

#[tokio::test]
async fn a_member_renames_themselves() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    admin
        .submit(
            "/t/acme/settings",
            "/t/acme/settings",
            &[("registration", "open"), ("password_login", "on")],
        )
        .await;
    let bob = app.visitor();
    bob.submit(
        "/t/acme/register",
        "/t/acme/register",
        &[
            ("name", "Bob"),
            ("email", "bob@acme.test"),
            ("password", PASSWORD),
        ],
    )
    .await;
    let renamed = bob
        .submit(PROFILE, "/t/acme/profile/name", &[("name", "Robert Stone")])
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    let dash = bob.get("/t/acme/dashboard").await;
    assert!(
        dash.body
            .contains(r#"<span id="whoami-name">Robert Stone</span>"#),
        "{}",
        dash.body
    );
    let empty = bob
        .submit(PROFILE, "/t/acme/profile/name", &[("name", "  ")])
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.query_strings("SELECT name AS v FROM tenant_acme.users WHERE email = 'bob@acme.test'"),
        ["Robert Stone"]
    );
}
