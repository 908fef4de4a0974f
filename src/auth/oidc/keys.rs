//! The OpenID Provider's signing keys (JWKS) for sign-in, cached in the process.
//!
//! Neither openidconnect nor jsonwebtoken refetches a key set, so the portal owns the
//! cache: a token signed with a key the cache does not know triggers one refetch (so the
//! provider can rotate keys), at most once per `OIDC_JWKS_MIN_REFRESH_SECONDS` (so a
//! stream of forged `kid`s cannot turn the portal against the provider), and the cached
//! keys keep working while the provider is unreachable.

use std::{
    sync::RwLock,
    time::{Duration, Instant},
};

use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse},
};
use url::Url;

/// Why no key could be had.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The key set could not be fetched and none is cached.
    #[error("the provider's key set is unreachable: {0}")]
    Unreachable(String),
}

#[derive(Default)]
struct Cached {
    keys: Vec<Jwk>,
    fetched_at: Option<Instant>,
}

/// A cached key set with rate-limited refetching.
pub struct JwksCache {
    min_refresh: Duration,
    cached: RwLock<Cached>,
    // One fetch at a time: concurrent sign-ins with a new key wait for the same fetch.
    fetching: tokio::sync::Mutex<()>,
}

impl JwksCache {
    /// An empty cache that refetches at most once per `min_refresh`.
    pub fn new(min_refresh: Duration) -> Self {
        Self {
            min_refresh,
            cached: RwLock::new(Cached::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The key to verify a token signed with `alg` and carrying `kid`; `None` when the
    /// provider has no such key, even after a refetch.
    pub async fn key(
        &self,
        http: &reqwest::Client,
        jwks_uri: &Url,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Option<DecodingKey>, JwksError> {
        if self.never_fetched() {
            self.refresh(http, jwks_uri, true).await?;
        }
        if let Some(k) = self.find(kid, alg) {
            return Ok(Some(k));
        }
        // An unknown key: perhaps the provider rotated. Refetch, within the rate limit.
        if self.refresh(http, jwks_uri, false).await? {
            return Ok(self.find(kid, alg));
        }
        Ok(None)
    }

    fn never_fetched(&self) -> bool {
        self.cached
            .read()
            .map(|c| c.fetched_at.is_none())
            .unwrap_or(true)
    }

    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
        let cached = self.cached.read().ok()?;
        let usable: Vec<&Jwk> = cached.keys.iter().filter(|k| fits(k, alg)).collect();
        let jwk = match kid {
            Some(kid) => usable
                .into_iter()
                .find(|k| k.common.key_id.as_deref() == Some(kid))?,
            // Without a `kid` only an unambiguous key set can say which key signed.
            None if usable.len() == 1 => usable[0],
            None => return None,
        };
        DecodingKey::from_jwk(jwk).ok()
    }

    /// Fetches the key set unless the last fetch was too recent (`force` ignores that,
    /// for the first fetch). Returns whether a new set was stored.
    async fn refresh(
        &self,
        http: &reqwest::Client,
        jwks_uri: &Url,
        force: bool,
    ) -> Result<bool, JwksError> {
        let before = self.fetched_at();
        let _guard = self.fetching.lock().await;
        // Someone else fetched while this task waited: use their result.
        if self.fetched_at() != before {
            return Ok(true);
        }
        if !force && before.is_some_and(|t| t.elapsed() < self.min_refresh) {
            tracing::info!("JWKS refetch skipped: rate limited");
            return Ok(false);
        }
        match fetch(http, jwks_uri).await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "fetched the provider's JWKS");
                if let Ok(mut c) = self.cached.write() {
                    c.keys = keys;
                    c.fetched_at = Some(Instant::now());
                }
                Ok(true)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot fetch the provider's JWKS");
                // Count the failed attempt too, so a dead provider is not hammered;
                // the keys already cached stay in use.
                let had_keys = if let Ok(mut c) = self.cached.write() {
                    c.fetched_at = Some(Instant::now());
                    !c.keys.is_empty()
                } else {
                    false
                };
                if had_keys {
                    Ok(false)
                } else {
                    Err(JwksError::Unreachable(e))
                }
            }
        }
    }

    fn fetched_at(&self) -> Option<Instant> {
        self.cached.read().ok().and_then(|c| c.fetched_at)
    }
}

/// Whether a key may verify a signature of this algorithm.
fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return false;
    }
    if let Some(key_alg) = jwk.common.key_algorithm
        && key_alg.to_string() != format!("{alg:?}")
    {
        return false;
    }
    match (&jwk.algorithm, alg) {
        (
            AlgorithmParameters::RSA(_),
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
        ) => true,
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => p.curve == EllipticCurve::P256,
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES384) => p.curve == EllipticCurve::P384,
        (AlgorithmParameters::OctetKeyPair(p), Algorithm::EdDSA) => {
            p.curve == EllipticCurve::Ed25519
        }
        // A symmetric key in a public key set is never trusted.
        _ => false,
    }
}

/// Reads a key set, skipping keys this portal cannot use rather than the whole set.
async fn fetch(http: &reqwest::Client, jwks_uri: &Url) -> Result<Vec<Jwk>, String> {
    #[derive(serde::Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Value>,
    }
    let res = http
        .get(jwks_uri.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("answered {}", res.status()));
    }
    let set: RawSet = res
        .json()
        .await
        .map_err(|e| format!("not a key set: {e}"))?;
    Ok(set
        .keys
        .into_iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
        .collect())
}
