//! The stylesheet, compiled into the binary so the portal ships as one file.

use actix_web::{HttpResponse, http::header};

const APP_CSS: &str = include_str!("../../static/app.css");

/// `GET /static/app.css`.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(APP_CSS)
}
