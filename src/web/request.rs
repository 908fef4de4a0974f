//! What the portal reads about the sender of a request: the client's address (behind
//! trusted proxies) and user agent, for rate limits and the audit log.

use std::net::IpAddr;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};

use crate::app::AppState;
use crate::error::AppError;
use crate::models::audit_log::RequestMeta;

/// Reads the client address and user agent of a request.
pub fn meta_of(req: &HttpRequest) -> RequestMeta {
    RequestMeta {
        ip: client_ip(req).map(|a| a.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(256).collect()),
    }
}

impl FromRequest for RequestMeta {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(meta_of(req)))
    }
}

/// The client's address: the peer, or, when the peer is a trusted proxy
/// (`PORTAL_TRUSTED_PROXIES`), the nearest untrusted address in `X-Forwarded-For`.
/// Anyone can send that header, so it is believed only from a proxy we run.
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let trusted: &[IpAddr] = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.trusted_proxies.as_slice())
        .unwrap_or(&[]);
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return Some(ip),
            // A malformed hop: stop believing the chain here.
            Err(_) => break,
        }
    }
    Some(peer)
}
