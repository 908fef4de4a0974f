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
use crate::auth::tokens;
use crate::config::TokenSettings;
use crate::db::schema::tenant::{api_sessions, refresh_tokens, users};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
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
    let (random, _) = tokens::generate();
    let raw = format!("{}.{random}", tenant.slug);
    let hash = tokens::hash(&raw);
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
    let session: Uuid = diesel::insert_into(api_sessions::table)
        .values((
            api_sessions::user_id.eq(user.id),
            api_sessions::expires_at.eq(expires),
            api_sessions::platform_admin.eq(platform_admin),
            api_sessions::ip.eq(meta.ip.as_deref()),
            api_sessions::user_agent.eq(meta.user_agent.as_deref()),
        ))
        .returning(api_sessions::id)
        .get_result(conn)?;
    let refresh = new_refresh(tenant);
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(&refresh.hash),
            refresh_tokens::session_id.eq(session),
            refresh_tokens::expires_at.eq(expires),
        ))
        .execute(conn)?;
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
    type Row = (
        Uuid,
        Option<OffsetDateTime>,
        OffsetDateTime,
        Option<OffsetDateTime>,
        OffsetDateTime,
        bool,
        User,
    );
    let hash = tokens::hash(raw);
    let found: Option<Row> = refresh_tokens::table
        .inner_join(api_sessions::table.inner_join(users::table))
        .filter(refresh_tokens::token_hash.eq(&hash))
        .select((
            api_sessions::id,
            refresh_tokens::used_at,
            refresh_tokens::expires_at,
            api_sessions::revoked_at,
            api_sessions::expires_at,
            api_sessions::platform_admin,
            User::as_select(),
        ))
        .for_update()
        .first(conn)
        .optional()?;
    let Some((session, used_at, expires_at, revoked_at, session_expires, platform_admin, user)) =
        found
    else {
        return Ok(Refreshed::Refused(UNKNOWN));
    };
    let now = OffsetDateTime::now_utc();
    if used_at.is_some() {
        if revoked_at.is_none() {
            revoke(conn, session, "refresh token reused")?;
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
        revoke(conn, session, "person deactivated")?;
        return Ok(Refreshed::Refused(REVOKED));
    }
    diesel::update(refresh_tokens::table.find(&hash))
        .set(refresh_tokens::used_at.eq(Some(now)))
        .execute(conn)?;
    let next = new_refresh(tenant);
    let expires = refresh_expiry(settings)?;
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(&next.hash),
            refresh_tokens::session_id.eq(session),
            refresh_tokens::expires_at.eq(expires),
        ))
        .execute(conn)?;
    diesel::update(api_sessions::table.find(session))
        .set((
            api_sessions::last_used_at.eq(now),
            api_sessions::expires_at.eq(expires),
        ))
        .execute(conn)?;
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

/// Revokes one API session (its refresh tokens stop at once, its access tokens at
/// their next use).
pub fn revoke(conn: &mut PgConnection, session: Uuid, reason: &str) -> AppResult<bool> {
    let n = diesel::update(
        api_sessions::table
            .find(session)
            .filter(api_sessions::revoked_at.is_null()),
    )
    .set((
        api_sessions::revoked_at.eq(Some(OffsetDateTime::now_utc())),
        api_sessions::revoked_reason.eq(Some(reason)),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// The session a refresh token belongs to, if it exists.
pub fn session_of_refresh(conn: &mut PgConnection, raw: &str) -> AppResult<Option<(Uuid, Uuid)>> {
    Ok(refresh_tokens::table
        .inner_join(api_sessions::table)
        .filter(refresh_tokens::token_hash.eq(tokens::hash(raw)))
        .select((api_sessions::id, api_sessions::user_id))
        .first(conn)
        .optional()?)
}

/// Revokes every API session of a person.
pub fn revoke_sessions_of(conn: &mut PgConnection, user: Uuid, reason: &str) -> AppResult<usize> {
    Ok(diesel::update(
        api_sessions::table
            .filter(api_sessions::user_id.eq(user))
            .filter(api_sessions::revoked_at.is_null()),
    )
    .set((
        api_sessions::revoked_at.eq(Some(OffsetDateTime::now_utc())),
        api_sessions::revoked_reason.eq(Some(reason)),
    ))
    .execute(conn)?)
}

/// The caller behind an access token, as the database says now: the person must be
/// active and the session neither revoked nor expired.
pub fn caller(
    conn: &mut PgConnection,
    user: Uuid,
    session: Uuid,
) -> AppResult<Option<(User, bool)>> {
    Ok(users::table
        .inner_join(api_sessions::table)
        .filter(users::id.eq(user))
        .filter(users::status.eq("active"))
        .filter(api_sessions::id.eq(session))
        .filter(api_sessions::revoked_at.is_null())
        .filter(api_sessions::expires_at.gt(diesel::dsl::now))
        .select((User::as_select(), api_sessions::platform_admin))
        .first(conn)
        .optional()?)
}

/// An open API session, as its person sees it on their profile.
#[derive(Debug, Clone, Queryable)]
pub struct ApiSessionView {
    /// Id (the `session_id` of its tokens).
    pub id: Uuid,
    /// When the exchange opened it.
    pub created_at: OffsetDateTime,
    /// When its refresh token was last used.
    pub last_used_at: OffsetDateTime,
    /// The client's user agent at the exchange.
    pub user_agent: Option<String>,
}

/// The person's API sessions that still work, newest first.
pub fn open_sessions_of(conn: &mut PgConnection, user: Uuid) -> AppResult<Vec<ApiSessionView>> {
    Ok(api_sessions::table
        .filter(api_sessions::user_id.eq(user))
        .filter(api_sessions::revoked_at.is_null())
        .filter(api_sessions::expires_at.gt(diesel::dsl::now))
        .order(api_sessions::last_used_at.desc())
        .select((
            api_sessions::id,
            api_sessions::created_at,
            api_sessions::last_used_at,
            api_sessions::user_agent,
        ))
        .limit(50)
        .load(conn)?)
}

/// Revokes one of a person's API sessions (from their profile); false when they have
/// no such open session.
pub fn revoke_own(conn: &mut PgConnection, user: Uuid, session: Uuid) -> AppResult<bool> {
    let n = diesel::update(
        api_sessions::table
            .find(session)
            .filter(api_sessions::user_id.eq(user))
            .filter(api_sessions::revoked_at.is_null()),
    )
    .set((
        api_sessions::revoked_at.eq(Some(OffsetDateTime::now_utc())),
        api_sessions::revoked_reason.eq(Some("revoked by its person")),
    ))
    .execute(conn)?;
    Ok(n > 0)
}
