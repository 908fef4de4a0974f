//! `GET|POST /t/{slug}/login` and `POST /t/{slug}/logout`.

use actix_web::{HttpResponse, http::StatusCode, http::header, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::app::AppState;
use crate::auth::login::{self, LoginOutcome};
use crate::auth::verification::{self, Recipient};
use crate::error::{AppError, AppResult, wait_words};
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::tenant_settings::{Registration, TenantSettings};
use crate::tenancy::{self, Tenant};
use crate::web::csrf::CsrfToken;
use crate::web::respond::{see_other, signed_in};
use crate::web::second_factor;
use crate::web::session::{PortalSession, safe_next};
use crate::web::tenant::CurrentTenant;

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    csrf: String,
    slug: String,
    tenant_name: String,
    email: String,
    next: Option<String>,
    error: Option<String>,
    notice: Option<&'static str>,
    password_enabled: bool,
    registration_open: bool,
    /// `/t/{slug}/sso`, when single sign-on is configured.
    sso_href: Option<String>,
    /// Whether "Sign in with a passkey" is offered.
    passkey_offered: bool,
}

impl LoginPage {
    fn new(state: &AppState, tenant: &Tenant, csrf: CsrfToken, s: &TenantSettings) -> Self {
        Self {
            csrf: csrf.0,
            slug: tenant.slug.to_string(),
            tenant_name: tenant.name.clone(),
            email: String::new(),
            next: None,
            error: None,
            notice: None,
            password_enabled: state.settings.password_auth_enabled && s.password_login,
            registration_open: s.registration != Registration::InviteOnly,
            sso_href: state
                .oidc
                .as_ref()
                .map(|_| format!("/t/{}/sso", tenant.slug)),
            passkey_offered: false,
        }
    }

    /// Offers passkeys where the portal and the organization allow signing in with
    /// one alone.
    async fn offer_passkeys(&mut self, state: &AppState, tenant: &Tenant) -> AppResult<()> {
        if let Some(deps) = state.passkeys() {
            self.passkey_offered = crate::auth::passkeys::sign_in::offered(&deps, tenant).await?;
        }
        Ok(())
    }

