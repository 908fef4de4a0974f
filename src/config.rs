//! Settings from the environment (and `.env`), validated once at start-up.
//!
//! Every problem is reported with the variable's name and how to fix it, all at once,
//! so an operator fixes a broken configuration in one pass. Each area of the
//! configuration is read in a module of its own; [`Settings::from_lookup`] composes
//! them into one flat [`Settings`].

use std::{collections::HashMap, fmt, net::SocketAddr, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use url::Url;

mod accounts;
mod authentik;
mod limits;
mod mail;
mod oidc;
mod reader;
mod secret;
mod server;
mod stores;
mod tokens;
mod webauthn;
pub use authentik::AuthentikSettings;
pub use mail::MailQueueSettings;
pub use oidc::{DEFAULT_ID_TOKEN_ALGORITHMS, OidcSettings};
use reader::Reader;
pub use secret::MIN_SECRET_KEY_LEN;
pub use tokens::{DEFAULT_EXCHANGE_ALGORITHMS, ExchangeSettings, TokenSettings};
pub use webauthn::UserVerification;

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
    /// `AUTH_PASSWORD_HASH_THREADS`: passwords hashed or checked at once (default: the
    /// number of cores).
    pub password_hash_threads: usize,
    /// `AUTH_PASSWORD_HASH_QUEUE`: passwords waiting for a thread; past that, sign-in
    /// answers 503 at once.
    pub password_hash_queue: usize,
    /// `AUTH_MAX_FAILED_ATTEMPTS`.
    pub max_failed_attempts: u32,
    /// `AUTH_LOCKOUT_DURATION_MINUTES`.
    pub lockout_duration: Duration,
    /// `DEVICE_AUTH_REQUIRED`: every person of every organization must have a second
    /// factor (and single sign-on must show one).
    pub device_auth_required: bool,
    /// `AUTH_SESSION_COOKIE_SECURE`: send the session cookie over HTTPS only.
    pub session_cookie_secure: bool,
    /// `AUTH_SESSION_IDLE_MINUTES`: a session unused this long ends.
    pub session_idle: Duration,
    /// `AUTH_SESSION_ABSOLUTE_HOURS`: no session lives longer than this.
    pub session_absolute: Duration,
    /// `PORTAL_DB_POOL_SIZE`.
    pub db_pool_size: usize,
    /// `TENANT_SPARE_SCHEMAS`: ready schemas kept for sign-ups (0: build each at sign-up).
    pub tenant_spare_schemas: usize,
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
    /// `TENANT_DELETE_GRACE_DAYS` (30): how long a deleted organization can be restored
    /// before its schema is dropped.
    pub tenant_delete_grace: Duration,
    /// `PORTAL_MAIL_POLL_MS`, `PORTAL_MAIL_BACKOFF_MS`, `PORTAL_MAIL_MAX_ATTEMPTS`.
    pub mail_queue: MailQueueSettings,
    /// `METRICS_TOKEN`: the bearer token of `GET /metrics`; without it there is no
    /// such page.
    pub metrics_token: Option<SecretString>,
    /// `WEBAUTHN_USER_VERIFICATION`: what passkeys must prove (`required` by default).
    pub webauthn_user_verification: UserVerification,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("environment", &self.environment)
            .field("bind", &self.bind)
            .field("base_url", &self.base_url.as_str())
            .field("password_hash_rounds", &self.password_hash_rounds)
            .field("password_hash_threads", &self.password_hash_threads)
            .field("password_hash_queue", &self.password_hash_queue)
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
        match Areas::read(&mut r) {
            Some(areas) if r.problems.is_empty() => Ok(areas.into()),
            _ => Err(ConfigError(r.problems)),
        }
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

/// What each area of the configuration read, before [`Settings`] lays it out flat.
struct Areas {
    environment: Environment,
    server: server::Server,
    database: stores::Database,
    redis: stores::Redis,
    secret_key: String,
    passwords: accounts::Passwords,
    sessions: accounts::Sessions,
    log_json: bool,
    mail: mail::Mail,
    links: accounts::Links,
    rate_limits: limits::RateLimits,
    oidc: Option<OidcSettings>,
    tokens: TokenSettings,
    authentik: Option<AuthentikSettings>,
    authentik_group_prefix: String,
    warnings: Vec<String>,
    tenant_delete_grace: Duration,
    metrics_token: Option<String>,
    webauthn_user_verification: UserVerification,
}

impl Areas {
    /// Reads every area, collecting problems in `r`; none when the server's base URL
    /// cannot be formed, which the token settings need.
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        let environment = server::environment(r);
        let prod = environment == Environment::Production;
        let server = server::read(r, prod)?;
        let database = stores::database(r, prod);
        let redis = stores::redis(r, prod);
        let mut warnings = Vec::new();
        let secret_key = secret::read(r, prod, &mut warnings);
        let passwords = accounts::passwords(r, prod);
        let sessions = accounts::sessions(r, prod);
        let log_json = server::log_json(r, prod);
        let mail = mail::read(r, prod);
        let links = accounts::links(r);
        let rate_limits = limits::read(r);
        let oidc = oidc::read(r, prod);
        let tokens = tokens::read(r, &server.base_url, oidc.as_ref());
        let authentik = authentik::read(r, prod);
        let authentik_group_prefix = authentik::group_prefix(r);
        let tenant_delete_grace = r.duration("TENANT_DELETE_GRACE_DAYS", 1, 365, 30);
        let metrics_token = mail::metrics_token(r);
        let webauthn_user_verification = webauthn::read(r, prod);
        Some(Areas {
            environment,
            server,
            database,
            redis,
            secret_key,
            passwords,
            sessions,
            log_json,
            mail,
            links,
            rate_limits,
            oidc,
            tokens,
            authentik,
            authentik_group_prefix,
            warnings,
            tenant_delete_grace,
            metrics_token,
            webauthn_user_verification,
        })
    }
}

