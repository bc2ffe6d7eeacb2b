//! Building the Messages request body from an OpenAI-format [`ChatRequest`].
//!
//! Rules:
//! - `system` and `developer` messages are lifted, joined by blank lines, into the top-level
//!   `system` string.
//! - Messages become content blocks. Anthropic requires user and assistant turns to
//!   alternate, so consecutive messages of the same side are merged into one turn; `tool`
//!   messages become `tool_result` blocks of a user turn (consecutive results share one).
//!   Empty text is dropped (Anthropic rejects empty text blocks), and so is a message left
//!   with no blocks. `name` on messages has no equivalent and is dropped.
//! - An assistant message's `thinking_blocks` (what [`super::response`] returns) are sent back
//!   first in its turn, then its `server_tool_calls` that came from Anthropic (see
//!   [`server_tool_blocks`]), then its text, then its `tool_calls` as `tool_use` blocks.
//!   Plain `reasoning_content` without signed blocks cannot be sent back and is dropped.
//! - `max_tokens` is required by Anthropic: the caller's `max_completion_tokens` or
//!   `max_tokens`, else a per-model default ([`default_max_tokens`]). With extended thinking
//!   it must exceed the thinking budget: when it does not, the budget is added to it (the
//!   caller's limit then bounds the answer after the thinking).
//! - `reasoning_effort` turns extended thinking on with a budget of 1024 (`minimal`, `low`),
//!   4096 (`medium`) or 16384 (`high`) tokens; `none` leaves it off.
//! - `response_format` `json_schema` / `json_object` becomes a tool named after the schema
//!   ([`JSON_TOOL`] prefix) that the model is forced to call; the response side turns that
//!   call back into `content`. With user tools also present the model must call one of them
//!   or the JSON tool (`any`); with extended thinking on (which only allows `auto`) the
//!   choice is `auto`.
//! - Anthropic rejects unknown fields, so OpenAI-only parameters (`seed`, `logprobs`,
//!   `top_logprobs`, penalties, `logit_bias`, `metadata`, `service_tier`, `stream_options`,
//!   `prediction`, …) are dropped. Of the unmodelled `extra` fields only Anthropic's own
//!   request parameters `top_k` and `thinking` (which replaces `reasoning_effort`) are sent.
//! - What cannot be expressed is an `Unsupported` error: `n > 1`, audio input, parts of
//!   unknown type, files other than PDFs and images, non-function tools. Malformed input
//!   (tool-call arguments that are not a JSON object, a tool message without
//!   `tool_call_id`) is `InvalidRequest`.

use serde_json::{json, Map, Value};

use super::response::THINKING_BLOCKS;
use crate::error::{Error, ErrorKind};
use crate::provider::data_url;
use crate::provider::turns::{self, alternating_turns, Speaker, TurnNames};
use crate::types::{
    ChatRequest, Content, ContentPart, FileInput, Message, ResponseFormat, ServerToolCall, Tool,
    ToolCall, ToolChoice,
};

/// Name (or name prefix, followed by `_` and the schema name) of the tool that stands in for
/// `response_format`. A caller's own tool must not use it: its calls would come back as
/// `content`.
pub(super) const JSON_TOOL: &str = "json_response";

/// Whether a tool name is the `response_format` stand-in.
pub(crate) fn is_json_tool(name: &str) -> bool {
    name.strip_prefix(JSON_TOOL)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('_'))
}

/// Anthropic tool names: `[a-zA-Z0-9_-]{1,64}`.
const MAX_TOOL_NAME: usize = 64;

/// `max_tokens` for an answer after thinking, when the caller gave no limit.
const ANSWER_TOKENS: u32 = 4096;

/// The largest output each model family allows, sent when the caller gives no limit.
/// First matching prefix wins; unknown models get the smallest common limit.
const MODEL_MAX_TOKENS: &[(&str, u32)] = &[
    ("claude-3-7-sonnet", 64_000),
    ("claude-3-5-", 8_192),
    ("claude-3-", 4_096),
    ("claude-sonnet-4", 64_000),
    ("claude-haiku-4", 64_000),
    ("claude-opus-4", 32_000),
];

/// The `max_tokens` sent for `model` when the caller sets none.
pub(super) fn default_max_tokens(model: &str) -> u32 {
    MODEL_MAX_TOKENS
        .iter()
        .find(|(prefix, _)| model.starts_with(prefix))
        .map_or(4_096, |(_, tokens)| *tokens)
}

