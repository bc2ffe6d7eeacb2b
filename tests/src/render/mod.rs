//! Rendering a scripted [`Reply`] in the wire format of the route that was hit.

mod anthropic;
mod bedrock;
mod cohere;
pub(crate) mod gemini;
pub(crate) mod media;
mod ollama;
mod openai;
mod responses;

use serde_json::{json, Value};

use crate::reply::{Fault, Reply, ReplyBody};

/// Which protocol a request spoke, by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    OpenAiChat,
    /// OpenAI's Responses API (`…/responses`).
    OpenAiResponses,
    AnthropicMessages,
    /// Bedrock `…/model/{id}/converse` or `…/converse-stream` (`stream`).
    BedrockConverse {
        stream: bool,
    },
    /// Bedrock `…/model/{id}/invoke` (embeddings).
    BedrockInvoke,
    Embeddings,
    Completions,
    CohereChat,
    CohereEmbed,
    OllamaChat,
    OllamaEmbed,
    GeminiGenerate,
    GeminiStream,
    GeminiEmbed,
    /// Images, audio, moderation ([`media`]).
    Media(media::MediaRoute),
    Unknown,
}

impl Route {
    pub fn of(path: &str) -> Route {
        let path = path.split('?').next().unwrap_or(path);
        if let Some(media) = media::MediaRoute::of(path) {
            return Route::Media(media);
        }
        if path.ends_with(":generateContent") {
            Route::GeminiGenerate
        } else if path.ends_with(":streamGenerateContent") {
            Route::GeminiStream
        } else if path.ends_with(":batchEmbedContents") {
            Route::GeminiEmbed
        } else if path.contains("/model/") && path.ends_with("/converse") {
            Route::BedrockConverse { stream: false }
        } else if path.contains("/model/") && path.ends_with("/converse-stream") {
            Route::BedrockConverse { stream: true }
        } else if path.contains("/model/") && path.ends_with("/invoke") {
            Route::BedrockInvoke
        } else if path.ends_with("/chat/completions") {
            Route::OpenAiChat
        } else if path.ends_with("/responses") {
            Route::OpenAiResponses
        } else if path.ends_with("/messages") {
            Route::AnthropicMessages
        } else if path.ends_with("/embeddings") {
            Route::Embeddings
        } else if path.ends_with("/completions") {
            Route::Completions
        } else if path.ends_with("/v2/chat") {
            Route::CohereChat
        } else if path.ends_with("/v2/embed") {
            Route::CohereEmbed
        } else if path.ends_with("/api/chat") {
            Route::OllamaChat
        } else if path.ends_with("/api/embed") {
            Route::OllamaEmbed
        } else {
            Route::Unknown
        }
    }

    /// The content type of a streamed reply on this route.
    pub fn stream_content_type(self) -> &'static str {
        match self {
            Route::BedrockConverse { .. } => "application/vnd.amazon.eventstream",
            _ => "text/event-stream; charset=utf-8",
        }
    }
}

/// A response ready to write.
#[derive(Debug, Clone)]
pub(crate) enum Rendered {
    Whole {
        status: u16,
        body: Vec<u8>,
    },
    /// SSE events (each a complete block ending in a blank line) and the terminal event.
    Stream {
        events: Vec<Vec<u8>>,
        terminal: Vec<u8>,
    },
}

/// What a reply will say, resolved against the request.
pub(crate) struct Script {
    pub text: Option<String>,
    pub tool_call: Option<(String, String)>,
    pub reasoning: Option<String>,
    pub usage: (u64, u64),
    pub model: String,
    pub id: String,
}

/// The text of the last user message (OpenAI or Anthropic shape), or the legacy prompt.
pub(crate) fn last_user_text(request: &Value) -> String {
    let text_of = |content: &Value| -> String {
        match content {
            Value::String(text) => text.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect(),
            _ => String::new(),
        }
    };
    if let Some(messages) = request.get("messages").and_then(Value::as_array) {
        if let Some(last) = messages
            .iter()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        {
            return last.get("content").map(text_of).unwrap_or_default();
        }
    }
    if let Some(contents) = request.get("contents").and_then(Value::as_array) {
        if let Some(last) = contents
            .iter()
            .rev()
            .find(|c| c.get("role").and_then(Value::as_str) == Some("user"))
        {
            return last.get("parts").map(text_of).unwrap_or_default();
        }
    }
    if let Some(text) = responses::last_user_text(request) {
        return text;
    }
    match request.get("prompt") {
        Some(Value::String(prompt)) => prompt.clone(),
        Some(Value::Array(prompts)) => prompts
            .first()
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        _ => String::new(),
    }
}

