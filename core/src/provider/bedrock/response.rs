//! Parsing a whole Converse response into a [`ChatCompletion`].
//!
//! Rules (the stream decoder follows the same ones, so both paths give the same completion):
//! - `output.message.content`: `text` blocks are concatenated into `content` (`null` when
//!   there is none); `toolUse` blocks become `tool_calls` (`toolUseId` as the id, the JSON
//!   text of `input` as arguments), except the `response_format` tool, whose input is
//!   appended to `content`; `reasoningContent.reasoningText` text goes to
//!   `reasoning_content` and, with its signature, to `thinking_blocks` (Anthropic's shape);
//!   `reasoningContent.redactedContent` is kept in `thinking_blocks` as `redacted_thinking`.
//! - Server tools (Nova's code interpreter, which Bedrock runs itself) follow the one rule
//!   for server-side tools (see [`ServerToolCall`]): a `toolUse` block of a `type` other
//!   than `tool_use` (`server_tool_use`) is an entry of the message's `server_tool_calls`
//!   (`toolUseId` as `id`, `name`, `input`; its other fields, `type` included, kept beside
//!   them), and a `toolResult` block (in a reply only server tools have results) is, whole,
//!   the `output` of the entry its `toolUseId` names. The request builder sends both back
//!   as they came.
//! - Blocks of other kinds are skipped by rule: `citationsContent`, `image`, `guardContent`
//!   have no OpenAI equivalent.
//! - `stopReason`: `end_turn`/`stop_sequence` → `stop`, `max_tokens` and
//!   `model_context_window_exceeded` → `length`, `tool_use` → `tool_calls` (`stop` when only
//!   the `response_format` tool was called), `guardrail_intervened`/`content_filtered` →
//!   `content_filter`; others kept as they are.
//! - Usage: `inputTokens` counts the uncached prompt, so `prompt_tokens` adds
//!   `cacheReadInputTokens` and `cacheWriteInputTokens` back in, which
//!   `prompt_tokens_details` reports.
//! - Converse sends no id, model or timestamp: `id` and `model` are empty, `created` 0.
//!
//! Markers (see [`crate::provider::shape`]): what proves a body is a Bedrock reply.
//!
//! | reply | marker |
//! |---|---|
//! | Converse | an `output` object (OpenAI's Responses API has an `output` array) |
//! | ConverseStream message | `:message-type: event` with the `:event-type` of a ConverseStream event (or an exception) |
//! | InvokeModel embeddings | `embedding` (Titan), or `embeddings` as vectors or by type (Cohere on Bedrock; that is Cohere's own format, so a Cohere embed reply passes, and so does Ollama's, shaped like Cohere's `embeddings_floats`) |

use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;
use crate::provider::anthropic;
use crate::provider::server_tools::ServerToolCalls;
use crate::provider::shape::{has_object, Marker};
use crate::types::{
    ChatCompletion, Choice, Content, Extra, FinishReason, Message, PromptTokensDetails, Role,
    ServerToolCall, ToolCall, Usage,
};

/// One content block, by the single key Converse names it with.
pub(super) enum Block {
    Text(String),
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    Reasoning {
        text: String,
        signature: Option<String>,
    },
    Redacted(String),
    /// A server tool's call, as an entry without output.
    ServerCall(ServerToolCall),
    /// A server tool's `toolResult`, whole, with the call id it answers.
    ServerResult {
        tool_use_id: String,
        result: Value,
    },
    Skipped,
}

/// Reads one content block of a whole response.
pub(super) fn block(value: &Value) -> Result<Block, Error> {
    let bad = |what: &str| Error::decode("content block", what, value.to_string().as_bytes());
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    if let Some(piece) = value.get("text") {
        return Ok(Block::Text(
            text(Some(piece)).ok_or_else(|| bad("text is not a string"))?,
        ));
    }
    if let Some(tool) = value.get("toolUse") {
        if is_server_tool(tool) {
            return server_call(tool, "").map(Block::ServerCall);
        }
        return Ok(Block::ToolUse {
            id: text(tool.get("toolUseId")).ok_or_else(|| bad("toolUse without toolUseId"))?,
            name: text(tool.get("name")).ok_or_else(|| bad("toolUse without name"))?,
            input: tool.get("input").cloned().unwrap_or(Value::Null),
        });
    }
    if let Some(reasoning) = value.get("reasoningContent") {
        if let Some(reasoning_text) = reasoning.get("reasoningText") {
            return Ok(Block::Reasoning {
                text: text(reasoning_text.get("text")).unwrap_or_default(),
                signature: text(reasoning_text.get("signature")),
            });
        }
        if let Some(data) = text(reasoning.get("redactedContent")) {
            return Ok(Block::Redacted(data));
        }
        return Err(bad(
            "reasoningContent without reasoningText or redactedContent",
        ));
    }
    if let Some(result) = value.get("toolResult") {
        return Ok(Block::ServerResult {
            tool_use_id: server_result_id(result)?.to_owned(),
            result: result.clone(),
        });
    }
    Ok(Block::Skipped)
}

