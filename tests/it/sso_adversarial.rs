//! A hostile or broken OpenID Provider, in process: every bad id_token, callback or
//! userinfo is refused; key rotation, a `kid`-less token with one key, and HS256 with
//! the client secret (when configured) are accepted.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::fake_op::{
    self, CLIENT_ID, CLIENT_SECRET, FakeOp, Minting, RsaKey, sign, unsigned,
};
use crate::common::{self, TestApp, Visitor};

async fn portal(op: &FakeOp, extra: &[(&str, &str)]) -> TestApp {
    // The redirect URI names the portal's real address, so the port is chosen first.
    let port = common::free_port();
    let bind = format!("127.0.0.1:{port}");
    let base = format!("http://{bind}");
    let mut vars = vec![
        ("PORTAL_BIND", bind.as_str()),
        ("PORTAL_BASE_URL", base.as_str()),
        ("OIDC_ISSUER_URL", op.issuer.as_str()),
        ("OIDC_CLIENT_ID", CLIENT_ID),
        ("OIDC_CLIENT_SECRET", CLIENT_SECRET),
        ("OIDC_JWKS_MIN_REFRESH_SECONDS", "1"),
    ];
    vars.extend_from_slice(extra);
    let app = TestApp::spawn_with(&vars).await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    app
}

async fn abs(v: &Visitor, url: &str) -> (StatusCode, Option<String>, String) {
    let res = v.http.get(url).send().await.expect("GET");
    let status = res.status();
    let loc = res
        .headers()
        .get("location")
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    (status, loc, res.text().await.unwrap_or_default())
}

/// Runs the flow up to the callback; returns its URL (not yet visited).
async fn to_callback(v: &Visitor) -> String {
    let start = v.get("/t/acme/sso").await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let (_, loc, _) = abs(v, start.location.as_deref().expect("authorize")).await;
    loc.expect("back to the callback")
}

/// A whole sign-in; the portal's answer to the callback.
async fn sign_in(app: &TestApp) -> (StatusCode, String) {
    let v = app.visitor();
    let cb = to_callback(&v).await;
    let (status, loc, body) = abs(&v, &cb).await;
    if status == StatusCode::SEE_OTHER {
        assert_eq!(loc.as_deref(), Some("/t/acme/dashboard"));
        assert_eq!(v.get("/t/acme/dashboard").await.status, StatusCode::OK);
    } else {
        assert_eq!(
            v.get("/t/acme/dashboard").await.status,
            StatusCode::SEE_OTHER
        );
    }
    (status, body)
}

fn with(m: &Minting, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut c = m.claims();
    change(c.as_object_mut().expect("claims object"));
    c
}

