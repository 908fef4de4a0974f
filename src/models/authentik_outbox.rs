//! The durable outbox: changes for Authentik, written in the same transaction as the
//! local change they mirror, delivered later by the worker.
//!
//! Rows of one `ordering_key` (a tenant, or a person's email across tenants) are
//! delivered one at a time, in order; rows of different keys in parallel, by any
//! number of portal instances (`FOR UPDATE SKIP LOCKED`).

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use uuid::Uuid;

use crate::db::schema::public::authentik_outbox as outbox;
use crate::domain::SchemaName;
use crate::error::AppResult;
use crate::models::user::User;

/// A tenant was created: its groups must exist.
pub const TENANT_CREATED: &str = "tenant_created";
/// A person was created, changed role, was deactivated or removed: their Authentik
/// user and group membership must match the person's current state.
pub const PERSON_CHANGED: &str = "person_changed";
/// A deleted tenant's schema was dropped: its groups must go (delivered only while the
/// registry still says `deleted`, so it can never undo a restore).
pub const TENANT_DELETED: &str = "tenant_deleted";

/// Whether Authentik provisioning is on (`AUTHENTIK_URL` and `AUTHENTIK_TOKEN`). While
/// it is off nothing is queued: nobody would deliver it, and `portal authentik sync`
/// brings Authentik up to date when it is turned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outbox {
    on: bool,
}

impl Outbox {
    /// The outbox, on or off.
    pub fn new(on: bool) -> Self {
        Self { on }
    }

    /// Queues the creation of a tenant's groups, inside the caller's transaction.
    pub fn tenant_created(self, conn: &mut PgConnection, slug: &str) -> AppResult<()> {
        if self.on {
            enqueue_tenant(conn, slug, TENANT_CREATED)?;
        }
        Ok(())
    }

    /// Queues bringing a person's Authentik user in line with the person.
    pub fn person_changed(
        self,
        conn: &mut PgConnection,
        slug: &str,
        person: &User,
        reason: &str,
    ) -> AppResult<()> {
        if self.on {
            enqueue_person(conn, slug, person, reason)?;
        }
        Ok(())
    }

    /// Queues a `person_changed` row for every active person of a tenant, with
    /// `reason`, inside the caller's transaction; returns how many (0 when off). The
    /// worker brings each in line with the tenant as it is at delivery: out of its
    /// groups while the tenant is being deleted, back in them once it is restored.
    pub fn everyone_changed(
        self,
        conn: &mut PgConnection,
        slug: &str,
        schema: &SchemaName,
        reason: &str,
    ) -> AppResult<usize> {
        if !self.on {
            return Ok(0);
        }
        // One statement whatever the number of people: nothing is loaded here.
        let sql = format!(
            "INSERT INTO public.authentik_outbox (ordering_key, tenant_slug, person_id, kind, payload) \
             SELECT 'person:' || u.email, $1, u.id, $2, \
                    jsonb_build_object('email', u.email, 'name', u.name, 'reason', $3::text) \
             FROM {}.users u WHERE u.status = 'active' ORDER BY u.created_at, u.id",
            schema.quoted()
        );
        Ok(diesel::sql_query(sql)
            .bind::<Text, _>(slug)
            .bind::<Text, _>(PERSON_CHANGED)
            .bind::<Text, _>(reason)
            .execute(conn)?)
    }

    /// Queues the re-creation of a restored tenant's groups and its people's return to
    /// them; returns how many rows (0 when off).
    pub fn tenant_restored(
        self,
        conn: &mut PgConnection,
        slug: &str,
        schema: &SchemaName,
    ) -> AppResult<usize> {
        if !self.on {
            return Ok(0);
        }
        enqueue_tenant(conn, slug, TENANT_CREATED)?;
        Ok(1 + self.everyone_changed(conn, slug, schema, "organization_restored")?)
    }

    /// Queues the deletion of a purged tenant's groups; returns how many rows.
    pub fn tenant_purged(self, conn: &mut PgConnection, slug: &str) -> AppResult<usize> {
        if !self.on {
            return Ok(0);
        }
        enqueue_tenant(conn, slug, TENANT_DELETED)?;
        Ok(1)
    }
}

