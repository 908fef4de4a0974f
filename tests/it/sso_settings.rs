//! Single sign-on around the edges: the tenant setting that requires it for staff and
//! admins, the login page's button, and readiness.

use reqwest::StatusCode;
use tenant_portal::{db::Db, domain::SchemaName, models::tenant_settings as settings};

use crate::common::{self, PASSWORD, TestApp};

async fn require_sso(app: &TestApp, on: bool) {
    let db = Db::new(&app.database_url, 1).expect("pool");
    let schema = SchemaName::from_registry("tenant_acme").expect("schema name");
    db.tenant(&schema, move |conn| {
        let mut s = settings::load(conn)?;
        s.require_sso_for_staff = on;
        settings::save(conn, &s)?;
        Ok(())
    })
    .await
    .expect("settings saved");
}

#[tokio::test]
async fn requiring_sso_refuses_password_sign_in_to_admins_and_staff_but_not_members() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    // A member with a password, added the way an import would.
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    app.query_strings(&format!(
        "INSERT INTO tenant_acme.users (email, name, password_hash, role) \
         VALUES ('max@acme.test', 'Max Member', '{hash}', 'member') RETURNING email AS v"
    ));

    require_sso(&app, true).await;
    let admin = app.visitor().login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(admin.status, StatusCode::FORBIDDEN);
    assert!(
        admin.body.contains("sign in with single sign-on"),
        "{}",
        admin.body
    );
    // A wrong password still gets the usual answer: the refusal reveals no role.
    let wrong = app
        .visitor()
        .login("acme", "ada@acme.test", "Wrong-Password-123")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let member = app.visitor().login("acme", "max@acme.test", PASSWORD).await;
    assert_eq!(member.status, StatusCode::SEE_OTHER, "{}", member.body);
    assert_eq!(
        app.query_strings(
            "SELECT target AS v FROM tenant_acme.audit_log WHERE action = 'login.refused_sso_required'"
        ),
        vec!["ada@acme.test"]
    );

    require_sso(&app, false).await;
    let admin = app.visitor().login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(admin.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_sso_button_and_route_exist_only_when_sso_is_configured() {
    let plain = TestApp::spawn().await;
    plain.signup("Acme", "acme", "ada@acme.test").await;
    let v = plain.visitor();
    assert!(
        !v.get("/t/acme/login")
            .await
            .body
            .contains("Sign in with SSO")
    );
    assert_eq!(v.get("/t/acme/sso").await.status, StatusCode::NOT_FOUND);
    let ready: serde_json::Value = reqwest::get(format!("{}/health/ready", plain.address))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ready["components"].get("oidc").is_none());

    // Configured, but the provider is down: the button shows, readiness reports the
    // provider down without taking the portal out of service.
    let dead = common::free_port();
    let issuer = format!("http://127.0.0.1:{dead}/application/o/tenant-portal/");
    let app = TestApp::spawn_with(&[
        ("OIDC_ISSUER_URL", &issuer),
        ("OIDC_CLIENT_ID", "tenant-portal"),
        ("OIDC_CLIENT_SECRET", "not-used-here"),
    ])
    .await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let v = app.visitor();
    let page = v.get("/t/acme/login?next=/t/acme/security").await;
    assert!(page.body.contains("Sign in with SSO"));
    assert!(
        page.body
            .contains("href=\"/t/acme/sso?next=%2Ft%2Facme%2Fsecurity\""),
        "{}",
        page.body
    );
    let res = reqwest::get(format!("{}/health/ready", app.address))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ready: serde_json::Value = res.json().await.unwrap();
    assert_eq!(ready["components"]["oidc"]["status"], "down");
    assert_eq!(ready["components"]["database"]["status"], "up");
    let start = v.get("/t/acme/sso").await;
    assert_eq!(start.status, StatusCode::SERVICE_UNAVAILABLE);
}
