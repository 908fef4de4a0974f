//! Validating an id_token: signature, `iss`, `aud`, `exp`, `iat`, `nonce`.
//!
//! The algorithm a token names is accepted only when configured
//! (`OIDC_ID_TOKEN_ALGORITHMS`), and only with a key of its own kind: public keys from
//! the provider's JWKS for asymmetric algorithms, the client secret for `HS*`. So
//! `alg: none` (which jsonwebtoken cannot even parse) and algorithm confusion (an `HS256`
//! token "signed" with the provider's public key) are refused.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::auth::jwks::{JwksCache, TokenRejected};

use super::discovery::ProviderInfo;

/// Clock skew tolerated between the provider and the portal, in seconds.
const LEEWAY_SECS: u64 = 60;

/// Why an id_token was refused. Logged and audited, never shown in detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// Not a JWT, or a header naming no algorithm the portal knows (`none`).
    #[error("malformed token or unknown algorithm")]
    Malformed,
    /// An algorithm not configured in `OIDC_ID_TOKEN_ALGORITHMS`.
    #[error("algorithm {0} not accepted")]
    Algorithm(String),
    /// No key of the provider matches the token's `kid`, even after a refetch.
    #[error("no matching signing key")]
    UnknownKey,
    /// The provider's keys could not be fetched.
    #[error("signing keys unavailable")]
    KeysUnavailable,
    /// The signature does not verify.
    #[error("bad signature")]
    Signature,
    /// Expired.
    #[error("expired")]
    Expired,
    /// Another issuer.
    #[error("wrong issuer")]
    Issuer,
    /// Meant for another client.
    #[error("wrong audience")]
    Audience,
    /// A required claim (`iat`, `sub`, `exp`, ...) is missing or malformed.
    #[error("missing or malformed claim {0}")]
    Claim(&'static str),
    /// Issued in the future.
    #[error("issued in the future")]
    IssuedInFuture,
    /// Not the nonce of this sign-in.
    #[error("wrong nonce")]
    Nonce,
}

/// The claims of a validated id_token the portal uses.
#[derive(Debug, Clone, Deserialize)]
pub struct IdClaims {
    /// The person's stable id at the provider.
    pub sub: String,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the provider checked the email (bool, or "true" from some providers).
    #[serde(default)]
    pub email_verified: Option<Value>,
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// Username.
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// Group names.
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    /// How the provider authenticated the person (RFC 8176 names such as `pwd`, `mfa`,
    /// `otp`, `hwk`): an array, or a single string from some providers.
    #[serde(default)]
    pub amr: Option<Value>,
    /// The authentication context class the provider reports.
    #[serde(default)]
    pub acr: Option<Value>,
    #[serde(default)]
    nonce: Option<String>,
    iat: Value,
    #[serde(default)]
    aud: Value,
    #[serde(default)]
    azp: Option<String>,
}

/// What a token is checked against.
pub struct Expected<'a> {
    /// The provider (issuer, JWKS address).
    pub provider: &'a ProviderInfo,
    /// `OIDC_CLIENT_ID`: the audience.
    pub client_id: &'a str,
    /// `OIDC_CLIENT_SECRET`: the key of `HS*` tokens.
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
    jwks: &JwksCache,
) -> Result<IdClaims, Rejected> {
    let header = decode_header(raw).map_err(|_| Rejected::Malformed)?;
    let alg = header.alg;
    if !expected.algorithms.contains(&alg) {
        return Err(Rejected::Algorithm(format!("{alg:?}")));
    }
    let key = if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        DecodingKey::from_secret(expected.client_secret.expose_secret().as_bytes())
    } else {
        let jwk = jwks
            .key(header.kid.as_deref(), alg)
            .await
            .map_err(|e| match e {
                TokenRejected::KeysUnavailable => Rejected::KeysUnavailable,
                _ => Rejected::UnknownKey,
            })?;
        DecodingKey::from_jwk(&jwk).map_err(|_| Rejected::UnknownKey)?
    };

    let mut validation = Validation::new(alg);
    validation.leeway = LEEWAY_SECS;
    validation.set_issuer(&[expected.provider.issuer.as_str()]);
    validation.set_audience(&[expected.client_id]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let claims = decode::<IdClaims>(raw, &key, &validation)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidSignature => Rejected::Signature,
                K::ExpiredSignature => Rejected::Expired,
                K::InvalidIssuer => Rejected::Issuer,
                K::InvalidAudience => Rejected::Audience,
                K::MissingRequiredClaim(c) if c == "iat" => Rejected::Claim("iat"),
                K::MissingRequiredClaim(c) if c == "sub" => Rejected::Claim("sub"),
                K::MissingRequiredClaim(_) => Rejected::Claim("exp/iss/aud"),
                K::InvalidAlgorithm | K::InvalidAlgorithmName | K::InvalidKeyFormat => {
                    Rejected::Signature
                }
                _ => Rejected::Malformed,
            }
        })?
        .claims;
    check_claims(&claims, expected)?;
    Ok(claims)
}

fn check_claims(claims: &IdClaims, expected: &Expected<'_>) -> Result<(), Rejected> {
    if claims.sub.trim().is_empty() || claims.sub.len() > 255 {
        return Err(Rejected::Claim("sub"));
    }
    let iat = claims.iat.as_i64().ok_or(Rejected::Claim("iat"))?;
    if iat > OffsetDateTime::now_utc().unix_timestamp() + LEEWAY_SECS as i64 {
        return Err(Rejected::IssuedInFuture);
    }
    // With several audiences, the token must say it was issued to this client.
    if claims.aud.as_array().is_some_and(|a| a.len() > 1)
        && claims.azp.as_deref() != Some(expected.client_id)
    {
        return Err(Rejected::Audience);
    }
    let nonce_ok = claims
        .nonce
        .as_deref()
        .is_some_and(|n| bool::from(n.as_bytes().ct_eq(expected.nonce.as_bytes())));
    if !nonce_ok {
        return Err(Rejected::Nonce);
    }
    Ok(())
}

impl IdClaims {
    /// Whether the provider says it verified the email address.
    pub fn email_verified(&self) -> bool {
        match &self.email_verified {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        }
    }
}
