//! The platform: super-admins who see every organization, create, suspend and
//! reactivate them, and read the platform audit log.

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload};
use diesel::prelude::*;
use futures_util::future::LocalBoxFuture;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::app::AppState;
use crate::audit::RequestMeta;
use crate::db::schema::public::{platform_admins, platform_audit_log};
use crate::domain::Email;
use crate::error::{AppError, AppResult};

mod organizations;

pub use organizations::{
    NewTenantInput, TenantSummary, create_tenant, recent_events, set_status, tenants_overview,
};

const PLATFORM: &str = "platform";

/// A signed-in platform super-admin, as the session remembers them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlatformIdentity {
    /// Row id in `platform_admins`.
    pub id: Uuid,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
}

/// The signed-in super-admin of a request; others are sent to `/admin/login`.
pub struct PlatformUser(pub PlatformIdentity);

impl FromRequest for PlatformUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        Box::pin(async move {
            session
                .get::<PlatformIdentity>(PLATFORM)
                .ok()
                .flatten()
                .map(PlatformUser)
                .ok_or(AppError::SignInRequired {
                    login_url: "/admin/login".into(),
                })
        })
    }
}

/// Starts a platform session (a new session id, nothing else in it).
pub fn start(session: &Session, who: PlatformIdentity) -> AppResult<()> {
    session.renew();
    session.clear();
    session.insert(PLATFORM, who).map_err(AppError::internal)
}

pub(crate) fn record(
    conn: &mut PgConnection,
    actor: &str,
    action: &str,
    target: &str,
    details: serde_json::Value,
) -> AppResult<()> {
    diesel::insert_into(platform_audit_log::table)
        .values((
            platform_audit_log::actor.eq(actor),
            platform_audit_log::action.eq(action),
            platform_audit_log::target.eq(target),
            platform_audit_log::details.eq(details),
        ))
        .execute(conn)?;
    Ok(())
}

/// Grants the platform to a person the identity provider puts in the super-admin
/// group: their platform-admin row is created or renamed (it has no password, so only
/// single sign-on opens it) and the sign-in is in the platform audit log.
pub async fn admit_from_sso(
    state: &AppState,
    email: &str,
    name: &str,
) -> AppResult<PlatformIdentity> {
    let (email, name) = (email.to_string(), name.to_string());
    state
        .db
        .run(move |conn| {
            let (id, email, name): (Uuid, String, String) =
                diesel::insert_into(platform_admins::table)
                    .values((
                        platform_admins::email.eq(&email),
                        platform_admins::name.eq(&name),
                    ))
                    .on_conflict(platform_admins::email)
                    .do_update()
                    .set((
                        platform_admins::name.eq(&name),
                        platform_admins::last_login_at.eq(Some(OffsetDateTime::now_utc())),
                        platform_admins::updated_at.eq(diesel::dsl::now),
                    ))
                    .returning((
                        platform_admins::id,
                        platform_admins::email,
                        platform_admins::name,
                    ))
                    .get_result(conn)?;
            record(
                conn,
                &email,
                "platform.login.sso",
                &email,
                serde_json::json!({}),
            )?;
            Ok(PlatformIdentity { id, email, name })
        })
        .await
}

/// Records in the platform audit log that an admin had the identity provider's keys
/// fetched.
pub async fn keys_refreshed(
    state: &AppState,
    actor: &str,
    keys: usize,
    url: &str,
) -> AppResult<()> {
    let (actor, url) = (actor.to_string(), url.to_string());
    state
        .db
        .run(move |conn| {
            record(
                conn,
                &actor,
                "platform.jwks_refreshed",
                &url,
                serde_json::json!({ "keys": keys }),
            )
        })
        .await
}

/// Adds platform rights to a session that was just started.
pub fn add_to_session(session: &Session, who: PlatformIdentity) -> AppResult<()> {
    session.insert(PLATFORM, who).map_err(AppError::internal)
}

/// Checks a super-admin's email and password; the same bcrypt cost whether or not the
/// email exists. Every attempt is in the platform audit log.
pub async fn login(
    state: &AppState,
    email: &str,
    password: SecretString,
    meta: &RequestMeta,
) -> AppResult<Option<PlatformIdentity>> {
    let email = Email::parse(email).ok();
    let lookup = email.clone();
    let row: Option<(Uuid, String, String, Option<String>)> = state
        .db
        .run(move |conn| {
            let Some(e) = lookup else { return Ok(None) };
            Ok(platform_admins::table
                .filter(platform_admins::email.eq(e.as_str()))
                .select((
                    platform_admins::id,
                    platform_admins::email,
                    platform_admins::name,
                    platform_admins::password_hash,
                ))
                .first(conn)
                .optional()?)
        })
        .await?;
    let hash = row.as_ref().and_then(|r| r.3.clone());
    let ok = state.hasher.verify(password, hash).await?;
    let who = row
        .filter(|_| ok)
        .map(|(id, email, name, _)| PlatformIdentity { id, email, name });
    let target = email.map(|e| e.as_str().to_string()).unwrap_or_default();
    let action = if who.is_some() {
        "platform.login.succeeded"
    } else {
        "platform.login.failed"
    };
    let ip = meta.ip.clone();
    let signed_in = who.as_ref().map(|w| w.id);
    state
        .db
        .run(move |conn| {
            if let Some(id) = signed_in {
                diesel::update(platform_admins::table.find(id))
                    .set(platform_admins::last_login_at.eq(Some(OffsetDateTime::now_utc())))
                    .execute(conn)?;
            }
            record(
                conn,
                &target,
                action,
                &target,
                serde_json::json!({ "ip": ip }),
            )
        })
        .await?;
    Ok(who)
}
