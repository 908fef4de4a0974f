//! The token exchange's view of Authentik: which tokens it accepts and the cached key
//! set they are checked against (`AUTHENTIK_PUBLIC_KEY_URL`, else the `jwks_uri` of
//! the issuer's discovery document, found once).

use std::time::Duration;

use jsonwebtoken::Algorithm;
use tokio::sync::OnceCell;

use crate::auth::jwks::{Expectations, JwksCache, ProviderClaims, TokenRejected, validate};
use crate::auth::oidc::discovery;
use crate::config::ExchangeSettings;

/// Validates Authentik tokens presented for exchange.
pub struct Exchange {
    settings: ExchangeSettings,
    http: reqwest::Client,
    jwks: OnceCell<JwksCache>,
}

impl Exchange {
    /// Prepares the exchange; nothing is fetched until first needed.
    pub fn new(settings: ExchangeSettings) -> anyhow::Result<Self> {
        // Every address comes from configuration or the discovery document.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            settings,
            http,
            jwks: OnceCell::new(),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &ExchangeSettings {
        &self.settings
    }

    /// The key set cache, found through discovery the first time when no URL is set.
    pub async fn keys(&self) -> anyhow::Result<&JwksCache> {
        self.jwks
            .get_or_try_init(|| async {
                let url = match &self.settings.jwks_url {
                    Some(u) => u.to_string(),
                    None => self.discover_jwks_uri().await?,
                };
                Ok::<_, anyhow::Error>(JwksCache::new(
                    url,
                    self.http.clone(),
                    self.settings.jwks_ttl,
                    self.settings.jwks_min_refresh,
                ))
            })
            .await
    }

    async fn discover_jwks_uri(&self) -> anyhow::Result<String> {
        #[derive(serde::Deserialize)]
        struct Doc {
            jwks_uri: url::Url,
        }
        let issuer = url::Url::parse(&self.settings.issuer)?;
        let doc: Doc = self
            .http
            .get(discovery::discovery_url(&issuer)?)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(doc.jwks_uri.to_string())
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
        validate(keys, token, &expect).await
    }
}
