//! Anthropic Messages streams: named SSE events, `message_start` … `message_stop`.
//!
//! Rules:
//! - The event's type is its `event:` name (or, when unnamed, the `type` in its data).
//! - `message_start` gives the message id and model, which every chunk then carries, and
//!   the input token counts; it yields a chunk with `delta.role = assistant`.
//! - `content_block_start` opens a block. A `tool_use` block yields the call's first
//!   fragment (id, name, `arguments: ""`) with `index` = its ordinal among the tool calls of
//!   this message (not the block index). Text, thinking and redacted thinking yield nothing
//!   yet (unless they start with text).
//! - `content_block_delta`: `text_delta` → `content`, `input_json_delta` → the tool call's
//!   `arguments`, `thinking_delta` → `reasoning_content`, `signature_delta` → remembered.
//!   Empty fragments yield nothing.
//! - `content_block_stop` of a thinking or redacted-thinking block yields the whole block
//!   in `thinking_blocks` (text and signature), so the folded stream equals the
//!   non-streaming reply; a tool call that received no argument text gets its start `input`
//!   (`{}`), as the non-streaming reply has.
//! - The `response_format` tool's input (see [`super::request::is_json_tool`]) is streamed
//!   as `content`, like the non-streaming reply's.
//! - `message_delta` yields the finish reason, then one usage chunk (`choices: []`). Its
//!   counts are cumulative totals that replace earlier ones, never increments.
//! - `message_stop` ends the stream. `ping` is skipped. `event: error` is an in-stream
//!   error, classified by its `error.type` like the same error as an HTTP status.
//! - Server tools (see [`super::response`]): a `server_tool_use` / `mcp_tool_use` block's
//!   `input_json_delta` fragments are joined (up to [`MAX_BLOCK_BYTES`]) and parsed at its
//!   `content_block_stop`; a `*_tool_result` block arrives whole in its `content_block_start`
//!   and is taken at its stop. Each `server_tool_calls` entry is sent whole in one delta once
//!   its result has arrived and every earlier entry has been sent; entries still without a
//!   result (a `pause_turn`) are sent before the finish reason. So the folded stream lists
//!   what the whole reply does, in the same order.
//! - Other event types, blocks of other types and other delta types (`citations_delta`)
//!   are skipped: Anthropic's versioning policy says new ones may appear at any time, and
//!   none of them carries text, reasoning or a tool call.
//! - The first event's data must carry the family's stream marker (see [`super::response`]):
//!   a stream of anything else is an `UnexpectedResponse` error at its first event.
//! - Malformed data of a known event, a delta or stop for a block that was never started, or
//!   content before `message_start`, is a `Decode` error quoting the data.

use std::collections::{BTreeMap, VecDeque};

use http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use super::error::error_from_value;
use super::request::is_json_tool;
use super::response::{
    add_server_block, block, finish_reason, input_json, redacted_thinking_block, server_block,
    thinking_block, AnthropicUsage, Block, ServerBlock, STREAM_EVENT, THINKING_BLOCKS,
};
use crate::error::Error;
use crate::framing::SseEvent;
use crate::provider::server_tools::ServerToolCalls;
use crate::provider::shape::{Marker, StreamShape};
use crate::provider::{SseEventHandler, StreamFlow};
use crate::types::{
    ChatCompletionChunk, ChunkChoice, Delta, Extra, FunctionCallDelta, Role, ToolCallDelta,
};

/// The most thinking text (and signature) kept per block, to rebuild `thinking_blocks`.
const MAX_BLOCK_BYTES: usize = 16 * 1024 * 1024;
/// The most blocks open at once (Anthropic opens one at a time).
const MAX_OPEN_BLOCKS: usize = 64;

#[derive(Debug, Default)]
pub(super) struct AnthropicEvents {
    shape: StreamShape,
    /// Redacted from in-stream error messages.
    started: bool,
    id: String,
    model: String,
    usage: AnthropicUsage,
    /// Open blocks by their wire index.
    blocks: BTreeMap<u64, OpenBlock>,
    /// Tool calls (of the caller's tools) started so far.
    tool_calls: u32,
    /// Server-tool calls waiting for their results (or for earlier ones).
    server: ServerToolCalls,
}

