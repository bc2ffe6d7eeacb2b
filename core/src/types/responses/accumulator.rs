//! Folding a Responses event stream into the [`Response`] it describes.

use super::event::ResponseStreamEvent;
use super::response::{
    FunctionCallItem, OutputContent, OutputItem, OutputMessage, OutputText, ReasoningItem,
    RefusalContent, Response, TextPart,
};

/// Folds streamed events into the [`Response`], whole or partial.
///
/// A terminal event (`response.completed`, `.incomplete`, `.failed`) carries the whole
/// response, and that is what [`response`](Self::response) then returns, as sent. Before
/// one arrives the response is built from the events so far: the last lifecycle event's
/// fields, items placed by `output_index` (an `output_item.done` replaces the item whole),
/// parts by `content_index` / `summary_index`, deltas appended. So a stream cut short gives
/// the partial response a `StreamInterrupted` error carries.
///
/// Documented differences from the terminal event, when built from deltas alone: a
/// reasoning item's `encrypted_content` is the one `output_item.done` carried, which OpenAI
/// encrypts afresh for the terminal event (same reasoning, different ciphertext); everything
/// else is equal item for item (the test over the recorded corpus holds it). A terminal event whose
/// `output` is empty while items were streamed keeps the streamed items (a server that
/// leaves them out of the terminal event still delivered them). An event for an
/// `output_index` past the end of the list is appended rather than leaving a hole.
///
/// ```
/// use onellm_core::{ResponseAccumulator, ResponseStreamEvent};
///
/// let events = [
///     r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","created_at":1,"model":"m","status":"in_progress","output":[],"usage":null}}"#,
///     r#"{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"type":"message","id":"msg_1","role":"assistant","status":"in_progress","content":[]}}"#,
///     r#"{"type":"response.content_part.added","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}"#,
///     r#"{"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hel"}"#,
///     r#"{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"lo"}"#,
/// ];
/// let mut accumulator = ResponseAccumulator::new();
/// for event in events {
///     accumulator.push(&serde_json::from_str::<ResponseStreamEvent>(event).unwrap());
/// }
/// let partial = accumulator.response().unwrap();
/// assert_eq!(partial.output_text(), "Hello");
/// assert!(!accumulator.is_terminal());
/// ```
#[derive(Debug, Clone, Default)]
pub struct ResponseAccumulator {
    response: Option<Response>,
    terminal: bool,
}

