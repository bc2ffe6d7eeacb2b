//! Folding a stream of chunks back into the completion a non-streaming call returns.

use std::collections::BTreeMap;

use serde_json::Value;

use super::chunk::{ChatCompletionChunk, ChunkChoice, ToolCallDelta};
use super::message::{
    function_type, Content, FunctionCall, Message, Role, ServerToolCall, ToolCall,
};
use super::response::{ChatCompletion, Choice, FinishReason, Usage};
use super::Extra;

/// Folds [`ChatCompletionChunk`]s into the [`ChatCompletion`] the same call would have
/// returned without streaming.
///
/// Rules, per choice (keyed by `index`):
/// - `content`, `reasoning_content` and `refusal` fragments are concatenated; a message that
///   never received a `content` field keeps `content: null` (tool-only replies), and so does
///   one that calls tools and received only empty `content` (the opening role chunk's `""`).
/// - Tool-call fragments are keyed by their `index`; a fragment without `index` starts a new
///   call when it brings a new `id`, and otherwise continues the last call. `id`, `type` and
///   `name` are taken from the first fragment that has them; `arguments` are concatenated.
/// - Server-side tool calls arrive whole (see [`ServerToolCall`]) and are appended in order.
/// - The last non-null `finish_reason` wins, and so does the last `usage` (providers that
///   report usage more than once report running totals).
/// - Unknown delta fields (`extra`) whose values are arrays are appended to the message's
///   field of the same name (Anthropic `thinking_blocks`, OpenAI `annotations`); other values
///   replace it.
/// - `logprobs` arrays (`content`, `refusal`) are concatenated.
/// - Unknown chunk-level fields (Groq `x_groq`, OpenRouter `provider`, OpenAI `moderation`)
///   are kept on the completion: objects are merged key by key, arrays appended, other values
///   replaced. OpenAI's per-chunk `obfuscation` padding is dropped: it means nothing once
///   the chunks are joined (a parsed chunk never has it: parsing skips it, see
///   [`ChatCompletionChunk::extra`]; a chunk built in code may).
///
/// ```
/// use onellm_core::{ChatCompletionChunk, ChunkAccumulator, Delta};
///
/// let mut acc = ChunkAccumulator::new();
/// acc.push(&ChatCompletionChunk::new("c1", "m", 0).with_delta(0, Delta::text("Hel")));
/// acc.push(&ChatCompletionChunk::new("c1", "m", 0).with_delta(0, Delta::text("lo")));
/// assert_eq!(acc.completion().text(), "Hello");
/// ```
#[derive(Debug, Clone, Default)]
pub struct ChunkAccumulator {
    id: String,
    model: String,
    created: u64,
    system_fingerprint: Option<String>,
    service_tier: Option<String>,
    usage: Option<Usage>,
    choices: BTreeMap<u32, ChoiceState>,
    extra: Extra,
    chunks: usize,
    /// Only the summary is kept ([`summary_only`](Self::summary_only)).
    summary_only: bool,
}

#[derive(Debug, Clone, Default)]
struct ChoiceState {
    role: Option<Role>,
    content: Option<String>,
    reasoning: Option<String>,
    refusal: Option<String>,
    tool_calls: Vec<ToolCall>,
    /// Position in `tool_calls` for each stream `index`.
    tool_index: BTreeMap<u32, usize>,
    server_tool_calls: Vec<ServerToolCall>,
    finish_reason: Option<FinishReason>,
    logprobs: Option<Value>,
    extra: Extra,
}

