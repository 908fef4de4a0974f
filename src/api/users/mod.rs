//! `POST /api/v1/users`: registers an organization and its admin, like the sign-up page.

mod request;

use actix_web::{HttpResponse, http::header, web};
use serde::Serialize;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::PasswordPolicy;
use crate::error::{ApiError, AppError};
use crate::models::audit_log::RequestMeta;
use crate::models::tenant::Tenant;
use crate::models::user::User;
use crate::tenancy::provision;

pub use request::NewOrganization;

/// The organization's first admin, as created.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    /// Id in the organization.
    pub id: Uuid,
    /// Email, lowercased.
    #[schema(format = Email)]
    pub email: String,
    /// Display name.
    pub name: String,
    /// Always `admin`.
    #[schema(value_type = String)]
    pub role: &'static str,
    /// Always `active`.
    #[schema(value_type = String)]
    pub status: &'static str,
    /// Whether the address is confirmed: not yet, a link was mailed to it.
    pub email_verified: bool,
    /// When it was created (Unix seconds).
    pub created_at: i64,
}

/// The organization, as created.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedOrganization {
    /// Registry id.
    pub id: Uuid,
    /// Its address: `/t/<slug>/`.
    pub slug: String,
    /// Its name.
    pub name: String,
    /// The business type key (`technology` is stored as `software`).
    pub business_type: String,
    /// ISO 3166-1 alpha-2 code.
    pub country: String,
    /// When it was created (Unix seconds).
    pub created_at: i64,
}

/// The answer to a sign-up.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    /// The admin.
    pub user: CreatedUser,
    /// The organization.
    pub organization: CreatedOrganization,
}

/// Registers an organization and its first admin, who then signs in with the
/// password (or through single sign-on) and confirms the address from a mailed link.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "organizations",
    request_body = NewOrganization,
    responses(
        (status = 201, description = "The organization and its admin", body = Created,
            headers(("Location" = String, description = "The organization's dashboard, `/t/<slug>/dashboard`"))),
        (status = 409, description = "Conflict: the address is taken or reserved", body = super::openapi::ErrorDoc),
        (status = 422, description = "ValidationError, with `error.fields`: a value outside the schema, or a password too easy to guess or over 72 bytes", body = super::openapi::ErrorDoc),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    meta: RequestMeta,
    body: web::Json<NewOrganization>,
) -> Result<HttpResponse, ApiError> {
    state
        .limits
        .limit_signup(meta.ip.as_deref().unwrap_or_default())
        .await?;
    let signup = body
        .into_inner()
        .check()?
        .parse(PasswordPolicy::default())
        .map_err(AppError::Validation)?;
    // The confirmation mail is queued in the organization's own transaction: once it
    // commits, nothing is left that could turn the answer into an error.
    let welcome = state.verification().mail();
    let (tenant, user) = provision::create_organization(
        &state.db,
        &state.hasher,
        state.outbox(),
        signup,
        meta,
        move |conn, tenant, user| {
            welcome.queue(
                conn,
                tenant,
                &crate::auth::verification::Recipient::from(user),
            )
        },
    )
    .await
    .map_err(|e| match e {
        // The service reports a taken address as a field error; here it is a conflict.
        AppError::Validation(fields) => AppError::Conflict(
            fields
                .into_iter()
                .map(|f| f.message)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        other => other,
    })?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/t/{}/dashboard", tenant.slug)))
        .json(created(&user, &tenant)))
}

/// The answer to a sign-up: the admin and the organization, as created.
fn created(user: &User, tenant: &Tenant) -> Created {
    Created {
        user: CreatedUser {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role.as_str(),
            status: user.status.as_str(),
            email_verified: user.email_verified_at.is_some(),
            created_at: user.created_at.unix_timestamp(),
        },
        organization: CreatedOrganization {
            id: tenant.id,
            slug: tenant.slug.to_string(),
            name: tenant.name.clone(),
            business_type: tenant.business_type.clone(),
            country: tenant.country.clone(),
            created_at: tenant.created_at.unix_timestamp(),
        },
    }
}
