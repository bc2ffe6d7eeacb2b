//! `streamGenerateContent?alt=sse`: each SSE event's data is a whole `GenerateContentResponse`
//! holding the next piece of each candidate.
//!
//! Rules:
//! - Every event is read like a whole reply ([`super::response`]): text → `content`, thoughts
//!   → `reasoning_content`, each `functionCall` arrives whole and becomes one tool-call delta
//!   (index = its ordinal in its candidate, id, name and all its arguments), signatures go to
//!   the same fields as in a whole reply. The first chunk of each candidate carries
//!   `role: assistant`.
//! - `usageMetadata` arrives on every event as running totals: each chunk carries it as
//!   `usage`, so the last one wins when the chunks are folded.
//! - Code execution parts become whole `server_tool_calls` entries (see [`super::response`]):
//!   an `executableCode` is held until the `codeExecutionResult` that follows it arrives
//!   (usually in the next event), then sent with it; one still without a result when the body
//!   ends is sent then, with `output: null`. So the folded stream lists what the whole reply
//!   does.
//! - Several rounds: with code execution or search grounding, an event can carry a
//!   `finishReason` while later events still bring text, code results and usage. Nothing
//!   ends at a `finishReason`: every event up to the end of the body is decoded and
//!   delivered, and since each chunk carries its own finish reason and usage, the last ones
//!   seen win when the chunks are folded. The stream is complete when the body ends after
//!   every candidate seen has had a `finishReason` at some point (Gemini's only end marker:
//!   there is no `[DONE]`); a body that ends before that is `Truncated`. So
//!   [`is_complete`](crate::ChatStreamDecoder::is_complete) turns true only at `finish()`,
//!   and a caller that stops at it has read everything.
//! - Events are separated by CRLF CRLF; the SSE decoder takes every line ending. Event names
//!   are not used by Gemini and are ignored; an empty data field is skipped.
//! - Errors: an event whose data is a Google error object, and a body (or the rest of one,
//!   after some events) that is plain JSON rather than SSE — `{"error": …}` or
//!   `[{"error": …}]` sent under `text/event-stream`, which the API does when it fails before
//!   or while streaming — are typed errors classified like the same error as an HTTP
//!   status. Raw JSON is recognised by a line that starts with `{` or `[`, which no SSE field
//!   line does; it is read (up to [`MAX_RAW_JSON`] bytes) to the end of the body. Since a
//!   `finishReason` no longer ends the stream, such an error after one is still the stream's
//!   error: later rounds were lost.
//! - A prompt blocked by `promptFeedback.blockReason` is a `ContentFilter` error.
//! - The first event must carry the family's stream marker (see [`super::response`]), and
//!   plain JSON that is neither an error nor Gemini's reply is not Gemini's: both are
//!   `UnexpectedResponse` errors.

use std::collections::{BTreeMap, VecDeque};

use http::HeaderMap;
use serde_json::Value;

use super::error::error_from_value;
use super::response::{
    candidate_index, finish_reason, read_candidate, GenerateResponse, STREAM_EVENT,
    THOUGHT_SIGNATURES,
};
use crate::error::Error;
use crate::framing::SseEvent;
use crate::provider::server_tools::ServerToolCalls;
use crate::provider::shape::{Marker, StreamShape};
use crate::provider::{ChatStreamDecoder, SseChatStream, SseEventHandler, StreamFlow};
use crate::settings::ApiKey;
use crate::types::{
    ChatCompletionChunk, ChunkChoice, Delta, Extra, FunctionCallDelta, Role, ToolCallDelta,
};

/// The most bytes of a plain-JSON error body kept.
pub(super) const MAX_RAW_JSON: usize = 1024 * 1024;
/// The most candidates tracked (Gemini allows up to 8 per request).
const MAX_CANDIDATES: usize = 64;

/// Per-candidate progress.
#[derive(Debug, Default)]
struct CandidateState {
    calls: usize,
    finished: bool,
    /// Code execution waiting for its result.
    server: ServerToolCalls,
}

/// Turns Gemini SSE events into chunks.
#[derive(Debug, Default)]
pub(super) struct GeminiEvents {
    shape: StreamShape,
    candidates: BTreeMap<u32, CandidateState>,
    /// The last response id and model seen, for the chunk sent at the end of the body.
    id: String,
    model: String,
}

