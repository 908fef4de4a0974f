//! Logs: structured, one line per event, with the request id of the HTTP request.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Installs the global subscriber; `json` for log collectors, text for people.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn,diesel_migrations=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if json {
        registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .try_init()
    } else {
        registry.with(fmt::layer().with_target(false)).try_init()
    };
    // A second call (tests) keeps the first subscriber.
    let _ = result;
}
