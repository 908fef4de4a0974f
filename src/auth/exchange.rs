//! The token exchange's view of Authentik: which tokens it accepts and the cached key
//! set they are checked against (`AUTHENTIK_PUBLIC_KEY_URL`, else the `jwks_uri` of
//! the issuer's discovery document, found once). The cache is the process-wide one of
//! that URL, shared with single sign-on when both trust the same provider.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use tokio::sync::OnceCell;

use crate::auth::jwks::{
    Expectations, JwksCache, KeySets, ProviderClaims, TokenRejected, validate,
};
use crate::auth::oidc::discovery::Discovery;
use crate::config::ExchangeSettings;

/// Why the key set could not be fetched on demand.
#[derive(Debug)]
pub enum KeysNotFetched {
    /// The issuer's discovery document, which names the key set, is unavailable.
    Discovery(anyhow::Error),
    /// The key set at `url` did not come; the cached keys stay in use.
    Fetch {
        /// The key set's URL.
        url: String,
        /// Why.
        error: anyhow::Error,
    },
}

/// Validates Authentik tokens presented for exchange.
pub struct Exchange {
    settings: ExchangeSettings,
    http: reqwest::Client,
    discovery: Discovery,
    key_sets: Arc<KeySets>,
    jwks_url: OnceCell<String>,
}

impl Exchange {
    /// Prepares the exchange; nothing is fetched until first needed.
    pub fn new(settings: ExchangeSettings, key_sets: Arc<KeySets>) -> anyhow::Result<Self> {
        // Every address comes from configuration or the discovery document.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            discovery: Discovery::new(url::Url::parse(&settings.issuer)?),
            settings,
            http,
            key_sets,
            jwks_url: OnceCell::new(),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &ExchangeSettings {
        &self.settings
    }

    /// The key set cache, found through discovery the first time when no URL is set.
    pub async fn keys(&self) -> anyhow::Result<Arc<JwksCache>> {
        let url = self
            .jwks_url
            .get_or_try_init(|| async {
                match &self.settings.jwks_url {
                    Some(u) => Ok::<_, anyhow::Error>(u.to_string()),
                    None => Ok(self
                        .discovery
                        .get(&self.http)
                        .await
                        .map_err(anyhow::Error::msg)?
                        .jwks_uri
                        .to_string()),
                }
            })
            .await?;
        Ok(self.key_sets.for_url(url))
    }

    /// Fetches the key set now, whatever the cache holds (an operator after a key
    /// rotation in Authentik): how many keys it holds, and its URL.
    pub async fn fetch_keys_now(&self) -> Result<(usize, String), KeysNotFetched> {
        let keys = self.keys().await.map_err(KeysNotFetched::Discovery)?;
        let url = keys.url().to_string();
        match keys.refresh().await {
            Ok(n) => Ok((n, url)),
            Err(error) => Err(KeysNotFetched::Fetch { url, error }),
        }
    }

    /// Validates an Authentik token: signature (from the key set), issuer, audience,
    /// lifetime and an accepted algorithm.
    pub async fn validate(&self, token: &str) -> Result<ProviderClaims, TokenRejected> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejected::Malformed)?;
        if !self.settings.algorithms.contains(&header.alg) {
            return Err(TokenRejected::Malformed);
        }
        let keys = match self.keys().await {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "identity provider key set not found");
                return Err(TokenRejected::KeysUnavailable);
            }
        };
        let expect = Expectations {
            issuer: self.settings.issuer.clone(),
            audience: self.settings.audience.clone(),
            nonce: None,
            hs256_secret: if header.alg == Algorithm::HS256 {
                self.settings.hs256_secret.clone()
            } else {
                None
            },
            leeway: self.settings.leeway,
        };
        validate(&keys, token, &expect).await
    }
}
