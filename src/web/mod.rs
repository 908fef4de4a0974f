//! HTML pages, one module per page group.

mod assets;
pub use assets::stylesheet;
mod dashboard;
mod landing;
mod login;
mod security;
mod signup;
mod sso;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::{ApiError, AppError};

/// Registers every page route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(landing::landing))
        .route("/go", web::get().to(landing::go))
        .route("/signup", web::get().to(signup::form))
        .route("/signup", web::post().to(signup::submit))
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
                .route("/security/unlock", web::post().to(security::unlock)),
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
        .limit(crate::auth::csrf::MAX_FORM_BYTES)
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
