//! `/t/{slug}/profile`: a person's name, password and signed-in devices.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::app::AppState;
use crate::auth::session_store::LiveSession;
use crate::domain::FieldError;
use crate::error::{AppError, AppResult};
use crate::members::profile;
use crate::models::api_session;
use crate::models::audit_log::RequestMeta;
use crate::models::audit_log::{self as audit, AuditEvent};
use crate::models::user;
use crate::web::confirm::{self, Confirmation, Question};
use crate::web::csrf::CsrfToken;
pub use crate::web::devices::{SessionView, devices};
use crate::web::layout::{Section, TenantLayout};
use crate::web::notice::Notice;
use crate::web::passkeys::PasskeyItem;
use crate::web::respond::back_with;
use crate::web::session::TenantUser;

/// An API session as the page shows it.
pub struct ApiSessionRow {
    id: String,
    client: String,
    created: String,
    last_used: String,
}

impl From<api_session::ApiSessionView> for ApiSessionRow {
    fn from(s: api_session::ApiSessionView) -> Self {
        Self {
            id: s.id.to_string(),
            client: s.user_agent.unwrap_or_else(|| "An API client".into()),
            created: crate::display::minute(s.created_at),
            last_used: crate::display::minute(s.last_used_at),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "profile.html")]
pub struct ProfilePage {
    layout: TenantLayout,
    csrf: String,
    slug: String,
    tenant_name: String,
    name: String,
    email: String,
    role_label: &'static str,
    has_password: bool,
    /// Second factors (shown to people with a password: single sign-on has its own).
    factors: crate::models::second_factor::FactorSummary,
    sessions: Vec<SessionView>,
    api_sessions: Vec<ApiSessionRow>,
    notice: Option<Notice>,
    errors: Vec<FieldError>,
    /// Whether the portal offers passkeys (a domain name in `PORTAL_BASE_URL`).
    passkeys_offered: bool,
    passkeys: Vec<PasskeyItem>,
    /// What went wrong with the last passkey action, shown in its section.
    passkey_error: Option<String>,
}

impl ProfilePage {
    fn error_for(&self, field: &str) -> Option<&str> {
        FieldError::message_for(&self.errors, field)
    }
}

async fn build(state: &AppState, user: &TenantUser, csrf: CsrfToken) -> AppResult<ProfilePage> {
    let uid = user.identity.uid;
    let (me, api_sessions, factors) = state
        .db
        .tenant(&user.tenant.schema, move |conn| {
            let me = user::find(conn, uid)?;
            let factors = crate::models::second_factor::summary(conn, uid)?;
            Ok((me, api_session::open_sessions_of(conn, uid)?, factors))
        })
        .await?;
    let me = me
        .filter(|u| u.is_active())
        .ok_or(AppError::Forbidden("Your account is deactivated.".into()))?;
    let sessions = devices(state, user).await?;
    let passkeys = match state.passkeys() {
        Some(deps) => crate::auth::passkeys::enrol::list(&deps, &user.tenant, uid).await?,
        None => Vec::new(),
    };
    Ok(ProfilePage {
        passkeys_offered: state.passkeys.is_some(),
        passkeys: passkeys.into_iter().map(PasskeyItem::from).collect(),
        passkey_error: None,
        layout: TenantLayout::new(user, &csrf, Section::Profile),
        csrf: csrf.0,
        slug: user.tenant.slug.to_string(),
        tenant_name: user.tenant.name.clone(),
        role_label: me.role.label(),
        has_password: me.password_hash.is_some(),
        factors,
        name: me.name,
        email: me.email,
        sessions,
        api_sessions: api_sessions.into_iter().map(ApiSessionRow::from).collect(),
        notice: None,
        errors: Vec::new(),
    })
}

/// `GET /t/{slug}/profile`.
pub async fn page(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
) -> AppResult<ProfilePage> {
    let mut page = build(&state, &user, csrf).await?;
    page.notice = user.session.take_notice();
    Ok(page)
}

/// The profile again with a passkey problem in its passkey section.
pub(super) async fn with_passkey_error(
    state: &AppState,
    user: &TenantUser,
    csrf: CsrfToken,
    message: &str,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let mut page = build(state, user, csrf).await?;
    page.passkey_error = Some(message.to_string());
    super::render(status, &page)
}

/// Back to the profile, where `done` is shown once.
pub(super) fn back(user: &TenantUser, done: &str) -> AppResult<HttpResponse> {
    let location = format!("/t/{}/profile", user.tenant.slug);
    back_with(&user.session, location, Notice::done(done))
}

async fn refuse(
    state: &AppState,
    user: &TenantUser,
    csrf: CsrfToken,
    errors: Vec<FieldError>,
) -> AppResult<HttpResponse> {
    let mut page = build(state, user, csrf).await?;
    page.errors = errors;
    super::render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

#[derive(serde::Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

/// `POST /t/{slug}/profile/name`.
pub async fn rename(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
    meta: RequestMeta,
    form: web::Form<NameForm>,
) -> AppResult<HttpResponse> {
    match profile::rename(
        &state.profiles(),
        &user.tenant,
        &user.identity.actor(),
        &form.name,
        meta,
    )
    .await
    {
        Ok(me) => {
            // The page header shows the name from the session.
            let mut identity = user.identity.clone();
            identity.name = me.name;
            user.session.set_identity(identity)?;
            back(&user, "Your name is saved.")
        }
        Err(AppError::Validation(errors)) => refuse(&state, &user, csrf, errors).await,
        Err(e) => Err(e),
    }
}

#[derive(serde::Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

/// `POST /t/{slug}/profile/password`.
pub async fn password(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
    meta: RequestMeta,
    form: web::Form<PasswordForm>,
) -> AppResult<HttpResponse> {
    let again = format!("/t/{}/profile#password-title", user.tenant.slug);
    if let Some(go) = crate::web::second_factor::require_step_up(&user, &again) {
        return Ok(go);
    }
    let PasswordForm {
        current_password,
        new_password,
    } = form.into_inner();
    let ip = meta.ip.clone().unwrap_or_default();
    state
        .limits
        .limit_login(&ip, user.tenant.id, &user.identity.email)
        .await?;
    let changed = profile::change_password(
        &state.profiles(),
        &user.tenant,
        &user.identity.actor(),
        current_password,
        &new_password,
        meta,
    )
    .await?;
    if let Err(errors) = changed {
        return refuse(&state, &user, csrf, errors).await;
    }
    let mine = user.identity.sid.clone();
    end_where(&state, &user, move |s| s.sid != mine).await?;
    back(
        &user,
        "Your password is changed; your other devices are signed out.",
    )
}

async fn end_where(
    state: &AppState,
    user: &TenantUser,
    pick: impl Fn(&LiveSession) -> bool,
) -> AppResult<usize> {
    state
        .sessions
        .end_where(user.tenant.id, user.identity.uid, pick)
        .await
        .map_err(|_| AppError::Unavailable("session store"))
}

/// The question before a profile action at `/t/{slug}/profile/{path}`.
fn question(user: &TenantUser, path: String, what: &str, consequence: &str) -> Question {
    let profile = format!("/t/{}/profile", user.tenant.slug);
    Question::new(
        format!("{profile}/{path}"),
        what.into(),
        consequence,
        profile,
    )
}

/// `POST /t/{slug}/profile/sessions/{sid}/end`: asks first unless `confirm=yes`.
pub async fn end_one(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
    path: web::Path<(String, String)>,
    form: web::Form<Confirmation>,
) -> AppResult<HttpResponse> {
    let sid = path.into_inner().1;
    if sid.is_empty() || sid == user.identity.sid {
        return Err(AppError::BadRequest(
            "To end this session, sign out instead.".into(),
        ));
    }
    if !form.given() {
        let q = question(
            &user,
            format!("sessions/{sid}/end"),
            "sign out that device",
            "That browser is signed out at once; whoever uses it must sign in again.",
        );
        return confirm::ask(&user, &csrf, Section::Profile, q);
    }
    let n = end_where(&state, &user, move |s| s.sid == sid).await?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    back(&user, "That device is signed out.")
}

/// `POST /t/{slug}/profile/sessions/end-others`: asks first unless `confirm=yes`.
pub async fn end_others(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
    form: web::Form<Confirmation>,
) -> AppResult<HttpResponse> {
    if !form.given() {
        let q = question(
            &user,
            "sessions/end-others".into(),
            "sign out everywhere else",
            "Every other browser is signed out at once; this one stays signed in.",
        );
        return confirm::ask(&user, &csrf, Section::Profile, q);
    }
    let mine = user.identity.sid.clone();
    end_where(&state, &user, move |s| s.sid != mine).await?;
    back(&user, "You are signed out everywhere else.")
}

/// `POST /t/{slug}/profile/api-sessions/{id}/revoke`: the tokens of one API session
/// stop working (refresh at once, access tokens at their next use).
pub async fn revoke_api(
    state: web::Data<AppState>,
    user: TenantUser,
    meta: RequestMeta,
    csrf: CsrfToken,
    path: web::Path<(String, uuid::Uuid)>,
    form: web::Form<Confirmation>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner().1;
    if !form.given() {
        let q = question(
            &user,
            format!("api-sessions/{id}/revoke"),
            "revoke this API access",
            "The program loses its access at once and must be signed in again.",
        );
        return confirm::ask(&user, &csrf, Section::Profile, q);
    }
    let (uid, email, slug) = (
        user.identity.uid,
        user.identity.email.clone(),
        user.tenant.slug.to_string(),
    );
    let revoked = state
        .db
        .tenant(&user.tenant.schema, move |conn| {
            let done = api_session::revoke_own(conn, uid, id)?;
            if done {
                let ev = AuditEvent::new("token.revoked")
                    .actor(Some(uid), Some(&email))
                    .target(&email)
                    .details(serde_json::json!({ "session_id": id, "from": "profile" }));
                audit::record(conn, &slug, &meta, ev)?;
            }
            Ok(done)
        })
        .await?;
    if !revoked {
        return Err(AppError::NotFound);
    }
    back(
        &user,
        "That API access is revoked: its tokens no longer work.",
    )
}
