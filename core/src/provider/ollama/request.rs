//! Building Ollama's native `/api/chat` and `/api/embed` bodies from OpenAI-format requests.
//!
//! Rules:
//! - Messages keep their roles (`developer` → `system`). Content parts are flattened: text
//!   parts joined into `content`, images into `images` as base64 (a `data:` URL is stripped
//!   to its data; an `http(s)` URL is `Unsupported`: Ollama does not fetch). Audio, files and
//!   unknown parts are `Unsupported`.
//! - An assistant's `tool_calls` go back with their arguments as JSON objects (Ollama's form)
//!   and the `function.index` Ollama gives them; `reasoning_content` goes back as `thinking`.
//!   A `tool` message becomes `{role: tool, content, tool_name}`, the name found from the
//!   earlier assistant call its `tool_call_id` names (Ollama matches results by name).
//! - `tools` pass as OpenAI function tools. Ollama has no `tool_choice`: `none` omits the
//!   tools, `auto` is the default, forcing a call is `Unsupported`.
//! - `response_format` `json_object` → `format: "json"`; `json_schema` → `format: <schema>`.
//! - `reasoning_effort` → `think` (`none` → `false`, any level → `true`); `extra.think` (a
//!   bool or `"low"`/`"medium"`/`"high"` for models with levels) replaces it.
//! - `options`: `temperature`, `top_p`, `seed`, `stop`, `presence_penalty`,
//!   `frequency_penalty`, `num_predict` from `max_tokens`/`max_completion_tokens`; `top_k`
//!   and `num_ctx` from `extra`; an `extra.options` object adds to (and overrides) them.
//!   `extra.keep_alive` is sent at the top level.
//! - `stream` is always sent: Ollama streams unless told `false`.
//! - `n > 1` is `Unsupported`; other OpenAI-only fields are dropped.

use serde_json::{json, Map, Value};

use crate::error::{Error, ErrorKind};
use crate::types::{
    ChatRequest, Content, ContentPart, EmbeddingRequest, Message, ResponseFormat, Role, ToolChoice,
};

/// Numeric or list `options` read from the request's own fields are filled first; these
/// `extra` fields are Ollama options passed as they are.
const EXTRA_OPTIONS: &[&str] = &["top_k", "num_ctx", "min_p", "repeat_penalty", "num_gpu"];

/// The `/api/chat` body for `request` sent to `model`.
pub(super) fn chat_body(
    model: &str,
    request: &ChatRequest,
    stream: bool,
) -> Result<Vec<u8>, Error> {
    crate::provider::to_json(&chat_value(model, request, stream)?)
}

pub(super) fn chat_value(model: &str, request: &ChatRequest, stream: bool) -> Result<Value, Error> {
    crate::provider::one_choice_only("ollama", request)?;
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    let messages = request
        .messages
        .iter()
        .enumerate()
        .map(|(at, message)| message_value(message, &request.messages, at))
        .collect::<Result<Vec<_>, _>>()?;
    body.insert("messages".into(), Value::Array(messages));
    body.insert("stream".into(), stream.into());

    let tools = request.tools.as_ref().filter(|tools| !tools.is_empty());
    if let Some(tools) = tools {
        match &request.tool_choice {
            None | Some(ToolChoice::Auto) => {
                let tools = serde_json::to_value(tools).map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidRequest,
                        format!("cannot serialize tools: {e}"),
                    )
                })?;
                body.insert("tools".into(), tools);
            }
            Some(ToolChoice::None) => {}
            Some(_) => {
                return Err(Error::unsupported(
                    "ollama cannot force a tool call (tool_choice other than auto or none)",
                ))
            }
        }
    }
    match &request.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            body.insert("format".into(), "json".into());
        }
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let schema = json_schema
                .schema
                .clone()
                .unwrap_or_else(|| json!({"type": "object"}));
            body.insert("format".into(), schema);
        }
    }
    let think = match (
        request.extra.get("think"),
        request.reasoning_effort.as_deref(),
    ) {
        (Some(think), _) => Some(think.clone()),
        (None, Some("none")) => Some(false.into()),
        (None, Some(_)) => Some(true.into()),
        (None, None) => None,
    };
    if let Some(think) = think {
        body.insert("think".into(), think);
    }
    if let Some(keep_alive) = request.extra.get("keep_alive") {
        body.insert("keep_alive".into(), keep_alive.clone());
    }
    let options = options(request)?;
    if !options.is_empty() {
        body.insert("options".into(), Value::Object(options));
    }
    Ok(Value::Object(body))
}

