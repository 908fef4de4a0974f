//! `public.platform_admins`: the platform's operators.

use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::schema::public::platform_admins;
use crate::error::AppResult;

/// An operator, with the hash of their password when they have one (single sign-on
/// operators have none).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = platform_admins)]
pub struct PlatformAdmin {
    /// Id.
    pub id: Uuid,
    /// Email, lowercased.
    pub email: String,
    /// Name.
    pub name: String,
    /// bcrypt hash, if they sign in with a password.
    pub password_hash: Option<String>,
}

/// The operator with this email, if any.
pub fn find_by_email(conn: &mut PgConnection, email: &str) -> AppResult<Option<PlatformAdmin>> {
    Ok(platform_admins::table
        .filter(platform_admins::email.eq(email))
        .select(PlatformAdmin::as_select())
        .first(conn)
        .optional()?)
}

/// Records a successful sign-in.
pub fn touch_login(conn: &mut PgConnection, id: Uuid) -> AppResult<()> {
    diesel::update(platform_admins::table.find(id))
        .set(platform_admins::last_login_at.eq(Some(OffsetDateTime::now_utc())))
        .execute(conn)?;
    Ok(())
}

/// Creates or renames the operator with this email (no password), recording the
/// sign-in; returns them as stored.
pub fn upsert_signed_in(
    conn: &mut PgConnection,
    email: &str,
    name: &str,
) -> AppResult<PlatformAdmin> {
    Ok(diesel::insert_into(platform_admins::table)
        .values((
            platform_admins::email.eq(email),
            platform_admins::name.eq(name),
        ))
        .on_conflict(platform_admins::email)
        .do_update()
        .set((
            platform_admins::name.eq(name),
            platform_admins::last_login_at.eq(Some(OffsetDateTime::now_utc())),
            platform_admins::updated_at.eq(diesel::dsl::now),
        ))
        .returning(PlatformAdmin::as_returning())
        .get_result(conn)?)
}

/// Adds an operator with a password; false when the email is taken.
pub fn insert(conn: &mut PgConnection, email: &str, name: &str, hash: &str) -> AppResult<bool> {
    Ok(diesel::insert_into(platform_admins::table)
        .values((
            platform_admins::email.eq(email),
            platform_admins::name.eq(name),
            platform_admins::password_hash.eq(hash),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?
        > 0)
}

/// Sets an operator's password; false when no operator has this email.
pub fn set_password(conn: &mut PgConnection, email: &str, hash: &str) -> AppResult<bool> {
    Ok(
        diesel::update(platform_admins::table.filter(platform_admins::email.eq(email)))
            .set((
                platform_admins::password_hash.eq(hash),
                platform_admins::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?
            > 0,
    )
}
