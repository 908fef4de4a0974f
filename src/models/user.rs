//! `users`: the people of one organization, in the tenant's schema.

use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::prepared::{ById, ByIdSql};
use crate::db::schema::tenant::users;
use crate::domain::{Email, MemberStatus, PersonName, Role, SchemaName};
use crate::error::{AppError, AppResult};
use crate::models::audit_log::AuditEntry;

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
    /// Role in the tenant.
    pub role: Role,
    /// Whether they may sign in.
    pub status: MemberStatus,
    /// Their single sign-on identity (the provider's `sub`), once linked.
    pub external_id: Option<String>,
    /// When the person proved their email address, if they did.
    pub email_verified_at: Option<OffsetDateTime>,
    /// Last successful sign-in.
    pub last_login_at: Option<OffsetDateTime>,
    /// When the person joined.
    pub created_at: OffsetDateTime,
}

impl User {
    /// Whether the person may sign in.
    pub fn is_active(&self) -> bool {
        self.status == MemberStatus::Active
    }

    /// Whether the person is an admin who may act as one now.
    pub fn is_active_admin(&self) -> bool {
        self.is_active() && self.role == Role::Admin
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
    insert_with_login(conn, email, name, password_hash, role, None)
}

/// Inserts a person who is signed in at once (sign-up, registration, an accepted
/// invitation): their first sign-in is now, so the member list never says "Never"
/// for someone who is using the portal.
pub fn insert_signing_in(
    conn: &mut PgConnection,
    email: &Email,
    name: &PersonName,
    password_hash: Option<&str>,
    role: Role,
) -> AppResult<User> {
    let now = OffsetDateTime::now_utc();
    insert_with_login(conn, email, name, password_hash, role, Some(now))
}

fn insert_with_login(
    conn: &mut PgConnection,
    email: &Email,
    name: &PersonName,
    password_hash: Option<&str>,
    role: Role,
    last_login_at: Option<OffsetDateTime>,
) -> AppResult<User> {
    diesel::insert_into(users::table)
        .values((
            users::email.eq(email.as_str()),
            users::name.eq(name.as_str()),
            users::password_hash.eq(password_hash),
            users::role.eq(role),
            users::last_login_at.eq(last_login_at),
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

/// How many people of the tenant have a password hash.
pub fn count_with_password(conn: &mut PgConnection) -> AppResult<i64> {
    Ok(users::table
        .filter(users::password_hash.is_not_null())
        .count()
        .get_result(conn)?)
}

/// The person with this id, if any.
pub fn find(conn: &mut PgConnection, id: Uuid) -> AppResult<Option<User>> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// The person with this id, their row locked until the transaction ends (no one else
/// changes them meanwhile).
pub fn find_for_update(conn: &mut PgConnection, id: Uuid) -> AppResult<Option<User>> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

/// How many active admins the tenant has, their rows locked, so that two admins
/// demoting each other at the same moment cannot both succeed.
pub fn count_active_admins_locked(conn: &mut PgConnection) -> AppResult<usize> {
    let ids: Vec<Uuid> = users::table
        .filter(users::role.eq(Role::Admin))
        .filter(users::status.eq(MemberStatus::Active))
        .order(users::id)
        .select(users::id)
        .for_update()
        .load(conn)?;
    Ok(ids.len())
}

/// How many active admins the tenant has (for showing the last-admin rule; changes
/// use [`count_active_admins_locked`]).
pub fn count_active_admins(conn: &mut PgConnection) -> AppResult<i64> {
    Ok(users::table
        .filter(users::role.eq(Role::Admin))
        .filter(users::status.eq(MemberStatus::Active))
        .count()
        .get_result(conn)?)
}

/// Sets a person's role and status; returns them as they are now.
pub fn set_role_and_status(
    conn: &mut PgConnection,
    id: Uuid,
    role: Role,
    status: MemberStatus,
) -> AppResult<User> {
    Ok(diesel::update(users::table.find(id))
        .set((
            users::role.eq(role),
            users::status.eq(status),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .returning(User::as_returning())
        .get_result(conn)?)
}

/// The person with this single sign-on identity, their row locked.
pub fn find_by_sub_for_update(conn: &mut PgConnection, sub: &str) -> AppResult<Option<User>> {
    Ok(users::table
        .filter(users::external_id.eq(sub))
        .select(User::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

/// The person with this email, their row locked.
pub fn find_by_email_for_update(conn: &mut PgConnection, email: &Email) -> AppResult<Option<User>> {
    Ok(users::table
        .filter(users::email.eq(email.as_str()))
        .select(User::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

/// Links a person to a single sign-on identity.
pub fn set_external_id(conn: &mut PgConnection, id: Uuid, sub: &str) -> AppResult<()> {
    diesel::update(users::table.find(id))
        .set(users::external_id.eq(sub))
        .execute(conn)?;
    Ok(())
}

/// What the identity provider says of a person at each sign-in: address, name and
/// role; the address counts as confirmed when the provider verified it.
pub fn update_from_provider(
    conn: &mut PgConnection,
    id: Uuid,
    email: &Email,
    name: &PersonName,
    role: Role,
    email_verified: bool,
) -> AppResult<Option<User>> {
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(email.as_str()),
            users::name.eq(name.as_str()),
            users::role.eq(role),
            users::last_login_at.eq(diesel::dsl::now),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    if email_verified {
        mark_verified(conn, id)?;
    }
    find(conn, id)
}

/// The person linked to this single sign-on identity, or with this email, if any.
pub fn find_by_sub_or_email(
    conn: &mut PgConnection,
    sub: &str,
    email: &Email,
) -> AppResult<Option<User>> {
    Ok(users::table
        .filter(
            users::external_id
                .eq(sub)
                .or(users::email.eq(email.as_str())),
        )
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// Links a person to their single sign-on identity after they signed in through it
/// with a confirmed address: the link, the confirmation and the sign-in are recorded.
pub fn link_sso_identity(conn: &mut PgConnection, id: Uuid, sub: &str) -> AppResult<User> {
    Ok(diesel::update(users::table.find(id))
        .set((
            users::external_id.eq(sub),
            users::email_verified_at.eq(Some(OffsetDateTime::now_utc())),
            users::last_login_at.eq(diesel::dsl::now),
        ))
        .returning(User::as_returning())
        .get_result(conn)?)
}

/// Marks the person's email address as confirmed, keeping an earlier confirmation.
/// For accounts an operator creates and vouches for.
pub fn mark_verified(conn: &mut PgConnection, id: Uuid) -> AppResult<()> {
    diesel::update(
        users::table
            .find(id)
            .filter(users::email_verified_at.is_null()),
    )
    .set(users::email_verified_at.eq(Some(OffsetDateTime::now_utc())))
    .execute(conn)?;
    Ok(())
}

/// Records a successful sign-in.
pub fn touch_login(conn: &mut PgConnection, id: Uuid) -> AppResult<()> {
    diesel::update(users::table.find(id))
        .set(users::last_login_at.eq(diesel::dsl::now))
        .execute(conn)?;
    Ok(())
}

/// What the dashboard shows about a person and their organization.
#[derive(Debug, QueryableByName)]
pub struct Overview {
    /// Email.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub email: String,
    /// Name.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    /// Role.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub role: Role,
    /// Status.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub status: MemberStatus,
    /// Whether the person confirmed their email address.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub email_verified: bool,
    /// Active people in the tenant.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub member_count: i64,
    /// The ten newest audit events, as a JSON array.
    #[diesel(sql_type = diesel::sql_types::Text)]
    activity: String,
}

impl Overview {
    /// Whether the person may still use the portal.
    pub fn is_active(&self) -> bool {
        self.status == MemberStatus::Active
    }

    /// The recent activity.
    pub fn activity(&self) -> AppResult<Vec<AuditEntry>> {
        serde_json::from_str(&self.activity).map_err(AppError::internal)
    }
}

/// The dashboard's data in one statement (one round trip), or none when the person
/// no longer exists. Admins see the organization's recent activity; everyone else
/// sees only their own.
pub fn overview(
    conn: &mut PgConnection,
    schema: &SchemaName,
    id: Uuid,
) -> AppResult<Option<Overview>> {
    Ok(ById::<OverviewSql>::new(schema, id)
        .get_result(conn)
        .optional()?)
}

/// The dashboard's statement, prepared once per tenant (see `db::prepared`).
struct OverviewSql;

impl ByIdSql for OverviewSql {
    const SQL: &'static str = "SELECT u.email, u.name, u.role, u.status, \
          (u.email_verified_at IS NOT NULL) AS email_verified, \
          (SELECT count(*) FROM users WHERE status = 'active') AS member_count, \
          COALESCE((SELECT json_agg(a ORDER BY a.id DESC)::text FROM ( \
              SELECT id, extract(epoch FROM occurred_at)::float8 AS occurred_at, actor_email, action, target, ip \
              FROM audit_log WHERE u.role = 'admin' OR actor_id = u.id \
              ORDER BY id DESC LIMIT 10) a), '[]') AS activity \
        FROM users u WHERE u.id = ";
}

/// A person acting on their own account: who, as the audit log names them.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Their id in the tenant.
    pub id: Uuid,
    /// Their email.
    pub email: String,
}
