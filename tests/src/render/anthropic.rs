//! Anthropic Messages replies.

use serde_json::{json, Value};

use super::{pieces, sse, thirds, Rendered, Script};

const SIGNATURE: &str = "fake-signature-EqQBCgIYAhIM";

fn input_of(arguments: &str) -> Value {
    serde_json::from_str(arguments).unwrap_or_else(|_| json!({}))
}

pub(super) fn message(script: &Script) -> Rendered {
    let mut content = Vec::new();
    if let Some(reasoning) = &script.reasoning {
        content.push(json!({"type": "thinking", "thinking": reasoning, "signature": SIGNATURE}));
    }
    if let Some(text) = &script.text {
        content.push(json!({"type": "text", "text": text}));
    }
    let mut stop = "end_turn";
    if let Some((name, arguments)) = &script.tool_call {
        content.push(
            json!({"type": "tool_use", "id": "toolu_fake_1", "name": name,
            "input": input_of(arguments)}),
        );
        stop = "tool_use";
    }
    let body = json!({"id": format!("msg_{}", script.id), "type": "message", "role": "assistant",
        "model": script.model, "content": content, "stop_reason": stop, "stop_sequence": null,
        "usage": {"input_tokens": script.usage.0, "output_tokens": script.usage.1}});
    Rendered::Whole {
        status: 200,
        body: body.to_string().into_bytes(),
    }
}

pub(super) fn stream(script: &Script) -> Rendered {
    let mut events = vec![sse(
        Some("message_start"),
        &json!({"type": "message_start", "message": {"id": format!("msg_{}", script.id),
            "type": "message", "role": "assistant", "model": script.model, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": script.usage.0, "output_tokens": 1}}}),
    )];
    events.push(sse(Some("ping"), &json!({"type": "ping"})));
    let mut index = 0;
    let mut block = |events: &mut Vec<Vec<u8>>, start: Value, deltas: Vec<Value>| {
        events.push(sse(
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        for delta in deltas {
            events.push(sse(
                Some("content_block_delta"),
                &json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
        }
        events.push(sse(
            Some("content_block_stop"),
            &json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    };
    if let Some(reasoning) = &script.reasoning {
        let mut deltas: Vec<Value> = pieces(reasoning)
            .into_iter()
            .map(|p| json!({"type": "thinking_delta", "thinking": p}))
            .collect();
        deltas.push(json!({"type": "signature_delta", "signature": SIGNATURE}));
        block(
            &mut events,
            json!({"type": "thinking", "thinking": "", "signature": ""}),
            deltas,
        );
    }
    if let Some(text) = &script.text {
        let deltas = pieces(text)
            .into_iter()
            .map(|p| json!({"type": "text_delta", "text": p}))
            .collect();
        block(&mut events, json!({"type": "text", "text": ""}), deltas);
    }
    let mut stop = "end_turn";
    if let Some((name, arguments)) = &script.tool_call {
        let deltas = thirds(arguments)
            .into_iter()
            .map(|p| json!({"type": "input_json_delta", "partial_json": p}))
            .collect();
        block(
            &mut events,
            json!({"type": "tool_use", "id": "toolu_fake_1", "name": name, "input": {}}),
            deltas,
        );
        stop = "tool_use";
    }
    events.push(sse(
        Some("message_delta"),
        &json!({"type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": null},
        "usage": {"output_tokens": script.usage.1}}),
    ));
    Rendered::Stream {
        events,
        terminal: sse(Some("message_stop"), &json!({"type": "message_stop"})),
    }
}
