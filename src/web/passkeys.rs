//! Passkey pages: adding, renaming and removing one's passkeys on the profile, and
//! "Sign in with a passkey" on the sign-in page.
//!
//! A ceremony takes two requests. The page's script first posts the form (with its CSRF
//! token) to an `…/options` address and gets the WebAuthn options as JSON; the portal
//! keeps the ceremony's state server-side and its handle in the session. The browser
//! asks the authenticator, and the script puts its answer in the form's `credential`
//! field and submits the form as usual: the answer to that is an ordinary page.

use actix_web::{HttpResponse, http::StatusCode, http::header, web};
use serde::Serialize;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::passkeys::{
    Ceremony, PasskeyDeps, PasskeyView, Refusal, enrol,
    sign_in::{self, SignInOutcome},
};
use crate::error::{AppError, AppResult};
use crate::models::audit_log::RequestMeta;
use crate::web::confirm::{Confirmation, Question};
use crate::web::csrf::CsrfToken;
use crate::web::methods::path;
use crate::web::respond::signed_in;
use crate::web::second_factor::{ask_before_change, question_after_step_up};
use crate::web::session::{PortalSession, TenantUser};
use crate::web::tenant::CurrentTenant;

/// The passkey pages of one organization, under `/t/{slug}`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use crate::web::second_factor as sf;
    cfg.service(path("/login/passkey").post(sign_in).done())
        .service(path("/login/passkey/options").post(sign_in_options).done())
        .service(
            path("/login/second-factor/passkey")
                .post(sf::passkey_step)
                .done(),
        )
        .service(
            path("/login/second-factor/passkey/options")
                .post(sf::passkey_step_options)
                .done(),
        )
        .service(
            path("/login/enroll/passkey")
                .post(sf::passkey_enroll)
                .done(),
        )
        .service(
            path("/login/enroll/passkey/options")
                .post(sf::passkey_enroll_options)
                .done(),
        )
        .service(
            path("/profile/confirm/passkey")
                .post(sf::passkey_step_up)
                .done(),
        )
        .service(
            path("/profile/confirm/passkey/options")
                .post(sf::passkey_step_up_options)
                .done(),
        )
        .service(path("/profile/passkeys").post(add).done())
        .service(path("/profile/passkeys/options").post(add_options).done())
        .service(path("/profile/passkeys/{id}/rename").post(rename).done())
        .service(
            path("/profile/passkeys/{id}/remove")
                .get(remove_question)
                .post(remove)
                .done(),
        );
}

/// Said when a form arrives without the authenticator's answer.
pub(crate) const NO_ANSWER: &str = "Your browser did not send a passkey. Passkeys need a browser that \
                         supports them, with JavaScript turned on.";

/// A passkey as the profile lists it.
pub struct PasskeyItem {
    /// Its id, for its buttons.
    pub id: String,
    /// Its name.
    pub name: String,
    /// When it was added (UTC).
    pub added: String,
    /// How long ago it was last used, if ever.
    pub last_used: Option<String>,
}

impl From<PasskeyView> for PasskeyItem {
    fn from(p: PasskeyView) -> Self {
        let now = time::OffsetDateTime::now_utc();
        Self {
            id: p.id.to_string(),
            name: p.name,
            added: crate::display::minute(p.created_at),
            last_used: p.last_used_at.map(|t| crate::display::relative(t, now)),
        }
    }
}

/// The relying party, or a 404: a portal without passkeys has no passkey pages.
fn deps(state: &AppState) -> AppResult<PasskeyDeps<'_>> {
    state.passkeys().ok_or(AppError::NotFound)
}

/// WebAuthn options for the page's script; never cached.
pub(crate) fn options_json(options: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(options)
}

/// A problem the script shows as it is.
pub(crate) fn problem_json(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "error": message }))
}

