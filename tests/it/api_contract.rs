//! What the API's document promises about methods, media types and body sizes, and the
//! Sonicus sign-up, checked one by one as a client meets them (the schemathesis run
//! checks the rest); the pages answer wrong methods the same way, as HTML.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{PASSWORD, TestApp};

async fn send(req: reqwest::RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let res = req.send().await.expect("request");
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.text().await.unwrap_or_default())
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn error_type(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    v["error"]["type"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_method_a_path_does_not_offer_is_405_with_allow_and_head_works_like_get() {
    let app = TestApp::spawn().await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let http = reqwest::Client::new();
    let at = |p: &str| format!("{}{p}", app.address);
    let trace = Method::from_bytes(b"TRACE").unwrap();

    for (method, path, allow) in [
        (trace.clone(), "/api/v1/me", "GET, HEAD"),
        (Method::POST, "/api/v1/me", "GET, HEAD"),
        (trace.clone(), "/api/v1/auth/jwks/refresh", "POST"),
        (Method::GET, "/api/v1/users", "POST"),
        (Method::DELETE, "/api/v1/tenants/acme/members", "GET, HEAD"),
    ] {
        let (status, headers, body) = send(http.request(method.clone(), at(path))).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(header(&headers, "allow"), allow, "{method} {path}");
        assert_eq!(header(&headers, "content-type"), "application/json");
        assert_eq!(error_type(&body), "MethodNotAllowed", "{body}");
    }
    for (method, path, allow) in [
        (trace.clone(), "/t/acme/login", "GET, HEAD, POST"),
        // (An unsafe method without a CSRF token is refused before routing: 403.)
        (Method::OPTIONS, "/signup", "GET, HEAD, POST"),
        (trace, "/health/live", "GET, HEAD"),
        (Method::GET, "/t/acme/verify-email/resend", "POST"),
    ] {
        let (status, headers, body) = send(http.request(method.clone(), at(path))).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(header(&headers, "allow"), allow, "{method} {path}");
        assert!(header(&headers, "content-type").starts_with("text/html"));
        assert!(body.contains("Method not allowed"), "{body}");
    }

    // HEAD answers as GET does, without the body.
    let (status, headers, body) = send(http.head(at("/t/acme/login"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(header(&headers, "content-type").starts_with("text/html"));
    assert!(body.is_empty());
    assert_eq!(
        send(http.head(at("/api/v1/me"))).await.0,
        StatusCode::UNAUTHORIZED
    );
    // An address that does not exist is still 404.
    assert_eq!(
        send(http.get(at("/api/v1/nothing"))).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bodies_get_415_413_400_and_422_in_the_api_shape() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/auth/token/refresh", app.address);

    let (status, headers, body) = send(http.post(&url).body("refresh_token=x")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(header(&headers, "accept-post"), "application/json");
    assert_eq!(error_type(&body), "UnsupportedMediaType");
    assert!(body.contains("application/json"), "{body}");
    let (status, ..) = send(
        http.post(&url)
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let big = json!({ "refresh_token": "x".repeat(70_000) });
    let (status, _, body) = send(http.post(&url).json(&big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_type(&body), "PayloadTooLarge");

    let (status, _, body) = send(
        http.post(&url)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_type(&body), "BadRequest");

    let (status, _, body) = send(http.post(&url).json(&json!({ "refresh_token": 5 }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_type(&body), "ValidationError");
}

#[tokio::test]
async fn the_sonicus_guide_signs_up_with_technology_and_the_document_says_what_is_required() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/users", app.address);
    let sonicus = json!({ "email": "ops@sonicus.test", "password": PASSWORD,
        "company_name": "Sonicus", "business_type": "technology", "country": "US" });
    let (status, headers, body) = send(http.post(&url).json(&sonicus)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(header(&headers, "location"), "/t/sonicus/dashboard");
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(created["organization"]["business_type"], "software");
    assert_eq!(created["organization"]["slug"], "sonicus");
    assert_eq!(created["user"]["name"], "ops");

    // `{}` is refused, and so it is by the document: the five fields are required.
    let (status, _, body) = send(http.post(&url).json(&json!({}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let doc: Value = http
        .get(format!("{}/api/v1/openapi.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schema = &doc["components"]["schemas"]["NewOrganization"];
    assert_eq!(
        schema["required"],
        json!([
            "email",
            "password",
            "company_name",
            "business_type",
            "country"
        ])
    );
    let types = schema["properties"]["business_type"]["enum"]
        .as_array()
        .unwrap();
    assert!(types.contains(&json!("technology")) && types.contains(&json!("software")));
    assert_eq!(
        schema["properties"]["country"]["enum"]
            .as_array()
            .unwrap()
            .len(),
        249
    );
    assert_eq!(schema["properties"]["email"]["format"], "email");
    assert_eq!(schema["properties"]["password"]["minLength"], 10);
    // Every operation documents the answers every operation can give.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let mut expected = vec!["429", "503"];
            if op.get("requestBody").is_some() {
                expected.extend(["400", "413", "415", "422"]);
            }
            if op.get("security").is_some() {
                expected.push("401");
            }
            for status in expected {
                assert!(responses.contains_key(status), "{method} {path}: {status}");
            }
        }
    }
    assert!(
        doc["components"]["securitySchemes"]["bearer"]["description"]
            .as_str()
            .unwrap()
            .contains("/api/v1/auth/token/exchange")
    );
}
