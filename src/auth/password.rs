//! bcrypt hashing and checking, always on the blocking pool: a cost-12 hash takes a
//! quarter of a second of CPU, which would stall every request on an async worker.
//!
//! At most `AUTH_PASSWORD_HASH_THREADS` passwords are hashed at once and at most
//! `AUTH_PASSWORD_HASH_QUEUE` wait for a turn: a flood of sign-ins cannot take every
//! core from the pages, nor build a queue nobody will live to see the end of. Past
//! the queue the answer is 503 with Retry-After, at once.

use std::sync::Arc;

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
    /// Turns to hash: one per thread.
    threads: Arc<Semaphore>,
    /// Places, running or waiting: threads + queue.
    places: Arc<Semaphore>,
}

/// A place in the line for a thread, then the thread itself.
struct Turn {
    _place: OwnedSemaphorePermit,
    _thread: OwnedSemaphorePermit,
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
            threads: Arc::new(Semaphore::new(threads)),
            places: Arc::new(Semaphore::new(threads + queue)),
        })
    }

    /// A hasher for command-line tools, which hash one password at a time.
    pub fn single(cost: u32) -> anyhow::Result<Self> {
        Self::new(cost, 1, 0)
    }

    /// Waits for a thread, or refuses at once when the line is full.
    async fn turn(&self) -> AppResult<Turn> {
        let place = Arc::clone(&self.places)
            .try_acquire_owned()
            .map_err(|_| AppError::Busy("checking passwords"))?;
        let thread = Arc::clone(&self.threads)
            .acquire_owned()
            .await
            .map_err(AppError::internal)?;
        Ok(Turn {
            _place: place,
            _thread: thread,
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
