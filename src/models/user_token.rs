//! `user_tokens`: single-use links mailed to a person (password reset, email
//! verification).
//!
//! The link carries 32 random bytes; only their SHA-256 is stored, so a database
//! dump opens no account. A token works once and until it expires.

use std::time::Duration;

use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::crypto::{generate_token, hash_token};
use crate::db::schema::tenant::user_tokens;
use crate::error::{AppError, AppResult};

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Set a new password.
    PasswordReset,
    /// Prove the email address belongs to the person.
    EmailVerification,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerification => "email_verification",
        }
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Never issued (or mistyped).
    Unknown,
    /// Already used.
    Used,
    /// Past its expiry.
    Expired,
    /// Withdrawn by an admin.
    Revoked,
}

impl TokenProblem {
    /// A sentence for the person who followed the link.
    pub fn message(self) -> &'static str {
        match self {
            TokenProblem::Unknown => {
                "This link is not valid. Check that you copied the whole link, or ask for a new one."
            }
            TokenProblem::Used => {
                "This link has already been used. Ask for a new one if you still need it."
            }
            TokenProblem::Expired => "This link has expired. Ask for a new one.",
            TokenProblem::Revoked => {
                "This link has been withdrawn. Ask the person who sent it if you still need one."
            }
        }
    }
}

/// Issues a token for a person; returns the raw token for the link. Earlier unused
/// tokens of the same purpose stop working, so only the newest link is live.
pub fn issue(
    conn: &mut PgConnection,
    user_id: Uuid,
    purpose: Purpose,
    ttl: Duration,
) -> AppResult<String> {
    let (raw, stored) = generate_token();
    let now = OffsetDateTime::now_utc();
    diesel::update(
        user_tokens::table
            .filter(user_tokens::user_id.eq(user_id))
            .filter(user_tokens::purpose.eq(purpose.as_str()))
            .filter(user_tokens::used_at.is_null()),
    )
    .set(user_tokens::expires_at.eq(now))
    .execute(conn)?;
    let ttl = time::Duration::try_from(ttl).map_err(AppError::internal)?;
    diesel::insert_into(user_tokens::table)
        .values((
            user_tokens::user_id.eq(user_id),
            user_tokens::purpose.eq(purpose.as_str()),
            user_tokens::token_hash.eq(stored),
            user_tokens::expires_at.eq(now + ttl),
        ))
        .execute(conn)?;
    Ok(raw)
}

/// Checks a token without using it (to show the form behind a link).
pub fn peek(
    conn: &mut PgConnection,
    raw: &str,
    purpose: Purpose,
) -> AppResult<Result<Uuid, TokenProblem>> {
    find(conn, raw, purpose, false)
}

/// Uses a token: on success it never works again. Call inside the transaction that
/// makes the change the token allows, so both happen or neither does.
pub fn consume(
    conn: &mut PgConnection,
    raw: &str,
    purpose: Purpose,
) -> AppResult<Result<Uuid, TokenProblem>> {
    find(conn, raw, purpose, true)
}

fn find(
    conn: &mut PgConnection,
    raw: &str,
    purpose: Purpose,
    use_it: bool,
) -> AppResult<Result<Uuid, TokenProblem>> {
    if raw.len() > 100 {
        return Ok(Err(TokenProblem::Unknown));
    }
    let row: Option<(Uuid, Uuid, OffsetDateTime, Option<OffsetDateTime>)> = user_tokens::table
        .filter(user_tokens::token_hash.eq(hash_token(raw)))
        .filter(user_tokens::purpose.eq(purpose.as_str()))
        .select((
            user_tokens::id,
            user_tokens::user_id,
            user_tokens::expires_at,
            user_tokens::used_at,
        ))
        .for_update()
        .first(conn)
        .optional()?;
    let Some((id, user_id, expires_at, used_at)) = row else {
        return Ok(Err(TokenProblem::Unknown));
    };
    if used_at.is_some() {
        return Ok(Err(TokenProblem::Used));
    }
    let now = OffsetDateTime::now_utc();
    if expires_at <= now {
        return Ok(Err(TokenProblem::Expired));
    }
    if use_it {
        diesel::update(user_tokens::table.find(id))
            .set(user_tokens::used_at.eq(now))
            .execute(conn)?;
    }
    Ok(Ok(user_id))
}
