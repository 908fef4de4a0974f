//! Redis that fails fast: every command of one portal's Redis connection goes through
//! a deadline and a short circuit breaker, shared by everything that uses that
//! connection (session store, session index, rate limiter, sign-in state) and by
//! nothing else — each portal in a process has its own.
//!
//! While Redis is down, a few commands find out the slow way; then the breaker opens
//! and for a moment every command fails at once (a signed-in page answers 503 at
//! once, the rate limiter counts in the process), after which one command tries again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Value};

/// How long one command may take: Redis answers in well under a millisecond, so this
/// is only ever reached when it is gone (a lost connection is noticed by waiting).
pub const COMMAND_DEADLINE: Duration = Duration::from_millis(250);
/// Failures in a row that open the breaker.
const THRESHOLD: u32 = 3;
/// How long an open breaker refuses commands before one trial.
const OPEN_FOR: Duration = Duration::from_secs(1);

/// The breaker's state, shared by every clone of one connection.
#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
    /// A trial command is under way: the others still fail at once.
    trial: bool,
}

impl Breaker {
    /// Whether a command may go out at `now`; after the pause, one trial does.
    fn admit(&mut self, now: Instant) -> bool {
        match self.open_until {
            None => true,
            Some(t) if now < t || self.trial => false,
            Some(_) => {
                self.trial = true;
                true
            }
        }
    }

    /// Records how a command that went out ended.
    fn record(&mut self, ok: bool, now: Instant) {
        self.trial = false;
        if ok {
            self.failures = 0;
            self.open_until = None;
        } else {
            self.failures = self.failures.saturating_add(1);
            if self.failures >= THRESHOLD || self.open_until.is_some() {
                self.open_until = Some(now + OPEN_FOR);
            }
        }
    }
}

#[derive(Debug, Default)]
struct Shared {
    breaker: Mutex<Breaker>,
    errors: AtomicU64,
}

/// A Redis connection whose commands fail fast (see the module). Used wherever a
/// `ConnectionManager` would be: it is a `ConnectionLike`.
#[derive(Clone)]
pub struct GatedRedis {
    conn: ConnectionManager,
    shared: Arc<Shared>,
}

impl GatedRedis {
    /// Gates a connection with a breaker of its own.
    pub fn new(conn: ConnectionManager) -> Self {
        Self {
            conn,
            shared: Arc::new(Shared::default()),
        }
    }

    /// Whether the breaker is refusing commands now.
    pub fn is_open(&self) -> bool {
        self.shared
            .breaker
            .lock()
            .map(|b| b.open_until.is_some_and(|t| Instant::now() < t))
            .unwrap_or(false)
    }

    /// Commands that failed (or were refused by the breaker) since start.
    pub fn errors(&self) -> u64 {
        self.shared.errors.load(Ordering::Relaxed)
    }

    /// May a command go out now? Opens the way for one trial after the pause.
    fn admit(&self) -> bool {
        match self.shared.breaker.lock() {
            Ok(mut b) => b.admit(Instant::now()),
            Err(_) => true,
        }
    }

    fn record(&self, ok: bool) {
        if !ok {
            self.shared.errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut b) = self.shared.breaker.lock() {
            b.record(ok, Instant::now());
        }
    }

    async fn gated<T>(
        &self,
        fut: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> redis::RedisResult<T> {
        if !self.admit() {
            self.shared.errors.fetch_add(1, Ordering::Relaxed);
            return Err(RedisError::from((
                ErrorKind::IoError,
                "Redis is unavailable (circuit open)",
            )));
        }
        let result = match tokio::time::timeout(COMMAND_DEADLINE, fut).await {
            Ok(r) => r,
            Err(_) => Err(RedisError::from((
                ErrorKind::IoError,
                "Redis did not answer in time",
            ))),
        };
        // Only the connection's failures count: an error Redis answers with (a wrong
        // type, an unknown script) says Redis is up.
        let broken = match &result {
            Ok(_) => false,
            Err(e) => {
                e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                    || e.is_unrecoverable_error()
            }
        };
        self.record(!broken);
        result
    }
}

impl ConnectionLike for GatedRedis {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            self.gated(conn.req_packed_command(cmd)).await
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            self.gated(conn.req_packed_commands(cmd, offset, count))
                .await
        })
    }

    fn get_db(&self) -> i64 {
        self.conn.get_db()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_three_failures_and_lets_one_trial_through_after_the_pause() {
        let mut b = Breaker::default();
        let t0 = Instant::now();
        for _ in 0..THRESHOLD - 1 {
            assert!(b.admit(t0));
            b.record(false, t0);
        }
        assert!(b.admit(t0), "still closed below the threshold");
        b.record(false, t0);
        assert!(!b.admit(t0), "open after the threshold");
        assert!(!b.admit(t0 + OPEN_FOR / 2));
        let later = t0 + OPEN_FOR + Duration::from_millis(1);
        assert!(b.admit(later), "one trial after the pause");
        assert!(!b.admit(later), "only one");
        b.record(false, later);
        assert!(!b.admit(later), "a failed trial opens it again");
        let again = later + OPEN_FOR + Duration::from_millis(1);
        assert!(b.admit(again));
        b.record(true, again);
        assert!(b.admit(again) && b.admit(again), "a good trial closes it");
    }
}
