//! The token API: Authentik tokens exchanged for the portal's own (checked against an
//! in-process key server), refresh rotation with reuse detection, revocation, the
//! bearer-protected endpoints, and the portal's published keys checked by an
//! independent JWT library.

use std::collections::HashMap;

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tenant_portal::auth::signing::SigningKeys;

use crate::common::keys::{KeyServer, TestKey};
use crate::common::{PASSWORD, TestApp};

const ISSUER: &str = "http://127.0.0.1:9/application/o/tenant-portal/";
const CLIENT: &str = "tenant-portal-client";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Claims as Authentik puts them in a JWT access token.
fn claims(login: &str, groups: &[&str]) -> Value {
    json!({ "iss": ISSUER, "aud": CLIENT, "sub": format!("ak-{login}"), "iat": now(),
            "exp": now() + 300, "email": format!("{login}@acme.test"), "email_verified": true,
            "name": format!("{login} Person"), "preferred_username": login, "groups": groups })
}

struct Api {
    app: TestApp,
    keys: KeyServer,
    key: TestKey,
    secret: String,
    http: reqwest::Client,
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn error_type(&self) -> &str {
        self.body["error"]["type"].as_str().unwrap_or_default()
    }
}

impl Api {
    async fn start(extra: &[(&str, &str)]) -> Api {
        let key = TestKey::new("ak-key-1");
        let keys = KeyServer::start(&[&key]).await;
        let secret = format!("{}{}", "s".repeat(40), uuid::Uuid::new_v4().simple());
        let mut vars = vec![
            ("JWT_ISSUER", ISSUER),
            ("JWT_AUDIENCE", CLIENT),
            ("AUTHENTIK_PUBLIC_KEY_URL", keys.url.as_str()),
            ("SECRET_KEY", secret.as_str()),
        ];
        vars.extend_from_slice(extra);
        let app = TestApp::spawn_with(&vars).await;
        app.signup("Acme", "acme", "ada@acme.test").await;
        Api {
            app,
            keys,
            key,
            secret,
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        let url = format!("{}{path}", self.app.address);
        self.send(self.http.post(url).json(&body)).await
    }

    async fn get(&self, path: &str, token: &str) -> Answer {
        let url = format!("{}{path}", self.app.address);
        self.send(self.http.get(url).bearer_auth(token)).await
    }

    async fn exchange(&self, token: &str, tenant: &str) -> Answer {
        self.post(
            "/api/v1/auth/token/exchange",
            json!({ "authentik_token": token, "tenant_id": tenant }),
        )
        .await
    }

    /// Exchanges a valid Authentik token for `login` with `groups`; returns the answer.
    async fn tokens_for(&self, login: &str, groups: &[&str], tenant: &str) -> Value {
        let a = self
            .exchange(&self.key.sign(&claims(login, groups)), tenant)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.body
    }

    /// The portal's signing keys, as an operator's tool sees them (the test knows
    /// `SECRET_KEY` and the database).
    fn signing_keys(&self) -> SigningKeys {
        let settings = tenant_portal::config::Settings::from_map(&HashMap::from([
            ("SECRET_KEY".to_string(), self.secret.clone()),
            ("DATABASE_URL".to_string(), self.app.database_url.clone()),
        ]))
        .unwrap();
        let db = tenant_portal::db::Db::new(&self.app.database_url, 1).unwrap();
        SigningKeys::new(db, self.secret.as_bytes(), settings.tokens)
    }

    async fn refresh(&self, refresh_token: &str) -> Answer {
        self.post(
            "/api/v1/auth/token/refresh",
            json!({ "refresh_token": refresh_token }),
        )
        .await
    }
}

/// The decoded parts of a JWT, unverified.
fn parts(jwt: &str) -> (Value, Value) {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut it = jwt.split('.');
    let mut next = || -> Value {
        serde_json::from_slice(&b64.decode(it.next().expect("part")).expect("base64"))
            .expect("json")
    };
    (next(), next())
}

fn assert_bearer_401(a: &Answer, kind: &str) {
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    assert_eq!(a.error_type(), kind, "{}", a.body);
    let www = a.headers[reqwest::header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap();
    assert!(www.starts_with("Bearer"), "{www}");
}

#[tokio::test]
async fn a_valid_authentik_token_becomes_the_portals_tokens_and_opens_me() {
    let api = Api::start(&[]).await;
    let t = api.tokens_for("sam", &["tenant-acme-staff"], "acme").await;
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 900);
    assert_eq!(t["user_info"]["email"], "sam@acme.test");
    assert_eq!(t["user_info"]["role"], "staff");
    assert_eq!(t["user_info"]["tenant_slug"], "acme");
    let access = t["access_token"].as_str().unwrap();
    let (header, body) = parts(access);
    assert_eq!(header["alg"], "EdDSA");
    assert!(header["kid"].as_str().is_some_and(|k| !k.is_empty()));
    assert_eq!(body["type"], "access");
    assert_eq!(body["role"], "staff");
    assert_eq!(body["sub"], t["user_info"]["id"]);
    assert_eq!(body["tenant_id"], t["user_info"]["tenant_id"]);
    assert_eq!(body["aud"], "tenant-portal");
    assert_eq!(
        body["exp"].as_i64().unwrap() - body["iat"].as_i64().unwrap(),
        900
    );
    assert!(body["session_id"].as_str().is_some());

    let me = api.get("/api/v1/me", access).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let shouted = api
        .send(
            api.http
                .get(format!("{}/api/v1/me", api.app.address))
                .header("Authorization", format!("BEARER {access}")),
        )
        .await;
    assert_eq!(
        shouted.status,
        StatusCode::OK,
        "the scheme is case-insensitive"
    );
    assert_eq!(me.body["email"], "sam@acme.test");
    assert_eq!(me.body["role"], "staff");
    assert_eq!(me.body["tenant"]["slug"], "acme");
    assert_eq!(me.body["session_id"], body["session_id"]);

    // Provisioned just in time, linked by sub, audited.
    let row = api.app.query_strings(
        "SELECT concat_ws('|', role, external_id) AS v FROM tenant_acme.users WHERE email = 'sam@acme.test'",
    );
    assert_eq!(row, vec!["staff|ak-sam"]);
    let actions = api.app.query_strings(
        "SELECT concat_ws('|', action, details->>'method') AS v FROM tenant_acme.audit_log \
         WHERE target = 'sam@acme.test' ORDER BY id",
    );
    assert_eq!(
        actions,
        vec![
            "user.provisioned|token_exchange",
            "login.succeeded|token_exchange",
            "token.issued"
        ]
    );
    // The refresh token is stored only as a hash.
    let refresh = t["refresh_token"].as_str().unwrap();
    let stored = api
        .app
        .query_strings("SELECT token_hash AS v FROM tenant_acme.refresh_tokens");
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(refresh.split('.').nth(1).unwrap()));

