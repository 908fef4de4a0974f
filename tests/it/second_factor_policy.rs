//! Organizations that require a second factor, the platform switch that requires it
//! everywhere, fresh confirmations before sensitive changes, admins resetting a
//! member's factors, single sign-on under a required rule, and `portal check`.

use reqwest::StatusCode;

use crate::cli::{out, portal};
use crate::common::factors::{code, enroll, recovery_codes_on, secret_on, step_up, urlencode};
use crate::common::sso_support::{portal_with_provider, sso_sign_in, sso_sign_in_from};
use crate::common::{self, PASSWORD, TestApp, Visitor};

/// Copies the person who signed up `bobco` into `acme` as a member (same password).
fn bob_joins_acme(app: &TestApp) -> String {
    app.query_strings(
        "WITH b AS (SELECT email, name, password_hash FROM tenant_bobco.users) \
         INSERT INTO tenant_acme.users (email, name, password_hash, role) \
         SELECT email, name, password_hash, 'member' FROM b RETURNING id::text AS v",
    )
    .remove(0)
}

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
async fn removing_the_app_asks_for_the_password_and_a_code_first() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let (secret, _) = enroll(&ada, "acme").await;
    let remove = "/t/acme/profile/authenticator/remove";
    let confirm = format!("/t/acme/profile/confirm?next={}", urlencode(remove));

    // Neither the question nor a direct "yes" removes anything yet.
    assert_eq!(
        ada.get(remove).await.location.as_deref(),
        Some(confirm.as_str())
    );
    let direct = ada
        .submit("/t/acme/profile", remove, &[("confirm", "yes")])
        .await;
    assert_eq!(direct.location.as_deref(), Some(confirm.as_str()));
    let page = ada.get(&confirm).await;
    assert!(page.body.contains("Code from your authenticator app"));

    let wrong_pw = step_up(
        &ada,
        "acme",
        "Not-The-Password-1",
        Some(&code(&secret, 1)),
        remove,
    )
    .await;
    assert_eq!(wrong_pw.status, StatusCode::UNAUTHORIZED);
    let wrong_code = step_up(&ada, "acme", PASSWORD, Some("000000"), remove).await;
    assert_eq!(wrong_code.status, StatusCode::UNAUTHORIZED);
    assert!(wrong_code.body.contains("That code is not right"));
    let ok = step_up(&ada, "acme", PASSWORD, Some(&code(&secret, 1)), remove).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location.as_deref(), Some(remove));

    let q = ada.get(remove).await;
    assert_eq!(q.status, StatusCode::OK);
    assert!(q.body.contains("remove your authenticator app"));
    let gone = ada.answer_yes(&q, remove).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert!(
        ada.get("/t/acme/profile")
            .await
            .body
            .contains("id=\"add-totp\"")
    );
    app.wait_for_mail("ada@acme.test", "A second factor was removed", 1)
        .await;
    let left = app.query_strings("SELECT count(*)::text AS v FROM tenant_acme.recovery_codes");
    assert_eq!(left, ["0"], "no factor left, no recovery codes");
    // Without a factor, sign-in is the password again.
    ada.logout("acme").await;
    let p = ada.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(p.location.as_deref(), Some("/t/acme/dashboard"));
}

