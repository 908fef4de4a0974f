//! A deleted organization leaves Authentik through the outbox: its people leave its
//! groups at once, come back on a restore, and its groups go when its data is dropped.
//! Nothing of another organization is touched.

use reqwest::StatusCode;
use tenant_portal::models::authentik_outbox::Outbox;

use crate::authentik_provisioning::Admin;
use crate::common::authentik_env::{TOKEN, app_with, db, wait_delivered};
use crate::common::fake_authentik::FakeAuthentik;
use crate::common::{PASSWORD, TestApp, Visitor};
use crate::platform::super_admin;

const ACME: [&str; 3] = [
    "tenant-acme-admin",
    "tenant-acme-member",
    "tenant-acme-staff",
];
const GLOBEX: [&str; 3] = [
    "tenant-globex-admin",
    "tenant-globex-member",
    "tenant-globex-staff",
];

fn group_names(fake: &FakeAuthentik) -> Vec<String> {
    let mut names: Vec<String> = fake.groups().into_iter().map(|g| g.name).collect();
    names.sort();
    names
}

fn active(fake: &FakeAuthentik, email: &str) -> bool {
    let users = fake.users_with_email(email);
    assert_eq!(users.len(), 1, "{users:?}");
    users[0].is_active
}

/// `action|detail` of the platform events about `slug`, oldest first.
fn events(app: &TestApp, slug: &str) -> Vec<String> {
    app.query_strings(&format!(
        "SELECT action || '|' || details::text AS v FROM public.platform_audit_log \
         WHERE target = '{slug}' ORDER BY id"
    ))
}

