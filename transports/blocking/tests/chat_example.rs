//! Runs the `chat` example binary against its built-in fake provider (`--fake`): text,
//! `--json`, `--stream --json`, `--request FILE`, stdin, and the error exit.
//!
//! Cargo gives tests no `CARGO_BIN_EXE_…` for examples, so the test builds the example
//! itself: `$CARGO build --example chat` into the target directory this test binary runs
//! from (`…/target/<profile>/deps/`). When the example is fresh (as after `cargo test`,
//! which builds examples) that is a quick no-op, and it is never stale when only this test
//! is run. The nested cargo waits for no lock: `cargo test` holds none while tests run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

fn chat_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        // …/target/<profile>/deps/chat_example-HASH
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary in <target>/<profile>/deps")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        // Cargo gives this test process the package's own variables; passed on, they would
        // look like a changed environment to build scripts (ring reruns on
        // CARGO_MANIFEST_DIR) and rebuild half the tree.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let per_package = [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
            ]
            .iter()
            .any(|prefix| name.starts_with(prefix))
                || name == "CARGO_PRIMARY_PACKAGE"
                || name == "CARGO_TARGET_TMPDIR";
            if per_package {
                build.env_remove(name.as_ref());
            }
        }
        build
            .args([
                "build",
                "--quiet",
                "-p",
                "onellm-blocking",
                "--example",
                "chat",
            ])
            .arg("--target-dir")
            .arg(&target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir
            .file_name()
            .is_some_and(|name| name == "release")
        {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build --example chat");
        assert!(status.success(), "cargo build --example chat failed");
        let binary = profile_dir
            .join("examples")
            .join(format!("chat{}", std::env::consts::EXE_SUFFIX));
        assert!(binary.exists(), "no example binary at {}", binary.display());
        binary
    })
}

fn chat(args: &[&str], stdin: Option<&str>) -> Output {
    chat_with_env(args, stdin, &[])
}

fn chat_with_env(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(chat_binary());
    command
        .args(args)
        .env_remove("ONELLM_MODEL")
        .env_remove("ONELLM_TIMEOUT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .envs(env.iter().copied());
    let mut child = command.spawn().expect("spawn chat example");
    if let Some(mut pipe) = child.stdin.take() {
        pipe.write_all(stdin.unwrap_or_default().as_bytes()).ok();
    }
    child.wait_with_output().expect("chat example output")
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
