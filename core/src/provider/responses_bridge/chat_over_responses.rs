//! Chat over the Responses API: a chat call to a model only that API serves (the catalog's
//! mode `responses`: `o3-pro`, `gpt-5-codex`, …) is sent to `/responses` and its reply comes
//! back as a chat completion, or as chat chunks when streamed. The [`Call`](crate::Call)
//! machine takes this wire for an attempt its admission marks
//! [`Wire::ChatOverResponses`](crate::call::Wire::ChatOverResponses).
//!
//! What the Responses API cannot take from a chat request is an `Unsupported` error naming
//! it, never a silent drop: `n` above 1, `stop`, `seed`, penalties, `logit_bias`,
//! `logprobs`, and audio or file content parts.

use std::collections::VecDeque;

use serde_json::{json, Map, Value};

use super::{ChatStreamDecoder, ResponsesStreamDecoder};
use crate::error::{Error, ErrorKind};
use crate::types::{
    ChatCompletion, ChatCompletionChunk, ChatRequest, ChunkChoice, Content, ContentPart, Delta,
    Extra, FinishReason, FunctionCallDelta, Message, OutputItem, Response, ResponseStreamEvent,
    ResponsesRequest, Role, ToolCall, ToolCallDelta,
};

/// The Responses API request a chat request asks for: messages become input items (tool
/// calls `function_call` items, tool results `function_call_output` items), function tools
/// lose their `function` wrapper, `response_format` becomes `text.format`,
/// `max_completion_tokens` (or `max_tokens`) `max_output_tokens`, `reasoning_effort`
/// `reasoning.effort`. `store` is `false` unless the request says otherwise, as a chat
/// completion is not stored.
pub fn chat_as_responses(request: &ChatRequest) -> Result<ResponsesRequest, Error> {
    let unsupported = [
        (request.n.is_some_and(|n| n > 1), "n above 1"),
        (request.stop.is_some(), "stop"),
        (request.seed.is_some(), "seed"),
        (request.presence_penalty.is_some(), "presence_penalty"),
        (request.frequency_penalty.is_some(), "frequency_penalty"),
        (request.logit_bias.is_some(), "logit_bias"),
        (
            request.logprobs == Some(true) || request.top_logprobs.is_some(),
            "logprobs",
        ),
    ];
    if let Some((_, what)) = unsupported.iter().find(|(asked, _)| *asked) {
        return Err(Error::unsupported(format!(
            "the Responses API, which serves {}, has no {what}",
            request.model
        )));
    }
    let mut input = Vec::new();
    for message in &request.messages {
        input_items(message, &mut input)?;
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));
    body.insert("input".into(), Value::Array(input));
    if let Some(tools) = &request.tools {
        let tools: Vec<Value> = tools
            .iter()
            .map(|tool| {
                let mut flat = json!({"type": tool.kind, "name": tool.function.name});
                if let Some(description) = &tool.function.description {
                    flat["description"] = json!(description);
                }
                if let Some(parameters) = &tool.function.parameters {
                    flat["parameters"] = parameters.clone();
                }
                if let Some(strict) = tool.function.strict {
                    flat["strict"] = json!(strict);
                }
                flat
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &request.tool_choice {
        let choice = match serde_json::to_value(choice).unwrap_or(Value::Null) {
            // Chat's `{"type": "function", "function": {"name": …}}` is flat here.
            Value::Object(object) => match object.get("function").and_then(|f| f.get("name")) {
                Some(name) => json!({"type": "function", "name": name}),
                None => Value::Object(object),
            },
            other => other,
        };
        body.insert("tool_choice".into(), choice);
    }
    if let Some(format) = &request.response_format {
        let format = match serde_json::to_value(format).unwrap_or(Value::Null) {
            // Chat nests the schema under `json_schema`; here it is flat in `format`.
            Value::Object(mut object) => match object.remove("json_schema") {
                Some(Value::Object(schema)) => {
                    let mut flat = schema;
                    flat.insert("type".into(), json!("json_schema"));
                    Value::Object(flat)
                }
                _ => Value::Object(object),
            },
            other => other,
        };
        body.insert("text".into(), json!({ "format": format }));
    }
    if let Some(max) = request.max_completion_tokens.or(request.max_tokens) {
        body.insert("max_output_tokens".into(), json!(max));
    }
    if let Some(effort) = &request.reasoning_effort {
        body.insert("reasoning".into(), json!({ "effort": effort }));
    }
    let copied = [
        ("temperature", request.temperature.map(|t| json!(t))),
        ("top_p", request.top_p.map(|t| json!(t))),
        ("user", request.user.as_ref().map(|u| json!(u))),
        ("metadata", request.metadata.as_ref().map(|m| json!(m))),
        (
            "parallel_tool_calls",
            request.parallel_tool_calls.map(|p| json!(p)),
        ),
        (
            "service_tier",
            request.service_tier.as_ref().map(|t| json!(t)),
        ),
        ("stream", request.stream.map(|s| json!(s))),
    ];
    for (key, value) in copied {
        if let Some(value) = value {
            body.insert(key.into(), value);
        }
    }
    body.insert(
        "store".into(),
        request.extra.get("store").cloned().unwrap_or(json!(false)),
    );
    let mut translated: ResponsesRequest =
        serde_json::from_value(Value::Object(body)).map_err(|error| {
            Error::new(
                ErrorKind::InvalidRequest,
                format!("this chat request has no Responses API form: {error}"),
            )
        })?;
    translated
        .fallback_models
        .clone_from(&request.fallback_models);
    translated.retries = request.retries;
    translated.timeout = request.timeout;
    Ok(translated)
}

/// Appends the input items one chat message makes.
fn input_items(message: &Message, input: &mut Vec<Value>) -> Result<(), Error> {
    match message.role {
        Role::Tool => {
            let call_id = message.tool_call_id.clone().unwrap_or_default();
            input.push(json!({"type": "function_call_output", "call_id": call_id,
                "output": text_of(message.content.as_ref())}));
        }
        Role::Assistant => {
            let text = text_of(message.content.as_ref());
            if !text.is_empty() {
                input.push(json!({"type": "message", "role": "assistant", "content": text}));
            }
            for call in message.tool_calls.iter().flatten() {
                input.push(json!({"type": "function_call", "call_id": call.id,
                    "name": call.function.name, "arguments": call.function.arguments}));
            }
        }
        _ => {
            let content = match &message.content {
                None => json!(""),
                Some(Content::Text(text)) => json!(text),
                Some(Content::Parts(parts)) => {
                    let mut converted = Vec::new();
                    for part in parts {
                        converted.push(match part {
                            ContentPart::Text { text } => {
                                json!({"type": "input_text", "text": text})
                            }
                            ContentPart::ImageUrl { image_url } => {
                                let mut image =
                                    json!({"type": "input_image", "image_url": image_url.url});
                                if let Some(detail) = &image_url.detail {
                                    image["detail"] = json!(detail);
                                }
                                image
                            }
                            _ => {
                                return Err(Error::unsupported(
                                    "the Responses API bridge takes text and image parts only",
                                ))
                            }
                        });
                    }
                    Value::Array(converted)
                }
            };
            input.push(
                json!({"type": "message", "role": message.role.as_str(), "content": content}),
            );
        }
    }
    Ok(())
}

/// The text of a message's content: the string, or its text parts joined.
fn text_of(content: Option<&Content>) -> String {
    match content {
        None => String::new(),
        Some(Content::Text(text)) => text.clone(),
        Some(Content::Parts(parts)) => parts
            .iter()
            .filter_map(|part| match part {
                ContentPart::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect(),
    }
}

/// The chat completion a Responses API reply amounts to: its output text as the message's
/// content, function calls as tool calls, reasoning summaries as `reasoning_content`, a
/// refusal as `refusal`, usage in chat's names. The finish reason follows the status:
/// `tool_calls` when the model called functions, `length` for an `incomplete` response cut
/// at `max_output_tokens`, `content_filter` for one cut by the filter, else `stop`.
pub fn response_as_chat(response: Response) -> ChatCompletion {
    let calls: Vec<ToolCall> = response
        .function_calls()
        .map(|call| ToolCall::function(&call.call_id, &call.name, &call.arguments))
        .collect();
    let text = response.output_text();
    let mut message = Message::assistant(text);
    if calls.is_empty() {
        message.tool_calls = None;
    } else {
        if message
            .content
            .as_ref()
            .is_some_and(|content| text_of(Some(content)).is_empty())
        {
            message.content = None;
        }
        message.tool_calls = Some(calls);
    }
    message.reasoning_content = response.reasoning_summary();
    message.refusal = response.refusal().map(str::to_owned);
    let finish = finish_reason(&response, message.tool_calls.is_some());
    let mut completion = ChatCompletion::from_message(message, finish);
    completion.id = response.id.clone();
    completion.created = response.created_at;
    completion.service_tier = response.service_tier().map(str::to_owned);
    completion.usage = response.usage.as_ref().map(|usage| usage.to_chat_usage());
    completion.model = response.model;
    completion
}

fn finish_reason(response: &Response, called: bool) -> FinishReason {
    let reason = response
        .incomplete_details
        .as_ref()
        .and_then(|details| details.reason.as_deref());
    match (response.status_str(), reason) {
        ("incomplete", Some("content_filter")) => FinishReason::ContentFilter,
        ("incomplete", _) => FinishReason::Length,
        _ if called => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    }
}

/// A chat stream decoder over a Responses API event stream: each event that adds to the
/// reply becomes the chunk a chat stream would have carried. `response.created` opens the
/// assistant's turn (a role chunk); text, refusal and reasoning deltas become `content`,
/// `refusal` and `reasoning_content` deltas; a function call's `output_item.added` opens a
/// tool call (its id and name) and its argument deltas extend it; the terminal
/// `response.completed` or `response.incomplete` gives the finish reason and a usage chunk.
/// Other events (part boundaries, `*.done` repeats of what the deltas said) add nothing and
/// are skipped. Errors pass through unchanged.
pub fn chat_via_responses_decoder(
    inner: Box<dyn ResponsesStreamDecoder>,
    model: &str,
) -> Box<dyn ChatStreamDecoder> {
    Box::new(ChatFromEvents {
        inner,
        ready: VecDeque::new(),
        id: String::new(),
        model: model.to_owned(),
        created: 0,
        calls: Vec::new(),
        done: false,
    })
}

#[derive(Debug)]
struct ChatFromEvents {
    inner: Box<dyn ResponsesStreamDecoder>,
    ready: VecDeque<Result<ChatCompletionChunk, Error>>,
    id: String,
    model: String,
    created: u64,
    /// The output index of each function call seen, in order: its position is its tool
    /// call index.
    calls: Vec<u32>,
    /// The terminal event was turned into chunks.
    done: bool,
}

impl ChatFromEvents {
    fn chunk(&self, delta: Delta, finish: Option<FinishReason>) -> ChatCompletionChunk {
        let mut chunk = ChatCompletionChunk::new(self.id.clone(), self.model.clone(), self.created);
        chunk.choices.push(ChunkChoice {
            index: 0,
            delta,
            finish_reason: finish,
            logprobs: None,
            extra: Extra::new(),
        });
        chunk
    }

    fn translate(&mut self, event: ResponseStreamEvent) {
        use ResponseStreamEvent as E;
        let delta = match event {
            E::Created(created) | E::InProgress(created) | E::Queued(created) => {
                let response = &created.response;
                if self.id.is_empty() {
                    self.id.clone_from(&response.id);
                    if !response.model.is_empty() {
                        self.model.clone_from(&response.model);
                    }
                    self.created = response.created_at;
                    Some(Delta {
                        role: Some(Role::Assistant),
                        content: Some(String::new()),
                        ..Delta::default()
                    })
                } else {
                    None
                }
            }
            E::OutputTextDelta(delta) => Some(Delta::text(delta.delta)),
            E::ReasoningSummaryTextDelta(delta) | E::ReasoningTextDelta(delta) => {
                Some(Delta::reasoning(delta.delta))
            }
            E::RefusalDelta(delta) => Some(Delta {
                refusal: Some(delta.delta),
                ..Delta::default()
            }),
            E::OutputItemAdded(added) => match &added.item {
                OutputItem::FunctionCall(call) => {
                    let index = self.calls.len();
                    self.calls.push(added.output_index);
                    Some(tool_call_delta(
                        index,
                        Some(call.call_id.clone()),
                        Some(call.name.clone()),
                        call.arguments.clone(),
                    ))
                }
                _ => None,
            },
            E::FunctionCallArgumentsDelta(delta) => self
                .calls
                .iter()
                .position(|&at| at == delta.output_index)
                .map(|index| tool_call_delta(index, None, None, delta.delta)),
            E::Completed(terminal) | E::Incomplete(terminal) => {
                let response = terminal.response;
                let finish = finish_reason(&response, !self.calls.is_empty());
                self.done = true;
                let last = self.chunk(Delta::default(), Some(finish));
                self.ready.push_back(Ok(last));
                if let Some(usage) = &response.usage {
                    let mut usage_chunk =
                        ChatCompletionChunk::new(self.id.clone(), self.model.clone(), self.created);
                    usage_chunk.usage = Some(usage.to_chat_usage());
                    self.ready.push_back(Ok(usage_chunk));
                }
                None
            }
            _ => None,
        };
        if let Some(delta) = delta.filter(|delta| delta != &Delta::default()) {
            let chunk = self.chunk(delta, None);
            self.ready.push_back(Ok(chunk));
        }
    }

    fn pull(&mut self) {
        while let Some(item) = self.inner.next_event() {
            match item {
                Ok(event) => self.translate(event),
                Err(error) => self.ready.push_back(Err(error)),
            }
        }
    }
}

fn tool_call_delta(
    index: usize,
    id: Option<String>,
    name: Option<String>,
    arguments: String,
) -> Delta {
    Delta {
        tool_calls: Some(vec![ToolCallDelta {
            index: u32::try_from(index).ok(),
            kind: id.as_ref().map(|_| "function".to_owned()),
            id,
            function: Some(FunctionCallDelta {
                name,
                arguments: Some(arguments),
            }),
            extra: Extra::new(),
        }]),
        ..Delta::default()
    }
}

impl ChatStreamDecoder for ChatFromEvents {
    fn push(&mut self, bytes: &[u8]) {
        self.inner.push(bytes);
        self.pull();
    }

    fn finish(&mut self) {
        self.inner.finish();
        self.pull();
    }

    fn next_chunk(&mut self) -> Option<Result<ChatCompletionChunk, Error>> {
        self.ready.pop_front()
    }

    fn is_complete(&self) -> bool {
        self.done && self.inner.is_complete() && self.ready.is_empty()
    }
}
