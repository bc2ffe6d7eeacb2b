//! `onellm-replay` run as a process over the recorded corpus (OpenAI-family, Anthropic and
//! Bedrock recordings), and its usage errors.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn corpus() -> Option<PathBuf> {
    let path = std::env::var_os("ONELLM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"))
        });
    path.join("replay/manifest.jsonl").is_file().then_some(path)
}

fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_onellm-replay"))
        .args(args)
        .output()
        .expect("run onellm-replay");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn replays_openai_and_anthropic_recordings() {
    let Some(corpus) = corpus() else {
        println!("corpus not found (../shared/corpus or $ONELLM_CORPUS); skipping");
        return;
    };
    let known = onellm_core::Registry::new();
    let known = known.provider_names();
    let manifest = std::fs::read_to_string(corpus.join("replay/manifest.jsonl")).unwrap();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for line in manifest.lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        // Ollama's OpenAI-compatible (`/v1`) recordings replay through the `ollama_openai`
        // profile: `ollama/` is the native `/api/chat` adapter.
        let provider = match entry["provider"].as_str().unwrap() {
            "ollama" if entry["request_uri"].as_str().unwrap_or("").contains("/v1/") => {
                "ollama_openai"
            }
            other => other,
        };
        let endpoint = entry["endpoint"].as_str().unwrap();
        let family = matches!(
            provider,
            "openai"
                | "anthropic"
                | "groq"
                | "mistral"
                | "deepseek"
                | "openrouter"
                | "xai"
                | "cerebras"
                | "cohere"
                | "ollama"
                | "ollama_openai"
                | "google"
                | "vertex"
                | "bedrock"
        );
        if !family || !known.contains(&provider) || !matches!(endpoint, "chat" | "embeddings") {
            skipped += 1;
            continue;
        }
        let file = corpus.join("replay").join(entry["file"].as_str().unwrap());
        let status = entry["status"].as_u64().unwrap().to_string();
        let mut args = vec![
            "--provider",
            provider,
            "--endpoint",
            endpoint,
            "--status",
            &status,
        ];
        if entry["stream"] == true {
            args.push("--stream");
        }
        let headers: Vec<String> = entry["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, value)| format!("{name}: {}", value.as_str().unwrap_or("")))
            .collect();
        for header in &headers {
            args.extend(["--header", header.as_str()]);
        }
        let file = file.to_string_lossy().into_owned();
        args.push(&file);
        let (code, stdout, stderr) = run(&args);
        let verdict: Value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
        let is_error_status = entry["status"].as_u64().unwrap() >= 400;
        let ok = code == 0
            && stdout.trim().lines().count() == 1
            && match verdict["ok"].as_bool() {
                Some(true) => !is_error_status,
                // An error verdict: for error statuses it must carry that status; a 2xx
                // stream may legitimately end in an in-stream error event.
                Some(false) => {
                    let kind = verdict["error"]["kind"].as_str().unwrap_or("");
                    if is_error_status {
                        verdict["error"]["status"] == entry["status"]
                    } else {
                        entry["stream"] == true && kind != "decode" && kind != "truncated"
                    }
                }
                None => false,
            };
        if ok {
            passed += 1;
        } else {
            failed += 1;
            println!("FAIL {file}: exit {code}, stdout {stdout:.300}, stderr {stderr:.300}");
        }
    }
    println!("onellm-replay over the corpus: {passed} passed, {failed} failed, {skipped} skipped");
    assert!(passed > 0);
    assert_eq!(failed, 0);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&[]).0, 2);
    assert_eq!(run(&["--provider", "openai"]).0, 2);
    assert_eq!(run(&["--provider", "openai", "/nonexistent/file"]).0, 2);
    assert_eq!(run(&["--provider", "nope", "Cargo.toml"]).0, 2);
    assert_eq!(
        run(&["--provider", "openai", "--status", "abc", "Cargo.toml"]).0,
        2
    );
    let (code, stdout, _) = run(&[
        "--provider",
        "openai",
        "--status",
        "429",
        "--header",
        "retry-after: 3",
        "Cargo.toml",
    ]);
    assert_eq!(code, 0);
    let verdict: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(verdict["ok"], false);
    assert_eq!(verdict["error"]["kind"], "rate_limit");
    assert_eq!(verdict["error"]["retry_after_ms"], 3000);
}

