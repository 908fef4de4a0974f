//! The token API's settings (`JWT_*`, `AUTHENTIK_PUBLIC_KEY_URL`): which Authentik
//! tokens the exchange accepts, and the lifetimes and keys of the portal's own tokens.

use std::{fmt, time::Duration};

use jsonwebtoken::Algorithm;
use secrecy::SecretString;
use url::Url;

use super::{OidcSettings, Reader};

/// Algorithms an Authentik token presented for exchange may use by default.
pub const DEFAULT_EXCHANGE_ALGORITHMS: &str = "RS256,ES256";

/// The portal's own tokens.
#[derive(Clone, Debug)]
pub struct TokenSettings {
    /// Which Authentik tokens the exchange accepts; none when no issuer is known.
    pub exchange: Option<ExchangeSettings>,
    /// `JWT_ACCESS_TOKEN_EXPIRE_MINUTES` (15).
    pub access_ttl: Duration,
    /// `JWT_REFRESH_TOKEN_EXPIRE_DAYS` (30).
    pub refresh_ttl: Duration,
    /// `PORTAL_TOKEN_ISSUER`: the `iss` of the portal's tokens (its base URL).
    pub issuer: String,
    /// `PORTAL_TOKEN_AUDIENCE`: the `aud` of the portal's tokens (`tenant-portal`).
    pub audience: String,
    /// `JWT_SIGNING_KEY_ROTATION_DAYS` (30): how long one signing key signs.
    pub key_rotation: Duration,
    /// `JWT_SIGNING_KEY_PUBLISH_AHEAD_MINUTES` (60): a new key is published this long
    /// before it signs, so verifiers that cache the key set already know it.
    pub key_publish_ahead: Duration,
    /// `JWT_SIGNING_KEY_RELOAD_SECONDS` (60): how often each instance rereads the keys
    /// (and rotates when due).
    pub key_reload: Duration,
    /// `RATE_LIMIT_TOKEN_PER_MINUTE` (60): exchanges and refreshes per client address.
    pub rate_per_minute: u32,
}

/// What an Authentik token must be to be exchanged.
#[derive(Clone)]
pub struct ExchangeSettings {
    /// `JWT_ISSUER` (else `OIDC_ISSUER_URL`): the exact `iss`.
    pub issuer: String,
    /// `JWT_AUDIENCE` (else `OIDC_CLIENT_ID`): accepted `aud` values, comma separated.
    pub audience: Vec<String>,
    /// `AUTHENTIK_PUBLIC_KEY_URL`: the JWKS; else found through the issuer's discovery.
    pub jwks_url: Option<Url>,
    /// `JWT_ALGORITHMS` (RS256,ES256): accepted signature algorithms.
    pub algorithms: Vec<Algorithm>,
    /// The HS256 secret (`OIDC_CLIENT_SECRET`) when `JWT_ALGORITHMS` lists HS256.
    pub hs256_secret: Option<SecretString>,
    /// `JWT_JWKS_CACHE_SECONDS` (3600): how long fetched keys are trusted.
    pub jwks_ttl: Duration,
    /// `JWT_JWKS_MIN_REFRESH_SECONDS` (`OIDC_JWKS_MIN_REFRESH_SECONDS`, else 60): at
    /// most one refetch per interval.
    pub jwks_min_refresh: Duration,
    /// `JWT_LEEWAY_SECONDS` (30): clock skew tolerated on `exp`, `nbf`, `iat`.
    pub leeway: u64,
}

impl fmt::Debug for ExchangeSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeSettings")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("jwks_url", &self.jwks_url.as_ref().map(Url::as_str))
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// Reads the token settings.
pub(super) fn read(
    r: &mut Reader<'_>,
    base_url: &Url,
    oidc: Option<&OidcSettings>,
) -> TokenSettings {
    let access_ttl = r.duration("JWT_ACCESS_TOKEN_EXPIRE_MINUTES", 1, 1440, 15);
    let refresh_ttl = r.duration("JWT_REFRESH_TOKEN_EXPIRE_DAYS", 1, 365, 30);
    let key_rotation = r.duration("JWT_SIGNING_KEY_ROTATION_DAYS", 1, 365, 30);
    let key_publish_ahead = r.duration("JWT_SIGNING_KEY_PUBLISH_AHEAD_MINUTES", 0, 10_080, 60);
    let key_reload = r.duration("JWT_SIGNING_KEY_RELOAD_SECONDS", 1, 3600, 60);
    let issuer = r
        .text("PORTAL_TOKEN_ISSUER")
        .unwrap_or_else(|| base_url.as_str().trim_end_matches('/').to_string());
    let audience = r
        .text("PORTAL_TOKEN_AUDIENCE")
        .unwrap_or_else(|| "tenant-portal".into());
    TokenSettings {
        exchange: exchange(r, oidc),
        access_ttl,
        refresh_ttl,
        issuer,
        audience,
        key_rotation,
        key_publish_ahead,
        key_reload,
        rate_per_minute: r
            .number(
                "RATE_LIMIT_TOKEN_PER_MINUTE",
                1,
                super::limits::MAX_PER_MINUTE,
            )
            .unwrap_or(60),
    }
}

