//! `GET /api/v1/me` and `GET /api/v1/tenants/{slug}/members`: the same answers as the
//! pages, with the same authorization, for bearer tokens.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::{FieldError, Role};
use crate::error::{ApiError, AppError};
use crate::members::directory::{self, Filter, PER_PAGE, Status};
use crate::tenancy::TenantRegistry;

use super::bearer::Bearer;

/// The organization of the caller.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TenantInfo {
    /// Id.
    pub id: Uuid,
    /// Slug (its address).
    pub slug: String,
    /// Name.
    pub name: String,
}

/// The caller.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    /// Id in the organization.
    pub id: Uuid,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Current role: admin, staff or member.
    pub role: String,
    /// Whether the email address is confirmed.
    pub email_verified: bool,
    /// The organization.
    pub tenant: TenantInfo,
    /// The API session of the token.
    pub session_id: Uuid,
}

/// Who the token speaks for, as the portal knows them now.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "people",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 403, description = "TenantSuspended", body = super::openapi::ErrorDoc),
    )
)]
pub async fn me(
    state: web::Data<AppState>,
    registry: web::Data<TenantRegistry>,
    bearer: Bearer,
) -> Result<HttpResponse, ApiError> {
    let c = bearer.caller(&state, &registry).await?;
    Ok(HttpResponse::Ok().json(Me {
        id: c.user.id,
        email: c.user.email,
        name: c.user.name,
        role: c.role.as_str().to_string(),
        email_verified: c.user.email_verified_at.is_some(),
        tenant: TenantInfo {
            id: c.tenant.id,
            slug: c.tenant.slug.to_string(),
            name: c.tenant.name.clone(),
        },
        session_id: c.session,
    }))
}

/// Which members to list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    /// Part of a name or email (only the first 100 characters count), without control
    /// characters.
    #[param(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    q: Option<String>,
    /// Only members of this role.
    #[param(inline)]
    role: Option<RoleFilter>,
    /// Only members in this state.
    #[param(inline)]
    status: Option<StatusFilter>,
    /// Page, from 1 (50 members a page).
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<i64>,
}

/// A role to list.
#[derive(Deserialize, utoipa::ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum RoleFilter {
    /// Admins.
    Admin,
    /// Staff.
    Staff,
    /// Members.
    Member,
}

/// A state to list.
#[derive(Deserialize, utoipa::ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    /// May sign in.
    Active,
    /// Sign-in paused after failed attempts.
    Locked,
    /// Stopped by an admin.
    Deactivated,
    /// Invited, not joined yet.
    Invited,
}

/// One member.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberDoc {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// admin, staff or member.
    pub role: String,
    /// active, locked or deactivated.
    pub status: String,
    /// password, sso, both, or none (invited, not joined).
    pub sign_in_method: &'static str,
    /// Last sign-in (RFC 3339), if any.
    pub last_sign_in: Option<String>,
}

/// A page of members.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MembersPage {
    /// The members of this page.
    pub members: Vec<MemberDoc>,
    /// This page's number.
    pub page: i64,
    /// Members per page.
    pub per_page: i64,
    /// Members matching the filter.
    pub total: i64,
}

/// The members of an organization (its admins only).
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{slug}/members",
    tag = "people",
    security(("bearer" = [])),
    params(("slug" = String, Path, description = "The organization's slug"), MembersQuery),
    responses(
        (status = 200, description = "A page of members", body = MembersPage),
        (status = 400, description = "BadRequest: a malformed query (a role or status not listed, a page that is not a whole number)", body = super::openapi::ErrorDoc),
        (status = 403, description = "TenantAccessDenied (a token of another organization), InsufficientPermissions (not an admin) or TenantSuspended", body = super::openapi::ErrorDoc),
        (status = 422, description = "ValidationError: a page out of range, or control characters in `q`", body = super::openapi::ErrorDoc),
    )
)]
pub async fn members(
    state: web::Data<AppState>,
    registry: web::Data<TenantRegistry>,
    bearer: Bearer,
    path: web::Path<String>,
    q: web::Query<MembersQuery>,
) -> Result<HttpResponse, ApiError> {
    let c = bearer.caller(&state, &registry).await?;
    if c.tenant.slug.as_str() != path.as_str() {
        return Err(
            AppError::TenantAccessDenied("This token is for another organization.".into()).into(),
        );
    }
    if c.role != Role::Admin {
        return Err(AppError::Forbidden(format!(
            "Only admins of {} can list its members.",
            c.tenant.name
        ))
        .into());
    }
    let q = q.into_inner();
    let page = q.page.unwrap_or(1);
    let mut refused = Vec::new();
    if !(1..=1_000_000).contains(&page) {
        refused.push(FieldError::new("page", "Give a page from 1 to 1000000."));
    }
    // No name or address holds one, and PostgreSQL text cannot hold NUL.
    if q.q
        .as_deref()
        .is_some_and(|s| s.chars().any(char::is_control))
    {
        refused.push(FieldError::new("q", "Search without control characters."));
    }
    if !refused.is_empty() {
        return Err(AppError::Validation(refused).into());
    }
    let filter = Filter {
        query: q
            .q
            .map(|s| s.trim().chars().take(100).collect::<String>())
            .filter(|s| !s.is_empty()),
        role: q.role.map(|r| match r {
            RoleFilter::Admin => Role::Admin,
            RoleFilter::Staff => Role::Staff,
            RoleFilter::Member => Role::Member,
        }),
        status: q.status.map(|s| match s {
            StatusFilter::Active => Status::Active,
            StatusFilter::Locked => Status::Locked,
            StatusFilter::Deactivated => Status::Deactivated,
            StatusFilter::Invited => Status::Invited,
        }),
        page,
    };
    let (rows, total) = state
        .db
        .tenant(&c.tenant.schema, move |conn| directory::page(conn, &filter))
        .await?;
    let members = rows
        .into_iter()
        .map(|m| MemberDoc {
            sign_in_method: match (m.has_password, m.has_sso) {
                (true, true) => "both",
                (false, true) => "sso",
                (true, false) => "password",
                (false, false) => "none",
            },
            last_sign_in: m.last_login_at.and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            }),
            id: m.id,
            name: m.name,
            email: m.email,
            role: m.role,
            status: m.status,
        })
        .collect();
    Ok(HttpResponse::Ok().json(MembersPage {
        members,
        page,
        per_page: PER_PAGE,
        total,
    }))
}
