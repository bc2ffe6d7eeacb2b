//! Streamed chat-completion chunks.

use super::extra::deserialize_keeping_extra;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::message::{optional_arguments_as_text, Role, ServerToolCall};
use super::response::{FinishReason, Usage};
use super::Extra;

/// One streamed piece of a chat completion, in OpenAI's shape.
///
/// Tolerant of what OpenAI-compatible servers really send: `choices` may be empty (the final
/// usage chunk), `usage` may be on any chunk, tool-call deltas may lack `index`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatCompletionChunk {
    /// The provider's id for the completion, the same on every chunk of a stream; empty when it
    /// sends none.
    pub id: String,
    /// Always `chat.completion.chunk`.
    pub object: String,
    /// When the completion was made, in Unix seconds; 0 when the provider does not say.
    pub created: u64,
    /// The model that answers, as the provider names it; empty when it does not say.
    pub model: String,
    /// What this chunk adds to each choice; empty on a usage-only chunk.
    pub choices: Vec<ChunkChoice>,
    /// Token usage, usually on the last chunk only; a later one replaces an earlier one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// OpenAI's id of the backend configuration that answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// The processing tier that serves the call (OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Fields this version does not model, kept verbatim (and serialized back) — except
    /// OpenAI's `obfuscation`, which parsing skips: random padding on every chunk of current
    /// OpenAI streams (it hides the tokens' lengths from observers of the encrypted traffic),
    /// which means nothing once received, is dropped by the
    /// [`ChunkAccumulator`](crate::ChunkAccumulator) anyway, and kept here would cost three
    /// allocations per chunk.
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_keeping_extra!(ChatCompletionChunk {
    id: "id",
    object: "object" => { chunk_object() },
    created: "created",
    model: "model",
    choices: "choices" read ChunkChoices,
    usage: "usage",
    system_fingerprint: "system_fingerprint",
    service_tier: "service_tier",
} skipped: "obfuscation");

/// A chunk's `choices`, read into a vector sized for one choice first: a stream's chunks
/// nearly always carry exactly one. serde's `Vec` sizes itself by the input's length hint,
/// which serde_json never gives, so it starts at four choices (about 1 KiB, past the sizes
/// the allocator serves fastest) on every chunk.
struct ChunkChoices(Vec<ChunkChoice>);

impl<'de> Deserialize<'de> for ChunkChoices {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ChoicesVisitor;
        impl<'de> serde::de::Visitor<'de> for ChoicesVisitor {
            type Value = ChunkChoices;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<ChunkChoices, A::Error> {
                // A hint is the input's word, so it is capped as serde's own `Vec` caps it.
                let mut choices = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(64));
                while let Some(choice) = seq.next_element()? {
                    choices.push(choice);
                }
                Ok(ChunkChoices(choices))
            }
        }
        deserializer.deserialize_seq(ChoicesVisitor)
    }
}

/// A chunk's `object`, when the provider leaves it out.
pub(crate) fn chunk_object() -> String {
    "chat.completion.chunk".to_owned()
}

impl ChatCompletionChunk {
    /// An empty chunk with id, model and creation time set; adapters fill in choices.
    pub fn new(id: impl Into<String>, model: impl Into<String>, created: u64) -> Self {
        ChatCompletionChunk {
            id: id.into(),
            object: chunk_object(),
            created,
            model: model.into(),
            choices: Vec::new(),
            usage: None,
            system_fingerprint: None,
            service_tier: None,
            extra: Extra::new(),
        }
    }

    /// A chunk carrying one choice delta (choice `index`).
    pub fn with_delta(mut self, index: u32, delta: Delta) -> Self {
        self.choices.push(ChunkChoice {
            index,
            delta,
            finish_reason: None,
            logprobs: None,
            extra: Extra::new(),
        });
        self
    }

    /// Whether this chunk carries content a caller sees: text, reasoning, a refusal or a
    /// tool call. A role-only or usage-only chunk does not; retry and fallback stay allowed
    /// until the first chunk that does.
    pub fn has_content(&self) -> bool {
        self.choices.iter().any(|choice| choice.delta.has_content())
    }

    /// The text of the first choice's delta; `None` when it has none, including the empty
    /// `content: ""` that OpenAI-format streams put in their opening role chunk, so a caller
    /// printing text as it comes only ever sees text.
    ///
    /// ```
    /// use onellm_core::{ChatCompletionChunk, Delta};
    ///
    /// let piece = ChatCompletionChunk::new("c1", "m", 0).with_delta(0, Delta::text("Hel"));
    /// assert_eq!(piece.text(), Some("Hel"));
    /// let opening = ChatCompletionChunk::new("c1", "m", 0).with_delta(0, Delta::text(""));
    /// assert_eq!(opening.text(), None);
    /// ```
    pub fn text(&self) -> Option<&str> {
        self.choices
            .first()?
            .delta
            .content
            .as_deref()
            .filter(|text| !text.is_empty())
    }

