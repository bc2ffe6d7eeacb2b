//! Parsing a whole Messages response into a [`ChatCompletion`].
//!
//! Rules (the stream decoder follows the same ones, so both paths give the same completion):
//! - `text` blocks are concatenated into `content`; `content` is `null` when there is no text.
//! - `tool_use` blocks become `tool_calls` (arguments = the JSON text of `input`), except the
//!   adapter's own `response_format` tool (see [`super::request::is_json_tool`]), whose input
//!   is the reply: its JSON text is appended to `content`.
//! - `thinking` text is concatenated into `reasoning_content`; every `thinking` and
//!   `redacted_thinking` block is also kept verbatim (with its signature) in the message's
//!   `thinking_blocks` field, which the request builder sends back so multi-turn extended
//!   thinking works.
//! - Server tools (Anthropic runs them itself) follow the one rule for server-side tools (see
//!   [`ServerToolCall`]): a `server_tool_use` or `mcp_tool_use` block is an entry of the
//!   message's `server_tool_calls` (`id`, `name`, `input`; its other fields, `type` and
//!   `server_name` included, kept beside them), and a block whose type ends in
//!   `_tool_result` (`web_search_tool_result`, `code_execution_tool_result`,
//!   `mcp_tool_result`, …) is, verbatim, the `output` of the entry its `tool_use_id` names
//!   ([`server_block`]). The request builder sends both blocks back as they came.
//! - Blocks of other types are skipped: Anthropic's versioning policy says new ones may
//!   appear at any time. `citations` on text blocks are not translated.
//! - `created` is 0: the core has no clock and Anthropic sends no timestamp.
//!
//! Markers (see [`crate::provider::shape`]): what proves a body is an Anthropic reply.
//!
//! | reply | marker |
//! |---|---|
//! | message | `type: "message"` and a `content` array (an `error` type is the error it says) |
//! | stream event | `type` naming one of the Messages stream's events (`message_start`, …, `ping`, `error`) |

use http::HeaderMap;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::error_from_value;
use super::request::is_json_tool;
use crate::error::Error;
use crate::provider::server_tools::ServerToolCalls;
use crate::provider::shape::{has_array, has_type_among, Marker};
use crate::types::{
    ChatCompletion, Choice, CompletionTokensDetails, Content, Extra, FinishReason, Message,
    PromptTokensDetails, Role, ServerToolCall, ToolCall, Usage,
};

/// The message field that carries thinking blocks, in responses and (back) in requests.
pub(crate) const THINKING_BLOCKS: &str = "thinking_blocks";

/// The content block types this adapter translates.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Block {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
        #[serde(default)]
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
}

const KNOWN_BLOCKS: &[&str] = &["text", "tool_use", "thinking", "redacted_thinking"];

/// Reads one content block: `None` for a type that is skipped by rule, an error for a known
/// type that is malformed or a block without a type.
pub(super) fn block(value: &Value) -> Result<Option<Block>, Error> {
    match value.get("type").and_then(Value::as_str) {
        Some(kind) if KNOWN_BLOCKS.contains(&kind) => Block::deserialize(value)
            .map(Some)
            .map_err(|e| Error::decode("content block", e, value.to_string().as_bytes())),
        Some(_) => Ok(None),
        None => Err(Error::decode(
            "content block",
            "no type",
            value.to_string().as_bytes(),
        )),
    }
}

/// A block of a tool Anthropic runs itself.
#[derive(Debug)]
pub(super) enum ServerBlock {
    /// A `server_tool_use` or `mcp_tool_use` block, as an entry without output.
    Call(ServerToolCall),
    /// A `*_tool_result` block, whole, with the id of the call it answers and the tool name
    /// its type implies (for a result whose call was never seen).
    Result {
        tool_use_id: String,
        name: String,
        block: Value,
    },
}

/// The block types that call a tool Anthropic runs.
const SERVER_CALLS: &[&str] = &["server_tool_use", "mcp_tool_use"];
/// The suffix of every server tool's result type (the caller's own `tool_result` blocks only
/// appear in requests).
const RESULT_SUFFIX: &str = "_tool_result";