/// Queues a tenant row (`kind`: its groups created or deleted), inside the caller's
/// transaction; one key per tenant keeps creation and deletion in order.
fn enqueue_tenant(conn: &mut PgConnection, slug: &str, kind: &str) -> AppResult<()> {
    diesel::insert_into(outbox::table)
        .values((
            outbox::ordering_key.eq(format!("tenant:{slug}")),
            outbox::tenant_slug.eq(slug),
            outbox::kind.eq(kind),
        ))
        .execute(conn)?;
    Ok(())
}

/// Queues bringing a person's Authentik user in line with the person, inside the
/// caller's transaction. `reason` is for people reading the outbox (`created`,
/// `role_changed`, `deactivated`, `removed`, …).
fn enqueue_person(
    conn: &mut PgConnection,
    slug: &str,
    person: &User,
    reason: &str,
) -> AppResult<()> {
    diesel::insert_into(outbox::table)
        .values((
            // One key per email: the same email in two tenants is one Authentik user.
            outbox::ordering_key.eq(format!("person:{}", person.email)),
            outbox::tenant_slug.eq(slug),
            outbox::person_id.eq(Some(person.id)),
            outbox::kind.eq(PERSON_CHANGED),
            outbox::payload.eq(serde_json::json!({
                "email": person.email,
                "name": person.name,
                "reason": reason,
            })),
        ))
        .execute(conn)?;
    Ok(())
}

/// A claimed row, ready to deliver.
#[derive(Debug, Clone, QueryableByName)]
pub struct OutboxRow {
    /// Row id.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// The tenant concerned.
    #[diesel(sql_type = Text)]
    pub tenant_slug: String,
    /// The person concerned, for person rows.
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub person_id: Option<Uuid>,
    /// `tenant_created`, `person_changed` or `tenant_deleted`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// Details (a person's email and name at the time).
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub payload: serde_json::Value,
    /// Attempts so far.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempts: i32,
}

