//! `invitations`: invitations to join an organization, until accepted or withdrawn.
//! Only the SHA-256 of a link's token is stored.

use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::schema::tenant::invitations;
use crate::domain::{Email, Role};
use crate::error::AppResult;
use crate::models::user_token::TokenProblem;

/// An open invitation, as admins see it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    /// Id.
    pub id: Uuid,
    /// Invited address.
    pub email: String,
    /// Role the person gets.
    pub role: Role,
    /// Until when the newest link works.
    pub expires_at: OffsetDateTime,
    /// How many times the link was mailed.
    pub sent_count: i32,
    /// When it was first sent.
    pub created_at: OffsetDateTime,
}

impl Invitation {
    /// Whether the link still works.
    pub fn is_expired(&self) -> bool {
        self.expires_at <= OffsetDateTime::now_utc()
    }
}

/// Open invitations, newest first (at most 500).
pub fn open(conn: &mut PgConnection) -> AppResult<Vec<Invitation>> {
    Ok(invitations::table
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
        .order(invitations::created_at.desc())
        .select(Invitation::as_select())
        .limit(500)
        .load(conn)?)
}

/// Opens (or renews) the invitation of an address inside the caller's transaction;
/// returns whether an open one was renewed.
pub fn open_or_renew(
    conn: &mut PgConnection,
    email: &Email,
    role: Role,
    invited_by: Option<Uuid>,
    token_hash: &str,
    expires: OffsetDateTime,
) -> AppResult<bool> {
    let renewed = diesel::update(
        invitations::table
            .filter(invitations::email.eq(email.as_str()))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set((
        invitations::role.eq(role.as_str()),
        invitations::token_hash.eq(token_hash),
        invitations::expires_at.eq(expires),
        invitations::invited_by.eq(invited_by),
        invitations::sent_count.eq(invitations::sent_count + 1),
        invitations::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?;
    if renewed == 0 {
        diesel::insert_into(invitations::table)
            .values((
                invitations::email.eq(email.as_str()),
                invitations::role.eq(role.as_str()),
                invitations::token_hash.eq(token_hash),
                invitations::invited_by.eq(invited_by),
                invitations::expires_at.eq(expires),
            ))
            .execute(conn)?;
    }
    Ok(renewed > 0)
}

/// The invitation with this id, while it is open (neither accepted nor withdrawn).
type OpenWithId = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Find<invitations::table, Uuid>,
        diesel::dsl::IsNull<invitations::accepted_at>,
    >,
    diesel::dsl::IsNull<invitations::revoked_at>,
>;

fn open_with_id(id: Uuid) -> OpenWithId {
    invitations::table
        .find(id)
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
}

/// Gives an open invitation a new link (the old one stops working); its address and
/// role, or `None` when no open invitation has this id.
pub fn renew_link(
    conn: &mut PgConnection,
    id: Uuid,
    token_hash: &str,
    expires: OffsetDateTime,
) -> AppResult<Option<(String, Role)>> {
    Ok(diesel::update(open_with_id(id))
        .set((
            invitations::token_hash.eq(token_hash),
            invitations::expires_at.eq(expires),
            invitations::sent_count.eq(invitations::sent_count + 1),
            invitations::updated_at.eq(diesel::dsl::now),
        ))
        .returning((invitations::email, invitations::role))
        .get_result(conn)
        .optional()?)
}

/// Withdraws an open invitation; its address, or `None` when no open invitation has
/// this id.
pub fn withdraw(conn: &mut PgConnection, id: Uuid) -> AppResult<Option<String>> {
    Ok(diesel::update(open_with_id(id))
        .set((
            invitations::revoked_at.eq(Some(OffsetDateTime::now_utc())),
            invitations::updated_at.eq(diesel::dsl::now),
        ))
        .returning(invitations::email)
        .get_result(conn)
        .optional()?)
}

/// Marks an invitation accepted.
pub fn set_accepted(conn: &mut PgConnection, id: Uuid) -> AppResult<()> {
    diesel::update(invitations::table.find(id))
        .set((
            invitations::accepted_at.eq(Some(OffsetDateTime::now_utc())),
            invitations::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The open invitation whose link has this stored hash (its row locked when `lock`),
/// or why the link does not work.
pub fn find_by_hash(
    conn: &mut PgConnection,
    token_hash: &str,
    lock: bool,
) -> AppResult<Result<(Uuid, String, Role), TokenProblem>> {
    type Row = (
        Uuid,
        String,
        Role,
        OffsetDateTime,
        Option<OffsetDateTime>,
        Option<OffsetDateTime>,
    );
    let query = invitations::table
        .filter(invitations::token_hash.eq(token_hash))
        .select((
            invitations::id,
            invitations::email,
            invitations::role,
            invitations::expires_at,
            invitations::accepted_at,
            invitations::revoked_at,
        ));
    let row: Option<Row> = if lock {
        query.for_update().first(conn).optional()?
    } else {
        query.first(conn).optional()?
    };
    let Some((id, email, role, expires_at, accepted_at, revoked_at)) = row else {
        return Ok(Err(TokenProblem::Unknown));
    };
    if accepted_at.is_some() {
        return Ok(Err(TokenProblem::Used));
    }
    if revoked_at.is_some() {
        return Ok(Err(TokenProblem::Revoked));
    }
    if expires_at <= OffsetDateTime::now_utc() {
        return Ok(Err(TokenProblem::Expired));
    }
    Ok(Ok((id, email, role)))
}
