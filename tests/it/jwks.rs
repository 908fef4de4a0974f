//! Tokens signed by the identity provider: validated against its JWKS, cached, with
//! key rotation and without letting forged key ids hammer the provider.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde_json::{Value, json};
use tenant_portal::auth::jwks::{Expectations, JwksCache, TokenRejected, validate};

use crate::common::keys::{KeyServer, TestKey, b64};

const ISSUER: &str = "http://127.0.0.1:9000/application/o/portal/";
const CLIENT: &str = "portal-client";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn claims() -> Value {
    json!({ "iss": ISSUER, "aud": CLIENT, "sub": "ak-user-1", "iat": now(), "exp": now() + 300,
            "email": "sam@acme.test", "email_verified": true, "groups": ["tenant-acme-staff"],
            "nonce": "n-123" })
}

fn expect() -> Expectations {
    Expectations {
        issuer: ISSUER.into(),
        audience: vec![CLIENT.into()],
        nonce: Some("n-123".into()),
        hs256_secret: None,
        leeway: 5,
    }
}

fn cache(url: &str, ttl: Duration, min_refetch: Duration) -> JwksCache {
    let _ = rustls::crypto::ring::default_provider().install_default();
    JwksCache::new(url.to_string(), reqwest::Client::new(), ttl, min_refetch)
}

fn with(mut c: Value, key: &str, value: Value) -> Value {
    c[key] = value;
    c
}

#[actix_web::test]
async fn valid_tokens_pass_and_every_kind_of_bad_token_gets_its_reason() {
    let a = TestKey::new("key-a");
    let b = TestKey::new("key-b");
    let server = KeyServer::start(&[&a]).await;
    let jwks = cache(
        &server.url,
        Duration::from_secs(3600),
        Duration::from_secs(30),
    );

    let ok = validate(&jwks, &a.sign(&claims()), &expect())
        .await
        .unwrap();
    assert_eq!(ok.sub, "ak-user-1");
    assert_eq!(ok.groups, ["tenant-acme-staff"]);

    // Signed by another key under key-a's id.
    let mut forged_header = Header::new(Algorithm::RS256);
    forged_header.kid = Some("key-a".into());
    let forged = jsonwebtoken::encode(
        &forged_header,
        &claims(),
        &EncodingKey::from_rsa_pem(&b.private_pem).unwrap(),
    )
    .unwrap();
    assert_eq!(
        validate(&jwks, &forged, &expect()).await.unwrap_err(),
        TokenRejected::BadSignature
    );

    // alg: none, with the signature stripped.
    let body = a.sign(&claims());
    let payload = body.split('.').nth(1).unwrap();
    let none = format!(
        "{}.{payload}.",
        b64(br#"{"alg":"none","typ":"JWT","kid":"key-a"}"#)
    );
    assert_eq!(
        validate(&jwks, &none, &expect()).await.unwrap_err(),
        TokenRejected::Malformed
    );

    // HS256 "signed" with the provider's public key as the secret.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("key-a".into());
    let confused =
        jsonwebtoken::encode(&hs, &claims(), &EncodingKey::from_secret(&a.public_pem)).unwrap();
    assert_eq!(
        validate(&jwks, &confused, &expect()).await.unwrap_err(),
        TokenRejected::Malformed
    );
    let mut with_secret = expect();
    with_secret.hs256_secret = Some(SecretString::from("the-client-secret"));
    assert_eq!(
        validate(&jwks, &confused, &with_secret).await.unwrap_err(),
        TokenRejected::BadSignature
    );

    let cases = [
        (
            with(claims(), "aud", json!("someone-else")),
            TokenRejected::WrongAudience,
        ),
        (
            with(
                claims(),
                "iss",
                json!("http://127.0.0.1:9000/application/o/other/"),
            ),
            TokenRejected::WrongIssuer,
        ),
        (
            with(claims(), "iss", json!(ISSUER.trim_end_matches('/'))),
            TokenRejected::WrongIssuer,
        ),
        (
            with(
                with(claims(), "exp", json!(now() - 60)),
                "iat",
                json!(now() - 400),
            ),
            TokenRejected::Expired,
        ),
        (
            with(claims(), "nbf", json!(now() + 600)),
            TokenRejected::NotYetValid,
        ),
        (
            with(claims(), "iat", json!(now() + 600)),
            TokenRejected::NotYetValid,
        ),
        (
            with(claims(), "nonce", json!("another-sign-in")),
            TokenRejected::WrongNonce,
        ),
    ];
    for (c, want) in cases {
        assert_eq!(
            validate(&jwks, &a.sign(&c), &expect()).await.unwrap_err(),
            want,
            "{c}"
        );
    }
    let mut no_exp = claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert!(validate(&jwks, &a.sign(&no_exp), &expect()).await.is_err());
    assert_eq!(
        validate(&jwks, "not-a-jwt", &expect()).await.unwrap_err(),
        TokenRejected::Malformed
    );
    // All of that took one fetch of the key set.
    assert_eq!(server.hits(), 1);
    server.handle.stop(true).await;
}

#[actix_web::test]
async fn hs256_works_only_when_configured_with_the_client_secret() {
    let a = TestKey::new("key-a");
    let server = KeyServer::start(&[&a]).await;
    let jwks = cache(
        &server.url,
        Duration::from_secs(3600),
        Duration::from_secs(30),
    );
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"the-client-secret"),
    )
    .unwrap();
    assert_eq!(
        validate(&jwks, &token, &expect()).await.unwrap_err(),
        TokenRejected::Malformed
    );
    let mut e = expect();
    e.hs256_secret = Some(SecretString::from("the-client-secret"));
    assert_eq!(validate(&jwks, &token, &e).await.unwrap().sub, "ak-user-1");
    e.hs256_secret = Some(SecretString::from("another-secret"));
    assert_eq!(
        validate(&jwks, &token, &e).await.unwrap_err(),
        TokenRejected::BadSignature
    );
    server.handle.stop(true).await;
}

