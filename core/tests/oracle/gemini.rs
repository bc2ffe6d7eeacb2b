//! The Gemini `generateContent` oracle: what a recorded body means in OpenAI's terms, read
//! with `serde_json::Value` and no adapter code.
//!
//! The rules it holds the adapter to (the adapter's `response.rs` documents the same):
//! - a candidate is a choice (its `index`, else its position); text parts joined are the
//!   content, `thought: true` text parts the reasoning, `functionCall` parts the tool calls
//!   with `args` (or `{}`) as arguments;
//! - a call without an `id` gets `call_gemini_{responseId}_{candidate}_{n}`, n counting the
//!   candidate's calls from 0 across the whole stream;
//! - `STOP` is `stop`, or `tool_calls` when the candidate called a function; `MAX_TOKENS`
//!   `length`; the safety reasons `content_filter`; others verbatim;
//! - usage: prompt = `promptTokenCount` + `toolUsePromptTokenCount`, completion =
//!   `candidatesTokenCount` + `thoughtsTokenCount`, total = `totalTokenCount`; the last
//!   `usageMetadata` of a stream wins;
//! - a stream ends when every candidate seen has a `finishReason`; an event (or a plain JSON
//!   body) holding `error` is an in-stream error.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{
    number, sse_events, text_of, Ending, Expected, ExpectedCall, ExpectedUsage, StreamOracle,
};

fn finish_reason(reason: &str, called: bool) -> String {
    match reason {
        "STOP" if called => "tool_calls",
        "STOP" => "stop",
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            "content_filter"
        }
        other => other,
    }
    .to_owned()
}

fn usage(raw: Option<&Value>) -> Option<ExpectedUsage> {
    let raw = raw.filter(|u| u.is_object())?;
    let field = |name: &str| number(raw.get(name));
    let prompt =
        field("promptTokenCount").unwrap_or(0) + field("toolUsePromptTokenCount").unwrap_or(0);
    let completion =
        field("candidatesTokenCount").unwrap_or(0) + field("thoughtsTokenCount").unwrap_or(0);
    Some(ExpectedUsage {
        prompt,
        completion,
        total: field("totalTokenCount").unwrap_or(prompt + completion),
        cached: field("cachedContentTokenCount"),
        reasoning: field("thoughtsTokenCount"),
    })
}

/// Folds one response object (a whole body or a stream event) into `expected`. `calls`
/// counts each candidate's calls so far; `finished` records which candidates ended.
fn fold(
    raw: &Value,
    expected: &mut Expected,
    calls: &mut BTreeMap<u32, usize>,
    called: &mut BTreeMap<u32, bool>,
    finished: &mut BTreeMap<u32, bool>,
) {
    let response_id = text_of(raw.get("responseId")).unwrap_or_default();
    for (position, candidate) in raw
        .get("candidates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let index = number(candidate.get("index")).unwrap_or(position as u64) as u32;
        let slot = expected.choices.entry(index).or_default();
        finished.entry(index).or_insert(false);
        for part in candidate
            .pointer("/content/parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(call) = part.get("functionCall") {
                let n = calls.entry(index).or_insert(0);
                let id = text_of(call.get("id"))
                    .filter(|id| !id.is_empty())
                    .unwrap_or_else(|| {
                        if response_id.is_empty() {
                            format!("call_gemini_{index}_{n}")
                        } else {
                            format!("call_gemini_{response_id}_{index}_{n}")
                        }
                    });
                *n += 1;
                called.insert(index, true);
                slot.tool_calls.push(ExpectedCall {
                    id,
                    name: text_of(call.get("name")).unwrap_or_default(),
                    arguments: match call.get("args") {
                        None | Some(Value::Null) => "{}".to_owned(),
                        Some(args) => args.to_string(),
                    },
                });
                continue;
            }
            let Some(text) = part
                .get("text")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            else {
                continue;
            };
            let target = if part.get("thought") == Some(&Value::Bool(true)) {
                &mut slot.reasoning
            } else {
                &mut slot.content
            };
            target.get_or_insert_with(String::new).push_str(text);
        }
        if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
            slot.finish_reason = Some(finish_reason(
                reason,
                called.get(&index).copied().unwrap_or(false),
            ));
            finished.insert(index, true);
        }
    }
    if let Some(usage) = usage(raw.get("usageMetadata")) {
        expected.usage = Some(usage);
    }
}

/// A whole `generateContent` body.
pub(super) fn whole(raw: &Value) -> Expected {
    let mut expected = Expected::default();
    fold(
        raw,
        &mut expected,
        &mut BTreeMap::new(),
        &mut BTreeMap::new(),
        &mut BTreeMap::new(),
    );
    expected
}

/// A `streamGenerateContent?alt=sse` body.
pub(super) fn stream(body: &[u8]) -> Result<StreamOracle, String> {
    let mut expected = Expected::default();
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let raw: Value = serde_json::from_str(trimmed)
            .map_err(|e| format!("oracle: plain JSON stream body is not JSON ({e})"))?;
        let raw = match raw {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            other => other,
        };
        return Ok(StreamOracle {
            expected,
            ending: Ending::Error(raw),
        });
    }
    let (mut calls, mut called, mut finished) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for (_, data) in sse_events(body) {
        if data.trim().is_empty() {
            continue;
        }
        let raw: Value = serde_json::from_str(&data)
            .map_err(|e| format!("oracle: a data line is not JSON ({e}): {data}"))?;
        if raw.get("error").is_some_and(|e| !e.is_null()) {
            return Ok(StreamOracle {
                expected,
                ending: Ending::Error(raw),
            });
        }
        fold(&raw, &mut expected, &mut calls, &mut called, &mut finished);
        if !finished.is_empty() && finished.values().all(|done| *done) {
            return Ok(StreamOracle {
                expected,
                ending: Ending::Complete,
            });
        }
    }
    Ok(StreamOracle {
        expected,
        ending: Ending::Truncated,
    })
}

/// A `batchEmbedContents` body: the vectors, in order.
pub(super) fn embeddings(raw: &Value) -> Option<Vec<Vec<f64>>> {
    raw.get("embeddings")?
        .as_array()?
        .iter()
        .map(|embedding| {
            embedding
                .get("values")?
                .as_array()?
                .iter()
                .map(Value::as_f64)
                .collect()
        })
        .collect()
}
