//! Passkeys (WebAuthn) for local accounts, on webauthn-rs: adding one on the profile
//! ([`enrol`]), signing in with one alone ([`sign_in`]) and confirming with one
//! ([`confirm`]: the second step of a sign-in, or a fresh confirmation).
//!
//! The relying party is the portal: its id is `PORTAL_BASE_URL`'s host (a domain name;
//! browsers refuse IP addresses) and the only origin accepted is that URL's origin.
//! Credentials live in the tenant's own schema, so a passkey of one organization is
//! unknown to every other.
//!
//! How `WEBAUTHN_USER_VERIFICATION` maps onto the library: `required` uses its passkey
//! API, which demands user verification at registration and at every use, and only
//! then may a passkey sign someone in without a password. The library's passkey API
//! cannot relax that, so `preferred` (and `discouraged`, which the library offers only
//! behind a feature it warns against) use its security-key API, which asks for
//! verification without enforcing it: such keys are stored in the same table but only
//! ever confirm a sign-in that a password started.

mod ceremony;
pub mod confirm;
pub mod enrol;
pub mod sign_in;

pub use ceremony::{CEREMONY_TTL, Ceremonies, Ceremony};

use url::Url;
use webauthn_rs::prelude::{
    Credential, Passkey, SecurityKey, Webauthn, WebauthnBuilder, WebauthnError,
};

use crate::config::UserVerification;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::models::passkey::PasskeyRow;

/// The portal as a WebAuthn relying party, with its ceremony store.
pub struct Passkeys {
    webauthn: std::sync::Arc<Webauthn>,
    verification: UserVerification,
    ceremonies: Ceremonies,
}

impl Passkeys {
    /// The relying party of `base_url` (id: its host, origin: its origin). An error in
    /// words when the host is not a domain name: WebAuthn does not work on IP
    /// addresses, and the portal then offers no passkeys.
    pub fn new(
        base_url: &Url,
        verification: UserVerification,
        ceremonies: Ceremonies,
    ) -> Result<Self, String> {
        let rp_id = match base_url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            _ => {
                return Err(format!(
                    "passkeys are off: PORTAL_BASE_URL ({base_url}) must name the portal by a \
                     domain name (localhost in development), not an IP address"
                ));
            }
        };
        let origin = Url::parse(&base_url.origin().ascii_serialization())
            .map_err(|e| format!("passkeys are off: PORTAL_BASE_URL has no origin ({e})"))?;
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)
            .and_then(|b| b.rp_name("Tenant Portal").timeout(CEREMONY_TTL).build())
            .map_err(|e| format!("passkeys are off: {e}"))?;
        Ok(Self {
            webauthn: std::sync::Arc::new(webauthn),
            verification,
            ceremonies,
        })
    }

    /// Whether a passkey may sign someone in without a password: only when every use
    /// verifies the person.
    pub fn passwordless(&self) -> bool {
        self.verification.is_required()
    }

    /// The ceremony store.
    pub fn ceremonies(&self) -> &Ceremonies {
        &self.ceremonies
    }
}

/// What the passkey services need.
#[derive(Clone, Copy)]
pub struct PasskeyDeps<'a> {
    /// The database.
    pub db: &'a Db,
    /// The relying party.
    pub passkeys: &'a Passkeys,
    /// The keys of recovery codes, issued with a person's first factor.
    pub keys: &'a crate::auth::second_factor::FactorKeys,
    /// `DEVICE_AUTH_REQUIRED`: everyone must keep a second factor.
    pub device_auth_required: bool,
}

/// Why a passkey was not accepted, in words a person can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No ceremony under way for this session, or it expired or was answered already.
    Expired,
    /// The browser's answer could not be read.
    Malformed,
    /// The authenticator did not verify the person (no PIN, fingerprint or face).
    NotVerified,
    /// The answer does not check out: another site, another relying party, a wrong
    /// signature or challenge.
    Invalid,
    /// No such passkey in this organization (or not this person's).
    UnknownPasskey,
    /// Its sign count went backwards: the credential may have been copied.
    Cloned,
    /// The person is deactivated.
    Deactivated,
    /// The organization does not allow signing in with a passkey alone.
    NotAllowed,
    /// Staff and admins of this organization sign in through single sign-on.
    SsoRequired,
    /// The authenticator's credential is registered already.
    Duplicate,
    /// The name is empty, too long or holds control characters.
    BadName,
    /// It is the last second factor of someone who must have one.
    LastRequired,
}

