//! Builds the portal from its settings: pools, clients, middleware, routes.

use std::net::TcpListener;

use actix_session::{
    SessionMiddleware,
    config::{BrowserSession, CookieContentSecurity, TtlExtensionPolicy},
};
use actix_web::{
    App, Error, HttpServer,
    body::MessageBody,
    cookie::{Key, SameSite, time::Duration as CookieDuration},
    dev::{Server, ServiceRequest, ServiceResponse},
    middleware::{DefaultHeaders, Next, from_fn},
    web,
};
use redis::aio::ConnectionManager;
use secrecy::ExposeSecret;
use tracing_actix_web::TracingLogger;

use crate::auth::{
    csrf::{self, CsrfConfig},
    password::PasswordHasher,
    session::SessionPolicy,
    session_store::{self, RedisSessionStore},
};
use crate::config::Settings;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::tenancy::TenantRegistry;
use crate::{health, web as pages};

/// What every request handler may use.
pub struct AppState {
    /// Validated settings.
    pub settings: Settings,
    /// PostgreSQL pool.
    pub db: Db,
    /// bcrypt on the blocking pool.
    pub hasher: PasswordHasher,
    /// Redis (sessions, rate limits).
    pub redis: ConnectionManager,
    /// Outgoing mail.
    pub mailer: crate::mail::Mailer,
    /// Rate limits shared by every instance.
    pub limiter: crate::auth::rate_limit::RateLimiter,
    /// Single sign-on, when `OIDC_ISSUER_URL` is set.
    pub oidc: Option<crate::auth::oidc::Oidc>,
    /// Authentik's admin API, when `AUTHENTIK_URL` and `AUTHENTIK_TOKEN` are set.
    pub authentik: Option<std::sync::Arc<crate::authentik::AuthentikClient>>,
    /// The portal's own token signing keys.
    pub signing: std::sync::Arc<crate::auth::signing::SigningKeys>,
    /// The token exchange, when an issuer of Authentik tokens is known.
    pub exchange: Option<crate::auth::exchange::Exchange>,
}

impl AppState {
    /// Connects to PostgreSQL (lazily) and Redis, and prepares the password hasher.
    pub async fn connect(settings: Settings) -> anyhow::Result<Self> {
        // TLS for outgoing HTTPS (identity provider keys): one crypto provider for the
        // process. A second call finds it installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let db = Db::new(settings.database_url.expose_secret(), settings.db_pool_size)?;
        let redis = session_store::connect(settings.redis_url.expose_secret())
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to Redis at REDIS_URL: {e}"))?;
        let rounds = settings.password_hash_rounds;
        let hasher = tokio::task::spawn_blocking(move || PasswordHasher::new(rounds)).await??;
        let mailer = crate::mail::Mailer::new(
            settings.smtp_url.as_ref().map(|s| s.expose_secret()),
            &settings.mail_from,
            settings.mail_dir.clone(),
        )?;
        let limiter = crate::auth::rate_limit::RateLimiter::new(
            redis.clone(),
            &settings.redis_key_prefix,
            settings.rate_limit_enabled,
        );
        let key_sets = std::sync::Arc::new(key_sets(&settings)?);
        let oidc = match settings.oidc.clone() {
            Some(o) => Some(crate::auth::oidc::Oidc::new(
                o,
                &settings.base_url,
                key_sets.clone(),
            )?),
            None => None,
        };
        crate::authentik::client::install_crypto_provider();
        let authentik = match &settings.authentik {
            Some(a) => Some(std::sync::Arc::new(crate::authentik::AuthentikClient::new(
                a,
            )?)),
            None => None,
        };
        let signing = std::sync::Arc::new(crate::auth::signing::SigningKeys::new(
            db.clone(),
            settings.secret_bytes(),
            settings.tokens.clone(),
        ));
        let exchange = match settings.tokens.exchange.clone() {
            Some(x) => Some(crate::auth::exchange::Exchange::new(x, key_sets.clone())?),
            None => None,
        };
        Ok(Self {
            oidc,
            signing,
            exchange,
            settings,
            db,
            hasher,
            redis,
            mailer,
            limiter,
            authentik,
        })
    }

    /// Counts a request against a limit; over it, the error to answer with.
    pub async fn limit(
        &self,
        bucket: &str,
        subject: &str,
        quota: crate::auth::rate_limit::Quota,
        message: &'static str,
    ) -> AppResult<()> {
        match self.limiter.check(bucket, subject, quota).await {
            crate::auth::rate_limit::Decision::Allowed => Ok(()),
            crate::auth::rate_limit::Decision::Limited(wait) => {
                tracing::info!(bucket, "rate limited");
                Err(AppError::RateLimited {
                    retry_after: wait.as_secs().max(1),
                    message,
                })
            }
        }
    }

    /// Whether people can sign in through single sign-on on this portal; until then an
    /// organization cannot turn password sign-in off.
    pub fn sso_configured(&self) -> bool {
        self.oidc.is_some()
    }

    /// An absolute link into the portal, for mail.
    pub fn link(&self, path: &str) -> String {
        format!(
            "{}{path}",
            self.settings.base_url.as_str().trim_end_matches('/')
        )
    }

    /// Checks that Redis answers.
    pub async fn redis_ping(&self) -> AppResult<()> {
        let mut conn = self.redis.clone();
        session_store::with_deadline(redis::cmd("PING").query_async::<String>(&mut conn))
            .await
            .map(|_| ())
            .map_err(|_| AppError::Unavailable("session store"))
    }
}

