//! Single sign-on with an OpenID Provider (Authentik): the authorization code flow with
//! PKCE (S256), `state` and `nonce` (openidconnect builds the request and redeems the
//! code), a fully validated id_token and, when offered, userinfo with the same `sub`.
//!
//! What a sign-in in progress needs to remember ([`PendingLogin`]: the tenant, `state`,
//! `nonce`, PKCE verifier) stays on the server, in the session; the callback's query
//! only brings `code` and `state`, and is believed for nothing else.

pub mod admission;
mod amr;
pub mod discovery;
pub mod id_token;

pub use amr::SECOND_FACTOR_AMR;

use std::sync::Arc;

use openidconnect::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
    TokenUrl,
    core::{CoreAuthenticationFlow, CoreClient},
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use crate::auth::jwks::KeySets;
use crate::config::OidcSettings;
use crate::models::tenant::Tenant;

use discovery::{Discovery, ProviderInfo};
pub use id_token::Rejected;

/// A sign-in older than this is refused at the callback.
const PENDING_FOR_SECS: i64 = 600;

/// A sign-in sent to the provider and not yet back, kept in the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The tenant the person is signing in to.
    pub tenant_id: Uuid,
    /// Its slug, to find it again.
    pub slug: String,
    /// The `state` sent to the provider.
    pub state: String,
    /// The `nonce` the id_token must carry.
    pub nonce: String,
    /// The PKCE verifier of the challenge sent.
    pub pkce_verifier: String,
    /// Where to go once signed in (already checked to be inside the tenant).
    pub next: Option<String>,
    /// Unix time the sign-in started.
    pub started_at: i64,
    /// The stored hash of the invitation being accepted through this sign-in, if any.
    #[serde(default)]
    pub invitation: Option<String>,
}

/// The person the provider vouches for.
#[derive(Debug, Clone)]
pub struct SsoPerson {
    /// Stable id at the provider (`sub`).
    pub sub: String,
    /// Email, if given.
    pub email: Option<String>,
    /// Whether the provider verified the email.
    pub email_verified: bool,
    /// Full name, if given.
    pub name: Option<String>,
    /// Username, if given.
    pub preferred_username: Option<String>,
    /// Groups.
    pub groups: Vec<String>,
    /// The raw id_token, kept for RP-initiated logout (`id_token_hint`).
    pub id_token: String,
    /// The id_token's `amr`: how the provider authenticated the person.
    pub amr: Vec<String>,
    /// The id_token's `acr`, if any.
    pub acr: Option<String>,
}

impl SsoPerson {
    /// Whether a claim carries a NUL character, which the database cannot store.
    pub fn has_nul(&self) -> bool {
        let optional = [&self.email, &self.name, &self.preferred_username];
        self.sub.contains('\0')
            || optional
                .iter()
                .any(|v| v.as_deref().is_some_and(|s| s.contains('\0')))
            || self.groups.iter().any(|g| g.contains('\0'))
    }
}

