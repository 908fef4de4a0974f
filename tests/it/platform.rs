//! Platform super-admins see every organization, create, suspend and reactivate them.

use reqwest::StatusCode;

use crate::common::{self, PASSWORD, TestApp, Visitor};

/// Signs in a platform super-admin (needs the organization acme with ada@acme.test).
pub(crate) async fn super_admin(app: &TestApp) -> Visitor {
    // The platform admin gets the same (hashed) password as the first tenant admin.
    app.query_strings(
        "INSERT INTO public.platform_admins (email, name, password_hash) \
         SELECT 'root@platform.test', 'Root Admin', password_hash FROM tenant_acme.users \
         WHERE email = 'ada@acme.test' RETURNING email AS v",
    );
    let v = app.visitor();
    let wrong = v
        .submit(
            "/admin/login",
            "/admin/login",
            &[
                ("email", "root@platform.test"),
                ("password", "Wrong-Pass-123"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let ok = v
        .submit(
            "/admin/login",
            "/admin/login",
            &[("email", "root@platform.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location.as_deref(), Some("/admin"));
    v
}

#[tokio::test]
async fn only_platform_admins_reach_the_platform_pages() {
    let app = TestApp::spawn().await;
    let tenant_admin = app.signup("Acme", "acme", "ada@acme.test").await;
    for v in [&app.visitor(), &tenant_admin] {
        let page = v.get("/admin").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location.as_deref(), Some("/admin/login"));
        for action in ["/admin/tenants/acme/suspend", "/admin/jwks/refresh"] {
            let post = v.submit("/admin/login", action, &[]).await;
            assert_eq!(post.status, StatusCode::SEE_OTHER);
            assert_eq!(post.location.as_deref(), Some("/admin/login"));
        }
    }
    assert_eq!(
        app.query_strings("SELECT status AS v FROM public.tenants"),
        ["active"]
    );
    let root = super_admin(&app).await;
    let page = root.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"data-slug="acme""#));
    assert!(
        page.body
            .contains(r#"<a href="/admin/organizations/acme">Acme</a>"#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"<td class="members" data-label="Active members">1</td>"#),
        "{}",
        page.body
    );
    assert!(page.body.contains("platform.login.failed"));
    // A notice never comes from the address bar.
    let forged = root
        .get("/admin?done=Call+555-0100+to+restore+access")
        .await;
    assert!(!forged.body.contains("555-0100"), "{}", forged.body);
}

#[tokio::test]
async fn a_platform_admin_creates_an_organization_whose_invited_admin_joins() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let root = super_admin(&app).await;
    let created = root
        .submit(
            "/admin",
            "/admin/tenants",
            &[
                ("company_name", "Globex Corporation"),
                ("slug", "globex"),
                ("business_type", "software"),
                ("country", "US"),
                ("admin_email", "hank@globex.test"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let page = root.get(created.location.as_deref().unwrap()).await;
    assert!(
        page.body
            .contains("Created Globex Corporation at /t/globex.")
    );
    assert!(page.body.contains(r#"data-slug="globex""#));

    let link = app
        .wait_for_mail("hank@globex.test", "invited", 1)
        .await
        .link("/invitations/");
    assert!(link.starts_with("/t/globex/invitations/"));
    let hank = app.visitor();
    let joined = hank
        .submit(
            &link,
            &link,
            &[("name", "Hank Scorpio"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    assert_eq!(hank.get("/t/globex/members").await.status, StatusCode::OK);

    let taken = root
        .submit(
            "/admin",
            "/admin/tenants",
            &[
                ("company_name", "Acme"),
                ("slug", "acme"),
                ("business_type", "software"),
                ("country", "US"),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    let bad = root
        .submit(
            "/admin",
            "/admin/tenants",
            &[("company_name", ""), ("slug", "Not A Slug")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_suspended_organization_refuses_its_people_until_reactivated() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let root = super_admin(&app).await;

    // Suspending asks first, in the platform frame; asked, nothing has changed.
    let suspend = "/admin/tenants/acme/suspend";
    let asked = root.submit("/admin", suspend, &[]).await;
    crate::common::assert_asks(&asked, suspend, "suspend acme");
    assert!(asked.body.contains("Nobody of it can sign in"));
    assert!(asked.body.contains(r#"id="platform-whoami""#));
    assert_eq!(ada.get("/t/acme/dashboard").await.status, StatusCode::OK);
    assert_eq!(
        app.query_strings("SELECT status AS v FROM public.tenants"),
        ["active"]
    );
    let suspended = root.answer_yes(&asked, suspend).await;
    assert_eq!(suspended.status, StatusCode::SEE_OTHER);
    let dash = ada.get("/t/acme/dashboard").await;
    assert_eq!(dash.status, StatusCode::FORBIDDEN);
    assert!(dash.body.contains("suspended"), "{}", dash.body);
    let login = app.visitor().get("/t/acme/login").await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
    let post = app
        .visitor()
        .post_raw(
            "/t/acme/login",
            &[("email", "ada@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);

    let back = root
        .submit("/admin", "/admin/tenants/acme/reactivate", &[])
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(ada.get("/t/acme/dashboard").await.status, StatusCode::OK);
    assert_eq!(
        root.submit(
            "/admin",
            "/admin/tenants/nope/suspend",
            &[("confirm", "yes")]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let events = app.query_strings(
        "SELECT action || ' ' || target AS v FROM public.platform_audit_log \
         WHERE action LIKE 'tenant.%' ORDER BY id",
    );
    assert_eq!(
        events,
        [
            "tenant.created acme",
            "tenant.suspended acme",
            "tenant.reactivated acme"
        ]
    );
}

#[tokio::test]
async fn a_platform_admin_sees_the_connections_and_fetches_the_providers_keys_now() {
    let key = common::keys::TestKey::new("k1");
    let keys = common::keys::KeyServer::start(&[&key]).await;
    let app = TestApp::spawn_with(&[
        ("JWT_ISSUER", "http://127.0.0.1:9/application/o/portal/"),
        ("JWT_AUDIENCE", "portal"),
        ("AUTHENTIK_PUBLIC_KEY_URL", keys.url.as_str()),
    ])
    .await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let root = super_admin(&app).await;
    let page = root.get("/admin").await;
    assert!(page.body.contains(r#"id="signing-keys""#), "{}", page.body);
    assert!(page.body.contains("1 published at /.well-known/jwks.json"));
    assert!(
        page.body
            .contains(&format!("{}: not fetched yet", keys.url)),
        "{}",
        page.body
    );

    let done = root.submit("/admin", "/admin/jwks/refresh", &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(keys.hits(), 1);
    let page = root.get(done.location.as_deref().unwrap()).await;
    assert!(
        page.body
            .contains(&format!("Fetched 1 key(s) from {}.", keys.url)),
        "{}",
        page.body
    );
    assert!(page.body.contains(": 1 key(s), fetched"), "{}", page.body);
    assert!(page.body.contains("platform.jwks_refreshed"));

    // The provider down: the page says so, and the cached key stays.
    keys.handle.stop(true).await;
    let down = root.submit("/admin", "/admin/jwks/refresh", &[]).await;
    let page = root.get(down.location.as_deref().unwrap()).await;
    assert!(page.body.contains("could not be fetched"), "{}", page.body);
    assert!(page.body.contains(": 1 key(s), fetched"), "{}", page.body);
}
