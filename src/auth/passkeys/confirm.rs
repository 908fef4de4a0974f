//! Confirming with one of one's own passkeys: the person is already known (half-way
//! through signing in, or signed in and asked to confirm a sensitive change), so the
//! browser is offered exactly their credentials.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::{
    PasskeyAuthentication, PublicKeyCredential, RequestChallengeResponse, SecurityKeyAuthentication,
};

use super::{Ceremony, PasskeyDeps, Refusal, as_security_key, from_security_key, stored};
use crate::error::{AppError, AppResult};
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::passkey;
use crate::models::tenant::Tenant;
use crate::models::user;

/// A confirmation under way, as kept in the ceremony store.
#[derive(Serialize, Deserialize)]
struct Confirmation {
    user_id: Uuid,
    state: ConfirmationState,
}

#[derive(Serialize, Deserialize)]
enum ConfirmationState {
    Passkey(PasskeyAuthentication),
    SecurityKey(SecurityKeyAuthentication),
}

/// Starts a confirmation for this person: the options for the browser and the
/// ceremony's handle; `None` when they have no passkey.
pub async fn start(
    deps: &PasskeyDeps<'_>,
    tenant: &Tenant,
    user_id: Uuid,
) -> AppResult<Option<(RequestChallengeResponse, String)>> {
    let rows = deps
        .db
        .tenant(&tenant.schema, move |conn| passkey::list_of(conn, user_id))
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let keys = rows.iter().map(stored).collect::<AppResult<Vec<_>>>()?;
    let webauthn = &deps.passkeys.webauthn;
    let (options, state) = if deps.passkeys.passwordless() {
        let (o, s) = webauthn
            .start_passkey_authentication(&keys)
            .map_err(AppError::internal)?;
        (o, ConfirmationState::Passkey(s))
    } else {
        let keys: Vec<_> = keys.into_iter().map(as_security_key).collect();
        let (o, s) = webauthn
            .start_securitykey_authentication(&keys)
            .map_err(AppError::internal)?;
        (o, ConfirmationState::SecurityKey(s))
    };
    let handle = deps
        .passkeys
        .ceremonies
        .put(Ceremony::Confirm, &Confirmation { user_id, state })
        .await?;
    Ok(Some((options, handle)))
}

/// Finishes a confirmation by this person, for `purpose` (kept in the audit log, e.g.
/// "second step" or "confirmation"). The ceremony is used up whatever the answer.
pub async fn finish(
    deps: &PasskeyDeps<'_>,
    tenant: &Tenant,
    user_id: Uuid,
    handle: Option<String>,
    answer: &str,
    purpose: &'static str,
    meta: RequestMeta,
) -> AppResult<Result<(), Refusal>> {
    let confirmation: Option<Confirmation> = match handle {
        Some(h) => deps.passkeys.ceremonies.take(Ceremony::Confirm, &h).await?,
        None => None,
    };
    let Some(confirmation) = confirmation.filter(|c| c.user_id == user_id) else {
        return Ok(Err(Refusal::Expired));
    };
    let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(answer) else {
        return Ok(Err(Refusal::Malformed));
    };
    let credential_id = answer.raw_id.to_vec();
    let webauthn = deps.passkeys.webauthn.clone();
    let slug = tenant.slug.to_string();
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let Some(me) = user::find(conn, user_id)? else {
                return Ok(Err(Refusal::UnknownPasskey));
            };
            let row = passkey::find_by_credential_for_update(conn, &credential_id)?
                .filter(|r| r.user_id == user_id);
            let outcome = match row {
                None => Err(Refusal::UnknownPasskey),
                Some(row) => {
                    let key = stored(&row)?;
                    verify(&webauthn, &answer, confirmation.state, key)?.map(|s| (row, s))
                }
            };
            let (action, details, result) = match outcome {
                Ok((row, new_state)) => {
                    passkey::record_use(conn, row.id, new_state)?;
                    (
                        "passkey.used",
                        serde_json::json!({ "purpose": purpose, "passkey": row.name }),
                        Ok(()),
                    )
                }
                Err(r) => (
                    if r == Refusal::Cloned {
                        "passkey.counter_refused"
                    } else {
                        "passkey.refused"
                    },
                    serde_json::json!({ "purpose": purpose, "reason": r.code() }),
                    Err(r),
                ),
            };
            let ev = AuditEvent::new(action)
                .actor(Some(me.id), Some(&me.email))
                .target(&me.email)
                .details(details);
            audit::record(conn, &slug, &meta, ev)?;
            Ok(result)
        })
        .await
}

/// Checks the answer; the credential's new stored state when its sign count or backup
/// flags changed.
fn verify(
    webauthn: &webauthn_rs::prelude::Webauthn,
    answer: &PublicKeyCredential,
    state: ConfirmationState,
    mut key: webauthn_rs::prelude::Passkey,
) -> AppResult<Result<Option<serde_json::Value>, Refusal>> {
    let checked = match &state {
        ConfirmationState::Passkey(s) => webauthn.finish_passkey_authentication(answer, s),
        ConfirmationState::SecurityKey(s) => webauthn.finish_securitykey_authentication(answer, s),
    };
    let result = match checked {
        Ok(r) => r,
        Err(e) => return Ok(Err(Refusal::from(e))),
    };
    let changed = match state {
        ConfirmationState::Passkey(_) => key.update_credential(&result) == Some(true),
        ConfirmationState::SecurityKey(_) => {
            let mut k = as_security_key(key);
            let changed = k.update_credential(&result) == Some(true);
            key = from_security_key(k);
            changed
        }
    };
    let json = changed
        .then(|| serde_json::to_value(&key))
        .transpose()
        .map_err(AppError::internal)?;
    Ok(Ok(json))
}
