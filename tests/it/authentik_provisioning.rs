//! People and organizations reach Authentik through the outbox, exactly once, even
//! when Authentik is slow, down, or refuses the token.

use std::time::Duration;

use reqwest::StatusCode;
use tenant_portal::authentik::people;
use tenant_portal::domain::Role;

use crate::common::PASSWORD;
use crate::common::authentik_env::{
    TOKEN, app_with, db, outbox, person_id, tenant, undelivered, wait_delivered, wait_until,
};
use crate::common::fake_authentik::FakeAuthentik;

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

#[tokio::test]
async fn a_role_change_moves_the_person_between_groups() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let app = app_with(&fake, &[]).await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    wait_delivered(&app).await;

    let t = tenant(&app, "acme").await;
    let id = person_id(&app, "acme", "ada@acme.test");
    let user = people::change_role(&db(&app), &t, id, Role::Staff)
        .await
        .expect("role changed");
    assert_eq!(user.role, "staff");
    wait_delivered(&app).await;
    assert_eq!(fake.groups_of("ada@acme.test"), ["tenant-acme-staff"]);

    people::change_role(&db(&app), &t, id, Role::Member)
        .await
        .expect("role changed");
    wait_delivered(&app).await;
    assert_eq!(fake.groups_of("ada@acme.test"), ["tenant-acme-member"]);
    assert_eq!(fake.users_with_email("ada@acme.test").len(), 1);
}

#[tokio::test]
async fn deactivation_removes_the_groups_and_deactivates_only_when_no_other_tenant_has_them() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let app = app_with(&fake, &[]).await;
    // The same person runs two organizations: one Authentik user, two groups.
    app.signup("Acme", "acme", "ada@acme.test").await;
    app.signup("Beta", "beta", "ada@acme.test").await;
    wait_delivered(&app).await;
    assert_eq!(fake.users_with_email("ada@acme.test").len(), 1);
    assert_eq!(
        fake.groups_of("ada@acme.test"),
        ["tenant-acme-admin", "tenant-beta-admin"]
    );

    let acme = tenant(&app, "acme").await;
    let id = person_id(&app, "acme", "ada@acme.test");
    people::deactivate(&db(&app), &acme, id)
        .await
        .expect("deactivated");
    wait_delivered(&app).await;
    assert_eq!(fake.groups_of("ada@acme.test"), ["tenant-beta-admin"]);
    assert!(
        fake.users_with_email("ada@acme.test")[0].is_active,
        "still active: Beta has them"
    );

    let beta = tenant(&app, "beta").await;
    let id = person_id(&app, "beta", "ada@acme.test");
    people::deactivate(&db(&app), &beta, id)
        .await
        .expect("deactivated");
    wait_delivered(&app).await;
    assert!(fake.groups_of("ada@acme.test").is_empty());
    assert!(!fake.users_with_email("ada@acme.test")[0].is_active);

    // Reactivation puts them back, active.
    people::reactivate(&db(&app), &beta, id)
        .await
        .expect("reactivated");
    wait_delivered(&app).await;
    assert_eq!(fake.groups_of("ada@acme.test"), ["tenant-beta-admin"]);
    assert!(fake.users_with_email("ada@acme.test")[0].is_active);
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

#[tokio::test]
async fn a_removed_person_leaves_the_groups_and_is_deactivated() {
    let fake = FakeAuthentik::start(TOKEN).await;
    let app = app_with(&fake, &[]).await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    wait_delivered(&app).await;

    let t = tenant(&app, "acme").await;
    let id = person_id(&app, "acme", "ada@acme.test");
    db(&app)
        .tenant(&t.schema, move |conn| people::remove_in(conn, "acme", id))
        .await
        .expect("removed");
    wait_delivered(&app).await;
    assert!(fake.groups_of("ada@acme.test").is_empty());
    assert!(!fake.users_with_email("ada@acme.test")[0].is_active);
}
