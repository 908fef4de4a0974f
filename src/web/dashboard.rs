//! `GET /t/{slug}/dashboard`: the organization at a glance.

use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::app::AppState;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::models::audit_log::AuditEntry;
use crate::models::authentik_outbox::{self as outbox, Backlog};
use crate::models::user;
use crate::web::csrf::CsrfToken;
use crate::web::layout::{Section, TenantLayout};
use crate::web::respond::see_other;
use crate::web::session::{self, TenantUser};

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    layout: TenantLayout,
    csrf: String,
    slug: String,
    tenant_name: String,
    user_email: String,
    role: &'static str,
    role_label: &'static str,
    member_count: i64,
    activity: Vec<AuditEntry>,
    email_verified: bool,
    notice: Option<&'static str>,
    /// Outbox rows of this tenant not yet in Authentik, for admins.
    sync: Option<Backlog>,
    /// The organization's full sign-in address, to share.
    sign_in_url: String,
    /// Single sign-on is configured for the portal.
    sso_available: bool,
    /// The person's own browsers (staff and members), newest use first.
    devices: Vec<crate::web::profile::SessionView>,
}

impl DashboardPage {
    fn is_admin(&self) -> bool {
        self.role == "admin"
    }

    /// A new organization's admin gets a short list of first steps until someone else
    /// has joined and their own address is confirmed.
    fn show_checklist(&self) -> bool {
        self.is_admin() && (self.member_count < 2 || !self.email_verified)
    }
}

#[derive(serde::Deserialize)]
pub struct DashboardQuery {
    verification: Option<String>,
}

/// `GET /t/{slug}`: to the dashboard.
pub async fn home(req: actix_web::HttpRequest) -> HttpResponse {
    let slug = req.match_info().get("slug").unwrap_or_default();
    see_other(format!("/t/{slug}/dashboard"))
}

/// `GET /t/{slug}/dashboard`: one Redis read (the session), a cached tenant, and one
/// transaction with a single query for the person, the member count and the activity.
pub async fn dashboard(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
    q: web::Query<DashboardQuery>,
) -> AppResult<DashboardPage> {
    let uid = user.identity.uid;
    // Admins also see whether their people reached Authentik: one more cheap, indexed
    // statement in the same transaction.
    let sync_slug = (user.identity.role == Role::Admin && state.authentik.is_some())
        .then(|| user.tenant.slug.to_string());
    let schema = user.tenant.schema.clone();
    let (overview, sync) = state
        .db
        .tenant_prepared(&user.tenant.schema, move |conn| {
            let overview = user::overview(conn, &schema, uid)?;
            let sync = match sync_slug {
                Some(slug) => Some(outbox::backlog(conn, Some(&slug))?),
                None => None,
            };
            Ok((overview, sync))
        })
        .await?;
    // Removed or deactivated since signing in: the session is over.
    let Some(overview) = overview.filter(|o| o.is_active()) else {
        user.session.end();
        return Err(AppError::SignInRequired {
            login_url: session::login_url(&user.tenant, None),
        });
    };
    let role = overview.role;
    let activity = overview.activity()?;
    // Staff and members see their own browsers; admins have the organization's view.
    let devices = if role == Role::Admin {
        Vec::new()
    } else {
        crate::web::profile::devices(&state, &user).await?
    };
    Ok(DashboardPage {
        layout: TenantLayout::new(&user, &csrf, Section::Dashboard),
        csrf: csrf.0,
        slug: user.tenant.slug.to_string(),
        tenant_name: user.tenant.name.clone(),
        user_email: overview.email,
        role: role.as_str(),
        role_label: role.label(),
        member_count: overview.member_count,
        activity,
        email_verified: overview.email_verified,
        sync: sync.filter(|_| role == Role::Admin),
        sign_in_url: format!("{}t/{}/login", state.settings.base_url, user.tenant.slug),
        sso_available: state.sso_configured(),
        devices,
        notice: match q.verification.as_deref() {
            Some("sent") => {
                Some("We sent you a new confirmation link. It may take a minute to arrive.")
            }
            Some("wait") => Some(
                "We already sent several links in the last hour. Use the newest one, or try again later.",
            ),
            Some("verified") => Some("Your email address is already confirmed."),
            _ => None,
        },
    })
}
