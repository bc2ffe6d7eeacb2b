//! Runs the `chat` example binary against its built-in fake provider (`--fake`): text,
//! `--json`, `--stream --json`, `--request FILE`, stdin, and the error exit.
//!
//! The binary comes from [`onellm_testkit::example_binary`]: built into this test's target
//! directory (a no-op when fresh), and this package's own build of `chat` picked.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use serde_json::Value;

/// This package's `chat` example binary, built once (tests run in parallel). Both transports
/// have an example named `chat`, so the shared `examples/chat` path may hold the other one;
/// [`onellm_testkit::example_binary`] picks this package's own build.
fn chat_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        onellm_testkit::example_binary(env!("CARGO_MANIFEST_DIR"), "onellm-blocking", "chat")
    })
}

fn chat(args: &[&str], stdin: Option<&str>) -> Output {
    chat_with_env(args, stdin, &[])
}

fn chat_with_env(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    onellm_testkit::run_example(chat_binary(), args, stdin, env)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn json_lines(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

#[test]
fn text_reply() {
    let output = chat(&["--fake", "Hello", "fake", "world"], None);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "Hello fake world\n");
}

#[test]
fn anthropic_model_through_the_fake() {
    let output = chat(
        &[
            "--fake",
            "--model",
            "anthropic/claude-3-5-haiku-latest",
            "Bonjour",
        ],
        None,
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "Bonjour\n");
}

#[test]
fn streamed_text_reply() {
    let output = chat(&["--fake", "--stream", "one two three"], None);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "one two three\n");
}

#[test]
fn json_reply() {
    let output = chat(&["--fake", "--json", "--max-tokens", "20", "Hi"], None);
    assert!(output.status.success(), "{output:?}");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["object"], "chat.completion");
    assert_eq!(lines[0]["choices"][0]["message"]["content"], "Hi");
}

#[test]
fn stream_json_is_one_chunk_per_line() {
    let output = chat(&["--fake", "--stream", "--json", "a b c d"], None);
    assert!(output.status.success(), "{output:?}");
    let lines = json_lines(&output);
    assert!(lines.len() > 2, "{lines:?}");
    assert!(lines
        .iter()
        .all(|line| line["object"] == "chat.completion.chunk"));
    let text: String = lines
        .iter()
        .filter_map(|line| line["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "a b c d");
}

#[test]
fn prompt_from_stdin() {
    let output = chat(&["--fake"], Some("piped prompt\n"));
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "piped prompt\n");
}

#[test]
fn request_file_with_flags_over_it() {
    let dir = std::env::temp_dir().join(format!("onellm-chat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("request.json");
    std::fs::write(
        &file,
        r#"{"model": "openai/fail-401", "messages": [{"role": "user", "content": "from the file"}],
            "temperature": 0.2}"#,
    )
    .unwrap();
    // The file's model fails; --model overrides it.
    let output = chat(
        &[
            "--fake",
            "--json",
            "--request",
            file.to_str().unwrap(),
            "--model",
            "openai/gpt-4o-mini",
        ],
        None,
    );
    std::fs::remove_dir_all(&dir).ok();
    assert!(output.status.success(), "{output:?}");
    let lines = json_lines(&output);
    assert_eq!(
        lines[0]["choices"][0]["message"]["content"],
        "from the file"
    );
}

#[test]
fn error_exit_with_json_line() {
    let output = chat(
        &[
            "--fake",
            "--json",
            "--model",
            "openai/fail-401",
            "--fallback",
            "openai/fail-404",
            "Hi",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: all_failed: "), "{stderr}");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1);
    let error = &lines[0]["error"];
    assert_eq!(error["kind"], "all_failed");
    assert!(error["message"].as_str().unwrap().contains("fail-404"));
    assert_eq!(error["status"], Value::Null);
    let attempts = error["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["model"], "openai/fail-401");
    assert_eq!(attempts[0]["kind"], "authentication");
    assert_eq!(attempts[0]["status"], 401);
    assert_eq!(attempts[1]["kind"], "not_found");
}

#[test]
fn error_exit_in_text_mode() {
    let output = chat(
        &["--fake", "--stream", "--model", "openai/fail-403", "Hi"],
        None,
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: permission_denied: "), "{stderr}");
    assert_eq!(stdout(&output), "");
}

#[test]
fn bad_flags_exit_2() {
    let output = chat(&["--retries", "many"], None);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage"));
}

#[test]
fn providers_come_from_the_environment() {
    // No --fake: the binary finds the server through the variables the library reads.
    let server = onellm_testkit::FakeProvider::start();
    let base_url = server.openai_base_url();
    let env = [
        ("OPENAI_API_KEY", "sk-from-env"),
        ("OPENAI_BASE_URL", base_url.as_str()),
        ("ONELLM_MODEL", "openai/env-model"),
    ];
    let output = chat_with_env(&["--json", "through the env"], None, &env);
    assert!(output.status.success(), "{output:?}");
    let lines = json_lines(&output);
    assert_eq!(
        lines[0]["choices"][0]["message"]["content"],
        "through the env"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].had_key);
    assert_eq!(requests[0].json()["model"], "env-model");
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
