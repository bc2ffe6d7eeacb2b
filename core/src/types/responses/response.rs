//! The Responses API's reply: [`Response`], its output items, and its usage.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::typed_objects;
use crate::error::{CallReport, ReportSlot};
use crate::types::message::Role;
use crate::types::response::lenient_cost;
use crate::types::{open_string_enum, CompletionTokensDetails, Extra, PromptTokensDetails, Usage};

/// A Responses API reply (`"object": "response"`), whole or as a stream's terminal event
/// carries it.
///
/// Only the fields OneLLM reads are modelled; the request echo OpenAI sends back
/// (`temperature`, `tools`, `text`, `reasoning`, `store`, …) stays in `extra`, nulls
/// included, so the value serializes back to what the server sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The response id (`resp_…`), what `previous_response_id` refers to.
    #[serde(default)]
    pub id: String,
    /// Always `response`.
    #[serde(default = "response_object")]
    pub object: String,
    /// Unix seconds when it was created.
    #[serde(default)]
    pub created_at: u64,
    /// The model that answered (the provider's name for it).
    #[serde(default)]
    pub model: String,
    /// Where the response is: `completed`, `incomplete`, `failed`, `in_progress`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ResponseStatus>,
    /// What the model produced, in order: messages, function calls, reasoning, built-in tool
    /// calls.
    #[serde(default)]
    pub output: Vec<OutputItem>,
    /// Token usage; `null` until the response is done.
    #[serde(default)]
    pub usage: Option<ResponseUsage>,
    /// Why the response is `incomplete`; `null` otherwise.
    #[serde(default)]
    pub incomplete_details: Option<IncompleteDetails>,
    /// What went wrong when the response `failed`; `null` otherwise.
    #[serde(default)]
    pub error: Option<ResponseError>,
    /// The request's instructions, echoed (a string, or input items for a prompt template).
    #[serde(default)]
    pub instructions: Option<Value>,
    /// Fields this version does not model, kept verbatim (and serialized back).
    #[serde(flatten)]
    pub extra: Extra,
    /// How the call that produced this went ([`report`](Self::report)); not part of the
    /// JSON.
    #[serde(skip)]
    pub report: ReportSlot,
}

fn response_object() -> String {
    "response".to_owned()
}

impl Response {
    /// An empty response with `id` and `model`, status `in_progress`: the start a bridge or
    /// an accumulator builds on.
    pub fn new(id: impl Into<String>, model: impl Into<String>, created_at: u64) -> Self {
        Response {
            id: id.into(),
            object: response_object(),
            created_at,
            model: model.into(),
            status: Some(ResponseStatus::InProgress),
            ..Default::default()
        }
    }

    /// Every `output_text` part of every output message, joined with nothing between them:
    /// what the OpenAI SDKs' `output_text` property returns.
    pub fn output_text(&self) -> String {
        self.output
            .iter()
            .filter_map(|item| match item {
                OutputItem::Message(message) => Some(message.text()),
                _ => None,
            })
            .collect()
    }

    /// The function calls the model made, in order.
    pub fn function_calls(&self) -> impl Iterator<Item = &FunctionCallItem> + '_ {
        self.output.iter().filter_map(|item| match item {
            OutputItem::FunctionCall(call) => Some(call),
            _ => None,
        })
    }

    /// The reasoning summaries' text, joined by blank lines; `None` when there is none.
    pub fn reasoning_summary(&self) -> Option<String> {
        let parts: Vec<&str> = self
            .output
            .iter()
            .filter_map(|item| match item {
                OutputItem::Reasoning(reasoning) => Some(reasoning),
                _ => None,
            })
            .flat_map(|reasoning| reasoning.summary.iter())
            .map(|part| part.text.as_str())
            .filter(|text| !text.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }

    /// The first refusal in the output, if the model refused.
    pub fn refusal(&self) -> Option<&str> {
        self.output.iter().find_map(|item| match item {
            OutputItem::Message(message) => message.content.iter().find_map(|part| match part {
                OutputContent::Refusal(refusal) => Some(refusal.refusal.as_str()),
                _ => None,
            }),
            _ => None,
        })
    }
}

open_string_enum! {
    /// A response's `status`. Open: a new status is kept as `Other`.
    ResponseStatus {
        /// Done, with all its output.
        Completed => "completed",
        /// Done early (token limit, content filter): see `incomplete_details`.
        Incomplete => "incomplete",
        /// Failed: see `error`.
        Failed => "failed",
        /// Still being generated.
        InProgress => "in_progress",
        /// Waiting to start (background mode).
        Queued => "queued",
        /// Cancelled by the caller (background mode).
        Cancelled => "cancelled",
    }
}

open_string_enum! {
    /// An output or input item's `status`. Open: a new status is kept as `Other`.
    ItemStatus {
        /// Still being generated.
        InProgress => "in_progress",
        /// Done.
        Completed => "completed",
        /// Cut short with its response.
        Incomplete => "incomplete",
    }
}

