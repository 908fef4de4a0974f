//! The identity provider's signing keys (JWKS), cached, and the validation of the
//! JWTs it signs (SSO id_tokens, tokens presented for exchange).
//!
//! Neither openidconnect nor jsonwebtoken refetches a key set, so the portal owns the
//! cache, one per key set URL ([`KeySets`]), shared by single sign-on and the token
//! exchange. Keys are kept for an hour. A token with a key id the cache does not know causes
//! one refetch, so the provider can rotate keys at any time, but no more often than
//! the minimum interval, so forged key ids cannot make the portal hammer the
//! provider. While the provider is unreachable the cached keys keep working.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

/// Why a token was refused. The message never repeats the token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenRejected {
    /// Not a JWT, or signed with an algorithm the portal does not accept.
    #[error("the token is malformed or uses an algorithm that is not accepted")]
    Malformed,
    /// No key of the provider matches the token's key id.
    #[error("the token is signed with an unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature is not valid")]
    BadSignature,
    /// Past its expiry.
    #[error("the token has expired")]
    Expired,
    /// Not valid yet (`nbf` or `iat` in the future).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// Issued by someone else.
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    /// Meant for another client.
    #[error("the token was issued for another audience")]
    WrongAudience,
    /// The nonce does not match the sign-in that asked for it.
    #[error("the token does not belong to this sign-in")]
    WrongNonce,
    /// A required claim is missing.
    #[error("the token lacks the claim {0}")]
    MissingClaim(&'static str),
    /// The provider's keys could not be fetched and none are cached.
    #[error("the identity provider's keys are unavailable")]
    KeysUnavailable,
}

/// The claims the portal reads from the provider's tokens.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderClaims {
    /// The provider's stable id of the person.
    pub sub: String,
    /// Email, if shared.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the provider verified the email.
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Username at the provider.
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// Group names (Authentik's `groups` claim).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The sign-in's nonce, for id_tokens.
    #[serde(default)]
    pub nonce: Option<String>,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires (Unix seconds).
    pub exp: i64,
}

/// What a valid token must say.
#[derive(Clone)]
pub struct Expectations {
    /// The exact issuer (Authentik's ends with `/`).
    pub issuer: String,
    /// Accepted audiences (the client id).
    pub audience: Vec<String>,
    /// The nonce of the sign-in, for id_tokens.
    pub nonce: Option<String>,
    /// Accept HS256 tokens signed with this secret (Authentik without a signing key).
    pub hs256_secret: Option<SecretString>,
    /// Clock skew tolerated, in seconds.
    pub leeway: u64,
}

/// A JWKS fetched over HTTP and cached.
pub struct JwksCache {
    url: String,
    http: reqwest::Client,
    keys: RwLock<Option<(Instant, JwkSet)>>,
    /// Single flight: one fetch at a time; also remembers when the last one began.
    fetching: Mutex<Option<Instant>>,
    ttl: Duration,
    min_refetch: Duration,
    fetches: AtomicU64,
}

impl JwksCache {
    /// A cache of the JWKS at `url`, kept for `ttl`, refetched for an unknown key at
    /// most every `min_refetch`.
    pub fn new(url: String, http: reqwest::Client, ttl: Duration, min_refetch: Duration) -> Self {
        Self {
            url,
            http,
            keys: RwLock::new(None),
            fetching: Mutex::new(None),
            ttl,
            min_refetch,
            fetches: AtomicU64::new(0),
        }
    }

    /// The URL of the key set.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many keys are cached and how long ago they were fetched; none before the
    /// first fetch.
    pub async fn cached(&self) -> Option<(usize, Duration)> {
        let guard = self.keys.read().await;
        guard
            .as_ref()
            .map(|(at, set)| (set.keys.len(), at.elapsed()))
    }

    /// How many times the key set was fetched (for health and tests).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Fetches the key set now, whatever the cache holds; returns the number of keys.
    pub async fn refresh(&self) -> anyhow::Result<usize> {
        let mut last = self.fetching.lock().await;
        *last = Some(Instant::now());
        self.fetch().await
    }

