//! The Bedrock Converse oracle: what a recorded Converse body or ConverseStream event stream
//! says, read with `serde_json::Value` and a deliberately plain reading of the event stream
//! framing (the adapter uses the crate's decoder; this one must not share its code, and
//! trusts the recordings' CRCs, which INDEX.md says are valid).

use super::*;

/// Converse's `stopReason` in OpenAI's words.
fn finish_reason(stop: &str) -> String {
    match stop {
        "end_turn" | "stop_sequence" => "stop",
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "guardrail_intervened" | "content_filtered" => "content_filter",
        other => other,
    }
    .to_owned()
}

/// Prompt tokens include the cache reads and writes `inputTokens` leaves out.
fn usage(raw: &Value) -> ExpectedUsage {
    let field = |name: &str| number(raw.get(name)).unwrap_or(0);
    let prompt =
        field("inputTokens") + field("cacheReadInputTokens") + field("cacheWriteInputTokens");
    let completion = field("outputTokens");
    ExpectedUsage {
        prompt,
        completion,
        total: prompt + completion,
        cached: number(raw.get("cacheReadInputTokens")),
        reasoning: None,
    }
}

/// A `toolUse` Bedrock ran itself (`"type": "server_tool_use"`) is not a call for the client.
fn server_tool(tool: &Value) -> bool {
    tool.get("type")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind != "tool_use")
}

/// A whole Converse body.
pub(super) fn whole(raw: &Value) -> Expected {
    let mut choice = ExpectedChoice::default();
    for block in raw
        .pointer("/output/message/content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if block.get("text").is_some() {
            append(&mut choice.content, block.get("text"));
        } else if let Some(reasoning) = block.pointer("/reasoningContent/reasoningText") {
            append(&mut choice.reasoning, reasoning.get("text"));
        } else if let Some(tool) = block.get("toolUse").filter(|tool| !server_tool(tool)) {
            choice.tool_calls.push(ExpectedCall {
                id: text_of(tool.get("toolUseId")).unwrap_or_default(),
                name: text_of(tool.get("name")).unwrap_or_default(),
                arguments: tool.get("input").map(Value::to_string).unwrap_or_default(),
            });
        }
    }
    choice.finish_reason = raw
        .get("stopReason")
        .and_then(Value::as_str)
        .map(finish_reason);
    Expected {
        choices: BTreeMap::from([(0, choice)]),
        usage: raw.get("usage").map(usage),
        null_is_empty: true,
    }
}

/// One event stream message: its string headers and its payload.
type RawMessage = (BTreeMap<String, String>, Vec<u8>);

/// The messages of a body, and whether it ends inside one.
fn messages(body: &[u8]) -> (Vec<RawMessage>, bool) {
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let mut out = Vec::new();
    let mut at = 0;
    while at < body.len() {
        if body.len() - at < 12 || body.len() - at < be32(&body[at..]) {
            return (out, true);
        }
        let total = be32(&body[at..]);
        let headers_len = be32(&body[at + 4..]);
        let headers = &body[at + 12..at + 12 + headers_len];
        let payload = body[at + 12 + headers_len..at + total - 4].to_vec();
        let mut map = BTreeMap::new();
        let mut h = 0;
        while h < headers.len() {
            let name_len = headers[h] as usize;
            let name = String::from_utf8_lossy(&headers[h + 1..h + 1 + name_len]).into_owned();
            h += 1 + name_len;
            let kind = headers[h];
            h += 1;
            let size = match kind {
                0 | 1 => 0,
                2 => 1,
                3 => 2,
                4 => 4,
                5 | 8 => 8,
                9 => 16,
                _ => 2 + u16::from_be_bytes([headers[h], headers[h + 1]]) as usize,
            };
            if kind == 7 {
                let value = String::from_utf8_lossy(&headers[h + 2..h + size]).into_owned();
                map.insert(name, value);
            }
            h += size;
        }
        out.push((map, payload));
        at += total;
    }
    (out, false)
}

/// A ConverseStream body: text, reasoning and tool-input deltas folded per block, the stop
/// reason from `messageStop`, usage from `metadata`; complete once `messageStop` was sent.
pub(super) fn stream(body: &[u8]) -> Result<StreamOracle, String> {
    let mut choice = ExpectedChoice::default();
    let mut usage_seen = None;
    // Block index -> position of its (client) tool call.
    let mut tools: BTreeMap<u64, usize> = BTreeMap::new();
    let mut stopped = false;
    let (messages, cut) = messages(body);
    for (headers, payload) in messages {
        let event: Value = serde_json::from_slice(&payload)
            .map_err(|e| format!("oracle: a payload is not JSON ({e})"))?;
        if headers.get(":message-type").map(String::as_str) != Some("event") {
            let mut error = event.clone();
            if let (Some(kind), Some(object)) =
                (headers.get(":exception-type"), error.as_object_mut())
            {
                object.insert("type".into(), kind.clone().into());
            }
            let expected = Expected {
                choices: BTreeMap::from([(0, choice)]),
                usage: usage_seen.as_ref().map(usage),
                null_is_empty: true,
            };
            return Ok(StreamOracle {
                expected,
                ending: Ending::Error(error),
            });
        }
        let index = number(event.get("contentBlockIndex")).unwrap_or(0);
        match headers.get(":event-type").map(String::as_str) {
            Some("contentBlockStart") => {
                if let Some(tool) = event.pointer("/start/toolUse").filter(|t| !server_tool(t)) {
                    choice.tool_calls.push(ExpectedCall {
                        id: text_of(tool.get("toolUseId")).unwrap_or_default(),
                        name: text_of(tool.get("name")).unwrap_or_default(),
                        arguments: String::new(),
                    });
                    tools.insert(index, choice.tool_calls.len() - 1);
                }
            }
            Some("contentBlockDelta") => {
                let delta = event.get("delta").unwrap_or(&Value::Null);
                if delta.get("text").is_some() {
                    append(&mut choice.content, delta.get("text"));
                } else if let Some(reasoning) = delta.get("reasoningContent") {
                    append(&mut choice.reasoning, reasoning.get("text"));
                } else if let (Some(input), Some(position)) = (
                    delta.pointer("/toolUse/input").and_then(Value::as_str),
                    tools.get(&index),
                ) {
                    choice.tool_calls[*position].arguments.push_str(input);
                }
            }
            Some("messageStop") => {
                stopped = true;
                choice.finish_reason = event
                    .get("stopReason")
                    .and_then(Value::as_str)
                    .map(finish_reason);
            }
            Some("metadata") => usage_seen = event.get("usage").cloned(),
            _ => {}
        }
    }
    // A call that streamed no input has the whole reply's empty input.
    for call in &mut choice.tool_calls {
        if call.arguments.is_empty() {
            call.arguments = "{}".to_owned();
        }
    }
    let expected = Expected {
        choices: BTreeMap::from([(0, choice)]),
        usage: usage_seen.as_ref().map(usage),
        null_is_empty: true,
    };
    let ending = if stopped && !cut {
        Ending::Complete
    } else {
        Ending::Truncated
    };
    Ok(StreamOracle { expected, ending })
}
