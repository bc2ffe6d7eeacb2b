//! Server-side tools and multi-round streams through the adapters, on the recordings of the
//! shared corpus (`../shared/corpus`, or `$ONELLM_CORPUS`; skipped, saying so, when absent):
//! Anthropic's code execution, MCP, text editor, web fetch, tool search and advisor streams
//! and two whole replies with web search / web fetch; Gemini's code-execution stream; Bedrock's
//! Nova code-interpreter stream; and a multi-round Gemini stream through the call machine.
//!
//! What each recording should give is read from its own bytes here, independently of the
//! adapters: every server tool call with its input and result in `server_tool_calls` (none
//! dropped, none in `tool_calls`), and the text around them intact. For every recorded Gemini
//! stream, the whole reply assembled from its events (all parts in order, the last finish
//! reason and usage) parses to what the folded stream gives: both paths agree.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use onellm_core::framing::EventStreamDecoder;
use onellm_core::{ChatCompletion, ChunkAccumulator, ModelId, Provider, Registry, ServerToolCall};
use serde_json::{json, Value};

fn corpus() -> Option<PathBuf> {
    let root = std::env::var_os("ONELLM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"))
        });
    root.join("replay/manifest.jsonl").is_file().then_some(root)
}

fn provider(name: &str) -> std::sync::Arc<dyn Provider> {
    let registry = Registry::from_lookup(|var| {
        (var.ends_with("_API_KEY") || var.starts_with("AWS_")).then(|| "dummy-key".to_owned())
    });
    let id = ModelId::parse(&format!("{name}/replay")).unwrap();
    registry.resolve(&id).unwrap()
}

/// The manifest's 200 chat recordings of `provider` whose body contains `needle`.
fn recordings(root: &Path, provider: &str, stream: bool, needle: &str) -> Vec<(String, Vec<u8>)> {
    let manifest = std::fs::read_to_string(root.join("replay/manifest.jsonl")).unwrap();
    manifest
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| {
            entry["provider"] == provider
                && entry["endpoint"] == "chat"
                && entry["stream"] == stream
                && entry["status"] == 200
        })
        .filter_map(|entry| {
            let file = entry["file"].as_str()?.to_owned();
            let body = std::fs::read(root.join("replay").join(&file)).ok()?;
            let text = String::from_utf8_lossy(&body);
            text.contains(needle).then_some((file, body))
        })
        .collect()
}

