//! The portal's own signing keys for access tokens (Ed25519, `EdDSA`), shared by every
//! instance through PostgreSQL and published at `/.well-known/jwks.json`.
//!
//! Rotation with overlap: a new key is published `JWT_SIGNING_KEY_PUBLISH_AHEAD_MINUTES`
//! before it starts signing (verifiers that cache the key set learn it first), signs
//! for `JWT_SIGNING_KEY_ROTATION_DAYS`, and stays published until the last token it
//! signed has expired. The private half is stored sealed (ChaCha20-Poly1305) with a
//! key derived from `SECRET_KEY`.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use base64::Engine;
use diesel::prelude::*;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Serialize, de::DeserializeOwned};
use time::OffsetDateTime;

use crate::config::TokenSettings;
use crate::crypto;
use crate::db::Db;
use crate::db::schema::public::signing_keys;
use crate::error::{AppError, AppResult};

/// Why one of the portal's own tokens was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OwnTokenRejected {
    /// Past its expiry.
    #[error("the token has expired")]
    Expired,
    /// Anything else: not ours, tampered with, wrong audience, unknown key.
    #[error("the token is not valid")]
    Invalid,
}

/// A key as loaded by this instance.
struct LoadedKey {
    kid: String,
    public: [u8; 32],
    /// None when this instance cannot unseal it (another `SECRET_KEY`).
    signing: Option<EncodingKey>,
    activates_at: OffsetDateTime,
}

/// The key set, reloaded from the database now and then.
pub struct SigningKeys {
    db: Db,
    seal: [u8; 32],
    settings: TokenSettings,
    keys: RwLock<Vec<LoadedKey>>,
    /// When the keys were last read, to reload at most every few seconds when a
    /// token names a key this instance has not seen yet.
    last_load: tokio::sync::Mutex<Option<Instant>>,
}

/// How long tokens may outlive the key's signing period (clock skew).
const OVERLAP_MARGIN: Duration = Duration::from_secs(300);
/// Clock skew tolerated on the portal's own tokens.
const LEEWAY_SECS: u64 = 30;

impl SigningKeys {
    /// A key set over the database; nothing is read until [`SigningKeys::maintain`].
    pub fn new(db: Db, secret: &[u8], settings: TokenSettings) -> Self {
        let seal = crypto::derive_key(secret, "tenant-portal/signing-key-seal/v1");
        Self {
            db,
            seal,
            settings,
            keys: RwLock::new(Vec::new()),
            last_load: tokio::sync::Mutex::new(None),
        }
    }

    /// Creates a key when none signs now or rotation is due, forgets keys whose tokens
    /// have all expired, and reloads the set. Safe to run from every instance at once.
    pub async fn maintain(&self) -> AppResult<()> {
        let seal = self.seal;
        let s = self.settings.clone();
        let rows = self
            .db
            .public(move |conn| {
                // One instance at a time decides about rotation.
                diesel::sql_query("SELECT pg_advisory_xact_lock(7311504321)").execute(conn)?;
                let mut rows = load_rows(conn)?;
                let now = OffsetDateTime::now_utc();
                let usable = |r: &KeyRow| unseal(&seal, r).is_some();
                let current = rows.iter().rev().find(|r| r.activates_at <= now);
                let newest = rows.last();
                let rotation = time::Duration::try_from(s.key_rotation).unwrap_or_default();
                let ahead = time::Duration::try_from(s.key_publish_ahead).unwrap_or_default();
                let needs_now = current.is_none_or(|c| !usable(c));
                let pending = newest.is_some_and(|n| n.activates_at > now);
                let due = current.is_some_and(|c| c.activates_at + rotation - ahead <= now);
                let made = if needs_now {
                    if current.is_some() {
                        tracing::warn!(
                            "the current signing key cannot be unsealed with this SECRET_KEY; a new key signs from now"
                        );
                    }
                    Some(insert_key(conn, &seal, now)?)
                } else if due && !pending {
                    Some(insert_key(conn, &seal, now + ahead)?)
                } else {
                    None
                };
                rows.extend(made);
                rows.sort_by_key(|r| r.activates_at);
                forget_expired(conn, rows, &s, now)
            })
            .await?;
        self.install(rows);
        Ok(())
    }

    /// Makes a new key sign from now (an operator suspecting a leak); the previous
    /// keys stay published until their tokens expire.
    pub async fn rotate_now(&self) -> AppResult<String> {
        self.rotate(OffsetDateTime::now_utc()).await
    }

