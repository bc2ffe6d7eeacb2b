//! Building the Converse request body from an OpenAI-format [`ChatRequest`].
//!
//! Rules:
//! - `system` and `developer` messages become one `system` text block (joined by blank
//!   lines).
//! - Messages become content blocks; consecutive messages of the same side are merged into
//!   one turn (Converse requires alternation), `tool` messages become `toolResult` blocks of
//!   a user turn. Empty text is dropped (Converse rejects blank text blocks).
//! - An assistant message's `thinking_blocks` (the same field and shape the Anthropic adapter
//!   uses, so a conversation can move between the two) go first in its turn as
//!   `reasoningContent` blocks: `thinking` → `reasoningText` (with its `signature` when it has
//!   one), `redacted_thinking` → `redactedContent` (its `data` is the base64 text Bedrock
//!   sent). Then its `server_tool_calls` that came from Bedrock (see [`server_tool_blocks`]),
//!   then its text, then its `tool_calls` as `toolUse` blocks with their `toolUseId`.
//! - Images must be base64 `data:` URLs (Converse takes bytes, not links): `image` blocks
//!   with `format` png/jpeg/gif/webp. Files (`file_data` data URLs) become `document` blocks
//!   for PDFs and `image` blocks for images. Audio and `file_id` references are `Unsupported`.
//! - `inferenceConfig`: `maxTokens` (`max_completion_tokens` or `max_tokens`),
//!   `temperature`, `topP`, `stopSequences`. OpenAI-only parameters (seed, penalties,
//!   logprobs, …) are not sent: Converse rejects unknown fields.
//! - `toolConfig`: function tools as `toolSpec` with `inputSchema.json`; `tool_choice`
//!   auto → `{"auto":{}}`, required → `{"any":{}}`, a function → `{"tool":{"name"}}`.
//!   Converse has no "none": `tool_choice: none` with tools is `Unsupported`. Converse
//!   also refuses a history with `toolUse`/`toolResult` blocks when no tools are declared:
//!   keep sending the tools while the conversation holds tool calls (nothing is invented
//!   here to hide that).
//! - JSON mode: a JSON `response_format` is served as on Anthropic, by a forced tool named
//!   `json_response[_<schema name>]` whose call the response side turns back into `content`
//!   (Converse has no JSON mode of its own for most models, and tool use works on all
//!   tool-capable ones). With extended thinking on the choice is `auto` (Claude refuses a
//!   forced tool while thinking).
//! - Reasoning: `reasoning_effort` on a Claude model (`anthropic.` in the id) becomes
//!   `additionalModelRequestFields.thinking` with Anthropic's budgets, and `maxTokens` grows
//!   past the budget when it would not exceed it; on other models it is `Unsupported` (their
//!   reasoning switches differ per model: pass them yourself). The caller's own
//!   `additionalModelRequestFields` (a field of the request's `extra`) is sent as given and
//!   wins over the generated `thinking`.
//! - `n > 1` is `Unsupported`.

use serde_json::{json, Map, Value};

use crate::error::{Error, ErrorKind};
use crate::provider::anthropic;
use crate::provider::turns::{self, alternating_turns, Speaker, TurnNames};
use crate::types::{
    ChatRequest, Content, ContentPart, FileInput, Message, Tool, ToolCall, ToolChoice,
};

/// `maxTokens` for the answer after thinking when the caller gave no limit.
const ANSWER_TOKENS: u32 = 4096;

/// The Converse body for `request` sent to `model`.
pub(super) fn chat_body(model: &str, request: &ChatRequest) -> Result<Vec<u8>, Error> {
    crate::provider::to_json(&chat_value(model, request)?)
}

