//! Building the Cohere v2 chat and embed bodies from OpenAI-format requests.
//!
//! Rules:
//! - Roles map one to one: `system` (and `developer`) → `system`, `user`, `assistant`, `tool`
//!   (with `tool_call_id`). Text content stays a string; content parts become Cohere's
//!   `text` and `image_url` parts (vision models take `data:` and `https:` URLs as OpenAI
//!   does). Audio, files and unknown parts are `Unsupported`.
//! - An assistant message's `tool_calls` pass as they are (Cohere v2 uses OpenAI's shape). Its
//!   `reasoning_content` is sent back as `tool_plan` when it called tools: that is where the
//!   response side puts Cohere's plan (see [`super::response`]).
//! - Tools pass as OpenAI function tools. `tool_choice` `required` → `REQUIRED`, `none` →
//!   `NONE`, `auto` → omitted (Cohere's default); forcing one named function has no Cohere
//!   equivalent and is `Unsupported`.
//! - `response_format` `json_object` → `{"type": "json_object"}`; `json_schema` →
//!   `{"type": "json_object", "json_schema": <schema>}`.
//! - Parameters: `temperature`, `top_p` → `p`, `max_tokens`/`max_completion_tokens` →
//!   `max_tokens`, `stop` → `stop_sequences`, `seed`, `frequency_penalty`,
//!   `presence_penalty`; from `extra`: `k` (or `top_k`), `safety_mode`, `priority`,
//!   `strict_tools`, `thinking`. `reasoning_effort` `none` → `thinking: {type: disabled}`,
//!   others → enabled with a token budget (1024 / 4096 / 16384).
//! - Retrieval-augmented generation is not translated: a request that carries `documents` or
//!   `citation_options` in `extra` is `Unsupported` rather than silently answered without
//!   them. `n > 1` is `Unsupported`. Other OpenAI-only fields are dropped.
//! - Embeddings: `texts`, `input_type` (`extra.input_type`, default `search_document`),
//!   `embedding_types: ["float"]`, `truncate` and `output_dimension` (from `dimensions`)
//!   when given. Token input and `encoding_format: base64` are `Unsupported`.

use serde_json::{json, Map, Value};

use crate::error::{Error, ErrorKind};
use crate::types::{
    ChatRequest, Content, ContentPart, EmbeddingRequest, Message, ResponseFormat, Role, ToolChoice,
};

/// `input_type` when the caller names none: embeddings are most often made to be stored and
/// searched (Cohere's other types: `search_query`, `classification`, `clustering`).
pub const DEFAULT_INPUT_TYPE: &str = "search_document";

/// Fields of `extra` passed to Cohere as they are.
const PASSED_EXTRA: &[&str] = &["k", "safety_mode", "priority", "strict_tools", "thinking"];

/// Fields of `extra` that ask for retrieval-augmented generation, which is not translated.
const RAG_FIELDS: &[&str] = &["documents", "citation_options"];

/// The v2 chat body for `request` sent to `model`.
pub(super) fn chat_body(
    model: &str,
    request: &ChatRequest,
    stream: bool,
) -> Result<Vec<u8>, Error> {
    crate::provider::to_json(&chat_value(model, request, stream)?)
}