    /// Makes a new key that signs from `activates_at`, published from now.
    pub async fn rotate(&self, activates_at: OffsetDateTime) -> AppResult<String> {
        let seal = self.seal;
        let kid = self
            .db
            .public(move |conn| Ok(insert_key(conn, &seal, activates_at)?.kid))
            .await?;
        self.reload().await?;
        Ok(kid)
    }

    /// The keys as stored: id, when each signs from, and whether this instance's
    /// `SECRET_KEY` can sign with it.
    pub async fn list(&self) -> AppResult<Vec<(String, OffsetDateTime, bool)>> {
        let seal = self.seal;
        let rows = self.db.public(load_rows).await?;
        Ok(rows
            .iter()
            .map(|r| (r.kid.clone(), r.activates_at, unseal(&seal, r).is_some()))
            .collect())
    }

    async fn reload(&self) -> AppResult<()> {
        let rows = self.db.public(load_rows).await?;
        self.install(rows);
        Ok(())
    }

    fn install(&self, rows: Vec<KeyRow>) {
        let loaded = rows
            .iter()
            .filter_map(|r| {
                let public: [u8; 32] = r.public_key.as_slice().try_into().ok()?;
                let signing = unseal(&self.seal, r).and_then(|seed| {
                    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
                    let der = key.to_pkcs8_der().ok()?;
                    Some(EncodingKey::from_ed_der(der.as_bytes()))
                });
                Some(LoadedKey {
                    kid: r.kid.clone(),
                    public,
                    signing,
                    activates_at: r.activates_at,
                })
            })
            .collect();
        if let Ok(mut keys) = self.keys.write() {
            *keys = loaded;
        }
    }

    /// How many keys are published.
    pub fn published(&self) -> usize {
        self.keys.read().map(|k| k.len()).unwrap_or(0)
    }

