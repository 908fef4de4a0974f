//! Signing in with a passkey alone (a discoverable credential: the authenticator names
//! the account, nobody types an email). Only with `WEBAUTHN_USER_VERIFICATION=required`
//! and where the organization allows it.

use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PublicKeyCredential, RequestChallengeResponse,
};

use super::{Ceremony, PasskeyDeps, Refusal, stored};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::passkey;
use crate::models::tenant::Tenant;
use crate::models::user::{self, User};

/// How a passkey sign-in ended.
#[derive(Debug)]
pub enum SignInOutcome {
    /// The passkey of an active person: start their session.
    SignedIn(User),
    /// Refused, and why.
    Refused(Refusal),
}

/// Starts a passkey sign-in: the options for the browser and the ceremony's handle.
/// `None` when this portal or organization does not offer it.
pub async fn start(
    deps: &PasskeyDeps<'_>,
    tenant: &Tenant,
) -> AppResult<Option<(RequestChallengeResponse, String)>> {
    if !offered(deps, tenant).await? {
        return Ok(None);
    }
    let (mut options, state) = deps
        .passkeys
        .webauthn
        .start_discoverable_authentication()
        .map_err(AppError::internal)?;
    // The library prepares this for autofill ("conditional") sign-in; the portal asks
    // when the person presses the button instead.
    options.mediation = None;
    let handle = deps
        .passkeys
        .ceremonies
        .put(Ceremony::SignIn, &state)
        .await?;
    Ok(Some((options, handle)))
}

/// Whether the sign-in page offers "Sign in with a passkey".
pub async fn offered(deps: &PasskeyDeps<'_>, tenant: &Tenant) -> AppResult<bool> {
    if !deps.passkeys.passwordless() {
        return Ok(false);
    }
    let (allowed, _) = deps
        .db
        .tenant(&tenant.schema, passkey::sign_in_rules)
        .await?;
    Ok(allowed)
}

/// The account a passkey's answer names (its user handle), before anything is
/// checked: for the per-account rate limit.
pub fn claimed_account(answer: &str) -> Option<Uuid> {
    let answer: PublicKeyCredential = serde_json::from_str(answer).ok()?;
    answer
        .response
        .user_handle
        .as_deref()
        .and_then(|h| Uuid::from_slice(h).ok())
}

/// Finishes a passkey sign-in. The ceremony is taken out of the store first, so its
/// challenge is answered once whatever happens; every refusal is audited.
pub async fn finish(
    deps: &PasskeyDeps<'_>,
    tenant: &Tenant,
    handle: Option<String>,
    answer: &str,
    meta: RequestMeta,
) -> AppResult<SignInOutcome> {
    let state: Option<DiscoverableAuthentication> = match handle {
        Some(h) => deps.passkeys.ceremonies.take(Ceremony::SignIn, &h).await?,
        None => None,
    };
    let refused = |r: Refusal| Ok(SignInOutcome::Refused(r));
    let Some(state) = state else {
        return refused(Refusal::Expired);
    };
    let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(answer) else {
        return refused(Refusal::Malformed);
    };
    // The user handle and credential id say who claims to sign in; both are only a
    // lookup key until the signature is checked against the credential stored here.
    let Ok((user_id, credential_id)) = deps
        .passkeys
        .webauthn
        .identify_discoverable_authentication(&answer)
    else {
        return refused(Refusal::UnknownPasskey);
    };
    let credential_id = credential_id.to_vec();
    let slug = tenant.slug.to_string();
    let webauthn = deps.passkeys.webauthn.clone();
    // Sign count and backup flags are updated as the library documents: stored again
    // only when they changed. The check runs inside the transaction that holds the
    // credential's row, so two uses at once cannot both pass with one sign count.
    let verify = move |row: &passkey::PasskeyRow| -> AppResult<Result<_, Refusal>> {
        let mut key = stored(row)?;
        match webauthn.finish_discoverable_authentication_v2(&answer, state, &key) {
            Ok(result) => {
                let changed = key.update_credential(&result) == Some(true);
                let json = changed
                    .then(|| serde_json::to_value(&key))
                    .transpose()
                    .map_err(AppError::internal)?;
                Ok(Ok(json))
            }
            Err(e) => Ok(Err(Refusal::from(e))),
        }
    };
    deps.db
        .tenant(&tenant.schema, move |conn| {
            decide(conn, &slug, &meta, user_id, &credential_id, verify)
        })
        .await
}

/// The sign-in's decision, in the tenant's transaction.
fn decide(
    conn: &mut diesel::PgConnection,
    slug: &str,
    meta: &RequestMeta,
    user_id: Uuid,
    credential_id: &[u8],
    verify: impl FnOnce(&passkey::PasskeyRow) -> AppResult<Result<Option<serde_json::Value>, Refusal>>,
) -> AppResult<SignInOutcome> {
    let (allowed, sso_for_staff) = passkey::sign_in_rules(conn)?;
    let row = passkey::find_by_credential_for_update(conn, credential_id)?
        // A credential of this organization presented with another person's handle.
        .filter(|r| r.user_id == user_id);
    let person = match &row {
        Some(r) => user::find(conn, r.user_id)?,
        None => None,
    };
    let (Some(row), Some(person)) = (row, person) else {
        return refuse(conn, slug, meta, None, Refusal::UnknownPasskey);
    };
    if !allowed {
        return refuse(conn, slug, meta, Some(&person), Refusal::NotAllowed);
    }
    let new_state = match verify(&row)? {
        Ok(s) => s,
        Err(r) => return refuse(conn, slug, meta, Some(&person), r),
    };
    // Checked after the signature, so a refusal tells nobody else a person's status.
    if !person.is_active() {
        return refuse(conn, slug, meta, Some(&person), Refusal::Deactivated);
    }
    if sso_for_staff && person.role != Role::Member {
        return refuse(conn, slug, meta, Some(&person), Refusal::SsoRequired);
    }
    passkey::record_use(conn, row.id, new_state)?;
    user::touch_login(conn, person.id)?;
    let ev = AuditEvent::new("login.succeeded")
        .actor(Some(person.id), Some(&person.email))
        .target(&person.email)
        .details(serde_json::json!({ "method": "passkey", "passkey": row.name }));
    audit::record(conn, slug, meta, ev)?;
    Ok(SignInOutcome::SignedIn(person))
}

/// Records a refused passkey sign-in (a sign count that went backwards under its own
/// action) and says so.
fn refuse(
    conn: &mut diesel::PgConnection,
    slug: &str,
    meta: &RequestMeta,
    who: Option<&User>,
    r: Refusal,
) -> AppResult<SignInOutcome> {
    let action = if r == Refusal::Cloned {
        "passkey.counter_refused"
    } else {
        "login.failed"
    };
    let target = who.map_or("(unknown passkey)", |u| u.email.as_str());
    let ev = AuditEvent::new(action)
        .actor(who.map(|u| u.id), who.map(|u| u.email.as_str()))
        .target(target)
        .details(serde_json::json!({ "method": "passkey", "reason": r.code() }));
    audit::record(conn, slug, meta, ev)?;
    Ok(SignInOutcome::Refused(r))
}
