//! Prometheus metrics at `GET /metrics` (text format), for operators: requests and
//! their latency by route pattern and status, sign-in failures, lockouts and rate-limit
//! refusals (read from the answers, so no service needs to know about metrics), and,
//! sampled at each scrape, the database pool, Redis, the Authentik outbox and breaker,
//! and the mail queue.
//!
//! Each portal has its own registry (tests run many portals in one process). The page
//! answers only with `Authorization: Bearer <METRICS_TOKEN>`; without the setting it
//! does not exist (404).

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::{
    Error, HttpRequest, HttpResponse,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::{Method, StatusCode, header},
    middleware::Next,
    web,
};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::models::{authentik_outbox, mail_outbox};

/// The portal's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    login_failures: IntCounter,
    lockouts: IntCounter,
    rate_limited: IntCounter,
    gauges: Sampled,
    redis_errors: Mirrored,
    tenant_uses: Mirrored,
    tenant_uses_away: Mirrored,
    replaced_for_tenants: Mirrored,
    replaced_for_creating: Mirrored,
}

/// A counter kept elsewhere (an atomic in the service that counts), brought up to date
/// at each scrape.
struct Mirrored {
    counter: IntCounter,
    seen: AtomicU64,
}

impl Mirrored {
    fn new(registry: &Registry, name: &str, help: &str) -> prometheus::Result<Self> {
        Ok(Self {
            counter: counter(registry, name, help)?,
            seen: AtomicU64::new(0),
        })
    }

    /// Adds what was counted since the last scrape.
    fn sync(&self, now: u64) {
        let seen = self.seen.swap(now, Ordering::Relaxed);
        self.counter.inc_by(now.saturating_sub(seen));
    }
}

/// Values read at each scrape.
struct Sampled {
    pool_size: IntGauge,
    pool_in_use: IntGauge,
    pool_max: IntGauge,
    pool_waiting: IntGauge,
    redis_circuit_open: IntGauge,
    authentik_circuit_open: IntGauge,
    outbox_pending: IntGauge,
    outbox_failed: IntGauge,
    mail_pending: IntGauge,
    mail_dead: IntGauge,
}

fn gauge(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    let g = IntGauge::new(name, help)?;
    registry.register(Box::new(g.clone()))?;
    Ok(g)
}

