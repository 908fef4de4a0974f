//! The HTTP client of Authentik's admin API: Bearer token, deadlines, retries with
//! exponential backoff and jitter, and a circuit breaker.
//!
//! Retries happen on timeouts, connection errors, 5xx and 429 (after `Retry-After`),
//! never on another 4xx: those answers would not change. A request that may have been
//! applied (a timed-out `POST` that creates something) is not retried here; the
//! outbox retries the whole operation, which finds before it creates.

use std::time::Duration;

use rand::Rng;
use reqwest::{Method, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Serialize, de::DeserializeOwned};
use url::Url;

use super::breaker::{CircuitBreaker, CircuitState};
use crate::config::AuthentikSettings;

/// What went wrong talking to Authentik.
#[derive(Debug, thiserror::Error)]
pub enum AuthentikError {
    /// The token is wrong, expired or lacks permissions (401/403).
    #[error(
        "Authentik refused the API token (HTTP {0}): check AUTHENTIK_TOKEN and its permissions"
    )]
    Unauthorized(u16),
    /// The object does not exist (404).
    #[error("not found in Authentik")]
    NotFound,
    /// Authentik refused the input (400), with its field errors.
    #[error("Authentik refused the request: {0}")]
    Validation(serde_json::Value),
    /// Timeout, connection error, 5xx, 429, or the circuit is open.
    #[error("Authentik is unavailable: {0}")]
    Unavailable(String),
    /// Any other answer: another 4xx, or a body that does not follow the schema.
    #[error("Authentik answered unexpectedly: {0}")]
    Unexpected(String),
}

impl AuthentikError {
    /// Whether waiting for Authentik to come back can fix this.
    pub fn is_outage(&self) -> bool {
        matches!(self, AuthentikError::Unavailable(_))
    }
}

/// Whether a request may be sent twice without effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    Safe,
    Once,
}

/// What one try of a request came to.
enum Outcome {
    /// Authentik answered (2xx or a 4xx that retrying would not change).
    Answer(reqwest::Response),
    /// A failure not worth (or not safe) retrying.
    Final(AuthentikError),
    /// A failure to retry, after `Retry-After` when Authentik said so.
    Retry(AuthentikError, Option<Duration>),
}

/// A client of one Authentik instance. Cheap to share (`Arc`); its breaker is shared
/// by everyone using it.
pub struct AuthentikClient {
    http: reqwest::Client,
    api: Url,
    token: SecretString,
    retries: u32,
    retry_base: Duration,
    breaker: CircuitBreaker,
}

