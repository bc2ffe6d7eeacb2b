//! Conformance: replays the recorded provider responses of the shared corpus through the
//! adapters and checks what they make of them against an oracle computed independently from
//! the raw bytes with `serde_json::Value`.
//!
//! The corpus lives outside the repository (`../../shared/corpus` from this crate, or
//! `$ONELLM_CORPUS`); `replay/manifest.jsonl` lists one recorded response per line. When the
//! folder is absent the test says so and passes.
//!
//! A recording is replayed when the registry has an adapter for its provider and the oracle
//! knows its wire format, which is read off the recorded request URI: `…/chat/completions` and
//! `…/embeddings` are OpenAI's format (Ollama's `/v1` recordings replay through the
//! `ollama_openai` profile), `…/v1/messages` is Anthropic's, `…/v2/chat` and `…/v2/embed`
//! Cohere's, `…:generateContent` / `…:streamGenerateContent` / `…:batchEmbedContents` Gemini's,
//! `…/converse[-stream]` Bedrock's. Everything else (the Responses API, Cohere's v1 API, …)
//! is counted as skipped.
//!
//! What is checked:
//! - non-streaming 2xx: `parse_chat` / `parse_embeddings` agree with the oracle on text,
//!   reasoning, refusal, tool calls, finish reason and usage;
//! - non-2xx: the error kind follows the status and body, and `retry_after` equals the
//!   recorded `retry-after` header;
//! - streams: the decoder gives the same items for an irregular split, one push and one byte at
//!   a time; it completes (or fails the way the recording itself fails); the chunks folded by
//!   `ChunkAccumulator` agree with the oracle's own fold of the raw events.
//!
//! No expectation is written per file: each comes from the recording's own bytes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use onellm_core::{
    ChatCompletion, ChatCompletionChunk, ChatStreamDecoder, ChunkAccumulator, EmbeddingResponse,
    EmbeddingVector, Error, ErrorKind, ModelId, Provider, Registry,
};
use serde::Deserialize;
use serde_json::Value;

#[path = "oracle/bedrock.rs"]
mod bedrock_oracle;

/// One line of `replay/manifest.jsonl`.
#[derive(Debug, Deserialize)]
struct Recording {
    file: String,
    provider: String,
    endpoint: String,
    stream: bool,
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    request_uri: String,
}

/// The response body formats the oracle understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    OpenAi,
    Anthropic,
    Cohere,
    Gemini,
    Bedrock,
}

#[path = "oracle/cohere.rs"]
mod cohere_oracle;

impl Wire {
    /// The wire format of a recording, from the URI it was sent to.
    fn of(recording: &Recording) -> Option<Wire> {
        let path = recording
            .request_uri
            .parse::<http::Uri>()
            .map(|uri| uri.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        match recording.endpoint.as_str() {
            "chat" if path.ends_with("/chat/completions") => Some(Wire::OpenAi),
            "chat" if path.ends_with("/v1/messages") => Some(Wire::Anthropic),
            "chat" if path.ends_with("/v2/chat") => Some(Wire::Cohere),
            "chat" if path.ends_with("/converse") || path.ends_with("/converse-stream") => {
                Some(Wire::Bedrock)
            }
            "embeddings" if path.ends_with("/embeddings") => Some(Wire::OpenAi),
            "embeddings" if path.ends_with("/v2/embed") => Some(Wire::Cohere),
            "chat"
                if path.ends_with(":generateContent")
                    || path.ends_with(":streamGenerateContent") =>
            {
                Some(Wire::Gemini)
            }
            "embeddings"
                if path.ends_with(":batchEmbedContents") || path.ends_with(":embedContent") =>
            {
                Some(Wire::Gemini)
            }
            _ => None,
        }
    }
}

/// The split sizes the irregular feed cycles through.
const PIECES: [usize; 5] = [1, 7, 64, 3, 512];

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    skipped: usize,
}

/// The corpus folder and its manifest's text, or `None` (after saying so) when absent.
fn corpus() -> Option<(PathBuf, String)> {
    let root = std::env::var_os("ONELLM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"))
        });
    let manifest = root.join("replay/manifest.jsonl");
    match std::fs::read_to_string(&manifest) {
        Ok(lines) => Some((root, lines)),
        Err(_) => {
            println!("corpus not found at {}; skipping", manifest.display());
            None
        }
    }
}

fn recordings(lines: &str) -> impl Iterator<Item = Recording> + '_ {
    lines
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("manifest line {}: {e}", number + 1))
        })
}

#[test]
fn corpus_replays_through_the_adapters() {
    let Some((root, lines)) = corpus() else {
        return;
    };

    let registry = Registry::from_lookup(|name| {
        name.ends_with("_API_KEY")
            .then(|| "sk-corpus-replay-dummy".to_owned())
    });
    let known: Vec<&str> = registry.provider_names();

    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut skip_reasons: BTreeMap<String, usize> = BTreeMap::new();
    for recording in recordings(&lines) {
        let tally = tallies.entry(recording.provider.clone()).or_default();
        let wire = if recording.provider == "cohere_v1" {
            Err(
                "cohere_v1: the legacy v1 API has no adapter by decision (cohere speaks v2)"
                    .to_owned(),
            )
        } else if !known.contains(&adapter_name(&recording)) {
            Err(format!("no adapter for {}", recording.provider))
        } else {
            Wire::of(&recording).ok_or_else(|| {
                format!(
                    "{} wire format not replayed ({})",
                    recording.endpoint, recording.request_uri
                )
            })
        };
        let wire = match wire {
            Ok(wire) => wire,
            Err(reason) => {
                tally.skipped += 1;
                *skip_reasons.entry(reason).or_default() += 1;
                continue;
            }
        };
        let body = match std::fs::read(root.join("replay").join(&recording.file)) {
            Ok(body) => body,
            Err(e) => {
                println!("FAIL {}: cannot read body: {e}", recording.file);
                tally.failed += 1;
                continue;
            }
        };
        match replay(&registry, &recording, wire, &body) {
            Ok(()) => tally.passed += 1,
            Err(reason) => {
                println!(
                    "FAIL {} ({} {}{} {}): {reason}",
                    recording.file,
                    recording.provider,
                    recording.endpoint,
                    if recording.stream { " stream" } else { "" },
                    recording.status
                );
                tally.failed += 1;
            }
        }
    }

    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (provider, tally) in &tallies {
        println!(
            "  {provider:<12} {} passed, {} failed, {} skipped",
            tally.passed, tally.failed, tally.skipped
        );
        passed += tally.passed;
        failed += tally.failed;
        skipped += tally.skipped;
    }
    for (reason, count) in &skip_reasons {
        println!("  skipped {count:>3}: {reason}");
    }
    println!("corpus: {passed} passed, {failed} failed, {skipped} skipped (no adapter)");
    assert_eq!(
        failed, 0,
        "corpus recordings failed; see the FAIL lines above"
    );
    assert!(
        passed > 0,
        "no recording was replayed: is the manifest empty?"
    );
}

