//! The Responses API over a chat wire: a Responses call to a provider without the endpoint
//! (Anthropic, Gemini, Cohere, Bedrock, Ollama, most OpenAI-compatible hosts) is sent as the
//! chat request it translates to, and the chat reply comes back as a [`Response`] — or, when
//! streamed, as the events OpenAI would have sent. These are the default bodies of
//! [`Provider`]'s Responses methods.
//!
//! What a chat wire cannot carry is an `Unsupported` error naming it, before anything is
//! sent: `previous_response_id` and `item_reference` items (turns the server stored),
//! built-in tools (web search, file search, …) and a `tool_choice` naming one, file inputs,
//! and parameters this version does not know. `store` and `include` are about what the
//! server keeps and adds; a chat wire keeps nothing, so they are not sent.

use std::collections::VecDeque;

use serde_json::{json, Map, Value};

use super::{ChatStreamDecoder, Provider, ResponsesStreamDecoder};
use crate::error::Error;
use crate::types::{
    ChatCompletion, ChatCompletionChunk, ChatRequest, ChunkAccumulator, FinishReason, InputContent,
    InputItem, MessageContent, OutputContent, OutputItem, Response, ResponseInput,
    ResponseStreamEvent, ResponseTool, ResponseToolChoice, ResponseUsage, ResponsesRequest,
    TextFormat,
};

