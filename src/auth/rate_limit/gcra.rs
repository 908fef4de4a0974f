//! Rate limits shared by every portal instance, kept in Redis.
//!
//! GCRA (the generic cell rate algorithm): each key stores one timestamp, the
//! "theoretical arrival time", and one atomic script decides and updates it, with
//! Redis's own clock so instances with skewed clocks agree. When Redis cannot be
//! reached the same algorithm runs in process: limits get looser (per instance) but
//! never vanish, and nothing crashes.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::auth::redis_gate::GatedRedis;

use crate::auth::session_store::with_deadline;

const SCRIPT: &str = r#"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local allowance = burst * interval
if new_tat - now > allowance then
  return {0, new_tat - now - allowance}
end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
return {1, 0}
"#;

/// How much of something is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests allowed at once.
    pub burst: u32,
    /// Milliseconds between two requests in the long run.
    pub interval_ms: u64,
}

impl Quota {
    /// `n` per minute, all of them allowed in a burst.
    pub fn per_minute(n: u32) -> Self {
        let n = n.max(1);
        Self {
            burst: n,
            interval_ms: 60_000 / u64::from(n),
        }
    }

    /// `n` per hour, at most `burst` at once.
    pub fn per_hour(n: u32, burst: u32) -> Self {
        Self {
            burst: burst.max(1),
            interval_ms: 3_600_000 / u64::from(n.max(1)),
        }
    }
}

/// The limiter's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allowed,
    /// Too many; try again after this long.
    Limited(Duration),
}

/// Decides whether a request may go ahead.
pub struct RateLimiter {
    redis: GatedRedis,
    script: redis::Script,
    prefix: String,
    enabled: bool,
    local: Mutex<Local>,
}

struct Local {
    epoch: Instant,
    tats: HashMap<String, u64>,
}

const LOCAL_MAX_KEYS: usize = 100_000;

impl RateLimiter {
    /// A limiter storing its state under `prefix` in Redis.
    pub fn new(redis: GatedRedis, prefix: &str, enabled: bool) -> Self {
        Self {
            redis,
            script: redis::Script::new(SCRIPT),
            prefix: prefix.to_string(),
            enabled,
            local: Mutex::new(Local {
                epoch: Instant::now(),
                tats: HashMap::new(),
            }),
        }
    }

    /// Counts one request against `bucket`/`subject` (e.g. `login-ip`/`203.0.113.7`).
    pub async fn check(&self, bucket: &str, subject: &str, quota: Quota) -> Decision {
        if !self.enabled {
            return Decision::Allowed;
        }
        let key = format!("{}:rl:{bucket}:{subject}", self.prefix);
        let interval = quota.interval_ms;
        let mut conn = self.redis.clone();
        let mut invocation = self.script.key(&key);
        invocation.arg(interval).arg(quota.burst);
        match with_deadline(invocation.invoke_async::<(i64, i64)>(&mut conn)).await {
            Ok((1, _)) => Decision::Allowed,
            Ok((_, wait_ms)) => Decision::Limited(Duration::from_millis(wait_ms.max(1) as u64)),
            Err(e) => {
                tracing::warn!(error = %e, "rate limits fall back to this process: Redis unavailable");
                self.check_locally(key, interval, quota.burst)
            }
        }
    }

    fn check_locally(&self, key: String, interval: u64, burst: u32) -> Decision {
        let Ok(mut local) = self.local.lock() else {
            return Decision::Allowed;
        };
        let now = local.epoch.elapsed().as_millis() as u64;
        if local.tats.len() >= LOCAL_MAX_KEYS {
            local.tats.retain(|_, tat| *tat > now);
        }
        gcra(&mut local.tats, key, now, interval, burst)
    }
}

/// The in-process twin of the Redis script: same decision for the same state.
fn gcra(
    tats: &mut HashMap<String, u64>,
    key: String,
    now: u64,
    interval: u64,
    burst: u32,
) -> Decision {
    let tat = tats.get(&key).copied().unwrap_or(now).max(now);
    let new_tat = tat + interval;
    let allowance = u64::from(burst) * interval;
    if new_tat - now > allowance {
        return Decision::Limited(Duration::from_millis(new_tat - now - allowance));
    }
    tats.insert(key, new_tat);
    Decision::Allowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_gcra_allows_the_burst_then_one_per_interval() {
        let mut tats = HashMap::new();
        let q = Quota::per_minute(3);
        let mut at = |now: u64| gcra(&mut tats, "k".into(), now, q.interval_ms, q.burst);
        assert_eq!(at(0), Decision::Allowed);
        assert_eq!(at(0), Decision::Allowed);
        assert_eq!(at(0), Decision::Allowed);
        assert_eq!(at(0), Decision::Limited(Duration::from_millis(20_000)));
        assert_eq!(at(5_000), Decision::Limited(Duration::from_millis(15_000)));
        assert_eq!(at(20_000), Decision::Allowed);
        assert!(matches!(at(20_001), Decision::Limited(_)));
        assert_eq!(
            gcra(&mut tats, "other".into(), 20_001, q.interval_ms, q.burst),
            Decision::Allowed
        );
    }

    #[test]
    fn quotas_convert_to_intervals() {
        assert_eq!(Quota::per_minute(10).interval_ms, 6_000);
        assert_eq!(Quota::per_hour(10, 3).interval_ms, 360_000);
        assert_eq!(Quota::per_hour(10, 3).burst, 3);
    }
}
