//! Cohere v2 replies: `/v2/chat` (whole or SSE) and `/v2/embed`.

use serde_json::{json, Value};

use super::{pieces, sse, thirds, Rendered, Script};

const TOOL_CALL_ID: &str = "get_fake_cohere_1";

fn usage(script: &Script) -> Value {
    json!({"billed_units": {"input_tokens": script.usage.0, "output_tokens": script.usage.1},
           "tokens": {"input_tokens": script.usage.0, "output_tokens": script.usage.1}})
}

pub(super) fn chat(script: &Script) -> Rendered {
    let mut content = Vec::new();
    if let Some(reasoning) = &script.reasoning {
        content.push(json!({"type": "thinking", "thinking": reasoning}));
    }
    if let Some(text) = &script.text {
        content.push(json!({"type": "text", "text": text}));
    }
    let mut message = json!({"role": "assistant", "content": content});
    let mut finish = "COMPLETE";
    if let Some((name, arguments)) = &script.tool_call {
        message["tool_calls"] = json!([{"id": TOOL_CALL_ID, "type": "function",
            "function": {"name": name, "arguments": arguments}}]);
        finish = "TOOL_CALL";
    }
    let body = json!({"id": script.id, "message": message, "finish_reason": finish,
        "usage": usage(script)});
    Rendered::Whole {
        status: 200,
        body: body.to_string().into_bytes(),
    }
}

pub(super) fn stream(script: &Script) -> Rendered {
    let mut events = vec![sse(
        Some("message-start"),
        &json!({"id": script.id, "type": "message-start", "delta": {"message": {
            "role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}}),
    )];
    let mut index = 0;
    let mut part = |events: &mut Vec<Vec<u8>>, kind: &str, text: &str| {
        events.push(sse(
            Some("content-start"),
            &json!({"type": "content-start", "index": index,
                "delta": {"message": {"content": {"type": kind, kind: ""}}}}),
        ));
        for piece in pieces(text) {
            events.push(sse(
                Some("content-delta"),
                &json!({"type": "content-delta", "index": index,
                    "delta": {"message": {"content": {kind: piece}}}}),
            ));
        }
        events.push(sse(
            Some("content-end"),
            &json!({"type": "content-end", "index": index}),
        ));
        index += 1;
    };
    if let Some(reasoning) = &script.reasoning {
        part(&mut events, "thinking", reasoning);
    }
    if let Some(text) = &script.text {
        part(&mut events, "text", text);
    }
    let mut finish = "COMPLETE";
    if let Some((name, arguments)) = &script.tool_call {
        events.push(sse(
            Some("tool-call-start"),
            &json!({"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {
                "id": TOOL_CALL_ID, "type": "function",
                "function": {"name": name, "arguments": ""}}}}}),
        ));
        for piece in thirds(arguments) {
            events.push(sse(
                Some("tool-call-delta"),
                &json!({"type": "tool-call-delta", "index": 0, "delta": {"message": {
                    "tool_calls": {"function": {"arguments": piece}}}}}),
            ));
        }
        events.push(sse(
            Some("tool-call-end"),
            &json!({"type": "tool-call-end", "index": 0}),
        ));
        finish = "TOOL_CALL";
    }
    Rendered::Stream {
        events,
        terminal: sse(
            Some("message-end"),
            &json!({"type": "message-end", "delta": {"finish_reason": finish,
                "usage": usage(script)}}),
        ),
    }
}

pub(super) fn embed(request: &Value, script: &Script) -> Rendered {
    let count = request
        .get("texts")
        .and_then(Value::as_array)
        .map_or(1, Vec::len);
    let vectors: Vec<Value> = (0..count)
        .map(|i| json!([0.5 + i as f64, -0.25, 0.125]))
        .collect();
    let body = json!({"id": script.id, "embeddings": {"float": vectors},
        "texts": request.get("texts"), "response_type": "embeddings_by_type",
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": script.usage.0}}});
    Rendered::Whole {
        status: 200,
        body: body.to_string().into_bytes(),
    }
}
