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
