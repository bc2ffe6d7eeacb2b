//! Gemini `generateContent` replies (AI Studio and Vertex AI share them): whole bodies,
//! `alt=sse` streams with Gemini's CRLF separators and no terminal event other than the
//! chunk that carries `finishReason`, and `batchEmbedContents`.

use serde_json::{json, Value};

use super::{pieces, Rendered, Script};

const SIGNATURE: &str = "fake-gemini-signature-CiQBjz1r";

/// One SSE event the way Gemini frames it.
fn event(data: &Value) -> Vec<u8> {
    format!("data: {data}\r\n\r\n").into_bytes()
}

fn args_of(arguments: &str) -> Value {
    serde_json::from_str(arguments).unwrap_or_else(|_| json!({}))
}

fn usage(script: &Script) -> Value {
    json!({"promptTokenCount": script.usage.0, "candidatesTokenCount": script.usage.1,
        "totalTokenCount": script.usage.0 + script.usage.1})
}

fn response(script: &Script, parts: Vec<Value>, finish: Option<&str>) -> Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if let Some(finish) = finish {
        candidate["finishReason"] = json!(finish);
    }
    json!({"candidates": [candidate], "usageMetadata": usage(script),
        "modelVersion": script.model, "responseId": script.id})
}

fn call_part(script: &Script) -> Option<Value> {
    let (name, arguments) = script.tool_call.as_ref()?;
    Some(
        json!({"functionCall": {"name": name, "args": args_of(arguments)},
        "thoughtSignature": SIGNATURE}),
    )
}

pub(super) fn chat(script: &Script) -> Rendered {
    let mut parts = Vec::new();
    if let Some(reasoning) = &script.reasoning {
        parts.push(json!({"text": reasoning, "thought": true}));
    }
    if let Some(text) = &script.text {
        parts.push(json!({"text": text, "thoughtSignature": SIGNATURE}));
    }
    parts.extend(call_part(script));
    Rendered::Whole {
        status: 200,
        body: response(script, parts, Some("STOP"))
            .to_string()
            .into_bytes(),
    }
}

pub(super) fn stream(script: &Script) -> Rendered {
    let mut events = Vec::new();
    for piece in script.reasoning.iter().flat_map(|r| pieces(r)) {
        events.push(event(&response(
            script,
            vec![json!({"text": piece, "thought": true})],
            None,
        )));
    }
    for piece in script.text.iter().flat_map(|t| pieces(t)) {
        events.push(event(&response(script, vec![json!({"text": piece})], None)));
    }
    if let Some(call) = call_part(script) {
        events.push(event(&response(script, vec![call], None)));
    }
    // Gemini signs the last part of a reply: the call part when there is a call (which
    // carries its own signature above), else a closing empty text part.
    let last = if script.tool_call.is_some() {
        json!({"text": ""})
    } else {
        json!({"text": "", "thoughtSignature": SIGNATURE})
    };
    Rendered::Stream {
        events,
        terminal: event(&response(script, vec![last], Some("STOP"))),
    }
}

pub(super) fn embeddings(request: &Value) -> Rendered {
    let embeddings: Vec<Value> = request
        .get("requests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|one| {
            let text: String = one
                .pointer("/content/parts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect();
            json!({"values": super::openai::vector(&text)})
        })
        .collect();
    Rendered::Whole {
        status: 200,
        body: json!({ "embeddings": embeddings }).to_string().into_bytes(),
    }
}

/// Google's error body (`google.rpc.Status`) for a status.
pub(super) fn error_body(status: u16, message: &str) -> Value {
    let name = match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    json!({"error": {"code": status, "message": message, "status": name}})
}

/// The model named in a Gemini path (`…/models/{model}:generateContent`).
pub(crate) fn model_of(path: &str) -> Option<&str> {
    let path = path.split('?').next().unwrap_or(path);
    let (_, rest) = path.rsplit_once("/models/")?;
    rest.split(':').next()
}
