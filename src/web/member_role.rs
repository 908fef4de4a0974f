//! `GET /t/{slug}/members/{id}/role?role=...`: a change of another person's role asked
//! again, with the role kept, where the step-up confirmation comes back to.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::web::confirm::{self, Question};
use crate::web::csrf::CsrfToken;
use crate::web::layout::Section;
use crate::web::second_factor::require_step_up;
use crate::web::session::TenantAdmin;

/// Where a role change comes back to after its step-up confirmation.
pub(super) fn role_question_url(user: &TenantAdmin, id: Uuid, role: Role) -> String {
    format!(
        "/t/{}/members/{id}/role?role={}",
        user.tenant.slug,
        role.as_str()
    )
}

/// The role asked for again after a step-up confirmation.
#[derive(serde::Deserialize)]
pub struct RoleQuery {
    #[serde(default)]
    role: String,
}

/// `GET /t/{slug}/members/{id}/role?role=...`: the role change asked again (where the
/// step-up confirmation comes back to), with the role kept.
pub async fn role_question(
    state: web::Data<AppState>,
    user: TenantAdmin,
    csrf: CsrfToken,
    path: web::Path<(String, Uuid)>,
    q: web::Query<RoleQuery>,
) -> AppResult<HttpResponse> {
    let (id, role) = (path.1, Role::parse(&q.role)?);
    let member = user
        .request
        .read(&state.db, move |c| crate::models::user::find(c, id))
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(go) = require_step_up(&user, &role_question_url(&user, id, role)) {
        return Ok(go);
    }
    let mut q = Question::new(
        format!("/t/{}/members/{id}/role", user.tenant.slug),
        format!(
            "change the role of {} to {}",
            member.email,
            role.label().to_lowercase()
        ),
        "The new role applies from their next page.",
        format!("/t/{}/members", user.tenant.slug),
    );
    q.keep.push(("role", role.as_str().to_string()));
    confirm::ask(&user, &csrf, Section::Members, q)
}
