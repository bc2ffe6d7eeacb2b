//! Replaying a recorded provider response through the core: the logic behind the
//! `onellm-replay` tool, callable from tests.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{json, Value};

use onellm_core::{ChunkAccumulator, Error, ModelId, Registry, ResponseAccumulator};

/// Which endpoint a recording came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Chat,
    Embeddings,
    Completions,
    /// OpenAI's Responses API (`/v1/responses`).
    Responses,
}

impl Endpoint {
    /// Parses `chat`, `embeddings`, `completions` or `responses`.
    pub fn parse(text: &str) -> Option<Endpoint> {
        match text {
            "chat" => Some(Endpoint::Chat),
            "responses" => Some(Endpoint::Responses),
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
/// `{"ok":true,"completions":…}`, `{"ok":true,"response":…}` (a Responses API reply; for a
/// stream, the events folded by `ResponseAccumulator`, with `"events":N}`) or
/// `{"ok":false,"error":{…}}`. `Err` is for bad usage
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
            feed_in_pieces(
                decoder.as_mut(),
                &recording.body,
                |decoder, piece| decoder.push(piece),
                |decoder| decoder.finish(),
                |decoder| decoder.next_chunk(),
                |chunk| accumulator.push(&chunk),
            )
            .map(|()| {
                json!({"ok": true, "completion": accumulator.completion(),
                    "chunks": accumulator.chunk_count()})
            })
        }
        Endpoint::Responses if recording.stream && status.is_success() => {
            let mut decoder = provider.responses_stream_decoder(id.model());
            let mut accumulator = ResponseAccumulator::new();
            let mut events = 0_usize;
            feed_in_pieces(
                decoder.as_mut(),
                &recording.body,
                |decoder, piece| decoder.push(piece),
                |decoder| decoder.finish(),
                |decoder| decoder.next_event(),
                |event| {
                    events += 1;
                    accumulator.push(&event);
                },
            )
            .map(|()| json!({"ok": true, "response": accumulator.response(), "events": events}))
        }
        Endpoint::Responses => provider
            .parse_responses(&response())
            .map(|response| json!({"ok": true, "response": response})),
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

/// Feeds `body` to a stream decoder in [`PIECES`]-sized pieces, handing each decoded item
/// to `each` as it comes out, then ends the body: `Err` with the first error item (the
/// decoder's errors are sticky, so nothing follows it).
fn feed_in_pieces<D: ?Sized, T>(
    decoder: &mut D,
    body: &[u8],
    push: fn(&mut D, &[u8]),
    finish: fn(&mut D),
    next: fn(&mut D) -> Option<Result<T, Error>>,
    mut each: impl FnMut(T),
) -> Result<(), Error> {
    let mut drain = |decoder: &mut D| -> Result<(), Error> {
        while let Some(item) = next(decoder) {
            each(item?);
        }
        Ok(())
    };
    let mut rest = body;
    let mut sizes = PIECES.iter().cycle();
    loop {
        drain(decoder)?;
        if rest.is_empty() {
            break;
        }
        let size = sizes.next().copied().unwrap_or(1).min(rest.len());
        let (piece, tail) = rest.split_at(size);
        push(decoder, piece);
        rest = tail;
    }
    finish(decoder);
    drain(decoder)
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