#[tokio::test]
async fn changing_another_persons_role_or_ones_password_asks_for_a_fresh_confirmation() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    app.signup("Bobco", "bobco", "bob@bobco.test").await;
    let bob = bob_joins_acme(&app);
    let role = format!("/t/acme/members/{bob}/role");
    let back = format!("{role}?role=staff");

    let asked = ada
        .submit("/t/acme/members", &role, &[("role", "staff")])
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    assert_eq!(
        asked.location.as_deref(),
        Some(format!("/t/acme/profile/confirm?next={}", urlencode(&back)).as_str())
    );
    let role_now = "SELECT role AS v FROM tenant_acme.users WHERE email = 'bob@bobco.test'";
    assert_eq!(app.query_strings(role_now), ["member"]);

    // Ada has no second factor: her password confirms.
    let ok = step_up(&ada, "acme", PASSWORD, None, &back).await;
    assert_eq!(ok.location.as_deref(), Some(back.as_str()));
    let q = ada.get(&back).await;
    assert_eq!(q.status, StatusCode::OK);
    assert!(
        q.body
            .contains("change the role of bob@bobco.test to staff"),
        "{}",
        q.body
    );
    assert!(
        q.body.contains(r#"name="role" value="staff""#),
        "the choice is kept"
    );
    let token = q.csrf();
    let done = ada
        .post_raw(
            &role,
            &[
                ("csrf_token", &token),
                ("role", "staff"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(app.query_strings(role_now), ["staff"]);
    let audit = app.query_strings(
        "SELECT action AS v FROM tenant_acme.audit_log WHERE action = 'step_up.confirmed'",
    );
    assert_eq!(audit.len(), 1);

    // Changing one's password asks too (in a browser whose confirmation is not fresh).
    let other = app.visitor();
    other.login("acme", "ada@acme.test", PASSWORD).await;
    let pw = other
        .submit(
            "/t/acme/profile",
            "/t/acme/profile/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "Granite-Puffin-Orchard-4471"),
            ],
        )
        .await;
    assert!(
        pw.location
            .unwrap()
            .starts_with("/t/acme/profile/confirm?next=")
    );
}

#[tokio::test]
async fn an_admin_resets_a_members_factors_and_signs_them_out() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    app.signup("Bobco", "bobco", "bob@bobco.test").await;
    let bob_id = bob_joins_acme(&app);
    let bob = app.visitor();
    let p = bob.login("acme", "bob@bobco.test", PASSWORD).await;
    assert_eq!(p.location.as_deref(), Some("/t/acme/dashboard"));
    enroll(&bob, "acme").await;

    let members = ada.get("/t/acme/members").await;
    assert!(
        members.body.contains("Authenticator app"),
        "{}",
        members.body
    );
    let reset = format!("/t/acme/members/{bob_id}/second-factors/reset");
    let q = ada.submit("/t/acme/members", &reset, &[]).await;
    assert_eq!(q.status, StatusCode::OK);
    assert!(
        q.body
            .contains("reset the second factors of bob@bobco.test")
    );
    assert_eq!(bob.get("/t/acme/dashboard").await.status, StatusCode::OK);
    let done = ada.answer_yes(&q, &reset).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let notice = ada.get("/t/acme/members").await.body;
    assert!(
        notice.contains("are reset and they are signed out everywhere"),
        "{notice}"
    );

    assert_eq!(
        bob.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    let rows = app.query_strings(
        "SELECT ((SELECT count(*) FROM tenant_acme.totp_factors) + \
         (SELECT count(*) FROM tenant_acme.recovery_codes))::text AS v",
    );
    assert_eq!(rows, ["0"]);
    app.wait_for_mail(
        "bob@bobco.test",
        "Your second factors for Acme were reset",
        1,
    )
    .await;
    let audit = ada.get("/t/acme/audit").await.body;
    assert!(
        audit.contains("reset the second factors of bob@bobco.test"),
        "{audit}"
    );
    // Bob signs in with his password alone again.
    let p = bob.login("acme", "bob@bobco.test", PASSWORD).await;
    assert_eq!(p.location.as_deref(), Some("/t/acme/dashboard"));
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

#[tokio::test]
async fn a_platform_admin_resets_the_factors_of_an_organizations_admin() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    enroll(&ada, "acme").await;
    let root = crate::platform::super_admin(&app).await;
    let ada_id = app
        .query_strings("SELECT id::text AS v FROM tenant_acme.users WHERE email = 'ada@acme.test'")
        .remove(0);

    let page = root.get("/admin/organizations/acme").await;
    assert!(page.body.contains("id=\"admin-factors\""), "{}", page.body);
    assert!(page.body.contains("authenticator app"));
    let reset = format!("/admin/organizations/acme/admins/{ada_id}/second-factors/reset");
    let q = root.submit("/admin/organizations/acme", &reset, &[]).await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.body);
    assert!(
        q.body
            .contains("reset the second factors of ada@acme.test (acme)")
    );
    let done = root.answer_yes(&q, &reset).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        ada.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    let left = app.query_strings("SELECT count(*)::text AS v FROM tenant_acme.totp_factors");
    assert_eq!(left, ["0"]);
    let platform = app.query_strings(
        "SELECT action AS v FROM public.platform_audit_log \
         WHERE action = 'tenant.admin_factors_reset'",
    );
    assert_eq!(platform.len(), 1);
    let tenant = app.query_strings(
        "SELECT action AS v FROM tenant_acme.audit_log WHERE action = 'second_factor.reset'",
    );
    assert_eq!(tenant.len(), 1);
}