#[derive(Debug)]
enum OpenBlock {
    Text,
    ToolUse {
        index: u32,
        input: Value,
        sent: bool,
    },
    JsonOutput {
        input: Value,
        sent: bool,
    },
    Thinking {
        thinking: String,
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    /// A server-tool call (its input's JSON text so far) or result.
    Server {
        block: ServerBlock,
        input: String,
    },
    Skipped,
}

#[derive(Deserialize)]
struct MessageStart {
    message: StartedMessage,
}

#[derive(Deserialize)]
struct StartedMessage {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    usage: Option<AnthropicUsage>,
}

#[derive(Deserialize)]
struct BlockStart {
    index: u64,
    content_block: Value,
}

#[derive(Deserialize)]
struct BlockDelta {
    index: u64,
    delta: Value,
}

/// The delta types this adapter translates, by their wire names.
#[derive(Deserialize)]
#[serde(tag = "type")]
enum DeltaKind {
    #[serde(rename = "text_delta")]
    Text { text: String },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: String },
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: String },
    #[serde(rename = "signature_delta")]
    Signature { signature: String },
}

const KNOWN_DELTAS: &[&str] = &[
    "text_delta",
    "input_json_delta",
    "thinking_delta",
    "signature_delta",
];

#[derive(Deserialize)]
struct BlockStop {
    index: u64,
}

#[derive(Deserialize)]
struct MessageDelta {
    #[serde(default)]
    delta: MessageDeltaBody,
    #[serde(default)]
    usage: Option<AnthropicUsage>,
}

#[derive(Default, Deserialize)]
struct MessageDeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

fn decode<'a, T: Deserialize<'a>>(what: &str, data: &'a str) -> Result<T, Error> {
    serde_json::from_str(data).map_err(|e| Error::decode(what, e, data.as_bytes()))
}

/// A fragment of tool call `index`'s arguments (Bedrock's stream sends them alike).
pub(crate) fn arguments_delta(index: u32, arguments: String) -> Delta {
    Delta {
        tool_calls: Some(vec![ToolCallDelta {
            index: Some(index),
            function: Some(FunctionCallDelta {
                name: None,
                arguments: Some(arguments),
            }),
            ..ToolCallDelta::default()
        }]),
        ..Delta::default()
    }
}

fn protocol(what: &str, cause: impl std::fmt::Display, data: &str) -> Error {
    Error::decode(what, cause, data.as_bytes())
}

impl AnthropicEvents {
    fn chunk(&self) -> ChatCompletionChunk {
        ChatCompletionChunk::new(self.id.as_str(), self.model.as_str(), 0)
    }

    fn emit(&self, out: &mut VecDeque<ChatCompletionChunk>, delta: Delta) {
        out.push_back(self.chunk().with_delta(0, delta));
    }

    fn emit_thinking_block(&self, out: &mut VecDeque<ChatCompletionChunk>, block: Value) {
        let mut extra = Extra::new();
        extra.insert(THINKING_BLOCKS.to_owned(), Value::Array(vec![block]));
        self.emit(
            out,
            Delta {
                extra,
                ..Delta::default()
            },
        );
    }

