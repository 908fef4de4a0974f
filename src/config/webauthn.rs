//! Passkeys (`WEBAUTHN_USER_VERIFICATION`): how much the portal asks of an
//! authenticator. The relying party id and origin come from `PORTAL_BASE_URL`.

use super::Reader;

/// `WEBAUTHN_USER_VERIFICATION`: whether an authenticator must verify the person (PIN,
/// fingerprint, face) each time, or only show that it is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserVerification {
    /// Every registration and every use must verify the person (the default, and the
    /// only setting production accepts). Passkeys then sign in without a password.
    #[default]
    Required,
    /// Verification is asked for but not enforced: a passkey is only a second factor
    /// after the password, never a way in on its own.
    Preferred,
    /// Treated as `Preferred`: the WebAuthn library offers no weaker mode without a
    /// feature that trains people to ignore verification prompts.
    Discouraged,
}

impl UserVerification {
    /// Whether authenticators must verify the person: only then may a passkey sign
    /// someone in without a password.
    pub fn is_required(self) -> bool {
        self == Self::Required
    }

    /// The setting's value, as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Preferred => "preferred",
            Self::Discouraged => "discouraged",
        }
    }
}

/// Reads `WEBAUTHN_USER_VERIFICATION`; production refuses anything but `required`.
pub(super) fn read(r: &mut Reader<'_>, prod: bool) -> UserVerification {
    const NAME: &str = "WEBAUTHN_USER_VERIFICATION";
    let value = match r.text(NAME).map(|v| v.trim().to_ascii_lowercase()) {
        None => UserVerification::Required,
        Some(v) if v.is_empty() || v == "required" => UserVerification::Required,
        Some(v) if v == "preferred" => UserVerification::Preferred,
        Some(v) if v == "discouraged" => UserVerification::Discouraged,
        Some(v) => {
            r.problem(
                NAME,
                format!("must be required, preferred or discouraged (got {v:?})"),
            );
            return UserVerification::Required;
        }
    };
    if prod && !value.is_required() {
        r.problem(
            NAME,
            format!(
                "must be required in production (got {}): without user verification a stolen \
                 authenticator alone would be enough to sign in",
                value.as_str()
            ),
        );
    }
    value
}

#[cfg(test)]
mod tests {
    use super::UserVerification;
    use crate::config::tests::{problems, production_settings, settings};

    #[test]
    fn passkeys_require_user_verification_unless_told_and_never_in_production() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.webauthn_user_verification, UserVerification::Required);
        let s = settings(&[("WEBAUTHN_USER_VERIFICATION", "Preferred")]).unwrap();
        assert_eq!(s.webauthn_user_verification, UserVerification::Preferred);
        let err = problems(settings(&[("WEBAUTHN_USER_VERIFICATION", "sometimes")]).unwrap_err());
        assert!(
            err[0].starts_with("WEBAUTHN_USER_VERIFICATION: must be required, preferred or"),
            "{err:?}"
        );
        assert_eq!(
            production_settings(&[("WEBAUTHN_USER_VERIFICATION", "required")])
                .unwrap()
                .webauthn_user_verification,
            UserVerification::Required
        );
        for weaker in ["preferred", "discouraged"] {
            let err = problems(
                production_settings(&[("WEBAUTHN_USER_VERIFICATION", weaker)]).unwrap_err(),
            );
            assert!(
                err.iter()
                    .any(|e| e
                        .starts_with("WEBAUTHN_USER_VERIFICATION: must be required in production")),
                "{err:?}"
            );
        }
    }
}