/// Decodes a whole body in three irregular pieces and folds it; panics on an error item or
/// an incomplete stream.
fn stream(provider: &dyn Provider, body: &[u8]) -> ChatCompletion {
    let mut decoder = provider.chat_stream_decoder("replay");
    let mut accumulator = ChunkAccumulator::new();
    let (a, rest) = body.split_at(body.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    for piece in [a, b, c] {
        decoder.push(piece);
        while let Some(item) = decoder.next_chunk() {
            accumulator.push(&item.unwrap_or_else(|e| panic!("decode error: {e}")));
        }
    }
    decoder.finish();
    while let Some(item) = decoder.next_chunk() {
        accumulator.push(&item.unwrap_or_else(|e| panic!("decode error: {e}")));
    }
    assert!(decoder.is_complete(), "stream did not complete");
    accumulator.into_completion()
}

fn whole(provider: &dyn Provider, body: &[u8]) -> ChatCompletion {
    let response = http::Response::builder()
        .status(200)
        .body(Bytes::copy_from_slice(body))
        .unwrap();
    provider
        .parse_chat(&response)
        .unwrap_or_else(|e| panic!("parse error: {e}"))
}

/// (id, name, input, output) of each entry, for comparing with an oracle.
type Entry = (Option<String>, String, Option<Value>, Option<Value>);

fn entries(completion: &ChatCompletion) -> Vec<Entry> {
    let message = &completion.choices[0].message;
    message
        .server_tool_calls
        .iter()
        .flatten()
        .map(|call: &ServerToolCall| {
            (
                call.id.clone(),
                call.name.clone(),
                call.input.clone(),
                call.output.clone(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Anthropic

/// Joins Anthropic calls (`server_tool_use`, `mcp_tool_use`) and `*_tool_result` blocks by
/// id, in call order.
fn anthropic_join(
    calls: Vec<(String, String, Value)>,
    results: Vec<(String, Value)>,
) -> Vec<Entry> {
    let mut entries: Vec<Entry> = calls
        .into_iter()
        .map(|(id, name, input)| (Some(id), name, Some(input), None))
        .collect();
    for (id, block) in results {
        let entry = entries
            .iter_mut()
            .find(|entry| entry.0.as_deref() == Some(id.as_str()))
            .unwrap_or_else(|| panic!("a result for no call: {id}"));
        entry.3 = Some(block);
    }
    entries
}

fn is_anthropic_call(block: &Value) -> bool {
    matches!(
        block["type"].as_str(),
        Some("server_tool_use" | "mcp_tool_use")
    )
}

fn is_anthropic_result(block: &Value) -> bool {
    block["type"]
        .as_str()
        .is_some_and(|kind| kind.ends_with("_tool_result"))
}

/// What an Anthropic SSE body says: its text and its server tool calls.
fn anthropic_stream_oracle(body: &[u8]) -> (String, Vec<Entry>) {
    let text = String::from_utf8(body.to_vec()).unwrap();
    let mut out = String::new();
    // (block index, id, name, start input, input text)
    let mut calls: Vec<(u64, String, String, Value, String)> = Vec::new();
    let mut results = Vec::new();
    for line in text.lines() {
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let Ok(event) = serde_json::from_str::<Value>(data.trim()) else {
            continue;
        };
        let index = event["index"].as_u64().unwrap_or(u64::MAX);
        match event["type"].as_str() {
            Some("content_block_start") => {
                let block = &event["content_block"];
                if is_anthropic_call(block) {
                    calls.push((
                        index,
                        block["id"].as_str().unwrap().to_owned(),
                        block["name"].as_str().unwrap().to_owned(),
                        block["input"].clone(),
                        String::new(),
                    ));
                } else if is_anthropic_result(block) {
                    results.push((
                        block["tool_use_id"].as_str().unwrap().to_owned(),
                        block.clone(),
                    ));
                }
            }
            Some("content_block_delta") => match event["delta"]["type"].as_str() {
                Some("text_delta") => out.push_str(event["delta"]["text"].as_str().unwrap()),
                Some("input_json_delta") => {
                    if let Some(call) = calls.iter_mut().find(|call| call.0 == index) {
                        call.4
                            .push_str(event["delta"]["partial_json"].as_str().unwrap());
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    let calls = calls
        .into_iter()
        .map(|(_, id, name, start, input)| {
            let input = if input.trim().is_empty() {
                start
            } else {
                serde_json::from_str(&input).unwrap()
            };
            (id, name, input)
        })
        .collect();
    (out, anthropic_join(calls, results))
}

fn anthropic_whole_oracle(message: &Value) -> (String, Vec<Entry>) {
    let mut text = String::new();
    let mut calls = Vec::new();
    let mut results = Vec::new();
    for block in message["content"].as_array().unwrap() {
        if block["type"] == "text" {
            text.push_str(block["text"].as_str().unwrap());
        } else if is_anthropic_call(block) {
            calls.push((
                block["id"].as_str().unwrap().to_owned(),
                block["name"].as_str().unwrap().to_owned(),
                block["input"].clone(),
            ));
        } else if is_anthropic_result(block) {
            results.push((
                block["tool_use_id"].as_str().unwrap().to_owned(),
                block.clone(),
            ));
        }
    }
    (text, anthropic_join(calls, results))
}

#[test]
fn anthropic_server_tool_streams_surface_every_call() {
    let Some(root) = corpus() else {
        println!("corpus not found (set ONELLM_CORPUS); skipping");
        return;
    };
    let anthropic = provider("anthropic");
    let found = recordings(&root, "anthropic", true, "_tool_result");
    for (file, body) in &found {
        let completion = stream(anthropic.as_ref(), body);
        let (text, want) = anthropic_stream_oracle(body);
        assert!(!want.is_empty(), "{file}");
        assert_eq!(
            completion.text(),
            text,
            "{file}: text around the tools intact"
        );
        assert_eq!(entries(&completion), want, "{file}");
        let message = &completion.choices[0].message;
        for call in message.tool_calls.iter().flatten() {
            assert!(
                !want
                    .iter()
                    .any(|entry| entry.0.as_deref() == Some(call.id.as_str())),
                "{file}: a server tool call in tool_calls"
            );
        }
    }
    println!("anthropic server-tool streams checked: {}", found.len());
    assert!(
        found.len() >= 5,
        "the corpus lists {} such streams",
        found.len()
    );
}

#[test]
fn anthropic_whole_replies_with_server_tools() {
    let Some(root) = corpus() else {
        println!("corpus not found (set ONELLM_CORPUS); skipping");
        return;
    };
    let anthropic = provider("anthropic");
    let snapshot = root.join("anthropic/anthropic-sdk-python/inline_snapshot/test_runners/TestSyncRunTools/32da0815-2270-4d29-87be-3b5b63ab42e2.json");
    let fetch = root.join("anthropic/vercel-ai/anthropic/anthropic-web-fetch-tool.error.json");
    let mut bodies = Vec::new();
    if let Ok(text) = std::fs::read_to_string(&snapshot) {
        let exchanges: Value = serde_json::from_str(&text).unwrap();
        for exchange in exchanges.as_array().unwrap() {
            let body = &exchange["response"]["body"];
            if body["content"]
                .as_array()
                .is_some_and(|blocks| blocks.iter().any(is_anthropic_call))
            {
                bodies.push(body.clone());
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string(&fetch) {
        bodies.push(serde_json::from_str(&text).unwrap());
    }
    for body in &bodies {
        let completion = whole(anthropic.as_ref(), body.to_string().as_bytes());
        let (text, want) = anthropic_whole_oracle(body);
        assert!(!want.is_empty());
        assert_eq!(completion.text(), text);
        assert_eq!(entries(&completion), want);
        let names: Vec<&str> = want.iter().map(|entry| entry.1.as_str()).collect();
        println!("anthropic whole reply with {names:?}");
    }
    assert!(bodies.len() >= 2, "found {} whole replies", bodies.len());
}

// ---------------------------------------------------------------------------------------------
// Gemini

/// Every `data:` event of a Gemini SSE body.
fn gemini_events(body: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(body)
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str(data.trim()).ok())
        .collect()
}

/// The whole `generateContent` reply a stream's events add up to: each candidate's parts in
/// order, its last finish reason, and the last usage.
fn gemini_whole_of(events: &[Value]) -> Value {
    let mut candidates: Vec<Value> = Vec::new();
    let mut top = serde_json::Map::new();
    for event in events {
        for (position, candidate) in event["candidates"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let index = candidate["index"].as_u64().unwrap_or(position as u64);
            let slot = match candidates.iter_mut().find(|c| c["index"] == index) {
                Some(slot) => slot,
                None => {
                    candidates
                        .push(json!({"index": index, "content": {"role": "model", "parts": []}}));
                    candidates.last_mut().unwrap()
                }
            };
            for part in candidate["content"]["parts"]
                .as_array()
                .into_iter()
                .flatten()
            {
                slot["content"]["parts"]
                    .as_array_mut()
                    .unwrap()
                    .push(part.clone());
            }
            if let Some(reason) = candidate.get("finishReason") {
                slot["finishReason"] = reason.clone();
            }
        }
        for key in ["usageMetadata", "modelVersion", "responseId"] {
            if let Some(value) = event.get(key) {
                top.insert(key.to_owned(), value.clone());
            }
        }
    }
    top.insert("candidates".to_owned(), Value::Array(candidates));
    Value::Object(top)
}

#[test]
fn gemini_streams_fold_like_the_whole_reply_they_add_up_to() {
    let Some(root) = corpus() else {
        println!("corpus not found (set ONELLM_CORPUS); skipping");
        return;
    };
    let gemini = provider("google");
    let found = recordings(&root, "google", true, "candidates");
    let mut code = 0;
    for (file, body) in &found {
        let events = gemini_events(body);
        let streamed = stream(gemini.as_ref(), body);
        let whole = whole(
            gemini.as_ref(),
            gemini_whole_of(&events).to_string().as_bytes(),
        );
        assert_eq!(streamed.choices, whole.choices, "{file}");
        assert_eq!(streamed.usage, whole.usage, "{file}");
        // Code execution: each executableCode and codeExecutionResult, in order, joined.
        let parts: Vec<&Value> = events
            .iter()
            .flat_map(|event| {
                event["candidates"][0]["content"]["parts"]
                    .as_array()
                    .into_iter()
                    .flatten()
            })
            .collect();
        let mut want: Vec<Entry> = Vec::new();
        for part in &parts {
            if let Some(call) = part.get("executableCode") {
                want.push((
                    call["id"].as_str().map(str::to_owned),
                    "code_execution".into(),
                    Some(call.clone()),
                    None,
                ));
            } else if let Some(result) = part.get("codeExecutionResult") {
                want.last_mut().unwrap().3 = Some(result.clone());
            }
        }
        assert_eq!(entries(&streamed), want, "{file}");
        let text: String = parts
            .iter()
            .filter(|part| part["thought"] != true)
            .filter_map(|part| part["text"].as_str())
            .collect();
        assert_eq!(streamed.text(), text, "{file}");
        code += usize::from(!want.is_empty());
    }
    println!(
        "gemini streams checked: {} ({code} with code execution)",
        found.len()
    );
    assert!(code >= 1, "no code-execution stream in the corpus");
}

// ---------------------------------------------------------------------------------------------
// Bedrock

#[test]
fn bedrock_nova_code_interpreter_stream() {
    let Some(root) = corpus() else {
        println!("corpus not found (set ONELLM_CORPUS); skipping");
        return;
    };
    let bedrock = provider("bedrock");
    let found = recordings(&root, "bedrock", true, "nova_code_interpreter");
    for (file, body) in &found {
        // The oracle: the events' JSON payloads, read with the framing decoder alone.
        let mut framing = EventStreamDecoder::new();
        framing.push(body).unwrap();
        let mut want: Vec<Entry> = Vec::new();
        let mut text = String::new();
        let mut inputs: Vec<(u64, String)> = Vec::new();
        while let Some(message) = framing.next_message() {
            let event: Value = serde_json::from_slice(&message.payload).unwrap();
            let index = event["contentBlockIndex"].as_u64().unwrap_or(u64::MAX);
            match message.event_type() {
                Some("contentBlockStart") => {
                    let start = &event["start"];
                    if start["toolUse"]["type"] == "server_tool_use" {
                        let tool = &start["toolUse"];
                        want.push((
                            tool["toolUseId"].as_str().map(str::to_owned),
                            tool["name"].as_str().unwrap().to_owned(),
                            None,
                            None,
                        ));
                        inputs.push((index, String::new()));
                    } else if let Some(result) = start.get("toolResult") {
                        let entry = want
                            .iter_mut()
                            .find(|e| e.0.as_deref() == result["toolUseId"].as_str())
                            .unwrap();
                        let mut result = result.clone();
                        result["content"] = json!([]);
                        entry.3 = Some(result);
                    }
                }
                Some("contentBlockDelta") => {
                    let delta = &event["delta"];
                    if let Some(piece) = delta["text"].as_str() {
                        text.push_str(piece);
                    } else if let Some(input) = delta["toolUse"]["input"].as_str() {
                        if let Some(slot) = inputs.iter_mut().find(|slot| slot.0 == index) {
                            slot.1.push_str(input);
                        }
                    } else if let Some(items) = delta["toolResult"].as_array() {
                        let entry = want.iter_mut().rev().find(|e| e.3.is_some()).unwrap();
                        let content = entry.3.as_mut().unwrap()["content"].as_array_mut().unwrap();
                        content.extend(items.iter().cloned());
                    }
                }
                _ => {}
            }
        }
        for (entry, (_, input)) in want.iter_mut().zip(&inputs) {
            entry.2 = Some(serde_json::from_str(input).unwrap());
        }
        let completion = stream(bedrock.as_ref(), body);
        assert!(!want.is_empty(), "{file}");
        assert_eq!(entries(&completion), want, "{file}");
        assert_eq!(completion.text(), text, "{file}");
        let message = &completion.choices[0].message;
        assert!(
            message
                .tool_calls
                .iter()
                .flatten()
                .all(|call| call.function.name != "nova_code_interpreter"),
            "{file}: the server tool in tool_calls"
        );
        println!("{file}: {:?}", entries(&completion));
    }
    assert!(
        !found.is_empty(),
        "no Nova code-interpreter stream in the corpus"
    );
}

// ---------------------------------------------------------------------------------------------
// Through the call machine

/// A Gemini stream whose first round ends with `finishReason: STOP` while the next round
/// still brings the code's result and the answer: the call ends at the end of the body, not
/// at the first finish, and its completion holds every round.
#[test]
fn a_gemini_call_reads_every_round_before_it_is_done() {
    use onellm_core::call::{Action, Call, CallOptions, Output};
    let body = concat!(
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Let me compute.\"},{\"executableCode\": {\"language\": \"PYTHON\",\"code\": \"print(6*7)\"}}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 10,\"totalTokenCount\": 15},\"responseId\": \"r\"}\r\n\r\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"codeExecutionResult\": {\"outcome\": \"OUTCOME_OK\",\"output\": \"42\\n\"}}],\"role\": \"model\"},\"index\": 0}],\"responseId\": \"r\"}\r\n\r\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" It is 42.\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 30,\"totalTokenCount\": 50},\"responseId\": \"r\"}\r\n\r\n",
    );
    let mut registry = Registry::new();
    registry.set_api_key("google", "AIza-test");
    let mut request = onellm_core::ChatRequest::new("google/gemini-2.5-flash").user("6*7?");
    request.stream = Some(true);
    let now = std::time::Instant::now();
    let mut call = Call::new(&registry, request.into(), CallOptions::default(), 7, now);
    let Action::Send(outgoing) = call.poll(now) else {
        panic!("expected a request");
    };
    call.handle_head(
        outgoing.attempt,
        http::StatusCode::OK,
        http::HeaderMap::new(),
        now,
    );
    let first_round = body
        .find("data: {\"candidates\": [{\"content\": {\"parts\": [{\"codeExecutionResult")
        .unwrap();
    call.handle_body(outgoing.attempt, &body.as_bytes()[..first_round], now);
    assert!(
        !matches!(call.poll(now), Action::Done(_)),
        "done at the first finishReason"
    );
    call.handle_body(outgoing.attempt, &body.as_bytes()[first_round..], now);
    call.handle_eof(outgoing.attempt, now);
    let Action::Done(Output::Chat(completion)) = call.poll(now) else {
        panic!("expected the completion");
    };
    assert_eq!(completion.text(), "Let me compute. It is 42.");
    assert_eq!(completion.usage.as_ref().unwrap().total_tokens, 50);
    let calls = completion.choices[0]
        .message
        .server_tool_calls
        .as_ref()
        .unwrap();
    assert_eq!(calls[0].output.as_ref().unwrap()["output"], "42\n");
}

// ---------------------------------------------------------------------------------------------
// Damaged recordings

/// The recorded server-tool streams cut short and with a byte damaged, at many places: no
/// panic, at most one error and only as the last item (the fuzz targets' property, on the
/// shapes this file is about, in a form CI runs).
#[test]
fn damaged_server_tool_streams_fail_cleanly() {
    let Some(root) = corpus() else {
        println!("corpus not found (set ONELLM_CORPUS); skipping");
        return;
    };
    let mut cases = 0;
    for (family, needle) in [
        ("anthropic", "_tool_result"),
        ("google", "executableCode"),
        ("bedrock", "nova_code_interpreter"),
    ] {
        let provider = provider(family);
        for (file, body) in recordings(&root, family, true, needle) {
            let step = (body.len() / 150).max(1);
            for at in (0..body.len()).step_by(step) {
                let mut damaged = body.clone();
                damaged[at] ^= 0x20;
                for input in [&body[..at], &damaged[..]] {
                    let mut decoder = provider.chat_stream_decoder("replay");
                    decoder.push(input);
                    decoder.finish();
                    let items: Vec<_> = std::iter::from_fn(|| decoder.next_chunk()).collect();
                    let errors = items.iter().filter(|item| item.is_err()).count();
                    assert!(errors <= 1, "{file} at {at}");
                    if errors == 1 {
                        assert!(items.last().unwrap().is_err(), "{file} at {at}");
                        assert!(!decoder.is_complete(), "{file} at {at}");
                    }
                    let mut accumulator = ChunkAccumulator::new();
                    for chunk in items.iter().flatten() {
                        accumulator.push(chunk);
                    }
                    let _ = accumulator.completion();
                    cases += 1;
                }
            }
        }
    }
    println!("damaged server-tool streams decoded: {cases}");
}
