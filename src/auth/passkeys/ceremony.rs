//! Passkey ceremonies in progress: the WebAuthn library's state of one registration or
//! sign-in (its challenge), kept in Redis for at most five minutes under a random
//! handle that only the person's server-side session knows. `take` reads and deletes
//! it in one command (GETDEL), so a challenge is answered at most once, whether the
//! answer was right or wrong, even by two requests racing each other.

use std::time::Duration;

use serde::{Serialize, de::DeserializeOwned};

use crate::auth::redis_gate::GatedRedis;
use crate::auth::session_store::with_deadline;
use crate::error::{AppError, AppResult};

/// How long a person has to answer a challenge.
pub const CEREMONY_TTL: Duration = Duration::from_secs(300);

/// What a ceremony is for; a handle of one kind never opens another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// Adding a passkey on the profile.
    Register,
    /// Signing in with a passkey alone.
    SignIn,
    /// A signed-in person (or one half-way through signing in) confirming with a
    /// passkey they registered.
    Confirm,
}

impl Ceremony {
    /// The name used in keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::SignIn => "sign-in",
            Self::Confirm => "confirm",
        }
    }
}

/// The Redis side of passkey ceremonies: `<REDIS_KEY_PREFIX>:webauthn:<kind>:<handle>`.
#[derive(Clone)]
pub struct Ceremonies {
    redis: GatedRedis,
    prefix: String,
}

impl Ceremonies {
    /// Ceremonies under this deployment's key prefix.
    pub fn new(redis: GatedRedis, prefix: &str) -> Self {
        Self {
            redis,
            prefix: prefix.to_string(),
        }
    }

    fn key(&self, kind: Ceremony, handle: &str) -> String {
        // The handle is stored hashed, like session ids: a dump of Redis holds no handle.
        format!(
            "{}:webauthn:{}:{}",
            self.prefix,
            kind.as_str(),
            crate::crypto::hash_token(handle)
        )
    }

    /// Keeps a ceremony's state; the handle to give the person's session.
    pub async fn put<T: Serialize>(&self, kind: Ceremony, state: &T) -> AppResult<String> {
        let (handle, _) = crate::crypto::generate_token();
        let json = serde_json::to_string(state).map_err(AppError::internal)?;
        let mut conn = self.redis.clone();
        with_deadline(
            redis::cmd("SET")
                .arg(self.key(kind, &handle))
                .arg(json)
                .arg("EX")
                .arg(CEREMONY_TTL.as_secs())
                .query_async::<()>(&mut conn),
        )
        .await
        .map_err(|_| AppError::Unavailable("session store"))?;
        Ok(handle)
    }

    /// Takes a ceremony's state out, once: none when it expired, was used already, or
    /// never existed.
    pub async fn take<T: DeserializeOwned>(
        &self,
        kind: Ceremony,
        handle: &str,
    ) -> AppResult<Option<T>> {
        let mut conn = self.redis.clone();
        let json: Option<String> = with_deadline(
            redis::cmd("GETDEL")
                .arg(self.key(kind, handle))
                .query_async(&mut conn),
        )
        .await
        .map_err(|_| AppError::Unavailable("session store"))?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }
}
