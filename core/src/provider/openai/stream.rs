//! OpenAI-family streams: `data: {chunk}` events ending with `data: [DONE]`.
//!
//! Rules:
//! - Unnamed events (and `event: message`) carry chunks; `[DONE]` ends the stream.
//! - `event: error` (Groq) and a chunk holding a non-null `error` object (OpenAI, OpenRouter)
//!   are in-stream errors, classified like the same error as an HTTP status. OpenRouter puts
//!   its mid-stream errors on an ordinary chunk, with `choices` and often the final `usage`,
//!   and still ends the body with `[DONE]`: that chunk's deltas and usage are delivered first,
//!   then the error, so the partial completion keeps what was billed.
//! - Events with any other name are skipped: they belong to extensions this decoder does not
//!   translate (they never carry chat chunks).
//! - A delta whose `content` is an array of typed parts (Mistral's reasoning models) is split
//!   like a whole response's: thinking to `reasoning_content`, text to `content`, other parts
//!   to `content_parts` (see [`split_content_parts`]).
//! - A chunk of the plain shape (text deltas, no usage, no extension fields) is read by
//!   `plain_chunk` instead of serde, to the same value with about a quarter fewer
//!   instructions (benches/README.md). Every other chunk goes to serde.
//! - A chunk that is not valid JSON is a `Decode` error quoting it.
//! - The first chunk must carry the family's stream marker (see [`super::response`]): a
//!   stream of anything else is an `UnexpectedResponse` error at its first event, and one
//!   that ends without any chunk, even at `[DONE]`, fails the same way.

use std::collections::VecDeque;

use http::HeaderMap;
use serde_json::Value;

use super::error::error_from_value;
use super::plain_chunk;
use super::response::{normalize_delta, split_content_parts, STREAM_EVENT};
use crate::error::Error;
use crate::framing::SseEvent;
use crate::provider::shape::{Marker, StreamShape};
use crate::provider::{SseEventHandler, StreamFlow};
use crate::types::ChatCompletionChunk;

#[derive(Debug, Default)]
pub(super) struct OpenAiEvents {
    shape: StreamShape,
}

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
        self.shape.check(&STREAM_EVENT, data.as_bytes())?;
        // The plain shape is read without serde (see `plain_chunk`); the rest with it. Parsed
        // straight into the queue and fixed up there: the chunk is 400 bytes, and every move
        // of it through a local is a copy.
        if let Some(chunk) = plain_chunk::read(data) {
            // The reader's rule: what it reads, serde reads the same. Checked here so every
            // debug-build test and fuzz target that streams tests it.
            debug_assert_eq!(
                Some(&chunk),
                serde_json::from_str::<ChatCompletionChunk>(data)
                    .ok()
                    .as_ref(),
                "the plain-chunk reader and serde disagree on {data}"
            );
            out.push_back(chunk);
        } else {
            match serde_json::from_str::<ChatCompletionChunk>(data) {
                Ok(chunk) => out.push_back(chunk),
                Err(e) => out.push_back(
                    chunk_with_content_parts(data)
                        .ok_or_else(|| Error::decode("stream chunk", e, data.as_bytes()))?,
                ),
            }
        }
        let Some(chunk) = out.back_mut() else {
            return Ok(StreamFlow::Continue);
        };
        for choice in &mut chunk.choices {
            normalize_delta(&mut choice.delta);
        }
        if chunk.extra.get("error").is_some_and(|e| !e.is_null()) {
            // The error is reported on its own; the chunk keeps only what it delivers.
            chunk.extra.remove("error");
            if chunk.choices.is_empty() && chunk.usage.is_none() {
                out.pop_back();
            }
            return Err(in_stream_error(data));
        }
        Ok(StreamFlow::Continue)
    }

    fn terminal_marker(&self) -> &'static str {
        "data: [DONE]"
    }

    fn stream_marker(&self) -> &'static Marker {
        &STREAM_EVENT
    }

    fn shape_proven(&self) -> bool {
        self.shape.is_proven()
    }
}

