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