/// The oracles themselves read every 2xx chat recording of their wire format, whether or not an
/// adapter exists yet (so the Anthropic oracle is exercised before its adapter lands): each
/// yields at least one choice, and no recorded stream is cut short.
#[test]
fn oracles_read_every_recording() {
    let Some((root, lines)) = corpus() else {
        return;
    };
    let mut read = 0;
    for recording in recordings(&lines) {
        let Some(wire) = Wire::of(&recording) else {
            continue;
        };
        if recording.endpoint != "chat" || !(200..300).contains(&recording.status) {
            continue;
        }
        let body = std::fs::read(root.join("replay").join(&recording.file))
            .unwrap_or_else(|e| panic!("{}: {e}", recording.file));
        let (expected, ending) = if recording.stream {
            let oracle = match wire {
                Wire::OpenAi => openai::stream(&body),
                Wire::Anthropic => anthropic::stream(&body),
                Wire::Cohere => cohere_oracle::stream(&body),
                Wire::Gemini => gemini_oracle::stream(&body),
                Wire::Bedrock => bedrock_oracle::stream(&body),
            }
            .unwrap_or_else(|e| panic!("{}: {e}", recording.file));
            (oracle.expected, oracle.ending)
        } else {
            let raw: Value =
                serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{}: {e}", recording.file));
            let expected = match wire {
                Wire::OpenAi => openai::whole(&raw),
                Wire::Anthropic => anthropic::whole(&raw),
                Wire::Cohere => cohere_oracle::whole(&raw),
                Wire::Gemini => gemini_oracle::whole(&raw),
                Wire::Bedrock => bedrock_oracle::whole(&raw),
            };
            (expected, Ending::Complete)
        };
        assert!(
            !expected.choices.is_empty(),
            "{}: no choice",
            recording.file
        );
        assert_ne!(
            ending,
            Ending::Truncated,
            "{}: stream cut short",
            recording.file
        );
        read += 1;
    }
    println!("oracles read {read} recordings");
}

/// Gemini fixtures outside the manifest (`gemini/vercel-ai/google/`): `*.chunks.txt` hold one
/// stream event's JSON per line with the SSE framing stripped, so each line is framed again
/// the way Gemini frames it (`data: …` CRLF CRLF) and replayed like a recorded stream;
/// `*.json` are whole bodies. Files of Vertex AI's opt-in `streamFunctionCallArguments`
/// (`partialArgs`, which this adapter never asks for) are left out.
#[test]
fn gemini_fixtures_without_framing() {
    let Some((root, _)) = corpus() else {
        return;
    };
    let dir = root.join("gemini/vercel-ai/google");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("no {}; skipping", dir.display());
        return;
    };
    let registry = Registry::from_lookup(|name| {
        name.ends_with("_API_KEY")
            .then(|| "sk-corpus-replay-dummy".to_owned())
    });
    let provider = registry
        .resolve(&ModelId::parse("google/corpus-replay").unwrap())
        .unwrap();
    let mut names: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    names.sort();
    let (mut passed, mut failed) = (0, 0);
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let body = std::fs::read(&path).unwrap();
        let outcome = if String::from_utf8_lossy(&body).contains("\"partialArgs\"") {
            continue;
        } else if name.ends_with(".chunks.txt") {
            let framed: Vec<u8> = String::from_utf8_lossy(&body)
                .lines()
                .filter(|line| !line.trim().is_empty())
                .flat_map(|line| format!("data: {line}\r\n\r\n").into_bytes())
                .collect();
            check_stream(provider.as_ref(), Wire::Gemini, &framed)
        } else if name.ends_with(".json") {
            let raw: Value = serde_json::from_slice(&body).unwrap();
            if raw.get("error").is_some() {
                let status = number(raw.pointer("/error/code")).unwrap_or(500) as u16;
                let error = provider.parse_error(
                    StatusCode::from_u16(status).unwrap(),
                    &Default::default(),
                    &body,
                );
                check_error(&error, Some(status), &body, &BTreeMap::new()).and_then(
                    |()| match error.retry_after() {
                        Some(_) => Ok(()),
                        None => Err("RetryInfo retryDelay not read".to_owned()),
                    },
                )
            } else {
                let response = http::Response::new(Bytes::from(body));
                provider
                    .parse_chat(&response)
                    .map_err(|e| format!("parse_chat: {e}"))
                    .and_then(|completion| {
                        compare(&gemini_oracle::whole(&raw), &Observed::of(&completion))
                    })
            }
        } else {
            continue;
        };
        match outcome {
            Ok(()) => passed += 1,
            Err(reason) => {
                println!("FAIL {name}: {reason}");
                failed += 1;
            }
        }
    }
    println!("gemini fixtures: {passed} passed, {failed} failed");
    assert_eq!(failed, 0);
}

