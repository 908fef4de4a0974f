//! Single sign-on settings (`OIDC_*`, `AUTHENTIK_GROUP_PREFIX`), read with the rest.

use std::{fmt, time::Duration};

use secrecy::SecretString;
use url::Url;

use super::Reader;

/// Signature algorithms an id_token may use by default. HS256 (keyed with the client
/// secret) is only accepted when listed in `OIDC_ID_TOKEN_ALGORITHMS`.
pub const DEFAULT_ID_TOKEN_ALGORITHMS: &str = "RS256,ES256";

/// How the portal talks to its OpenID Provider (Authentik).
#[derive(Clone)]
pub struct OidcSettings {
    /// `OIDC_ISSUER_URL`, e.g. `https://auth.example.com/application/o/tenant-portal/`.
    pub issuer: Url,
    /// `OIDC_CLIENT_ID`.
    pub client_id: String,
    /// `OIDC_CLIENT_SECRET`.
    pub client_secret: SecretString,
    /// `OIDC_SCOPES`, space separated (`openid` always included).
    pub scopes: Vec<String>,
    /// `OIDC_ID_TOKEN_ALGORITHMS`: accepted id_token signature algorithms.
    pub id_token_algorithms: Vec<jsonwebtoken::Algorithm>,
    /// `AUTHENTIK_GROUP_PREFIX`: groups `<prefix><slug>-admin|staff|member`.
    pub group_prefix: String,
    /// `OIDC_SUPER_ADMIN_GROUP`: the group of platform admins.
    pub super_admin_group: String,
    /// `OIDC_JWKS_MIN_REFRESH_SECONDS`: at most one JWKS refetch per this interval.
    pub jwks_min_refresh: Duration,
    /// `OIDC_HTTP_TIMEOUT_SECONDS`: deadline of each call to the provider.
    pub http_timeout: Duration,
}

impl fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The client secret never reaches a log.
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("id_token_algorithms", &self.id_token_algorithms)
            .finish_non_exhaustive()
    }
}

/// Reads the SSO settings; none when `OIDC_ISSUER_URL` is unset (SSO off).
pub(super) fn read(r: &mut Reader<'_>, prod: bool) -> Option<OidcSettings> {
    let raw_issuer = r.text("OIDC_ISSUER_URL");
    let client_id = r.text("OIDC_CLIENT_ID");
    let client_secret = r.text("OIDC_CLIENT_SECRET");
    let Some(raw_issuer) = raw_issuer else {
        if client_id.is_some() || client_secret.is_some() {
            r.problem(
                "OIDC_ISSUER_URL",
                "is required when OIDC_CLIENT_ID or OIDC_CLIENT_SECRET is set, e.g. https://auth.example.com/application/o/tenant-portal/".into(),
            );
        }
        return None;
    };
    let issuer = issuer(r, &raw_issuer, prod);
    if client_id.is_none() {
        r.problem(
            "OIDC_CLIENT_ID",
            "is required with OIDC_ISSUER_URL: copy the Client ID of the Authentik provider".into(),
        );
    }
    if client_secret.is_none() {
        r.problem(
            "OIDC_CLIENT_SECRET",
            "is required with OIDC_ISSUER_URL: copy the Client Secret of the Authentik provider"
                .into(),
        );
    }
    let scopes = scopes(r);
    let id_token_algorithms =
        algorithms(r, "OIDC_ID_TOKEN_ALGORITHMS", DEFAULT_ID_TOKEN_ALGORITHMS);
    let group_prefix = r
        .text("AUTHENTIK_GROUP_PREFIX")
        .unwrap_or_else(|| "tenant-".into());
    let super_admin_group = r
        .text("OIDC_SUPER_ADMIN_GROUP")
        .unwrap_or_else(|| "portal-super-admin".into());
    let jwks_min_refresh = r.duration("OIDC_JWKS_MIN_REFRESH_SECONDS", 1, 86_400, 60);
    let http_timeout = r.duration("OIDC_HTTP_TIMEOUT_SECONDS", 1, 120, 10);
    Some(OidcSettings {
        issuer: issuer?,
        client_id: client_id?,
        client_secret: SecretString::from(client_secret?),
        scopes,
        id_token_algorithms,
        group_prefix,
        super_admin_group,
        jwks_min_refresh,
        http_timeout,
    })
}

