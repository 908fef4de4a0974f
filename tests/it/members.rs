//! Admins manage their organization's people: invitations, roles, deactivation,
//! with the last admin protected and every change audited.

use reqwest::StatusCode;

use crate::common::{self, PASSWORD, TestApp, Visitor, assert_asks};

const MEMBERS: &str = "/t/acme/members";

async fn invite(admin: &Visitor, email: &str, role: &str) -> common::Page {
    admin
        .submit(
            MEMBERS,
            "/t/acme/members/invite",
            &[("email", email), ("role", role)],
        )
        .await
}

/// Invites someone and has them accept; returns them signed in.
async fn join(app: &TestApp, admin: &Visitor, email: &str, name: &str, role: &str) -> Visitor {
    let n = app.mails_about(email, "invited").len();
    let sent = invite(admin, email, role).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let link = app
        .wait_for_mail(email, "invited", n + 1)
        .await
        .link("/invitations/");
    let v = app.visitor();
    let joined = v
        .submit(&link, &link, &[("name", name), ("password", PASSWORD)])
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    assert_eq!(joined.location.as_deref(), Some("/t/acme/dashboard"));
    v
}

fn id_of(app: &TestApp, email: &str) -> String {
    app.query_strings(&format!(
        "SELECT id::text AS v FROM tenant_acme.users WHERE email = '{email}'"
    ))
    .pop()
    .expect("a member")
}

