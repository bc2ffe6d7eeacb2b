//! Replays every recorded Anthropic chat response of the shared corpus
//! (`../shared/corpus/replay/manifest.jsonl`, or `$ONELLM_CORPUS`) through the adapter, and
//! checks what comes out against the recording read independently with `serde_json::Value`.
//! Skips, saying so, when the corpus is absent.

use std::path::PathBuf;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use onellm_core::provider::anthropic::Anthropic;
use onellm_core::{
    ChatCompletion, ChatCompletionChunk, ChunkAccumulator, ErrorKind, FinishReason, Provider,
    ProviderSettings,
};
use serde_json::Value;

fn corpus() -> Option<PathBuf> {
    let root = std::env::var_os("ONELLM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"))
        });
    root.join("replay/manifest.jsonl").is_file().then_some(root)
}

fn headers(entry: &Value) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in entry["headers"].as_object().into_iter().flatten() {
        if let (Ok(name), Some(Ok(value))) = (
            HeaderName::from_bytes(name.as_bytes()),
            value.as_str().map(HeaderValue::from_str),
        ) {
            map.insert(name, value);
        }
    }
    map
}

/// What a recording says, read without the adapter.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    text: String,
    /// (id, name, input)
    tool_calls: Vec<(String, String, Value)>,
    stop_reason: Option<String>,
    prompt_tokens: u64,
    completion_tokens: u64,
}

fn u(value: &Value) -> u64 {
    value.as_u64().unwrap_or(0)
}

fn prompt_tokens(usage: &Value) -> u64 {
    u(&usage["input_tokens"])
        + u(&usage["cache_read_input_tokens"])
        + u(&usage["cache_creation_input_tokens"])
}

fn expected_from_message(message: &Value) -> Expected {
    let mut expected = Expected::default();
    for block in message["content"].as_array().into_iter().flatten() {
        match block["type"].as_str() {
            Some("text") => expected.text.push_str(block["text"].as_str().unwrap_or("")),
            Some("tool_use") => expected.tool_calls.push((
                block["id"].as_str().unwrap_or("").to_owned(),
                block["name"].as_str().unwrap_or("").to_owned(),
                block["input"].clone(),
            )),
            _ => {}
        }
    }
    expected.stop_reason = message["stop_reason"].as_str().map(str::to_owned);
    expected.prompt_tokens = prompt_tokens(&message["usage"]);
    expected.completion_tokens = u(&message["usage"]["output_tokens"]);
    expected
}

fn expected_from_stream(body: &str) -> Expected {
    let mut expected = Expected::default();
    let mut usage = serde_json::Map::new();
    // Block index -> position in tool_calls, and the raw argument text.
    let mut tools: Vec<(u64, usize, String)> = Vec::new();
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let Ok(event) = serde_json::from_str::<Value>(data.trim()) else {
            continue;
        };
        match event["type"].as_str() {
            Some("message_start") => {
                for (k, v) in event["message"]["usage"].as_object().into_iter().flatten() {
                    usage.insert(k.clone(), v.clone());
                }
            }
            Some("content_block_start") if event["content_block"]["type"] == "tool_use" => {
                let block = &event["content_block"];
                tools.push((u(&event["index"]), expected.tool_calls.len(), String::new()));
                expected.tool_calls.push((
                    block["id"].as_str().unwrap_or("").to_owned(),
                    block["name"].as_str().unwrap_or("").to_owned(),
                    block["input"].clone(),
                ));
            }
            Some("content_block_delta") => {
                let delta = &event["delta"];
                match delta["type"].as_str() {
                    Some("text_delta") => {
                        expected.text.push_str(delta["text"].as_str().unwrap_or(""))
                    }
                    Some("input_json_delta") => {
                        if let Some(tool) = tools.iter_mut().find(|t| t.0 == u(&event["index"])) {
                            tool.2
                                .push_str(delta["partial_json"].as_str().unwrap_or(""));
                        }
                    }
                    _ => {}
                }
            }
            Some("message_delta") => {
                if let Some(reason) = event["delta"]["stop_reason"].as_str() {
                    expected.stop_reason = Some(reason.to_owned());
                }
                for (k, v) in event["usage"].as_object().into_iter().flatten() {
                    if !v.is_null() {
                        usage.insert(k.clone(), v.clone());
                    }
                }
            }
            _ => {}
        }
    }
    for (_, position, arguments) in tools {
        if !arguments.is_empty() {
            expected.tool_calls[position].2 = serde_json::from_str(&arguments).unwrap();
        }
    }
    let usage = Value::Object(usage);
    expected.prompt_tokens = prompt_tokens(&usage);
    expected.completion_tokens = u(&usage["output_tokens"]);
    expected
}

fn actual(completion: &ChatCompletion) -> (Expected, Option<FinishReason>) {
    let choice = &completion.choices[0];
    let usage = completion.usage.clone().unwrap_or_default();
    let tool_calls = choice
        .message
        .tool_calls
        .iter()
        .flatten()
        .map(|call| {
            (
                call.id.clone(),
                call.function.name.clone(),
                serde_json::from_str(&call.function.arguments).unwrap(),
            )
        })
        .collect();
    (
        Expected {
            text: choice.message.text(),
            tool_calls,
            stop_reason: None,
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
        },
        choice.finish_reason.clone(),
    )
}