/// Parses a chunk whose deltas carry `content` as typed parts, after splitting the parts into
/// `content`, `reasoning_content` and `content_parts`. `None` when `data` is not such a chunk
/// (the caller then reports the typed parser's error). Only reached when the typed parse
/// failed, so ordinary chunks are parsed once.
fn chunk_with_content_parts(data: &str) -> Option<ChatCompletionChunk> {
    let mut value: Value = serde_json::from_str(data).ok()?;
    let mut rewrote = false;
    for choice in value.get_mut("choices")?.as_array_mut()? {
        let Some(delta) = choice.get_mut("delta").and_then(Value::as_object_mut) else {
            continue;
        };
        let split = match delta.get("content") {
            Some(Value::Array(parts)) => split_content_parts(parts),
            _ => continue,
        };
        delta.remove("content");
        if let Some(text) = split.text {
            delta.insert("content".to_owned(), Value::String(text));
        }
        if let Some(thinking) = split.thinking {
            let mut reasoning = delta
                .get("reasoning_content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            reasoning.push_str(&thinking);
            delta.insert("reasoning_content".to_owned(), Value::String(reasoning));
        }
        if !split.other.is_empty() {
            delta.insert("content_parts".to_owned(), Value::Array(split.other));
        }
        rewrote = true;
    }
    if !rewrote {
        return None;
    }
    serde_json::from_value(value).ok()
}

fn in_stream_error(data: &str) -> Error {
    match serde_json::from_str::<Value>(data) {
        Ok(value) => error_from_value(None, &HeaderMap::new(), &value, data.as_bytes()),
        Err(_) => Error::from_http(None, &HeaderMap::new(), None, None, data.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{ChatStreamDecoder, SseChatStream};
    use crate::ErrorKind;

    fn decode(body: &str) -> (Vec<Result<ChatCompletionChunk, Error>>, bool) {
        let mut decoder = SseChatStream::new(OpenAiEvents::default(), None);
        decoder.push(body.as_bytes());
        decoder.finish();
        let items = std::iter::from_fn(|| decoder.next_chunk()).collect();
        (items, decoder.is_complete())
    }

    #[test]
    fn openrouter_error_on_a_chunk_with_choices_is_an_error_after_its_deltas() {
        // The shape of OpenRouter's mid-stream error (recorded: max_tokens reached on a free
        // model): an ordinary chunk with choices and usage, plus `error`, then `[DONE]`.
        let body = concat!(
            ": OPENROUTER PROCESSING\n\n",
            "data: {\"id\":\"gen-1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"gen-1\",\"error\":{\"code\":400,\"message\":\"Token limit reached\"},",
            "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":null}],",
            "\"usage\":{\"prompt_tokens\":43,\"completion_tokens\":10,\"total_tokens\":53}}\n\n",
            "data: [DONE]\n\n",
        );
        let (items, complete) = decode(body);
        assert!(!complete);
        assert_eq!(items.len(), 3, "{items:?}");
        let last_chunk = items[1].as_ref().unwrap();
        assert_eq!(last_chunk.usage.as_ref().unwrap().total_tokens, 53);
        assert!(!last_chunk.extra.contains_key("error"));
        let error = items[2].as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
        assert_eq!(error.status(), Some(400));
        assert!(error.message().contains("Token limit reached"));
    }

    #[test]
    fn mistral_thinking_parts_in_deltas() {
        // Shaped like a recorded magistral-medium stream (pydantic-ai cassette), shortened.
        let body = concat!(
            "data: {\"id\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":[{\"type\":\"thinking\",\"thinking\":[{\"type\":\"text\",\"text\":\"Okay\"}]}]},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":[{\"type\":\"thinking\",\"thinking\":[{\"type\":\"text\",\"text\":\", the\"}]}]},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":[{\"type\":\"text\",\"text\":\"Use a \"}]},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"bridge.\"},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n",
        );
        let (items, complete) = decode(body);
        assert!(complete);
        let mut acc = crate::ChunkAccumulator::new();
        for item in &items {
            acc.push(item.as_ref().unwrap());
        }
        let done = acc.completion();
        assert_eq!(done.text(), "Use a bridge.");
        assert_eq!(
            done.message().unwrap().reasoning_content.as_deref(),
            Some("Okay, the")
        );
        // A delta that is malformed in another way is still a Decode error.
        let (items, _) = decode("data: {\"choices\":[{\"delta\":{\"content\":7}}]}\n\n");
        assert_eq!(items[0].as_ref().unwrap_err().kind(), ErrorKind::Decode);
    }

    #[test]
    fn a_stream_without_any_chunk_is_not_an_empty_success() {
        // `[DONE]` alone, even after more keep-alive comments than the quoted head holds.
        let comments = ": keep-alive\n\n".repeat(100);
        for body in [
            "data: [DONE]\n\n".to_owned(),
            format!("{comments}data: [DONE]\n\n"),
        ] {
            let (items, complete) = decode(&body);
            assert!(!complete);
            let error = items[0].as_ref().unwrap_err();
            assert_eq!(error.kind(), ErrorKind::UnexpectedResponse, "{error}");
        }
        // Only comments, then the end: cut short, not another server.
        let (items, _) = decode(&comments);
        assert_eq!(items[0].as_ref().unwrap_err().kind(), ErrorKind::Truncated);
        // Another family's named events, skipped by rule: no chunk of the family arrives.
        let (items, _) = decode("event: message_start\ndata: {\"type\":\"message_start\"}\n\n");
        assert_eq!(items.len(), 1);
        let error = items[0].as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnexpectedResponse);
        // A usage-only chunk with empty `choices` is the family's.
        let (items, complete) = decode(
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":0,\"total_tokens\":1}}\n\ndata: [DONE]\n\n",
        );
        assert!(complete);
        assert!(items.iter().all(Result::is_ok));
    }

    #[test]
    fn error_chunk_without_choices_and_null_error_field() {
        let (items, _) = decode(
            "data: {\"error\":{\"message\":\"Rate limit\",\"type\":\"rate_limit_exceeded\"}}\n\n",
        );
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].as_ref().unwrap_err().kind(), ErrorKind::RateLimit);
        let (items, complete) =
            decode("data: {\"error\":null,\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: [DONE]\n\n");
        assert!(complete);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].as_ref().unwrap().text(), Some("a"));
    }
}