/// Bedrock through `onellm-replay`: a binary eventstream body with a tool call folds into the
/// call, and the plain-JSON 400 a failed converse-stream answers with is that error.
#[test]
fn replays_bedrock_eventstream_and_plain_json_error() {
    let Some(corpus) = corpus() else {
        println!("corpus not found (../shared/corpus or $ONELLM_CORPUS); skipping");
        return;
    };
    let manifest = std::fs::read_to_string(corpus.join("replay/manifest.jsonl")).unwrap();
    let entry = |origin_end: &str| -> Value {
        manifest
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .find(|e| e["origin"].as_str().unwrap_or("").ends_with(origin_end))
            .unwrap_or_else(|| panic!("no recording {origin_end}"))
    };
    let file = |e: &Value| {
        corpus
            .join("replay")
            .join(e["file"].as_str().unwrap())
            .to_string_lossy()
            .into_owned()
    };

    let tools = entry("test_bedrock_model_iter_stream.yaml#0");
    let (code, stdout, stderr) = run(&["--provider", "bedrock", "--stream", &file(&tools)]);
    assert_eq!(code, 0, "{stderr}");
    let verdict: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(verdict["ok"], true, "{verdict}");
    let message = &verdict["completion"]["choices"][0]["message"];
    let call = &message["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_temperature");
    assert!(call["id"].as_str().unwrap().starts_with("tooluse_"));
    assert_eq!(
        verdict["completion"]["choices"][0]["finish_reason"],
        "tool_calls"
    );
    assert!(
        verdict["completion"]["usage"]["total_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );

    let failed = entry("test_bedrock_streaming_error.yaml#0");
    let (code, stdout, _) = run(&[
        "--provider",
        "bedrock",
        "--stream",
        "--status",
        "400",
        &file(&failed),
    ]);
    assert_eq!(code, 0);
    let verdict: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(verdict["ok"], false);
    assert_eq!(verdict["error"]["kind"], "invalid_request");
    assert_eq!(verdict["error"]["status"], 400);
    assert_eq!(
        verdict["error"]["message"],
        "The provided model identifier is invalid."
    );
}

/// The text of every `output_text` part of a raw Responses API response.
fn responses_output_text(response: &Value) -> String {
    let items = response["output"].as_array().into_iter().flatten();
    items
        .filter(|item| item["type"] == "message")
        .flat_map(|item| item["content"].as_array().into_iter().flatten())
        .filter(|part| part["type"] == "output_text")
        .filter_map(|part| part["text"].as_str())
        .collect()
}

/// `[call_id, name, arguments]` of every function call of a raw Responses API response.
fn responses_function_calls(response: &Value) -> Vec<Value> {
    let items = response["output"].as_array().into_iter().flatten();
    items
        .filter(|item| item["type"] == "function_call")
        .map(|item| serde_json::json!([item["call_id"], item["name"], item["arguments"]]))
        .collect()
}

#[test]
fn replays_every_responses_recording() {
    let Some(corpus) = corpus() else {
        println!("corpus not found (../shared/corpus or $ONELLM_CORPUS); skipping");
        return;
    };
    let manifest = std::fs::read_to_string(corpus.join("replay/manifest.jsonl")).unwrap();
    let mut replayed = 0;
    for line in manifest.lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        if entry["endpoint"] != "responses" {
            continue;
        }
        let path = corpus.join("replay").join(entry["file"].as_str().unwrap());
        let body = std::fs::read(&path).unwrap();
        let file = path.to_string_lossy().into_owned();
        let status = entry["status"].as_u64().unwrap();
        let status_text = status.to_string();
        let provider = entry["provider"].as_str().unwrap();
        let mut args = vec![
            "--provider",
            provider,
            "--endpoint",
            "responses",
            "--status",
            &status_text,
        ];
        let stream = entry["stream"] == true;
        if stream {
            args.push("--stream");
        }
        args.push(&file);
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, 0, "{file}: {stderr}");
        assert_eq!(stdout.trim().lines().count(), 1, "{file}: {stdout:.300}");
        let verdict: Value = serde_json::from_str(stdout.trim()).unwrap();
        // What the recording itself says: the body, or a stream's terminal event's response.
        let expected: Value = if stream {
            let text = String::from_utf8_lossy(&body);
            text.lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
                .filter(|event| {
                    matches!(
                        event["type"].as_str(),
                        Some("response.completed" | "response.incomplete")
                    )
                })
                .map(|event| event["response"].clone())
                .next_back()
                .unwrap_or(Value::Null)
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        if status >= 400 {
            assert_eq!(verdict["ok"], false, "{file}: {stdout:.300}");
            assert_eq!(verdict["error"]["status"], status, "{file}");
            let code = expected["error"]["code"].as_str();
            if let Some(kind) = code.and_then(onellm_core::ErrorKind::from_error_code) {
                assert_eq!(verdict["error"]["kind"], kind.as_str(), "{file}");
            }
            assert_ne!(verdict["error"]["kind"], "decode", "{file}");
        } else if expected.is_null() {
            // A stream without a terminal event is cut short, whatever it delivered.
            assert_eq!(
                verdict["error"]["kind"], "truncated",
                "{file}: {stdout:.300}"
            );
        } else {
            assert_eq!(verdict["ok"], true, "{file}: {stdout:.300}");
            let response = &verdict["response"];
            assert_eq!(response["id"], expected["id"], "{file}");
            assert_eq!(response["status"], expected["status"], "{file}");
            assert_eq!(
                responses_output_text(response),
                responses_output_text(&expected),
                "{file}"
            );
            assert_eq!(
                responses_function_calls(response),
                responses_function_calls(&expected),
                "{file}"
            );
            assert_eq!(response["usage"], expected["usage"], "{file}");
            assert_eq!(
                response["output"].as_array().map(Vec::len),
                expected["output"].as_array().map(Vec::len),
                "{file}"
            );
            if stream {
                assert!(verdict["events"].as_u64().unwrap() > 0, "{file}");
            }
        }
        replayed += 1;
    }
    println!("onellm-replay --endpoint responses: {replayed} recordings");
    assert_eq!(replayed, 22, "the corpus's Responses recordings");
}
