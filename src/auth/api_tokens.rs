//! The portal's own API tokens: short-lived signed access tokens and opaque refresh
//! tokens, one family per API session.
//!
//! A refresh token is `<tenant slug>.<32 random bytes>`; only the SHA-256 of the whole
//! is stored. Each works once: using it issues the next. Presenting one that was
//! already used means two parties hold the family (one of them a thief), so the whole
//! session is revoked and the event audited.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::signing::SigningKeys;
use crate::config::TokenSettings;
use crate::crypto;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::models::api_session;
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::tenant::Tenant;
use crate::models::user::User;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The portal (`PORTAL_TOKEN_ISSUER`).
    pub iss: String,
    /// `PORTAL_TOKEN_AUDIENCE`.
    pub aud: String,
    /// The person's id in the tenant.
    pub sub: String,
    /// The tenant's id.
    pub tenant_id: String,
    /// The tenant's slug.
    pub tenant: String,
    /// The API session (refresh token family).
    pub session_id: String,
    /// The role when issued (requests re-read the current one).
    pub role: String,
    /// Always `access`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires (Unix seconds).
    pub exp: i64,
    /// Unique id of this token.
    pub jti: String,
    /// Whether the person was in the platform's super-admin group at the exchange.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub platform_admin: bool,
}

/// What the exchange and the refresh answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// The signed access token.
    pub access_token: String,
    /// The next refresh token.
    pub refresh_token: String,
    /// Always `Bearer`.
    #[schema(value_type = String, example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Who the tokens are for.
    pub user_info: UserInfo,
}

/// The person the tokens speak for.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserInfo {
    /// Their id in the tenant.
    pub id: Uuid,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// The tenant's id.
    pub tenant_id: Uuid,
    /// The tenant's slug.
    pub tenant_slug: String,
    /// Role in the tenant.
    pub role: String,
}

/// A refresh token just made: what the client gets and what is stored.
struct NewRefresh {
    raw: String,
    hash: String,
}

fn new_refresh(tenant: &Tenant) -> NewRefresh {
    let (random, _) = crypto::generate_token();
    let raw = format!("{}.{random}", tenant.slug);
    let hash = crypto::hash_token(&raw);
    NewRefresh { raw, hash }
}

/// The tenant slug a refresh token names, if it has the portal's shape.
pub fn slug_of_refresh(raw: &str) -> Option<&str> {
    let (slug, rest) = raw.split_once('.')?;
    (raw.len() <= 200 && !rest.is_empty() && !rest.contains('.')).then_some(slug)
}

fn refresh_expiry(s: &TokenSettings) -> AppResult<OffsetDateTime> {
    let ttl = time::Duration::try_from(s.refresh_ttl).map_err(AppError::internal)?;
    Ok(OffsetDateTime::now_utc() + ttl)
}

/// Opens an API session for a person with its first refresh token, inside the
/// caller's tenant transaction. Returns the session id and the raw refresh token.
pub fn open_session(
    conn: &mut PgConnection,
    tenant: &Tenant,
    settings: &TokenSettings,
    user: &User,
    platform_admin: bool,
    meta: &RequestMeta,
) -> AppResult<(Uuid, String)> {
    let expires = refresh_expiry(settings)?;
    let refresh = new_refresh(tenant);
    let session = api_session::open(conn, user.id, platform_admin, meta, &refresh.hash, expires)?;
    let ev = AuditEvent::new("token.issued")
        .actor(Some(user.id), Some(&user.email))
        .target(&user.email)
        .details(serde_json::json!({ "session_id": session, "platform_admin": platform_admin }));
    audit::record(conn, tenant.slug.as_str(), meta, ev)?;
    Ok((session, refresh.raw))
}

/// Signs an access token and builds the answer of the exchange or the refresh.
#[allow(clippy::too_many_arguments)]
pub fn pair(
    keys: &SigningKeys,
    settings: &TokenSettings,
    tenant: &Tenant,
    user: &User,
    role: Role,
    session: Uuid,
    platform_admin: bool,
    refresh_token: String,
) -> AppResult<TokenPair> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let ttl = settings.access_ttl.as_secs();
    let claims = AccessClaims {
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
        sub: user.id.to_string(),
        tenant_id: tenant.id.to_string(),
        tenant: tenant.slug.to_string(),
        session_id: session.to_string(),
        role: role.as_str().to_string(),
        kind: "access".into(),
        iat: now,
        exp: now + ttl as i64,
        jti: Uuid::new_v4().to_string(),
        platform_admin,
    };
    Ok(TokenPair {
        access_token: keys.sign(&claims)?,
        refresh_token,
        token_type: "Bearer",
        expires_in: ttl,
        user_info: UserInfo {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            tenant_id: tenant.id,
            tenant_slug: tenant.slug.to_string(),
            role: role.as_str().to_string(),
        },
    })
}

/// How presenting a refresh token ended.
#[derive(Debug)]
pub enum Refreshed {
    /// A new pair for this person and session.
    Rotated {
        /// The person, as now stored.
        user: Box<User>,
        /// The session continued.
        session: Uuid,
        /// Whether the session carries platform rights.
        platform_admin: bool,
        /// The next refresh token.
        refresh_token: String,
    },
    /// Already used: the session was revoked.
    Reused,
    /// Unknown, expired, revoked, or the person cannot use the portal any more.
    Refused(&'static str),
}

/// Uses a refresh token once, inside the caller's tenant transaction.
pub fn rotate(
    conn: &mut PgConnection,
    tenant: &Tenant,
    settings: &TokenSettings,
    raw: &str,
    meta: &RequestMeta,
) -> AppResult<Refreshed> {
    let hash = crypto::hash_token(raw);
    let Some(found) = api_session::refresh_for_update(conn, &hash)? else {
        return Ok(Refreshed::Refused(UNKNOWN));
    };
    let api_session::Refresh {
        session,
        used_at,
        expires_at,
        revoked_at,
        session_expires,
        platform_admin,
        user,
    } = found;
    let now = OffsetDateTime::now_utc();
    if used_at.is_some() {
        if revoked_at.is_none() {
            api_session::revoke(conn, session, "refresh token reused")?;
        }
        let ev = AuditEvent::new("token.refresh_reused")
            .actor(Some(user.id), Some(&user.email))
            .target(&user.email)
            .details(serde_json::json!({ "session_id": session, "revoked": "session" }));
        audit::record(conn, tenant.slug.as_str(), meta, ev)?;
        return Ok(Refreshed::Reused);
    }
    if revoked_at.is_some() {
        return Ok(Refreshed::Refused(REVOKED));
    }
    if expires_at <= now || session_expires <= now {
        return Ok(Refreshed::Refused(EXPIRED));
    }
    if !user.is_active() {
        api_session::revoke(conn, session, "person deactivated")?;
        return Ok(Refreshed::Refused(REVOKED));
    }
    let next = new_refresh(tenant);
    let expires = refresh_expiry(settings)?;
    api_session::rotate_refresh(conn, session, &hash, &next.hash, expires)?;
    Ok(Refreshed::Rotated {
        user: Box::new(user),
        session,
        platform_admin,
        refresh_token: next.raw,
    })
}

const UNKNOWN: &str = "This refresh token is not valid. Exchange an Authentik token again.";
const REVOKED: &str = "This session has been revoked. Exchange an Authentik token again.";
const EXPIRED: &str = "This refresh token has expired. Exchange an Authentik token again.";
