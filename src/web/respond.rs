//! The answers handlers share: redirects after a POST, "signed in, on to the
//! dashboard", and going back to a page with a one-time notice.

use actix_web::{HttpResponse, http::header};

use crate::error::AppResult;
use crate::models::user::User;
use crate::tenancy::Tenant;
use crate::web::notice::Notice;
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

/// Back to `location`, where `notice` is shown once.
pub fn back_with(
    session: &PortalSession,
    location: impl AsRef<str>,
    notice: Notice,
) -> AppResult<HttpResponse> {
    session.notify(notice)?;
    Ok(see_other(location))
}
