//! Sessions in Redis, behind actix-session's `SessionStore`.
//!
//! Written for the portal rather than taken from actix-session so that every Redis
//! call has a deadline (a dead Redis answers 503 quickly instead of hanging), keys are
//! stored hashed (a Redis dump reveals no usable session id), and the portal can list
//! and end a person's sessions.

use std::{collections::HashMap, future::Future, time::Duration};

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use rand::{Rng, distributions::Alphanumeric};
use redis::{AsyncCommands, aio::ConnectionManager};

use crate::auth::redis_gate::GatedRedis;
use sha2::{Digest, Sha256};

/// The deadline of one Redis command.
const REDIS_DEADLINE: Duration = Duration::from_secs(2);

/// Connects to Redis with short timeouts and a quick reconnect, behind a breaker of
/// this connection's own.
pub async fn connect(url: &str) -> anyhow::Result<GatedRedis> {
    let client = redis::Client::open(url)?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Duration::from_millis(100))
        .set_response_timeout(crate::auth::redis_gate::COMMAND_DEADLINE)
        .set_number_of_retries(1)
        .set_max_delay(500);
    let conn = tokio::time::timeout(
        Duration::from_secs(5),
        ConnectionManager::new_with_config(client, config),
    )
    .await
    .map_err(|_| anyhow::anyhow!("timed out connecting to Redis"))??;
    Ok(GatedRedis::new(conn))
}

/// Runs one Redis operation with the deadline.
pub async fn with_deadline<T>(
    fut: impl Future<Output = redis::RedisResult<T>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(REDIS_DEADLINE, fut).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(anyhow::anyhow!(
            "Redis did not answer within {REDIS_DEADLINE:?}"
        )),
    }
}

/// How long a person's session index lives after its last write; longer than any
/// session can.
const INDEX_TTL_SECS: i64 = 31 * 24 * 3600;

/// Where one deployment keeps its sessions in Redis: `<REDIS_KEY_PREFIX>:session:…`
/// and `<REDIS_KEY_PREFIX>:user-sessions:…`, so deployments sharing a Redis database
/// never see each other's sessions.
#[derive(Clone, Debug)]
pub struct SessionKeys {
    prefix: String,
}

impl SessionKeys {
    /// The key space under `REDIS_KEY_PREFIX`.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
        }
    }

    /// The Redis key of a session: its id, hashed, so a dump reveals no usable id.
    fn session(&self, key: &SessionKey) -> String {
        let digest = Sha256::digest(key.as_ref().as_bytes());
        format!("{}:session:{}", self.prefix, hex::encode(digest))
    }

    /// The set of a person's session keys.
    fn person(&self, tenant: uuid::Uuid, user: uuid::Uuid) -> String {
        format!("{}:user-sessions:{tenant}:{user}", self.prefix)
    }
}

/// The session key under which the signed-in person is kept (`web::session::Identity`:
/// it carries `tid`, `uid`, `role`, `sid`, `device`, `iat` and `seen`, which the index
/// reads).
pub const IDENTITY_KEY: &str = "identity";

fn owner(state: &HashMap<String, String>) -> Option<(uuid::Uuid, uuid::Uuid)> {
    let identity: serde_json::Value = serde_json::from_str(state.get(IDENTITY_KEY)?).ok()?;
    let tid = identity.get("tid")?.as_str()?.parse().ok()?;
    let uid = identity.get("uid")?.as_str()?.parse().ok()?;
    Some((tid, uid))
}

/// One live session of a person, as their profile lists it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LiveSession {
    /// The session's handle (not its id).
    #[serde(default)]
    pub sid: String,
    /// The browser, when known.
    #[serde(default)]
    pub device: Option<String>,
    /// The address it was first used from, when known.
    #[serde(default)]
    pub ip: Option<String>,
    /// Unix time of sign-in.
    pub iat: i64,
    /// Unix time of last use (to the minute).
    pub seen: i64,
}

/// The sessions of each person, for what is done to all of a person's sessions at
/// once: end them (password reset, deactivation), give them a new role, list them.
/// The only code besides the store itself that touches stored sessions.
#[derive(Clone)]
pub struct SessionIndex {
    conn: GatedRedis,
    keys: SessionKeys,
}

impl SessionIndex {
    /// An index over the session store's Redis and key space.
    pub fn new(conn: GatedRedis, keys: SessionKeys) -> Self {
        Self { conn, keys }
    }

    /// Ends every session of one person of one tenant; returns how many were live.
    pub async fn end_all(&self, tenant: uuid::Uuid, user: uuid::Uuid) -> anyhow::Result<usize> {
        let mut conn = self.conn.clone();
        let index = self.keys.person(tenant, user);
        let keys: Vec<String> = with_deadline(conn.smembers(&index)).await?;
        let mut pipe = redis::pipe();
        for k in &keys {
            pipe.del(k);
        }
        pipe.del(&index);
        let deleted: Vec<usize> = with_deadline(pipe.query_async(&mut conn)).await?;
        Ok(deleted.iter().take(keys.len()).sum())
    }

