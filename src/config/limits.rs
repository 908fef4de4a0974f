//! Rate limits per client address: `RATE_LIMIT_ENABLED` and `RATE_LIMIT_*_PER_*`
//! (the token API's own limit is read with the token settings).

use super::Reader;

/// The most a per-minute limit can count: the limiter keeps time in milliseconds, so
/// one request per millisecond is the finest rate it can tell apart.
pub(super) const MAX_PER_MINUTE: u32 = 60_000;
/// Likewise per hour.
pub(super) const MAX_PER_HOUR: u32 = 3_600_000;

/// The switch and the budgets.
pub(super) struct RateLimits {
    pub(super) enabled: bool,
    pub(super) login_per_minute: u32,
    pub(super) signup_per_hour: u32,
    pub(super) general_per_minute: u32,
}

/// Reads the rate limits.
pub(super) fn read(r: &mut Reader<'_>) -> RateLimits {
    RateLimits {
        enabled: r.flag("RATE_LIMIT_ENABLED").unwrap_or(true),
        login_per_minute: r
            .number("RATE_LIMIT_LOGIN_PER_MINUTE", 1, MAX_PER_MINUTE)
            .unwrap_or(10),
        signup_per_hour: r
            .number("RATE_LIMIT_SIGNUP_PER_HOUR", 1, MAX_PER_HOUR)
            .unwrap_or(20),
        general_per_minute: r
            .number("RATE_LIMIT_GENERAL_PER_MINUTE", 1, MAX_PER_MINUTE)
            .unwrap_or(600),
    }
}
