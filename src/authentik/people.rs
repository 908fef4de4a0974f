//! Changes to a person that Authentik must follow: each updates the person and queues
//! the Authentik change in one transaction, so neither happens without the other.
//! Member management calls these; the worker does the rest.

use diesel::prelude::*;
use uuid::Uuid;

use super::outbox;
use crate::db::{Db, schema::tenant::users};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::members::{self, User};
use crate::tenancy::Tenant;

/// Gives a person a new role and queues moving them between the tenant's groups.
/// `NotFound` when the tenant has no such person.
pub async fn change_role(db: &Db, tenant: &Tenant, person_id: Uuid, role: Role) -> AppResult<User> {
    let slug = tenant.slug.to_string();
    db.tenant(&tenant.schema, move |conn| {
        change_role_in(conn, &slug, person_id, role)
    })
    .await
}

/// [`change_role`] inside the caller's tenant transaction (to add an audit event).
pub fn change_role_in(
    conn: &mut PgConnection,
    slug: &str,
    person_id: Uuid,
    role: Role,
) -> AppResult<User> {
    diesel::update(users::table.find(person_id))
        .set((
            users::role.eq(role.as_str()),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    let user = members::find(conn, person_id)?.ok_or(AppError::NotFound)?;
    outbox::enqueue_person(conn, slug, &user, "role_changed")?;
    Ok(user)
}

/// Deactivates a person and queues removing them from the tenant's groups (and
/// deactivating their Authentik user when no other tenant has them).
pub async fn deactivate(db: &Db, tenant: &Tenant, person_id: Uuid) -> AppResult<User> {
    let slug = tenant.slug.to_string();
    db.tenant(&tenant.schema, move |conn| {
        set_status_in(conn, &slug, person_id, false)
    })
    .await
}

/// Reactivates a person and queues putting them back in their role's group.
pub async fn reactivate(db: &Db, tenant: &Tenant, person_id: Uuid) -> AppResult<User> {
    let slug = tenant.slug.to_string();
    db.tenant(&tenant.schema, move |conn| {
        set_status_in(conn, &slug, person_id, true)
    })
    .await
}

/// [`deactivate`] / [`reactivate`] inside the caller's tenant transaction.
pub fn set_status_in(
    conn: &mut PgConnection,
    slug: &str,
    person_id: Uuid,
    active: bool,
) -> AppResult<User> {
    let status = if active { "active" } else { "deactivated" };
    diesel::update(users::table.find(person_id))
        .set((
            users::status.eq(status),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    let user = members::find(conn, person_id)?.ok_or(AppError::NotFound)?;
    let reason = if active { "reactivated" } else { "deactivated" };
    outbox::enqueue_person(conn, slug, &user, reason)?;
    Ok(user)
}

/// Deletes a person and queues removing them from the tenant's groups, inside the
/// caller's tenant transaction.
pub fn remove_in(conn: &mut PgConnection, slug: &str, person_id: Uuid) -> AppResult<User> {
    let user = members::find(conn, person_id)?.ok_or(AppError::NotFound)?;
    diesel::delete(users::table.find(person_id)).execute(conn)?;
    outbox::enqueue_person(conn, slug, &user, "removed")?;
    Ok(user)
}
