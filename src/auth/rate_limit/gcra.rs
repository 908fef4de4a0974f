//! Rate limits shared by every portal instance, kept in Redis.
//!
//! GCRA (the generic cell rate algorithm): each key stores one timestamp, the
//! "theoretical arrival time", and one atomic script decides and updates it, with
//! Redis's own clock so instances with skewed clocks agree. When Redis cannot be
//! reached the same algorithm runs in process: limits get looser (per instance) but
//! never vanish, and nothing crashes.
//!
//! A limit asked on every request (`check_leased`) need not cost a Redis call each
//! time: an address sending fast may take several requests' worth at once (a lease,
//! doubled each time the last was used up within `LEASE_FOR`, up to `MAX_LEASE`) and
//! spend them in process. Redis grants a lease larger than one only while the address
//! has at least four times as much left, so near the limit every request is decided
//! by Redis again and the limit holds exactly, across instances too; a lease not used
//! up within `LEASE_FOR` is dropped, which can only make the limit stricter.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::auth::redis_gate::GatedRedis;

use crate::auth::session_store::with_deadline;

/// Takes one request's worth (or `ARGV[3]` when at least four times that is left);
/// answers how many were granted, or 0 and how long to wait.
const SCRIPT: &str = r#"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local allowance = burst * interval
local room = math.floor((allowance - (tat - now)) / interval)
if room < 1 then
  return {0, tat + interval - now - allowance}
end
local grant = 1
if want > 1 and room >= 4 * want then grant = want end
local new_tat = tat + grant * interval
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
return {grant, 0}
"#;

/// The most requests one lease covers.
const MAX_LEASE: u32 = 16;

/// How long a lease may be spent; what is left after is dropped.
const LEASE_FOR: Duration = Duration::from_secs(1);

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
    leases: Mutex<HashMap<String, Lease>>,
}

/// Requests an address may still make without asking Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lease {
    /// How many are left.
    left: u32,
    /// How many the lease was for.
    size: u32,
    /// When it was granted.
    at: Instant,
}

impl Lease {
    fn live(&self, now: Instant) -> bool {
        now.duration_since(self.at) < LEASE_FOR
    }
}

/// What a request does with the lease of its address: spends one of it, or asks
/// Redis for this many (twice the last lease when that was used up in time, else one).
fn spend(lease: Option<&mut Lease>, now: Instant) -> Result<(), u32> {
    match lease {
        Some(l) if l.live(now) && l.left > 0 => {
            l.left -= 1;
            Ok(())
        }
        Some(l) if l.live(now) => Err((l.size * 2).min(MAX_LEASE)),
        _ => Err(1),
    }
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
            leases: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request against `bucket`/`subject` (e.g. `login-ip`/`203.0.113.7`).
    pub async fn check(&self, bucket: &str, subject: &str, quota: Quota) -> Decision {
        if !self.enabled {
            return Decision::Allowed;
        }
        let key = format!("{}:rl:{bucket}:{subject}", self.prefix);
        self.take(key, quota, 1).await.0
    }

    /// As `check`, for a limit asked on every request: an address sending fast spends
    /// leases in process (see the module's documentation).
    pub async fn check_leased(&self, bucket: &str, subject: &str, quota: Quota) -> Decision {
        if !self.enabled {
            return Decision::Allowed;
        }
        let key = format!("{}:rl:{bucket}:{subject}", self.prefix);
        let now = Instant::now();
        let want = {
            let Ok(mut leases) = self.leases.lock() else {
                return self.take(key, quota, 1).await.0;
            };
            match spend(leases.get_mut(&key), now) {
                Ok(()) => return Decision::Allowed,
                Err(want) => want,
            }
        };
        let (decision, granted) = self.take(key.clone(), quota, want).await;
        if let Ok(mut leases) = self.leases.lock() {
            if leases.len() >= LOCAL_MAX_KEYS {
                leases.retain(|_, l| l.live(now));
            }
            if granted > 0 {
                // Requests of one address that asked at once each add what they got.
                let left = leases
                    .get(&key)
                    .filter(|l| l.live(now))
                    .map_or(0, |l| l.left);
                let lease = Lease {
                    left: left + granted - 1,
                    size: granted,
                    at: now,
                };
                leases.insert(key, lease);
            } else {
                leases.remove(&key);
            }
        }
        decision
    }

    /// Asks Redis for `want` requests' worth; the decision and how many were granted
    /// (one when Redis cannot be reached and this process decided instead).
    async fn take(&self, key: String, quota: Quota, want: u32) -> (Decision, u32) {
        let interval = quota.interval_ms;
        let mut conn = self.redis.clone();
        let mut invocation = self.script.key(&key);
        invocation.arg(interval).arg(quota.burst).arg(want);
        match with_deadline(invocation.invoke_async::<(i64, i64)>(&mut conn)).await {
            Ok((granted, _)) if granted > 0 => (Decision::Allowed, granted as u32),
            Ok((_, wait_ms)) => (
                Decision::Limited(Duration::from_millis(wait_ms.max(1) as u64)),
                0,
            ),
            Err(e) => {
                tracing::warn!(error = %e, "rate limits fall back to this process: Redis unavailable");
                let decision = self.check_locally(key, interval, quota.burst);
                (decision, u32::from(decision == Decision::Allowed))
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
    fn a_lease_is_spent_then_doubled_when_used_up_in_time_and_dropped_when_old() {
        let at = Instant::now();
        let mut lease = Lease {
            left: 2,
            size: 4,
            at,
        };
        assert_eq!(spend(Some(&mut lease), at), Ok(()));
        assert_eq!(spend(Some(&mut lease), at), Ok(()));
        assert_eq!(lease.left, 0);
        // Used up within its time: the next one asked for is twice as large.
        assert_eq!(spend(Some(&mut lease), at), Err(8));
        let mut large = Lease {
            left: 0,
            size: MAX_LEASE,
            at,
        };
        assert_eq!(spend(Some(&mut large), at), Err(MAX_LEASE));
        // What is left of an old lease is not spent; the address starts again at one.
        let mut old = Lease {
            left: 5,
            size: 8,
            at,
        };
        assert_eq!(spend(Some(&mut old), at + LEASE_FOR), Err(1));
        assert_eq!(old.left, 5);
        assert_eq!(spend(None, at), Err(1));
    }

    #[test]
    fn quotas_convert_to_intervals() {
        assert_eq!(Quota::per_minute(10).interval_ms, 6_000);
        assert_eq!(Quota::per_hour(10, 3).interval_ms, 360_000);
        assert_eq!(Quota::per_hour(10, 3).burst, 3);
    }
}