impl SseEventHandler for GeminiEvents {
    fn on_event(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<StreamFlow, Error> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(StreamFlow::Continue);
        }
        self.shape.check(&STREAM_EVENT, data.as_bytes())?;
        let response = GenerateResponse::from_slice("stream event", data.as_bytes(), None)?;
        let response_id = response.response_id.clone().unwrap_or_default();
        response_id.clone_into(&mut self.id);
        response
            .model_version
            .as_deref()
            .unwrap_or_default()
            .clone_into(&mut self.model);
        let mut chunk = ChatCompletionChunk::new(
            response_id.as_str(),
            response.model_version.as_deref().unwrap_or_default(),
            0,
        );
        for (position, raw) in response.candidates.iter().enumerate() {
            let index = candidate_index(raw, position)?;
            let first = !self.candidates.contains_key(&index);
            if first && self.candidates.len() >= MAX_CANDIDATES {
                return Err(Error::decode(
                    "stream event",
                    "too many candidates",
                    data.as_bytes(),
                ));
            }
            let state = self.candidates.entry(index).or_default();
            let parts =
                read_candidate(raw, position, &response_id, state.calls, &mut state.server)?;
            let server_tool_calls = state.server.take_ready();
            let called_before = state.calls > 0;
            let mut delta = Delta {
                role: first.then_some(Role::Assistant),
                content: parts.text,
                reasoning_content: parts.reasoning,
                server_tool_calls: (!server_tool_calls.is_empty()).then_some(server_tool_calls),
                ..Delta::default()
            };
            if !parts.calls.is_empty() {
                let deltas = parts
                    .calls
                    .into_iter()
                    .enumerate()
                    .map(|(n, call)| ToolCallDelta {
                        index: u32::try_from(state.calls + n).ok(),
                        id: Some(call.id),
                        kind: Some("function".to_owned()),
                        function: Some(FunctionCallDelta {
                            name: Some(call.function.name),
                            arguments: Some(call.function.arguments),
                        }),
                        extra: call.extra,
                    })
                    .collect::<Vec<_>>();
                state.calls += deltas.len();
                delta.tool_calls = Some(deltas);
            }
            if !parts.signatures.is_empty() {
                let mut extra = Extra::new();
                extra.insert(
                    THOUGHT_SIGNATURES.to_owned(),
                    Value::Array(parts.signatures),
                );
                delta.extra = extra;
            }
            let finish = parts.finish_reason.as_deref().map(|reason| {
                state.finished = true;
                finish_reason(reason, called_before || state.calls > 0)
            });
            chunk.choices.push(ChunkChoice {
                index: parts.index,
                delta,
                finish_reason: finish,
                logprobs: None,
                extra: Extra::new(),
            });
        }
        chunk.usage = response
            .usage_metadata
            .as_ref()
            .map(super::response::UsageMetadata::to_usage);
        if !chunk.choices.is_empty() || chunk.usage.is_some() {
            out.push_back(chunk);
        }
        // Never `Done`: a later round may follow a finishReason (see the module rules).
        Ok(StreamFlow::Continue)
    }

    fn terminal_marker(&self) -> &'static str {
        "a finishReason"
    }

    fn complete_at_eof(&self) -> bool {
        !self.candidates.is_empty() && self.candidates.values().all(|c| c.finished)
    }

    fn at_eof(&mut self, out: &mut VecDeque<ChatCompletionChunk>) -> Result<(), Error> {
        let mut chunk = ChatCompletionChunk::new(self.id.as_str(), self.model.as_str(), 0);
        for (index, state) in &mut self.candidates {
            let waiting = state.server.take_all();
            if !waiting.is_empty() {
                chunk = chunk.with_delta(*index, Delta::server_tool_calls(waiting));
            }
        }
        if !chunk.choices.is_empty() {
            out.push_back(chunk);
        }
        Ok(())
    }

    fn stream_marker(&self) -> &'static Marker {
        &STREAM_EVENT
    }

    fn shape_proven(&self) -> bool {
        self.shape.is_proven()
    }
}

/// The Gemini stream decoder: SSE through [`SseChatStream`], with plain-JSON error bodies
/// recognised on the way in (see the module rules).
#[derive(Debug)]
pub(super) struct GeminiStream {
    sse: SseChatStream<GeminiEvents>,
    api_key: Option<ApiKey>,
    /// The next byte starts a line.
    line_start: bool,
    /// Plain JSON seen where SSE was expected, kept to the end of the body.
    raw: Option<Vec<u8>>,
    /// The error the raw JSON means, once the body ended.
    raw_error: Option<Error>,
    sse_failed: bool,
    finished: bool,
    failed: bool,
}

