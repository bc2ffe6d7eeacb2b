//! The verdict table of issue 16: a client pointed at the wrong kind of server must fail, not
//! succeed with an empty completion.
//!
//! For each family (openai, anthropic, google, cohere, ollama, bedrock) the real
//! `onellm-replay` binary replays, at status 200:
//! - six junk bodies (`{}`, `[]`, `null`, `{"detail":"Not Found"}`, an HTML page, plain text),
//! - every other family's valid minimal reply,
//! - the family's own minimal reply,
//!
//! whole, and as a stream (the junk both raw and in the family's stream framing: SSE `data:`
//! events, NDJSON lines, an eventstream message; the other families' replies as their own
//! streams). Every foreign body must give an `unexpected_response` verdict naming the family,
//! and the family's own reply must parse with its text. Embeddings (five families) and
//! legacy completions (OpenAI) get the same table. The tests print every wrong verdict and
//! the count, then fail if there is one.
//!
//! Before issue 16: 66 of the 72 whole verdicts were wrong (30 of them `ok`), 102 of the
//! 108 stream verdicts (1 `ok`), 89 of the 97 embeddings and completions verdicts (none `ok`:
//! `Decode` errors, not `UnexpectedResponse`).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const FAMILIES: [&str; 6] = [
    "openai",
    "anthropic",
    "google",
    "cohere",
    "ollama",
    "bedrock",
];

/// The name each family's error message uses.
fn family_name(family: &str) -> &'static str {
    match family {
        "openai" => "OpenAI",
        "anthropic" => "Anthropic",
        "google" => "Gemini",
        "cohere" => "Cohere",
        "ollama" => "Ollama",
        _ => "Bedrock",
    }
}

const HTML: &str = "<!DOCTYPE html>\n<html><head><title>Sign in to the network</title></head>\n<body><p>Please accept the terms to continue.</p></body></html>\n";
const PLAIN: &str = "Not Found\n";

fn junk() -> Vec<(&'static str, &'static str)> {
    vec![
        ("{}", "{}"),
        ("[]", "[]"),
        ("null", "null"),
        ("detail", r#"{"detail":"Not Found"}"#),
        ("html", HTML),
        ("plain text", PLAIN),
    ]
}

/// Each family's minimal valid whole reply, whose text is `hello <family>`.
fn whole_reply(family: &str) -> String {
    match family {
        "openai" => r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hello openai"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#,
        "anthropic" => r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"hello anthropic"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":2}}"#,
        "google" => r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"hello google"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":2,"totalTokenCount":3},"modelVersion":"m"}"#,
        "cohere" => r#"{"id":"c-1","finish_reason":"COMPLETE","message":{"role":"assistant","content":[{"type":"text","text":"hello cohere"}]},"usage":{"tokens":{"input_tokens":1,"output_tokens":2}}}"#,
        "ollama" => r#"{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"hello ollama"},"done":true,"done_reason":"stop","prompt_eval_count":1,"eval_count":2}"#,
        _ => r#"{"output":{"message":{"role":"assistant","content":[{"text":"hello bedrock"}]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}}"#,
    }
    .to_owned()
}

fn sse(events: &[(Option<&str>, &str)]) -> Vec<u8> {
    let mut body = String::new();
    for (name, data) in events {
        if let Some(name) = name {
            body.push_str(&format!("event: {name}\n"));
        }
        for line in data.lines() {
            body.push_str(&format!("data: {line}\n"));
        }
        body.push('\n');
    }
    body.into_bytes()
}

/// One AWS eventstream message (prelude, headers as strings, payload, CRCs).
fn eventstream_message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    onellm_core::framing::encode_event_stream_message(headers, payload)
}

fn bedrock_event(event_type: &str, payload: &str) -> Vec<u8> {
    eventstream_message(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.as_bytes(),
    )
}

