//! One error type for the whole portal and its one mapping to HTTP.
//!
//! Pages get an HTML error page; `/api/` gets `{"error":{"type","message"}}` through
//! [`ApiError`]. The cause chain of an internal error is logged, never shown.

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use askama::Template;

use crate::domain::FieldError;

/// Everything that can go wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such page.
    #[error("page not found")]
    NotFound,
    /// No organization at this address.
    #[error("organization not found")]
    TenantNotFound,
    /// The organization exists but is suspended.
    #[error("organization suspended")]
    TenantSuspended,
    /// The person may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The form lacks a valid CSRF token.
    #[error("missing or invalid CSRF token")]
    Csrf,
    /// The request needs a signed-in person.
    #[error("sign-in required")]
    SignInRequired {
        /// Where to sign in.
        login_url: String,
    },
    /// No bearer token was sent.
    #[error("bearer token missing")]
    BearerMissing,
    /// The bearer token is malformed, forged, revoked or not for this portal.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// The bearer token has expired.
    #[error("token expired")]
    TokenExpired,
    /// The person has no access to this organization.
    #[error("tenant access denied: {0}")]
    TenantAccessDenied(String),
    /// Input refused, field by field.
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    /// The request conflicts with what exists (a taken address or email).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Another change to the same rows at the same moment won; this one was rolled back
    /// (a deadlock or a serialization failure in PostgreSQL).
    #[error("collided with a concurrent change")]
    Collided,
    /// The body is larger than any form of the portal.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The request is not of a form the portal takes.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The address exists, but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed {
        /// The methods it offers, for `Allow` ("GET, HEAD").
        allow: String,
    },
    /// The body is not of the media type the address takes.
    #[error("unsupported media type")]
    UnsupportedMediaType {
        /// The media type it takes, for `Accept-Post`.
        accept: &'static str,
    },
    /// Too many requests; try again after this many seconds.
    #[error("rate limited")]
    RateLimited {
        /// Seconds until a retry can succeed.
        retry_after: u64,
        /// What to tell the person.
        message: &'static str,
    },
    /// A component the portal needs is down.
    #[error("{0} unavailable")]
    Unavailable(&'static str),
    /// The portal has more of this work than it takes on at once; nothing was done.
    #[error("busy {0}")]
    Busy(&'static str),
    /// A bug or an unexpected failure.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    /// Wraps any unexpected failure.
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(e.into())
    }

    /// A stable machine-readable name for the JSON error shape.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::NotFound => "NotFound",
            AppError::TenantNotFound => "TenantNotFound",
            AppError::TenantSuspended => "TenantSuspended",
            AppError::Forbidden(_) => "InsufficientPermissions",
            AppError::Csrf => "CsrfTokenInvalid",
            AppError::SignInRequired { .. } => "InvalidToken",
            AppError::InvalidToken(_) | AppError::BearerMissing => "InvalidToken",
            AppError::TokenExpired => "TokenExpired",
            AppError::TenantAccessDenied(_) => "TenantAccessDenied",
            AppError::Validation(_) => "ValidationError",
            AppError::Conflict(_) | AppError::Collided => "Conflict",
            AppError::PayloadTooLarge => "PayloadTooLarge",
            AppError::BadRequest(_) => "BadRequest",
            AppError::MethodNotAllowed { .. } => "MethodNotAllowed",
            AppError::UnsupportedMediaType { .. } => "UnsupportedMediaType",
            AppError::RateLimited { .. } => "RateLimited",
            AppError::Unavailable(_) | AppError::Busy(_) => "ServiceUnavailable",
            AppError::Internal(_) => "InternalError",
        }
    }

    /// A title and a sentence for the person who met the error.
    pub fn explain(&self) -> (&'static str, String) {
        match self {
            AppError::NotFound => ("Page not found", "There is nothing at this address. Check the link, or go back to the start.".into()),
            AppError::TenantNotFound => ("Organization not found", "No organization uses this address. Check the spelling of the link you followed.".into()),
            AppError::TenantSuspended => ("Organization suspended", "This organization's access to the portal is suspended. Contact its administrator.".into()),
            AppError::Forbidden(m) => ("Not allowed", m.clone()),
            AppError::Csrf => ("Form expired", "This form was sent without its security token, or from another site. Go back, reload the page and try again.".into()),
            AppError::SignInRequired { .. } => ("Sign-in required", "Please sign in to continue.".into()),
            AppError::InvalidToken(m) => ("Invalid token", m.clone()),
            AppError::BearerMissing => ("Token required", "Send an access token in the Authorization header: `Bearer <token>`.".into()),
            AppError::TokenExpired => ("Token expired", "The access token has expired. Get a new one with your refresh token.".into()),
            AppError::TenantAccessDenied(m) => ("No access", m.clone()),
            AppError::Validation(errs) => ("Please check your input", errs.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" ")),
            AppError::Conflict(m) => ("Already taken", m.clone()),
            AppError::Collided => ("Changed at the same moment", "Someone else changed the same thing at the same moment, so nothing of this request was saved. Reload the page to see what is there now, and try again.".into()),
            AppError::PayloadTooLarge => ("Too much data", "The form sent more data than the portal accepts. Shorten what you typed and try again.".into()),
            AppError::BadRequest(m) => ("Bad request", m.clone()),
            AppError::MethodNotAllowed { allow } => ("Method not allowed", format!("This address does not answer this method. It answers {allow}.")),
            AppError::UnsupportedMediaType { accept } => ("Unsupported media type", format!("Send the body as {accept}, with Content-Type: {accept}.")),
            AppError::RateLimited { retry_after, message } => ("Too many attempts", format!("{message} Try again in {}.", wait_words(*retry_after))),
            AppError::Unavailable(c) => ("Temporarily unavailable", format!("The portal cannot reach its {c} right now. Nothing was lost; please try again in a moment.")),
            AppError::Busy(what) => ("Busy", format!("The portal is busy {what} right now and did nothing with this request. Please try again in a few seconds.")),
            AppError::Internal(_) => ("Something went wrong", "An unexpected error occurred. It has been logged; please try again.".into()),
        }
    }

    /// Seconds a client should wait before retrying, for `Retry-After`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::RateLimited { retry_after, .. } => Some(*retry_after),
            AppError::Unavailable(_) => Some(5),
            AppError::Busy(_) => Some(2),
            _ => None,
        }
    }

    /// The headers that tell a client what to do next: `Retry-After`, `Allow` (405),
    /// `Accept-Post` (415).
    fn hint_headers(&self, res: &mut actix_web::HttpResponseBuilder) {
        if let Some(secs) = self.retry_after() {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        match self {
            AppError::MethodNotAllowed { allow } => {
                res.insert_header((header::ALLOW, allow.as_str()));
            }
            AppError::UnsupportedMediaType { accept } => {
                res.insert_header(("Accept-Post", *accept));
            }
            _ => {}
        }
    }

    fn log(&self) {
        match self {
            AppError::Internal(e) => tracing::error!(error.cause_chain = ?e, "internal error"),
            AppError::Unavailable(c) => tracing::warn!(component = c, "component unavailable"),
            AppError::Busy(work) => tracing::warn!(work, "refused: too much at once"),
            _ => {}
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | Error::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _) => {
                AppError::Unavailable("database")
            }
            // Two transactions waited for each other (or a serializable one lost): this
            // one was rolled back whole, the other went through.
            Error::DatabaseError(kind, ref info)
                if matches!(kind, DatabaseErrorKind::SerializationFailure)
                    || info.message().starts_with("deadlock detected") =>
            {
                tracing::info!(error = info.message(), "transaction collided, rolled back");
                AppError::Collided
            }
            // PostgreSQL out of a resource (its lock table under a flood of sign-ups,
            // say): the transaction was rolled back, so "try again" is the truth.
            Error::DatabaseError(_, ref info)
                if info.message().starts_with("out of shared memory")
                    || info.message().starts_with("sorry, too many clients") =>
            {
                tracing::warn!(error = info.message(), "database out of resources");
                AppError::Unavailable("database")
            }
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<deadpool_diesel::PoolError> for AppError {
    fn from(_: deadpool_diesel::PoolError) -> Self {
        AppError::Unavailable("database")
    }
}

impl From<deadpool_diesel::InteractError> for AppError {
    fn from(e: deadpool_diesel::InteractError) -> Self {
        AppError::Internal(anyhow::anyhow!("database task failed: {e}"))
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::Validation(vec![e])
    }
}

/// "42 seconds", "3 minutes": how long to wait, in words.
pub fn wait_words(secs: u64) -> String {
    match secs {
        0..=1 => "a second".into(),
        2..=89 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

/// The HTML page shown for an error.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// HTTP status code.
    pub status: u16,
    /// Short title.
    pub title: &'static str,
    /// What happened and what to do.
    pub message: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound | AppError::TenantNotFound => StatusCode::NOT_FOUND,
            AppError::TenantSuspended
            | AppError::Forbidden(_)
            | AppError::Csrf
            | AppError::TenantAccessDenied(_) => StatusCode::FORBIDDEN,
            AppError::InvalidToken(_) | AppError::TokenExpired | AppError::BearerMissing => {
                StatusCode::UNAUTHORIZED
            }
            AppError::SignInRequired { .. } => StatusCode::SEE_OTHER,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) | AppError::Collided => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) | AppError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        if let AppError::SignInRequired { login_url } = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, login_url.as_str()))
                .finish();
        }
        let (title, message) = self.explain();
        let status = self.status_code();
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message,
        };
        let body = page
            .render()
            .unwrap_or_else(|_| format!("<h1>{title}</h1>"));
        let mut res = HttpResponse::build(status);
        res.content_type("text/html; charset=utf-8");
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        self.hint_headers(&mut res);
        res.body(body)
    }
}

