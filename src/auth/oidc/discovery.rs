//! The provider's discovery document (`.well-known/openid-configuration`), cached.
//!
//! Fetched by the portal rather than openidconnect's `discover_async`, whose strict
//! issuer comparison refuses Authentik when `OIDC_ISSUER_URL` and the document differ
//! only by the trailing `/` (openidconnect-rs #226). The issuer the document states is
//! the one id_tokens must carry, exactly.

use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use serde::Deserialize;
use url::Url;

/// How long a discovery document is used before it is fetched again.
const FRESH_FOR: Duration = Duration::from_secs(3600);

/// What the portal needs from the discovery document.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderInfo {
    /// The issuer, exactly as the provider states it.
    pub issuer: String,
    /// Where people are sent to sign in.
    pub authorization_endpoint: Url,
    /// Where codes become tokens.
    pub token_endpoint: Url,
    /// The signing keys.
    pub jwks_uri: Url,
    /// Claims about the person, for an access token.
    #[serde(default)]
    pub userinfo_endpoint: Option<Url>,
    /// RP-initiated logout, when offered.
    #[serde(default)]
    pub end_session_endpoint: Option<Url>,
}

/// Whether a configured issuer names the same issuer as a discovery document: equal,
/// or equal but for one trailing `/`.
pub fn same_issuer(configured: &str, stated: &str) -> bool {
    configured.strip_suffix('/').unwrap_or(configured) == stated.strip_suffix('/').unwrap_or(stated)
}

/// The discovery URL of an issuer: `<issuer>/.well-known/openid-configuration`.
pub fn discovery_url(issuer: &Url) -> Result<Url, url::ParseError> {
    let base = issuer.as_str();
    let sep = if base.ends_with('/') { "" } else { "/" };
    Url::parse(&format!("{base}{sep}.well-known/openid-configuration"))
}

struct Cached {
    info: Arc<ProviderInfo>,
    fetched_at: Instant,
}

/// The cached discovery document of one provider.
pub struct Discovery {
    issuer: Url,
    cached: RwLock<Option<Cached>>,
}

impl Discovery {
    /// Nothing fetched yet: the first sign-in or readiness probe fetches it.
    pub fn new(issuer: Url) -> Self {
        Self {
            issuer,
            cached: RwLock::new(None),
        }
    }

    /// The document, fetched when older than an hour; a stale copy is used while the
    /// provider does not answer.
    pub async fn get(&self, http: &reqwest::Client) -> Result<Arc<ProviderInfo>, String> {
        if let Some(info) = self.cached_younger_than(FRESH_FOR) {
            return Ok(info);
        }
        match self.fetch(http).await {
            Ok(info) => Ok(info),
            Err(e) => match self.cached_younger_than(Duration::MAX) {
                Some(stale) => {
                    tracing::warn!(error = %e, "discovery failed; using the cached document");
                    Ok(stale)
                }
                None => Err(e),
            },
        }
    }

    /// Fetches the document now unless it was fetched within `max_age`.
    pub async fn check(&self, http: &reqwest::Client, max_age: Duration) -> Result<(), String> {
        if self.cached_younger_than(max_age).is_some() {
            return Ok(());
        }
        self.fetch(http).await.map(|_| ())
    }

    fn cached_younger_than(&self, age: Duration) -> Option<Arc<ProviderInfo>> {
        let c = self.cached.read().ok()?;
        c.as_ref()
            .filter(|c| c.fetched_at.elapsed() < age)
            .map(|c| c.info.clone())
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<Arc<ProviderInfo>, String> {
        let url = discovery_url(&self.issuer).map_err(|e| e.to_string())?;
        let res = http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("cannot reach the OpenID Provider: {e}"))?;
        if !res.status().is_success() {
            return Err(format!("discovery answered {}", res.status()));
        }
        let info: ProviderInfo = res
            .json()
            .await
            .map_err(|e| format!("the discovery document is not understood: {e}"))?;
        if !same_issuer(self.issuer.as_str(), &info.issuer) {
            return Err(format!(
                "the discovery document names issuer `{}`, not the configured `{}`",
                info.issuer, self.issuer
            ));
        }
        let info = Arc::new(info);
        if let Ok(mut c) = self.cached.write() {
            *c = Some(Cached {
                info: info.clone(),
                fetched_at: Instant::now(),
            });
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_slash_does_not_make_another_issuer() {
        let a = "http://127.0.0.1:9000/application/o/portal/";
        assert!(same_issuer(a, "http://127.0.0.1:9000/application/o/portal"));
        assert!(same_issuer("http://127.0.0.1:9000/application/o/portal", a));
        assert!(!same_issuer(
            a,
            "http://127.0.0.1:9000/application/o/other/"
        ));
        assert!(!same_issuer(
            a,
            "http://127.0.0.1:9000/application/o/portal//"
        ));
    }

    #[test]
    fn discovery_url_keeps_the_issuer_path() {
        for issuer in [
            "http://127.0.0.1:9000/application/o/portal/",
            "http://127.0.0.1:9000/application/o/portal",
        ] {
            assert_eq!(
                discovery_url(&Url::parse(issuer).unwrap())
                    .unwrap()
                    .as_str(),
                "http://127.0.0.1:9000/application/o/portal/.well-known/openid-configuration"
            );
        }
    }
}
