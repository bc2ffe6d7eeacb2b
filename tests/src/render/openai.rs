//! OpenAI chat, embeddings and completions replies.

use serde_json::{json, Value};

use super::{pieces, sse, thirds, Rendered, Script};

const CREATED: u64 = 1_700_000_000;

fn usage(script: &Script) -> Value {
    let (prompt, completion) = script.usage;
    json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

pub(super) fn chat(script: &Script) -> Rendered {
    let mut message = json!({"role": "assistant", "content": script.text, "refusal": null});
    if let Some(reasoning) = &script.reasoning {
        message["reasoning_content"] = json!(reasoning);
    }
    let mut finish = "stop";
    if let Some((name, arguments)) = &script.tool_call {
        message["tool_calls"] = json!([{"id": "call_fake_1", "type": "function",
            "function": {"name": name, "arguments": arguments}}]);
        finish = "tool_calls";
    }
    let body = json!({
        "id": format!("chatcmpl-{}", script.id), "object": "chat.completion", "created": CREATED,
        "model": script.model, "choices": [{"index": 0, "message": message, "logprobs": null,
        "finish_reason": finish}], "usage": usage(script), "system_fingerprint": "fp_fake"
    });
    Rendered::Whole {
        status: 200,
        body: body.to_string().into_bytes(),
    }
}

pub(super) fn chat_stream(script: &Script) -> Rendered {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": format!("chatcmpl-{}", script.id), "object": "chat.completion.chunk",
            "created": CREATED, "model": script.model, "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    };
    let mut events = vec![sse(
        None,
        &chunk(json!({"role": "assistant", "content": ""}), Value::Null),
    )];
    if let Some(reasoning) = &script.reasoning {
        for piece in pieces(reasoning) {
            events.push(sse(
                None,
                &chunk(json!({"reasoning_content": piece}), Value::Null),
            ));
        }
    }
    if let Some(text) = &script.text {
        for piece in pieces(text) {
            events.push(sse(None, &chunk(json!({"content": piece}), Value::Null)));
        }
    }
    let mut finish = "stop";
    if let Some((name, arguments)) = &script.tool_call {
        events.push(sse(
            None,
            &chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_fake_1",
            "type": "function", "function": {"name": name, "arguments": ""}}]}),
                Value::Null,
            ),
        ));
        for fragment in thirds(arguments) {
            events.push(sse(
                None,
                &chunk(
                    json!({"tool_calls": [{"index": 0,
                "function": {"arguments": fragment}}]}),
                    Value::Null,
                ),
            ));
        }
        finish = "tool_calls";
    }
    events.push(sse(None, &chunk(json!({}), json!(finish))));
    events.push(sse(
        None,
        &json!({"id": format!("chatcmpl-{}", script.id),
        "object": "chat.completion.chunk", "created": CREATED, "model": script.model,
        "choices": [], "usage": usage(script)}),
    ));
    Rendered::Stream {
        events,
        terminal: b"data: [DONE]\n\n".to_vec(),
    }
}

/// A deterministic 8-dimensional vector from the text's bytes.
pub(super) fn vector(text: &str) -> Vec<f64> {
    let mut out = [0.0; 8];
    for (i, byte) in text.bytes().enumerate() {
        out[i % 8] += f64::from(byte) / 255.0;
    }
    let norm = out.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-9);
    out.iter()
        .map(|v| ((v / norm) * 1e6).round() / 1e6)
        .collect()
}

pub(super) fn embeddings(request: &Value, script: &Script) -> Rendered {
    let texts: Vec<String> = match request.get("input") {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| item.to_string())
            })
            .collect(),
        _ => Vec::new(),
    };
    let data: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(index, text)| json!({"object": "embedding", "index": index, "embedding": vector(text)}))
        .collect();
    let tokens: usize = texts
        .iter()
        .map(|t| t.split_whitespace().count().max(1))
        .sum();
    let body = json!({"object": "list", "data": data, "model": script.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}});
    Rendered::Whole {
        status: 200,
        body: body.to_string().into_bytes(),
    }
}

pub(super) fn completion(script: &Script) -> Rendered {
    let body = json!({"id": format!("cmpl-{}", script.id), "object": "text_completion",
        "created": CREATED, "model": script.model,
        "choices": [{"text": script.text.clone().unwrap_or_default(), "index": 0, "logprobs": null,
            "finish_reason": "stop"}],
        "usage": usage(script)});
    Rendered::Whole {
        status: 200,
        body: body.to_string().into_bytes(),
    }
}
