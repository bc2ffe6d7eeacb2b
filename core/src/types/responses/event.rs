//! One event of a streamed Responses API reply.
//!
//! OpenAI streams a response as SSE events whose `data` is a JSON object tagged by `type`
//! (`response.output_text.delta`, …) and numbered by `sequence_number`. Each known type is a
//! variant; several share a payload struct (every `*.delta` is a [`DeltaEvent`]). A type this
//! version does not know is [`ResponseStreamEvent::Other`], kept verbatim: a new event never
//! fails a stream.

use serde::{Deserialize, Serialize};

use super::response::{OutputContent, OutputItem, Response, TextPart};
use super::typed_objects;
use crate::types::Extra;

typed_objects! {
    /// One streamed event. Serializes back to the JSON it was read from.
    ResponseStreamEvent {
        /// The response was created (status `in_progress`, no output yet).
        Created(LifecycleEvent) => "response.created",
        /// The response is queued (background mode).
        Queued(LifecycleEvent) => "response.queued",
        /// The response is being generated.
        InProgress(LifecycleEvent) => "response.in_progress",
        /// Terminal: the whole response, completed, with usage.
        Completed(LifecycleEvent) => "response.completed",
        /// Terminal: the whole response, cut short (see `incomplete_details`).
        Incomplete(LifecycleEvent) => "response.incomplete",
        /// Terminal: the response failed (see its `error`).
        Failed(LifecycleEvent) => "response.failed",
        /// An output item starts (often empty).
        OutputItemAdded(OutputItemEvent) => "response.output_item.added",
        /// An output item is done, whole.
        OutputItemDone(OutputItemEvent) => "response.output_item.done",
        /// A message part starts.
        ContentPartAdded(ContentPartEvent) => "response.content_part.added",
        /// A message part is done, whole.
        ContentPartDone(ContentPartEvent) => "response.content_part.done",
        /// More text of an `output_text` part.
        OutputTextDelta(DeltaEvent) => "response.output_text.delta",
        /// An `output_text` part's whole text.
        OutputTextDone(TextDoneEvent) => "response.output_text.done",
        /// More of a refusal.
        RefusalDelta(DeltaEvent) => "response.refusal.delta",
        /// A refusal's whole text.
        RefusalDone(RefusalDoneEvent) => "response.refusal.done",
        /// More of a function call's arguments.
        FunctionCallArgumentsDelta(DeltaEvent) => "response.function_call_arguments.delta",
        /// A function call's whole arguments.
        FunctionCallArgumentsDone(ArgumentsDoneEvent) => "response.function_call_arguments.done",
        /// A reasoning summary part starts.
        ReasoningSummaryPartAdded(SummaryPartEvent) => "response.reasoning_summary_part.added",
        /// A reasoning summary part is done.
        ReasoningSummaryPartDone(SummaryPartEvent) => "response.reasoning_summary_part.done",
        /// More of a reasoning summary's text.
        ReasoningSummaryTextDelta(DeltaEvent) => "response.reasoning_summary_text.delta",
        /// A reasoning summary part's whole text.
        ReasoningSummaryTextDone(TextDoneEvent) => "response.reasoning_summary_text.done",
        /// More reasoning text.
        ReasoningTextDelta(DeltaEvent) => "response.reasoning_text.delta",
        /// A reasoning content part's whole text.
        ReasoningTextDone(TextDoneEvent) => "response.reasoning_text.done",
        /// An error; the stream ends.
        Error(ErrorEvent) => "error",
    }
}