/// `OIDC_ISSUER_URL`: an http(s) URL without query, fragment or user, https in
/// production.
fn issuer(r: &mut Reader<'_>, raw: &str, prod: bool) -> Option<Url> {
    let issuer = match Url::parse(raw) {
        Ok(u)
            if (u.scheme() == "https" || u.scheme() == "http")
                && u.query().is_none()
                && u.fragment().is_none()
                && u.username().is_empty() =>
        {
            u
        }
        _ => {
            r.problem(
                "OIDC_ISSUER_URL",
                "must be an http(s) URL without query, e.g. https://auth.example.com/application/o/tenant-portal/".into(),
            );
            return None;
        }
    };
    if issuer.host_str() == Some("localhost") {
        r.problem(
            "OIDC_ISSUER_URL",
            "uses `localhost`: write 127.0.0.1 instead, so the client does not try IPv6 first or a different resolver".into(),
        );
    }
    if prod && issuer.scheme() != "https" {
        r.problem(
            "OIDC_ISSUER_URL",
            "must use https in production: tokens would travel in clear".into(),
        );
    }
    Some(issuer)
}

/// `OIDC_SCOPES`, space separated; `openid` is always asked for.
fn scopes(r: &Reader<'_>) -> Vec<String> {
    let mut scopes: Vec<String> = r
        .text("OIDC_SCOPES")
        .unwrap_or_else(|| "openid email profile groups".into())
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    scopes
}

/// Reads a comma-separated list of signature algorithms from `var`.
pub(super) fn algorithms(
    r: &mut Reader<'_>,
    var: &'static str,
    default: &str,
) -> Vec<jsonwebtoken::Algorithm> {
    use jsonwebtoken::Algorithm;
    let raw = r.text(var).unwrap_or_else(|| default.into());
    let mut out = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let alg = match name {
            "RS256" => Algorithm::RS256,
            "RS384" => Algorithm::RS384,
            "RS512" => Algorithm::RS512,
            "PS256" => Algorithm::PS256,
            "PS384" => Algorithm::PS384,
            "PS512" => Algorithm::PS512,
            "ES256" => Algorithm::ES256,
            "ES384" => Algorithm::ES384,
            "EdDSA" => Algorithm::EdDSA,
            // Authentik signs with HS256 when no signing key is set; nothing else of
            // the HMAC family is accepted.
            "HS256" => Algorithm::HS256,
            other => {
                r.problem(
                    var,
                    format!("`{other}` is not a supported signature algorithm; list some of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA and HS256, separated by commas"),
                );
                continue;
            }
        };
        if !out.contains(&alg) {
            out.push(alg);
        }
    }
    if out.is_empty() {
        r.problem(var, format!("lists no algorithm; the default is {default}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Settings;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, super::super::ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_map(&map)
    }

    #[test]
    fn sso_is_off_without_an_issuer() {
        assert!(settings(&[]).unwrap().oidc.is_none());
    }

    #[test]
    fn an_issuer_needs_a_client_and_no_localhost() {
        let err =
            settings(&[("OIDC_ISSUER_URL", "http://localhost:9000/application/o/p/")]).unwrap_err();
        let vars: Vec<_> = err.0.iter().map(|p| p.variable).collect();
        assert!(vars.contains(&"OIDC_ISSUER_URL"));
        assert!(vars.contains(&"OIDC_CLIENT_ID"));
        assert!(vars.contains(&"OIDC_CLIENT_SECRET"));
    }

    #[test]
    fn algorithms_and_defaults_parse_and_the_secret_stays_hidden() {
        let s = settings(&[
            (
                "OIDC_ISSUER_URL",
                "http://127.0.0.1:9000/application/o/portal/",
            ),
            ("OIDC_CLIENT_ID", "portal"),
            ("OIDC_CLIENT_SECRET", "very-secret-value"),
            ("OIDC_ID_TOKEN_ALGORITHMS", "RS256, HS256"),
        ])
        .unwrap();
        let o = s.oidc.unwrap();
        assert_eq!(o.id_token_algorithms.len(), 2);
        assert_eq!(o.group_prefix, "tenant-");
        assert_eq!(o.scopes[0], "openid");
        assert!(!format!("{o:?}").contains("very-secret-value"));
        let err = settings(&[
            (
                "OIDC_ISSUER_URL",
                "http://127.0.0.1:9000/application/o/portal/",
            ),
            ("OIDC_CLIENT_ID", "portal"),
            ("OIDC_CLIENT_SECRET", "x"),
            ("OIDC_ID_TOKEN_ALGORITHMS", "none"),
        ])
        .unwrap_err();
        assert_eq!(err.0[0].variable, "OIDC_ID_TOKEN_ALGORITHMS");
    }
}
