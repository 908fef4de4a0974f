//! Fresh confirmations before sensitive changes (removing a factor, another person's
//! role, one's password), and admins resetting a member's factors: the organization's
//! own, and the platform's for an organization's admins.

use reqwest::StatusCode;

use crate::common::factors::{code, enroll, step_up, urlencode};
use crate::common::{PASSWORD, TestApp};

/// Copies the person who signed up `bobco` into `acme` as a member (same password).
fn bob_joins_acme(app: &TestApp) -> String {
    app.query_strings(
        "WITH b AS (SELECT email, name, password_hash FROM tenant_bobco.users) \
         INSERT INTO tenant_acme.users (email, name, password_hash, role) \
         SELECT email, name, password_hash, 'member' FROM b RETURNING id::text AS v",
    )
    .remove(0)
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
