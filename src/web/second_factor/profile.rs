//! A person's own second factors, from their profile: add an authenticator app
//! (`/t/{slug}/profile/authenticator`), remove it, make new recovery codes, and the page
//! that shows a new set of codes once (`/t/{slug}/profile/recovery-codes`).
//! Removing and renewing ask for a fresh confirmation first ([`require_step_up`]).

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{ask_before_change, question_after_step_up};
use crate::app::AppState;
use crate::auth::second_factor::totp::{self, Confirmed, Enrollment, Removed};
use crate::auth::second_factor::{Who, recovery};
use crate::error::{AppError, AppResult};
use crate::models::audit_log::RequestMeta;
use crate::web::confirm::{Confirmation, Question};
use crate::web::csrf::CsrfToken;
use crate::web::layout::{Section, TenantLayout};
use crate::web::notice::Notice;
use crate::web::respond::{back_with, see_other};
use crate::web::session::{TenantUser, safe_next};

fn who(user: &TenantUser) -> Who {
    Who {
        id: user.identity.uid,
        email: user.identity.email.clone(),
    }
}

fn profile(user: &TenantUser) -> String {
    format!("/t/{}/profile", user.tenant.slug)
}

#[derive(Template)]
#[template(path = "authenticator.html")]
struct AuthenticatorPage {
    layout: TenantLayout,
    csrf: String,
    slug: String,
    tenant_name: String,
    enrollment: Enrollment,
    action: String,
    error: Option<String>,
}