impl ResponseStreamEvent {
    /// The event's `sequence_number`, when the server sent one.
    pub fn sequence_number(&self) -> Option<u64> {
        use ResponseStreamEvent as E;
        match self {
            E::Created(e)
            | E::Queued(e)
            | E::InProgress(e)
            | E::Completed(e)
            | E::Incomplete(e)
            | E::Failed(e) => e.sequence_number,
            E::OutputItemAdded(e) | E::OutputItemDone(e) => e.sequence_number,
            E::ContentPartAdded(e) | E::ContentPartDone(e) => e.sequence_number,
            E::OutputTextDelta(e)
            | E::RefusalDelta(e)
            | E::FunctionCallArgumentsDelta(e)
            | E::ReasoningSummaryTextDelta(e)
            | E::ReasoningTextDelta(e) => e.sequence_number,
            E::OutputTextDone(e) | E::ReasoningSummaryTextDone(e) | E::ReasoningTextDone(e) => {
                e.sequence_number
            }
            E::RefusalDone(e) => e.sequence_number,
            E::FunctionCallArgumentsDone(e) => e.sequence_number,
            E::ReasoningSummaryPartAdded(e) | E::ReasoningSummaryPartDone(e) => e.sequence_number,
            E::Error(e) => e.sequence_number,
            E::Other { raw, .. } => raw
                .get("sequence_number")
                .and_then(serde_json::Value::as_u64),
        }
    }

    /// The response a lifecycle event (`response.created`, …, `response.failed`) carries.
    pub fn response(&self) -> Option<&Response> {
        use ResponseStreamEvent as E;
        match self {
            E::Created(e)
            | E::Queued(e)
            | E::InProgress(e)
            | E::Completed(e)
            | E::Incomplete(e)
            | E::Failed(e) => Some(&e.response),
            _ => None,
        }
    }

    /// Whether this event ends a successful stream: `response.completed` or
    /// `response.incomplete` (a cut-short answer is still an answer, as chat's
    /// `finish_reason: length` is). `response.failed` and `error` end it too, as errors.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            ResponseStreamEvent::Completed(_) | ResponseStreamEvent::Incomplete(_)
        )
    }

    /// Whether the event carries output the caller could see — the Responses counterpart of
    /// [`ChatCompletionChunk::has_content`](crate::ChatCompletionChunk::has_content), with
    /// the same use: a call may be retried or moved to a fallback model until the first
    /// event for which this is true is handed to the caller, and not after.
    ///
    /// True for: a non-empty delta of text, refusal, function-call arguments, reasoning
    /// summary or reasoning text; `output_item.added`/`.done` whose item has content by
    /// [`OutputItem::has_content`] (a function call or built-in tool call always does, an
    /// empty message or reasoning item does not); `content_part.*`, `*.done` text events and
    /// summary parts with non-empty text (servers that send whole parts without deltas);
    /// and events of unknown type, which may carry output this version cannot see into.
    /// False for lifecycle events (`created`, `in_progress`, `completed`, …) and `error`:
    /// a terminal event's output was already counted through the events before it, and a
    /// stream that is only a terminal event has nothing left to retry.
    pub fn has_content(&self) -> bool {
        use ResponseStreamEvent as E;
        match self {
            E::Created(_)
            | E::Queued(_)
            | E::InProgress(_)
            | E::Completed(_)
            | E::Incomplete(_)
            | E::Failed(_)
            | E::Error(_) => false,
            E::OutputItemAdded(e) | E::OutputItemDone(e) => e.item.has_content(),
            E::ContentPartAdded(e) | E::ContentPartDone(e) => e.part.has_content(),
            E::OutputTextDelta(e)
            | E::RefusalDelta(e)
            | E::FunctionCallArgumentsDelta(e)
            | E::ReasoningSummaryTextDelta(e)
            | E::ReasoningTextDelta(e) => !e.delta.is_empty(),
            E::OutputTextDone(e) | E::ReasoningSummaryTextDone(e) | E::ReasoningTextDone(e) => {
                !e.text.is_empty()
            }
            E::RefusalDone(e) => !e.refusal.is_empty(),
            E::FunctionCallArgumentsDone(e) => !e.arguments.is_empty(),
            E::ReasoningSummaryPartAdded(e) | E::ReasoningSummaryPartDone(e) => {
                !e.part.text.is_empty()
            }
            E::Other { .. } => true,
        }
    }
}