/// Reads a server-tool block: `None` for a block of another type, an error for one without
/// the ids that join a call to its result.
pub(super) fn server_block(value: &Value) -> Result<Option<ServerBlock>, Error> {
    let Some(kind) = value.get("type").and_then(Value::as_str) else {
        return Ok(None);
    };
    let bad = |cause: &str| Error::decode(kind, cause, value.to_string().as_bytes());
    let text = |field: &str| value.get(field).and_then(Value::as_str);
    if SERVER_CALLS.contains(&kind) {
        let (Some(id), Some(name)) = (text("id"), text("name")) else {
            return Err(bad("no string id and name"));
        };
        let mut call = ServerToolCall::new(
            Some(id.to_owned()),
            name,
            Some(value.get("input").cloned().unwrap_or_else(|| json!({}))),
        );
        for (key, field) in value.as_object().into_iter().flatten() {
            if !matches!(key.as_str(), "id" | "name" | "input") {
                call.extra.insert(key.clone(), field.clone());
            }
        }
        return Ok(Some(ServerBlock::Call(call)));
    }
    match kind.strip_suffix(RESULT_SUFFIX) {
        Some(name) if !name.is_empty() => {
            let Some(tool_use_id) = text("tool_use_id") else {
                return Err(bad("no string tool_use_id"));
            };
            Ok(Some(ServerBlock::Result {
                tool_use_id: tool_use_id.to_owned(),
                name: name.to_owned(),
                block: value.clone(),
            }))
        }
        _ => Ok(None),
    }
}

/// Adds a server-tool block to the message's calls.
pub(super) fn add_server_block(
    calls: &mut ServerToolCalls,
    block: ServerBlock,
    raw: &[u8],
) -> Result<(), Error> {
    match block {
        ServerBlock::Call(call) => calls.call(call, raw),
        ServerBlock::Result {
            tool_use_id,
            name,
            block,
        } => calls.result_for(&tool_use_id, &name, block, raw),
    }
}

/// A `thinking` block as kept in `thinking_blocks`.
pub(crate) fn thinking_block(thinking: &str, signature: &str) -> Value {
    json!({"type": "thinking", "thinking": thinking, "signature": signature})
}

/// A `redacted_thinking` block as kept in `thinking_blocks`.
pub(crate) fn redacted_thinking_block(data: &str) -> Value {
    json!({"type": "redacted_thinking", "data": data})
}

/// Anthropic's token counts. In a stream, `message_start` has the input counts and
/// `message_delta` the cumulative totals (output, and input again when server tools ran):
/// fields present in a later report replace earlier ones ([`AnthropicUsage::update`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(super) struct AnthropicUsage {
    #[serde(default)]
    pub(super) input_tokens: Option<u64>,
    #[serde(default)]
    pub(super) output_tokens: Option<u64>,
    #[serde(default)]
    pub(super) cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub(super) cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    pub(super) output_tokens_details: Option<OutputTokensDetails>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(super) struct OutputTokensDetails {
    #[serde(default)]
    pub(super) thinking_tokens: Option<u64>,
}

impl AnthropicUsage {
    /// Takes every count `later` reports (they are cumulative, never increments).
    pub(super) fn update(&mut self, later: &AnthropicUsage) {
        let replace = |slot: &mut Option<u64>, value: Option<u64>| {
            if value.is_some() {
                *slot = value;
            }
        };
        replace(&mut self.input_tokens, later.input_tokens);
        replace(&mut self.output_tokens, later.output_tokens);
        replace(
            &mut self.cache_creation_input_tokens,
            later.cache_creation_input_tokens,
        );
        replace(
            &mut self.cache_read_input_tokens,
            later.cache_read_input_tokens,
        );
        if later.output_tokens_details.is_some() {
            self.output_tokens_details
                .clone_from(&later.output_tokens_details);
        }
    }

    /// OpenAI's shape: `input_tokens` counts only the uncached part of the prompt, so the
    /// prompt total adds the cache reads and writes back in.
    pub(super) fn to_usage(&self) -> Usage {
        let cache_read = self.cache_read_input_tokens;
        let cache_creation = self.cache_creation_input_tokens;
        let prompt = self
            .input_tokens
            .unwrap_or(0)
            .saturating_add(cache_read.unwrap_or(0))
            .saturating_add(cache_creation.unwrap_or(0));
        let completion = self.output_tokens.unwrap_or(0);
        let mut usage = Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt.saturating_add(completion),
            ..Usage::default()
        };
        if cache_read.is_some() || cache_creation.is_some() {
            usage.prompt_tokens_details = Some(PromptTokensDetails {
                cached_tokens: Some(cache_read.unwrap_or(0)),
                cache_creation_tokens: Some(cache_creation.unwrap_or(0)),
                ..PromptTokensDetails::default()
            });
        }
        let thinking = self
            .output_tokens_details
            .as_ref()
            .and_then(|details| details.thinking_tokens);
        if let Some(thinking) = thinking {
            usage.completion_tokens_details = Some(CompletionTokensDetails {
                reasoning_tokens: Some(thinking),
                ..CompletionTokensDetails::default()
            });
        }
        usage
    }
}