impl ChunkAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many chunks were pushed.
    pub fn chunk_count(&self) -> usize {
        self.chunks
    }

    /// Whether any pushed chunk carried content (see [`ChatCompletionChunk::has_content`]).
    pub fn has_content(&self) -> bool {
        self.choices.values().any(|choice| {
            choice.content.as_deref().is_some_and(|t| !t.is_empty())
                || choice.reasoning.as_deref().is_some_and(|t| !t.is_empty())
                || choice.refusal.as_deref().is_some_and(|t| !t.is_empty())
                || !choice.tool_calls.is_empty()
                || !choice.server_tool_calls.is_empty()
        })
    }

    /// Folds one chunk in.
    pub fn push(&mut self, chunk: &ChatCompletionChunk) {
        self.chunks += 1;
        keep_first(&mut self.id, &chunk.id);
        keep_first(&mut self.model, &chunk.model);
        if self.created == 0 {
            self.created = chunk.created;
        }
        if self.system_fingerprint.is_none() {
            self.system_fingerprint
                .clone_from(&chunk.system_fingerprint);
        }
        if self.service_tier.is_none() {
            self.service_tier.clone_from(&chunk.service_tier);
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(usage.clone());
        }
        for (key, value) in &chunk.extra {
            if key != "obfuscation" {
                merge_extra(&mut self.extra, key, value);
            }
        }
        for choice in &chunk.choices {
            let state = self.choices.entry(choice.index).or_default();
            if self.summary_only {
                state.push_summary(choice);
            } else {
                state.push(choice);
            }
        }
    }

    /// From now on keeps only what describes the completion — id, model, usage, roles,
    /// finish reasons, tool calls' ids and names — and drops what grows with the answer:
    /// text, reasoning, refusals, tool-call arguments, logprobs and unknown delta fields
    /// (those kept so far too). For a stream whose caller reads the chunks as they come and
    /// wants no final completion: its memory then stays flat however long the stream.
    pub fn summary_only(&mut self) {
        self.summary_only = true;
        for state in self.choices.values_mut() {
            state.drop_content();
        }
    }

    /// Whether [`summary_only`](Self::summary_only) was asked for.
    pub fn is_summary_only(&self) -> bool {
        self.summary_only
    }

    /// The completion folded so far (callable at any time: a partial completion after an
    /// interrupted stream).
    pub fn completion(&self) -> ChatCompletion {
        ChatCompletion {
            id: self.id.clone(),
            object: "chat.completion".to_owned(),
            created: self.created,
            model: self.model.clone(),
            choices: self
                .choices
                .iter()
                .map(|(index, state)| state.to_choice(*index))
                .collect(),
            usage: self.usage.clone(),
            system_fingerprint: self.system_fingerprint.clone(),
            service_tier: self.service_tier.clone(),
            extra: self.extra.clone(),
            report: Default::default(),
        }
    }

    /// Consumes the accumulator, returning the completion.
    pub fn into_completion(self) -> ChatCompletion {
        self.completion()
    }
}

fn keep_first(slot: &mut String, value: &str) {
    if slot.is_empty() && !value.is_empty() {
        value.clone_into(slot);
    }
}

fn append(slot: &mut Option<String>, fragment: &Option<String>) {
    if let Some(fragment) = fragment {
        slot.get_or_insert_with(String::new).push_str(fragment);
    }
}

impl ChoiceState {
    fn push(&mut self, choice: &ChunkChoice) {
        let delta = &choice.delta;
        if self.role.is_none() {
            self.role.clone_from(&delta.role);
        }
        append(&mut self.content, &delta.content);
        append(&mut self.reasoning, &delta.reasoning_content);
        append(&mut self.refusal, &delta.refusal);
        for call in delta.tool_calls.iter().flatten() {
            self.push_tool_call(call, true);
        }
        if let Some(calls) = &delta.server_tool_calls {
            self.server_tool_calls.extend(calls.iter().cloned());
        }
        if choice.finish_reason.is_some() {
            self.finish_reason.clone_from(&choice.finish_reason);
        }
        if let Some(logprobs) = &choice.logprobs {
            merge_logprobs(&mut self.logprobs, logprobs);
        }
        for (key, value) in &delta.extra {
            merge_extra(&mut self.extra, key, value);
        }
    }

    /// [`push`](Self::push) for a summary: what describes the choice, not its content.
    fn push_summary(&mut self, choice: &ChunkChoice) {
        let delta = &choice.delta;
        if self.role.is_none() {
            self.role.clone_from(&delta.role);
        }
        if delta.content.is_some() && self.content.is_none() {
            self.content = Some(String::new());
        }
        for call in delta.tool_calls.iter().flatten() {
            self.push_tool_call(call, false);
        }
        if choice.finish_reason.is_some() {
            self.finish_reason.clone_from(&choice.finish_reason);
        }
    }

