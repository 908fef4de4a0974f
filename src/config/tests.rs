//! Reading and validating the settings.

use super::stores::{DEV_DATABASE_URL, DEV_REDIS_URL};
use super::*;

pub(super) fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
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
        ("SMTP_URL", "smtps://u:p@smtp.example.test"),
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

/// The variables a valid production configuration needs, plus `extra`.
pub(super) fn production(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("PORTAL_ENV", "production".to_string()),
        ("PORTAL_BASE_URL", "https://portal.example.com".into()),
        ("DATABASE_URL", "postgres://p@127.0.0.1/x".into()),
        ("REDIS_URL", "redis://127.0.0.1:6379".into()),
        ("SECRET_KEY", "k".repeat(64)),
        ("SMTP_URL", "smtps://u:p@smtp.example.test".into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    vars
}

pub(super) fn production_settings(
    extra: &[(&'static str, &'static str)],
) -> Result<Settings, ConfigError> {
    let vars = production(extra);
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    settings(&pairs)
}

/// The messages of every problem, as `VARIABLE: message`.
pub(super) fn problems(err: ConfigError) -> Vec<String> {
    err.0
        .iter()
        .map(|p| format!("{}: {}", p.variable, p.message))
        .collect()
}

#[test]
fn the_environment_is_named_or_refused() {
    assert_eq!(settings(&[]).unwrap().environment, Environment::Development);
    assert!(production_settings(&[]).unwrap().is_production());
    let s = production_settings(&[("PORTAL_ENV", "prod")]).unwrap();
    assert_eq!(s.environment, Environment::Production);
    let err = settings(&[("PORTAL_ENV", "staging")]).unwrap_err();
    assert_eq!(
        problems(err),
        ["PORTAL_ENV: `staging` is not an environment; use development or production"]
    );
}

#[test]
fn the_server_address_and_base_url() {
    let s = settings(&[("PORTAL_BIND", "127.0.0.1:9090")]).unwrap();
    assert_eq!(s.base_url.as_str(), "http://127.0.0.1:9090/");
    assert!(s.trusted_proxies.is_empty());
    let err = settings(&[("PORTAL_BIND", "nowhere")]).unwrap_err();
    assert_eq!(
        problems(err),
        ["PORTAL_BIND: `nowhere` is not valid: expected an address such as 127.0.0.1:8080"]
    );
    let err = settings(&[("PORTAL_BASE_URL", "ftp://portal.example.com")]).unwrap_err();
    assert_eq!(
        problems(err),
        ["PORTAL_BASE_URL: must be an http(s) URL such as https://portal.example.com"]
    );
    let err = production_settings(&[("PORTAL_BASE_URL", "http://portal.example.com")]).unwrap_err();
    assert_eq!(
        problems(err),
        ["PORTAL_BASE_URL: must use https in production; sessions would travel in clear"]
    );
    let s = settings(&[("PORTAL_TRUSTED_PROXIES", "10.0.0.1, ::1,")]).unwrap();
    assert_eq!(s.trusted_proxies.len(), 2);
    let err = settings(&[("PORTAL_TRUSTED_PROXIES", "10.0.0.1,proxy")]).unwrap_err();
    assert_eq!(
        problems(err),
        [
            "PORTAL_TRUSTED_PROXIES: `proxy` is not an IP address; list addresses separated by commas"
        ]
    );
}

#[test]
fn database_and_redis_defaults_and_schemes() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.database_url.expose_secret(), DEV_DATABASE_URL);
    assert_eq!(s.redis_url.expose_secret(), DEV_REDIS_URL);
    // Twice the cores, at least 4.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    assert_eq!(s.db_pool_size, (cores * 2).max(4));
    assert_eq!(s.redis_key_prefix, "portal");
    let s = settings(&[
        ("REDIS_URL", "rediss://127.0.0.1:6380"),
        ("PORTAL_DB_POOL_SIZE", "8"),
    ])
    .unwrap();
    assert_eq!(s.db_pool_size, 8);
    let err = settings(&[
        ("DATABASE_URL", "mysql://127.0.0.1/x"),
        ("PORTAL_DB_POOL_SIZE", "0"),
    ])
    .unwrap_err();
    assert_eq!(
        problems(err),
        [
            format!("DATABASE_URL: is not a valid postgres URL, e.g. {DEV_DATABASE_URL}"),
            "PORTAL_DB_POOL_SIZE: 0 is out of range: use 1 to 1000".into(),
        ]
    );
}

