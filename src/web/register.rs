//! `GET|POST /t/{slug}/register`: end users join an organization on their own.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::app::AppState;
use crate::domain::FieldError;
use crate::error::{AppError, AppResult};
use crate::members::registration::{self, RegisterInput, closed_reason};
use crate::models::audit_log::RequestMeta;
use crate::models::tenant_settings::Registration;
use crate::tenancy::Tenant;
use crate::web::csrf::CsrfToken;
use crate::web::respond::signed_in_after_commit;
use crate::web::session::PortalSession;
use crate::web::tenant::CurrentTenant;

use super::notice::NoticePage;

#[derive(Template, WebTemplate)]
#[template(path = "register.html")]
pub struct RegisterPage {
    csrf: String,
    slug: String,
    tenant_name: String,
    input: RegisterInput,
    errors: Vec<FieldError>,
    domains: Vec<String>,
}

impl RegisterPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        FieldError::message_for(&self.errors, field)
    }
}

async fn page(
    state: &AppState,
    tenant: &Tenant,
    csrf: CsrfToken,
    mut input: RegisterInput,
    errors: Vec<FieldError>,
) -> AppResult<RegisterPage> {
    let s = crate::tenancy::settings_of(&state.db, tenant).await?;
    if let Some(reason) = closed_reason(&state.registrations(), &s) {
        return Err(AppError::Forbidden(reason.into()));
    }
    // A password is never sent back to the browser.
    input.password.clear();
    Ok(RegisterPage {
        csrf: csrf.0,
        slug: tenant.slug.to_string(),
        tenant_name: tenant.name.clone(),
        input,
        errors,
        domains: if s.registration == Registration::Domains {
            s.allowed_domains
        } else {
            Vec::new()
        },
    })
}

/// `GET /t/{slug}/register`.
pub async fn form(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
) -> AppResult<RegisterPage> {
    page(&state, &tenant, csrf, RegisterInput::default(), Vec::new()).await
}

/// `POST /t/{slug}/register`.
pub async fn submit(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    session: PortalSession,
    meta: RequestMeta,
    form: web::Form<RegisterInput>,
) -> AppResult<HttpResponse> {
    let input = form.into_inner();
    let email: String = input
        .email
        .trim()
        .to_lowercase()
        .chars()
        .take(254)
        .collect();
    state
        .limits
        .limit_registration(meta.ip.as_deref().unwrap_or_default(), tenant.id, &email)
        .await?;
    // Without Redis the new person could not be signed in; refuse before creating.
    state.redis_ping().await?;
    let (user, s) = match registration::register(&state.registrations(), &tenant, &input, meta)
        .await
    {
        Ok(done) => done,
        Err(AppError::Validation(errors)) => {
            let p = page(&state, &tenant, csrf, input, errors).await?;
            return super::render(StatusCode::UNPROCESSABLE_ENTITY, &p);
        }
        Err(AppError::Conflict(_)) => {
            let errors = vec![FieldError::new(
                "email",
                format!(
                    "{} already has an account here. Sign in, or reset the password if you forgot it.",
                    input.email.trim()
                ),
            )];
            let p = page(&state, &tenant, csrf, input, errors).await?;
            return super::render(StatusCode::CONFLICT, &p);
        }
        Err(e) => return Err(e),
    };
    if s.require_email_verification {
        let notice = NoticePage {
            tenant_name: tenant.name.clone(),
            title: "Check your email",
            message: format!(
                "Your account is created. We sent a confirmation link to {}: follow it, then sign in.",
                user.email
            ),
            action: Some((format!("/t/{}/login", tenant.slug), "Go to sign-in")),
        };
        return super::render(StatusCode::CREATED, &notice);
    }
    let done = "Your account is created.";
    signed_in_after_commit(&session, &tenant, &user, None, done)
}
