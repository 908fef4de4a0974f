//! Secrets the portal makes and checks: random link tokens and their stored hashes,
//! HMAC-SHA256 for keys derived from `SECRET_KEY`, and sealing of secrets kept at rest
//! (the token signing keys, authenticator-app secrets).

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

/// A 32-byte key derived from `SECRET_KEY` for one purpose (`label` names it, with a
/// version), so that one purpose's key opens nothing of another's.
pub fn derive_key(secret: &[u8], label: &str) -> [u8; 32] {
    hmac_sha256(secret, label.as_bytes())
}

/// Seals `plain` with ChaCha20-Poly1305 under `key`, bound to `aad` (what the secret
/// belongs to, so a sealed value moved to another row does not open). The result is
/// the random 12-byte nonce followed by the ciphertext and its tag.
pub fn seal(key: &[u8; 32], aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, anyhow::Error> {
    use ring::aead;
    use ring::rand::{SecureRandom, SystemRandom};
    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::CHACHA20_POLY1305, key)
            .map_err(|_| anyhow::anyhow!("bad seal key"))?,
    );
    let mut nonce = [0u8; 12];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| anyhow::anyhow!("no randomness"))?;
    let mut data = plain.to_vec();
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::from(aad),
        &mut data,
    )
    .map_err(|_| anyhow::anyhow!("sealing failed"))?;
    let mut out = nonce.to_vec();
    out.extend(data);
    Ok(out)
}

/// Opens what [`seal`] made with the same key and `aad`; `None` for anything else
/// (another key, another owner, a damaged value).
pub fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    use ring::aead;
    let (nonce, sealed) = sealed.split_at_checked(12)?;
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::CHACHA20_POLY1305, key).ok()?);
    let mut data = sealed.to_vec();
    let plain = key
        .open_in_place(
            aead::Nonce::try_assume_unique_for_key(nonce).ok()?,
            aead::Aad::from(aad),
            &mut data,
        )
        .ok()?;
    Some(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::{hmac_sha256, open, seal};

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_owner() {
        let sealed = seal(&[7u8; 32], b"owner-1", b"secret").unwrap();
        assert_eq!(
            open(&[7u8; 32], b"owner-1", &sealed).as_deref(),
            Some(&b"secret"[..])
        );
        assert_eq!(open(&[8u8; 32], b"owner-1", &sealed), None);
        assert_eq!(open(&[7u8; 32], b"owner-2", &sealed), None);
        assert_eq!(open(&[7u8; 32], b"owner-1", &[1, 2, 3]), None);
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