/// The Messages body for `request` sent to `model`.
pub(super) fn chat_body(
    model: &str,
    request: &ChatRequest,
    stream: bool,
) -> Result<Vec<u8>, Error> {
    crate::provider::to_json(&chat_value(model, request, stream)?)
}

pub(super) fn chat_value(model: &str, request: &ChatRequest, stream: bool) -> Result<Value, Error> {
    crate::provider::one_choice_only("anthropic", request)?;
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    if let Some(system) = request.system_text().filter(|text| !text.is_empty()) {
        body.insert("system".into(), system.into());
    }
    body.insert(
        "messages".into(),
        Value::Array(messages(&request.messages)?),
    );

    let (thinking, budget) = thinking(request)?;
    let mut max_tokens = request
        .token_limit()
        .unwrap_or_else(|| default_max_tokens(model));
    if let Some(budget) = budget {
        if max_tokens <= budget {
            max_tokens = budget.saturating_add(request.token_limit().unwrap_or(ANSWER_TOKENS));
        }
    }
    body.insert("max_tokens".into(), max_tokens.into());
    if let Some(thinking) = &thinking {
        body.insert("thinking".into(), thinking.clone());
    }

    if let Some(temperature) = request.temperature {
        body.insert("temperature".into(), temperature.into());
    }
    if let Some(top_p) = request.top_p {
        body.insert("top_p".into(), top_p.into());
    }
    if let Some(top_k) = request.extra.get("top_k") {
        body.insert("top_k".into(), top_k.clone());
    }
    let stop = request
        .stop
        .as_ref()
        .map(|stop| stop.to_vec())
        .unwrap_or_default();
    if !stop.is_empty() {
        body.insert("stop_sequences".into(), stop.into());
    }
    if let Some(user) = &request.user {
        body.insert("metadata".into(), json!({ "user_id": user }));
    }
    tools(request, thinking.is_some(), &mut body)?;
    if stream {
        body.insert("stream".into(), true.into());
    }
    Ok(Value::Object(body))
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidRequest, message)
}

/// The `thinking` parameter and its budget: the caller's own `thinking` object if given,
/// else one made from `reasoning_effort`.
pub(crate) fn thinking(request: &ChatRequest) -> Result<(Option<Value>, Option<u32>), Error> {
    if let Some(explicit) = request.extra.get("thinking") {
        let budget = explicit
            .get("budget_tokens")
            .and_then(Value::as_u64)
            .filter(|_| explicit.get("type").and_then(Value::as_str) == Some("enabled"))
            .map(|budget| u32::try_from(budget).unwrap_or(u32::MAX));
        return Ok((Some(explicit.clone()), budget));
    }
    let budget: u32 = match request.reasoning_effort.as_deref() {
        None | Some("none") => return Ok((None, None)),
        Some("minimal" | "low") => 1024,
        Some("medium") => 4096,
        Some("high") => 16384,
        Some(other) => {
            return Err(Error::unsupported(format!(
                "reasoning_effort {other:?} has no Anthropic thinking budget; use minimal, low, medium, high or none"
            )))
        }
    };
    Ok((
        Some(json!({"type": "enabled", "budget_tokens": budget})),
        Some(budget),
    ))
}

/// `tools`, `tool_choice` and the `response_format` tool.
fn tools(
    request: &ChatRequest,
    thinking: bool,
    body: &mut Map<String, Value>,
) -> Result<(), Error> {
    let mut tools = request
        .tools
        .iter()
        .flatten()
        .map(tool)
        .collect::<Result<Vec<_>, _>>()?;
    let user_tools = !tools.is_empty();
    let mut choice = match &request.tool_choice {
        None => None,
        Some(ToolChoice::Auto) => Some(json!({"type": "auto"})),
        Some(ToolChoice::Required) => Some(json!({"type": "any"})),
        Some(ToolChoice::None) => Some(json!({"type": "none"})),
        Some(ToolChoice::Function(name)) => Some(json!({"type": "tool", "name": name})),
        Some(ToolChoice::Other(value)) => {
            // Anthropic's own shapes pass; OpenAI forms this version does not know cannot.
            match value.get("type").and_then(Value::as_str) {
                Some("auto" | "any" | "tool" | "none") => Some(value.clone()),
                _ => {
                    return Err(Error::unsupported(format!(
                        "tool_choice {value} has no Anthropic equivalent"
                    )))
                }
            }
        }
    };
    if let Some((name, json_tool)) = json_tool(request.response_format.as_ref()) {
        tools.push(json_tool);
        let caller_forced_tool = choice
            .as_ref()
            .is_some_and(|c| c.get("type").and_then(Value::as_str) == Some("tool"));
        choice = Some(if thinking {
            json!({"type": "auto"})
        } else if user_tools && !matches!(request.tool_choice, Some(ToolChoice::None)) {
            if caller_forced_tool {
                choice.take().unwrap_or_else(|| json!({"type": "any"}))
            } else {
                json!({"type": "any"})
            }
        } else {
            json!({"type": "tool", "name": name})
        });
    }
    if tools.is_empty() {
        // A tool_choice without tools is an error at Anthropic; OpenAI ignores it.
        return Ok(());
    }
    if request.parallel_tool_calls == Some(false) {
        let choice = choice.get_or_insert_with(|| json!({"type": "auto"}));
        if choice.get("type").and_then(Value::as_str) != Some("none") {
            if let Some(object) = choice.as_object_mut() {
                object.insert("disable_parallel_tool_use".into(), true.into());
            }
        }
    }
    body.insert("tools".into(), Value::Array(tools));
    if let Some(choice) = choice {
        body.insert("tool_choice".into(), choice);
    }
    Ok(())
}