impl Refusal {
    /// The message for the person.
    pub fn message(self) -> &'static str {
        match self {
            Self::Expired => {
                "That passkey request has expired or was already used. Please try again."
            }
            Self::Malformed => "Your browser's answer could not be read. Please try again.",
            Self::NotVerified => {
                "Your passkey did not verify that it is you (with a PIN, fingerprint or face). \
                 Use a passkey or device that asks for one."
            }
            Self::Invalid => "That passkey could not be verified for this site. Please try again.",
            Self::UnknownPasskey => "That passkey is not registered with this organization.",
            Self::Cloned => {
                "That passkey was refused: its use counter went backwards, which suggests it \
                 was copied. Sign in another way and remove it from your profile."
            }
            Self::Deactivated => "Your account is deactivated.",
            Self::NotAllowed => "This organization does not allow signing in with a passkey alone.",
            Self::SsoRequired => {
                "Staff and admins of this organization sign in with single sign-on: use \"Sign \
                 in with SSO\"."
            }
            Self::Duplicate => "This passkey is already registered.",
            Self::BadName => {
                "Give the passkey a name of 1 to 60 characters, such as \"Work laptop\"."
            }
            Self::LastRequired => {
                "Your organization requires a second factor: add another passkey or an \
                 authenticator app before you remove this one."
            }
        }
    }

    /// The reason kept in the audit log.
    pub fn code(self) -> &'static str {
        match self {
            Self::Expired => "challenge expired or used",
            Self::Malformed => "unreadable answer",
            Self::NotVerified => "user not verified",
            Self::Invalid => "verification failed",
            Self::UnknownPasskey => "unknown passkey",
            Self::Cloned => "sign count went backwards",
            Self::Deactivated => "deactivated",
            Self::NotAllowed => "passkey sign-in not allowed",
            Self::SsoRequired => "single sign-on required",
            Self::Duplicate => "already registered",
            Self::BadName => "bad name",
            Self::LastRequired => "last required factor",
        }
    }
}

impl From<WebauthnError> for Refusal {
    fn from(e: WebauthnError) -> Self {
        // The library's reason goes to the log; the person gets one of a few messages.
        tracing::info!(error = ?e, "passkey refused");
        match e {
            WebauthnError::UserNotVerified => Self::NotVerified,
            WebauthnError::CredentialPossibleCompromise => Self::Cloned,
            WebauthnError::ParseBase64Failure(_)
            | WebauthnError::ParseCBORFailure(_)
            | WebauthnError::ParseJSONFailure(_) => Self::Malformed,
            _ => Self::Invalid,
        }
    }
}

/// A passkey as a person's profile shows it.
#[derive(Debug, Clone)]
pub struct PasskeyView {
    /// Its id.
    pub id: uuid::Uuid,
    /// Its name.
    pub name: String,
    /// When it was added.
    pub created_at: time::OffsetDateTime,
    /// When it was last used.
    pub last_used_at: Option<time::OffsetDateTime>,
}

impl From<&PasskeyRow> for PasskeyView {
    fn from(r: &PasskeyRow) -> Self {
        Self {
            id: r.id,
            name: r.name.clone(),
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

/// The stored credential of a row. Security keys (the weaker verification settings)
/// are stored in the same shape as passkeys.
fn stored(row: &PasskeyRow) -> AppResult<Passkey> {
    serde_json::from_value(row.credential.clone()).map_err(AppError::internal)
}

/// A stored credential as a security key, for the weaker verification settings.
fn as_security_key(p: Passkey) -> SecurityKey {
    SecurityKey::from(Credential::from(p))
}

/// A security key in the stored shape.
fn from_security_key(k: SecurityKey) -> Passkey {
    Passkey::from(Credential::from(k))
}

/// A passkey's name as typed: trimmed, 1 to 60 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, Refusal> {
    let name = raw.trim();
    let len = name.chars().count();
    if len == 0 || len > 60 || name.chars().any(char::is_control) {
        return Err(Refusal::BadName);
    }
    Ok(name.to_string())
}