    // The organization can also be named by its id; the same person is found again.
    let id = t["user_info"]["tenant_id"].as_str().unwrap();
    let again = api.tokens_for("sam", &["tenant-acme-staff"], id).await;
    assert_eq!(again["user_info"]["id"], t["user_info"]["id"]);
}

#[tokio::test]
async fn refused_authentik_tokens_get_the_right_error_and_create_nobody() {
    let api = Api::start(&[]).await;
    let staff = ["tenant-acme-staff"];
    let other_key = TestKey::new("ak-key-1");
    let mut expired = claims("sam", &staff);
    expired["iat"] = json!(now() - 7200);
    expired["exp"] = json!(now() - 3600);
    let mut early = claims("sam", &staff);
    early["nbf"] = json!(now() + 3600);
    let mut wrong_aud = claims("sam", &staff);
    wrong_aud["aud"] = json!("another-client");
    let mut wrong_iss = claims("sam", &staff);
    wrong_iss["iss"] = json!("http://127.0.0.1:9/application/o/other/");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let alg_none = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(claims("sam", &staff).to_string())
    );
    // Algorithm confusion: HS256 keyed with the provider's public key.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(api.key.kid.clone());
    let confused = jsonwebtoken::encode(
        &hs,
        &claims("sam", &staff),
        &EncodingKey::from_secret(&api.key.public_pem),
    )
    .unwrap();

    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "bad signature",
            other_key.sign(&claims("sam", &staff)),
            StatusCode::UNAUTHORIZED,
            "InvalidToken",
        ),
        (
            "alg none",
            alg_none,
            StatusCode::UNAUTHORIZED,
            "InvalidToken",
        ),
        (
            "HS256 with the public key",
            confused,
            StatusCode::UNAUTHORIZED,
            "InvalidToken",
        ),
        (
            "wrong audience",
            api.key.sign(&wrong_aud),
            StatusCode::UNAUTHORIZED,
            "InvalidToken",
        ),
        (
            "wrong issuer",
            api.key.sign(&wrong_iss),
            StatusCode::UNAUTHORIZED,
            "InvalidToken",
        ),
        (
            "expired",
            api.key.sign(&expired),
            StatusCode::UNAUTHORIZED,
            "TokenExpired",
        ),
        (
            "not yet valid",
            api.key.sign(&early),
            StatusCode::UNAUTHORIZED,
            "InvalidToken",
        ),
        (
            "not a JWT",
            "not-a-token".into(),
            StatusCode::UNAUTHORIZED,
            "InvalidToken",
        ),
        (
            "no group for the tenant",
            api.key.sign(&claims(
                "sam",
                &["tenant-globex-admin", "tenant-acme-extra"],
            )),
            StatusCode::FORBIDDEN,
            "TenantAccessDenied",
        ),
    ];
    for (name, token, status, kind) in cases {
        let a = api.exchange(&token, "acme").await;
        assert_eq!(a.status, status, "{name}: {}", a.body);
        assert_eq!(a.error_type(), kind, "{name}: {}", a.body);
        let message = a.body["error"]["message"].as_str().unwrap();
        assert!(!message.is_empty() && !message.contains(&token), "{name}");
        if status == StatusCode::UNAUTHORIZED {
            assert_bearer_401(&a, kind);
        }
    }
    let denied = api
        .exchange(
            &api.key.sign(&claims("sam", &["tenant-globex-admin"])),
            "acme",
        )
        .await;
    assert!(
        denied.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tenant-acme-member"),
        "{}",
        denied.body
    );
    // A valid token for an organization that does not exist, and bad bodies.
    let unknown = api
        .exchange(&api.key.sign(&claims("sam", &staff)), "nowhere")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_type(), "TenantNotFound");
    let bad_tenant = api
        .exchange(&api.key.sign(&claims("sam", &staff)), "Not A Slug!")
        .await;
    assert_eq!(bad_tenant.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = api
        .post(
            "/api/v1/auth/token/exchange",
            json!({ "tenant_id": "acme" }),
        )
        .await;
    // JSON, but not of the documented shape.
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.body
    );
    assert_eq!(missing.error_type(), "ValidationError");

    assert_eq!(
        api.app.query_strings(
            "SELECT count(*)::text AS v FROM tenant_acme.users WHERE email = 'sam@acme.test'"
        ),
        vec!["0"]
    );
}

