//! The frame around every page a signed-in person sees inside an organization: its
//! name, its sections (admin sections for admins only) and the person's own menu. Error
//! pages for a signed-in person keep the same frame, so nobody is dropped onto the
//! signed-out header halfway through their work.

use actix_web::{
    Error, FromRequest, HttpMessage,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
    web,
};
use askama::Template;

use crate::domain::{Role, TenantSlug};
use crate::error::AppError;
use crate::tenancy::TenantRegistry;
use crate::web::csrf::CsrfToken;
use crate::web::session::{Identity, PortalSession, TenantUser};

/// The sections of an organization, for marking the current one in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The dashboard.
    Dashboard,
    /// Members and invitations.
    Members,
    /// The audit log.
    Audit,
    /// Organization settings.
    Settings,
    /// Sign-in security (paused sign-ins).
    Security,
    /// The person's own profile.
    Profile,
    /// A page outside the sections (an error, a confirmation).
    Other,
}

/// One link of the section navigation.
pub struct NavItem {
    /// Where it leads.
    pub href: String,
    /// What it says.
    pub label: &'static str,
    /// Whether it is the page being shown.
    pub current: bool,
}

/// What the tenant layout (`templates/tenant_base.html`) needs on every page.
pub struct TenantLayout {
    /// The organization's address part.
    pub slug: String,
    /// The organization's name.
    pub tenant_name: String,
    /// The person's name.
    pub user_name: String,
    /// Up to two initials for the avatar.
    pub initials: String,
    /// The person's role.
    pub role: Role,
    /// The CSRF token for the sign-out form.
    pub csrf: String,
    /// The section being shown.
    pub current: Section,
}

impl TenantLayout {
    /// The layout for a signed-in person's page.
    pub fn new(user: &TenantUser, csrf: &CsrfToken, current: Section) -> Self {
        Self::of(
            &user.tenant.slug,
            &user.tenant.name,
            &user.identity,
            &csrf.0,
            current,
        )
    }

    fn of(
        slug: &TenantSlug,
        tenant_name: &str,
        identity: &Identity,
        csrf: &str,
        current: Section,
    ) -> Self {
        Self {
            slug: slug.to_string(),
            tenant_name: tenant_name.to_string(),
            user_name: identity.name.clone(),
            initials: initials(&identity.name),
            role: identity.role,
            csrf: csrf.to_string(),
            current,
        }
    }

    /// The role's name for the menu's badge.
    pub fn role_label(&self) -> &'static str {
        self.role.label()
    }

    /// The role's code, for the badge's colour.
    pub fn role_code(&self) -> &'static str {
        self.role.as_str()
    }

    /// Whether the profile is the page being shown.
    pub fn on_profile(&self) -> bool {
        self.current == Section::Profile
    }

    /// The section links this person may follow: everyone has the dashboard; only
    /// admins see the pages only admins may open.
    pub fn items(&self) -> Vec<NavItem> {
        let mut items = vec![(Section::Dashboard, "dashboard", "Dashboard")];
        if self.role == Role::Admin {
            items.extend([
                (Section::Members, "members", "Members"),
                (Section::Audit, "audit", "Audit log"),
                (Section::Settings, "settings", "Settings"),
                (Section::Security, "security", "Sign-in security"),
            ]);
        }
        items
            .into_iter()
            .map(|(section, path, label)| NavItem {
                href: format!("/t/{}/{path}", self.slug),
                label,
                current: section == self.current,
            })
            .collect()
    }
}

/// Up to two initials of a name, for the avatar.
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

/// An error page inside the tenant layout.
#[derive(Template)]
#[template(path = "tenant_error.html")]
pub struct TenantErrorPage {
    layout: TenantLayout,
    status: u16,
    title: &'static str,
    message: String,
}

/// An error page inside the platform layout (`/admin`).
#[derive(Template)]
#[template(path = "admin_error.html")]
pub struct PlatformErrorPage {
    admin_name: String,
    csrf: String,
    status: u16,
    title: &'static str,
    message: String,
}

/// Middleware: an HTML error page under `/t/{slug}/` for a person signed in to that
/// organization is shown inside the tenant layout, and one under `/admin` for a
/// signed-in platform admin inside the platform layout. Runs inside the session and CSRF
/// middleware, so it sees both; headers of the error (Retry-After, Allow) are kept.
pub async fn signed_in_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error())
        || res.request().path().starts_with("/api/")
    {
        return Ok(res);
    }
    let body = if res.request().path().starts_with("/admin") {
        platform_error_page(&res)
            .await
            .and_then(|p| p.render().ok())
    } else {
        tenant_error_page(&res).await.and_then(|p| p.render().ok())
    };
    let Some(body) = body else {
        return Ok(res);
    };
    Ok(res.map_body(|head, _| {
        head.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        BoxBody::new(body)
    }))
}

async fn platform_error_page(res: &ServiceResponse<BoxBody>) -> Option<PlatformErrorPage> {
    let err = res.response().error()?.as_error::<AppError>()?;
    let req = res.request();
    let admin = PortalSession::extract(req).await.ok()?.platform()?;
    let csrf = req.extensions().get::<CsrfToken>().cloned()?;
    let (title, message) = err.explain();
    Some(PlatformErrorPage {
        admin_name: admin.name,
        csrf: csrf.0,
        status: res.status().as_u16(),
        title,
        message,
    })
}

async fn tenant_error_page(res: &ServiceResponse<BoxBody>) -> Option<TenantErrorPage> {
    let err = res.response().error()?.as_error::<AppError>()?;
    // These name no organization the person may see, so its frame would mislead.
    if matches!(err, AppError::TenantNotFound | AppError::TenantSuspended) {
        return None;
    }
    let req = res.request();
    let raw = req.path().strip_prefix("/t/")?.split('/').next()?;
    let slug = TenantSlug::parse(raw).ok().filter(|s| s.as_str() == raw)?;
    let identity = PortalSession::extract(req).await.ok()?.identity()?;
    let registry = req.app_data::<web::Data<TenantRegistry>>()?;
    let tenant = registry.find(&slug).await.ok()??;
    if tenant.id != identity.tid {
        return None;
    }
    let csrf = req.extensions().get::<CsrfToken>().cloned()?;
    let (title, message) = err.explain();
    Some(TenantErrorPage {
        layout: TenantLayout::of(
            &tenant.slug,
            &tenant.name,
            &identity,
            &csrf.0,
            Section::Other,
        ),
        status: res.status().as_u16(),
        title,
        message,
    })
}
