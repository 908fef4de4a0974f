//! `POST /api/v1/users`: an organization and its admin, registered over JSON.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{PASSWORD, TestApp};

fn body(email: &str, slug: &str) -> Value {
    json!({
        "email": email,
        "password": PASSWORD,
        "company_name": "Acme Labs",
        "business_type": "software",
        "country": "DE",
        "slug": slug,
    })
}

async fn post(app: &TestApp, body: &Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/users", app.address))
        .json(body)
        .send()
        .await
        .expect("POST");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn registers_an_organization_and_its_admin_through_the_signup_service() {
    let app = TestApp::spawn().await;
    let (status, json) = post(&app, &body("Ada@Acme.test", "acme-labs")).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    assert_eq!(json["user"]["email"], "ada@acme.test");
    assert_eq!(json["user"]["role"], "admin");
    assert_eq!(
        json["user"]["name"], "Ada",
        "the name defaults to the address"
    );
    assert_eq!(json["organization"]["slug"], "acme-labs");
    assert_eq!(json["organization"]["country"], "DE");
    assert!(json["user"].get("password_hash").is_none());

    // Same rows as the sign-up page. Authentik provisioning is off here, so nothing
    // waits in its outbox (authentik_provisioning covers this API with it on).
    let people = app.query_strings("SELECT email || '|' || role AS v FROM tenant_acme_labs.users");
    assert_eq!(people, ["ada@acme.test|admin"]);
    let queued = app.query_strings("SELECT kind AS v FROM public.authentik_outbox ORDER BY id");
    assert!(queued.is_empty(), "{queued:?}");

    // The admin can sign in with the password.
    let page = app
        .visitor()
        .login("acme-labs", "ada@acme.test", PASSWORD)
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

#[tokio::test]
async fn a_taken_address_is_409_and_bad_input_is_422_with_field_errors() {
    let app = TestApp::spawn().await;
    assert_eq!(
        post(&app, &body("a@acme.test", "acme")).await.0,
        StatusCode::CREATED
    );

    let (status, json) = post(&app, &body("b@acme.test", "acme")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{json}");
    assert_eq!(json["error"]["type"], "Conflict", "{json}");
    assert!(json["error"]["message"].as_str().unwrap().contains("acme"));

    let (status, json) = post(
        &app,
        &json!({ "email": "not-an-email", "password": "short", "company_name": "", "business_type": "nope", "country": "XX" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{json}");
    let fields = json["error"]["fields"].as_object().expect("field errors");
    for f in [
        "email",
        "password",
        "company_name",
        "business_type",
        "country",
    ] {
        assert!(fields.contains_key(f), "{f} missing in {json}");
    }

    // Malformed JSON is a 400 in the API's error shape.
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/users", app.address))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let json: Value = res.json().await.unwrap();
    assert!(json["error"]["message"].is_string(), "{json}");
}

#[tokio::test]
async fn a_cross_site_form_cannot_use_the_api_and_no_session_or_csrf_is_needed_for_json() {
    let app = TestApp::spawn().await;
    // A form post (what another site could send) is refused and creates nothing.
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/users", app.address))
        .form(&[
            ("email", "eve@evil.test"),
            ("password", PASSWORD),
            ("company_name", "Evil"),
            ("business_type", "software"),
            ("country", "DE"),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert!(res.headers().get("set-cookie").is_none());
    assert!(
        app.query_strings("SELECT slug AS v FROM public.tenants")
            .is_empty()
    );

    // JSON needs neither a session nor a CSRF token, and sets no cookie.
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/users", app.address))
        .json(&body("ada@acme.test", "acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.headers().get("set-cookie").is_none());

    // Unknown API paths answer JSON.
    let res = reqwest::get(format!("{}/api/v1/nothing", app.address))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let json: Value = res.json().await.unwrap();
    assert_eq!(json["error"]["type"], "NotFound");
}

#[tokio::test]
async fn registrations_are_rate_limited_per_client() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_SIGNUP_PER_HOUR", "2")]).await;
    assert_eq!(
        post(&app, &body("a@a.test", "org-a")).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        post(&app, &body("b@b.test", "org-b")).await.0,
        StatusCode::CREATED
    );
    let (status, json) = post(&app, &body("c@c.test", "org-c")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{json}");
    assert_eq!(json["error"]["type"], "RateLimited", "{json}");
}
