//! Anthropic error bodies: `{"type": "error", "error": {"type", "message"}, "request_id"}`.
//!
//! The same object arrives three ways: as the body of an error status, as a 2xx body (some
//! gateways), and as the data of an `event: error` inside a stream (where there is no status,
//! so the `error.type` alone decides the kind: `overloaded_error` is `ServiceUnavailable`).

use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::Value;

use crate::error::Error;

/// The error an Anthropic error response means.
pub(super) fn parse_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => error_from_value(Some(status), headers, &value, body),
        Err(_) => Error::from_http(Some(status), headers, None, None, body),
    }
}

/// The error a parsed error object means. `status` is `None` for in-stream errors.
///
/// Besides Anthropic's own shape this reads `{"message"}` and `{"error": "text"}`, which
/// proxies in front of the API (and its load balancers) send.
pub(super) fn error_from_value(
    status: Option<StatusCode>,
    headers: &HeaderMap,
    value: &Value,
    body: &[u8],
) -> Error {
    let error = value.get("error").unwrap_or(value);
    let code = error.get("type").and_then(Value::as_str);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| error.as_str())
        .or_else(|| value.get("message").and_then(Value::as_str));
    // The body repeats the request id; a 2xx body or a stream event has no error headers.
    let body_request_id = value.get("request_id").and_then(Value::as_str);
    let mut with_id;
    let headers = match body_request_id.map(HeaderValue::from_str) {
        Some(Ok(id)) if !headers.contains_key("request-id") => {
            with_id = headers.clone();
            with_id.insert("request-id", id);
            &with_id
        }
        _ => headers,
    };
    Error::from_http(status, headers, code, message, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::time::Duration;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn overloaded_529_is_retryable_service_unavailable() {
        let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#;
        let error = parse_error(status(529), &HeaderMap::new(), body);
        assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);
        assert!(error.is_retryable());
        assert_eq!(error.status(), Some(529));
        assert_eq!(error.code(), Some("overloaded_error"));
        assert_eq!(error.message(), "Overloaded");
        assert_eq!(error.request_id(), Some("req_011CSHoEeqs5C35K2UUqR7Fy"));
    }

    #[test]
    fn rate_limit_429_reads_retry_after_and_request_id_header() {
        let body = br#"{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization (2f6c1a2e) of 50,000 input tokens per minute."}}"#;
        let error = parse_error(
            status(429),
            &headers(&[
                ("retry-after", "17"),
                ("request-id", "req_011CQ1"),
                ("x-should-retry", "true"),
            ]),
            body,
        );
        assert_eq!(error.kind(), ErrorKind::RateLimit);
        assert_eq!(error.retry_after(), Some(Duration::from_secs(17)));
        assert_eq!(error.request_id(), Some("req_011CQ1"));
        assert!(error.is_retryable());
    }

    #[test]
    fn prompt_too_long_is_context_window() {
        let body = br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}"#;
        let error = parse_error(status(400), &HeaderMap::new(), body);
        assert_eq!(error.kind(), ErrorKind::ContextWindowExceeded);
        assert!(error.should_fallback());
        assert!(!error.is_retryable());
    }

    #[test]
    fn status_and_type_kinds() {
        for (code, kind, want) in [
            (400, "invalid_request_error", ErrorKind::InvalidRequest),
            (401, "authentication_error", ErrorKind::Authentication),
            (403, "permission_error", ErrorKind::PermissionDenied),
            (404, "not_found_error", ErrorKind::NotFound),
            (413, "request_too_large", ErrorKind::InvalidRequest),
            (500, "api_error", ErrorKind::ServiceUnavailable),
            (400, "billing_error", ErrorKind::InvalidRequest),
        ] {
            let body = format!(r#"{{"type":"error","error":{{"type":"{kind}","message":"m"}}}}"#);
            let error = parse_error(status(code), &HeaderMap::new(), body.as_bytes());
            assert_eq!(error.kind(), want, "{code} {kind}");
        }
    }

    #[test]
    fn in_stream_error_is_classified_by_type() {
        let value: Value = serde_json::from_str(
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        )
        .unwrap();
        let error = error_from_value(None, &HeaderMap::new(), &value, b"");
        assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);
        assert!(error.is_retryable());
        assert_eq!(error.status(), None);
    }

    #[test]
    fn non_json_body_is_quoted() {
        let error = parse_error(status(502), &HeaderMap::new(), b"<html>Bad Gateway</html>");
        assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);
        assert!(error.message().contains("Bad Gateway"));
    }
}
