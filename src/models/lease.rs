//! The claim leases shared by the durable queues (`mail_outbox`, `authentik_outbox`):
//! a worker holds a row while its `next_attempt_at` lies ahead and `claimed_by` names
//! it, renews that while it works, and hands unfinished rows back when it stops.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double};
use uuid::Uuid;

use crate::error::AppResult;

/// A queue table with claim leases.
#[derive(Debug, Clone, Copy)]
pub enum Queue {
    /// `public.mail_outbox`.
    Mail,
    /// `public.authentik_outbox`.
    Authentik,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Queue::Mail => "public.mail_outbox",
            Queue::Authentik => "public.authentik_outbox",
        }
    }
}

/// Extends the lease of the rows worker `me` still holds; returns how many.
pub fn renew(
    conn: &mut PgConnection,
    queue: Queue,
    me: Uuid,
    ids: &[i64],
    lease: Duration,
) -> AppResult<usize> {
    let sql = format!(
        "UPDATE {} SET next_attempt_at = now() + make_interval(secs => $3) \
         WHERE id = ANY($1) AND claimed_by = $2 AND status = 'pending'",
        queue.table()
    );
    Ok(diesel::sql_query(sql)
        .bind::<Array<BigInt>, _>(ids)
        .bind::<diesel::sql_types::Uuid, _>(me)
        .bind::<Double, _>(lease.as_secs_f64())
        .execute(conn)?)
}

/// Hands claimed rows back, due after `after` (the worker stopped before them).
pub fn release(
    conn: &mut PgConnection,
    queue: Queue,
    me: Uuid,
    ids: &[i64],
    after: Duration,
) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    renew(conn, queue, me, ids, after)?;
    Ok(())
}
