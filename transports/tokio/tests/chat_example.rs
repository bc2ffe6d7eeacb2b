//! Runs the `chat` example binary against its built-in fake provider (`--fake`).
//!
//! The binary comes from [`onellm_testkit::example_binary`]: built into this test's target
//! directory (a no-op when fresh), and this package's own build of `chat` picked.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use onellm_tokio::{ChatCompletion, ChatCompletionChunk};
use serde_json::Value;

/// This package's `chat` example binary, built once (tests run in parallel). Both transports
/// have an example named `chat`, so the shared `examples/chat` path may hold the other one;
/// [`onellm_testkit::example_binary`] picks this package's own build.
fn chat_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        onellm_testkit::example_binary(env!("CARGO_MANIFEST_DIR"), "onellm-tokio", "chat")
    })
}

fn chat(args: &[&str], stdin: Option<&str>) -> Output {
    chat_with_env(args, stdin, &[])
}

fn chat_with_env(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    onellm_testkit::run_example(chat_binary(), args, stdin, env)
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

#[test]
fn text_reply() {
    let output = chat(&["--fake", "hello", "there"], None);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "hello there\n");
}

#[test]
fn prompt_from_standard_input() {
    let output = chat(&["--fake", "--stream"], Some("piped prompt\n"));
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "piped prompt\n");
}

#[test]
fn json_reply_is_one_completion_line() {
    let output = chat(
        &["--fake", "--json", "--system", "be brief", "hi json"],
        None,
    );
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert_eq!(text.lines().count(), 1, "{text}");
    let completion: ChatCompletion = serde_json::from_str(&text).unwrap();
    assert_eq!(completion.text(), "hi json");
    assert_eq!(completion.object, "chat.completion");
}

#[test]
fn stream_json_is_one_chunk_per_line() {
    let output = chat(
        &["--fake", "--stream", "--json", "several words arrive"],
        None,
    );
    assert!(output.status.success(), "{output:?}");
    let chunks: Vec<ChatCompletionChunk> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(chunks.len() >= 3, "{chunks:?}");
    let text: String = chunks.iter().filter_map(|c| c.text()).collect();
    assert_eq!(text, "several words arrive");
    assert!(chunks.iter().any(|c| c.usage.is_some()));
}

#[test]
fn fallback_flag() {
    let output = chat(
        &[
            "--fake",
            "--model",
            "openai/fail-503",
            "--fallback",
            "anthropic/claude-fake",
            "--retries",
            "0",
            "--stream",
            "fell back",
        ],
        None,
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "fell back\n");
}

#[test]
fn request_file_with_flags_over_it() {
    let path = std::env::temp_dir().join(format!("onellm-tokio-chat-{}.json", std::process::id()));
    std::fs::write(
        &path,
        r#"{"model": "openai/fail-401", "messages": [{"role": "user", "content": "from the file"}],
            "temperature": 0.2, "retries": 0}"#,
    )
    .unwrap();
    let output = chat(
        &[
            "--fake",
            "--request",
            path.to_str().unwrap(),
            "--model",
            "openai/gpt-4o-mini",
        ],
        None,
    );
    let _ = std::fs::remove_file(&path);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "from the file\n");
}