/// Replays one recording; `Err` says what disagreed.
fn replay(
    registry: &Registry,
    recording: &Recording,
    wire: Wire,
    body: &[u8],
) -> Result<(), String> {
    let id = ModelId::parse(&format!("{}/corpus-replay", adapter_name(recording)))
        .map_err(|e| format!("model id: {e}"))?;
    let provider = registry.resolve(&id).map_err(|e| format!("resolve: {e}"))?;
    let status =
        StatusCode::from_u16(recording.status).map_err(|e| format!("bad recorded status: {e}"))?;
    let response = recorded_response(recording, body)?;

    if !status.is_success() {
        // A streamed call with an error status is answered by `parse_error`, like the
        // transports do; a whole one goes through the parser, which must route it there.
        let error = if recording.stream {
            provider.parse_error(status, response.headers(), body)
        } else if recording.endpoint == "embeddings" {
            match provider.parse_embeddings(&response) {
                Ok(_) => return Err("an error status parsed as embeddings".into()),
                Err(error) => error,
            }
        } else {
            match provider.parse_chat(&response) {
                Ok(_) => return Err("an error status parsed as a completion".into()),
                Err(error) => error,
            }
        };
        return check_error(&error, Some(recording.status), body, &recording.headers);
    }

    if recording.endpoint == "embeddings" {
        let parsed = provider
            .parse_embeddings(&response)
            .map_err(|e| format!("parse_embeddings: {e}"))?;
        return match wire {
            Wire::Cohere => cohere_oracle::check_embeddings(&parsed, body),
            Wire::Gemini => check_gemini_embeddings(&parsed, body),
            _ => check_embeddings(&parsed, body),
        };
    }
    if recording.stream {
        return check_stream(provider.as_ref(), wire, body);
    }
    let completion = provider
        .parse_chat(&response)
        .map_err(|e| format!("parse_chat: {e}"))?;
    let raw: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let expected = match wire {
        Wire::OpenAi => openai::whole(&raw),
        Wire::Anthropic => anthropic::whole(&raw),
        Wire::Cohere => cohere_oracle::whole(&raw),
        Wire::Gemini => gemini_oracle::whole(&raw),
        Wire::Bedrock => bedrock_oracle::whole(&raw),
    };
    compare(&expected, &Observed::of(&completion))
}

/// The registry name a recording replays through: the manifest's provider, except that
/// Ollama's OpenAI-compatible recordings (`…/v1/…`) go to the `ollama_openai` profile, since
/// `ollama/` is the native `/api/chat` adapter.
fn adapter_name(recording: &Recording) -> &str {
    if recording.provider == "ollama" && recording.request_uri.contains("/v1/") {
        "ollama_openai"
    } else {
        &recording.provider
    }
}

