//! Who is signed in: the identity kept in the Redis session, bound to one tenant.

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::tenancy::{CurrentTenant, Tenant};

const IDENTITY: &str = "identity";
/// Refresh the idle deadline at most this often, so most requests only read Redis.
const TOUCH_EVERY_SECS: i64 = 60;

/// What the session remembers about the person.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    /// The person's id in the tenant schema.
    pub uid: Uuid,
    /// The tenant the session belongs to.
    pub tid: Uuid,
    /// Role when the session started.
    pub role: Role,
    /// Email, for the page header and audit.
    pub email: String,
    /// Name, for the page header.
    pub name: String,
    /// Unix time of sign-in (absolute lifetime).
    pub iat: i64,
    /// Unix time of the last refresh of the idle deadline.
    pub seen: i64,
    /// A random handle naming this session on the profile page (never the session id).
    #[serde(default)]
    pub sid: String,
    /// The browser that signed in, for the profile's session list.
    #[serde(default)]
    pub device: Option<String>,
}

/// Session lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A session ends this long after sign-in, whatever happens.
    pub absolute_secs: i64,
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Starts a session for a person who just proved who they are. The session id is
/// renewed so that an id planted before sign-in is worthless afterwards.
pub fn start(
    session: &Session,
    tenant: &Tenant,
    uid: Uuid,
    role: Role,
    email: &str,
    name: &str,
) -> AppResult<()> {
    session.renew();
    session.clear();
    let t = now();
    let identity = Identity {
        uid,
        tid: tenant.id,
        role,
        email: email.to_string(),
        name: name.to_string(),
        iat: t,
        seen: t,
        sid: crate::auth::tokens::generate().1[..16].to_string(),
        device: None,
    };
    session
        .insert(IDENTITY, identity)
        .map_err(AppError::internal)
}

/// Replaces the identity of a live session (after the person renamed themselves).
pub fn update(session: &Session, identity: Identity) -> AppResult<()> {
    session
        .insert(IDENTITY, identity)
        .map_err(AppError::internal)
}

/// Ends the session: the Redis entry is deleted and the cookie cleared.
pub fn end(session: &Session) {
    session.purge();
}

/// The identity in a session, if any.
pub fn identity(session: &Session) -> Option<Identity> {
    session.get::<Identity>(IDENTITY).ok().flatten()
}

/// A signed-in person of the tenant named by the path.
pub struct TenantUser {
    /// The tenant.
    pub tenant: CurrentTenant,
    /// Who.
    pub identity: Identity,
    /// The session, to end it.
    pub session: Session,
}

impl TenantUser {
    /// Refuses with this message unless the person is an admin of the tenant.
    pub fn require_admin(&self, message: &str) -> AppResult<()> {
        if self.identity.role == Role::Admin {
            Ok(())
        } else {
            Err(AppError::Forbidden(message.to_string()))
        }
    }
}

impl FromRequest for TenantUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let tenant = CurrentTenant::from_request(req, payload);
        let session = req.get_session();
        let policy = req
            .app_data::<web::Data<SessionPolicy>>()
            .map(|p| *p.get_ref());
        let next = req.uri().path_and_query().map(|p| p.as_str().to_string());
        let device = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(300).collect::<String>())
            .unwrap_or_else(|| "Unknown browser".into());
        Box::pin(async move {
            let tenant = tenant.await?;
            let login_url = login_url(&tenant, next.as_deref());
            let refuse = || AppError::SignInRequired {
                login_url: login_url.clone(),
            };
            let identity = identity(&session).ok_or_else(refuse)?;
            // A session names its tenant and grants nothing in another one.
            if identity.tid != tenant.id {
                return Err(refuse());
            }
            let t = now();
            if let Some(p) = policy
                && t - identity.iat > p.absolute_secs
            {
                end(&session);
                return Err(refuse());
            }
            // The first page after sign-in records the browser, for the session list.
            if t - identity.seen > TOUCH_EVERY_SECS || identity.device.is_none() {
                let mut touched = identity.clone();
                touched.seen = t;
                touched.device.get_or_insert(device);
                session
                    .insert(IDENTITY, touched)
                    .map_err(AppError::internal)?;
            }
            Ok(TenantUser {
                tenant,
                identity,
                session,
            })
        })
    }
}

/// The tenant's sign-in page, returning to `next` afterwards.
pub fn login_url(tenant: &Tenant, next: Option<&str>) -> String {
    match next {
        Some(n) if n != format!("/t/{}/login", tenant.slug) => {
            let q: String = url::form_urlencoded::byte_serialize(n.as_bytes()).collect();
            format!("/t/{}/login?next={q}", tenant.slug)
        }
        _ => format!("/t/{}/login", tenant.slug),
    }
}

/// Accepts `next` only as a path inside this tenant: never another host, scheme or
/// tenant (an open redirect would turn the sign-in page into a phishing tool).
pub fn safe_next(tenant: &Tenant, next: Option<&str>) -> String {
    let default = format!("/t/{}/dashboard", tenant.slug);
    let Some(n) = next else { return default };
    let prefix = format!("/t/{}/", tenant.slug);
    let ok = n.starts_with(&prefix)
        && !n.contains("//")
        && !n.contains('\\')
        && !n.contains("/..")
        && !n.chars().any(char::is_control)
        && n.len() <= 512;
    if ok { n.to_string() } else { default }
}