fn exchange(r: &mut Reader<'_>, oidc: Option<&OidcSettings>) -> Option<ExchangeSettings> {
    let issuer = r
        .text("JWT_ISSUER")
        .or_else(|| oidc.map(|o| o.issuer.to_string()));
    let audience = audience(r, oidc);
    let jwks_url = jwks_url(r);
    let algorithms = super::oidc::algorithms(r, "JWT_ALGORITHMS", DEFAULT_EXCHANGE_ALGORITHMS);
    let jwks_ttl = r.duration("JWT_JWKS_CACHE_SECONDS", 1, 86_400, 3600);
    // One cache serves single sign-on and the exchange: by default, one interval.
    let min_refresh = r
        .number("JWT_JWKS_MIN_REFRESH_SECONDS", 1, 86_400)
        .map(u64::from)
        .unwrap_or_else(|| oidc.map_or(60, |o| o.jwks_min_refresh.as_secs()));
    let leeway = r.number("JWT_LEEWAY_SECONDS", 0, 300).unwrap_or(30);
    let issuer = issuer?;
    if audience.is_empty() {
        r.problem(
            "JWT_AUDIENCE",
            "is required with JWT_ISSUER: the client id Authentik puts in `aud`".into(),
        );
        return None;
    }
    if Url::parse(&issuer).is_err() {
        r.problem(
            "JWT_ISSUER",
            "must be the provider's issuer URL, exactly as in its tokens (Authentik's ends with /)"
                .into(),
        );
        return None;
    }
    let hs256_secret = hs256_secret(r, &algorithms, oidc);
    Some(ExchangeSettings {
        issuer,
        audience,
        jwks_url,
        algorithms,
        hs256_secret,
        jwks_ttl,
        jwks_min_refresh: Duration::from_secs(min_refresh),
        leeway: u64::from(leeway),
    })
}

/// `JWT_AUDIENCE` (else `OIDC_CLIENT_ID`), comma separated.
fn audience(r: &Reader<'_>, oidc: Option<&OidcSettings>) -> Vec<String> {
    r.text("JWT_AUDIENCE")
        .or_else(|| oidc.map(|o| o.client_id.clone()))
        .map(|a| {
            a.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `AUTHENTIK_PUBLIC_KEY_URL`: the provider's JWKS, when not found through discovery.
fn jwks_url(r: &mut Reader<'_>) -> Option<Url> {
    let raw = r.text("AUTHENTIK_PUBLIC_KEY_URL")?;
    match Url::parse(&raw) {
        Ok(u) if u.scheme() == "https" || u.scheme() == "http" => Some(u),
        _ => {
            r.problem(
                "AUTHENTIK_PUBLIC_KEY_URL",
                "must be the http(s) URL of the provider's JWKS, e.g. https://auth.example.com/application/o/tenant-portal/jwks/".into(),
            );
            None
        }
    }
}

/// The HS256 key when `JWT_ALGORITHMS` lists HS256: Authentik keys it with the
/// client secret, so SSO must be configured.
fn hs256_secret(
    r: &mut Reader<'_>,
    algorithms: &[Algorithm],
    oidc: Option<&OidcSettings>,
) -> Option<SecretString> {
    if !algorithms.contains(&Algorithm::HS256) {
        return None;
    }
    match oidc {
        Some(o) => Some(o.client_secret.clone()),
        None => {
            r.problem(
                "JWT_ALGORITHMS",
                "lists HS256, which Authentik keys with the client secret: set OIDC_CLIENT_SECRET too".into(),
            );
            None
        }
    }
}
