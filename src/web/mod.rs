//! HTML pages, one module per page group.

mod assets;
mod audit;
mod confirm;
pub mod csrf;
mod dashboard;
mod devices;
mod invitations;
mod landing;
pub mod layout;
mod login;
mod member_role;
mod members;
pub mod methods;
pub mod notice;
mod org_delete;
mod org_export;
pub mod passkeys;
mod password;
mod platform;
mod platform_audit;
mod platform_orgs;
mod profile;
mod register;
pub mod request;
pub mod respond;
pub mod second_factor;
mod security;
pub mod session;
mod settings;
mod signup;
mod sso;
pub mod tenant;
mod verify;

pub use assets::{script, stylesheet};

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::{ApiError, AppError};
use methods::path;

/// Registers every page route, grouped by path: a method a path does not offer is
/// answered 405 with `Allow`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(path("/").get(landing::landing).done())
        .service(path("/go").get(landing::go).done())
        .service(
            path("/signup")
                .get(signup::form)
                .post(signup::submit)
                .done(),
        )
        .service(path("/admin").get(platform::page).done())
        .service(
            path("/admin/login")
                .get(platform::login_form)
                .post(platform::login)
                .done(),
        )
        .service(path("/admin/logout").post(platform::logout).done())
        .service(path("/admin/tenants").post(platform::create).done())
        .service(
            path("/admin/jwks/refresh")
                .post(platform::refresh_keys)
                .done(),
        )
        .service(
            path("/admin/tenants/{slug}/suspend")
                .post(platform::suspend)
                .done(),
        )
        .service(
            path("/admin/tenants/{slug}/reactivate")
                .post(platform::reactivate)
                .done(),
        )
        .configure(platform_routes)
        .service(path("/auth/oidc/callback").get_once(sso::callback).done())
        .service(
            web::scope("/t/{slug}")
                .configure(tenant_routes)
                // Without it an unknown page of an organization answers an empty 404.
                .default_service(web::to(not_found)),
        );
}

/// The platform's pages about one organization (issue 16).
fn platform_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        path("/admin/organizations/{slug}")
            .get(platform_orgs::page)
            .done(),
    )
    .service(
        path("/admin/organizations/{slug}/suspend")
            .get(platform_orgs::confirm_suspend)
            .done(),
    )
    .service(
        path("/admin/organizations/{slug}/reactivate")
            .get(platform_orgs::confirm_reactivate)
            .done(),
    )
    .service(
        path("/admin/organizations/{slug}/delete")
            .get(platform_orgs::confirm_delete)
            .post(platform_orgs::delete)
            .done(),
    )
    .service(
        path("/admin/organizations/{slug}/restore")
            .post(platform_orgs::restore)
            .done(),
    )
    .service(
        path("/admin/organizations/{slug}/export.json")
            .get(org_export::platform_export)
            .done(),
    )
    .service(
        path("/admin/organizations/{slug}/admins/{id}/second-factors/reset")
            .post(second_factor::platform_reset)
            .done(),
    )
    .service(path("/admin/audit").get(platform_audit::page).done())
    .service(path("/admin/audit.csv").get(platform_audit::csv).done());
}

