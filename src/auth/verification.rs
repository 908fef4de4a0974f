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

/// Issues a new verification link (older ones stop working) and mails it.
pub async fn send_link(deps: &Verification<'_>, tenant: &Tenant, to: Recipient) -> AppResult<()> {
    let ttl = deps.email_verification_ttl;
    let id = to.id;
    let token = deps
        .db
        .tenant(&tenant.schema, move |conn| {
            user_token::issue(conn, id, Purpose::EmailVerification, ttl)
        })
        .await?;
    let hours = ttl.as_secs() / 3600;
    let link = deps
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
    deps.mailer.send_later(Mail {
        to: to.email,
        subject: format!("Confirm your email address for {}", tenant.name),
        body,
    });
    Ok(())
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