pub(super) fn chat_value(model: &str, request: &ChatRequest) -> Result<Value, Error> {
    crate::provider::one_choice_only("bedrock", request)?;
    let mut body = Map::new();
    if let Some(system) = request.system_text().filter(|text| !text.is_empty()) {
        body.insert("system".into(), json!([{ "text": system }]));
    }
    body.insert(
        "messages".into(),
        Value::Array(messages(&request.messages)?),
    );

    let mut additional = match request.extra.get("additionalModelRequestFields") {
        None => Map::new(),
        Some(Value::Object(fields)) => fields.clone(),
        Some(other) => {
            return Err(invalid(format!(
                "additionalModelRequestFields must be an object, not {other}"
            )))
        }
    };
    let mut budget = None;
    if request.reasoning_effort.is_some() && !additional.contains_key("thinking") {
        if !model.contains("anthropic.") {
            if request.reasoning_effort.as_deref() != Some("none") {
                return Err(Error::unsupported(format!(
                    "bedrock: reasoning_effort is translated for Claude models only; for {model} pass the model's own switch in additionalModelRequestFields"
                )));
            }
        } else if let (Some(thinking), found) = anthropic::thinking(request)? {
            budget = found;
            additional.insert("thinking".into(), thinking);
        }
    }

    let mut inference = Map::new();
    let mut max_tokens = request.token_limit();
    if let Some(budget) = budget {
        if max_tokens.is_none_or(|limit| limit <= budget) {
            max_tokens = Some(budget.saturating_add(max_tokens.unwrap_or(ANSWER_TOKENS)));
        }
    }
    if let Some(max_tokens) = max_tokens {
        inference.insert("maxTokens".into(), max_tokens.into());
    }
    if let Some(temperature) = request.temperature {
        inference.insert("temperature".into(), temperature.into());
    }
    if let Some(top_p) = request.top_p {
        inference.insert("topP".into(), top_p.into());
    }
    let stop = request
        .stop
        .as_ref()
        .map(|stop| stop.to_vec())
        .unwrap_or_default();
    if !stop.is_empty() {
        inference.insert("stopSequences".into(), stop.into());
    }
    if !inference.is_empty() {
        body.insert("inferenceConfig".into(), Value::Object(inference));
    }
    if let Some(tool_config) = tool_config(request, budget.is_some())? {
        body.insert("toolConfig".into(), tool_config);
    }
    if !additional.is_empty() {
        body.insert(
            "additionalModelRequestFields".into(),
            Value::Object(additional),
        );
    }
    Ok(Value::Object(body))
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidRequest, message)
}

/// `toolConfig`: the caller's tools, the `response_format` tool and the choice.
fn tool_config(request: &ChatRequest, thinking: bool) -> Result<Option<Value>, Error> {
    let mut tools = request
        .tools
        .iter()
        .flatten()
        .map(tool_spec)
        .collect::<Result<Vec<_>, _>>()?;
    let user_tools = !tools.is_empty();
    let mut choice = match &request.tool_choice {
        None | Some(ToolChoice::Auto) => None,
        Some(ToolChoice::Required) => Some(json!({"any": {}})),
        Some(ToolChoice::Function(name)) => Some(json!({"tool": {"name": name}})),
        Some(ToolChoice::None) if !user_tools => None,
        Some(ToolChoice::None) => {
            return Err(Error::unsupported(
                "bedrock Converse has no tool_choice \"none\": leave the tools out instead",
            ))
        }
        Some(ToolChoice::Other(value)) => match value.as_object() {
            Some(object)
                if object.len() == 1
                    && ["auto", "any", "tool"]
                        .iter()
                        .any(|k| object.contains_key(*k)) =>
            {
                Some(value.clone())
            }
            _ => {
                return Err(Error::unsupported(format!(
                    "tool_choice {value} has no Bedrock equivalent"
                )))
            }
        },
    };
    if let Some((name, json_tool)) = anthropic::json_tool(request.response_format.as_ref()) {
        tools.push(json!({"toolSpec": {
            "name": name,
            "description": json_tool["description"],
            "inputSchema": {"json": json_tool["input_schema"]},
        }}));
        choice = if thinking {
            None
        } else if user_tools {
            choice.or(Some(json!({"any": {}})))
        } else {
            Some(json!({"tool": {"name": name}}))
        };
    }
    if tools.is_empty() {
        return Ok(None);
    }
    let mut config = Map::new();
    config.insert("tools".into(), Value::Array(tools));
    config.insert("toolChoice".into(), choice.unwrap_or(json!({"auto": {}})));
    Ok(Some(Value::Object(config)))
}

fn tool_spec(tool: &Tool) -> Result<Value, Error> {
    let function = crate::provider::function_tool(tool, "bedrock")?;
    let mut spec = Map::new();
    spec.insert("name".into(), function.name.clone().into());
    if let Some(description) = function.description.as_ref().filter(|d| !d.is_empty()) {
        spec.insert("description".into(), description.clone().into());
    }
    let schema = function
        .parameters
        .clone()
        .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
    spec.insert("inputSchema".into(), json!({ "json": schema }));
    Ok(json!({ "toolSpec": spec }))
}

fn messages(messages: &[Message]) -> Result<Vec<Value>, Error> {
    let names = TurnNames::user_assistant("Bedrock");
    alternating_turns(messages, names, |speaker, message, at| match speaker {
        Speaker::User => content_blocks(message.content.as_ref(), at),
        Speaker::Assistant => assistant_blocks(message, at),
        Speaker::Tool => Ok(vec![tool_result(message, at)?]),
    })
}