#[tokio::test]
async fn every_forged_or_wrong_id_token_is_refused() {
    let op = FakeOp::start().await;
    let app = portal(&op, &[]).await;
    let key = op.key.clone();
    let impostor = RsaKey::generate("key-1");
    type Case = (&'static str, Box<dyn Fn(&Minting) -> String + Send>);
    let cases: Vec<Case> = vec![
        ("bad signature", {
            let k = impostor.clone();
            Box::new(move |m| k.sign(&m.claims()))
        }),
        ("alg none", Box::new(|m| unsigned(&m.claims()))),
        ("HS256 keyed with the RSA public key", {
            let pem = key.public_pem.clone();
            Box::new(move |m| {
                sign(
                    &Header::new(Algorithm::HS256),
                    &m.claims(),
                    &EncodingKey::from_secret(pem.as_bytes()),
                )
            })
        }),
        ("wrong aud", {
            let k = key.clone();
            Box::new(move |m| {
                k.sign(&with(m, |c| {
                    c.insert("aud".into(), "someone-else".into());
                }))
            })
        }),
        ("wrong iss", {
            let k = key.clone();
            Box::new(move |m| {
                k.sign(&with(m, |c| {
                    c.insert(
                        "iss".into(),
                        "http://127.0.0.1:1/application/o/evil/".into(),
                    );
                }))
            })
        }),
        ("expired", {
            let k = key.clone();
            Box::new(move |m| {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                k.sign(&with(m, |c| {
                    c.insert("iat".into(), (now - 7200).into());
                    c.insert("exp".into(), (now - 3600).into());
                }))
            })
        }),
        ("missing iat", {
            let k = key.clone();
            Box::new(move |m| {
                k.sign(&with(m, |c| {
                    c.remove("iat");
                }))
            })
        }),
        ("missing sub", {
            let k = key.clone();
            Box::new(move |m| {
                k.sign(&with(m, |c| {
                    c.remove("sub");
                }))
            })
        }),
        ("wrong nonce", {
            let k = key.clone();
            Box::new(move |m| {
                k.sign(&with(m, |c| {
                    c.insert("nonce".into(), "not-the-nonce".into());
                }))
            })
        }),
    ];
    let n = cases.len();
    for (name, minter) in cases {
        op.state.lock().unwrap().minter = minter;
        let (status, body) = sign_in(&app).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {body}");
        assert!(body.contains("could not be verified"), "{name}: {body}");
        let reason = app.query_strings(
            "SELECT details->>'reason' AS v FROM tenant_acme.audit_log \
             WHERE action = 'login.sso_failed' ORDER BY id DESC LIMIT 1",
        );
        let want = match name {
            "bad signature" => "bad signature",
            "alg none" => "unknown algorithm",
            "HS256 keyed with the RSA public key" => "algorithm HS256 not accepted",
            "wrong aud" => "wrong audience",
            "wrong iss" => "wrong issuer",
            "expired" => "expired",
            // openidconnect already refuses to read a token response without them.
            "missing iat" => "missing field `iat`",
            "missing sub" => "missing field `sub`",
            _ => "wrong nonce",
        };
        assert!(reason[0].contains(want), "{name}: {reason:?}");
    }
    assert!(
        app.query_strings("SELECT email AS v FROM tenant_acme.users WHERE email = 'sam@acme.test'")
            .is_empty()
    );
    let failed = app.query_strings(
        "SELECT count(*)::text AS v FROM tenant_acme.audit_log WHERE action = 'login.sso_failed'",
    );
    assert_eq!(failed, vec![n.to_string()]);

    // And the genuine token is still accepted.
    op.mint(move |m| key.sign(&m.claims()));
    assert_eq!(sign_in(&app).await.0, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_wrong_or_replayed_state_and_a_replayed_callback_sign_in_nobody() {
    let op = FakeOp::start().await;
    let app = portal(&op, &[]).await;

    let v = app.visitor();
    let cb = to_callback(&v).await;
    let forged = cb.replace("state=", "state=x");
    let (status, _, body) = abs(&v, &forged).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // The sign-in in progress is spent: even the genuine callback now fails.
    assert_eq!(abs(&v, &cb).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        v.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );

    let v = app.visitor();
    let cb = to_callback(&v).await;
    assert_eq!(abs(&v, &cb).await.0, StatusCode::SEE_OTHER);
    let (status, _, body) = abs(&v, &cb).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("already been completed"));
    // Someone holding the URL but not the session gets nowhere either.
    let other = app.visitor();
    assert_eq!(abs(&other, &cb).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn userinfo_about_someone_else_is_refused() {
    let op = FakeOp::start().await;
    let app = portal(&op, &[]).await;
    op.state.lock().unwrap().userinfo_sub = "someone-else".into();
    assert_eq!(sign_in(&app).await.0, StatusCode::FORBIDDEN);
    op.state.lock().unwrap().userinfo_sub = fake_op::SUB.into();
    assert_eq!(sign_in(&app).await.0, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_accepted() {
    let op = FakeOp::start().await;
    let app = portal(&op, &[]).await;
    assert_eq!(sign_in(&app).await.0, StatusCode::SEE_OTHER);
    assert_eq!(op.jwks_hits(), 1);
    // Still cached: no fetch for the next sign-in.
    assert_eq!(sign_in(&app).await.0, StatusCode::SEE_OTHER);
    assert_eq!(op.jwks_hits(), 1);

    let rotated = RsaKey::generate("key-2");
    op.state.lock().unwrap().jwks = vec![rotated.jwk.clone()];
    op.mint(move |m| rotated.sign(&m.claims()));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(sign_in(&app).await.0, StatusCode::SEE_OTHER);
    assert_eq!(op.jwks_hits(), 2);
}

#[tokio::test]
async fn unknown_kids_trigger_exactly_one_refetch() {
    let op = FakeOp::start().await;
    let app = portal(&op, &[]).await;
    assert_eq!(sign_in(&app).await.0, StatusCode::SEE_OTHER);
    assert_eq!(op.jwks_hits(), 1);
    let key = op.key.clone();
    op.mint(move |m| {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(format!("unknown-{}", uuid::Uuid::new_v4().simple()));
        sign(&h, &m.claims(), &key.encoding)
    });
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..3 {
        assert_eq!(sign_in(&app).await.0, StatusCode::FORBIDDEN);
    }
    assert_eq!(op.jwks_hits(), 2, "one refetch, then rate limited");
}

#[tokio::test]
async fn a_token_without_kid_is_accepted_when_the_key_set_has_one_key() {
    let op = FakeOp::start().await;
    let app = portal(&op, &[]).await;
    let key = op.key.clone();
    op.mint(move |m| sign(&Header::new(Algorithm::RS256), &m.claims(), &key.encoding));
    assert_eq!(sign_in(&app).await.0, StatusCode::SEE_OTHER);
    // With two keys, a token without `kid` names none of them.
    op.state
        .lock()
        .unwrap()
        .jwks
        .push(RsaKey::generate("key-3").jwk);
    let app2 = portal(&op, &[]).await;
    assert_eq!(sign_in(&app2).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn hs256_with_the_client_secret_is_accepted_only_when_configured() {
    let op = FakeOp::start().await;
    let hs = |m: &Minting| {
        sign(
            &Header::new(Algorithm::HS256),
            &m.claims(),
            &EncodingKey::from_secret(CLIENT_SECRET.as_bytes()),
        )
    };
    op.mint(hs);
    let strict = portal(&op, &[]).await;
    assert_eq!(sign_in(&strict).await.0, StatusCode::FORBIDDEN);

    let hs_ok = portal(&op, &[("OIDC_ID_TOKEN_ALGORITHMS", "RS256,HS256")]).await;
    assert_eq!(sign_in(&hs_ok).await.0, StatusCode::SEE_OTHER);
    // Even then, an HS256 token keyed with the provider's public key is a forgery.
    let pem = op.key.public_pem.clone();
    op.mint(move |m| {
        sign(
            &Header::new(Algorithm::HS256),
            &m.claims(),
            &EncodingKey::from_secret(pem.as_bytes()),
        )
    });
    assert_eq!(sign_in(&hs_ok).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_sign_in_declined_at_the_provider_says_so_and_is_audited() {
    let op = FakeOp::start().await;
    let app = portal(&op, &[]).await;
    let v = app.visitor();
    let cb = to_callback(&v).await;
    let declined = cb.replace("code=", "error=access_denied&code=");
    let (status, _, body) = abs(&v, &declined).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("did not sign you in"), "{body}");
    assert_eq!(
        app.query_strings(
            "SELECT details->>'reason' AS v FROM tenant_acme.audit_log WHERE action = 'login.sso_failed'"
        ),
        vec!["the provider refused: access_denied"]
    );
}
