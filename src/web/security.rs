//! `GET /t/{slug}/security` and `POST /t/{slug}/security/unlock`: admins see the
//! email addresses whose sign-in is paused and can lift a lock early.

use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::app::AppState;
use crate::auth::login;
use crate::domain::Email;
use crate::error::{AppError, AppResult};
use crate::web::csrf::CsrfToken;
use crate::web::layout::{Section, TenantLayout};
use crate::web::notice::Notice;
use crate::web::respond::back_with;
use crate::web::session::TenantAdmin;

/// One paused sign-in.
pub struct Lock {
    email: String,
    until: String,
    failures: i32,
}

#[derive(Template, WebTemplate)]
#[template(path = "security.html")]
pub struct SecurityPage {
    layout: TenantLayout,
    csrf: String,
    slug: String,
    tenant_name: String,
    locks: Vec<Lock>,
    notice: Option<Notice>,
}

/// `GET /t/{slug}/security`.
pub async fn page(
    state: web::Data<AppState>,
    user: TenantAdmin,
    csrf: CsrfToken,
) -> AppResult<SecurityPage> {
    let rows = login::current_locks(&state.db, &user.request).await?;
    Ok(SecurityPage {
        layout: TenantLayout::new(&user, &csrf, Section::Security),
        csrf: csrf.0,
        slug: user.tenant.slug.to_string(),
        tenant_name: user.tenant.name.clone(),
        locks: rows
            .into_iter()
            .map(|l| Lock {
                email: l.email,
                until: l
                    .locked_until
                    .map(crate::display::minute)
                    .unwrap_or_default(),
                failures: l.failures,
            })
            .collect(),
        notice: user.session.take_notice(),
    })
}

#[derive(serde::Deserialize)]
pub struct UnlockForm {
    #[serde(default)]
    email: String,
}

/// `POST /t/{slug}/security/unlock`.
pub async fn unlock(
    state: web::Data<AppState>,
    user: TenantAdmin,
    form: web::Form<UnlockForm>,
) -> AppResult<HttpResponse> {
    let email = Email::parse(&form.email)?;
    if !login::lift_lock(&state.db, &user.request, email.clone()).await? {
        return Err(AppError::NotFound);
    }
    back_with(
        &user.session,
        format!("/t/{}/security", user.tenant.slug),
        Notice::done(format!("Sign-in for {email} is possible again.")),
    )
}
