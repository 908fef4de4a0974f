//! Which second factors a person has: the one read that the sign-in step, the
//! organization's policy, the members list and the profile share. The rows themselves
//! live in `passkeys`, `totp_factors` and `recovery_codes`.

use diesel::dsl::{count_star, exists};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::tenant::{passkeys, recovery_codes, totp_factors, users};
use crate::error::AppResult;

/// A person's second factors, as counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FactorSummary {
    /// Registered passkeys.
    pub passkeys: i64,
    /// Whether a confirmed authenticator app is enrolled.
    pub totp: bool,
    /// Recovery codes not yet used.
    pub recovery_codes_left: i64,
}

impl FactorSummary {
    /// Whether the person has a factor that can be the second step of a sign-in
    /// (recovery codes alone do not count: they are the way back, not a factor).
    pub fn has_any(&self) -> bool {
        self.passkeys > 0 || self.totp
    }
}

/// The factors of one person.
pub fn summary(conn: &mut PgConnection, user_id: Uuid) -> AppResult<FactorSummary> {
    let passkeys = passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .select(count_star())
        .first::<i64>(conn)?;
    let totp = diesel::select(exists(
        totp_factors::table
            .filter(totp_factors::user_id.eq(user_id))
            .filter(totp_factors::confirmed_at.is_not_null()),
    ))
    .get_result::<bool>(conn)?;
    let recovery_codes_left = recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .select(count_star())
        .first::<i64>(conn)?;
    Ok(FactorSummary {
        passkeys,
        totp,
        recovery_codes_left,
    })
}

/// An admin of the organization with their factors, for the platform's page.
#[derive(Debug, Clone)]
pub struct AdminFactors {
    /// The admin's id.
    pub id: Uuid,
    /// Their address.
    pub email: String,
    /// Their factors.
    pub factors: FactorSummary,
}

/// The organization's admins (at most 50) with their second factors.
pub fn admins_with_factors(conn: &mut PgConnection) -> AppResult<Vec<AdminFactors>> {
    let admins: Vec<(Uuid, String)> = users::table
        .filter(users::role.eq("admin"))
        .order(users::email.asc())
        .select((users::id, users::email))
        .limit(50)
        .load(conn)?;
    admins
        .into_iter()
        .map(|(id, email)| {
            Ok(AdminFactors {
                id,
                email,
                factors: summary(conn, id)?,
            })
        })
        .collect()
}
