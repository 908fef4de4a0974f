//! Creating, suspending and reactivating organizations, and the platform audit log.

use diesel::prelude::*;
use serde::Deserialize;

use super::{Platform, PlatformIdentity};
use crate::crypto;
use crate::domain::{BusinessType, Country, Email, FieldError, OrganizationName, Role, TenantSlug};
use crate::error::{AppError, AppResult};
use crate::members::invitations;
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::invitation;
use crate::models::mail_outbox;
use crate::models::platform_audit::{self, record};
use crate::models::tenant;
use crate::tenancy::provision::{self, NewOrganization};
use crate::tenancy::{Tenant, TenantRegistry, TenantStatus};

/// The platform's newest audit entries.
pub async fn recent_events(
    deps: &Platform<'_>,
    limit: i64,
) -> AppResult<Vec<(String, Option<String>, String, Option<String>)>> {
    deps.db
        .run(move |conn| {
            Ok(platform_audit::recent(conn, limit)?
                .into_iter()
                .map(|(at, actor, action, target)| {
                    (crate::display::minute(at), actor, action, target)
                })
                .collect())
        })
        .await
}

/// The new-organization form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewTenantInput {
    /// Name.
    #[serde(default)]
    pub company_name: String,
    /// Wanted address; made from the name when empty.
    #[serde(default)]
    pub slug: String,
    /// Business type key.
    #[serde(default)]
    pub business_type: String,
    /// Country code.
    #[serde(default)]
    pub country: String,
    /// Who is invited as its first admin (optional).
    #[serde(default)]
    pub admin_email: String,
}

fn parse(input: &NewTenantInput) -> Result<(NewOrganization, Option<Email>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = OrganizationName::parse(&input.company_name)
        .map_err(|e| errors.push(e))
        .ok();
    let business_type = BusinessType::parse(&input.business_type)
        .map_err(|e| errors.push(e))
        .ok();
    let country = Country::parse(&input.country)
        .map_err(|e| errors.push(e))
        .ok();
    let slug = if input.slug.trim().is_empty() {
        TenantSlug::suggest(&input.company_name)
            .ok_or_else(|| FieldError::new("slug", "Choose an address (for example acme-labs)."))
    } else {
        TenantSlug::parse(input.slug.trim())
    }
    .map_err(|e| errors.push(e))
    .ok();
    let admin = if input.admin_email.trim().is_empty() {
        None
    } else {
        Email::parse(&input.admin_email)
            .map_err(|mut e| {
                e.field = "admin_email";
                errors.push(e)
            })
            .ok()
    };
    match (name, business_type, country, slug) {
        (Some(name), Some(business_type), Some(country), Some(slug)) if errors.is_empty() => Ok((
            NewOrganization {
                name,
                business_type,
                country,
                slug,
            },
            admin,
        )),
        _ => Err(errors),
    }
}

/// Creates an organization; its first admin, if named, gets an invitation.
pub async fn create_tenant(
    deps: &Platform<'_>,
    actor: &PlatformIdentity,
    input: &NewTenantInput,
    meta: RequestMeta,
) -> AppResult<Tenant> {
    let (org, admin) = parse(input).map_err(AppError::Validation)?;
    let (raw, stored) = crypto::generate_token();
    let expires = deps.invitations.expiry()?;
    let who = actor.email.clone();
    let letter = invitations::invitation_mail(
        &deps.invitations,
        org.slug.as_str(),
        org.name.as_str(),
        &raw,
    );
    let inviter = actor.name.clone();
    deps.db
        .creating(move |conn| {
            conn.transaction(|conn| {
                let tenant = provision::insert_tenant(conn, &org, &who)?;
                if let Some(email) = &admin {
                    invitation::open_or_renew(conn, email, Role::Admin, None, &stored, expires)?;
                    let mail = letter.mail(&inviter, email.as_str(), Role::Admin);
                    mail_outbox::enqueue(conn, &mail)?;
                    let ev = AuditEvent::new("invitation.sent")
                        .actor(None, Some(&who))
                        .target(email.as_str())
                        .details(serde_json::json!({ "role": "admin", "by": "platform" }));
                    audit::record(conn, tenant.slug.as_str(), &meta, ev)?;
                }
                Ok(tenant)
            })
        })
        .await
}

/// Suspends or reactivates an organization. A suspended organization's pages answer
/// with a clear page and nobody signs in.
pub async fn set_status(
    deps: &Platform<'_>,
    registry: &TenantRegistry,
    actor: &PlatformIdentity,
    slug: &TenantSlug,
    status: TenantStatus,
) -> AppResult<()> {
    let (value, action) = match status {
        TenantStatus::Suspended => ("suspended", "tenant.suspended"),
        TenantStatus::Active => ("active", "tenant.reactivated"),
    };
    let key = slug.as_str().to_string();
    let who = actor.email.clone();
    let changed = deps
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                let n = tenant::set_status(conn, &key, value)?;
                if n > 0 {
                    record(conn, &who, action, &key, serde_json::json!({}))?;
                }
                Ok(n > 0)
            })
        })
        .await?;
    registry.invalidate(slug);
    if changed {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}
