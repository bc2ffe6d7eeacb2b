//! The Cohere v2 oracle: what a `/v2/chat` body or stream says, read plainly from the JSON.
//!
//! Expectations (the adapter's documented rules, recomputed here without its code): text parts
//! joined into content; `thinking` parts then `tool_plan` joined into reasoning; tool calls
//! as they are; `COMPLETE`/`STOP_SEQUENCE` → stop, `MAX_TOKENS` → length, `TOOL_CALL` →
//! tool_calls; usage from `tokens`, else `billed_units`, with `cached_tokens`; a stream ends at
//! `message-end` (or `[DONE]`), and a `message-end` with `finish_reason: ERROR` is an
//! in-stream error.

use super::*;

fn finish_reason(reason: &str) -> String {
    match reason {
        "COMPLETE" | "STOP_SEQUENCE" => "stop".to_owned(),
        "MAX_TOKENS" => "length".to_owned(),
        "TOOL_CALL" => "tool_calls".to_owned(),
        other => other.to_ascii_lowercase(),
    }
}

fn usage(raw: Option<&Value>) -> Option<ExpectedUsage> {
    let raw = raw?;
    let counts = ["tokens", "billed_units"]
        .iter()
        .filter_map(|name| raw.get(*name))
        .find(|counts| {
            counts.get("input_tokens").is_some() || counts.get("output_tokens").is_some()
        })?;
    let prompt = number(counts.get("input_tokens")).unwrap_or(0);
    let completion = number(counts.get("output_tokens")).unwrap_or(0);
    Some(ExpectedUsage {
        prompt,
        completion,
        total: prompt + completion,
        cached: Some(number(raw.get("cached_tokens")).unwrap_or(0)),
        reasoning: None,
    })
}

fn call(raw: &Value) -> ExpectedCall {
    ExpectedCall {
        id: text_of(raw.get("id")).unwrap_or_default(),
        name: text_of(raw.pointer("/function/name")).unwrap_or_default(),
        arguments: text_of(raw.pointer("/function/arguments")).unwrap_or_default(),
    }
}

fn content_part(choice: &mut ExpectedChoice, part: &Value) {
    match part.get("type").and_then(Value::as_str) {
        Some("thinking") => append(&mut choice.reasoning, part.get("thinking")),
        Some("text") => append(&mut choice.content, part.get("text")),
        // Stream deltas name no type, only the field.
        None => {
            append(&mut choice.content, part.get("text"));
            append(&mut choice.reasoning, part.get("thinking"));
        }
        _ => {}
    }
}

fn expected(
    mut choice: ExpectedChoice,
    plan: Option<String>,
    usage: Option<ExpectedUsage>,
) -> Expected {
    if let Some(plan) = plan.filter(|plan| !plan.is_empty()) {
        choice
            .reasoning
            .get_or_insert_with(String::new)
            .push_str(&plan);
    }
    choice.reasoning = choice.reasoning.filter(|r| !r.is_empty());
    Expected {
        choices: BTreeMap::from([(0, choice)]),
        usage,
        null_is_empty: true,
    }
}

/// A whole v2 chat body.
pub(super) fn whole(raw: &Value) -> Expected {
    let message = raw.get("message").unwrap_or(&Value::Null);
    let mut choice = ExpectedChoice::default();
    for part in message
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        content_part(&mut choice, part);
    }
    choice.tool_calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(call)
        .collect();
    choice.finish_reason = text_of(raw.get("finish_reason")).map(|r| finish_reason(&r));
    expected(
        choice,
        text_of(message.get("tool_plan")),
        usage(raw.get("usage")),
    )
}

/// A v2 chat SSE body.
pub(super) fn stream(body: &[u8]) -> Result<StreamOracle, String> {
    let mut choice = ExpectedChoice::default();
    let mut plan = String::new();
    let mut usage_seen = None;
    // Stream tool-call index -> position in tool_calls.
    let mut calls: BTreeMap<u64, usize> = BTreeMap::new();
    for (_, data) in sse_events(body) {
        if data.trim() == "[DONE]" {
            return Ok(StreamOracle {
                expected: expected(choice, Some(plan), usage_seen),
                ending: Ending::Complete,
            });
        }
        let event: Value = serde_json::from_str(&data)
            .map_err(|e| format!("oracle: a data line is not JSON ({e}): {data}"))?;
        let index = number(event.get("index")).unwrap_or(0);
        let message = event.pointer("/delta/message");
        match event.get("type").and_then(Value::as_str) {
            Some("content-start" | "content-delta") => {
                if let Some(part) = message.and_then(|m| m.get("content")) {
                    content_part(&mut choice, part);
                }
            }
            Some("tool-plan-delta") => {
                if let Some(piece) = message
                    .and_then(|m| m.get("tool_plan"))
                    .and_then(Value::as_str)
                {
                    plan.push_str(piece);
                }
            }
            Some("tool-call-start") => {
                let raw = message
                    .and_then(|m| m.get("tool_calls"))
                    .unwrap_or(&Value::Null);
                calls.insert(index, choice.tool_calls.len());
                choice.tool_calls.push(call(raw));
            }
            Some("tool-call-delta") => {
                let piece = message
                    .and_then(|m| m.pointer("/tool_calls/function/arguments"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let position = calls
                    .get(&index)
                    .ok_or_else(|| format!("oracle: delta for tool call {index} never started"))?;
                choice.tool_calls[*position].arguments.push_str(piece);
            }
            Some("message-end") => {
                let delta = event.get("delta").cloned().unwrap_or(Value::Null);
                let reason = text_of(delta.get("finish_reason"));
                if matches!(reason.as_deref(), Some("ERROR" | "TIMEOUT")) {
                    return Ok(StreamOracle {
                        expected: expected(choice, Some(plan), usage_seen),
                        ending: Ending::Error(delta),
                    });
                }
                choice.finish_reason = reason.map(|r| finish_reason(&r));
                usage_seen = usage(delta.get("usage"));
                return Ok(StreamOracle {
                    expected: expected(choice, Some(plan), usage_seen),
                    ending: Ending::Complete,
                });
            }
            _ => {}
        }
    }
    Ok(StreamOracle {
        expected: expected(choice, Some(plan), usage_seen),
        ending: Ending::Truncated,
    })
}

/// A 2xx `/v2/embed` body: `embeddings.float` in order, usage from `meta.billed_units`.
pub(super) fn check_embeddings(parsed: &EmbeddingResponse, body: &[u8]) -> Result<(), String> {
    let raw: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let vectors = raw
        .pointer("/embeddings/float")
        .and_then(Value::as_array)
        .ok_or("oracle: no embeddings.float")?;
    if vectors.len() != parsed.data.len() {
        return Err(format!(
            "{} embeddings, expected {}",
            parsed.data.len(),
            vectors.len()
        ));
    }
    for (n, (want, got)) in vectors.iter().zip(&parsed.data).enumerate() {
        let want: Vec<f32> = want
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .map(|v| v as f32)
            .collect();
        if got.index as usize != n || got.embedding != EmbeddingVector::Float(want) {
            return Err(format!("embedding {n} differs from the body"));
        }
    }
    let tokens = number(raw.pointer("/meta/billed_units/input_tokens"));
    if tokens != parsed.usage.as_ref().map(|u| u.prompt_tokens) {
        return Err(format!("usage {:?}, expected {tokens:?}", parsed.usage));
    }
    Ok(())
}