/// Each family's minimal valid stream, whose text is `hello <family>`.
fn stream_reply(family: &str) -> Vec<u8> {
    match family {
        "openai" => sse(&[
            (None, r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"hello openai"},"finish_reason":null}]}"#),
            (None, r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#),
            (None, "[DONE]"),
        ]),
        "anthropic" => sse(&[
            (Some("message_start"), r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"usage":{"input_tokens":1,"output_tokens":1}}}"#),
            (Some("content_block_start"), r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
            (Some("content_block_delta"), r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello anthropic"}}"#),
            (Some("content_block_stop"), r#"{"type":"content_block_stop","index":0}"#),
            (Some("message_delta"), r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}"#),
            (Some("message_stop"), r#"{"type":"message_stop"}"#),
        ]),
        "google" => sse(&[
            (None, r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"hello "}]},"index":0}],"modelVersion":"m"}"#),
            (None, r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"google"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":2,"totalTokenCount":3},"modelVersion":"m"}"#),
        ]),
        "cohere" => sse(&[
            (Some("message-start"), r#"{"id":"c-1","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}"#),
            (Some("content-start"), r#"{"type":"content-start","index":0,"delta":{"message":{"content":{"type":"text","text":""}}}}"#),
            (Some("content-delta"), r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"hello cohere"}}}}"#),
            (Some("content-end"), r#"{"type":"content-end","index":0}"#),
            (Some("message-end"), r#"{"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"tokens":{"input_tokens":1,"output_tokens":2}}}}"#),
        ]),
        "ollama" => concat!(
            r#"{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"hello ollama"},"done":false}"#,
            "\n",
            r#"{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":1,"eval_count":2}"#,
            "\n",
        )
        .as_bytes()
        .to_vec(),
        _ => [
            bedrock_event("messageStart", r#"{"role":"assistant"}"#),
            bedrock_event("contentBlockDelta", r#"{"contentBlockIndex":0,"delta":{"text":"hello bedrock"}}"#),
            bedrock_event("contentBlockStop", r#"{"contentBlockIndex":0}"#),
            bedrock_event("messageStop", r#"{"stopReason":"end_turn"}"#),
            bedrock_event("metadata", r#"{"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3},"metrics":{"latencyMs":1}}"#),
        ]
        .concat(),
    }
}

/// A junk body in `family`'s stream framing.
fn framed_junk(family: &str, junk: &str) -> Vec<u8> {
    match family {
        "ollama" => format!("{}\n", junk.trim_end()).into_bytes(),
        "bedrock" => eventstream_message(
            &[
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            junk.as_bytes(),
        ),
        _ => sse(&[(None, junk.trim_end())]),
    }
}

/// Each embedding family's minimal valid embeddings reply (one vector, `[0.5, 0.25]`).
fn embeddings_reply(family: &str) -> &'static str {
    match family {
        "openai" => {
            r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,0.25]}],"model":"m","usage":{"prompt_tokens":1,"total_tokens":1}}"#
        }
        "google" => r#"{"embeddings":[{"values":[0.5,0.25]}]}"#,
        "cohere" => {
            r#"{"id":"e-1","embeddings":{"float":[[0.5,0.25]]},"texts":["a"],"response_type":"embeddings_by_type"}"#
        }
        "ollama" => r#"{"model":"m","embeddings":[[0.5,0.25]],"prompt_eval_count":1}"#,
        _ => r#"{"embedding":[0.5,0.25],"inputTextTokenCount":1}"#,
    }
}

/// (parser, other family) pairs whose embeddings replies are the same format, so they
/// parse: Bedrock's Cohere models answer in Cohere's own embed format (by type, or
/// `embeddings_floats`, a bare list of vectors as Ollama's is) and no field tells them apart.
const SAME_EMBEDDINGS_FORMAT: [(&str, &str); 2] = [("bedrock", "cohere"), ("bedrock", "ollama")];

/// The families with embeddings (Anthropic has none).
const EMBEDDING_FAMILIES: [&str; 5] = ["openai", "google", "cohere", "ollama", "bedrock"];

