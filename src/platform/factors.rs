//! A platform admin resets the second factors of an organization's admin (who lost
//! their phone and is the only admin, say). Recorded in the organization's audit log
//! and the platform's, in one transaction.

use uuid::Uuid;

use crate::auth::second_factor::reset::{self, Reset};
use crate::db::Db;
use crate::domain::{Role, TenantSlug};
use crate::error::{AppError, AppResult};
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::platform_audit;
use crate::models::tenant::{self as tenant_rows, Tenant};
use crate::models::user::{self, User};

/// The organization of that address, while it has a schema.
pub async fn tenant_for_reset(db: &Db, slug: &TenantSlug) -> AppResult<Tenant> {
    let slug = slug.clone();
    db.run(move |conn| tenant_rows::find_by_slug(conn, &slug))
        .await?
        .ok_or(AppError::NotFound)
}

fn admin_of(found: Option<User>) -> AppResult<User> {
    found
        .filter(|u| u.role == Role::Admin)
        .ok_or(AppError::NotFound)
}

/// The address of one of the organization's admins (not found for anyone else).
pub async fn admin_email(db: &Db, tenant: &Tenant, id: Uuid) -> AppResult<String> {
    db.tenant(&tenant.schema, move |conn| admin_of(user::find(conn, id)?))
        .await
        .map(|u| u.email)
}

/// Deletes every second factor of the organization's admin `id`, recorded in both
/// audit logs; `None` when they had none. The caller ends their sessions.
pub async fn reset_admin_factors(
    db: &Db,
    tenant: &Tenant,
    id: Uuid,
    actor: &str,
) -> AppResult<Option<Reset>> {
    let (slug, org, actor) = (
        tenant.slug.to_string(),
        tenant.name.clone(),
        actor.to_string(),
    );
    db.tenant(&tenant.schema, move |conn| {
        admin_of(user::find_for_update(conn, id)?)?;
        let by = format!("A platform administrator ({actor})");
        let Some(r) = reset::delete_factors(conn, &org, id, &by)? else {
            return Ok(None);
        };
        let details = reset::details(&r.before);
        let ev = AuditEvent::new("second_factor.reset")
            .actor(None, Some(&actor))
            .target(&r.member.email)
            .details(serde_json::json!({ "by": "platform", "removed": details }));
        audit::record(conn, &slug, &RequestMeta::default(), ev)?;
        let platform_details = serde_json::json!({ "admin": r.member.email, "removed": details });
        platform_audit::record(
            conn,
            &actor,
            "tenant.admin_factors_reset",
            &slug,
            platform_details,
        )?;
        Ok(Some(r))
    })
    .await
}
