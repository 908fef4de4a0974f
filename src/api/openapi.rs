//! The OpenAPI document of the JSON API, generated from the handlers and their types
//! (`GET /api/v1/openapi.json`).

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The error shape of every JSON answer that is not a success.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDoc {
    /// The error.
    pub error: ErrorBody,
}

/// What went wrong.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable name: InvalidToken, TokenExpired, TenantAccessDenied,
    /// InsufficientPermissions, TenantNotFound, TenantSuspended, ValidationError,
    /// Conflict, RateLimited, BadRequest, ServiceUnavailable.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: String,
    /// A sentence for a person.
    pub message: String,
}

/// The bearer scheme, and no license entry (the package declares none).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.info.license = None;
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tenant-portal API",
        description = "Exchange Authentik tokens for the portal's own, and read the portal with them. Access tokens are EdDSA JWTs verifiable with /.well-known/jwks.json.",
        version = "1"
    ),
    paths(
        super::users::create,
        super::tokens::exchange,
        super::tokens::refresh,
        super::tokens::revoke,
        super::tokens::jwks_refresh,
        super::me::me,
        super::me::members,
    ),
    components(schemas(ErrorDoc, ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "tokens", description = "Token exchange, refresh and revocation"),
        (name = "people", description = "The caller and the organization's members"),
        (name = "organizations", description = "Signing up an organization"),
    )
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json`.
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
