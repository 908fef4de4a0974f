//! An admin resets a member's second factors (a lost phone, a lost security key): every
//! passkey, the authenticator app and the recovery codes are deleted, the member is
//! mailed, and all their sessions end. Through the admin door, audited.

use diesel::prelude::*;
use uuid::Uuid;

use super::mail;
use crate::access::AdminRequest;
use crate::auth::session_store::SessionIndex;
use crate::db::Db;
use crate::db::schema::tenant::{passkeys, recovery_codes, totp_factors};
use crate::error::{AppError, AppResult};
use crate::models::audit_log::AuditEvent;
use crate::models::second_factor::{self, FactorSummary};
use crate::models::tenant::Tenant;
use crate::models::user::{self, User};

/// What was removed from whom.
#[derive(Debug, Clone)]
pub struct Reset {
    /// The member.
    pub member: User,
    /// Their factors before the reset.
    pub before: FactorSummary,
    /// Whether their sessions were ended (the session store may have failed after the
    /// factors were already gone).
    pub sessions_ended: bool,
}

/// Deletes every second factor of `member` in one transaction with its audit row and
/// the member's mail (`by` names who did it in the mail), then ends the member's
/// sessions. A member without any factor or code is left alone (`Ok(None)`).
pub fn delete_factors(
    conn: &mut PgConnection,
    org: &str,
    member: Uuid,
    by: &str,
) -> AppResult<Option<Reset>> {
    let member = user::find_for_update(conn, member)?.ok_or(AppError::NotFound)?;
    let before = second_factor::summary(conn, member.id)?;
    if !before.has_any() && before.recovery_codes_left == 0 {
        return Ok(None);
    }
    diesel::delete(passkeys::table.filter(passkeys::user_id.eq(member.id))).execute(conn)?;
    diesel::delete(totp_factors::table.find(member.id)).execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(member.id)))
        .execute(conn)?;
    mail::factors_reset(conn, &member.email, org, by)?;
    Ok(Some(Reset {
        member,
        before,
        sessions_ended: false,
    }))
}

/// The audit details of a reset.
pub fn details(before: &FactorSummary) -> serde_json::Value {
    serde_json::json!({
        "passkeys": before.passkeys,
        "totp": before.totp,
        "recovery_codes": before.recovery_codes_left,
    })
}

/// An organization admin resets a member's factors. `Ok(None)`: they had none.
pub async fn by_admin(
    db: &Db,
    sessions: &SessionIndex,
    req: &AdminRequest,
    member: Uuid,
) -> AppResult<Option<Reset>> {
    let org = req.tenant.name.clone();
    let reset = req
        .change(db, move |tx| {
            let by = format!("An admin of {org} ({})", tx.admin().email);
            let Some(reset) = delete_factors(tx.conn, &org, member, &by)? else {
                return Ok(None);
            };
            tx.record(
                AuditEvent::new("second_factor.reset")
                    .target(&reset.member.email)
                    .details(details(&reset.before)),
            )?;
            Ok(Some(reset))
        })
        .await?;
    Ok(match reset {
        Some(mut r) => {
            r.sessions_ended = end_sessions(sessions, &req.tenant, r.member.id).await;
            Some(r)
        }
        None => None,
    })
}

/// Ends every session of a member whose factors were reset; whether it worked. The
/// factors are gone either way, so a failing session store is reported, not an error.
pub async fn end_sessions(sessions: &SessionIndex, tenant: &Tenant, member: Uuid) -> bool {
    match sessions.end_all(tenant.id, member).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "sessions not ended after a second-factor reset");
            false
        }
    }
}