    /// Sets a new role in every live session of one person, keeping each session's
    /// lifetime, so a role change shows on their next request without a database read on
    /// every page. Returns how many sessions were updated.
    pub async fn set_role(
        &self,
        tenant: uuid::Uuid,
        user: uuid::Uuid,
        role: &str,
    ) -> anyhow::Result<usize> {
        let mut conn = self.conn.clone();
        let keys: Vec<String> =
            with_deadline(conn.smembers(self.keys.person(tenant, user))).await?;
        let mut updated = 0;
        for key in keys {
            let raw: Option<String> = with_deadline(conn.get(&key)).await?;
            let Some(raw) = raw else { continue };
            let mut state: HashMap<String, String> = serde_json::from_str(&raw)?;
            let Some(identity) = state.get(IDENTITY_KEY) else {
                continue;
            };
            let mut identity: serde_json::Value = serde_json::from_str(identity)?;
            identity["role"] = serde_json::Value::String(role.to_string());
            state.insert(IDENTITY_KEY.into(), identity.to_string());
            let body = serde_json::to_string(&state)?;
            // XX: only if the session still exists; KEEPTTL: its deadline stays.
            let set: Option<String> = with_deadline(
                redis::cmd("SET")
                    .arg(&key)
                    .arg(body)
                    .arg("XX")
                    .arg("KEEPTTL")
                    .query_async(&mut conn),
            )
            .await?;
            updated += usize::from(set.is_some());
        }
        Ok(updated)
    }

    /// The live sessions of one person, newest use first, with their Redis keys. Index
    /// entries of sessions that have expired are dropped on the way.
    pub async fn list(
        &self,
        tenant: uuid::Uuid,
        user: uuid::Uuid,
    ) -> anyhow::Result<Vec<(String, LiveSession)>> {
        let mut conn = self.conn.clone();
        let index = self.keys.person(tenant, user);
        let keys: Vec<String> = with_deadline(conn.smembers(&index)).await?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<Option<String>> = with_deadline(conn.mget(&keys)).await?;
        let mut live = Vec::new();
        let mut dead = Vec::new();
        for (key, value) in keys.into_iter().zip(values) {
            let parsed = value
                .and_then(|raw| serde_json::from_str::<HashMap<String, String>>(&raw).ok())
                .and_then(|state| {
                    serde_json::from_str::<LiveSession>(state.get(IDENTITY_KEY)?).ok()
                });
            match parsed {
                Some(s) => live.push((key, s)),
                None => dead.push(key),
            }
        }
        if !dead.is_empty() {
            with_deadline(conn.srem::<_, _, ()>(&index, dead)).await?;
        }
        live.sort_by_key(|(_, s)| std::cmp::Reverse(s.seen));
        Ok(live)
    }

    /// Ends the sessions of one person that `end` picks; returns how many ended.
    pub async fn end_where(
        &self,
        tenant: uuid::Uuid,
        user: uuid::Uuid,
        end: impl Fn(&LiveSession) -> bool,
    ) -> anyhow::Result<usize> {
        let doomed: Vec<String> = self
            .list(tenant, user)
            .await?
            .into_iter()
            .filter(|(_, s)| end(s))
            .map(|(k, _)| k)
            .collect();
        if doomed.is_empty() {
            return Ok(0);
        }
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.del(&doomed)
            .srem(self.keys.person(tenant, user), &doomed);
        let (deleted, _): (usize, usize) = with_deadline(pipe.query_async(&mut conn)).await?;
        Ok(deleted)
    }
}

/// The session store.
#[derive(Clone)]
pub struct RedisSessionStore {
    conn: GatedRedis,
    keys: SessionKeys,
}

impl RedisSessionStore {
    /// A store over an existing connection and key space.
    pub fn new(conn: GatedRedis, keys: SessionKeys) -> Self {
        Self { conn, keys }
    }

    fn new_key() -> Result<SessionKey, anyhow::Error> {
        let raw: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(64)
            .map(char::from)
            .collect();
        SessionKey::try_from(raw).map_err(anyhow::Error::from)
    }

    async fn write(
        &self,
        key: &SessionKey,
        state: &HashMap<String, String>,
        ttl: &CookieDuration,
    ) -> anyhow::Result<()> {
        let body = serde_json::to_string(state)?;
        let secs = ttl.whole_seconds().max(1) as u64;
        let redis_key = self.keys.session(key);
        let mut pipe = redis::pipe();
        pipe.set_ex(&redis_key, body, secs).ignore();
        // Index the session under its person, so all of them can be ended at once
        // (password reset, deactivation). One round trip with the write itself.
        if let Some((tid, uid)) = owner(state) {
            let index = self.keys.person(tid, uid);
            pipe.sadd(&index, &redis_key).ignore();
            pipe.expire(&index, INDEX_TTL_SECS).ignore();
        }
        let mut conn = self.conn.clone();
        with_deadline(pipe.query_async::<()>(&mut conn)).await
    }
}

impl SessionStore for RedisSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        let mut conn = self.conn.clone();
        let raw: Option<String> = with_deadline(conn.get(self.keys.session(key)))
            .await
            .map_err(LoadError::Other)?;
        match raw {
            None => Ok(None),
            Some(raw) => serde_json::from_str(&raw)
                .map(Some)
                .map_err(|e| LoadError::Deserialization(e.into())),
        }
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        let key = Self::new_key().map_err(SaveError::Other)?;
        self.write(&key, &state, ttl)
            .await
            .map_err(SaveError::Other)?;
        Ok(key)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        self.write(&key, &state, ttl)
            .await
            .map_err(UpdateError::Other)?;
        Ok(key)
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &CookieDuration) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let secs = ttl.whole_seconds().max(1);
        with_deadline(conn.expire::<_, ()>(self.keys.session(key), secs)).await
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        with_deadline(conn.del::<_, ()>(self.keys.session(key))).await
    }
}
