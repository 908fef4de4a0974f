//! Secrets the portal makes and checks: random link tokens and their stored hashes,
//! and HMAC-SHA256 for keys derived from `SECRET_KEY`.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The stored form of a token: its SHA-256, hex.
pub fn hash_token(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

/// HMAC-SHA256 of `data` under `key`: keys derived from `SECRET_KEY` and CSRF tokens.
/// HMAC takes keys of any length, so this cannot fail.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), data);
    let mut out = [0u8; 32];
    out.iter_mut().zip(tag.as_ref()).for_each(|(o, t)| *o = *t);
    out
}

/// A new random token for a link, and its stored form.
pub fn generate_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let stored = hash_token(&raw);
    (raw, stored)
}

#[cfg(test)]
mod tests {
    use super::hmac_sha256;

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
