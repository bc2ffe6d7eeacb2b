//! Replaying a finished completion as the stream of chunks a provider would have sent for
//! it, so a cache that stores completions can also answer streaming calls.

use super::chunk::{ChatCompletionChunk, ChunkChoice, Delta, FunctionCallDelta, ToolCallDelta};
use super::message::{Content, Message, ServerToolCall, ToolCall};
use super::response::{ChatCompletion, Choice};
use super::Extra;

/// The chunks a provider would have streamed for `completion`, in order, such that
/// [`ChunkAccumulator`](crate::ChunkAccumulator) folds them back into the same completion
/// (its JSON, field for field).
///
/// A cache stores the non-streamed completion (OpenAI's JSON); a streaming call answered
/// from it gets these chunks, and a caller that folds them gets what it would have got from
/// the provider.
///
/// Every chunk carries the completion's `id`, `model`, `created`, `system_fingerprint` and
/// `service_tier`. For each choice, in the completion's order:
/// - one chunk with the message's `role`, its whole `content`, `reasoning_content` and
///   `refusal`, its unknown fields (`annotations`, …) and the choice's `logprobs`: each field
///   is sent once, so the accumulator's concatenation or array appending rebuilds it as it was;
/// - one chunk with all its server-side tool calls, if it has any (they are only ever sent
///   whole);
/// - one chunk per tool call, with its `index` (its position in the message), `id`, `type`,
///   `name` and whole `arguments`;
/// - one chunk with an empty delta and the `finish_reason` (and the choice's unknown fields,
///   where a provider such as OpenRouter puts `native_finish_reason`), unless the choice has
///   neither.
///
/// Then, if the completion has `usage`, one chunk with no choices and the usage, as OpenAI
/// sends it with `stream_options.include_usage`. The completion's unknown fields (`x_groq`,
/// `usage_breakdown`, …) go on the first chunk only, so they are folded exactly once. A
/// completion with neither choices nor usage still gives one chunk, which carries its id.
///
/// What the accumulator cannot give back, by design, so these differ after the round trip:
/// - `object` is always `"chat.completion"`.
/// - A choice's unknown fields are sent (on its last chunk) but not kept when folded.
/// - Array `content` (Mistral's typed thinking parts, say) is sent as its text parts joined,
///   since a delta carries text only, and folds to that string.
/// - `content: ""` beside tool calls folds to `null` (what the opening chunk of a tool-only
///   stream looks like), and an empty `tool_calls` or `server_tool_calls` array to absent.
/// - A message's `name` and `tool_call_id` (request-side fields) have no place in a delta.
/// - An unknown top-level field named `obfuscation` is dropped (the accumulator drops
///   OpenAI's per-chunk padding of that name).
/// - Choices come back ordered by `index`, and choices sharing an `index` are merged.
///
/// The chunks are exact in memory. Written out as JSON, a tool call's unknown `index` field
/// (or a choice's unknown `delta`) would repeat a key that the chunk already writes.
pub fn chunks_of(completion: &ChatCompletion) -> Vec<ChatCompletionChunk> {
    let header = || {
        let mut chunk = ChatCompletionChunk::new(
            completion.id.clone(),
            completion.model.clone(),
            completion.created,
        );
        chunk
            .system_fingerprint
            .clone_from(&completion.system_fingerprint);
        chunk.service_tier.clone_from(&completion.service_tier);
        chunk
    };
    let mut chunks = Vec::with_capacity(chunk_count(completion));
    for choice in &completion.choices {
        let message = &choice.message;
        chunks.push(with_choice(
            header(),
            ChunkChoice {
                index: choice.index,
                delta: opening_delta(message),
                finish_reason: None,
                logprobs: choice.logprobs.clone(),
                extra: Extra::new(),
            },
        ));
        if let Some(calls) = server_tool_calls(message) {
            chunks
                .push(header().with_delta(choice.index, Delta::server_tool_calls(calls.to_vec())));
        }
        for (position, call) in message.tool_calls.iter().flatten().enumerate() {
            let delta = Delta {
                tool_calls: Some(vec![tool_call_delta(position, call)]),
                ..Delta::default()
            };
            chunks.push(header().with_delta(choice.index, delta));
        }
        if has_finish_chunk(choice) {
            chunks.push(with_choice(
                header(),
                ChunkChoice {
                    index: choice.index,
                    delta: Delta::default(),
                    finish_reason: choice.finish_reason.clone(),
                    logprobs: None,
                    extra: choice.extra.clone(),
                },
            ));
        }
    }
    if let Some(usage) = &completion.usage {
        let mut chunk = header();
        chunk.usage = Some(usage.clone());
        chunks.push(chunk);
    }
    match chunks.first_mut() {
        Some(first) => first.extra.clone_from(&completion.extra),
        None => {
            let mut only = header();
            only.extra.clone_from(&completion.extra);
            chunks.push(only);
        }
    }
    chunks
}