fn options(request: &ChatRequest) -> Result<Map<String, Value>, Error> {
    let mut options = Map::new();
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(value) = value {
            options.insert(name.into(), value);
        }
    };
    put("temperature", request.temperature.map(Value::from));
    put("top_p", request.top_p.map(Value::from));
    put("seed", request.seed.map(Value::from));
    put("num_predict", request.token_limit().map(Value::from));
    put(
        "stop",
        request
            .stop
            .as_ref()
            .map(|stop| stop.to_vec())
            .filter(|stop| !stop.is_empty())
            .map(Value::from),
    );
    put(
        "presence_penalty",
        request.presence_penalty.map(Value::from),
    );
    put(
        "frequency_penalty",
        request.frequency_penalty.map(Value::from),
    );
    for name in EXTRA_OPTIONS {
        put(name, request.extra.get(*name).cloned());
    }
    match request.extra.get("options") {
        None => {}
        Some(Value::Object(extra)) => {
            for (name, value) in extra {
                options.insert(name.clone(), value.clone());
            }
        }
        Some(_) => {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "extra `options` for ollama must be a JSON object",
            ))
        }
    }
    Ok(options)
}

fn message_value(message: &Message, all: &[Message], at: usize) -> Result<Value, Error> {
    let role = match &message.role {
        Role::System | Role::Developer => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
        other => {
            return Err(Error::unsupported(format!(
                "messages[{at}]: role {other:?} has no Ollama equivalent"
            )))
        }
    };
    let mut out = Map::new();
    out.insert("role".into(), role.into());
    let (text, images) = content(message.content.as_ref(), at)?;
    out.insert("content".into(), text.into());
    if !images.is_empty() {
        out.insert("images".into(), images.into());
    }
    if let Some(thinking) = message.reasoning_content.as_ref().filter(|t| !t.is_empty()) {
        if message.role == Role::Assistant {
            out.insert("thinking".into(), thinking.clone().into());
        }
    }
    if let Some(calls) = message
        .tool_calls
        .as_ref()
        .filter(|calls| !calls.is_empty())
    {
        let calls = calls
            .iter()
            .enumerate()
            .map(|(index, call)| {
                let arguments = call.function.arguments.trim();
                let arguments = if arguments.is_empty() {
                    json!({})
                } else {
                    serde_json::from_str::<Value>(arguments)
                        .ok()
                        .filter(Value::is_object)
                        .ok_or_else(|| {
                            Error::new(
                                ErrorKind::InvalidRequest,
                                format!(
                                    "messages[{at}]: arguments of tool call {:?} must be a JSON object",
                                    call.id
                                ),
                            )
                        })?
                };
                Ok(json!({"function": {"index": index, "name": call.function.name, "arguments": arguments}}))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        out.insert("tool_calls".into(), Value::Array(calls));
    }
    if message.role == Role::Tool {
        let name = message.tool_call_id.as_deref().and_then(|id| {
            all.iter()
                .take(at)
                .rev()
                .flat_map(|earlier| earlier.tool_calls.iter().flatten())
                .find(|call| call.id == id)
                .map(|call| call.function.name.clone())
        });
        if let Some(name) = name.or_else(|| message.name.clone()) {
            out.insert("tool_name".into(), name.into());
        }
    }
    Ok(Value::Object(out))
}

/// The text and base64 images of a message's content.
fn content(content: Option<&Content>, at: usize) -> Result<(String, Vec<String>), Error> {
    let parts = match content {
        None => return Ok((String::new(), Vec::new())),
        Some(Content::Text(text)) => return Ok((text.clone(), Vec::new())),
        Some(Content::Parts(parts)) => parts,
    };
    let mut text = String::new();
    let mut images = Vec::new();
    for part in parts {
        match part {
            ContentPart::Text { text: piece } | ContentPart::Refusal { refusal: piece } => {
                text.push_str(piece)
            }
            ContentPart::ImageUrl { image_url } => {
                let url = image_url.url.as_str();
                let data = url
                    .strip_prefix("data:")
                    .and_then(|rest| rest.split_once(";base64,"))
                    .map(|(_, data)| data);
                match data {
                    Some(data) => images.push(data.to_owned()),
                    None if url.starts_with("http://") || url.starts_with("https://") => {
                        return Err(Error::unsupported(format!(
                            "messages[{at}]: ollama takes images inline only (base64 data: URLs), not by http URL"
                        )))
                    }
                    None => {
                        return Err(Error::new(
                            ErrorKind::InvalidRequest,
                            format!("messages[{at}]: an image URL must be a base64 data: URL"),
                        ))
                    }
                }
            }
            _ => {
                return Err(Error::unsupported(format!(
                    "messages[{at}]: ollama takes text and image parts only"
                )))
            }
        }
    }
    Ok((text, images))
}

/// The `/api/embed` body.
pub(super) fn embed_body(model: &str, request: &EmbeddingRequest) -> Result<Vec<u8>, Error> {
    let texts = request.float_texts("ollama")?;
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("input".into(), json!(texts));
    if let Some(dimensions) = request.dimensions {
        body.insert("dimensions".into(), dimensions.into());
    }
    for name in ["truncate", "keep_alive", "options"] {
        if let Some(value) = request.extra.get(name) {
            body.insert(name.into(), value.clone());
        }
    }
    crate::provider::to_json(&Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{JsonSchemaFormat, Stop, Tool, ToolCall};

    #[test]
    fn messages_images_tools_and_options() {
        let mut assistant = Message::assistant("");
        assistant.reasoning_content = Some("Weather tool.".into());
        assistant.tool_calls = Some(vec![ToolCall::function(
            "call_1",
            "get_weather",
            r#"{"city":"Paris"}"#,
        )]);
        let mut request = ChatRequest::new("ollama/llama3.2")
            .system("Be brief.")
            .message(Message::user_parts(vec![
                ContentPart::text("What is in this image?"),
                ContentPart::image_url("data:image/png;base64,iVBORw0KGgo="),
            ]))
            .message(assistant)
            .message(Message::tool("call_1", "21°C"))
            .tool(Tool::function(
                "get_weather",
                "Weather",
                json!({"type": "object"}),
            ))
            .temperature(0.2);
        request.max_tokens = Some(64);
        request.seed = Some(3);
        request.stop = Some(Stop::Many(vec!["END".into()]));
        request.reasoning_effort = Some("high".into());
        request.extra.insert("num_ctx".into(), json!(8192));
        request.extra.insert("keep_alive".into(), json!("5m"));
        request
            .extra
            .insert("options".into(), json!({"num_gpu": 1}));
        let body = chat_value("llama3.2", &request, true).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "llama3.2",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "What is in this image?", "images": ["iVBORw0KGgo="]},
                    {"role": "assistant", "content": "", "thinking": "Weather tool.",
                     "tool_calls": [{"function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}}}]},
                    {"role": "tool", "content": "21°C", "tool_name": "get_weather"}
                ],
                "stream": true,
                "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}}],
                "think": true,
                "keep_alive": "5m",
                "options": {"temperature": 0.2, "seed": 3, "num_predict": 64, "stop": ["END"], "num_ctx": 8192, "num_gpu": 1}
            })
        );
    }

    #[test]
    fn formats_and_refusals() {
        let mut request = ChatRequest::new("x").user("q");
        request.response_format = Some(ResponseFormat::JsonObject);
        assert_eq!(chat_value("m", &request, false).unwrap()["format"], "json");
        request.response_format = Some(ResponseFormat::JsonSchema {
            json_schema: JsonSchemaFormat {
                name: "a".into(),
                description: None,
                schema: Some(json!({"type": "object", "properties": {"x": {"type": "number"}}})),
                strict: Some(true),
            },
        });
        let body = chat_value("m", &request, false).unwrap();
        assert_eq!(body["format"]["properties"]["x"]["type"], "number");
        assert_eq!(body["stream"], false);

        let remote =
            ChatRequest::new("x").message(Message::user_parts(vec![ContentPart::image_url(
                "https://example.com/cat.png",
            )]));
        assert_eq!(
            chat_value("m", &remote, false).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        let mut forced = ChatRequest::new("x").user("q").tool(Tool::function(
            "f",
            "d",
            json!({"type": "object"}),
        ));
        forced.tool_choice = Some(ToolChoice::Required);
        assert_eq!(
            chat_value("m", &forced, false).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        forced.tool_choice = Some(ToolChoice::None);
        assert!(chat_value("m", &forced, false)
            .unwrap()
            .get("tools")
            .is_none());
    }

    #[test]
    fn embed_body_shape() {
        let request = EmbeddingRequest::new("ollama/all-minilm", ["Why is the sky blue?"]);
        let body: Value =
            serde_json::from_slice(&embed_body("all-minilm", &request).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"model": "all-minilm", "input": ["Why is the sky blue?"]})
        );
    }
}
