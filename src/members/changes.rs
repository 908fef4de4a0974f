//! What admins change about members: role, deactivation, reactivation. The last
//! active admin is never demoted or deactivated, and admins confirm changes to
//! themselves.

use uuid::Uuid;

use crate::access::AdminRequest;
use crate::auth::session_store::SessionIndex;
use crate::db::Db;
use crate::domain::{MemberStatus, Role};
use crate::error::{AppError, AppResult};
use crate::models::audit_log::AuditEvent;
use crate::models::authentik_outbox::Outbox;
use crate::models::tenant::Tenant;
use crate::models::user::{self, User};

/// What admins' changes to members need.
#[derive(Clone, Copy)]
pub struct MemberChanges<'a> {
    /// The database.
    pub db: &'a Db,
    /// Every session of a person: ended or given the new role.
    pub sessions: &'a SessionIndex,
    /// Authentik provisioning, on or off.
    pub outbox: Outbox,
}

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
        target.is_active_admin()
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

    /// The member after the change, the audit action and its details; `None` when the
    /// member already is as asked.
    fn apply_to(self, m: &User) -> Option<(Role, MemberStatus, &'static str, serde_json::Value)> {
        match self {
            Change::Role(r) if r == m.role => None,
            Change::Role(r) => Some((
                r,
                m.status,
                "member.role_changed",
                serde_json::json!({ "from": m.role, "to": r }),
            )),
            Change::Deactivate if !m.is_active() => None,
            Change::Deactivate => Some((
                m.role,
                MemberStatus::Deactivated,
                "member.deactivated",
                serde_json::json!({ "role": m.role }),
            )),
            Change::Reactivate if m.is_active() => None,
            Change::Reactivate => Some((
                m.role,
                MemberStatus::Active,
                "member.reactivated",
                serde_json::json!({ "role": m.role }),
            )),
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
    /// The change needs the admin's confirmation first (deactivating someone, or
    /// changing oneself).
    Confirm(User),
}

/// Applies a change to a member of the tenant, through the admin door.
pub async fn change(
    deps: &MemberChanges<'_>,
    req: &AdminRequest,
    target: Uuid,
    change: Change,
    confirmed: bool,
) -> AppResult<Outcome> {
    let slug = req.tenant.slug.to_string();
    let outbox = deps.outbox;
    let outcome = req
        .change(deps.db, move |tx| {
            let member = user::find_for_update(tx.conn, target)?.ok_or(AppError::NotFound)?;
            // Deactivating anyone, or changing oneself, is asked about once first.
            let asks = change == Change::Deactivate
                || (member.id == tx.admin().id && change != Change::Reactivate);
            if asks && !confirmed {
                return Ok(Outcome::Confirm(member));
            }
            if change.removes_admin(&member) && user::count_active_admins_locked(tx.conn)? <= 1 {
                return Err(AppError::Conflict(format!(
                    "{} is the only active admin. Make someone else an admin first, so the organization is never without one.",
                    member.email
                )));
            }
            let Some((role, status, action, details)) = change.apply_to(&member) else {
                return Ok(Outcome::Unchanged(member));
            };
            let updated = user::set_role_and_status(tx.conn, member.id, role, status)?;
            if change == Change::Deactivate {
                // Their API refresh tokens stop at once; access tokens are re-checked.
                crate::models::api_session::revoke_sessions_of(tx.conn, member.id, "deactivated")?;
            }
            // Authentik follows the change (groups, active flag) through the outbox.
            let reason = action.trim_start_matches("member.");
            outbox.person_changed(tx.conn, &slug, &updated, reason)?;
            tx.record(AuditEvent::new(action).target(&updated.email).details(details))?;
            Ok(Outcome::Done(updated))
        })
        .await?;
    if let Outcome::Done(member) = &outcome {
        apply_to_sessions(deps, &req.tenant, member, change).await;
    }
    Ok(outcome)
}

/// A deactivated person's sessions end at once; a new role shows on their next
/// request. The database change stands either way; a Redis failure is logged (the
/// sessions are unusable while Redis is down, and pages re-check the database).
async fn apply_to_sessions(
    deps: &MemberChanges<'_>,
    tenant: &Tenant,
    member: &User,
    change: Change,
) {
    let result = match change {
        Change::Deactivate => deps
            .sessions
            .end_all(tenant.id, member.id)
            .await
            .map(|_| ()),
        Change::Role(role) => deps
            .sessions
            .set_role(tenant.id, member.id, role.as_str())
            .await
            .map(|_| ()),
        Change::Reactivate => Ok(()),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "sessions not updated after a member change");
    }
}
