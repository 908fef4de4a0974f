//! A person's own passkeys: adding one (a registration ceremony), listing, renaming and
//! removing them. Each change is audited and, when a passkey is added or removed,
//! mailed to the person, in the change's own transaction.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::{
    CreationChallengeResponse, PasskeyRegistration, RegisterPublicKeyCredential,
    SecurityKeyRegistration,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::{Ceremony, PasskeyDeps, PasskeyView, Refusal, from_security_key, parse_name};
use crate::auth::second_factor::{recovery, required_for};
use crate::error::{AppError, AppResult};
use crate::mail::Mail;
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::mail_outbox;
use crate::models::passkey;
use crate::models::second_factor;
use crate::models::tenant::Tenant;
use crate::models::user::{self, Actor};

/// A registration under way, as kept in the ceremony store.
#[derive(Serialize, Deserialize)]
struct Enrolment {
    /// Whose passkey it will be: the ceremony of one person never adds to another.
    user_id: Uuid,
    state: EnrolmentState,
}

#[derive(Serialize, Deserialize)]
enum EnrolmentState {
    Passkey(PasskeyRegistration),
    SecurityKey(SecurityKeyRegistration),
}

/// Starts adding a passkey for `who`: the options for the browser, and the handle of
/// the ceremony for the session.
pub async fn start(
    deps: &PasskeyDeps<'_>,
    tenant: &Tenant,
    who: &Actor,
) -> AppResult<(CreationChallengeResponse, String)> {
    let uid = who.id;
    let (me, existing) = deps
        .db
        .tenant(&tenant.schema, move |conn| {
            Ok((user::find(conn, uid)?, passkey::list_of(conn, uid)?))
        })
        .await?;
    let me = me
        .filter(|u| u.is_active())
        .ok_or_else(|| AppError::Forbidden(Refusal::Deactivated.message().into()))?;
    // Second factors of people of single sign-on belong to the identity provider.
    if me.password_hash.is_none() {
        return Err(AppError::Forbidden(
            "You sign in with single sign-on: add passkeys at your identity provider.".into(),
        ));
    }
    // The authenticator refuses to register a second credential for the same account.
    let exclude: Vec<Vec<u8>> = existing.iter().map(|r| r.credential_id.clone()).collect();
    let webauthn = &deps.passkeys.webauthn;
    let (mut options, state) = if deps.passkeys.passwordless() {
        let (o, s) = webauthn
            .start_passkey_registration(me.id, &me.email, &me.name, Some(exclude))
            .map_err(AppError::internal)?;
        (o, EnrolmentState::Passkey(s))
    } else {
        let (o, s) = webauthn
            .start_securitykey_registration(me.id, &me.email, &me.name, Some(exclude), None, None)
            .map_err(AppError::internal)?;
        (o, EnrolmentState::SecurityKey(s))
    };
    if deps.passkeys.passwordless() {
        // Signing in without an email needs a discoverable credential (kept on the
        // authenticator with the account's handle); the library leaves that to us. The
        // server checks nothing of it, so it is only ever a request to the browser.
        if let Some(sel) = options.public_key.authenticator_selection.as_mut() {
            sel.resident_key = Some(ResidentKeyRequirement::Required);
            sel.require_resident_key = true;
        }
    }
    let enrolment = Enrolment {
        user_id: me.id,
        state,
    };
    let handle = deps
        .passkeys
        .ceremonies
        .put(Ceremony::Register, &enrolment)
        .await?;
    Ok((options, handle))
}

/// A passkey just added, and the person's first recovery codes when it is their first
/// second factor (to be shown once).
pub type Added = (PasskeyView, Option<Vec<String>>);

/// Finishes adding a passkey: checks the browser's answer against the ceremony (taken
/// out of the store whatever happens next) and stores the credential under `name`.
pub async fn finish(
    deps: &PasskeyDeps<'_>,
    tenant: &Tenant,
    who: &Actor,
    handle: Option<String>,
    name: &str,
    answer: &str,
    meta: RequestMeta,
) -> AppResult<Result<Added, Refusal>> {
    let enrolment: Option<Enrolment> = match handle {
        Some(h) => {
            deps.passkeys
                .ceremonies
                .take(Ceremony::Register, &h)
                .await?
        }
        None => None,
    };
    let Some(enrolment) = enrolment.filter(|e| e.user_id == who.id) else {
        return Ok(Err(Refusal::Expired));
    };
    let name = match parse_name(name) {
        Ok(n) => n,
        Err(r) => return Ok(Err(r)),
    };
    let Ok(answer) = serde_json::from_str::<RegisterPublicKeyCredential>(answer) else {
        return Ok(Err(Refusal::Malformed));
    };
    let webauthn = &deps.passkeys.webauthn;
    let verified = match &enrolment.state {
        EnrolmentState::Passkey(s) => webauthn.finish_passkey_registration(&answer, s),
        EnrolmentState::SecurityKey(s) => webauthn
            .finish_securitykey_registration(&answer, s)
            .map(from_security_key),
    };
    let credential = match verified {
        Ok(c) => c,
        Err(e) => {
            let refusal = Refusal::from(e);
            record_refusal(deps, tenant, who, "passkey.add_refused", refusal, meta).await?;
            return Ok(Err(refusal));
        }
    };
    let credential_id = credential.cred_id().to_vec();
    let json = serde_json::to_value(&credential).map_err(AppError::internal)?;
    let (slug, org, actor) = (tenant.slug.to_string(), tenant.name.clone(), who.clone());
    let keys = deps.keys.clone();
    let added = deps
        .db
        .tenant(&tenant.schema, move |conn| {
            let me = user::find_for_update(conn, actor.id)?.filter(|u| u.is_active());
            let Some(me) = me else {
                return Ok(Err(Refusal::Deactivated));
            };
            let row = match passkey::insert(conn, me.id, &name, &credential_id, json) {
                Ok(r) => r,
                Err(AppError::Conflict(_)) => return Ok(Err(Refusal::Duplicate)),
                Err(e) => return Err(e),
            };
            let ev = AuditEvent::new("passkey.added")
                .actor(Some(me.id), Some(&me.email))
                .target(&me.email)
                .details(serde_json::json!({ "passkey": row.name, "passkey_id": row.id }));
            audit::record(conn, &slug, &meta, ev)?;
            mail_outbox::enqueue(
                conn,
                &changed_mail(&me.email, &me.name, &org, &row.name, true),
            )?;
            let codes = recovery::issue_if_first(conn, &keys, me.id)?;
            Ok(Ok((PasskeyView::from(&row), codes)))
        })
        .await?;
    Ok(added)
}