/// The pages of one organization, under `/t/{slug}`.
fn tenant_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(path("").get(dashboard::home).done())
        .service(path("/").get(dashboard::home).done())
        .service(path("/login").get(login::form).post(login::submit).done())
        .service(path("/logout").post(login::logout).done())
        .configure(passkeys::routes)
        .configure(second_factor_routes)
        .service(path("/sso").get_once(sso::start).done())
        .service(path("/dashboard").get(dashboard::dashboard).done())
        .service(path("/security").get(security::page).done())
        .service(path("/security/unlock").post(security::unlock).done())
        .service(
            path("/settings")
                .get(settings::page)
                .post(settings::save)
                .done(),
        )
        .service(path("/settings/delete").post(org_delete::delete).done())
        .service(
            path("/settings/export.json")
                .get(org_export::own_export)
                .done(),
        )
        .service(
            path("/register")
                .get(register::form)
                .post(register::submit)
                .done(),
        )
        .service(
            path("/password/forgot")
                .get(password::forgot_form)
                .post(password::forgot_submit)
                .done(),
        )
        .service(
            path("/password/reset/{token}")
                .get(password::reset_form)
                .post(password::reset_submit)
                .done(),
        )
        .service(path("/verify-email/resend").post(verify::resend).done())
        .service(
            path("/verify-email/{token}")
                .get_once(verify::confirm)
                .done(),
        )
        .service(path("/members").get(members::list).done())
        .service(path("/members/invite").post(members::invite).done())
        .service(
            path("/members/invitations/{id}/resend")
                .post(members::resend)
                .done(),
        )
        .service(
            path("/members/invitations/{id}/revoke")
                .post(members::revoke)
                .done(),
        )
        .service(
            path("/members/{id}/role")
                .get(member_role::role_question)
                .post(members::role)
                .done(),
        )
        .service(
            path("/members/{id}/deactivate")
                .post(members::deactivate)
                .done(),
        )
        .service(
            path("/members/{id}/reactivate")
                .post(members::reactivate)
                .done(),
        )
        .service(
            path("/invitations/{token}")
                .get(invitations::form)
                .post(invitations::accept)
                .done(),
        )
        .service(
            path("/invitations/{token}/sso")
                .get_once(invitations::with_sso)
                .done(),
        )
        .service(path("/audit").get(audit::page).done())
        .service(path("/audit.csv").get(audit::csv).done())
        .service(path("/profile").get(profile::page).done())
        .service(path("/profile/name").post(profile::rename).done())
        .service(path("/profile/password").post(profile::password).done())
        .service(
            path("/profile/sessions/end-others")
                .post(profile::end_others)
                .done(),
        )
        .service(
            path("/profile/api-sessions/{id}/revoke")
                .post(profile::revoke_api)
                .done(),
        )
        .service(
            path("/profile/sessions/{sid}/end")
                .post(profile::end_one)
                .done(),
        );
}

/// The second step of sign-in, a person's own factors, step-up, and resets (issue 14).
fn second_factor_routes(cfg: &mut web::ServiceConfig) {
    use second_factor as sf;
    cfg.service(
        path("/login/second-factor")
            .get(sf::form)
            .post(sf::submit)
            .done(),
    )
    .service(
        path("/login/enroll")
            .get(sf::enroll_form)
            .post(sf::enroll_submit)
            .done(),
    )
    .service(
        path("/profile/confirm")
            .get(sf::step_up_form)
            .post(sf::step_up_submit)
            .done(),
    )
    .service(
        path("/profile/authenticator")
            .get(sf::authenticator_page)
            .post(sf::add_authenticator)
            .done(),
    )
    .service(
        path("/profile/authenticator/remove")
            .get(sf::remove_authenticator_question)
            .post(sf::remove_authenticator)
            .done(),
    )
    .service(path("/profile/recovery-codes").get(sf::show_codes).done())
    .service(
        path("/profile/recovery-codes/new")
            .get(sf::regenerate_question)
            .post(sf::regenerate_codes)
            .done(),
    )
    .service(
        path("/members/{id}/second-factors/reset")
            .post(sf::reset_member)
            .done(),
    );
}

/// Answers what no route matched: a 404 page, or JSON under `/api/`. The page is an
/// error (not a plain response) so that a signed-in person keeps their layout.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    use actix_web::ResponseError;
    if req.path().starts_with("/api/") {
        Ok(ApiError(AppError::NotFound).error_response())
    } else {
        Err(AppError::NotFound)
    }
}

/// Renders a page with a status other than 200.
pub fn render(
    status: actix_web::http::StatusCode,
    page: &impl askama::Template,
) -> crate::error::AppResult<HttpResponse> {
    let body = page.render().map_err(AppError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// Maps malformed form bodies to a clear 400 page rather than actix's plain text.
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(crate::web::csrf::MAX_FORM_BYTES)
        .error_handler(|err, _| {
            let e = match err {
                actix_web::error::UrlencodedError::Overflow { .. } => AppError::PayloadTooLarge,
                other => AppError::BadRequest(format!(
                    "The form could not be read ({other}). Reload the page and try again."
                )),
            };
            e.into()
        })
}
