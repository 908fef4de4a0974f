//! Outgoing mail: SMTP through lettre when `SMTP_URL` is set; otherwise each message
//! is written to the mail folder (`PORTAL_MAIL_DIR`) and its links are logged, so a
//! developer can follow them without a mail server.

use std::path::PathBuf;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, message::Mailbox,
    message::header::ContentType,
};

use crate::error::{AppError, AppResult};

/// One message to send.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Sends the portal's mail, and makes the absolute links that mail carries.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    /// The portal's public URL, without a trailing slash.
    base_url: String,
}

/// Where mail goes.
#[derive(Clone)]
enum Transport {
    /// A real SMTP server.
    Smtp {
        /// The transport (pooled connections).
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// The From address.
        from: Mailbox,
    },
    /// Files in a folder, for development and tests.
    Folder(PathBuf),
}

impl Mailer {
    /// Builds the mailer from `SMTP_URL` (e.g. `smtps://user:pass@smtp.example.com`) or
    /// the mail folder.
    pub fn new(
        smtp_url: Option<&str>,
        from: &str,
        folder: PathBuf,
        base_url: &url::Url,
    ) -> anyhow::Result<Self> {
        let transport = match smtp_url {
            Some(url) => Transport::Smtp {
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("SMTP_URL is not usable: {e}"))?
                    .build(),
                from: from
                    .parse()
                    .map_err(|e| anyhow::anyhow!("PORTAL_MAIL_FROM is not an address: {e}"))?,
            },
            None => Transport::Folder(folder),
        };
        Ok(Self {
            transport,
            base_url: base_url.as_str().trim_end_matches('/').to_string(),
        })
    }

    /// An absolute link into the portal, for a message.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends a message in the background: the request that caused it does not wait,
    /// and takes the same time whether or not a message leaves. A failure is logged.
    pub fn send_later(&self, mail: Mail) {
        let mailer = self.clone();
        tokio::spawn(async move {
            let subject = mail.subject.clone();
            if let Err(e) = mailer.send(mail).await {
                tracing::error!(error = %e, subject, "mail could not be sent");
            }
        });
    }

    /// Sends a message. Failure is reported, never panics.
    pub async fn send(&self, mail: Mail) -> AppResult<()> {
        match &self.transport {
            Transport::Smtp { transport, from } => {
                let to: Mailbox = mail
                    .to
                    .parse()
                    .map_err(|e| AppError::internal(anyhow::anyhow!("bad recipient: {e}")))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(mail.subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.body)
                    .map_err(AppError::internal)?;
                transport.send(message).await.map_err(|e| {
                    tracing::warn!(error = %e, "mail not sent");
                    AppError::Unavailable("mail server")
                })?;
                Ok(())
            }
            Transport::Folder(dir) => {
                let dir = dir.clone();
                let name = format!(
                    "{}-{}.txt",
                    time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
                    uuid::Uuid::new_v4().simple()
                );
                for line in mail.body.lines().filter(|l| l.contains("://")) {
                    tracing::info!(to = %mail.to, link = line.trim(), "mail written to the mail folder");
                }
                let text = format!(
                    "To: {}\nSubject: {}\n\n{}\n",
                    mail.to, mail.subject, mail.body
                );
                tokio::task::spawn_blocking(move || {
                    std::fs::create_dir_all(&dir)?;
                    std::fs::write(dir.join(name), text)
                })
                .await
                .map_err(AppError::internal)?
                .map_err(AppError::internal)
            }
        }
    }
}
