//! bcrypt hashing and checking, always on the blocking pool: a cost-12 hash takes a
//! quarter of a second of CPU, which would stall every request on an async worker.
//!
//! At most `AUTH_PASSWORD_HASH_THREADS` passwords are hashed at once and at most
//! `AUTH_PASSWORD_HASH_QUEUE` wait for a turn: a flood of sign-ins cannot build a queue
//! nobody will live to see the end of. Past the queue the answer is 503 with
//! Retry-After, at once.
//!
//! Pages come first: while the portal is serving requests that hash nothing (any
//! answered in the last `QUIET`), passwords are hashed one at a time, and the other
//! cores are left to the pages. A sign-in flood alone still uses every thread. With
//! every thread hashing, the scheduler shares the cores evenly and a page waits behind
//! the hashes now and then for tens of milliseconds; one at a time keeps it within a
//! few. When pages begin while several passwords are being hashed, no new hash starts
//! until those are done (a running hash cannot be paused).

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::NewPassword;
use crate::error::{AppError, AppResult};

/// Hashes and verifies passwords at the configured cost.
#[derive(Clone)]
pub struct PasswordHasher {
    cost: u32,
    /// A hash of a random password at the same cost, checked when the email is unknown
    /// so that a wrong email costs as long as a wrong password.
    dummy_hash: Arc<String>,
    /// The turn to hash that is always there.
    first: Arc<Semaphore>,
    /// The other threads' turns, taken only while no page is being served.
    others: Arc<Semaphore>,
    /// Places, running or waiting: threads + queue.
    places: Arc<Semaphore>,
    pages: Arc<Pages>,
    /// Passwords being hashed now.
    running: Arc<AtomicUsize>,
}

/// How long after the last page the portal counts as serving none: long enough that
/// pages a few tenths of a second apart keep a core, short enough that a probe now and
/// then costs a flood of sign-ins little.
const QUIET: Duration = Duration::from_millis(500);

/// How often a turn kept for when pages are quiet looks again.
const LOOK_AGAIN: Duration = Duration::from_millis(5);

tokio::task_local! {
    /// Whether the request being served has waited for a turn to hash.
    static HASHES: Cell<bool>;
}

/// When the last request that hashed nothing was answered.
struct Pages {
    since: Instant,
    /// Nanoseconds from `since`; 0 for never.
    last: AtomicU64,
}

impl Pages {
    fn note(&self) {
        let now = self.since.elapsed().as_nanos().max(1) as u64;
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    fn busy(&self) -> bool {
        let last = self.last.load(Ordering::Relaxed);
        last != 0 && self.since.elapsed().as_nanos() < u128::from(last) + QUIET.as_nanos()
    }
}

/// A place in the line for a thread, then the thread itself.
struct Turn {
    _place: OwnedSemaphorePermit,
    _thread: OwnedSemaphorePermit,
    running: Arc<AtomicUsize>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.running.fetch_sub(1, Ordering::Relaxed);
    }
}

impl PasswordHasher {
    /// Prepares a hasher that hashes on `threads` threads with `queue` more waiting;
    /// computes the dummy hash once (blocking: call at start-up).
    pub fn new(cost: u32, threads: usize, queue: usize) -> anyhow::Result<Self> {
        let dummy = uuid::Uuid::new_v4().to_string();
        let dummy_hash = bcrypt::hash(dummy, cost)?;
        let threads = threads.max(1);
        Ok(Self {
            cost,
            dummy_hash: Arc::new(dummy_hash),
            first: Arc::new(Semaphore::new(1)),
            others: Arc::new(Semaphore::new(threads - 1)),
            places: Arc::new(Semaphore::new(threads + queue)),
            pages: Arc::new(Pages {
                since: Instant::now(),
                last: AtomicU64::new(0),
            }),
            running: Arc::default(),
        })
    }

    /// A hasher for command-line tools, which hash one password at a time.
    pub fn single(cost: u32) -> anyhow::Result<Self> {
        Self::new(cost, 1, 0)
    }

    /// Serves one request: unless it hashed a password, it counts as a page, and
    /// passwords hash one at a time for a moment (see the module's documentation).
    pub async fn serve<F: Future>(&self, request: F) -> F::Output {
        let (out, hashed) = HASHES
            .scope(Cell::new(false), async {
                let out = request.await;
                (out, HASHES.with(Cell::get))
            })
            .await;
        if !hashed {
            self.pages.note();
        }
        out
    }

