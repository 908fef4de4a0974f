//! Routes grouped by address: one resource per path, so that a method the path does not
//! offer is answered 405 with an `Allow` header (an HTML page, or JSON under `/api/`)
//! instead of falling through to 404.

use actix_web::{
    FromRequest, Handler, HttpRequest, HttpResponse, Resource, Responder, ResponseError,
    http::Method, web,
};

use crate::error::{ApiError, AppError};

/// The routes of one path, built up method by method.
pub struct Methods {
    resource: Resource,
    allow: Vec<Method>,
}

/// Starts the routes of `path`.
pub fn path(path: &str) -> Methods {
    Methods {
        resource: web::resource(path),
        allow: Vec::new(),
    }
}

impl Methods {
    /// `GET`, and `HEAD` with the same handler (the server sends no body for `HEAD`).
    pub fn get<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.method(Method::GET, handler.clone())
            .method(Method::HEAD, handler)
    }

    /// `GET` for a link whose following does something once (confirming an address,
    /// starting or finishing a sign-in). `HEAD`, which mail scanners and link checkers
    /// send, answers 200 without doing it, so a preview cannot use up the link.
    pub fn get_once<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.method(Method::GET, handler)
            .method(Method::HEAD, head_without_effects)
    }

    /// `POST`.
    pub fn post<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.method(Method::POST, handler)
    }

    fn method<F, Args>(mut self, method: Method, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource = self.resource.route(web::method(method.clone()).to(handler));
        self.allow.push(method);
        self
    }

    /// The resource, answering any other method with 405 and `Allow`.
    pub fn done(self) -> Resource {
        let allow = self
            .allow
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        self.resource
            .default_service(web::to(move |req: HttpRequest| {
                let allow = allow.clone();
                async move { not_allowed(&req, allow) }
            }))
    }
}

async fn head_without_effects() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .finish()
}

fn not_allowed(req: &HttpRequest, allow: String) -> HttpResponse {
    let e = AppError::MethodNotAllowed { allow };
    if req.path().starts_with("/api/") {
        ApiError(e).error_response()
    } else {
        e.error_response()
    }
}