    fn set_next(&mut self, next: Option<String>) {
        if let (Some(href), Some(n)) = (self.sso_href.as_mut(), next.as_deref()) {
            let q: String = url::form_urlencoded::byte_serialize(n.as_bytes()).collect();
            href.push_str(&format!("?next={q}"));
        }
        self.next = next;
    }
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
    reset: Option<String>,
    again: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

const WRONG: &str = "The email or password is incorrect.";

/// `GET /t/{slug}/login`.
pub async fn form(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    q: web::Query<LoginQuery>,
) -> AppResult<LoginPage> {
    let s = tenancy::settings_of(&state.db, &tenant).await?;
    let mut page = LoginPage::new(&state, &tenant, csrf, &s);
    page.set_next(q.next.clone().map(|n| safe_next(&tenant, Some(&n))));
    page.notice = if q.again.is_some() {
        Some("Please sign in again: the second step took too long or had too many attempts.")
    } else if q.reset.is_some() {
        Some("Your password has been changed. Sign in with your new password.")
    } else if q.signed_out.is_some() {
        Some("You have signed out.")
    } else {
        None
    };
    page.offer_passkeys(&state, &tenant).await?;
    Ok(page)
}

/// `POST /t/{slug}/login`.
pub async fn submit(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    session: PortalSession,
    meta: RequestMeta,
    form: web::Form<LoginForm>,
) -> AppResult<HttpResponse> {
    if !state.settings.password_auth_enabled {
        return Err(AppError::Forbidden(
            "Password sign-in is turned off for this portal.".into(),
        ));
    }
    let LoginForm {
        email,
        password,
        next,
    } = form.into_inner();
    let shown_email: String = email.trim().chars().take(254).collect();
    let ip = meta.ip.clone().unwrap_or_default();
    state
        .limits
        .limit_login(&ip, tenant.id, &shown_email.to_lowercase())
        .await?;
    let outcome = login::password_login(
        &state.sign_in(),
        &tenant,
        &email,
        login::secret(password),
        meta,
    )
    .await?;
    let refused = match outcome {
        LoginOutcome::SignedIn(user) => {
            return signed_in(&session, &tenant, &user, next.as_deref());
        }
        LoginOutcome::SecondFactor(user, _) => {
            return second_factor::begin(&session, &tenant, &user, next.as_deref(), false);
        }
        LoginOutcome::MustEnroll(user) => {
            return second_factor::begin(&session, &tenant, &user, next.as_deref(), true);
        }
        other => other,
    };
    let (status, error) = refusal(&state, &tenant, &refused).await?;
    let mut res = render_refusal(&state, &tenant, csrf, shown_email, next, error, status).await?;
    if let LoginOutcome::Locked { retry_after } = refused {
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
    }
    Ok(res)
}

/// The status and message of a refused sign-in.
async fn refusal(
    state: &AppState,
    tenant: &Tenant,
    outcome: &LoginOutcome,
) -> AppResult<(StatusCode, String)> {
    Ok(match outcome {
        LoginOutcome::SignedIn(_)
        | LoginOutcome::Refused
        | LoginOutcome::SecondFactor(..)
        | LoginOutcome::MustEnroll(_) => {
            (StatusCode::UNAUTHORIZED, WRONG.to_string())
        }
        LoginOutcome::Locked { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed sign-in attempts. For your security, sign-in for this account is paused: try again in {}, or reset your password.",
                wait_words(*retry_after)
            ),
        ),
        LoginOutcome::PasswordLoginDisabled => (
            StatusCode::FORBIDDEN,
            "This organization signs in with single sign-on only.".to_string(),
        ),
        LoginOutcome::SsoRequired(_) => (
            StatusCode::FORBIDDEN,
            "Staff and admins of this organization sign in with single sign-on: use \"Sign in with SSO\"."
                .to_string(),
        ),
        LoginOutcome::Unverified(user) => {
            let to = Recipient::from(user);
            let sent = verification::resend_link(&state.verification(), tenant, to).await?;
            let msg = if sent {
                format!(
                    "Please confirm your email address before signing in. We have sent a new link to {}.",
                    user.email
                )
            } else {
                "Please confirm your email address before signing in: follow the newest link we sent you.".to_string()
            };
            (StatusCode::FORBIDDEN, msg)
        }
    })
}

/// The sign-in page again, with what went wrong.
pub(super) async fn render_refusal(
    state: &AppState,
    tenant: &Tenant,
    csrf: CsrfToken,
    email: String,
    next: Option<String>,
    error: String,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let s = tenancy::settings_of(&state.db, tenant).await?;
    let mut page = LoginPage::new(state, tenant, csrf, &s);
    page.email = email;
    page.set_next(next.map(|n| safe_next(tenant, Some(&n))));
    page.error = Some(error);
    page.offer_passkeys(state, tenant).await?;
    super::render(status, &page)
}

/// `POST /t/{slug}/logout`.
pub async fn logout(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    session: PortalSession,
    meta: RequestMeta,
) -> AppResult<HttpResponse> {
    if let Some(id) = session.identity().filter(|i| i.tid == tenant.id) {
        let slug = tenant.slug.to_string();
        state
            .db
            .tenant(&tenant.schema, move |conn| {
                let ev = AuditEvent::new("logout")
                    .actor(Some(id.uid), Some(&id.email))
                    .target(&id.email);
                audit::record(conn, &slug, &meta, ev)
            })
            .await?;
    }
    let id_token = session.id_token();
    session.end();
    let to = super::sso::after_logout(&state, &tenant, id_token).await;
    Ok(see_other(to))
}
