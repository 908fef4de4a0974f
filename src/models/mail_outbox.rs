//! The mail queue: messages written in the same transaction as what they announce,
//! sent later by the mail worker, retried with backoff, given up after a number of
//! tries. Several portal instances share the work (`FOR UPDATE SKIP LOCKED`); a claim
//! is a short lease its worker renews, and a worker's writes apply only while the
//! claim is still its own.
//!
//! A body may hold a live link (reset, invitation, verification): it is never logged
//! (the row's `Debug` leaves it out) and it is emptied as soon as the mail has left.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Text};
use uuid::Uuid;

use crate::db::schema::public::mail_outbox as outbox;
use crate::error::AppResult;
use crate::mail::Mail;

/// Queues a message inside the caller's transaction: it leaves only if the
/// transaction commits, and it is not lost once it has.
pub fn enqueue(conn: &mut PgConnection, mail: &Mail) -> AppResult<()> {
    diesel::insert_into(outbox::table)
        .values((
            outbox::recipient.eq(&mail.to),
            outbox::subject.eq(&mail.subject),
            outbox::body.eq(&mail.body),
        ))
        .execute(conn)?;
    Ok(())
}

/// A claimed message, ready to send.
#[derive(Clone, QueryableByName)]
pub struct QueuedMail {
    /// Row id.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// Recipient address.
    #[diesel(sql_type = Text)]
    pub recipient: String,
    /// Subject line.
    #[diesel(sql_type = Text)]
    pub subject: String,
    /// Plain-text body (may hold a live link).
    #[diesel(sql_type = Text)]
    pub body: String,
    /// Attempts so far.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

impl std::fmt::Debug for QueuedMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedMail")
            .field("id", &self.id)
            .field("subject", &self.subject)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl QueuedMail {
    /// The message to hand to the transport.
    pub fn mail(&self) -> Mail {
        Mail {
            to: self.recipient.clone(),
            subject: self.subject.clone(),
            body: self.body.clone(),
        }
    }
}

/// Claims up to `limit` due messages for worker `me` and hides them from other
/// workers for `lease` (renewed by [`renew`]; a crashed worker's rows come back when it
/// runs out).
pub fn claim(
    conn: &mut PgConnection,
    me: Uuid,
    limit: i64,
    lease: Duration,
) -> AppResult<Vec<QueuedMail>> {
    let sql = "UPDATE public.mail_outbox SET next_attempt_at = now() + make_interval(secs => $2), \
          updated_at = now(), claimed_by = $3 \
        WHERE id IN (SELECT id FROM public.mail_outbox \
          WHERE status = 'pending' AND next_attempt_at <= now() \
          ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) \
        RETURNING id, recipient, subject, body, attempts";
    let mut rows: Vec<QueuedMail> = diesel::sql_query(sql)
        .bind::<BigInt, _>(limit)
        .bind::<Double, _>(lease.as_secs_f64())
        .bind::<diesel::sql_types::Uuid, _>(me)
        .load(conn)?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// Extends the lease of the rows worker `me` still holds.
pub fn renew(conn: &mut PgConnection, me: Uuid, ids: &[i64], lease: Duration) -> AppResult<usize> {
    super::lease::renew(conn, super::lease::Queue::Mail, me, ids, lease)
}

/// The message left: its body (and any link in it) is dropped at once. Returns false
/// when the claim was no longer `me`'s.
pub fn mark_sent(conn: &mut PgConnection, me: Uuid, id: i64) -> AppResult<bool> {
    let n = diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::claimed_by.eq(me))
            .filter(outbox::status.eq("pending")),
    )
    .set((
        outbox::status.eq("sent"),
        outbox::body.eq(""),
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::last_error.eq(None::<String>),
        outbox::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Tries again after `after` (a no-op when the claim is no longer `me`'s).
pub fn reschedule(
    conn: &mut PgConnection,
    me: Uuid,
    id: i64,
    after: Duration,
    error: &str,
) -> AppResult<()> {
    let sql = "UPDATE public.mail_outbox SET next_attempt_at = now() + make_interval(secs => $2), \
        attempts = attempts + 1, last_error = $3, updated_at = now() \
        WHERE id = $1 AND claimed_by = $4 AND status = 'pending'";
    diesel::sql_query(sql)
        .bind::<BigInt, _>(id)
        .bind::<Double, _>(after.as_secs_f64())
        .bind::<Text, _>(error)
        .bind::<diesel::sql_types::Uuid, _>(me)
        .execute(conn)?;
    Ok(())
}

/// Gives up on a message after too many tries; its link is dropped with the body.
pub fn mark_dead(conn: &mut PgConnection, me: Uuid, id: i64, error: &str) -> AppResult<()> {
    diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::claimed_by.eq(me))
            .filter(outbox::status.eq("pending")),
    )
    .set((
        outbox::status.eq("dead"),
        outbox::body.eq(""),
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::last_error.eq(Some(error)),
        outbox::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?;
    Ok(())
}

/// Hands claimed rows back, due after `after` (the worker stopped before them).
pub fn release(conn: &mut PgConnection, me: Uuid, ids: &[i64], after: Duration) -> AppResult<()> {
    super::lease::release(conn, super::lease::Queue::Mail, me, ids, after)
}

/// Deletes sent and dead rows settled longer than `older_than` ago; returns how many.
pub fn trim(conn: &mut PgConnection, older_than: Duration) -> AppResult<usize> {
    let sql = "DELETE FROM public.mail_outbox WHERE status <> 'pending' \
        AND updated_at < now() - make_interval(secs => $1)";
    Ok(diesel::sql_query(sql)
        .bind::<Double, _>(older_than.as_secs_f64())
        .execute(conn)?)
}

/// What waits in the mail queue.
#[derive(Debug, Clone, Default, QueryableByName, serde::Serialize)]
pub struct MailBacklog {
    /// Messages not sent yet.
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    /// Messages given up on (kept until trimmed).
    #[diesel(sql_type = BigInt)]
    pub dead: i64,
    /// Age of the oldest pending message, in seconds.
    #[diesel(sql_type = Nullable<Double>)]
    pub oldest_pending_secs: Option<f64>,
}

/// The backlog of the whole platform.
pub fn backlog(conn: &mut PgConnection) -> AppResult<MailBacklog> {
    let sql = "SELECT count(*) FILTER (WHERE status = 'pending') AS pending, \
          count(*) FILTER (WHERE status = 'dead') AS dead, \
          extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'pending'))::float8 \
            AS oldest_pending_secs \
        FROM public.mail_outbox WHERE status <> 'sent'";
    Ok(diesel::sql_query(sql).get_result(conn)?)
}
