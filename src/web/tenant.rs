//! The organization a page belongs to, from the `{slug}` of its path.

use std::sync::Arc;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;

use crate::domain::TenantSlug;
use crate::error::AppError;
use crate::tenancy::{Tenant, TenantRegistry, TenantStatus};

/// The tenant named by the request path (`/t/{slug}/...`), active.
#[derive(Debug, Clone)]
pub struct CurrentTenant(pub Arc<Tenant>);

impl std::ops::Deref for CurrentTenant {
    type Target = Tenant;
    fn deref(&self) -> &Tenant {
        &self.0
    }
}

impl FromRequest for CurrentTenant {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let raw = req.match_info().get("slug").map(str::to_string);
        let registry = req.app_data::<web::Data<TenantRegistry>>().cloned();
        Box::pin(async move {
            let registry =
                registry.ok_or_else(|| AppError::internal(anyhow::anyhow!("registry missing")))?;
            // A slug outside the strict form cannot name a tenant: 404 before any SQL.
            let slug = raw
                .as_deref()
                .and_then(|s| TenantSlug::parse(s).ok())
                .filter(|s| Some(s.as_str()) == raw.as_deref())
                .ok_or(AppError::TenantNotFound)?;
            let tenant = registry
                .find(&slug)
                .await?
                .ok_or(AppError::TenantNotFound)?;
            if tenant.status == TenantStatus::Suspended {
                return Err(AppError::TenantSuspended);
            }
            Ok(CurrentTenant(tenant))
        })
    }
}