    /// Forgets the content kept so far (see [`ChunkAccumulator::summary_only`]).
    fn drop_content(&mut self) {
        for text in [&mut self.content, &mut self.reasoning, &mut self.refusal]
            .into_iter()
            .flatten()
        {
            *text = String::new();
        }
        for call in &mut self.tool_calls {
            call.function.arguments = String::new();
        }
        self.server_tool_calls = Vec::new();
        self.logprobs = None;
        self.extra = Extra::new();
    }

    fn push_tool_call(&mut self, fragment: &ToolCallDelta, keep_arguments: bool) {
        let position = match fragment.index {
            Some(index) => match self.tool_index.get(&index) {
                Some(position) => Some(*position),
                None => {
                    self.tool_index.insert(index, self.tool_calls.len());
                    None
                }
            },
            None => {
                let continues_last = match (&fragment.id, self.tool_calls.last()) {
                    (Some(id), Some(last)) => last.id == *id || id.is_empty(),
                    (None, Some(_)) => true,
                    (_, None) => false,
                };
                continues_last.then(|| self.tool_calls.len() - 1)
            }
        };
        let position = position.unwrap_or_else(|| {
            self.tool_calls.push(ToolCall {
                id: String::new(),
                kind: function_type(),
                function: FunctionCall {
                    name: String::new(),
                    arguments: String::new(),
                },
                extra: Extra::new(),
            });
            self.tool_calls.len() - 1
        });
        let Some(call) = self.tool_calls.get_mut(position) else {
            return;
        };
        if let Some(id) = &fragment.id {
            keep_first(&mut call.id, id);
        }
        if let Some(kind) = &fragment.kind {
            kind.clone_into(&mut call.kind);
        }
        if let Some(function) = &fragment.function {
            if let Some(name) = &function.name {
                keep_first(&mut call.function.name, name);
            }
            if let Some(arguments) = function.arguments.as_ref().filter(|_| keep_arguments) {
                call.function.arguments.push_str(arguments);
            }
        }
        for (key, value) in &fragment.extra {
            call.extra.insert(key.clone(), value.clone());
        }
    }

    /// The folded `content`. OpenAI-format streams open with `{"role": "assistant",
    /// "content": ""}` even when the reply only calls tools, whose non-streamed message has
    /// `content: null`: empty text beside tool calls is that opening, not an answer, and
    /// folds to `null` so both paths give the same message (and the same JSON when it is
    /// sent back in the next turn). An empty reply without tool calls keeps its `""`.
    fn message_content(&self) -> Option<Content> {
        match &self.content {
            Some(text) if text.is_empty() && !self.tool_calls.is_empty() => None,
            content => content.clone().map(Content::Text),
        }
    }

    fn to_choice(&self, index: u32) -> Choice {
        Choice {
            index,
            message: Message {
                role: self.role.clone().unwrap_or(Role::Assistant),
                content: self.message_content(),
                name: None,
                tool_calls: (!self.tool_calls.is_empty()).then(|| self.tool_calls.clone()),
                tool_call_id: None,
                reasoning_content: self.reasoning.clone(),
                refusal: self.refusal.clone(),
                server_tool_calls: (!self.server_tool_calls.is_empty())
                    .then(|| self.server_tool_calls.clone()),
                extra: self.extra.clone(),
            },
            finish_reason: self.finish_reason.clone(),
            logprobs: self.logprobs.clone(),
            extra: Extra::new(),
        }
    }
}

/// Folds one unknown field into the accumulated ones: arrays are appended, objects merged
/// key by key, anything else replaced.
fn merge_extra(extra: &mut Extra, key: &str, value: &Value) {
    match (extra.get_mut(key), value) {
        (Some(Value::Array(existing)), Value::Array(more)) => existing.extend(more.iter().cloned()),
        (Some(Value::Object(existing)), Value::Object(more)) => {
            for (inner_key, inner_value) in more {
                existing.insert(inner_key.clone(), inner_value.clone());
            }
        }
        _ => {
            extra.insert(key.to_owned(), value.clone());
        }
    }
}

