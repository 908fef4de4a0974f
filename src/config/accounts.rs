//! How people sign in and how long what they get lasts: passwords and lockout
//! (`PASSWORD_AUTH_ENABLED`, `AUTH_PASSWORD_HASH_ROUNDS`, `AUTH_PASSWORD_HASH_THREADS`,
//! `AUTH_PASSWORD_HASH_QUEUE`, `AUTH_MAX_FAILED_ATTEMPTS`,
//! `AUTH_LOCKOUT_DURATION_MINUTES`, `DEVICE_AUTH_REQUIRED`), sessions (`AUTH_SESSION_*`) and the lifetimes of
//! mailed links (`AUTH_PASSWORD_RESET_MINUTES`, `AUTH_EMAIL_VERIFICATION_HOURS`,
//! `AUTH_INVITATION_DAYS`).

use std::time::Duration;

use super::Reader;

/// Password sign-in and its lockout.
pub(super) struct Passwords {
    pub(super) enabled: bool,
    pub(super) hash_rounds: u32,
    pub(super) hash_threads: usize,
    pub(super) hash_queue: usize,
    pub(super) max_failed_attempts: u32,
    pub(super) lockout_duration: Duration,
    pub(super) device_auth_required: bool,
}

/// Reads the password settings; production needs a bcrypt cost of 10 or more.
pub(super) fn passwords(r: &mut Reader<'_>, prod: bool) -> Passwords {
    let enabled = r.flag("PASSWORD_AUTH_ENABLED").unwrap_or(true);
    let hash_rounds = r.number("AUTH_PASSWORD_HASH_ROUNDS", 4, 31).unwrap_or(12);
    if prod && hash_rounds < 10 {
        r.problem(
            "AUTH_PASSWORD_HASH_ROUNDS",
            "must be at least 10 in production (12 is the default)".into(),
        );
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
    Passwords {
        enabled,
        hash_rounds,
        hash_threads: r
            .number("AUTH_PASSWORD_HASH_THREADS", 1, 256)
            .unwrap_or(cores) as usize,
        hash_queue: r
            .number("AUTH_PASSWORD_HASH_QUEUE", 0, 10_000)
            .unwrap_or(32) as usize,
        max_failed_attempts: r.number("AUTH_MAX_FAILED_ATTEMPTS", 1, 1000).unwrap_or(5),
        lockout_duration: r.duration("AUTH_LOCKOUT_DURATION_MINUTES", 1, 10_080, 15),
        device_auth_required: r.flag("DEVICE_AUTH_REQUIRED").unwrap_or(false),
    }
}

/// Browser sessions.
pub(super) struct Sessions {
    pub(super) cookie_secure: bool,
    pub(super) idle: Duration,
    pub(super) absolute: Duration,
}

/// Reads the session settings; the cookie is HTTPS-only by default in production and
/// may not be made otherwise there.
pub(super) fn sessions(r: &mut Reader<'_>, prod: bool) -> Sessions {
    let cookie_secure = r.flag("AUTH_SESSION_COOKIE_SECURE").unwrap_or(prod);
    if prod && !cookie_secure {
        r.problem(
            "AUTH_SESSION_COOKIE_SECURE",
            "must not be false in production: the session cookie would be sent over plain HTTP"
                .into(),
        );
    }
    Sessions {
        cookie_secure,
        idle: r.duration("AUTH_SESSION_IDLE_MINUTES", 1, 43_200, 120),
        absolute: r.duration("AUTH_SESSION_ABSOLUTE_HOURS", 1, 8_760, 12),
    }
}

/// How long mailed links work.
pub(super) struct Links {
    pub(super) password_reset: Duration,
    pub(super) email_verification: Duration,
    pub(super) invitation: Duration,
}

/// Reads the link lifetimes.
pub(super) fn links(r: &mut Reader<'_>) -> Links {
    Links {
        password_reset: r.duration("AUTH_PASSWORD_RESET_MINUTES", 5, 1440, 30),
        email_verification: r.duration("AUTH_EMAIL_VERIFICATION_HOURS", 1, 720, 48),
        invitation: r.duration("AUTH_INVITATION_DAYS", 1, 90, 7),
    }
}
