//! Validating an SSO id_token: the algorithm against `OIDC_ID_TOKEN_ALGORITHMS`, then
//! everything else (signature against the provider's JWKS, `iss`, `aud`, `exp`, `iat`,
//! `nonce`) with the portal's shared validator in [`crate::auth::jwks`].
//!
//! `alg: none` cannot even be parsed; an algorithm not configured is refused before any
//! key is looked at; HS256 is keyed with the client secret only, and only when listed,
//! so a token "signed" with the provider's public key as an HMAC secret is refused.

use jsonwebtoken::Algorithm;
use secrecy::SecretString;

use crate::auth::jwks::{self, Expectations, JwksCache, ProviderClaims, TokenRejected};

use super::discovery::ProviderInfo;

/// Clock skew tolerated between the provider and the portal, in seconds.
const LEEWAY_SECS: u64 = 60;

/// Why an id_token was refused. Logged and audited, never shown in detail.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// An algorithm not configured in `OIDC_ID_TOKEN_ALGORITHMS`.
    #[error("algorithm {0} not accepted")]
    Algorithm(String),
    /// The shared validator refused it (signature, issuer, audience, expiry, nonce...).
    #[error("{0}")]
    Invalid(#[from] TokenRejected),
    /// An empty or oversized `sub`.
    #[error("unusable sub")]
    Subject,
}

/// What a token is checked against.
pub struct Expected<'a> {
    /// The provider (its issuer, exactly as discovery states it).
    pub provider: &'a ProviderInfo,
    /// `OIDC_CLIENT_ID`: the audience.
    pub client_id: &'a str,
    /// `OIDC_CLIENT_SECRET`: the key of HS256 tokens.
    pub client_secret: &'a SecretString,
    /// The nonce sent with this sign-in.
    pub nonce: &'a str,
    /// `OIDC_ID_TOKEN_ALGORITHMS`.
    pub algorithms: &'a [Algorithm],
}

/// Validates an id_token completely; its claims when it is genuine and meant for this
/// sign-in.
pub async fn validate(
    raw: &str,
    expected: &Expected<'_>,
    keys: &JwksCache,
) -> Result<ProviderClaims, Rejected> {
    let header = jsonwebtoken::decode_header(raw).map_err(|_| TokenRejected::Malformed)?;
    if !expected.algorithms.contains(&header.alg) {
        return Err(Rejected::Algorithm(format!("{:?}", header.alg)));
    }
    let expect = Expectations {
        issuer: expected.provider.issuer.clone(),
        audience: vec![expected.client_id.to_string()],
        nonce: Some(expected.nonce.to_string()),
        hs256_secret: expected
            .algorithms
            .contains(&Algorithm::HS256)
            .then(|| expected.client_secret.clone()),
        leeway: LEEWAY_SECS,
    };
    let claims = jwks::validate(keys, raw, &expect).await?;
    if claims.sub.trim().is_empty() || claims.sub.len() > 255 {
        return Err(Rejected::Subject);
    }
    Ok(claims)
}