impl GeminiStream {
    pub(super) fn new(api_key: Option<ApiKey>) -> Self {
        GeminiStream {
            sse: SseChatStream::new(GeminiEvents::default(), api_key.clone()),
            api_key,
            line_start: true,
            raw: None,
            raw_error: None,
            sse_failed: false,
            finished: false,
            failed: false,
        }
    }

    fn raw_json_error(raw: &[u8]) -> Error {
        match serde_json::from_slice::<Value>(raw) {
            Ok(value) if super::error::is_error_value(&value) => {
                error_from_value(None, &HeaderMap::new(), &value, raw)
            }
            // Gemini's reply, or a JSON array of them (the stream without `alt=sse`): the
            // wrong framing of the right family.
            Ok(value) if is_gemini_json(&value) => {
                Error::decode("stream body", "Gemini JSON instead of SSE", raw)
            }
            Ok(_) => STREAM_EVENT.missing(raw),
            Err(e) => {
                // Several JSON values (another family's NDJSON stream), or one cut short:
                // judged by the first.
                let first = serde_json::Deserializer::from_slice(raw)
                    .into_iter::<Value>()
                    .next();
                match first {
                    Some(Ok(value))
                        if !super::error::is_error_value(&value) && !is_gemini_json(&value) =>
                    {
                        STREAM_EVENT.missing(raw)
                    }
                    _ => Error::body_json("stream body", e, raw),
                }
            }
        }
    }
}

/// Whether plain JSON is a Gemini reply or an array of them.
fn is_gemini_json(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.first().is_some_and(|i| STREAM_EVENT.is_carried_by(i)),
        other => STREAM_EVENT.is_carried_by(other),
    }
}

impl ChatStreamDecoder for GeminiStream {
    fn push(&mut self, bytes: &[u8]) {
        if self.finished || self.failed {
            return;
        }
        if let Some(raw) = &mut self.raw {
            if raw.len().saturating_add(bytes.len()) > MAX_RAW_JSON {
                self.raw = None;
                self.raw_error = Some(Error::decode(
                    "stream body",
                    format!("plain JSON body over {MAX_RAW_JSON} bytes"),
                    bytes,
                ));
                self.finished = true;
            } else {
                raw.extend_from_slice(bytes);
            }
            return;
        }
        let mut start_of_json = None;
        for (at, byte) in bytes.iter().enumerate() {
            if self.line_start && matches!(byte, b'{' | b'[') {
                start_of_json = Some(at);
                break;
            }
            self.line_start = matches!(byte, b'\n' | b'\r');
        }
        match start_of_json {
            Some(at) => {
                let (sse, json) = bytes.split_at(at);
                self.sse.push(sse);
                self.raw = Some(json.to_vec());
            }
            None => self.sse.push(bytes),
        }
    }

    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        match self.raw.take() {
            // The raw JSON ends the body, and is its error even after a finishReason:
            // another round could have followed.
            Some(raw) => self.raw_error = Some(Self::raw_json_error(&raw)),
            None => self.sse.finish(),
        }
    }

    fn next_chunk(&mut self) -> Option<Result<ChatCompletionChunk, Error>> {
        if self.failed {
            return None;
        }
        if !self.sse_failed {
            match self.sse.next_chunk() {
                Some(Ok(chunk)) => return Some(Ok(chunk)),
                Some(Err(error)) => {
                    self.sse_failed = true;
                    self.failed = true;
                    return Some(Err(error));
                }
                None => {}
            }
        }
        let error = self.raw_error.take()?;
        self.failed = true;
        Some(Err(error.without_key(self.api_key.as_ref())))
    }

    fn is_complete(&self) -> bool {
        self.sse.is_complete()
    }
}

#[cfg(test)]
mod tests {
    use super::super::response::THOUGHT_SIGNATURE;
    use super::*;
    use crate::error::ErrorKind;
    use crate::provider::stream_tests::decode_in_pieces;
    use crate::types::FinishReason;
    use crate::ChunkAccumulator;