/// Renders `reply` for `route`. `stream` is whether the request asked for a stream.
pub(crate) fn render(route: Route, request: &Value, reply: &Reply, serial: u64) -> Rendered {
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("fake-model")
        .to_owned();
    let stream = request.get("stream").and_then(Value::as_bool) == Some(true);
    let mut script = Script {
        text: match &reply.body {
            ReplyBody::Text(text) => Some(text.clone()),
            ReplyBody::Echo => Some(last_user_text(request)),
            _ => None,
        },
        tool_call: match &reply.body {
            ReplyBody::ToolCall { name, arguments } => Some((name.clone(), arguments.clone())),
            _ => None,
        },
        reasoning: reply.reasoning.clone(),
        usage: reply.usage,
        model,
        id: format!("fake-{serial}"),
    };
    answer_forced_tool(route, request, &mut script);
    if let ReplyBody::StreamException { code, message } = &reply.body {
        return stream_exception(route, code, message);
    }
    if let ReplyBody::Status { status, body } = &reply.body {
        let body = body
            .clone()
            .unwrap_or_else(|| error_body(route, *status).to_string());
        return Rendered::Whole {
            status: *status,
            body: body.into_bytes(),
        };
    }
    let fault = reply.fault;
    let rendered = match route {
        Route::OpenAiChat if stream => openai::chat_stream(&script),
        Route::OpenAiChat => openai::chat(&script),
        Route::OpenAiResponses if stream => responses::stream(&script),
        Route::OpenAiResponses => responses::whole(&script),
        Route::AnthropicMessages if stream => anthropic::stream(&script),
        Route::AnthropicMessages => anthropic::message(&script),
        Route::BedrockConverse { stream: true } => bedrock::converse_stream(&script),
        Route::BedrockConverse { stream: false } => bedrock::converse(&script),
        Route::BedrockInvoke => bedrock::invoke(request),
        Route::Embeddings => openai::embeddings(request, &script),
        Route::Completions => openai::completion(&script),
        Route::CohereChat if stream => cohere::stream(&script),
        Route::CohereChat => cohere::chat(&script),
        Route::CohereEmbed => cohere::embed(request, &script),
        Route::OllamaChat if stream => ollama::stream(&script),
        Route::OllamaChat => ollama::chat(&script),
        Route::OllamaEmbed => ollama::embed(request, &script),
        Route::GeminiGenerate => gemini::chat(&script),
        Route::GeminiStream => gemini::stream(&script),
        Route::GeminiEmbed => gemini::embeddings(request),
        // Answered by `media::render` unless the reply is an error status.
        Route::Media(_) | Route::Unknown => {
            return Rendered::Whole {
                status: 404,
                body: error_body(route, 404).to_string().into_bytes(),
            }
        }
    };
    match fault {
        Some(Fault::MalformedJson) => match rendered {
            Rendered::Whole { .. } => Rendered::Whole {
                status: 200,
                body: br#"{"id": "broken", "choices": [}]}"#.to_vec(),
            },
            Rendered::Stream {
                mut events,
                terminal,
            } => {
                events.insert(
                    events.len().min(1),
                    b"data: {\"id\": not json}\n\n".to_vec(),
                );
                Rendered::Stream { events, terminal }
            }
        },
        Some(Fault::Oversized(size)) => match rendered {
            Rendered::Whole { .. } => {
                let padding = "x".repeat(size.saturating_sub(16));
                Rendered::Whole {
                    status: 200,
                    body: format!("{{\"padding\":\"{padding}\"}}").into_bytes(),
                }
            }
            Rendered::Stream { events, terminal } => {
                let filler = events
                    .get(1)
                    .cloned()
                    .unwrap_or_else(|| b": pad\n\n".to_vec());
                let copies = size / filler.len().max(1) + 1;
                let mut grown = events;
                grown.extend(std::iter::repeat_n(filler, copies));
                Rendered::Stream {
                    events: grown,
                    terminal,
                }
            }
        },
        _ => rendered,
    }
}

/// The tool a request makes the model call: Anthropic's `tool_choice: {"type": "tool",
/// "name": …}` or Bedrock's `toolConfig.toolChoice.tool.name`.
fn forced_tool(route: Route, request: &Value) -> Option<&str> {
    match route {
        Route::AnthropicMessages => {
            let choice = request.get("tool_choice")?;
            if choice.get("type").and_then(Value::as_str) != Some("tool") {
                return None;
            }
            choice.get("name").and_then(Value::as_str)
        }
        Route::BedrockConverse { .. } => request
            .pointer("/toolConfig/toolChoice/tool/name")
            .and_then(Value::as_str),
        _ => None,
    }
}

