//! CSRF protection for every state-changing browser request.
//!
//! A signed double-submit token: the browser holds a random seed in an HttpOnly cookie,
//! and every form carries `csrf_token` = HMAC(SECRET_KEY, seed). A request from another
//! site can neither read the cookie nor compute the token. The check runs in one
//! middleware for every POST, so no handler can forget it; `/api/` requests are exempt
//! only when they carry JSON or a bearer token, which no cross-site form can send.

use actix_web::{
    Error, FromRequest, HttpMessage, HttpRequest,
    body::{EitherBody, MessageBody},
    cookie::{Cookie, SameSite},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::{Method, header},
    middleware::Next,
    web,
};
use base64::Engine;
use futures_util::StreamExt;
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::crypto;
use crate::error::AppError;

/// The cookie holding the browser's CSRF seed.
pub const CSRF_COOKIE: &str = "portal_csrf";
/// The form field carrying the token.
pub const CSRF_FIELD: &str = "csrf_token";
/// The largest form body the portal reads.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// Asks the middleware for a new CSRF seed with this response: the person signed in
/// or out, and forms rendered for the earlier session must stop working.
#[derive(Clone, Copy, Debug)]
pub struct RotateCsrf;

/// Key and cookie settings for the middleware.
#[derive(Clone)]
pub struct CsrfConfig {
    key: Vec<u8>,
    secure: bool,
}

impl CsrfConfig {
    /// Derives the CSRF key from the secret key, so it differs from other uses of it.
    pub fn new(secret: &[u8], secure: bool) -> Self {
        Self {
            key: crypto::hmac_sha256(secret, b"tenant-portal csrf v1").to_vec(),
            secure,
        }
    }

    fn token_for(&self, seed: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(crypto::hmac_sha256(&self.key, seed.as_bytes()))
    }
}

/// The token to put in this request's forms.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

impl FromRequest for CsrfToken {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<CsrfToken>()
                .cloned()
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("CSRF middleware missing"))),
        )
    }
}

fn new_seed() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn plausible_seed(v: &str) -> bool {
    v.len() == 43
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The middleware; register with `actix_web::middleware::from_fn(csrf::protect)`.
pub async fn protect(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let Some(config) = req.app_data::<web::Data<CsrfConfig>>().cloned() else {
        return Err(AppError::internal(anyhow::anyhow!("CSRF config missing")).into());
    };
    let existing = req
        .cookie(CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| plausible_seed(v));
    let fresh = existing.is_none();
    let seed = existing.unwrap_or_else(new_seed);
    let expected = config.token_for(&seed);
    req.extensions_mut().insert(CsrfToken(expected.clone()));

    let safe = matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    // The API is exempt only for bodies a cross-site form cannot send: JSON and the
    // like need a CORS preflight, which the portal never grants.
    let api_exempt = req.path().starts_with("/api/") && !cross_site_sendable(&req);
    if !safe
        && !api_exempt
        && let Err(e) = check_form(&mut req, fresh, &expected).await
    {
        return Ok(req.error_response(e).map_into_right_body());
    }

    // Only pages carry forms; health probes and assets need no CSRF cookie.
    let wants_cookie = fresh && !is_machine_path(req.path());
    let mut res = next.call(req).await?;
    let rotate = res.request().extensions().contains::<RotateCsrf>();
    if wants_cookie || rotate {
        let seed = if rotate { new_seed() } else { seed };
        let cookie = Cookie::build(CSRF_COOKIE, seed)
            .path("/")
            .http_only(true)
            .secure(config.secure)
            .same_site(SameSite::Lax)
            .finish();
        res.response_mut().add_cookie(&cookie)?;
    }
    Ok(res.map_into_left_body())
}

/// Whether a browser would send this body cross-site without asking first: the
/// content types an HTML form can produce (and none at all).
fn cross_site_sendable(req: &ServiceRequest) -> bool {
    // A cross-site page cannot set Authorization without a preflight either.
    if req.headers().contains_key(header::AUTHORIZATION) {
        return false;
    }
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    ct.is_empty()
        || [
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "text/plain",
        ]
        .iter()
        .any(|t| ct.starts_with(t))
}

fn is_machine_path(path: &str) -> bool {
    ["/api/", "/health/", "/static/"]
        .iter()
        .any(|p| path.starts_with(p))
}

async fn check_form(req: &mut ServiceRequest, fresh: bool, expected: &str) -> Result<(), AppError> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form || fresh {
        return Err(AppError::Csrf);
    }
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| AppError::BadRequest(format!("could not read the form: {e}")))?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(AppError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let submitted = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    req.set_payload(Payload::from(body));
    match submitted {
        Some(t) if bool::from(t.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
        _ => Err(AppError::Csrf),
    }
}
