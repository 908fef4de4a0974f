//! `audit_log`: a tenant's security events. Written inside the same transaction as
//! the change they record (with one structured log line); read back filtered, paged
//! and exported.

use diesel::prelude::*;
use serde_json::Value;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};
use uuid::Uuid;

use crate::db::schema::tenant::audit_log;
use crate::error::AppResult;

/// Who sent a request, as far as the audit log is concerned.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// Client IP address.
    pub ip: Option<String>,
    /// Browser or client name, shortened.
    pub user_agent: Option<String>,
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    /// What happened, dotted (`login.succeeded`).
    pub action: &'a str,
    /// The person who did it, if known.
    pub actor_id: Option<Uuid>,
    /// Their email, kept even if the person is later removed.
    pub actor_email: Option<&'a str>,
    /// What it was done to.
    pub target: Option<&'a str>,
    /// Anything else worth keeping; never secrets.
    pub details: Value,
}

impl<'a> AuditEvent<'a> {
    /// An event with no actor, target or details yet.
    pub fn new(action: &'a str) -> Self {
        Self {
            action,
            actor_id: None,
            actor_email: None,
            target: None,
            details: Value::Object(Default::default()),
        }
    }

    /// Sets the actor.
    pub fn actor(mut self, id: Option<Uuid>, email: Option<&'a str>) -> Self {
        self.actor_id = id;
        self.actor_email = email;
        self
    }

    /// Sets the target.
    pub fn target(mut self, target: &'a str) -> Self {
        self.target = Some(target);
        self
    }

    /// Sets the details.
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// Records an event in the tenant schema the connection's transaction is scoped to.
pub fn record(
    conn: &mut PgConnection,
    tenant: &str,
    meta: &RequestMeta,
    event: AuditEvent<'_>,
) -> AppResult<()> {
    tracing::info!(
        target: "audit",
        tenant,
        action = event.action,
        actor = event.actor_email,
        subject = event.target,
        ip = meta.ip.as_deref(),
        "audit event"
    );
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor_id.eq(event.actor_id),
            audit_log::actor_email.eq(event.actor_email),
            audit_log::action.eq(event.action),
            audit_log::target.eq(event.target),
            audit_log::ip.eq(meta.ip.as_deref()),
            audit_log::user_agent.eq(meta.user_agent.as_deref()),
            audit_log::details.eq(&event.details),
        ))
        .execute(conn)?;
    Ok(())
}

/// A stored event, for pages.
#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    /// Row id.
    pub id: i64,
    /// When.
    #[serde(with = "unix_seconds")]
    pub occurred_at: OffsetDateTime,
    /// Who, by email.
    pub actor_email: Option<String>,
    /// What.
    pub action: String,
    /// To what.
    pub target: Option<String>,
    /// From where.
    pub ip: Option<String>,
}

impl AuditEntry {
    /// A sentence for the dashboard's activity list.
    pub fn describe(&self) -> String {
        crate::models::audit_sentence::sentence(
            self.actor_email.as_deref(),
            &self.action,
            self.target.as_deref(),
            &Value::Null,
        )
    }

    /// How long ago, in words.
    pub fn ago(&self) -> String {
        crate::display::relative(self.occurred_at, OffsetDateTime::now_utc())
    }

    /// The exact time, for hover text.
    pub fn exact(&self) -> String {
        crate::display::exact(self.occurred_at)
    }

    /// The time for `<time datetime>`.
    pub fn machine(&self) -> String {
        crate::display::machine(self.occurred_at)
    }

    /// The time as shown on pages (UTC).
    pub fn when(&self) -> String {
        crate::display::minute(self.occurred_at)
    }
}

/// The newest events of the tenant.
pub fn recent(conn: &mut PgConnection, limit: i64) -> AppResult<Vec<AuditEntry>> {
    Ok(audit_log::table
        .order(audit_log::id.desc())
        .limit(limit)
        .select(AuditEntry::as_select())
        .load(conn)?)
}

/// Timestamps as seconds since the epoch, as `extract(epoch ...)` gives them in JSON.
mod unix_seconds {
    use serde::{Deserialize, Deserializer};
    use time::OffsetDateTime;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let secs = f64::deserialize(d)?;
        OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9) as i128)
            .map_err(serde::de::Error::custom)
    }
}

/// Entries per page.
pub const PER_PAGE: i64 = 50;
/// Most rows in one CSV export.
pub const MAX_EXPORT: i64 = 100_000;

/// Which entries to show.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Part of the actor's email.
    pub actor: Option<String>,
    /// Exactly this action, or every action starting with it and a dot.
    pub action: Option<String>,
    /// From the start of this day (UTC).
    pub from: Option<Date>,
    /// To the end of this day (UTC).
    pub to: Option<Date>,
}

/// One entry with everything an auditor needs.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct LogEntry {
    /// Row id.
    pub id: i64,
    /// When.
    pub occurred_at: OffsetDateTime,
    /// Who, by email.
    pub actor_email: Option<String>,
    /// What.
    pub action: String,
    /// To what.
    pub target: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Client software.
    pub user_agent: Option<String>,
    /// More about it.
    pub details: serde_json::Value,
}

