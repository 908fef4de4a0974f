//! Organizations: the cached registry and creating tenants.

pub mod provision;
pub mod registry;
pub mod spares;

pub use crate::models::tenant::{Tenant, TenantStatus};
pub use registry::TenantRegistry;

use crate::access::AdminRequest;
use crate::db::Db;
use crate::error::AppResult;
use crate::models::audit_log::AuditEvent;
use crate::models::tenant_settings::{self, TenantSettings};

/// An organization's rules as they are now, for its admins.
pub async fn settings_for_admin(db: &Db, req: &AdminRequest) -> AppResult<TenantSettings> {
    req.read(db, tenant_settings::load).await
}

/// Saves an organization's rules, through the admin door, with their before and after
/// in the audit log.
pub async fn change_settings(db: &Db, req: &AdminRequest, new: TenantSettings) -> AppResult<()> {
    let slug = req.tenant.slug.to_string();
    req.change(db, move |tx| {
        let old = tenant_settings::load(tx.conn)?;
        tenant_settings::save(tx.conn, &new)?;
        tx.record(
            AuditEvent::new("settings.updated")
                .target(&slug)
                .details(serde_json::json!({
                    "before": old.describe(),
                    "after": new.describe(),
                })),
        )
    })
    .await
}

/// An organization's rules, for anyone's request (sign-in and registration pages).
pub async fn settings_of(db: &Db, tenant: &Tenant) -> AppResult<TenantSettings> {
    db.tenant(&tenant.schema, tenant_settings::load).await
}