    /// Waits for a thread, or refuses at once when the line is full.
    async fn turn(&self) -> AppResult<Turn> {
        let _ = HASHES.try_with(|h| h.set(true));
        let place = Arc::clone(&self.places)
            .try_acquire_owned()
            .map_err(|_| AppError::Busy("checking passwords"))?;
        let first = Arc::clone(&self.first).acquire_owned();
        let other = async {
            let turn = Arc::clone(&self.others).acquire_owned().await?;
            while self.pages.busy() {
                tokio::time::sleep(LOOK_AGAIN).await;
            }
            Ok(turn)
        };
        // Whichever comes first; the other gives its turn (or its place in that line)
        // back as it is dropped.
        let thread = tokio::select! {
            biased;
            turn = first => turn,
            turn = other => turn,
        }
        .map_err(AppError::internal)?;
        // Pages that began while several passwords were hashing: the next waits until
        // those are done, so that the pages share the cores with one hash only.
        while self.pages.busy() && self.running.load(Ordering::Relaxed) > 0 {
            tokio::time::sleep(LOOK_AGAIN).await;
        }
        self.running.fetch_add(1, Ordering::Relaxed);
        Ok(Turn {
            _place: place,
            _thread: thread,
            running: Arc::clone(&self.running),
        })
    }

    /// The bcrypt cost in use.
    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: &NewPassword) -> AppResult<String> {
        let secret = SecretString::from(password.expose().to_string());
        let cost = self.cost;
        let turn = self.turn().await?;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            bcrypt::hash(secret.expose_secret(), cost)
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
    }

    /// Hashes a new password on the current thread (command-line tools).
    pub fn hash_blocking(&self, password: &NewPassword) -> anyhow::Result<String> {
        Ok(bcrypt::hash(password.expose(), self.cost)?)
    }

    /// Checks a submitted password against a stored hash; with no hash (unknown person,
    /// SSO-only account) it still spends the same time and answers false.
    pub async fn verify(&self, password: SecretString, hash: Option<String>) -> AppResult<bool> {
        let dummy = Arc::clone(&self.dummy_hash);
        let turn = self.turn().await?;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let candidate = password.expose_secret();
            // Longer input than bcrypt reads can never have been set through the portal.
            let too_long = candidate.len() > crate::domain::password::BCRYPT_MAX_BYTES;
            match hash {
                Some(h) if !too_long => bcrypt::verify(candidate, &h).unwrap_or(false),
                _ => {
                    let probe = &candidate[..floor_char_boundary(candidate, 72)];
                    let _ = bcrypt::verify(probe, &dummy);
                    false
                }
            }
        })
        .await
        .map_err(AppError::internal)
    }
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    let mut i = max.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(threads: usize) -> PasswordHasher {
        PasswordHasher::new(4, threads, 8).expect("a hasher")
    }

    async fn soon<F: Future>(f: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(5), f)
            .await
            .expect("done in time")
    }

    #[tokio::test]
    async fn with_no_pages_served_every_thread_hashes_at_once() {
        let h = hasher(2);
        let _first = soon(h.turn()).await.expect("a turn");
        let _second = soon(h.turn()).await.expect("the second thread's turn");
    }

    /// A turn asked for in the background.
    fn waiting_turn(h: &PasswordHasher) -> tokio::task::JoinHandle<AppResult<()>> {
        let h = h.clone();
        tokio::spawn(async move { h.turn().await.map(|_| ()) })
    }

    /// `count` pages, `gap` apart.
    async fn pages(h: &PasswordHasher, count: usize, gap: Duration) {
        for _ in 0..count {
            h.serve(async {}).await;
            tokio::time::sleep(gap).await;
        }
    }

    #[tokio::test]
    async fn while_pages_are_served_passwords_hash_one_at_a_time() {
        let h = hasher(2);
        h.serve(async {}).await;
        let first = soon(h.turn()).await.expect("a turn");
        let second = waiting_turn(&h);
        // Pages keep coming for longer than the quiet time: the second waits.
        pages(&h, 15, QUIET / 10).await;
        assert!(!second.is_finished(), "a second hash ran beside the pages");
        // The first hash done, the next takes its turn at once.
        drop(first);
        soon(second).await.expect("joined").expect("a turn");
    }

    #[tokio::test]
    async fn once_pages_are_quiet_the_other_threads_hash_again() {
        let h = hasher(2);
        h.serve(async {}).await;
        let _first = soon(h.turn()).await.expect("a turn");
        let started = Instant::now();
        let _second = soon(h.turn()).await.expect("the second thread's turn");
        assert!(
            started.elapsed() >= QUIET / 2,
            "it did not wait for the pages"
        );
    }

    #[tokio::test]
    async fn pages_that_begin_while_several_hash_wait_for_those_before_the_next() {
        let h = hasher(2);
        let first = soon(h.turn()).await.expect("a turn");
        let other = soon(h.turn()).await.expect("the second thread's turn");
        // Pages begin; the first hash is done, the other still running.
        h.serve(async {}).await;
        drop(first);
        let next = waiting_turn(&h);
        pages(&h, 5, QUIET / 20).await;
        assert!(
            !next.is_finished(),
            "a hash started beside another and the pages"
        );
        drop(other);
        soon(next).await.expect("joined").expect("a turn");
    }

    #[tokio::test]
    async fn a_request_that_checks_a_password_is_not_a_page() {
        let h = hasher(2);
        let checked = h
            .serve(h.verify(SecretString::from("a guess".to_string()), None))
            .await;
        assert!(!checked.expect("an answer"));
        assert!(!h.pages.busy());
        h.serve(async {}).await;
        assert!(h.pages.busy());
    }
}