    fn decode_in(body: &[u8], size: usize) -> (Vec<Result<ChatCompletionChunk, Error>>, bool) {
        let decoder = GeminiStream::new(Some(ApiKey::new("AIzaSecretKey123")));
        decode_in_pieces(decoder, body, size)
    }

    fn decode(body: &[u8]) -> (Vec<Result<ChatCompletionChunk, Error>>, bool) {
        let whole = decode_in(body, body.len());
        for size in [1, 2, 3, 7, 64] {
            let split = decode_in(body, size);
            assert_eq!(split.0, whole.0, "split {size}");
            assert_eq!(split.1, whole.1, "split {size}");
        }
        whole
    }

    fn fold(items: &[Result<ChatCompletionChunk, Error>]) -> crate::ChatCompletion {
        let mut accumulator = ChunkAccumulator::new();
        for item in items.iter().filter_map(|item| item.as_ref().ok()) {
            accumulator.push(item);
        }
        accumulator.completion()
    }

    const TEXT_STREAM: &str = concat!(
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The\"}],\"role\": \"model\"}}],\"usageMetadata\": {\"promptTokenCount\": 15,\"totalTokenCount\": 15},\"modelVersion\": \"gemini-2.0-flash-exp\",\"responseId\": \"w1pe\"}\r\n\r\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" capital\", \"thoughtSignature\": \"s1\"}],\"role\": \"model\"},\"finishReason\": \"STOP\"}],\"usageMetadata\": {\"promptTokenCount\": 13,\"candidatesTokenCount\": 8,\"totalTokenCount\": 21},\"modelVersion\": \"gemini-2.0-flash-exp\",\"responseId\": \"w1pe\"}\r\n\r\n",
    );