    /// Signs claims with the key that signs now.
    pub fn sign<C: Serialize>(&self, claims: &C) -> AppResult<String> {
        let keys = self
            .keys
            .read()
            .map_err(|_| AppError::internal(anyhow::anyhow!("signing keys poisoned")))?;
        let now = OffsetDateTime::now_utc();
        let key = keys
            .iter()
            .rev()
            .filter(|k| k.activates_at <= now)
            .find_map(|k| k.signing.as_ref().map(|s| (k.kid.clone(), s)))
            .ok_or(AppError::Unavailable("token signing key"))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.0);
        header.typ = Some("at+jwt".into());
        jsonwebtoken::encode(&header, claims, key.1).map_err(AppError::internal)
    }

    /// Verifies one of the portal's own tokens and returns its claims.
    pub async fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<C, OwnTokenRejected> {
        if token.len() > 8 * 1024 {
            return Err(OwnTokenRejected::Invalid);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| OwnTokenRejected::Invalid)?;
        if header.alg != Algorithm::EdDSA {
            return Err(OwnTokenRejected::Invalid);
        }
        let kid = header.kid.ok_or(OwnTokenRejected::Invalid)?;
        let public = match self.public_of(&kid) {
            Some(p) => p,
            None => {
                // Another instance may have just made this key.
                self.reload_for_unknown_key().await;
                self.public_of(&kid).ok_or(OwnTokenRejected::Invalid)?
            }
        };
        let mut v = Validation::new(Algorithm::EdDSA);
        v.leeway = LEEWAY_SECS;
        v.validate_nbf = true;
        v.set_issuer(&[self.settings.issuer.as_str()]);
        v.set_audience(&[self.settings.audience.as_str()]);
        v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<C>(token, &DecodingKey::from_ed_der(&public), &v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => OwnTokenRejected::Expired,
                _ => OwnTokenRejected::Invalid,
            })
    }

    fn public_of(&self, kid: &str) -> Option<[u8; 32]> {
        self.keys
            .read()
            .ok()?
            .iter()
            .find(|k| k.kid == kid)
            .map(|k| k.public)
    }

    async fn reload_for_unknown_key(&self) {
        let mut last = self.last_load.lock().await;
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(5)) {
            return;
        }
        *last = Some(Instant::now());
        if let Err(e) = self.reload().await {
            tracing::warn!(error = %e, "signing keys not reloaded");
        }
    }

    /// The published key set, as `/.well-known/jwks.json` serves it.
    pub fn jwks(&self) -> serde_json::Value {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let keys: Vec<serde_json::Value> = self
            .keys
            .read()
            .map(|keys| {
                keys.iter()
                    .rev()
                    .map(|k| {
                        serde_json::json!({
                            "kty": "OKP",
                            "crv": "Ed25519",
                            "x": b64.encode(k.public),
                            "kid": k.kid,
                            "use": "sig",
                            "alg": "EdDSA",
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        serde_json::json!({ "keys": keys })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = signing_keys)]
struct KeyRow {
    kid: String,
    public_key: Vec<u8>,
    sealed_private_key: Vec<u8>,
    activates_at: OffsetDateTime,
}

fn load_rows(conn: &mut PgConnection) -> AppResult<Vec<KeyRow>> {
    Ok(signing_keys::table
        .order(signing_keys::activates_at.asc())
        .select(KeyRow::as_select())
        .load(conn)?)
}

/// Deletes the keys no unexpired token can carry: those replaced longer ago than an
/// access token lives (plus a margin). Returns the keys kept, in order.
fn forget_expired(
    conn: &mut PgConnection,
    mut rows: Vec<KeyRow>,
    s: &TokenSettings,
    now: OffsetDateTime,
) -> AppResult<Vec<KeyRow>> {
    let keep = time::Duration::try_from(s.access_ttl + OVERLAP_MARGIN).unwrap_or_default();
    // A key is replaced when the next one activates (if that is already the case).
    let gone: Vec<String> = rows
        .windows(2)
        .filter(|w| w[1].activates_at <= now && w[1].activates_at + keep < now)
        .map(|w| w[0].kid.clone())
        .collect();
    if !gone.is_empty() {
        diesel::delete(signing_keys::table.filter(signing_keys::kid.eq_any(&gone)))
            .execute(conn)?;
        tracing::info!(keys = gone.len(), "retired token signing keys removed");
        rows.retain(|r| !gone.contains(&r.kid));
    }
    Ok(rows)
}

fn insert_key(
    conn: &mut PgConnection,
    seal: &[u8; 32],
    activates_at: OffsetDateTime,
) -> AppResult<KeyRow> {
    let rng = SystemRandom::new();
    let mut seed = [0u8; 32];
    rng.fill(&mut seed)
        .map_err(|_| AppError::internal(anyhow::anyhow!("no randomness")))?;
    let mut kid_bytes = [0u8; 12];
    rng.fill(&mut kid_bytes)
        .map_err(|_| AppError::internal(anyhow::anyhow!("no randomness")))?;
    let kid = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(kid_bytes);
    let public = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    let row = KeyRow {
        sealed_private_key: seal_seed(seal, &kid, &seed)?,
        public_key: public.to_vec(),
        kid,
        activates_at,
    };
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(&row.kid),
            signing_keys::algorithm.eq("EdDSA"),
            signing_keys::public_key.eq(&row.public_key),
            signing_keys::sealed_private_key.eq(&row.sealed_private_key),
            signing_keys::activates_at.eq(row.activates_at),
        ))
        .execute(conn)?;
    tracing::info!(kid = %row.kid, activates_at = %activates_at, "token signing key created");
    Ok(row)
}

fn seal_seed(seal: &[u8; 32], kid: &str, seed: &[u8; 32]) -> AppResult<Vec<u8>> {
    crypto::seal(seal, kid.as_bytes(), seed).map_err(AppError::internal)
}

/// The private seed of a stored key, when this `SECRET_KEY` sealed it.
fn unseal(seal: &[u8; 32], row: &KeyRow) -> Option<[u8; 32]> {
    crypto::open(seal, row.kid.as_bytes(), &row.sealed_private_key)?
        .try_into()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_seed_opens_only_with_its_key_and_kid() {
        let seal = [7u8; 32];
        let seed = [42u8; 32];
        let sealed = seal_seed(&seal, "kid-1", &seed).unwrap();
        let row = |kid: &str, sealed: Vec<u8>| KeyRow {
            kid: kid.into(),
            public_key: vec![],
            sealed_private_key: sealed,
            activates_at: OffsetDateTime::now_utc(),
        };
        assert_eq!(unseal(&seal, &row("kid-1", sealed.clone())), Some(seed));
        assert_eq!(unseal(&[8u8; 32], &row("kid-1", sealed.clone())), None);
        assert_eq!(unseal(&seal, &row("kid-2", sealed)), None);
        assert_eq!(unseal(&seal, &row("kid-1", vec![1, 2, 3])), None);
    }
}
