//! `GET|POST /signup`: a new organization and its first admin.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::app::AppState;
use crate::auth::verification::Recipient;
use crate::domain::{FieldError, PasswordPolicy, TenantSlug, reference};
use crate::error::{AppError, AppResult};
use crate::models::audit_log::RequestMeta;
use crate::models::tenant_settings::SecondFactorRule;
use crate::tenancy::provision::{self, SignupInput};
use crate::web::csrf::CsrfToken;
use crate::web::session::PortalSession;

#[derive(Template, WebTemplate)]
#[template(path = "signup.html")]
pub struct SignupPage {
    csrf: String,
    input: SignupInput,
    slug_value: String,
    errors: Vec<FieldError>,
    /// Why the form could not be sent now (too many sign-ups from this address).
    refused: Option<String>,
    countries: &'static [(&'static str, &'static str)],
    business_types: &'static [(&'static str, &'static str)],
}

impl SignupPage {
    fn new(csrf: CsrfToken, mut input: SignupInput, errors: Vec<FieldError>) -> Self {
        // A password is never sent back to the browser.
        input.password.clear();
        let slug_value = input.slug.clone().unwrap_or_default();
        Self {
            csrf: csrf.0,
            input,
            slug_value,
            errors,
            refused: None,
            countries: reference::COUNTRIES,
            business_types: reference::BUSINESS_TYPES,
        }
    }

    fn error_for(&self, field: &str) -> Option<&str> {
        FieldError::message_for(&self.errors, field)
    }
}

/// `GET /signup`.
pub async fn form(csrf: CsrfToken) -> SignupPage {
    SignupPage::new(csrf, SignupInput::default(), Vec::new())
}

/// `POST /signup`.
pub async fn submit(
    state: web::Data<AppState>,
    csrf: CsrfToken,
    session: PortalSession,
    meta: RequestMeta,
    form: web::Form<SignupInput>,
) -> AppResult<HttpResponse> {
    let input = form.into_inner();
    let signup = match input.parse(PasswordPolicy::default()) {
        Ok(s) => s,
        Err(mut errors) => {
            // Every problem at once: a taken address too, not only once the rest is right.
            if !errors.iter().any(|e| e.field == "slug")
                && let Some(slug) = wanted_slug(&input)
                && slug_in_use(&state, &slug).await?
            {
                errors.push(FieldError::new(
                    "slug",
                    format!("The address {slug} is already taken. Choose another."),
                ));
            }
            return rerender(csrf, input, errors, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    // Only a sign-up that would create an organization counts against the hourly
    // budget: typos behind one office address must not use it up. Over it, the form
    // comes back with what was typed.
    if let Err(AppError::RateLimited {
        retry_after,
        message,
    }) = state
        .limits
        .limit_signup(meta.ip.as_deref().unwrap_or_default())
        .await
    {
        let mut page = SignupPage::new(csrf, input, Vec::new());
        page.refused = Some(format!(
            "{message} Try again in {}; what you typed is kept below.",
            crate::error::wait_words(retry_after)
        ));
        let mut res = super::render(StatusCode::TOO_MANY_REQUESTS, &page)?;
        res.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(retry_after),
        );
        return Ok(res);
    }
    // Without Redis the new admin could not be signed in: refuse before creating
    // anything, so a retry does not find its own organization taken.
    state.redis_ping().await?;
    let welcome = state.verification().mail();
    let created = provision::create_organization(
        &state.db,
        &state.hasher,
        state.outbox(),
        signup,
        meta,
        move |conn, tenant, user| welcome.queue(conn, tenant, &Recipient::from(user)),
    )
    .await;
    match created {
        Ok((tenant, user)) => {
            let done = format!("{} is created.", tenant.name);
            // A new organization starts with the second factor optional: only
            // DEVICE_AUTH_REQUIRED can ask its first admin for one.
            crate::web::second_factor::after_new_account(
                &state,
                &session,
                &tenant,
                &user,
                Some(SecondFactorRule::default()),
                done,
            )
            .await
        }
        Err(AppError::Validation(errors)) => rerender(csrf, input, errors, StatusCode::CONFLICT),
        Err(e) => Err(e),
    }
}

/// The address the sign-up asks for: the one typed, or the one suggested from the
/// organization's name.
fn wanted_slug(input: &SignupInput) -> Option<TenantSlug> {
    match input
        .slug
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => TenantSlug::parse(s).ok(),
        None => TenantSlug::suggest(&input.company_name),
    }
}

async fn slug_in_use(state: &AppState, slug: &TenantSlug) -> AppResult<bool> {
    let slug = slug.clone();
    Ok(state
        .db
        .run(move |conn| crate::models::tenant::find_by_slug(conn, &slug))
        .await?
        .is_some())
}

fn rerender(
    csrf: CsrfToken,
    input: SignupInput,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    super::render(status, &SignupPage::new(csrf, input, errors))
}
