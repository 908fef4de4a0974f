//! Forgotten passwords: a mailed, single-use, expiring link that sets a new one.
//!
//! Asking for a link answers the same whether or not the email belongs to someone;
//! the mail is queued with the link and leaves in the background, so the answer takes
//! the same time either way.

use diesel::prelude::*;
use uuid::Uuid;

use crate::auth::password::PasswordHasher;
use crate::auth::session_store::SessionIndex;
use crate::db::Db;
use crate::db::schema::tenant::{login_throttle, users};
use crate::domain::{Email, FieldError, NewPassword, PasswordPolicy};
use crate::error::{AppError, AppResult};
use crate::mail::Mail;
use crate::mail::Mailer;
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::mail_outbox;
use crate::models::tenant::Tenant;
use crate::models::tenant_settings as settings;
use crate::models::user::{self, User};
use crate::models::user_token::{self, Purpose, TokenProblem};

/// What password reset needs.
#[derive(Clone, Copy)]
pub struct Recovery<'a> {
    /// The database.
    pub db: &'a Db,
    /// bcrypt on the blocking pool.
    pub hasher: &'a PasswordHasher,
    /// Outgoing mail.
    pub mailer: &'a Mailer,
    /// Every session of a person, to end them.
    pub sessions: &'a SessionIndex,
    /// Whether the portal allows password sign-in at all.
    pub password_auth_enabled: bool,
    /// How long a reset link works.
    pub password_reset_ttl: std::time::Duration,
}

/// Mails a reset link to the person with this email, if there is one who may sign in
/// with a password. Says nothing about whether there was.
pub async fn request_reset(
    deps: &Recovery<'_>,
    tenant: &Tenant,
    email: Email,
    meta: RequestMeta,
) -> AppResult<()> {
    let ttl = deps.password_reset_ttl;
    let slug = tenant.slug.to_string();
    let platform_allows = deps.password_auth_enabled;
    let mailer = deps.mailer.clone();
    let org = tenant.name.clone();
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let allowed = platform_allows && settings::load(conn)?.password_login;
            let user = user::find_by_email(conn, &email)?.filter(|u| u.is_active());
            let (mailed, known) = match user {
                Some(u) if allowed => {
                    let token = user_token::issue(conn, u.id, Purpose::PasswordReset, ttl)?;
                    // The mail is committed with its token: neither exists without the other.
                    let link = mailer.link(&format!("/t/{slug}/password/reset/{token}"));
                    mail_outbox::enqueue(conn, &reset_mail(&u, &org, ttl, &link))?;
                    (true, true)
                }
                Some(_) => (false, true),
                None => (false, false),
            };
            let ev = AuditEvent::new("password.reset_requested")
                .target(email.as_str())
                .details(serde_json::json!({ "mailed": mailed, "known": known }));
            audit::record(conn, &slug, &meta, ev)?;
            Ok(())
        })
        .await
}

/// The mail with a reset link.
fn reset_mail(user: &User, org: &str, ttl: std::time::Duration, link: &str) -> Mail {
    let minutes = ttl.as_secs() / 60;
    let body = format!(
        "Hello {name},\n\n\
         Someone asked to reset the password of your {org} account ({email}).\n\
         Open this link within {minutes} minutes to choose a new password:\n\n\
         {link}\n\n\
         The link works once. If you did not ask for this, ignore this message: \
         your password stays as it is.\n",
        name = user.name,
        email = user.email,
    );
    Mail {
        to: user.email.clone(),
        subject: format!("Reset your {org} password"),
        body,
    }
}

/// The person a reset link belongs to, without using the link.
pub async fn holder(
    deps: &Recovery<'_>,
    tenant: &Tenant,
    token: String,
) -> AppResult<Result<User, TokenProblem>> {
    deps.db
        .tenant(&tenant.schema, move |conn| {
            Ok(
                match user_token::peek(conn, &token, Purpose::PasswordReset)? {
                    Ok(id) => user::find(conn, id)?
                        .filter(|u| u.is_active())
                        .ok_or(TokenProblem::Unknown),
                    Err(p) => Err(p),
                },
            )
        })
        .await
}

/// Why a new password was not set.
#[derive(Debug)]
pub enum ResetRefused {
    /// The link does not work (any more).
    Link(TokenProblem),
    /// The password breaks the policy.
    Password(FieldError),
}

/// Sets a new password through a reset link. The link is used up, failed sign-ins
/// are forgiven, and every session of the person ends (before and after the change,
/// so neither an old session nor one started meanwhile with the old password lives).
pub async fn reset(
    deps: &Recovery<'_>,
    tenant: &Tenant,
    token: String,
    password: &str,
    meta: RequestMeta,
) -> AppResult<Result<User, ResetRefused>> {
    let user = match holder(deps, tenant, token.clone()).await? {
        Ok(u) => u,
        Err(p) => return Ok(Err(ResetRefused::Link(p))),
    };
    let context = [
        user.email.as_str(),
        user.name.as_str(),
        tenant.name.as_str(),
    ];
    let password = match NewPassword::parse(password, PasswordPolicy::default(), &context) {
        Ok(p) => p,
        Err(e) => return Ok(Err(ResetRefused::Password(e))),
    };
    let hash = deps.hasher.hash(&password).await?;
    end_sessions(deps, tenant.id, user.id).await?;
    let slug = tenant.slug.to_string();
    let changed = deps
        .db
        .tenant(&tenant.schema, move |conn| {
            let id = match user_token::consume(conn, &token, Purpose::PasswordReset)? {
                Ok(id) => id,
                Err(p) => return Ok(Err(p)),
            };
            let user: User = diesel::update(users::table.find(id))
                .set((
                    users::password_hash.eq(&hash),
                    // Following the mailed link proves the address too.
                    users::email_verified_at.eq(diesel::dsl::sql::<
                        diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
                    >(
                        "COALESCE(email_verified_at, now())"
                    )),
                    users::updated_at.eq(diesel::dsl::now),
                ))
                .returning(User::as_returning())
                .get_result(conn)?;
            diesel::delete(login_throttle::table.find(&user.email)).execute(conn)?;
            let ev = AuditEvent::new("password.reset")
                .actor(Some(user.id), Some(&user.email))
                .target(&user.email);
            audit::record(conn, &slug, &meta, ev)?;
            Ok(Ok(user))
        })
        .await?;
    let user = match changed {
        Ok(u) => u,
        Err(p) => return Ok(Err(ResetRefused::Link(p))),
    };
    if let Err(e) = end_sessions(deps, tenant.id, user.id).await {
        tracing::warn!(error = %e, "sessions started during a password reset were not ended");
    }
    Ok(Ok(user))
}

async fn end_sessions(deps: &Recovery<'_>, tenant: Uuid, user: Uuid) -> AppResult<usize> {
    deps.sessions.end_all(tenant, user).await.map_err(|e| {
        tracing::warn!(error = %e, "could not end sessions");
        AppError::Unavailable("session store")
    })
}