pub(super) fn chat_value(model: &str, request: &ChatRequest, stream: bool) -> Result<Value, Error> {
    if let Some(field) = RAG_FIELDS.iter().find(|f| request.extra.contains_key(**f)) {
        return Err(Error::unsupported(format!(
            "cohere: `{field}` (retrieval-augmented generation) is not supported by this adapter"
        )));
    }
    crate::provider::one_choice_only("cohere", request)?;
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    let messages = request
        .messages
        .iter()
        .enumerate()
        .map(|(at, message)| message_value(message, at))
        .collect::<Result<Vec<_>, _>>()?;
    body.insert("messages".into(), Value::Array(messages));
    if let Some(tools) = request.tools.as_ref().filter(|tools| !tools.is_empty()) {
        for tool in tools {
            crate::provider::function_tool(tool, "cohere")?;
        }
        let tools = serde_json::to_value(tools).map_err(|e| {
            Error::new(
                ErrorKind::InvalidRequest,
                format!("cannot serialize tools: {e}"),
            )
        })?;
        body.insert("tools".into(), tools);
        match &request.tool_choice {
            None | Some(ToolChoice::Auto) => {}
            Some(ToolChoice::Required) => {
                body.insert("tool_choice".into(), "REQUIRED".into());
            }
            Some(ToolChoice::None) => {
                body.insert("tool_choice".into(), "NONE".into());
            }
            Some(other) => {
                return Err(Error::unsupported(format!(
                    "tool_choice {} has no Cohere equivalent (REQUIRED and NONE do)",
                    serde_json::to_value(other).unwrap_or_default()
                )))
            }
        }
    }
    match &request.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            body.insert("response_format".into(), json!({"type": "json_object"}));
        }
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let mut format = json!({"type": "json_object"});
            if let (Some(schema), Some(object)) = (&json_schema.schema, format.as_object_mut()) {
                object.insert("json_schema".into(), schema.clone());
            }
            body.insert("response_format".into(), format);
        }
    }
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(value) = value {
            body.insert(name.into(), value);
        }
    };
    put("temperature", request.temperature.map(Value::from));
    put("p", request.top_p.map(Value::from));
    put("max_tokens", request.token_limit().map(Value::from));
    put(
        "stop_sequences",
        request
            .stop
            .as_ref()
            .map(|stop| stop.to_vec())
            .filter(|stop| !stop.is_empty())
            .map(Value::from),
    );
    put("seed", request.seed.map(Value::from));
    put(
        "frequency_penalty",
        request.frequency_penalty.map(Value::from),
    );
    put(
        "presence_penalty",
        request.presence_penalty.map(Value::from),
    );
    put("thinking", thinking(request.reasoning_effort.as_deref())?);
    put("k", request.extra.get("top_k").cloned());
    for field in PASSED_EXTRA {
        put(field, request.extra.get(*field).cloned());
    }
    if stream {
        body.insert("stream".into(), true.into());
    }
    Ok(Value::Object(body))
}

/// Cohere's `thinking` parameter for an OpenAI `reasoning_effort`.
fn thinking(effort: Option<&str>) -> Result<Option<Value>, Error> {
    let budget = match effort {
        None => return Ok(None),
        Some("none") => return Ok(Some(json!({"type": "disabled"}))),
        Some("minimal" | "low") => 1024,
        Some("medium") => 4096,
        Some("high") => 16384,
        Some(other) => {
            return Err(Error::unsupported(format!(
                "reasoning_effort {other:?} has no Cohere thinking budget; use minimal, low, medium, high or none"
            )))
        }
    };
    Ok(Some(json!({"type": "enabled", "token_budget": budget})))
}

fn message_value(message: &Message, at: usize) -> Result<Value, Error> {
    let role = match &message.role {
        Role::System | Role::Developer => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
        other => {
            return Err(Error::unsupported(format!(
                "messages[{at}]: role {other:?} has no Cohere equivalent"
            )))
        }
    };
    let mut out = Map::new();
    out.insert("role".into(), role.into());
    if let Some(content) = content(message.content.as_ref(), at)? {
        out.insert("content".into(), content);
    }
    match &message.role {
        Role::Assistant => {
            if let Some(calls) = message.tool_calls.as_ref().filter(|c| !c.is_empty()) {
                let calls = calls
                    .iter()
                    .map(|call| {
                        json!({"id": call.id, "type": "function",
                               "function": {"name": call.function.name, "arguments": call.function.arguments}})
                    })
                    .collect();
                out.insert("tool_calls".into(), Value::Array(calls));
                if let Some(plan) = message
                    .reasoning_content
                    .as_ref()
                    .filter(|plan| !plan.is_empty())
                {
                    out.insert("tool_plan".into(), plan.clone().into());
                }
            }
        }
        Role::Tool => {
            let id = message
                .tool_call_id
                .as_deref()
                .filter(|id| !id.is_empty())
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidRequest,
                        format!("messages[{at}]: a tool message needs tool_call_id"),
                    )
                })?;
            out.insert("tool_call_id".into(), id.into());
            // Cohere requires content on tool results.
            out.entry("content").or_insert_with(|| "".into());
        }
        _ => {}
    }
    Ok(Value::Object(out))
}