    fn message_start(
        &mut self,
        data: &str,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<(), Error> {
        if self.started {
            return Err(protocol("message_start", "a second message_start", data));
        }
        let start: MessageStart = decode("message_start", data)?;
        self.started = true;
        self.id = start.message.id;
        self.model = start.message.model;
        if let Some(usage) = &start.message.usage {
            self.usage.update(usage);
        }
        self.emit(
            out,
            Delta {
                role: Some(Role::Assistant),
                ..Delta::default()
            },
        );
        Ok(())
    }

    fn block_start(
        &mut self,
        data: &str,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<(), Error> {
        let start: BlockStart = decode("content_block_start", data)?;
        if self.blocks.contains_key(&start.index) {
            return Err(protocol("content_block_start", "block started twice", data));
        }
        if self.blocks.len() >= MAX_OPEN_BLOCKS {
            return Err(protocol(
                "content_block_start",
                "too many open blocks",
                data,
            ));
        }
        if let Some(block) = server_block(&start.content_block)? {
            self.blocks.insert(
                start.index,
                OpenBlock::Server {
                    block,
                    input: String::new(),
                },
            );
            return Ok(());
        }
        let open = match block(&start.content_block)? {
            Some(Block::Text { text }) => {
                if !text.is_empty() {
                    self.emit(out, Delta::text(text));
                }
                OpenBlock::Text
            }
            Some(Block::ToolUse { name, input, .. }) if is_json_tool(&name) => {
                OpenBlock::JsonOutput { input, sent: false }
            }
            Some(Block::ToolUse { id, name, input }) => {
                let index = self.tool_calls;
                self.tool_calls = self.tool_calls.saturating_add(1);
                self.emit(
                    out,
                    Delta {
                        tool_calls: Some(vec![ToolCallDelta {
                            index: Some(index),
                            id: Some(id),
                            kind: Some("function".to_owned()),
                            function: Some(FunctionCallDelta {
                                name: Some(name),
                                arguments: Some(String::new()),
                            }),
                            extra: Extra::new(),
                        }]),
                        ..Delta::default()
                    },
                );
                OpenBlock::ToolUse {
                    index,
                    input,
                    sent: false,
                }
            }
            Some(Block::Thinking {
                thinking,
                signature,
            }) => {
                if !thinking.is_empty() {
                    self.emit(out, Delta::reasoning(thinking.as_str()));
                }
                OpenBlock::Thinking {
                    thinking,
                    signature,
                }
            }
            Some(Block::RedactedThinking { data }) => OpenBlock::RedactedThinking { data },
            None => OpenBlock::Skipped,
        };
        self.blocks.insert(start.index, open);
        Ok(())
    }

    fn block_delta(
        &mut self,
        data: &str,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<(), Error> {
        let delta: BlockDelta = decode("content_block_delta", data)?;
        let known = delta
            .delta
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|kind| KNOWN_DELTAS.contains(&kind));
        if !known {
            return Ok(());
        }
        let kind = DeltaKind::deserialize(&delta.delta)
            .map_err(|e| protocol("content_block_delta", e, data))?;
        let Some(open) = self.blocks.get_mut(&delta.index) else {
            return Err(protocol(
                "content_block_delta",
                "delta for a block that is not open",
                data,
            ));
        };
        let mismatch = || {
            protocol(
                "content_block_delta",
                "delta type does not fit the block",
                data,
            )
        };
        let emit = match (open, kind) {
            (OpenBlock::Skipped, _) => None,
            (OpenBlock::Text, DeltaKind::Text { text }) => {
                (!text.is_empty()).then(|| Delta::text(text))
            }
            (OpenBlock::ToolUse { index, sent, .. }, DeltaKind::InputJson { partial_json }) => {
                *sent |= !partial_json.is_empty();
                (!partial_json.is_empty()).then(|| arguments_delta(*index, partial_json))
            }
            (OpenBlock::Server { input, .. }, DeltaKind::InputJson { partial_json }) => {
                if input.len().saturating_add(partial_json.len()) > MAX_BLOCK_BYTES {
                    return Err(protocol(
                        "content_block_delta",
                        "server tool input too large",
                        data,
                    ));
                }
                input.push_str(&partial_json);
                None
            }
            (OpenBlock::JsonOutput { sent, .. }, DeltaKind::InputJson { partial_json }) => {
                *sent |= !partial_json.is_empty();
                (!partial_json.is_empty()).then(|| Delta::text(partial_json))
            }
            (OpenBlock::Thinking { thinking, .. }, DeltaKind::Thinking { thinking: more }) => {
                if thinking.len().saturating_add(more.len()) > MAX_BLOCK_BYTES {
                    return Err(protocol(
                        "content_block_delta",
                        "thinking block too large",
                        data,
                    ));
                }
                thinking.push_str(&more);
                (!more.is_empty()).then(|| Delta::reasoning(more))
            }
            (OpenBlock::Thinking { signature, .. }, DeltaKind::Signature { signature: more }) => {
                if signature.len().saturating_add(more.len()) > MAX_BLOCK_BYTES {
                    return Err(protocol("content_block_delta", "signature too large", data));
                }
                signature.push_str(&more);
                None
            }
            _ => return Err(mismatch()),
        };
        if let Some(delta) = emit {
            self.emit(out, delta);
        }
        Ok(())
    }

    fn block_stop(
        &mut self,
        data: &str,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<(), Error> {
        let stop: BlockStop = decode("content_block_stop", data)?;
        let Some(open) = self.blocks.remove(&stop.index) else {
            return Err(protocol(
                "content_block_stop",
                "stop for a block that is not open",
                data,
            ));
        };
        match open {
            OpenBlock::ToolUse {
                index,
                input,
                sent: false,
            } => self.emit(out, arguments_delta(index, input_json(&input))),
            OpenBlock::JsonOutput { input, sent: false } => {
                self.emit(out, Delta::text(input_json(&input)))
            }
            OpenBlock::Thinking {
                thinking,
                signature,
            } => self.emit_thinking_block(out, thinking_block(&thinking, &signature)),
            OpenBlock::RedactedThinking { data } => {
                self.emit_thinking_block(out, redacted_thinking_block(&data))
            }
            OpenBlock::Server { mut block, input } => {
                if let (ServerBlock::Call(call), false) = (&mut block, input.trim().is_empty()) {
                    let parsed = serde_json::from_str(&input).map_err(|e| {
                        protocol("content_block_stop", e, &format!("{data} {input}"))
                    })?;
                    call.input = Some(parsed);
                }
                add_server_block(&mut self.server, block, data.as_bytes())?;
                self.emit_server_calls(out, false);
            }
            _ => {}
        }
        Ok(())
    }

    /// Sends the server-tool entries that are ready (or, at the end of the message, all).
    fn emit_server_calls(&mut self, out: &mut VecDeque<ChatCompletionChunk>, all: bool) {
        let calls = if all {
            self.server.take_all()
        } else {
            self.server.take_ready()
        };
        if !calls.is_empty() {
            self.emit(out, Delta::server_tool_calls(calls));
        }
    }

    fn message_delta(
        &mut self,
        data: &str,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<(), Error> {
        let delta: MessageDelta = decode("message_delta", data)?;
        self.emit_server_calls(out, true);
        if let Some(usage) = &delta.usage {
            self.usage.update(usage);
        }
        if let Some(stop_reason) = &delta.delta.stop_reason {
            let mut chunk = self.chunk();
            chunk.choices.push(ChunkChoice {
                index: 0,
                delta: Delta::default(),
                finish_reason: Some(finish_reason(stop_reason, self.tool_calls > 0)),
                logprobs: None,
                extra: Extra::new(),
            });
            out.push_back(chunk);
        }
        let mut chunk = self.chunk();
        chunk.usage = Some(self.usage.to_usage());
        out.push_back(chunk);
        Ok(())
    }

    fn in_stream_error(&self, data: &str) -> Error {
        match serde_json::from_str::<Value>(data) {
            Ok(value) => error_from_value(None, &HeaderMap::new(), &value, data.as_bytes()),
            Err(_) => Error::from_http(None, &HeaderMap::new(), None, None, data.as_bytes()),
        }
    }
}

impl SseEventHandler for AnthropicEvents {
    fn on_event(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<StreamFlow, Error> {
        let data = event.data.as_str();
        self.shape.check(&STREAM_EVENT, data.as_bytes())?;
        let typed;
        let kind = match event.event.as_deref() {
            Some(name) if name != "message" => name,
            _ => {
                let value: Value = decode("stream event", data)?;
                typed = value
                    .get("type")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_default();
                typed.as_str()
            }
        };
        match kind {
            "ping" => return Ok(StreamFlow::Continue),
            "error" => return Err(self.in_stream_error(data)),
            "message_start" => self.message_start(data, out)?,
            "content_block_start"
            | "content_block_delta"
            | "content_block_stop"
            | "message_delta"
            | "message_stop"
                if !self.started =>
            {
                return Err(protocol(kind, "event before message_start", data));
            }
            "content_block_start" => self.block_start(data, out)?,
            "content_block_delta" => self.block_delta(data, out)?,
            "content_block_stop" => self.block_stop(data, out)?,
            "message_delta" => self.message_delta(data, out)?,
            "message_stop" => {
                self.emit_server_calls(out, true);
                return Ok(StreamFlow::Done);
            }
            _ => {}
        }
        Ok(StreamFlow::Continue)
    }

    fn terminal_marker(&self) -> &'static str {
        "event: message_stop"
    }

    fn stream_marker(&self) -> &'static Marker {
        &STREAM_EVENT
    }

    fn shape_proven(&self) -> bool {
        self.shape.is_proven()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::provider::anthropic::response::parse_chat;
    use crate::provider::{ChatStreamDecoder, SseChatStream};
    use crate::types::{ChatCompletion, ChunkAccumulator, FinishReason};
    use serde_json::json;

    /// Extended thinking with a signature, text, two tool calls with fragmented arguments,
    /// a server-tool block, pings, an unknown event and padded data lines, as Anthropic sends.
    const STREAM: &str = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01ALwQ87pTS7hH1PjSdC9wJD\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":2048,\"output_tokens\":2,\"service_tier\":\"standard\"}}   }\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n",
        "event: ping\n",
        "data: {\"type\": \"ping\"}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"The user wants the weather \"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"in Paris and the time — é ✓.\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds==\"}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"I'll check \"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"citations_delta\",\"citation\":{\"type\":\"char_location\"}}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"both.\"}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_01\",\"name\":\"web_search\",\"input\":{}}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"query\\\": \\\"x\\\"}\"}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"get_weather\",\"input\":{}}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\": \\\"Par\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"is, FR\\\", \\\"unit\\\": \\\"celsius\\\"}\"}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":3}\n\n",
        "event: some_future_event\n",
        "data: not even json\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":4,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_02\",\"name\":\"get_time\",\"input\":{}}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":4}\n\n",
        "event: message_delta\n",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n",
        "event: message_stop\n",
        "data: {\"type\":\"message_stop\"   }\n\n",
    );

    /// The same reply as a whole body.
    const BODY: &str = r#"{"id":"msg_01ALwQ87pTS7hH1PjSdC9wJD","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
      "content":[
        {"type":"thinking","thinking":"The user wants the weather in Paris and the time — é ✓.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds=="},
        {"type":"text","text":"I'll check both.","citations":null},
        {"type":"server_tool_use","id":"srvtoolu_01","name":"web_search","input":{"query":"x"}},
        {"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{"location":"Paris, FR","unit":"celsius"}},
        {"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}],
      "stop_reason":"tool_use","stop_sequence":null,
      "usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":89}}"#;

    struct Decoded {
        chunks: Vec<ChatCompletionChunk>,
        error: Option<Error>,
        complete: bool,
    }

    fn decode_pieces(pieces: &[&[u8]], finish: bool) -> Decoded {
        let mut decoder =
            SseChatStream::new(AnthropicEvents::default(), Some("sk-ant-secret".into()));
        let mut chunks = Vec::new();
        let mut error = None;
        let mut drain = |decoder: &mut SseChatStream<AnthropicEvents>| {
            while let Some(item) = decoder.next_chunk() {
                match item {
                    Ok(chunk) => chunks.push(chunk),
                    Err(e) => error = Some(e),
                }
            }
        };
        for piece in pieces {
            decoder.push(piece);
            drain(&mut decoder);
        }
        if finish {
            decoder.finish();
            drain(&mut decoder);
        }
        Decoded {
            chunks,
            error,
            complete: decoder.is_complete(),
        }
    }

    fn decode(stream: &str) -> Decoded {
        decode_pieces(&[stream.as_bytes()], true)
    }

    fn fold(chunks: &[ChatCompletionChunk]) -> ChatCompletion {
        let mut acc = ChunkAccumulator::new();
        for chunk in chunks {
            acc.push(chunk);
        }
        acc.into_completion()
    }

    /// Tool arguments (and JSON content) compared as JSON: the stream carries Anthropic's
    /// own spacing, the whole body is re-serialized compactly.
    fn normalized(mut completion: ChatCompletion) -> ChatCompletion {
        for choice in &mut completion.choices {
            for call in choice.message.tool_calls.iter_mut().flatten() {
                let value: Value = serde_json::from_str(&call.function.arguments).unwrap();
                call.function.arguments = value.to_string();
            }
        }
        completion
    }

    #[test]
    fn stream_translates_every_event() {
        let decoded = decode(STREAM);
        assert!(decoded.error.is_none(), "{:?}", decoded.error);
        assert!(decoded.complete);
        let chunks = &decoded.chunks;
        assert!(chunks.iter().all(|c| c.id == "msg_01ALwQ87pTS7hH1PjSdC9wJD"
            && c.model == "claude-sonnet-4-5-20250929"
            && c.created == 0));
        assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
        assert!(!chunks[0].has_content());

        let tool_starts: Vec<&ToolCallDelta> = chunks
            .iter()
            .flat_map(|c| c.choices.iter())
            .flat_map(|c| c.delta.tool_calls.iter().flatten())
            .filter(|call| call.id.is_some())
            .collect();
        assert_eq!(tool_starts.len(), 2);
        assert_eq!(tool_starts[0].index, Some(0), "ordinal, not block index 3");
        assert_eq!(tool_starts[1].index, Some(1));
        assert_eq!(tool_starts[0].kind.as_deref(), Some("function"));

        let thinking_chunk = chunks
            .iter()
            .find(|c| {
                c.choices
                    .first()
                    .is_some_and(|choice| choice.delta.extra.contains_key(THINKING_BLOCKS))
            })
            .unwrap();
        assert_eq!(
            thinking_chunk.choices[0].delta.extra[THINKING_BLOCKS],
            json!([{"type": "thinking", "thinking": "The user wants the weather in Paris and the time — é ✓.",
                    "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds=="}])
        );

        let last = chunks.last().unwrap();
        assert!(last.choices.is_empty());
        let usage = last.usage.as_ref().unwrap();
        assert_eq!(usage.prompt_tokens, 472 + 2048);
        assert_eq!(usage.completion_tokens, 89, "cumulative, not 2 + 89");
        assert_eq!(usage.cached_tokens(), 2048);
        let finish = &chunks[chunks.len() - 2];
        assert_eq!(
            finish.choices[0].finish_reason,
            Some(FinishReason::ToolCalls)
        );
    }

    #[test]
    fn folded_stream_equals_whole_response() {
        let streamed = normalized(fold(&decode(STREAM).chunks));
        let whole = normalized(parse_chat(BODY.as_bytes()).unwrap());
        assert_eq!(streamed, whole);
        assert_eq!(
            whole.choices[0].message.extra[THINKING_BLOCKS]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn any_split_gives_the_same_chunks() {
        let want = decode(STREAM).chunks;
        let bytes = STREAM.as_bytes();
        let one_byte: Vec<&[u8]> = bytes.chunks(1).collect();
        let decoded = decode_pieces(&one_byte, true);
        assert!(decoded.error.is_none() && decoded.complete);
        assert_eq!(decoded.chunks, want);
        for split in 0..=bytes.len() {
            let (a, b) = bytes.split_at(split);
            let decoded = decode_pieces(&[a, b], true);
            assert!(decoded.error.is_none() && decoded.complete, "split {split}");
            assert_eq!(decoded.chunks, want, "split {split}");
        }
    }

    /// Web search and an MCP call, streamed as Anthropic's web search tool docs show
    /// ("Streaming": a `server_tool_use` block whose input comes in `input_json_delta`
    /// fragments, then a `web_search_tool_result` block whole in its `content_block_start`),
    /// with block contents as recorded in the shared corpus
    /// (`anthropic/anthropic-sdk-python/inline_snapshot/test_runners/TestSyncRunTools/32da0815-….json`,
    /// `replay/bodies/0063.sse`). The MCP result comes after a later call, and that call
    /// gets no result (a `pause_turn`).
    const SERVER_STREAM: &str = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_011Y4sbfjCq85yJrUA13Dxb3\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5-20251001\",\"content\":[],\"usage\":{\"input_tokens\":2100,\"output_tokens\":3}}}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Searching. \"}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_01JCzA8PXrZDNPK9pSt8KCE9\",\"name\":\"web_search\",\"input\":{},\"caller\":{\"type\":\"direct\"}}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"query\\\": \\\"San Franc\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"isco weather today\\\"}\"}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"web_search_tool_result\",\"tool_use_id\":\"srvtoolu_01JCzA8PXrZDNPK9pSt8KCE9\",\"content\":[{\"type\":\"web_search_result\",\"title\":\"San Francisco, CA Weather Forecast | AccuWeather\",\"url\":\"https://www.accuweather.com/en/us/san-francisco/94103/weather-forecast/347629\",\"encrypted_content\":\"EsUUCioIDBgCIiQ1\",\"page_age\":null}]}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"mcp_tool_use\",\"id\":\"mcptoolu_01\",\"name\":\"ask_question\",\"server_name\":\"deepwiki\",\"input\":{}}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"repoName\\\": \\\"pydantic/pydantic-ai\\\"}\"}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":3}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":4,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_02\",\"name\":\"web_search\",\"input\":{\"query\":\"later\"}}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":4}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":5,\"content_block\":{\"type\":\"mcp_tool_result\",\"tool_use_id\":\"mcptoolu_01\",\"is_error\":false,\"content\":[{\"type\":\"text\",\"text\":\"A Python agent framework.\"}]}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":5}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":6,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":6,\"delta\":{\"type\":\"text_delta\",\"text\":\"It is 62°F.\"}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":6}\n\n",
        "event: message_delta\n",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"pause_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":120,\"server_tool_use\":{\"web_search_requests\":1}}}\n\n",
        "event: message_stop\n",
        "data: {\"type\":\"message_stop\"}\n\n",
    );