/// Why single sign-on did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The provider cannot be reached or its discovery document is unusable.
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
    /// The callback does not belong to the sign-in in progress (wrong, replayed or
    /// expired `state`).
    #[error("callback does not match a sign-in in progress: {0}")]
    State(&'static str),
    /// The provider reported an error, or refused the code (e.g. used twice).
    #[error("the provider refused: {0}")]
    Provider(String),
    /// The id_token is not acceptable.
    #[error("id_token refused: {0}")]
    Token(#[from] Rejected),
    /// Userinfo speaks of someone else, or is unusable.
    #[error("userinfo refused: {0}")]
    Userinfo(&'static str),
}

/// The portal's side of single sign-on.
pub struct Oidc {
    settings: OidcSettings,
    redirect_uri: Url,
    http: reqwest::Client,
    discovery: Discovery,
    key_sets: Arc<KeySets>,
}

impl Oidc {
    /// Prepares the client; nothing is fetched until first needed. The provider's keys
    /// are cached in `key_sets`.
    pub fn new(
        settings: OidcSettings,
        base_url: &Url,
        key_sets: Arc<KeySets>,
    ) -> anyhow::Result<Self> {
        let redirect_uri = base_url.join("/auth/oidc/callback")?;
        // Never follow redirects: every address used comes from configuration or the
        // discovery document.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.http_timeout)
            .build()?;
        Ok(Self {
            discovery: Discovery::new(settings.issuer.clone()),
            key_sets,
            settings,
            redirect_uri,
            http,
        })
    }

    /// The settings.
    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The one redirect URI: `{PORTAL_BASE_URL}/auth/oidc/callback`.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    async fn provider(&self) -> Result<Arc<ProviderInfo>, SsoError> {
        self.discovery
            .get(&self.http)
            .await
            .map_err(SsoError::Unavailable)
    }

    /// For readiness: whether discovery works (fetched at most every 30 seconds).
    pub async fn check(&self) -> Result<(), String> {
        self.discovery
            .check(&self.http, std::time::Duration::from_secs(30))
            .await
    }

    fn client(&self, p: &ProviderInfo) -> Result<ClientFor, SsoError> {
        let bad = |e: url::ParseError| SsoError::Unavailable(format!("bad provider URL: {e}"));
        Ok(CoreClient::new(
            ClientId::new(self.settings.client_id.clone()),
            IssuerUrl::new(p.issuer.clone()).map_err(bad)?,
            Default::default(),
        )
        .set_client_secret(ClientSecret::new(
            self.settings.client_secret.expose_secret().to_string(),
        ))
        .set_auth_uri(AuthUrl::from_url(p.authorization_endpoint.clone()))
        .set_token_uri(TokenUrl::from_url(p.token_endpoint.clone()))
        .set_redirect_uri(RedirectUrl::from_url(self.redirect_uri.clone())))
    }

    /// Starts a sign-in to `tenant`: the provider's address to send the person to, and
    /// what to keep in the session until they come back.
    pub async fn begin(
        &self,
        tenant: &Tenant,
        next: Option<String>,
    ) -> Result<(Url, PendingLogin), SsoError> {
        let provider = self.provider().await?;
        let client = self.client(&provider)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in self.settings.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let pending = PendingLogin {
            tenant_id: tenant.id,
            slug: tenant.slug.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next,
            started_at: OffsetDateTime::now_utc().unix_timestamp(),
            invitation: None,
        };
        Ok((url, pending))
    }

    /// Finishes a sign-in: checks `state`, redeems the code (with the PKCE verifier),
    /// validates the id_token and reads userinfo.
    pub async fn finish(
        &self,
        pending: &PendingLogin,
        state: &str,
        code: &str,
    ) -> Result<SsoPerson, SsoError> {
        if !bool::from(state.as_bytes().ct_eq(pending.state.as_bytes())) {
            return Err(SsoError::State("state does not match"));
        }
        if OffsetDateTime::now_utc().unix_timestamp() - pending.started_at > PENDING_FOR_SECS {
            return Err(SsoError::State("sign-in took too long"));
        }
        let provider = self.provider().await?;
        let client = self.client(&provider)?;
        let http = self.http.clone();
        let send = move |req| http_call(http.clone(), req);
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&send)
            .await
            .map_err(|e| SsoError::Provider(describe_token_error(&e)))?;
        let raw = tokens
            .id_token()
            .ok_or(SsoError::Provider(
                "no id_token in the token response".into(),
            ))?
            .to_string();
        let expected = id_token::Expected {
            provider: &provider,
            client_id: &self.settings.client_id,
            client_secret: &self.settings.client_secret,
            nonce: &pending.nonce,
            algorithms: &self.settings.id_token_algorithms,
        };
        let jwks = self.key_sets.for_url(provider.jwks_uri.as_str());
        let claims = id_token::validate(&raw, &expected, &jwks).await?;
        let userinfo = match &provider.userinfo_endpoint {
            Some(url) => Some(
                self.userinfo(url, tokens.access_token().secret(), &claims.sub)
                    .await?,
            ),
            None => None,
        };
        Ok(person(claims, userinfo, raw))
    }

    async fn userinfo(&self, url: &Url, access_token: &str, sub: &str) -> Result<Value, SsoError> {
        let res = self
            .http
            .get(url.clone())
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| SsoError::Unavailable(format!("userinfo: {e}")))?;
        if !res.status().is_success() {
            return Err(SsoError::Provider(format!(
                "userinfo answered {}",
                res.status()
            )));
        }
        let info: Value = res
            .json()
            .await
            .map_err(|_| SsoError::Userinfo("not JSON"))?;
        // Claims about someone else must never be mixed into this person's.
        if info.get("sub").and_then(Value::as_str) != Some(sub) {
            return Err(SsoError::Userinfo("sub differs from the id_token's"));
        }
        Ok(info)
    }

    /// Where to send a person signing out so the provider ends its session too, when it
    /// offers RP-initiated logout; afterwards the provider sends them to `back`.
    pub async fn end_session_url(&self, id_token: &str, back: &Url) -> Option<Url> {
        let provider = self.provider().await.ok()?;
        let mut url = provider.end_session_endpoint.clone()?;
        url.query_pairs_mut()
            .append_pair("id_token_hint", id_token)
            .append_pair("post_logout_redirect_uri", back.as_str())
            .append_pair("client_id", &self.settings.client_id);
        Some(url)
    }
}

