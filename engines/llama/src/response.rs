//! The bytes a llama.cpp server sends back, written here so the core's existing
//! `llama_cpp` decoder reads the in-process engine's answers exactly as it reads the
//! server's: a `chat.completion` JSON body, or `chat.completion.chunk` SSE events ending in
//! `data: [DONE]`, and errors as `{"error": {...}}` with an HTTP status.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{json, Value};

/// One piece of a response, in order: one [`Piece::Head`], then [`Piece::Body`]s.
#[derive(Debug)]
pub enum Piece {
    /// The status and headers.
    Head(StatusCode, HeaderMap),
    /// The next bytes of the body.
    Body(Bytes),
}

/// Why generation ended, as OpenAI spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// The model ended its turn, a stop sequence matched, or the grammar completed.
    Stop,
    /// `max_tokens` or the context ran out.
    Length,
}

impl Finish {
    fn as_str(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
        }
    }
}

/// What every chunk and completion of one response repeats.
pub(crate) struct Identity {
    id: String,
    created: u64,
    model: String,
}

impl Identity {
    /// A fresh id (unique in the process) for a response about `model`.
    pub(crate) fn new(model: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Identity {
            id: format!("chatcmpl-local-{}", NEXT.fetch_add(1, Ordering::Relaxed)),
            created,
            model: model.to_owned(),
        }
    }

    /// A non-streamed completion.
    pub(crate) fn completion(&self, text: &str, finish: Finish, usage: Usage) -> Bytes {
        let body = json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": null,
                "finish_reason": finish.as_str(),
            }],
            "usage": usage.to_json(),
        });
        Bytes::from(body.to_string())
    }

    /// A stream chunk with `delta` and, on the last one, the finish reason.
    pub(crate) fn chunk(&self, delta: Value, finish: Option<Finish>) -> Bytes {
        self.event(json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "delta": delta,
                "logprobs": null,
                "finish_reason": finish.map(Finish::as_str),
            }],
        }))
    }

    /// The usage chunk `stream_options.include_usage` asks for (no choices).
    pub(crate) fn usage_chunk(&self, usage: Usage) -> Bytes {
        self.event(json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage.to_json(),
        }))
    }

    fn event(&self, value: Value) -> Bytes {
        Bytes::from(format!("data: {value}\n\n"))
    }
}

/// The stream's terminal marker.
pub(crate) const DONE: &[u8] = b"data: [DONE]\n\n";

/// Token counts of one call.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Usage {
    pub(crate) prompt: usize,
    pub(crate) completion: usize,
}

impl Usage {
    fn to_json(self) -> Value {
        json!({
            "prompt_tokens": self.prompt,
            "completion_tokens": self.completion,
            "total_tokens": self.prompt + self.completion,
        })
    }
}

/// The head of a JSON body or of an SSE stream.
pub(crate) fn head(status: StatusCode, stream: bool) -> Piece {
    let mut headers = HeaderMap::new();
    let kind = if stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    Piece::Head(status, headers)
}

/// An error response as llama.cpp's server writes one: `{"error": {code, message, type}}`.
pub(crate) fn error(status: StatusCode, kind: &str, message: &str, extra: Value) -> [Piece; 2] {
    let mut error = json!({"code": status.as_u16(), "message": message, "type": kind});
    if let (Some(error), Value::Object(extra)) = (error.as_object_mut(), extra) {
        error.extend(extra);
    }
    let body = json!({ "error": error }).to_string();
    [head(status, false), Piece::Body(Bytes::from(body))]
}
