//! Destructive actions are confirmed on the server, not only in the page: a `POST`
//! without `confirm=yes` changes nothing and answers with a page that names what
//! would follow, whose button posts the same action again with `confirm=yes`. The
//! in-page confirmation sends `confirm=yes` already, so people with scripts or
//! `<details>` see one question, and a bare form post (or a bookmarked, replayed or
//! forged-but-authenticated request) still cannot act unasked.

use actix_web::{HttpResponse, http::StatusCode};
use askama::Template;

use crate::domain::TenantSlug;
use crate::error::{AppError, AppResult};
use crate::web::csrf::CsrfToken;
use crate::web::layout::{Section, TenantLayout};
use crate::web::session::{PlatformUser, TenantUser};

/// The `confirm` field of a destructive action's form (other fields are ignored).
#[derive(serde::Deserialize, Default)]
pub struct Confirmation {
    #[serde(default)]
    confirm: Option<String>,
}

impl Confirmation {
    /// Whether the person said yes.
    pub fn given(&self) -> bool {
        self.confirm.as_deref() == Some("yes")
    }
}

/// What the confirmation page asks.
pub struct Question {
    /// Where the "yes" posts to (the action itself).
    pub action: String,
    /// What the person is about to do, as in "You are about to {what}".
    pub what: String,
    /// What follows from it.
    pub consequence: String,
    /// Where "Cancel" leads.
    pub cancel: String,
    /// Fields the action needs again (e.g. the role asked for).
    pub keep: Vec<(&'static str, String)>,
}

impl Question {
    /// A question for `action` with nothing more to keep.
    pub fn new(
        action: String,
        what: String,
        consequence: impl Into<String>,
        cancel: String,
    ) -> Self {
        Self {
            action,
            what,
            consequence: consequence.into(),
            cancel,
            keep: Vec::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct TenantConfirmPage {
    layout: TenantLayout,
    csrf: String,
    tenant_name: String,
    q: Question,
}

#[derive(Template)]
#[template(path = "confirm_platform.html")]
struct PlatformConfirmPage {
    admin_name: String,
    csrf: String,
    q: Question,
}

/// The question inside an organization, in its frame with `section` current.
pub fn ask(
    user: &TenantUser,
    csrf: &CsrfToken,
    section: Section,
    q: Question,
) -> AppResult<HttpResponse> {
    super::render(
        StatusCode::OK,
        &TenantConfirmPage {
            layout: TenantLayout::new(user, csrf, section),
            csrf: csrf.0.clone(),
            tenant_name: user.tenant.name.clone(),
            q,
        },
    )
}

/// The question on the platform pages (/admin).
pub fn ask_platform(user: &PlatformUser, csrf: &CsrfToken, q: Question) -> AppResult<HttpResponse> {
    super::render(
        StatusCode::OK,
        &PlatformConfirmPage {
            admin_name: user.0.name.clone(),
            csrf: csrf.0.clone(),
            q,
        },
    )
}

/// The question before suspending an organization (kept here so the platform
/// handler stays a line longer, not a paragraph).
pub fn suspension(slug: &str) -> AppResult<Question> {
    let slug = TenantSlug::parse(slug).map_err(|_| AppError::NotFound)?;
    Ok(Question::new(
        format!("/admin/tenants/{slug}/suspend"),
        format!("suspend {slug}"),
        "Nobody of it can sign in or use the API until it is reactivated.",
        "/admin".into(),
    ))
}
