//! Ollama native replies: `/api/chat` (whole, or NDJSON lines ending with `done: true`) and
//! `/api/embed`.

use serde_json::{json, Value};

use super::{pieces, Rendered, Script};

const CREATED_AT: &str = "2024-07-22T20:33:28.123648Z";

fn line(value: &Value) -> Vec<u8> {
    format!("{value}\n").into_bytes()
}

fn arguments_of(arguments: &str) -> Value {
    serde_json::from_str(arguments).unwrap_or_else(|_| json!({}))
}

fn done(script: &Script) -> Value {
    json!({"model": script.model, "created_at": CREATED_AT,
        "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop",
        "total_duration": 1_000_000, "load_duration": 1000,
        "prompt_eval_count": script.usage.0, "eval_count": script.usage.1})
}

pub(super) fn chat(script: &Script) -> Rendered {
    let mut body = done(script);
    let mut message =
        json!({"role": "assistant", "content": script.text.clone().unwrap_or_default()});
    if let Some(reasoning) = &script.reasoning {
        message["thinking"] = reasoning.clone().into();
    }
    if let Some((name, arguments)) = &script.tool_call {
        message["tool_calls"] =
            json!([{"function": {"name": name, "arguments": arguments_of(arguments)}}]);
    }
    body["message"] = message;
    Rendered::Whole {
        status: 200,
        body: body.to_string().into_bytes(),
    }
}

pub(super) fn stream(script: &Script) -> Rendered {
    let chunk = |message: Value| {
        line(&json!({"model": script.model, "created_at": CREATED_AT,
            "message": message, "done": false}))
    };
    let mut events = Vec::new();
    for piece in script.reasoning.as_deref().map(pieces).unwrap_or_default() {
        events.push(chunk(
            json!({"role": "assistant", "content": "", "thinking": piece}),
        ));
    }
    for piece in script.text.as_deref().map(pieces).unwrap_or_default() {
        events.push(chunk(json!({"role": "assistant", "content": piece})));
    }
    if let Some((name, arguments)) = &script.tool_call {
        events.push(chunk(json!({"role": "assistant", "content": "",
            "tool_calls": [{"function": {"name": name, "arguments": arguments_of(arguments)}}]})));
    }
    if events.is_empty() {
        events.push(chunk(json!({"role": "assistant", "content": ""})));
    }
    Rendered::Stream {
        events,
        terminal: line(&done(script)),
    }
}

pub(super) fn embed(request: &Value, script: &Script) -> Rendered {
    let count = match request.get("input") {
        Some(Value::Array(inputs)) => inputs.len(),
        _ => 1,
    };
    let vectors: Vec<Value> = (0..count)
        .map(|i| json!([0.5 + i as f64, -0.25, 0.125]))
        .collect();
    let body = json!({"model": script.model, "embeddings": vectors,
        "total_duration": 1000, "load_duration": 10, "prompt_eval_count": script.usage.0});
    Rendered::Whole {
        status: 200,
        body: body.to_string().into_bytes(),
    }
}
