//! Outgoing mail: `SMTP_URL`, `PORTAL_MAIL_FROM`, `PORTAL_MAIL_DIR` and
//! `PORTAL_MAIL_DIR_IN_PRODUCTION`.

use std::path::PathBuf;

use super::Reader;

/// Where mail goes and whom it is from.
pub(super) struct Mail {
    pub(super) smtp_url: Option<String>,
    pub(super) from: String,
    pub(super) dir: PathBuf,
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
    Mail {
        smtp_url,
        from,
        dir,
    }
}