#[test]
fn a_missing_secret_in_development_is_a_warning() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].starts_with("SECRET_KEY is not set"));
    let err = settings(&[("SECRET_KEY", "CHANGEME")]).unwrap_err();
    assert!(err.0[0].message.contains("placeholder"));
    let key = "k".repeat(64);
    let s = settings(&[("SECRET_KEY", &key)]).unwrap();
    assert!(s.warnings.is_empty());
    assert_eq!(s.secret_bytes(), key.as_bytes());
}

#[test]
fn passwords_and_lockout() {
    let s = settings(&[]).unwrap();
    assert!(s.password_auth_enabled);
    assert_eq!(s.max_failed_attempts, 5);
    assert_eq!(s.lockout_duration.as_secs(), 15 * 60);
    let s = settings(&[
        ("PASSWORD_AUTH_ENABLED", "off"),
        ("AUTH_PASSWORD_HASH_ROUNDS", "4"),
    ])
    .unwrap();
    assert!(!s.password_auth_enabled);
    assert_eq!(s.password_hash_rounds, 4);
    let err = settings(&[("PASSWORD_AUTH_ENABLED", "maybe")]).unwrap_err();
    assert_eq!(
        problems(err),
        ["PASSWORD_AUTH_ENABLED: `maybe` is not a yes/no value: use true or false"]
    );
    let err = production_settings(&[("AUTH_PASSWORD_HASH_ROUNDS", "9")]).unwrap_err();
    assert_eq!(
        problems(err),
        ["AUTH_PASSWORD_HASH_ROUNDS: must be at least 10 in production (12 is the default)"]
    );
    let err = settings(&[("AUTH_LOCKOUT_DURATION_MINUTES", "10081")]).unwrap_err();
    assert_eq!(
        problems(err),
        ["AUTH_LOCKOUT_DURATION_MINUTES: 10081 is out of range: use 1 to 10080"]
    );
}

#[test]
fn sessions() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.session_idle.as_secs(), 120 * 60);
    assert_eq!(s.session_absolute.as_secs(), 12 * 3600);
    assert!(production_settings(&[]).unwrap().session_cookie_secure);
    let s = settings(&[("AUTH_SESSION_COOKIE_SECURE", "true")]).unwrap();
    assert!(s.session_cookie_secure);
    let err = settings(&[("AUTH_SESSION_ABSOLUTE_HOURS", "0")]).unwrap_err();
    assert_eq!(
        problems(err),
        ["AUTH_SESSION_ABSOLUTE_HOURS: 0 is out of range: use 1 to 8760"]
    );
}

#[test]
fn logging_is_json_in_production_unless_told() {
    assert!(!settings(&[]).unwrap().log_json);
    assert!(settings(&[("PORTAL_LOG_FORMAT", "json")]).unwrap().log_json);
    assert!(production_settings(&[]).unwrap().log_json);
    assert!(
        !production_settings(&[("PORTAL_LOG_FORMAT", "pretty")])
            .unwrap()
            .log_json
    );
}

#[test]
fn mail_defaults_and_smtp_schemes() {
    let s = settings(&[]).unwrap();
    assert!(s.smtp_url.is_none());
    assert_eq!(
        s.mail_from,
        "Tenant Portal <no-reply@tenant-portal.invalid>"
    );
    assert_eq!(s.mail_dir, std::path::PathBuf::from("mail"));
    let s = settings(&[("SMTP_URL", "smtps://u:p@mail.example.com")]).unwrap();
    assert!(s.smtp_url.is_some());
    let err = settings(&[("SMTP_URL", "http://mail.example.com")]).unwrap_err();
    assert_eq!(
        problems(err),
        ["SMTP_URL: must start with smtp:// or smtps://"]
    );
}