/// The status a refusal is answered with.
pub fn status_of(r: Refusal) -> StatusCode {
    match r {
        Refusal::Expired | Refusal::Malformed => StatusCode::BAD_REQUEST,
        Refusal::BadName => StatusCode::UNPROCESSABLE_ENTITY,
        Refusal::Duplicate | Refusal::LastRequired => StatusCode::CONFLICT,
        Refusal::NotVerified | Refusal::Invalid | Refusal::UnknownPasskey | Refusal::Cloned => {
            StatusCode::UNAUTHORIZED
        }
        Refusal::Deactivated | Refusal::NotAllowed | Refusal::SsoRequired => StatusCode::FORBIDDEN,
    }
}

/// The form that carries a ceremony's answer.
#[derive(serde::Deserialize)]
pub struct AnswerForm {
    /// The authenticator's answer (JSON), put there by the page's script.
    #[serde(default)]
    pub credential: String,
    /// A new passkey's name.
    #[serde(default)]
    pub name: String,
    /// Where to go afterwards.
    pub next: Option<String>,
}

/// `POST /t/{slug}/profile/passkeys/options`: starts adding a passkey.
pub async fn add_options(state: web::Data<AppState>, user: TenantUser) -> AppResult<HttpResponse> {
    let deps = deps(&state)?;
    let (options, handle) = enrol::start(&deps, &user.tenant, &user.identity.actor()).await?;
    user.session
        .set_passkey_ceremony(Ceremony::Register, handle)?;
    Ok(options_json(&options))
}

/// `POST /t/{slug}/profile/passkeys`: stores the passkey the browser created.
pub async fn add(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
    meta: RequestMeta,
    form: web::Form<AnswerForm>,
) -> AppResult<HttpResponse> {
    let deps = deps(&state)?;
    let handle = user.session.take_passkey_ceremony(Ceremony::Register);
    if form.credential.trim().is_empty() {
        let status = StatusCode::BAD_REQUEST;
        return super::profile::with_passkey_error(&state, &user, csrf, NO_ANSWER, status).await;
    }
    let who = user.identity.actor();
    let added = enrol::finish(
        &deps,
        &user.tenant,
        &who,
        handle,
        &form.name,
        &form.credential,
        meta,
    )
    .await?;
    match added {
        Ok((p, Some(codes))) => {
            // A first second factor comes with recovery codes, shown once.
            user.session.keep_recovery_codes(codes)?;
            let done = format!("Your passkey \"{}\" is added.", p.name);
            user.session
                .notify(crate::web::notice::Notice::done(done))?;
            let profile = format!("/t/{}/profile", user.tenant.slug);
            let q: String = url::form_urlencoded::byte_serialize(profile.as_bytes()).collect();
            Ok(crate::web::respond::see_other(format!(
                "{profile}/recovery-codes?next={q}"
            )))
        }
        Ok((p, None)) => {
            super::profile::back(&user, &format!("Your passkey \"{}\" is added.", p.name))
        }
        Err(r) => {
            super::profile::with_passkey_error(&state, &user, csrf, r.message(), status_of(r)).await
        }
    }
}

/// `POST /t/{slug}/profile/passkeys/{id}/rename`.
pub async fn rename(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
    meta: RequestMeta,
    path: web::Path<(String, Uuid)>,
    form: web::Form<AnswerForm>,
) -> AppResult<HttpResponse> {
    let deps = deps(&state)?;
    let id = path.into_inner().1;
    let who = user.identity.actor();
    match enrol::rename(&deps, &user.tenant, &who, id, &form.name, meta).await? {
        Ok(Some(name)) => {
            super::profile::back(&user, &format!("Your passkey is now called \"{name}\"."))
        }
        Ok(None) => Err(AppError::NotFound),
        Err(r) => {
            super::profile::with_passkey_error(&state, &user, csrf, r.message(), status_of(r)).await
        }
    }
}

