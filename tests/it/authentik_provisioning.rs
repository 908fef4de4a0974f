//! People and organizations reach Authentik through the outbox, exactly once, even
//! when Authentik is slow, down, or refuses the token.

use std::time::Duration;

use reqwest::StatusCode;

use crate::common::authentik_env::{
    TOKEN, app_with, outbox, person_id, undelivered, wait_delivered, wait_until,
};
use crate::common::fake_authentik::FakeAuthentik;
use crate::common::{PASSWORD, Page, TestApp, Visitor};

const GROUPS: [&str; 3] = [
    "tenant-acme-admin",
    "tenant-acme-member",
    "tenant-acme-staff",
];

#[tokio::test]
async fn signup_creates_the_user_and_the_three_groups_and_links_them() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let app = app_with(&fake, &[]).await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    wait_delivered(&app).await;

    let mut names: Vec<String> = fake.groups().into_iter().map(|g| g.name).collect();
    names.sort();
    assert_eq!(names, GROUPS);
    let users = fake.users_with_email("ada@acme.test");
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].username, "ada@acme.test");
    assert!(users[0].is_active);
    assert_eq!(fake.groups_of("ada@acme.test"), ["tenant-acme-admin"]);

    // The person is linked to the Authentik user by pk and uuid.
    let link = app.query_strings(
        "SELECT authentik_pk::text || '|' || authentik_uuid::text AS v FROM tenant_acme.users",
    );
    assert_eq!(link, [format!("{}|{}", users[0].pk, users[0].uuid)]);
    assert_eq!(
        outbox(&app),
        ["done|tenant_created|1", "done|person_changed|1"]
    );
}

/// An organization's admin, signed in, at work on its members page.
pub(crate) struct Admin<'a> {
    app: &'a TestApp,
    slug: &'a str,
    pub(crate) visitor: Visitor,
}

impl<'a> Admin<'a> {
    /// Signs up the organization `slug` with `email` as its admin.
    pub(crate) async fn signup(
        app: &'a TestApp,
        company: &str,
        slug: &'a str,
        email: &str,
    ) -> Admin<'a> {
        let visitor = app.signup(company, slug, email).await;
        Admin { app, slug, visitor }
    }

    /// Invites `email` as `role` and has them accept the invitation.
    pub(crate) async fn add(&self, email: &str, role: &str) {
        let n = self.app.mails_about(email, "invited").len();
        let invite = format!("/t/{}/members/invite", self.slug);
        let sent = self
            .submit(&invite, &[("email", email), ("role", role)])
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        let mail = self.app.wait_for_mail(email, "invited", n + 1).await;
        let link = mail.link("/invitations/");
        let fields = [("name", "Bob Stone"), ("password", PASSWORD)];
        let joined = self.app.visitor().submit(&link, &link, &fields).await;
        assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    }

    /// Posts a form of the members page.
    async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let members = format!("/t/{}/members", self.slug);
        self.visitor.submit(&members, path, fields).await
    }

    /// Asks for a change to a member: `action` is `role`, `deactivate` or `reactivate`.
    async fn change(&self, email: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let id = person_id(self.app, self.slug, email);
        let path = format!("/t/{}/members/{id}/{action}", self.slug);
        if action == "role" {
            // Another person's role asks for a fresh confirmation first.
            let members = format!("/t/{}/members", self.slug);
            crate::common::factors::step_up(&self.visitor, self.slug, PASSWORD, None, &members)
                .await;
        }
        self.submit(&path, fields).await
    }

    /// Like [`Admin::change`], and the change must be done.
    async fn changed(&self, email: &str, action: &str, fields: &[(&str, &str)]) {
        let page = self.change(email, action, fields).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let members = format!("/t/{}/members", self.slug);
        let back = page.location.unwrap_or_default();
        assert!(back.starts_with(&members), "{back}");
    }
}

/// Each outbox row as `status|tenant|reason|attempts`, oldest first.
fn deliveries(app: &TestApp) -> Vec<String> {
    app.query_strings(
        "SELECT status || '|' || tenant_slug || '|' || coalesce(payload->>'reason', kind) \
         || '|' || attempts AS v FROM public.authentik_outbox ORDER BY id",
    )
}

