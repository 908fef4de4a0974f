//! The process and its HTTP server: `PORTAL_ENV`, `PORTAL_BIND`, `PORTAL_BASE_URL`,
//! `PORTAL_TRUSTED_PROXIES` and `PORTAL_LOG_FORMAT`.

use std::net::{IpAddr, SocketAddr};

use url::Url;

use super::{Environment, Reader};

/// `PORTAL_ENV`: development unless it names production.
pub(super) fn environment(r: &mut Reader<'_>) -> Environment {
    match r.text("PORTAL_ENV").as_deref() {
        None | Some("development") | Some("dev") => Environment::Development,
        Some("production") | Some("prod") => Environment::Production,
        Some(other) => {
            r.problem(
                "PORTAL_ENV",
                format!("`{other}` is not an environment; use development or production"),
            );
            Environment::Development
        }
    }
}

/// Where the server listens and how people reach it.
pub(super) struct Server {
    pub(super) bind: SocketAddr,
    pub(super) base_url: Url,
    pub(super) trusted_proxies: Vec<IpAddr>,
}

/// Reads the server's settings; none when no base URL can be formed at all.
pub(super) fn read(r: &mut Reader<'_>, prod: bool) -> Option<Server> {
    let bind = r
        .parsed::<SocketAddr>("PORTAL_BIND", "an address such as 127.0.0.1:8080")
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let base_url = base_url(r, prod, bind)?;
    let trusted_proxies = r.ip_list("PORTAL_TRUSTED_PROXIES");
    Some(Server {
        bind,
        base_url,
        trusted_proxies,
    })
}

/// `PORTAL_BASE_URL`, required in production and https there. Without it
/// (development), the bind address serves as the base.
fn base_url(r: &mut Reader<'_>, prod: bool, bind: SocketAddr) -> Option<Url> {
    let base_url = match r.text("PORTAL_BASE_URL") {
        Some(v) => match Url::parse(&v) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Some(u),
            _ => {
                r.problem(
                    "PORTAL_BASE_URL",
                    "must be an http(s) URL such as https://portal.example.com".into(),
                );
                None
            }
        },
        None if prod => {
            r.problem(
                "PORTAL_BASE_URL",
                "is required in production: set it to the public https URL of the portal".into(),
            );
            None
        }
        None => None,
    };
    let Some(base_url) = base_url.or_else(|| Url::parse(&format!("http://{bind}")).ok()) else {
        r.problem(
            "PORTAL_BASE_URL",
            "is required: set it to the URL people use to reach the portal".into(),
        );
        return None;
    };
    if prod && base_url.scheme() != "https" {
        r.problem(
            "PORTAL_BASE_URL",
            "must use https in production; sessions would travel in clear".into(),
        );
    }
    Some(base_url)
}

/// `PORTAL_LOG_FORMAT`: `json` for machines (the production default), anything else
/// for people.
pub(super) fn log_json(r: &Reader<'_>, prod: bool) -> bool {
    r.text("PORTAL_LOG_FORMAT")
        .map(|v| v == "json")
        .unwrap_or(prod)
}