fn tool(tool: &Tool) -> Result<Value, Error> {
    let function = crate::provider::function_tool(tool, "anthropic")?;
    let mut out = Map::new();
    out.insert("name".into(), function.name.clone().into());
    if let Some(description) = &function.description {
        out.insert("description".into(), description.clone().into());
    }
    let schema = function
        .parameters
        .clone()
        .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
    out.insert("input_schema".into(), schema);
    Ok(Value::Object(out))
}

/// The stand-in tool for a JSON `response_format`, and its name.
pub(crate) fn json_tool(format: Option<&ResponseFormat>) -> Option<(String, Value)> {
    let (name, description, schema) = match format? {
        ResponseFormat::Text => return None,
        ResponseFormat::JsonObject => (
            JSON_TOOL.to_owned(),
            "Respond with a JSON object.".to_owned(),
            json!({"type": "object"}),
        ),
        ResponseFormat::JsonSchema { json_schema } => {
            let mut name = format!("{JSON_TOOL}_");
            name.extend(
                json_schema
                    .name
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .take(MAX_TOOL_NAME - JSON_TOOL.len() - 1),
            );
            let description = json_schema.description.clone().unwrap_or_else(|| {
                "Respond with a JSON object that matches this tool's input schema.".to_owned()
            });
            let schema = json_schema
                .schema
                .clone()
                .unwrap_or_else(|| json!({"type": "object"}));
            (name, description, schema)
        }
    };
    let tool = json!({"name": name, "description": description, "input_schema": schema});
    Some((name, tool))
}

fn messages(messages: &[Message]) -> Result<Vec<Value>, Error> {
    let names = TurnNames::user_assistant("Anthropic");
    alternating_turns(messages, names, |speaker, message, at| match speaker {
        Speaker::User => content_blocks(message.content.as_ref(), at),
        Speaker::Assistant => assistant_blocks(message, at),
        Speaker::Tool => Ok(vec![tool_result(message, at)?]),
    })
}

fn assistant_blocks(message: &Message, at: usize) -> Result<Vec<Value>, Error> {
    let mut blocks = thinking_blocks(message.extra.get(THINKING_BLOCKS), at)?;
    blocks.extend(server_tool_blocks(message));
    blocks.extend(content_blocks(message.content.as_ref(), at)?);
    for call in message.tool_calls.iter().flatten() {
        blocks.push(tool_use(call, at)?);
    }
    Ok(blocks)
}

/// An assistant message's server-tool entries that came from Anthropic, as the blocks they
/// were read from (see [`super::response`]): the call block (its `type`, `id`, `name`,
/// `input` and the other fields kept on the entry) and, when the result came, the result
/// block verbatim. Anthropic wants them back as they were (a `pause_turn` reply is
/// continued by sending its blocks back). Their original places among the text are not
/// kept: they go before the message's text, where a search or a code run usually is.
///
/// Entries from other providers (Gemini's code execution, Bedrock's Nova tools, told apart
/// by their call `type` and result shape) are left out: their tool ran there and cannot be
/// replayed here; what the model made of it is in the text.
fn server_tool_blocks(message: &Message) -> Vec<Value> {
    let mut blocks = Vec::new();
    for call in message.server_tool_calls.iter().flatten() {
        let Some(call_block) = anthropic_call_block(call) else {
            continue;
        };
        let is_result = |output: &Value| {
            output
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|kind| kind.ends_with("_tool_result"))
        };
        match &call.output {
            // A paused call, its result still to come.
            None => blocks.push(call_block),
            Some(result) if is_result(result) => {
                blocks.push(call_block);
                blocks.push(result.clone());
            }
            // Bedrock's `toolResult` (its calls have the same `type`).
            Some(_) => {}
        }
    }
    blocks
}

