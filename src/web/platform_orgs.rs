//! `/admin/organizations/{slug}`: one organization's page for platform admins, and the
//! confirmations that name what suspending or reactivating it does.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::app::AppState;
use crate::domain::TenantSlug;
use crate::error::{AppError, AppResult};
use crate::platform::{self, OrgProfile};
use crate::tenancy::TenantRegistry;
use crate::web::csrf::CsrfToken;
use crate::web::notice::Notice;
use crate::web::org_delete::DeleteForm;
use crate::web::respond::back_with;
use crate::web::session::{PlatformUser, PortalSession};

#[derive(Template, WebTemplate)]
#[template(path = "admin_org.html")]
pub struct OrgPage {
    csrf: String,
    admin_name: String,
    org: OrgProfile,
    sso_configured: bool,
    notice: Option<Notice>,
}

fn slug_of(raw: &str) -> AppResult<TenantSlug> {
    TenantSlug::parse(raw).map_err(|_| AppError::NotFound)
}

/// `GET /admin/organizations/{slug}`.
pub async fn page(
    state: web::Data<AppState>,
    user: PlatformUser,
    session: PortalSession,
    csrf: CsrfToken,
    path: web::Path<String>,
) -> AppResult<OrgPage> {
    let slug = slug_of(&path)?;
    let org = platform::organization(&state.platform(), &slug, state.authentik.is_some()).await?;
    Ok(OrgPage {
        csrf: csrf.0,
        admin_name: user.0.name.clone(),
        org,
        sso_configured: state.oidc.is_some(),
        notice: session.take_notice(),
    })
}

/// A question before a change to a whole organization, naming what it does.
#[derive(Template, WebTemplate)]
#[template(path = "admin_confirm.html")]
pub struct ConfirmPage {
    csrf: String,
    admin_name: String,
    slug: String,
    name: String,
    title: String,
    consequence: String,
    action: String,
    button: String,
    danger: bool,
    /// Whether the slug must be typed to confirm.
    type_slug: bool,
    error: Option<String>,
}

async fn confirm(
    state: &AppState,
    user: &PlatformUser,
    csrf: CsrfToken,
    raw: &str,
    what: &str,
) -> AppResult<ConfirmPage> {
    let slug = slug_of(raw)?;
    let org = platform::organization(&state.platform(), &slug, state.authentik.is_some()).await?;
    let people = org.line.members;
    let (title, consequence, button, danger) = match what {
        "suspend" => (
            format!("Suspend {}?", org.line.name),
            format!(
                "Its {people} active member(s) can no longer sign in, their pages answer \
                 \"suspended\" and its API tokens are refused until a platform admin \
                 reactivates it. Nothing is deleted."
            ),
            "Yes, suspend it",
            true,
        ),
        _ => (
            format!("Reactivate {}?", org.line.name),
            format!("Its {people} active member(s) can sign in again at once."),
            "Yes, reactivate it",
            false,
        ),
    };
    Ok(ConfirmPage {
        csrf: csrf.0,
        admin_name: user.0.name.clone(),
        action: format!("/admin/tenants/{slug}/{what}"),
        slug: slug.to_string(),
        name: org.line.name,
        title,
        consequence,
        button: button.into(),
        danger,
        type_slug: false,
        error: None,
    })
}

/// `GET /admin/organizations/{slug}/suspend`: the question before suspending.
pub async fn confirm_suspend(
    state: web::Data<AppState>,
    user: PlatformUser,
    csrf: CsrfToken,
    path: web::Path<String>,
) -> AppResult<ConfirmPage> {
    confirm(&state, &user, csrf, &path, "suspend").await
}

/// `GET /admin/organizations/{slug}/reactivate`: the question before reactivating.
pub async fn confirm_reactivate(
    state: web::Data<AppState>,
    user: PlatformUser,
    csrf: CsrfToken,
    path: web::Path<String>,
) -> AppResult<ConfirmPage> {
    confirm(&state, &user, csrf, &path, "reactivate").await
}

async fn delete_question(
    state: &AppState,
    user: &PlatformUser,
    csrf: CsrfToken,
    slug: &TenantSlug,
) -> AppResult<ConfirmPage> {
    let org = platform::organization(&state.platform(), slug, state.authentik.is_some()).await?;
    let days = state.settings.tenant_delete_grace.as_secs() / 86_400;
    Ok(ConfirmPage {
        csrf: csrf.0,
        admin_name: user.0.name.clone(),
        action: format!("/admin/organizations/{slug}/delete"),
        slug: slug.to_string(),
        title: format!("Delete {}?", org.line.name),
        consequence: format!(
            "Its {} active member(s) can no longer sign in, from now on. For {days} day(s) a \
             platform admin can still restore everything; then its people, invitations, \
             settings and audit log are dropped for good. The address /t/{slug} stays \
             reserved.",
            org.line.members
        ),
        name: org.line.name,
        button: "Delete this organization".into(),
        danger: true,
        type_slug: true,
        error: None,
    })
}

/// `GET /admin/organizations/{slug}/delete`: the question, with the slug to type.
pub async fn confirm_delete(
    state: web::Data<AppState>,
    user: PlatformUser,
    csrf: CsrfToken,
    path: web::Path<String>,
) -> AppResult<ConfirmPage> {
    delete_question(&state, &user, csrf, &slug_of(&path)?).await
}

/// `POST /admin/organizations/{slug}/delete`.
pub async fn delete(
    state: web::Data<AppState>,
    registry: web::Data<TenantRegistry>,
    user: PlatformUser,
    session: PortalSession,
    csrf: CsrfToken,
    path: web::Path<String>,
    form: web::Form<DeleteForm>,
) -> AppResult<HttpResponse> {
    let slug = slug_of(&path)?;
    if platform::confirmed(&slug, &form.confirm_slug).is_err() {
        let mut page = delete_question(&state, &user, csrf, &slug).await?;
        page.error = Some(platform::TYPE_THE_SLUG.into());
        return super::render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let grace = state.settings.tenant_delete_grace;
    let purge = platform::request_deletion(
        &state.db,
        &registry,
        state.outbox(),
        &user.0.email,
        &slug,
        grace,
    )
    .await?;
    back_with(
        &session,
        format!("/admin/organizations/{slug}"),
        Notice::done(format!(
            "{slug} is closed and will be deleted on {}; until then you can restore it.",
            crate::display::minute(purge)
        )),
    )
}

/// `POST /admin/organizations/{slug}/restore`.
pub async fn restore(
    state: web::Data<AppState>,
    registry: web::Data<TenantRegistry>,
    user: PlatformUser,
    session: PortalSession,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let slug = slug_of(&path)?;
    platform::restore(&state.db, &registry, state.outbox(), &user.0.email, &slug).await?;
    back_with(
        &session,
        format!("/admin/organizations/{slug}"),
        Notice::done(format!("{slug} is restored: its people can sign in again.")),
    )
}