async fn render_enrollment(
    state: &AppState,
    user: &TenantUser,
    csrf: CsrfToken,
    error: Option<String>,
) -> AppResult<HttpResponse> {
    let deps = state.second_factors();
    let Some(enrollment) = totp::start(&deps, &user.tenant, &who(user)).await? else {
        return back_with(
            &user.session,
            profile(user),
            Notice::done(
                "You already have an authenticator app. Remove it first to set up another.",
            ),
        );
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = AuthenticatorPage {
        layout: TenantLayout::new(user, &csrf, Section::Profile),
        csrf: csrf.0,
        slug: user.tenant.slug.to_string(),
        tenant_name: user.tenant.name.clone(),
        enrollment,
        action: format!("/t/{}/profile/authenticator", user.tenant.slug),
        error,
    };
    crate::web::render(status, &page)
}

/// `GET /t/{slug}/profile/authenticator`: the QR code and the secret of a new app.
pub async fn authenticator_page(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
) -> AppResult<HttpResponse> {
    render_enrollment(&state, &user, csrf, None).await
}

/// The first code of the new app.
#[derive(serde::Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /t/{slug}/profile/authenticator`: the app counts once a first code is right.
pub async fn add_authenticator(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
    meta: RequestMeta,
    form: web::Form<CodeForm>,
) -> AppResult<HttpResponse> {
    if form.code.trim().is_empty() {
        let msg = "Enter the 6-digit code your app shows now.".to_string();
        return render_enrollment(&state, &user, csrf, Some(msg)).await;
    }
    let ip = meta.ip.clone().unwrap_or_default();
    state
        .limits
        .limit_login(&ip, user.tenant.id, &user.identity.email)
        .await?;
    let deps = state.second_factors();
    match totp::confirm(&deps, &user.tenant, &who(&user), &form.code, meta).await? {
        Confirmed::Added(Some(codes)) => {
            user.session.keep_recovery_codes(codes)?;
            user.session
                .notify(Notice::done("Your authenticator app is added."))?;
            let q: String =
                url::form_urlencoded::byte_serialize(profile(&user).as_bytes()).collect();
            Ok(see_other(format!(
                "{}/recovery-codes?next={q}",
                profile(&user)
            )))
        }
        Confirmed::Added(None) => back_with(
            &user.session,
            profile(&user),
            Notice::done("Your authenticator app is added."),
        ),
        Confirmed::WrongCode => {
            let msg = "That code is not right. Check that your app shows this account, and type the code it shows now.".to_string();
            render_enrollment(&state, &user, csrf, Some(msg)).await
        }
    }
}

fn removal_question(user: &TenantUser) -> Question {
    Question::new(
        format!("{}/authenticator/remove", profile(user)),
        "remove your authenticator app".into(),
        "Its codes stop working at once. Without another second factor, your recovery codes are deleted too.",
        profile(user),
    )
}

/// `GET /t/{slug}/profile/authenticator/remove`: the question (where the confirmation
/// page comes back to).
pub async fn remove_authenticator_question(
    user: TenantUser,
    csrf: CsrfToken,
) -> AppResult<HttpResponse> {
    question_after_step_up(&user, &csrf, removal_question(&user))
}

/// `POST /t/{slug}/profile/authenticator/remove`: after a fresh confirmation and a yes.
pub async fn remove_authenticator(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
    meta: RequestMeta,
    form: web::Form<Confirmation>,
) -> AppResult<HttpResponse> {
    if let Some(page) = ask_before_change(&user, &csrf, form.given(), removal_question(&user)) {
        return page;
    }
    let deps = state.second_factors();
    match totp::remove(&deps, &user.tenant, &who(&user), meta).await? {
        Removed::Done => back_with(
            &user.session,
            profile(&user),
            Notice::done("Your authenticator app is removed."),
        ),
        Removed::NotFound => Err(AppError::NotFound),
        Removed::LastRequired => Err(AppError::Conflict(
            "Your organization requires a second factor: add a passkey before you remove your authenticator app.".into(),
        )),
    }
}

fn renewal_question(user: &TenantUser) -> Question {
    Question::new(
        format!("{}/recovery-codes/new", profile(user)),
        "make new recovery codes".into(),
        "Your current recovery codes stop working at once; the new ones are shown once.",
        profile(user),
    )
}

/// `GET /t/{slug}/profile/recovery-codes/new`: the question, after a fresh confirmation.
pub async fn regenerate_question(user: TenantUser, csrf: CsrfToken) -> AppResult<HttpResponse> {
    question_after_step_up(&user, &csrf, renewal_question(&user))
}

/// `POST /t/{slug}/profile/recovery-codes/new`: a new set, the old one dead.
pub async fn regenerate_codes(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
    meta: RequestMeta,
    form: web::Form<Confirmation>,
) -> AppResult<HttpResponse> {
    if let Some(page) = ask_before_change(&user, &csrf, form.given(), renewal_question(&user)) {
        return page;
    }
    let deps = state.second_factors();
    let Some(codes) = recovery::regenerate(&deps, &user.tenant, &who(&user), meta).await? else {
        return Err(AppError::Conflict(
            "Recovery codes come with a second factor: add an authenticator app or a passkey first.".into(),
        ));
    };
    user.session.keep_recovery_codes(codes)?;
    Ok(see_other(format!("{}/recovery-codes", profile(&user))))
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct CodesPage {
    layout: TenantLayout,
    tenant_name: String,
    codes: Vec<String>,
    next: String,
}

/// Where to go after reading the codes.
#[derive(serde::Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /t/{slug}/profile/recovery-codes`: a new set of codes, shown this once (a
/// reload finds nothing and goes back to the profile).
pub async fn show_codes(
    user: TenantUser,
    csrf: CsrfToken,
    q: web::Query<NextQuery>,
) -> AppResult<HttpResponse> {
    let Some(codes) = user.session.take_recovery_codes() else {
        return Ok(see_other(profile(&user)));
    };
    let next = match q.next.as_deref() {
        Some(n) => safe_next(&user.tenant, Some(n)),
        None => profile(&user),
    };
    let page = CodesPage {
        layout: TenantLayout::new(&user, &csrf, Section::Profile),
        tenant_name: user.tenant.name.clone(),
        codes,
        next,
    };
    crate::web::render(StatusCode::OK, &page)
}