/// The chat request a Responses API request amounts to: `instructions` as the first system
/// message, input messages as messages, `function_call` items as the assistant's tool calls
/// (consecutive ones in one message), `function_call_output` items as tool messages,
/// reasoning items' summaries as the next assistant message's `reasoning_content`; function
/// tools wrapped in chat's `function`, `text.format` as `response_format`,
/// `reasoning.effort` as `reasoning_effort`, `max_output_tokens` as `max_tokens`.
pub fn responses_as_chat(request: &ResponsesRequest) -> Result<ChatRequest, Error> {
    if request.previous_response_id.is_some() {
        return Err(unbridgeable(
            "previous_response_id (the earlier turns are stored by OpenAI; send them as input items instead)",
        ));
    }
    if let Some(key) = request.extra.keys().next() {
        return Err(unbridgeable(&format!("the parameter {key:?}")));
    }
    let mut messages: Vec<Value> = Vec::new();
    if let Some(instructions) = &request.instructions {
        messages.push(json!({"role": "system", "content": instructions}));
    }
    let mut reasoning: Option<String> = None;
    match &request.input {
        ResponseInput::Text(text) => messages.push(json!({"role": "user", "content": text})),
        ResponseInput::Items(items) => {
            for item in items {
                chat_messages(item, &mut messages, &mut reasoning)?;
            }
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));
    body.insert("messages".into(), Value::Array(messages));
    if !request.tools.is_empty() {
        let mut tools = Vec::new();
        for tool in &request.tools {
            match tool {
                ResponseTool::Function(function) => {
                    let mut definition = json!({"name": function.name});
                    if let Some(description) = &function.description {
                        definition["description"] = json!(description);
                    }
                    if let Some(parameters) = &function.parameters {
                        definition["parameters"] = parameters.clone();
                    }
                    if let Some(strict) = function.strict {
                        definition["strict"] = json!(strict);
                    }
                    tools.push(json!({"type": "function", "function": definition}));
                }
                other => {
                    return Err(unbridgeable(&format!(
                        "the built-in tool {:?}",
                        other.kind()
                    )))
                }
            }
        }
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &request.tool_choice {
        let choice = match choice {
            ResponseToolChoice::None => json!("none"),
            ResponseToolChoice::Auto => json!("auto"),
            ResponseToolChoice::Required => json!("required"),
            ResponseToolChoice::Function(name) => {
                json!({"type": "function", "function": {"name": name}})
            }
            ResponseToolChoice::Other(other) => {
                return Err(unbridgeable(&format!("the tool_choice {other}")))
            }
        };
        body.insert("tool_choice".into(), choice);
    }
    if let Some(format) = request.text.as_ref().and_then(|text| text.format.as_ref()) {
        let format = match serde_json::to_value(format).unwrap_or(Value::Null) {
            // Here the schema is flat in `format`; chat nests it under `json_schema`.
            Value::Object(mut flat) if matches!(format, TextFormat::JsonSchema(_)) => {
                flat.remove("type");
                json!({"type": "json_schema", "json_schema": flat})
            }
            other => other,
        };
        if format.get("type").and_then(Value::as_str) != Some("text") {
            body.insert("response_format".into(), format);
        }
    }
    if let Some(effort) = request.reasoning.as_ref().and_then(|r| r.effort.as_ref()) {
        body.insert("reasoning_effort".into(), json!(effort));
    }
    let copied = [
        ("max_tokens", request.max_output_tokens.map(|m| json!(m))),
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
    let mut chat: ChatRequest = serde_json::from_value(Value::Object(body))
        .map_err(|error| unbridgeable(&format!("this request ({error})")))?;
    chat.fallback_models.clone_from(&request.fallback_models);
    chat.retries = request.retries;
    chat.timeout = request.timeout;
    chat.cache.clone_from(&request.cache);
    Ok(chat)
}

fn unbridgeable(what: &str) -> Error {
    Error::unsupported(format!(
        "{what} cannot go through a chat API: this provider has no Responses API"
    ))
}

/// Appends the chat messages one input item makes.
fn chat_messages(
    item: &InputItem,
    messages: &mut Vec<Value>,
    reasoning: &mut Option<String>,
) -> Result<(), Error> {
    match item {
        InputItem::Message(message) => {
            let role = message.role.as_str();
            let content = match &message.content {
                MessageContent::Text(text) => json!(text),
                MessageContent::Parts(parts) => {
                    let mut converted = Vec::new();
                    for part in parts {
                        converted.push(match part {
                            InputContent::InputText { text, .. } => {
                                json!({"type": "text", "text": text})
                            }
                            InputContent::OutputText(OutputContent::OutputText(output)) => {
                                json!({"type": "text", "text": output.text})
                            }
                            InputContent::InputImage(image) => match &image.image_url {
                                Some(url) => {
                                    let mut part =
                                        json!({"type": "image_url", "image_url": {"url": url}});
                                    if let Some(detail) = &image.detail {
                                        part["image_url"]["detail"] = json!(detail);
                                    }
                                    part
                                }
                                None => return Err(unbridgeable("an input_image by file_id")),
                            },
                            InputContent::InputFile(_) => {
                                return Err(unbridgeable("an input_file part"))
                            }
                            _ => {
                                return Err(unbridgeable(
                                    "an input part other than text and images",
                                ))
                            }
                        });
                    }
                    Value::Array(converted)
                }
            };
            let mut turn = json!({"role": role, "content": content});
            if role == "assistant" {
                if let Some(thought) = reasoning.take() {
                    turn["reasoning_content"] = json!(thought);
                }
            }
            messages.push(turn);
        }
        InputItem::FunctionCall(call) => {
            let tool_call = json!({"id": call.call_id, "type": "function",
                "function": {"name": call.name, "arguments": call.arguments}});
            // Consecutive calls are one assistant turn, as chat has them.
            let open = messages
                .last_mut()
                .filter(|last| last["role"] == "assistant" && last.get("tool_calls").is_some());
            match open {
                Some(last) => {
                    if let Some(calls) = last["tool_calls"].as_array_mut() {
                        calls.push(tool_call);
                    }
                }
                None => {
                    let mut turn =
                        json!({"role": "assistant", "content": null, "tool_calls": [tool_call]});
                    if let Some(thought) = reasoning.take() {
                        turn["reasoning_content"] = json!(thought);
                    }
                    messages.push(turn);
                }
            }
        }
        InputItem::FunctionCallOutput(output) => {
            let text = output.output.text();
            messages.push(json!({"role": "tool", "tool_call_id": output.call_id, "content": text}));
        }
        InputItem::Reasoning(item) => {
            let summary: Vec<&str> = item.summary.iter().map(|part| part.text.as_str()).collect();
            if !summary.is_empty() {
                *reasoning = Some(summary.join("\n\n"));
            }
        }
        other => {
            return Err(unbridgeable(&format!(
                "an input item of type {:?} (state the server stored)",
                other.kind()
            )))
        }
    }
    Ok(())
}

/// The Responses API reply a chat completion amounts to: its reasoning as a reasoning item
/// (a summary), its text or refusal as a message item, its tool calls as `function_call`
/// items, in that order; usage in this API's names; status `incomplete` (reason
/// `max_output_tokens` or `content_filter`) when the completion was cut, else `completed`.
/// Item ids are made from the completion's id and the calls' ids.
pub fn chat_as_response(completion: ChatCompletion) -> Response {
    let mut output = Vec::new();
    let message = completion.message();
    if let Some(thought) = message.and_then(|m| m.reasoning_content.as_deref()) {
        output.push(reasoning_item(&completion.id, thought));
    }
    let text = completion.text();
    let refusal = message.and_then(|m| m.refusal.as_deref());
    if !text.is_empty() || refusal.is_some() {
        output.push(message_item(&completion.id, &text, refusal, "completed"));
    }
    for call in completion.tool_calls() {
        output.push(function_call_item(
            &call.id,
            &call.function.name,
            &call.function.arguments,
            "completed",
        ));
    }
    let finish = completion
        .choices
        .first()
        .and_then(|choice| choice.finish_reason.clone());
    let mut response = Response::new(completion.id.clone(), completion.model, completion.created);
    response.output = output.into_iter().filter_map(item).collect();
    response.usage = completion
        .usage
        .as_ref()
        .map(ResponseUsage::from_chat_usage);
    if let Some(tier) = completion.service_tier {
        response.extra.insert("service_tier".into(), json!(tier));
    }
    set_status(&mut response, finish.as_ref());
    response
}

fn set_status(response: &mut Response, finish: Option<&FinishReason>) {
    let incomplete = match finish {
        Some(FinishReason::Length) => Some("max_output_tokens"),
        Some(FinishReason::ContentFilter) => Some("content_filter"),
        _ => None,
    };
    let (status, details) = match incomplete {
        Some(reason) => ("incomplete", json!({ "reason": reason })),
        None => ("completed", Value::Null),
    };
    response.status = serde_json::from_value(json!(status)).ok();
    response.incomplete_details = serde_json::from_value(details).ok().flatten();
}

fn item(value: Value) -> Option<OutputItem> {
    serde_json::from_value(value).ok()
}

fn reasoning_item(id: &str, summary: &str) -> Value {
    json!({"id": format!("rs_{id}"), "type": "reasoning",
        "summary": [{"type": "summary_text", "text": summary}]})
}

fn message_item(id: &str, text: &str, refusal: Option<&str>, status: &str) -> Value {
    let mut content = Vec::new();
    if !text.is_empty() {
        content.push(json!({"type": "output_text", "text": text, "annotations": []}));
    }
    if let Some(refusal) = refusal {
        content.push(json!({"type": "refusal", "refusal": refusal}));
    }
    json!({"id": format!("msg_{id}"), "type": "message", "status": status,
        "role": "assistant", "content": content})
}

fn function_call_item(call_id: &str, name: &str, arguments: &str, status: &str) -> Value {
    json!({"id": format!("fc_{call_id}"), "type": "function_call", "status": status,
        "call_id": call_id, "name": name, "arguments": arguments})
}

/// [`Provider::build_responses`]'s default: the translated chat request, checked against
/// the provider's capabilities like any chat call, built by its chat adapter.
pub(crate) fn build_responses<P: Provider + ?Sized>(
    provider: &P,
    model: &str,
    request: &ResponsesRequest,
    stream: bool,
) -> Result<http::Request<bytes::Bytes>, Error> {
    let chat = responses_as_chat(request)?;
    provider
        .capabilities()
        .check_chat(provider.name(), &chat, stream)?;
    provider.build_chat(model, &chat, stream)
}

/// [`Provider::parse_responses`]'s default: the chat reply, translated.
pub(crate) fn parse_responses<P: Provider + ?Sized>(
    provider: &P,
    response: &http::Response<bytes::Bytes>,
) -> Result<Response, Error> {
    provider.parse_chat(response).map(chat_as_response)
}

/// [`Provider::responses_stream_decoder`]'s default: the provider's chat stream decoder,
/// its chunks turned into events.
pub(crate) fn responses_stream_decoder<P: Provider + ?Sized>(
    provider: &P,
    model: &str,
) -> Box<dyn ResponsesStreamDecoder> {
    Box::new(EventsFromChunks::new(provider.chat_stream_decoder(model)))
}

/// What a chat stream has opened of the response, in the order its parts appeared.
#[derive(Debug)]
enum Open {
    Reasoning,
    Message,
    /// A tool call: chat's index for it.
    Call(u32),
}

/// The Responses API events a chat stream amounts to, numbered from 0: `response.created`
/// and `response.in_progress` at the first chunk; an output item added when its first
/// piece arrives (reasoning, the message, each tool call), with its part and the deltas
/// (`response.reasoning_summary_text.delta`, `response.output_text.delta`,
/// `response.refusal.delta`, `response.function_call_arguments.delta`); when the chat stream
/// ends, each item's `done` events, then `response.completed` (or `response.incomplete` for
/// a cut reply) carrying the whole response — what [`chat_as_response`] makes of the
/// completion the chunks fold into. Errors pass through unchanged.
#[derive(Debug)]
struct EventsFromChunks {
    inner: Box<dyn ChatStreamDecoder>,
    ready: VecDeque<Result<ResponseStreamEvent, Error>>,
    folded: ChunkAccumulator,
    sequence: u64,
    /// The response's id, model and creation time, from the first chunk.
    head: Option<(String, String, u64)>,
    /// Items opened so far; an item's position is its `output_index`.
    items: Vec<Open>,
    /// Tool calls' ids and names by chat index, as their first deltas said.
    calls: Vec<(u32, String, String)>,
    /// The terminal events were made.
    done: bool,
}

impl EventsFromChunks {
    fn new(inner: Box<dyn ChatStreamDecoder>) -> Self {
        EventsFromChunks {
            inner,
            ready: VecDeque::new(),
            folded: ChunkAccumulator::new(),
            sequence: 0,
            head: None,
            items: Vec::new(),
            calls: Vec::new(),
            done: false,
        }
    }

    fn emit(&mut self, mut event: Value) {
        event["sequence_number"] = json!(self.sequence);
        self.sequence += 1;
        match serde_json::from_value::<ResponseStreamEvent>(event) {
            Ok(event) => self.ready.push_back(Ok(event)),
            Err(error) => {
                self.ready
                    .push_back(Err(Error::decode("a bridged Responses event", error, b"")))
            }
        }
    }

    fn id(&self) -> &str {
        self.head.as_ref().map_or("", |(id, _, _)| id)
    }

    fn position(&self, wanted: &Open) -> Option<usize> {
        self.items.iter().position(|open| match (open, wanted) {
            (Open::Reasoning, Open::Reasoning) | (Open::Message, Open::Message) => true,
            (Open::Call(a), Open::Call(b)) => a == b,
            _ => false,
        })
    }

    /// The output index of `wanted`, adding it (and its opening events) if new.
    fn open(&mut self, wanted: Open, item: Value) -> usize {
        if let Some(at) = self.position(&wanted) {
            return at;
        }
        let at = self.items.len();
        let opens_message = matches!(wanted, Open::Message);
        let opens_reasoning = matches!(wanted, Open::Reasoning);
        self.items.push(wanted);
        self.emit(json!({"type": "response.output_item.added", "output_index": at, "item": item}));
        let id = self.id().to_owned();
        if opens_message {
            self.emit(
                json!({"type": "response.content_part.added", "item_id": format!("msg_{id}"),
                "output_index": at, "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": []}}),
            );
        }
        if opens_reasoning {
            self.emit(json!({"type": "response.reasoning_summary_part.added",
                "item_id": format!("rs_{id}"), "output_index": at, "summary_index": 0,
                "part": {"type": "summary_text", "text": ""}}));
        }
        at
    }

    fn translate(&mut self, chunk: ChatCompletionChunk) {
        self.folded.push(&chunk);
        if self.head.is_none() {
            self.head = Some((chunk.id.clone(), chunk.model.clone(), chunk.created));
            let start = json!({"id": chunk.id, "object": "response", "created_at": chunk.created,
                "status": "in_progress", "model": chunk.model, "output": []});
            self.emit(json!({"type": "response.created", "response": start}));
            self.emit(json!({"type": "response.in_progress", "response": start}));
        }
        let id = self.id().to_owned();
        for choice in chunk.choices.iter().filter(|choice| choice.index == 0) {
            let delta = &choice.delta;
            if let Some(thought) = delta.reasoning_content.as_deref().filter(|t| !t.is_empty()) {
                let at = self.open(
                    Open::Reasoning,
                    json!({"id": format!("rs_{id}"), "type": "reasoning", "summary": []}),
                );
                self.emit(json!({"type": "response.reasoning_summary_text.delta",
                    "item_id": format!("rs_{id}"), "output_index": at, "summary_index": 0,
                    "delta": thought}));
            }
            if let Some(text) = delta.content.as_deref().filter(|t| !t.is_empty()) {
                let at = self.open(Open::Message, message_item(&id, "", None, "in_progress"));
                self.emit(
                    json!({"type": "response.output_text.delta", "item_id": format!("msg_{id}"),
                    "output_index": at, "content_index": 0, "delta": text, "logprobs": []}),
                );
            }
            if let Some(refusal) = delta.refusal.as_deref().filter(|t| !t.is_empty()) {
                let at = self.open(Open::Message, message_item(&id, "", None, "in_progress"));
                self.emit(
                    json!({"type": "response.refusal.delta", "item_id": format!("msg_{id}"),
                    "output_index": at, "content_index": 0, "delta": refusal}),
                );
            }
            for call in delta.tool_calls.iter().flatten() {
                let index = call.index.unwrap_or(0);
                let function = call.function.as_ref();
                if !self.calls.iter().any(|(known, _, _)| *known == index) {
                    let call_id = call.id.clone().unwrap_or_else(|| format!("call_{index}"));
                    let name = function.and_then(|f| f.name.clone()).unwrap_or_default();
                    self.calls.push((index, call_id.clone(), name.clone()));
                    self.open(
                        Open::Call(index),
                        function_call_item(&call_id, &name, "", "in_progress"),
                    );
                }
                let fragment = function.and_then(|f| f.arguments.as_deref()).unwrap_or("");
                if !fragment.is_empty() {
                    let at = self.position(&Open::Call(index)).unwrap_or(0);
                    let call_id = self.call_id(index);
                    self.emit(json!({"type": "response.function_call_arguments.delta",
                        "item_id": format!("fc_{call_id}"), "output_index": at,
                        "delta": fragment}));
                }
            }
        }
    }

    fn call_id(&self, index: u32) -> String {
        self.calls
            .iter()
            .find(|(known, _, _)| *known == index)
            .map(|(_, id, _)| id.clone())
            .unwrap_or_default()
    }

    /// The `done` events of every open item, then the terminal event with the response.
    fn finish_response(&mut self) {
        self.done = true;
        let completion = self.folded.completion();
        let mut response = chat_as_response(completion.clone());
        let id = self.id().to_owned();
        let text = completion.text();
        let thought = completion
            .message()
            .and_then(|m| m.reasoning_content.clone())
            .unwrap_or_default();
        let items = std::mem::take(&mut self.items);
        let mut output = Vec::new();
        for (at, open) in items.iter().enumerate() {
            let item = match open {
                Open::Reasoning => {
                    self.emit(json!({"type": "response.reasoning_summary_text.done",
                        "item_id": format!("rs_{id}"), "output_index": at, "summary_index": 0,
                        "text": thought}));
                    self.emit(json!({"type": "response.reasoning_summary_part.done",
                        "item_id": format!("rs_{id}"), "output_index": at, "summary_index": 0,
                        "part": {"type": "summary_text", "text": thought}}));
                    reasoning_item(&id, &thought)
                }
                Open::Message => {
                    let refusal = completion.message().and_then(|m| m.refusal.as_deref());
                    self.emit(json!({"type": "response.output_text.done",
                        "item_id": format!("msg_{id}"), "output_index": at, "content_index": 0,
                        "text": text, "logprobs": []}));
                    self.emit(json!({"type": "response.content_part.done",
                        "item_id": format!("msg_{id}"), "output_index": at, "content_index": 0,
                        "part": {"type": "output_text", "text": text, "annotations": []}}));
                    message_item(&id, &text, refusal, "completed")
                }
                Open::Call(index) => {
                    let position = usize::try_from(*index).unwrap_or(usize::MAX);
                    let (call_id, name, arguments) = completion
                        .tool_calls()
                        .get(position)
                        .map(|call| {
                            (
                                call.id.clone(),
                                call.function.name.clone(),
                                call.function.arguments.clone(),
                            )
                        })
                        .unwrap_or_default();
                    self.emit(json!({"type": "response.function_call_arguments.done",
                        "item_id": format!("fc_{call_id}"), "output_index": at,
                        "arguments": arguments}));
                    function_call_item(&call_id, &name, &arguments, "completed")
                }
            };
            self.emit(
                json!({"type": "response.output_item.done", "output_index": at,
                "item": item}),
            );
            output.push(item);
        }
        // The items in the order the stream opened them, as its events numbered them.
        response.output = output.into_iter().filter_map(item).collect();
        let kind = if response.status_str() == "incomplete" {
            "response.incomplete"
        } else {
            "response.completed"
        };
        let response = serde_json::to_value(&response).unwrap_or(Value::Null);
        self.emit(json!({"type": kind, "response": response}));
    }

    fn pull(&mut self) {
        while let Some(item) = self.inner.next_chunk() {
            match item {
                Ok(chunk) => self.translate(chunk),
                Err(error) => self.ready.push_back(Err(error)),
            }
        }
        if self.inner.is_complete() && !self.done {
            self.finish_response();
        }
    }
}

impl ResponsesStreamDecoder for EventsFromChunks {
    fn push(&mut self, bytes: &[u8]) {
        self.inner.push(bytes);
        self.pull();
    }

    fn finish(&mut self) {
        self.inner.finish();
        self.pull();
    }

    fn next_event(&mut self) -> Option<Result<ResponseStreamEvent, Error>> {
        self.ready.pop_front()
    }

    fn is_complete(&self) -> bool {
        self.done && self.ready.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{FunctionTool, InputItem, Message};

    #[test]
    fn a_tool_conversation_translates_to_chat_turns() {
        let mut request = ResponsesRequest::new(
            "anthropic/claude",
            vec![
                InputItem::user("Weather?"),
                InputItem::function_call("call_1", "weather", "{\"city\":\"Paris\"}"),
                InputItem::function_call("call_2", "weather", "{\"city\":\"Rome\"}"),
                InputItem::function_call_output("call_1", "sunny"),
                InputItem::function_call_output("call_2", "rain"),
            ],
        )
        .instructions("Be brief.");
        request.tools.push(ResponseTool::Function(FunctionTool {
            name: "weather".into(),
            description: None,
            parameters: Some(json!({"type": "object"})),
            strict: None,
            extra: Default::default(),
        }));
        let chat = responses_as_chat(&request).unwrap();
        let roles: Vec<&str> = chat.messages.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["system", "user", "assistant", "tool", "tool"]);
        assert_eq!(
            chat.messages[2].tool_calls.as_ref().unwrap().len(),
            2,
            "one turn"
        );
        assert_eq!(chat.tools.as_ref().unwrap()[0].function.name, "weather");
        request.previous_response_id = Some("resp_1".into());
        let error = responses_as_chat(&request).unwrap_err();
        assert!(error.message().contains("previous_response_id"), "{error}");
    }

    #[test]
    fn a_completion_becomes_a_response_and_back() {
        let mut message = Message::assistant("Hello");
        message.reasoning_content = Some("thinking".into());
        let mut completion = ChatCompletion::from_message(message, FinishReason::Length);
        completion.id = "c1".into();
        completion.usage = Some(crate::types::Usage::new(5, 2));
        let response = chat_as_response(completion);
        assert_eq!(response.output_text(), "Hello");
        assert_eq!(response.reasoning_summary().as_deref(), Some("thinking"));
        assert_eq!(response.status_str(), "incomplete");
        assert_eq!(response.usage.as_ref().unwrap().output_tokens, 2);
        let back = super::super::response_as_chat(response);
        assert_eq!(back.text(), "Hello");
        assert_eq!(back.choices[0].finish_reason, Some(FinishReason::Length));
    }
}
