//! The platform's organization list at scale: counts from the registry, kept current
//! by every membership change; search, status filter and keyset pages; no tenant
//! schema read on the way.

use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp, Visitor};
use crate::platform::super_admin;

/// Invites someone to acme and has them accept; returns them signed in.
async fn join(app: &TestApp, admin: &Visitor, email: &str, role: &str) -> Visitor {
    let sent = admin
        .submit(
            "/t/acme/members",
            "/t/acme/members/invite",
            &[("email", email), ("role", role)],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let link = app
        .wait_for_mail(email, "invited", 1)
        .await
        .link("/invitations/");
    let v = app.visitor();
    let joined = v
        .submit(&link, &link, &[("name", "Someone"), ("password", PASSWORD)])
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    v
}

fn registry(app: &TestApp, slug: &str) -> String {
    app.query_strings(&format!(
        "SELECT member_count || ' ' || admin_count || ' ' || admin_emails AS v \
         FROM public.tenants WHERE slug = '{slug}'"
    ))
    .pop()
    .expect("a registry row")
}

fn member_id(app: &TestApp, email: &str) -> String {
    app.query_strings(&format!(
        "SELECT id::text AS v FROM tenant_acme.users WHERE email = '{email}'"
    ))
    .pop()
    .expect("a member")
}

#[tokio::test]
async fn the_registry_counts_follow_every_membership_change() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    assert_eq!(registry(&app, "acme"), "1 1 ada@acme.test");

    join(&app, &ada, "bob@acme.test", "member").await;
    assert_eq!(registry(&app, "acme"), "2 1 ada@acme.test");
    let bob = member_id(&app, "bob@acme.test");

    crate::common::factors::step_up(&ada, "acme", PASSWORD, None, "/t/acme/members").await;
    let promoted = ada
        .submit(
            "/t/acme/members",
            &format!("/t/acme/members/{bob}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER, "{}", promoted.body);
    assert_eq!(registry(&app, "acme"), "2 2 ada@acme.test bob@acme.test");

    let gone = ada
        .submit(
            "/t/acme/members",
            &format!("/t/acme/members/{bob}/deactivate"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    assert_eq!(registry(&app, "acme"), "1 1 ada@acme.test");

    let back = ada
        .submit(
            "/t/acme/members",
            &format!("/t/acme/members/{bob}/reactivate"),
            &[],
        )
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(registry(&app, "acme"), "2 2 ada@acme.test bob@acme.test");

    // Another organization's changes stay its own.
    app.signup("Globex", "globex", "hank@globex.test").await;
    assert_eq!(registry(&app, "globex"), "1 1 hank@globex.test");
    assert_eq!(registry(&app, "acme"), "2 2 ada@acme.test bob@acme.test");

    // A sign-in is the organization's latest activity.
    app.query_strings(
        "UPDATE public.tenants SET last_activity_at = now() - interval '1 day' \
         WHERE slug = 'acme' RETURNING slug AS v",
    );
    let login = app.visitor().login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    let fresh = app.query_strings(
        "SELECT (last_activity_at > now() - interval '1 minute')::text AS v \
         FROM public.tenants WHERE slug = 'acme'",
    );
    assert_eq!(fresh, ["true"]);
}

#[tokio::test]
async fn the_organization_list_reads_no_tenant_schema() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    join(&app, &ada, "bob@acme.test", "member").await;
    let root = super_admin(&app).await;

    // Another session holds acme's people table exclusively: any statement that
    // reads it (as a count over every tenant schema would) waits until it lets go.
    let url = app.database_url.clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut conn = PgConnection::establish(&url).expect("connect");
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            diesel::sql_query("LOCK TABLE tenant_acme.users IN ACCESS EXCLUSIVE MODE")
                .execute(conn)?;
            locked_tx.send(()).expect("test waits");
            let _ = release_rx.recv_timeout(Duration::from_secs(60));
            Ok(())
        })
        .expect("lock held");
    });
    locked_rx.recv().expect("lock taken");

    let page = tokio::time::timeout(Duration::from_secs(10), root.get("/admin")).await;
    let _ = release_tx.send(());
    holder.join().expect("lock holder");
    let page = page.expect("/admin answered while a tenant's table was locked");
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"data-slug="acme""#), "{}", page.body);
    assert!(
        page.body
            .contains(r#"<td class="members" data-label="Active members">2</td>"#),
        "{}",
        page.body
    );
}

