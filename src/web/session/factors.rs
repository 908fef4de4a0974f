//! What the session keeps about second factors: a sign-in waiting for its second step
//! (or for the person to add a factor the organization requires), the time of the last
//! step-up confirmation, and a new set of recovery codes until it has been shown once.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{PortalSession, now};
use crate::domain::Role;
use crate::error::AppResult;
use crate::tenancy::Tenant;

const PENDING: &str = "second_factor_pending";
const STEP_UP: &str = "step_up";
const RECOVERY_CODES: &str = "recovery_codes_once";
const SSO_AUTHENTICATION: &str = "oidc_authentication";

/// How the identity provider says it authenticated the person of a single sign-on
/// session (the id_token's `amr` and `acr`), kept for the session's lifetime.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoAuthentication {
    /// Authentication methods (`pwd`, `mfa`, `otp`, `hwk`, ...).
    pub amr: Vec<String>,
    /// Authentication context class.
    pub acr: Option<String>,
}

/// How long the second step may take after the password.
pub const PENDING_SECS: i64 = 5 * 60;
/// How long adding a required factor may take after the password (scanning a QR code
/// and typing a first code takes longer than typing a code).
pub const ENROLL_SECS: i64 = 15 * 60;
/// How long a step-up confirmation lasts.
pub const STEP_UP_SECS: i64 = 10 * 60;
/// Codes (or passkey attempts) tried at one second step before the password is asked
/// again.
pub const MAX_TRIES: u32 = 5;

/// A sign-in that passed the password and waits for its second step, or for the person
/// to add the second factor their organization requires. It grants nothing: no tenant
/// page opens until it is completed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSecondFactor {
    /// The person.
    pub uid: Uuid,
    /// The tenant of the sign-in.
    pub tid: Uuid,
    /// Their role when the password was checked.
    pub role: Role,
    /// Their address.
    pub email: String,
    /// Their name.
    pub name: String,
    /// Where to go afterwards (already checked to be inside the tenant).
    pub next: Option<String>,
    /// Unix time the password was checked.
    pub since: i64,
    /// Second-step attempts so far.
    pub tries: u32,
    /// The person owes a factor (organization rule or `DEVICE_AUTH_REQUIRED`) and has
    /// none: they add one instead of giving one.
    pub enroll: bool,
}

impl PendingSecondFactor {
    /// Whether it is still usable now.
    fn live(&self, t: i64) -> bool {
        let ttl = if self.enroll {
            ENROLL_SECS
        } else {
            PENDING_SECS
        };
        t - self.since <= ttl && self.tries < MAX_TRIES
    }

    /// Whether it belongs to this tenant.
    pub fn is_for(&self, tenant: &Tenant) -> bool {
        self.tid == tenant.id
    }
}

impl PortalSession {
    /// Starts a sign-in's second step (or its required enrollment): a new session id,
    /// nothing else in the session, so a planted id is worthless and no earlier sign-in
    /// survives.
    pub fn begin_second_factor(&self, mut pending: PendingSecondFactor) -> AppResult<()> {
        self.restart();
        pending.since = now();
        pending.tries = 0;
        self.put(PENDING, pending)
    }

    /// The sign-in waiting for its second step, while it is live (five minutes, fifteen
    /// for a required enrollment, and fewer than [`MAX_TRIES`] attempts).
    pub fn pending_second_factor(&self) -> Option<PendingSecondFactor> {
        self.read::<PendingSecondFactor>(PENDING)
            .filter(|p| p.live(now()))
    }

    /// Counts one more attempt of the waiting sign-in; it is dropped at the limit.
    /// Returns whether attempts are left.
    pub fn count_second_factor_try(&self, mut pending: PendingSecondFactor) -> AppResult<bool> {
        pending.tries += 1;
        if pending.tries >= MAX_TRIES {
            self.drop_second_factor();
            return Ok(false);
        }
        self.put(PENDING, pending)?;
        Ok(true)
    }

    /// Forgets the waiting sign-in.
    pub fn drop_second_factor(&self) {
        self.0.remove(PENDING);
    }

    /// Notes that the person just confirmed who they are (password and second factor,
    /// or a passkey) for the actions that ask for a fresh confirmation.
    pub fn mark_step_up(&self) -> AppResult<()> {
        self.put(STEP_UP, now())
    }

    /// Whether the person confirmed who they are within the last ten minutes. A session
    /// of single sign-on that began within them counts too: the provider just checked
    /// them, and the portal has no password of theirs to ask for.
    pub fn fresh_step_up(&self) -> bool {
        let t = now();
        let marked = self
            .read::<i64>(STEP_UP)
            .is_some_and(|at| t - at <= STEP_UP_SECS);
        let fresh_sso =
            self.id_token().is_some() && self.identity().is_some_and(|i| t - i.iat <= STEP_UP_SECS);
        marked || fresh_sso
    }

    /// Records how the provider authenticated the person of this single sign-on.
    pub fn set_sso_authentication(&self, auth: SsoAuthentication) -> AppResult<()> {
        self.put(SSO_AUTHENTICATION, auth)
    }

    /// How the provider authenticated the person, for a single sign-on session.
    pub fn sso_authentication(&self) -> Option<SsoAuthentication> {
        self.read(SSO_AUTHENTICATION)
    }

    /// Keeps a new set of recovery codes until the page that shows them once.
    pub fn keep_recovery_codes(&self, codes: Vec<String>) -> AppResult<()> {
        self.put(RECOVERY_CODES, codes)
    }

    /// Takes the recovery codes kept to be shown, once.
    pub fn take_recovery_codes(&self) -> Option<Vec<String>> {
        self.0.remove_as(RECOVERY_CODES).and_then(Result::ok)
    }
}
