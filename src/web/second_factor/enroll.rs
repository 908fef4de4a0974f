//! `GET|POST /t/{slug}/login/enroll`: a person whose organization (or the platform)
//! requires a second factor, and who has none, adds one right after their password,
//! before any other page opens. Adding it completes the sign-in.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{finish, pending_for, start_again};
use crate::app::AppState;
use crate::auth::second_factor::totp::{self, Confirmed, Enrollment};
use crate::auth::second_factor::{Method, Who};
use crate::error::AppResult;
use crate::models::audit_log::RequestMeta;
use crate::tenancy::Tenant;
use crate::web::csrf::CsrfToken;
use crate::web::respond::see_other;
use crate::web::session::{PendingSecondFactor, PortalSession};
use crate::web::tenant::CurrentTenant;

#[derive(Template)]
#[template(path = "second_factor_enroll.html")]
struct EnrollPage {
    csrf: String,
    tenant_name: String,
    enrollment: Enrollment,
    /// Where the code is posted.
    action: String,
    error: Option<String>,
    /// Whether a passkey may be added instead.
    passkeys_offered: bool,
}

fn who(p: &PendingSecondFactor) -> Who {
    Who {
        id: p.uid,
        email: p.email.clone(),
    }
}

pub(super) async fn render(
    state: &AppState,
    tenant: &Tenant,
    csrf: CsrfToken,
    pending: &PendingSecondFactor,
    error: Option<String>,
) -> AppResult<HttpResponse> {
    let deps = state.second_factors();
    let Some(enrollment) = totp::start(&deps, tenant, &who(pending)).await? else {
        // An app was confirmed meanwhile (another tab): the sign-in asks for a code.
        return Ok(see_other(format!("/t/{}/login/second-factor", tenant.slug)));
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = EnrollPage {
        csrf: csrf.0,
        tenant_name: tenant.name.clone(),
        enrollment,
        action: format!("/t/{}/login/enroll", tenant.slug),
        error,
        passkeys_offered: state.passkeys.is_some(),
    };
    crate::web::render(status, &page)
}

/// `GET /t/{slug}/login/enroll`.
pub async fn form(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    session: PortalSession,
) -> AppResult<HttpResponse> {
    match pending_for(&session, &tenant) {
        Some(p) if p.enroll => render(&state, &tenant, csrf, &p, None).await,
        Some(_) => Ok(see_other(format!("/t/{}/login/second-factor", tenant.slug))),
        None => Ok(start_again(&tenant)),
    }
}

/// The first code of a new authenticator app.
#[derive(serde::Deserialize)]
pub struct FirstCode {
    #[serde(default)]
    code: String,
}

/// `POST /t/{slug}/login/enroll`.
pub async fn submit(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    session: PortalSession,
    meta: RequestMeta,
    form: web::Form<FirstCode>,
) -> AppResult<HttpResponse> {
    let Some(pending) = pending_for(&session, &tenant).filter(|p| p.enroll) else {
        return Ok(start_again(&tenant));
    };
    let ip = meta.ip.clone().unwrap_or_default();
    state
        .limits
        .limit_login(&ip, tenant.id, &pending.email.to_lowercase())
        .await?;
    if form.code.trim().is_empty() {
        let msg = "Enter the 6-digit code your app shows now.".to_string();
        return render(&state, &tenant, csrf, &pending, Some(msg)).await;
    }
    let deps = state.second_factors();
    match totp::confirm(&deps, &tenant, &who(&pending), &form.code, meta.clone()).await? {
        Confirmed::Added(codes) => {
            finish(
                &state,
                &session,
                &tenant,
                pending,
                Method::Totp,
                meta,
                codes,
            )
            .await
        }
        Confirmed::WrongCode => {
            if !session.count_second_factor_try(pending.clone())? {
                return Ok(start_again(&tenant));
            }
            let msg = "That code is not right. Check that your app shows this account, and type the code it shows now.".to_string();
            render(&state, &tenant, csrf, &pending, Some(msg)).await
        }
    }
}
