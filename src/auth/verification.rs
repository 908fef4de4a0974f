//! Email verification: a mailed single-use link proves the address is the person's.

use diesel::prelude::*;
use uuid::Uuid;

use crate::auth::rate_limit::Limits;
use crate::auth::rate_limit::Quota;
use crate::db::Db;
use crate::db::schema::tenant::users;
use crate::error::AppResult;
use crate::mail::Mail;
use crate::mail::Mailer;
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::mail_outbox;
use crate::models::tenant::Tenant;
use crate::models::user::User;
use crate::models::user_token::{self, Purpose, TokenProblem};

/// What email verification needs.
#[derive(Clone, Copy)]
pub struct Verification<'a> {
    /// The database.
    pub db: &'a Db,
    /// Outgoing mail.
    pub mailer: &'a Mailer,
    /// Rate limits (a few verification mails an hour).
    pub limits: &'a Limits,
    /// How long a verification link works.
    pub email_verification_ttl: std::time::Duration,
}

/// Who a verification mail goes to.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// The person's id.
    pub id: Uuid,
    /// Their address.
    pub email: String,
    /// Their name, for the greeting.
    pub name: String,
}

impl From<&User> for Recipient {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
        }
    }
}

impl Verification<'_> {
    /// What queueing a verification mail inside another transaction needs (owned, so
    /// it can move into that transaction's closure).
    pub fn mail(&self) -> VerificationMail {
        VerificationMail {
            mailer: self.mailer.clone(),
            ttl: self.email_verification_ttl,
        }
    }
}

/// Issues verification links and queues their mail inside a caller's transaction, so
/// that an account and its confirmation mail are committed together.
#[derive(Clone)]
pub struct VerificationMail {
    mailer: Mailer,
    ttl: std::time::Duration,
}

impl VerificationMail {
    /// Issues a new link (older ones stop working) and queues its mail, inside the
    /// caller's transaction, whose search path must be the tenant's.
    pub fn queue(&self, conn: &mut PgConnection, tenant: &Tenant, to: &Recipient) -> AppResult<()> {
        let token = user_token::issue(conn, to.id, Purpose::EmailVerification, self.ttl)?;
        let hours = self.ttl.as_secs() / 3600;
        let link = self
            .mailer
            .link(&format!("/t/{}/verify-email/{token}", tenant.slug));
        let body = format!(
            "Hello {name},\n\n\
             Please confirm that {email} is your address for {org} by opening this link \
             within {hours} hours:\n\n\
             {link}\n\n\
             If you did not create an account, ignore this message.\n",
            name = to.name,
            email = to.email,
            org = tenant.name,
        );
        mail_outbox::enqueue(
            conn,
            &Mail {
                to: to.email.clone(),
                subject: format!("Confirm your email address for {}", tenant.name),
                body,
            },
        )
    }
}

/// Issues a new verification link (older ones stop working) and queues its mail, in
/// one transaction.
pub async fn send_link(deps: &Verification<'_>, tenant: &Tenant, to: Recipient) -> AppResult<()> {
    let mail = deps.mail();
    let t = tenant.clone();
    deps.db
        .tenant(&tenant.schema, move |conn| mail.queue(conn, &t, &to))
        .await
}

/// Mails a new link unless this person already got several in the last hour; a
/// refusal is not an error, the person can still use an earlier mail.
pub async fn resend_link(
    deps: &Verification<'_>,
    tenant: &Tenant,
    to: Recipient,
) -> AppResult<bool> {
    let subject = format!("{}:{}", tenant.id, to.id);
    let limited = deps
        .limits
        .limit(
            "verify-mail",
            &subject,
            Quota::per_hour(5, 2),
            "Too many verification mails.",
        )
        .await;
    if limited.is_err() {
        return Ok(false);
    }
    send_link(deps, tenant, to).await?;
    Ok(true)
}

/// Uses a verification link: marks the address verified and records it.
pub async fn verify(
    deps: &Verification<'_>,
    tenant: &Tenant,
    token: String,
    meta: RequestMeta,
) -> AppResult<Result<User, TokenProblem>> {
    let slug = tenant.slug.to_string();
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let id = match user_token::consume(conn, &token, Purpose::EmailVerification)? {
                Ok(id) => id,
                Err(p) => return Ok(Err(p)),
            };
            let user: User = diesel::update(users::table.find(id))
                .set((
                    users::email_verified_at.eq(Some(time::OffsetDateTime::now_utc())),
                    users::updated_at.eq(diesel::dsl::now),
                ))
                .returning(User::as_returning())
                .get_result(conn)?;
            let ev = AuditEvent::new("email.verified")
                .actor(Some(user.id), Some(&user.email))
                .target(&user.email);
            audit::record(conn, &slug, &meta, ev)?;
            Ok(Ok(user))
        })
        .await
}
