//! The OpenAPI document of the JSON API, generated from the handlers and their types
//! (`GET /api/v1/openapi.json`). Every operation lists every status it can answer:
//! its own in its handler's `#[utoipa::path]`, the ones all operations share
//! (bodies, tokens, limits, outages) added here by [`SharedAnswers`].

use actix_web::HttpResponse;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, schema::SchemaType};
use utoipa::openapi::{Ref, RefOr, Response, ResponseBuilder, Type};
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
    /// A stable name for programs.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: ErrorKind,
    /// A sentence for a person.
    pub message: String,
    /// With `ValidationError`: a sentence per refused field, by field name (`body` when
    /// the JSON is not of the documented shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<std::collections::HashMap<String, String>>,
}

/// The names of the errors the API answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub enum ErrorKind {
    /// 400: the body is not JSON, the query is malformed, or the portal is not set up
    /// for this operation.
    BadRequest,
    /// 401: no usable token.
    InvalidToken,
    /// 401: the access token (or the Authentik token) has expired.
    TokenExpired,
    /// 403: the person has no access to the organization.
    TenantAccessDenied,
    /// 403: the person's role does not allow this.
    InsufficientPermissions,
    /// 403: the organization is suspended.
    TenantSuspended,
    /// 404: no such address.
    NotFound,
    /// 404: no such organization.
    TenantNotFound,
    /// 405: the address does not take this method (see `Allow`).
    MethodNotAllowed,
    /// 409: the address or email is taken.
    Conflict,
    /// 413: the body is larger than the API reads.
    PayloadTooLarge,
    /// 415: the body is not `application/json` (see `Accept-Post`).
    UnsupportedMediaType,
    /// 422: a value was refused (see `fields`).
    ValidationError,
    /// 429: too many requests (see `Retry-After`).
    RateLimited,
    /// 503: a component the portal needs is down (see `Retry-After`).
    ServiceUnavailable,
    /// 500: a fault of the portal, logged.
    InternalError,
}

const DESCRIPTION: &str = "\
Exchange Authentik tokens for the portal's own, and read the portal with them. Access \
tokens are EdDSA JWTs verifiable with `/.well-known/jwks.json`.

**Authentication.** Operations marked with the `bearer` scheme take the portal's access \
token in `Authorization: Bearer <access_token>`. Get one from \
`POST /api/v1/auth/token/exchange` with a JWT that Authentik issued for the portal's \
client (`JWT_AUDIENCE`) and the organization's slug or id; renew it with \
`POST /api/v1/auth/token/refresh` before `expires_in` runs out.

**Errors.** Every answer that is not a success is `application/json` of the `ErrorDoc` \
schema, `{\"error\":{\"type\",\"message\"}}`. Request bodies are `application/json` of at \
most 65536 bytes: another content type is answered 415 with `Accept-Post: \
application/json`, a larger body 413, a body that is not JSON 400, JSON that is not of \
the documented shape (a required field missing, a value of the wrong type) or a value \
refused 422 with `error.fields`. A method that an address does not offer is answered \
405 with `Allow` naming the methods it does. Every operation may answer 429 with \
`Retry-After` (seconds) when a client sends too many requests, and 503 with \
`Retry-After` when the database or Redis cannot be reached.";

const BEARER: &str = "The portal's access token: `POST /api/v1/auth/token/exchange` \
turns an Authentik JWT into an access token (and a refresh token); send it as \
`Authorization: Bearer <access_token>`.";

/// The bearer scheme, with how a token is obtained, and no license entry (the
/// package declares none).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.info.license = None;
        openapi.info.description = Some(DESCRIPTION.into());
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(BEARER))
                    .build(),
            ),
        );
    }
}

/// The answers every operation of a kind can give, as shared responses, added to each
/// operation that does not describe them itself.
struct SharedAnswers;

/// A response that every operation of a kind can give.
struct Shared {
    status: &'static str,
    /// Its name under `components/responses`.
    name: &'static str,
    description: &'static str,
    /// Headers it always carries, and what they say.
    headers: &'static [(&'static str, &'static str)],
    /// Which operations give it.
    given_by: fn(&Operation) -> bool,
}

fn every(_: &Operation) -> bool {
    true
}

fn with_body(op: &Operation) -> bool {
    op.request_body.is_some()
}

fn with_token(op: &Operation) -> bool {
    op.security.as_ref().is_some_and(|s| !s.is_empty())
}

const RETRY_AFTER: &[(&str, &str)] = &[("Retry-After", "Seconds to wait before trying again")];

// The document states the body limit in words.
const _: () = assert!(super::MAX_BODY_BYTES == 65_536);

const SHARED: &[Shared] = &[
    Shared {
        status: "400",
        name: "BadRequest",
        description: "BadRequest: the body is not JSON",
        headers: &[],
        given_by: with_body,
    },
    Shared {
        status: "401",
        name: "Unauthorized",
        description: "InvalidToken or TokenExpired: no access token, or one that is malformed, forged, expired or revoked",
        headers: &[(
            "WWW-Authenticate",
            "`Bearer realm=\"tenant-portal\"`, with `error=\"invalid_token\"` when a token was sent",
        )],
        given_by: with_token,
    },
    Shared {
        status: "413",
        name: "PayloadTooLarge",
        description: "PayloadTooLarge: the body is larger than 65536 bytes",
        headers: &[],
        given_by: with_body,
    },
    Shared {
        status: "415",
        name: "UnsupportedMediaType",
        description: "UnsupportedMediaType: the body is not sent as `application/json`",
        headers: &[("Accept-Post", "`application/json`")],
        given_by: with_body,
    },
    Shared {
        status: "422",
        name: "ValidationError",
        description: "ValidationError: JSON that is not of the documented shape, or a value refused; `error.fields` names each",
        headers: &[],
        given_by: with_body,
    },
    Shared {
        status: "429",
        name: "RateLimited",
        description: "RateLimited: too many requests from this client",
        headers: RETRY_AFTER,
        given_by: every,
    },
    Shared {
        status: "503",
        name: "ServiceUnavailable",
        description: "ServiceUnavailable: the database, Redis or the identity provider cannot be reached",
        headers: RETRY_AFTER,
        given_by: every,
    },
];

impl Shared {
    fn response(&self) -> Response {
        let mut r = ResponseBuilder::new()
            .description(self.description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorDoc")))
                    .build(),
            );
        for (name, about) in self.headers {
            let schema = ObjectBuilder::new().schema_type(SchemaType::new(Type::String));
            r = r.header(
                *name,
                HeaderBuilder::new()
                    .schema(schema)
                    .description(Some(*about))
                    .build(),
            );
        }
        r.build()
    }
}

impl Modify for SharedAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for shared in SHARED {
            components
                .responses
                .insert(shared.name.to_string(), RefOr::T(shared.response()));
        }
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                let given: Vec<&Shared> = SHARED.iter().filter(|s| (s.given_by)(op)).collect();
                for shared in given {
                    op.responses
                        .responses
                        .entry(shared.status.to_string())
                        .or_insert_with(|| {
                            RefOr::Ref(Ref::new(format!("#/components/responses/{}", shared.name)))
                        });
                }
            }
        }
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "tenant-portal API", version = "1"),
    paths(
        super::users::create,
        super::tokens::exchange,
        super::tokens::refresh,
        super::tokens::revoke,
        super::tokens::jwks_refresh,
        super::me::me,
        super::me::members,
    ),
    components(schemas(ErrorDoc, ErrorBody, ErrorKind)),
    modifiers(&BearerAuth, &SharedAnswers),
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
