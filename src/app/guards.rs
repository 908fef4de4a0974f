//! Text PostgreSQL cannot store never gets as far as a query: a NUL character in the
//! address, a form or a JSON body is refused with a 400 that says so.

use actix_web::{
    Error, HttpMessage, ResponseError,
    body::{EitherBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
    web,
};
use futures_util::StreamExt;

use crate::error::{ApiError, AppError};

/// The largest body this guard reads to look inside: larger than any form or JSON body
/// of the portal, which answers 413 to anything bigger.
const MAX_BODY: usize = 256 * 1024;

const NUL_IN_ADDRESS: &str =
    "The address contains a NUL character, which the portal cannot store. Remove it and try again.";
const NUL_IN_BODY: &str = "The request contains a NUL character (\\u0000), which the portal cannot store. Remove it and send it again.";

/// Refuses requests whose query string, form or JSON body carries a NUL character.
pub async fn refuse_nul(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let api = req.path().starts_with("/api/");
    let refuse = |req: ServiceRequest, message: &str| {
        let e = AppError::BadRequest(message.into());
        let res = if api {
            ApiError(e).error_response()
        } else {
            e.error_response()
        };
        Ok(req.into_response(res).map_into_right_body())
    };
    if url::form_urlencoded::parse(req.query_string().as_bytes())
        .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return refuse(req, NUL_IN_ADDRESS);
    }
    if let Some(kind) = body_kind(&req) {
        let Some(body) = read_body(&mut req).await? else {
            let e = AppError::PayloadTooLarge;
            let res = if api {
                ApiError(e).error_response()
            } else {
                e.error_response()
            };
            return Ok(req.into_response(res).map_into_right_body());
        };
        let nul = match kind {
            Body::Form => url::form_urlencoded::parse(&body)
                .any(|(k, v)| k.contains('\0') || v.contains('\0')),
            // A JSON string can hold NUL only as the escape `\u0000`.
            Body::Json => contains_json_nul(&body),
        };
        req.set_payload(Payload::from(body));
        if nul {
            return refuse(req, NUL_IN_BODY);
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

enum Body {
    Form,
    Json,
}

fn body_kind(req: &ServiceRequest) -> Option<Body> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)?
        .to_str()
        .ok()?
        .to_ascii_lowercase();
    if ct.starts_with("application/x-www-form-urlencoded") {
        Some(Body::Form)
    } else if ct.starts_with("application/json") || ct.contains("+json") {
        Some(Body::Json)
    } else {
        None
    }
}

/// The whole body, or `None` when it is larger than any form or JSON body of the
/// portal.
async fn read_body(req: &mut ServiceRequest) -> Result<Option<web::Bytes>, Error> {
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > MAX_BODY {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

/// Whether JSON text has a `\u0000` escape (any case of the hex digits), counting
/// backslashes so that an escaped backslash followed by `u0000` is not one.
fn contains_json_nul(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' {
            let rest = &json[i + 1..];
            if rest.len() >= 5 && rest[0] == b'u' && rest[1..5].iter().all(|b| *b == b'0') {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::contains_json_nul;

    #[test]
    fn a_json_nul_escape_is_found_and_an_escaped_backslash_is_not_one() {
        assert!(contains_json_nul(br#"{"q":"a\u0000b"}"#));
        assert!(!contains_json_nul(br#"{"q":"a\\u0000b"}"#));
        assert!(contains_json_nul(br#"{"q":"a\\\u0000"}"#));
        assert!(!contains_json_nul(br#"{"q":"\u0041"}"#));
    }
}
