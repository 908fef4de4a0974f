//! The answers handlers share: redirects after a POST, "signed in, on to the
//! dashboard", and going back to a page with a one-time notice.

use std::cell::RefCell;
use std::rc::Rc;

use actix_web::{HttpMessage, HttpResponse, http::StatusCode, http::header};

use crate::error::AppResult;
use crate::models::user::User;
use crate::tenancy::Tenant;
use crate::web::notice::{Notice, NoticePage};
use crate::web::session::{PortalSession, safe_next};

/// `303 See Other` to `location` (after a POST, the browser GETs the next page).
pub fn see_other(location: impl AsRef<str>) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.as_ref()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Starts the session of a person who just proved who they are, and sends them on to
/// `next` inside their organization (the dashboard by default).
pub fn signed_in(
    session: &PortalSession,
    tenant: &Tenant,
    user: &User,
    next: Option<&str>,
) -> AppResult<HttpResponse> {
    session.sign_in(tenant, user.id, user.role, &user.email, &user.name)?;
    Ok(see_other(safe_next(tenant, next)))
}

/// What a person is told when what they did was committed but their session could not
/// be started (the session store failed while the answer was on its way): it worked,
/// and they sign in themselves. Answered as an "error" of status 200 because the
/// session middleware can only fail the request.
#[derive(Clone, Debug)]
pub struct SignInLater {
    tenant_name: String,
    message: String,
    login: String,
}

impl std::fmt::Display for SignInLater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl actix_web::ResponseError for SignInLater {
    fn status_code(&self) -> StatusCode {
        StatusCode::OK
    }

    fn error_response(&self) -> HttpResponse {
        let notice = NoticePage {
            tenant_name: self.tenant_name.clone(),
            title: "Done: please sign in",
            message: format!(
                "{} We could not sign you in automatically just now; sign in to continue.",
                self.message
            ),
            action: Some((self.login.clone(), "Go to sign-in")),
        };
        super::render(StatusCode::OK, &notice)
            .unwrap_or_else(|e| actix_web::ResponseError::error_response(&e))
    }
}

/// Where a handler leaves its [`SignInLater`] for the middleware around the session
/// store (one per request).
#[derive(Clone, Default)]
pub struct AfterCommit(Rc<RefCell<Option<SignInLater>>>);

impl AfterCommit {
    /// What the handler left, if anything.
    pub fn take(&self) -> Option<SignInLater> {
        self.0.borrow_mut().take()
    }
}

/// [`signed_in`] after a commit: should the session not be written, the person is
/// told that `done` (e.g. "Your organization is created.") and asked to sign in, never
/// that it failed.
pub fn signed_in_after_commit(
    session: &PortalSession,
    tenant: &Tenant,
    user: &User,
    next: Option<&str>,
    done: impl Into<String>,
) -> AppResult<HttpResponse> {
    committed(session, tenant, done);
    signed_in(session, tenant, user, next)
}

/// Notes that this request committed `done`: should its session not be written, the
/// answer is that it worked and the person signs in themselves.
pub fn committed(session: &PortalSession, tenant: &Tenant, done: impl Into<String>) {
    let later = SignInLater {
        tenant_name: tenant.name.clone(),
        message: done.into(),
        login: format!("/t/{}/login", tenant.slug),
    };
    if let Some(slot) = session.request().extensions().get::<AfterCommit>() {
        *slot.0.borrow_mut() = Some(later);
    }
}

/// Back to `location`, where `notice` is shown once.
pub fn back_with(
    session: &PortalSession,
    location: impl AsRef<str>,
    notice: Notice,
) -> AppResult<HttpResponse> {
    session.notify(notice)?;
    Ok(see_other(location))
}
