//! Deleting an organization: closed at once, restorable during a grace period, its
//! schema dropped by a background job afterwards, its registry row kept as a tombstone
//! so the address is never handed out again. Every step is in the platform audit log.

use std::time::Duration;

use diesel::prelude::*;
use time::OffsetDateTime;

use crate::access::AdminRequest;
use crate::db::Db;
use crate::domain::{SchemaName, TenantSlug};
use crate::error::{AppError, AppResult};
use crate::models::audit_log::AuditEvent;
use crate::models::authentik_outbox::Outbox;
use crate::models::platform_audit;
use crate::models::tenant;
use crate::tenancy::TenantRegistry;

/// The answer when the typed address does not match.
pub const TYPE_THE_SLUG: &str = "Type the organization's address exactly to confirm.";

/// Checks the typed confirmation against the slug.
pub fn confirmed(slug: &TenantSlug, typed: &str) -> AppResult<()> {
    if typed.trim() == slug.as_str() {
        Ok(())
    } else {
        Err(AppError::Validation(vec![crate::domain::FieldError::new(
            "confirm_slug",
            TYPE_THE_SLUG,
        )]))
    }
}

fn purge_time(grace: Duration) -> AppResult<OffsetDateTime> {
    Ok(OffsetDateTime::now_utc() + time::Duration::try_from(grace).map_err(AppError::internal)?)
}

/// The registry's schema name of this organization, checked.
fn schema_of(conn: &mut PgConnection, slug: &str) -> AppResult<SchemaName> {
    tenant::schema_of(conn, slug)?
        .as_deref()
        .and_then(SchemaName::from_registry)
        .ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("registry schema of {slug} is malformed"))
        })
}

fn requested(
    conn: &mut PgConnection,
    outbox: Outbox,
    slug: &str,
    by: &str,
    purge: OffsetDateTime,
) -> AppResult<()> {
    if tenant::request_delete(conn, slug, by, purge)? == 0 {
        return Err(AppError::Conflict(
            "This organization is already being deleted, or does not exist.".into(),
        ));
    }
    // Its people leave its Authentik groups (the groups stay until the purge, so a
    // restore finds them as they were); queued in this transaction, so never lost.
    let schema = schema_of(conn, slug)?;
    let queued = outbox.everyone_changed(conn, slug, &schema, "organization_deleted")?;
    platform_audit::record(
        conn,
        by,
        "tenant.deletion_requested",
        slug,
        serde_json::json!({
            "purge_after": purge.unix_timestamp(),
            "authentik_changes_queued": queued,
        }),
    )
}

/// A platform admin (or the CLI) asks for an organization's deletion; returns when its
/// schema will be dropped.
pub async fn request_deletion(
    db: &Db,
    registry: &TenantRegistry,
    outbox: Outbox,
    actor: &str,
    slug: &TenantSlug,
    grace: Duration,
) -> AppResult<OffsetDateTime> {
    let purge = purge_time(grace)?;
    let (key, who) = (slug.to_string(), actor.to_string());
    db.run(move |conn| conn.transaction(|conn| requested(conn, outbox, &key, &who, purge)))
        .await?;
    registry.invalidate(slug);
    Ok(purge)
}

/// An organization's own admin asks for its deletion, through the admin door (their
/// being an active admin is checked in the transaction); in both audit logs.
pub async fn request_own_deletion(
    db: &Db,
    registry: &TenantRegistry,
    outbox: Outbox,
    req: &AdminRequest,
    grace: Duration,
) -> AppResult<OffsetDateTime> {
    let purge = purge_time(grace)?;
    let slug = req.tenant.slug.to_string();
    req.change(db, move |tx| {
        let by = tx.admin().email.clone();
        requested(tx.conn, outbox, &slug, &by, purge)?;
        tx.record(AuditEvent::new("organization.deletion_requested").target(&slug))
    })
    .await?;
    registry.invalidate(&req.tenant.slug);
    Ok(purge)
}

/// Undoes a deletion during its grace period: everything is as it was.
pub async fn restore(
    db: &Db,
    registry: &TenantRegistry,
    outbox: Outbox,
    actor: &str,
    slug: &TenantSlug,
) -> AppResult<()> {
    let (key, who) = (slug.to_string(), actor.to_string());
    db.run(move |conn| {
        conn.transaction(|conn| {
            if tenant::restore(conn, &key)? == 0 {
                return Err(AppError::Conflict(
                    "Only an organization waiting for its deletion can be restored.".into(),
                ));
            }
            // Its groups are made again if they went missing, its people put back in.
            let schema = schema_of(conn, &key)?;
            let queued = outbox.tenant_restored(conn, &key, &schema)?;
            platform_audit::record(
                conn,
                &who,
                "tenant.restored",
                &key,
                serde_json::json!({ "authentik_changes_queued": queued }),
            )
        })
    })
    .await?;
    registry.invalidate(slug);
    Ok(())
}

/// Drops the schemas of the organizations whose grace period is over (at most `limit`
/// at a time) and keeps their tombstones; returns their slugs. Each one is its own
/// transaction, re-checked under the row lock so a restore that came first wins.
pub async fn purge_due(db: &Db, outbox: Outbox, limit: i64) -> AppResult<Vec<String>> {
    let due = db
        .run(move |conn| tenant::due_for_purge(conn, limit))
        .await?;
    let mut purged = Vec::new();
    for slug in due {
        let key = slug.clone();
        let done = db
            .run(move |conn| {
                conn.transaction(|conn| {
                    let Some(schema) = tenant::lock_due(conn, &key)? else {
                        return Ok(false);
                    };
                    let schema = SchemaName::from_registry(&schema).ok_or_else(|| {
                        AppError::internal(anyhow::anyhow!("registry schema of {key} is malformed"))
                    })?;
                    diesel::sql_query(format!("DROP SCHEMA IF EXISTS {} CASCADE", schema.quoted()))
                        .execute(conn)?;
                    tenant::mark_purged(conn, &key)?;
                    // Now its Authentik groups go as well: nothing can restore it.
                    let queued = outbox.tenant_purged(conn, &key)?;
                    platform_audit::record(
                        conn,
                        "portal (grace period over)",
                        "tenant.purged",
                        &key,
                        serde_json::json!({
                            "schema": schema.as_str(),
                            "authentik_changes_queued": queued,
                        }),
                    )?;
                    Ok(true)
                })
            })
            .await?;
        if done {
            tracing::info!(tenant = %slug, "deleted organization's schema dropped");
            purged.push(slug);
        }
    }
    Ok(purged)
}
