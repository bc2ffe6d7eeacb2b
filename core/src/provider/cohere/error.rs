//! Cohere error bodies: `{"message": "…"}`, often with the request's `"id"`.
//!
//! Statuses follow HTTP meaning, plus Cohere's two own codes: 498 (invalid token) is an
//! `Authentication` error and 499 (request cancelled by the client) is `Cancelled`. The body's
//! `id` is kept as the request id when no `x-request-id`-style header gave one.

use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// The error a Cohere error response means.
pub(super) fn parse_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let value = serde_json::from_slice::<Value>(body).ok();
    let message = value.as_ref().and_then(|value| {
        value
            .get("message")
            .and_then(Value::as_str)
            .or_else(|| value.get("error").and_then(Value::as_str))
    });
    let mut with_id;
    let headers = match value
        .as_ref()
        .and_then(|value| value.get("id"))
        .and_then(Value::as_str)
        .map(HeaderValue::from_str)
    {
        Some(Ok(id)) if !headers.contains_key("x-request-id") => {
            with_id = headers.clone();
            with_id.insert("x-request-id", id);
            &with_id
        }
        _ => headers,
    };
    let error = Error::from_http(Some(status), headers, None, message, body);
    match status.as_u16() {
        498 => error.with_kind(ErrorKind::Authentication),
        499 => error.with_kind(ErrorKind::Cancelled),
        _ => error,
    }
}

/// The error a stream's `message-end` reports with `finish_reason: ERROR` (or `TIMEOUT`):
/// there is no status, so the kind comes from `error_type` and the text (Cohere's error types,
/// such as `INVALID_TOOL_GENERATION`, name no OpenAI-style code, so they count as the provider
/// failing: `ServiceUnavailable`, retryable and fallback-able), and a `TIMEOUT` is `Timeout`.
pub(super) fn in_stream_error(
    finish_reason: &str,
    error_type: Option<&str>,
    message: Option<&str>,
    raw: &[u8],
) -> Error {
    let error = Error::from_http(None, &HeaderMap::new(), error_type, message, raw);
    if finish_reason.eq_ignore_ascii_case("timeout") {
        error.with_kind(ErrorKind::Timeout)
    } else {
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn statuses_and_bodies() {
        for (code, want) in [
            (400, ErrorKind::InvalidRequest),
            (401, ErrorKind::Authentication),
            (402, ErrorKind::InvalidRequest),
            (404, ErrorKind::NotFound),
            (429, ErrorKind::RateLimit),
            (498, ErrorKind::Authentication),
            (499, ErrorKind::Cancelled),
            (500, ErrorKind::ServiceUnavailable),
            (503, ErrorKind::ServiceUnavailable),
        ] {
            let error = parse_error(status(code), &HeaderMap::new(), br#"{"message":"m"}"#);
            assert_eq!(error.kind(), want, "{code}");
            assert_eq!(error.status(), Some(code));
            assert_eq!(error.message(), "m");
        }
    }

    /// The recorded 404 of `/v2/embed` (pydantic-ai cassette `TestCohere.test_embed_error`).
    #[test]
    fn id_and_message_shape() {
        let body = br#"{"id": "8bd5b608-887c-49f7-a6b3-d3bd5830c3de", "message": "model 'nonexistent' not found, make sure the correct model ID was used and that you have access to the model."}"#;
        let error = parse_error(status(404), &HeaderMap::new(), body);
        assert_eq!(error.kind(), ErrorKind::NotFound);
        assert!(error.message().starts_with("model 'nonexistent' not found"));
        assert_eq!(
            error.request_id(),
            Some("8bd5b608-887c-49f7-a6b3-d3bd5830c3de")
        );
    }

    #[test]
    fn rate_limit_reads_retry_after_and_context_window_wording() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3"));
        let error = parse_error(
            status(429),
            &headers,
            br#"{"message":"You are using a Trial key, which is limited to 10 API calls / minute."}"#,
        );
        assert_eq!(error.kind(), ErrorKind::RateLimit);
        assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));

        let error = parse_error(
            status(400),
            &HeaderMap::new(),
            br#"{"message":"too many tokens: size limit exceeded by 1200 tokens. Try using shorter or fewer inputs"}"#,
        );
        assert_eq!(error.kind(), ErrorKind::ContextWindowExceeded);
        let html = parse_error(status(502), &HeaderMap::new(), b"<html>Bad gateway</html>");
        assert_eq!(html.kind(), ErrorKind::ServiceUnavailable);
        assert!(html.message().contains("Bad gateway"));
    }

    #[test]
    fn in_stream_errors() {
        let error = in_stream_error(
            "ERROR",
            Some("INVALID_TOOL_GENERATION"),
            Some("your request resulted in an invalid tool generation"),
            b"{}",
        );
        assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);
        assert_eq!(error.code(), Some("INVALID_TOOL_GENERATION"));
        assert_eq!(
            in_stream_error("TIMEOUT", None, None, b"{}").kind(),
            ErrorKind::Timeout
        );
    }
}
