//! Reading and validating the settings.

use super::*;

fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let map = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_map(&map)
}

#[test]
fn development_defaults_work_without_any_variable() {
    let s = settings(&[]).expect("defaults are valid");
    assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(s.password_hash_rounds, 12);
    assert!(!s.session_cookie_secure);
    assert_eq!(s.secret_key.expose_secret().len(), MIN_SECRET_KEY_LEN);
}

#[test]
fn production_names_every_missing_variable() {
    let err = settings(&[("PORTAL_ENV", "production")]).unwrap_err();
    let vars: Vec<_> = err.0.iter().map(|p| p.variable).collect();
    for v in ["PORTAL_BASE_URL", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"] {
        assert!(vars.contains(&v), "{v} missing from {vars:?}");
    }
}

#[test]
fn short_or_placeholder_secret_is_refused() {
    let err = settings(&[("SECRET_KEY", "short")]).unwrap_err();
    assert_eq!(err.0[0].variable, "SECRET_KEY");
    let err = settings(&[("SECRET_KEY", "changeme")]).unwrap_err();
    assert!(err.0[0].message.contains("placeholder"));
}

#[test]
fn localhost_in_service_urls_is_refused_without_echoing_passwords() {
    let err = settings(&[("DATABASE_URL", "postgres://u:hunter2@localhost/db")]).unwrap_err();
    assert_eq!(err.0[0].variable, "DATABASE_URL");
    assert!(err.0[0].message.contains("127.0.0.1"));
    assert!(!err.to_string().contains("hunter2"));
}

#[test]
fn insecure_cookie_in_production_is_refused() {
    let key = "k".repeat(64);
    let err = settings(&[
        ("PORTAL_ENV", "production"),
        ("PORTAL_BASE_URL", "https://portal.example.com"),
        ("DATABASE_URL", "postgres://p@127.0.0.1/x"),
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("SECRET_KEY", &key),
        ("AUTH_SESSION_COOKIE_SECURE", "false"),
    ])
    .unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert_eq!(err.0[0].variable, "AUTH_SESSION_COOKIE_SECURE");
}

#[test]
fn authentik_needs_url_and_token_together_and_no_localhost() {
    assert!(settings(&[]).expect("valid").authentik.is_none());
    let err = settings(&[("AUTHENTIK_URL", "http://127.0.0.1:9000")]).unwrap_err();
    assert_eq!(err.0[0].variable, "AUTHENTIK_TOKEN");
    let err = settings(&[
        ("AUTHENTIK_URL", "http://localhost:9000"),
        ("AUTHENTIK_TOKEN", "tok-secret"),
    ])
    .unwrap_err();
    assert_eq!(err.0[0].variable, "AUTHENTIK_URL");
    assert!(!err.to_string().contains("tok-secret"));
    let s = settings(&[
        ("AUTHENTIK_URL", "http://127.0.0.1:9000"),
        ("AUTHENTIK_TOKEN", "tok-secret"),
    ])
    .expect("valid");
    let a = s.authentik.expect("configured");
    assert!(!format!("{a:?}").contains("tok-secret"));
    assert_eq!(s.authentik_group_prefix, "tenant-");
}

#[test]
fn bad_numbers_name_the_range() {
    let err = settings(&[("AUTH_PASSWORD_HASH_ROUNDS", "40")]).unwrap_err();
    assert!(err.0[0].message.contains("4 to 31"));
}

#[test]
fn the_token_exchange_defaults_to_the_sso_provider_and_needs_an_audience() {
    assert!(settings(&[]).unwrap().tokens.exchange.is_none());
    let s = settings(&[
        (
            "OIDC_ISSUER_URL",
            "https://auth.example.com/application/o/portal/",
        ),
        ("OIDC_CLIENT_ID", "portal"),
        ("OIDC_CLIENT_SECRET", "s3cret"),
        ("OIDC_JWKS_MIN_REFRESH_SECONDS", "5"),
    ])
    .unwrap();
    let x = s.tokens.exchange.expect("exchange on");
    assert_eq!(x.issuer, "https://auth.example.com/application/o/portal/");
    assert_eq!(x.audience, vec!["portal"]);
    assert_eq!(x.jwks_min_refresh.as_secs(), 5);
    assert_eq!(s.tokens.access_ttl.as_secs(), 900);
    assert_eq!(s.tokens.refresh_ttl.as_secs(), 30 * 86_400);

    let err = settings(&[(
        "JWT_ISSUER",
        "https://auth.example.com/application/o/portal/",
    )])
    .unwrap_err()
    .to_string();
    assert!(err.contains("JWT_AUDIENCE"), "{err}");
    let err = settings(&[
        (
            "JWT_ISSUER",
            "https://auth.example.com/application/o/portal/",
        ),
        ("JWT_AUDIENCE", "portal"),
        ("JWT_ALGORITHMS", "HS256"),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("OIDC_CLIENT_SECRET"), "{err}");
    let err = settings(&[("JWT_ALGORITHMS", "none")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("JWT_ALGORITHMS"), "{err}");
}
