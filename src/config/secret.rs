//! `SECRET_KEY`, which signs cookies and CSRF tokens and seals the token signing keys.

use rand::{Rng, distributions::Alphanumeric};

use super::Reader;

/// The smallest `SECRET_KEY` accepted, in characters.
pub const MIN_SECRET_KEY_LEN: usize = 64;
const WEAK_SECRETS: &[&str] = &["changeme", "change-me", "secret", "development", "insecure"];

/// Reads `SECRET_KEY`: required in production, refused when short or a well-known
/// placeholder. Unset in development, a random key serves this process (with a
/// warning), so the portal starts without any configuration.
pub(super) fn read(r: &mut Reader<'_>, prod: bool, warnings: &mut Vec<String>) -> String {
    let key = match r.text("SECRET_KEY") {
        Some(k) if WEAK_SECRETS.iter().any(|w| k.eq_ignore_ascii_case(w)) => {
            r.problem("SECRET_KEY", "is a well-known placeholder; generate a random one (for example `openssl rand -base64 48`)".into());
            None
        }
        Some(k) if k.chars().count() < MIN_SECRET_KEY_LEN => {
            r.problem(
                "SECRET_KEY",
                format!("is too short: use at least {MIN_SECRET_KEY_LEN} random characters (for example `openssl rand -base64 48`)"),
            );
            None
        }
        Some(k) => Some(k),
        None if prod => {
            r.problem(
                "SECRET_KEY",
                format!(
                    "is required in production: set at least {MIN_SECRET_KEY_LEN} random characters"
                ),
            );
            None
        }
        None => {
            warnings.push("SECRET_KEY is not set: using a random key for this process, so sessions end when it stops".into());
            None
        }
    };
    key.unwrap_or_else(random_secret)
}

fn random_secret() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(MIN_SECRET_KEY_LEN)
        .map(char::from)
        .collect()
}
