//! `GET /t/{slug}/audit` and `GET /t/{slug}/audit.csv`: the organization's audit log
//! for its admins, filtered, paged and exportable.

use actix_web::{HttpResponse, http::header, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::app::AppState;
use crate::error::AppResult;
use crate::models::audit_log::{self, LogEntry, LogFilter, PER_PAGE, parse_day};
use crate::web::csrf::CsrfToken;
use crate::web::layout::{Section, TenantLayout};
use crate::web::session::TenantAdmin;

#[derive(Debug, Default, serde::Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<String>,
}

impl AuditQuery {
    fn filter(&self) -> LogFilter {
        LogFilter {
            actor: Some(self.actor.chars().take(254).collect()),
            action: Some(self.action.chars().take(64).collect()),
            from: parse_day(&self.from),
            to: parse_day(&self.to),
        }
    }

    fn page(&self) -> i64 {
        self.page
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(1i64)
            .clamp(1, 1_000_000)
    }

    /// The query string for the same filters.
    fn encoded(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("actor", &self.actor)
            .append_pair("action", &self.action)
            .append_pair("from", &self.from)
            .append_pair("to", &self.to)
            .finish()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    layout: TenantLayout,
    slug: String,
    tenant_name: String,
    rows: Vec<LogEntry>,
    total: i64,
    page: i64,
    pages: i64,
    actor: String,
    action: String,
    from: String,
    to: String,
    actions: Vec<String>,
    query: String,
}

impl AuditPage {
    fn total_words(&self) -> String {
        crate::display::count(self.total, "entry", "entries")
    }

    fn action_label(&self, action: &str) -> String {
        crate::models::audit_sentence::label(action)
    }
}

/// `GET /t/{slug}/audit`.
pub async fn page(
    state: web::Data<AppState>,
    user: TenantAdmin,
    csrf: CsrfToken,
    q: web::Query<AuditQuery>,
) -> AppResult<AuditPage> {
    let filter = q.filter();
    let page = q.page();
    let ((rows, total), actions) = user
        .request
        .read(&state.db, move |conn| {
            Ok((
                audit_log::page(conn, &filter, page)?,
                audit_log::actions(conn)?,
            ))
        })
        .await?;
    Ok(AuditPage {
        layout: TenantLayout::new(&user, &csrf, Section::Audit),
        slug: user.tenant.slug.to_string(),
        tenant_name: user.tenant.name.clone(),
        rows,
        total,
        page,
        pages: ((total + PER_PAGE - 1) / PER_PAGE).max(1),
        actor: q.actor.chars().take(254).collect(),
        action: q.action.chars().take(64).collect(),
        from: parse_day(&q.from)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        to: parse_day(&q.to).map(|d| d.to_string()).unwrap_or_default(),
        actions,
        query: q.encoded(),
    })
}

/// `GET /t/{slug}/audit.csv`: every entry matching the filters.
pub async fn csv(
    state: web::Data<AppState>,
    user: TenantAdmin,
    q: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    let filter = q.filter();
    let rows = user
        .request
        .read(&state.db, move |conn| audit_log::export(conn, &filter))
        .await?;
    let body = web::block(move || audit_log::to_csv(&rows))
        .await
        .map_err(crate::error::AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"audit-{}.csv\"", user.tenant.slug),
        ))
        .body(body))
}