#[tokio::test]
async fn a_role_change_moves_the_person_between_groups() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let app = app_with(&fake, &[]).await;
    let ada = Admin::signup(&app, "Acme", "acme", "ada@acme.test").await;
    ada.add("bob@acme.test", "member").await;
    wait_delivered(&app).await;
    assert_eq!(fake.groups_of("bob@acme.test"), ["tenant-acme-member"]);

    ada.changed("bob@acme.test", "role", &[("role", "staff")])
        .await;
    wait_delivered(&app).await;
    assert_eq!(fake.groups_of("bob@acme.test"), ["tenant-acme-staff"]);

    ada.changed("bob@acme.test", "role", &[("role", "admin")])
        .await;
    wait_delivered(&app).await;
    assert_eq!(fake.groups_of("bob@acme.test"), ["tenant-acme-admin"]);

    // Ada hands over: a change to herself waits for her confirmation, and only then
    // reaches Authentik.
    let ask = ada
        .change("ada@acme.test", "role", &[("role", "member")])
        .await;
    assert_eq!(ask.status, StatusCode::OK, "{}", ask.body);
    assert!(
        ask.body.contains("change your role to member"),
        "{}",
        ask.body
    );
    assert_eq!(
        deliveries(&app).len(),
        5,
        "nothing queued before confirming"
    );
    let confirmed = [("role", "member"), ("confirm", "yes")];
    ada.changed("ada@acme.test", "role", &confirmed).await;
    wait_delivered(&app).await;
    assert_eq!(fake.groups_of("ada@acme.test"), ["tenant-acme-member"]);
    assert_eq!(fake.groups_of("bob@acme.test"), ["tenant-acme-admin"]);

    // One Authentik user each; every change reached Authentik once, at the first try.
    assert_eq!(fake.users_with_email("ada@acme.test").len(), 1);
    assert_eq!(fake.users_with_email("bob@acme.test").len(), 1);
    assert_eq!(fake.user_creations(), 2);
    assert_eq!(
        deliveries(&app),
        [
            "done|acme|tenant_created|1",
            "done|acme|created|1",
            "done|acme|created|1",
            "done|acme|role_changed|1",
            "done|acme|role_changed|1",
            "done|acme|role_changed|1",
        ]
    );
}

#[tokio::test]
async fn deactivation_removes_the_groups_and_deactivates_only_when_no_other_tenant_has_them() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let app = app_with(&fake, &[]).await;
    // Bob belongs to two organizations: one Authentik user, in a group of each.
    let ada = Admin::signup(&app, "Acme", "acme", "ada@acme.test").await;
    let cy = Admin::signup(&app, "Beta", "beta", "cy@beta.test").await;
    ada.add("bob@example.test", "member").await;
    cy.add("bob@example.test", "staff").await;
    wait_delivered(&app).await;
    assert_eq!(fake.users_with_email("bob@example.test").len(), 1);
    assert_eq!(
        fake.groups_of("bob@example.test"),
        ["tenant-acme-member", "tenant-beta-staff"]
    );

    ada.changed("bob@example.test", "deactivate", &[("confirm", "yes")])
        .await;
    wait_delivered(&app).await;
    assert_eq!(fake.groups_of("bob@example.test"), ["tenant-beta-staff"]);
    assert!(
        fake.users_with_email("bob@example.test")[0].is_active,
        "still active: Beta has them"
    );

    cy.changed("bob@example.test", "deactivate", &[("confirm", "yes")])
        .await;
    wait_delivered(&app).await;
    assert!(fake.groups_of("bob@example.test").is_empty());
    assert!(!fake.users_with_email("bob@example.test")[0].is_active);

    // Reactivation puts them back, active, in the group of their role.
    cy.changed("bob@example.test", "reactivate", &[]).await;
    wait_delivered(&app).await;
    assert_eq!(fake.groups_of("bob@example.test"), ["tenant-beta-staff"]);
    assert!(fake.users_with_email("bob@example.test")[0].is_active);

    // Still one Authentik user for Bob; every change reached Authentik once, at the
    // first try.
    assert_eq!(fake.users_with_email("bob@example.test").len(), 1);
    assert_eq!(fake.user_creations(), 3);
    assert_eq!(
        deliveries(&app),
        [
            "done|acme|tenant_created|1",
            "done|acme|created|1",
            "done|beta|tenant_created|1",
            "done|beta|created|1",
            "done|acme|created|1",
            "done|beta|created|1",
            "done|acme|deactivated|1",
            "done|beta|deactivated|1",
            "done|beta|reactivated|1",
        ]
    );
}

#[tokio::test]
async fn a_retry_after_a_timeout_creates_no_duplicate() {
    let fake = FakeAuthentik::start(TOKEN).await;
    // The user is created, but the answer comes after the client gave up.
    fake.slow_user_creation(1, Duration::from_millis(1500));
    let app = app_with(&fake, &[("AUTHENTIK_TIMEOUT_MS", "300")]).await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    wait_delivered(&app).await;

    assert_eq!(fake.users_with_email("ada@acme.test").len(), 1);
    assert_eq!(fake.user_creations(), 1, "the retry found the user");
    assert_eq!(fake.groups_of("ada@acme.test"), ["tenant-acme-admin"]);
    let person_row = outbox(&app).pop().unwrap();
    assert!(
        person_row.starts_with("done|person_changed|"),
        "{person_row}"
    );
}

