//! `GET|POST /t/{slug}/login` and `POST /t/{slug}/logout`.

use actix_session::Session;
use actix_web::{HttpResponse, http::StatusCode, http::header, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::app::AppState;
use crate::audit::{self, AuditEvent, RequestMeta};
use crate::auth::{csrf::CsrfToken, login, session};
use crate::error::{AppError, AppResult};
use crate::tenancy::CurrentTenant;

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    csrf: String,
    slug: String,
    tenant_name: String,
    email: String,
    next: Option<String>,
    error: Option<&'static str>,
    signed_out: bool,
    password_enabled: bool,
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
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
) -> LoginPage {
    LoginPage {
        csrf: csrf.0,
        slug: tenant.slug.to_string(),
        tenant_name: tenant.name.clone(),
        email: String::new(),
        next: q
            .next
            .clone()
            .map(|n| session::safe_next(&tenant, Some(&n))),
        error: None,
        signed_out: q.signed_out.is_some(),
        password_enabled: state.settings.password_auth_enabled,
    }
}

/// `POST /t/{slug}/login`.
pub async fn submit(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    csrf: CsrfToken,
    session: Session,
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
    let user = login::password_login(
        &state.db,
        &state.hasher,
        &tenant,
        &email,
        login::secret(password),
        meta,
    )
    .await?;
    let Some(user) = user else {
        let page = LoginPage {
            csrf: csrf.0,
            slug: tenant.slug.to_string(),
            tenant_name: tenant.name.clone(),
            email: shown_email,
            next: next.map(|n| session::safe_next(&tenant, Some(&n))),
            error: Some(WRONG),
            signed_out: false,
            password_enabled: true,
        };
        return super::render(StatusCode::UNAUTHORIZED, &page);
    };
    session::start(
        &session,
        &tenant,
        user.id,
        user.role()?,
        &user.email,
        &user.name,
    )?;
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            session::safe_next(&tenant, next.as_deref()),
        ))
        .finish())
}

/// `POST /t/{slug}/logout`.
pub async fn logout(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    session: Session,
    meta: RequestMeta,
) -> AppResult<HttpResponse> {
    if let Some(id) = session::identity(&session).filter(|i| i.tid == tenant.id) {
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
    session::end(&session);
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/t/{}/login?signed_out=1", tenant.slug),
        ))
        .finish())
}
