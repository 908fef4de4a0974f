//! `POST /api/v1/users`: registers an organization and its admin, like the sign-up page.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::app::AppState;
use crate::domain::PasswordPolicy;
use crate::error::{ApiError, AppError};
use crate::models::audit_log::RequestMeta;
use crate::models::tenant::Tenant;
use crate::models::user::User;
use crate::tenancy::provision::{self, SignupInput};

/// `POST /api/v1/users` with `{email, password, company_name, business_type, country}`
/// and optionally `name` and `slug`: 201 with the user and the organization, 409 when
/// the address is taken, 422 with field errors, 429 when rate-limited.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "organizations",
    request_body = SignupInput,
    responses(
        (status = 201, description = "The organization and its admin (`user`, `organization`)"),
        (status = 409, description = "Conflict: the address is taken", body = super::openapi::ErrorDoc),
        (status = 422, description = "ValidationError, with `error.fields`", body = super::openapi::ErrorDoc),
        (status = 429, description = "RateLimited", body = super::openapi::ErrorDoc),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    meta: RequestMeta,
    body: web::Json<SignupInput>,
) -> Result<HttpResponse, ApiError> {
    state
        .limits
        .limit_signup(meta.ip.as_deref().unwrap_or_default())
        .await?;
    let mut input = body.into_inner();
    if input.name.trim().is_empty() {
        // The API may leave the name out: the address's local part stands in.
        input.name = input
            .email
            .split('@')
            .next()
            .unwrap_or_default()
            .to_string();
    }
    let signup = input
        .parse(PasswordPolicy::default())
        .map_err(AppError::Validation)?;
    let (tenant, user) = provision::create_organization(&state.db, &state.hasher, signup, meta)
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
    crate::auth::verification::send_link(
        &state.verification(),
        &tenant,
        crate::auth::verification::Recipient::from(&user),
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/t/{}/dashboard", tenant.slug),
        ))
        .json(created(&user, &tenant)))
}

/// The answer to a sign-up: the admin and the organization, as created.
fn created(user: &User, tenant: &Tenant) -> serde_json::Value {
    json!({
        "user": {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "role": user.role,
            "status": user.status,
            "email_verified": user.email_verified_at.is_some(),
            "created_at": user.created_at.unix_timestamp(),
        },
        "organization": {
            "id": tenant.id,
            "slug": tenant.slug.as_str(),
            "name": tenant.name,
            "business_type": tenant.business_type,
            "country": tenant.country,
            "created_at": tenant.created_at.unix_timestamp(),
        }
    })
}