impl From<Areas> for Settings {
    fn from(a: Areas) -> Self {
        Settings {
            environment: a.environment,
            bind: a.server.bind,
            base_url: a.server.base_url,
            database_url: SecretString::from(a.database.url),
            redis_url: SecretString::from(a.redis.url),
            secret_key: SecretString::from(a.secret_key),
            password_auth_enabled: a.passwords.enabled,
            password_hash_rounds: a.passwords.hash_rounds,
            password_hash_threads: a.passwords.hash_threads,
            password_hash_queue: a.passwords.hash_queue,
            max_failed_attempts: a.passwords.max_failed_attempts,
            lockout_duration: a.passwords.lockout_duration,
            device_auth_required: a.passwords.device_auth_required,
            session_cookie_secure: a.sessions.cookie_secure,
            session_idle: a.sessions.idle,
            session_absolute: a.sessions.absolute,
            db_pool_size: a.database.pool_size,
            tenant_spare_schemas: a.database.spare_schemas,
            log_json: a.log_json,
            smtp_url: a.mail.smtp_url.map(SecretString::from),
            mail_from: a.mail.from,
            mail_dir: a.mail.dir,
            trusted_proxies: a.server.trusted_proxies,
            password_reset_ttl: a.links.password_reset,
            email_verification_ttl: a.links.email_verification,
            invitation_ttl: a.links.invitation,
            redis_key_prefix: a.redis.key_prefix,
            rate_limit_enabled: a.rate_limits.enabled,
            rate_limit_login_per_minute: a.rate_limits.login_per_minute,
            rate_limit_signup_per_hour: a.rate_limits.signup_per_hour,
            rate_limit_general_per_minute: a.rate_limits.general_per_minute,
            oidc: a.oidc,
            tokens: a.tokens,
            authentik: a.authentik,
            authentik_group_prefix: a.authentik_group_prefix,
            warnings: a.warnings,
            tenant_delete_grace: a.tenant_delete_grace,
            mail_queue: a.mail.queue,
            metrics_token: a.metrics_token.map(SecretString::from),
            webauthn_user_verification: a.webauthn_user_verification,
        }
    }
}

#[cfg(test)]
mod tests;
