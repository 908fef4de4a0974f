//! Rate limits: the portal's named limits (per client address and per account), on a
//! limiter shared by every instance through Redis (GCRA, in `gcra`).

mod gcra;

use uuid::Uuid;

use self::gcra::Decision;
pub use self::gcra::{Quota, RateLimiter};
use crate::error::{AppError, AppResult};

/// The portal's limits: the shared limiter and the configured rates.
pub struct Limits {
    limiter: RateLimiter,
    login_per_minute: u32,
    signup_per_hour: u32,
    general_per_minute: u32,
}

impl Limits {
    /// The limits over a limiter, with `RATE_LIMIT_LOGIN_PER_MINUTE`,
    /// `RATE_LIMIT_SIGNUP_PER_HOUR` and `RATE_LIMIT_GENERAL_PER_MINUTE`.
    pub fn new(
        limiter: RateLimiter,
        login_per_minute: u32,
        signup_per_hour: u32,
        general_per_minute: u32,
    ) -> Self {
        Self {
            limiter,
            login_per_minute,
            signup_per_hour,
            general_per_minute,
        }
    }

    /// Counts a request against a limit; over it, the error to answer with.
    pub async fn limit(
        &self,
        bucket: &str,
        subject: &str,
        quota: Quota,
        message: &'static str,
    ) -> AppResult<()> {
        let decision = self.limiter.check(bucket, subject, quota).await;
        refuse(decision, bucket, message)
    }

    /// Page requests of any kind per client address (on leases: asked on every request).
    pub async fn limit_general(&self, ip: &str) -> AppResult<()> {
        let quota = Quota::per_minute(self.general_per_minute);
        let decision = self.limiter.check_leased("ip", ip, quota).await;
        refuse(decision, "ip", "This address is sending too many requests.")
    }

    /// Sign-in attempts: per client address and per account (tenant + email), so
    /// neither one address nor a botnet on one account gets far.
    pub async fn limit_login(&self, ip: &str, tenant: Uuid, email: &str) -> AppResult<()> {
        let quota = Quota::per_minute(self.login_per_minute);
        let msg = "Too many sign-in attempts.";
        self.limit("login-ip", ip, quota, msg).await?;
        self.limit("login-account", &format!("{tenant}:{email}"), quota, msg)
            .await
    }

    /// Passkey sign-in: per client address (shared with password sign-in) and, once
    /// the answer names an account, per account.
    pub async fn limit_passkey_login(
        &self,
        ip: &str,
        tenant: Uuid,
        account: Option<Uuid>,
    ) -> AppResult<()> {
        let quota = Quota::per_minute(self.login_per_minute);
        let msg = "Too many sign-in attempts.";
        self.limit("login-ip", ip, quota, msg).await?;
        match account {
            Some(a) => {
                self.limit("login-passkey", &format!("{tenant}:{a}"), quota, msg)
                    .await
            }
            None => Ok(()),
        }
    }

    /// New organizations and self-registrations per client address.
    pub async fn limit_signup(&self, ip: &str) -> AppResult<()> {
        let n = self.signup_per_hour;
        let quota = Quota::per_hour(n, n.min(10));
        self.limit(
            "signup-ip",
            ip,
            quota,
            "Too many accounts created from this address.",
        )
        .await
    }

    /// Self-registrations at one organization: per client address (as sign-ups), and
    /// a few attempts per email address an hour, whatever address they come from.
    pub async fn limit_registration(&self, ip: &str, tenant: Uuid, email: &str) -> AppResult<()> {
        self.limit_signup(ip).await?;
        self.limit(
            "register-account",
            &format!("{tenant}:{email}"),
            Quota::per_hour(10, 5),
            "Too many registration attempts for this email address.",
        )
        .await
    }

    /// Password-reset mails: per client address, and a few per account an hour so
    /// nobody's mailbox can be flooded.
    pub async fn limit_password_reset(&self, ip: &str, tenant: Uuid, email: &str) -> AppResult<()> {
        let msg = "Too many password reset requests.";
        let per_ip = Quota::per_minute(self.login_per_minute);
        self.limit("reset-ip", ip, per_ip, msg).await?;
        self.limit(
            "reset-account",
            &format!("{tenant}:{email}"),
            Quota::per_hour(5, 3),
            msg,
        )
        .await
    }

    /// Starts of single sign-on per client address.
    pub async fn limit_sso(&self, ip: &str) -> AppResult<()> {
        let quota = Quota::per_minute(self.login_per_minute);
        self.limit("sso-ip", ip, quota, "Too many sign-in attempts.")
            .await
    }
}

/// The limiter's decision as the answer to give.
fn refuse(decision: Decision, bucket: &str, message: &'static str) -> AppResult<()> {
    match decision {
        Decision::Allowed => Ok(()),
        Decision::Limited(wait) => {
            tracing::info!(bucket, "rate limited");
            Err(AppError::RateLimited {
                retry_after: wait.as_secs().max(1),
                message,
            })
        }
    }
}