fn check(file: &str, completion: &ChatCompletion, mut expected: Expected) {
    let (got, finish) = actual(completion);
    let want_finish = match expected.stop_reason.take().as_deref() {
        Some("end_turn" | "stop_sequence") => Some(FinishReason::Stop),
        Some("max_tokens") => Some(FinishReason::Length),
        Some("tool_use") => Some(FinishReason::ToolCalls),
        Some(other) => Some(FinishReason::Other(other.to_owned())),
        None => None,
    };
    assert_eq!(got, expected, "{file}");
    assert_eq!(finish, want_finish, "{file}");
    assert_eq!(
        completion.usage.as_ref().map(|u| u.total_tokens),
        Some(expected.prompt_tokens + expected.completion_tokens),
        "{file}"
    );
}

fn decode(provider: &Anthropic, pieces: &[&[u8]]) -> (Vec<ChatCompletionChunk>, bool) {
    let mut decoder = provider.chat_stream_decoder("m");
    let mut chunks = Vec::new();
    for piece in pieces {
        decoder.push(piece);
        while let Some(item) = decoder.next_chunk() {
            chunks.push(item.unwrap_or_else(|e| panic!("decode error: {e}")));
        }
    }
    decoder.finish();
    while let Some(item) = decoder.next_chunk() {
        chunks.push(item.unwrap_or_else(|e| panic!("decode error: {e}")));
    }
    (chunks, decoder.is_complete())
}

fn expected_error_kind(body: &Value, status: u16) -> ErrorKind {
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_ascii_lowercase();
    if message.contains("prompt is too long") {
        return ErrorKind::ContextWindowExceeded;
    }
    match (status, body["error"]["type"].as_str()) {
        (_, Some("authentication_error")) => ErrorKind::Authentication,
        (_, Some("permission_error")) => ErrorKind::PermissionDenied,
        (_, Some("not_found_error")) => ErrorKind::NotFound,
        (_, Some("rate_limit_error")) => ErrorKind::RateLimit,
        (_, Some("overloaded_error" | "api_error")) => ErrorKind::ServiceUnavailable,
        (_, Some("invalid_request_error" | "request_too_large")) => ErrorKind::InvalidRequest,
        (status, _) => ErrorKind::from_status(StatusCode::from_u16(status).unwrap()),
    }
}

#[test]
fn anthropic_recordings_replay() {
    let Some(root) = corpus() else {
        println!("corpus not found (set ONELLM_CORPUS); skipping the Anthropic replay");
        return;
    };
    let manifest = std::fs::read_to_string(root.join("replay/manifest.jsonl")).unwrap();
    let provider = Anthropic::new(&ProviderSettings::default());
    let (mut streams, mut wholes, mut errors) = (0, 0, 0);
    for line in manifest.lines().filter(|line| !line.trim().is_empty()) {
        let entry: Value = serde_json::from_str(line).unwrap();
        if entry["provider"] != "anthropic" || entry["endpoint"] != "chat" {
            continue;
        }
        let file = entry["file"].as_str().unwrap();
        let body = std::fs::read(root.join("replay").join(file)).unwrap();
        let status = u16::try_from(u(&entry["status"])).unwrap();
        let headers = headers(&entry);
        if !(200..300).contains(&status) {
            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let error =
                provider.parse_error(StatusCode::from_u16(status).unwrap(), &headers, &body);
            assert_eq!(
                error.kind(),
                expected_error_kind(&value, status),
                "{file}: {error}"
            );
            assert_eq!(error.status(), Some(status), "{file}");
            errors += 1;
        } else if entry["stream"] == true {
            let (chunks, complete) = decode(&provider, &[&body]);
            assert!(complete, "{file}: stream did not complete");
            let bytewise: Vec<&[u8]> = body.chunks(1).collect();
            assert_eq!(
                decode(&provider, &bytewise),
                (chunks.clone(), true),
                "{file}"
            );
            for split in (0..body.len()).step_by(97) {
                let (a, b) = body.split_at(split);
                assert_eq!(decode(&provider, &[a, b]).0, chunks, "{file} split {split}");
            }
            let mut acc = ChunkAccumulator::new();
            for chunk in &chunks {
                acc.push(chunk);
            }
            let text = String::from_utf8(body).unwrap();
            let completion = acc.into_completion();
            check(file, &completion, expected_from_stream(&text));
            streams += 1;
        } else {
            let response = http::Response::builder()
                .status(status)
                .body(Bytes::from(body.clone()))
                .unwrap();
            let completion = provider
                .parse_chat(&response)
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            let value: Value = serde_json::from_slice(&body).unwrap();
            check(file, &completion, expected_from_message(&value));
            wholes += 1;
        }
    }
    println!(
        "anthropic corpus: {} files checked ({streams} streams, {wholes} whole responses, {errors} error bodies)",
        streams + wholes + errors
    );
    assert!(
        streams + wholes + errors > 0,
        "the manifest lists no Anthropic chat recordings"
    );
}