/// How many chunks [`chunks_of`] makes, so its vector is allocated once.
fn chunk_count(completion: &ChatCompletion) -> usize {
    let choices: usize = completion
        .choices
        .iter()
        .map(|choice| {
            let message = &choice.message;
            1 + usize::from(server_tool_calls(message).is_some())
                + message.tool_calls.as_ref().map_or(0, Vec::len)
                + usize::from(has_finish_chunk(choice))
        })
        .sum();
    (choices + usize::from(completion.usage.is_some())).max(1)
}

/// A choice's last chunk is only worth sending when it says something: an interrupted
/// stream sends no `finish_reason` either.
fn has_finish_chunk(choice: &Choice) -> bool {
    choice.finish_reason.is_some() || !choice.extra.is_empty()
}

/// The message's server-side tool calls, when there are some to send.
fn server_tool_calls(message: &Message) -> Option<&[ServerToolCall]> {
    message
        .server_tool_calls
        .as_deref()
        .filter(|calls| !calls.is_empty())
}

fn with_choice(mut chunk: ChatCompletionChunk, choice: ChunkChoice) -> ChatCompletionChunk {
    chunk.choices.push(choice);
    chunk
}

/// Everything of the message that the accumulator concatenates or merges, sent whole.
fn opening_delta(message: &Message) -> Delta {
    Delta {
        role: Some(message.role.clone()),
        content: message.content.as_ref().map(Content::text),
        reasoning_content: message.reasoning_content.clone(),
        refusal: message.refusal.clone(),
        tool_calls: None,
        server_tool_calls: None,
        extra: message.extra.clone(),
    }
}

