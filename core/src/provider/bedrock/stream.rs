//! ConverseStream: AWS event stream messages (see [`crate::framing::EventStreamDecoder`]),
//! each an event named by its `:event-type` header with a JSON payload (which may carry a
//! `"p"` padding field, ignored).
//!
//! Rules:
//! - `messageStart` yields a chunk with `delta.role = assistant`.
//! - `contentBlockStart` with `start.toolUse` opens a tool call and yields its first fragment
//!   (id, name, `arguments: ""`) with `index` = its ordinal among this message's tool calls.
//!   Text and reasoning blocks have no start event: their first delta opens them.
//! - Server tools (see [`super::response`]): a `start.toolUse` of a server tool
//!   (`"type": "server_tool_use"`) joins its `toolUse.input` deltas (up to
//!   [`MAX_BLOCK_BYTES`]) and parses them at its `contentBlockStop`; a `start.toolResult`
//!   (`toolUseId`, `type`, `status`) collects its `toolResult` deltas (arrays of `{json}` /
//!   `{text}` items; consecutive text items joined) into `content`, so at its stop it is the
//!   `toolResult` object a whole reply has. Each `server_tool_calls` entry is sent whole once
//!   its result has arrived and every earlier entry has been sent; the rest before the
//!   finish reason.
//! - `contentBlockDelta`: `text` → `content`; `toolUse.input` → the call's `arguments`;
//!   `reasoningContent.text` → `reasoning_content`, `.signature` remembered,
//!   `.redactedContent` collected; `toolResult` as above; `citation` and delta kinds added
//!   later are skipped (they carry no text, reasoning or tool call). Empty fragments yield
//!   nothing.
//! - `contentBlockStop` of a reasoning block yields the block in `thinking_blocks` (text and
//!   signature, or the redacted data), so the folded stream equals the whole reply; a tool
//!   call that received no argument text yields `{}` (the whole reply's empty `input`).
//! - The `response_format` tool's input is streamed as `content`.
//! - `messageStop` yields the finish reason; `metadata` yields the usage chunk
//!   (`choices: []`). Bedrock sends `metadata` after `messageStop`: the stream is done after
//!   both; a body that ends after `messageStop` without `metadata` is complete too (usage is
//!   optional), one that ends before `messageStop` is `Truncated`.
//! - `:message-type: exception` is an in-stream error classified by its `:exception-type`
//!   (throttling → `RateLimit`, model stream / service unavailable / internal server →
//!   `ServiceUnavailable`, validation → `InvalidRequest`); `:message-type: error` by its
//!   `:error-code`. Other event types are skipped: AWS adds event types to a stream union
//!   without notice, and the SDKs skip unknown ones too.
//! - A message without `:message-type`, malformed JSON in a known event, a delta for a block
//!   of another kind, or content after `messageStop`, is a `Decode` error.
//! - Until a message of a known event type has arrived, a message without `:event-type` is
//!   not Bedrock's: an `UnexpectedResponse` error (see [`super::response`]), as is a body
//!   that is not an eventstream at all or ends without any known event.

use std::collections::{BTreeMap, VecDeque};

use serde_json::Value;

use super::error::stream_exception;
use super::response::{
    finish_reason, is_server_tool, server_call, server_result_id, server_result_name,
    thinking_block, ConverseUsage, STREAM_MESSAGE,
};
use crate::error::Error;
use crate::framing::EventStreamMessage;
use crate::provider::server_tools::ServerToolCalls;
use crate::provider::shape::{Marker, StreamShape};
use crate::provider::{anthropic, EventHandler, StreamFlow};
use crate::types::{
    ChatCompletionChunk, ChunkChoice, Delta, Extra, FunctionCallDelta, Role, ToolCallDelta,
};

/// The most reasoning text, signature or redacted data kept per block (to rebuild
/// `thinking_blocks`), and the most blocks open at once.
const MAX_BLOCK_BYTES: usize = 16 * 1024 * 1024;
const MAX_OPEN_BLOCKS: usize = 64;

#[derive(Debug, Default)]
pub(super) struct BedrockEvents {
    shape: StreamShape,
    blocks: BTreeMap<u64, OpenBlock>,
    /// Caller tool calls started so far.
    tool_calls: u32,
    stopped: bool,
    /// Server-tool calls waiting for their results (or for earlier ones).
    server: ServerToolCalls,
}

