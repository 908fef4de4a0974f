//! Resetting a member's second factors: an organization's admin from the members list
//! (`POST /t/{slug}/members/{id}/second-factors/reset`), and a platform admin for an
//! organization's admins (`POST /admin/organizations/{slug}/admins/{id}/second-factors/reset`).
//! Both ask first (`web::confirm`), then delete every factor, end the member's sessions
//! and record it.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::second_factor::reset;
use crate::domain::TenantSlug;
use crate::error::{AppError, AppResult};
use crate::models::user;
use crate::web::confirm::{self, Confirmation, Question};
use crate::web::csrf::CsrfToken;
use crate::web::layout::Section;
use crate::web::notice::Notice;
use crate::web::respond::back_with;
use crate::web::session::{PlatformUser, PortalSession, TenantAdmin};

const CONSEQUENCE: &str = "Their authenticator app, passkeys and recovery codes are deleted, and they are signed out everywhere. They sign in with their password and add a new second factor.";

fn done_notice(r: &reset::Reset) -> Notice {
    let email = &r.member.email;
    if r.sessions_ended {
        Notice::done(format!(
            "The second factors of {email} are reset and they are signed out everywhere."
        ))
    } else {
        Notice::done(format!(
            "The second factors of {email} are reset. Their sessions could not be ended just now: they end at their next use of a page that checks, or try again."
        ))
    }
}

/// `POST /t/{slug}/members/{id}/second-factors/reset`: asks first unless `confirm=yes`.
pub async fn reset(
    state: web::Data<AppState>,
    user: TenantAdmin,
    csrf: CsrfToken,
    path: web::Path<(String, Uuid)>,
    form: web::Form<Confirmation>,
) -> AppResult<HttpResponse> {
    let id = path.1;
    let members = format!("/t/{}/members", user.tenant.slug);
    if !form.given() {
        let member = user
            .request
            .read(&state.db, move |c| user::find(c, id))
            .await?
            .ok_or(AppError::NotFound)?;
        let q = Question::new(
            format!("/t/{}/members/{id}/second-factors/reset", user.tenant.slug),
            format!("reset the second factors of {}", member.email),
            CONSEQUENCE,
            members,
        );
        return confirm::ask(&user, &csrf, Section::Members, q);
    }
    let done = reset::by_admin(&state.db, &state.sessions, &user.request, id).await?;
    let notice = match &done {
        Some(r) => done_notice(r),
        None => Notice::done("That person has no second factor to reset."),
    };
    back_with(&user.session, members, notice)
}

/// `POST /admin/organizations/{slug}/admins/{id}/second-factors/reset`: a platform
/// admin resets the factors of one of an organization's admins (asks first).
pub async fn platform_reset(
    state: web::Data<AppState>,
    user: PlatformUser,
    session: PortalSession,
    csrf: CsrfToken,
    path: web::Path<(String, Uuid)>,
    form: web::Form<Confirmation>,
) -> AppResult<HttpResponse> {
    let (raw, id) = path.into_inner();
    let slug = TenantSlug::parse(&raw).map_err(|_| AppError::NotFound)?;
    let page = format!("/admin/organizations/{slug}");
    let tenant = crate::platform::tenant_for_reset(&state.db, &slug).await?;
    if !form.given() {
        let email = crate::platform::admin_email(&state.db, &tenant, id).await?;
        let q = Question::new(
            format!("{page}/admins/{id}/second-factors/reset"),
            format!("reset the second factors of {email} ({slug})"),
            CONSEQUENCE,
            page,
        );
        return confirm::ask_platform(&user, &csrf, q);
    }
    let actor = user.0.email.clone();
    let done = crate::platform::reset_admin_factors(&state.db, &tenant, id, &actor).await?;
    let notice = match done {
        Some(mut r) => {
            r.sessions_ended = reset::end_sessions(&state.sessions, &tenant, r.member.id).await;
            done_notice(&r)
        }
        None => Notice::done("That admin has no second factor to reset."),
    };
    back_with(&session, page, notice)
}
