//! Outgoing mail: `SMTP_URL`, `PORTAL_MAIL_FROM`, `PORTAL_MAIL_DIR`,
//! `PORTAL_MAIL_DIR_IN_PRODUCTION`, and the mail queue's `PORTAL_MAIL_POLL_MS`,
//! `PORTAL_MAIL_BACKOFF_MS` and `PORTAL_MAIL_MAX_ATTEMPTS`.

use std::path::PathBuf;
use std::time::Duration;

use super::Reader;

/// Where mail goes and whom it is from.
pub(super) struct Mail {
    pub(super) smtp_url: Option<String>,
    pub(super) from: String,
    pub(super) dir: PathBuf,
    pub(super) queue: MailQueueSettings,
}

/// How the mail worker works through the mail queue.
#[derive(Debug, Clone, Copy)]
pub struct MailQueueSettings {
    /// `PORTAL_MAIL_POLL_MS`: how often the worker looks for due mail.
    pub poll: Duration,
    /// `PORTAL_MAIL_BACKOFF_MS`: first retry delay after the mail server failed,
    /// doubled per attempt (at most 15 min).
    pub backoff: Duration,
    /// `PORTAL_MAIL_MAX_ATTEMPTS`: a message is given up after this many attempts.
    pub max_attempts: u32,
}

/// Reads the mail settings; without `SMTP_URL`, mail is written to `PORTAL_MAIL_DIR`,
/// which production accepts only when asked to in so many words: mail that reaches
/// nobody, with live links on the disk, is not a default.
pub(super) fn read(r: &mut Reader<'_>, prod: bool) -> Mail {
    let smtp_url = r.text("SMTP_URL");
    let folder_allowed = r.flag("PORTAL_MAIL_DIR_IN_PRODUCTION").unwrap_or(false);
    if prod && smtp_url.is_none() && !folder_allowed {
        r.problem(
            "SMTP_URL",
            "is required in production, or set PORTAL_MAIL_DIR_IN_PRODUCTION=true to keep mail in PORTAL_MAIL_DIR (it holds live sign-in links: protect it)".into(),
        );
    }
    if let Some(u) = &smtp_url
        && !(u.starts_with("smtp://") || u.starts_with("smtps://"))
    {
        r.problem("SMTP_URL", "must start with smtp:// or smtps://".into());
    }
    let from = r
        .text("PORTAL_MAIL_FROM")
        .unwrap_or_else(|| "Tenant Portal <no-reply@tenant-portal.invalid>".into());
    let dir = r
        .text("PORTAL_MAIL_DIR")
        .unwrap_or_else(|| "mail".into())
        .into();
    let queue = MailQueueSettings {
        poll: r.duration("PORTAL_MAIL_POLL_MS", 10, 600_000, 1_000),
        backoff: r.duration("PORTAL_MAIL_BACKOFF_MS", 10, 3_600_000, 5_000),
        max_attempts: r.number("PORTAL_MAIL_MAX_ATTEMPTS", 1, 100).unwrap_or(12),
    };
    Mail {
        smtp_url,
        from,
        dir,
        queue,
    }
}

/// `METRICS_TOKEN` (read here with the other operator-facing settings of this file):
/// long enough that it cannot be guessed.
pub(super) fn metrics_token(r: &mut Reader<'_>) -> Option<String> {
    let token = r.text("METRICS_TOKEN")?;
    if token.len() < 32 {
        r.problem("METRICS_TOKEN", "must be at least 32 characters".into());
    }
    Some(token)
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{problems, production, production_settings, settings};

    #[test]
    fn production_needs_a_mail_server_or_an_explicit_mail_folder() {
        let without_smtp = |extra: &[(&'static str, &'static str)]| {
            let vars = production(extra);
            let pairs: Vec<(&str, &str)> = vars
                .iter()
                .filter(|(k, _)| *k != "SMTP_URL")
                .map(|(k, v)| (*k, v.as_str()))
                .collect();
            settings(&pairs)
        };
        let err = without_smtp(&[]).err().map(problems).unwrap_or_default();
        assert!(
            err.iter()
                .any(|p| p.starts_with("SMTP_URL: is required in production")),
            "{err:?}"
        );
        let folder = without_smtp(&[("PORTAL_MAIL_DIR_IN_PRODUCTION", "true")]);
        assert!(folder.is_ok(), "{:?}", folder.err().map(problems));
        let smtp = production_settings(&[]);
        assert!(smtp.is_ok(), "{:?}", smtp.err().map(problems));
        assert!(
            settings(&[]).is_ok(),
            "development writes to the folder without asking"
        );
    }
}