impl LogEntry {
    /// The time as shown and exported (UTC, seconds).
    pub fn when(&self) -> String {
        let f =
            time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
        self.occurred_at.format(&f).unwrap_or_default()
    }

    /// What happened, as a sentence.
    pub fn sentence(&self) -> String {
        crate::models::audit_sentence::sentence(
            self.actor_email.as_deref(),
            &self.action,
            self.target.as_deref(),
            &self.details,
        )
    }

    /// The kind of event in words.
    pub fn label(&self) -> String {
        crate::models::audit_sentence::label(&self.action)
    }

    /// How long ago, in words.
    pub fn ago(&self) -> String {
        crate::display::relative(self.occurred_at, OffsetDateTime::now_utc())
    }

    /// The time for `<time datetime>`.
    pub fn machine(&self) -> String {
        crate::display::machine(self.occurred_at)
    }

    /// The details as name and value pairs, for reading.
    pub fn detail_pairs(&self) -> Vec<(String, String)> {
        match &self.details {
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.replace('_', " "), v)
                })
                .collect(),
            Value::Null => Vec::new(),
            other => vec![("details".into(), other.to_string())],
        }
    }

    /// Details as compact JSON, empty when there are none.
    pub fn details_text(&self) -> String {
        match &self.details {
            serde_json::Value::Object(m) if m.is_empty() => String::new(),
            other => other.to_string(),
        }
    }
}

fn escape_like(q: &str) -> String {
    q.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn filtered(f: &LogFilter) -> audit_log::BoxedQuery<'static, diesel::pg::Pg> {
    let mut q = audit_log::table.into_boxed();
    if let Some(actor) = f.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        q = q.filter(audit_log::actor_email.ilike(format!("%{}%", escape_like(actor))));
    }
    if let Some(action) = f.action.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        let prefix = format!("{}.%", escape_like(action));
        q = q.filter(
            audit_log::action
                .eq(action.to_string())
                .or(audit_log::action.like(prefix)),
        );
    }
    if let Some(from) = f.from {
        q = q.filter(
            audit_log::occurred_at.ge(PrimitiveDateTime::new(from, Time::MIDNIGHT).assume_utc()),
        );
    }
    if let Some(to) = f.to.and_then(|d| d.next_day()) {
        q = q.filter(
            audit_log::occurred_at.lt(PrimitiveDateTime::new(to, Time::MIDNIGHT).assume_utc()),
        );
    }
    q
}

/// One page of entries, newest first, and how many match in all.
pub fn page(conn: &mut PgConnection, f: &LogFilter, page: i64) -> AppResult<(Vec<LogEntry>, i64)> {
    let total: i64 = filtered(f).count().get_result(conn)?;
    let rows = filtered(f)
        .order(audit_log::id.desc())
        .limit(PER_PAGE)
        .offset((page.max(1) - 1) * PER_PAGE)
        .select(LogEntry::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Every matching entry (up to [`MAX_EXPORT`]), newest first.
pub fn export(conn: &mut PgConnection, f: &LogFilter) -> AppResult<Vec<LogEntry>> {
    Ok(filtered(f)
        .order(audit_log::id.desc())
        .limit(MAX_EXPORT)
        .select(LogEntry::as_select())
        .load(conn)?)
}

/// The distinct actions recorded, for the filter's choices.
pub fn actions(conn: &mut PgConnection) -> AppResult<Vec<String>> {
    Ok(audit_log::table
        .select(audit_log::action)
        .distinct()
        .order(audit_log::action)
        .limit(200)
        .load(conn)?)
}

/// Entries as CSV (RFC 4180), with a header row. Cells that a spreadsheet would run
/// as a formula are prefixed with `'` so an exported log cannot attack its reader.
pub fn to_csv(rows: &[LogEntry]) -> String {
    let mut out = String::from("id,occurred_at,actor,action,target,ip,user_agent,details\r\n");
    for r in rows {
        let cells = [
            r.id.to_string(),
            r.when(),
            r.actor_email.clone().unwrap_or_default(),
            r.action.clone(),
            r.target.clone().unwrap_or_default(),
            r.ip.clone().unwrap_or_default(),
            r.user_agent.clone().unwrap_or_default(),
            r.details_text(),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One CSV cell: quoted when needed, and defused so a spreadsheet never runs it as a
/// formula.
pub fn csv_cell(raw: &str) -> String {
    let defused = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_string()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// Parses a `YYYY-MM-DD` date from a filter field; anything else means no limit.
pub fn parse_day(raw: &str) -> Option<Date> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(raw.trim(), &f).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "'-1");
    }

    #[test]
    fn days_parse_strictly() {
        assert!(parse_day("2026-11-22").is_some());
        assert!(parse_day("22/11/2026").is_none());
        assert!(parse_day("").is_none());
    }
}
