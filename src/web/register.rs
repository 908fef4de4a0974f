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
    /// Why the form could not be sent now (too many registrations).
    refused: Option<String>,
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
        refused: None,
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

/// `POST /t/{slug}/register`: checks the form, then takes from the registration
/// limit, then creates the account. Only a registration that passed every check
/// counts, so typos never use up the limit; a taken address still counts, since
/// its answer tells whether someone has an account here.
pub async fn submit(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    session: PortalSession,
    meta: RequestMeta,
    form: web::Form<RegisterInput>,
) -> AppResult<HttpResponse> {
    let input = form.into_inner();
    let deps = state.registrations();
    let checked = match registration::check(&deps, &tenant, &input).await {
        Ok(c) => c,
        Err(AppError::Validation(errors)) => {
            let p = page(&state, &tenant, csrf, input, errors).await?;
            return super::render(StatusCode::UNPROCESSABLE_ENTITY, &p);
        }
        Err(e) => return Err(e),
    };
    let ip = meta.ip.clone().unwrap_or_default();
    let email = checked.email().as_str().to_lowercase();
    match state
        .limits
        .limit_registration(&ip, tenant.id, &email)
        .await
    {
        Ok(()) => {}
        Err(AppError::RateLimited {
            retry_after,
            message,
        }) => return too_many(&state, &tenant, csrf, input, retry_after, message).await,
        Err(e) => return Err(e),
    }
    // Without Redis the new person could not be signed in; refuse before creating.
    state.redis_ping().await?;
    let (user, s) = match registration::create(&deps, &tenant, checked, meta).await {
        Ok(done) => done,
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
    crate::web::second_factor::after_new_account(&state, &session, &tenant, &user, None, done).await
}

/// Over the limit: the form again as typed (the password aside), with a 429 saying
/// when to try again, also in `Retry-After`.
async fn too_many(
    state: &AppState,
    tenant: &Tenant,
    csrf: CsrfToken,
    input: RegisterInput,
    retry_after: u64,
    message: &str,
) -> AppResult<HttpResponse> {
    let mut p = page(state, tenant, csrf, input, Vec::new()).await?;
    p.refused = Some(format!(
        "{message} Try again in {}; what you typed is kept below.",
        crate::error::wait_words(retry_after)
    ));
    let mut res = super::render(StatusCode::TOO_MANY_REQUESTS, &p)?;
    res.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from(retry_after),
    );
    Ok(res)
}
