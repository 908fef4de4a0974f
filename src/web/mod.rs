//! HTML pages, one module per page group.

mod assets;
mod audit;
pub mod csrf;
mod dashboard;
mod invitations;
mod landing;
mod login;
mod members;
pub mod notice;
mod password;
mod platform;
mod profile;
mod register;
pub mod request;
pub mod respond;
mod security;
pub mod session;
mod settings;
mod signup;
mod sso;
pub mod tenant;
mod verify;

pub use assets::stylesheet;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::{ApiError, AppError};

/// Registers every page route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(landing::landing))
        .route("/go", web::get().to(landing::go))
        .route("/signup", web::get().to(signup::form))
        .route("/signup", web::post().to(signup::submit))
        .route("/admin", web::get().to(platform::page))
        .route("/admin/login", web::get().to(platform::login_form))
        .route("/admin/login", web::post().to(platform::login))
        .route("/admin/logout", web::post().to(platform::logout))
        .route("/admin/tenants", web::post().to(platform::create))
        .route(
            "/admin/jwks/refresh",
            web::post().to(platform::refresh_keys),
        )
        .route(
            "/admin/tenants/{slug}/suspend",
            web::post().to(platform::suspend),
        )
        .route(
            "/admin/tenants/{slug}/reactivate",
            web::post().to(platform::reactivate),
        )
        .route("/auth/oidc/callback", web::get().to(sso::callback))
        .service(
            web::scope("/t/{slug}")
                .route("", web::get().to(dashboard::home))
                .route("/", web::get().to(dashboard::home))
                .route("/login", web::get().to(login::form))
                .route("/login", web::post().to(login::submit))
                .route("/logout", web::post().to(login::logout))
                .route("/sso", web::get().to(sso::start))
                .route("/dashboard", web::get().to(dashboard::dashboard))
                .route("/security", web::get().to(security::page))
                .route("/security/unlock", web::post().to(security::unlock))
                .route("/settings", web::get().to(settings::page))
                .route("/settings", web::post().to(settings::save))
                .route("/register", web::get().to(register::form))
                .route("/register", web::post().to(register::submit))
                .route("/password/forgot", web::get().to(password::forgot_form))
                .route("/password/forgot", web::post().to(password::forgot_submit))
                .route(
                    "/password/reset/{token}",
                    web::get().to(password::reset_form),
                )
                .route(
                    "/password/reset/{token}",
                    web::post().to(password::reset_submit),
                )
                .route("/verify-email/resend", web::post().to(verify::resend))
                .route("/verify-email/{token}", web::get().to(verify::confirm))
                .route("/members", web::get().to(members::list))
                .route("/members/invite", web::post().to(members::invite))
                .route(
                    "/members/invitations/{id}/resend",
                    web::post().to(members::resend),
                )
                .route(
                    "/members/invitations/{id}/revoke",
                    web::post().to(members::revoke),
                )
                .route("/members/{id}/role", web::post().to(members::role))
                .route(
                    "/members/{id}/deactivate",
                    web::post().to(members::deactivate),
                )
                .route(
                    "/members/{id}/reactivate",
                    web::post().to(members::reactivate),
                )
                .route("/invitations/{token}", web::get().to(invitations::form))
                .route("/invitations/{token}", web::post().to(invitations::accept))
                .route(
                    "/invitations/{token}/sso",
                    web::get().to(invitations::with_sso),
                )
                .route("/audit", web::get().to(audit::page))
                .route("/audit.csv", web::get().to(audit::csv))
                .route("/profile", web::get().to(profile::page))
                .route("/profile/name", web::post().to(profile::rename))
                .route("/profile/password", web::post().to(profile::password))
                .route(
                    "/profile/sessions/end-others",
                    web::post().to(profile::end_others),
                )
                .route(
                    "/profile/api-sessions/{id}/revoke",
                    web::post().to(profile::revoke_api),
                )
                .route(
                    "/profile/sessions/{sid}/end",
                    web::post().to(profile::end_one),
                ),
        );
}

/// Answers what no route matched: a 404 page, or JSON under `/api/`.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    if req.path().starts_with("/api/") {
        ApiError(AppError::NotFound).error_response()
    } else {
        AppError::NotFound.error_response()
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
