//! The platform: super-admins who see every organization, create, suspend and
//! reactivate them, and read the platform audit log.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::password::PasswordHasher;
use crate::db::Db;
use crate::domain::Email;
use crate::error::AppResult;
use crate::members::invitations::Invitations;
use crate::models::audit_log::RequestMeta;
use crate::models::{platform_admin, platform_audit};

mod directory;
mod events;
mod export;
mod factors;
mod lifecycle;
mod organizations;
mod profile;

pub use directory::{ORGS_PER_PAGE, OrgLine, OrgListing, OrgQuery, STATUSES, organizations};
pub use events::{EVENTS_PER_PAGE, events_page, export_csv};
pub use export::{EXPORT_FORMAT, export_organization, record_own_export, record_platform_export};
pub use factors::{admin_email, reset_admin_factors, tenant_for_reset};
pub use lifecycle::{
    TYPE_THE_SLUG, confirmed, purge_due, request_deletion, request_own_deletion, restore,
};
pub use organizations::{NewTenantInput, create_tenant, recent_events, set_status};
pub use profile::{OrgProfile, organization};

/// What the platform's operators' work needs.
#[derive(Clone, Copy)]
pub struct Platform<'a> {
    /// The database.
    pub db: &'a Db,
    /// bcrypt on the blocking pool.
    pub hasher: &'a PasswordHasher,
    /// Invitations (a new organization's first admin is invited).
    pub invitations: Invitations<'a>,
}

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

/// Grants the platform to a person the identity provider puts in the super-admin
/// group: their platform-admin row is created or renamed (it has no password, so only
/// single sign-on opens it) and the sign-in is in the platform audit log.
pub async fn admit_from_sso(
    deps: &Platform<'_>,
    email: &str,
    name: &str,
) -> AppResult<PlatformIdentity> {
    let (email, name) = (email.to_string(), name.to_string());
    deps.db
        .run(move |conn| {
            let admin = platform_admin::upsert_signed_in(conn, &email, &name)?;
            let (id, email, name) = (admin.id, admin.email, admin.name);
            platform_audit::record(
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
    deps: &Platform<'_>,
    actor: &str,
    keys: usize,
    url: &str,
) -> AppResult<()> {
    let (actor, url) = (actor.to_string(), url.to_string());
    deps.db
        .run(move |conn| {
            platform_audit::record(
                conn,
                &actor,
                "platform.jwks_refreshed",
                &url,
                serde_json::json!({ "keys": keys }),
            )
        })
        .await
}

/// Checks a super-admin's email and password; the same bcrypt cost whether or not the
/// email exists. Every attempt is in the platform audit log.
pub async fn login(
    deps: &Platform<'_>,
    email: &str,
    password: SecretString,
    meta: &RequestMeta,
) -> AppResult<Option<PlatformIdentity>> {
    let email = Email::parse(email).ok();
    let lookup = email.clone();
    let row = deps
        .db
        .run(move |conn| {
            let Some(e) = lookup else { return Ok(None) };
            platform_admin::find_by_email(conn, e.as_str())
        })
        .await?;
    let hash = row.as_ref().and_then(|r| r.password_hash.clone());
    let ok = deps.hasher.verify(password, hash).await?;
    let who = row.filter(|_| ok).map(|a| PlatformIdentity {
        id: a.id,
        email: a.email,
        name: a.name,
    });
    let target = email.map(|e| e.as_str().to_string()).unwrap_or_default();
    let action = if who.is_some() {
        "platform.login.succeeded"
    } else {
        "platform.login.failed"
    };
    let ip = meta.ip.clone();
    let signed_in = who.as_ref().map(|w| w.id);
    deps.db
        .run(move |conn| {
            if let Some(id) = signed_in {
                platform_admin::touch_login(conn, id)?;
            }
            platform_audit::record(
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