/// Registry rows without schemas: the list reads nothing else.
fn many_organizations(app: &TestApp, n: usize) {
    app.query_strings(&format!(
        "INSERT INTO public.tenants (slug, schema_name, name, business_type, country) \
         SELECT 'org-' || lpad(i::text, 3, '0'), 'tenant_org_' || lpad(i::text, 3, '0'), \
                'Organization ' || i, 'software', 'US' \
           FROM generate_series(1, {n}) AS i RETURNING slug AS v"
    ));
}

fn slugs(body: &str) -> Vec<String> {
    body.split(r#"data-slug=""#)
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_string)
        .collect()
}

fn link(body: &str, id: &str) -> Option<String> {
    let marker = format!(r#"id="{id}" href=""#);
    let start = body.find(&marker)? + marker.len();
    let end = body[start..].find('"')?;
    Some(
        body[start..start + end]
            .replace("&amp;", "&")
            .replace("&#38;", "&"),
    )
}

#[tokio::test]
async fn the_list_pages_by_keyset_searches_and_filters() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    app.signup("Globex", "globex", "hank@globex.test").await;
    many_organizations(&app, 120);
    let root = super_admin(&app).await;

    // Walking "Next" shows every organization once, in address order.
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut at = "/admin".to_string();
    loop {
        let page = root.get(&at).await;
        assert_eq!(page.status, StatusCode::OK);
        let these = slugs(&page.body);
        assert!(these.len() <= 50, "{} on one page", these.len());
        seen.extend(these.clone());
        pages.push((at.clone(), these));
        match link(&page.body, "next-page") {
            Some(next) => at = next,
            None => break,
        }
    }
    assert_eq!(seen.len(), 122);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(pages.len(), 3);
    // "Previous" from the third page shows the second again.
    let third = root.get(&pages[2].0).await;
    let back = link(&third.body, "prev-page").expect("a previous page");
    assert_eq!(slugs(&root.get(&back).await.body), pages[1].1);
    assert!(link(&root.get("/admin").await.body, "prev-page").is_none());

    // Search by an admin's address, by name and by address part.
    assert_eq!(
        slugs(&root.get("/admin?q=hank%40globex").await.body),
        ["globex"]
    );
    assert_eq!(
        slugs(&root.get("/admin?q=organization+11").await.body),
        [
            "org-011", "org-110", "org-111", "org-112", "org-113", "org-114", "org-115", "org-116",
            "org-117", "org-118", "org-119"
        ]
    );
    let none = root.get("/admin?q=100%25").await;
    assert!(slugs(&none.body).is_empty());
    assert!(none.body.contains("No organization matches."));

    // Status filter.
    let suspended = root
        .submit(
            "/admin",
            "/admin/tenants/globex/suspend",
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(suspended.status, StatusCode::SEE_OTHER);
    assert_eq!(
        slugs(&root.get("/admin?status=suspended").await.body),
        ["globex"]
    );
    let active = slugs(&root.get("/admin?status=active&q=acme").await.body);
    assert_eq!(active, ["acme"]);
}

#[tokio::test]
async fn an_organizations_page_shows_its_figures_and_suspends_it_after_naming_the_consequence() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    join(&app, &ada, "bob@acme.test", "member").await;
    let root = super_admin(&app).await;
    for v in [&app.visitor(), &ada] {
        let page = v.get("/admin/organizations/acme").await;
        assert_eq!(page.location.as_deref(), Some("/admin/login"));
    }
    assert_eq!(
        root.get("/admin/organizations/nope").await.status,
        StatusCode::NOT_FOUND
    );

    let page = root.get("/admin/organizations/acme").await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        r#"<h1 id="org-name">Acme</h1>"#,
        r#"<dd id="org-members">2</dd>"#,
        r#"<dd id="org-admin-count">1</dd>"#,
        r#"<dd id="org-admins">ada@acme.test</dd>"#,
        "Provisioning is off on this platform.",
        "<code>tenant.created</code>",
        r#"id="org-status">active<"#,
    ] {
        assert!(page.body.contains(shown), "{shown} missing: {}", page.body);
    }

    let question = root.get("/admin/organizations/acme/suspend").await;
    assert_eq!(question.status, StatusCode::OK);
    assert!(
        question
            .body
            .contains("Its 2 active member(s) can no longer sign in"),
        "{}",
        question.body
    );
    let done = root
        .submit(
            "/admin/organizations/acme/suspend",
            "/admin/tenants/acme/suspend",
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location.as_deref(), Some("/admin/organizations/acme"));
    let after = root.get("/admin/organizations/acme").await;
    assert!(after.body.contains("acme is suspended"), "{}", after.body);
    assert!(after.body.contains(r#"id="org-status">suspended<"#));
    assert!(after.body.contains("<code>tenant.suspended</code>"));
    let refused = app
        .visitor()
        .post_raw(
            "/t/acme/login",
            &[("email", "ada@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let question = root.get("/admin/organizations/acme/reactivate").await;
    assert!(
        question.body.contains("can sign in again"),
        "{}",
        question.body
    );
    root.submit(
        "/admin/organizations/acme/reactivate",
        "/admin/tenants/acme/reactivate",
        &[("confirm", "yes")],
    )
    .await;
    let login = app.visitor().login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
}

#[tokio::test]
async fn the_platform_audit_log_filters_pages_and_exports_csv() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    app.signup("Globex", "globex", "hank@globex.test").await;
    let root = super_admin(&app).await;
    // Many older events, so the log has pages.
    app.query_strings(
        "INSERT INTO public.platform_audit_log (actor, action, target, occurred_at) \
         SELECT 'ops@platform.test', 'tenant.noted', 'org-' || i, now() - interval '3 days' \
           FROM generate_series(1, 120) AS i RETURNING action AS v",
    );
    root.submit(
        "/admin",
        "/admin/tenants/globex/suspend",
        &[("confirm", "yes")],
    )
    .await;

    let page = root.get("/admin/audit?target=globex").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("<code>tenant.suspended</code>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<code>tenant.created</code>"));
    assert!(!page.body.contains(">acme<"), "{}", page.body);

    let by_action = root.get("/admin/audit?action=tenant.suspended").await;
    assert_eq!(
        by_action
            .body
            .matches("<code>tenant.suspended</code>")
            .count(),
        1
    );
    let by_actor = root.get("/admin/audit?actor=ops%40platform").await;
    assert_eq!(
        by_actor.body.matches("<code>tenant.noted</code>").count(),
        50
    );
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let recent = root.get(&format!("/admin/audit?from={today}")).await;
    assert!(!recent.body.contains("tenant.noted"), "{}", recent.body);

    // "Older" walks the 120 noted events in pages of 50.
    let mut seen = 0;
    let mut at = "/admin/audit?action=tenant.noted".to_string();
    loop {
        let page = root.get(&at).await;
        seen += page.body.matches("<code>tenant.noted</code>").count();
        match link(&page.body, "older-page") {
            Some(next) => at = next,
            None => break,
        }
    }
    assert_eq!(seen, 120);

    let csv = root.get("/admin/audit.csv?actor=ops%40platform").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "id,occurred_at,actor,action,target,details");
    assert_eq!(lines.len(), 121);
    assert!(
        lines[1].contains("ops@platform.test,tenant.noted,org-120"),
        "{}",
        lines[1]
    );
    assert!(
        app.visitor()
            .get("/admin/audit.csv")
            .await
            .location
            .as_deref()
            == Some("/admin/login")
    );
}