async fn delete(root: &Visitor, slug: &str) {
    let form = format!("/admin/organizations/{slug}/delete");
    let done = root.submit(&form, &form, &[("confirm_slug", slug)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
}

#[tokio::test]
async fn deleting_empties_the_groups_restoring_refills_them_and_the_purge_deletes_them() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let app = app_with(&fake, &[]).await;
    let acme = Admin::signup(&app, "Acme", "acme", "ada@acme.test").await;
    acme.add("bob@acme.test", "staff").await;
    let globex = Admin::signup(&app, "Globex", "globex", "hank@globex.test").await;
    // Bob works for both organizations: one Authentik user in two tenants' groups.
    globex.add("bob@acme.test", "member").await;
    wait_delivered(&app).await;
    let both = ["tenant-acme-staff", "tenant-globex-member"];
    assert_eq!(fake.groups_of("bob@acme.test"), both);
    let root = super_admin(&app).await;

    delete(&root, "acme").await;
    wait_delivered(&app).await;
    // Acme's people are out of its groups; Ada, in no other, can no longer sign in
    // to Authentik; Bob keeps Globex; the groups wait for a possible restore.
    assert!(fake.groups_of("ada@acme.test").is_empty());
    assert!(!active(&fake, "ada@acme.test"));
    assert_eq!(fake.groups_of("bob@acme.test"), ["tenant-globex-member"]);
    assert!(active(&fake, "bob@acme.test"));
    assert_eq!(fake.groups_of("hank@globex.test"), ["tenant-globex-admin"]);
    assert!(
        fake.groups()
            .iter()
            .all(|g| !ACME.contains(&g.name.as_str()) || g.users.is_empty())
    );
    assert_eq!(group_names(&fake), [ACME, GLOBEX].concat());
    let asked = events(&app, "acme");
    assert!(
        asked
            .last()
            .unwrap()
            .starts_with("tenant.deletion_requested|")
            && asked
                .last()
                .unwrap()
                .contains(r#""authentik_changes_queued": 2"#),
        "{asked:?}"
    );

    // A sync during the grace period does not let them back in.
    let url = fake.url();
    let vars = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("AUTHENTIK_URL", url.as_str()),
        ("AUTHENTIK_TOKEN", TOKEN),
    ];
    let o = crate::cli::portal(&["authentik", "sync", "--tenant", "acme"], &vars, None);
    assert_eq!(o.status.code(), Some(0), "{}", crate::cli::out(&o));
    assert!(fake.groups_of("ada@acme.test").is_empty());

    // Restored: everyone is back where they were, and can sign in.
    let restored = root
        .submit(
            "/admin/organizations/acme",
            "/admin/organizations/acme/restore",
            &[],
        )
        .await;
    assert_eq!(restored.status, StatusCode::SEE_OTHER, "{}", restored.body);
    wait_delivered(&app).await;
    assert_eq!(fake.groups_of("ada@acme.test"), ["tenant-acme-admin"]);
    assert!(active(&fake, "ada@acme.test"));
    assert_eq!(fake.groups_of("bob@acme.test"), both);
    let back = app.visitor().login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert!(
        events(&app, "acme")
            .last()
            .unwrap()
            .starts_with("tenant.restored|"),
    );

    // Deleted again, by its own admin this time, and the grace period runs out.
    let asked = acme
        .visitor
        .submit(
            "/t/acme/settings",
            "/t/acme/settings/delete",
            &[("confirm_slug", "acme")],
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    app.query_strings(
        "UPDATE public.tenants SET purge_after = now() - interval '1 minute' \
         WHERE slug = 'acme' RETURNING slug AS v",
    );
    let purged = tenant_portal::platform::purge_due(&db(&app), Outbox::new(true), 10)
        .await
        .unwrap();
    assert_eq!(purged, ["acme"]);
    wait_delivered(&app).await;
    assert_eq!(group_names(&fake), GLOBEX);
    assert_eq!(fake.groups_of("bob@acme.test"), ["tenant-globex-member"]);
    assert_eq!(fake.groups_of("hank@globex.test"), ["tenant-globex-admin"]);
    assert!(active(&fake, "bob@acme.test") && active(&fake, "hank@globex.test"));
    assert!(!active(&fake, "ada@acme.test"));
    let last = events(&app, "acme");
    let deleted = last.last().unwrap();
    assert!(
        deleted.starts_with("tenant.authentik_groups_deleted|")
            && ACME
                .iter()
                .all(|g| deleted.contains(&format!("deleted group {g}"))),
        "{last:?}"
    );
    assert_eq!(
        app.query_strings(
            "SELECT status || '|' || kind AS v FROM public.authentik_outbox \
             WHERE tenant_slug = 'acme' ORDER BY id DESC LIMIT 1"
        ),
        ["done|tenant_deleted"]
    );
}

#[tokio::test]
async fn with_provisioning_off_a_deletion_queues_nothing_for_authentik() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let root = super_admin(&app).await;
    delete(&root, "acme").await;
    let restored = root
        .submit(
            "/admin/organizations/acme",
            "/admin/organizations/acme/restore",
            &[],
        )
        .await;
    assert_eq!(restored.status, StatusCode::SEE_OTHER, "{}", restored.body);
    delete(&root, "acme").await;
    app.query_strings(
        "UPDATE public.tenants SET purge_after = now() - interval '1 minute' \
         WHERE slug = 'acme' RETURNING slug AS v",
    );
    let purged = tenant_portal::platform::purge_due(&db(&app), Outbox::new(false), 10)
        .await
        .unwrap();
    assert_eq!(purged, ["acme"]);
    assert!(
        app.query_strings("SELECT kind AS v FROM public.authentik_outbox")
            .is_empty()
    );
    assert!(
        events(&app, "acme")
            .iter()
            .any(|e| e.starts_with("tenant.deletion_requested|")
                && e.contains(r#""authentik_changes_queued": 0"#)),
    );
}

/// Asks for the deletion of acme, then lets the grace period run out and purges it.
async fn delete_and_purge(app: &TestApp, root: &Visitor) {
    delete(root, "acme").await;
    app.query_strings(
        "UPDATE public.tenants SET purge_after = now() - interval '1 minute' \
         WHERE slug = 'acme' RETURNING slug AS v",
    );
    let purged = tenant_portal::platform::purge_due(&db(app), Outbox::new(true), 10)
        .await
        .unwrap();
    assert_eq!(purged, ["acme"]);
}

#[tokio::test]
async fn changes_delivered_late_follow_the_organization_as_it_is_by_then() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let app = app_with(&fake, &[]).await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    wait_delivered(&app).await;
    let root = super_admin(&app).await;

    // Authentik is down while acme is deleted and restored: the deletion's rows,
    // delivered after the restore, do not take Ada out of her group.
    fake.stop().await;
    delete(&root, "acme").await;
    let restored = root
        .submit(
            "/admin/organizations/acme",
            "/admin/organizations/acme/restore",
            &[],
        )
        .await;
    assert_eq!(restored.status, StatusCode::SEE_OTHER, "{}", restored.body);
    fake.resume().await;
    wait_delivered(&app).await;
    assert_eq!(fake.groups_of("ada@acme.test"), ["tenant-acme-admin"]);
    assert!(active(&fake, "ada@acme.test"));

    // Down again while acme is deleted and purged: its people's rows are delivered
    // after its schema is gone, from what the rows recorded.
    fake.stop().await;
    delete_and_purge(&app, &root).await;
    fake.resume().await;
    wait_delivered(&app).await;
    assert!(group_names(&fake).is_empty(), "{:?}", group_names(&fake));
    assert!(!active(&fake, "ada@acme.test"));
}
