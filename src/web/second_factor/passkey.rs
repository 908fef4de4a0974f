//! Passkeys in the second step of a password sign-in (`/t/{slug}/login/second-factor/
//! passkey`), in a required enrollment (`/t/{slug}/login/enroll/passkey`) and as the
//! fresh confirmation of a sensitive change (`/t/{slug}/profile/confirm/passkey`). Each
//! has an `…/options` address the page's script asks first (see `web::passkeys`).

use actix_web::{HttpResponse, http::StatusCode, web};

use super::{finish, pending_for, render_step, start_again};
use crate::app::AppState;
use crate::auth::passkeys::{Ceremony, PasskeyDeps, confirm, enrol};
use crate::auth::second_factor::Method;
use crate::error::AppResult;
use crate::models::audit_log::RequestMeta;
use crate::models::user::Actor;
use crate::web::csrf::CsrfToken;
use crate::web::passkeys::{AnswerForm, NO_ANSWER, options_json, problem_json, status_of};
use crate::web::respond::see_other;
use crate::web::session::{PendingSecondFactor, PortalSession, TenantUser, safe_next};
use crate::web::tenant::CurrentTenant;

const EXPIRED: &str = "Your sign-in has expired. Sign in again.";
const NOT_OFFERED: &str = "Passkeys are not available on this portal.";
const NO_PASSKEY: &str = "You have no passkey to confirm with.";

fn actor(p: &PendingSecondFactor) -> Actor {
    Actor {
        id: p.uid,
        email: p.email.clone(),
    }
}

/// Options to confirm with one of `uid`'s passkeys, the ceremony's handle kept in the
/// session.
async fn confirm_options(
    deps: &PasskeyDeps<'_>,
    tenant: &crate::tenancy::Tenant,
    session: &PortalSession,
    uid: uuid::Uuid,
) -> AppResult<HttpResponse> {
    match confirm::start(deps, tenant, uid).await? {
        Some((options, handle)) => {
            session.set_passkey_ceremony(Ceremony::Confirm, handle)?;
            Ok(options_json(&options))
        }
        None => Ok(problem_json(StatusCode::CONFLICT, NO_PASSKEY)),
    }
}

/// `POST /t/{slug}/login/second-factor/passkey/options`.
pub async fn step_options(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    session: PortalSession,
) -> AppResult<HttpResponse> {
    let Some(pending) = pending_for(&session, &tenant).filter(|p| !p.enroll) else {
        return Ok(problem_json(StatusCode::CONFLICT, EXPIRED));
    };
    let Some(deps) = state.passkeys() else {
        return Ok(problem_json(StatusCode::NOT_FOUND, NOT_OFFERED));
    };
    confirm_options(&deps, &tenant, &session, pending.uid).await
}

