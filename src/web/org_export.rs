//! Downloading an organization's data as JSON: platform admins for any organization
//! (`GET /admin/organizations/{slug}/export.json`), an organization's admins for their
//! own (`GET /t/{slug}/settings/export.json`). Streamed; audited before it starts.

use actix_web::{HttpResponse, http::header, web};
use futures_util::StreamExt;

use crate::app::AppState;
use crate::domain::TenantSlug;
use crate::error::{AppError, AppResult};
use crate::models::tenant::Tenant;
use crate::platform;
use crate::tenancy::TenantRegistry;
use crate::web::session::{PlatformUser, TenantAdmin};

fn download(state: &AppState, tenant: Tenant) -> HttpResponse {
    let name = format!("attachment; filename=\"{}-export.json\"", tenant.slug);
    let chunks = platform::export_organization(state.db.clone(), tenant)
        .map(|chunk| chunk.map(web::Bytes::from));
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_DISPOSITION, name))
        .streaming(chunks)
}

/// `GET /admin/organizations/{slug}/export.json`.
pub async fn platform_export(
    state: web::Data<AppState>,
    registry: web::Data<TenantRegistry>,
    user: PlatformUser,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let slug = TenantSlug::parse(&path).map_err(|_| AppError::NotFound)?;
    let tenant = registry.find(&slug).await?.ok_or(AppError::NotFound)?;
    let tenant = (*tenant).clone();
    platform::record_platform_export(&state.db, &tenant, &user.0.email).await?;
    Ok(download(&state, tenant))
}

/// `GET /t/{slug}/settings/export.json`.
pub async fn own_export(state: web::Data<AppState>, user: TenantAdmin) -> AppResult<HttpResponse> {
    platform::record_own_export(&state.db, &user.request).await?;
    Ok(download(&state, (*user.tenant).clone()))
}
