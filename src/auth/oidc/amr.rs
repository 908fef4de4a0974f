//! How the provider says it authenticated the person (`amr`), and which of its values
//! show a second factor.

use serde_json::Value;

use super::SsoPerson;

/// The `amr` values that show the provider checked a second factor (RFC 8176, and
/// what providers use besides): `mfa` (several factors; Authentik's after its
/// Authenticator Validation stage), `otp` (a one-time code), `hwk` / `swk` (a hardware
/// or software key, as passkeys and security keys are reported), `sc` (a smart card),
/// `pop` (proof of possession of a key), `webauthn`, and `user`, which is how Authentik
/// reports a passwordless passkey sign-in (its blueprint's passwordless flow requires
/// user verification). A password (`pwd`), a biometric alone, or no `amr` shows none.
pub const SECOND_FACTOR_AMR: &[&str] =
    &["mfa", "otp", "hwk", "swk", "sc", "pop", "webauthn", "user"];

impl SsoPerson {
    /// Whether the provider's `amr` shows a second factor ([`SECOND_FACTOR_AMR`]).
    pub fn shows_second_factor(&self) -> bool {
        self.amr
            .iter()
            .any(|m| SECOND_FACTOR_AMR.contains(&m.to_ascii_lowercase().as_str()))
    }
}

/// A claim that should be an array of strings (a single string is taken as one), at
/// most 20 short values.
pub(super) fn strings_of(v: Option<&Value>) -> Vec<String> {
    let short = |s: &str| s.chars().take(64).collect::<String>();
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .take(20)
            .map(short)
            .collect(),
        Some(Value::String(s)) => vec![short(s)],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_password_alone_is_not_a_second_factor() {
        let person = |amr: serde_json::Value| SsoPerson {
            sub: "s".into(),
            email: None,
            email_verified: false,
            name: None,
            preferred_username: None,
            groups: Vec::new(),
            id_token: String::new(),
            amr: strings_of(Some(&amr)),
            acr: None,
        };
        assert!(!person(json!(["pwd"])).shows_second_factor());
        assert!(!person(json!(null)).shows_second_factor());
        assert!(person(json!(["pwd", "MFA"])).shows_second_factor());
        assert!(person(json!("otp")).shows_second_factor());
        assert!(person(json!(["hwk"])).shows_second_factor());
    }
}