#[tokio::test]
async fn an_invited_person_joins_with_the_invited_role_and_the_link_works_once() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;

    let sent = invite(&admin, "sam@acme.test", "staff").await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let list = admin.get(sent.location.as_deref().unwrap()).await;
    assert!(list.body.contains("Invitation sent to sam@acme.test."));
    assert!(list.body.contains(r#"id="invitations""#));
    let mail = app.wait_for_mail("sam@acme.test", "invited", 1).await;
    assert!(mail.body.contains("as staff"), "{}", mail.body);
    let link = mail.link("/invitations/");

    let sam = app.visitor();
    let form = sam.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body
            .contains("You were invited as <strong>Staff</strong>")
    );
    let weak = sam
        .submit(
            &link,
            &link,
            &[("name", "Sam Lee"), ("password", "password")],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let joined = sam
        .submit(&link, &link, &[("name", "Sam Lee"), ("password", PASSWORD)])
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    let dash = sam.get("/t/acme/dashboard").await;
    assert!(
        dash.body.contains(r#"id="whoami-role">Staff"#),
        "{}",
        dash.body
    );
    assert!(
        !dash.body.contains("verify-banner"),
        "the invitation proved the address"
    );
    assert_eq!(sam.get(MEMBERS).await.status, StatusCode::FORBIDDEN);

    // Signing in later gives the same role.
    let again = app.visitor();
    assert_eq!(
        again.login("acme", "sam@acme.test", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(again.get("/t/acme/dashboard").await.body.contains("Staff"));

    // The link is used up; inviting a member again says they are one.
    let reused = app.visitor().get(&link).await;
    assert_eq!(reused.status, StatusCode::GONE);
    assert!(reused.body.contains("already been accepted"));
    let twice = invite(&admin, "sam@acme.test", "member").await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(twice.body.contains("sam@acme.test is already a member"));

    let audited = app.query_strings(
        "SELECT action || ' ' || coalesce(target, '') AS v FROM tenant_acme.audit_log \
         WHERE action LIKE 'invitation.%' ORDER BY id",
    );
    assert_eq!(
        audited,
        [
            "invitation.sent sam@acme.test",
            "invitation.accepted sam@acme.test"
        ]
    );
}

#[tokio::test]
async fn expired_withdrawn_and_replaced_invitation_links_fail_clearly() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;

    invite(&admin, "old@acme.test", "member").await;
    let old = app
        .wait_for_mail("old@acme.test", "invited", 1)
        .await
        .link("/invitations/");
    app.query_strings(
        "UPDATE tenant_acme.invitations SET expires_at = now() - interval '1 second' \
         WHERE email = 'old@acme.test' RETURNING id::text AS v",
    );
    let expired = app.visitor().get(&old).await;
    assert_eq!(expired.status, StatusCode::GONE);
    assert!(expired.body.contains("This invitation has expired"));
    let list = admin.get(MEMBERS).await;
    assert!(list.body.contains("Expired"));

    // Resending replaces the link: the old one stays dead, the new one works.
    let id = app
        .query_strings(
            "SELECT id::text AS v FROM tenant_acme.invitations WHERE email = 'old@acme.test'",
        )
        .pop()
        .unwrap();
    let resent = admin
        .submit(
            MEMBERS,
            &format!("/t/acme/members/invitations/{id}/resend"),
            &[],
        )
        .await;
    assert_eq!(resent.status, StatusCode::SEE_OTHER);
    let new = app
        .wait_for_mail("old@acme.test", "invited", 2)
        .await
        .link("/invitations/");
    let replaced = app.visitor().get(&old).await;
    assert_eq!(replaced.status, StatusCode::NOT_FOUND);
    assert!(replaced.body.contains("This link is not valid"));
    assert_eq!(app.visitor().get(&new).await.status, StatusCode::OK);

    // Withdrawing asks first, naming the invitation; asked, nothing has changed.
    let revoke = format!("/t/acme/members/invitations/{id}/revoke");
    let asked = admin.submit(MEMBERS, &revoke, &[]).await;
    assert_asks(&asked, &revoke, "withdraw the invitation for old@acme.test");
    assert!(
        asked
            .body
            .contains("The link in the invitation stops working")
    );
    assert_eq!(app.visitor().get(&new).await.status, StatusCode::OK);
    // Saying yes on that page: the link stops working at once.
    let revoked = admin.answer_yes(&asked, &revoke).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let page = app.visitor().get(&new).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.body.contains("withdrawn"));
    let post = app
        .visitor()
        .submit(
            "/t/acme/login",
            &new,
            &[("name", "Old"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(post.status, StatusCode::GONE);
    assert_eq!(
        app.visitor()
            .get("/t/acme/invitations/made-up")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(
        app.query_strings("SELECT email AS v FROM tenant_acme.users WHERE email = 'old@acme.test'")
            .is_empty()
    );

    // Bad input to the invite form gets a message.
    let bad = invite(&admin, "not-an-email", "member").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_role = invite(&admin, "x@acme.test", "owner").await;
    assert_eq!(bad_role.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_role_change_shows_on_the_next_request_and_deactivation_ends_the_session() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    let bob = join(&app, &admin, "bob@acme.test", "Bob Stone", "member").await;
    let bob_id = id_of(&app, "bob@acme.test");
    assert_eq!(bob.get(MEMBERS).await.status, StatusCode::FORBIDDEN);

    // Another person's role asks for a fresh confirmation (second_factor_policy.rs).
    common::factors::step_up(&admin, "acme", PASSWORD, None, MEMBERS).await;
    let promoted = admin
        .submit(
            MEMBERS,
            &format!("/t/acme/members/{bob_id}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER, "{}", promoted.body);
    // Bob's live session now carries the admin role.
    assert_eq!(bob.get(MEMBERS).await.status, StatusCode::OK);
    let demoted = admin
        .submit(
            MEMBERS,
            &format!("/t/acme/members/{bob_id}/role"),
            &[("role", "member")],
        )
        .await;
    assert_eq!(demoted.status, StatusCode::SEE_OTHER);
    assert_eq!(bob.get(MEMBERS).await.status, StatusCode::FORBIDDEN);

    let off = admin
        .submit(
            MEMBERS,
            &format!("/t/acme/members/{bob_id}/deactivate"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    let dash = bob.get("/t/acme/dashboard").await;
    assert_eq!(dash.status, StatusCode::SEE_OTHER);
    assert!(dash.location.unwrap().starts_with("/t/acme/login"));
    let refused = app.visitor().login("acme", "bob@acme.test", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let list = admin.get("/t/acme/members?status=deactivated").await;
    assert!(list.body.contains(r#"data-email="bob@acme.test""#));
    assert!(!list.body.contains(r#"data-email="ada@acme.test""#));

    let on = admin
        .submit(
            MEMBERS,
            &format!("/t/acme/members/{bob_id}/reactivate"),
            &[],
        )
        .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER);
    let back = app.visitor().login("acme", "bob@acme.test", PASSWORD).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);

    let audited = app.query_strings(
        "SELECT action AS v FROM tenant_acme.audit_log WHERE action LIKE 'member.%' ORDER BY id",
    );
    assert_eq!(
        audited,
        [
            "member.role_changed",
            "member.role_changed",
            "member.deactivated",
            "member.reactivated"
        ]
    );
    let details = app.query_strings(
        "SELECT details::text AS v FROM tenant_acme.audit_log \
         WHERE action = 'member.role_changed' ORDER BY id LIMIT 1",
    );
    assert!(details[0].contains(r#""to": "admin""#), "{details:?}");
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_and_self_changes_need_confirmation() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    let ada_id = id_of(&app, "ada@acme.test");
    let role_url = format!("/t/acme/members/{ada_id}/role");

    let ask = admin
        .submit(MEMBERS, &role_url, &[("role", "member")])
        .await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.body.contains("Please confirm"), "{}", ask.body);
    assert!(ask.body.contains("change your role to member"));
    let refused = admin
        .submit(
            MEMBERS,
            &role_url,
            &[("role", "member"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused.body.contains("only active admin"),
        "{}",
        refused.body
    );
    let deactivate = admin
        .submit(
            MEMBERS,
            &format!("/t/acme/members/{ada_id}/deactivate"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(deactivate.status, StatusCode::CONFLICT);
    assert_eq!(admin.get(MEMBERS).await.status, StatusCode::OK);

    // With a second admin, stepping down works once confirmed.
    join(&app, &admin, "bea@acme.test", "Bea Admin", "admin").await;
    let stepped = admin
        .submit(MEMBERS, &role_url, &[("role", "staff"), ("confirm", "yes")])
        .await;
    assert_eq!(stepped.status, StatusCode::SEE_OTHER, "{}", stepped.body);
    assert_eq!(admin.get(MEMBERS).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_admin_of_one_organization_cannot_touch_people_of_another() {
    let app = TestApp::spawn().await;
    let acme_admin = app.signup("Acme", "acme", "ada@acme.test").await;
    join(&app, &acme_admin, "bob@acme.test", "Bob", "member").await;
    let bob_id = id_of(&app, "bob@acme.test");
    let globex_admin = app.signup("Globex", "globex", "hank@globex.test").await;

    // Bob's id under Globex's address names nobody there.
    let other = globex_admin
        .submit(
            "/t/globex/members",
            &format!("/t/globex/members/{bob_id}/deactivate"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    // And Globex's session grants nothing at Acme's address.
    let cross = globex_admin
        .submit(
            "/t/globex/members",
            &format!("/t/acme/members/{bob_id}/deactivate"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(cross.status, StatusCode::SEE_OTHER);
    assert!(cross.location.unwrap().starts_with("/t/acme/login"));
    let status = app.query_strings(&format!(
        "SELECT status AS v FROM tenant_acme.users WHERE id = '{bob_id}'"
    ));
    assert_eq!(status, ["active"]);
    // A malformed id is simply not found.
    let junk = acme_admin
        .submit(MEMBERS, "/t/acme/members/not-a-uuid/deactivate", &[])
        .await;
    assert_eq!(junk.status, StatusCode::NOT_FOUND);
}

/// Every admin page and every admin change of the tenant `acme`, given an admin's id
/// and an open invitation's id.
fn admin_routes(ada: &str, inv: &str) -> AdminRoutes {
    let gets = vec![
        "/t/acme/members",
        "/t/acme/audit",
        "/t/acme/audit.csv",
        "/t/acme/settings",
        "/t/acme/security",
        "/t/acme/settings/export.json",
    ];
    let posts = vec![
        (
            "/t/acme/members/invite".to_string(),
            vec![("email", "x@acme.test"), ("role", "admin")],
        ),
        (
            format!("/t/acme/members/{ada}/role"),
            vec![("role", "member"), ("confirm", "yes")],
        ),
        (
            format!("/t/acme/members/{ada}/deactivate"),
            vec![("confirm", "yes")],
        ),
        (
            format!("/t/acme/members/{ada}/second-factors/reset"),
            vec![("confirm", "yes")],
        ),
        (format!("/t/acme/members/{ada}/reactivate"), vec![]),
        (format!("/t/acme/members/invitations/{inv}/resend"), vec![]),
        (
            format!("/t/acme/members/invitations/{inv}/revoke"),
            vec![("confirm", "yes")],
        ),
        (
            "/t/acme/settings".to_string(),
            vec![("registration", "open"), ("password_login", "on")],
        ),
        (
            "/t/acme/security/unlock".to_string(),
            vec![("email", "ada@acme.test")],
        ),
        (
            "/t/acme/settings/delete".to_string(),
            vec![("confirm_slug", "acme")],
        ),
    ];
    (gets, posts)
}

type AdminRoutes = (
    Vec<&'static str>,
    Vec<(String, Vec<(&'static str, &'static str)>)>,
);

#[tokio::test]
async fn every_admin_route_refuses_members_and_staff() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    let member = join(&app, &admin, "mo@acme.test", "Mo", "member").await;
    let staff = join(&app, &admin, "sue@acme.test", "Sue", "staff").await;
    invite(&admin, "pending@acme.test", "member").await;
    let ada = id_of(&app, "ada@acme.test");
    let inv = app
        .query_strings(
            "SELECT id::text AS v FROM tenant_acme.invitations WHERE accepted_at IS NULL",
        )
        .pop()
        .unwrap();

    let (gets, posts) = admin_routes(&ada, &inv);
    // Every route of the tenant scope is either open to every person or in the
    // lists above: a new admin route cannot be forgotten here.
    let everyone = [
        "",
        "/",
        "/login",
        "/logout",
        "/dashboard",
        "/login/second-factor",
        "/login/enroll",
        "/profile/confirm",
        "/profile/authenticator",
        "/profile/authenticator/remove",
        "/profile/recovery-codes",
        "/profile/recovery-codes/new",
        "/register",
        "/password/forgot",
        "/password/reset/{token}",
        "/verify-email/resend",
        "/verify-email/{token}",
        "/invitations/{token}",
        "/invitations/{token}/sso",
        "/profile",
        "/profile/name",
        "/profile/password",
        "/profile/sessions/end-others",
        "/profile/sessions/{sid}/end",
        "/profile/api-sessions/{id}/revoke",
        "/sso",
    ];
    let router = std::fs::read_to_string("src/web/mod.rs").expect("router source");
    let scope = router
        .split("fn tenant_routes(")
        .nth(1)
        .expect("tenant scope");
    let declared: Vec<&str> = scope
        .split("path(")
        .skip(1)
        .filter_map(|r| r.trim_start().strip_prefix('"')?.split('"').next())
        .collect();
    assert!(declared.len() > 20, "{declared:?}");
    let covered = |route: &str| {
        let pattern = route.replace("{id}", "").replace("{token}", "");
        gets.iter()
            .chain(
                posts
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .iter(),
            )
            .any(|p| {
                let p = p.trim_start_matches("/t/acme");
                let generic: String = p
                    .split('/')
                    .map(|seg| {
                        if seg.len() == 36 && seg.contains('-') {
                            ""
                        } else {
                            seg
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                generic == pattern
            })
    };
    for route in declared {
        assert!(
            everyone.contains(&route) || covered(route),
            "{route} is neither open to everyone nor checked for admins only"
        );
    }

    for (who, v) in [("member", &member), ("staff", &staff)] {
        for path in &gets {
            assert_eq!(
                v.get(path).await.status,
                StatusCode::FORBIDDEN,
                "{who} GET {path}"
            );
        }
        for (path, fields) in &posts {
            let page = v.submit("/t/acme/dashboard", path, fields).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{who} POST {path}");
        }
    }
    // Nothing changed.
    assert_eq!(
        app.query_strings(
            "SELECT role || ':' || status AS v FROM tenant_acme.users WHERE email = 'ada@acme.test'"
        ),
        ["admin:active"]
    );
    assert!(app.mails_to("x@acme.test").is_empty());
    assert_eq!(
        app.query_strings("SELECT registration AS v FROM tenant_acme.tenant_settings"),
        ["invite_only"]
    );
    assert_eq!(
        app.query_strings("SELECT status AS v FROM public.tenants WHERE slug = 'acme'"),
        ["active"]
    );
}

#[tokio::test]
async fn the_list_searches_filters_and_pages() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    app.query_strings(
        "INSERT INTO tenant_acme.users (email, name, role) \
         SELECT 'person' || lpad(i::text, 3, '0') || '@acme.test', 'Person ' || lpad(i::text, 3, '0'), \
                CASE WHEN i % 10 = 0 THEN 'staff' ELSE 'member' END \
         FROM generate_series(1, 120) i RETURNING email AS v",
    );
    let all = admin.get(MEMBERS).await;
    assert!(
        all.body.contains(r#"id="member-total">(121)"#),
        "{}",
        all.body
    );
    assert!(all.body.contains("Page 1 of 3"));
    let third = admin.get("/t/acme/members?page=3").await;
    assert_eq!(third.body.matches("data-email=").count(), 21);

    let search = admin.get("/t/acme/members?q=person05").await;
    assert_eq!(
        search.body.matches("data-email=").count(),
        10,
        "{}",
        search.body
    );
    let by_name = admin.get("/t/acme/members?q=PERSON%20120").await;
    assert_eq!(by_name.body.matches("data-email=").count(), 1);
    let staff = admin.get("/t/acme/members?role=staff").await;
    assert!(staff.body.contains(r#"id="member-total">(12)"#));
    let literal = admin.get("/t/acme/members?q=%25").await;
    assert!(literal.body.contains("Nobody matches."));
    let odd = admin
        .get("/t/acme/members?page=abc&role=owner&status=zzz")
        .await;
    assert_eq!(odd.status, StatusCode::OK);
}

#[tokio::test]
async fn an_admin_demoted_behind_their_session_can_no_longer_change_anything() {
    let app = TestApp::spawn().await;
    let ada_v = app.signup("Acme", "acme", "ada@acme.test").await;
    let bob = join(&app, &ada_v, "bob@acme.test", "Bob", "admin").await;
    join(&app, &ada_v, "mo@acme.test", "Mo", "member").await;
    invite(&ada_v, "pending@acme.test", "member").await;
    for _ in 0..5 {
        app.visitor()
            .login("acme", "locked@acme.test", "wrong")
            .await;
    }
    let ada = id_of(&app, "ada@acme.test");
    let inv = app
        .query_strings(
            "SELECT id::text AS v FROM tenant_acme.invitations WHERE accepted_at IS NULL",
        )
        .pop()
        .unwrap();
    // Bob is an admin: the pages open for him.
    assert_eq!(bob.get(MEMBERS).await.status, StatusCode::OK);

    // Demoted in the database only: his session still says admin (as when the
    // rewrite of live sessions in Redis is missed).
    app.query_strings(
        "UPDATE tenant_acme.users SET role = 'staff' WHERE email = 'bob@acme.test' RETURNING role AS v",
    );
    let state = || {
        app.query_strings(
            "SELECT (SELECT string_agg(email || ':' || role || ':' || status, ',' ORDER BY email) FROM tenant_acme.users) \
             || '|' || (SELECT string_agg(email || ':' || sent_count || ':' || (revoked_at IS NULL)::text, ',') FROM tenant_acme.invitations) \
             || '|' || (SELECT registration FROM tenant_acme.tenant_settings) \
             || '|' || (SELECT count(*) FROM tenant_acme.login_throttle WHERE locked_until > now()) \
             || '|' || (SELECT count(*) FROM tenant_acme.audit_log WHERE action NOT LIKE 'login.%') AS v",
        )
    };
    let before = state();
    let (gets, posts) = admin_routes(&ada, &inv);
    for path in &gets {
        assert_eq!(
            bob.get(path).await.status,
            StatusCode::FORBIDDEN,
            "GET {path}"
        );
    }
    for (path, fields) in &posts {
        let page = bob.submit("/t/acme/dashboard", path, fields).await;
        assert_eq!(
            page.status,
            StatusCode::FORBIDDEN,
            "POST {path}: {}",
            page.body
        );
    }
    assert_eq!(state(), before, "a refused admin change changed something");
    assert!(app.mails_to("x@acme.test").is_empty());
}

#[tokio::test]
async fn notices_come_from_what_was_done_never_from_the_address() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    let forged = "Your account is compromised: call 555-0100";
    let q: String = url::form_urlencoded::byte_serialize(forged.as_bytes()).collect();
    for page in [
        "/t/acme/members",
        "/t/acme/settings",
        "/t/acme/security",
        "/t/acme/profile",
        "/t/acme/dashboard",
    ] {
        for param in ["done", "saved", "unlocked", "notice", "message"] {
            let body = admin.get(&format!("{page}?{param}={q}")).await.body;
            assert!(
                !body.contains("compromised"),
                "{page}?{param}= shows the text"
            );
        }
    }
    // A real notice shows once, on the page the action returns to.
    let sent = invite(&admin, "sam@acme.test", "staff").await;
    assert_eq!(sent.location.as_deref(), Some(MEMBERS));
    let list = admin.get(MEMBERS).await;
    assert!(list.body.contains("Invitation sent to sam@acme.test."));
    let again = admin.get(MEMBERS).await;
    assert!(!again.body.contains("Invitation sent to sam@acme.test."));
}

/// Waits until some transaction of the test database waits for a row lock.
fn until_a_change_waits(url: &str) {
    use diesel::{Connection, PgConnection};
    let mut conn = PgConnection::establish(url).expect("connect");
    for _ in 0..500 {
        #[derive(diesel::QueryableByName)]
        struct Waiting {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let w: Waiting = diesel::RunQueryDsl::get_result(
            diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ),
            &mut conn,
        )
        .expect("pg_stat_activity");
        if w.n > 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the admin's change never waited for the held row");
}

#[tokio::test]
async fn an_admin_change_that_collides_with_another_is_refused_clearly_and_saves_nothing() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection};

    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    join(&app, &admin, "bob@acme.test", "Bob Stone", "member").await;
    let (ada_id, bob_id) = (id_of(&app, "ada@acme.test"), id_of(&app, "bob@acme.test"));
    common::factors::step_up(&admin, "acme", PASSWORD, None, MEMBERS).await;
    let role_url = format!("/t/acme/members/{bob_id}/role");

    // Another writer holds Bob's row and then wants Ada's, while Ada's change holds her
    // own row (the admin door locks it) and wants Bob's: they wait for each other, and
    // PostgreSQL rolls one of them back.
    let url = app.database_url.clone();
    let mut other = PgConnection::establish(&url).expect("connect");
    other
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM tenant_acme.users WHERE id = '{bob_id}' FOR UPDATE"
        ))
        .expect("hold Bob's row");
    let writer = tokio::task::spawn_blocking(move || {
        until_a_change_waits(&url);
        let done = other.batch_execute(&format!(
            "UPDATE tenant_acme.users SET name = 'Ada L.' WHERE id = '{ada_id}'"
        ));
        other.batch_execute("COMMIT").expect("commit");
        done
    });
    let change = admin.submit(MEMBERS, &role_url, &[("role", "admin")]).await;
    let writer = writer.await.expect("writer");

    assert_eq!(change.status, StatusCode::CONFLICT, "{}", change.body);
    assert!(
        change.body.contains("at the same moment") && change.body.contains("nothing"),
        "{}",
        change.body
    );
    assert!(writer.is_ok(), "the other change went through: {writer:?}");
    let role = |email: &str| {
        app.query_strings(&format!(
            "SELECT role AS v FROM tenant_acme.users WHERE email = '{email}'"
        ))
    };
    assert_eq!(
        role("bob@acme.test"),
        ["member"],
        "nothing of the refused change"
    );
    assert_eq!(
        app.query_strings(
            "SELECT count(*)::text AS v FROM tenant_acme.audit_log WHERE action = 'member.role_changed'"
        ),
        ["0"]
    );

    // Trying again, as the page says, works.
    let again = admin.submit(MEMBERS, &role_url, &[("role", "admin")]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(role("bob@acme.test"), ["admin"]);
}