/// A server tool's `toolUse` (a block, or a stream's start with its input as JSON text
/// `input` joined from the deltas) as an entry: `toolUseId` → `id`, its other fields but
/// `name` and `input` kept beside them.
pub(super) fn server_call(tool: &Value, input: &str) -> Result<ServerToolCall, Error> {
    let bad = |what: &str| Error::decode("server toolUse", what, tool.to_string().as_bytes());
    let field = |name: &str| tool.get(name).and_then(Value::as_str);
    let (Some(id), Some(name)) = (field("toolUseId"), field("name")) else {
        return Err(bad("no string toolUseId and name"));
    };
    let input = if input.trim().is_empty() {
        tool.get("input")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({}))
    } else {
        serde_json::from_str(input)
            .map_err(|e| Error::decode("server toolUse input", e, input.as_bytes()))?
    };
    let mut call = ServerToolCall::new(Some(id.to_owned()), name, Some(input));
    for (key, value) in tool.as_object().into_iter().flatten() {
        if !matches!(key.as_str(), "toolUseId" | "name" | "input") {
            call.extra.insert(key.clone(), value.clone());
        }
    }
    Ok(call)
}

/// The `toolUseId` a `toolResult` answers.
pub(super) fn server_result_id(result: &Value) -> Result<&str, Error> {
    result
        .get("toolUseId")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::decode(
                "toolResult",
                "no string toolUseId",
                result.to_string().as_bytes(),
            )
        })
}

/// The tool name a result implies when its call was never seen
/// (`nova_code_interpreter_result` → `nova_code_interpreter`).
pub(super) fn server_result_name(result: &Value) -> &str {
    result
        .get("type")
        .and_then(Value::as_str)
        .map_or("server_tool", |kind| {
            kind.strip_suffix("_result").unwrap_or(kind)
        })
}

/// Whether a `toolUse` (block or stream start) is a call Bedrock made itself.
pub(super) fn is_server_tool(tool_use: &Value) -> bool {
    tool_use
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind != "tool_use")
}

/// A thinking block as kept in `thinking_blocks`; without a signature (models other than
/// Claude send none) the field is left out.
pub(super) fn thinking_block(text: &str, signature: Option<&str>) -> Value {
    let mut block = anthropic::thinking_block(text, signature.unwrap_or_default());
    if signature.is_none() {
        if let Some(object) = block.as_object_mut() {
            object.remove("signature");
        }
    }
    block
}

/// Converse token counts.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConverseUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_write_input_tokens: Option<u64>,
}

impl ConverseUsage {
    pub(super) fn to_usage(&self) -> Usage {
        let (read, write) = (self.cache_read_input_tokens, self.cache_write_input_tokens);
        let prompt = self
            .input_tokens
            .saturating_add(read.unwrap_or(0))
            .saturating_add(write.unwrap_or(0));
        Usage {
            prompt_tokens: prompt,
            completion_tokens: self.output_tokens,
            total_tokens: prompt.saturating_add(self.output_tokens),
            prompt_tokens_details: (read.is_some() || write.is_some()).then(|| {
                PromptTokensDetails {
                    cached_tokens: Some(read.unwrap_or(0)),
                    cache_creation_tokens: Some(write.unwrap_or(0)),
                    ..PromptTokensDetails::default()
                }
            }),
            ..Usage::default()
        }
    }
}