fn assistant_blocks(message: &Message, at: usize) -> Result<Vec<Value>, Error> {
    let mut blocks: Vec<Value> =
        anthropic::thinking_blocks(message.extra.get(anthropic::THINKING_BLOCKS), at)?
            .iter()
            .map(reasoning_block)
            .collect();
    blocks.extend(server_tool_blocks(message));
    blocks.extend(content_blocks(message.content.as_ref(), at)?);
    for call in message.tool_calls.iter().flatten() {
        blocks.push(tool_use(call, at)?);
    }
    Ok(blocks)
}

/// An assistant message's server-tool entries that came from Bedrock (see
/// [`super::response`]: a call whose `type` was kept and whose `output` is the `toolResult`
/// naming it), sent back as the `toolUse` and `toolResult` blocks they were read from, as
/// AWS's Nova examples carry them in the history. They go before the message's text (their
/// places among it are not kept). Other entries are left out: a call without its result, or
/// another provider's (Anthropic's web search, Gemini's code execution), cannot be replayed
/// here; what the model made of it is in the text.
fn server_tool_blocks(message: &Message) -> Vec<Value> {
    let mut blocks = Vec::new();
    for call in message.server_tool_calls.iter().flatten() {
        let (Some(id), Some(result)) = (&call.id, &call.output) else {
            continue;
        };
        let answers = result.get("toolUseId").and_then(Value::as_str) == Some(id.as_str());
        if !answers || call.extra.get("type").and_then(Value::as_str).is_none() {
            continue;
        }
        let mut tool_use = call.extra.clone();
        tool_use.insert("toolUseId".into(), id.clone().into());
        tool_use.insert("name".into(), call.name.clone().into());
        tool_use.insert(
            "input".into(),
            call.input.clone().unwrap_or_else(|| json!({})),
        );
        blocks.push(json!({ "toolUse": tool_use }));
        blocks.push(json!({ "toolResult": result }));
    }
    blocks
}

/// A validated thinking block (Anthropic shape) as a Converse `reasoningContent` block.
fn reasoning_block(block: &Value) -> Value {
    let text = |field: &str| block.get(field).and_then(Value::as_str).unwrap_or_default();
    if block.get("type").and_then(Value::as_str) == Some("redacted_thinking") {
        return json!({"reasoningContent": {"redactedContent": text("data")}});
    }
    let mut reasoning = Map::new();
    reasoning.insert("text".into(), text("thinking").into());
    if !text("signature").is_empty() {
        reasoning.insert("signature".into(), text("signature").into());
    }
    json!({"reasoningContent": {"reasoningText": reasoning}})
}

fn tool_use(call: &ToolCall, at: usize) -> Result<Value, Error> {
    if call.kind != "function" {
        return Err(Error::unsupported(format!(
            "messages[{at}]: tool call type {:?} is not supported by bedrock",
            call.kind
        )));
    }
    let arguments = call.function.arguments.trim();
    let input = if arguments.is_empty() {
        json!({})
    } else {
        match serde_json::from_str::<Value>(arguments) {
            Ok(input @ Value::Object(_)) => input,
            _ => {
                return Err(invalid(format!(
                    "messages[{at}]: arguments of tool call {:?} must be a JSON object",
                    call.id
                )))
            }
        }
    };
    Ok(json!({"toolUse": {"toolUseId": call.id, "name": call.function.name, "input": input}}))
}

fn tool_result(message: &Message, at: usize) -> Result<Value, Error> {
    let id = message
        .tool_call_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| invalid(format!("messages[{at}]: a tool message needs tool_call_id")))?;
    let mut content = content_blocks(message.content.as_ref(), at)?;
    if content.is_empty() {
        // Converse requires at least one block in a tool result.
        content.push(json!({"text": ""}));
    }
    Ok(json!({"toolResult": {"toolUseId": id, "content": content}}))
}

fn content_blocks(content: Option<&Content>, at: usize) -> Result<Vec<Value>, Error> {
    turns::content_blocks(content, at, text_block, part_block)
}

fn text_block(text: &str) -> Option<Value> {
    (!text.trim().is_empty()).then(|| json!({ "text": text }))
}

