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
        // Colours only for a terminal: in a file or a pipe, escape codes are noise.
        use std::io::IsTerminal;
        let ansi = std::io::stdout().is_terminal();
        registry
            .with(fmt::layer().with_target(false).with_ansi(ansi))
            .try_init()
    };
    // A second call (tests) keeps the first subscriber.
    let _ = result;
}

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// The request span of every request, like tracing-actix-web's default but with the
/// secrets of a URL left out: single-use tokens in paths and the whole query string
/// (sign-in codes, state, email addresses) never reach the logs.
pub struct RedactingRootSpan;

impl RootSpanBuilder for RedactingRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().copied();
        let user_agent = request
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.target = %redact_target(request.path(), request.query_string()),
            http.user_agent = user_agent,
            http.status_code = tracing::field::Empty,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = request_id.map(|id| id.to_string()),
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Path segments after these carry a single-use secret.
const SECRET_AFTER: [&str; 3] = ["reset", "verify-email", "invitations"];

/// The request target as it may be logged.
pub fn redact_target(path: &str, query: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut secret_next = false;
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if secret_next && !segment.is_empty() && segment != "resend" {
            out.push_str("[redacted]");
        } else {
            out.push_str(segment);
        }
        secret_next = SECRET_AFTER.contains(&segment);
    }
    if !query.is_empty() {
        out.push_str("?[redacted]");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_target;

    #[test]
    fn tokens_and_queries_stay_out_of_logs() {
        assert_eq!(
            redact_target("/t/acme/password/reset/abcDEF123", ""),
            "/t/acme/password/reset/[redacted]"
        );
        assert_eq!(
            redact_target("/t/acme/verify-email/xyz", ""),
            "/t/acme/verify-email/[redacted]"
        );
        assert_eq!(
            redact_target("/t/acme/verify-email/resend", ""),
            "/t/acme/verify-email/resend"
        );
        assert_eq!(
            redact_target("/auth/oidc/callback", "code=secret&state=s"),
            "/auth/oidc/callback?[redacted]"
        );
        assert_eq!(redact_target("/t/acme/dashboard", ""), "/t/acme/dashboard");
    }
}
