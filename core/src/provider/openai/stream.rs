//! OpenAI-family streams: `data: {chunk}` events ending with `data: [DONE]`.
//!
//! Rules:
//! - Unnamed events (and `event: message`) carry chunks; `[DONE]` ends the stream.
//! - `event: error` (Groq) and a chunk holding an `error` object and no choices (OpenAI,
//!   OpenRouter) are in-stream errors, classified like the same error as an HTTP status.
//! - Events with any other name are skipped: they belong to extensions this decoder does not
//!   translate (they never carry chat chunks).
//! - A chunk that is not valid JSON is a `Decode` error quoting it.

use std::collections::VecDeque;

use http::HeaderMap;
use serde_json::Value;

use super::error::error_from_value;
use super::response::normalize_delta;
use crate::error::Error;
use crate::framing::SseEvent;
use crate::provider::{SseEventHandler, StreamFlow};
use crate::types::ChatCompletionChunk;

#[derive(Debug, Default)]
pub(super) struct OpenAiEvents;

impl SseEventHandler for OpenAiEvents {
    fn on_event(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<StreamFlow, Error> {
        let data = event.data.trim();
        match event.event.as_deref() {
            None | Some("message") => {}
            Some("error") => return Err(in_stream_error(data)),
            Some(_) => return Ok(StreamFlow::Continue),
        }
        if data == "[DONE]" {
            return Ok(StreamFlow::Done);
        }
        let mut chunk: ChatCompletionChunk = serde_json::from_str(data)
            .map_err(|e| Error::decode("stream chunk", e, data.as_bytes()))?;
        if chunk.choices.is_empty() && chunk.extra.get("error").is_some_and(|e| !e.is_null()) {
            return Err(in_stream_error(data));
        }
        for choice in &mut chunk.choices {
            normalize_delta(&mut choice.delta);
        }
        out.push_back(chunk);
        Ok(StreamFlow::Continue)
    }

    fn terminal_marker(&self) -> &'static str {
        "data: [DONE]"
    }
}

fn in_stream_error(data: &str) -> Error {
    match serde_json::from_str::<Value>(data) {
        Ok(value) => error_from_value(None, &HeaderMap::new(), &value, data.as_bytes()),
        Err(_) => Error::from_http(None, &HeaderMap::new(), None, None, data.as_bytes()),
    }
}