async fn api_signup(http: &reqwest::Client, address: &str, i: usize) -> StatusCode {
    http.post(format!("{address}/api/v1/users"))
        .json(&serde_json::json!({
            "email": format!("owner{i}@org{i}.test"),
            "password": PASSWORD,
            "company_name": format!("Org {i}"),
            "business_type": "software",
            "country": "DE",
            "slug": format!("org{i}"),
        }))
        .send()
        .await
        .expect("POST")
        .status()
}

#[tokio::test]
async fn with_authentik_down_50_signups_succeed_and_all_arrive_when_it_returns() {
    let fake = FakeAuthentik::start(TOKEN).await;
    // One client signs up 50 times: the sign-up burst limit is not what this tests.
    let app = app_with(&fake, &[("RATE_LIMIT_ENABLED", "false")]).await;
    fake.stop().await;

    let http = reqwest::Client::new();
    for i in 0..50 {
        assert_eq!(
            api_signup(&http, &app.address, i).await,
            StatusCode::CREATED
        );
    }

    // Sign-in with a password works as before.
    let v = app.visitor();
    let page = v.login("org3", "owner3@org3.test", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    // Readiness holds; Authentik is reported degraded with the backlog.
    let ready = v.get("/health/ready").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    let body: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(
        body["components"]["authentik"]["status"], "degraded",
        "{body}"
    );
    assert!(
        body["components"]["authentik"]["outbox"]["pending"]
            .as_i64()
            .unwrap()
            >= 50
    );

    // The admin's dashboard shows the pending changes.
    let dash = v.get("/t/org3/dashboard").await;
    assert!(
        dash.body.contains("id=\"authentik-pending\">2<"),
        "{}",
        dash.body
    );
    assert_eq!(fake.requests(), 0);

    fake.resume().await;
    wait_until("all 50 people in Authentik", 60, || {
        fake.users().len() == 50
    })
    .await;
    wait_until("the outbox to drain", 30, || undelivered(&app) == 0).await;
    assert_eq!(fake.groups().len(), 150);
    for i in [0, 17, 49] {
        assert_eq!(
            fake.groups_of(&format!("owner{i}@org{i}.test")),
            [format!("tenant-org{i}-admin")]
        );
    }
    let ready = v.get("/health/ready").await;
    let body: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(body["components"]["authentik"]["status"], "up", "{body}");
    let dash = v.get("/t/org3/dashboard").await;
    assert!(
        dash.body.contains("id=\"authentik-in-sync\""),
        "{}",
        dash.body
    );
}

#[tokio::test]
async fn a_refused_token_is_reported_clearly_and_not_retried_forever() {
    let fake = FakeAuthentik::start("the-real-token").await;
    let app = app_with(&fake, &[("AUTHENTIK_OUTBOX_MAX_ATTEMPTS", "3")]).await;
    app.signup("Acme", "acme", "ada@acme.test").await;

    wait_until("both rows to fail", 30, || {
        outbox(&app) == ["failed|tenant_created|3", "failed|person_changed|3"]
    })
    .await;
    let errors = app.query_strings("SELECT last_error AS v FROM public.authentik_outbox");
    for e in &errors {
        assert!(e.contains("401") && e.contains("AUTHENTIK_TOKEN"), "{e}");
        assert!(!e.contains(TOKEN), "the token leaked: {e}");
    }
    // A 401 is never retried within a call: one request per attempt, then silence.
    let seen = fake.requests();
    assert!(seen <= 6 + 2, "{seen} requests");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let probes = fake.requests() - seen;
    assert!(probes <= 1, "still retrying: {probes} more requests");
    assert!(fake.users().is_empty());

    let ready = app.visitor().get("/health/ready").await;
    assert_eq!(ready.status, StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    let a = &body["components"]["authentik"];
    assert_eq!(a["status"], "degraded");
    assert!(
        a["error"].as_str().unwrap().contains("AUTHENTIK_TOKEN"),
        "{a}"
    );
    assert_eq!(a["outbox"]["failed"], 2);
}

#[tokio::test]
async fn a_self_registered_member_joins_the_member_group_and_only_admins_see_the_sync_state() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let app = app_with(&fake, &[]).await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    let page = admin
        .submit(
            "/t/acme/settings",
            "/t/acme/settings",
            &[
                ("registration", "open"),
                ("allowed_domains", ""),
                ("password_login", "on"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    let bob = app.visitor();
    let page = bob
        .submit(
            "/t/acme/register",
            "/t/acme/register",
            &[
                ("name", "Bob Stone"),
                ("email", "bob@elsewhere.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    wait_delivered(&app).await;
    assert_eq!(fake.groups_of("bob@elsewhere.test"), ["tenant-acme-member"]);
    assert_eq!(fake.groups_of("ada@acme.test"), ["tenant-acme-admin"]);

    let dash = admin.get("/t/acme/dashboard").await;
    assert!(
        dash.body.contains("id=\"authentik-in-sync\""),
        "{}",
        dash.body
    );
    let dash = bob.get("/t/acme/dashboard").await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(
        !dash.body.contains("authentik-"),
        "members see no sync state"
    );
}
