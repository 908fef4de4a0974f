//! Admins read their organization's audit log: filtered, paged, exported as CSV.

use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp};

fn ids_on_page(html: &str) -> Vec<String> {
    html.split(r#"<li class="event" data-id=""#)
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn the_log_filters_and_its_csv_export_matches_the_page() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    let v = app.visitor();
    v.login("acme", "ada@acme.test", "Wrong-Password-99").await;
    v.login("acme", "ada@acme.test", PASSWORD).await;
    admin
        .submit(
            "/t/acme/members",
            "/t/acme/members/invite",
            &[("email", "sam@acme.test"), ("role", "staff")],
        )
        .await;

    let page = admin.get("/t/acme/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    for action in [
        "organization.created",
        "login.failed",
        "login.succeeded",
        "invitation.sent",
    ] {
        assert!(page.body.contains(action), "{action} missing");
    }
    // Newest first, with IP and client.
    let ids = ids_on_page(&page.body);
    let mut sorted = ids.clone();
    sorted.sort_by_key(|i| std::cmp::Reverse(i.parse::<i64>().unwrap()));
    assert_eq!(ids, sorted);
    assert!(page.body.contains("127.0.0.1"));

    // Filter by action family and actor.
    let logins = admin.get("/t/acme/audit?action=login").await;
    let login_ids = ids_on_page(&logins.body);
    assert_eq!(login_ids.len(), 2, "{}", logins.body);
    assert!(!logins.body.contains("<code>invitation.sent</code>"));
    assert!(logins.body.contains("<code>login.failed</code>"));
    let by_actor = admin
        .get("/t/acme/audit?action=invitation.sent&actor=ada@")
        .await;
    assert_eq!(ids_on_page(&by_actor.body).len(), 1);
    let future = admin.get("/t/acme/audit?from=2999-01-01").await;
    assert!(ids_on_page(&future.body).is_empty());
    let past = admin.get("/t/acme/audit?to=2000-01-01").await;
    assert!(ids_on_page(&past.body).is_empty());

    // The export of the same filter has the same rows in the same order.
    let csv = admin.get("/t/acme/audit.csv?action=login").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("audit-acme.csv")
    );
    let mut lines = csv.body.lines();
    assert_eq!(
        lines.next(),
        Some("id,occurred_at,actor,action,target,ip,user_agent,details")
    );
    let csv_ids: Vec<String> = lines
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    assert_eq!(csv_ids, login_ids);

    // Odd filters are ignored, not errors.
    let odd = admin.get("/t/acme/audit?from=yesterday&page=-4").await;
    assert_eq!(odd.status, StatusCode::OK);
}
