//! OpenAI-family error bodies, and the variants compatible servers send.

use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// The error an OpenAI-family error response means.
///
/// Understands `{"error": {"message", "type", "code", "param"}}` (OpenAI, Groq, OpenRouter),
/// `{"error": "text"}`, `{"object": "error", "message", "type", "code"}` (vLLM, Mistral) and
/// `{"detail": "text"}` (FastAPI servers); anything else is quoted.
pub(crate) fn parse_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => error_from_value(Some(status), headers, &value, body),
        Err(_) => Error::from_http(Some(status), headers, None, None, body),
    }
}

/// The error a parsed error body (or an in-stream error object) means.
pub(crate) fn error_from_value(
    status: Option<StatusCode>,
    headers: &HeaderMap,
    value: &Value,
    body: &[u8],
) -> Error {
    let error = value.get("error").unwrap_or(value);
    let text = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let message = text(error.get("message"))
        .or_else(|| error.as_str().map(str::to_owned))
        .or_else(|| text(value.get("message")))
        .or_else(|| text(value.get("detail")));
    let candidates = [
        text(error.get("code")),
        text(error.get("type")),
        text(value.get("code")),
        text(value.get("type")),
    ];
    let code = candidates
        .iter()
        .flatten()
        .find(|c| ErrorKind::from_error_code(c).is_some())
        .or_else(|| candidates.iter().flatten().next())
        .cloned();
    // In-stream errors carry their would-be status: Groq as `status_code`, OpenRouter as a
    // numeric `code` (its error objects mirror the HTTP status there).
    let status = status.or_else(|| {
        ["status_code", "status", "code"]
            .iter()
            .find_map(|name| error.get(*name).and_then(Value::as_u64))
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (400..=599).contains(s))
            .and_then(|s| StatusCode::from_u16(s).ok())
    });
    Error::from_http(status, headers, code.as_deref(), message.as_deref(), body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn in_stream(value: Value) -> Error {
        error_from_value(None, &HeaderMap::new(), &value, b"")
    }

    #[test]
    fn in_stream_errors_use_the_status_they_name() {
        let groq = in_stream(json!({"error": {"message": "Tool call validation failed",
            "type": "invalid_request_error", "code": "tool_use_failed", "status_code": 400}}));
        assert_eq!(groq.kind(), ErrorKind::InvalidRequest);
        assert_eq!(groq.status(), Some(400));
        let openrouter =
            in_stream(json!({"error": {"code": 429, "message": "Provider returned error"}}));
        assert_eq!(openrouter.kind(), ErrorKind::RateLimit);
        assert_eq!(openrouter.status(), Some(429));
        let overloaded = in_stream(json!({"error": {"code": 502, "message": "upstream failed"}}));
        assert_eq!(overloaded.kind(), ErrorKind::ServiceUnavailable);
        // A number that is no HTTP error status is only a code.
        let odd = in_stream(json!({"error": {"code": 7, "message": "?"}}));
        assert_eq!(odd.status(), None);
        assert_eq!(odd.kind(), ErrorKind::ServiceUnavailable);
    }
}
