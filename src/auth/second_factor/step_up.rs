//! Step-up: before removing a factor, making new recovery codes, changing the password
//! or another person's role, a signed-in person confirms who they are again (their
//! password, and a code of their authenticator app if they have one). Wrong answers
//! count toward the address's lockout like wrong passwords at sign-in.

use secrecy::SecretString;
use time::OffsetDateTime;

use super::{CodeOutcome, Method, SecondFactors, Who, check_code};
use crate::auth::login::{self, Lockout};
use crate::auth::password::PasswordHasher;
use crate::domain::Email;
use crate::error::{AppError, AppResult};
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::second_factor::{self, FactorSummary};
use crate::models::tenant::Tenant;
use crate::models::user;

/// What the confirmation asks of a person.
#[derive(Debug, Clone, Copy)]
pub struct Asked {
    /// Their password (people of single sign-on have none).
    pub password: bool,
    /// Their factors (a code is asked when they have an authenticator app).
    pub factors: FactorSummary,
}

/// What the confirmation asks of `who`.
pub async fn asked(deps: &SecondFactors<'_>, tenant: &Tenant, who: &Who) -> AppResult<Asked> {
    let id = who.id;
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let me = user::find(conn, id)?
                .filter(|u| u.is_active())
                .ok_or_else(|| AppError::Forbidden("Your account is deactivated.".into()))?;
            Ok(Asked {
                password: me.password_hash.is_some(),
                factors: second_factor::summary(conn, id)?,
            })
        })
        .await
}

/// How a confirmation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepUp {
    /// Confirmed (and audited).
    Confirmed,
    /// The password was not right.
    WrongPassword,
    /// The authenticator code was not right (or already used).
    WrongCode,
    /// The address is paused after too many failures.
    Locked {
        /// Seconds until the lock ends.
        retry_after: u64,
    },
}

/// Checks the password and, for a person with an authenticator app, a code.
pub async fn confirm(
    deps: &SecondFactors<'_>,
    hasher: &PasswordHasher,
    tenant: &Tenant,
    who: &Who,
    password: SecretString,
    code: &str,
    meta: RequestMeta,
) -> AppResult<StepUp> {
    let (id, email) = (
        who.id,
        Email::parse(&who.email).map_err(|_| AppError::NotFound)?,
    );
    let lookup = email.clone();
    let (me, factors, throttle) = deps
        .db
        .tenant(&tenant.schema, move |conn| {
            let me = user::find(conn, id)?.filter(|u| u.is_active());
            let factors = second_factor::summary(conn, id)?;
            Ok((me, factors, login::throttle_of(conn, &lookup)?))
        })
        .await?;
    let me = me.ok_or_else(|| AppError::Forbidden("Your account is deactivated.".into()))?;
    let now = OffsetDateTime::now_utc();
    if let Some(until) = throttle.and_then(|(_, u)| u).filter(|u| *u > now) {
        let retry_after = (until - now).whole_seconds().max(1) as u64;
        return Ok(StepUp::Locked { retry_after });
    }
    if me.password_hash.is_none() {
        return Err(AppError::BadRequest(
            "You sign in with single sign-on: confirm by signing in with it again.".into(),
        ));
    }
    if !hasher.verify(password, me.password_hash.clone()).await? {
        return wrong_password(deps, tenant, email, meta).await;
    }
    if factors.totp {
        match check_code(deps, tenant, who, Method::Totp, code, meta.clone()).await? {
            CodeOutcome::Accepted => {}
            CodeOutcome::Refused => return Ok(StepUp::WrongCode),
            CodeOutcome::Locked { retry_after } => return Ok(StepUp::Locked { retry_after }),
        }
    }
    let slug = tenant.slug.to_string();
    let who = who.clone();
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let ev = AuditEvent::new("step_up.confirmed")
                .actor(Some(who.id), Some(&who.email))
                .target(&who.email);
            audit::record(conn, &slug, &meta, ev)
        })
        .await?;
    Ok(StepUp::Confirmed)
}

/// A wrong password at a confirmation counts toward the lockout like one at sign-in.
async fn wrong_password(
    deps: &SecondFactors<'_>,
    tenant: &Tenant,
    email: Email,
    meta: RequestMeta,
) -> AppResult<StepUp> {
    let limit = Lockout::new(deps.max_failed_attempts, deps.lockout_duration);
    let slug = tenant.slug.to_string();
    let lock = deps
        .db
        .tenant(&tenant.schema, move |conn| {
            login::register_failure(conn, &slug, &meta, &email, limit, "step_up")
        })
        .await?;
    Ok(match lock {
        Some(retry_after) => StepUp::Locked { retry_after },
        None => StepUp::WrongPassword,
    })
}