/// The identity provider key set caches: the token exchange's settings when it is on
/// (they default to single sign-on's), else single sign-on's.
fn key_sets(settings: &Settings) -> anyhow::Result<crate::auth::jwks::KeySets> {
    use std::time::Duration;
    let (ttl, min_refetch) = match (&settings.tokens.exchange, &settings.oidc) {
        (Some(x), _) => (x.jwks_ttl, x.jwks_min_refresh),
        (None, Some(o)) => (Duration::from_secs(3600), o.jwks_min_refresh),
        (None, None) => (Duration::from_secs(3600), Duration::from_secs(60)),
    };
    let timeout = settings
        .oidc
        .as_ref()
        .map_or(Duration::from_secs(10), |o| o.http_timeout);
    // Never follow redirects: key set addresses come from configuration or discovery.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()?;
    Ok(crate::auth::jwks::KeySets::new(http, ttl, min_refetch))
}

/// A built portal, bound to its port, ready to run.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Builds the portal and binds `PORTAL_BIND` (port 0 picks a free port).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on PORTAL_BIND={}: {e}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let state = AppState::connect(settings).await?;
        // The outbox is delivered in the background; requests never wait for Authentik.
        if let (Some(client), Some(a)) = (&state.authentik, &state.settings.authentik) {
            let worker = crate::authentik::worker::Worker::new(
                state.db.clone(),
                client.clone(),
                a.clone(),
                state.settings.authentik_group_prefix.clone(),
            );
            tokio::spawn(worker.run());
        }
        // The signing keys are made or rotated now and looked at again periodically;
        // a database that is down at start only delays the first token.
        if let Err(e) = state.signing.maintain().await {
            tracing::warn!(error = %e, "token signing keys not ready yet");
        }
        let (keys, every) = (state.signing.clone(), state.settings.tokens.key_reload);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = keys.maintain().await {
                    tracing::warn!(error = %e, "token signing keys not maintained");
                }
            }
        });
        let server = serve(listener, state)?;
        Ok(Self { port, server })
    }

    /// The port the portal listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the process is asked to stop.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn serve(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let settings = state.settings.clone();
    let secure = settings.session_cookie_secure;
    let session_key = Key::derive_from(settings.secret_bytes());
    let csrf = web::Data::new(CsrfConfig::new(settings.secret_bytes(), secure));
    let policy = web::Data::new(SessionPolicy {
        absolute_secs: settings.session_absolute.as_secs() as i64,
    });
    let idle = CookieDuration::seconds(settings.session_idle.as_secs() as i64);
    let store = RedisSessionStore::new(state.redis.clone());
    let registry = web::Data::new(TenantRegistry::new(state.db.clone()));
    let state = web::Data::new(state);
    // `__Host-` cookies are only accepted over HTTPS, bound to this host and path `/`.
    let cookie_name = if secure {
        "__Host-portal_session"
    } else {
        "portal_session"
    };

    let server = HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(store.clone(), session_key.clone())
            .cookie_name(cookie_name.to_string())
            .cookie_secure(secure)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_path("/".into())
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(
                BrowserSession::default()
                    .state_ttl(idle)
                    .state_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
            )
            .build();
        App::new()
            .app_data(state.clone())
            .app_data(registry.clone())
            .app_data(csrf.clone())
            .app_data(policy.clone())
            .app_data(pages::form_config())
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                AppError::BadRequest(format!("The address has a malformed query ({e}).")).into()
            }))
            // A malformed id in a path names nothing: the page is not found.
            .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
            .wrap(security_headers(secure))
            .wrap(TracingLogger::<crate::telemetry::RedactingRootSpan>::new())
            // Probes and assets never touch the session store.
            .route("/health/live", web::get().to(health::live))
            .route("/health/ready", web::get().to(health::ready))
            .route("/static/app.css", web::get().to(pages::stylesheet))
            .route("/.well-known/jwks.json", web::get().to(crate::api::jwks))
            // JSON only, no cookies: outside the session and CSRF middleware.
            .service(
                web::scope("/api/v1")
                    .wrap(from_fn(general_rate_limit))
                    .configure(crate::api::routes)
                    .default_service(web::to(pages::not_found)),
            )
            .service(
                web::scope("")
                    .wrap(from_fn(csrf::protect))
                    .wrap(sessions)
                    .wrap(from_fn(session_store_unavailable))
                    .wrap(from_fn(general_rate_limit))
                    .configure(pages::routes)
                    .default_service(web::to(pages::not_found)),
            )
    })
    .listen(listener)?
    .run();
    Ok(server)
}

/// The session middleware fails the whole request when Redis does not answer; answer
/// with the portal's 503 page instead of an empty 500.
async fn session_store_unavailable(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    next.call(req).await.map_err(|e| {
        tracing::warn!(error = %e, "session store unavailable");
        AppError::Unavailable("session store").into()
    })
}

/// A general per-client limit on every page request, before any other work.
async fn general_rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, Error> {
    if let Some(state) = req.app_data::<web::Data<AppState>>().cloned() {
        let ip = crate::audit::client_ip(req.request())
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        let quota = crate::auth::rate_limit::Quota::per_minute(
            state.settings.rate_limit_general_per_minute,
        );
        if let Err(e) = state
            .limit(
                "ip",
                &ip,
                quota,
                "This address is sending too many requests.",
            )
            .await
        {
            return Ok(req.error_response(e).map_into_right_body());
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

fn security_headers(secure: bool) -> DefaultHeaders {
    let mut h = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=()",
        ))
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ));
    if secure {
        h = h.add((
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ));
    }
    h
}
