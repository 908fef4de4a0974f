//! Text with a NUL character cannot be stored in PostgreSQL: wherever it comes from
//! outside (an address, a form, a JSON body, a provider's token), the portal refuses
//! it with a clear 4xx and stores nothing, never a 500.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestApp;
use crate::common::keys::{KeyServer, TestKey};

const ISSUER: &str = "http://127.0.0.1:9/application/o/tenant-portal/";
const CLIENT: &str = "tenant-portal-client";

#[tokio::test]
async fn nul_in_addresses_forms_and_json_is_refused_with_a_4xx() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme", "acme", "ada@acme.test").await;
    for path in [
        "/t/acme/members?q=a%00b",
        "/t/acme/audit?actor=a%00",
        "/t/acme/audit?action=%00",
        "/t/acme/audit.csv?actor=%00",
    ] {
        let page = admin.get(path).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(page.body.contains("NUL character"), "{path}: {}", page.body);
    }
    let invite = admin
        .submit(
            "/t/acme/members",
            "/t/acme/members/invite",
            &[("email", "x\0@acme.test"), ("role", "member")],
        )
        .await;
    assert_eq!(invite.status, StatusCode::BAD_REQUEST, "{}", invite.body);

    let http = reqwest::Client::new();
    let api = http
        .get(format!(
            "{}/api/v1/tenants/acme/members?q=a%00b",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["error"]["type"], "BadRequest", "{body}");

    let signup = http
        .post(format!("{}/api/v1/users", app.address))
        .json(&json!({ "email": "nul@example.test", "password": "Correct-Horse-Battery-9142",
                       "company_name": "Nul\u{0}Corp", "business_type": "software", "country": "DE" }))
        .send()
        .await
        .unwrap();
    // The sign-up API checks each field as its document says: no control characters.
    assert_eq!(signup.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.query_strings("SELECT count(*)::text AS v FROM public.tenants"),
        ["1"],
        "nothing was created"
    );
}

#[tokio::test]
async fn a_provider_token_whose_claims_hold_nul_is_refused_without_an_account() {
    let key = TestKey::new("ak-key-1");
    let keys = KeyServer::start(&[&key]).await;
    let app = TestApp::spawn_with(&[
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", CLIENT),
        ("AUTHENTIK_PUBLIC_KEY_URL", keys.url.as_str()),
    ])
    .await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let token = key.sign(&json!({ "iss": ISSUER, "aud": CLIENT, "sub": "ak-\u{0}sam",
        "iat": now, "exp": now + 300, "email": "sam\u{0}@acme.test", "email_verified": true,
        "name": "Sam", "groups": ["tenant-acme-staff"] }));
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/token/exchange", app.address))
        .json(&json!({ "authentik_token": token, "tenant_id": "acme" }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("NUL character"),
        "{body}"
    );
    assert_eq!(
        app.query_strings("SELECT count(*)::text AS v FROM tenant_acme.users"),
        ["1"]
    );
}
