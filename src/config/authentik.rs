//! Authentik admin API settings (`AUTHENTIK_*`), read with the rest, and
//! `AUTHENTIK_GROUP_PREFIX`.

use std::{fmt, time::Duration};

use secrecy::SecretString;
use url::Url;

use super::Reader;

/// How the portal reaches Authentik's admin API and delivers its outbox.
#[derive(Clone)]
pub struct AuthentikSettings {
    /// `AUTHENTIK_URL`: Authentik's base URL (the API is under `/api/v3/`).
    pub url: Url,
    /// `AUTHENTIK_TOKEN`: an API token of a service account.
    pub token: SecretString,
    /// `AUTHENTIK_TIMEOUT_MS`: the whole-request deadline (connecting gets at most 2 s).
    pub timeout: Duration,
    /// `AUTHENTIK_RETRIES`: extra tries of one request after a timeout, connection
    /// error, 5xx or 429.
    pub retries: u32,
    /// `AUTHENTIK_CIRCUIT_THRESHOLD`: failed requests in a row that open the circuit.
    pub circuit_threshold: u32,
    /// `AUTHENTIK_CIRCUIT_OPEN_SECS`: how long an open circuit leaves Authentik alone.
    pub circuit_pause: Duration,
    /// `AUTHENTIK_OUTBOX_POLL_MS`: how often the worker looks for due outbox rows.
    pub outbox_poll: Duration,
    /// `AUTHENTIK_OUTBOX_BACKOFF_MS`: first retry delay of a refused outbox row,
    /// doubled on each further attempt (up to an hour).
    pub outbox_backoff: Duration,
    /// `AUTHENTIK_OUTBOX_MAX_ATTEMPTS`: a row Authentik keeps refusing (401, 400, …)
    /// is marked failed after this many attempts. Outages never fail a row.
    pub outbox_max_attempts: u32,
}

impl fmt::Debug for AuthentikSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token stays out of every log line.
        f.debug_struct("AuthentikSettings")
            .field("url", &self.url.as_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Reads the admin API settings; none unless both `AUTHENTIK_URL` and
/// `AUTHENTIK_TOKEN` are set.
pub(super) fn read(r: &mut Reader<'_>, prod: bool) -> Option<AuthentikSettings> {
    let url = r.text("AUTHENTIK_URL");
    let token = r.text("AUTHENTIK_TOKEN");
    let timeout = r.duration("AUTHENTIK_TIMEOUT_MS", 50, 120_000, 5_000);
    let retries = r.number("AUTHENTIK_RETRIES", 0, 10).unwrap_or(2);
    let circuit_threshold = r
        .number("AUTHENTIK_CIRCUIT_THRESHOLD", 1, 1000)
        .unwrap_or(5);
    let circuit_pause = r.duration("AUTHENTIK_CIRCUIT_OPEN_SECS", 1, 3600, 30);
    let outbox_poll = r.duration("AUTHENTIK_OUTBOX_POLL_MS", 10, 600_000, 1_000);
    let outbox_backoff = r.duration("AUTHENTIK_OUTBOX_BACKOFF_MS", 10, 3_600_000, 2_000);
    let max_attempts = r
        .number("AUTHENTIK_OUTBOX_MAX_ATTEMPTS", 1, 1000)
        .unwrap_or(8);
    let (url, token) = match (url, token) {
        (None, None) => return None,
        (Some(_), None) => {
            r.problem("AUTHENTIK_TOKEN", "is required when AUTHENTIK_URL is set: create an API token for a service account in Authentik".into());
            return None;
        }
        (None, Some(_)) => {
            r.problem(
                "AUTHENTIK_URL",
                "is required when AUTHENTIK_TOKEN is set, e.g. https://auth.example.com".into(),
            );
            return None;
        }
        (Some(u), Some(t)) => (u, t),
    };
    Some(AuthentikSettings {
        url: api_url(r, &url, prod)?,
        token: SecretString::from(token),
        timeout,
        retries,
        circuit_threshold,
        circuit_pause,
        outbox_poll,
        outbox_backoff,
        outbox_max_attempts: max_attempts,
    })
}

/// `AUTHENTIK_URL`: an http(s) URL with a host, https in production.
fn api_url(r: &mut Reader<'_>, raw: &str, prod: bool) -> Option<Url> {
    let url = match Url::parse(raw) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host_str().is_some() => u,
        _ => {
            r.problem(
                "AUTHENTIK_URL",
                "must be an http(s) URL such as https://auth.example.com".into(),
            );
            return None;
        }
    };
    if url.host_str() == Some("localhost") {
        r.problem("AUTHENTIK_URL", "uses `localhost`: write 127.0.0.1 instead, so the client does not try IPv6 first or a different resolver".into());
    }
    if prod && url.scheme() != "https" {
        r.problem(
            "AUTHENTIK_URL",
            "must use https in production; the API token would travel in clear".into(),
        );
    }
    Some(url)
}

/// Reads `AUTHENTIK_GROUP_PREFIX` (`tenant-`): Authentik groups are
/// `<prefix><slug>-<role>`, so the prefix is short and plain.
pub(super) fn group_prefix(r: &mut Reader<'_>) -> String {
    let prefix = r
        .text("AUTHENTIK_GROUP_PREFIX")
        .unwrap_or_else(|| "tenant-".into());
    if prefix.len() > 40
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        r.problem(
            "AUTHENTIK_GROUP_PREFIX",
            "use up to 40 letters, digits, `-`, `_` or `.` (the default is tenant-)".into(),
        );
    }
    prefix
}