impl ResponseAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds in one event. Events of unknown type and `error` change nothing.
    pub fn push(&mut self, event: &ResponseStreamEvent) {
        use ResponseStreamEvent as E;
        match event {
            E::Completed(e) | E::Incomplete(e) | E::Failed(e) => {
                let streamed = self.response.take().map(|r| r.output).unwrap_or_default();
                let mut response = e.response.clone();
                if response.output.is_empty() {
                    response.output = streamed;
                }
                self.response = Some(response);
                self.terminal = true;
            }
            E::Created(e) | E::Queued(e) | E::InProgress(e) => {
                let streamed = self.response.take().map(|r| r.output).unwrap_or_default();
                let mut response = e.response.clone();
                if response.output.is_empty() {
                    response.output = streamed;
                }
                self.response = Some(response);
            }
            E::OutputItemAdded(e) | E::OutputItemDone(e) => {
                *self.slot(e.output_index) = e.item.clone();
            }
            E::ContentPartAdded(e) | E::ContentPartDone(e) => {
                if let Some(message) = self.message(e.output_index) {
                    *part_slot(&mut message.content, e.content_index) = e.part.clone();
                }
            }
            E::OutputTextDelta(e) => {
                if let Some(text) = self.output_text(e.output_index, e.content_index) {
                    text.text.push_str(&e.delta);
                }
            }
            E::OutputTextDone(e) => {
                if let Some(text) = self.output_text(e.output_index, e.content_index) {
                    text.text.clone_from(&e.text);
                }
            }
            E::RefusalDelta(e) => {
                if let Some(refusal) = self.refusal(e.output_index, e.content_index) {
                    refusal.refusal.push_str(&e.delta);
                }
            }
            E::RefusalDone(e) => {
                if let Some(refusal) = self.refusal(e.output_index, Some(e.content_index)) {
                    refusal.refusal.clone_from(&e.refusal);
                }
            }
            E::FunctionCallArgumentsDelta(e) => {
                if let Some(call) = self.function_call(e.output_index) {
                    call.arguments.push_str(&e.delta);
                }
            }
            E::FunctionCallArgumentsDone(e) => {
                if let Some(call) = self.function_call(e.output_index) {
                    call.arguments.clone_from(&e.arguments);
                }
            }
            E::ReasoningSummaryPartAdded(e) | E::ReasoningSummaryPartDone(e) => {
                if let Some(reasoning) = self.reasoning(e.output_index) {
                    *text_slot(&mut reasoning.summary, e.summary_index, "summary_text") =
                        e.part.clone();
                }
            }
            E::ReasoningSummaryTextDelta(e) => {
                if let Some(reasoning) = self.reasoning(e.output_index) {
                    let index = e.summary_index.unwrap_or(0);
                    text_slot(&mut reasoning.summary, index, "summary_text")
                        .text
                        .push_str(&e.delta);
                }
            }
            E::ReasoningSummaryTextDone(e) => {
                if let Some(reasoning) = self.reasoning(e.output_index) {
                    let index = e.summary_index.unwrap_or(0);
                    text_slot(&mut reasoning.summary, index, "summary_text")
                        .text
                        .clone_from(&e.text);
                }
            }
            E::ReasoningTextDelta(e) => {
                if let Some(reasoning) = self.reasoning(e.output_index) {
                    let content = reasoning.content.get_or_insert_with(Vec::new);
                    let index = e.content_index.unwrap_or(0);
                    text_slot(content, index, "reasoning_text")
                        .text
                        .push_str(&e.delta);
                }
            }
            E::ReasoningTextDone(e) => {
                if let Some(reasoning) = self.reasoning(e.output_index) {
                    let content = reasoning.content.get_or_insert_with(Vec::new);
                    let index = e.content_index.unwrap_or(0);
                    text_slot(content, index, "reasoning_text")
                        .text
                        .clone_from(&e.text);
                }
            }
            E::Error(_) | E::Other { .. } => {}
        }
    }

    /// The response so far: the terminal event's once one arrived, else what the events
    /// built. `None` before any event that says anything about it.
    pub fn response(&self) -> Option<Response> {
        self.response.clone()
    }

    /// The response so far, moved out; see [`response`](Self::response).
    pub fn into_response(self) -> Option<Response> {
        self.response
    }

    /// Whether a terminal event (`completed`, `incomplete`, `failed`) was folded in.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// The item at `index`, made (as an empty placeholder to be overwritten) if the list is
    /// shorter; past the end means appended.
    fn slot(&mut self, index: u32) -> &mut OutputItem {
        let output = &mut self
            .response
            .get_or_insert_with(|| Response::new("", "", 0))
            .output;
        let index = usize::try_from(index).unwrap_or(usize::MAX);
        if index >= output.len() {
            output.push(OutputItem::Other {
                kind: String::new(),
                raw: serde_json::Value::Null,
            });
            let last = output.len() - 1;
            return &mut output[last];
        }
        &mut output[index]
    }

    fn item(&mut self, index: u32) -> Option<&mut OutputItem> {
        let index = usize::try_from(index).ok()?;
        self.response.as_mut()?.output.get_mut(index)
    }

    /// The message at `index`; a delta for a message that was never announced makes one.
    fn message(&mut self, index: u32) -> Option<&mut OutputMessage> {
        if self.item(index).is_none() {
            *self.slot(index) = OutputItem::Message(OutputMessage::default());
        }
        match self.item(index)? {
            OutputItem::Message(message) => Some(message),
            _ => None,
        }
    }

    fn output_text(&mut self, index: u32, content_index: Option<u32>) -> Option<&mut OutputText> {
        let message = self.message(index)?;
        let slot = part_slot_or(&mut message.content, content_index.unwrap_or(0), || {
            OutputContent::OutputText(OutputText::default())
        });
        match slot {
            OutputContent::OutputText(text) => Some(text),
            _ => None,
        }
    }

    fn refusal(&mut self, index: u32, content_index: Option<u32>) -> Option<&mut RefusalContent> {
        let message = self.message(index)?;
        let slot = part_slot_or(&mut message.content, content_index.unwrap_or(0), || {
            OutputContent::Refusal(RefusalContent::default())
        });
        match slot {
            OutputContent::Refusal(refusal) => Some(refusal),
            _ => None,
        }
    }

    fn function_call(&mut self, index: u32) -> Option<&mut FunctionCallItem> {
        if self.item(index).is_none() {
            *self.slot(index) = OutputItem::FunctionCall(FunctionCallItem::default());
        }
        match self.item(index)? {
            OutputItem::FunctionCall(call) => Some(call),
            _ => None,
        }
    }

    fn reasoning(&mut self, index: u32) -> Option<&mut ReasoningItem> {
        if self.item(index).is_none() {
            *self.slot(index) = OutputItem::Reasoning(ReasoningItem::default());
        }
        match self.item(index)? {
            OutputItem::Reasoning(reasoning) => Some(reasoning),
            _ => None,
        }
    }
}

/// The part at `index`, appended (as `make` makes it) when the list is shorter.
fn part_slot_or(
    parts: &mut Vec<OutputContent>,
    index: u32,
    make: impl FnOnce() -> OutputContent,
) -> &mut OutputContent {
    let index = usize::try_from(index).unwrap_or(usize::MAX);
    if index >= parts.len() {
        parts.push(make());
        let last = parts.len() - 1;
        return &mut parts[last];
    }
    &mut parts[index]
}

fn part_slot(parts: &mut Vec<OutputContent>, index: u32) -> &mut OutputContent {
    part_slot_or(parts, index, || {
        OutputContent::OutputText(OutputText::default())
    })
}

fn text_slot<'a>(parts: &'a mut Vec<TextPart>, index: u32, kind: &str) -> &'a mut TextPart {
    let index = usize::try_from(index).unwrap_or(usize::MAX);
    if index >= parts.len() {
        parts.push(TextPart {
            kind: kind.to_owned(),
            ..Default::default()
        });
        let last = parts.len() - 1;
        return &mut parts[last];
    }
    &mut parts[index]
}
