//! `GET /admin/audit` and `GET /admin/audit.csv`: the platform audit log, filtered by
//! action, actor, organization and time, paged and exportable.

use actix_web::{HttpResponse, http::header, web};
use askama::Template;
use askama_web::WebTemplate;
use futures_util::StreamExt;

use crate::app::AppState;
use crate::error::AppResult;
use crate::models::audit_log::parse_day;
use crate::models::platform_audit::{EventFilter, EventRow};
use crate::platform;
use crate::web::csrf::CsrfToken;
use crate::web::session::PlatformUser;

#[derive(Debug, Default, serde::Deserialize)]
pub struct EventQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    before: Option<String>,
}

impl EventQuery {
    fn actor(&self) -> String {
        self.actor.trim().chars().take(254).collect()
    }
    fn action(&self) -> String {
        self.action.trim().chars().take(64).collect()
    }
    fn target(&self) -> String {
        self.target.trim().chars().take(254).collect()
    }

    fn filter(&self) -> EventFilter {
        EventFilter {
            actor: Some(self.actor()),
            action: Some(self.action()),
            target: Some(self.target()),
            from: parse_day(&self.from),
            to: parse_day(&self.to),
        }
    }

    fn before(&self) -> Option<i64> {
        self.before.as_deref().and_then(|b| b.trim().parse().ok())
    }

    /// The query string for the same filters.
    fn encoded(&self) -> String {
        let day = |raw: &str| parse_day(raw).map(|d| d.to_string()).unwrap_or_default();
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("actor", &self.actor())
            .append_pair("action", &self.action())
            .append_pair("target", &self.target())
            .append_pair("from", &day(&self.from))
            .append_pair("to", &day(&self.to))
            .finish()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_audit.html")]
pub struct EventsPage {
    admin_name: String,
    csrf: String,
    rows: Vec<EventRow>,
    older: Option<String>,
    paged: bool,
    actor: String,
    action: String,
    target: String,
    from: String,
    to: String,
    query: String,
}

/// `GET /admin/audit`.
pub async fn page(
    state: web::Data<AppState>,
    user: PlatformUser,
    csrf: CsrfToken,
    q: web::Query<EventQuery>,
) -> AppResult<EventsPage> {
    let (rows, older) = platform::events_page(&state.platform(), q.filter(), q.before()).await?;
    let query = q.encoded();
    Ok(EventsPage {
        admin_name: user.0.name.clone(),
        csrf: csrf.0,
        rows,
        older: older.map(|id| format!("/admin/audit?{query}&before={id}")),
        paged: q.before().is_some(),
        actor: q.actor(),
        action: q.action(),
        target: q.target(),
        from: parse_day(&q.from)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        to: parse_day(&q.to).map(|d| d.to_string()).unwrap_or_default(),
        query,
    })
}

/// `GET /admin/audit.csv`: every matching event, streamed in batches.
pub async fn csv(
    state: web::Data<AppState>,
    _user: PlatformUser,
    q: web::Query<EventQuery>,
) -> HttpResponse {
    let chunks =
        platform::export_csv(state.db.clone(), q.filter()).map(|chunk| chunk.map(web::Bytes::from));
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"platform-audit.csv\"",
        ))
        .streaming(chunks)
}