/// The `server_tool_use` / `mcp_tool_use` block an entry was read from; `None` for an entry
/// of another provider.
fn anthropic_call_block(call: &ServerToolCall) -> Option<Value> {
    let kind = call.extra.get("type").and_then(Value::as_str)?;
    if !matches!(kind, "server_tool_use" | "mcp_tool_use") {
        return None;
    }
    let mut block = call.extra.clone();
    block.insert("id".into(), call.id.clone()?.into());
    block.insert("name".into(), call.name.clone().into());
    block.insert(
        "input".into(),
        call.input.clone().unwrap_or_else(|| json!({})),
    );
    Some(Value::Object(block))
}

/// The signed thinking blocks of an earlier reply, re-sent as Anthropic requires for
/// multi-turn extended thinking. Only the fields Anthropic defines are kept.
pub(crate) fn thinking_blocks(value: Option<&Value>, at: usize) -> Result<Vec<Value>, Error> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let bad = || {
        invalid(format!(
            "messages[{at}].{THINKING_BLOCKS}: want an array of thinking (thinking, signature) and redacted_thinking (data) blocks"
        ))
    };
    let Value::Array(blocks) = value else {
        return Err(bad());
    };
    let text = |block: &Value, field: &str| -> Result<String, Error> {
        block
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(bad)
    };
    blocks
        .iter()
        .map(|block| match block.get("type").and_then(Value::as_str) {
            Some("thinking") => Ok(json!({
                "type": "thinking",
                "thinking": text(block, "thinking")?,
                "signature": text(block, "signature")?,
            })),
            Some("redacted_thinking") => Ok(json!({
                "type": "redacted_thinking",
                "data": text(block, "data")?,
            })),
            _ => Err(bad()),
        })
        .collect()
}

fn tool_use(call: &ToolCall, at: usize) -> Result<Value, Error> {
    if call.kind != "function" {
        return Err(Error::unsupported(format!(
            "messages[{at}]: tool call type {:?} is not supported by anthropic",
            call.kind
        )));
    }
    let arguments = call.function.arguments.trim();
    let input = if arguments.is_empty() {
        json!({})
    } else {
        match serde_json::from_str::<Value>(arguments) {
            Ok(input @ Value::Object(_)) => input,
            Ok(_) => {
                return Err(invalid(format!(
                    "messages[{at}]: arguments of tool call {:?} must be a JSON object",
                    call.id
                )))
            }
            Err(e) => {
                return Err(invalid(format!(
                    "messages[{at}]: arguments of tool call {:?} are not valid JSON: {e}",
                    call.id
                )))
            }
        }
    };
    Ok(json!({"type": "tool_use", "id": call.id, "name": call.function.name, "input": input}))
}

fn tool_result(message: &Message, at: usize) -> Result<Value, Error> {
    let id = message
        .tool_call_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| invalid(format!("messages[{at}]: a tool message needs tool_call_id")))?;
    let mut block = json!({"type": "tool_result", "tool_use_id": id});
    let content = match &message.content {
        Some(Content::Text(text)) if !text.is_empty() => Some(Value::from(text.as_str())),
        Some(Content::Parts(_)) => {
            let blocks = content_blocks(message.content.as_ref(), at)?;
            (!blocks.is_empty()).then_some(Value::Array(blocks))
        }
        _ => None,
    };
    if let (Some(content), Some(object)) = (content, block.as_object_mut()) {
        object.insert("content".into(), content);
    }
    Ok(block)
}

fn content_blocks(content: Option<&Content>, at: usize) -> Result<Vec<Value>, Error> {
    turns::content_blocks(content, at, text_block, part_block)
}

fn text_block(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| json!({"type": "text", "text": text}))
}

