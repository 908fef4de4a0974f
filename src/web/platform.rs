//! `/admin`: the platform super-admins' pages.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::app::AppState;
use crate::auth::exchange::KeysNotFetched;
use crate::auth::login::secret;
use crate::domain::{FieldError, TenantSlug, reference};
use crate::error::{AppError, AppResult};
use crate::models::audit_log::RequestMeta;
use crate::platform::{self, NewTenantInput, OrgListing, OrgQuery};
use crate::tenancy::{TenantRegistry, TenantStatus};
use crate::web::csrf::CsrfToken;
use crate::web::notice::Notice;
use crate::web::respond::{back_with, see_other};
use crate::web::session::{PlatformUser, PortalSession};

#[derive(Template, WebTemplate)]
#[template(path = "admin_login.html")]
pub struct AdminLoginPage {
    csrf: String,
    email: String,
    error: Option<String>,
}

/// `GET /admin/login`.
pub async fn login_form(csrf: CsrfToken) -> AdminLoginPage {
    AdminLoginPage {
        csrf: csrf.0,
        email: String::new(),
        error: None,
    }
}

#[derive(serde::Deserialize)]
pub struct AdminLoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /admin/login`.
pub async fn login(
    state: web::Data<AppState>,
    csrf: CsrfToken,
    session: PortalSession,
    meta: RequestMeta,
    form: web::Form<AdminLoginForm>,
) -> AppResult<HttpResponse> {
    let AdminLoginForm { email, password } = form.into_inner();
    let ip = meta.ip.clone().unwrap_or_default();
    state
        .limits
        .limit_login(&ip, uuid::Uuid::nil(), &email.trim().to_lowercase())
        .await?;
    match platform::login(&state.platform(), &email, secret(password), &meta).await? {
        Some(who) => {
            session.sign_in_platform(who)?;
            Ok(see_other("/admin"))
        }
        None => super::render(
            StatusCode::UNAUTHORIZED,
            &AdminLoginPage {
                csrf: csrf.0,
                email: email.trim().chars().take(254).collect(),
                error: Some("The email or password is incorrect.".into()),
            },
        ),
    }
}

/// `POST /admin/logout`.
pub async fn logout(session: PortalSession) -> HttpResponse {
    session.end();
    see_other("/admin/login")
}

#[derive(Template, WebTemplate)]
#[template(path = "admin.html")]
pub struct AdminPage {
    csrf: String,
    admin_name: String,
    orgs: OrgListing,
    search: String,
    status: String,
    statuses: &'static [&'static str],
    events: Vec<(String, Option<String>, String, Option<String>)>,
    notice: Option<Notice>,
    input: NewTenantInput,
    errors: Vec<FieldError>,
    countries: &'static [(&'static str, &'static str)],
    business_types: &'static [(&'static str, &'static str)],
    connections: Connections,
}

/// What the platform depends on, as the page shows it.
#[derive(Default)]
pub struct Connections {
    /// The identity provider's key set for the token exchange: its URL (once known)
    /// and what is cached.
    exchange_keys: Option<(String, String)>,
    /// The portal's published token signing keys.
    signing_keys: usize,
    /// Authentik outbox: pending and failed changes, when provisioning is on.
    outbox: Option<(i64, i64)>,
}

async fn connections(state: &AppState) -> AppResult<Connections> {
    let exchange_keys = match &state.exchange {
        Some(ex) => Some(match ex.keys().await {
            Ok(keys) => {
                let cached = match keys.cached().await {
                    Some((n, age)) => format!(
                        "{n} key(s), fetched {} ago",
                        crate::error::wait_words(age.as_secs())
                    ),
                    None => "not fetched yet".into(),
                };
                (keys.url().to_string(), cached)
            }
            Err(_) => (ex.settings().issuer.clone(), "discovery failed".into()),
        }),
        None => None,
    };
    let outbox = match &state.authentik {
        Some(_) => {
            let b = state
                .db
                .run(|conn| crate::models::authentik_outbox::backlog(conn, None))
                .await?;
            Some((b.pending, b.failed))
        }
        None => None,
    };
    Ok(Connections {
        exchange_keys,
        signing_keys: state.signing.published(),
        outbox,
    })
}

async fn build(
    state: &AppState,
    query: &OrgQuery,
    user: &PlatformUser,
    csrf: CsrfToken,
) -> AppResult<AdminPage> {
    Ok(AdminPage {
        csrf: csrf.0,
        admin_name: user.0.name.clone(),
        orgs: platform::organizations(&state.platform(), query).await?,
        search: query.search(),
        status: query.status().unwrap_or_default().to_string(),
        statuses: platform::STATUSES,
        events: platform::recent_events(&state.platform(), 50).await?,
        notice: None,
        input: NewTenantInput::default(),
        errors: Vec::new(),
        countries: reference::COUNTRIES,
        business_types: reference::BUSINESS_TYPES,
        connections: connections(state).await?,
    })
}

/// `GET /admin`: a page of organizations (`q`, `status`, `after`/`before`).
pub async fn page(
    state: web::Data<AppState>,
    user: PlatformUser,
    session: PortalSession,
    csrf: CsrfToken,
    query: web::Query<OrgQuery>,
) -> AppResult<AdminPage> {
    let mut page = build(&state, &query, &user, csrf).await?;
    page.notice = session.take_notice();
    Ok(page)
}

/// Back to `/admin`, where `done` is shown once.
fn back(session: &PortalSession, done: String) -> AppResult<HttpResponse> {
    back_with(session, "/admin", Notice::done(done))
}

/// `POST /admin/tenants`.
pub async fn create(
    state: web::Data<AppState>,
    user: PlatformUser,
    session: PortalSession,
    csrf: CsrfToken,
    meta: RequestMeta,
    form: web::Form<NewTenantInput>,
) -> AppResult<HttpResponse> {
    let input = form.into_inner();
    let (status, errors) =
        match platform::create_tenant(&state.platform(), &user.0, &input, meta).await {
            Ok(t) => return back(&session, format!("Created {} at /t/{}.", t.name, t.slug)),
            Err(AppError::Validation(errors)) => {
                let taken = errors.iter().any(|e| e.message.contains("already taken"));
                (
                    if taken {
                        StatusCode::CONFLICT
                    } else {
                        StatusCode::UNPROCESSABLE_ENTITY
                    },
                    errors,
                )
            }
            Err(e) => return Err(e),
        };
    let mut page = build(&state, &OrgQuery::default(), &user, csrf).await?;
    page.input = input;
    page.errors = errors;
    super::render(status, &page)
}

async fn set_status(
    state: &AppState,
    registry: &TenantRegistry,
    user: &PlatformUser,
    session: &PortalSession,
    slug: &str,
    status: TenantStatus,
) -> AppResult<HttpResponse> {
    let slug = TenantSlug::parse(slug).map_err(|_| AppError::NotFound)?;
    platform::set_status(&state.platform(), registry, &user.0, &slug, status).await?;
    back_with(
        session,
        format!("/admin/organizations/{slug}"),
        Notice::done(match status {
            TenantStatus::Suspended => format!("{slug} is suspended: its people cannot sign in."),
            TenantStatus::Active => format!("{slug} is active again."),
        }),
    )
}

/// `POST /admin/tenants/{slug}/suspend`: asks first unless `confirm=yes`.
pub async fn suspend(
    state: web::Data<AppState>,
    registry: web::Data<TenantRegistry>,
    user: PlatformUser,
    session: PortalSession,
    path: web::Path<String>,
    (csrf, form): (CsrfToken, web::Form<super::confirm::Confirmation>),
) -> AppResult<HttpResponse> {
    if !form.given() {
        return super::confirm::ask_platform(&user, &csrf, super::confirm::suspension(&path)?);
    }
    set_status(
        &state,
        &registry,
        &user,
        &session,
        &path,
        TenantStatus::Suspended,
    )
    .await
}

/// `POST /admin/tenants/{slug}/reactivate`.
pub async fn reactivate(
    state: web::Data<AppState>,
    registry: web::Data<TenantRegistry>,
    user: PlatformUser,
    session: PortalSession,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    set_status(
        &state,
        &registry,
        &user,
        &session,
        &path,
        TenantStatus::Active,
    )
    .await
}

/// `POST /admin/jwks/refresh`: fetches the identity provider's keys now (after a key
/// rotation in Authentik, say).
pub async fn refresh_keys(
    state: web::Data<AppState>,
    user: PlatformUser,
    session: PortalSession,
) -> AppResult<HttpResponse> {
    let ex = state.exchange.as_ref().ok_or(AppError::NotFound)?;
    let notice = match ex.fetch_keys_now().await {
        Ok((n, url)) => {
            platform::keys_refreshed(&state.platform(), &user.0.email, n, &url).await?;
            format!("Fetched {n} key(s) from {url}.")
        }
        Err(KeysNotFetched::Fetch { url, error }) => {
            tracing::warn!(error = %error, "identity provider keys not fetched");
            format!(
                "The identity provider's keys could not be fetched from {url}; the cached keys stay in use."
            )
        }
        Err(KeysNotFetched::Discovery(error)) => {
            tracing::warn!(error = %error, "identity provider key set not found");
            return Err(AppError::Unavailable("identity provider"));
        }
    };
    back(&session, notice)
}
