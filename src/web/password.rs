//! `GET|POST /t/{slug}/password/forgot` and `GET|POST /t/{slug}/password/reset/{token}`.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::app::AppState;
use crate::auth::recovery::{self, ResetRefused};
use crate::domain::Email;
use crate::error::AppResult;
use crate::models::audit_log::RequestMeta;
use crate::models::user_token::TokenProblem;
use crate::tenancy::Tenant;
use crate::web::csrf::CsrfToken;
use crate::web::respond::see_other;
use crate::web::tenant::CurrentTenant;

use super::notice::NoticePage;

#[derive(Template, WebTemplate)]
#[template(path = "forgot.html")]
pub struct ForgotPage {
    csrf: String,
    slug: String,
    tenant_name: String,
    email: String,
    error: Option<String>,
    sent_to: Option<String>,
    minutes: u64,
    password_enabled: bool,
}

impl ForgotPage {
    async fn new(state: &AppState, tenant: &Tenant, csrf: CsrfToken) -> AppResult<Self> {
        let s = crate::tenancy::settings_of(&state.db, tenant).await?;
        Ok(Self {
            csrf: csrf.0,
            slug: tenant.slug.to_string(),
            tenant_name: tenant.name.clone(),
            email: String::new(),
            error: None,
            sent_to: None,
            minutes: state.settings.password_reset_ttl.as_secs() / 60,
            password_enabled: state.settings.password_auth_enabled && s.password_login,
        })
    }
}

/// `GET /t/{slug}/password/forgot`.
pub async fn forgot_form(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
) -> AppResult<ForgotPage> {
    ForgotPage::new(&state, &tenant, csrf).await
}

#[derive(serde::Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// `POST /t/{slug}/password/forgot`: the same answer whether or not the email is known.
pub async fn forgot_submit(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    meta: RequestMeta,
    form: web::Form<ForgotForm>,
) -> AppResult<HttpResponse> {
    let mut page = ForgotPage::new(&state, &tenant, csrf).await?;
    let email = match Email::parse(&form.email) {
        Ok(e) => e,
        Err(e) => {
            page.email = form.email.trim().chars().take(Email::MAX_LEN).collect();
            page.error = Some(e.message);
            return super::render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let ip = meta.ip.clone().unwrap_or_default();
    state
        .limits
        .limit_password_reset(&ip, tenant.id, email.as_str())
        .await?;
    if page.password_enabled {
        recovery::request_reset(&state.recovery(), &tenant, email.clone(), meta).await?;
    }
    page.sent_to = Some(email.as_str().to_string());
    super::render(StatusCode::OK, &page)
}

#[derive(Template, WebTemplate)]
#[template(path = "reset.html")]
pub struct ResetPage {
    csrf: String,
    slug: String,
    tenant_name: String,
    token: String,
    email: String,
    error: Option<String>,
}

/// `GET /t/{slug}/password/reset/{token}`: the form, when the link still works.
pub async fn reset_form(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (_, token) = path.into_inner();
    match recovery::holder(&state.recovery(), &tenant, token.clone()).await? {
        Ok(user) => super::render(
            StatusCode::OK,
            &ResetPage {
                csrf: csrf.0,
                slug: tenant.slug.to_string(),
                tenant_name: tenant.name.clone(),
                token,
                email: user.email,
                error: None,
            },
        ),
        Err(problem) => link_refused(&tenant, problem),
    }
}

#[derive(serde::Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
}

/// `POST /t/{slug}/password/reset/{token}`.
pub async fn reset_submit(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    meta: RequestMeta,
    path: web::Path<(String, String)>,
    form: web::Form<ResetForm>,
) -> AppResult<HttpResponse> {
    let (_, token) = path.into_inner();
    match recovery::reset(
        &state.recovery(),
        &tenant,
        token.clone(),
        &form.password,
        meta,
    )
    .await?
    {
        Ok(_) => Ok(see_other(format!("/t/{}/login?reset=1", tenant.slug))),
        Err(ResetRefused::Link(problem)) => link_refused(&tenant, problem),
        Err(ResetRefused::Password(e)) => {
            let email = match recovery::holder(&state.recovery(), &tenant, token.clone()).await? {
                Ok(u) => u.email,
                Err(problem) => return link_refused(&tenant, problem),
            };
            super::render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ResetPage {
                    csrf: csrf.0,
                    slug: tenant.slug.to_string(),
                    tenant_name: tenant.name.clone(),
                    token,
                    email,
                    error: Some(e.message),
                },
            )
        }
    }
}

fn link_refused(tenant: &Tenant, problem: TokenProblem) -> AppResult<HttpResponse> {
    let page = NoticePage {
        tenant_name: tenant.name.clone(),
        title: "This reset link does not work",
        message: problem.message().to_string(),
        action: Some((
            format!("/t/{}/password/forgot", tenant.slug),
            "Ask for a new link",
        )),
    };
    super::render(super::notice::status_of(problem), &page)
}
