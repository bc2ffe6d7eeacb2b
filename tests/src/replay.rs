//! Replaying a recorded provider response through the core: the logic behind the
//! `onellm-replay` tool, callable from tests.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{json, Value};

use onellm_core::{ChunkAccumulator, Error, ModelId, Registry};

/// Which endpoint a recording came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Chat,
    Embeddings,
    Completions,
}

impl Endpoint {
    /// Parses `chat`, `embeddings` or `completions`.
    pub fn parse(text: &str) -> Option<Endpoint> {
        match text {
            "chat" => Some(Endpoint::Chat),
            "embeddings" => Some(Endpoint::Embeddings),
            "completions" => Some(Endpoint::Completions),
            _ => None,
        }
    }
}

/// A recorded response to replay.
#[derive(Debug, Clone)]
pub struct Recording {
    pub provider: String,
    pub endpoint: Endpoint,
    pub stream: bool,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The piece sizes a stream body is fed in: small and irregular, so framing bugs at piece
/// edges show up.
const PIECES: [usize; 7] = [1, 7, 64, 3, 512, 2, 33];

/// Replays a recording and returns the one JSON object `onellm-replay` prints:
/// `{"ok":true,"completion":…,"chunks":N}`, `{"ok":true,"embeddings":…}`,
/// `{"ok":true,"completions":…}` or `{"ok":false,"error":{…}}`. `Err` is for bad usage
/// (unknown provider, invalid status or header), not for what the recording says.
pub fn replay(recording: &Recording) -> Result<Value, String> {
    let registry =
        Registry::from_lookup(|name| name.ends_with("_API_KEY").then(|| "replay-key".to_owned()));
    let id =
        ModelId::parse(&format!("{}/replay", recording.provider)).map_err(|e| e.to_string())?;
    let provider = registry.resolve(&id).map_err(|e| e.to_string())?;
    let status = StatusCode::from_u16(recording.status).map_err(|e| format!("bad status: {e}"))?;
    let mut headers = HeaderMap::new();
    for (name, value) in &recording.headers {
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|e| format!("bad header name {name:?}: {e}"))?;
        let value =
            HeaderValue::from_str(value.trim()).map_err(|e| format!("bad header value: {e}"))?;
        headers.append(name, value);
    }
    let response = || {
        let mut response = http::Response::new(Bytes::from(recording.body.clone()));
        *response.status_mut() = status;
        *response.headers_mut() = headers.clone();
        response
    };
    let outcome = match recording.endpoint {
        Endpoint::Chat if recording.stream && status.is_success() => {
            let mut decoder = provider.chat_stream_decoder(id.model());
            let mut accumulator = ChunkAccumulator::new();
            let mut failure = None;
            let mut rest = recording.body.as_slice();
            let mut sizes = PIECES.iter().cycle();
            loop {
                while let Some(item) = decoder.next_chunk() {
                    match item {
                        Ok(chunk) => accumulator.push(&chunk),
                        Err(error) => failure = Some(error),
                    }
                }
                if rest.is_empty() || failure.is_some() {
                    break;
                }
                let size = sizes.next().copied().unwrap_or(1).min(rest.len());
                let (piece, tail) = rest.split_at(size);
                decoder.push(piece);
                rest = tail;
            }
            if failure.is_none() {
                decoder.finish();
                while let Some(item) = decoder.next_chunk() {
                    match item {
                        Ok(chunk) => accumulator.push(&chunk),
                        Err(error) => failure = Some(error),
                    }
                }
            }
            match failure {
                Some(error) => Err(error),
                None => Ok(json!({"ok": true, "completion": accumulator.completion(),
                    "chunks": accumulator.chunk_count()})),
            }
        }
        Endpoint::Chat => provider
            .parse_chat(&response())
            .map(|completion| json!({"ok": true, "completion": completion})),
        Endpoint::Embeddings => provider
            .parse_embeddings(&response())
            .map(|embeddings| json!({"ok": true, "embeddings": embeddings})),
        Endpoint::Completions => provider
            .parse_completions(&response())
            .map(|completions| json!({"ok": true, "completions": completions})),
    };
    Ok(outcome.unwrap_or_else(|error| error_json(&error)))
}

/// The `{"ok":false,"error":{…}}` object for an error.
pub fn error_json(error: &Error) -> Value {
    json!({"ok": false, "error": {
        "kind": error.kind().as_str(),
        "status": error.status(),
        "message": error.message(),
        "code": error.code(),
        "request_id": error.request_id(),
        "retry_after_ms": error.retry_after().map(|d| d.as_millis() as u64),
    }})
}