/// Why a response is `incomplete`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncompleteDetails {
    /// `max_output_tokens` or `content_filter` (kept as text: the API may add reasons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What went wrong in a `failed` response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseError {
    /// OpenAI's error code (`server_error`, `rate_limit_exceeded`, …).
    #[serde(default)]
    pub code: Option<String>,
    /// What happened, in words.
    #[serde(default)]
    pub message: String,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

typed_objects! {
    /// One item of a response's `output`, told apart by `type`. Built-in tool calls
    /// (`web_search_call`, `file_search_call`, `code_interpreter_call`, `mcp_call`, …) are
    /// `Other`: kept whole, named by their `type`.
    OutputItem {
        /// An assistant message: text and refusals.
        Message(OutputMessage) => "message",
        /// A call of one of the request's function tools.
        FunctionCall(FunctionCallItem) => "function_call",
        /// The model's reasoning: summaries and, when asked for, its encrypted content.
        Reasoning(ReasoningItem) => "reasoning",
    }
}

impl OutputItem {
    /// The item's `id`, when it has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            OutputItem::Message(message) => Some(&message.id),
            OutputItem::FunctionCall(call) => call.id.as_deref(),
            OutputItem::Reasoning(reasoning) => Some(&reasoning.id),
            OutputItem::Other { raw, .. } => raw.get("id").and_then(Value::as_str),
        }
    }

    /// Whether the item carries output a caller could see: text, a refusal, a reasoning
    /// summary, a function call (its name is output even before its arguments) or any
    /// built-in tool call. An empty message or reasoning item, as `output_item.added`
    /// announces them, is not.
    pub fn has_content(&self) -> bool {
        match self {
            OutputItem::Message(message) => message.content.iter().any(OutputContent::has_content),
            OutputItem::FunctionCall(_) | OutputItem::Other { .. } => true,
            OutputItem::Reasoning(reasoning) => reasoning
                .summary
                .iter()
                .chain(reasoning.content.iter().flatten())
                .any(|part| !part.text.is_empty()),
        }
    }
}

/// An assistant message in a response's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputMessage {
    /// The item id (`msg_…`).
    #[serde(default)]
    pub id: String,
    /// Always `assistant` from OpenAI.
    #[serde(default = "assistant")]
    pub role: Role,
    /// `in_progress`, `completed` or `incomplete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    /// Its parts: text and refusals.
    #[serde(default)]
    pub content: Vec<OutputContent>,
    /// Fields this version does not model (`phase`, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

fn assistant() -> Role {
    Role::Assistant
}

impl Default for OutputMessage {
    /// An empty assistant message.
    fn default() -> Self {
        OutputMessage {
            id: String::new(),
            role: Role::Assistant,
            status: None,
            content: Vec::new(),
            extra: Extra::new(),
        }
    }
}

impl OutputMessage {
    /// The message's `output_text` parts joined.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|part| match part {
                OutputContent::OutputText(text) => Some(text.text.as_str()),
                _ => None,
            })
            .collect()
    }
}

typed_objects! {
    /// A part of an output message (and of an assistant message sent back as input).
    OutputContent {
        /// Generated text, with its annotations (citations).
        OutputText(OutputText) => "output_text",
        /// The model's refusal to answer.
        Refusal(RefusalContent) => "refusal",
    }
}

impl OutputContent {
    /// Whether the part has any text or refusal in it.
    pub fn has_content(&self) -> bool {
        match self {
            OutputContent::OutputText(text) => !text.text.is_empty(),
            OutputContent::Refusal(refusal) => !refusal.refusal.is_empty(),
            OutputContent::Other { .. } => true,
        }
    }
}

/// An `output_text` part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputText {
    /// The text.
    #[serde(default)]
    pub text: String,
    /// Citations and file references, as sent.
    #[serde(default)]
    pub annotations: Vec<Value>,
    /// Fields this version does not model (`logprobs`, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl OutputText {
    /// A part with `text` and no annotations.
    pub fn new(text: impl Into<String>) -> Self {
        OutputText {
            text: text.into(),
            ..Default::default()
        }
    }
}

/// A `refusal` part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RefusalContent {
    /// The refusal's text.
    #[serde(default)]
    pub refusal: String,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `function_call` item: in a response's output, and sent back as input on the next turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallItem {
    /// The item id (`fc_…`); optional in input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The id the `function_call_output` answering it must carry.
    #[serde(default)]
    pub call_id: String,
    /// The function's name.
    #[serde(default)]
    pub name: String,
    /// The arguments: JSON text as the model wrote it.
    #[serde(default, deserialize_with = "crate::types::message::arguments_as_text")]
    pub arguments: String,
    /// `in_progress`, `completed` or `incomplete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl FunctionCallItem {
    /// A completed call of `name` with `arguments` (JSON text), answered by `call_id`.
    pub fn new(
        call_id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        FunctionCallItem {
            call_id: call_id.into(),
            name: name.into(),
            arguments: arguments.into(),
            ..Default::default()
        }
    }
}

