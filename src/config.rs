//! Settings from the environment (and `.env`), validated once at start-up.
//!
//! Every problem is reported with the variable's name and how to fix it, all at once,
//! so an operator fixes a broken configuration in one pass.

use std::{collections::HashMap, fmt, net::SocketAddr, time::Duration};

use rand::{Rng, distributions::Alphanumeric};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

mod authentik;
mod oidc;
mod reader;
mod tokens;
pub use authentik::AuthentikSettings;
pub use oidc::{DEFAULT_ID_TOKEN_ALGORITHMS, OidcSettings};
use reader::Reader;
pub use tokens::{DEFAULT_EXCHANGE_ALGORITHMS, ExchangeSettings, TokenSettings};

/// Where the portal runs; production turns on the strict checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Local development and tests.
    Development,
    /// A deployment that real people use.
    Production,
}

/// The validated configuration of one portal process.
#[derive(Clone)]
pub struct Settings {
    /// `PORTAL_ENV`.
    pub environment: Environment,
    /// `PORTAL_BIND`: the address the HTTP server listens on.
    pub bind: SocketAddr,
    /// `PORTAL_BASE_URL`: how people reach the portal (links, redirect URIs).
    pub base_url: Url,
    /// `DATABASE_URL`.
    pub database_url: SecretString,
    /// `REDIS_URL`.
    pub redis_url: SecretString,
    /// `SECRET_KEY`: signs cookies and CSRF tokens.
    pub secret_key: SecretString,
    /// `PASSWORD_AUTH_ENABLED`: the platform-wide switch for password sign-in.
    pub password_auth_enabled: bool,
    /// `AUTH_PASSWORD_HASH_ROUNDS`: bcrypt cost.
    pub password_hash_rounds: u32,
    /// `AUTH_MAX_FAILED_ATTEMPTS`.
    pub max_failed_attempts: u32,
    /// `AUTH_LOCKOUT_DURATION_MINUTES`.
    pub lockout_duration: Duration,
    /// `AUTH_SESSION_COOKIE_SECURE`: send the session cookie over HTTPS only.
    pub session_cookie_secure: bool,
    /// `AUTH_SESSION_IDLE_MINUTES`: a session unused this long ends.
    pub session_idle: Duration,
    /// `AUTH_SESSION_ABSOLUTE_HOURS`: no session lives longer than this.
    pub session_absolute: Duration,
    /// `PORTAL_DB_POOL_SIZE`.
    pub db_pool_size: usize,
    /// `PORTAL_LOG_FORMAT`: `json` for machines, anything else for people.
    pub log_json: bool,
    /// `SMTP_URL`: send mail through this server; unset writes mail to the mail folder.
    pub smtp_url: Option<SecretString>,
    /// `PORTAL_MAIL_FROM`.
    pub mail_from: String,
    /// `PORTAL_MAIL_DIR`: where mail goes without SMTP.
    pub mail_dir: std::path::PathBuf,
    /// `PORTAL_TRUSTED_PROXIES`: peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `AUTH_PASSWORD_RESET_MINUTES`: how long a reset link works.
    pub password_reset_ttl: Duration,
    /// `AUTH_EMAIL_VERIFICATION_HOURS`: how long a verification link works.
    pub email_verification_ttl: Duration,
    /// `AUTH_INVITATION_DAYS`: how long an invitation link works.
    pub invitation_ttl: Duration,
    /// `REDIS_KEY_PREFIX`: namespace of the portal's shared keys (rate limits).
    pub redis_key_prefix: String,
    /// `RATE_LIMIT_ENABLED`: the switch for every rate limit.
    pub rate_limit_enabled: bool,
    /// `RATE_LIMIT_LOGIN_PER_MINUTE`: sign-in attempts per client IP.
    pub rate_limit_login_per_minute: u32,
    /// `RATE_LIMIT_SIGNUP_PER_HOUR`: sign-ups and registrations per client IP.
    pub rate_limit_signup_per_hour: u32,
    /// `RATE_LIMIT_GENERAL_PER_MINUTE`: requests of any kind per client IP.
    pub rate_limit_general_per_minute: u32,
    /// Single sign-on; none when `OIDC_ISSUER_URL` is unset.
    pub oidc: Option<OidcSettings>,
    /// The token API (`JWT_*`).
    pub tokens: TokenSettings,
    /// `AUTHENTIK_*`: the Authentik admin API, when `AUTHENTIK_URL` and
    /// `AUTHENTIK_TOKEN` are set.
    pub authentik: Option<AuthentikSettings>,
    /// `AUTHENTIK_GROUP_PREFIX`: Authentik groups are `<prefix><slug>-<role>`.
    pub authentik_group_prefix: String,
    /// Warnings worth showing at start-up that do not stop it.
    pub warnings: Vec<String>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("environment", &self.environment)
            .field("bind", &self.bind)
            .field("base_url", &self.base_url.as_str())
            .field("password_hash_rounds", &self.password_hash_rounds)
            .field("session_cookie_secure", &self.session_cookie_secure)
            .field("oidc", &self.oidc)
            .finish_non_exhaustive()
    }
}

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// All the problems found, reported together.
#[derive(Debug)]
pub struct ConfigError(pub Vec<ConfigProblem>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the configuration has {} problem(s):", self.0.len())?;
        for p in &self.0 {
            writeln!(f, "  - {}: {}", p.variable, p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The smallest `SECRET_KEY` accepted, in characters.
pub const MIN_SECRET_KEY_LEN: usize = 64;
const WEAK_SECRETS: &[&str] = &["changeme", "change-me", "secret", "development", "insecure"];

const DEV_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/tenant_portal?sslmode=disable";
const DEV_REDIS_URL: &str = "redis://127.0.0.1:6379";

impl Settings {
    /// Reads `.env` (when present) and the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; the environment alone may configure everything.
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from a map of variables (tests, tools).
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| vars.get(name).cloned())
    }

    /// Builds settings from any source of variables.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut r = Reader {
            get: &get,
            problems: Vec::new(),
        };
        let environment = match r.text("PORTAL_ENV").as_deref() {
            None | Some("development") | Some("dev") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => {
                r.problem(
                    "PORTAL_ENV",
                    format!("`{other}` is not an environment; use development or production"),
                );
                Environment::Development
            }
        };
        let prod = environment == Environment::Production;
        let mut warnings = Vec::new();

        let bind = r
            .parsed::<SocketAddr>("PORTAL_BIND", "an address such as 127.0.0.1:8080")
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let base_url = match r.text("PORTAL_BASE_URL") {
            Some(v) => match Url::parse(&v) {
                Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Some(u),
                _ => {
                    r.problem(
                        "PORTAL_BASE_URL",
                        "must be an http(s) URL such as https://portal.example.com".into(),
                    );
                    None
                }
            },
            None if prod => {
                r.problem(
                    "PORTAL_BASE_URL",
                    "is required in production: set it to the public https URL of the portal"
                        .into(),
                );
                None
            }
            None => None,
        };
        // Without PORTAL_BASE_URL (development), the bind address serves as the base.
        let Some(base_url) = base_url.or_else(|| Url::parse(&format!("http://{bind}")).ok()) else {
            r.problem(
                "PORTAL_BASE_URL",
                "is required: set it to the URL people use to reach the portal".into(),
            );
            return Err(ConfigError(r.problems));
        };
        if prod && base_url.scheme() != "https" {
            r.problem(
                "PORTAL_BASE_URL",
                "must use https in production; sessions would travel in clear".into(),
            );
        }

        let database_url = r.service_url(
            "DATABASE_URL",
            &["postgres", "postgresql"],
            DEV_DATABASE_URL,
            prod,
        );
        let redis_url = r.service_url("REDIS_URL", &["redis", "rediss"], DEV_REDIS_URL, prod);

        let secret_key = match r.text("SECRET_KEY") {
            Some(k) if WEAK_SECRETS.iter().any(|w| k.eq_ignore_ascii_case(w)) => {
                r.problem("SECRET_KEY", "is a well-known placeholder; generate a random one (for example `openssl rand -base64 48`)".into());
                None
            }
            Some(k) if k.chars().count() < MIN_SECRET_KEY_LEN => {
                r.problem(
                    "SECRET_KEY",
                    format!("is too short: use at least {MIN_SECRET_KEY_LEN} random characters (for example `openssl rand -base64 48`)"),
                );
                None
            }
            Some(k) => Some(k),
            None if prod => {
                r.problem("SECRET_KEY", format!("is required in production: set at least {MIN_SECRET_KEY_LEN} random characters"));
                None
            }
            None => {
                warnings.push("SECRET_KEY is not set: using a random key for this process, so sessions end when it stops".into());
                None
            }
        };
        let secret_key = secret_key.unwrap_or_else(random_secret);

        let password_auth_enabled = r.flag("PASSWORD_AUTH_ENABLED").unwrap_or(true);
        let password_hash_rounds = r.number("AUTH_PASSWORD_HASH_ROUNDS", 4, 31).unwrap_or(12);
        if prod && password_hash_rounds < 10 {
            r.problem(
                "AUTH_PASSWORD_HASH_ROUNDS",
                "must be at least 10 in production (12 is the default)".into(),
            );
        }
        let max_failed_attempts = r.number("AUTH_MAX_FAILED_ATTEMPTS", 1, 1000).unwrap_or(5);
        let lockout_duration = r.duration("AUTH_LOCKOUT_DURATION_MINUTES", 1, 10_080, 15);
        let session_cookie_secure = r.flag("AUTH_SESSION_COOKIE_SECURE").unwrap_or(prod);
        if prod && !session_cookie_secure {
            r.problem(
                "AUTH_SESSION_COOKIE_SECURE",
                "must not be false in production: the session cookie would be sent over plain HTTP"
                    .into(),
            );
        }
        let session_idle = r.duration("AUTH_SESSION_IDLE_MINUTES", 1, 43_200, 120);
        let session_absolute = r.duration("AUTH_SESSION_ABSOLUTE_HOURS", 1, 8_760, 12);
        let db_pool_size = r.number("PORTAL_DB_POOL_SIZE", 1, 1000).unwrap_or(16) as usize;
        let log_json = r
            .text("PORTAL_LOG_FORMAT")
            .map(|v| v == "json")
            .unwrap_or(prod);
        let smtp_url = r.text("SMTP_URL");
        if let Some(u) = &smtp_url
            && !(u.starts_with("smtp://") || u.starts_with("smtps://"))
        {
            r.problem("SMTP_URL", "must start with smtp:// or smtps://".into());
        }
        let mail_from = r
            .text("PORTAL_MAIL_FROM")
            .unwrap_or_else(|| "Tenant Portal <no-reply@tenant-portal.invalid>".into());
        let mail_dir = r
            .text("PORTAL_MAIL_DIR")
            .unwrap_or_else(|| "mail".into())
            .into();
        let trusted_proxies = r.ip_list("PORTAL_TRUSTED_PROXIES");
        let password_reset_ttl = r.duration("AUTH_PASSWORD_RESET_MINUTES", 5, 1440, 30);
        let email_verification_ttl = r.duration("AUTH_EMAIL_VERIFICATION_HOURS", 1, 720, 48);
        let invitation_ttl = r.duration("AUTH_INVITATION_DAYS", 1, 90, 7);
        let redis_key_prefix = r
            .text("REDIS_KEY_PREFIX")
            .unwrap_or_else(|| "portal".into());
        let rate_limit_enabled = r.flag("RATE_LIMIT_ENABLED").unwrap_or(true);
        let rate_limit_login_per_minute = r
            .number("RATE_LIMIT_LOGIN_PER_MINUTE", 1, 100_000)
            .unwrap_or(10);
        let rate_limit_signup_per_hour = r
            .number("RATE_LIMIT_SIGNUP_PER_HOUR", 1, 1_000_000)
            .unwrap_or(20);
        let rate_limit_general_per_minute = r
            .number("RATE_LIMIT_GENERAL_PER_MINUTE", 1, 1_000_000)
            .unwrap_or(600);
        let oidc = oidc::read(&mut r, prod);
        let tokens = tokens::read(&mut r, &base_url, oidc.as_ref());

        let authentik = authentik::read(&mut r, prod);
        let authentik_group_prefix = r
            .text("AUTHENTIK_GROUP_PREFIX")
            .unwrap_or_else(|| "tenant-".into());
        if authentik_group_prefix.len() > 40
            || !authentik_group_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            r.problem(
                "AUTHENTIK_GROUP_PREFIX",
                "use up to 40 letters, digits, `-`, `_` or `.` (the default is tenant-)".into(),
            );
        }

        if !r.problems.is_empty() {
            return Err(ConfigError(r.problems));
        }
        Ok(Settings {
            environment,
            bind,
            base_url,
            database_url: SecretString::from(database_url),
            redis_url: SecretString::from(redis_url),
            secret_key: SecretString::from(secret_key),
            password_auth_enabled,
            password_hash_rounds,
            max_failed_attempts,
            lockout_duration,
            session_cookie_secure,
            session_idle,
            session_absolute,
            db_pool_size,
            log_json,
            smtp_url: smtp_url.map(SecretString::from),
            mail_from,
            mail_dir,
            trusted_proxies,
            password_reset_ttl,
            email_verification_ttl,
            invitation_ttl,
            redis_key_prefix,
            rate_limit_enabled,
            rate_limit_login_per_minute,
            rate_limit_signup_per_hour,
            rate_limit_general_per_minute,
            oidc,
            tokens,
            authentik,
            authentik_group_prefix,
            warnings,
        })
    }

    /// Whether this is a production deployment.
    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    /// The secret key's bytes, for deriving signing keys.
    pub fn secret_bytes(&self) -> &[u8] {
        self.secret_key.expose_secret().as_bytes()
    }
}

fn random_secret() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(MIN_SECRET_KEY_LEN)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests;
