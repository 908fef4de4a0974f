//! Second factors of local accounts: the second step of a password sign-in (an
//! authenticator-app code, a recovery code, or a passkey), enrolling and removing an
//! authenticator app, recovery codes, and the organization's rule of who must have one.
//!
//! Wrong codes count toward the address's lockout exactly like wrong passwords (the
//! same `login_throttle` row, the same limit), and a right password never forgets the
//! failures before the second step is passed too.

pub mod mail;
pub mod recovery;
pub mod reset;
pub mod step_up;
pub mod totp;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::login::{self, Lockout};
use crate::crypto;
use crate::db::Db;
use crate::domain::Email;
use crate::error::AppResult;
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::login_throttle as throttle_rows;
use crate::models::tenant::Tenant;
use crate::models::user::{self, User};

/// What the second-factor services need.
#[derive(Clone, Copy)]
pub struct SecondFactors<'a> {
    /// The database.
    pub db: &'a Db,
    /// The keys derived from `SECRET_KEY`.
    pub keys: &'a FactorKeys,
    /// Wrong passwords or codes in a row before sign-in for that address pauses.
    pub max_failed_attempts: u32,
    /// How long the pause lasts.
    pub lockout_duration: std::time::Duration,
    /// `DEVICE_AUTH_REQUIRED`.
    pub device_auth_required: bool,
}

/// Keys derived from `SECRET_KEY`: one seals authenticator secrets at rest, one keys
/// the stored hashes of recovery codes (a database dump alone cannot test guesses).
#[derive(Clone)]
pub struct FactorKeys {
    seal: [u8; 32],
    recovery: [u8; 32],
}

impl FactorKeys {
    /// The keys of this `SECRET_KEY`.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            seal: crypto::derive_key(secret, "tenant-portal/totp-seal/v1"),
            recovery: crypto::derive_key(secret, "tenant-portal/recovery-codes/v1"),
        }
    }
}

/// How a second step was passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A code of an authenticator app.
    Totp,
    /// A single-use recovery code.
    RecoveryCode,
    /// A passkey.
    Passkey,
}

impl Method {
    /// The name the audit log keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::RecoveryCode => "recovery_code",
            Method::Passkey => "passkey",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "totp" => Some(Method::Totp),
            "recovery_code" => Some(Method::RecoveryCode),
            "passkey" => Some(Method::Passkey),
            _ => None,
        }
    }
}

/// The person at the second step: who passed the password.
#[derive(Debug, Clone)]
pub struct Who {
    /// Their id.
    pub id: Uuid,
    /// Their address (the lockout counts per address).
    pub email: String,
}

/// How a code at the second step (or at a step-up) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOutcome {
    /// The code was right and is now spent.
    Accepted,
    /// Wrong, already used, or of a factor the person does not have.
    Refused,
    /// Too many failures for the address: paused this many seconds.
    Locked {
        /// Seconds until the lock ends.
        retry_after: u64,
    },
}

/// Checks a code of `method` (an authenticator code or a recovery code) for `who`,
/// in one transaction: a paused address is refused even with a right code; a right
/// code is spent (never accepted twice) and audited; a wrong one is audited and counted
/// toward the lockout like a wrong password. A recovery code used mails the person.
pub async fn check_code(
    deps: &SecondFactors<'_>,
    tenant: &Tenant,
    who: &Who,
    method: Method,
    code: &str,
    meta: RequestMeta,
) -> AppResult<CodeOutcome> {
    let keys = deps.keys.clone();
    let limit = Lockout::new(deps.max_failed_attempts, deps.lockout_duration);
    let (slug, org) = (tenant.slug.to_string(), tenant.name.clone());
    let (who, code) = (who.clone(), code.trim().to_string());
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let Some(email) = Email::parse(&who.email).ok() else {
                return Ok(CodeOutcome::Refused);
            };
            let now = OffsetDateTime::now_utc();
            let locked = login::throttle_of(conn, &email)?
                .and_then(|(_, until)| until)
                .filter(|u| *u > now);
            let ev = |action| {
                AuditEvent::new(action)
                    .actor(Some(who.id), Some(&who.email))
                    .target(&who.email)
            };
            if let Some(until) = locked {
                audit::record(conn, &slug, &meta, ev("login.refused_locked"))?;
                let secs = (until - now).whole_seconds().max(1) as u64;
                return Ok(CodeOutcome::Locked { retry_after: secs });
            }
            let right = match method {
                Method::Totp => totp::accept(conn, &keys, who.id, &code, now)?,
                Method::RecoveryCode => recovery::consume(conn, &keys, who.id, &code)?,
                Method::Passkey => false,
            };
            let details = serde_json::json!({ "method": method.as_str() });
            if right {
                let action = match method {
                    Method::RecoveryCode => "recovery_code.used",
                    _ => "second_factor.used",
                };
                audit::record(conn, &slug, &meta, ev(action).details(details))?;
                if method == Method::RecoveryCode {
                    tell_recovery_code_used(conn, &who, &org)?;
                }
                return Ok(CodeOutcome::Accepted);
            }
            audit::record(
                conn,
                &slug,
                &meta,
                ev("second_factor.refused").details(details),
            )?;
            let lock = login::register_failure(conn, &slug, &meta, &email, limit, method.as_str())?;
            Ok(match lock {
                Some(secs) => CodeOutcome::Locked { retry_after: secs },
                None => CodeOutcome::Refused,
            })
        })
        .await
}

/// Mails the person that one of their recovery codes was used, with how many are left.
fn tell_recovery_code_used(conn: &mut PgConnection, who: &Who, org: &str) -> AppResult<()> {
    let left = recovery::remaining(conn, who.id)?;
    mail::recovery_code_used(conn, &who.email, org, left)
}

/// Completes the sign-in of a person who passed both steps: the address's failures are
/// forgotten, the sign-in is recorded (with both methods) and the person is read again,
/// so that a deactivation or role change during the second step counts. `None` when
/// they may no longer sign in.
pub async fn complete_sign_in(
    db: &Db,
    tenant: &Tenant,
    user_id: Uuid,
    method: Method,
    meta: RequestMeta,
) -> AppResult<Option<User>> {
    let slug = tenant.slug.to_string();
    db.tenant(&tenant.schema, move |conn| {
        let Some(u) = user::find(conn, user_id)?.filter(User::is_active) else {
            return Ok(None);
        };
        throttle_rows::clear(conn, &u.email)?;
        user::touch_login(conn, u.id)?;
        let ev = AuditEvent::new("login.succeeded")
            .actor(Some(u.id), Some(&u.email))
            .target(&u.email)
            .details(serde_json::json!({
                "method": "password",
                "second_factor": method.as_str(),
            }));
        audit::record(conn, &slug, &meta, ev)?;
        Ok(Some(u))
    })
    .await
}

/// Whether `user` must have a second factor under the organization's rule and the
/// platform's `DEVICE_AUTH_REQUIRED`.
pub fn required_for(conn: &mut PgConnection, user: &User, everywhere: bool) -> AppResult<bool> {
    let rule = crate::models::tenant_settings::load(conn)?.second_factor;
    Ok(rule.requires(user.role, everywhere))
}