    /// The tool-call fragments of the first choice's delta, without unwrapping the wire
    /// shape's `Option`s: the first fragment of a call has its id and name, later ones only
    /// append to its arguments. Fragments of one call share [`ToolCallFragment::index`].
    ///
    /// ```
    /// use onellm_core::{ChatCompletionChunk, Delta, FunctionCallDelta, ToolCallDelta};
    ///
    /// let fragment = |id: Option<&str>, name: Option<&str>, arguments: &str| ToolCallDelta {
    ///     index: Some(0),
    ///     id: id.map(str::to_owned),
    ///     function: Some(FunctionCallDelta {
    ///         name: name.map(str::to_owned),
    ///         arguments: Some(arguments.to_owned()),
    ///     }),
    ///     ..Default::default()
    /// };
    /// let chunks = [
    ///     (Some("call_1"), Some("get_weather"), ""),
    ///     (None, None, r#"{"city":"#),
    ///     (None, None, r#""Paris"}"#),
    /// ]
    /// .map(|(id, name, arguments)| {
    ///     let delta = Delta { tool_calls: Some(vec![fragment(id, name, arguments)]), ..Default::default() };
    ///     ChatCompletionChunk::new("c1", "m", 0).with_delta(0, delta)
    /// });
    ///
    /// let mut arguments = String::new();
    /// for chunk in &chunks {
    ///     for call in chunk.tool_call_deltas() {
    ///         if let Some(name) = call.name {
    ///             assert_eq!((call.index, call.id, name), (0, Some("call_1"), "get_weather"));
    ///         }
    ///         arguments.push_str(call.arguments);
    ///     }
    /// }
    /// assert_eq!(arguments, r#"{"city":"Paris"}"#);
    /// ```
    pub fn tool_call_deltas(&self) -> impl Iterator<Item = ToolCallFragment<'_>> + '_ {
        self.choices
            .first()
            .and_then(|choice| choice.delta.tool_calls.as_deref())
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(position, call)| {
                let function = call.function.as_ref();
                ToolCallFragment {
                    index: call
                        .index
                        .unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX)),
                    id: call.id.as_deref().filter(|id| !id.is_empty()),
                    name: function
                        .and_then(|f| f.name.as_deref())
                        .filter(|name| !name.is_empty()),
                    arguments: function
                        .and_then(|f| f.arguments.as_deref())
                        .unwrap_or_default(),
                }
            })
    }
}

/// One tool-call fragment of a chunk, as [`ChatCompletionChunk::tool_call_deltas`] yields
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolCallFragment<'a> {
    /// Which call of the reply this fragment belongs to. Every built-in adapter numbers its
    /// calls; for an OpenAI-compatible server that leaves `index` out it is the fragment's
    /// position in the chunk (the [`ChunkAccumulator`](crate::ChunkAccumulator), which
    /// follows ids in that case, is the reliable way to join such a stream).
    pub index: u32,
    /// The call's id, on its first fragment.
    pub id: Option<&'a str>,
    /// The function's name, on its first fragment.
    pub name: Option<&'a str>,
    /// More of the arguments' JSON text; empty when this fragment brings none.
    pub arguments: &'a str,
}

/// One choice's delta within a chunk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkChoice {
    /// Which choice this delta belongs to.
    pub index: u32,
    /// What it adds to that choice's message.
    pub delta: Delta,
    /// Why the model stopped, on the choice's last chunk.
    pub finish_reason: Option<FinishReason>,
    /// The log probabilities of this chunk's tokens, as the provider sent them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
    /// Fields this version does not model, kept verbatim (and serialized back).
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_keeping_extra!(ChunkChoice {
    index: "index",
    delta: "delta",
    finish_reason: "finish_reason",
    logprobs: "logprobs",
});

/// What a chunk adds to one choice's message.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Delta {
    /// The message's role, usually on the first chunk only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// More of the reply's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// More of the model's reasoning (the ecosystem's extension field, as on
    /// [`Message`](crate::Message)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// More of a refusal's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Fragments of the tool calls the model makes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    /// Whole server-side tool calls, each sent once (OneLLM extension; see
    /// [`ServerToolCall`]): appended to the message's when chunks are folded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_tool_calls: Option<Vec<ServerToolCall>>,
    /// Fields this version does not model, kept verbatim; folding appends array values to the
    /// message's field of the same name and lets others replace it.
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_keeping_extra!(Delta {
    role: "role",
    content: "content",
    reasoning_content: "reasoning_content",
    refusal: "refusal",
    tool_calls: "tool_calls",
    server_tool_calls: "server_tool_calls",
});

impl Delta {
    /// A text delta.
    pub fn text(text: impl Into<String>) -> Self {
        Delta {
            content: Some(text.into()),
            ..Default::default()
        }
    }

