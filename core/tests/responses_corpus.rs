//! Conformance of the Responses API types, decoder and accumulator with every Responses
//! recording of the shared corpus (`replay/manifest.jsonl`, endpoint `responses`).
//!
//! The corpus lives outside the repository (`../../shared/corpus` from this crate, or
//! `$ONELLM_CORPUS`); when it is absent the tests say so and pass. Expectations come from
//! each recording's own JSON, read as `serde_json::Value`, never from numbers written here.

use std::path::PathBuf;

use bytes::Bytes;
use onellm_core::{
    ErrorKind, ModelId, Provider, Registry, Response, ResponseAccumulator, ResponseStreamEvent,
    ResponsesRequest, ResponsesStreamDecoder,
};
use serde::Deserialize;
use serde_json::Value;

/// One line of `replay/manifest.jsonl`.
#[derive(Debug, Deserialize)]
struct Recording {
    file: String,
    endpoint: String,
    stream: bool,
    status: u16,
}

/// The Responses recordings and their bodies, or `None` (after saying so) without a corpus.
fn responses_recordings() -> Option<Vec<(Recording, Vec<u8>)>> {
    let root = std::env::var_os("ONELLM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"))
        });
    let manifest = root.join("replay/manifest.jsonl");
    let Ok(lines) = std::fs::read_to_string(&manifest) else {
        println!("corpus not found at {}; skipping", manifest.display());
        return None;
    };
    let mut found = Vec::new();
    for line in lines.lines().filter(|line| !line.trim().is_empty()) {
        let recording: Recording = serde_json::from_str(line).unwrap();
        if recording.endpoint != "responses" {
            continue;
        }
        let body = std::fs::read(root.join("replay").join(&recording.file)).unwrap();
        found.push((recording, body));
    }
    assert!(!found.is_empty(), "the corpus has no Responses recordings");
    Some(found)
}

/// The `data` of every SSE event of a recorded body, parsed as JSON.
fn raw_events(body: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(body);
    text.split("\n\n")
        .flat_map(|block| block.lines())
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|data| serde_json::from_str(data.trim()).unwrap())
        .collect()
}

/// The text of every `output_text` part of every message in a raw response.
fn raw_output_text(response: &Value) -> String {
    let mut text = String::new();
    for item in response["output"].as_array().into_iter().flatten() {
        if item["type"] == "message" {
            for part in item["content"].as_array().into_iter().flatten() {
                if part["type"] == "output_text" {
                    text.push_str(part["text"].as_str().unwrap_or_default());
                }
            }
        }
    }
    text
}

/// `(call_id, name, arguments)` of every function call in a raw response.
fn raw_function_calls(response: &Value) -> Vec<(String, String, String)> {
    response["output"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["type"] == "function_call")
        .map(|item| {
            let text = |key: &str| item[key].as_str().unwrap_or_default().to_owned();
            (text("call_id"), text("name"), text("arguments"))
        })
        .collect()
}

/// Checks a parsed response against the raw JSON it came from.
fn check_response(file: &str, parsed: &Response, raw: &Value) {
    assert_eq!(parsed.id, raw["id"].as_str().unwrap_or_default(), "{file}");
    assert_eq!(parsed.output_text(), raw_output_text(raw), "{file}");
    let calls: Vec<(String, String, String)> = parsed
        .function_calls()
        .map(|call| {
            (
                call.call_id.clone(),
                call.name.clone(),
                call.arguments.clone(),
            )
        })
        .collect();
    assert_eq!(calls, raw_function_calls(raw), "{file}");
    assert_eq!(
        parsed.status.as_ref().map(|s| s.as_str().to_owned()),
        raw["status"].as_str().map(str::to_owned),
        "{file}"
    );
    assert_eq!(
        parsed.output.len(),
        raw["output"].as_array().map_or(0, Vec::len),
        "{file}"
    );
    match parsed.usage.as_ref() {
        Some(usage) => {
            assert_eq!(
                usage.input_tokens,
                raw["usage"]["input_tokens"].as_u64().unwrap(),
                "{file}"
            );
            assert_eq!(
                usage.output_tokens,
                raw["usage"]["output_tokens"].as_u64().unwrap(),
                "{file}"
            );
            assert_eq!(
                usage.total_tokens,
                raw["usage"]["total_tokens"].as_u64().unwrap(),
                "{file}"
            );
            let chat = usage.to_chat_usage();
            assert_eq!(chat.prompt_tokens, usage.input_tokens);
            assert_eq!(
                chat.reasoning_tokens(),
                raw["usage"]["output_tokens_details"]["reasoning_tokens"]
                    .as_u64()
                    .unwrap_or(0),
                "{file}"
            );
        }
        None => assert!(raw["usage"].is_null(), "{file}"),
    }
    // Serialized back, it reads as the same value, and every field the server sent is there
    // with the value it had (nulls of modelled optional fields aside).
    let back = serde_json::to_value(parsed).unwrap();
    let again: Response = serde_json::from_value(back.clone()).unwrap();
    assert_eq!(&again, parsed, "{file}");
    for (key, value) in raw.as_object().unwrap() {
        if !value.is_null() {
            assert_eq!(back.get(key), Some(value), "{file}: {key}");
        }
    }
}