#[derive(Debug)]
enum OpenBlock {
    Text,
    ToolUse {
        index: u32,
        sent: bool,
    },
    JsonOutput,
    Reasoning {
        text: String,
        signature: Option<String>,
        redacted: Option<String>,
    },
    /// A server tool's call: its start and its input's JSON text so far.
    ServerCall {
        start: Value,
        input: String,
    },
    /// A server tool's result: its start, `content` growing with the deltas.
    ServerResult {
        result: Value,
        bytes: usize,
    },
    Skipped,
}

fn decode_error(what: &str, cause: impl std::fmt::Display, payload: &[u8]) -> Error {
    Error::decode(what, cause, payload)
}

fn chunk() -> ChatCompletionChunk {
    ChatCompletionChunk::new("", "", 0)
}

fn emit(out: &mut VecDeque<ChatCompletionChunk>, delta: Delta) {
    out.push_back(chunk().with_delta(0, delta));
}

fn grow(slot: &mut String, piece: &str, payload: &[u8]) -> Result<(), Error> {
    if slot.len() + piece.len() > MAX_BLOCK_BYTES {
        return Err(decode_error(
            "contentBlockDelta",
            format!("a reasoning block exceeds {MAX_BLOCK_BYTES} bytes"),
            payload,
        ));
    }
    slot.push_str(piece);
    Ok(())
}

impl BedrockEvents {
    fn open(&mut self, index: u64, block: OpenBlock, payload: &[u8]) -> Result<(), Error> {
        if self.blocks.len() >= MAX_OPEN_BLOCKS && !self.blocks.contains_key(&index) {
            return Err(decode_error(
                "contentBlockStart",
                "too many open blocks",
                payload,
            ));
        }
        self.blocks.insert(index, block);
        Ok(())
    }

