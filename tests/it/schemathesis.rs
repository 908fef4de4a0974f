//! The JSON API keeps the promises of its OpenAPI document: schemathesis, a client that
//! knows nothing but `/api/v1/openapi.json`, runs every check against the real portal,
//! the bearer-protected operations included (with an access token obtained through
//! the exchange with the test OpenID Provider). `scripts/test` installs the pinned
//! schemathesis and sets `SCHEMATHESIS` to its `st` command.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::sso_support::{SLUG, portal_with_provider};

/// The release whose command-line flags this run uses (`scripts/lib.sh` installs it).
const VERSION: &str = "4.32.5";
/// A fixed seed: the same cases every run.
const SEED: &str = "20261202";
/// Cases per operation and phase: enough to reach every status, short enough for CI.
const MAX_EXAMPLES: &str = "25";

/// The `st` command: `SCHEMATHESIS`, or `schemathesis` on the `PATH`, at [`VERSION`].
fn schemathesis() -> String {
    let st = std::env::var("SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into());
    let out = std::process::Command::new(&st)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "schemathesis is not installed ({st}: {e}): run scripts/test, which installs \
                 schemathesis {VERSION} and sets SCHEMATHESIS to its `st` command"
            )
        });
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(
        version.contains(VERSION),
        "{st} is schemathesis {}, this run is written for {VERSION}: run scripts/test, which \
         installs it",
        version.trim()
    );
    st
}

fn hooks() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis/hooks.py")
}

async fn me(http: &reqwest::Client, address: &str, token: &str) -> StatusCode {
    http.get(format!("{address}/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /api/v1/me")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_keeps_the_promises_of_the_document() {
    let st = schemathesis();
    // Limits high enough that the run explores the API rather than the limiter.
    let (app, op) = portal_with_provider(&[
        ("RATE_LIMIT_TOKEN_PER_MINUTE", "60000"),
        ("RATE_LIMIT_SIGNUP_PER_HOUR", "1000000"),
    ])
    .await;
    let http = reqwest::Client::new();
    // A platform admin who is also the organization's admin may call every operation.
    let exchanged: Value = http
        .post(format!("{}/api/v1/auth/token/exchange", app.address))
        .json(&json!({ "authentik_token": op.jwt_of("root").await, "tenant_id": SLUG }))
        .send()
        .await
        .expect("exchange")
        .json()
        .await
        .expect("tokens");
    let token = exchanged["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {exchanged}"))
        .to_string();
    assert_eq!(me(&http, &app.address, &token).await, StatusCode::OK);

    let started = Instant::now();
    let work = tempfile_dir();
    let out = tokio::process::Command::new(&st)
        .current_dir(&work)
        .env("SCHEMATHESIS_HOOKS", hooks())
        .args(["run", &format!("{}/api/v1/openapi.json", app.address)])
        .args(["--checks", "all"])
        .args(["--seed", SEED, "--max-examples", MAX_EXAMPLES])
        // The same cases whatever an earlier run found.
        .args(["--generation-database", "none", "--workers", "2"])
        .args(["--request-timeout", "10", "--no-color"])
        .args(["--report", "har", "--report-har-path"])
        .arg(work.join("run.har"))
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .output()
        .await
        .expect("schemathesis runs");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found failures ({}):\n{report}",
        out.status
    );
    println!("{report}");
    println!("schemathesis ran in {:.1?}", started.elapsed());
    assert!(report.contains("No issues found"), "{report}");
    let answers = answers(&work.join("run.har"));
    let _ = std::fs::remove_dir_all(&work);
    // Every operation was tried, and each that a generated request can succeed at
    // (all but the two that need a real Authentik or refresh token) succeeded.
    for (op, must_succeed) in [
        ("POST /api/v1/users", true),
        ("POST /api/v1/auth/token/exchange", false),
        ("POST /api/v1/auth/token/refresh", false),
        ("POST /api/v1/auth/token/revoke", true),
        ("POST /api/v1/auth/jwks/refresh", true),
        ("GET /api/v1/me", true),
        ("GET /api/v1/tenants/{slug}/members", true),
    ] {
        let statuses = answers
            .get(op)
            .unwrap_or_else(|| panic!("{op} was not tried"));
        assert!(
            !must_succeed || statuses.iter().any(|s| (200..300).contains(s)),
            "{op} never succeeded: {statuses:?}"
        );
    }
    // The token worked for the whole run: the authenticated operations were tested as
    // such, not only as 401s.
    assert_eq!(me(&http, &app.address, &token).await, StatusCode::OK);
}

/// The statuses each operation answered, from the run's HAR record.
fn answers(har: &std::path::Path) -> HashMap<String, Vec<u16>> {
    let text = std::fs::read_to_string(har).expect("the run's HAR record");
    let har: Value = serde_json::from_str(&text).expect("HAR is JSON");
    let mut answers: HashMap<String, Vec<u16>> = HashMap::new();
    for entry in har["log"]["entries"].as_array().expect("HAR entries") {
        let url = entry["request"]["url"].as_str().unwrap_or_default();
        let path = url::Url::parse(url)
            .map(|u| u.path().to_string())
            .unwrap_or_default();
        let path = match path.strip_prefix("/api/v1/tenants/") {
            Some(rest) if rest.ends_with("/members") => "/api/v1/tenants/{slug}/members".into(),
            _ => path,
        };
        let method = entry["request"]["method"].as_str().unwrap_or_default();
        let status = entry["response"]["status"].as_u64().unwrap_or_default() as u16;
        answers
            .entry(format!("{method} {path}"))
            .or_default()
            .push(status);
    }
    answers
}

/// A folder of its own for schemathesis's working files.
fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tp-schemathesis-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a working folder");
    dir
}