#[tokio::test]
async fn a_rotated_provider_key_is_fetched_once_and_forged_key_ids_do_not_hammer_it() {
    let api = Api::start(&[("JWT_JWKS_MIN_REFRESH_SECONDS", "3")]).await;
    api.tokens_for("sam", &["tenant-acme-staff"], "acme").await;
    assert_eq!(api.keys.hits(), 1, "first exchange fetches the key set");
    api.tokens_for("sam", &["tenant-acme-staff"], "acme").await;
    assert_eq!(api.keys.hits(), 1, "then it is cached");
    // No fetch happens more often than the minimum interval, whatever the reason.
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;

    // Authentik rotates: the new key signs, the cache does not know it yet.
    let new_key = TestKey::new("ak-key-2");
    api.keys.publish(&[&api.key, &new_key]);
    let a = api
        .exchange(
            &new_key.sign(&claims("sam", &["tenant-acme-staff"])),
            "acme",
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(api.keys.hits(), 2, "one refetch for the new key");

    // A flood of tokens with made-up key ids: refused, and no further fetch within
    // the minimum interval.
    for i in 0..25 {
        let forged = TestKey {
            kid: format!("forged-{i}"),
            private_pem: new_key.private_pem.clone(),
            public_pem: new_key.public_pem.clone(),
            jwk: new_key.jwk.clone(),
        };
        let a = api
            .exchange(&forged.sign(&claims("sam", &["tenant-acme-staff"])), "acme")
            .await;
        assert_bearer_401(&a, "InvalidToken");
    }
    assert_eq!(api.keys.hits(), 2);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_its_whole_family() {
    let api = Api::start(&[]).await;
    let first = api.tokens_for("sam", &["tenant-acme-staff"], "acme").await;
    let r1 = first["refresh_token"].as_str().unwrap();

    let second = api.refresh(r1).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(second.headers[reqwest::header::CACHE_CONTROL], "no-store");
    let r2 = second.body["refresh_token"].as_str().unwrap().to_string();
    let a2 = second.body["access_token"].as_str().unwrap().to_string();
    assert_ne!(r2, r1);
    assert_eq!(
        parts(&a2).1["session_id"],
        parts(first["access_token"].as_str().unwrap()).1["session_id"]
    );
    assert_eq!(api.get("/api/v1/me", &a2).await.status, StatusCode::OK);

    // r1 again: someone else holds the family. Everything of it stops.
    let reused = api.refresh(r1).await;
    assert_bearer_401(&reused, "InvalidToken");
    assert!(
        reused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    assert_bearer_401(&api.refresh(&r2).await, "InvalidToken");
    assert_bearer_401(&api.get("/api/v1/me", &a2).await, "InvalidToken");
    let audit = api.app.query_strings(
        "SELECT concat_ws('|', action, target) AS v FROM tenant_acme.audit_log \
         WHERE action = 'token.refresh_reused'",
    );
    assert_eq!(audit, vec!["token.refresh_reused|sam@acme.test"]);
    let revoked = api
        .app
        .query_strings("SELECT revoked_reason AS v FROM tenant_acme.api_sessions");
    assert_eq!(revoked, vec!["refresh token reused"]);

    // Garbage and unknown refresh tokens are plain 401s.
    assert_bearer_401(&api.refresh("acme.nothing-like-this").await, "InvalidToken");
    assert_bearer_401(&api.refresh("").await, "InvalidToken");
}

#[tokio::test]
async fn revoking_a_token_ends_its_session_at_once() {
    let api = Api::start(&[]).await;
    let t = api.tokens_for("sam", &["tenant-acme-staff"], "acme").await;
    let access = t["access_token"].as_str().unwrap();
    let refresh = t["refresh_token"].as_str().unwrap();
    let other = api.tokens_for("sam", &["tenant-acme-staff"], "acme").await;

    let a = api
        .post(
            "/api/v1/auth/token/revoke",
            json!({ "token": refresh, "token_type_hint": "refresh_token" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_bearer_401(&api.refresh(refresh).await, "InvalidToken");
    assert_bearer_401(&api.get("/api/v1/me", access).await, "InvalidToken");
    // The other session of the same person is untouched.
    let other_access = other["access_token"].as_str().unwrap();
    assert_eq!(
        api.get("/api/v1/me", other_access).await.status,
        StatusCode::OK
    );

    // Revoking by access token works too; unknown tokens get the same 200.
    let a = api
        .post(
            "/api/v1/auth/token/revoke",
            json!({ "token": other_access }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_bearer_401(&api.get("/api/v1/me", other_access).await, "InvalidToken");
    for junk in ["acme.unknown", "eyJhbGciOiJFZERTQSJ9.e30.AAAA", "x"] {
        let a = api
            .post("/api/v1/auth/token/revoke", json!({ "token": junk }))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{junk}");
    }
    let audited = api.app.query_strings(
        "SELECT count(*)::text AS v FROM tenant_acme.audit_log WHERE action = 'token.revoked'",
    );
    assert_eq!(audited, vec!["2"]);
}

#[tokio::test]
async fn me_refuses_expired_forged_and_missing_tokens_and_members_keeps_tenants_apart() {
    let api = Api::start(&[]).await;
    api.app.signup("Globex", "globex", "gina@globex.test").await;
    let sam = api.tokens_for("sam", &["tenant-acme-staff"], "acme").await;
    let sam_access = sam["access_token"].as_str().unwrap();

    // Expired: signed with the portal's real key (the test knows SECRET_KEY).
    let keys = api.signing_keys();
    keys.maintain().await.unwrap();
    let (_, mut c) = parts(sam_access);
    c["iat"] = json!(now() - 3600);
    c["exp"] = json!(now() - 600);
    let expired = keys.sign(&c).unwrap();
    assert_bearer_401(&api.get("/api/v1/me", &expired).await, "TokenExpired");
    // The same claims, still valid, pass: the expiry was the only fault.
    c["exp"] = json!(now() + 600);
    assert_eq!(
        api.get("/api/v1/me", &keys.sign(&c).unwrap()).await.status,
        StatusCode::OK
    );

    // Tampered: the payload names another role, the signature no longer matches.
    let mut segs: Vec<String> = sam_access.split('.').map(str::to_string).collect();
    let (_, mut claims) = parts(sam_access);
    claims["role"] = json!("admin");
    segs[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    assert_bearer_401(
        &api.get("/api/v1/me", &segs.join(".")).await,
        "InvalidToken",
    );
    // No token at all.
    let none = api
        .send(api.http.get(format!("{}/api/v1/me", api.app.address)))
        .await;
    assert_bearer_401(&none, "InvalidToken");
    // RFC 6750: no error code when no credentials were sent; one when they were bad.
    assert_eq!(
        none.headers[reqwest::header::WWW_AUTHENTICATE],
        r#"Bearer realm="tenant-portal""#
    );
    let bad = api.get("/api/v1/me", "not-a-token").await;
    assert!(
        bad.headers[reqwest::header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );

    // Members: admins of the token's own organization only.
    let members = "/api/v1/tenants/acme/members";
    let staff = api.get(members, sam_access).await;
    assert_eq!(staff.status, StatusCode::FORBIDDEN);
    assert_eq!(staff.error_type(), "InsufficientPermissions");
    let globex = api
        .tokens_for("gina", &["tenant-globex-admin"], "globex")
        .await;
    let globex_access = globex["access_token"].as_str().unwrap();
    let cross = api.get(members, globex_access).await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    assert_eq!(cross.error_type(), "TenantAccessDenied");
    let me = api.get("/api/v1/me", globex_access).await;
    assert_eq!(me.body["tenant"]["slug"], "globex");
    assert_eq!(me.body["role"], "admin");

    let admin = api.tokens_for("ada", &["tenant-acme-admin"], "acme").await;
    let list = api
        .get(
            &format!("{members}?role=staff"),
            admin["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["members"][0]["email"], "sam@acme.test");
    assert_eq!(list.body["members"][0]["sign_in_method"], "sso");
    // Ada signed up with a password and now came through the exchange too.
    let all = api
        .get(members, admin["access_token"].as_str().unwrap())
        .await;
    assert_eq!(all.body["total"], 2);
}

#[tokio::test]
async fn a_deactivated_person_and_a_demoted_admin_lose_their_api_rights_at_once() {
    let api = Api::start(&[]).await;
    let sam = api.tokens_for("sam", &["tenant-acme-admin"], "acme").await;
    let access = sam["access_token"].as_str().unwrap();
    let members = "/api/v1/tenants/acme/members";
    assert_eq!(api.get(members, access).await.status, StatusCode::OK);

    let ada = api.app.visitor();
    ada.login("acme", "ada@acme.test", PASSWORD).await;
    let id = sam["user_info"]["id"].as_str().unwrap();
    crate::common::factors::step_up(&ada, "acme", PASSWORD, None, "/t/acme/members").await;
    let demoted = ada
        .submit(
            "/t/acme/members",
            &format!("/t/acme/members/{id}/role"),
            &[("role", "member")],
        )
        .await;
    assert_eq!(demoted.status, StatusCode::SEE_OTHER, "{}", demoted.body);
    // The token still says admin; the portal reads the role in force.
    let a = api.get(members, access).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(api.get("/api/v1/me", access).await.body["role"], "member");

    let off = ada
        .submit(
            "/t/acme/members",
            &format!("/t/acme/members/{id}/deactivate"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    assert_bearer_401(&api.get("/api/v1/me", access).await, "InvalidToken");
    assert_bearer_401(
        &api.refresh(sam["refresh_token"].as_str().unwrap()).await,
        "InvalidToken",
    );
    // And a new exchange is refused while deactivated.
    let again = api
        .exchange(
            &api.key.sign(&claims("sam", &["tenant-acme-admin"])),
            "acme",
        )
        .await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);
    assert_eq!(again.error_type(), "TenantAccessDenied");
}

/// Verifies a JWT with the `jose` library (node, tests/oidc-provider's packages)
/// against the key set at `jwks_url`; returns the payload, or the library's error.
fn verify_with_jose(token: &str, jwks_url: &str, issuer: &str) -> Result<Value, String> {
    let script = r#"
        import { createRemoteJWKSet, jwtVerify } from 'jose';
        const [token, url, issuer] = process.argv.slice(1);
        try {
          const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(url)),
            { issuer, audience: 'tenant-portal', algorithms: ['EdDSA'] });
          console.log(JSON.stringify({ payload, protectedHeader }));
        } catch (e) { console.error(e.code || e.message); process.exit(1); }
    "#;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider");
    let out = std::process::Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
        .current_dir(dir)
        .args(["--input-type=module", "-e", script, token, jwks_url, issuer])
        .output()
        .expect("node is installed");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("json"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

#[tokio::test]
async fn the_portals_tokens_verify_with_an_independent_library_across_a_key_rotation() {
    let api = Api::start(&[("JWT_SIGNING_KEY_RELOAD_SECONDS", "1")]).await;
    let jwks_url = format!("{}/.well-known/jwks.json", api.app.address);
    let set: Value = reqwest::get(&jwks_url).await.unwrap().json().await.unwrap();
    assert_eq!(set["keys"].as_array().unwrap().len(), 1);
    assert_eq!(set["keys"][0]["kty"], "OKP");
    assert_eq!(set["keys"][0]["crv"], "Ed25519");
    assert!(set["keys"][0].get("d").is_none(), "no private part");

    let t1 = api.tokens_for("sam", &["tenant-acme-staff"], "acme").await;
    let a1 = t1["access_token"].as_str().unwrap().to_string();
    let (h1, c1) = parts(&a1);
    let issuer = c1["iss"].as_str().unwrap().to_string();
    let verified = verify_with_jose(&a1, &jwks_url, &issuer).expect("jose verifies");
    assert_eq!(verified["payload"]["sub"], t1["user_info"]["id"]);
    assert_eq!(verified["protectedHeader"]["kid"], h1["kid"]);
    // jose refuses what it should: a token with a flipped signature byte.
    // (A character in the middle: the last one of the signature also carries padding
    // bits that decoders ignore.)
    let at = a1.rfind('.').unwrap() + 10;
    let mut forged = a1.clone();
    let flipped = if &a1[at..=at] == "A" { "B" } else { "A" };
    forged.replace_range(at..=at, flipped);
    assert!(verify_with_jose(&forged, &jwks_url, &issuer).is_err());

    // An operator rotates: the new key signs at once, the old one stays published.
    let keys = api.signing_keys();
    let new_kid = keys.rotate_now().await.unwrap();
    // The portal picks the new key up within its reload interval.
    let mut latest = api.tokens_for("sam", &["tenant-acme-staff"], "acme").await;
    for _ in 0..50 {
        if parts(latest["access_token"].as_str().unwrap()).0["kid"] == new_kid.as_str() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        latest = api.tokens_for("sam", &["tenant-acme-staff"], "acme").await;
    }
    let a3 = latest["access_token"].as_str().unwrap();
    assert_eq!(parts(a3).0["kid"], new_kid.as_str());
    let set: Value = reqwest::get(&jwks_url).await.unwrap().json().await.unwrap();
    let kids: Vec<&str> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(kids.contains(&new_kid.as_str()) && kids.contains(&h1["kid"].as_str().unwrap()));
    // Both the old token and the new one verify, with the portal and with jose.
    assert_eq!(api.get("/api/v1/me", &a1).await.status, StatusCode::OK);
    assert_eq!(api.get("/api/v1/me", a3).await.status, StatusCode::OK);
    verify_with_jose(&a1, &jwks_url, &issuer).expect("old token still verifies");
    verify_with_jose(a3, &jwks_url, &issuer).expect("new token verifies");
}

#[tokio::test]
async fn a_platform_admin_forces_a_jwks_refresh_and_others_cannot() {
    let api = Api::start(&[]).await;
    let root = api
        .tokens_for("root", &["portal-super-admin", "tenant-acme-admin"], "acme")
        .await;
    let sam = api.tokens_for("sam", &["tenant-acme-admin"], "acme").await;
    let hits = api.keys.hits();
    let url = format!("{}/api/v1/auth/jwks/refresh", api.app.address);

    let refused = api
        .send(
            api.http
                .post(&url)
                .bearer_auth(sam["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.error_type(), "InsufficientPermissions");
    assert_bearer_401(&api.send(api.http.post(&url)).await, "InvalidToken");
    assert_eq!(api.keys.hits(), hits);

    let done = api
        .send(
            api.http
                .post(&url)
                .bearer_auth(root["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["keys"], 1);
    assert_eq!(api.keys.hits(), hits + 1);
    let audit = api.app.query_strings(
        "SELECT concat_ws('|', actor, action) AS v FROM public.platform_audit_log \
         WHERE action = 'platform.jwks_refreshed'",
    );
    assert_eq!(audit, vec!["root@acme.test|platform.jwks_refreshed"]);
}

#[tokio::test]
async fn the_openapi_document_describes_the_json_api() {
    let api = Api::start(&[]).await;
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", api.app.address))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["info"].get("license").is_none(), "no empty license");
    for path in [
        "/api/v1/users",
        "/api/v1/auth/token/exchange",
        "/api/v1/auth/token/refresh",
        "/api/v1/auth/token/revoke",
        "/api/v1/auth/jwks/refresh",
        "/api/v1/me",
        "/api/v1/tenants/{slug}/members",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    let exchange = &doc["paths"]["/api/v1/auth/token/exchange"]["post"];
    assert!(exchange["responses"].get("403").is_some());
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["ExchangeRequest"]["properties"]["authentik_token"].is_object());
    assert!(schemas["TokenPair"]["properties"]["refresh_token"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn a_person_sees_their_api_access_on_the_profile_and_revokes_it() {
    let api = Api::start(&[]).await;
    // Ada signed up with a password; the exchange links her Authentik identity.
    let t = api.tokens_for("ada", &["tenant-acme-admin"], "acme").await;
    let access = t["access_token"].as_str().unwrap();
    let session = parts(access).1["session_id"].as_str().unwrap().to_string();
    let sam = api.tokens_for("sam", &["tenant-acme-staff"], "acme").await;
    let sams = parts(sam["access_token"].as_str().unwrap()).1["session_id"]
        .as_str()
        .unwrap()
        .to_string();

    let ada = api.app.visitor();
    ada.login("acme", "ada@acme.test", PASSWORD).await;
    let profile = ada.get("/t/acme/profile").await;
    assert!(profile.body.contains("API access"), "{}", profile.body);
    assert!(
        profile
            .body
            .contains(&format!(r#"data-api-session="{session}""#))
    );
    assert!(!profile.body.contains(&sams), "only her own sessions");

    // Someone else's session cannot be revoked from her profile.
    let other = ada
        .submit(
            "/t/acme/profile",
            &format!("/t/acme/profile/api-sessions/{sams}/revoke"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let sam_access = sam["access_token"].as_str().unwrap();
    assert_eq!(
        api.get("/api/v1/me", sam_access).await.status,
        StatusCode::OK
    );

    // Revoking asks first; asked, the tokens still work.
    let revoke = format!("/t/acme/profile/api-sessions/{session}/revoke");
    let asked = ada.submit("/t/acme/profile", &revoke, &[]).await;
    crate::common::assert_asks(&asked, &revoke, "revoke this API access");
    assert!(asked.body.contains("The program loses its access at once"));
    assert_eq!(api.get("/api/v1/me", access).await.status, StatusCode::OK);
    let done = ada.answer_yes(&asked, &revoke).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let after = ada.get(done.location.as_deref().unwrap()).await;
    assert!(after.body.contains("That API access is revoked"));
    assert!(!after.body.contains(&session));
    assert_bearer_401(&api.get("/api/v1/me", access).await, "InvalidToken");
    assert_bearer_401(
        &api.refresh(t["refresh_token"].as_str().unwrap()).await,
        "InvalidToken",
    );
    let audit = api.app.query_strings(
        "SELECT concat_ws('|', action, actor_email, details->>'from') AS v \
         FROM tenant_acme.audit_log WHERE action = 'token.revoked'",
    );
    assert_eq!(audit, vec!["token.revoked|ada@acme.test|profile"]);
}

#[tokio::test]
async fn token_requests_over_the_limit_get_429_with_retry_after() {
    let api = Api::start(&[("RATE_LIMIT_TOKEN_PER_MINUTE", "2")]).await;
    let token = api.key.sign(&claims("sam", &["tenant-acme-staff"]));
    for _ in 0..2 {
        assert_eq!(api.exchange(&token, "acme").await.status, StatusCode::OK);
    }
    let limited = api.exchange(&token, "acme").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.error_type(), "RateLimited");
    let wait: u64 = limited.headers[reqwest::header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Refreshes count against the same limit.
    let r = api.refresh("acme.anything").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn signing_keys_rotate_when_due_with_the_new_key_published_ahead_and_old_ones_forgotten() {
    let api = Api::start(&[]).await;
    let keys = api.signing_keys();
    let kids = |app: &TestApp| {
        app.query_strings(
            "SELECT concat_ws('|', kid, (activates_at > now())::text) AS v \
             FROM public.signing_keys ORDER BY activates_at",
        )
    };
    let first = kids(&api.app);
    assert_eq!(first.len(), 1);
    assert!(first[0].ends_with("|false"));
    // Nothing is due yet: maintenance changes nothing.
    keys.maintain().await.unwrap();
    assert_eq!(kids(&api.app), first);

    // The key has signed for 40 days (rotation: 30): a successor is published now and
    // signs after the publish-ahead delay; the old key still signs meanwhile.
    api.app.query_strings(
        "UPDATE public.signing_keys SET activates_at = now() - interval '40 days' RETURNING kid AS v",
    );
    keys.maintain().await.unwrap();
    let two = kids(&api.app);
    assert_eq!(two.len(), 2, "{two:?}");
    assert!(two[1].ends_with("|true"), "the new key waits: {two:?}");
    assert_eq!(keys.published(), 2);
    let old_kid = first[0].split('|').next().unwrap();
    let token = keys
        .sign(&json!({ "iss": "x", "aud": "y", "sub": "z", "iat": now(), "exp": now() + 60 }))
        .unwrap();
    assert_eq!(parts(&token).0["kid"], old_kid);
    // Running again does not pile up keys.
    keys.maintain().await.unwrap();
    assert_eq!(kids(&api.app).len(), 2);

    // Once the successor has signed for longer than an access token lives, the old key
    // can carry no valid token any more and is removed.
    api.app.query_strings(
        "UPDATE public.signing_keys SET activates_at = activates_at - interval '2 days' RETURNING kid AS v",
    );
    keys.maintain().await.unwrap();
    let left = kids(&api.app);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_ne!(left[0].split('|').next().unwrap(), old_kid);
}
