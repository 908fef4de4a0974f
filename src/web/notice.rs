//! A page that tells the person one thing and offers one way on.

use actix_web::http::StatusCode;
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::tokens::TokenProblem;

/// The page.
#[derive(Template, WebTemplate)]
#[template(path = "notice.html")]
pub struct NoticePage {
    /// The organization, above the title.
    pub tenant_name: String,
    /// The heading.
    pub title: &'static str,
    /// What happened and what to do.
    pub message: String,
    /// A button: link and label.
    pub action: Option<(String, &'static str)>,
}

/// The status for a refused link: unknown links are not found, used or expired ones
/// are gone for good.
pub fn status_of(problem: TokenProblem) -> StatusCode {
    match problem {
        TokenProblem::Unknown => StatusCode::NOT_FOUND,
        TokenProblem::Used | TokenProblem::Expired | TokenProblem::Revoked => StatusCode::GONE,
    }
}