#[actix_web::test]
async fn a_rotated_key_is_picked_up_with_one_refetch_and_forged_ids_cannot_hammer() {
    let a = TestKey::new("key-a");
    let b = TestKey::new("key-b");
    let server = KeyServer::start(&[&a]).await;
    let jwks = cache(
        &server.url,
        Duration::from_secs(3600),
        Duration::from_secs(3),
    );
    validate(&jwks, &a.sign(&claims()), &expect())
        .await
        .unwrap();
    assert_eq!(server.hits(), 1);

    // Signed before the clock starts: signing is slow in a debug build under load.
    let by_b = b.sign(&claims());
    let valid = a.sign(&claims());
    let rest = valid.split_once('.').unwrap().1;
    let forged: Vec<String> = (0..50)
        .map(|i| {
            let header = format!(r#"{{"alg":"RS256","typ":"JWT","kid":"forged-{i}"}}"#);
            format!("{}.{rest}", b64(header.as_bytes()))
        })
        .collect();

    // Later, the provider rotates to key-b: the first token with the new id refetches once.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    server.publish(&[&a, &b]);
    validate(&jwks, &by_b, &expect()).await.unwrap();
    assert_eq!(server.hits(), 2);
    validate(&jwks, &by_b, &expect()).await.unwrap();
    assert_eq!(server.hits(), 2);

    // Floods of made-up key ids: none fetches within the interval, one after it.
    let flood = || async {
        let mut refused = 0;
        for t in &forged {
            if validate(&jwks, t, &expect()).await.err() == Some(TokenRejected::UnknownKey) {
                refused += 1;
            }
        }
        refused
    };
    assert_eq!(flood().await, 50);
    assert_eq!(server.hits(), 2, "no fetch within the interval");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(flood().await, 50);
    assert_eq!(server.hits(), 3, "one fetch per interval");
    // Forced refresh (the admin action) always fetches.
    assert_eq!(jwks.refresh().await.unwrap(), 2);
    assert_eq!(server.hits(), 4);
    server.handle.stop(true).await;
}

#[actix_web::test]
async fn cached_keys_keep_working_while_the_provider_is_down() {
    let a = TestKey::new("key-a");
    let server = KeyServer::start(&[&a]).await;
    let jwks = cache(
        &server.url,
        Duration::from_millis(200),
        Duration::from_millis(100),
    );
    validate(&jwks, &a.sign(&claims()), &expect())
        .await
        .unwrap();
    server.handle.stop(true).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The cache is stale and the provider gone: the known key still verifies.
    let again = validate(&jwks, &a.sign(&claims()), &expect()).await;
    assert_eq!(again.unwrap().sub, "ak-user-1");

    // With nothing cached and no provider, the answer says so.
    let empty = cache(
        &server.url,
        Duration::from_secs(3600),
        Duration::from_secs(30),
    );
    assert_eq!(
        validate(&empty, &a.sign(&claims()), &expect())
            .await
            .unwrap_err(),
        TokenRejected::KeysUnavailable
    );
}
