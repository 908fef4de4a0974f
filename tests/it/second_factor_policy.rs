//! Organizations that require a second factor, the platform switch that requires it
//! everywhere, single sign-on under a required rule, and `portal check`.

use reqwest::StatusCode;

use crate::cli::{out, portal};
use crate::common::factors::{code, recovery_codes_on, secret_on, step_up, urlencode};
use crate::common::sso_support::{portal_with_provider, sso_sign_in, sso_sign_in_from};
use crate::common::{self, PASSWORD, TestApp, Visitor};

async fn set_rule(admin: &Visitor, rule: &str) {
    let saved = admin
        .submit(
            "/t/acme/settings",
            "/t/acme/settings",
            &[
                ("registration", "invite_only"),
                ("password_login", "on"),
                ("second_factor", rule),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
}

#[tokio::test]
async fn a_required_factor_is_added_right_after_the_password_before_any_other_page() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    set_rule(&ada, "everyone").await;
    assert!(
        ada.get("/t/acme/settings")
            .await
            .body
            .contains(r#"value="everyone" checked"#)
    );
    ada.logout("acme").await;

    let v = app.visitor();
    let p = v.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(p.location.as_deref(), Some("/t/acme/login/enroll"));
    for page in [
        "/t/acme/dashboard",
        "/t/acme/profile",
        "/t/acme/members",
        "/t/acme/settings",
    ] {
        let p = v.get(page).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{page} opened");
        assert!(p.location.unwrap().starts_with("/t/acme/login"), "{page}");
    }
    let step = v.get("/t/acme/login/second-factor").await;
    assert_eq!(step.location.as_deref(), Some("/t/acme/login/enroll"));

    let page = v.get("/t/acme/login/enroll").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Acme requires a second factor"));
    let secret = secret_on(&page);
    let wrong = v
        .submit(
            "/t/acme/login/enroll",
            "/t/acme/login/enroll",
            &[("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        v.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    let done = v
        .submit(
            "/t/acme/login/enroll",
            "/t/acme/login/enroll",
            &[("code", &code(&secret, 0))],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let to = done.location.unwrap();
    assert_eq!(
        to,
        format!(
            "/t/acme/profile/recovery-codes?next={}",
            urlencode("/t/acme/dashboard")
        )
    );
    assert_eq!(recovery_codes_on(&v.get(&to).await).len(), 10);
    assert_eq!(v.get("/t/acme/dashboard").await.status, StatusCode::OK);

    // The last factor of someone who must have one stays.
    step_up(
        &v,
        "acme",
        PASSWORD,
        Some(&code(&secret, 1)),
        "/t/acme/profile",
    )
    .await;
    let q = v.get("/t/acme/profile/authenticator/remove").await;
    let kept = v
        .answer_yes(&q, "/t/acme/profile/authenticator/remove")
        .await;
    assert_eq!(kept.status, StatusCode::CONFLICT, "{}", kept.body);
    assert!(kept.body.contains("requires a second factor"));
}

#[tokio::test]
async fn device_auth_required_sends_even_a_new_organizations_admin_to_add_a_factor() {
    let app = TestApp::spawn_with(&[("DEVICE_AUTH_REQUIRED", "true")]).await;
    let v = app.visitor();
    let created = v.signup("Acme", "acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(created.location.as_deref(), Some("/t/acme/login/enroll"));
    assert_eq!(
        v.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    let secret = secret_on(&v.get("/t/acme/login/enroll").await);
    let done = v
        .submit(
            "/t/acme/login/enroll",
            "/t/acme/login/enroll",
            &[("code", &code(&secret, 0))],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(v.get("/t/acme/dashboard").await.status, StatusCode::OK);
    let settings = v.get("/t/acme/settings").await;
    assert!(settings.body.contains("id=\"device-auth-required\""));
}

#[tokio::test]
async fn single_sign_on_under_a_required_rule_needs_a_second_factor_in_amr() {
    let (app, op) = portal_with_provider(&[]).await;
    app.query_strings(
        "UPDATE tenant_acme.tenant_settings SET second_factor = 'everyone' \
         RETURNING second_factor AS v",
    );
    let v = app.visitor();
    let refused = sso_sign_in(&app, &v, "sam").await;
    assert_eq!(
        refused.page.status,
        StatusCode::FORBIDDEN,
        "{}",
        refused.page.body
    );
    assert!(refused.page.body.contains("requires a second factor"));
    assert_eq!(
        v.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    let audit = app.query_strings(
        "SELECT action AS v FROM tenant_acme.audit_log \
         WHERE action = 'login.sso_refused_second_factor'",
    );
    assert_eq!(audit.len(), 1);

    // A password at the provider is not enough; a code is.
    op.set_user("sam", serde_json::json!({ "amr": ["pwd"] }))
        .await;
    let pwd = sso_sign_in(&app, &app.visitor(), "sam").await;
    assert_eq!(pwd.page.status, StatusCode::FORBIDDEN);
    // An invitation accepted through single sign-on is held to the same rule.
    let ada = app.visitor();
    ada.login("acme", "ada@acme.test", PASSWORD).await;
    assert!(ada.get("/t/acme/login/enroll").await.status == StatusCode::OK);
    app.query_strings(
        "UPDATE tenant_acme.tenant_settings SET second_factor = 'optional' RETURNING second_factor AS v",
    );
    let enrolled = app.visitor();
    enrolled.login("acme", "ada@acme.test", PASSWORD).await;
    let sent = enrolled
        .submit(
            "/t/acme/members",
            "/t/acme/members/invite",
            &[("email", "nora@acme.test"), ("role", "staff")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let link = app
        .wait_for_mail("nora@acme.test", "invited", 1)
        .await
        .link("/invitations/");
    app.query_strings(
        "UPDATE tenant_acme.tenant_settings SET second_factor = 'everyone' RETURNING second_factor AS v",
    );
    let nora = app.visitor();
    let cb = sso_sign_in_from(&app, &nora, "nora", &format!("{link}/sso")).await;
    assert_eq!(cb.page.status, StatusCode::FORBIDDEN, "{}", cb.page.body);
    assert!(cb.page.body.contains("requires a second factor"));
    let joined = app.query_strings(
        "SELECT count(*)::text AS v FROM tenant_acme.users WHERE email = 'nora@acme.test'",
    );
    assert_eq!(joined, ["0"], "the invitation stays open");

    op.set_user("sam", serde_json::json!({ "amr": ["pwd", "otp"] }))
        .await;
    let v = app.visitor();
    let ok = sso_sign_in(&app, &v, "sam").await;
    assert_eq!(ok.page.status, StatusCode::SEE_OTHER, "{}", ok.page.body);
    assert_eq!(v.get("/t/acme/dashboard").await.status, StatusCode::OK);
}

#[tokio::test]
async fn check_warns_about_password_hashes_when_password_sign_in_is_off() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    app.signup("Bobco", "bobco", "bob@bobco.test").await;
    let redis = common::redis_url();
    let vars = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("REDIS_URL", redis.as_str()),
    ];
    let on = out(&portal(&["check"], &vars, None));
    assert!(!on.contains("password hash"), "{on}");
    let off_vars = [vars[0], vars[1], ("PASSWORD_AUTH_ENABLED", "false")];
    let off = portal(&["check"], &off_vars, None);
    let text = out(&off);
    assert_eq!(
        off.status.code(),
        Some(0),
        "a warning, not a failure: {text}"
    );
    assert!(
        text.contains("PASSWORD_AUTH_ENABLED=false, but 2 people in 2 organizations still have a password hash"),
        "{text}"
    );
    assert!(
        text.contains("acme: 1 person") && text.contains("bobco: 1 person"),
        "{text}"
    );
}