/// OpenAI's finish reason for Anthropic's `stop_reason`. `tool_use` means `tool_calls` only
/// when the model called a caller's tool; a call of the `response_format` tool is the
/// answer itself (`stop`). `pause_turn` (a server-tool loop paused) and reasons added later
/// are kept as `Other`.
pub(super) fn finish_reason(stop_reason: &str, called_tools: bool) -> FinishReason {
    match stop_reason {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" if called_tools => FinishReason::ToolCalls,
        "tool_use" => FinishReason::Stop,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// The marker of a whole reply.
static MESSAGE: Marker = Marker::new(
    "Anthropic",
    "message",
    "`type: \"message\"` and `content` array",
    |reply| has_type_among(reply, &["message"]) && has_array(reply, "content"),
);

/// The marker of a stream event's data.
pub(super) static STREAM_EVENT: Marker = Marker::new(
    "Anthropic",
    "stream event",
    "`type` of a Messages stream event",
    |event| {
        has_type_among(
            event,
            &[
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop",
                "ping",
                "error",
            ],
        )
    },
);

#[derive(Debug, Deserialize)]
struct MessageBody {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    content: Vec<Value>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<AnthropicUsage>,
}

/// Parses a 2xx Messages body. A body of `"type": "error"` is the error it describes.
pub(super) fn parse_chat(body: &[u8]) -> Result<ChatCompletion, Error> {
    let value: Value = crate::provider::from_json(body)
        .map_err(|e| MESSAGE.explain(body, Error::body_json("message", e, body)))?;
    if value.get("type").and_then(Value::as_str) == Some("error") {
        return Err(error_from_value(None, &HeaderMap::new(), &value, body));
    }
    MESSAGE.check(&value, body)?;
    let message: MessageBody =
        serde_json::from_value(value).map_err(|e| Error::decode("message", e, body))?;

    let mut text: Option<String> = None;
    let mut reasoning = String::new();
    let mut tool_calls = Vec::new();
    let mut thinking_blocks = Vec::new();
    let mut server = ServerToolCalls::default();
    for value in &message.content {
        if let Some(server_block) = server_block(value)? {
            add_server_block(&mut server, server_block, body)?;
            continue;
        }
        match block(value)? {
            Some(Block::Text { text: piece }) if !piece.is_empty() => {
                text.get_or_insert_with(String::new).push_str(&piece);
            }
            Some(Block::ToolUse { id, name, input }) => {
                let arguments = input_json(&input);
                if is_json_tool(&name) {
                    text.get_or_insert_with(String::new).push_str(&arguments);
                } else {
                    tool_calls.push(ToolCall::function(id, name, arguments));
                }
            }
            Some(Block::Thinking {
                thinking,
                signature,
            }) => {
                reasoning.push_str(&thinking);
                thinking_blocks.push(thinking_block(&thinking, &signature));
            }
            Some(Block::RedactedThinking { data }) => {
                thinking_blocks.push(redacted_thinking_block(&data));
            }
            Some(Block::Text { .. }) | None => {}
        }
    }

    let server_tool_calls = server.take_all();
    let mut extra = Extra::new();
    if !thinking_blocks.is_empty() {
        extra.insert(THINKING_BLOCKS.to_owned(), Value::Array(thinking_blocks));
    }
    let finish_reason = message
        .stop_reason
        .as_deref()
        .map(|reason| finish_reason(reason, !tool_calls.is_empty()));
    Ok(ChatCompletion {
        id: message.id,
        object: "chat.completion".to_owned(),
        created: 0,
        model: message.model,
        choices: vec![Choice {
            index: 0,
            message: Message {
                role: message.role.as_deref().map_or(Role::Assistant, Role::from),
                content: text.map(Content::Text),
                name: None,
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                tool_call_id: None,
                reasoning_content: (!reasoning.is_empty()).then_some(reasoning),
                refusal: None,
                server_tool_calls: (!server_tool_calls.is_empty()).then_some(server_tool_calls),
                extra,
            },
            finish_reason,
            logprobs: None,
            extra: Extra::new(),
        }],
        usage: message.usage.as_ref().map(AnthropicUsage::to_usage),
        system_fingerprint: None,
        service_tier: None,
        extra: Extra::new(),
        report: Default::default(),
    })
}

/// The JSON text of a tool's `input` (`{}` when absent).
pub(crate) fn input_json(input: &Value) -> String {
    match input {
        Value::Null => "{}".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn text_thinking_and_tool_use() {
        let body = br#"{
          "id": "msg_01Aq9w938a90dw8q", "type": "message", "role": "assistant",
          "model": "claude-sonnet-4-5-20250929",
          "content": [
            {"type": "thinking", "thinking": "The user wants weather.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"},
            {"type": "text", "text": "Let me check "},
            {"type": "text", "text": "the weather.", "citations": null},
            {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"location": "San Francisco, CA", "unit": "celsius"}},
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
            {"type": "tool_use", "id": "toolu_02", "name": "get_time", "input": {}}
          ],
          "stop_reason": "tool_use", "stop_sequence": null,
          "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_creation_input_tokens": 10, "cache_read_input_tokens": 1500, "service_tier": "standard"}
        }"#;
        let completion = parse_chat(body).unwrap();
        assert_eq!(completion.id, "msg_01Aq9w938a90dw8q");
        assert_eq!(completion.model, "claude-sonnet-4-5-20250929");
        assert_eq!(completion.created, 0);
        let choice = &completion.choices[0];
        assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
        let message = &choice.message;
        assert_eq!(message.text(), "Let me check the weather.");
        assert_eq!(
            message.reasoning_content.as_deref(),
            Some("The user wants weather.")
        );
        let calls = message.tool_calls.as_ref().unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].id, "toolu_01A09q90qw90lq917835lq9");
        assert_eq!(calls[0].function.name, "get_weather");
        let args: Value = serde_json::from_str(&calls[0].function.arguments).unwrap();
        assert_eq!(args["unit"], "celsius");
        assert_eq!(calls[1].function.arguments, "{}");
        let blocks = message.extra[THINKING_BLOCKS].as_array().unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            blocks[0]["signature"],
            "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
        );
        assert_eq!(blocks[1]["type"], "redacted_thinking");
        let usage = completion.usage.unwrap();
        assert_eq!(usage.prompt_tokens, 2095 + 1500 + 10);
        assert_eq!(usage.completion_tokens, 503);
        assert_eq!(usage.total_tokens, 2095 + 1500 + 10 + 503);
        assert_eq!(usage.cached_tokens(), 1500);
        assert_eq!(
            usage.prompt_tokens_details.unwrap().cache_creation_tokens,
            Some(10)
        );
    }

    #[test]
    fn tool_only_reply_has_null_content() {
        let body = br#"{"content": [{"id": "toolu_01X9", "input": {}, "name": "get_user_country", "type": "tool_use"}], "id": "msg_012T", "model": "claude-sonnet-4-5-20250929", "role": "assistant", "stop_reason": "tool_use", "stop_sequence": null, "type": "message", "usage": {"input_tokens": 445, "output_tokens": 23}}"#;
        let completion = parse_chat(body).unwrap();
        let message = completion.message().unwrap();
        assert_eq!(message.content, None);
        assert!(!message.extra.contains_key(THINKING_BLOCKS));
        assert_eq!(message.reasoning_content, None);
        let usage = completion.usage.unwrap();
        assert_eq!(usage.prompt_tokens_details, None);
        assert_eq!(usage.total_tokens, 468);
    }

    #[test]
    fn json_tool_becomes_content() {
        let body = br#"{"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-20241022",
          "content": [{"type": "tool_use", "id": "toolu_1", "name": "json_response_weather", "input": {"city": "Paris", "temp": 21}}],
          "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 5}}"#;
        let completion = parse_chat(body).unwrap();
        let choice = &completion.choices[0];
        assert_eq!(choice.finish_reason, Some(FinishReason::Stop));
        assert_eq!(choice.message.tool_calls, None);
        let json: Value = serde_json::from_str(&choice.message.text()).unwrap();
        assert_eq!(json, json!({"city": "Paris", "temp": 21}));
    }

    #[test]
    fn stop_reasons() {
        for (reason, want) in [
            ("end_turn", FinishReason::Stop),
            ("stop_sequence", FinishReason::Stop),
            ("max_tokens", FinishReason::Length),
            ("refusal", FinishReason::ContentFilter),
            ("pause_turn", FinishReason::Other("pause_turn".into())),
        ] {
            assert_eq!(finish_reason(reason, false), want);
        }
        assert_eq!(finish_reason("tool_use", true), FinishReason::ToolCalls);
    }

    #[test]
    fn empty_content_and_error_bodies() {
        let empty = parse_chat(br#"{"id":"msg_2","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":0}}"#).unwrap();
        assert_eq!(empty.choices[0].message.content, None);
        assert_eq!(empty.choices[0].finish_reason, Some(FinishReason::Stop));

        let error = parse_chat(
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        )
        .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);

        let decode = parse_chat(br#"{"type": "message", "content": [5]}"#).unwrap_err();
        assert_eq!(decode.kind(), ErrorKind::Decode);
        let bad_block =
            parse_chat(br#"{"type": "message", "content": [{"type": "tool_use", "name": 1}]}"#)
                .unwrap_err();
        assert_eq!(bad_block.kind(), ErrorKind::Decode);
        for foreign in [
            &b"<html>"[..],
            b"{\"content\": 5}",
            b"{\"type\": \"message\"}",
        ] {
            let error = parse_chat(foreign).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::UnexpectedResponse, "{error}");
        }
    }
}
