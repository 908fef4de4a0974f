//! The second step of a password sign-in: `GET|POST /t/{slug}/login/second-factor`
//! (an authenticator code, a recovery code, or a passkey) and, for a person who must
//! have a factor and has none, `GET|POST /t/{slug}/login/enroll`. Until either is done
//! the session holds only a [`PendingSecondFactor`], which opens no page.
//!
//! Every way through ends in [`finish`], which the passkey step calls too.

mod admin;
mod enroll;
mod passkey;
mod profile;
mod step_up;

pub use admin::{platform_reset, reset as reset_member};
pub use enroll::{form as enroll_form, submit as enroll_submit};
pub use passkey::{
    enroll as passkey_enroll, enroll_options as passkey_enroll_options, step as passkey_step,
    step_options as passkey_step_options, step_up as passkey_step_up,
    step_up_options as passkey_step_up_options,
};
pub use profile::{
    add_authenticator, authenticator_page, regenerate_codes, regenerate_question,
    remove_authenticator, remove_authenticator_question, show_codes,
};
pub use step_up::{
    ask_before_change, confirm_form as step_up_form, confirm_submit as step_up_submit,
    question_after_step_up, require_step_up,
};

use actix_web::{HttpResponse, http::StatusCode, http::header, web};
use askama::Template;

use crate::app::AppState;
use crate::auth::second_factor::{self, CodeOutcome, Method, Who};
use crate::error::{AppError, AppResult, wait_words};
use crate::models::audit_log::RequestMeta;
use crate::models::second_factor::{FactorSummary, summary};
use crate::models::tenant_settings::SecondFactorRule;
use crate::tenancy::Tenant;
use crate::web::csrf::CsrfToken;
use crate::web::respond::{see_other, signed_in};
use crate::web::session::{MAX_TRIES, PendingSecondFactor, PortalSession};
use crate::web::tenant::CurrentTenant;

/// The sign-in page, saying the sign-in must start again.
fn start_again(tenant: &Tenant) -> HttpResponse {
    see_other(format!("/t/{}/login?again=1", tenant.slug))
}

/// The waiting sign-in of this tenant, if the session holds one.
pub fn pending_for(session: &PortalSession, tenant: &Tenant) -> Option<PendingSecondFactor> {
    session.pending_second_factor().filter(|p| p.is_for(tenant))
}

/// Starts the second step (or the required enrollment) of a person who gave the right
/// password, and sends them to it.
pub fn begin(
    session: &PortalSession,
    tenant: &Tenant,
    user: &crate::models::user::User,
    next: Option<&str>,
    enroll: bool,
) -> AppResult<HttpResponse> {
    session.begin_second_factor(PendingSecondFactor {
        uid: user.id,
        tid: tenant.id,
        role: user.role,
        email: user.email.clone(),
        name: user.name.clone(),
        next: next.map(|n| crate::web::session::safe_next(tenant, Some(n))),
        since: 0,
        tries: 0,
        enroll,
    })?;
    let step = if enroll { "enroll" } else { "second-factor" };
    Ok(see_other(format!("/t/{}/login/{step}", tenant.slug)))
}

/// Starts the session of a person whose account was just made (sign-up, registration,
/// an accepted invitation) — or, when a second factor is required of them (the
/// organization's rule or `DEVICE_AUTH_REQUIRED`), sends them to add one first. Either
/// way, should the session not be written, they are told `done` and asked to sign in.
/// `known_rule` spares reading the organization's rule when the caller has it.
pub async fn after_new_account(
    state: &AppState,
    session: &PortalSession,
    tenant: &Tenant,
    user: &crate::models::user::User,
    known_rule: Option<SecondFactorRule>,
    done: impl Into<String>,
) -> AppResult<HttpResponse> {
    let required = if state.settings.device_auth_required {
        true
    } else {
        match known_rule {
            Some(r) => r.requires(user.role, false),
            None => match crate::tenancy::settings_of(&state.db, tenant).await {
                Ok(s) => s.second_factor.requires(user.role, false),
                // The account exists: never an error page now. Without the rule, the
                // safe reading is that a factor is required.
                Err(_) => true,
            },
        }
    };
    if !required {
        return crate::web::respond::signed_in_after_commit(session, tenant, user, None, done);
    }
    crate::web::respond::committed(session, tenant, done);
    begin(session, tenant, user, None, true)
}

/// Completes a waiting sign-in whose second step was passed by `method` (an
/// authenticator code, a recovery code, a passkey, or a factor just added at a required
/// enrollment): the person is read again, the sign-in recorded, the session started
/// (counting as a fresh step-up confirmation), and they go on to where they were going,
/// by way of their new recovery codes when `new_codes` holds a set to show once.
pub async fn finish(
    state: &AppState,
    session: &PortalSession,
    tenant: &Tenant,
    pending: PendingSecondFactor,
    method: Method,
    meta: RequestMeta,
    new_codes: Option<Vec<String>>,
) -> AppResult<HttpResponse> {
    let done =
        second_factor::complete_sign_in(&state.db, tenant, pending.uid, method, meta).await?;
    let Some(user) = done else {
        session.drop_second_factor();
        return Err(AppError::Forbidden(
            "Your account is deactivated. Ask an admin of your organization.".into(),
        ));
    };
    let res = signed_in(session, tenant, &user, pending.next.as_deref())?;
    session.mark_step_up()?;
    let Some(codes) = new_codes else {
        return Ok(res);
    };
    session.keep_recovery_codes(codes)?;
    let next = crate::web::session::safe_next(tenant, pending.next.as_deref());
    let q: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    Ok(see_other(format!(
        "/t/{}/profile/recovery-codes?next={q}",
        tenant.slug
    )))
}