impl std::fmt::Debug for AuthentikClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthentikClient")
            .field("api", &self.api.as_str())
            .field("token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Makes rustls use *ring* (the portal builds no other crypto provider). Harmless when
/// one is installed already.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl AuthentikClient {
    /// Builds the client from validated settings.
    pub fn new(s: &AuthentikSettings) -> anyhow::Result<Self> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(s.timeout.min(Duration::from_secs(2)))
            .timeout(s.timeout)
            .user_agent(concat!("tenant-portal/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let mut base = s.url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let api = base.join("api/v3/")?;
        Ok(Self {
            http,
            api,
            token: s.token.clone(),
            retries: s.retries,
            retry_base: Duration::from_millis(100),
            breaker: CircuitBreaker::new(s.circuit_threshold, s.circuit_pause),
        })
    }

    /// The circuit breaker's state.
    pub fn circuit(&self) -> CircuitState {
        self.breaker.state()
    }

    /// Whether a request could go out now (the circuit is not open).
    pub fn available(&self) -> bool {
        self.breaker.state() != CircuitState::Open
    }

    /// How long an open circuit stays open.
    pub fn circuit_pause(&self) -> Duration {
        self.breaker.pause()
    }

    /// Sends one API call and decodes the answer; `None` for an empty (204) answer.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<serde_json::Value>,
        repeat: Repeat,
    ) -> Result<Option<T>, AuthentikError> {
        let url = self
            .api
            .join(path)
            .map_err(|e| AuthentikError::Unexpected(format!("bad API path {path}: {e}")))?;
        let mut attempt = 0;
        loop {
            if !self.breaker.allow() {
                return Err(AuthentikError::Unavailable(
                    "circuit open after repeated failures".into(),
                ));
            }
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(self.token.expose_secret())
                .header(header::ACCEPT, "application/json");
            if !query.is_empty() {
                req = req.query(query);
            }
            if let Some(b) = &body {
                req = req.json(b);
            }
            let (error, retry_after) = match self.classify(req.send().await, repeat) {
                Outcome::Answer(res) => return decode(res.status(), res).await,
                Outcome::Final(e) => return Err(e),
                Outcome::Retry(e, wait) => (e, wait),
            };
            if attempt >= self.retries {
                return Err(error);
            }
            let delay = match retry_after {
                // Honour Retry-After, but a long wait belongs to the outbox, not a caller.
                Some(d) if d > Duration::from_secs(30) => return Err(error),
                Some(d) => d,
                None => backoff(self.retry_base, attempt),
            };
            let delay_ms = delay.as_millis() as u64;
            tracing::debug!(%method, path, attempt, delay_ms, %error, "retrying Authentik call");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Sorts one try's result into an answer, a failure to report, or one to retry;
    /// tells the breaker which it was.
    fn classify(&self, sent: Result<reqwest::Response, reqwest::Error>, repeat: Repeat) -> Outcome {
        match sent {
            Err(e) => {
                self.breaker.record_failure();
                let what = if e.is_timeout() {
                    "timed out".to_string()
                } else if e.is_connect() {
                    "connection failed".to_string()
                } else {
                    format!("request failed ({e})")
                };
                // A refused connection never reached Authentik: always safe to repeat.
                let never_sent = e.is_connect() && !e.is_timeout();
                if repeat == Repeat::Safe || never_sent {
                    Outcome::Retry(AuthentikError::Unavailable(what), None)
                } else {
                    Outcome::Final(AuthentikError::Unavailable(what))
                }
            }
            Ok(res) => {
                let status = res.status();
                if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
                    self.breaker.record_success();
                    return Outcome::Answer(res);
                }
                self.breaker.record_failure();
                let err = AuthentikError::Unavailable(format!("HTTP {}", status.as_u16()));
                // A 429 was not processed; a 5xx might have been.
                if repeat == Repeat::Once && status != StatusCode::TOO_MANY_REQUESTS {
                    Outcome::Final(err)
                } else {
                    Outcome::Retry(err, retry_after(res.headers()))
                }
            }
        }
    }

    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, AuthentikError> {
        self.call(Method::GET, path, query, None, Repeat::Safe)
            .await?
            .ok_or_else(|| AuthentikError::Unexpected(format!("empty answer to GET {path}")))
    }

    pub(super) async fn send<T: DeserializeOwned, B: Serialize + Sync>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        idempotent: bool,
    ) -> Result<Option<T>, AuthentikError> {
        let repeat = if idempotent {
            Repeat::Safe
        } else {
            Repeat::Once
        };
        let body = serde_json::to_value(body)
            .map_err(|e| AuthentikError::Unexpected(format!("cannot encode request: {e}")))?;
        self.call(method, path, &[], Some(body), repeat).await
    }

    pub(super) async fn delete(&self, path: &str) -> Result<(), AuthentikError> {
        self.call::<serde_json::Value>(Method::DELETE, path, &[], None, Repeat::Safe)
            .await
            .map(|_| ())
    }
}

async fn decode<T: DeserializeOwned>(
    status: StatusCode,
    res: reqwest::Response,
) -> Result<Option<T>, AuthentikError> {
    let bytes = res
        .bytes()
        .await
        .map_err(|e| AuthentikError::Unavailable(format!("answer cut short ({e})")))?;
    match status {
        s if s.is_success() => {
            if bytes.is_empty() || s == StatusCode::NO_CONTENT {
                return Ok(None);
            }
            serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                AuthentikError::Unexpected(format!("answer does not follow the schema: {e}"))
            })
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Err(AuthentikError::Unauthorized(status.as_u16()))
        }
        StatusCode::NOT_FOUND => Err(AuthentikError::NotFound),
        StatusCode::BAD_REQUEST => Err(AuthentikError::Validation(
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
            }),
        )),
        other => Err(AuthentikError::Unexpected(format!(
            "HTTP {}",
            other.as_u16()
        ))),
    }
}

/// `Retry-After` in seconds (the form Authentik and its proxies send).
fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Exponential backoff with jitter: half the step fixed, half random, so many clients
/// that failed together do not come back together.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let step = base.saturating_mul(2u32.saturating_pow(attempt.min(20)));
    let half = step / 2;
    let jitter = rand::thread_rng().gen_range(0..=half.as_millis().max(1) as u64);
    half + Duration::from_millis(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_within_its_step() {
        let base = Duration::from_millis(100);
        for attempt in 0..5 {
            let step = base * 2u32.pow(attempt);
            let d = backoff(base, attempt);
            assert!(d >= step / 2 && d <= step, "{d:?} for {attempt}");
        }
    }
}