/// A `reasoning` item: the model's reasoning, summarized, and (with
/// `include: ["reasoning.encrypted_content"]`) encrypted so it can be sent back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReasoningItem {
    /// The item id (`rs_…`).
    #[serde(default)]
    pub id: String,
    /// Summary parts (`summary_text`).
    #[serde(default)]
    pub summary: Vec<TextPart>,
    /// The reasoning text itself (`reasoning_text` parts), from models and servers that
    /// show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<TextPart>>,
    /// The reasoning, encrypted, for sending back on the next turn without `store`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_content: Option<String>,
    /// `in_progress`, `completed` or `incomplete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A typed piece of text: a reasoning summary part (`summary_text`) or reasoning content
/// part (`reasoning_text`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextPart {
    /// `summary_text` or `reasoning_text`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The text.
    #[serde(default)]
    pub text: String,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TextPart {
    /// A `summary_text` part.
    pub fn summary(text: impl Into<String>) -> Self {
        TextPart {
            kind: "summary_text".to_owned(),
            text: text.into(),
            extra: Extra::new(),
        }
    }

    /// A `reasoning_text` part.
    pub fn reasoning(text: impl Into<String>) -> Self {
        TextPart {
            kind: "reasoning_text".to_owned(),
            text: text.into(),
            extra: Extra::new(),
        }
    }
}

/// A response's token usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseUsage {
    /// Tokens of the input, cached ones included.
    #[serde(default)]
    pub input_tokens: u64,
    /// Tokens of the output, reasoning included.
    #[serde(default)]
    pub output_tokens: u64,
    /// Input plus output tokens.
    #[serde(default)]
    pub total_tokens: u64,
    /// What the input tokens were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens_details: Option<InputTokensDetails>,
    /// What the output tokens were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_details: Option<OutputTokensDetails>,
    /// What the call cost in USD, as chat's [`Usage::cost`]: the provider's figure when it
    /// reports one, else the client's from the catalog; absent (never 0) otherwise.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_cost_field"
    )]
    pub cost: Option<f64>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

fn lenient_cost_field<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<f64>, D::Error> {
    Ok(lenient_cost(Value::deserialize(deserializer)?))
}

/// Breakdown of input tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputTokensDetails {
    /// Tokens read from the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Breakdown of output tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputTokensDetails {
    /// Tokens spent reasoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ResponseUsage {
    /// Usage with the three totals set (total = input + output).
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        ResponseUsage {
            input_tokens,
            output_tokens,
            total_tokens: input_tokens + output_tokens,
            ..Default::default()
        }
    }

    /// The same counts as chat's [`Usage`] (input → prompt, output → completion, cached and
    /// reasoning details, cost), so one pricing and budget path serves both APIs.
    pub fn to_chat_usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.input_tokens,
            completion_tokens: self.output_tokens,
            total_tokens: self.total_tokens,
            prompt_tokens_details: self.input_tokens_details.as_ref().map(|details| {
                PromptTokensDetails {
                    cached_tokens: details.cached_tokens,
                    ..Default::default()
                }
            }),
            completion_tokens_details: self.output_tokens_details.as_ref().map(|details| {
                CompletionTokensDetails {
                    reasoning_tokens: details.reasoning_tokens,
                    ..Default::default()
                }
            }),
            cost: self.cost,
            extra: Extra::new(),
        }
    }

    /// Chat's [`Usage`] in this API's names: the inverse of
    /// [`to_chat_usage`](Self::to_chat_usage) for the counts both have.
    pub fn from_chat_usage(usage: &Usage) -> Self {
        ResponseUsage {
            input_tokens: usage.prompt_tokens,
            output_tokens: usage.completion_tokens,
            total_tokens: usage.total_tokens,
            input_tokens_details: Some(InputTokensDetails {
                cached_tokens: Some(usage.cached_tokens()),
                extra: Extra::new(),
            }),
            output_tokens_details: Some(OutputTokensDetails {
                reasoning_tokens: Some(usage.reasoning_tokens()),
                extra: Extra::new(),
            }),
            cost: usage.cost,
            extra: Extra::new(),
        }
    }

    /// Cached input tokens, 0 when not reported.
    pub fn cached_tokens(&self) -> u64 {
        self.input_tokens_details
            .as_ref()
            .and_then(|details| details.cached_tokens)
            .unwrap_or(0)
    }

    /// Reasoning tokens, 0 when not reported.
    pub fn reasoning_tokens(&self) -> u64 {
        self.output_tokens_details
            .as_ref()
            .and_then(|details| details.reasoning_tokens)
            .unwrap_or(0)
    }
}

/// What a client call adds to a response, and what it reads of one.
impl Response {
    /// How the call that produced this response went: every attempt, and whether the
    /// answer came from the cache. `None` for a response not made by a client call (parsed
    /// by hand, say).
    pub fn report(&self) -> Option<&CallReport> {
        self.report.get()
    }

    /// The `status` as its wire string (`completed`, `incomplete`, …; empty when absent).
    pub fn status_str(&self) -> &str {
        self.status.as_ref().map_or("", |status| status.as_str())
    }

    /// The processing tier that served the call (`service_tier`, echoed in the response),
    /// which prices it.
    pub fn service_tier(&self) -> Option<&str> {
        self.extra.get("service_tier").and_then(Value::as_str)
    }
}