fn part_block(part: &ContentPart, at: usize) -> Result<Option<Value>, Error> {
    match part {
        ContentPart::Text { text } => Ok(text_block(text)),
        // A refusal quoted back in history is just what the assistant said.
        ContentPart::Refusal { refusal } => Ok(text_block(refusal)),
        ContentPart::ImageUrl { image_url } => image_block(&image_url.url, at).map(Some),
        ContentPart::File { file } => file_block(file, at).map(Some),
        ContentPart::InputAudio { .. } => Err(Error::unsupported(format!(
            "messages[{at}]: anthropic does not accept audio input"
        ))),
        ContentPart::Other(value) => Err(Error::unsupported(format!(
            "messages[{at}]: content part of type {} is not supported by anthropic",
            value.get("type").unwrap_or(&Value::Null)
        ))),
    }
}

fn base64_source(media_type: &str, data: &str) -> Value {
    json!({"type": "base64", "media_type": media_type, "data": data})
}

fn image_block(url: &str, at: usize) -> Result<Value, Error> {
    let source = if let Some((media_type, data)) = data_url(url) {
        base64_source(media_type, data)
    } else if url.starts_with("https://") || url.starts_with("http://") {
        json!({"type": "url", "url": url})
    } else {
        return Err(invalid(format!(
            "messages[{at}]: an image URL must be http(s) or a base64 data: URL"
        )));
    };
    Ok(json!({"type": "image", "source": source}))
}