/// The one fragment of a call: `index` is its position, which the accumulator keys it by.
fn tool_call_delta(position: usize, call: &ToolCall) -> ToolCallDelta {
    ToolCallDelta {
        // Past u32::MAX calls in one message the positions can no longer be told apart.
        index: Some(u32::try_from(position).unwrap_or(u32::MAX)),
        id: Some(call.id.clone()),
        kind: Some(call.kind.clone()),
        function: Some(FunctionCallDelta {
            name: Some(call.function.name.clone()),
            arguments: Some(call.function.arguments.clone()),
        }),
        extra: call.extra.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ChunkAccumulator;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn parse(raw: &str) -> ChatCompletion {
        serde_json::from_str(raw).unwrap()
    }

    fn fold<'a>(chunks: impl IntoIterator<Item = &'a ChatCompletionChunk>) -> Value {
        let mut acc = ChunkAccumulator::new();
        for chunk in chunks {
            acc.push(chunk);
        }
        serde_json::to_value(acc.completion()).unwrap()
    }

    /// The completion folded back from its chunks, both as they are and after a trip through
    /// their JSON (what a cache sending them as SSE would put on the wire); the two must agree.
    fn round_trip(original: &ChatCompletion) -> Value {
        let chunks = chunks_of(original);
        let folded = fold(&chunks);
        let reparsed: Vec<ChatCompletionChunk> = chunks
            .iter()
            .map(|chunk| serde_json::from_str(&serde_json::to_string(chunk).unwrap()).unwrap())
            .collect();
        assert_eq!(fold(&reparsed), folded, "the chunks' JSON folds the same");
        folded
    }

    fn assert_round_trips(raw: &str) {
        let original = parse(raw);
        assert_eq!(
            round_trip(&original),
            serde_json::to_value(&original).unwrap()
        );
    }

    /// `original` as the round trip gives it back: the exceptions listed on [`chunks_of`],
    /// each what the accumulator does by design, applied to it. (Choices sharing an index
    /// are not handled: no test makes them.)
    fn expected(original: &ChatCompletion) -> Value {
        let mut completion = original.clone();
        // The accumulator always says `chat.completion` and drops `obfuscation` padding.
        "chat.completion".clone_into(&mut completion.object);
        completion.extra.remove("obfuscation");
        // It keys choices by index.
        completion.choices.sort_by_key(|choice| choice.index);
        for choice in &mut completion.choices {
            // It keeps no choice-level unknown fields.
            choice.extra.clear();
            let message = &mut choice.message;
            // A delta carries neither, and content only as text.
            message.name = None;
            message.tool_call_id = None;
            if let Some(Content::Parts(_)) = &message.content {
                message.content = message.content.as_ref().map(|c| Content::Text(c.text()));
            }
            // Empty lists fold to absent, empty text beside tool calls to null.
            message.tool_calls = message.tool_calls.take().filter(|c| !c.is_empty());
            message.server_tool_calls = message.server_tool_calls.take().filter(|c| !c.is_empty());
            if message.tool_calls.is_some() && message.content == Some(Content::Text(String::new()))
            {
                message.content = None;
            }
        }
        serde_json::to_value(&completion).unwrap()
    }

    #[test]
    fn plain_text() {
        assert_round_trips(
            r#"{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,
            "model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant",
            "content":"Hello, world! ☃"},"finish_reason":"stop"}]}"#,
        );
    }

    #[test]
    fn plain_text_chunks_look_like_a_stream() {
        let original = parse(
            r#"{"id":"c","object":"chat.completion","created":7,"model":"m",
            "system_fingerprint":"fp","service_tier":"default","x_top":1,
            "choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},
            "finish_reason":"stop"}],
            "usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#,
        );
        let chunks: Vec<Value> = chunks_of(&original)
            .iter()
            .map(|chunk| serde_json::to_value(chunk).unwrap())
            .collect();
        let head = json!({"id": "c", "object": "chat.completion.chunk", "created": 7,
            "model": "m", "system_fingerprint": "fp", "service_tier": "default"});
        let with = |mut value: Value, more: Value| {
            for (key, field) in more.as_object().unwrap() {
                value[key] = field.clone();
            }
            value
        };
        assert_eq!(
            chunks,
            [
                with(
                    head.clone(),
                    json!({"x_top": 1, "choices": [{"index": 0,
                    "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": null}]})
                ),
                with(
                    head.clone(),
                    json!({"choices": [{"index": 0, "delta": {},
                    "finish_reason": "stop"}]})
                ),
                with(
                    head,
                    json!({"choices": [], "usage": {"prompt_tokens": 1,
                    "completion_tokens": 1, "total_tokens": 2}})
                ),
            ]
        );
    }

    #[test]
    fn tool_only_reply() {
        let raw = r#"{"id":"chatcmpl-2","object":"chat.completion","created":1700000001,
            "model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":null,
            "refusal":null,"annotations":[],"tool_calls":[
              {"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
              {"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]},
            "logprobs":null,"finish_reason":"tool_calls"}]}"#;
        assert_round_trips(raw);
        let chunks = chunks_of(&parse(raw));
        // Opening, one per call, finish.
        assert_eq!(chunks.len(), 4);
        assert_eq!(chunks[0].choices[0].delta.content, None);
    }

    #[test]
    fn reasoning_and_text() {
        assert_round_trips(
            r#"{"id":"ds-1","object":"chat.completion","created":1700000002,
            "model":"deepseek-reasoner","choices":[{"index":0,"message":{"role":"assistant",
            "reasoning_content":"First, 2+2…\nso 4.","content":"4"},"logprobs":null,
            "finish_reason":"stop"}],"system_fingerprint":"fp_ds"}"#,
        );
    }

    #[test]
    fn two_choices() {
        assert_round_trips(
            r#"{"id":"chatcmpl-3","object":"chat.completion","created":1700000003,
            "model":"gpt-4o","choices":[
              {"index":0,"message":{"role":"assistant","content":"Yes"},"finish_reason":"stop",
               "logprobs":{"content":[{"token":"Yes","logprob":-0.01,"bytes":[89,101,115],
               "top_logprobs":[]}],"refusal":null}},
              {"index":1,"message":{"role":"assistant","content":null,"refusal":"I can't."},
               "finish_reason":"stop"}]}"#,
        );
    }

    #[test]
    fn usage_details_and_unknown_fields() {
        assert_round_trips(
            r#"{"id":"chatcmpl-4","object":"chat.completion","created":1700000004,
            "model":"llama-3.3-70b","service_tier":"on_demand","system_fingerprint":"fp_g",
            "x_groq":{"id":"req_1","seed":7},"usage_breakdown":null,"moderation":[{"flag":false}],
            "choices":[{"index":0,"message":{"role":"assistant","content":"ok",
              "annotations":[{"type":"url_citation","url_citation":{"url":"https://x.test"}}],
              "thinking_blocks":[{"type":"thinking","thinking":"hm"}],"reasoning":"hm",
              "server_tool_calls":[{"id":"srv_1","name":"web_search","input":{"q":"x"},
                "output":{"results":[]},"type":"server_tool_use"}]},
            "finish_reason":"stop"}],
            "usage":{"prompt_tokens":336,"completion_tokens":96,"total_tokens":432,
              "prompt_tokens_details":{"cached_tokens":256,"audio_tokens":0},
              "completion_tokens_details":{"reasoning_tokens":59,"audio_tokens":0,
                "accepted_prediction_tokens":0,"rejected_prediction_tokens":0},
              "cost":0.0125,"queue_time":0.005}}"#,
        );
    }

    #[test]
    fn empty_content_cut_at_length() {
        assert_round_trips(
            r#"{"id":"chatcmpl-5","object":"chat.completion","created":1700000005,
            "model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":""},
            "finish_reason":"length"}],
            "usage":{"prompt_tokens":10,"completion_tokens":0,"total_tokens":10}}"#,
        );
    }

    #[test]
    fn edge_shapes() {
        // No choices, no usage: one chunk still carries the id and the unknown fields.
        assert_round_trips(
            r#"{"id":"e","object":"chat.completion","created":1,"model":"m","choices":[],"x":{"a":1}}"#,
        );
        // Usage only.
        assert_round_trips(
            r#"{"id":"e","created":1,"model":"m","choices":[],
            "usage":{"prompt_tokens":1,"completion_tokens":0,"total_tokens":1}}"#,
        );
        // Interrupted: no finish reason, nothing but the role.
        assert_round_trips(
            r#"{"id":"e","created":1,"model":"m","choices":[{"index":0,
            "message":{"role":"assistant","content":null},"finish_reason":null}]}"#,
        );
        // Text beside tool calls, a tool call with unknown fields and an empty id, a choice
        // index that is not its position, an open finish reason.
        assert_round_trips(
            r#"{"id":"e","created":1,"model":"m","choices":[{"index":3,
            "message":{"role":"assistant","content":"Let me check.","tool_calls":[
              {"id":"","type":"function","function":{"name":"f","arguments":""},"extra_field":[1]}]},
            "finish_reason":"eos"}]}"#,
        );
    }

    /// Each exception listed on [`chunks_of`] really is one, and [`expected`] describes it.
    #[test]
    fn documented_exceptions() {
        let original = parse(
            r#"{"id":"x","object":"chat.completion.weird","created":1,"model":"m",
            "obfuscation":"pad","choices":[
              {"index":1,"message":{"role":"assistant","content":[{"type":"thinking","thinking":"t"},
                {"type":"text","text":"A"},{"type":"text","text":"B"}],"name":"bot"},
               "finish_reason":"stop","native_finish_reason":"end_turn"},
              {"index":0,"message":{"role":"assistant","content":"","tool_calls":[
                {"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}],
                "server_tool_calls":[]},"finish_reason":"tool_calls"}]}"#,
        );
        let back = round_trip(&original);
        assert_ne!(back, serde_json::to_value(&original).unwrap());
        assert_eq!(back, expected(&original));
        assert_eq!(back["choices"][1]["message"]["content"], "AB");
        assert_eq!(back["choices"][0]["message"]["content"], Value::Null);
    }

    const FINISH_REASONS: [&str; 5] = [
        "stop",
        "length",
        "tool_calls",
        "content_filter",
        "function_call",
    ];

    fn tool_call() -> impl Strategy<Value = Value> {
        (
            any::<String>(),
            "[a-zA-Z_][a-zA-Z0-9_]{0,15}",
            any::<String>(),
        )
            .prop_map(|(id, name, arguments)| {
                json!({"id": id, "type": "function",
                    "function": {"name": name, "arguments": arguments}})
            })
    }

    fn message() -> impl Strategy<Value = Value> {
        (
            prop::option::of(any::<String>()),
            prop::option::of(any::<String>()),
            prop::option::of(any::<String>()),
            prop::collection::vec(tool_call(), 0..4),
        )
            .prop_map(|(text, reasoning, refusal, calls)| {
                let mut message = json!({"role": "assistant", "content": text});
                if let Some(reasoning) = reasoning {
                    message["reasoning_content"] = json!(reasoning);
                }
                if let Some(refusal) = refusal {
                    message["refusal"] = json!(refusal);
                }
                if !calls.is_empty() {
                    message["tool_calls"] = Value::Array(calls);
                }
                message
            })
    }

    fn completion() -> impl Strategy<Value = ChatCompletion> {
        let choice = (
            message(),
            prop::option::of(prop::sample::select(FINISH_REASONS.to_vec())),
        );
        let usage = (
            0u64..1 << 40,
            0u64..1 << 40,
            prop::option::of(0u64..1 << 20),
        );
        (
            any::<String>(),
            "[a-z0-9./-]{0,24}",
            any::<u64>(),
            prop::collection::vec(choice, 1..=3),
            prop::option::of(usage),
            prop::option::of("fp_[a-z0-9]{1,8}"),
        )
            .prop_map(|(id, model, created, choices, usage, fingerprint)| {
                let choices: Vec<Value> = choices
                    .into_iter()
                    .enumerate()
                    .map(|(index, (message, finish))| {
                        json!({"index": index, "message": message, "finish_reason": finish})
                    })
                    .collect();
                let mut raw = json!({"id": id, "object": "chat.completion", "created": created,
                    "model": model, "choices": choices});
                if let Some((prompt, completion, reasoning)) = usage {
                    let mut usage = json!({"prompt_tokens": prompt,
                        "completion_tokens": completion, "total_tokens": prompt + completion});
                    if let Some(reasoning) = reasoning {
                        usage["completion_tokens_details"] = json!({"reasoning_tokens": reasoning});
                    }
                    raw["usage"] = usage;
                }
                if let Some(fingerprint) = fingerprint {
                    raw["system_fingerprint"] = json!(fingerprint);
                }
                serde_json::from_str(&raw.to_string()).unwrap()
            })
    }

    proptest! {
        #[test]
        fn generated_completions_round_trip(original in completion()) {
            prop_assert_eq!(round_trip(&original), expected(&original));
        }
    }
}
