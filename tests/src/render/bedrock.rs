//! Bedrock Converse replies: JSON for `/converse`, binary AWS event stream frames for
//! `/converse-stream`.
//!
//! The frames are encoded here, not with the core's encoder, so that an encoder bug the
//! core's decoder mirrors cannot go unnoticed end to end.

use serde_json::{json, Value};

use super::{openai, pieces, thirds, Rendered, Script};

const SIGNATURE: &str = "fake-bedrock-signature-EqQB";

fn input_of(arguments: &str) -> Value {
    serde_json::from_str(arguments).unwrap_or_else(|_| json!({}))
}

/// One event stream message with string headers (type 7), both CRC32s included.
pub(crate) fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut header_block = Vec::new();
    for (name, value) in headers {
        header_block.push(name.len() as u8);
        header_block.extend_from_slice(name.as_bytes());
        header_block.push(7);
        header_block.extend_from_slice(&(value.len() as u16).to_be_bytes());
        header_block.extend_from_slice(value.as_bytes());
    }
    let total = 12 + header_block.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(header_block.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&header_block);
    out.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&out);
    out.extend_from_slice(&message_crc.to_be_bytes());
    out
}

/// An `event` message of `kind` carrying `payload` (with Bedrock's `"p"` padding field).
fn event(kind: &str, mut payload: Value) -> Vec<u8> {
    if let Some(object) = payload.as_object_mut() {
        object.insert("p".into(), "abcdefgh".into());
    }
    frame(
        &[
            (":event-type", kind),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.to_string().as_bytes(),
    )
}

/// An `exception` message, as Bedrock sends mid-stream (`throttlingException`, …).
pub(super) fn exception(exception_type: &str, message: &str) -> Vec<u8> {
    frame(
        &[
            (":exception-type", exception_type),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        json!({ "message": message }).to_string().as_bytes(),
    )
}

fn usage(script: &Script) -> Value {
    json!({"inputTokens": script.usage.0, "outputTokens": script.usage.1,
        "totalTokens": script.usage.0 + script.usage.1})
}

pub(super) fn converse(script: &Script) -> Rendered {
    let mut content = Vec::new();
    if let Some(reasoning) = &script.reasoning {
        content.push(json!({"reasoningContent": {"reasoningText":
            {"text": reasoning, "signature": SIGNATURE}}}));
    }
    if let Some(text) = &script.text {
        content.push(json!({ "text": text }));
    }
    let mut stop = "end_turn";
    if let Some((name, arguments)) = &script.tool_call {
        content.push(
            json!({"toolUse": {"toolUseId": "tooluse_fake_1", "name": name,
            "input": input_of(arguments)}}),
        );
        stop = "tool_use";
    }
    let body = json!({"output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop, "usage": usage(script), "metrics": {"latencyMs": 1}});
    Rendered::Whole {
        status: 200,
        body: body.to_string().into_bytes(),
    }
}

pub(super) fn converse_stream(script: &Script) -> Rendered {
    let mut events = vec![event("messageStart", json!({"role": "assistant"}))];
    let mut index = 0;
    if let Some(reasoning) = &script.reasoning {
        for piece in pieces(reasoning) {
            events.push(event(
                "contentBlockDelta",
                json!({"contentBlockIndex": index,
                "delta": {"reasoningContent": {"text": piece}}}),
            ));
        }
        events.push(event(
            "contentBlockDelta",
            json!({"contentBlockIndex": index,
            "delta": {"reasoningContent": {"signature": SIGNATURE}}}),
        ));
        events.push(event(
            "contentBlockStop",
            json!({"contentBlockIndex": index}),
        ));
        index += 1;
    }
    if let Some(text) = &script.text {
        for piece in pieces(text) {
            events.push(event(
                "contentBlockDelta",
                json!({"contentBlockIndex": index,
                "delta": {"text": piece}}),
            ));
        }
        events.push(event(
            "contentBlockStop",
            json!({"contentBlockIndex": index}),
        ));
        index += 1;
    }
    let mut stop = "end_turn";
    if let Some((name, arguments)) = &script.tool_call {
        events.push(event(
            "contentBlockStart",
            json!({"contentBlockIndex": index,
            "start": {"toolUse": {"toolUseId": "tooluse_fake_1", "name": name}}}),
        ));
        for piece in thirds(arguments) {
            events.push(event(
                "contentBlockDelta",
                json!({"contentBlockIndex": index,
                "delta": {"toolUse": {"input": piece}}}),
            ));
        }
        events.push(event(
            "contentBlockStop",
            json!({"contentBlockIndex": index}),
        ));
        stop = "tool_use";
    }
    // The terminal part is the stop and the usage after it, as Bedrock sends them.
    let mut terminal = event("messageStop", json!({ "stopReason": stop }));
    terminal.extend(event(
        "metadata",
        json!({"usage": usage(script), "metrics": {"latencyMs": 1}}),
    ));
    Rendered::Stream { events, terminal }
}

/// An InvokeModel embeddings reply in the family the request body speaks: Titan
/// (`inputText`) or Cohere (`texts`).
pub(super) fn invoke(request: &Value) -> Rendered {
    let body = if let Some(text) = request.get("inputText").and_then(Value::as_str) {
        json!({"embedding": openai::vector(text),
            "inputTextTokenCount": text.split_whitespace().count().max(1)})
    } else if let Some(texts) = request.get("texts").and_then(Value::as_array) {
        let vectors: Vec<Vec<f64>> = texts
            .iter()
            .map(|text| openai::vector(text.as_str().unwrap_or_default()))
            .collect();
        json!({"id": "fake-embed", "embeddings": vectors, "response_type": "embeddings_floats",
            "texts": texts})
    } else {
        return Rendered::Whole {
            status: 400,
            body: json!({"message": "Malformed input request: expected inputText or texts"})
                .to_string()
                .into_bytes(),
        };
    };
    Rendered::Whole {
        status: 200,
        body: body.to_string().into_bytes(),
    }
}