/// An [`AppError`] answered as JSON, for `/api/`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(#[from] pub AppError);

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            AppError::SignInRequired { .. } => StatusCode::UNAUTHORIZED,
            other => other.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let (_, message) = self.0.explain();
        let mut body = serde_json::json!({
            "error": { "type": self.0.kind(), "message": message }
        });
        if let AppError::Validation(fields) = &self.0 {
            body["error"]["fields"] = fields
                .iter()
                .map(|f| {
                    (
                        f.field.to_string(),
                        serde_json::Value::from(f.message.clone()),
                    )
                })
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
        let mut res = HttpResponse::build(self.status_code());
        self.0.hint_headers(&mut res);
        match &self.0 {
            // RFC 6750: no error code when the request carried no credentials.
            AppError::SignInRequired { .. } | AppError::BearerMissing => {
                res.insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="tenant-portal""#));
            }
            AppError::InvalidToken(_) | AppError::TokenExpired => {
                // RFC 6750: the client learns to get a new token, not why in detail.
                res.insert_header((
                    header::WWW_AUTHENTICATE,
                    r#"Bearer realm="tenant-portal", error="invalid_token""#,
                ));
            }
            _ => {}
        }
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        res.json(body)
    }
}

/// The result type of handlers and services.
pub type AppResult<T> = Result<T, AppError>;