    fn block_start(
        &mut self,
        event: &Value,
        payload: &[u8],
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<(), Error> {
        let index = block_index(event, payload)?;
        let start = event.get("start").unwrap_or(&Value::Null);
        if let Some(result) = start.get("toolResult") {
            server_result_id(result)?;
            let mut result = result.clone();
            if let Some(object) = result.as_object_mut() {
                object.insert("content".to_owned(), Value::Array(Vec::new()));
            }
            return self.open(index, OpenBlock::ServerResult { result, bytes: 0 }, payload);
        }
        let Some(tool) = start.get("toolUse") else {
            // Kinds added later.
            return self.open(index, OpenBlock::Skipped, payload);
        };
        if is_server_tool(tool) {
            let start = OpenBlock::ServerCall {
                start: tool.clone(),
                input: String::new(),
            };
            return self.open(index, start, payload);
        }
        let text = |field: &str| {
            tool.get(field)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    decode_error(
                        "contentBlockStart",
                        format!("toolUse without {field}"),
                        payload,
                    )
                })
        };
        let (id, name) = (text("toolUseId")?, text("name")?);
        if anthropic::is_json_tool(&name) {
            return self.open(index, OpenBlock::JsonOutput, payload);
        }
        let position = self.tool_calls;
        self.tool_calls += 1;
        self.open(
            index,
            OpenBlock::ToolUse {
                index: position,
                sent: false,
            },
            payload,
        )?;
        emit(
            out,
            Delta {
                tool_calls: Some(vec![ToolCallDelta {
                    index: Some(position),
                    id: Some(id),
                    kind: Some("function".to_owned()),
                    function: Some(FunctionCallDelta {
                        name: Some(name),
                        arguments: Some(String::new()),
                    }),
                    ..ToolCallDelta::default()
                }]),
                ..Delta::default()
            },
        );
        Ok(())
    }

    fn block_delta(
        &mut self,
        event: &Value,
        payload: &[u8],
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<(), Error> {
        let index = block_index(event, payload)?;
        let delta = event.get("delta").unwrap_or(&Value::Null);
        let mismatch = || {
            decode_error(
                "contentBlockDelta",
                "a delta of another kind than its block",
                payload,
            )
        };
        if let Some(text) = delta.get("text") {
            let text = text.as_str().ok_or_else(|| {
                decode_error("contentBlockDelta", "text is not a string", payload)
            })?;
            match self.blocks.get(&index) {
                None => self.open(index, OpenBlock::Text, payload)?,
                Some(OpenBlock::Text) => {}
                Some(_) => return Err(mismatch()),
            }
            if !text.is_empty() {
                emit(out, Delta::text(text));
            }
        } else if let Some(tool) = delta.get("toolUse") {
            let input = tool
                .get("input")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match self.blocks.get_mut(&index) {
                Some(OpenBlock::ToolUse { index, sent }) => {
                    if !input.is_empty() {
                        *sent = true;
                        emit(out, anthropic::arguments_delta(*index, input.to_owned()));
                    }
                }
                Some(OpenBlock::JsonOutput) => {
                    if !input.is_empty() {
                        emit(out, Delta::text(input));
                    }
                }
                Some(OpenBlock::ServerCall { input: text, .. }) => {
                    grow(text, input, payload)?;
                }
                Some(OpenBlock::Skipped) => {}
                _ => return Err(mismatch()),
            }
        } else if let Some(items) = delta.get("toolResult") {
            let Some(OpenBlock::ServerResult { result, bytes }) = self.blocks.get_mut(&index)
            else {
                return Err(mismatch());
            };
            let Value::Array(items) = items else {
                return Err(decode_error(
                    "contentBlockDelta",
                    "toolResult is not an array",
                    payload,
                ));
            };
            *bytes = bytes.saturating_add(payload.len());
            if *bytes > MAX_BLOCK_BYTES {
                return Err(decode_error(
                    "contentBlockDelta",
                    format!("a toolResult exceeds {MAX_BLOCK_BYTES} bytes"),
                    payload,
                ));
            }
            if let Some(Value::Array(content)) = result.get_mut("content") {
                append_result_items(content, items);
            }
        } else if let Some(reasoning) = delta.get("reasoningContent") {
            if !self.blocks.contains_key(&index) {
                self.open(
                    index,
                    OpenBlock::Reasoning {
                        text: String::new(),
                        signature: None,
                        redacted: None,
                    },
                    payload,
                )?;
            }
            let Some(OpenBlock::Reasoning {
                text,
                signature,
                redacted,
            }) = self.blocks.get_mut(&index)
            else {
                return Err(mismatch());
            };
            let field = |name: &str| reasoning.get(name).and_then(Value::as_str);
            if let Some(piece) = field("text") {
                grow(text, piece, payload)?;
                if !piece.is_empty() {
                    emit(out, Delta::reasoning(piece));
                }
            }
            if let Some(piece) = field("signature") {
                grow(signature.get_or_insert_with(String::new), piece, payload)?;
            }
            if let Some(piece) = field("redactedContent") {
                grow(redacted.get_or_insert_with(String::new), piece, payload)?;
            }
        } else if !self.blocks.contains_key(&index) {
            // toolResult, citation, and delta kinds added later: skipped with their block.
            self.open(index, OpenBlock::Skipped, payload)?;
        }
        Ok(())
    }

    fn block_stop(
        &mut self,
        event: &Value,
        payload: &[u8],
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<(), Error> {
        let index = block_index(event, payload)?;
        match self.blocks.remove(&index) {
            Some(OpenBlock::ToolUse { index, sent: false }) => {
                emit(out, anthropic::arguments_delta(index, "{}".to_owned()));
            }
            Some(OpenBlock::Reasoning {
                text,
                signature,
                redacted,
            }) => {
                let block = match redacted {
                    Some(data) => anthropic::redacted_thinking_block(&data),
                    None => thinking_block(&text, signature.as_deref()),
                };
                let mut extra = Extra::new();
                extra.insert(
                    anthropic::THINKING_BLOCKS.to_owned(),
                    Value::Array(vec![block]),
                );
                emit(
                    out,
                    Delta {
                        extra,
                        ..Delta::default()
                    },
                );
            }
            Some(OpenBlock::ServerCall { start, input }) => {
                let call = server_call(&start, &input)?;
                self.server.call(call, payload)?;
                self.emit_server_calls(out, false);
            }
            Some(OpenBlock::ServerResult { result, .. }) => {
                let id = server_result_id(&result)?.to_owned();
                let name = server_result_name(&result).to_owned();
                self.server.result_for(&id, &name, result, payload)?;
                self.emit_server_calls(out, false);
            }
            Some(_) => {}
            None => {
                return Err(decode_error(
                    "contentBlockStop",
                    "stop of a block that was never started",
                    payload,
                ))
            }
        }
        Ok(())
    }
}

impl BedrockEvents {
    /// Sends the server-tool entries that are ready (or, at the end of the message, all).
    fn emit_server_calls(&mut self, out: &mut VecDeque<ChatCompletionChunk>, all: bool) {
        let calls = if all {
            self.server.take_all()
        } else {
            self.server.take_ready()
        };
        if !calls.is_empty() {
            emit(out, Delta::server_tool_calls(calls));
        }
    }
}

/// Appends a `toolResult` delta's items to the result's `content`: a text item continues a
/// text item before it (one text, as a whole reply has it), other items are kept as sent.
fn append_result_items(content: &mut Vec<Value>, items: &[Value]) {
    for item in items {
        let more = item.get("text").and_then(Value::as_str);
        let last = content
            .last_mut()
            .and_then(|last| last.get_mut("text"))
            .and_then(|text| match text {
                Value::String(text) => Some(text),
                _ => None,
            });
        match (more, last) {
            (Some(more), Some(text)) => text.push_str(more),
            _ => content.push(item.clone()),
        }
    }
}

fn block_index(event: &Value, payload: &[u8]) -> Result<u64, Error> {
    event
        .get("contentBlockIndex")
        .and_then(Value::as_u64)
        .ok_or_else(|| decode_error("content block event", "no contentBlockIndex", payload))
}

impl EventHandler<EventStreamMessage> for BedrockEvents {
    fn on_event(
        &mut self,
        message: &EventStreamMessage,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<StreamFlow, Error> {
        let payload = &message.payload[..];
        match message.message_type() {
            Some("event") => {}
            Some("exception") => {
                return Err(stream_exception(
                    message.exception_type().unwrap_or("exception"),
                    payload,
                ))
            }
            Some("error") => {
                let code = message.header_str(":error-code").unwrap_or("error");
                let text = message.header_str(":error-message").unwrap_or_default();
                let body = serde_json::json!({ "message": text }).to_string();
                return Err(stream_exception(code, body.as_bytes()));
            }
            other => {
                return Err(decode_error(
                    "event stream message",
                    format!("unexpected :message-type {other:?}"),
                    payload,
                ))
            }
        }
        let Some(event_type) = message.event_type() else {
            if !self.shape.is_proven() {
                return Err(STREAM_MESSAGE.missing(payload));
            }
            return Err(decode_error(
                "event stream message",
                "no :event-type",
                payload,
            ));
        };
        const KNOWN: [&str; 6] = [
            "messageStart",
            "contentBlockStart",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata",
        ];
        if !KNOWN.contains(&event_type) {
            return Ok(StreamFlow::Continue);
        }
        self.shape.prove();
        let event: Value = crate::provider::from_json(payload)
            .map_err(|e| decode_error(event_type, e, payload))?;
        if self.stopped && event_type != "metadata" {
            return Err(decode_error(
                event_type,
                "an event after messageStop",
                payload,
            ));
        }
        match event_type {
            "messageStart" => emit(
                out,
                Delta {
                    role: Some(Role::Assistant),
                    ..Delta::default()
                },
            ),
            "contentBlockStart" => self.block_start(&event, payload, out)?,
            "contentBlockDelta" => self.block_delta(&event, payload, out)?,
            "contentBlockStop" => self.block_stop(&event, payload, out)?,
            "messageStop" => {
                self.emit_server_calls(out, true);
                let reason = event
                    .get("stopReason")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let mut stop = chunk();
                stop.choices.push(ChunkChoice {
                    index: 0,
                    delta: Delta::default(),
                    finish_reason: Some(finish_reason(reason, self.tool_calls > 0)),
                    logprobs: None,
                    extra: Extra::new(),
                });
                out.push_back(stop);
                self.stopped = true;
            }
            _ => {
                // metadata
                if let Some(usage) = event.get("usage") {
                    let usage: ConverseUsage = serde_json::from_value(usage.clone())
                        .map_err(|e| decode_error("metadata", e, payload))?;
                    let mut chunk = chunk();
                    chunk.usage = Some(usage.to_usage());
                    out.push_back(chunk);
                }
                if self.stopped {
                    return Ok(StreamFlow::Done);
                }
            }
        }
        Ok(StreamFlow::Continue)
    }

    fn terminal_marker(&self) -> &'static str {
        "messageStop"
    }

    fn stream_marker(&self) -> &'static Marker {
        &STREAM_MESSAGE
    }

    fn shape_proven(&self) -> bool {
        self.shape.is_proven()
    }

    fn complete_at_eof(&self) -> bool {
        self.stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::{encode_event_stream_message, EventStreamDecoder};
    use crate::provider::stream_tests::{decode_in_pieces, fold};
    use crate::provider::FramedChatStream;
    use crate::ErrorKind;
    use serde_json::json;

    fn event(kind: &str, payload: Value) -> Vec<u8> {
        encode_event_stream_message(
            &[
                (":event-type", kind),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            payload.to_string().as_bytes(),
        )
    }

    fn decoder() -> FramedChatStream<EventStreamDecoder, BedrockEvents> {
        FramedChatStream::with_framing(EventStreamDecoder::new(), BedrockEvents::default(), None)
    }

    fn run(body: &[u8], split: usize) -> (Vec<Result<ChatCompletionChunk, Error>>, bool) {
        decode_in_pieces(decoder(), body, split)
    }

    fn full_stream() -> Vec<u8> {
        [
            event("messageStart", json!({"p": "abc", "role": "assistant"})),
            event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Hmm."}}})),
            event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "c2ln"}}})),
            event("contentBlockStop", json!({"contentBlockIndex": 0})),
            event("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"text": "Let me check."}})),
            event("contentBlockStop", json!({"contentBlockIndex": 1})),
            event("contentBlockStart", json!({"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather"}}})),
            event("contentBlockDelta", json!({"contentBlockIndex": 2, "delta": {"toolUse": {"input": "{\"city\":"}}})),
            event("contentBlockDelta", json!({"contentBlockIndex": 2, "delta": {"toolUse": {"input": "\"Paris\"}"}}})),
            event("contentBlockStop", json!({"contentBlockIndex": 2})),
            event("contentBlockStart", json!({"contentBlockIndex": 3, "start": {"toolUse": {"toolUseId": "tooluse_2", "name": "now"}}})),
            event("contentBlockStop", json!({"contentBlockIndex": 3})),
            event("messageStop", json!({"stopReason": "tool_use"})),
            event("metadata", json!({"usage": {"inputTokens": 3, "outputTokens": 4, "totalTokens": 7}, "metrics": {"latencyMs": 1}})),
        ]
        .concat()
    }

    #[test]
    fn stream_folds_to_the_whole_reply() {
        let body = full_stream();
        let (items, complete) = run(&body, body.len());
        assert!(complete);
        for split in [1, 5, 64] {
            assert_eq!(run(&body, split), (items.clone(), true), "split {split}");
        }
        let completion = fold(&items);
        let whole = super::super::response::parse_chat(
            json!({"output": {"message": {"role": "assistant", "content": [
                {"reasoningContent": {"reasoningText": {"text": "Hmm.", "signature": "c2ln"}}},
                {"text": "Let me check."},
                {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
                {"toolUse": {"toolUseId": "tooluse_2", "name": "now", "input": {}}}]}},
                "stopReason": "tool_use", "usage": {"inputTokens": 3, "outputTokens": 4, "totalTokens": 7}})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(completion.choices[0].message, whole.choices[0].message);
        assert_eq!(
            completion.choices[0].finish_reason,
            whole.choices[0].finish_reason
        );
        assert_eq!(completion.usage, whole.usage);
    }

    /// Nova's code interpreter, event by event as recorded in the shared corpus
    /// (`bedrock/pydantic-ai/test_bedrock/_bodies/test_bedrock_model_code_execution_tool_stream.0.eventstream.bin`,
    /// padding shortened), with text around it and the result's `json` item split in two
    /// deltas plus two text items, as botocore's `ToolResultBlockDelta` union allows.
    fn code_interpreter_stream() -> Vec<u8> {
        [
            event("messageStart", json!({"p": "abcdefghijklmnopqrs", "role": "assistant"})),
            event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"text": "Computing. "}})),
            event("contentBlockStop", json!({"contentBlockIndex": 0})),
            event("contentBlockStart", json!({"contentBlockIndex": 1, "p": "abcdef", "start": {"toolUse": {"name": "nova_code_interpreter", "toolUseId": "tooluse_VQNZJRUFMoqZzszVsRd4og", "type": "server_tool_use"}}})),
            event("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"snippet\":"}}, "p": "abcdefghijklm"})),
            event("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "\"1234 * 5678\"}"}}})),
            event("contentBlockStop", json!({"contentBlockIndex": 1, "p": "abcdefghijklmnopqrstuvwxyzABCDEFGH"})),
            event("contentBlockStart", json!({"contentBlockIndex": 2, "p": "abcdefghijklmnopqrstuv", "start": {"toolResult": {"status": "success", "toolUseId": "tooluse_VQNZJRUFMoqZzszVsRd4og", "type": "nova_code_interpreter_result"}}})),
            event("contentBlockDelta", json!({"contentBlockIndex": 2, "delta": {"toolResult": [{"json": {"stdOut": "7006652", "stdErr": "", "exitCode": 0, "isError": false}}, {"text": "done "}]}, "p": "abc"})),
            event("contentBlockDelta", json!({"contentBlockIndex": 2, "delta": {"toolResult": [{"text": "in 3 ms"}]}})),
            event("contentBlockStop", json!({"contentBlockIndex": 2, "p": "abcdefghijklmno"})),
            event("contentBlockStart", json!({"contentBlockIndex": 3, "p": "abcdefghijklmnopqrstuvwxyzAB", "start": {"toolUse": {"name": "final_result", "toolUseId": "tooluse_ptgCcZ0uQu-UUMz0abqoWw", "type": "tool_use"}}})),
            event("contentBlockDelta", json!({"contentBlockIndex": 3, "delta": {"toolUse": {"input": "{\"result\":7006652.0}"}}, "p": "abcdefghijklmnopqrstuvwxyzA"})),
            event("contentBlockStop", json!({"contentBlockIndex": 3, "p": "abcdefghijklmnopq"})),
            event("messageStop", json!({"p": "abcdefghijklmnopqrstuvwxyzAB", "stopReason": "tool_use"})),
            event("metadata", json!({"metrics": {"latencyMs": 1600}, "p": "abc", "usage": {"inputTokens": 1002, "outputTokens": 59, "serverToolUsage": {}, "totalTokens": 1061}})),
        ]
        .concat()
    }

    #[test]
    fn code_interpreter_is_a_server_tool_call_streamed_and_whole() {
        let body = code_interpreter_stream();
        let (items, complete) = run(&body, body.len());
        assert!(complete);
        for split in [1, 7, 100] {
            assert_eq!(run(&body, split), (items.clone(), true), "split {split}");
        }
        let streamed = fold(&items);
        let message = &streamed.choices[0].message;
        assert_eq!(message.text(), "Computing. ");
        let calls = message.tool_calls.as_ref().unwrap();
        assert_eq!(calls.len(), 1, "only the caller's own tool");
        assert_eq!(calls[0].function.name, "final_result");
        let server = message.server_tool_calls.as_ref().unwrap();
        assert_eq!(server.len(), 1);
        assert_eq!(
            server[0].id.as_deref(),
            Some("tooluse_VQNZJRUFMoqZzszVsRd4og")
        );
        assert_eq!(server[0].name, "nova_code_interpreter");
        assert_eq!(server[0].input, Some(json!({"snippet": "1234 * 5678"})));
        assert_eq!(server[0].extra["type"], "server_tool_use");
        assert_eq!(
            server[0].output,
            Some(
                json!({"status": "success", "toolUseId": "tooluse_VQNZJRUFMoqZzszVsRd4og",
                "type": "nova_code_interpreter_result", "content": [
                {"json": {"stdOut": "7006652", "stdErr": "", "exitCode": 0, "isError": false}},
                {"text": "done in 3 ms"}]})
            )
        );
        // The whole Converse reply of the same turn (block shapes from AWS's "Using
        // built-in tools" page for Nova) folds to the same message.
        let whole = super::super::response::parse_chat(
            json!({"output": {"message": {"role": "assistant", "content": [
                {"text": "Computing. "},
                {"toolUse": {"input": {"snippet": "1234 * 5678"}, "name": "nova_code_interpreter",
                    "toolUseId": "tooluse_VQNZJRUFMoqZzszVsRd4og", "type": "server_tool_use"}},
                {"toolResult": {"content": [
                    {"json": {"stdOut": "7006652", "stdErr": "", "exitCode": 0, "isError": false}},
                    {"text": "done in 3 ms"}],
                    "status": "success", "toolUseId": "tooluse_VQNZJRUFMoqZzszVsRd4og",
                    "type": "nova_code_interpreter_result"}},
                {"toolUse": {"toolUseId": "tooluse_ptgCcZ0uQu-UUMz0abqoWw", "name": "final_result",
                    "input": {"result": 7006652.0}, "type": "tool_use"}}]}},
                "stopReason": "tool_use",
                "usage": {"inputTokens": 1002, "outputTokens": 59, "totalTokens": 1061}})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(streamed.choices, whole.choices);
        // A result whose call was never seen still surfaces; malformed input is an error.
        let orphan: Vec<u8> = [
            event("messageStart", json!({"role": "assistant"})),
            event("contentBlockStart", json!({"contentBlockIndex": 0, "start": {"toolResult": {"toolUseId": "t9", "type": "nova_code_interpreter_result"}}})),
            event("contentBlockStop", json!({"contentBlockIndex": 0})),
            event("messageStop", json!({"stopReason": "end_turn"})),
        ]
        .concat();
        let (items, complete) = run(&orphan, 3);
        assert!(complete);
        let entry = &fold(&items).choices[0]
            .message
            .server_tool_calls
            .clone()
            .unwrap()[0];
        assert_eq!(
            (entry.name.as_str(), &entry.input),
            ("nova_code_interpreter", &None)
        );
        let broken: Vec<u8> = [
            event("messageStart", json!({"role": "assistant"})),
            event("contentBlockStart", json!({"contentBlockIndex": 0, "start": {"toolUse": {"name": "nova_code_interpreter", "toolUseId": "t1", "type": "server_tool_use"}}})),
            event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{\"snippet\":"}}})),
            event("contentBlockStop", json!({"contentBlockIndex": 0})),
        ]
        .concat();
        let (items, _) = run(&broken, 5);
        assert_eq!(
            items.last().unwrap().as_ref().unwrap_err().kind(),
            ErrorKind::Decode
        );
    }

    #[test]
    fn exceptions_are_typed_errors() {
        let mut body = event("messageStart", json!({"role": "assistant"}));
        body.extend(encode_event_stream_message(
            &[
                (":exception-type", "throttlingException"),
                (":content-type", "application/json"),
                (":message-type", "exception"),
            ],
            br#"{"message":"Too many requests"}"#,
        ));
        let (items, complete) = run(&body, 3);
        assert!(!complete);
        let error = items.last().unwrap().as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::RateLimit);
        assert!(error.is_retryable());
        assert_eq!(error.message(), "Too many requests");
    }

    #[test]
    fn endings() {
        // No messageStop: truncated.
        let body = event("messageStart", json!({"role": "assistant"}));
        let (items, complete) = run(&body, 4);
        assert!(!complete);
        assert_eq!(
            items.last().unwrap().as_ref().unwrap_err().kind(),
            ErrorKind::Truncated
        );
        // messageStop without metadata: complete.
        let mut body = event("messageStart", json!({"role": "assistant"}));
        body.extend(event("messageStop", json!({"stopReason": "end_turn"})));
        let (items, complete) = run(&body, 4);
        assert!(complete);
        assert!(items.iter().all(Result::is_ok));
        // A frame cut after messageStop: truncated, not silently complete.
        let cut = event("metadata", json!({"usage": {}}));
        body.extend_from_slice(&cut[..10]);
        let (items, complete) = run(&body, 4);
        assert!(!complete);
        assert_eq!(
            items.last().unwrap().as_ref().unwrap_err().kind(),
            ErrorKind::Truncated
        );
        // A corrupt CRC is a decode error.
        let mut body = full_stream();
        body[20] ^= 0x40;
        let (items, _) = run(&body, 7);
        assert_eq!(
            items.last().unwrap().as_ref().unwrap_err().kind(),
            ErrorKind::Decode
        );
        // Unknown events are skipped; a stop for a block never started is not.
        let mut body = event("futureEvent", json!({"x": 1}));
        body.extend(event("contentBlockStop", json!({"contentBlockIndex": 9})));
        let (items, _) = run(&body, 64);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].as_ref().unwrap_err().kind(), ErrorKind::Decode);
    }
}