type ClientFor = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
>;

/// The id_token's claims, completed from userinfo where the token is silent (many
/// providers put profile claims in userinfo only).
fn person(claims: id_token::IdClaims, userinfo: Option<Value>, raw: String) -> SsoPerson {
    let info = userinfo.unwrap_or(Value::Null);
    let text = |k: &str| info.get(k).and_then(Value::as_str).map(str::to_string);
    let verified = claims.email_verified.is_some();
    let email_verified = if verified {
        claims.email_verified()
    } else {
        matches!(info.get("email_verified"), Some(Value::Bool(true)))
            || info.get("email_verified").and_then(Value::as_str) == Some("true")
    };
    let groups = claims.groups.clone().unwrap_or_else(|| {
        info.get("groups")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    });
    SsoPerson {
        email: claims.email.clone().or_else(|| text("email")),
        email_verified,
        name: claims.name.clone().or_else(|| text("name")),
        preferred_username: claims
            .preferred_username
            .clone()
            .or_else(|| text("preferred_username")),
        groups,
        amr: amr::strings_of(claims.amr.as_ref()),
        acr: claims.acr.as_ref().and_then(|v| match v {
            Value::String(s) => Some(s.chars().take(200).collect()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }),
        sub: claims.sub,
        id_token: raw,
    }
}

/// A failed call to the provider.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// openidconnect's HTTP calls, made with the portal's reqwest client.
async fn http_call(
    http: reqwest::Client,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let req = reqwest::Request::try_from(req).map_err(|e| HttpError(e.to_string()))?;
    let res = http
        .execute(req)
        .await
        .map_err(|e| HttpError(e.to_string()))?;
    let mut out = openidconnect::http::Response::builder().status(res.status());
    for (name, value) in res.headers() {
        out = out.header(name, value);
    }
    let body = res.bytes().await.map_err(|e| HttpError(e.to_string()))?;
    out.body(body.to_vec())
        .map_err(|e| HttpError(e.to_string()))
}

fn describe_token_error<RE: std::error::Error + 'static>(
    e: &openidconnect::RequestTokenError<
        RE,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> String {
    use openidconnect::RequestTokenError as E;
    match e {
        E::ServerResponse(r) => format!("token endpoint: {}", r.error()),
        E::Request(e) => format!("token endpoint unreachable: {e}"),
        E::Parse(e, _) => format!("token response not understood: {e}"),
        E::Other(m) => format!("token endpoint: {m}"),
    }
}