/// Answers a forced tool the way those APIs do: the model can only call it, so a text reply
/// that is a JSON object goes out as that tool's input (a `tool_use` block, a Bedrock
/// `toolUse`). This is how structured output comes back from Anthropic and Bedrock, whose
/// adapters force a `json_response…` tool for `response_format`. Text that is not a JSON
/// object stays text, so a test can still script a reply that does not match its schema.
fn answer_forced_tool(route: Route, request: &Value, script: &mut Script) {
    let Some(name) = forced_tool(route, request) else {
        return;
    };
    let Some(text) = script.text.as_deref() else {
        return;
    };
    if script.tool_call.is_none()
        && serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_object())
    {
        script.tool_call = Some((name.to_owned(), text.to_owned()));
        script.text = None;
    }
}

/// The usual error JSON of a route for a status.
fn error_body(route: Route, status: u16) -> Value {
    let (kind, message) = match status {
        400 => (
            "invalid_request_error",
            "This model's maximum context length is 8192 tokens; prompt is too long",
        ),
        401 => ("authentication_error", "invalid x-api-key"),
        403 => ("permission_error", "not allowed"),
        404 => ("not_found_error", "model not found"),
        429 => ("rate_limit_error", "rate limited, slow down"),
        529 => ("overloaded_error", "Overloaded"),
        _ => ("api_error", "internal error"),
    };
    match route {
        Route::GeminiGenerate | Route::GeminiStream | Route::GeminiEmbed => {
            gemini::error_body(status, message)
        }
        Route::AnthropicMessages => {
            json!({"type": "error", "error": {"type": kind, "message": message}})
        }
        Route::CohereChat | Route::CohereEmbed => {
            json!({"id": "fake-cohere-error", "message": message})
        }
        Route::OllamaChat | Route::OllamaEmbed => json!({"error": message}),
        // Bedrock names the exception in the `x-amzn-errortype` header; the body has only
        // the message.
        Route::BedrockConverse { .. } | Route::BedrockInvoke => json!({ "message": message }),
        _ => {
            let code = match status {
                400 => "context_length_exceeded",
                401 => "invalid_api_key",
                404 => "model_not_found",
                429 => "rate_limit_exceeded",
                _ => "server_error",
            };
            json!({"error": {"message": message, "type": kind, "code": code, "param": null}})
        }
    }
}

/// A 200 stream whose first event after the start is the route's in-stream error: an
/// exception frame for Bedrock, `event: error` for Anthropic, an `{"error"}` chunk otherwise.
fn stream_exception(route: Route, code: &str, message: &str) -> Rendered {
    match route {
        Route::BedrockConverse { .. } => Rendered::Stream {
            events: vec![bedrock::frame(
                &[
                    (":event-type", "messageStart"),
                    (":content-type", "application/json"),
                    (":message-type", "event"),
                ],
                br#"{"role":"assistant"}"#,
            )],
            terminal: bedrock::exception(code, message),
        },
        Route::OpenAiResponses => responses::exception(code, message),
        Route::AnthropicMessages => Rendered::Stream {
            events: Vec::new(),
            terminal: sse(
                Some("error"),
                &json!({"type": "error", "error": {"type": code, "message": message}}),
            ),
        },
        _ => Rendered::Stream {
            events: Vec::new(),
            terminal: sse(None, &json!({"error": {"type": code, "message": message}})),
        },
    }
}

/// Splits text into stream-sized pieces (words with their trailing spaces), never empty.
pub(crate) fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        current.push(ch);
        if ch == ' ' {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() || out.is_empty() {
        out.push(current);
    }
    out
}

/// Cuts `text` into at most three fragments at char boundaries.
pub(crate) fn thirds(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let step = chars.len().div_ceil(3).max(1);
    let out: Vec<String> = chars.chunks(step).map(|c| c.iter().collect()).collect();
    if out.is_empty() {
        vec![String::new()]
    } else {
        out
    }
}

pub(crate) fn sse(event: Option<&str>, data: &Value) -> Vec<u8> {
    match event {
        Some(name) => format!("event: {name}\ndata: {data}\n\n").into_bytes(),
        None => format!("data: {data}\n\n").into_bytes(),
    }
}
