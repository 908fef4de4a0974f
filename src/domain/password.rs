//! A new password that passed the policy: long enough, strong enough, within bcrypt's limit.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::FieldError;

/// What a new password must satisfy.
#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    /// Fewest characters.
    pub min_chars: usize,
    /// Lowest zxcvbn score (0–4).
    pub min_score: u8,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: 10,
            min_score: 3,
        }
    }
}

/// bcrypt reads at most this many bytes; a longer password would be silently cut.
pub const BCRYPT_MAX_BYTES: usize = 72;

/// A password chosen by a person, checked against the policy. Never printed.
#[derive(Clone)]
pub struct NewPassword(SecretString);

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

impl NewPassword {
    /// Checks `raw` against the policy; `context` holds words the password must not
    /// lean on (the person's email, name, organization).
    pub fn parse(raw: &str, policy: PasswordPolicy, context: &[&str]) -> Result<Self, FieldError> {
        let field = "password";
        if raw.is_empty() {
            return Err(FieldError::new(field, "Choose a password."));
        }
        if raw.len() > BCRYPT_MAX_BYTES {
            return Err(FieldError::new(
                field,
                format!(
                    "Passwords can be at most {BCRYPT_MAX_BYTES} bytes (about {BCRYPT_MAX_BYTES} letters, fewer with accents or emoji). Choose a shorter one."
                ),
            ));
        }
        if raw.chars().count() < policy.min_chars {
            return Err(FieldError::new(
                field,
                format!("Use at least {} characters.", policy.min_chars),
            ));
        }
        // The words themselves, their parts, and their parts run together
        // ("Ada Lovelace" → "ada", "lovelace", "adalovelace").
        let squashed: Vec<String> = context
            .iter()
            .map(|w| w.chars().filter(|c| c.is_alphanumeric()).collect())
            .collect();
        let words: Vec<&str> = context
            .iter()
            .flat_map(|w| w.split(|c: char| !c.is_alphanumeric()))
            .filter(|w| w.len() >= 3)
            .chain(context.iter().copied())
            .chain(squashed.iter().map(String::as_str))
            .collect();
        let estimate = zxcvbn::zxcvbn(raw, &words);
        if u8::from(estimate.score()) < policy.min_score {
            let mut message = String::from("This password is too easy to guess.");
            if let Some(feedback) = estimate.feedback() {
                if let Some(w) = feedback.warning() {
                    message.push(' ');
                    message.push_str(&w.to_string());
                }
                if let Some(s) = feedback.suggestions().first() {
                    message.push(' ');
                    message.push_str(&s.to_string());
                }
            }
            if !message.ends_with(['.', '!']) {
                message.push('.');
            }
            return Err(FieldError::new(field, message));
        }
        Ok(Self(SecretString::from(raw.to_string())))
    }

    /// The password text, for hashing only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: &str) -> Result<NewPassword, FieldError> {
        NewPassword::parse(
            p,
            PasswordPolicy::default(),
            &["ada@example.com", "Ada Lovelace"],
        )
    }

    #[test]
    fn strong_passwords_pass() {
        assert!(parse("Correct-Horse-Battery-9142").is_ok());
    }

    #[test]
    fn weak_short_and_personal_passwords_fail() {
        assert!(parse("short").unwrap_err().message.contains("at least 10"));
        assert!(
            parse("password123")
                .unwrap_err()
                .message
                .contains("easy to guess")
        );
        assert!(parse("adalovelace1").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn over_72_bytes_is_refused_not_truncated() {
        let long = "Zq8!".repeat(19);
        assert_eq!(long.len(), 76);
        assert!(parse(&long).unwrap_err().message.contains("72 bytes"));
        // 24 three-byte characters are only 24 letters but 72 bytes: allowed at the limit.
        assert!(
            parse(&"€".repeat(25))
                .unwrap_err()
                .message
                .contains("72 bytes")
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = parse("Correct-Horse-Battery-9142").unwrap();
        assert!(!format!("{p:?}").contains("Horse"));
    }
}
