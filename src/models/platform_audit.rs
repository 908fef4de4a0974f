//! `public.platform_audit_log`: what the platform's operators did.

use diesel::prelude::*;
use time::OffsetDateTime;

use crate::db::schema::public::platform_audit_log;
use crate::error::AppResult;

/// Records a platform event.
pub fn record(
    conn: &mut PgConnection,
    actor: &str,
    action: &str,
    target: &str,
    details: serde_json::Value,
) -> AppResult<()> {
    diesel::insert_into(platform_audit_log::table)
        .values((
            platform_audit_log::actor.eq(actor),
            platform_audit_log::action.eq(action),
            platform_audit_log::target.eq(target),
            platform_audit_log::details.eq(details),
        ))
        .execute(conn)?;
    Ok(())
}

/// One platform event: when, who, what, on what.
pub type PlatformEvent = (OffsetDateTime, Option<String>, String, Option<String>);

/// The newest platform events.
pub fn recent(conn: &mut PgConnection, limit: i64) -> AppResult<Vec<PlatformEvent>> {
    Ok(platform_audit_log::table
        .order(platform_audit_log::id.desc())
        .limit(limit)
        .select((
            platform_audit_log::occurred_at,
            platform_audit_log::actor,
            platform_audit_log::action,
            platform_audit_log::target,
        ))
        .load(conn)?)
}

/// The newest platform events about one target (an organization's slug).
pub fn about(conn: &mut PgConnection, target: &str, limit: i64) -> AppResult<Vec<PlatformEvent>> {
    Ok(platform_audit_log::table
        .filter(platform_audit_log::target.eq(target))
        .order(platform_audit_log::id.desc())
        .limit(limit)
        .select((
            platform_audit_log::occurred_at,
            platform_audit_log::actor,
            platform_audit_log::action,
            platform_audit_log::target,
        ))
        .load(conn)?)
}

/// Which platform events to show.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Part of the actor's address.
    pub actor: Option<String>,
    /// Exactly this action, or every action starting with it and a dot.
    pub action: Option<String>,
    /// Exactly this target (an organization's slug, a person's address).
    pub target: Option<String>,
    /// From the start of this day (UTC).
    pub from: Option<time::Date>,
    /// To the end of this day (UTC).
    pub to: Option<time::Date>,
}

/// One platform event with all it holds.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = platform_audit_log)]
pub struct EventRow {
    /// Row id.
    pub id: i64,
    /// When.
    pub occurred_at: OffsetDateTime,
    /// Who.
    pub actor: Option<String>,
    /// What.
    pub action: String,
    /// To what.
    pub target: Option<String>,
    /// More about it.
    pub details: serde_json::Value,
}

impl EventRow {
    /// The time as shown and exported (UTC, seconds).
    pub fn when(&self) -> String {
        let f =
            time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
        self.occurred_at.format(&f).unwrap_or_default()
    }

    /// Details as compact JSON, empty when there are none.
    pub fn details_text(&self) -> String {
        match &self.details {
            serde_json::Value::Object(m) if m.is_empty() => String::new(),
            other => other.to_string(),
        }
    }

    /// The row as a CSV line (with its line end).
    pub fn csv_line(&self) -> String {
        let cells = [
            self.id.to_string(),
            self.when(),
            self.actor.clone().unwrap_or_default(),
            self.action.clone(),
            self.target.clone().unwrap_or_default(),
            self.details_text(),
        ];
        let line: Vec<String> = cells
            .iter()
            .map(|c| crate::models::audit_log::csv_cell(c))
            .collect();
        line.join(",") + "\r\n"
    }
}

/// The CSV export's header line.
pub const CSV_HEADER: &str = "id,occurred_at,actor,action,target,details\r\n";

fn escape_like(q: &str) -> String {
    q.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Up to `limit` matching events older than the row `before` (all when `None`),
/// newest first. Keyset paging on the id: a page deep in a long log costs what the
/// first one does.
pub fn page(
    conn: &mut PgConnection,
    f: &EventFilter,
    before: Option<i64>,
    limit: i64,
) -> AppResult<Vec<EventRow>> {
    use time::{PrimitiveDateTime, Time};
    let mut q = platform_audit_log::table
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(actor) = f.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        q = q.filter(platform_audit_log::actor.ilike(format!("%{}%", escape_like(actor))));
    }
    if let Some(action) = f.action.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        let prefix = format!("{}.%", escape_like(action));
        q = q.filter(
            platform_audit_log::action
                .eq(action.to_string())
                .or(platform_audit_log::action.like(prefix)),
        );
    }
    if let Some(target) = f.target.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        q = q.filter(platform_audit_log::target.eq(target.to_string()));
    }
    if let Some(from) = f.from {
        let at = PrimitiveDateTime::new(from, Time::MIDNIGHT).assume_utc();
        q = q.filter(platform_audit_log::occurred_at.ge(at));
    }
    if let Some(to) = f.to.and_then(|d| d.next_day()) {
        let at = PrimitiveDateTime::new(to, Time::MIDNIGHT).assume_utc();
        q = q.filter(platform_audit_log::occurred_at.lt(at));
    }
    if let Some(id) = before {
        q = q.filter(platform_audit_log::id.lt(id));
    }
    Ok(q.order(platform_audit_log::id.desc())
        .limit(limit)
        .load(conn)?)
}