/// Writes a refused attempt to the audit log.
async fn record_refusal(
    deps: &PasskeyDeps<'_>,
    tenant: &Tenant,
    who: &Actor,
    action: &'static str,
    refusal: Refusal,
    meta: RequestMeta,
) -> AppResult<()> {
    let (slug, actor) = (tenant.slug.to_string(), who.clone());
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let ev = AuditEvent::new(action)
                .actor(Some(actor.id), Some(&actor.email))
                .target(&actor.email)
                .details(serde_json::json!({ "reason": refusal.code() }));
            audit::record(conn, &slug, &meta, ev)
        })
        .await
}

/// A person's passkeys, oldest first.
pub async fn list(
    deps: &PasskeyDeps<'_>,
    tenant: &Tenant,
    uid: Uuid,
) -> AppResult<Vec<PasskeyView>> {
    let rows = deps
        .db
        .tenant(&tenant.schema, move |conn| passkey::list_of(conn, uid))
        .await?;
    Ok(rows.iter().map(PasskeyView::from).collect())
}

/// Renames one of the person's own passkeys. `Ok(None)` when they have no such passkey.
pub async fn rename(
    deps: &PasskeyDeps<'_>,
    tenant: &Tenant,
    who: &Actor,
    id: Uuid,
    name: &str,
    meta: RequestMeta,
) -> AppResult<Result<Option<String>, Refusal>> {
    let name = match parse_name(name) {
        Ok(n) => n,
        Err(r) => return Ok(Err(r)),
    };
    let (slug, actor) = (tenant.slug.to_string(), who.clone());
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let Some(before) = passkey::rename(conn, actor.id, id, &name)? else {
                return Ok(Ok(None));
            };
            let ev = AuditEvent::new("passkey.renamed")
                .actor(Some(actor.id), Some(&actor.email))
                .target(&actor.email)
                .details(serde_json::json!({ "from": before, "to": name, "passkey_id": id }));
            audit::record(conn, &slug, &meta, ev)?;
            Ok(Ok(Some(name)))
        })
        .await
}

/// Removes one of the person's own passkeys: `Ok(Some(name))`, `Ok(None)` when they
/// have no such passkey, refused when it is the last second factor of someone who must
/// have one. The person is told by mail; their recovery codes go with their last
/// factor.
pub async fn remove(
    deps: &PasskeyDeps<'_>,
    tenant: &Tenant,
    who: &Actor,
    id: Uuid,
    meta: RequestMeta,
) -> AppResult<Result<Option<String>, Refusal>> {
    let (slug, org, actor) = (tenant.slug.to_string(), tenant.name.clone(), who.clone());
    let everywhere = deps.device_auth_required;
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let Some(me) = user::find_for_update(conn, actor.id)? else {
                return Ok(Ok(None));
            };
            let Some(name) = passkey::remove(conn, me.id, id)? else {
                return Ok(Ok(None));
            };
            let left = second_factor::summary(conn, me.id)?;
            if !left.has_any() {
                if required_for(conn, &me, everywhere)? {
                    // An error rolls the transaction back: the passkey stays.
                    return Err(AppError::Conflict(Refusal::LastRequired.message().into()));
                }
                recovery::delete_all(conn, me.id)?;
            }
            let ev = AuditEvent::new("passkey.removed")
                .actor(Some(me.id), Some(&me.email))
                .target(&me.email)
                .details(serde_json::json!({ "passkey": name, "passkey_id": id }));
            audit::record(conn, &slug, &meta, ev)?;
            mail_outbox::enqueue(conn, &changed_mail(&me.email, &me.name, &org, &name, false))?;
            Ok(Ok(Some(name)))
        })
        .await
        .or_else(|e| match e {
            AppError::Conflict(_) => Ok(Err(Refusal::LastRequired)),
            other => Err(other),
        })
}

/// The mail telling a person a passkey was added to or removed from their account.
fn changed_mail(to: &str, person: &str, org: &str, passkey: &str, added: bool) -> Mail {
    let (what, subject) = if added {
        (
            "was added to",
            format!("A passkey was added to your {org} account"),
        )
    } else {
        (
            "was removed from",
            format!("A passkey was removed from your {org} account"),
        )
    };
    let body = format!(
        "Hello {person},\n\n\
         The passkey \"{passkey}\" {what} your {org} account ({to}).\n\n\
         If this was you, there is nothing to do. If it was not, sign in, check the \
         passkeys on your profile and change your password, and tell your organization's \
         admins.\n"
    );
    Mail {
        to: to.to_string(),
        subject,
        body,
    }
}
