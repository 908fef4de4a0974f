//! Text PostgreSQL cannot store never gets as far as a query: a NUL character in the
//! address or in a form is refused with a 400 that says so. (JSON bodies are checked
//! field by field where they are read, against what the API document promises.)

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

/// The largest form this guard reads to look inside: larger than any form of the
/// portal, which answers 413 to anything bigger.
const MAX_BODY: usize = 256 * 1024;

const NUL_IN_ADDRESS: &str =
    "The address contains a NUL character, which the portal cannot store. Remove it and try again.";
const NUL_IN_BODY: &str = "The form contains a NUL character, which the portal cannot store. Remove it and send it again.";

/// Refuses requests whose query string or form carries a NUL character.
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
    if is_form(&req) {
        let Some(body) = read_body(&mut req).await? else {
            let e = AppError::PayloadTooLarge;
            let res = if api {
                ApiError(e).error_response()
            } else {
                e.error_response()
            };
            return Ok(req.into_response(res).map_into_right_body());
        };
        let nul =
            url::form_urlencoded::parse(&body).any(|(k, v)| k.contains('\0') || v.contains('\0'));
        req.set_payload(Payload::from(body));
        if nul {
            return refuse(req, NUL_IN_BODY);
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

fn is_form(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// The whole body, or `None` when it is larger than any form of the portal.
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