/// The question before removing a passkey.
fn removal_question(user: &TenantUser, id: Uuid) -> Question {
    let profile = format!("/t/{}/profile", user.tenant.slug);
    Question::new(
        format!("{profile}/passkeys/{id}/remove"),
        "remove this passkey".into(),
        "It no longer signs you in or confirms anything; the device keeps it until you \
         delete it there.",
        profile,
    )
}

/// `GET /t/{slug}/profile/passkeys/{id}/remove`: the question, after a fresh
/// confirmation (where the confirmation page comes back to).
pub async fn remove_question(
    user: TenantUser,
    csrf: CsrfToken,
    path: web::Path<(String, Uuid)>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner().1;
    question_after_step_up(&user, &csrf, removal_question(&user, id))
}

/// `POST /t/{slug}/profile/passkeys/{id}/remove`: after a fresh confirmation and a yes.
pub async fn remove(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
    meta: RequestMeta,
    path: web::Path<(String, Uuid)>,
    form: web::Form<Confirmation>,
) -> AppResult<HttpResponse> {
    let deps = deps(&state)?;
    let id = path.into_inner().1;
    if let Some(page) = ask_before_change(&user, &csrf, form.given(), removal_question(&user, id)) {
        return page;
    }
    let who = user.identity.actor();
    match enrol::remove(&deps, &user.tenant, &who, id, meta).await? {
        Ok(Some(name)) => {
            super::profile::back(&user, &format!("Your passkey \"{name}\" is removed."))
        }
        Ok(None) => Err(AppError::NotFound),
        Err(r) => {
            super::profile::with_passkey_error(&state, &user, csrf, r.message(), status_of(r)).await
        }
    }
}

/// `POST /t/{slug}/login/passkey/options`: starts a passkey sign-in.
pub async fn sign_in_options(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    session: PortalSession,
    meta: RequestMeta,
) -> AppResult<HttpResponse> {
    let Some(deps) = state.passkeys() else {
        return Ok(problem_json(StatusCode::NOT_FOUND, NOT_OFFERED));
    };
    let ip = meta.ip.unwrap_or_default();
    state
        .limits
        .limit_passkey_login(&ip, tenant.id, None)
        .await?;
    match sign_in::start(&deps, &tenant).await? {
        Some((options, handle)) => {
            session.set_passkey_ceremony(Ceremony::SignIn, handle)?;
            Ok(options_json(&options))
        }
        None => Ok(problem_json(StatusCode::FORBIDDEN, NOT_OFFERED)),
    }
}

const NOT_OFFERED: &str = "Signing in with a passkey alone is not available here.";

/// `POST /t/{slug}/login/passkey`: signs in with the passkey the browser chose.
pub async fn sign_in(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    session: PortalSession,
    meta: RequestMeta,
    form: web::Form<AnswerForm>,
) -> AppResult<HttpResponse> {
    let deps = state.passkeys().ok_or(AppError::NotFound)?;
    let AnswerForm {
        credential, next, ..
    } = form.into_inner();
    let handle = session.take_passkey_ceremony(Ceremony::SignIn);
    let ip = meta.ip.clone().unwrap_or_default();
    let account = sign_in::claimed_account(&credential);
    state
        .limits
        .limit_passkey_login(&ip, tenant.id, account)
        .await?;
    let refusal = if credential.trim().is_empty() {
        (StatusCode::BAD_REQUEST, NO_ANSWER.to_string())
    } else {
        match sign_in::finish(&deps, &tenant, handle, &credential, meta).await? {
            SignInOutcome::SignedIn(user) => {
                let res = signed_in(&session, &tenant, &user, next.as_deref())?;
                // A passkey that verified its user is a fresh confirmation too.
                session.mark_step_up()?;
                return Ok(res);
            }
            SignInOutcome::Refused(r) => (status_of(r), r.message().to_string()),
        }
    };
    let (status, message) = refusal;
    super::login::render_refusal(&state, &tenant, csrf, String::new(), next, message, status).await
}