/// Claims up to `limit` due rows for worker `me`, the first pending row of each key
/// only, and hides them from other workers for `lease` (renewed by [`renew`] while the
/// worker works; a crashed worker's rows come back when it runs out).
pub fn claim(
    conn: &mut PgConnection,
    me: Uuid,
    limit: i64,
    lease: Duration,
) -> AppResult<Vec<OutboxRow>> {
    let sql = "UPDATE public.authentik_outbox SET next_attempt_at = now() + make_interval(secs => $2), updated_at = now(), claimed_by = $3 \
        WHERE id IN ( \
          SELECT o.id FROM public.authentik_outbox o \
          WHERE o.status = 'pending' AND o.next_attempt_at <= now() \
            AND NOT EXISTS (SELECT 1 FROM public.authentik_outbox e \
              WHERE e.ordering_key = o.ordering_key AND e.status = 'pending' AND e.id < o.id) \
          ORDER BY o.id LIMIT $1 FOR UPDATE SKIP LOCKED) \
        RETURNING id, tenant_slug, person_id, kind, payload, attempts";
    let mut rows: Vec<OutboxRow> = diesel::sql_query(sql)
        .bind::<BigInt, _>(limit)
        .bind::<Double, _>(lease.as_secs_f64())
        .bind::<diesel::sql_types::Uuid, _>(me)
        .load(conn)?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// Extends the lease of the rows worker `me` still holds.
pub fn renew(conn: &mut PgConnection, me: Uuid, ids: &[i64], lease: Duration) -> AppResult<usize> {
    super::lease::renew(conn, super::lease::Queue::Authentik, me, ids, lease)
}

/// The row reached Authentik (a no-op when the claim is no longer `me`'s).
pub fn mark_done(conn: &mut PgConnection, me: Uuid, id: i64) -> AppResult<()> {
    diesel::update(outbox::table.find(id).filter(outbox::claimed_by.eq(me)))
        .set((
            outbox::status.eq("done"),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::last_error.eq(None::<String>),
            outbox::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Tries again after `after`; `counts` says whether this attempt counts towards
/// the limit (outages do not). A no-op when the claim is no longer `me`'s.
pub fn reschedule(
    conn: &mut PgConnection,
    me: Uuid,
    id: i64,
    after: Duration,
    error: &str,
    counts: bool,
) -> AppResult<()> {
    let sql = "UPDATE public.authentik_outbox SET next_attempt_at = now() + make_interval(secs => $2), \
        attempts = attempts + $3, last_error = $4, updated_at = now() WHERE id = $1 AND claimed_by = $5";
    diesel::sql_query(sql)
        .bind::<BigInt, _>(id)
        .bind::<Double, _>(after.as_secs_f64())
        .bind::<diesel::sql_types::Integer, _>(i32::from(counts))
        .bind::<Text, _>(error)
        .bind::<diesel::sql_types::Uuid, _>(me)
        .execute(conn)?;
    Ok(())
}

/// Gives up on a row: an operator has to look at it (`portal authentik status`).
pub fn mark_failed(conn: &mut PgConnection, me: Uuid, id: i64, error: &str) -> AppResult<()> {
    diesel::update(outbox::table.find(id).filter(outbox::claimed_by.eq(me)))
        .set((
            outbox::status.eq("failed"),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::last_error.eq(Some(error)),
            outbox::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Hands claimed rows back, due after `after` (the worker stopped before them).
pub fn release(conn: &mut PgConnection, me: Uuid, ids: &[i64], after: Duration) -> AppResult<()> {
    super::lease::release(conn, super::lease::Queue::Authentik, me, ids, after)
}

/// What waits in the outbox.
#[derive(Debug, Clone, Default, QueryableByName, serde::Serialize)]
pub struct Backlog {
    /// Rows not delivered yet.
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    /// Rows given up on.
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
    /// Age of the oldest pending row, in seconds.
    #[diesel(sql_type = Nullable<Double>)]
    pub oldest_pending_secs: Option<f64>,
}

/// The backlog of one tenant, or of the whole platform.
pub fn backlog(conn: &mut PgConnection, tenant: Option<&str>) -> AppResult<Backlog> {
    let sql = "SELECT count(*) FILTER (WHERE status = 'pending') AS pending, \
          count(*) FILTER (WHERE status = 'failed') AS failed, \
          extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'pending'))::float8 AS oldest_pending_secs \
        FROM public.authentik_outbox WHERE status <> 'done' AND ($1::text IS NULL OR tenant_slug = $1)";
    Ok(diesel::sql_query(sql)
        .bind::<Nullable<Text>, _>(tenant)
        .get_result(conn)?)
}

/// A row an operator should look at.
#[derive(Debug, Clone, QueryableByName)]
pub struct FailedRow {
    /// Row id.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// Tenant.
    #[diesel(sql_type = Text)]
    pub tenant_slug: String,
    /// Kind of change.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// The person's email, for person rows.
    #[diesel(sql_type = Nullable<Text>)]
    pub email: Option<String>,
    /// Attempts made.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempts: i32,
    /// Why the last attempt failed.
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
}

/// The newest failed rows.
pub fn failed(conn: &mut PgConnection, limit: i64) -> AppResult<Vec<FailedRow>> {
    let sql = "SELECT id, tenant_slug, kind, payload->>'email' AS email, attempts, last_error \
        FROM public.authentik_outbox WHERE status = 'failed' ORDER BY id DESC LIMIT $1";
    Ok(diesel::sql_query(sql).bind::<BigInt, _>(limit).load(conn)?)
}

/// Puts failed rows back in the queue (after the operator fixed the cause).
pub fn retry_failed(conn: &mut PgConnection) -> AppResult<usize> {
    Ok(
        diesel::update(outbox::table.filter(outbox::status.eq("failed")))
            .set((
                outbox::status.eq("pending"),
                outbox::attempts.eq(0),
                outbox::next_attempt_at.eq(diesel::dsl::now),
                outbox::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?,
    )
}