fn part_block(part: &ContentPart, at: usize) -> Result<Option<Value>, Error> {
    match part {
        ContentPart::Text { text } => Ok(text_block(text)),
        ContentPart::Refusal { refusal } => Ok(text_block(refusal)),
        ContentPart::ImageUrl { image_url } => {
            let Some((media_type, data)) = crate::provider::data_url(&image_url.url) else {
                return Err(Error::unsupported(format!(
                    "messages[{at}]: bedrock takes images as base64 data: URLs, not links"
                )));
            };
            image_block(media_type, data, at).map(Some)
        }
        ContentPart::File { file } => file_block(file, at).map(Some),
        ContentPart::InputAudio { .. } => Err(Error::unsupported(format!(
            "messages[{at}]: bedrock Converse does not accept audio input"
        ))),
        ContentPart::Other(value) => Err(Error::unsupported(format!(
            "messages[{at}]: content part of type {} is not supported by bedrock",
            value.get("type").unwrap_or(&Value::Null)
        ))),
    }
}

fn image_block(media_type: &str, data: &str, at: usize) -> Result<Value, Error> {
    let format = match media_type {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        other => {
            return Err(Error::unsupported(format!(
                "messages[{at}]: bedrock accepts png, jpeg, gif and webp images, not {other}"
            )))
        }
    };
    Ok(json!({"image": {"format": format, "source": {"bytes": data}}}))
}