    #[test]
    fn crlf_text_stream_folds_to_the_whole_reply() {
        let (items, complete) = decode(TEXT_STREAM.as_bytes());
        assert!(complete);
        assert_eq!(items.len(), 2);
        let first = items[0].as_ref().unwrap();
        assert_eq!(first.choices[0].delta.role, Some(Role::Assistant));
        assert_eq!(first.id, "w1pe");
        let done = fold(&items);
        assert_eq!(done.text(), "The capital");
        assert_eq!(done.choices[0].finish_reason, Some(FinishReason::Stop));
        assert_eq!(done.usage.as_ref().unwrap().total_tokens, 21);
        assert_eq!(
            done.choices[0].message.extra[THOUGHT_SIGNATURES],
            serde_json::json!(["s1"])
        );
        // Cut before the finishReason: truncated.
        let cut = &TEXT_STREAM[..TEXT_STREAM
            .find("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" capital")
            .unwrap()];
        let (items, complete) = decode(cut.as_bytes());
        assert!(!complete);
        assert_eq!(
            items.last().unwrap().as_ref().unwrap_err().kind(),
            ErrorKind::Truncated
        );
    }

    /// Two rounds in one stream: the first event ends with `finishReason: STOP` while the
    /// code's result, the answer and the final usage still follow. Event shapes are those of
    /// the recorded code-execution stream in the shared corpus
    /// (`gemini/pydantic-ai/test_code_execution/_bodies/test_code_execution_stream.0.sse`:
    /// `executableCode {language, code, id}`, then `codeExecutionResult {outcome, output,
    /// id}` in the next event); the early `finishReason` is what Gemini does on such rounds
    /// (songquanpeng/one-api#1477, MartialBE/one-hub#402: a `STOP` on events that are not the
    /// last; Chevey339/kelivo#1003: text arriving after a `STOP`).
    const ROUNDS: &str = concat!(
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Let me compute.\"},{\"executableCode\": {\"language\": \"PYTHON\",\"code\": \"print(6*7)\",\"id\": \"c1\"},\"thoughtSignature\": \"sigCode\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 10,\"candidatesTokenCount\": 5,\"totalTokenCount\": 15},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"r2\"}\r\n\r\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"codeExecutionResult\": {\"outcome\": \"OUTCOME_OK\",\"output\": \"42\\n\",\"id\": \"c1\"}}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 10,\"totalTokenCount\": 10},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"r2\"}\r\n\r\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" The answer is \"}],\"role\": \"model\"},\"index\": 0}],\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"r2\"}\r\n\r\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"42.\"}],\"role\": \"model\"},\"finishReason\": \"MAX_TOKENS\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 30,\"candidatesTokenCount\": 12,\"toolUsePromptTokenCount\": 8,\"totalTokenCount\": 50},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"r2\"}\r\n\r\n",
    );

    #[test]
    fn rounds_after_a_finish_are_kept_to_the_end_of_the_body() {
        let body = ROUNDS.as_bytes();
        let check = |items: &[Result<ChatCompletionChunk, Error>], complete: bool| {
            assert!(complete);
            let done = fold(items);
            assert_eq!(done.text(), "Let me compute. The answer is 42.");
            let choice = &done.choices[0];
            assert_eq!(
                choice.finish_reason,
                Some(FinishReason::Length),
                "the last one"
            );
            assert_eq!(
                done.usage.as_ref().unwrap().total_tokens,
                50,
                "the last one"
            );
            assert_eq!(done.usage.as_ref().unwrap().prompt_tokens, 38);
            let calls = choice.message.server_tool_calls.as_ref().unwrap();
            assert_eq!(calls.len(), 1);
            assert_eq!(calls[0].id.as_deref(), Some("c1"));
            assert_eq!(calls[0].name, "code_execution");
            assert_eq!(
                calls[0].input,
                Some(serde_json::json!({"language": "PYTHON", "code": "print(6*7)", "id": "c1"}))
            );
            assert_eq!(
                calls[0].output,
                Some(serde_json::json!({"outcome": "OUTCOME_OK", "output": "42\n", "id": "c1"}))
            );
            assert_eq!(calls[0].extra[THOUGHT_SIGNATURE], "sigCode");
            assert!(choice.message.tool_calls.is_none());
            assert!(!choice.message.extra.contains_key(THOUGHT_SIGNATURES));
        };
        let (items, complete) = decode(body);
        check(&items, complete);
        // Cut in two at every byte.
        for at in 0..=body.len() {
            let mut decoder = GeminiStream::new(None);
            let mut items = Vec::new();
            for piece in [&body[..at], &body[at..]] {
                decoder.push(piece);
                items.extend(std::iter::from_fn(|| decoder.next_chunk()));
            }
            assert!(
                !decoder.is_complete(),
                "complete only at the end of the body"
            );
            decoder.finish();
            items.extend(std::iter::from_fn(|| decoder.next_chunk()));
            check(&items, decoder.is_complete());
        }
        // The whole reply of the same rounds says the same.
        let whole = super::super::response::parse_chat(
            br#"{"candidates": [{"content": {"parts": [{"text": "Let me compute."},
              {"executableCode": {"language": "PYTHON", "code": "print(6*7)", "id": "c1"}, "thoughtSignature": "sigCode"},
              {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "42\n", "id": "c1"}},
              {"text": " The answer is "}, {"text": "42."}], "role": "model"},
              "finishReason": "MAX_TOKENS", "index": 0}],
              "usageMetadata": {"promptTokenCount": 30, "candidatesTokenCount": 12, "toolUsePromptTokenCount": 8, "totalTokenCount": 50},
              "modelVersion": "gemini-2.5-flash", "responseId": "r2"}"#,
        )
        .unwrap();
        assert_eq!(whole.choices, fold(&decode(body).0).choices);
    }

    #[test]
    fn a_body_that_ends_after_a_finish_is_complete_and_keeps_a_call_without_result() {
        let first = &ROUNDS[..ROUNDS.find("\r\n\r\n").unwrap() + 4];
        let (items, complete) = decode(first.as_bytes());
        assert!(complete, "a finishReason was seen");
        let done = fold(&items);
        assert_eq!(done.text(), "Let me compute.");
        assert_eq!(done.choices[0].finish_reason, Some(FinishReason::Stop));
        let calls = done.choices[0].message.server_tool_calls.as_ref().unwrap();
        assert_eq!(calls[0].output, None, "sent at the end of the body");
        // A round cut before any finishReason is still truncated, its call still delivered.
        let unfinished = first.replacen(",\"finishReason\": \"STOP\"", "", 1);
        let (items, complete) = decode(unfinished.as_bytes());
        assert!(!complete);
        assert_eq!(
            items.last().unwrap().as_ref().unwrap_err().kind(),
            ErrorKind::Truncated
        );
        let partial = fold(&items[..items.len() - 1]);
        assert_eq!(
            partial.choices[0]
                .message
                .server_tool_calls
                .as_ref()
                .unwrap()
                .len(),
            1
        );
        // An error body after a finishReason is the stream's error: later rounds were lost.
        let mut failed = first.as_bytes().to_vec();
        failed.extend_from_slice(b"{\"error\": {\"code\": 503, \"message\": \"overloaded\", \"status\": \"UNAVAILABLE\"}}\n");
        let (items, complete) = decode(&failed);
        assert!(!complete);
        assert_eq!(
            items.last().unwrap().as_ref().unwrap_err().kind(),
            ErrorKind::ServiceUnavailable
        );
    }

    #[test]
    fn function_calls_across_chunks_keep_their_ordinals() {
        let body = concat!(
            "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"a\",\"args\": {\"x\": 1}},\"thoughtSignature\": \"sig\"}],\"role\": \"model\"}}],\"responseId\": \"r\"}\r\n\r\n",
            "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"b\"}}],\"role\": \"model\"}}],\"responseId\": \"r\"}\r\n\r\n",
            "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\"}],\"role\": \"model\"},\"finishReason\": \"STOP\"}],\"responseId\": \"r\"}\r\n\r\n",
        );
        let (items, complete) = decode(body.as_bytes());
        assert!(complete);
        let done = fold(&items);
        let message = done.message().unwrap();
        assert_eq!(message.content, None);
        let calls = message.tool_calls.as_ref().unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].id, "call_gemini_r_0_0");
        assert_eq!(calls[0].extra["thought_signature"], "sig");
        assert_eq!(calls[1].id, "call_gemini_r_0_1");
        assert_eq!(calls[1].function.arguments, "{}");
        assert_eq!(done.choices[0].finish_reason, Some(FinishReason::ToolCalls));
    }

    #[test]
    fn plain_json_error_under_event_stream() {
        let body = b"[{\n  \"error\": {\n    \"code\": 429,\n    \"message\": \"Resource exhausted for AIzaSecretKey123\",\n    \"status\": \"RESOURCE_EXHAUSTED\"\n  }\n}\n]";
        let (items, complete) = decode(body);
        assert!(!complete);
        assert_eq!(items.len(), 1);
        let error = items[0].as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::RateLimit);
        assert!(!error.message().contains("AIzaSecretKey123"));

        // After some events: the chunks so far, then the error.
        let mut mid = TEXT_STREAM.as_bytes()[..TEXT_STREAM.find("\r\n\r\n").unwrap() + 4].to_vec();
        mid.extend_from_slice(b"{\"error\": {\"code\": 503, \"message\": \"overloaded\", \"status\": \"UNAVAILABLE\"}}\n");
        let (items, complete) = decode(&mid);
        assert!(!complete);
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(
            items[1].as_ref().unwrap_err().kind(),
            ErrorKind::ServiceUnavailable
        );

        let (items, _) = decode(b"{\"candidates\": []}");
        assert_eq!(items[0].as_ref().unwrap_err().kind(), ErrorKind::Decode);
        let (items, _) = decode(b"{\"error\": ");
        assert_eq!(items[0].as_ref().unwrap_err().kind(), ErrorKind::Truncated);
    }

    #[test]
    fn error_and_blocked_events() {
        let (items, complete) = decode(b"data: {\"error\": {\"code\": 500, \"message\": \"Internal\", \"status\": \"INTERNAL\"}}\r\n\r\n");
        assert!(!complete);
        assert_eq!(
            items[0].as_ref().unwrap_err().kind(),
            ErrorKind::ServiceUnavailable
        );
        let (items, _) =
            decode(b"data: {\"promptFeedback\": {\"blockReason\": \"SAFETY\"}}\r\n\r\n");
        assert_eq!(
            items[0].as_ref().unwrap_err().kind(),
            ErrorKind::ContentFilter
        );
        let (items, _) = decode(b"data: {not json}\r\n\r\n");
        assert_eq!(items[0].as_ref().unwrap_err().kind(), ErrorKind::Decode);
        assert_eq!(items.len(), 1);
    }

    #[test]
    fn raw_json_is_bounded() {
        let mut decoder = GeminiStream::new(None);
        decoder.push(b"{\"error\": \"");
        decoder.push(&vec![b'a'; MAX_RAW_JSON]);
        decoder.push(b"more");
        decoder.finish();
        let items: Vec<_> = std::iter::from_fn(|| decoder.next_chunk()).collect();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].as_ref().unwrap_err().kind(), ErrorKind::Decode);
    }
}
