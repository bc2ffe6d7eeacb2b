//! Cohere v2 chat streams: named SSE events from `message-start` to `message-end`.
//!
//! Rules:
//! - The event's type is its `event:` name, or the `type` in its data when unnamed.
//! - `message-start` gives the id every chunk carries and yields `delta.role = assistant`.
//! - `content-start` / `content-delta`: `text` → `content`, `thinking` → `reasoning_content`;
//!   `tool-plan-delta` → `reasoning_content` (as in [`super::response`]). Empty fragments yield
//!   nothing. `content-end` and `tool-call-end` yield nothing.
//! - `tool-call-start` yields the call's id, name and first argument text, at `index` = its
//!   ordinal among this message's calls; `tool-call-delta` appends argument text to the call
//!   its `index` names (a delta for a call never started is a `Decode` error).
//! - `message-end` yields the finish reason, then one usage chunk (`choices: []`), and ends the
//!   stream. With `finish_reason` `ERROR` or `TIMEOUT` it is an in-stream error instead, typed
//!   by its `error_type` and text (see [`super::error::in_stream_error`]).
//! - `data: [DONE]`, which Cohere sends after `message-end`, also ends the stream.
//! - `citation-start` / `citation-end` (retrieval-augmented answers, not translated), `debug`
//!   and event types added later are skipped: none carries text, reasoning or a tool call.
//! - Malformed data of a known event is a `Decode` error quoting it.
//! - The first event's data must carry the family's stream marker (see [`super::response`]):
//!   a stream of anything else is an `UnexpectedResponse` error at its first event, and one
//!   that ends (even at `[DONE]`) without any event of the family fails the same way.

use std::collections::{BTreeMap, VecDeque};

use serde_json::Value;

use super::error::in_stream_error;
use super::response::{finish_reason, part_text, CohereUsage, STREAM_EVENT};
use crate::error::Error;
use crate::framing::SseEvent;
use crate::provider::shape::{Marker, StreamShape};
use crate::provider::{SseEventHandler, StreamFlow};
use crate::types::{
    ChatCompletionChunk, ChunkChoice, Delta, Extra, FunctionCallDelta, Role, ToolCallDelta,
};

/// The most tool calls one message may start.
const MAX_TOOL_CALLS: usize = 1024;

#[derive(Debug, Default)]
pub(super) struct CohereEvents {
    shape: StreamShape,
    id: String,
    /// Wire index of each started tool call → its ordinal.
    tool_calls: BTreeMap<u64, u32>,
}

fn decode(what: &str, data: &str) -> Result<Value, Error> {
    serde_json::from_str(data).map_err(|e| Error::body_json(what, e, data.as_bytes()))
}

fn malformed(what: &str, cause: &str, data: &str) -> Error {
    Error::decode(what, cause, data.as_bytes())
}

/// `delta.message` of an event.
fn message(value: &Value) -> Option<&Value> {
    value.get("delta")?.get("message")
}

impl CohereEvents {
    fn emit(&self, out: &mut VecDeque<ChatCompletionChunk>, delta: Delta) {
        out.push_back(ChatCompletionChunk::new(self.id.as_str(), "", 0).with_delta(0, delta));
    }

