//! The mail worker: sends what the mail queue holds (`models::mail_outbox`), retries
//! with backoff while the mail server fails, gives a message up after
//! `PORTAL_MAIL_MAX_ATTEMPTS`, and trims settled rows. Every `portal serve` runs one;
//! several share the queue.

use std::time::{Duration, Instant};

use tokio::sync::watch;
use uuid::Uuid;

use crate::config::MailQueueSettings;
use crate::db::Db;
use crate::error::AppResult;
use crate::mail::Mailer;
use crate::models::mail_outbox::{self as queue, QueuedMail};

/// Messages claimed at once.
const BATCH: i64 = 16;
/// How long a claim hides a message from other workers unless renewed (every third of
/// it while sending): a crashed worker's messages go out from another within this.
const LEASE: Duration = Duration::from_secs(30);
/// The longest wait between attempts: mail waiting for a server that is back leaves
/// within this.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// Sent and given-up rows are deleted after this long (their bodies already are).
const KEEP_SETTLED: Duration = Duration::from_secs(7 * 24 * 3600);
/// How often settled rows are trimmed.
const TRIM_EVERY: Duration = Duration::from_secs(3600);

/// The mail worker of one portal.
pub struct MailWorker {
    me: Uuid,
    db: Db,
    mailer: Mailer,
    settings: MailQueueSettings,
    lease: Duration,
}

/// Renews a claim until dropped: when a round ends in any way (done, failed, or its
/// task cancelled), the renewals stop and the lease runs out.
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl MailWorker {
    /// A worker over this database and mailer.
    pub fn new(db: Db, mailer: Mailer, settings: MailQueueSettings) -> Self {
        Self {
            me: Uuid::new_v4(),
            db,
            mailer,
            settings,
            lease: LEASE,
        }
    }

    /// The same worker with another claim lease (tests of a crashed worker).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sends until `stop` turns true; the message being sent is finished first, and
    /// the rest of its batch is handed back at once for another worker.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!("mail worker started");
        let mut trimmed = Instant::now() - TRIM_EVERY;
        while !*stop.borrow() {
            if trimmed.elapsed() >= TRIM_EVERY {
                trimmed = Instant::now();
                match self.db.run(|c| queue::trim(c, KEEP_SETTLED)).await {
                    Ok(n) if n > 0 => tracing::info!(rows = n, "settled mail trimmed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "settled mail not trimmed"),
                }
            }
            let handled = match self.round(&stop).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "mail round failed");
                    0
                }
            };
            // A full batch suggests more are due: go on at once.
            if handled < BATCH as usize {
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.poll) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        tracing::info!("mail worker stopped");
    }

    /// Claims and sends one batch; returns how many messages it handled.
    pub async fn round(&self, stop: &watch::Receiver<bool>) -> AppResult<usize> {
        let (me, lease) = (self.me, self.lease);
        let rows = self
            .db
            .run(move |conn| queue::claim(conn, me, BATCH, lease))
            .await?;
        let n = rows.len();
        if n == 0 {
            return Ok(0);
        }
        let _heartbeat = self.keep_claimed(rows.iter().map(|r| r.id).collect());
        self.send_batch(rows, stop).await.map(|()| n)
    }

    /// Renews the claim on `ids` every third of the lease until dropped.
    fn keep_claimed(&self, ids: Vec<i64>) -> Heartbeat {
        let (db, me, lease) = (self.db.clone(), self.me, self.lease);
        Heartbeat(tokio::spawn(async move {
            let mut tick = tokio::time::interval(lease / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                let ids = ids.clone();
                if let Err(e) = db.run(move |c| queue::renew(c, me, &ids, lease)).await {
                    tracing::warn!(error = %e, "mail claim not renewed");
                }
            }
        }))
    }

    /// Sends claimed messages one by one. When the mail server fails, the rest wait as
    /// long as the failed one: a server that is down would fail them all.
    async fn send_batch(
        &self,
        rows: Vec<QueuedMail>,
        stop: &watch::Receiver<bool>,
    ) -> AppResult<()> {
        let me = self.me;
        let mut rest = rows.into_iter();
        while let Some(row) = rest.next() {
            let pause = match self.mailer.send(row.mail()).await {
                Ok(()) => {
                    let id = row.id;
                    self.db.run(move |c| queue::mark_sent(c, me, id)).await?;
                    None
                }
                Err(e) => self.failed(&row, &e.to_string()).await?,
            };
            let hand_back = match pause {
                Some(p) => Some(p),
                None if *stop.borrow() => Some(Duration::ZERO),
                None => None,
            };
            if let Some(after) = hand_back {
                let ids: Vec<i64> = rest.map(|r| r.id).collect();
                self.db
                    .run(move |c| queue::release(c, me, &ids, after))
                    .await?;
                break;
            }
        }
        Ok(())
    }

    /// Records a failed attempt; returns how long the message waits.
    async fn failed(&self, row: &QueuedMail, error: &str) -> AppResult<Option<Duration>> {
        let (me, id) = (self.me, row.id);
        let attempts = row.attempts as u32 + 1;
        let msg = error.to_string();
        if attempts >= self.settings.max_attempts {
            // The subject names the kind of mail; never the body, which holds the link.
            tracing::error!(row = id, subject = %row.subject, attempts, error = %msg,
                "mail given up after too many attempts");
            self.db
                .run(move |c| queue::mark_dead(c, me, id, &msg))
                .await?;
            return Ok(Some(self.settings.backoff));
        }
        let wait = backoff(self.settings.backoff, attempts - 1);
        tracing::warn!(row = id, attempts, error = %msg, retry_in = ?wait, "mail not sent; will retry");
        self.db
            .run(move |c| queue::reschedule(c, me, id, wait, &msg))
            .await?;
        Ok(Some(wait))
    }
}

/// `base` doubled `n` times, at most [`MAX_BACKOFF`].
fn backoff(base: Duration, n: u32) -> Duration {
    base.saturating_mul(1u32 << n.min(20)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_quarter_hour() {
        let base = Duration::from_secs(5);
        assert_eq!(backoff(base, 0), base);
        assert_eq!(backoff(base, 3), Duration::from_secs(40));
        assert_eq!(backoff(base, 30), MAX_BACKOFF);
    }
}