#[derive(Template)]
#[template(path = "second_factor.html")]
struct StepPage {
    csrf: String,
    slug: String,
    tenant_name: String,
    factors: FactorSummary,
    error: Option<String>,
    /// Which form the error belongs to.
    failed: Option<Method>,
    /// The sign-in is over (paused): no forms, a way back to the sign-in page.
    ended: bool,
}

impl StepPage {
    fn failed_with(&self, m: &str) -> bool {
        self.failed.is_some_and(|f| f.as_str() == m)
    }

    /// Where "Use a passkey" posts (its options at `…/options`).
    fn passkey_action(&self) -> String {
        format!("/t/{}/login/second-factor/passkey", self.slug)
    }

    /// The sign-in already knows where it goes next.
    fn passkey_next(&self) -> Option<&str> {
        None
    }
}

async fn factors_of(
    state: &AppState,
    tenant: &Tenant,
    uid: uuid::Uuid,
) -> AppResult<FactorSummary> {
    state
        .db
        .tenant(&tenant.schema, move |c| summary(c, uid))
        .await
}

async fn render_step(
    state: &AppState,
    tenant: &Tenant,
    csrf: CsrfToken,
    pending: &PendingSecondFactor,
    problem: Option<(Method, String)>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let ended = status == StatusCode::TOO_MANY_REQUESTS;
    let factors = factors_of(state, tenant, pending.uid).await?;
    let (failed, error) = problem.map_or((None, None), |(m, e)| (Some(m), Some(e)));
    let page = StepPage {
        csrf: csrf.0,
        slug: tenant.slug.to_string(),
        tenant_name: tenant.name.clone(),
        factors,
        error,
        failed,
        ended,
    };
    super::render(status, &page)
}

/// `GET /t/{slug}/login/second-factor`.
pub async fn form(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    session: PortalSession,
) -> AppResult<HttpResponse> {
    match pending_for(&session, &tenant) {
        Some(p) if p.enroll => Ok(see_other(format!("/t/{}/login/enroll", tenant.slug))),
        Some(p) => render_step(&state, &tenant, csrf, &p, None, StatusCode::OK).await,
        None => Ok(start_again(&tenant)),
    }
}

/// The second-step form: which kind of code, and the code.
#[derive(serde::Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
}

/// `POST /t/{slug}/login/second-factor`.
pub async fn submit(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    session: PortalSession,
    meta: RequestMeta,
    form: web::Form<CodeForm>,
) -> AppResult<HttpResponse> {
    let Some(pending) = pending_for(&session, &tenant).filter(|p| !p.enroll) else {
        return Ok(start_again(&tenant));
    };
    let method = match Method::parse(&form.method) {
        Some(m @ (Method::Totp | Method::RecoveryCode)) => m,
        _ => {
            return Err(AppError::BadRequest(
                "Choose an authenticator code or a recovery code.".into(),
            ));
        }
    };
    let ip = meta.ip.clone().unwrap_or_default();
    state
        .limits
        .limit_login(&ip, tenant.id, &pending.email.to_lowercase())
        .await?;
    if form.code.trim().is_empty() {
        let msg = "Enter the code.".to_string();
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render_step(&state, &tenant, csrf, &pending, Some((method, msg)), status).await;
    }
    let who = Who {
        id: pending.uid,
        email: pending.email.clone(),
    };
    let deps = state.second_factors();
    let outcome =
        second_factor::check_code(&deps, &tenant, &who, method, &form.code, meta.clone()).await?;
    match outcome {
        CodeOutcome::Accepted => {
            finish(&state, &session, &tenant, pending, method, meta, None).await
        }
        CodeOutcome::Refused => {
            if !session.count_second_factor_try(pending.clone())? {
                return Ok(start_again(&tenant));
            }
            let msg = wrong_code_message(method, MAX_TRIES - pending.tries - 1);
            let status = StatusCode::UNAUTHORIZED;
            render_step(&state, &tenant, csrf, &pending, Some((method, msg)), status).await
        }
        CodeOutcome::Locked { retry_after } => {
            session.drop_second_factor();
            locked(&state, &tenant, csrf, &pending, method, retry_after).await
        }
    }
}

/// What a person is told about a refused code, with the attempts left.
fn wrong_code_message(method: Method, left: u32) -> String {
    match method {
        Method::RecoveryCode => format!(
            "That recovery code is not right or was already used. {left} more tries before you must sign in again."
        ),
        _ => format!(
            "That code is not right, or it was already used: wait for the next code of your app. {left} more tries before you must sign in again."
        ),
    }
}

/// The answer when failures paused the address: the step is over, `Retry-After` says
/// for how long.
async fn locked(
    state: &AppState,
    tenant: &Tenant,
    csrf: CsrfToken,
    pending: &PendingSecondFactor,
    method: Method,
    retry_after: u64,
) -> AppResult<HttpResponse> {
    let msg = format!(
        "Too many failed sign-in attempts. For your security, sign-in for this account is paused: try again in {}.",
        wait_words(retry_after)
    );
    let status = StatusCode::TOO_MANY_REQUESTS;
    let mut res = render_step(state, tenant, csrf, pending, Some((method, msg)), status).await?;
    res.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
    Ok(res)
}