#[test]
fn whole_bodies_parse_as_responses_and_keep_every_field() {
    let Some(recordings) = responses_recordings() else {
        return;
    };
    let mut checked = 0;
    for (recording, body) in &recordings {
        if recording.stream || !(200..300).contains(&recording.status) {
            continue;
        }
        let raw: Value = serde_json::from_slice(body).unwrap();
        let parsed: Response = serde_json::from_slice(body).unwrap();
        check_response(&recording.file, &parsed, &raw);
        checked += 1;
    }
    assert!(checked > 0);
    println!("{checked} whole Responses bodies checked");
}

#[test]
fn every_streamed_event_parses_and_serializes_back_as_sent() {
    let Some(recordings) = responses_recordings() else {
        return;
    };
    let mut events = 0;
    for (recording, body) in recordings.iter().filter(|(r, _)| r.stream) {
        for raw in raw_events(body) {
            let event: ResponseStreamEvent = serde_json::from_value(raw.clone())
                .unwrap_or_else(|e| panic!("{}: {e}: {raw}", recording.file));
            assert_eq!(event.kind(), raw["type"].as_str().unwrap());
            assert_eq!(event.sequence_number(), raw["sequence_number"].as_u64());
            let back = serde_json::to_value(&event).unwrap();
            let again: ResponseStreamEvent = serde_json::from_value(back.clone()).unwrap();
            assert_eq!(again, event, "{}", recording.file);
            for (key, value) in raw.as_object().unwrap() {
                if !value.is_null() {
                    assert_eq!(
                        back.get(key).map(strip_nulls),
                        Some(strip_nulls(value)),
                        "{}: {key}",
                        recording.file
                    );
                }
            }
            events += 1;
        }
    }
    println!("{events} events checked");
}