/// `response.created`, `.queued`, `.in_progress`, `.completed`, `.incomplete`, `.failed`:
/// the response as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LifecycleEvent {
    /// The event's position in the stream (older servers send none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// The response so far (whole, for the terminal events).
    pub response: Response,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `response.output_item.added` and `.done`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputItemEvent {
    /// The event's position in the stream (older servers send none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// The item's position in `output`.
    #[serde(default)]
    pub output_index: u32,
    /// The item (whole, for `.done`).
    pub item: OutputItem,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `response.content_part.added` and `.done`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentPartEvent {
    /// The event's position in the stream (older servers send none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// The message item's id.
    #[serde(default)]
    pub item_id: String,
    /// The message item's position in `output`.
    #[serde(default)]
    pub output_index: u32,
    /// The part's position in the message's `content`.
    #[serde(default)]
    pub content_index: u32,
    /// The part (whole, for `.done`).
    pub part: OutputContent,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Every `*.delta` event: more text for one part of one item.
///
/// `content_index` is present for message parts and reasoning text, `summary_index` for
/// reasoning summaries, neither for function-call arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeltaEvent {
    /// The event's position in the stream (older servers send none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// The item's id.
    #[serde(default)]
    pub item_id: String,
    /// The item's position in `output`.
    #[serde(default)]
    pub output_index: u32,
    /// The part's position in the item's content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_index: Option<u32>,
    /// The summary part's position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_index: Option<u32>,
    /// The new text.
    #[serde(default)]
    pub delta: String,
    /// Fields this version does not model (`logprobs`, `obfuscation`, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `response.output_text.done`, `.reasoning_summary_text.done`, `.reasoning_text.done`:
/// one part's whole text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextDoneEvent {
    /// The event's position in the stream (older servers send none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// The item's id.
    #[serde(default)]
    pub item_id: String,
    /// The item's position in `output`.
    #[serde(default)]
    pub output_index: u32,
    /// The part's position in the item's content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_index: Option<u32>,
    /// The summary part's position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_index: Option<u32>,
    /// The whole text.
    #[serde(default)]
    pub text: String,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `response.refusal.done`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusalDoneEvent {
    /// The event's position in the stream (older servers send none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// The message item's id.
    #[serde(default)]
    pub item_id: String,
    /// The message item's position in `output`.
    #[serde(default)]
    pub output_index: u32,
    /// The part's position in the message's `content`.
    #[serde(default)]
    pub content_index: u32,
    /// The whole refusal.
    #[serde(default)]
    pub refusal: String,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `response.function_call_arguments.done`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArgumentsDoneEvent {
    /// The event's position in the stream (older servers send none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// The function call item's id.
    #[serde(default)]
    pub item_id: String,
    /// The item's position in `output`.
    #[serde(default)]
    pub output_index: u32,
    /// The whole arguments (JSON text).
    #[serde(default)]
    pub arguments: String,
    /// Fields this version does not model (`name`, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `response.reasoning_summary_part.added` and `.done`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryPartEvent {
    /// The event's position in the stream (older servers send none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// The reasoning item's id.
    #[serde(default)]
    pub item_id: String,
    /// The item's position in `output`.
    #[serde(default)]
    pub output_index: u32,
    /// The part's position in the summary.
    #[serde(default)]
    pub summary_index: u32,
    /// The part (whole, for `.done`).
    pub part: TextPart,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `error`: the server gave up mid-stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEvent {
    /// The event's position in the stream (older servers send none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// OpenAI's error code (`rate_limit_exceeded`, `server_error`, …).
    #[serde(default)]
    pub code: Option<String>,
    /// What happened.
    #[serde(default)]
    pub message: String,
    /// The request parameter at fault.
    #[serde(default)]
    pub param: Option<String>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ResponseStreamEvent {
    /// The text an `response.output_text.delta` event adds to the reply (what a caller
    /// prints as the stream arrives); `None` for every other event.
    pub fn text_delta(&self) -> Option<&str> {
        match self {
            ResponseStreamEvent::OutputTextDelta(delta) => Some(&delta.delta),
            _ => None,
        }
    }
}
