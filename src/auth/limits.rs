//! The portal's named rate limits, per client address and per account.

use uuid::Uuid;

use crate::app::AppState;
use crate::auth::rate_limit::Quota;
use crate::error::AppResult;

impl AppState {
    /// Sign-in attempts: per client address and per account (tenant + email), so
    /// neither one address nor a botnet on one account gets far.
    pub async fn limit_login(&self, ip: &str, tenant: Uuid, email: &str) -> AppResult<()> {
        let quota = Quota::per_minute(self.settings.rate_limit_login_per_minute);
        let msg = "Too many sign-in attempts.";
        self.limit("login-ip", ip, quota, msg).await?;
        self.limit("login-account", &format!("{tenant}:{email}"), quota, msg)
            .await
    }

    /// New organizations and self-registrations per client address.
    pub async fn limit_signup(&self, ip: &str) -> AppResult<()> {
        let n = self.settings.rate_limit_signup_per_hour;
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
        let per_ip = Quota::per_minute(self.settings.rate_limit_login_per_minute);
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
        let quota = Quota::per_minute(self.settings.rate_limit_login_per_minute);
        self.limit("sso-ip", ip, quota, "Too many sign-in attempts.")
            .await
    }
}
