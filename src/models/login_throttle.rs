//! `login_throttle`: failed sign-ins and locks, per email address (known or not).

use diesel::prelude::*;
use time::OffsetDateTime;

use crate::db::schema::tenant::login_throttle;
use crate::error::AppResult;

/// One paused sign-in.
#[derive(Debug, Clone, Queryable)]
pub struct Lock {
    /// The address whose sign-in is paused.
    pub email: String,
    /// Until when.
    pub locked_until: Option<OffsetDateTime>,
    /// Failures in a row that caused it.
    pub failures: i32,
}

/// The sign-ins paused now, the longest first (at most 200).
pub fn current_locks(conn: &mut PgConnection) -> AppResult<Vec<Lock>> {
    Ok(login_throttle::table
        .filter(login_throttle::locked_until.gt(diesel::dsl::now))
        .order(login_throttle::locked_until.desc())
        .select((
            login_throttle::email,
            login_throttle::locked_until,
            login_throttle::failures,
        ))
        .limit(200)
        .load(conn)?)
}

/// Forgets the failures and lock of an address; whether there were any.
pub fn clear(conn: &mut PgConnection, email: &str) -> AppResult<bool> {
    Ok(diesel::delete(login_throttle::table.find(email)).execute(conn)? > 0)
}
