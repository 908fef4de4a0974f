//! Staff sign in through single sign-on against a real OpenID Provider (oidc-provider,
//! set up like Authentik): provisioning, updates, refusals, replays, sign-out.

use reqwest::StatusCode;

use crate::common::sso_support::{
    SLUG, follow, get_abs, portal_with_provider, post_abs, resolve, sso_sign_in, sso_sign_in_from,
};
use crate::common::{self, PASSWORD, TestApp};

fn q(app: &TestApp, sql: &str) -> Vec<String> {
    app.query_strings(sql)
}

#[tokio::test]
async fn first_sign_in_provisions_and_the_next_one_updates_name_and_role() {
    let (app, op) = portal_with_provider(&[]).await;
    let v = app.visitor();
    let cb = sso_sign_in(&app, &v, "sam").await;
    assert_eq!(cb.page.status, StatusCode::SEE_OTHER, "{}", cb.page.body);
    assert_eq!(cb.page.location.as_deref(), Some("/t/acme/dashboard"));
    let dash = v.get("/t/acme/dashboard").await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(dash.body.contains("Sam Staff"), "{}", dash.body);

    let sub = op.sub_of("sam").await;
    let row = q(
        &app,
        "SELECT concat_ws('|', name, role, external_id, (password_hash IS NULL)::text, \
         (last_login_at IS NOT NULL)::text, (email_verified_at IS NOT NULL)::text) AS v \
         FROM tenant_acme.users WHERE email = 'sam@acme.test'",
    );
    assert_eq!(row, vec![format!("Sam Staff|staff|{sub}|true|true|true")]);
    let audit = q(
        &app,
        "SELECT action AS v FROM tenant_acme.audit_log WHERE target = 'sam@acme.test' ORDER BY id",
    );
    assert_eq!(audit, vec!["user.provisioned", "login.succeeded"]);

    // At the provider, Sam is renamed and promoted; the next sign-in brings both.
    op.set_user(
        "sam",
        serde_json::json!({ "name": "Samantha Staff", "groups": ["tenant-acme-admin"] }),
    )
    .await;
    let other = app.visitor();
    let again = sso_sign_in(&app, &other, "sam").await;
    assert_eq!(
        again.page.status,
        StatusCode::SEE_OTHER,
        "{}",
        again.page.body
    );
    let row = q(
        &app,
        "SELECT concat_ws('|', name, role, external_id) AS v FROM tenant_acme.users \
         WHERE email = 'sam@acme.test'",
    );
    assert_eq!(row, vec![format!("Samantha Staff|admin|{sub}")]);
    assert_eq!(
        q(&app, "SELECT count(*)::text AS v FROM tenant_acme.users")[0],
        "2",
        "no second account"
    );
    let dash = other.get("/t/acme/dashboard").await;
    assert!(dash.body.contains("Samantha Staff"));
}

