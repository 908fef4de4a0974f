//! `POST /t/{slug}/settings/delete`: an organization's admin asks for its deletion,
//! typing its address to confirm. The platform's operators can restore it during the
//! grace period.

use actix_web::web;

use crate::app::AppState;
use crate::error::AppResult;
use crate::platform;
use crate::tenancy::TenantRegistry;
use crate::web::notice::NoticePage;
use crate::web::session::{PortalSession, TenantAdmin};

/// The deletion form: the organization's address, typed to confirm.
#[derive(serde::Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    pub(super) confirm_slug: String,
}

/// `POST /t/{slug}/settings/delete`.
pub async fn delete(
    state: web::Data<AppState>,
    registry: web::Data<TenantRegistry>,
    user: TenantAdmin,
    session: PortalSession,
    form: web::Form<DeleteForm>,
) -> AppResult<NoticePage> {
    platform::confirmed(&user.tenant.slug, &form.confirm_slug)?;
    let grace = state.settings.tenant_delete_grace;
    let purge =
        platform::request_own_deletion(&state.db, &registry, state.outbox(), &user.request, grace)
            .await?;
    // The organization is closed now: nobody stays signed in to it, the admin included.
    session.end();
    Ok(NoticePage {
        tenant_name: user.tenant.name.clone(),
        title: "Your organization is closed",
        message: format!(
            "Nobody can sign in to it any more. Its data is deleted for good on {}; until \
             then the platform's operators can restore it if you ask them.",
            crate::display::minute(purge)
        ),
        action: None,
    })
}
