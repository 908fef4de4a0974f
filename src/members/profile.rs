//! What every person changes about themselves: their name and their password.

use diesel::prelude::*;

use crate::auth::login::secret;
use crate::auth::password::PasswordHasher;
use crate::db::Db;
use crate::db::schema::tenant::users;
use crate::domain::{FieldError, NewPassword, PasswordPolicy, PersonName};
use crate::error::{AppError, AppResult};
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::tenant::Tenant;
use crate::models::user::{self, Actor, User};

/// What a person's own changes need.
#[derive(Clone, Copy)]
pub struct Profiles<'a> {
    /// The database.
    pub db: &'a Db,
    /// bcrypt on the blocking pool.
    pub hasher: &'a PasswordHasher,
}

/// Renames the signed-in person.
pub async fn rename(
    deps: &Profiles<'_>,
    tenant: &Tenant,
    me: &Actor,
    name: &str,
    meta: RequestMeta,
) -> AppResult<User> {
    let name = PersonName::parse(name)?;
    let slug = tenant.slug.to_string();
    let me = me.clone();
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let user: User = diesel::update(users::table.find(me.id))
                .set((
                    users::name.eq(name.as_str()),
                    users::updated_at.eq(diesel::dsl::now),
                ))
                .returning(User::as_returning())
                .get_result(conn)
                .optional()?
                .ok_or(AppError::NotFound)?;
            let ev = AuditEvent::new("profile.updated")
                .actor(Some(me.id), Some(&me.email))
                .target(&me.email)
                .details(serde_json::json!({ "name": user.name }));
            audit::record(conn, &slug, &meta, ev)?;
            Ok(user)
        })
        .await
}

/// Changes the signed-in person's password after checking the current one. Returns
/// the field errors to show when refused.
pub async fn change_password(
    deps: &Profiles<'_>,
    tenant: &Tenant,
    me: &Actor,
    current: String,
    new: &str,
    meta: RequestMeta,
) -> AppResult<Result<(), Vec<FieldError>>> {
    let uid = me.id;
    let user = deps
        .db
        .tenant(&tenant.schema, move |conn| user::find(conn, uid))
        .await?
        .ok_or(AppError::NotFound)?;
    let ok = deps
        .hasher
        .verify(secret(current), user.password_hash.clone())
        .await?;
    if !ok {
        return Ok(Err(vec![FieldError::new(
            "current_password",
            "Your current password is not right.",
        )]));
    }
    let context = [
        user.email.as_str(),
        user.name.as_str(),
        tenant.name.as_str(),
    ];
    let password = match NewPassword::parse(new, PasswordPolicy::default(), &context) {
        Ok(p) => p,
        Err(mut e) => {
            e.field = "new_password";
            return Ok(Err(vec![e]));
        }
    };
    let hash = deps.hasher.hash(&password).await?;
    let slug = tenant.slug.to_string();
    let me = me.clone();
    deps.db
        .tenant(&tenant.schema, move |conn| {
            diesel::update(users::table.find(me.id))
                .set((
                    users::password_hash.eq(&hash),
                    users::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)?;
            let ev = AuditEvent::new("password.changed")
                .actor(Some(me.id), Some(&me.email))
                .target(&me.email);
            audit::record(conn, &slug, &meta, ev)
        })
        .await?;
    Ok(Ok(()))
}
