//! Outgoing mail: `SMTP_URL`, `PORTAL_MAIL_FROM` and `PORTAL_MAIL_DIR`.

use std::path::PathBuf;

use super::Reader;

/// Where mail goes and whom it is from.
pub(super) struct Mail {
    pub(super) smtp_url: Option<String>,
    pub(super) from: String,
    pub(super) dir: PathBuf,
}

/// Reads the mail settings; without `SMTP_URL`, mail is written to `PORTAL_MAIL_DIR`.
pub(super) fn read(r: &mut Reader<'_>) -> Mail {
    let smtp_url = r.text("SMTP_URL");
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