/// One case of the table.
struct Case {
    family: &'static str,
    endpoint: &'static str,
    stream: bool,
    label: String,
    body: Vec<u8>,
    /// `None` for a foreign body (an `unexpected_response` verdict is right), else the text
    /// the family's own reply must give.
    text: Option<String>,
}

fn whole_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for family in FAMILIES {
        for (label, body) in junk() {
            cases.push(Case {
                family,
                endpoint: "chat",
                stream: false,
                label: format!("junk {label}"),
                body: body.as_bytes().to_vec(),
                text: None,
            });
        }
        for other in FAMILIES {
            cases.push(Case {
                family,
                endpoint: "chat",
                stream: false,
                label: format!("{other} reply"),
                body: whole_reply(other).into_bytes(),
                text: (other == family).then(|| format!("hello {family}")),
            });
        }
    }
    cases
}

fn stream_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for family in FAMILIES {
        for (label, body) in junk() {
            cases.push(Case {
                family,
                endpoint: "chat",
                stream: true,
                label: format!("raw junk {label}"),
                body: body.as_bytes().to_vec(),
                text: None,
            });
            cases.push(Case {
                family,
                endpoint: "chat",
                stream: true,
                label: format!("framed junk {label}"),
                body: framed_junk(family, body),
                text: None,
            });
        }
        for other in FAMILIES {
            cases.push(Case {
                family,
                endpoint: "chat",
                stream: true,
                label: format!("{other} stream"),
                body: stream_reply(other),
                text: (other == family).then(|| format!("hello {family}")),
            });
        }
    }
    cases
}

