//! `GET|POST /t/{slug}/profile/confirm?next=...`: the fresh confirmation that
//! sensitive actions ask for (ten minutes long), and [`require_step_up`], with which an
//! action sends a person there and back.

use actix_web::{HttpResponse, http::StatusCode, http::header, web};
use askama::Template;

use crate::app::AppState;
use crate::auth::login::secret;
use crate::auth::second_factor::Who;
use crate::auth::second_factor::step_up::{self, Asked, StepUp};
use crate::error::{AppResult, wait_words};
use crate::models::audit_log::RequestMeta;
use crate::tenancy::Tenant;
use crate::web::confirm::{self, Question};
use crate::web::csrf::CsrfToken;
use crate::web::layout::{Section, TenantLayout};
use crate::web::respond::see_other;
use crate::web::session::{TenantUser, safe_next};

/// `None` when the person confirmed who they are within the last ten minutes; else the
/// way to the confirmation page, which comes back to `next` (a page inside the tenant
/// that asks for the action again, with what the person had chosen).
pub fn require_step_up(user: &TenantUser, next: &str) -> Option<HttpResponse> {
    if user.session.fresh_step_up() {
        return None;
    }
    Some(see_other(confirm_url(&user.tenant, next)))
}

/// The question before a sensitive change of one's own profile, once the person has
/// confirmed who they are (else the way to that confirmation, which comes back to the
/// question's action).
pub fn question_after_step_up(
    user: &TenantUser,
    csrf: &CsrfToken,
    question: Question,
) -> AppResult<HttpResponse> {
    match require_step_up(user, &question.action) {
        Some(go) => Ok(go),
        None => confirm::ask(user, csrf, Section::Profile, question),
    }
}

/// `None` when a sensitive change may go ahead (a fresh confirmation and a yes); else
/// the page that asks for what is missing.
pub fn ask_before_change(
    user: &TenantUser,
    csrf: &CsrfToken,
    answered_yes: bool,
    question: Question,
) -> Option<AppResult<HttpResponse>> {
    if answered_yes && user.session.fresh_step_up() {
        return None;
    }
    Some(question_after_step_up(user, csrf, question))
}

/// The confirmation page, coming back to `next`.
pub fn confirm_url(tenant: &Tenant, next: &str) -> String {
    let q: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("/t/{}/profile/confirm?next={q}", tenant.slug)
}

#[derive(Template)]
#[template(path = "step_up.html")]
struct ConfirmPage {
    layout: TenantLayout,
    csrf: String,
    slug: String,
    tenant_name: String,
    email: String,
    next: String,
    asked: Asked,
    /// `/t/{slug}/sso?next=...`, for people of single sign-on.
    sso_href: Option<String>,
    error: Option<String>,
}

impl ConfirmPage {
    /// Where "Use a passkey" posts (its options at `…/options`).
    fn passkey_action(&self) -> String {
        format!("/t/{}/profile/confirm/passkey", self.slug)
    }

    /// Where to come back to after the confirmation.
    fn passkey_next(&self) -> Option<&str> {
        Some(&self.next)
    }
}

/// Where to come back to.
#[derive(serde::Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn who(user: &TenantUser) -> Who {
    Who {
        id: user.identity.uid,
        email: user.identity.email.clone(),
    }
}

pub(super) async fn render(
    state: &AppState,
    user: &TenantUser,
    csrf: CsrfToken,
    next: String,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let asked = step_up::asked(&state.second_factors(), &user.tenant, &who(user)).await?;
    let sso_href = (!asked.password && state.oidc.is_some()).then(|| {
        let q: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        format!("/t/{}/sso?next={q}", user.tenant.slug)
    });
    let page = ConfirmPage {
        layout: TenantLayout::new(user, &csrf, Section::Profile),
        csrf: csrf.0,
        slug: user.tenant.slug.to_string(),
        tenant_name: user.tenant.name.clone(),
        email: user.identity.email.clone(),
        next,
        asked,
        sso_href,
        error,
    };
    crate::web::render(status, &page)
}

/// `GET /t/{slug}/profile/confirm`.
pub async fn confirm_form(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
    q: web::Query<NextQuery>,
) -> AppResult<HttpResponse> {
    let next = safe_next(&user.tenant, q.next.as_deref());
    render(&state, &user, csrf, next, None, StatusCode::OK).await
}

/// The confirmation form.
#[derive(serde::Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

/// `POST /t/{slug}/profile/confirm`.
pub async fn confirm_submit(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
    meta: RequestMeta,
    form: web::Form<ConfirmForm>,
) -> AppResult<HttpResponse> {
    let ConfirmForm {
        password,
        code,
        next,
    } = form.into_inner();
    let next = safe_next(&user.tenant, next.as_deref());
    let ip = meta.ip.clone().unwrap_or_default();
    state
        .limits
        .limit_login(&ip, user.tenant.id, &user.identity.email)
        .await?;
    let deps = state.second_factors();
    let outcome = step_up::confirm(
        &deps,
        &state.hasher,
        &user.tenant,
        &who(&user),
        secret(password),
        &code,
        meta,
    )
    .await?;
    let (status, msg) = match outcome {
        StepUp::Confirmed => {
            user.session.mark_step_up()?;
            return Ok(see_other(next));
        }
        StepUp::WrongPassword => (
            StatusCode::UNAUTHORIZED,
            "Your password is not right.".to_string(),
        ),
        StepUp::WrongCode => (
            StatusCode::UNAUTHORIZED,
            "That code is not right, or it was already used: wait for the next code of your app."
                .to_string(),
        ),
        StepUp::Locked { retry_after } => {
            let msg = format!(
                "Too many failed attempts. For your security, sign-in for this account is paused: try again in {}.",
                wait_words(retry_after)
            );
            let status = StatusCode::TOO_MANY_REQUESTS;
            let mut res = render(&state, &user, csrf, next, Some(msg), status).await?;
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
            return Ok(res);
        }
    };
    render(&state, &user, csrf, next, Some(msg), status).await
}
