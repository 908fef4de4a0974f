//! `GET|POST /t/{slug}/invitations/{token}`: an invited person creates their account.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::app::AppState;
use crate::domain::FieldError;
use crate::error::AppResult;
use crate::members::invitations::{self, AcceptRefused};
use crate::models::audit_log::RequestMeta;
use crate::models::user_token::TokenProblem;
use crate::tenancy::Tenant;
use crate::web::csrf::CsrfToken;
use crate::web::session::PortalSession;
use crate::web::tenant::CurrentTenant;

use super::notice::{NoticePage, status_of};

#[derive(Template, WebTemplate)]
#[template(path = "invitation.html")]
pub struct InvitationPage {
    csrf: String,
    slug: String,
    tenant_name: String,
    token: String,
    email: String,
    role_label: &'static str,
    name: String,
    errors: Vec<FieldError>,
    sso: bool,
}

impl InvitationPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        FieldError::message_for(&self.errors, field)
    }
}

fn refused(tenant: &Tenant, problem: TokenProblem) -> AppResult<HttpResponse> {
    let page = NoticePage {
        tenant_name: tenant.name.clone(),
        title: "This invitation does not work",
        message: match problem {
            TokenProblem::Used => {
                "This invitation has already been accepted. Sign in with the account it created."
                    .to_string()
            }
            TokenProblem::Expired => {
                "This invitation has expired. Ask an admin of the organization to send a new one."
                    .to_string()
            }
            other => other.message().to_string(),
        },
        action: Some((format!("/t/{}/login", tenant.slug), "Go to sign-in")),
    };
    super::render(status_of(problem), &page)
}

async fn page(
    state: &AppState,
    tenant: &Tenant,
    csrf: CsrfToken,
    token: String,
    name: String,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    match invitations::peek(&state.invitations(), tenant, token.clone()).await? {
        Ok((email, role)) => super::render(
            status,
            &InvitationPage {
                csrf: csrf.0,
                slug: tenant.slug.to_string(),
                tenant_name: tenant.name.clone(),
                token,
                email,
                role_label: role.label(),
                name,
                errors,
                sso: state.sso_configured(),
            },
        ),
        Err(problem) => refused(tenant, problem),
    }
}

/// `GET /t/{slug}/invitations/{token}`.
pub async fn form(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let token = path.into_inner().1;
    page(
        &state,
        &tenant,
        csrf,
        token,
        String::new(),
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

#[derive(serde::Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// `POST /t/{slug}/invitations/{token}`.
pub async fn accept(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    session: PortalSession,
    meta: RequestMeta,
    path: web::Path<(String, String)>,
    form: web::Form<AcceptForm>,
) -> AppResult<HttpResponse> {
    let token = path.into_inner().1;
    state.redis_ping().await?;
    match invitations::accept(
        &state.invitations(),
        &tenant,
        token.clone(),
        &form.name,
        &form.password,
        meta,
    )
    .await?
    {
        Ok(user) => {
            let done = "You have joined the organization.";
            crate::web::second_factor::after_new_account(
                &state, &session, &tenant, &user, None, done,
            )
            .await
        }
        Err(AcceptRefused::Link(problem)) => refused(&tenant, problem),
        Err(AcceptRefused::Input(errors)) => {
            let name = form.name.chars().take(100).collect();
            page(
                &state,
                &tenant,
                csrf,
                token,
                name,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// `GET /t/{slug}/invitations/{token}/sso`: accepts the invitation by signing in at
/// the identity provider; the invitation travels in the session, as its stored hash.
pub async fn with_sso(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    session: PortalSession,
    meta: RequestMeta,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let token = path.into_inner().1;
    if let Err(problem) = invitations::peek(&state.invitations(), &tenant, token.clone()).await? {
        return refused(&tenant, problem);
    }
    let invitation = Some(crate::crypto::hash_token(&token));
    super::sso::go_to_provider(&state, &tenant, &session, &meta, None, invitation).await
}