#[tokio::test]
async fn someone_without_a_group_for_the_tenant_gets_a_clear_403_and_no_account() {
    let (app, _op) = portal_with_provider(&[]).await;
    let v = app.visitor();
    let cb = sso_sign_in(&app, &v, "nora").await;
    assert_eq!(cb.page.status, StatusCode::FORBIDDEN);
    assert!(
        cb.page.body.contains("has no access to Acme"),
        "{}",
        cb.page.body
    );
    assert!(cb.page.body.contains("tenant-acme-member"));
    assert!(
        q(
            &app,
            "SELECT email AS v FROM tenant_acme.users WHERE email = 'nora@acme.test'"
        )
        .is_empty()
    );
    let audit = q(
        &app,
        "SELECT concat_ws('|', action, target, details->>'reason') AS v FROM tenant_acme.audit_log \
         WHERE action = 'login.sso_refused'",
    );
    assert_eq!(
        audit,
        vec!["login.sso_refused|nora@acme.test|no group for this organization"]
    );
    assert_eq!(
        v.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_callback_used_twice_signs_in_nobody_the_second_time() {
    let (app, _op) = portal_with_provider(&[]).await;
    let v = app.visitor();
    let cb = sso_sign_in(&app, &v, "mia").await;
    assert_eq!(cb.page.status, StatusCode::SEE_OTHER, "{}", cb.page.body);

    // The same browser, and a stranger who copied the URL: neither gets anywhere.
    let replay = get_abs(&v, &cb.url).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);
    assert!(replay.body.contains("already been completed"));
    let thief = app.visitor();
    let stolen = get_abs(&thief, &cb.url).await;
    assert_eq!(stolen.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        thief.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        q(
            &app,
            "SELECT count(*)::text AS v FROM tenant_acme.audit_log WHERE action = 'login.succeeded' AND target = 'mia@acme.test'"
        ),
        vec!["1"]
    );
}

#[tokio::test]
async fn signing_out_ends_the_portal_session_and_the_providers() {
    let (app, op) = portal_with_provider(&[]).await;
    let v = app.visitor();
    let cb = sso_sign_in(&app, &v, "alice").await;
    assert_eq!(cb.page.status, StatusCode::SEE_OTHER, "{}", cb.page.body);
    assert_eq!(v.get("/t/acme/dashboard").await.status, StatusCode::OK);

    let out = v.logout(SLUG).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let to = out.location.expect("redirect");
    assert!(
        to.starts_with(&format!("{}session/end?", op.issuer())),
        "RP-initiated logout at the provider: {to}"
    );
    assert!(to.contains("id_token_hint="));
    assert_eq!(
        v.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );

    // The provider asks for confirmation, then sends the person back to the tenant.
    let confirm = get_abs(&v, &to).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    let action = attr_after(&confirm.body, "id=\"op.logoutForm\"", "action");
    let xsrf = attr_after(&confirm.body, "name=\"xsrf\"", "value");
    let done = post_abs(
        &v,
        &resolve(&to, &action),
        &[("xsrf", &xsrf), ("logout", "yes")],
    )
    .await;
    assert!(done.status.is_redirection(), "{}", done.body);
    let back = done.location.expect("back to the portal");
    assert!(
        back.starts_with(&format!("{}/t/acme/login?signed_out=1", app.address)),
        "{back}"
    );
    let login = get_abs(&v, &back).await;
    assert!(login.body.contains("You have signed out."));

    // The provider's session is over too: SSO asks for the sign-in form again.
    let start = format!("{}/t/{SLUG}/sso", app.address);
    let (url, page) = follow(&v, start, |u| u.contains("/auth/oidc/callback")).await;
    let page = page.unwrap_or_else(|| panic!("signed straight back in at {url}"));
    assert!(page.body.contains("login-form"));
}

/// The value of `attr` in the tag that contains `marker`.
fn attr_after(html: &str, marker: &str, attr: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let tag_start = html[..at].rfind('<').expect("tag");
    let tag_end = at + html[at..].find('>').expect("tag end");
    let tag = &html[tag_start..tag_end];
    let key = format!("{attr}=\"");
    let from = tag.find(&key).expect("attribute") + key.len();
    tag[from..from + tag[from..].find('"').expect("quote")].replace("&amp;", "&")
}

#[tokio::test]
async fn an_existing_account_is_linked_only_when_the_provider_verified_the_email() {
    let (app, op) = portal_with_provider(&[]).await;
    // ada@acme.test signed up with a password. Sam's provider account claims her
    // address, unverified first: no link, no sign-in.
    op.set_user(
        "sam",
        serde_json::json!({ "email": "ada@acme.test", "email_verified": false }),
    )
    .await;
    let v = app.visitor();
    let cb = sso_sign_in(&app, &v, "sam").await;
    assert_eq!(cb.page.status, StatusCode::FORBIDDEN);
    assert!(cb.page.body.contains("not linked"), "{}", cb.page.body);
    assert_eq!(
        q(
            &app,
            "SELECT coalesce(external_id, 'none') AS v FROM tenant_acme.users WHERE email = 'ada@acme.test'"
        ),
        vec!["none"]
    );

    op.set_user("sam", serde_json::json!({ "email_verified": true }))
        .await;
    let v = app.visitor();
    let cb = sso_sign_in(&app, &v, "sam").await;
    assert_eq!(cb.page.status, StatusCode::SEE_OTHER, "{}", cb.page.body);
    let sub = op.sub_of("sam").await;
    assert_eq!(
        q(
            &app,
            "SELECT external_id AS v FROM tenant_acme.users WHERE email = 'ada@acme.test'"
        ),
        vec![sub]
    );
    assert_eq!(
        q(
            &app,
            "SELECT action AS v FROM tenant_acme.audit_log WHERE action = 'user.sso_linked'"
        ),
        vec!["user.sso_linked"]
    );
    // Her password still works too (the organization does not require SSO).
    assert_eq!(
        app.visitor()
            .login(SLUG, "ada@acme.test", PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_deactivated_person_stays_out_and_their_account_is_not_touched() {
    let (app, _op) = portal_with_provider(&[]).await;
    let first = sso_sign_in(&app, &app.visitor(), "mia").await;
    assert_eq!(first.page.status, StatusCode::SEE_OTHER);
    q(
        &app,
        "UPDATE tenant_acme.users SET status = 'deactivated', last_login_at = NULL, \
         name = 'Kept' WHERE email = 'mia@acme.test' RETURNING email AS v",
    );
    let v = app.visitor();
    let cb = sso_sign_in(&app, &v, "mia").await;
    assert_eq!(cb.page.status, StatusCode::FORBIDDEN);
    assert!(cb.page.body.contains("deactivated"), "{}", cb.page.body);
    assert_eq!(
        q(
            &app,
            "SELECT concat_ws('|', name, (last_login_at IS NULL)::text) AS v \
             FROM tenant_acme.users WHERE email = 'mia@acme.test'"
        ),
        vec!["Kept|true"]
    );
    assert_eq!(
        v.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_super_admin_group_opens_the_platform_pages() {
    let (app, _op) = portal_with_provider(&[]).await;
    let sam = app.visitor();
    sso_sign_in(&app, &sam, "sam").await;
    assert_eq!(sam.get("/admin").await.status, StatusCode::SEE_OTHER);

    let root = app.visitor();
    let cb = sso_sign_in(&app, &root, "root").await;
    assert_eq!(cb.page.status, StatusCode::SEE_OTHER, "{}", cb.page.body);
    let admin = root.get("/admin").await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.body);
    assert!(admin.body.contains(r#"data-slug="acme""#));
    let events = q(
        &app,
        "SELECT action AS v FROM public.platform_audit_log WHERE action = 'platform.login.sso'",
    );
    assert_eq!(events.len(), 1);
}

async fn invitation_link(
    app: &TestApp,
    admin: &common::Visitor,
    email: &str,
    role: &str,
) -> String {
    let sent = admin
        .submit(
            "/t/acme/members",
            "/t/acme/members/invite",
            &[("email", email), ("role", role)],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    app.wait_for_mail(email, "invited", 1)
        .await
        .link("/invitations/")
}

#[tokio::test]
async fn an_invitation_accepted_through_sso_links_the_identity_with_the_invited_role() {
    let (app, op) = portal_with_provider(&[]).await;
    let admin = app.visitor();
    let signed_in = admin.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    // Nora has no group for acme at the provider: the invitation is what admits her.
    let link = invitation_link(&app, &admin, "nora@acme.test", "staff").await;

    let nora = app.visitor();
    let form = nora.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    let sso_href = format!("{link}/sso");
    assert!(
        form.body.contains(&format!(r#"href="{sso_href}""#)),
        "{}",
        form.body
    );
    let cb = sso_sign_in_from(&app, &nora, "nora", &sso_href).await;
    assert_eq!(cb.page.status, StatusCode::SEE_OTHER, "{}", cb.page.body);
    assert_eq!(cb.page.location.as_deref(), Some("/t/acme/dashboard"));
    let dash = nora.get("/t/acme/dashboard").await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(dash.body.contains("Nora Nogroup"), "{}", dash.body);

    let sub = op.sub_of("nora").await;
    let row = q(
        &app,
        "SELECT concat_ws('|', name, role, external_id, (password_hash IS NULL)::text, \
         (email_verified_at IS NOT NULL)::text) AS v FROM tenant_acme.users \
         WHERE email = 'nora@acme.test'",
    );
    assert_eq!(row, vec![format!("Nora Nogroup|staff|{sub}|true|true")]);
    let accepted = q(
        &app,
        "SELECT details->>'method' AS v FROM tenant_acme.audit_log \
         WHERE action = 'invitation.accepted' AND target = 'nora@acme.test'",
    );
    assert_eq!(accepted, vec!["sso"]);

    // The link worked once.
    let again = app.visitor().get(&link).await;
    assert_eq!(again.status, StatusCode::GONE, "{}", again.body);
    assert!(
        again.body.contains("already been accepted"),
        "{}",
        again.body
    );
}

#[tokio::test]
async fn an_sso_identity_with_another_address_cannot_take_an_invitation() {
    let (app, _op) = portal_with_provider(&[]).await;
    let admin = app.visitor();
    let signed_in = admin.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let link = invitation_link(&app, &admin, "newbie@acme.test", "admin").await;

    let nora = app.visitor();
    let cb = sso_sign_in_from(&app, &nora, "nora", &format!("{link}/sso")).await;
    assert_eq!(cb.page.status, StatusCode::FORBIDDEN, "{}", cb.page.body);
    assert!(
        cb.page.body.contains(
            "This invitation is for newbie@acme.test, but your identity provider signed you in as nora@acme.test"
        ),
        "{}",
        cb.page.body
    );
    assert_eq!(
        q(
            &app,
            "SELECT count(*)::text AS v FROM tenant_acme.users WHERE email IN ('nora@acme.test', 'newbie@acme.test')"
        ),
        vec!["0"]
    );
    assert_eq!(
        nora.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    // The invitation is still open for the invited person.
    let form = app.visitor().get(&link).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let refused = q(
        &app,
        "SELECT details->>'reason' AS v FROM tenant_acme.audit_log WHERE action = 'invitation.sso_refused'",
    );
    assert_eq!(refused, vec!["provider email is not the invited address"]);
}

#[tokio::test]
async fn a_token_of_the_provider_is_exchanged_with_keys_found_through_discovery() {
    let (app, op) = portal_with_provider(&[]).await;
    let http = reqwest::Client::new();
    let exchange = |token: String| {
        http.post(format!("{}/api/v1/auth/token/exchange", app.address))
            .json(&serde_json::json!({ "authentik_token": token, "tenant_id": SLUG }))
            .send()
    };
    let res = exchange(op.jwt_of("sam").await).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["user_info"]["role"], "staff");
    assert_eq!(body["user_info"]["email"], "sam@acme.test");
    let sub = op.sub_of("sam").await;
    assert_eq!(
        q(
            &app,
            "SELECT external_id AS v FROM tenant_acme.users WHERE email = 'sam@acme.test'"
        ),
        vec![sub]
    );
    let me = http
        .get(format!("{}/api/v1/me", app.address))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    // Nora's groups name no role here.
    let res = exchange(op.jwt_of("nora").await).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["type"], "TenantAccessDenied");
}