fn counter(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounter> {
    let c = IntCounter::new(name, help)?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

impl Metrics {
    /// A registry with every metric of the portal.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("portal".into()), None)?;
        let labels = ["method", "route", "status"];
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &labels,
        )?;
        registry.register(Box::new(requests.clone()))?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &labels,
        )?;
        registry.register(Box::new(latency.clone()))?;
        let r = &registry;
        let gauges = Sampled {
            pool_size: gauge(r, "db_pool_connections", "Open database connections")?,
            pool_in_use: gauge(r, "db_pool_in_use", "Database connections in use")?,
            pool_max: gauge(r, "db_pool_max", "Largest size of the database pool")?,
            pool_waiting: gauge(r, "db_pool_waiting", "Requests waiting for a connection")?,
            redis_circuit_open: gauge(
                r,
                "redis_circuit_open",
                "1 while the Redis breaker refuses commands",
            )?,
            authentik_circuit_open: gauge(
                r,
                "authentik_circuit_open",
                "1 while the Authentik breaker leaves Authentik alone",
            )?,
            outbox_pending: gauge(
                r,
                "authentik_outbox_pending",
                "Changes waiting for Authentik",
            )?,
            outbox_failed: gauge(r, "authentik_outbox_failed", "Changes Authentik refused")?,
            mail_pending: gauge(r, "mail_queue_pending", "Mail waiting to be sent")?,
            mail_dead: gauge(
                r,
                "mail_queue_given_up",
                "Mail given up after too many tries",
            )?,
        };
        Ok(Self {
            login_failures: counter(
                r,
                "login_failures_total",
                "Wrong passwords and second-factor codes at sign-in",
            )?,
            lockouts: counter(r, "lockouts_total", "Sign-ins refused for a paused account")?,
            rate_limited: counter(r, "rate_limited_total", "Requests refused by a rate limit")?,
            redis_errors: Mirrored::new(r, "redis_errors_total", "Redis commands that failed")?,
            tenant_uses: Mirrored::new(
                r,
                "db_tenant_uses_total",
                "Uses of a database connection for one organization's work",
            )?,
            tenant_uses_away: Mirrored::new(
                r,
                "db_tenant_uses_away_total",
                "Of those, the ones served away from the organization's home connection",
            )?,
            replaced_for_tenants: Mirrored::new(
                r,
                "db_connections_replaced_tenants_total",
                "Connections replaced after serving their share of organizations",
            )?,
            replaced_for_creating: Mirrored::new(
                r,
                "db_connections_replaced_creating_total",
                "Connections replaced after creating their share of organizations",
            )?,
            requests,
            latency,
            gauges,
            registry,
        })
    }

    /// Counts one answered request.
    fn observe<B>(&self, method: &Method, route: &str, res: &HttpResponse<B>, secs: f64) {
        let status = res.status();
        let labels = [method.as_str(), route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(secs);
        // A refusal by a limiter is an error answer; a paused account's sign-in page
        // (also 429) is a page the handler rendered.
        let from_error = res.error().is_some();
        let login = *method == Method::POST && route == "/t/{slug}/login";
        // A wrong code at the second step is a failed sign-in like a wrong password.
        let second_step = *method == Method::POST && route == "/t/{slug}/login/second-factor";
        match status {
            StatusCode::UNAUTHORIZED if login || second_step => self.login_failures.inc(),
            StatusCode::TOO_MANY_REQUESTS if login && !from_error => self.lockouts.inc(),
            StatusCode::TOO_MANY_REQUESTS => self.rate_limited.inc(),
            _ => {}
        }
    }

    /// Reads the sampled values and renders every metric.
    async fn render(&self, state: &AppState) -> AppResult<String> {
        let g = &self.gauges;
        let pool = state.db.status();
        g.pool_size.set(pool.size as i64);
        g.pool_in_use
            .set(pool.size.saturating_sub(pool.available) as i64);
        g.pool_max.set(pool.max_size as i64);
        g.pool_waiting.set(pool.waiting as i64);
        let lanes = state.db.lane_counts();
        self.tenant_uses.sync(lanes.tenant);
        self.tenant_uses_away.sync(lanes.away);
        self.replaced_for_tenants.sync(lanes.replaced_for_tenants);
        self.replaced_for_creating.sync(lanes.replaced_for_creating);
        self.redis_errors.sync(state.redis.errors());
        g.redis_circuit_open.set(i64::from(state.redis.is_open()));
        let authentik_open = state.authentik.as_ref().is_some_and(|a| !a.available());
        g.authentik_circuit_open.set(i64::from(authentik_open));
        // The backlogs need the database; a scrape while it is down still answers.
        let backlogs = state
            .db
            .run(|conn| {
                Ok((
                    authentik_outbox::backlog(conn, None)?,
                    mail_outbox::backlog(conn)?,
                ))
            })
            .await;
        if let Ok((outbox, mail)) = backlogs {
            g.outbox_pending.set(outbox.pending);
            g.outbox_failed.set(outbox.failed);
            g.mail_pending.set(mail.pending);
            g.mail_dead.set(mail.dead);
        }
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(AppError::internal)?;
        String::from_utf8(out).map_err(AppError::internal)
    }
}

/// Counts every request by the route pattern it matched (never the raw path: a slug
/// or token in a label would grow without end).
pub async fn count_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = std::time::Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().clone();
    let res = next.call(req).await?;
    if let Some(m) = metrics {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        m.observe(
            &method,
            &route,
            res.response(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}

/// `GET /metrics`: the Prometheus text, for the bearer of `METRICS_TOKEN`.
pub async fn scrape(
    req: HttpRequest,
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
) -> AppResult<HttpResponse> {
    let Some(token) = state.settings.metrics_token.as_ref() else {
        return Err(AppError::NotFound);
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Compared as digests, in constant time: neither length nor content leaks.
    let expected = crate::crypto::hash_token(token.expose_secret());
    let ok: bool = crate::crypto::hash_token(given)
        .as_bytes()
        .ct_eq(expected.as_bytes())
        .into();
    if !ok {
        return Ok(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""))
            .body("A valid metrics token is required.\n"));
    }
    let text = metrics.render(&state).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}
