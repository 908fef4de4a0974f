//! bcrypt hashing and checking, always on the blocking pool: a cost-12 hash takes a
//! quarter of a second of CPU, which would stall every request on an async worker.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::domain::NewPassword;
use crate::error::{AppError, AppResult};

/// Hashes and verifies passwords at the configured cost.
#[derive(Clone)]
pub struct PasswordHasher {
    cost: u32,
    /// A hash of a random password at the same cost, checked when the email is unknown
    /// so that a wrong email costs as long as a wrong password.
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    /// Prepares a hasher; computes the dummy hash once (blocking: call at start-up).
    pub fn new(cost: u32) -> anyhow::Result<Self> {
        let dummy = uuid::Uuid::new_v4().to_string();
        let dummy_hash = bcrypt::hash(dummy, cost)?;
        Ok(Self {
            cost,
            dummy_hash: Arc::new(dummy_hash),
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
        tokio::task::spawn_blocking(move || bcrypt::hash(secret.expose_secret(), cost))
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
        tokio::task::spawn_blocking(move || {
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