/// Embeddings: the junk bodies and every other family's chat and embeddings replies are
/// errors, the family's own embeddings reply parses; legacy completions (OpenAI only) the
/// same with an OpenAI chat reply's `choices` standing in as its own.
fn embeddings_and_completions_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for family in EMBEDDING_FAMILIES {
        let mut foreign: Vec<(String, Vec<u8>)> = junk()
            .into_iter()
            .map(|(label, body)| (format!("junk {label}"), body.as_bytes().to_vec()))
            .collect();
        for other in FAMILIES {
            foreign.push((
                format!("{other} chat reply"),
                whole_reply(other).into_bytes(),
            ));
        }
        for other in EMBEDDING_FAMILIES
            .into_iter()
            .filter(|other| *other != family)
        {
            if SAME_EMBEDDINGS_FORMAT.contains(&(family, other)) {
                cases.push(Case {
                    family,
                    endpoint: "embeddings",
                    stream: false,
                    label: format!("{other} embeddings reply (the same format)"),
                    body: embeddings_reply(other).as_bytes().to_vec(),
                    text: Some(String::new()),
                });
                continue;
            }
            foreign.push((
                format!("{other} embeddings reply"),
                embeddings_reply(other).as_bytes().to_vec(),
            ));
        }
        for (label, body) in foreign {
            // An OpenAI chat reply has no `data`, Ollama's and Cohere's chat replies no
            // `embeddings`: all foreign to an embeddings parser.
            cases.push(Case {
                family,
                endpoint: "embeddings",
                stream: false,
                label,
                body,
                text: None,
            });
        }
        cases.push(Case {
            family,
            endpoint: "embeddings",
            stream: false,
            label: format!("{family} embeddings reply"),
            body: embeddings_reply(family).as_bytes().to_vec(),
            text: Some(String::new()),
        });
    }
    let completion = r#"{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"hello completions","finish_reason":"stop"}]}"#;
    for (label, body) in junk() {
        cases.push(Case {
            family: "openai",
            endpoint: "completions",
            stream: false,
            label: format!("junk {label}"),
            body: body.as_bytes().to_vec(),
            text: None,
        });
    }
    for other in FAMILIES.into_iter().filter(|other| *other != "openai") {
        cases.push(Case {
            family: "openai",
            endpoint: "completions",
            stream: false,
            label: format!("{other} chat reply"),
            body: whole_reply(other).into_bytes(),
            text: None,
        });
    }
    cases.push(Case {
        family: "openai",
        endpoint: "completions",
        stream: false,
        label: "openai completion".to_owned(),
        body: completion.as_bytes().to_vec(),
        text: Some("hello completions".to_owned()),
    });
    cases
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("onellm-wrong-shape-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Replays `case` through `onellm-replay` and returns what is wrong with its verdict, if
/// anything.
fn wrong_verdict(case: &Case, file: &PathBuf) -> Option<String> {
    std::fs::write(file, &case.body).expect("write body");
    let mut command = Command::new(env!("CARGO_BIN_EXE_onellm-replay"));
    command.args(["--provider", case.family, "--status", "200"]);
    command.args(["--endpoint", case.endpoint]);
    command.args(["--header", "x-request-id: req-shape-1"]);
    if case.stream {
        command.arg("--stream");
    }
    let output = command.arg(file).output().expect("run onellm-replay");
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.code() != Some(0) {
        return Some(format!(
            "exit {:?}: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let verdict: Value = match serde_json::from_str(stdout.trim()) {
        Ok(verdict) => verdict,
        Err(e) => return Some(format!("not one JSON line ({e}): {stdout:.300}")),
    };
    match &case.text {
        Some(text) => {
            let good = verdict["ok"] == true
                && match case.endpoint {
                    "chat" => verdict["completion"]["choices"][0]["message"]["content"] == **text,
                    "completions" => verdict["completions"]["choices"][0]["text"] == **text,
                    _ => {
                        verdict["embeddings"]["data"][0]["embedding"]
                            == serde_json::json!([0.5, 0.25])
                    }
                };
            (!good).then(|| format!("own reply: want {text:?}, got {verdict:.400}"))
        }
        None => {
            let error = &verdict["error"];
            let message = error["message"].as_str().unwrap_or("");
            if verdict["ok"] != false {
                Some(format!("ok verdict: {:.300}", verdict.to_string()))
            } else if error["kind"] != "unexpected_response" {
                Some(format!("kind {}: {message:.200}", error["kind"]))
            } else if !message.contains(family_name(case.family)) {
                Some(format!("message does not name the family: {message:.200}"))
            } else if !case.stream
                && (error["status"] != 200 || error["request_id"] != "req-shape-1")
            {
                Some(format!(
                    "status {} / request id {} not carried",
                    error["status"], error["request_id"]
                ))
            } else {
                None
            }
        }
    }
}

/// Runs a table: prints every wrong verdict and the counts (`ok` verdicts for foreign bodies
/// counted apart, being the worst case), then fails if any verdict is wrong.
fn check_table(name: &str, cases: &[Case]) {
    let dir = scratch_dir();
    let file = dir.join(format!("{name}.body"));
    let (mut wrong, mut false_ok) = (0, 0);
    for case in cases {
        if let Some(problem) = wrong_verdict(case, &file) {
            wrong += 1;
            if problem.starts_with("ok verdict") {
                false_ok += 1;
            }
            println!(
                "WRONG {} {} / {}: {problem}",
                case.family, case.endpoint, case.label
            );
        }
    }
    let _ = std::fs::remove_file(&file);
    println!(
        "{name}: {wrong} of {} verdicts wrong ({false_ok} of them ok for a foreign body)",
        cases.len()
    );
    assert_eq!(wrong, 0, "{name}: {wrong} wrong verdicts");
}

#[test]
fn whole_replies_of_the_wrong_shape_are_unexpected_response() {
    let cases = whole_cases();
    assert_eq!(cases.len(), 72);
    check_table("whole", &cases);
}

#[test]
fn embeddings_and_completions_of_the_wrong_shape_are_unexpected_response() {
    let cases = embeddings_and_completions_cases();
    // 5 families × (6 junk + 6 chat replies + 4 other embeddings + own), completions 6 + 5 + 1.
    assert_eq!(cases.len(), 5 * 17 + 12);
    check_table("embeddings and completions", &cases);
}

#[test]
fn streams_of_the_wrong_shape_are_unexpected_response() {
    let cases = stream_cases();
    assert_eq!(cases.len(), 108);
    check_table("stream", &cases);
}