#[test]
fn error_exit_with_json() {
    let output = chat(
        &[
            "--fake",
            "--json",
            "--model",
            "openai/fail-401",
            "--fallback",
            "openai/fail-429",
            "--retries",
            "0",
            "hi",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: all_failed: "), "{stderr}");
    let text = stdout(&output);
    assert_eq!(text.lines().count(), 1, "{text}");
    let error: Value = serde_json::from_str(&text).unwrap();
    let error = &error["error"];
    assert_eq!(error["kind"], "all_failed");
    assert!(error["message"].is_string());
    let attempts: Vec<(&str, &str, u64)> = error["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["model"].as_str().unwrap(),
                a["kind"].as_str().unwrap(),
                a["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        [
            ("openai/fail-401", "authentication", 401),
            ("openai/fail-429", "rate_limit", 429)
        ]
    );
}

#[test]
fn error_exit_in_text_mode() {
    let output = chat(&["--fake", "--model", "openai/fail-404", "hi"], None);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: not_found: "), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn request_file_with_tools_and_no_model() {
    // The model comes from the default; the fake echoes the prompt (its tool replies are
    // scripted only, which the example's own server is not).
    let path = std::env::temp_dir().join(format!("onellm-tokio-tools-{}.json", std::process::id()));
    std::fs::write(
        &path,
        r#"{"messages": [{"role": "user", "content": "use tools"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}"#,
    )
    .unwrap();
    let output = chat(&["--fake", "--request", path.to_str().unwrap()], None);
    let _ = std::fs::remove_file(&path);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "use tools\n");
}

#[test]
fn usage_errors() {
    let output = chat(&["--retries", "many", "hi"], None);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: usage: --retries wants a whole number"),
        "{stderr}"
    );
    assert!(stderr.contains("usage: chat"), "{stderr}");
}

#[test]
fn verbose_tells_which_models_were_tried_and_which_answered() {
    let args = ["-v", "--fake", "--model", "openai/fail-401"];
    let output = chat(&[&args[..], &["--fallback", FALLBACK, "x"]].concat(), None);
    onellm_testkit::chat_cli::assert_fallback_story(&output, FALLBACK, "anthropic");
    let typo = chat(
        &[
            "-v",
            "--fake",
            "--model",
            "opnai/gpt-4o-mini",
            "--fallback",
            FALLBACK,
            "x",
        ],
        None,
    );
    onellm_testkit::chat_cli::assert_typo_refused(&typo, "opnai");
}

const FALLBACK: &str = "anthropic/claude-sonnet-4-5";

#[test]
fn json_output_has_cost_and_the_catalog_checks_apply() {
    onellm_testkit::chat_cli::check_catalog_story(&|args, stdin, env| {
        chat_with_env(args, stdin, env)
    });
}

#[test]
fn the_offline_demo_answers_instead_of_echoing() {
    let output = chat_with_env(&["--fake", "Say hello"], None, &[("ONELLM_FAKE_ECHO", "0")]);
    assert!(output.status.success(), "{output:?}");
    let answer = String::from_utf8_lossy(&output.stdout);
    assert_ne!(answer.trim(), "Say hello");
    assert_eq!(answer.trim(), onellm_testkit::demo_answer("Say hello"));
    let streamed = chat_with_env(
        &["--fake", "--stream", "Stream this reply"],
        None,
        &[("ONELLM_FAKE_ECHO", "0")],
    );
    assert!(String::from_utf8_lossy(&streamed.stdout).contains("streamed in pieces"));
}

#[test]
fn config_file_turns_the_cache_on_in_memory_and_across_processes() {
    onellm_testkit::chat_cli::check_cache_story(&|args, stdin, env| {
        chat_with_env(args, stdin, env)
    });
}

#[test]
fn two_processes_share_one_rate_limit_through_redis() {
    onellm_testkit::chat_cli::check_shared_router_story(&|args, stdin, env| {
        chat_with_env(args, stdin, env)
    });
}

#[test]
fn config_file_routes_repeated_calls_over_its_deployments() {
    onellm_testkit::chat_cli::check_router_story(&|args, stdin, env| {
        chat_with_env(args, stdin, env)
    });
}

#[test]
fn the_environment_proxy_carries_the_call_unless_no_proxy_says_direct() {
    onellm_testkit::chat_cli::check_proxy_story(&|args, stdin, env| {
        chat_with_env(args, stdin, env)
    });
}

#[test]
fn responses_flag_sends_through_the_responses_api_natively_and_bridged() {
    onellm_testkit::chat_cli::check_responses_story(&|args, stdin, env| {
        chat_with_env(args, stdin, env)
    });
}
