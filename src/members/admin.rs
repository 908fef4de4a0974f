//! What admins change about members: role, deactivation, reactivation. The last
//! active admin is never demoted or deactivated, and admins confirm changes to
//! themselves.

use diesel::prelude::*;
use uuid::Uuid;

use super::{User, require_active_admin};
use crate::app::AppState;
use crate::audit::{self, AuditEvent, RequestMeta};
use crate::auth::session::Identity;
use crate::auth::session_store;
use crate::db::schema::tenant::users;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::tenancy::Tenant;

/// A change to one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Give this role.
    Role(Role),
    /// Stop them from signing in and end their sessions.
    Deactivate,
    /// Let them sign in again.
    Reactivate,
}

impl Change {
    /// Whether the change takes admin rights away from an active admin.
    fn removes_admin(self, target: &User) -> bool {
        let is_admin = target.is_active() && target.role == Role::Admin.as_str();
        is_admin
            && (matches!(self, Change::Role(r) if r != Role::Admin) || self == Change::Deactivate)
    }

    /// The last part of the change's URL.
    pub fn path(self) -> &'static str {
        match self {
            Change::Role(_) => "role",
            Change::Deactivate => "deactivate",
            Change::Reactivate => "reactivate",
        }
    }

    /// A sentence describing the change, for confirmation pages.
    pub fn describe(self) -> String {
        match self {
            Change::Role(r) => format!("change your role to {}", r.label().to_lowercase()),
            Change::Deactivate => "deactivate your own account".into(),
            Change::Reactivate => "reactivate your own account".into(),
        }
    }
}

/// How a change request ended.
#[derive(Debug)]
pub enum Outcome {
    /// Done; the member as they are now.
    Done(User),
    /// Nothing changed.
    Unchanged(User),
    /// The admin is changing themselves and must confirm first.
    ConfirmSelf,
}

/// Applies a change to a member of the tenant, as `actor`.
pub async fn change(
    state: &AppState,
    tenant: &Tenant,
    actor: &Identity,
    target: Uuid,
    change: Change,
    confirmed: bool,
    meta: RequestMeta,
) -> AppResult<Outcome> {
    let slug = tenant.slug.to_string();
    let admin = actor.clone();
    let outcome = state
        .db
        .tenant(&tenant.schema, move |conn| {
            require_active_admin(conn, admin.uid)?;
            let member = users::table
                .find(target)
                .select(User::as_select())
                .for_update()
                .first(conn)
                .optional()?
                .ok_or(AppError::NotFound)?;
            let touches_self = member.id == admin.uid;
            if touches_self && change != Change::Reactivate && !confirmed {
                return Ok(Outcome::ConfirmSelf);
            }
            if change.removes_admin(&member) && active_admins(conn)? <= 1 {
                return Err(AppError::Conflict(format!(
                    "{} is the only active admin. Make someone else an admin first, so the organization is never without one.",
                    member.email
                )));
            }
            let (action, details, update) = match change {
                Change::Role(r) if r.as_str() == member.role => return Ok(Outcome::Unchanged(member)),
                Change::Role(r) => (
                    "member.role_changed",
                    serde_json::json!({ "from": member.role, "to": r.as_str() }),
                    (users::role.eq(r.as_str().to_string()), users::status.eq(member.status.clone())),
                ),
                Change::Deactivate if !member.is_active() => return Ok(Outcome::Unchanged(member)),
                Change::Deactivate => (
                    "member.deactivated",
                    serde_json::json!({ "role": member.role }),
                    (users::role.eq(member.role.clone()), users::status.eq("deactivated".to_string())),
                ),
                Change::Reactivate if member.is_active() => return Ok(Outcome::Unchanged(member)),
                Change::Reactivate => (
                    "member.reactivated",
                    serde_json::json!({ "role": member.role }),
                    (users::role.eq(member.role.clone()), users::status.eq("active".to_string())),
                ),
            };
            let updated: User = diesel::update(users::table.find(member.id))
                .set((update.0, update.1, users::updated_at.eq(diesel::dsl::now)))
                .returning(User::as_returning())
                .get_result(conn)?;
            if change == Change::Deactivate {
                // Their API refresh tokens stop at once; access tokens are re-checked.
                crate::auth::api_tokens::revoke_sessions_of(conn, member.id, "deactivated")?;
            }
            // Authentik follows the change (groups, active flag) through the outbox.
            let reason = action.trim_start_matches("member.");
            crate::authentik::outbox::enqueue_person(conn, &slug, &updated, reason)?;
            let ev = AuditEvent::new(action)
                .actor(Some(admin.uid), Some(&admin.email))
                .target(&updated.email)
                .details(details);
            audit::record(conn, &slug, &meta, ev)?;
            Ok(Outcome::Done(updated))
        })
        .await?;
    if let Outcome::Done(member) = &outcome {
        apply_to_sessions(state, tenant, member, change).await;
    }
    Ok(outcome)
}

/// Active admins, counted with their rows locked so two admins demoting each other
/// at the same moment cannot both succeed.
fn active_admins(conn: &mut PgConnection) -> AppResult<usize> {
    let ids: Vec<Uuid> = users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::status.eq("active"))
        .select(users::id)
        .for_update()
        .load(conn)?;
    Ok(ids.len())
}

/// A deactivated person's sessions end at once; a new role shows on their next
/// request. The database change stands either way; a Redis failure is logged (the
/// sessions are unusable while Redis is down, and pages re-check the database).
async fn apply_to_sessions(state: &AppState, tenant: &Tenant, member: &User, change: Change) {
    let result = match change {
        Change::Deactivate => session_store::end_sessions_of(&state.redis, tenant.id, member.id)
            .await
            .map(|_| ()),
        Change::Role(role) => {
            session_store::set_role_of(&state.redis, tenant.id, member.id, role.as_str())
                .await
                .map(|_| ())
        }
        Change::Reactivate => Ok(()),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "sessions not updated after a member change");
    }
}
