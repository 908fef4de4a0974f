//! The JSON API, `/api/v1/`. Errors are `{"error":{"type","message"}}` ([`ApiError`]).
//!
//! These routes sit outside the session and CSRF middleware: they take JSON only, and
//! a cross-site page cannot send `application/json` without a CORS preflight, which
//! the portal never grants.

pub mod bearer;
pub mod me;
pub mod openapi;
pub mod tokens;
mod users;

use actix_web::{HttpResponse, http::header, web};

use crate::error::{ApiError, AppError};

/// Registers the API's routes (inside the `/api/v1` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config())
        .route("/users", web::post().to(users::create))
        .route("/auth/token/exchange", web::post().to(tokens::exchange))
        .route("/auth/token/refresh", web::post().to(tokens::refresh))
        .route("/auth/token/revoke", web::post().to(tokens::revoke))
        .route("/auth/jwks/refresh", web::post().to(tokens::jwks_refresh))
        .route("/me", web::get().to(me::me))
        .route("/tenants/{slug}/members", web::get().to(me::members))
        .route("/openapi.json", web::get().to(openapi::document));
}

/// `GET /.well-known/jwks.json`: the portal's published signing keys, for services
/// that verify its access tokens.
pub async fn jwks(state: web::Data<crate::app::AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(state.signing.jwks())
}

/// JSON bodies: small, `application/json` only, and errors in the API's shape.
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(crate::web::csrf::MAX_FORM_BYTES)
        .content_type_required(true)
        .error_handler(|err, _| {
            let e = match err {
                actix_web::error::JsonPayloadError::Overflow { .. }
                | actix_web::error::JsonPayloadError::OverflowKnownLength { .. } => {
                    AppError::PayloadTooLarge
                }
                actix_web::error::JsonPayloadError::ContentType => AppError::BadRequest(
                    "Send a JSON body with Content-Type: application/json.".into(),
                ),
                other => {
                    AppError::BadRequest(format!("The JSON body could not be read ({other})."))
                }
            };
            ApiError(e).into()
        })
}
