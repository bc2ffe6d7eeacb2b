//! Gemini error bodies: Google's `google.rpc.Status` in JSON,
//! `{"error": {"code": 429, "message", "status": "RESOURCE_EXHAUSTED", "details": [...]}}`.
//!
//! Rules:
//! - The same object arrives as the body of an error status, as a one-element JSON array
//!   (`[{"error": …}]`, what the streaming endpoint sends), and as a stream body that is plain
//!   JSON under a `text/event-stream` content type. All three are read here.
//! - `error.status` (`RESOURCE_EXHAUSTED`, `UNAVAILABLE`, …) is the error's code; the kind
//!   follows the HTTP status, refined by it ([`Error::from_http`]). Without an HTTP status
//!   (an error inside a 200 stream) the body's own numeric `code` stands in for it.
//! - A 400 whose `details` hold an `ErrorInfo` with reason `API_KEY_INVALID` or
//!   `API_KEY_EXPIRED` is `Authentication`: Google answers a bad key with 400, not 401.
//! - A `RetryInfo` detail's `retryDelay` (`"34.4s"`) is the retry-after, unless a
//!   `Retry-After` header already said.

use std::time::Duration;

use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// The error a Gemini error response means.
pub(super) fn parse_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => error_from_value(Some(status), headers, &value, body),
        Err(_) => Error::from_http(Some(status), headers, None, None, body),
    }
}

/// Whether a parsed body is a Google error object (or an array holding one).
pub(super) fn is_error_value(value: &Value) -> bool {
    error_object(value).is_some()
}

fn error_object(value: &Value) -> Option<&Value> {
    let value = match value {
        Value::Array(items) => items.first()?,
        other => other,
    };
    value.get("error").filter(|error| !error.is_null())
}

/// The error a parsed error body means. `status` is `None` for errors inside a stream.
pub(super) fn error_from_value(
    status: Option<StatusCode>,
    headers: &HeaderMap,
    value: &Value,
    body: &[u8],
) -> Error {
    let error = error_object(value).unwrap_or(value);
    let code = error.get("status").and_then(Value::as_str);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| error.as_str());
    let status = status.or_else(|| {
        error
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|code| u16::try_from(code).ok())
            .and_then(|code| StatusCode::from_u16(code).ok())
            .filter(|code| code.is_client_error() || code.is_server_error())
    });
    let details = error
        .get("details")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut result = Error::from_http(status, headers, code, message, body);
    let bad_key = details.iter().any(|detail| {
        matches!(
            detail.get("reason").and_then(Value::as_str),
            Some("API_KEY_INVALID" | "API_KEY_EXPIRED")
        )
    });
    if bad_key {
        result = result.with_kind(ErrorKind::Authentication);
    }
    if result.retry_after().is_none() {
        let delay = details
            .iter()
            .filter(|detail| {
                detail
                    .get("@type")
                    .and_then(Value::as_str)
                    .is_some_and(|kind| kind.ends_with("google.rpc.RetryInfo"))
            })
            .find_map(|detail| detail.get("retryDelay").and_then(Value::as_str))
            .and_then(parse_duration);
        if delay.is_some() {
            result = result.with_retry_after(delay);
        }
    }
    result
}

/// A protobuf JSON `Duration`: decimal seconds with an `s` suffix (`"34.4s"`, `"1s"`).
fn parse_duration(text: &str) -> Option<Duration> {
    let seconds: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0)
        .then(|| Duration::try_from_secs_f64(seconds).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn resource_exhausted_with_retry_info() {
        let body = br#"{"error": {"code": 429, "message": "You exceeded your current quota, please check your plan.", "status": "RESOURCE_EXHAUSTED",
          "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
                      {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34.4s"}]}}"#;
        let error = parse_error(status(429), &HeaderMap::new(), body);
        assert_eq!(error.kind(), ErrorKind::RateLimit);
        assert_eq!(error.code(), Some("RESOURCE_EXHAUSTED"));
        assert_eq!(error.retry_after(), Some(Duration::from_millis(34_400)));
        assert!(error.message().contains("quota"));
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3"));
        let error = parse_error(status(429), &headers, body);
        assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn statuses_map_to_kinds() {
        for (code, name, want) in [
            (400, "INVALID_ARGUMENT", ErrorKind::InvalidRequest),
            (400, "FAILED_PRECONDITION", ErrorKind::InvalidRequest),
            (403, "PERMISSION_DENIED", ErrorKind::PermissionDenied),
            (404, "NOT_FOUND", ErrorKind::NotFound),
            (429, "RESOURCE_EXHAUSTED", ErrorKind::RateLimit),
            (500, "INTERNAL", ErrorKind::ServiceUnavailable),
            (503, "UNAVAILABLE", ErrorKind::ServiceUnavailable),
            (504, "DEADLINE_EXCEEDED", ErrorKind::ServiceUnavailable),
        ] {
            let body = format!(r#"{{"error":{{"code":{code},"message":"m","status":"{name}"}}}}"#);
            let error = parse_error(status(code), &HeaderMap::new(), body.as_bytes());
            assert_eq!(error.kind(), want, "{code} {name}");
            assert_eq!(error.status(), Some(code));
        }
    }

    #[test]
    fn bad_api_key_is_authentication_and_array_form_is_read() {
        let body = br#"[{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
          "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}]"#;
        let error = parse_error(status(400), &HeaderMap::new(), body);
        assert_eq!(error.kind(), ErrorKind::Authentication);
        assert!(error.message().starts_with("API key not valid"));
    }

    #[test]
    fn in_stream_error_uses_the_body_code() {
        let value: Value = serde_json::from_str(
            r#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#,
        )
        .unwrap();
        assert!(is_error_value(&value));
        let error = error_from_value(None, &HeaderMap::new(), &value, b"");
        assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);
        assert!(error.is_retryable());
        assert!(!is_error_value(&serde_json::json!({"candidates": []})));
        assert!(!is_error_value(&serde_json::json!({"error": null})));
    }

    #[test]
    fn non_json_body_is_quoted() {
        let error = parse_error(status(502), &HeaderMap::new(), b"<html>Bad Gateway</html>");
        assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);
        assert!(error.message().contains("Bad Gateway"));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("5"), None);
    }
}
