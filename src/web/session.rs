//! The browser session, typed: [`PortalSession`] owns every key the portal keeps in it
//! (who is signed in, platform rights, a single sign-on in progress, the provider's
//! id_token, the one-time notice), and the extractors built on it: [`TenantUser`],
//! [`TenantAdmin`] and [`PlatformUser`]. Nothing else reads or writes session keys.

mod factors;

pub use factors::{MAX_TRIES, PendingSecondFactor, STEP_UP_SECS, SsoAuthentication};

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::{AdminRequest, NOT_AN_ADMIN};
use crate::auth::oidc::PendingLogin;
use crate::auth::passkeys::Ceremony;
use crate::auth::session_store::IDENTITY_KEY;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::models::user::Actor;
use crate::platform::PlatformIdentity;
use crate::tenancy::Tenant;
use crate::web::csrf::RotateCsrf;
use crate::web::notice::Notice;
use crate::web::tenant::CurrentTenant;

const PLATFORM: &str = "platform";
const SSO_PENDING: &str = "oidc_pending";
const ID_TOKEN: &str = "oidc_id_token";
const NOTICE: &str = "notice";

/// What the session remembers about the person. Stored under
/// [`IDENTITY_KEY`], which the session index reads to find a person's sessions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    /// The person's id in the tenant schema.
    pub uid: Uuid,
    /// The tenant the session belongs to.
    pub tid: Uuid,
    /// Role when the session started (kept current by the session index).
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
    /// The address the session was first used from, for the session list.
    #[serde(default)]
    pub ip: Option<String>,
}

impl Identity {
    /// The person as the actor of their own changes.
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.uid,
            email: self.email.clone(),
        }
    }
}

/// Session lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A session ends this long after sign-in, whatever happens.
    pub absolute_secs: i64,
    /// The idle deadline moves at most this often, so most requests only read Redis:
    /// a twentieth of the idle time, between 1 s and 60 s. A session in use ends at
    /// most this much before its idle time.
    pub touch_secs: i64,
}

impl SessionPolicy {
    /// The policy for these lifetimes.
    pub fn new(idle: std::time::Duration, absolute: std::time::Duration) -> Self {
        Self {
            absolute_secs: absolute.as_secs() as i64,
            touch_secs: (idle.as_secs() as i64 / 20).clamp(1, 60),
        }
    }
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The session of one request.
#[derive(Clone)]
pub struct PortalSession(Session, HttpRequest);

impl FromRequest for PortalSession {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self::of(req)))
    }
}

impl PortalSession {
    fn of(req: &HttpRequest) -> Self {
        Self(req.get_session(), req.clone())
    }

    /// The request this session belongs to.
    pub fn request(&self) -> &HttpRequest {
        &self.1
    }

    /// A new session id, an empty session, and a new CSRF seed with the response.
    fn restart(&self) {
        self.0.renew();
        self.0.clear();
        self.1.extensions_mut().insert(RotateCsrf);
    }

    fn put<T: Serialize>(&self, key: &str, value: T) -> AppResult<()> {
        self.0.insert(key, value).map_err(AppError::internal)
    }

