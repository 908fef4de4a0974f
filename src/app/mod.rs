//! The composition root: builds the portal from its settings (pools, clients,
//! middleware, routes) and runs it with its background work beside it.

mod guards;
pub mod mail_worker;
pub mod metrics;
mod state;
mod workers;

pub use state::AppState;
pub use workers::Workers;

use std::net::TcpListener;

use actix_session::{
    SessionMiddleware,
    config::{BrowserSession, CookieContentSecurity, TtlExtensionPolicy},
};
use actix_web::{
    App, Error, HttpMessage, HttpServer,
    body::MessageBody,
    cookie::{Key, SameSite, time::Duration as CookieDuration},
    dev::{Server, ServiceRequest, ServiceResponse},
    middleware::{DefaultHeaders, Next, from_fn},
    web,
};
use tracing_actix_web::TracingLogger;

use crate::auth::session_store::{RedisSessionStore, SessionKeys};
use crate::config::Settings;
use crate::error::AppError;
use crate::web::csrf::{self, CsrfConfig};
use crate::web::methods::path;
use crate::web::respond::AfterCommit;
use crate::web::session::SessionPolicy;
use crate::{health, web as pages};

/// A built portal, bound to its port, ready to run.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Builds the portal and binds `PORTAL_BIND` (port 0 picks a free port). Nothing
    /// runs yet: [`Application::serve`] starts the server and its background work.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on PORTAL_BIND={}: {e}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState::connect(settings).await?);
        let server = http_server(listener, state.clone())?;
        Ok(Self {
            port,
            server,
            state,
        })
    }

    /// The port the portal listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts the background work (outbox delivery, signing-key maintenance).
    pub async fn start_workers(&self) -> Workers {
        Workers::start(&self.state).await
    }

    /// Answers requests until the process is asked to stop (no background work).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Serves with the background work beside the server; on SIGINT or SIGTERM the
    /// server stops accepting, finishes the requests under way, then the workers stop.
    pub async fn serve(self) -> std::io::Result<()> {
        let workers = self.start_workers().await;
        let result = self.server.await;
        workers.stop().await;
        result
    }
}

fn http_server(listener: TcpListener, state: web::Data<AppState>) -> anyhow::Result<Server> {
    let settings = state.settings.clone();
    let secure = settings.session_cookie_secure;
    let csrf = web::Data::new(CsrfConfig::new(settings.secret_bytes(), secure));
    let policy = web::Data::new(SessionPolicy::new(
        settings.session_idle,
        settings.session_absolute,
    ));
    let registry = web::Data::from(state.registry.clone());
    let store = RedisSessionStore::new(
        state.redis.clone(),
        SessionKeys::new(&settings.redis_key_prefix),
    );
    let metrics = web::Data::new(metrics::Metrics::new()?);

    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(registry.clone())
            .app_data(csrf.clone())
            .app_data(policy.clone())
            .app_data(metrics.clone())
            .app_data(pages::form_config())
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                AppError::BadRequest(format!("The address has a malformed query ({e}).")).into()
            }))
            // A malformed id in a path names nothing: the page is not found.
            .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
            .wrap(security_headers(secure))
            .wrap(TracingLogger::<crate::telemetry::RedactingRootSpan>::new())
            .wrap(from_fn(metrics::count_requests))
            .wrap(from_fn(pages_first))
            // Probes and assets never touch the session store.
            .service(path("/health/live").get(health::live).done())
            .service(path("/health/ready").get(health::ready).done())
            .service(path("/metrics").get(metrics::scrape).done())
            .service(path("/static/app.css").get(pages::stylesheet).done())
            .service(path("/static/app.js").get(pages::script).done())
            .service(path("/.well-known/jwks.json").get(crate::api::jwks).done())
            // JSON only, no cookies: outside the session and CSRF middleware.
            .service(
                web::scope("/api/v1")
                    .wrap(from_fn(guards::refuse_nul))
                    .wrap(from_fn(general_rate_limit))
                    .configure(crate::api::routes)
                    .default_service(web::to(pages::not_found)),
            )
            .service(
                web::scope("")
                    .wrap(from_fn(guards::refuse_nul))
                    .wrap(from_fn(csrf::protect))
                    // Inside the session, outside CSRF: sees the person and the token.
                    .wrap(from_fn(pages::layout::signed_in_errors))
                    .wrap(session_middleware(store.clone(), &settings))
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

/// Browser sessions in Redis behind a private (encrypted) cookie that lives as long as
/// the browser, its state ending after `AUTH_SESSION_IDLE_MINUTES` without use.
fn session_middleware(
    store: RedisSessionStore,
    settings: &Settings,
) -> SessionMiddleware<RedisSessionStore> {
    let secure = settings.session_cookie_secure;
    // `__Host-` cookies are only accepted over HTTPS, bound to this host and path `/`.
    let cookie_name = if secure {
        "__Host-portal_session"
    } else {
        "portal_session"
    };
    let idle = CookieDuration::seconds(settings.session_idle.as_secs() as i64);
    SessionMiddleware::builder(store, Key::derive_from(settings.secret_bytes()))
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
        .build()
}

/// The session middleware fails the whole request when Redis does not answer; answer
/// with the portal's 503 page instead of an empty 500 — or, when the handler had
/// already committed a change (`SignInLater`), with its success and a way to sign in.
async fn session_store_unavailable(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    // The handler leaves word here; the request itself cannot be kept (actix needs it
    // unshared while it answers).
    let slot = AfterCommit::default();
    req.extensions_mut().insert(slot.clone());
    next.call(req).await.map_err(|e| {
        tracing::warn!(error = %e, "session store unavailable");
        match slot.take() {
            Some(later) => later.into(),
            None => AppError::Unavailable("session store").into(),
        }
    })
}

/// A general per-client limit on every page request, before any other work.
async fn general_rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, Error> {
    if let Some(state) = req.app_data::<web::Data<AppState>>().cloned() {
        let ip = crate::web::request::client_ip(req.request())
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        if let Err(e) = state.limits.limit_general(&ip).await {
            // The JSON API answers in its own shape, as its document says.
            let res = if req.path().starts_with("/api/") {
                req.error_response(crate::error::ApiError(e))
            } else {
                req.error_response(e)
            };
            return Ok(res.map_into_right_body());
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

/// Tells the password hasher which requests are pages (they hash nothing), so that a
/// sign-in flood leaves them a core (see `auth::password`).
async fn pages_first(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.hasher.clone().serve(next.call(req)).await,
        None => next.call(req).await,
    }
}