/// `POST /t/{slug}/login/second-factor/passkey`: the second step, with a passkey.
pub async fn step(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    session: PortalSession,
    meta: RequestMeta,
    form: web::Form<AnswerForm>,
) -> AppResult<HttpResponse> {
    let Some(pending) = pending_for(&session, &tenant).filter(|p| !p.enroll) else {
        return Ok(start_again(&tenant));
    };
    let Some(deps) = state.passkeys() else {
        return Ok(start_again(&tenant));
    };
    let ip = meta.ip.clone().unwrap_or_default();
    state
        .limits
        .limit_login(&ip, tenant.id, &pending.email.to_lowercase())
        .await?;
    let handle = session.take_passkey_ceremony(Ceremony::Confirm);
    if form.credential.trim().is_empty() {
        let problem = Some((Method::Passkey, NO_ANSWER.to_string()));
        return render_step(
            &state,
            &tenant,
            csrf,
            &pending,
            problem,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let purpose = "second step";
    let checked = confirm::finish(
        &deps,
        &tenant,
        pending.uid,
        handle,
        &form.credential,
        purpose,
        meta.clone(),
    )
    .await?;
    match checked {
        Ok(()) => {
            finish(
                &state,
                &session,
                &tenant,
                pending,
                Method::Passkey,
                meta,
                None,
            )
            .await
        }
        Err(r) => {
            if !session.count_second_factor_try(pending.clone())? {
                return Ok(start_again(&tenant));
            }
            let problem = Some((Method::Passkey, r.message().to_string()));
            render_step(&state, &tenant, csrf, &pending, problem, status_of(r)).await
        }
    }
}

/// `POST /t/{slug}/login/enroll/passkey/options`: a required first factor, a passkey.
pub async fn enroll_options(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    session: PortalSession,
) -> AppResult<HttpResponse> {
    let Some(pending) = pending_for(&session, &tenant).filter(|p| p.enroll) else {
        return Ok(problem_json(StatusCode::CONFLICT, EXPIRED));
    };
    let Some(deps) = state.passkeys() else {
        return Ok(problem_json(StatusCode::NOT_FOUND, NOT_OFFERED));
    };
    let (options, handle) = enrol::start(&deps, &tenant, &actor(&pending)).await?;
    session.set_passkey_ceremony(Ceremony::Register, handle)?;
    Ok(options_json(&options))
}

/// `POST /t/{slug}/login/enroll/passkey`: the passkey is added and the sign-in
/// completed, by way of the first recovery codes.
pub async fn enroll(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    session: PortalSession,
    meta: RequestMeta,
    form: web::Form<AnswerForm>,
) -> AppResult<HttpResponse> {
    let Some(pending) = pending_for(&session, &tenant).filter(|p| p.enroll) else {
        return Ok(start_again(&tenant));
    };
    let Some(deps) = state.passkeys() else {
        return Ok(start_again(&tenant));
    };
    let handle = session.take_passkey_ceremony(Ceremony::Register);
    if form.credential.trim().is_empty() {
        return super::enroll::render(&state, &tenant, csrf, &pending, Some(NO_ANSWER.into()))
            .await;
    }
    let name = if form.name.trim().is_empty() {
        "Passkey"
    } else {
        form.name.as_str()
    };
    let who = actor(&pending);
    let added = enrol::finish(
        &deps,
        &tenant,
        &who,
        handle,
        name,
        &form.credential,
        meta.clone(),
    )
    .await?;
    match added {
        Ok((_, codes)) => {
            finish(
                &state,
                &session,
                &tenant,
                pending,
                Method::Passkey,
                meta,
                codes,
            )
            .await
        }
        Err(r) => {
            if !session.count_second_factor_try(pending.clone())? {
                return Ok(start_again(&tenant));
            }
            let msg = Some(r.message().to_string());
            super::enroll::render(&state, &tenant, csrf, &pending, msg).await
        }
    }
}

/// `POST /t/{slug}/profile/confirm/passkey/options`.
pub async fn step_up_options(
    state: web::Data<AppState>,
    user: TenantUser,
) -> AppResult<HttpResponse> {
    let Some(deps) = state.passkeys() else {
        return Ok(problem_json(StatusCode::NOT_FOUND, NOT_OFFERED));
    };
    confirm_options(&deps, &user.tenant, &user.session, user.identity.uid).await
}

/// `POST /t/{slug}/profile/confirm/passkey`: a fresh confirmation with a passkey, then
/// back to the action that asked for it.
pub async fn step_up(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
    meta: RequestMeta,
    form: web::Form<AnswerForm>,
) -> AppResult<HttpResponse> {
    let next = safe_next(&user.tenant, form.next.as_deref());
    let deps = state.passkeys().ok_or(crate::error::AppError::NotFound)?;
    let ip = meta.ip.clone().unwrap_or_default();
    state
        .limits
        .limit_login(&ip, user.tenant.id, &user.identity.email)
        .await?;
    let handle = user.session.take_passkey_ceremony(Ceremony::Confirm);
    if form.credential.trim().is_empty() {
        let status = StatusCode::BAD_REQUEST;
        return super::step_up::render(&state, &user, csrf, next, Some(NO_ANSWER.into()), status)
            .await;
    }
    let checked = confirm::finish(
        &deps,
        &user.tenant,
        user.identity.uid,
        handle,
        &form.credential,
        "confirmation",
        meta,
    )
    .await?;
    match checked {
        Ok(()) => {
            user.session.mark_step_up()?;
            Ok(see_other(next))
        }
        Err(r) => {
            let msg = Some(r.message().to_string());
            super::step_up::render(&state, &user, csrf, next, msg, status_of(r)).await
        }
    }
}