    fn read<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.0.get::<T>(key).ok().flatten()
    }

    /// Starts a session for a person who just proved who they are. The session id is
    /// renewed so that an id planted before sign-in is worthless afterwards.
    pub fn sign_in(
        &self,
        tenant: &Tenant,
        uid: Uuid,
        role: Role,
        email: &str,
        name: &str,
    ) -> AppResult<()> {
        self.restart();
        let t = now();
        self.put(
            IDENTITY_KEY,
            Identity {
                uid,
                tid: tenant.id,
                role,
                email: email.to_string(),
                name: name.to_string(),
                iat: t,
                seen: t,
                sid: crate::crypto::generate_token().1[..16].to_string(),
                device: None,
                ip: None,
            },
        )
    }

    /// Replaces the identity of a live session (after the person renamed themselves).
    pub fn set_identity(&self, identity: Identity) -> AppResult<()> {
        self.put(IDENTITY_KEY, identity)
    }

    /// The identity in the session, if any.
    pub fn identity(&self) -> Option<Identity> {
        self.read(IDENTITY_KEY)
    }

    /// Starts a platform session (a new session id, nothing else in it).
    pub fn sign_in_platform(&self, who: PlatformIdentity) -> AppResult<()> {
        self.restart();
        self.put(PLATFORM, who)
    }

    /// Adds platform rights to a session that was just started.
    pub fn add_platform(&self, who: PlatformIdentity) -> AppResult<()> {
        self.put(PLATFORM, who)
    }

    /// The platform admin of this session, if any.
    pub fn platform(&self) -> Option<PlatformIdentity> {
        self.read(PLATFORM)
    }

    /// Remembers a single sign-on in progress.
    pub fn set_pending_sso(&self, pending: PendingLogin) -> AppResult<()> {
        self.put(SSO_PENDING, pending)
    }

    /// Takes out the single sign-on in progress: a callback can use it once only.
    pub fn take_pending_sso(&self) -> Option<PendingLogin> {
        self.0.remove_as(SSO_PENDING).and_then(Result::ok)
    }

    /// Keeps the provider's id_token, for signing out there too.
    pub fn set_id_token(&self, token: &str) -> AppResult<()> {
        self.put(ID_TOKEN, token)
    }

    /// The provider's id_token, if the person signed in through single sign-on.
    pub fn id_token(&self) -> Option<String> {
        self.read(ID_TOKEN)
    }

    /// Remembers the handle of a passkey ceremony (its state is in the ceremony store);
    /// a new ceremony of the same kind replaces the old one.
    pub fn set_passkey_ceremony(&self, kind: Ceremony, handle: String) -> AppResult<()> {
        self.put(&passkey_key(kind), handle)
    }

    /// Takes out the handle of a passkey ceremony: an answer can use it once only.
    pub fn take_passkey_ceremony(&self, kind: Ceremony) -> Option<String> {
        self.0.remove_as(&passkey_key(kind)).and_then(Result::ok)
    }

    /// Leaves a notice for the next page this person sees.
    pub fn notify(&self, notice: Notice) -> AppResult<()> {
        self.put(NOTICE, notice)
    }

    /// Takes the notice left by the previous action, once.
    pub fn take_notice(&self) -> Option<Notice> {
        self.0.remove_as(NOTICE).and_then(Result::ok)
    }

    /// Ends the session: the Redis entry is deleted, the cookie cleared, and the CSRF
    /// seed replaced.
    pub fn end(&self) {
        self.0.purge();
        self.1.extensions_mut().insert(RotateCsrf);
    }
}

/// The session key of a passkey ceremony's handle.
fn passkey_key(kind: Ceremony) -> String {
    format!("passkey_{}", kind.as_str())
}

/// A signed-in person of the tenant named by the path.
pub struct TenantUser {
    /// The tenant.
    pub tenant: CurrentTenant,
    /// Who.
    pub identity: Identity,
    /// The session.
    pub session: PortalSession,
}

impl FromRequest for TenantUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let tenant = CurrentTenant::from_request(req, payload);
        let session = PortalSession::of(req);
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
        let ip = crate::web::request::meta_of(req).ip;
        Box::pin(async move {
            let tenant = tenant.await?;
            let login_url = login_url(&tenant, next.as_deref());
            let refuse = || AppError::SignInRequired {
                login_url: login_url.clone(),
            };
            let identity = session.identity().ok_or_else(refuse)?;
            // A session names its tenant and grants nothing in another one.
            if identity.tid != tenant.id {
                return Err(refuse());
            }
            let t = now();
            if let Some(p) = policy
                && t - identity.iat > p.absolute_secs
            {
                session.end();
                return Err(refuse());
            }
            let touch_secs = policy.map_or(60, |p| p.touch_secs);
            let mut identity = identity;
            // The first page after sign-in records the browser, for the session list.
            if t - identity.seen >= touch_secs || identity.device.is_none() {
                let mut touched = identity.clone();
                touched.seen = t;
                touched.device.get_or_insert(device);
                if touched.ip.is_none() {
                    touched.ip = ip;
                }
                session.set_identity(touched.clone())?;
                // The page being built sees what the session now says.
                identity = touched;
            }
            Ok(TenantUser {
                tenant,
                identity,
                session,
            })
        })
    }
}

/// A signed-in admin of the tenant named by the path: the way into every admin page
/// and change. The session's role only turns others away early; [`AdminRequest`]
/// checks the database inside the transaction of the work.
pub struct TenantAdmin {
    /// The signed-in person.
    pub user: TenantUser,
    /// What the one door needs.
    pub request: AdminRequest,
}

impl std::ops::Deref for TenantAdmin {
    type Target = TenantUser;
    fn deref(&self) -> &TenantUser {
        &self.user
    }
}

impl FromRequest for TenantAdmin {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = TenantUser::from_request(req, payload);
        let meta = crate::web::request::meta_of(req);
        Box::pin(async move {
            let user = user.await?;
            if user.identity.role != Role::Admin {
                return Err(AppError::Forbidden(NOT_AN_ADMIN.into()));
            }
            let request = AdminRequest {
                tenant: user.tenant.0.clone(),
                admin: user.identity.uid,
                meta,
            };
            Ok(TenantAdmin { user, request })
        })
    }
}

/// The signed-in super-admin of a request; others are sent to `/admin/login`.
pub struct PlatformUser(pub PlatformIdentity);

impl FromRequest for PlatformUser {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(PortalSession::of(req).platform().map(PlatformUser).ok_or(
            AppError::SignInRequired {
                login_url: "/admin/login".into(),
            },
        ))
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
