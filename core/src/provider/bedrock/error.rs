//! Bedrock errors: HTTP error bodies `{"message": "…"}` with the exception named by the
//! `x-amzn-errortype` header (`ValidationException:http://internal.amazon.com/…`, the part
//! before `:`) or a `__type` body field; and exception messages inside an event stream
//! (`:message-type: exception`, `:exception-type: throttlingException`, payload
//! `{"message": …}`), which have no status, so the exception name alone decides the kind:
//! throttling is `RateLimit`, `serviceUnavailableException`, `internalServerException` and
//! `modelStreamErrorException` are `ServiceUnavailable` (all retryable), validation is
//! `InvalidRequest` (see [`ErrorKind::from_error_code`](crate::ErrorKind::from_error_code)).

use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::error::Error;

/// The error a Bedrock error response means.
pub(super) fn parse_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let header_type = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(':').next().unwrap_or_default().trim())
        .filter(|v| !v.is_empty());
    let body_type = value
        .as_ref()
        .and_then(|v| v.get("__type"))
        .and_then(Value::as_str)
        .map(|t| t.rsplit('#').next().unwrap_or(t));
    let code = header_type.or(body_type);
    Error::from_http(Some(status), headers, code, message(value.as_ref()), body)
}

/// The error an exception (or `:message-type: error`) message inside a stream means.
pub(super) fn stream_exception(exception_type: &str, payload: &[u8]) -> Error {
    let value: Option<Value> = serde_json::from_slice(payload).ok();
    Error::from_http(
        None,
        &HeaderMap::new(),
        Some(exception_type),
        message(value.as_ref()),
        payload,
    )
}

fn message(value: Option<&Value>) -> Option<&str> {
    let value = value?;
    value
        .get("message")
        .or_else(|| value.get("Message"))
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use http::HeaderValue;

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn http_errors_by_header_type_and_status() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amzn-errortype",
            HeaderValue::from_static(
                "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
            ),
        );
        headers.insert("x-amzn-requestid", HeaderValue::from_static("req-1"));
        let error = parse_error(
            status(429),
            &headers,
            br#"{"message":"Too many requests, please wait before trying again."}"#,
        );
        assert_eq!(error.kind(), ErrorKind::RateLimit);
        assert!(error.is_retryable());
        assert_eq!(error.code(), Some("ThrottlingException"));
        assert_eq!(error.request_id(), Some("req-1"));
        assert_eq!(
            error.message(),
            "Too many requests, please wait before trying again."
        );

        let error = parse_error(
            status(400),
            &HeaderMap::new(),
            br#"{"message":"The provided model identifier is invalid."}"#,
        );
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
        let error = parse_error(
            status(400),
            &HeaderMap::new(),
            br#"{"__type":"com.amazon.coral.validate#ValidationException","message":"Input is too long for requested model."}"#,
        );
        assert_eq!(error.kind(), ErrorKind::ContextWindowExceeded);
        let error = parse_error(
            status(403),
            &HeaderMap::new(),
            br#"{"Message":"User is not authorized"}"#,
        );
        assert_eq!(error.kind(), ErrorKind::PermissionDenied);
        assert_eq!(error.message(), "User is not authorized");
    }

    #[test]
    fn stream_exceptions_by_name() {
        for (name, kind, retry) in [
            ("throttlingException", ErrorKind::RateLimit, true),
            (
                "modelStreamErrorException",
                ErrorKind::ServiceUnavailable,
                true,
            ),
            (
                "serviceUnavailableException",
                ErrorKind::ServiceUnavailable,
                true,
            ),
            (
                "internalServerException",
                ErrorKind::ServiceUnavailable,
                true,
            ),
            ("validationException", ErrorKind::InvalidRequest, false),
        ] {
            let error = stream_exception(name, br#"{"message":"m"}"#);
            assert_eq!(error.kind(), kind, "{name}");
            assert_eq!(error.is_retryable(), retry, "{name}");
            assert_eq!(error.status(), None);
        }
        // Bedrock's own throttling wording mentions tokens: still a rate limit.
        let wording = br#"{"message":"Too many tokens, please wait before trying again."}"#;
        let error = stream_exception("throttlingException", wording);
        assert_eq!(error.kind(), ErrorKind::RateLimit);
        let error = parse_error(status(429), &HeaderMap::new(), wording);
        assert_eq!(error.kind(), ErrorKind::RateLimit);
    }
}