/// OpenAI's finish reason for a Converse `stopReason`.
pub(super) fn finish_reason(stop_reason: &str, called_tools: bool) -> FinishReason {
    match stop_reason {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" if called_tools => FinishReason::ToolCalls,
        "tool_use" => FinishReason::Stop,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// The marker of a Converse reply.
static CONVERSE: Marker = Marker::new("Bedrock", "Converse reply", "`output` object", |reply| {
    has_object(reply, "output")
});

/// The marker of a ConverseStream message: in its headers, not in JSON, so no JSON object
/// carries it; the stream decoder checks the headers and names this marker when they lack it.
pub(super) static STREAM_MESSAGE: Marker = Marker::new(
    "Bedrock",
    "ConverseStream message",
    "`:event-type` header of a ConverseStream event",
    |_| false,
);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConverseBody {
    output: Output,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<ConverseUsage>,
}

#[derive(Deserialize)]
struct Output {
    message: OutputMessage,
}

#[derive(Deserialize)]
struct OutputMessage {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    content: Vec<Value>,
}

/// What a reply's blocks add up to, whole or streamed.
#[derive(Debug, Default)]
pub(super) struct Reply {
    pub(super) text: Option<String>,
    pub(super) reasoning: String,
    pub(super) tool_calls: Vec<ToolCall>,
    pub(super) thinking_blocks: Vec<Value>,
}

/// Parses a 2xx Converse body.
pub(super) fn parse_chat(body: &[u8]) -> Result<ChatCompletion, Error> {
    let parsed: ConverseBody = crate::provider::from_json(body)
        .map_err(|e| CONVERSE.explain(body, Error::body_json("converse response", e, body)))?;
    let mut reply = Reply::default();
    let mut server = ServerToolCalls::default();
    for value in &parsed.output.message.content {
        match block(value)? {
            Block::ServerCall(call) => server.call(call, body)?,
            Block::ServerResult {
                tool_use_id,
                result,
            } => {
                let name = server_result_name(&result).to_owned();
                server.result_for(&tool_use_id, &name, result, body)?;
            }
            Block::Text(piece) if !piece.is_empty() => {
                reply.text.get_or_insert_with(String::new).push_str(&piece);
            }
            Block::ToolUse { id, name, input } => {
                let arguments = anthropic::input_json(&input);
                if anthropic::is_json_tool(&name) {
                    reply
                        .text
                        .get_or_insert_with(String::new)
                        .push_str(&arguments);
                } else {
                    reply
                        .tool_calls
                        .push(ToolCall::function(id, name, arguments));
                }
            }
            Block::Reasoning { text, signature } => {
                reply.reasoning.push_str(&text);
                reply
                    .thinking_blocks
                    .push(thinking_block(&text, signature.as_deref()));
            }
            Block::Redacted(data) => reply
                .thinking_blocks
                .push(anthropic::redacted_thinking_block(&data)),
            Block::Text(_) | Block::Skipped => {}
        }
    }
    let server_tool_calls = server.take_all();
    let mut extra = Extra::new();
    if !reply.thinking_blocks.is_empty() {
        extra.insert(
            anthropic::THINKING_BLOCKS.to_owned(),
            Value::Array(reply.thinking_blocks),
        );
    }
    let finish_reason = parsed
        .stop_reason
        .as_deref()
        .map(|reason| finish_reason(reason, !reply.tool_calls.is_empty()));
    Ok(ChatCompletion {
        id: String::new(),
        object: "chat.completion".to_owned(),
        created: 0,
        model: String::new(),
        choices: vec![Choice {
            index: 0,
            message: Message {
                role: parsed
                    .output
                    .message
                    .role
                    .as_deref()
                    .map_or(Role::Assistant, Role::from),
                content: reply.text.map(Content::Text),
                name: None,
                tool_calls: (!reply.tool_calls.is_empty()).then_some(reply.tool_calls),
                tool_call_id: None,
                reasoning_content: (!reply.reasoning.is_empty()).then_some(reply.reasoning),
                refusal: None,
                server_tool_calls: (!server_tool_calls.is_empty()).then_some(server_tool_calls),
                extra,
            },
            finish_reason,
            logprobs: None,
            extra: Extra::new(),
        }],
        usage: parsed.usage.as_ref().map(ConverseUsage::to_usage),
        system_fingerprint: None,
        service_tier: None,
        extra: Extra::new(),
        report: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_reasoning_tools_usage() {
        let body = json!({
            "output": {"message": {"role": "assistant", "content": [
                {"reasoningContent": {"reasoningText": {"text": "Think.", "signature": "c2ln"}}},
                {"reasoningContent": {"redactedContent": "UkVE"}},
                {"text": "Calling."},
                {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
                {"toolUse": {"toolUseId": "tooluse_s", "name": "nova_code_interpreter", "type": "server_tool_use", "input": {}}},
                {"toolResult": {"toolUseId": "tooluse_s", "content": []}},
            ]}},
            "stopReason": "tool_use",
            "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 35, "cacheReadInputTokens": 20}
        });
        let completion = parse_chat(body.to_string().as_bytes()).unwrap();
        let message = &completion.choices[0].message;
        assert_eq!(completion.text(), "Calling.");
        assert_eq!(message.reasoning_content.as_deref(), Some("Think."));
        let calls = message.tool_calls.as_ref().unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].id, "tooluse_1");
        assert_eq!(calls[0].function.arguments, r#"{"city":"Paris"}"#);
        let server = message.server_tool_calls.as_ref().unwrap();
        assert_eq!(server.len(), 1, "the call and its result, joined");
        assert_eq!(server[0].id.as_deref(), Some("tooluse_s"));
        assert_eq!(
            server[0].output,
            Some(json!({"toolUseId": "tooluse_s", "content": []}))
        );
        assert_eq!(
            message.extra["thinking_blocks"],
            json!([{"type": "thinking", "thinking": "Think.", "signature": "c2ln"},
                   {"type": "redacted_thinking", "data": "UkVE"}])
        );
        assert_eq!(
            completion.choices[0].finish_reason,
            Some(FinishReason::ToolCalls)
        );
        let usage = completion.usage.unwrap();
        assert_eq!((usage.prompt_tokens, usage.total_tokens), (30, 35));
        assert_eq!(usage.prompt_tokens_details.unwrap().cached_tokens, Some(20));
    }

    #[test]
    fn stop_reasons_and_bad_bodies() {
        for (reason, want) in [
            ("end_turn", FinishReason::Stop),
            ("max_tokens", FinishReason::Length),
            ("guardrail_intervened", FinishReason::ContentFilter),
            ("content_filtered", FinishReason::ContentFilter),
        ] {
            assert_eq!(finish_reason(reason, false), want);
        }
        let error =
            parse_chat(br#"{"output": {"message": {"content": [{"text": 5}]}}}"#).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Decode);
        let error = parse_chat(br#"{"output": {"mess"#).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Truncated);
    }
}
