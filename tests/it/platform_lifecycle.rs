//! Deleting an organization: closed at once, restorable during the grace period, its
//! schema dropped afterwards with its address kept reserved.

use reqwest::StatusCode;

use tenant_portal::models::authentik_outbox::Outbox;

use crate::cli::{out, portal};
use crate::common::authentik_env::db;
use crate::common::{PASSWORD, TestApp};
use crate::platform::super_admin;

fn status(app: &TestApp, slug: &str) -> String {
    app.query_strings(&format!(
        "SELECT status AS v FROM public.tenants WHERE slug = '{slug}'"
    ))
    .pop()
    .expect("a registry row")
}

fn platform_events(app: &TestApp, slug: &str) -> Vec<String> {
    app.query_strings(&format!(
        "SELECT action AS v FROM public.platform_audit_log WHERE target = '{slug}' ORDER BY id"
    ))
}

#[tokio::test]
async fn a_deleted_organization_is_closed_and_a_restore_signs_its_people_in_again() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let root = super_admin(&app).await;
    let form = "/admin/organizations/acme/delete";

    let question = root.get(form).await;
    assert_eq!(question.status, StatusCode::OK);
    assert!(
        question
            .body
            .contains("For 30 day(s) a platform admin can still restore everything"),
        "{}",
        question.body
    );
    let mistyped = root.submit(form, form, &[("confirm_slug", "acme-")]).await;
    assert_eq!(mistyped.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status(&app, "acme"), "active");

    let deleted = root.submit(form, form, &[("confirm_slug", "acme")]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(status(&app, "acme"), "deleting");
    let refused = app
        .visitor()
        .post_raw(
            "/t/acme/login",
            &[("email", "ada@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let page = root.get("/admin/organizations/acme").await;
    assert!(
        page.body.contains("Deletion asked by root@platform.test"),
        "{}",
        page.body
    );
    let listed = root.get("/admin?status=deleting").await;
    assert!(listed.body.contains(r#"data-slug="acme""#));

    let restored = root
        .submit(
            "/admin/organizations/acme",
            "/admin/organizations/acme/restore",
            &[],
        )
        .await;
    assert_eq!(restored.status, StatusCode::SEE_OTHER, "{}", restored.body);
    assert_eq!(status(&app, "acme"), "active");
    let v = app.visitor();
    let login = v.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    assert_eq!(v.get("/t/acme/dashboard").await.status, StatusCode::OK);
    assert_eq!(
        platform_events(&app, "acme"),
        [
            "tenant.created",
            "tenant.deletion_requested",
            "tenant.restored"
        ]
    );

    // The same from the command line.
    let vars = [("DATABASE_URL", app.database_url.as_str())];
    let o = portal(&["tenant", "delete", "acme"], &vars, None);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(status(&app, "acme"), "deleting");
    let o = portal(&["tenant", "restore", "acme"], &vars, None);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(status(&app, "acme"), "active");
    let again = portal(&["tenant", "restore", "acme"], &vars, None);
    assert_eq!(again.status.code(), Some(1), "{}", out(&again));
}

#[tokio::test]
async fn an_expired_grace_period_drops_the_schema_and_keeps_the_address_reserved() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    app.signup("Globex", "globex", "hank@globex.test").await;

    // Its own admin asks, from the settings, typing the address.
    let form = "/t/acme/settings";
    let mistyped = ada
        .submit(form, "/t/acme/settings/delete", &[("confirm_slug", "ACME")])
        .await;
    assert_eq!(mistyped.status, StatusCode::UNPROCESSABLE_ENTITY);
    let asked = ada
        .submit(form, "/t/acme/settings/delete", &[("confirm_slug", "acme")])
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(asked.body.contains("Your organization is closed"));
    assert_eq!(status(&app, "acme"), "deleting");
    assert_eq!(
        app.query_strings(
            "SELECT action AS v FROM tenant_acme.audit_log \
             WHERE action = 'organization.deletion_requested'"
        )
        .len(),
        1
    );

    // Not due yet: nothing is dropped.
    let pool = db(&app);
    assert!(
        tenant_portal::platform::purge_due(&pool, Outbox::new(false), 10)
            .await
            .unwrap()
            .is_empty()
    );
    app.query_strings(
        "UPDATE public.tenants SET purge_after = now() - interval '1 minute' \
         WHERE slug = 'acme' RETURNING slug AS v",
    );
    let purged = tenant_portal::platform::purge_due(&pool, Outbox::new(false), 10)
        .await
        .unwrap();
    assert_eq!(purged, ["acme"]);
    assert_eq!(status(&app, "acme"), "deleted");
    let schemas = app.query_strings(
        "SELECT nspname::text AS v FROM pg_namespace WHERE nspname LIKE 'tenant_%' ORDER BY 1",
    );
    assert_eq!(schemas, ["tenant_globex"]);
    assert_eq!(
        platform_events(&app, "acme"),
        [
            "tenant.created",
            "tenant.deletion_requested",
            "tenant.purged"
        ]
    );

    // Its address answers "not found" and stays reserved.
    assert_eq!(
        app.visitor().get("/t/acme/login").await.status,
        StatusCode::NOT_FOUND
    );
    let again = app
        .visitor()
        .signup("Acme Again", "acme", "new@acme.test", PASSWORD)
        .await;
    assert_ne!(again.status, StatusCode::SEE_OTHER);
    assert!(again.body.contains("already taken"), "{}", again.body);
    let root = super_admin_of_globex(&app).await;
    let page = root.get("/admin/organizations/acme").await;
    assert!(
        page.body.contains("The address stays reserved."),
        "{}",
        page.body
    );
    let late = root
        .submit(
            "/admin/organizations/acme",
            "/admin/organizations/acme/restore",
            &[],
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
}

/// A platform admin whose password is globex's admin's (acme is gone).
async fn super_admin_of_globex(app: &TestApp) -> crate::common::Visitor {
    app.query_strings(
        "INSERT INTO public.platform_admins (email, name, password_hash) \
         SELECT 'root@platform.test', 'Root Admin', password_hash FROM tenant_globex.users \
         WHERE email = 'hank@globex.test' RETURNING email AS v",
    );
    let v = app.visitor();
    let ok = v
        .submit(
            "/admin/login",
            "/admin/login",
            &[("email", "root@platform.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    v
}

#[tokio::test]
async fn an_export_holds_the_organizations_data_and_no_secret() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let sent = ada
        .submit(
            "/t/acme/members",
            "/t/acme/members/invite",
            &[("email", "bob@acme.test"), ("role", "staff")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let link = app
        .wait_for_mail("bob@acme.test", "invited", 1)
        .await
        .link("/invitations/");
    let token = link.rsplit('/').next().unwrap().to_string();
    // More people than one batch of the export.
    app.query_strings(
        "INSERT INTO tenant_acme.users (email, name, password_hash, role) \
         SELECT 'p' || i || '@acme.test', 'Person ' || i, '$2b$04$secrethashsecrethashsecrethashsecrethashsecret', 'member' \
           FROM generate_series(1, 1200) AS i RETURNING email AS v",
    );
    let hashes = app.query_strings(
        "SELECT password_hash AS v FROM tenant_acme.users WHERE email = 'ada@acme.test'",
    );
    let token_hashes = app.query_strings("SELECT token_hash AS v FROM tenant_acme.invitations");

    let root = super_admin(&app).await;
    for (who, path) in [
        (&ada, "/t/acme/settings/export.json"),
        (&root, "/admin/organizations/acme/export.json"),
    ] {
        let got = who.get(path).await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.body);
        let doc: serde_json::Value = serde_json::from_str(&got.body).expect("valid JSON");
        assert_eq!(doc["format"], "tenant-portal.export/1");
        assert_eq!(doc["organization"]["slug"], "acme");
        assert!(doc["settings"]["registration"].is_string());
        let members = doc["members"].as_array().unwrap();
        assert_eq!(members.len(), 1201);
        assert!(
            members
                .iter()
                .any(|m| m["email"] == "ada@acme.test" && m["role"] == "admin")
        );
        let invitations = doc["invitations"].as_array().unwrap();
        assert_eq!(invitations.len(), 1);
        assert_eq!(invitations[0]["email"], "bob@acme.test");
        assert!(
            doc["audit_log"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "invitation.sent")
        );
        for secret in hashes.iter().chain(&token_hashes).chain([&token]) {
            assert!(!got.body.contains(secret.as_str()), "a secret leaked");
        }
        for key in [
            "\"password_hash\"",
            "\"token_hash\"",
            "\"token\"",
            "\"external_id\"",
            "\"authentik_pk\"",
            "secrethash",
        ] {
            assert!(!got.body.contains(key), "{key} in the export");
        }
    }
    // Both downloads are in the audit logs; nobody else may download.
    assert_eq!(
        platform_events(&app, "acme")
            .iter()
            .filter(|a| *a == "tenant.exported")
            .count(),
        2
    );
    assert_eq!(
        app.query_strings(
            "SELECT action AS v FROM tenant_acme.audit_log WHERE action = 'organization.exported'"
        )
        .len(),
        2
    );
    let stranger = app.signup("Globex", "globex", "hank@globex.test").await;
    let refused = stranger.get("/t/acme/settings/export.json").await;
    assert_ne!(refused.status, StatusCode::OK);
    assert_eq!(
        stranger
            .get("/admin/organizations/acme/export.json")
            .await
            .location
            .as_deref(),
        Some("/admin/login")
    );
}

#[tokio::test]
async fn tenant_list_walks_every_organization_in_pages_with_progress() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    // Registry rows only: the list reads nothing else. One is a tombstone.
    app.query_strings(
        "INSERT INTO public.tenants (slug, schema_name, name, business_type, country, status) \
         SELECT 'org-' || lpad(i::text, 4, '0'), 'tenant_org_' || lpad(i::text, 4, '0'), \
                'Organization ' || i, 'software', 'US', \
                CASE WHEN i = 7 THEN 'deleted' ELSE 'active' END \
           FROM generate_series(1, 1100) AS i RETURNING slug AS v",
    );
    let vars = [("DATABASE_URL", app.database_url.as_str())];
    let o = portal(&["tenant", "list"], &vars, None);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("org-") || l.starts_with("acme"))
        .collect();
    assert_eq!(rows.len(), 1101);
    assert!(
        rows[0].starts_with("acme ") && rows[0].contains(" 1 "),
        "{}",
        rows[0]
    );
    assert!(rows[1100].starts_with("org-1100"));
    assert!(stdout.contains("1101 organizations"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("... 1000 organizations so far"), "{stderr}");
}