fn content(content: Option<&Content>, at: usize) -> Result<Option<Value>, Error> {
    match content {
        None => Ok(None),
        Some(Content::Text(text)) => Ok(Some(text.as_str().into())),
        Some(Content::Parts(parts)) => parts
            .iter()
            .map(|part| match part {
                ContentPart::Text { text } => Ok(json!({"type": "text", "text": text})),
                ContentPart::Refusal { refusal } => Ok(json!({"type": "text", "text": refusal})),
                ContentPart::ImageUrl { image_url } => {
                    let mut url = json!({"url": image_url.url});
                    if let (Some(detail), Some(object)) = (&image_url.detail, url.as_object_mut())
                    {
                        object.insert("detail".into(), detail.clone().into());
                    }
                    Ok(json!({"type": "image_url", "image_url": url}))
                }
                other => Err(Error::unsupported(format!(
                    "messages[{at}]: content part {} is not supported by cohere (text and image_url are)",
                    part_type(other)
                ))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|parts| Some(Value::Array(parts))),
    }
}

fn part_type(part: &ContentPart) -> String {
    match part {
        ContentPart::InputAudio { .. } => "input_audio".to_owned(),
        ContentPart::File { .. } => "file".to_owned(),
        ContentPart::Other(value) => value.get("type").unwrap_or(&Value::Null).to_string(),
        _ => "?".to_owned(),
    }
}

/// The v2 embed body.
pub(super) fn embed_body(model: &str, request: &EmbeddingRequest) -> Result<Vec<u8>, Error> {
    let texts = request.float_texts("cohere")?;
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("texts".into(), json!(texts));
    let input_type = request
        .extra
        .get("input_type")
        .cloned()
        .unwrap_or_else(|| DEFAULT_INPUT_TYPE.into());
    body.insert("input_type".into(), input_type);
    body.insert("embedding_types".into(), json!(["float"]));
    if let Some(dimensions) = request.dimensions {
        body.insert("output_dimension".into(), dimensions.into());
    }
    if let Some(truncate) = request.extra.get("truncate") {
        body.insert("truncate".into(), truncate.clone());
    }
    crate::provider::to_json(&Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{JsonSchemaFormat, Stop, Tool, ToolCall};

    fn body(request: &ChatRequest) -> Value {
        chat_value("command-r-plus", request, false).unwrap()
    }

    fn weather() -> Tool {
        Tool::function(
            "get_weather",
            "Weather for a city",
            json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        )
    }

    #[test]
    fn messages_params_and_tools() {
        let mut assistant = Message::assistant("");
        assistant.content = None;
        assistant.reasoning_content = Some("I will look it up.".into());
        assistant.tool_calls = Some(vec![ToolCall::function(
            "get_weather_1",
            "get_weather",
            r#"{"city":"Paris"}"#,
        )]);
        let mut request = ChatRequest::new("cohere/x")
            .system("Be brief.")
            .user("Weather?")
            .message(assistant)
            .message(Message::tool("get_weather_1", "21°C"))
            .tool(weather())
            .temperature(0.3);
        request.top_p = Some(0.8);
        request.max_tokens = Some(100);
        request.stop = Some(Stop::One("END".into()));
        request.seed = Some(7);
        request.frequency_penalty = Some(0.1);
        request.presence_penalty = Some(0.2);
        request.tool_choice = Some(ToolChoice::Required);
        request.logprobs = Some(true);
        request.extra.insert("top_k".into(), json!(40));
        request.extra.insert("safety_mode".into(), json!("OFF"));
        let body = body(&request);
        assert_eq!(
            body,
            json!({
                "model": "command-r-plus",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Weather?"},
                    {"role": "assistant", "tool_plan": "I will look it up.", "tool_calls": [
                        {"id": "get_weather_1", "type": "function",
                         "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                    {"role": "tool", "tool_call_id": "get_weather_1", "content": "21°C"}
                ],
                "tools": [{"type": "function", "function": {"name": "get_weather",
                    "description": "Weather for a city",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
                "tool_choice": "REQUIRED",
                "temperature": 0.3, "p": 0.8, "k": 40, "max_tokens": 100,
                "stop_sequences": ["END"], "seed": 7,
                "frequency_penalty": 0.1, "presence_penalty": 0.2, "safety_mode": "OFF"
            })
        );
        assert_eq!(chat_value("m", &request, true).unwrap()["stream"], true);
    }

    #[test]
    fn json_modes_vision_and_thinking() {
        let mut request = ChatRequest::new("x").message(Message::user_parts(vec![
            ContentPart::text("What is this?"),
            ContentPart::image_url("data:image/png;base64,iVBORw0KGgo="),
        ]));
        request.response_format = Some(ResponseFormat::JsonSchema {
            json_schema: JsonSchemaFormat {
                name: "answer".into(),
                description: None,
                schema: Some(json!({"type": "object"})),
                strict: None,
            },
        });
        request.reasoning_effort = Some("medium".into());
        let body = body(&request);
        assert_eq!(
            body["response_format"],
            json!({"type": "json_object", "json_schema": {"type": "object"}})
        );
        assert_eq!(
            body["messages"][0]["content"][1],
            json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}})
        );
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "token_budget": 4096})
        );
        request.response_format = Some(ResponseFormat::JsonObject);
        request.reasoning_effort = Some("none".into());
        let body = chat_value("x", &request, false).unwrap();
        assert_eq!(body["response_format"], json!({"type": "json_object"}));
        assert_eq!(body["thinking"], json!({"type": "disabled"}));
    }

    #[test]
    fn what_cannot_be_expressed() {
        let mut request = ChatRequest::new("x").user("q");
        request
            .extra
            .insert("documents".into(), json!([{"data": {"text": "t"}}]));
        let error = chat_value("x", &request, false).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Unsupported);
        assert!(error.message().contains("documents"), "{error}");

        let mut request = ChatRequest::new("x").user("q").tool(weather());
        request.tool_choice = Some(ToolChoice::Function("get_weather".into()));
        assert_eq!(
            chat_value("x", &request, false).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        let tool_without_id = ChatRequest::new("x").message(Message::new(Role::Tool, "r"));
        assert_eq!(
            chat_value("x", &tool_without_id, false).unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );
        let mut n = ChatRequest::new("x").user("q");
        n.n = Some(2);
        assert_eq!(
            chat_value("x", &n, false).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }

    #[test]
    fn embed_bodies() {
        let request = EmbeddingRequest::new("cohere/embed-english-v3.0", ["a", "b"]);
        let body: Value =
            serde_json::from_slice(&embed_body("embed-english-v3.0", &request).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"model": "embed-english-v3.0", "texts": ["a", "b"],
                   "input_type": "search_document", "embedding_types": ["float"]})
        );
        let mut query = request.clone();
        query
            .extra
            .insert("input_type".into(), json!("search_query"));
        query.dimensions = Some(256);
        let body: Value = serde_json::from_slice(&embed_body("m", &query).unwrap()).unwrap();
        assert_eq!(body["input_type"], "search_query");
        assert_eq!(body["output_dimension"], 256);
        let mut base64 = request;
        base64.encoding_format = Some("base64".into());
        assert_eq!(
            embed_body("m", &base64).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }
}