    /// The same reply as a whole body.
    const SERVER_BODY: &str = r#"{"id":"msg_011Y4sbfjCq85yJrUA13Dxb3","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001",
      "content":[
        {"type":"text","text":"Searching. "},
        {"type":"server_tool_use","id":"srvtoolu_01JCzA8PXrZDNPK9pSt8KCE9","name":"web_search","input":{"query":"San Francisco weather today"},"caller":{"type":"direct"}},
        {"type":"web_search_tool_result","tool_use_id":"srvtoolu_01JCzA8PXrZDNPK9pSt8KCE9","content":[{"type":"web_search_result","title":"San Francisco, CA Weather Forecast | AccuWeather","url":"https://www.accuweather.com/en/us/san-francisco/94103/weather-forecast/347629","encrypted_content":"EsUUCioIDBgCIiQ1","page_age":null}]},
        {"type":"mcp_tool_use","id":"mcptoolu_01","name":"ask_question","server_name":"deepwiki","input":{"repoName":"pydantic/pydantic-ai"}},
        {"type":"server_tool_use","id":"srvtoolu_02","name":"web_search","input":{"query":"later"}},
        {"type":"mcp_tool_result","tool_use_id":"mcptoolu_01","is_error":false,"content":[{"type":"text","text":"A Python agent framework."}]},
        {"type":"text","text":"It is 62°F."}],
      "stop_reason":"pause_turn","stop_sequence":null,
      "usage":{"input_tokens":2100,"output_tokens":120,"server_tool_use":{"web_search_requests":1}}}"#;

    #[test]
    fn server_tools_stream_whole_and_fold_like_the_whole_reply() {
        let whole = parse_chat(SERVER_BODY.as_bytes()).unwrap();
        let message = &whole.choices[0].message;
        assert_eq!(message.text(), "Searching. It is 62°F.");
        assert!(message.tool_calls.is_none(), "never the caller's to run");
        assert_eq!(
            whole.choices[0].finish_reason,
            Some(FinishReason::Other("pause_turn".into()))
        );
        let calls = message.server_tool_calls.as_ref().unwrap();
        let summary: Vec<(Option<&str>, &str, bool)> = calls
            .iter()
            .map(|c| (c.id.as_deref(), c.name.as_str(), c.output.is_some()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    Some("srvtoolu_01JCzA8PXrZDNPK9pSt8KCE9"),
                    "web_search",
                    true
                ),
                (Some("mcptoolu_01"), "ask_question", true),
                (Some("srvtoolu_02"), "web_search", false),
            ]
        );
        assert_eq!(
            calls[0].input,
            Some(json!({"query": "San Francisco weather today"}))
        );
        assert_eq!(calls[0].extra["type"], "server_tool_use");
        assert_eq!(calls[0].extra["caller"], json!({"type": "direct"}));
        assert_eq!(
            calls[0].output.as_ref().unwrap()["type"],
            "web_search_tool_result"
        );
        assert_eq!(calls[1].extra["type"], "mcp_tool_use");
        assert_eq!(calls[1].extra["server_name"], "deepwiki");
        assert_eq!(calls[1].output.as_ref().unwrap()["is_error"], false);

        let streamed = decode(SERVER_STREAM);
        assert!(streamed.error.is_none(), "{:?}", streamed.error);
        assert!(streamed.complete);
        assert_eq!(fold(&streamed.chunks), whole);
        // Each entry is sent once, whole; the waiting one before the finish reason.
        let sent: Vec<usize> = streamed
            .chunks
            .iter()
            .flat_map(|c| c.choices.iter())
            .filter_map(|c| c.delta.server_tool_calls.as_ref().map(Vec::len))
            .collect();
        assert_eq!(
            sent,
            [1, 1, 1],
            "each at its result; the paused one at the end"
        );
        let bytes = SERVER_STREAM.as_bytes();
        for split in 0..=bytes.len() {
            let (a, b) = bytes.split_at(split);
            let decoded = decode_pieces(&[a, b], true);
            assert_eq!(decoded.chunks, streamed.chunks, "split {split}");
        }
        // A malformed input is an error quoting it, not a silent drop.
        let broken = SERVER_STREAM.replace("isco weather today\\\"}", "isco weather today");
        let decoded = decode(&broken);
        assert_eq!(decoded.error.unwrap().kind(), ErrorKind::Decode);
        // A result without an id to join by is malformed.
        let error = parse_chat(
            SERVER_BODY
                .replace("\"tool_use_id\":\"mcptoolu_01\",", "")
                .as_bytes(),
        )
        .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode);
    }

    #[test]
    fn redacted_thinking_and_json_output_fold_like_whole_responses() {
        let stream = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"EmwKAhgBEgy3va3pzix\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"json_response_city\",\"input\":{}}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":12}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
        let body = r#"{"id":"msg_2","type":"message","role":"assistant","model":"claude-sonnet-4-5",
          "content":[{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"},
                     {"type":"tool_use","id":"toolu_9","name":"json_response_city","input":{"city":"Paris"}}],
          "stop_reason":"tool_use","usage":{"input_tokens":9,"output_tokens":12}}"#;
        let mut streamed = fold(&decode(stream).chunks);
        let whole = parse_chat(body.as_bytes()).unwrap();
        assert_eq!(streamed.text(), "{\"city\": \"Paris\"}");
        assert_eq!(whole.text(), "{\"city\":\"Paris\"}");
        streamed.choices[0].message.content = whole.choices[0].message.content.clone();
        assert_eq!(streamed, whole);
        assert_eq!(whole.choices[0].finish_reason, Some(FinishReason::Stop));
    }

    #[test]
    fn message_delta_usage_replaces_earlier_counts() {
        let stream = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_3\",\"model\":\"m\",\"usage\":{\"input_tokens\":702,\"cache_creation_input_tokens\":5,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":null},\"usage\":{\"output_tokens\":40}}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"input_tokens\":1591,\"output_tokens\":175,\"output_tokens_details\":{\"thinking_tokens\":47}}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
        let completion = fold(&decode(stream).chunks);
        let usage = completion.usage.unwrap();
        assert_eq!(usage.prompt_tokens, 1591 + 5);
        assert_eq!(usage.completion_tokens, 175);
        assert_eq!(usage.total_tokens, 1591 + 5 + 175);
        assert_eq!(usage.reasoning_tokens(), 47);
        assert_eq!(
            completion.choices[0].finish_reason,
            Some(FinishReason::Stop)
        );
        assert_eq!(completion.choices[0].message.content, None);
    }

    #[test]
    fn overloaded_error_mid_stream() {
        let stream = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_4\",\"model\":\"m\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n",
            "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}\n\n",
        );
        let decoded = decode(stream);
        assert_eq!(fold(&decoded.chunks).text(), "Hel");
        let error = decoded.error.unwrap();
        assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);
        assert!(error.is_retryable());
        assert_eq!(error.message(), "Overloaded");
        assert!(!decoded.complete);
    }

    #[test]
    fn eof_without_message_stop_is_truncated() {
        let cut = STREAM.find("event: message_delta").unwrap();
        let decoded = decode(&STREAM[..cut]);
        let error = decoded.error.unwrap();
        assert_eq!(error.kind(), ErrorKind::Truncated);
        assert!(error.message().contains("message_stop"), "{error}");
        assert!(fold(&decoded.chunks).choices[0]
            .message
            .tool_calls
            .is_some());
    }

    #[test]
    fn protocol_violations_are_decode_errors() {
        let start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"m\"}}\n\n";
        for bad in [
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n".to_owned(),
            format!("{start}event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":7,\"delta\":{{\"type\":\"text_delta\",\"text\":\"x\"}}}}\n\n"),
            format!("{start}event: content_block_stop\ndata: {{\"type\":\"content_block_stop\",\"index\":0}}\n\n"),
            format!("{start}event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"text\",\"text\":\"\"}}}}\n\nevent: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":\"{{\"}}}}\n\n"),
            format!("{start}event: content_block_start\ndata: {{\"index\": \"zero\"}}\n\n"),
            format!("{start}{start}"),
            format!("{start}event: message_delta\ndata: [1, 2]\n\n"),
            format!("{start}data: not json\n\n"),
        ] {
            let decoded = decode(&bad);
            let error = decoded.error.unwrap_or_else(|| panic!("no error for {bad}"));
            assert_eq!(error.kind(), ErrorKind::Decode, "{bad}: {error}");
        }
        // Not JSON, or not Anthropic's, from the first event: not an Anthropic stream.
        for foreign in ["data: not json\n\n", "event: message_start\ndata: {}\n\n"] {
            let error = decode(foreign).error.unwrap();
            assert_eq!(error.kind(), ErrorKind::UnexpectedResponse, "{error}");
        }
    }

    #[test]
    fn unnamed_events_dispatch_on_their_type() {
        let unnamed: String = STREAM
            .lines()
            .filter(|line| !line.starts_with("event:"))
            .map(|line| format!("{line}\n"))
            .collect();
        let unnamed = unnamed.replace(
            "data: not even json\n",
            "data: {\"type\":\"some_future_event\"}\n",
        );
        let decoded = decode(&unnamed);
        assert!(decoded.error.is_none(), "{:?}", decoded.error);
        assert_eq!(decoded.chunks, decode(STREAM).chunks);
    }
}