fn recorded_response(recording: &Recording, body: &[u8]) -> Result<http::Response<Bytes>, String> {
    let mut builder = http::Response::builder().status(recording.status);
    for (name, value) in &recording.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(Bytes::copy_from_slice(body))
        .map_err(|e| format!("cannot rebuild the response: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Errors

/// The kind the oracle expects for an error: context-window wording wins, then the HTTP status
/// (or the status an in-stream error object names), then the provider's error type.
fn expected_error_kind(status: Option<u16>, raw: Option<&Value>) -> ErrorKind {
    let object = raw.map(|raw| match raw.get("error") {
        Some(error) if error.is_object() => error,
        _ => raw,
    });
    let field = |name: &str| object.and_then(|o| o.get(name));
    let message = field("message")
        .and_then(Value::as_str)
        .or_else(|| raw.and_then(|r| r.get("error")).and_then(Value::as_str))
        .unwrap_or_default()
        .to_ascii_lowercase();
    let codes: Vec<&str> = ["code", "type"]
        .iter()
        .filter_map(|name| field(name).and_then(Value::as_str))
        .collect();
    if codes.contains(&"context_length_exceeded")
        || [
            "context length",
            "context window",
            "maximum context",
            "prompt is too long",
        ]
        .iter()
        .any(|phrase| message.contains(phrase))
    {
        return ErrorKind::ContextWindowExceeded;
    }
    // In-stream errors carry their would-be status: Groq `status_code`, OpenRouter a numeric
    // `code`.
    let status = status.or_else(|| {
        ["status_code", "status", "code"]
            .iter()
            .find_map(|name| field(name).and_then(Value::as_u64))
            .and_then(|s| u16::try_from(s).ok())
    });
    match status {
        Some(401) => ErrorKind::Authentication,
        Some(403) => ErrorKind::PermissionDenied,
        Some(404) => ErrorKind::NotFound,
        Some(408) => ErrorKind::Timeout,
        Some(409) => ErrorKind::ServiceUnavailable,
        Some(429) => ErrorKind::RateLimit,
        Some(400..=499) => ErrorKind::InvalidRequest,
        Some(500..=599) => ErrorKind::ServiceUnavailable,
        _ => match codes.first().copied() {
            Some("rate_limit_error") => ErrorKind::RateLimit,
            Some("invalid_request_error") => ErrorKind::InvalidRequest,
            Some("authentication_error") => ErrorKind::Authentication,
            Some("permission_error") => ErrorKind::PermissionDenied,
            Some("not_found_error") => ErrorKind::NotFound,
            _ => ErrorKind::ServiceUnavailable,
        },
    }
}

/// Checks an error against the status and body it came from (`status` `None` for an error
/// inside a stream).
fn check_error(
    error: &Error,
    status: Option<u16>,
    body: &[u8],
    headers: &BTreeMap<String, String>,
) -> Result<(), String> {
    let raw: Option<Value> = serde_json::from_slice(body).ok();
    let want = expected_error_kind(status, raw.as_ref());
    if error.kind() != want {
        return Err(format!(
            "error kind {:?}, expected {want:?}: {error}",
            error.kind()
        ));
    }
    if let Some(status) = status {
        if error.status() != Some(status) {
            return Err(format!(
                "error status {:?}, expected {status}",
                error.status()
            ));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| value.trim().parse::<f64>().ok())
    };
    let want_retry = header("retry-after-ms")
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .or_else(|| header("retry-after").map(Duration::from_secs_f64));
    if let Some(want_retry) = want_retry {
        if error.retry_after() != Some(want_retry) {
            return Err(format!(
                "retry_after {:?}, recorded header says {want_retry:?}",
                error.retry_after()
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// What a completion says, projected onto what the oracle can compute

#[derive(Debug, Default, Clone, PartialEq)]
struct ExpectedChoice {
    content: Option<String>,
    reasoning: Option<String>,
    refusal: Option<String>,
    tool_calls: Vec<ExpectedCall>,
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Clone, PartialEq)]
struct ExpectedCall {
    id: String,
    name: String,
    arguments: String,
}

#[derive(Debug, Default, Clone, PartialEq)]
struct ExpectedUsage {
    prompt: u64,
    completion: u64,
    total: u64,
    /// `None`: the wire did not say, so it is not checked.
    cached: Option<u64>,
    reasoning: Option<u64>,
}

/// The oracle's view of a completion.
#[derive(Debug, Default, Clone, PartialEq)]
struct Expected {
    choices: BTreeMap<u32, ExpectedChoice>,
    usage: Option<ExpectedUsage>,
    /// Whether an absent text and an empty one are the same. OpenAI's wire says `null` or
    /// `""` and the adapter must keep which; Anthropic has no such field, so an adapter may
    /// give either for a reply without text blocks.
    null_is_empty: bool,
}

/// The adapter's completion, in the oracle's terms.
type Observed = Expected;

impl Observed {
    fn of(completion: &ChatCompletion) -> Observed {
        let choices = completion
            .choices
            .iter()
            .map(|choice| {
                let message = &choice.message;
                let calls = message
                    .tool_calls
                    .iter()
                    .flatten()
                    .map(|call| ExpectedCall {
                        id: call.id.clone(),
                        name: call.function.name.clone(),
                        arguments: call.function.arguments.clone(),
                    });
                let projected = ExpectedChoice {
                    content: message.content.as_ref().map(|content| content.text()),
                    reasoning: message.reasoning_content.clone(),
                    refusal: message.refusal.clone(),
                    tool_calls: calls.collect(),
                    finish_reason: choice.finish_reason.as_ref().map(|r| r.as_str().to_owned()),
                };
                (choice.index, projected)
            })
            .collect();
        let usage = completion.usage.as_ref().map(|usage| ExpectedUsage {
            prompt: usage.prompt_tokens,
            completion: usage.completion_tokens,
            total: usage.total_tokens,
            cached: Some(usage.cached_tokens()),
            reasoning: Some(usage.reasoning_tokens()),
        });
        Observed {
            choices,
            usage,
            null_is_empty: false,
        }
    }
}

/// Lists every disagreement between the oracle and the adapter.
fn compare(expected: &Expected, observed: &Observed) -> Result<(), String> {
    let mut problems = Vec::new();
    let text = |value: &Option<String>| {
        if expected.null_is_empty {
            Some(value.clone().unwrap_or_default())
        } else {
            value.clone()
        }
    };
    let expected_indexes: Vec<_> = expected.choices.keys().collect();
    let observed_indexes: Vec<_> = observed.choices.keys().collect();
    if expected_indexes != observed_indexes {
        problems.push(format!(
            "choice indexes {observed_indexes:?}, expected {expected_indexes:?}"
        ));
    }
    for (index, want) in &expected.choices {
        let Some(got) = observed.choices.get(index) else {
            continue;
        };
        for (field, want, got) in [
            ("content", &want.content, &got.content),
            ("reasoning", &want.reasoning, &got.reasoning),
            ("refusal", &want.refusal, &got.refusal),
        ] {
            if text(want) != text(got) {
                problems.push(format!(
                    "choice {index} {field}: got {}, expected {}",
                    shorten(got),
                    shorten(want)
                ));
            }
        }
        if want.finish_reason != got.finish_reason {
            problems.push(format!(
                "choice {index} finish_reason: got {:?}, expected {:?}",
                got.finish_reason, want.finish_reason
            ));
        }
        if want.tool_calls.len() != got.tool_calls.len() {
            problems.push(format!(
                "choice {index}: {} tool calls, expected {}",
                got.tool_calls.len(),
                want.tool_calls.len()
            ));
        }
        for (n, (want, got)) in want.tool_calls.iter().zip(&got.tool_calls).enumerate() {
            if want.id != got.id || want.name != got.name {
                problems.push(format!(
                    "choice {index} tool call {n}: got {:?} {:?}, expected {:?} {:?}",
                    got.id, got.name, want.id, want.name
                ));
            }
            if !same_arguments(&want.arguments, &got.arguments) {
                problems.push(format!(
                    "choice {index} tool call {n} arguments: got {:?}, expected {:?}",
                    got.arguments, want.arguments
                ));
            }
        }
    }
    match (&expected.usage, &observed.usage) {
        (None, None) => {}
        (Some(want), Some(got)) => {
            let details_agree = |want: Option<u64>, got: Option<u64>| want.is_none() || want == got;
            if (want.prompt, want.completion, want.total) != (got.prompt, got.completion, got.total)
                || !details_agree(want.cached, got.cached)
                || !details_agree(want.reasoning, got.reasoning)
            {
                problems.push(format!("usage: got {got:?}, expected {want:?}"));
            }
        }
        (want, got) => problems.push(format!("usage: got {got:?}, expected {want:?}")),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Tool arguments agree when they are the same JSON value, or the same text when either is
/// not JSON (a truncated call, say).
fn same_arguments(want: &str, got: &str) -> bool {
    match (
        serde_json::from_str::<Value>(want),
        serde_json::from_str::<Value>(got),
    ) {
        (Ok(want), Ok(got)) => want == got,
        _ => want == got,
    }
}

fn shorten(text: &Option<String>) -> String {
    match text {
        None => "null".to_owned(),
        Some(text) if text.chars().count() > 80 => {
            let head: String = text.chars().take(80).collect();
            format!("{head:?}… ({} bytes)", text.len())
        }
        Some(text) => format!("{text:?}"),
    }
}

fn text_of(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

fn append(slot: &mut Option<String>, fragment: Option<&Value>) {
    if let Some(fragment) = fragment.and_then(Value::as_str) {
        slot.get_or_insert_with(String::new).push_str(fragment);
    }
}

fn number(value: Option<&Value>) -> Option<u64> {
    value.and_then(Value::as_u64)
}

// ---------------------------------------------------------------------------------------------
// Streams

/// How the recording itself says the stream ends.
#[derive(Debug, Clone, PartialEq)]
enum Ending {
    /// The family's terminal marker.
    Complete,
    /// An in-stream error: the error object's JSON.
    Error(Value),
    /// Neither: the body stops early.
    Truncated,
}

/// The oracle's reading of a stream: the fold of every event before the end, and the end.
struct StreamOracle {
    expected: Expected,
    ending: Ending,
}

/// SSE events as `(event name, data)`, by a deliberately plain reading of the format (the
/// adapters use the crate's own decoder; this one must not share its code). A block not
/// followed by a blank line is an incomplete event and is dropped, as the SSE spec says.
fn sse_events(body: &[u8]) -> Vec<(Option<String>, String)> {
    let text = String::from_utf8_lossy(body)
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    let mut blocks: Vec<&str> = text.split("\n\n").collect();
    blocks.pop(); // Whatever follows the last blank line never completed.
    let mut events = Vec::new();
    for block in blocks {
        let mut name = None;
        let mut data: Vec<&str> = Vec::new();
        for line in block.split('\n') {
            if line.is_empty() || line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line, ""),
            };
            match field {
                "event" => name = Some(value.to_owned()),
                "data" => data.push(value),
                _ => {}
            }
        }
        if !data.is_empty() {
            events.push((name, data.join("\n")));
        }
    }
    events
}

/// Everything a decoder produced, in order.
type Items = Vec<Result<ChatCompletionChunk, Error>>;

/// Runs a decoder over `body` fed in pieces of the sizes `sizes` yields, draining after every
/// push as a transport would.
fn decode(
    provider: &dyn Provider,
    body: &[u8],
    mut sizes: impl Iterator<Item = usize>,
) -> (Items, bool) {
    let mut decoder: Box<dyn ChatStreamDecoder> = provider.chat_stream_decoder("corpus-replay");
    let mut items = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let size = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        let (piece, tail) = rest.split_at(size);
        decoder.push(piece);
        rest = tail;
        while let Some(item) = decoder.next_chunk() {
            items.push(item);
        }
    }
    decoder.finish();
    while let Some(item) = decoder.next_chunk() {
        items.push(item);
    }
    (items, decoder.is_complete())
}

fn check_stream(provider: &dyn Provider, wire: Wire, body: &[u8]) -> Result<(), String> {
    let (items, complete) = decode(provider, body, PIECES.iter().copied().cycle());
    let (whole, whole_complete) = decode(provider, body, std::iter::once(body.len()));
    let (bytewise, bytewise_complete) = decode(provider, body, std::iter::repeat(1));
    if items != whole || complete != whole_complete {
        return Err(format!(
            "irregular split gave {} items, one push {}: the output depends on the split",
            items.len(),
            whole.len()
        ));
    }
    if items != bytewise || complete != bytewise_complete {
        return Err(format!(
            "irregular split gave {} items, byte at a time {}: the output depends on the split",
            items.len(),
            bytewise.len()
        ));
    }

    let oracle = match wire {
        Wire::OpenAi => openai::stream(body)?,
        Wire::Anthropic => anthropic::stream(body)?,
        Wire::Cohere => cohere_oracle::stream(body)?,
        Wire::Gemini => gemini_oracle::stream(body)?,
        Wire::Bedrock => bedrock_oracle::stream(body)?,
    };

    let mut accumulator = ChunkAccumulator::new();
    let mut error = None;
    for (n, item) in items.iter().enumerate() {
        match item {
            Ok(chunk) if error.is_none() => accumulator.push(chunk),
            Ok(_) => return Err(format!("item {n} is a chunk after the error")),
            Err(e) if error.is_none() => error = Some(e.clone()),
            Err(_) => return Err(format!("item {n} is a second error")),
        }
    }

    match (&oracle.ending, &error) {
        (Ending::Complete, None) if complete => {}
        (Ending::Complete, None) => return Err("no error, but is_complete() is false".into()),
        (Ending::Complete, Some(e)) => return Err(format!("stream failed: {e}")),
        (Ending::Error(raw), Some(e)) => {
            let want = expected_error_kind(None, Some(raw));
            if e.kind() != want {
                return Err(format!(
                    "in-stream error kind {:?}, expected {want:?}: {e}",
                    e.kind()
                ));
            }
            if complete {
                return Err("is_complete() after an in-stream error".into());
            }
        }
        (Ending::Error(raw), None) => {
            return Err(format!(
                "the recording ends in an in-stream error the decoder did not report: {raw}"
            ))
        }
        (Ending::Truncated, Some(e)) if e.kind() == ErrorKind::Truncated && !complete => {}
        (Ending::Truncated, other) => {
            return Err(format!(
                "the body ends without its terminal marker; decoder said {other:?}"
            ))
        }
    }
    compare(&oracle.expected, &Observed::of(&accumulator.completion()))
}

// ---------------------------------------------------------------------------------------------
// Embeddings

fn check_embeddings(parsed: &EmbeddingResponse, body: &[u8]) -> Result<(), String> {
    let raw: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let data = raw
        .get("data")
        .and_then(Value::as_array)
        .ok_or("oracle: no data array")?;
    if data.len() != parsed.data.len() {
        return Err(format!(
            "{} embeddings, expected {}",
            parsed.data.len(),
            data.len()
        ));
    }
    for (n, (want, got)) in data.iter().zip(&parsed.data).enumerate() {
        if number(want.get("index")) != Some(u64::from(got.index)) {
            return Err(format!(
                "embedding {n}: index {}, expected {:?}",
                got.index,
                want.get("index")
            ));
        }
        let agrees = match (want.get("embedding"), &got.embedding) {
            (Some(Value::String(text)), EmbeddingVector::Base64(got)) => text == got,
            (Some(Value::Array(values)), EmbeddingVector::Float(got)) => {
                values.len() == got.len()
                    && values
                        .iter()
                        .zip(got)
                        .all(|(want, got)| want.as_f64().map(|w| w as f32) == Some(*got))
            }
            _ => false,
        };
        if !agrees {
            return Err(format!("embedding {n}: the vector differs from the body"));
        }
    }
    let usage = raw.get("usage");
    let want = (
        number(usage.and_then(|u| u.get("prompt_tokens"))),
        number(usage.and_then(|u| u.get("total_tokens"))),
    );
    let got = (
        parsed.usage.as_ref().map(|u| u.prompt_tokens),
        parsed.usage.as_ref().map(|u| u.total_tokens),
    );
    if want != got {
        return Err(format!("usage (prompt, total) {got:?}, expected {want:?}"));
    }
    Ok(())
}

/// Gemini's `batchEmbedContents`: the n-th vector at index n, no usage.
fn check_gemini_embeddings(parsed: &EmbeddingResponse, body: &[u8]) -> Result<(), String> {
    let raw: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let vectors = gemini_oracle::embeddings(&raw).ok_or("oracle: no embeddings[].values")?;
    if vectors.len() != parsed.data.len() {
        return Err(format!(
            "{} embeddings, expected {}",
            parsed.data.len(),
            vectors.len()
        ));
    }
    for (n, (want, got)) in vectors.iter().zip(&parsed.data).enumerate() {
        let agrees = got.index as usize == n
            && matches!(&got.embedding, EmbeddingVector::Float(got)
                if got.len() == want.len() && want.iter().zip(got).all(|(w, g)| *w as f32 == *g));
        if !agrees {
            return Err(format!("embedding {n}: differs from the body"));
        }
    }
    if parsed.usage.is_some() {
        return Err("usage reported, but the body has none".into());
    }
    Ok(())
}

#[path = "oracle/gemini.rs"]
mod gemini_oracle;

// ---------------------------------------------------------------------------------------------
// The OpenAI chat-completions oracle

mod openai {
    use super::*;

    /// Text of `content`: a string, or the `text` parts of an array joined. An array with
    /// thinking parts but no text part (Mistral's reasoning models) has no text.
    fn content_text(content: Option<&Value>) -> Option<String> {
        match content? {
            Value::String(text) => Some(text.clone()),
            Value::Array(parts) => {
                let texts: Vec<&str> = parts
                    .iter()
                    .filter(|part| part_type(part) == Some("text"))
                    .filter_map(|part| part.get("text").and_then(Value::as_str))
                    .collect();
                let thinks = parts.iter().any(|part| part_type(part) == Some("thinking"));
                (!texts.is_empty() || !thinks).then(|| texts.concat())
            }
            _ => None,
        }
    }

    fn part_type(part: &Value) -> Option<&str> {
        part.get("type").and_then(Value::as_str)
    }

    /// The text of the `thinking` parts of a `content` array (Mistral's reasoning models:
    /// `{"type":"thinking","thinking":[{"type":"text","text":…}]}`).
    fn thinking_text(content: Option<&Value>) -> Option<String> {
        let parts = content?.as_array()?;
        let mut thinking = None;
        for part in parts
            .iter()
            .filter(|part| part_type(part) == Some("thinking"))
        {
            let slot: &mut String = thinking.get_or_insert_with(String::new);
            match part.get("thinking") {
                Some(Value::String(text)) => slot.push_str(text),
                Some(Value::Array(inner)) => inner
                    .iter()
                    .filter(|item| part_type(item) == Some("text"))
                    .filter_map(|item| item.get("text").and_then(Value::as_str))
                    .for_each(|text| slot.push_str(text)),
                _ => {}
            }
        }
        thinking
    }

    /// `reasoning_content` (or the `reasoning` some hosts send instead), then any thinking
    /// parts of `content`.
    fn reasoning(message: &Value) -> Option<String> {
        let named = message
            .get("reasoning_content")
            .filter(|v| v.is_string())
            .or_else(|| message.get("reasoning").filter(|v| v.is_string()));
        let mut reasoning = text_of(named);
        if let Some(thinking) = thinking_text(message.get("content")) {
            reasoning
                .get_or_insert_with(String::new)
                .push_str(&thinking);
        }
        reasoning
    }

    fn arguments_text(arguments: Option<&Value>) -> String {
        match arguments {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }
    }

    fn usage(raw: Option<&Value>) -> Option<ExpectedUsage> {
        let usage = raw.filter(|u| u.is_object())?;
        Some(ExpectedUsage {
            prompt: number(usage.get("prompt_tokens")).unwrap_or(0),
            completion: number(usage.get("completion_tokens")).unwrap_or(0),
            total: number(usage.get("total_tokens")).unwrap_or(0),
            cached: Some(
                number(usage.pointer("/prompt_tokens_details/cached_tokens")).unwrap_or(0),
            ),
            reasoning: Some(
                number(usage.pointer("/completion_tokens_details/reasoning_tokens")).unwrap_or(0),
            ),
        })
    }

    /// A whole `chat.completion` body.
    pub(super) fn whole(raw: &Value) -> Expected {
        let mut expected = Expected::default();
        for (position, choice) in raw
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let index = number(choice.get("index")).unwrap_or(position as u64) as u32;
            let message = choice.get("message").unwrap_or(&Value::Null);
            let calls = message
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|call| ExpectedCall {
                    id: text_of(call.get("id")).unwrap_or_default(),
                    name: text_of(call.pointer("/function/name")).unwrap_or_default(),
                    arguments: arguments_text(call.pointer("/function/arguments")),
                });
            expected.choices.insert(
                index,
                ExpectedChoice {
                    content: content_text(message.get("content")),
                    reasoning: reasoning(message),
                    refusal: text_of(message.get("refusal")),
                    tool_calls: calls.collect(),
                    finish_reason: text_of(choice.get("finish_reason")),
                },
            );
        }
        expected.usage = usage(raw.get("usage"));
        expected
    }

    /// The `""` an OpenAI-format stream opens with (`{"role": "assistant", "content": ""}`)
    /// is not an answer when the reply calls tools: the whole reply says `content: null`, and
    /// so does the folded stream.
    fn without_opening_content(mut expected: Expected) -> Expected {
        for choice in expected.choices.values_mut() {
            if choice.content.as_deref() == Some("") && !choice.tool_calls.is_empty() {
                choice.content = None;
            }
        }
        expected
    }

    /// A `chat.completion.chunk` SSE body: deltas folded per choice `index`, tool-call
    /// fragments per tool-call `index`, the last finish reason and the last usage win.
    /// `[DONE]` ends it; an `event: error`, or a chunk carrying an `error` object, is an
    /// in-stream error (the chunk's own deltas still count); other named events are skipped.
    pub(super) fn stream(body: &[u8]) -> Result<StreamOracle, String> {
        let mut expected = Expected::default();
        // Tool-call positions per choice, keyed by the fragments' `index`.
        let mut positions: BTreeMap<(u32, u64), usize> = BTreeMap::new();
        for (name, data) in sse_events(body) {
            match name.as_deref() {
                None | Some("message") => {}
                Some("error") => {
                    let raw = serde_json::from_str(&data).unwrap_or(Value::String(data));
                    return Ok(StreamOracle {
                        expected: without_opening_content(expected),
                        ending: Ending::Error(raw),
                    });
                }
                Some(_) => continue,
            }
            if data.trim() == "[DONE]" {
                return Ok(StreamOracle {
                    expected: without_opening_content(expected),
                    ending: Ending::Complete,
                });
            }
            let chunk: Value = serde_json::from_str(&data)
                .map_err(|e| format!("oracle: a data line is not JSON ({e}): {data}"))?;
            for choice in chunk
                .get("choices")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let index = number(choice.get("index")).unwrap_or(0) as u32;
                let slot = expected.choices.entry(index).or_default();
                let delta = choice.get("delta").unwrap_or(&Value::Null);
                if let Some(text) = content_text(delta.get("content")) {
                    slot.content.get_or_insert_with(String::new).push_str(&text);
                }
                if let Some(text) = reasoning(delta) {
                    slot.reasoning
                        .get_or_insert_with(String::new)
                        .push_str(&text);
                }
                append(&mut slot.refusal, delta.get("refusal"));
                for call in delta
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let call_index = number(call.get("index")).unwrap_or(0);
                    let position = *positions.entry((index, call_index)).or_insert_with(|| {
                        slot.tool_calls.push(ExpectedCall::default());
                        slot.tool_calls.len() - 1
                    });
                    let target = &mut slot.tool_calls[position];
                    if target.id.is_empty() {
                        target.id = text_of(call.get("id")).unwrap_or_default();
                    }
                    if target.name.is_empty() {
                        target.name = text_of(call.pointer("/function/name")).unwrap_or_default();
                    }
                    target
                        .arguments
                        .push_str(&arguments_text(call.pointer("/function/arguments")));
                }
                if let Some(reason) = text_of(choice.get("finish_reason")) {
                    slot.finish_reason = Some(reason);
                }
            }
            if let Some(usage) = usage(chunk.get("usage")) {
                expected.usage = Some(usage);
            }
            if let Some(error) = chunk.get("error").filter(|e| !e.is_null()) {
                return Ok(StreamOracle {
                    expected: without_opening_content(expected),
                    ending: Ending::Error(serde_json::json!({ "error": error })),
                });
            }
        }
        Ok(StreamOracle {
            expected: without_opening_content(expected),
            ending: Ending::Truncated,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The Anthropic messages oracle

mod anthropic {
    use super::*;

    /// Anthropic's `stop_reason` in OpenAI's words. Reasons without an equivalent pass through.
    fn finish_reason(stop: &str) -> String {
        match stop {
            "end_turn" | "stop_sequence" => "stop",
            "max_tokens" | "model_context_window_exceeded" => "length",
            "tool_use" => "tool_calls",
            "refusal" => "content_filter",
            other => other,
        }
        .to_owned()
    }

    /// Usage from Anthropic's counters: prompt tokens include the cache reads and writes;
    /// reasoning tokens are checked only when the wire reports `thinking_tokens`.
    fn usage(fields: &BTreeMap<String, u64>) -> ExpectedUsage {
        let field = |name: &str| fields.get(name).copied().unwrap_or(0);
        let prompt = field("input_tokens")
            + field("cache_read_input_tokens")
            + field("cache_creation_input_tokens");
        let completion = field("output_tokens");
        ExpectedUsage {
            prompt,
            completion,
            total: prompt + completion,
            cached: Some(field("cache_read_input_tokens")),
            reasoning: fields.get("thinking_tokens").copied(),
        }
    }

    /// Folds a `usage` object's counters into `into`, field by field: a stream's
    /// `message_delta` usage is cumulative and replaces what `message_start` said.
    fn usage_fields(into: &mut BTreeMap<String, u64>, raw: Option<&Value>) {
        let Some(Value::Object(raw)) = raw else {
            return;
        };
        for (name, value) in raw {
            if let Some(value) = value.as_u64() {
                into.insert(name.clone(), value);
            }
        }
        if let Some(thinking) = number(
            raw.get("output_tokens_details")
                .and_then(|d| d.get("thinking_tokens")),
        ) {
            into.insert("thinking_tokens".to_owned(), thinking);
        }
    }

    /// A whole `message` body: text blocks joined, `tool_use` blocks become tool calls with
    /// their `input` as arguments, `thinking` blocks the reasoning. Server-side tool blocks
    /// (`server_tool_use`, `*_tool_result`, `mcp_tool_use`) are not calls for the client.
    pub(super) fn whole(raw: &Value) -> Expected {
        let mut choice = ExpectedChoice::default();
        for block in raw
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match block.get("type").and_then(Value::as_str) {
                Some("text") => append(&mut choice.content, block.get("text")),
                Some("thinking") => append(&mut choice.reasoning, block.get("thinking")),
                Some("tool_use") => choice.tool_calls.push(ExpectedCall {
                    id: text_of(block.get("id")).unwrap_or_default(),
                    name: text_of(block.get("name")).unwrap_or_default(),
                    arguments: block.get("input").map(Value::to_string).unwrap_or_default(),
                }),
                _ => {}
            }
        }
        choice.finish_reason = raw
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(finish_reason);
        let mut fields = BTreeMap::new();
        usage_fields(&mut fields, raw.get("usage"));
        Expected {
            choices: BTreeMap::from([(0, choice)]),
            usage: raw.get("usage").map(|_| usage(&fields)),
            null_is_empty: true,
        }
    }

    /// The fold so far: a tool call that got no `input_json_delta` keeps the input its
    /// `content_block_start` carried.
    fn finish(
        mut choice: ExpectedChoice,
        fields: &BTreeMap<String, u64>,
        saw_usage: bool,
        tools: &BTreeMap<u64, (usize, String)>,
    ) -> Expected {
        for (position, start_input) in tools.values() {
            if let Some(call) = choice.tool_calls.get_mut(*position) {
                if call.arguments.is_empty() {
                    call.arguments.clone_from(start_input);
                }
            }
        }
        Expected {
            choices: BTreeMap::from([(0, choice)]),
            usage: saw_usage.then(|| usage(fields)),
            null_is_empty: true,
        }
    }

    /// A messages SSE body: blocks opened by `content_block_start` and grown by
    /// `content_block_delta` (`text_delta`, `thinking_delta`, `input_json_delta`), the stop
    /// reason and usage from `message_start` and `message_delta`; `message_stop` ends it and
    /// an `error` event is an in-stream error.
    pub(super) fn stream(body: &[u8]) -> Result<StreamOracle, String> {
        let mut choice = ExpectedChoice::default();
        let mut fields = BTreeMap::new();
        let mut saw_usage = false;
        // Open tool_use blocks: stream block index -> (position in tool_calls, input at start).
        let mut tools: BTreeMap<u64, (usize, String)> = BTreeMap::new();
        // Block index -> block type, for routing deltas.
        let mut kinds: BTreeMap<u64, String> = BTreeMap::new();
        for (_, data) in sse_events(body) {
            let event: Value = serde_json::from_str(&data)
                .map_err(|e| format!("oracle: a data line is not JSON ({e}): {data}"))?;
            let index = number(event.get("index"));
            match event.get("type").and_then(Value::as_str) {
                Some("message_start") => {
                    if let Some(raw) = event.pointer("/message/usage") {
                        usage_fields(&mut fields, Some(raw));
                        saw_usage = true;
                    }
                }
                Some("content_block_start") => {
                    let block = event.get("content_block").unwrap_or(&Value::Null);
                    let kind = text_of(block.get("type")).unwrap_or_default();
                    match kind.as_str() {
                        "text" => append(&mut choice.content, block.get("text")),
                        "thinking" => append(&mut choice.reasoning, block.get("thinking")),
                        "tool_use" => {
                            choice.tool_calls.push(ExpectedCall {
                                id: text_of(block.get("id")).unwrap_or_default(),
                                name: text_of(block.get("name")).unwrap_or_default(),
                                arguments: String::new(),
                            });
                            let start =
                                block.get("input").map(Value::to_string).unwrap_or_default();
                            tools.insert(index.unwrap_or(0), (choice.tool_calls.len() - 1, start));
                        }
                        _ => {}
                    }
                    kinds.insert(index.unwrap_or(0), kind);
                }
                Some("content_block_delta") => {
                    let delta = event.get("delta").unwrap_or(&Value::Null);
                    let block = index.unwrap_or(0);
                    match delta.get("type").and_then(Value::as_str) {
                        Some("text_delta") => append(&mut choice.content, delta.get("text")),
                        Some("thinking_delta") => {
                            append(&mut choice.reasoning, delta.get("thinking"))
                        }
                        Some("input_json_delta")
                            if kinds.get(&block).map(String::as_str) == Some("tool_use") =>
                        {
                            if let Some((position, _)) = tools.get(&block) {
                                if let Some(part) =
                                    delta.get("partial_json").and_then(Value::as_str)
                                {
                                    choice.tool_calls[*position].arguments.push_str(part);
                                }
                            }
                        }
                        _ => {}
                    }
                }
                Some("message_delta") => {
                    if let Some(stop) = event.pointer("/delta/stop_reason").and_then(Value::as_str)
                    {
                        choice.finish_reason = Some(finish_reason(stop));
                    }
                    if let Some(raw) = event.get("usage") {
                        usage_fields(&mut fields, Some(raw));
                        saw_usage = true;
                    }
                }
                Some("message_stop") => {
                    return Ok(StreamOracle {
                        expected: finish(choice, &fields, saw_usage, &tools),
                        ending: Ending::Complete,
                    })
                }
                Some("error") => {
                    return Ok(StreamOracle {
                        expected: finish(choice, &fields, saw_usage, &tools),
                        ending: Ending::Error(event),
                    })
                }
                _ => {}
            }
        }
        Ok(StreamOracle {
            expected: finish(choice, &fields, saw_usage, &tools),
            ending: Ending::Truncated,
        })
    }
}

/// The OpenAI stream decoder reads chunks of the plain shape without serde
/// (`core/src/provider/openai/plain_chunk.rs`); it must read each exactly as serde does.
/// Checked here on every recorded OpenAI-family chunk without extension fields, in any build
/// (debug builds also compare the two inside the decoder), and by the `openai_chunk` fuzz
/// target on made-up input.
#[test]
fn recorded_plain_chunks_decode_as_serde_reads_them() {
    let Some((root, lines)) = corpus() else {
        return;
    };
    let family = [
        "openai",
        "groq",
        "openrouter",
        "deepseek",
        "mistral",
        "together",
    ];
    let registry = Registry::from_lookup(|name| {
        name.ends_with("_API_KEY")
            .then(|| "sk-corpus-replay-dummy".to_owned())
    });
    let provider = registry
        .resolve(&ModelId::parse("openai/m").expect("a model id"))
        .expect("the openai adapter");
    let (mut chunks, mut plain) = (0, 0);
    for recording in recordings(&lines) {
        if !recording.stream
            || recording.endpoint != "chat"
            || !family.contains(&recording.provider.as_str())
        {
            continue;
        }
        let body =
            std::fs::read_to_string(root.join("replay").join(&recording.file)).expect("a body");
        for data in body.lines().filter_map(|line| line.strip_prefix("data:")) {
            let data = data.trim();
            let Ok(expected) = serde_json::from_str::<ChatCompletionChunk>(data) else {
                continue;
            };
            chunks += 1;
            // Chunks with extension fields go to serde and are normalized after it.
            let has_extra = !expected.extra.is_empty()
                || expected
                    .choices
                    .iter()
                    .any(|choice| !choice.extra.is_empty() || !choice.delta.extra.is_empty());
            if has_extra {
                continue;
            }
            plain += 1;
            let mut decoder = provider.chat_stream_decoder("m");
            decoder.push(format!("data: {data}\n\ndata: [DONE]\n\n").as_bytes());
            decoder.finish();
            let decoded = decoder.next_chunk().and_then(Result::ok);
            assert_eq!(decoded, Some(expected), "{}: {data}", recording.file);
        }
    }
    println!("{plain} of {chunks} recorded OpenAI-family chunks have the plain shape");
    assert!(chunks > 0, "no OpenAI-family chat stream in the corpus");
    assert!(
        plain * 4 > chunks,
        "only {plain} of {chunks} chunks were compared"
    );
}