#[test]
fn link_lifetimes() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.password_reset_ttl.as_secs(), 30 * 60);
    assert_eq!(s.email_verification_ttl.as_secs(), 48 * 3600);
    assert_eq!(s.invitation_ttl.as_secs(), 7 * 86_400);
    let err = settings(&[
        ("AUTH_PASSWORD_RESET_MINUTES", "4"),
        ("AUTH_INVITATION_DAYS", "91"),
    ])
    .unwrap_err();
    assert_eq!(
        problems(err),
        [
            "AUTH_PASSWORD_RESET_MINUTES: 4 is out of range: use 5 to 1440",
            "AUTH_INVITATION_DAYS: 91 is out of range: use 1 to 90",
        ]
    );
}

#[test]
fn rate_limits() {
    let s = settings(&[]).unwrap();
    assert!(s.rate_limit_enabled);
    assert_eq!(s.rate_limit_login_per_minute, 10);
    assert_eq!(s.rate_limit_signup_per_hour, 20);
    assert_eq!(s.rate_limit_general_per_minute, 600);
    assert_eq!(s.tokens.rate_per_minute, 60);
    let s = settings(&[("RATE_LIMIT_ENABLED", "false")]).unwrap();
    assert!(!s.rate_limit_enabled);
    let err = settings(&[("RATE_LIMIT_LOGIN_PER_MINUTE", "0")]).unwrap_err();
    assert_eq!(
        problems(err),
        ["RATE_LIMIT_LOGIN_PER_MINUTE: 0 is out of range: use 1 to 60000"]
    );
}

#[test]
fn the_authentik_group_prefix_is_checked() {
    let s = settings(&[("AUTHENTIK_GROUP_PREFIX", "org.")]).unwrap();
    assert_eq!(s.authentik_group_prefix, "org.");
    let long = "p".repeat(41);
    for bad in ["org prefix", long.as_str()] {
        let err = settings(&[("AUTHENTIK_GROUP_PREFIX", bad)]).unwrap_err();
        assert_eq!(
            problems(err),
            [
                "AUTHENTIK_GROUP_PREFIX: use up to 40 letters, digits, `-`, `_` or `.` (the default is tenant-)"
            ]
        );
    }
}

#[test]
fn rate_limits_finer_than_the_limiter_can_count_are_refused() {
    let s = settings(&[
        ("RATE_LIMIT_GENERAL_PER_MINUTE", "60000"),
        ("RATE_LIMIT_LOGIN_PER_MINUTE", "60000"),
        ("RATE_LIMIT_SIGNUP_PER_HOUR", "3600000"),
        ("RATE_LIMIT_TOKEN_PER_MINUTE", "60000"),
    ])
    .unwrap();
    assert_eq!(s.rate_limit_general_per_minute, 60_000);
    let err = settings(&[
        ("RATE_LIMIT_GENERAL_PER_MINUTE", "60001"),
        ("RATE_LIMIT_LOGIN_PER_MINUTE", "100000"),
        ("RATE_LIMIT_SIGNUP_PER_HOUR", "3600001"),
        ("RATE_LIMIT_TOKEN_PER_MINUTE", "1000000"),
    ])
    .unwrap_err();
    let mut found = problems(err);
    found.sort();
    assert_eq!(
        found,
        [
            "RATE_LIMIT_GENERAL_PER_MINUTE: 60001 is out of range: use 1 to 60000",
            "RATE_LIMIT_LOGIN_PER_MINUTE: 100000 is out of range: use 1 to 60000",
            "RATE_LIMIT_SIGNUP_PER_HOUR: 3600001 is out of range: use 1 to 3600000",
            "RATE_LIMIT_TOKEN_PER_MINUTE: 1000000 is out of range: use 1 to 60000",
        ]
    );
}

#[test]
fn password_hashing_threads_and_line() {
    let s = settings(&[
        ("AUTH_PASSWORD_HASH_THREADS", "3"),
        ("AUTH_PASSWORD_HASH_QUEUE", "0"),
    ])
    .unwrap();
    assert_eq!((s.password_hash_threads, s.password_hash_queue), (3, 0));
    assert_eq!(settings(&[]).unwrap().password_hash_queue, 32);
    let err = settings(&[("AUTH_PASSWORD_HASH_THREADS", "0")]).unwrap_err();
    assert_eq!(
        problems(err),
        ["AUTH_PASSWORD_HASH_THREADS: 0 is out of range: use 1 to 256"]
    );
}
