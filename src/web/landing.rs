//! The public landing page and the "go to my organization" shortcut.

use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::domain::TenantSlug;
use crate::error::{AppError, AppResult};
use crate::web::respond::see_other;

#[derive(Template, WebTemplate)]
#[template(path = "landing.html")]
pub struct LandingPage;

/// `GET /`.
pub async fn landing() -> LandingPage {
    LandingPage
}

#[derive(serde::Deserialize)]
pub struct GoQuery {
    #[serde(default)]
    slug: String,
}

/// `GET /go?slug=…`: to the organization's sign-in page.
pub async fn go(q: web::Query<GoQuery>) -> AppResult<HttpResponse> {
    let slug = TenantSlug::parse(&q.slug.to_lowercase()).map_err(|_| AppError::TenantNotFound)?;
    Ok(see_other(format!("/t/{slug}/login")))
}
