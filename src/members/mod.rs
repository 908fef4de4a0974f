//! The people of one organization, stored in the tenant's schema.

use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::schema::tenant::users;
use crate::domain::{Email, PersonName, Role};
use crate::error::{AppError, AppResult};

/// A person of a tenant.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Id, unique within the tenant.
    pub id: Uuid,
    /// Email, lowercased.
    pub email: String,
    /// Display name.
    pub name: String,
    /// bcrypt hash; none for SSO-only people.
    pub password_hash: Option<String>,
    /// Role name.
    pub role: String,
    /// `active` or `deactivated`.
    pub status: String,
    /// Last successful sign-in.
    pub last_login_at: Option<OffsetDateTime>,
    /// When the person joined.
    pub created_at: OffsetDateTime,
}

impl User {
    /// The role, parsed.
    pub fn role(&self) -> AppResult<Role> {
        Role::parse(&self.role)
            .map_err(|_| AppError::internal(anyhow::anyhow!("bad role in users row")))
    }

    /// Whether the person may sign in.
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

/// Adds a person to the tenant the transaction is scoped to.
pub fn insert(
    conn: &mut PgConnection,
    email: &Email,
    name: &PersonName,
    password_hash: Option<&str>,
    role: Role,
) -> AppResult<User> {
    diesel::insert_into(users::table)
        .values((
            users::email.eq(email.as_str()),
            users::name.eq(name.as_str()),
            users::password_hash.eq(password_hash),
            users::role.eq(role.as_str()),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => AppError::Conflict(format!("{email} is already a member of this organization.")),
            other => other.into(),
        })
}

/// The person with this email, if any.
pub fn find_by_email(conn: &mut PgConnection, email: &Email) -> AppResult<Option<User>> {
    Ok(users::table
        .filter(users::email.eq(email.as_str()))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// The person with this id, if any.
pub fn find(conn: &mut PgConnection, id: Uuid) -> AppResult<Option<User>> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// Records a successful sign-in.
pub fn touch_login(conn: &mut PgConnection, id: Uuid) -> AppResult<()> {
    diesel::update(users::table.find(id))
        .set(users::last_login_at.eq(diesel::dsl::now))
        .execute(conn)?;
    Ok(())
}

/// Active people in the tenant.
pub fn count_active(conn: &mut PgConnection) -> AppResult<i64> {
    Ok(users::table
        .filter(users::status.eq("active"))
        .count()
        .get_result(conn)?)
}