    /// A reasoning delta.
    pub fn reasoning(text: impl Into<String>) -> Self {
        Delta {
            reasoning_content: Some(text.into()),
            ..Default::default()
        }
    }

    /// Server-side tool calls, whole.
    pub fn server_tool_calls(calls: Vec<ServerToolCall>) -> Self {
        Delta {
            server_tool_calls: Some(calls),
            ..Default::default()
        }
    }

    /// Whether the delta carries anything but a role. A server-side tool call counts: the
    /// caller sees it, so a retry after it would show it twice.
    pub fn has_content(&self) -> bool {
        let non_empty = |text: &Option<String>| text.as_deref().is_some_and(|t| !t.is_empty());
        non_empty(&self.content)
            || non_empty(&self.reasoning_content)
            || non_empty(&self.refusal)
            || self
                .tool_calls
                .as_ref()
                .is_some_and(|calls| !calls.is_empty())
            || self
                .server_tool_calls
                .as_ref()
                .is_some_and(|calls| !calls.is_empty())
    }
}

/// A fragment of a tool call. The first fragment of a call has `id` and `function.name`;
/// later ones append to `function.arguments`. Fragments of the same call share `index`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ToolCallDelta {
    /// Which call of the message the fragment belongs to; some servers leave it out (see
    /// [`ChunkAccumulator`](crate::ChunkAccumulator)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// The call's id, on its first fragment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The call's type (`type`, `function`), on its first fragment.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The function's name and a piece of its arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallDelta>,
    /// Fields this version does not model, kept verbatim (and serialized back).
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_keeping_extra!(ToolCallDelta {
    index: "index",
    id: "id",
    kind: "type",
    function: "function",
});

/// A fragment of a function call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallDelta {
    /// The function's name, on the call's first fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// More of the arguments' JSON text, to be appended to what came before.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_arguments_as_text"
    )]
    pub arguments: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usage_only_chunk_and_role_only_chunk_have_no_content() {
        let usage: ChatCompletionChunk = serde_json::from_value(json!({
            "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
        }))
        .unwrap();
        assert!(!usage.has_content());
        let role: ChatCompletionChunk = serde_json::from_value(json!({
            "id": "c", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
            "finish_reason": null}]
        }))
        .unwrap();
        assert!(!role.has_content());
        let tool: ChatCompletionChunk = serde_json::from_value(json!({
            "choices": [{"delta": {"tool_calls": [{"function": {"arguments": {"a": 1}}}]}}]
        }))
        .unwrap();
        assert!(tool.has_content());
        let call = &tool.choices[0].delta.tool_calls.as_ref().unwrap()[0];
        assert_eq!(call.index, None);
        assert_eq!(
            call.function.as_ref().unwrap().arguments.as_deref(),
            Some("{\"a\":1}")
        );
    }

    #[test]
    fn obfuscation_padding_is_skipped_and_other_unknown_fields_kept() {
        let raw = r#"{"id":"c","obfuscation":"r4N7vQ2m","x_groq":{"id":"req_1"},"choices":[
            {"index":0,"delta":{"content":"Hi","obfuscation":"kept here"},"finish_reason":null}]}"#;
        let chunk: ChatCompletionChunk = serde_json::from_str(raw).unwrap();
        assert!(!chunk.extra.contains_key("obfuscation"));
        assert_eq!(chunk.extra["x_groq"], json!({"id": "req_1"}));
        assert_eq!(chunk.text(), Some("Hi"));
        // Only the chunk's own key is padding; a delta's field of that name is kept.
        assert_eq!(chunk.choices[0].delta.extra["obfuscation"], "kept here");
        // Any JSON value is skipped, and a second one is no duplicate-field error.
        let odd = r#"{"id":"c","obfuscation":{"a":[1,"}"]},"obfuscation":null,"choices":[]}"#;
        let chunk: ChatCompletionChunk = serde_json::from_str(odd).unwrap();
        assert!(chunk.extra.is_empty());
    }

    #[test]
    fn choices_are_read_however_many_and_only_from_an_array() {
        let choice = |i: u32| json!({"index": i, "delta": {"content": format!("c{i}")}});
        for n in [0, 1, 2, 5] {
            let choices: Vec<Value> = (0..n).map(choice).collect();
            let chunk: ChatCompletionChunk =
                serde_json::from_value(json!({"id": "c", "choices": choices})).unwrap();
            let indexes: Vec<u32> = chunk.choices.iter().map(|c| c.index).collect();
            assert_eq!(indexes, (0..n).collect::<Vec<_>>());
        }
        let error = serde_json::from_str::<ChatCompletionChunk>(r#"{"choices":null}"#);
        assert!(error
            .unwrap_err()
            .to_string()
            .contains("expected a sequence"));
    }
}
