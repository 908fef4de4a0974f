//! `GET|POST /t/{slug}/settings`: an organization's admins choose who may register
//! and how people sign in.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::app::AppState;
use crate::domain::FieldError;
use crate::error::AppResult;
use crate::models::tenant_settings::{
    Registration, SecondFactorRule, TenantSettings, parse_domains,
};
use crate::tenancy;
use crate::web::csrf::CsrfToken;
use crate::web::layout::{Section, TenantLayout};
use crate::web::notice::Notice;
use crate::web::respond::back_with;
use crate::web::session::TenantAdmin;

#[derive(Template, WebTemplate)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    layout: TenantLayout,
    csrf: String,
    slug: String,
    tenant_name: String,
    registration: String,
    allowed_domains: String,
    password_login: bool,
    require_email_verification: bool,
    require_sso_for_staff: bool,
    second_factor: String,
    passkey_sign_in: bool,
    /// Whether the portal can offer signing in with a passkey alone at all.
    passkeys_available: bool,
    /// `DEVICE_AUTH_REQUIRED`: the platform requires a second factor of everyone.
    device_auth_required: bool,
    sso_available: bool,
    platform_password: bool,
    notice: Option<Notice>,
    errors: Vec<FieldError>,
}

impl SettingsPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        FieldError::message_for(&self.errors, field)
    }
}

/// The settings form as submitted; unchecked boxes are absent.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    registration: String,
    #[serde(default)]
    allowed_domains: String,
    password_login: Option<String>,
    require_email_verification: Option<String>,
    require_sso_for_staff: Option<String>,
    /// Absent from an older form: the rule stays as it is.
    second_factor: Option<String>,
    passkey_sign_in: Option<String>,
    /// Present when the form showed the passkey box: without it (an older form, or a
    /// portal without passkeys) the setting stays as it is.
    passkey_sign_in_shown: Option<String>,
}

/// `GET /t/{slug}/settings`.
pub async fn page(
    state: web::Data<AppState>,
    user: TenantAdmin,
    csrf: CsrfToken,
) -> AppResult<SettingsPage> {
    let s = tenancy::settings_for_admin(&state.db, &user.request).await?;
    Ok(SettingsPage {
        layout: TenantLayout::new(&user, &csrf, Section::Settings),
        csrf: csrf.0,
        slug: user.tenant.slug.to_string(),
        tenant_name: user.tenant.name.clone(),
        registration: s.registration.as_str().to_string(),
        allowed_domains: s.allowed_domains.join("\n"),
        password_login: s.password_login,
        require_email_verification: s.require_email_verification,
        require_sso_for_staff: s.require_sso_for_staff,
        second_factor: s.second_factor.as_str().to_string(),
        passkey_sign_in: s.passkey_sign_in,
        passkeys_available: passkeys_available(&state),
        device_auth_required: state.settings.device_auth_required,
        sso_available: state.sso_configured(),
        platform_password: state.settings.password_auth_enabled,
        notice: user.session.take_notice(),
        errors: Vec::new(),
    })
}

/// Whether the portal offers signing in with a passkey alone.
fn passkeys_available(state: &AppState) -> bool {
    state.passkeys.as_deref().is_some_and(|p| p.passwordless())
}

/// Whether passkey sign-in is on after this form; `current` when the form did not
/// show the box.
fn passkey_choice(form: &SettingsForm, current: bool) -> bool {
    match form.passkey_sign_in_shown {
        Some(_) => form.passkey_sign_in.is_some(),
        None => current,
    }
}

/// Parses the form into settings, reporting every problem; `current` holds the rules
/// kept when the form does not name them.
fn parse(
    state: &AppState,
    form: &SettingsForm,
    current: &TenantSettings,
) -> Result<TenantSettings, Vec<FieldError>> {
    let mut errors = Vec::new();
    let registration = Registration::parse(&form.registration)
        .map_err(|e| errors.push(e))
        .ok();
    let domains = parse_domains(&form.allowed_domains)
        .map_err(|e| errors.push(e))
        .ok();
    if registration == Some(Registration::Domains) && domains.as_ref().is_some_and(Vec::is_empty) {
        errors.push(FieldError::new(
            "allowed_domains",
            "List at least one domain, or choose another kind of registration.",
        ));
    }
    let second_factor = match form.second_factor.as_deref() {
        Some(raw) => SecondFactorRule::parse(raw)
            .map_err(|e| errors.push(e))
            .ok(),
        None => Some(current.second_factor),
    };
    let password_login = form.password_login.is_some();
    if form.require_sso_for_staff.is_some() && !state.sso_configured() {
        errors.push(FieldError::new(
            "require_sso_for_staff",
            "Single sign-on is not set up for this portal, so staff and admins could not sign in.",
        ));
    }
    if !password_login && !state.sso_configured() {
        errors.push(FieldError::new(
            "password_login",
            "Single sign-on is not set up for this portal, so turning off password sign-in would lock everyone out.",
        ));
    }
    match (registration, domains, second_factor) {
        (Some(registration), Some(allowed_domains), Some(second_factor)) if errors.is_empty() => {
            Ok(TenantSettings {
                registration,
                allowed_domains,
                password_login,
                require_email_verification: form.require_email_verification.is_some(),
                require_sso_for_staff: form.require_sso_for_staff.is_some(),
                second_factor,
                passkey_sign_in: passkey_choice(form, current.passkey_sign_in),
            })
        }
        _ => Err(errors),
    }
}

/// `POST /t/{slug}/settings`.
pub async fn save(
    state: web::Data<AppState>,
    user: TenantAdmin,
    csrf: CsrfToken,
    form: web::Form<SettingsForm>,
) -> AppResult<HttpResponse> {
    let settings = tenancy::settings_for_admin(&state.db, &user.request).await?;
    let current = settings.second_factor;
    let new = match parse(&state, &form, &settings) {
        Ok(s) => s,
        Err(errors) => {
            let page = SettingsPage {
                layout: TenantLayout::new(&user, &csrf, Section::Settings),
                csrf: csrf.0,
                slug: user.tenant.slug.to_string(),
                tenant_name: user.tenant.name.clone(),
                registration: form.registration.chars().take(20).collect(),
                allowed_domains: form.allowed_domains.chars().take(4000).collect(),
                password_login: form.password_login.is_some(),
                require_email_verification: form.require_email_verification.is_some(),
                require_sso_for_staff: form.require_sso_for_staff.is_some(),
                second_factor: form
                    .second_factor
                    .as_deref()
                    .unwrap_or(current.as_str())
                    .chars()
                    .take(20)
                    .collect(),
                passkey_sign_in: passkey_choice(&form, settings.passkey_sign_in),
                passkeys_available: passkeys_available(&state),
                device_auth_required: state.settings.device_auth_required,
                sso_available: state.sso_configured(),
                platform_password: state.settings.password_auth_enabled,
                notice: None,
                errors,
            };
            return super::render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    tenancy::change_settings(&state.db, &user.request, new).await?;
    back_with(
        &user.session,
        format!("/t/{}/settings", user.tenant.slug),
        Notice::done("Settings saved."),
    )
}