/// PDFs become `document` blocks and images `image` blocks; both only inline (a `file_id`
/// names an OpenAI upload Anthropic cannot see).
fn file_block(file: &FileInput, at: usize) -> Result<Value, Error> {
    let Some(file_data) = &file.file_data else {
        return Err(Error::unsupported(format!(
            "messages[{at}]: file_id references are not supported by anthropic; send file_data"
        )));
    };
    let pdf_by_name = || {
        file.filename
            .as_deref()
            .is_some_and(|name| name.to_ascii_lowercase().ends_with(".pdf"))
    };
    let (media_type, data) = match data_url(file_data) {
        Some(parts) => parts,
        None if pdf_by_name() => ("application/pdf", file_data.as_str()),
        None => {
            return Err(invalid(format!(
                "messages[{at}]: file_data must be a base64 data: URL"
            )))
        }
    };
    if media_type == "application/pdf" {
        Ok(json!({"type": "document", "source": base64_source(media_type, data)}))
    } else if media_type.starts_with("image/") {
        Ok(json!({"type": "image", "source": base64_source(media_type, data)}))
    } else {
        Err(Error::unsupported(format!(
            "messages[{at}]: files of type {media_type} are not supported by anthropic (PDFs and images are)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ImageUrl, JsonSchemaFormat, Role, Stop};

    fn body(request: &ChatRequest) -> Value {
        chat_value("claude-sonnet-4-5", request, false).unwrap()
    }

    fn error(request: &ChatRequest) -> Error {
        chat_value("claude-sonnet-4-5", request, false).unwrap_err()
    }

    fn weather() -> Tool {
        Tool::function(
            "get_weather",
            "Weather for a city",
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        )
    }

    #[test]
    fn system_lifting_and_plain_fields() {
        let mut request = ChatRequest::new("anthropic/ignored")
            .system("Be brief.")
            .message(Message::new(Role::Developer, "Answer in French."))
            .user("Hi")
            .temperature(0.2);
        request.top_p = Some(0.9);
        request.stop = Some(Stop::One("END".into()));
        request.user = Some("user-42".into());
        request.seed = Some(7);
        request.logprobs = Some(true);
        request.presence_penalty = Some(0.5);
        request.extra.insert("top_k".into(), json!(40));
        request
            .extra
            .insert("prediction".into(), json!({"type": "content"}));
        assert_eq!(
            body(&request),
            json!({
                "model": "claude-sonnet-4-5",
                "system": "Be brief.\n\nAnswer in French.",
                "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
                "max_tokens": 64000,
                "temperature": 0.2,
                "top_p": 0.9,
                "top_k": 40,
                "stop_sequences": ["END"],
                "metadata": {"user_id": "user-42"},
            })
        );
        let streamed = chat_value("claude-sonnet-4-5", &request, true).unwrap();
        assert_eq!(streamed["stream"], true);
    }

    #[test]
    fn consecutive_same_role_messages_merge() {
        let request = ChatRequest::new("x")
            .user("one")
            .user("two")
            .assistant("three")
            .assistant("")
            .assistant("four")
            .user("five");
        let messages = body(&request)["messages"].clone();
        assert_eq!(
            messages,
            json!([
                {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "three"}, {"type": "text", "text": "four"}]},
                {"role": "user", "content": [{"type": "text", "text": "five"}]},
            ])
        );
    }

    #[test]
    fn images_base64_and_url_and_pdf() {
        let request = ChatRequest::new("x").message(Message::user_parts(vec![
            ContentPart::text("What is this?"),
            ContentPart::image_url("data:image/png;base64,iVBORw0KGgo="),
            ContentPart::ImageUrl {
                image_url: ImageUrl {
                    url: "https://upload.wikimedia.org/a.jpg".into(),
                    detail: Some("high".into()),
                },
            },
            ContentPart::File {
                file: FileInput {
                    file_data: Some("data:application/pdf;base64,JVBERi0x".into()),
                    file_id: None,
                    filename: Some("a.pdf".into()),
                },
            },
        ]));
        assert_eq!(
            body(&request)["messages"][0]["content"],
            json!([
                {"type": "text", "text": "What is this?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                {"type": "image", "source": {"type": "url", "url": "https://upload.wikimedia.org/a.jpg"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}},
            ])
        );
        let bad = ChatRequest::new("x").user_with_image("?", "ftp://x/y.png");
        assert_eq!(error(&bad).kind(), ErrorKind::InvalidRequest);
    }

    #[test]
    fn tools_choice_and_parallel() {
        let mut request = ChatRequest::new("x")
            .user("Weather in Paris?")
            .tool(weather())
            .tool(Tool {
                kind: "function".into(),
                function: crate::types::FunctionDefinition {
                    name: "now".into(),
                    description: None,
                    parameters: None,
                    strict: Some(true),
                    extra: Default::default(),
                },
                extra: Default::default(),
            })
            .tool_choice(ToolChoice::Required);
        request.parallel_tool_calls = Some(false);
        let body = body(&request);
        assert_eq!(
            body["tools"],
            json!([
                {"name": "get_weather", "description": "Weather for a city", "input_schema":
                    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
                {"name": "now", "input_schema": {"type": "object", "properties": {}}},
            ])
        );
        assert_eq!(
            body["tool_choice"],
            json!({"type": "any", "disable_parallel_tool_use": true})
        );
        for (choice, want) in [
            (ToolChoice::Auto, json!({"type": "auto"})),
            (ToolChoice::None, json!({"type": "none"})),
            (
                ToolChoice::Function("get_weather".into()),
                json!({"type": "tool", "name": "get_weather"}),
            ),
            (
                ToolChoice::Other(json!({"type": "any"})),
                json!({"type": "any"}),
            ),
        ] {
            let request = ChatRequest::new("x")
                .user("q")
                .tool(weather())
                .tool_choice(choice);
            assert_eq!(self::body(&request)["tool_choice"], want);
        }
        let mut parallel_only = ChatRequest::new("x").user("q").tool(weather());
        parallel_only.parallel_tool_calls = Some(false);
        assert_eq!(
            self::body(&parallel_only)["tool_choice"],
            json!({"type": "auto", "disable_parallel_tool_use": true})
        );
        let no_tools = ChatRequest::new("x")
            .user("q")
            .tool_choice(ToolChoice::Auto);
        assert!(self::body(&no_tools).get("tool_choice").is_none());
        let odd = ChatRequest::new("x")
            .user("q")
            .tool(weather())
            .tool_choice(ToolChoice::Other(json!({"type": "allowed_tools"})));
        assert_eq!(error(&odd).kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn tool_round_trip() {
        let assistant = Message {
            tool_calls: Some(vec![
                ToolCall::function("toolu_1", "get_weather", r#"{"city": "Paris"}"#),
                ToolCall::function("toolu_2", "now", ""),
            ]),
            ..Message::assistant("Let me look.")
        };
        let request = ChatRequest::new("x")
            .user("Weather and time?")
            .message(assistant)
            .message(Message::tool("toolu_1", "21°C"))
            .message(Message::tool("toolu_2", "12:00"))
            .user("Thanks, and tomorrow?")
            .tool(weather());
        assert_eq!(
            body(&request)["messages"],
            json!([
                {"role": "user", "content": [{"type": "text", "text": "Weather and time?"}]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "now", "input": {}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "21°C"},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "12:00"},
                    {"type": "text", "text": "Thanks, and tomorrow?"},
                ]},
            ])
        );

        for arguments in ["{not json", "[1, 2]"] {
            let broken = ChatRequest::new("x").user("q").message(Message {
                tool_calls: Some(vec![ToolCall::function("t", "f", arguments)]),
                ..Message::assistant("")
            });
            assert_eq!(error(&broken).kind(), ErrorKind::InvalidRequest);
        }
        let mut orphan = Message::tool("", "x");
        orphan.tool_call_id = None;
        assert_eq!(
            error(&ChatRequest::new("x").message(orphan)).kind(),
            ErrorKind::InvalidRequest
        );
    }

    #[test]
    fn json_schema_becomes_a_forced_tool() {
        let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}});
        let request =
            ChatRequest::new("x")
                .user("Paris?")
                .response_format(ResponseFormat::JsonSchema {
                    json_schema: JsonSchemaFormat {
                        name: "city info".into(),
                        description: None,
                        schema: Some(schema.clone()),
                        strict: Some(true),
                    },
                });
        let body = body(&request);
        assert_eq!(body["tools"][0]["name"], "json_response_city_info");
        assert_eq!(body["tools"][0]["input_schema"], schema);
        assert_eq!(
            body["tool_choice"],
            json!({"type": "tool", "name": "json_response_city_info"})
        );
        assert!(is_json_tool("json_response_city_info"));
        assert!(is_json_tool(JSON_TOOL));
        assert!(!is_json_tool("json_responses"));
        assert!(!is_json_tool("get_weather"));

        let object = ChatRequest::new("x").user("q").json_mode();
        let body = self::body(&object);
        assert_eq!(
            body["tools"],
            json!([{"name": "json_response", "description": "Respond with a JSON object.", "input_schema": {"type": "object"}}])
        );
        assert_eq!(
            body["tool_choice"],
            json!({"type": "tool", "name": "json_response"})
        );

        let with_tools = ChatRequest::new("x").user("q").tool(weather()).json_mode();
        let body = self::body(&with_tools);
        assert_eq!(body["tools"].as_array().unwrap().len(), 2);
        assert_eq!(body["tool_choice"], json!({"type": "any"}));

        let long = "n".repeat(100);
        let request = ChatRequest::new("x")
            .user("q")
            .response_format(ResponseFormat::JsonSchema {
                json_schema: JsonSchemaFormat {
                    name: long,
                    description: None,
                    schema: None,
                    strict: None,
                },
            });
        assert_eq!(
            self::body(&request)["tools"][0]["name"]
                .as_str()
                .unwrap()
                .len(),
            MAX_TOOL_NAME
        );
    }

    #[test]
    fn server_tool_blocks_go_back_as_they_came() {
        // A reply with web search and a paused MCP call, as the response side reads it.
        let reply = super::super::response::parse_chat(
            br#"{"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
              "content": [
                {"type": "text", "text": "Searching."},
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "sf weather"}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [{"type": "web_search_result", "title": "T", "url": "https://x", "encrypted_content": "Eq"}]},
                {"type": "mcp_tool_use", "id": "mcptoolu_1", "name": "ask", "server_name": "wiki", "input": {}}],
              "stop_reason": "pause_turn", "usage": {"input_tokens": 1, "output_tokens": 1}}"#,
        )
        .unwrap();
        let mut assistant = reply.choices[0].message.clone();
        // An entry from another provider is left out.
        assistant
            .server_tool_calls
            .as_mut()
            .unwrap()
            .push(ServerToolCall::new(
                None,
                "code_execution",
                Some(json!({"code": "1"})),
            ));
        let mut nova = ServerToolCall::new(Some("tooluse_V".into()), "nova_code_interpreter", None);
        nova.extra.insert("type".into(), "server_tool_use".into());
        nova.output = Some(json!({"toolUseId": "tooluse_V", "content": []}));
        assistant.server_tool_calls.as_mut().unwrap().push(nova);
        let body = body(&ChatRequest::new("x").user("Weather?").message(assistant));
        assert_eq!(
            body["messages"][1]["content"],
            json!([
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "sf weather"}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [{"type": "web_search_result", "title": "T", "url": "https://x", "encrypted_content": "Eq"}]},
                {"type": "mcp_tool_use", "id": "mcptoolu_1", "name": "ask", "server_name": "wiki", "input": {}},
                {"type": "text", "text": "Searching."},
            ])
        );
    }

    #[test]
    fn thinking_blocks_go_first_in_their_turn() {
        let mut assistant = Message {
            tool_calls: Some(vec![ToolCall::function(
                "toolu_1",
                "get_weather",
                "{\"city\":\"Paris\"}",
            )]),
            reasoning_content: Some("I should call the tool.".into()),
            ..Message::assistant("Checking.")
        };
        assistant.extra.insert(
            THINKING_BLOCKS.into(),
            json!([
                {"type": "thinking", "thinking": "I should call the tool.", "signature": "EqQBsig"},
                {"type": "redacted_thinking", "data": "EmwKAhg"},
            ]),
        );
        let mut request = ChatRequest::new("x")
            .user("Weather?")
            .message(assistant)
            .message(Message::tool("toolu_1", "21°C"))
            .tool(weather());
        request.reasoning_effort = Some("medium".into());
        let body = body(&request);
        assert_eq!(
            body["messages"][1]["content"],
            json!([
                {"type": "thinking", "thinking": "I should call the tool.", "signature": "EqQBsig"},
                {"type": "redacted_thinking", "data": "EmwKAhg"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            ])
        );
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "budget_tokens": 4096})
        );

        let mut broken = Message::assistant("x");
        broken
            .extra
            .insert(THINKING_BLOCKS.into(), json!([{"type": "thinking"}]));
        assert_eq!(
            error(&ChatRequest::new("x").message(broken)).kind(),
            ErrorKind::InvalidRequest
        );
    }

    #[test]
    fn max_tokens_defaults_and_thinking_budget() {
        for (model, want) in [
            ("claude-3-haiku-20240307", 4096),
            ("claude-3-opus-latest", 4096),
            ("claude-3-5-sonnet-20241022", 8192),
            ("claude-3-5-haiku-latest", 8192),
            ("claude-3-7-sonnet-latest", 64000),
            ("claude-sonnet-4-20250514", 64000),
            ("claude-haiku-4-5", 64000),
            ("claude-opus-4-1-20250805", 32000),
            ("some-new-model", 4096),
        ] {
            let body = chat_value(model, &ChatRequest::new("x").user("q"), false).unwrap();
            assert_eq!(body["max_tokens"], want, "{model}");
        }
        let mut request = ChatRequest::new("x").user("q").max_tokens(100);
        assert_eq!(body(&request)["max_tokens"], 100);
        request.max_completion_tokens = Some(200);
        assert_eq!(body(&request)["max_tokens"], 200);

        request.reasoning_effort = Some("high".into());
        let thinking = body(&request);
        assert_eq!(thinking["thinking"]["budget_tokens"], 16384);
        assert_eq!(thinking["max_tokens"], 16384 + 200);
        let mut unlimited = ChatRequest::new("x").user("q");
        unlimited.reasoning_effort = Some("low".into());
        let body = chat_value("claude-3-7-sonnet-latest", &unlimited, false).unwrap();
        assert_eq!(body["max_tokens"], 64000);
        let body = chat_value("unknown", &unlimited, false).unwrap();
        assert_eq!(body["max_tokens"], 4096);
        unlimited.reasoning_effort = Some("high".into());
        let body = chat_value("unknown", &unlimited, false).unwrap();
        assert_eq!(body["max_tokens"], 16384 + 4096);

        unlimited.reasoning_effort = Some("extreme".into());
        assert_eq!(error(&unlimited).kind(), ErrorKind::Unsupported);
        unlimited.reasoning_effort = Some("none".into());
        assert!(self::body(&unlimited).get("thinking").is_none());
    }

    #[test]
    fn unsupported_parts_and_options() {
        let audio =
            ChatRequest::new("x").message(Message::user_parts(vec![ContentPart::InputAudio {
                input_audio: crate::types::AudioInput {
                    data: "AAA".into(),
                    format: "wav".into(),
                },
            }]));
        assert_eq!(error(&audio).kind(), ErrorKind::Unsupported);
        let other = ChatRequest::new("x").message(Message::user_parts(vec![ContentPart::Other(
            json!({"type": "hologram"}),
        )]));
        let err = error(&other);
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.message().contains("hologram"), "{err}");
        let mut n = ChatRequest::new("x").user("q");
        n.n = Some(2);
        assert_eq!(error(&n).kind(), ErrorKind::Unsupported);
        n.n = Some(1);
        assert!(chat_value("m", &n, false).is_ok());
        let file_id = ChatRequest::new("x").message(Message::user_parts(vec![ContentPart::File {
            file: FileInput {
                file_data: None,
                file_id: Some("file-1".into()),
                filename: None,
            },
        }]));
        assert_eq!(error(&file_id).kind(), ErrorKind::Unsupported);
        let function = ChatRequest::new("x").message(Message::new(Role::Function, "r"));
        assert_eq!(error(&function).kind(), ErrorKind::Unsupported);
    }
}
