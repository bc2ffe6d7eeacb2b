//! Ollama error bodies: `{"error": "…"}`, as the body of an error status or as one NDJSON
//! line inside a stream (where there is no status, so the text alone decides the kind: a
//! context-window phrase is `ContextWindowExceeded`, anything else `ServiceUnavailable`).

use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::error::Error;

/// The error an Ollama error response means (`status` `None` inside a stream).
pub(super) fn parse_error(status: Option<StatusCode>, headers: &HeaderMap, body: &[u8]) -> Error {
    let value = serde_json::from_slice::<Value>(body).ok();
    let message = value
        .as_ref()
        .and_then(|value| value.get("error"))
        .and_then(|error| error.as_str().or_else(|| error.get("message")?.as_str()));
    Error::from_http(status, headers, None, message, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    /// Bodies as the Ollama server writes them (`server/routes.go`).
    #[test]
    fn statuses_and_stream_errors() {
        let not_found = parse_error(
            Some(StatusCode::NOT_FOUND),
            &HeaderMap::new(),
            br#"{"error":"model \"llama9\" not found, try pulling it first"}"#,
        );
        assert_eq!(not_found.kind(), ErrorKind::NotFound);
        assert_eq!(
            not_found.message(),
            "model \"llama9\" not found, try pulling it first"
        );
        let bad = parse_error(
            Some(StatusCode::BAD_REQUEST),
            &HeaderMap::new(),
            br#"{"error":"invalid options: foo"}"#,
        );
        assert_eq!(bad.kind(), ErrorKind::InvalidRequest);
        let in_stream = parse_error(
            None,
            &HeaderMap::new(),
            br#"{"error":"an error was encountered while running the model: unexpected EOF"}"#,
        );
        assert_eq!(in_stream.kind(), ErrorKind::ServiceUnavailable);
        assert!(in_stream.is_retryable());
        let plain = parse_error(
            Some(StatusCode::BAD_GATEWAY),
            &HeaderMap::new(),
            b"upstream down",
        );
        assert_eq!(plain.kind(), ErrorKind::ServiceUnavailable);
        assert_eq!(plain.message(), "upstream down");
    }
}
