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

use actix_web::{HttpResponse, error::JsonPayloadError, http::header, web};

use crate::domain::FieldError;
use crate::error::{ApiError, AppError};
use crate::web::methods::path;

/// Registers the API's routes (inside the `/api/v1` scope), grouped by path: a method
/// a path does not offer is answered 405 with `Allow`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config())
        .app_data(web::QueryConfig::default().error_handler(|e, _| {
            ApiError(AppError::BadRequest(format!(
                "The query is malformed ({e})."
            )))
            .into()
        }))
        .app_data(
            web::PathConfig::default().error_handler(|_, _| ApiError(AppError::NotFound).into()),
        )
        .service(path("/users").post(users::create).done())
        .service(path("/auth/token/exchange").post(tokens::exchange).done())
        .service(path("/auth/token/refresh").post(tokens::refresh).done())
        .service(path("/auth/token/revoke").post(tokens::revoke).done())
        .service(path("/auth/jwks/refresh").post(tokens::jwks_refresh).done())
        .service(path("/me").get(me::me).done())
        .service(path("/tenants/{slug}/members").get(me::members).done())
        .service(path("/openapi.json").get(openapi::document).done());
}

/// `GET /.well-known/jwks.json`: the portal's published signing keys, for services
/// that verify its access tokens.
pub async fn jwks(state: web::Data<crate::app::AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(state.signing.jwks())
}

/// The media type every request body of the API is sent as.
pub const JSON: &str = "application/json";

/// JSON bodies: at most [`MAX_BODY_BYTES`], `application/json` only, errors in the API's
/// shape: 415 for another media type, 413 for a larger body, 400 for a body that is not
/// JSON, 422 for JSON that is not of the documented shape.
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .content_type_required(true)
        .error_handler(|err, _| ApiError(json_error(err)).into())
}

/// The largest request body the API reads.
pub const MAX_BODY_BYTES: usize = crate::web::csrf::MAX_FORM_BYTES;

fn json_error(err: JsonPayloadError) -> AppError {
    match err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            AppError::PayloadTooLarge
        }
        JsonPayloadError::ContentType => AppError::UnsupportedMediaType { accept: JSON },
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            AppError::Validation(vec![FieldError::new(
                "body",
                format!("The JSON body is not of the documented shape: {e}."),
            )])
        }
        JsonPayloadError::Deserialize(e) => {
            AppError::BadRequest(format!("The body is not valid JSON: {e}."))
        }
        other => AppError::BadRequest(format!("The JSON body could not be read ({other}).")),
    }
}
