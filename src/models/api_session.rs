//! `api_sessions` and `refresh_tokens`: sessions of the JSON API (one per token
//! exchange) and their refresh tokens, stored hashed, one family per session.

use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::schema::tenant::{api_sessions, refresh_tokens, users};
use crate::domain::MemberStatus;
use crate::error::AppResult;
use crate::models::audit_log::RequestMeta;
use crate::models::user::User;

/// Opens an API session for a person with its first refresh token; its id.
pub fn open(
    conn: &mut PgConnection,
    user: Uuid,
    platform_admin: bool,
    meta: &RequestMeta,
    refresh_hash: &str,
    expires: OffsetDateTime,
) -> AppResult<Uuid> {
    let session: Uuid = diesel::insert_into(api_sessions::table)
        .values((
            api_sessions::user_id.eq(user),
            api_sessions::expires_at.eq(expires),
            api_sessions::platform_admin.eq(platform_admin),
            api_sessions::ip.eq(meta.ip.as_deref()),
            api_sessions::user_agent.eq(meta.user_agent.as_deref()),
        ))
        .returning(api_sessions::id)
        .get_result(conn)?;
    insert_refresh(conn, session, refresh_hash, expires)?;
    Ok(session)
}

fn insert_refresh(
    conn: &mut PgConnection,
    session: Uuid,
    hash: &str,
    expires: OffsetDateTime,
) -> AppResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(hash),
            refresh_tokens::session_id.eq(session),
            refresh_tokens::expires_at.eq(expires),
        ))
        .execute(conn)?;
    Ok(())
}

/// A refresh token with its session and person, as found by its hash.
#[derive(Debug)]
pub struct Refresh {
    /// The session.
    pub session: Uuid,
    /// When the token was used, if it was.
    pub used_at: Option<OffsetDateTime>,
    /// Until when the token works.
    pub expires_at: OffsetDateTime,
    /// When the session was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// Until when the session works.
    pub session_expires: OffsetDateTime,
    /// Whether the session carries platform rights.
    pub platform_admin: bool,
    /// The person.
    pub user: User,
}

/// The refresh token with this hash, its rows locked until the transaction ends.
pub fn refresh_for_update(conn: &mut PgConnection, hash: &str) -> AppResult<Option<Refresh>> {
    type Row = (
        Uuid,
        Option<OffsetDateTime>,
        OffsetDateTime,
        Option<OffsetDateTime>,
        OffsetDateTime,
        bool,
        User,
    );
    let found: Option<Row> = refresh_tokens::table
        .inner_join(api_sessions::table.inner_join(users::table))
        .filter(refresh_tokens::token_hash.eq(hash))
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
    Ok(found.map(
        |(session, used_at, expires_at, revoked_at, session_expires, platform_admin, user)| {
            Refresh {
                session,
                used_at,
                expires_at,
                revoked_at,
                session_expires,
                platform_admin,
                user,
            }
        },
    ))
}

/// Uses a refresh token: it never works again, the next one does, and the session
/// lives on until `expires`.
pub fn rotate_refresh(
    conn: &mut PgConnection,
    session: Uuid,
    used: &str,
    next: &str,
    expires: OffsetDateTime,
) -> AppResult<()> {
    let now = OffsetDateTime::now_utc();
    diesel::update(refresh_tokens::table.find(used))
        .set(refresh_tokens::used_at.eq(Some(now)))
        .execute(conn)?;
    insert_refresh(conn, session, next, expires)?;
    diesel::update(api_sessions::table.find(session))
        .set((
            api_sessions::last_used_at.eq(now),
            api_sessions::expires_at.eq(expires),
        ))
        .execute(conn)?;
    Ok(())
}

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

/// The session (and its person) a refresh token with this hash belongs to, if any.
pub fn session_of_refresh(
    conn: &mut PgConnection,
    token_hash: &str,
) -> AppResult<Option<(Uuid, Uuid)>> {
    Ok(refresh_tokens::table
        .inner_join(api_sessions::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
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
        .filter(users::status.eq(MemberStatus::Active))
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