/// The value with every `null` object member removed, at any depth: the one way a typed value
/// serialized back may differ from the wire (an optional modelled field sent as `null`).
fn strip_nulls(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

#[test]
fn accumulated_events_equal_the_terminal_events_response() {
    let Some(recordings) = responses_recordings() else {
        return;
    };
    let mut streams = 0;
    for (recording, body) in recordings.iter().filter(|(r, _)| r.stream) {
        let events: Vec<ResponseStreamEvent> = raw_events(body)
            .into_iter()
            .map(|raw| serde_json::from_value(raw).unwrap())
            .collect();
        let Some(terminal) = events.iter().rev().find_map(|event| {
            matches!(
                event,
                ResponseStreamEvent::Completed(_)
                    | ResponseStreamEvent::Incomplete(_)
                    | ResponseStreamEvent::Failed(_)
            )
            .then(|| event.response().cloned())
            .flatten()
        }) else {
            println!("{}: no terminal event; skipped", recording.file);
            continue;
        };
        // Built from the deltas alone (every event before the terminal one), the output is
        // the terminal event's.
        let mut partial = ResponseAccumulator::new();
        for event in events.iter().filter(|event| event.response().is_none()) {
            partial.push(event);
        }
        let built = partial.response().expect("events before the terminal one");
        assert!(
            without_encryption(&built.output) == without_encryption(&terminal.output),
            "{}: built from deltas, the output differs from the terminal event's",
            recording.file
        );
        // All events: exactly the terminal response.
        let mut whole = ResponseAccumulator::new();
        for event in &events {
            whole.push(event);
        }
        assert!(whole.is_terminal());
        assert_eq!(
            whole.response().as_ref(),
            Some(&terminal),
            "{}",
            recording.file
        );
        streams += 1;
    }
    assert!(streams > 0);
    println!("{streams} streams accumulated");
}

/// Output items with each reasoning item's `encrypted_content` replaced by a marker: OpenAI
/// encrypts the same reasoning afresh for the terminal event, so that field is the one
/// documented difference between an item's `output_item.done` and the terminal response.
fn without_encryption(output: &[onellm_core::OutputItem]) -> Vec<onellm_core::OutputItem> {
    output
        .iter()
        .cloned()
        .map(|mut item| {
            if let onellm_core::OutputItem::Reasoning(reasoning) = &mut item {
                if reasoning.encrypted_content.is_some() {
                    reasoning.encrypted_content = Some("<encrypted>".to_owned());
                }
            }
            item
        })
        .collect()
}

/// The provider registered for `provider`, with placeholder keys and an Azure endpoint.
fn provider(provider: &str) -> std::sync::Arc<dyn Provider> {
    let registry = Registry::from_lookup(|name| match name {
        "AZURE_OPENAI_ENDPOINT" => Some("https://res.openai.azure.com".to_owned()),
        _ => name
            .ends_with("_API_KEY")
            .then(|| "sk-test-key-0123456789".to_owned()),
    });
    registry
        .resolve(&ModelId::parse(&format!("{provider}/m")).unwrap())
        .unwrap()
}

/// Feeds `body` in pieces of `split` bytes, draining after each and after the end.
fn decode_in_pieces(
    mut decoder: Box<dyn ResponsesStreamDecoder>,
    body: &[u8],
    split: usize,
) -> (Vec<Result<ResponseStreamEvent, onellm_core::Error>>, bool) {
    let mut items = Vec::new();
    for piece in body.chunks(split.max(1)) {
        decoder.push(piece);
        items.extend(std::iter::from_fn(|| decoder.next_event()));
    }
    decoder.finish();
    items.extend(std::iter::from_fn(|| decoder.next_event()));
    (items, decoder.is_complete())
}

#[test]
fn openai_adapter_decodes_every_recording_in_any_split() {
    let Some(recordings) = responses_recordings() else {
        return;
    };
    let openai = provider("openai");
    for (recording, body) in &recordings {
        let mut response = http::Response::new(Bytes::from(body.clone()));
        *response.status_mut() = http::StatusCode::from_u16(recording.status).unwrap();
        if !recording.stream {
            let raw: Value = serde_json::from_slice(body).unwrap();
            match openai.parse_responses(&response) {
                Ok(parsed) => check_response(&recording.file, &parsed, &raw),
                Err(error) => {
                    assert!(recording.status >= 400, "{}: {error}", recording.file);
                    assert_eq!(error.status(), Some(recording.status), "{}", recording.file);
                    let code = raw["error"]["code"]
                        .as_str()
                        .or(raw["error"]["type"].as_str());
                    let expected = code.and_then(ErrorKind::from_error_code);
                    if let Some(expected) = expected {
                        assert_eq!(error.kind(), expected, "{}", recording.file);
                    }
                    assert_ne!(error.kind(), ErrorKind::Decode, "{}", recording.file);
                }
            }
            continue;
        }
        let raw_events = raw_events(body);
        let terminal = raw_events.iter().rev().find(|event| {
            matches!(
                event["type"].as_str(),
                Some("response.completed" | "response.incomplete")
            )
        });
        let (reference, _) =
            decode_in_pieces(openai.responses_stream_decoder("m"), body, body.len());
        for split in [1, 7, 64, 512] {
            let (items, complete) =
                decode_in_pieces(openai.responses_stream_decoder("m"), body, split);
            assert_eq!(
                complete,
                terminal.is_some(),
                "{} split {split}",
                recording.file
            );
            assert_eq!(
                format!("{items:?}"),
                format!("{reference:?}"),
                "{} split {split}",
                recording.file
            );
        }
        let events: Vec<&ResponseStreamEvent> =
            reference.iter().filter_map(|i| i.as_ref().ok()).collect();
        assert_eq!(
            events.len(),
            raw_events.len(),
            "{}: every event delivered",
            recording.file
        );
        match terminal {
            Some(terminal) => {
                assert!(reference.iter().all(Result::is_ok), "{}", recording.file);
                let mut accumulator = ResponseAccumulator::new();
                for event in &events {
                    accumulator.push(event);
                }
                check_response(
                    &recording.file,
                    &accumulator.response().unwrap(),
                    &terminal["response"],
                );
            }
            None => {
                let error = reference.last().unwrap().as_ref().unwrap_err();
                assert_eq!(error.kind(), ErrorKind::Truncated, "{}", recording.file);
                println!("{}: no terminal event, Truncated", recording.file);
            }
        }
    }
}

#[test]
fn native_requests_go_to_each_servers_responses_address() {
    let request: ResponsesRequest = serde_json::from_value(serde_json::json!({
        "model": "openai/gpt-4.1", "input": "hi", "instructions": "be brief",
        "tools": [{"type": "web_search"}], "fallback_models": ["xai/grok-4"], "retries": 2,
        "timeout": 3.0, "background": false
    }))
    .unwrap();
    for (name, url, model) in [
        ("openai", "https://api.openai.com/v1/responses", "gpt-4.1"),
        ("xai", "https://api.x.ai/v1/responses", "gpt-4.1"),
        (
            "azure",
            "https://res.openai.azure.com/openai/v1/responses",
            "gpt-4.1",
        ),
    ] {
        for stream in [false, true] {
            let built = provider(name)
                .build_responses("gpt-4.1", &request, stream)
                .unwrap();
            assert_eq!(built.uri().to_string(), url);
            let body: Value = serde_json::from_slice(built.body()).unwrap();
            assert_eq!(body["model"], model);
            assert_eq!(body["input"], "hi");
            assert_eq!(
                body["tools"][0]["type"], "web_search",
                "built-in tools forwarded"
            );
            assert_eq!(body["background"], false, "unknown fields forwarded");
            assert_eq!(
                body.get("stream").cloned(),
                stream.then_some(Value::Bool(true))
            );
            for onellm in ["fallback_models", "retries", "timeout"] {
                assert!(body.get(onellm).is_none(), "{name}: {onellm} sent");
            }
            let accept = built.headers()["accept"].to_str().unwrap();
            assert_eq!(
                accept,
                if stream {
                    "text/event-stream"
                } else {
                    "application/json"
                }
            );
        }
    }
}
