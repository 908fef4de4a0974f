//! `GET /t/{slug}/verify-email/{token}` and `POST /t/{slug}/verify-email/resend`.

use actix_web::{HttpResponse, http::StatusCode, web};

use crate::app::AppState;
use crate::auth::verification::{self, Recipient};
use crate::error::{AppError, AppResult};
use crate::models::audit_log::RequestMeta;
use crate::models::user;
use crate::web::respond::see_other;
use crate::web::session::TenantUser;
use crate::web::tenant::CurrentTenant;

use super::notice::{NoticePage, status_of};

/// `GET /t/{slug}/verify-email/{token}`: following the mailed link confirms the address.
pub async fn confirm(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    meta: RequestMeta,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (_, token) = path.into_inner();
    let (status, page) =
        match verification::verify(&state.verification(), &tenant, token, meta).await? {
            Ok(user) => (
                StatusCode::OK,
                NoticePage {
                    tenant_name: tenant.name.clone(),
                    title: "Your email address is confirmed",
                    message: format!("Thank you: {} is confirmed.", user.email),
                    action: Some((format!("/t/{}/dashboard", tenant.slug), "Continue")),
                },
            ),
            Err(problem) => (
                status_of(problem),
                NoticePage {
                    tenant_name: tenant.name.clone(),
                    title: "This confirmation link does not work",
                    message: format!("{} Sign in to have a new one sent.", problem.message()),
                    action: Some((format!("/t/{}/login", tenant.slug), "Sign in")),
                },
            ),
        };
    super::render(status, &page)
}

/// `POST /t/{slug}/verify-email/resend`: a new link for the signed-in person.
pub async fn resend(state: web::Data<AppState>, user: TenantUser) -> AppResult<HttpResponse> {
    let uid = user.identity.uid;
    let person = state
        .db
        .tenant(&user.tenant.schema, move |conn| user::find(conn, uid))
        .await?
        .ok_or(AppError::NotFound)?;
    let outcome = if person.email_verified_at.is_some() {
        "verified"
    } else if verification::resend_link(
        &state.verification(),
        &user.tenant,
        Recipient::from(&person),
    )
    .await?
    {
        "sent"
    } else {
        "wait"
    };
    Ok(see_other(format!(
        "/t/{}/dashboard?verification={outcome}",
        user.tenant.slug
    )))
}