    async fn fetch(&self) -> anyhow::Result<usize> {
        #[derive(Deserialize)]
        struct RawSet {
            keys: Vec<serde_json::Value>,
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let raw: RawSet = self
            .http
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(Duration::from_secs(5))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        // A key the portal cannot read is skipped, not the whole set.
        let set = JwkSet {
            keys: raw
                .keys
                .into_iter()
                .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
                .collect(),
        };
        let n = set.keys.len();
        tracing::info!(url = %self.url, keys = n, "fetched the identity provider's keys");
        *self.keys.write().await = Some((Instant::now(), set));
        Ok(n)
    }

    fn lookup(set: &JwkSet, kid: Option<&str>, alg: Algorithm) -> Option<Jwk> {
        let usable: Vec<&Jwk> = set.keys.iter().filter(|k| fits(k, alg)).collect();
        match kid {
            Some(kid) => usable
                .into_iter()
                .find(|k| k.common.key_id.as_deref() == Some(kid))
                .cloned(),
            // Without a key id, only an unambiguous set can answer.
            None if usable.len() == 1 => Some(usable[0].clone()),
            None => None,
        }
    }

    /// The key for a token's key id: from the cache when fresh; otherwise (stale
    /// cache, or an unknown id) after one refetch, at most one per minimum interval.
    /// When the provider cannot be reached, cached keys keep working.
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<Jwk, TokenRejected> {
        if let Some(k) = self.fresh(kid, alg).await {
            return Ok(k);
        }
        let mut last = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(k) = self.fresh(kid, alg).await {
            return Ok(k);
        }
        let cached = self.keys.read().await.clone();
        let from_cache = |cached: Option<(Instant, JwkSet)>| match cached {
            Some((_, set)) => Self::lookup(&set, kid, alg).ok_or(TokenRejected::UnknownKey),
            None => Err(TokenRejected::KeysUnavailable),
        };
        if last.is_some_and(|t| t.elapsed() < self.min_refetch) {
            return from_cache(cached);
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(_) => from_cache(self.keys.read().await.clone()),
            Err(e) => {
                tracing::warn!(url = %self.url, error = %e, "identity provider keys not fetched");
                from_cache(cached)
            }
        }
    }

    async fn fresh(&self, kid: Option<&str>, alg: Algorithm) -> Option<Jwk> {
        let guard = self.keys.read().await;
        let (at, set) = guard.as_ref()?;
        if at.elapsed() >= self.ttl {
            return None;
        }
        Self::lookup(set, kid, alg)
    }
}

/// One cache per key set URL, for the whole process: single sign-on and the token
/// exchange share the cache when they trust the same provider.
pub struct KeySets {
    http: reqwest::Client,
    ttl: Duration,
    min_refetch: Duration,
    sets: std::sync::Mutex<HashMap<String, Arc<JwksCache>>>,
}

impl KeySets {
    /// Caches made here keep keys for `ttl` and refetch at most every `min_refetch`.
    pub fn new(http: reqwest::Client, ttl: Duration, min_refetch: Duration) -> Self {
        Self {
            http,
            ttl,
            min_refetch,
            sets: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The cache of the key set at `url`.
    pub fn for_url(&self, url: &str) -> Arc<JwksCache> {
        let mut sets = self.sets.lock().unwrap_or_else(|e| e.into_inner());
        sets.entry(url.to_string())
            .or_insert_with(|| {
                Arc::new(JwksCache::new(
                    url.to_string(),
                    self.http.clone(),
                    self.ttl,
                    self.min_refetch,
                ))
            })
            .clone()
    }
}

/// Whether a key may verify a signature of this algorithm: its own family (and curve)
/// only, so a token cannot make the portal use an RSA public key as an HMAC secret;
/// never an encryption key, nor a key published for another algorithm.
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
        // A symmetric key in a public key set would be public: never trusted.
        _ => false,
    }
}

/// Validates a token signed by the provider and returns its claims.
pub async fn validate(
    cache: &JwksCache,
    token: &str,
    expect: &Expectations,
) -> Result<ProviderClaims, TokenRejected> {
    if token.len() > 16 * 1024 {
        return Err(TokenRejected::Malformed);
    }
    // `alg: none` and unknown algorithms fail here: the library knows no such algorithm.
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejected::Malformed)?;
    let key = match header.alg {
        Algorithm::HS256 => match &expect.hs256_secret {
            Some(secret) => DecodingKey::from_secret(secret.expose_secret().as_bytes()),
            None => return Err(TokenRejected::Malformed),
        },
        Algorithm::HS384 | Algorithm::HS512 => return Err(TokenRejected::Malformed),
        alg => {
            let jwk = cache.key(header.kid.as_deref(), alg).await?;
            DecodingKey::from_jwk(&jwk).map_err(|_| TokenRejected::UnknownKey)?
        }
    };
    let mut v = Validation::new(header.alg);
    v.algorithms = vec![header.alg];
    v.leeway = expect.leeway;
    v.validate_nbf = true;
    v.set_issuer(&[expect.issuer.as_str()]);
    v.set_audience(&expect.audience);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<ProviderClaims>(token, &key, &v).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind as K;
        match e.kind() {
            K::ExpiredSignature => TokenRejected::Expired,
            K::ImmatureSignature => TokenRejected::NotYetValid,
            K::InvalidIssuer => TokenRejected::WrongIssuer,
            K::InvalidAudience => TokenRejected::WrongAudience,
            K::InvalidSignature => TokenRejected::BadSignature,
            K::MissingRequiredClaim(c) => TokenRejected::MissingClaim(match c.as_str() {
                "exp" => "exp",
                "iat" => "iat",
                "iss" => "iss",
                "aud" => "aud",
                _ => "sub",
            }),
            _ => TokenRejected::Malformed,
        }
    })?;
    let claims = data.claims;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if claims.iat > now + expect.leeway as i64 {
        return Err(TokenRejected::NotYetValid);
    }
    if let Some(nonce) = &expect.nonce
        && claims.nonce.as_deref() != Some(nonce.as_str())
    {
        return Err(TokenRejected::WrongNonce);
    }
    Ok(claims)
}
