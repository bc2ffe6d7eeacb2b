//! OpenAI Responses API replies (`POST /v1/responses`): the whole `response` object, or its
//! stream of typed events (`response.created` … `response.completed`), each an SSE block
//! whose `event:` line repeats the JSON's `type`, with a growing `sequence_number`.

use serde_json::{json, Value};

use super::{pieces, sse, thirds, Rendered, Script};

const CREATED: u64 = 1_700_000_000;

fn usage(script: &Script) -> Value {
    let (input, output) = script.usage;
    json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input + output})
}

/// The output items of the finished response, in order: a reasoning item (with its summary),
/// then the message or the function call.
fn output(script: &Script) -> Vec<Value> {
    let mut items = Vec::new();
    if let Some(reasoning) = &script.reasoning {
        items.push(reasoning_item(script, reasoning));
    }
    if let Some(text) = &script.text {
        items.push(message_item(script, text, "completed"));
    }
    if let Some((name, arguments)) = &script.tool_call {
        items.push(function_call_item(name, arguments, "completed"));
    }
    items
}

fn reasoning_item(script: &Script, summary: &str) -> Value {
    json!({"id": format!("rs_{}", script.id), "type": "reasoning",
        "summary": [{"type": "summary_text", "text": summary}]})
}

fn message_item(script: &Script, text: &str, status: &str) -> Value {
    json!({"id": format!("msg_{}", script.id), "type": "message", "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

fn function_call_item(name: &str, arguments: &str, status: &str) -> Value {
    json!({"id": "fc_fake_1", "type": "function_call", "status": status,
        "call_id": "call_fake_1", "name": name, "arguments": arguments})
}

fn response(script: &Script, status: &str, output: Vec<Value>, usage: Value) -> Value {
    json!({"id": format!("resp_{}", script.id), "object": "response", "created_at": CREATED,
        "status": status, "error": null, "incomplete_details": null, "model": script.model,
        "output": output, "parallel_tool_calls": true, "usage": usage})
}

pub(super) fn whole(script: &Script) -> Rendered {
    let body = response(script, "completed", output(script), usage(script));
    Rendered::Whole {
        status: 200,
        body: body.to_string().into_bytes(),
    }
}

/// The events OpenAI sends for the same reply, text in word-sized deltas and function-call
/// arguments in thirds.
pub(super) fn stream(script: &Script) -> Rendered {
    let mut events = Events::default();
    let pending = response(script, "in_progress", Vec::new(), Value::Null);
    events.push(json!({"type": "response.created", "response": pending}));
    events.push(json!({"type": "response.in_progress", "response": pending}));
    let mut index = 0;
    if let Some(reasoning) = &script.reasoning {
        let id = format!("rs_{}", script.id);
        let empty = json!({"id": id, "type": "reasoning", "summary": []});
        events.push(
            json!({"type": "response.output_item.added", "output_index": index,
            "item": empty}),
        );
        let part = json!({"type": "summary_text", "text": ""});
        events.push(
            json!({"type": "response.reasoning_summary_part.added", "item_id": id,
            "output_index": index, "summary_index": 0, "part": part}),
        );
        for piece in pieces(reasoning) {
            events.push(
                json!({"type": "response.reasoning_summary_text.delta", "item_id": id,
                "output_index": index, "summary_index": 0, "delta": piece}),
            );
        }
        events.push(
            json!({"type": "response.reasoning_summary_text.done", "item_id": id,
            "output_index": index, "summary_index": 0, "text": reasoning}),
        );
        events.push(
            json!({"type": "response.reasoning_summary_part.done", "item_id": id,
            "output_index": index, "summary_index": 0,
            "part": {"type": "summary_text", "text": reasoning}}),
        );
        events.push(
            json!({"type": "response.output_item.done", "output_index": index,
            "item": reasoning_item(script, reasoning)}),
        );
        index += 1;
    }
    if let Some(text) = &script.text {
        let id = format!("msg_{}", script.id);
        let mut item = message_item(script, "", "in_progress");
        item["content"] = json!([]);
        events.push(
            json!({"type": "response.output_item.added", "output_index": index,
            "item": item}),
        );
        events.push(json!({"type": "response.content_part.added", "item_id": id,
            "output_index": index, "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []}}));
        for piece in pieces(text) {
            events.push(json!({"type": "response.output_text.delta", "item_id": id,
                "output_index": index, "content_index": 0, "delta": piece, "logprobs": []}));
        }
        events.push(json!({"type": "response.output_text.done", "item_id": id,
            "output_index": index, "content_index": 0, "text": text, "logprobs": []}));
        events.push(json!({"type": "response.content_part.done", "item_id": id,
            "output_index": index, "content_index": 0,
            "part": {"type": "output_text", "text": text, "annotations": []}}));
        events.push(
            json!({"type": "response.output_item.done", "output_index": index,
            "item": message_item(script, text, "completed")}),
        );
        index += 1;
    }
    if let Some((name, arguments)) = &script.tool_call {
        events.push(
            json!({"type": "response.output_item.added", "output_index": index,
            "item": function_call_item(name, "", "in_progress")}),
        );
        for fragment in thirds(arguments) {
            events.push(json!({"type": "response.function_call_arguments.delta",
                "item_id": "fc_fake_1", "output_index": index, "delta": fragment}));
        }
        events.push(json!({"type": "response.function_call_arguments.done",
            "item_id": "fc_fake_1", "output_index": index, "arguments": arguments}));
        events.push(
            json!({"type": "response.output_item.done", "output_index": index,
            "item": function_call_item(name, arguments, "completed")}),
        );
    }
    let done = response(script, "completed", output(script), usage(script));
    let terminal = events.block(json!({"type": "response.completed", "response": done}));
    Rendered::Stream {
        events: events.blocks,
        terminal,
    }
}

/// A 200 stream that fails after it started, as OpenAI's do: an `error` event, then
/// `response.failed` with the error in the response.
pub(super) fn exception(code: &str, message: &str) -> Rendered {
    let mut events = Events::default();
    let pending = json!({"id": "resp_failed", "object": "response", "created_at": CREATED,
        "status": "in_progress", "output": []});
    events.push(json!({"type": "response.created", "response": pending}));
    events.push(json!({"type": "error", "code": code, "message": message, "param": null}));
    let failed = json!({"id": "resp_failed", "object": "response", "created_at": CREATED,
        "status": "failed", "output": [], "error": {"code": code, "message": message}});
    let terminal = events.block(json!({"type": "response.failed", "response": failed}));
    Rendered::Stream {
        events: events.blocks,
        terminal,
    }
}

/// SSE blocks numbered as they are added.
#[derive(Default)]
struct Events {
    blocks: Vec<Vec<u8>>,
    sequence: u64,
}

impl Events {
    fn block(&mut self, mut event: Value) -> Vec<u8> {
        event["sequence_number"] = json!(self.sequence);
        self.sequence += 1;
        let kind = event["type"].as_str().unwrap_or("unknown").to_owned();
        sse(Some(&kind), &event)
    }

    fn push(&mut self, event: Value) {
        let block = self.block(event);
        self.blocks.push(block);
    }
}

/// The text of the last user turn of a Responses request's `input`: the string itself, or
/// the last `user` message item's text (a string or its `input_text` parts).
pub(super) fn last_user_text(request: &Value) -> Option<String> {
    match request.get("input")? {
        Value::String(text) => Some(text.clone()),
        Value::Array(items) => {
            let last = items.iter().rev().find(|item| {
                item.get("role").and_then(Value::as_str) == Some("user")
                    && item
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("message")
                        == "message"
            })?;
            Some(match last.get("content")? {
                Value::String(text) => text.clone(),
                Value::Array(parts) => parts
                    .iter()
                    .filter_map(|part| part.get("text").and_then(Value::as_str))
                    .collect(),
                _ => String::new(),
            })
        }
        _ => None,
    }
}