/// Concatenates the token lists of two logprobs objects (`{"content": [...], "refusal": [...]}`).
fn merge_logprobs(slot: &mut Option<Value>, more: &Value) {
    let Some(Value::Object(existing)) = slot else {
        *slot = Some(more.clone());
        return;
    };
    let Value::Object(more) = more else {
        return;
    };
    for (key, value) in more {
        match (existing.get_mut(key), value) {
            (Some(Value::Array(list)), Value::Array(tail)) => list.extend(tail.iter().cloned()),
            (Some(Value::Null) | None, _) => {
                existing.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chunk(value: Value) -> ChatCompletionChunk {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn folds_text_tools_usage_and_choices() {
        let mut acc = ChunkAccumulator::new();
        for value in [
            json!({"id": "a", "model": "m", "created": 5, "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": ""}},
                {"index": 1, "delta": {"role": "assistant", "content": "B"}}]}),
            json!({"id": "a", "choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}},
                {"index": 1, "id": "c2", "type": "function", "function": {"name": "g", "arguments": "{\"x\""}}]}}]}),
            json!({"id": "a", "choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": "{}"}},
                {"index": 1, "function": {"arguments": ":1}"}}]}, "finish_reason": "tool_calls"},
                {"index": 1, "delta": {"content": "ye"}, "finish_reason": "stop"}]}),
            json!({"id": "a", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}),
        ] {
            acc.push(&chunk(value));
        }
        let done = acc.completion();
        assert_eq!(done.id, "a");
        assert_eq!(done.created, 5);
        let first = &done.choices[0];
        assert_eq!(first.finish_reason, Some(FinishReason::ToolCalls));
        let calls = first.message.tool_calls.as_ref().unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].function.arguments, "{}");
        assert_eq!(calls[1].function.name, "g");
        assert_eq!(calls[1].function.arguments, "{\"x\":1}");
        assert_eq!(done.choices[1].message.text(), "Bye");
        assert_eq!(done.usage.unwrap().total_tokens, 7);
    }

    #[test]
    fn tool_fragments_without_index_follow_ids() {
        let mut acc = ChunkAccumulator::new();
        for value in [
            json!({"choices": [{"delta": {"tool_calls": [{"id": "x", "function": {"name": "f", "arguments": "{\"a\""}}]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"function": {"arguments": ":2}"}}]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"id": "y", "function": {"name": "g", "arguments": "{}"}}]}}]}),
        ] {
            acc.push(&chunk(value));
        }
        let done = acc.completion();
        let calls = done.choices[0].message.tool_calls.as_ref().unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].function.arguments, "{\"a\":2}");
        assert_eq!(calls[1].id, "y");
        assert_eq!(done.choices[0].message.content, None);
    }

    #[test]
    fn array_extras_are_appended() {
        let mut acc = ChunkAccumulator::new();
        acc.push(&chunk(json!({"choices": [{"delta": {"thinking_blocks": [{"type": "thinking", "thinking": "a"}]}}]})));
        acc.push(&chunk(json!({"choices": [{"delta": {"thinking_blocks": [{"type": "thinking", "thinking": "b"}]}}]})));
        let done = acc.completion();
        assert_eq!(
            done.choices[0].message.extra["thinking_blocks"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn summary_only_keeps_what_describes_the_completion() {
        use crate::types::{Delta, Usage};
        let mut acc = ChunkAccumulator::new();
        acc.push(&ChatCompletionChunk::new("c1", "m", 7).with_delta(0, Delta::text("kept ")));
        acc.summary_only();
        assert!(acc.is_summary_only());
        acc.push(&ChatCompletionChunk::new("c1", "m", 7).with_delta(0, Delta::text("dropped")));
        let mut last = ChatCompletionChunk::new("c1", "m", 7);
        last.usage = Some(Usage {
            prompt_tokens: 4,
            completion_tokens: 2,
            total_tokens: 6,
            ..Default::default()
        });
        acc.push(&last);
        let completion = acc.completion();
        assert_eq!(
            (completion.id.as_str(), completion.model.as_str()),
            ("c1", "m")
        );
        assert_eq!(completion.text(), "", "text before and after is gone");
        assert_eq!(completion.usage.unwrap().total_tokens, 6);
        assert_eq!(completion.choices.len(), 1);
    }
}