    fn content(&self, value: &Value, out: &mut VecDeque<ChatCompletionChunk>) {
        let Some(part) = message(value).and_then(|m| m.get("content")) else {
            return;
        };
        let (text, thinking) = part_text(part);
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            self.emit(out, Delta::text(text));
        }
        if let Some(thinking) = thinking.filter(|t| !t.is_empty()) {
            self.emit(out, Delta::reasoning(thinking));
        }
    }

    fn tool_call(
        &mut self,
        kind: &str,
        value: &Value,
        data: &str,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<(), Error> {
        let wire_index = value.get("index").and_then(Value::as_u64).unwrap_or(0);
        let call = message(value).and_then(|m| m.get("tool_calls"));
        let function = call.and_then(|c| c.get("function"));
        let text = |v: Option<&Value>, name: &str| {
            v.and_then(|v| v.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let arguments = text(function, "arguments");
        let delta = if kind == "tool-call-start" {
            if self.tool_calls.contains_key(&wire_index) || self.tool_calls.len() >= MAX_TOOL_CALLS
            {
                return Err(malformed(kind, "tool call started twice or too many", data));
            }
            let ordinal = u32::try_from(self.tool_calls.len()).unwrap_or(u32::MAX);
            self.tool_calls.insert(wire_index, ordinal);
            ToolCallDelta {
                index: Some(ordinal),
                id: Some(text(call, "id").unwrap_or_default()),
                kind: Some("function".to_owned()),
                function: Some(FunctionCallDelta {
                    name: Some(text(function, "name").unwrap_or_default()),
                    arguments: Some(arguments.unwrap_or_default()),
                }),
                extra: Extra::new(),
            }
        } else {
            let Some(ordinal) = self.tool_calls.get(&wire_index) else {
                return Err(malformed(kind, "delta for a tool call never started", data));
            };
            let Some(arguments) = arguments.filter(|a| !a.is_empty()) else {
                return Ok(());
            };
            ToolCallDelta {
                index: Some(*ordinal),
                function: Some(FunctionCallDelta {
                    name: None,
                    arguments: Some(arguments),
                }),
                ..ToolCallDelta::default()
            }
        };
        self.emit(
            out,
            Delta {
                tool_calls: Some(vec![delta]),
                ..Delta::default()
            },
        );
        Ok(())
    }

    fn message_end(
        &self,
        value: &Value,
        data: &str,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<(), Error> {
        let delta = value.get("delta");
        let field = |name: &str| delta.and_then(|d| d.get(name));
        if let Some(reason) = field("finish_reason").and_then(Value::as_str) {
            let Some(finish) = finish_reason(reason) else {
                let text = |name: &str| field(name).and_then(Value::as_str);
                return Err(in_stream_error(
                    reason,
                    text("error_type"),
                    text("error"),
                    data.as_bytes(),
                ));
            };
            let mut chunk = ChatCompletionChunk::new(self.id.as_str(), "", 0);
            chunk.choices.push(ChunkChoice {
                index: 0,
                delta: Delta::default(),
                finish_reason: Some(finish),
                logprobs: None,
                extra: Extra::new(),
            });
            out.push_back(chunk);
        }
        if let Some(usage) = field("usage") {
            let usage: CohereUsage = serde_json::from_value(usage.clone())
                .map_err(|e| Error::decode("message-end usage", e, data.as_bytes()))?;
            if let Some(usage) = usage.to_usage() {
                let mut chunk = ChatCompletionChunk::new(self.id.as_str(), "", 0);
                chunk.usage = Some(usage);
                out.push_back(chunk);
            }
        }
        Ok(())
    }
}

impl SseEventHandler for CohereEvents {
    fn on_event(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<StreamFlow, Error> {
        let data = event.data.as_str();
        if data.trim() == "[DONE]" {
            return Ok(StreamFlow::Done);
        }
        self.shape.check(&STREAM_EVENT, data.as_bytes())?;
        let value = decode("stream event", data)?;
        let kind = match event.event.as_deref() {
            Some(name) if name != "message" => name,
            _ => value
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        };
        match kind {
            "message-start" => {
                self.id = value
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                self.emit(
                    out,
                    Delta {
                        role: Some(Role::Assistant),
                        ..Delta::default()
                    },
                );
            }
            "content-start" | "content-delta" => self.content(&value, out),
            "tool-plan-delta" => {
                let plan = message(&value)
                    .and_then(|m| m.get("tool_plan"))
                    .and_then(Value::as_str)
                    .filter(|plan| !plan.is_empty());
                if let Some(plan) = plan {
                    self.emit(out, Delta::reasoning(plan));
                }
            }
            "tool-call-start" | "tool-call-delta" => self.tool_call(kind, &value, data, out)?,
            "message-end" => {
                self.message_end(&value, data, out)?;
                return Ok(StreamFlow::Done);
            }
            _ => {}
        }
        Ok(StreamFlow::Continue)
    }

    fn terminal_marker(&self) -> &'static str {
        "event: message-end"
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
    use crate::provider::stream_tests::{decode_in_pieces, fold};
    use crate::provider::SseChatStream;
    use crate::types::FinishReason;

    /// Shortened from the langchain-cohere cassette `test_streaming_tool_call`, with a
    /// citation event, a thinking part and an unknown event added.
    const STREAM: &str = concat!(
        "event: message-start\n",
        "data: {\"id\":\"35c028fc\",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\",\"content\":[],\"tool_plan\":\"\",\"tool_calls\":[],\"citations\":[]}}}\n\n",
        "event: content-start\n",
        "data: {\"type\":\"content-start\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"type\":\"thinking\",\"thinking\":\"Hmm. \"}}}}\n\n",
        "event: content-delta\n",
        "data: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"thinking\":\"Yes. \"}}}}\n\n",
        "event: tool-plan-delta\n",
        "data: {\"type\":\"tool-plan-delta\",\"delta\":{\"message\":{\"tool_plan\":\"I will use\"}}}\n\n",
        "event: tool-plan-delta\n",
        "data: {\"type\":\"tool-plan-delta\",\"delta\":{\"message\":{\"tool_plan\":\" Person.\"}}}\n\n",
        "event: tool-call-start\n",
        "data: {\"type\":\"tool-call-start\",\"index\":0,\"delta\":{\"message\":{\"tool_calls\":{\"id\":\"Person_zh3gneaxfh7q\",\"type\":\"function\",\"function\":{\"name\":\"Person\",\"arguments\":\"\"}}}}}\n\n",
        "event: tool-call-delta\n",
        "data: {\"type\":\"tool-call-delta\",\"index\":0,\"delta\":{\"message\":{\"tool_calls\":{\"function\":{\"arguments\":\"{\\\"age\\\": \"}}}}}\n\n",
        "event: citation-start\n",
        "data: {\"type\":\"citation-start\",\"index\":0,\"delta\":{\"message\":{\"citations\":{\"start\":0}}}}\n\n",
        "event: debug\n",
        "data: {\"type\":\"debug\"}\n\n",
        "event: tool-call-delta\n",
        "data: {\"type\":\"tool-call-delta\",\"index\":0,\"delta\":{\"message\":{\"tool_calls\":{\"function\":{\"arguments\":\"27}\"}}}}}\n\n",
        "event: tool-call-end\n",
        "data: {\"type\":\"tool-call-end\",\"index\":0}\n\n",
        "event: message-end\n",
        "data: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"TOOL_CALL\",\"usage\":{\"billed_units\":{\"input_tokens\":23,\"output_tokens\":41},\"tokens\":{\"input_tokens\":906,\"output_tokens\":77}}}}\n\n",
        "data: [DONE]\n\n",
    );

    fn run(body: &[u8], split: usize) -> (Vec<Result<ChatCompletionChunk, Error>>, bool) {
        decode_in_pieces(
            SseChatStream::new(CohereEvents::default(), None),
            body,
            split,
        )
    }

    #[test]
    fn tool_call_stream_folds_and_is_split_invariant() {
        let (items, complete) = run(STREAM.as_bytes(), STREAM.len());
        assert!(complete);
        for split in [1, 3, 17] {
            assert_eq!(run(STREAM.as_bytes(), split), (items.clone(), true));
        }
        let completion = fold(&items);
        assert_eq!(completion.id, "35c028fc");
        let message = completion.message().unwrap();
        assert_eq!(message.content, None);
        assert_eq!(
            message.reasoning_content.as_deref(),
            Some("Hmm. Yes. I will use Person.")
        );
        let call = &message.tool_calls.as_ref().unwrap()[0];
        assert_eq!(call.id, "Person_zh3gneaxfh7q");
        assert_eq!(call.function.name, "Person");
        assert_eq!(call.function.arguments, "{\"age\": 27}");
        assert_eq!(
            completion.choices[0].finish_reason,
            Some(FinishReason::ToolCalls)
        );
        assert_eq!(completion.usage.unwrap().prompt_tokens, 906);
    }

    /// The langchain-cohere cassette `test_sql_agent` #0 ends this way.
    #[test]
    fn error_finish_is_a_typed_error_and_missing_end_is_truncated() {
        let body = concat!(
            "event: message-start\ndata: {\"id\":\"x\",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\"}}}\n\n",
            "event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"ERROR\",\"usage\":{},\"error\":\"your request resulted in an invalid tool generation. Try updating the messages or tool definitions\",\"error_type\":\"INVALID_TOOL_GENERATION\"}}\n\n",
            "data: [DONE]\n\n",
        );
        let (items, complete) = run(body.as_bytes(), 5);
        assert!(!complete);
        let error = items.last().unwrap().as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);
        assert!(error.message().contains("invalid tool generation"));

        let cut = &STREAM[..STREAM.find("event: message-end").unwrap()];
        let (items, complete) = run(cut.as_bytes(), 7);
        assert!(!complete);
        let error = items.last().unwrap().as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Truncated);
        assert!(error.message().contains("message-end"));

        let (items, _) = run(
            b"event: tool-call-delta\ndata: {\"type\":\"tool-call-delta\",\"index\":3}\n\n",
            4,
        );
        assert_eq!(items[0].as_ref().unwrap_err().kind(), ErrorKind::Decode);
    }
}