fn file_block(file: &FileInput, at: usize) -> Result<Value, Error> {
    let Some((media_type, data)) = file
        .file_data
        .as_deref()
        .and_then(crate::provider::data_url)
    else {
        return Err(Error::unsupported(format!(
            "messages[{at}]: bedrock takes files as base64 data: URLs in file_data"
        )));
    };
    if media_type.starts_with("image/") {
        return image_block(media_type, data, at);
    }
    if media_type != "application/pdf" {
        return Err(Error::unsupported(format!(
            "messages[{at}]: files of type {media_type} are not supported by bedrock (PDFs and images are)"
        )));
    }
    // Document names allow letters, digits, spaces, hyphens, parentheses and brackets.
    let name: String = file
        .filename
        .as_deref()
        .unwrap_or("document")
        .trim_end_matches(".pdf")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " -()[]".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    Ok(json!({"document": {"format": "pdf", "name": name, "source": {"bytes": data}}}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ResponseFormat;

    fn weather() -> Tool {
        Tool::function(
            "get_weather",
            "Weather in a city",
            json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        )
    }

    fn body(model: &str, request: &ChatRequest) -> Value {
        chat_value(model, request).unwrap()
    }

    #[test]
    fn system_messages_inference_config() {
        let mut request = ChatRequest::new("bedrock/x")
            .system("Be brief.")
            .user("Hi")
            .user("Again");
        request.max_tokens = Some(100);
        request.temperature = Some(0.5);
        request.top_p = Some(0.9);
        request.stop = Some(crate::types::Stop::One("END".into()));
        request.seed = Some(7);
        let body = body("amazon.nova-micro-v1:0", &request);
        assert_eq!(
            body,
            json!({
                "system": [{"text": "Be brief."}],
                "messages": [{"role": "user", "content": [{"text": "Hi"}, {"text": "Again"}]}],
                "inferenceConfig": {"maxTokens": 100, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]},
            })
        );
    }

    #[test]
    fn images_documents_and_unsupported_parts() {
        let message: Message = serde_json::from_value(json!({"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "report v2.pdf"}},
        ]}))
        .unwrap();
        let request = ChatRequest::new("bedrock/x").message(message);
        assert_eq!(
            body("m", &request)["messages"][0]["content"],
            json!([
                {"text": "What is this?"},
                {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}},
                {"document": {"format": "pdf", "name": "report v2", "source": {"bytes": "JVBERi0="}}},
            ])
        );
        let link: Message = serde_json::from_value(json!({"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}))
        .unwrap();
        let error = chat_value("m", &ChatRequest::new("x").message(link)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn tools_and_choices() {
        let mut request = ChatRequest::new("x").user("Weather?").tool(weather());
        let config = body("m", &request)["toolConfig"].clone();
        assert_eq!(
            config,
            json!({"tools": [{"toolSpec": {"name": "get_weather", "description": "Weather in a city",
                "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}}}],
                "toolChoice": {"auto": {}}})
        );
        request.tool_choice = Some(ToolChoice::Required);
        assert_eq!(
            body("m", &request)["toolConfig"]["toolChoice"],
            json!({"any": {}})
        );
        request.tool_choice = Some(ToolChoice::Function("get_weather".into()));
        assert_eq!(
            body("m", &request)["toolConfig"]["toolChoice"],
            json!({"tool": {"name": "get_weather"}})
        );
        request.tool_choice = Some(ToolChoice::None);
        assert_eq!(
            chat_value("m", &request).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }

    #[test]
    fn json_mode_is_a_forced_tool() {
        let mut request = ChatRequest::new("x").user("A city as JSON");
        request.response_format = Some(ResponseFormat::JsonObject);
        let body = body("m", &request);
        assert_eq!(
            body["toolConfig"]["toolChoice"],
            json!({"tool": {"name": "json_response"}})
        );
        assert_eq!(
            body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"],
            json!({"json": {"type": "object"}})
        );
    }

    #[test]
    fn reasoning_for_claude_only_and_passthrough() {
        let mut request = ChatRequest::new("x").user("Think");
        request.reasoning_effort = Some("medium".into());
        request.max_tokens = Some(1000);
        let body = body("us.anthropic.claude-sonnet-4-20250514-v1:0", &request);
        assert_eq!(
            body["additionalModelRequestFields"],
            json!({"thinking": {"type": "enabled", "budget_tokens": 4096}})
        );
        assert_eq!(body["inferenceConfig"]["maxTokens"], 5096);
        assert_eq!(
            chat_value("amazon.nova-micro-v1:0", &request)
                .unwrap_err()
                .kind(),
            ErrorKind::Unsupported
        );
        request.extra.insert(
            "additionalModelRequestFields".into(),
            json!({"reasoning_config": {"type": "enabled"}, "thinking": {"type": "disabled"}}),
        );
        let body = chat_value("amazon.nova-micro-v1:0", &request).unwrap();
        assert_eq!(
            body["additionalModelRequestFields"],
            json!({"reasoning_config": {"type": "enabled"}, "thinking": {"type": "disabled"}})
        );
    }

    /// An OpenAI conversation with a tool call, its result and a follow-up keeps every id,
    /// name, argument and reasoning signature.
    #[test]
    fn nova_code_interpreter_goes_back_as_it_came() {
        let reply = super::super::response::parse_chat(
            json!({"output": {"message": {"role": "assistant", "content": [
                {"toolUse": {"input": {"snippet": "1234 * 5678"}, "name": "nova_code_interpreter",
                    "toolUseId": "tooluse_V", "type": "server_tool_use"}},
                {"toolResult": {"content": [{"json": {"stdOut": "7006652", "exitCode": 0}}],
                    "status": "success", "toolUseId": "tooluse_V", "type": "nova_code_interpreter_result"}},
                {"text": "7006652."}]}}, "stopReason": "end_turn"})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        let mut assistant = reply.choices[0].message.clone();
        // Another provider's entry is left out.
        assistant
            .server_tool_calls
            .as_mut()
            .unwrap()
            .push(crate::types::ServerToolCall::new(
                Some("srvtoolu_1".into()),
                "web_search",
                None,
            ));
        let request = ChatRequest::new("x")
            .user("1234 * 5678?")
            .message(assistant)
            .user("Thanks");
        let value = body("us.amazon.nova-2-lite-v1:0", &request);
        assert_eq!(
            value["messages"][1]["content"],
            json!([
                {"toolUse": {"input": {"snippet": "1234 * 5678"}, "name": "nova_code_interpreter",
                    "toolUseId": "tooluse_V", "type": "server_tool_use"}},
                {"toolResult": {"content": [{"json": {"stdOut": "7006652", "exitCode": 0}}],
                    "status": "success", "toolUseId": "tooluse_V", "type": "nova_code_interpreter_result"}},
                {"text": "7006652."}
            ])
        );
    }

    #[test]
    fn tool_round_trip_history() {
        let assistant: Message = serde_json::from_value(json!({
            "role": "assistant", "content": null,
            "tool_calls": [{"id": "tooluse_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}],
            "thinking_blocks": [
                {"type": "thinking", "thinking": "Use the tool.", "signature": "sig=="},
                {"type": "redacted_thinking", "data": "UkVEQUNURUQ="}],
        }))
        .unwrap();
        let request = ChatRequest::new("x")
            .user("Weather in Paris?")
            .tool(weather())
            .message(assistant)
            .message(Message::tool("tooluse_1", "21°C"))
            .user("And tomorrow?");
        let body = body("m", &request);
        assert_eq!(
            body["messages"],
            json!([
                {"role": "user", "content": [{"text": "Weather in Paris?"}]},
                {"role": "assistant", "content": [
                    {"reasoningContent": {"reasoningText": {"text": "Use the tool.", "signature": "sig=="}}},
                    {"reasoningContent": {"redactedContent": "UkVEQUNURUQ="}},
                    {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}}]},
                {"role": "user", "content": [
                    {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "21°C"}]}},
                    {"text": "And tomorrow?"}]},
            ])
        );
    }
}
