//! A streamed tool-call reply, folded by the `ChunkAccumulator`, gives the same assistant
//! message as the same reply parsed whole: same value and same JSON, so a program that sends
//! the message back in the next turn sends the same bytes whichever way it called.
//!
//! The bodies are written the way OpenAI-format servers send them: Groq and vLLM open a
//! tool-call stream with `{"role": "assistant", "content": ""}` where OpenAI itself sends
//! `"content": null`; both whole replies say `"content": null`.

use bytes::Bytes;
use onellm_core::{
    ChatCompletion, ChatCompletionChunk, ChunkAccumulator, ModelId, Provider, Registry,
};
use serde_json::{json, Value};

fn provider(id: &str) -> std::sync::Arc<dyn Provider> {
    let registry = Registry::from_lookup(|name| {
        name.ends_with("_API_KEY")
            .then(|| "sk-round-trip-dummy".to_owned())
    });
    registry.resolve(&ModelId::parse(id).unwrap()).unwrap()
}

fn whole(provider: &dyn Provider, body: &Value) -> ChatCompletion {
    let response = http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap();
    provider.parse_chat(&response).unwrap()
}

/// Decodes an SSE body fed in pieces of `split` bytes and folds the chunks.
fn streamed(
    provider: &dyn Provider,
    body: &str,
    split: usize,
) -> (Vec<ChatCompletionChunk>, ChatCompletion) {
    let mut decoder = provider.chat_stream_decoder("round-trip");
    let mut chunks = Vec::new();
    for piece in body.as_bytes().chunks(split) {
        decoder.push(piece);
        while let Some(item) = decoder.next_chunk() {
            chunks.push(item.unwrap());
        }
    }
    decoder.finish();
    while let Some(item) = decoder.next_chunk() {
        chunks.push(item.unwrap());
    }
    assert!(decoder.is_complete());
    let mut accumulator = ChunkAccumulator::new();
    for chunk in &chunks {
        accumulator.push(chunk);
    }
    (chunks, accumulator.into_completion())
}

fn sse(chunks: &[Value]) -> String {
    let mut body: String = chunks
        .iter()
        .map(|chunk| format!("data: {chunk}\n\n"))
        .collect();
    body.push_str("data: [DONE]\n\n");
    body
}

fn chunk(delta: Value, finish: Value) -> Value {
    json!({"id": "chatcmpl-rt", "object": "chat.completion.chunk", "created": 1_733_000_000,
        "model": "llama-3.3-70b-versatile", "system_fingerprint": "fp_rt",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
}

fn whole_tool_call_reply(calls: Value) -> Value {
    json!({"id": "chatcmpl-rt", "object": "chat.completion", "created": 1_733_000_000,
        "model": "llama-3.3-70b-versatile", "system_fingerprint": "fp_rt",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": null,
            "tool_calls": calls}, "logprobs": null, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 80, "completion_tokens": 30, "total_tokens": 110}})
}

fn usage_chunk() -> Value {
    json!({"id": "chatcmpl-rt", "object": "chat.completion.chunk", "created": 1_733_000_000,
        "model": "llama-3.3-70b-versatile", "system_fingerprint": "fp_rt", "choices": [],
        "usage": {"prompt_tokens": 80, "completion_tokens": 30, "total_tokens": 110}})
}

fn assert_same_message(model: &str, stream_body: &str, whole_body: &Value) {
    let provider = provider(model);
    let whole = whole(provider.as_ref(), whole_body);
    for split in [1, 7, stream_body.len()] {
        let (_, folded) = streamed(provider.as_ref(), stream_body, split);
        let (folded, whole) = (&folded.choices[0].message, &whole.choices[0].message);
        assert_eq!(folded, whole, "{model}, split {split}");
        assert_eq!(
            serde_json::to_value(folded).unwrap(),
            serde_json::to_value(whole).unwrap(),
            "{model}, split {split}"
        );
        assert_eq!(
            serde_json::to_value(folded).unwrap()["content"],
            Value::Null
        );
    }
}

#[test]
fn tool_call_stream_opened_with_empty_content_folds_to_the_whole_message() {
    let calls = json!([
        {"id": "call_a", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
        {"id": "call_b", "type": "function",
            "function": {"name": "get_time", "arguments": "{\"tz\":\"CET\"}"}}
    ]);
    let body = sse(&[
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                "function": {"name": "get_weather", "arguments": ""}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                "function": {"name": "get_time", "arguments": "{\"tz\":\"CET\"}"}}]}),
            Value::Null,
        ),
        chunk(json!({}), json!("tool_calls")),
        usage_chunk(),
    ]);
    for model in ["groq/llama-3.3-70b-versatile", "openai/gpt-4o-mini"] {
        assert_same_message(model, &body, &whole_tool_call_reply(calls.clone()));
    }
}

#[test]
fn tool_call_stream_opened_with_null_content_folds_to_the_whole_message() {
    let calls = json!([{"id": "call_a", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]);
    let body = sse(&[
        chunk(
            json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [
                {"index": 0, "id": "call_a", "type": "function",
                    "function": {"name": "get_weather", "arguments": ""}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":\"Oslo\"}"}}]}),
            Value::Null,
        ),
        chunk(json!({}), json!("tool_calls")),
        usage_chunk(),
    ]);
    assert_same_message("openai/gpt-4o-mini", &body, &whole_tool_call_reply(calls));
}

#[test]
fn an_empty_text_reply_keeps_its_empty_content() {
    // Only beside tool calls is the opening "" dropped: an empty answer stays "".
    let body = sse(&[
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(json!({}), json!("stop")),
    ]);
    let (chunks, folded) = streamed(provider("openai/gpt-4o-mini").as_ref(), &body, 5);
    assert_eq!(folded.choices[0].message.content, Some("".into()));
    assert!(chunks.iter().all(|chunk| chunk.text().is_none()));
}

#[test]
fn tool_call_deltas_and_tool_calls_read_the_same_calls() {
    let body = sse(&[
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                "function": {"name": "get_weather", "arguments": ""}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Rome\"}"}}]}),
            Value::Null,
        ),
        chunk(json!({}), json!("tool_calls")),
    ]);
    let (chunks, folded) = streamed(provider("openai/gpt-4o-mini").as_ref(), &body, 3);
    let mut names = Vec::new();
    let mut arguments = String::new();
    for chunk in &chunks {
        assert_eq!(chunk.text(), None, "no text in a tool-call stream");
        for fragment in chunk.tool_call_deltas() {
            assert_eq!(fragment.index, 0);
            if let Some(name) = fragment.name {
                names.push((fragment.id, name));
            }
            arguments.push_str(fragment.arguments);
        }
    }
    assert_eq!(names, [(Some("call_a"), "get_weather")]);
    assert_eq!(arguments, "{\"city\":\"Rome\"}");
    let calls = folded.tool_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].function.arguments, arguments);
}
