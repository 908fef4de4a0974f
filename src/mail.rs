//! Outgoing mail: SMTP through lettre when `SMTP_URL` is set; otherwise each message
//! is written to the mail folder (`PORTAL_MAIL_DIR`), and the log names the file. A
//! message's body (which may hold a link with a token) never reaches the log.
//!
//! Services never send directly: they queue a [`Mail`] in the mail outbox inside the
//! transaction of what it announces (`models::mail_outbox`), and the mail worker
//! sends it through the [`Mailer`].

use std::path::PathBuf;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, message::Mailbox,
    message::header::ContentType,
};

use crate::error::{AppError, AppResult};

/// One message to send. Its `Debug` leaves the body out: it may hold a live link.
#[derive(Clone)]
pub struct Mail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// How long one SMTP exchange may take before the mail is tried again later.
const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

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
                    .timeout(Some(SMTP_TIMEOUT))
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
                tracing::info!(
                    subject = %mail.subject,
                    file = %dir.join(&name).display(),
                    "mail written to the mail folder"
                );
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// What the mailer logs while it writes one message with a link to the folder.
    fn logs_of_one_mail() -> String {
        let dir = std::env::temp_dir().join(format!("portal-mail-{}", uuid::Uuid::new_v4()));
        let base = url::Url::parse("https://portal.example.test").unwrap();
        let mailer = Mailer::new(None, "Portal <p@example.test>", dir.clone(), &base).unwrap();
        let body = format!(
            "Set a new password:\n\n{}\n",
            mailer.link("/t/acme/password/reset/SECRET-TOKEN")
        );
        let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = Arc::clone(&logs);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || Sink(Arc::clone(&sink)))
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(mailer.send(Mail {
                to: "ada@acme.test".into(),
                subject: "Reset your password".into(),
                body,
            }))
            .unwrap();
        });
        let written = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(written, 1, "the mail is in the folder either way");
        let _ = std::fs::remove_dir_all(&dir);
        String::from_utf8(logs.lock().unwrap().clone()).unwrap()
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_log_names_the_mail_file_but_never_its_link() {
        let logs = logs_of_one_mail();
        assert!(!logs.contains("SECRET-TOKEN"), "{logs}");
        assert!(logs.contains("mail written to the mail folder"), "{logs}");
        assert!(logs.contains(".txt"), "{logs}");
    }
}
