//! A page that tells the person one thing and offers one way on.

use actix_web::http::StatusCode;
use askama::Template;
use askama_web::WebTemplate;

use crate::models::user_token::TokenProblem;

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

/// A one-time message for the next page after an action: written by the portal into
/// the person's session and shown once. Never taken from the address bar, so nobody
/// can make the portal say words of their choosing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notice(String);

impl Notice {
    /// A notice saying what was done.
    pub fn done(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
