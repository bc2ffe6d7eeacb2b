//! The recordings in `../shared/corpus` that `replay/manifest.jsonl` does not list, for the
//! providers that have adapters: vercel-ai's pretty-printed bodies, raw SSE bodies (Mistral
//! thinking streams, Anthropic SDK snapshots, an OpenAI-compatible Z.ai stream) and the
//! Anthropic SDK's snapshot arrays (`[{request, response: {status_code, headers, body}}]`).
//! The manifest-driven suite (`corpus.rs`) covers the rest.
//!
//! Each file is found by where it lives (`<provider dir>/…`) and what it holds, and checked
//! against what it says, read independently with `serde_json::Value`: the text, tool-call
//! names, finish, and error kinds by status. Recordings of APIs without an adapter (OpenAI's
//! Responses API, also through OpenRouter) are skipped by their shape, and counted.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use onellm_core::{ChunkAccumulator, ErrorKind, ModelId, Provider, Registry};
use serde_json::Value;

fn corpus() -> Option<PathBuf> {
    let path = std::env::var_os("ONELLM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"))
        });
    path.join("replay/manifest.jsonl").is_file().then_some(path)
}

fn provider(name: &str) -> std::sync::Arc<dyn Provider> {
    let registry = Registry::from_lookup(|n| n.ends_with("_API_KEY").then(|| "k".to_owned()));
    registry
        .resolve(&ModelId::parse(&format!("{name}/m")).unwrap())
        .unwrap()
}

/// Files under `dir`, recursively, sorted.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The family a file belongs to, from the first folder under the corpus root.
fn family(relative: &Path) -> Option<&'static str> {
    let top = relative.components().next()?.as_os_str().to_str()?;
    match top {
        "openai" | "groq" | "mistral" | "openai-compatible" => Some("openai"),
        "anthropic" => Some("anthropic"),
        _ => None,
    }
}

/// The text an OpenAI- or Anthropic-shaped SSE body says, walking its `data:` lines.
fn sse_oracle_text(family: &str, body: &str) -> String {
    let mut text = String::new();
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let Ok(value) = serde_json::from_str::<Value>(data.trim()) else {
            continue;
        };
        match family {
            "anthropic" => {
                if value["delta"]["type"] == "text_delta" {
                    text.push_str(value["delta"]["text"].as_str().unwrap_or(""));
                }
            }
            _ => match &value["choices"][0]["delta"]["content"] {
                Value::String(piece) => text.push_str(piece),
                // Mistral's thinking models send typed parts: the text parts are the content.
                Value::Array(parts) => {
                    for part in parts.iter().filter(|p| p["type"] == "text") {
                        text.push_str(part["text"].as_str().unwrap_or(""));
                    }
                }
                _ => {}
            },
        }
    }
    text
}

/// The text a whole response body says.
fn whole_oracle_text(family: &str, body: &Value) -> String {
    match family {
        "anthropic" => body["content"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str())
            .collect(),
        _ => match &body["choices"][0]["message"]["content"] {
            Value::String(text) => text.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter(|p| p["type"] == "text")
                .filter_map(|p| p["text"].as_str())
                .collect(),
            _ => String::new(),
        },
    }
}

fn expected_kind(status: u16, body: &Value) -> Vec<ErrorKind> {
    let text = body.to_string().to_ascii_lowercase();
    match status {
        401 => vec![ErrorKind::Authentication],
        403 => vec![ErrorKind::PermissionDenied],
        404 => vec![ErrorKind::NotFound],
        429 => vec![ErrorKind::RateLimit],
        500..=599 => vec![ErrorKind::ServiceUnavailable],
        _ if text.contains("too long") || text.contains("context") => {
            vec![ErrorKind::ContextWindowExceeded, ErrorKind::InvalidRequest]
        }
        _ => vec![ErrorKind::InvalidRequest, ErrorKind::RateLimit],
    }
}

fn response(status: u16, body: &[u8]) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::copy_from_slice(body));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
    response
}

/// Checks one whole body; Ok(false) when it is of an API without an adapter.
fn check_whole(family: &str, status: u16, body: &Value) -> Result<bool, String> {
    let raw = body.to_string();
    let adapter = provider(family);
    if body["object"] == "response" || body.get("output").is_some() {
        return Ok(false); // OpenAI Responses API
    }
    if status >= 400 || body.get("error").is_some_and(|e| !e.is_null()) || body["type"] == "error" {
        let status = if status >= 400 { status } else { 400 };
        let error = adapter.parse_error(
            http::StatusCode::from_u16(status).unwrap(),
            &http::HeaderMap::new(),
            raw.as_bytes(),
        );
        let wanted = expected_kind(status, body);
        return if wanted.contains(&error.kind()) {
            Ok(true)
        } else {
            Err(format!(
                "error kind {:?}, wanted one of {wanted:?}: {error}",
                error.kind()
            ))
        };
    }
    if body["object"] == "list" {
        let parsed = adapter
            .parse_embeddings(&response(status, raw.as_bytes()))
            .map_err(|e| e.to_string())?;
        let want = body["data"].as_array().map_or(0, Vec::len);
        return if parsed.data.len() == want {
            Ok(true)
        } else {
            Err("embedding count".into())
        };
    }
    if body["object"] == "text_completion" {
        let parsed = adapter
            .parse_completions(&response(status, raw.as_bytes()))
            .map_err(|e| e.to_string())?;
        let want = body["choices"][0]["text"].as_str().unwrap_or("");
        return if parsed.text() == want {
            Ok(true)
        } else {
            Err("completion text".into())
        };
    }
    let completion = adapter
        .parse_chat(&response(status, raw.as_bytes()))
        .map_err(|e| e.to_string())?;
    let want = whole_oracle_text(family, body);
    let got = completion.text();
    if got != want {
        return Err(format!("text {got:?} != {want:?}"));
    }
    let oracle_tools: Vec<&str> = match family {
        "anthropic" => body["content"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| b["type"] == "tool_use")
            .filter_map(|b| b["name"].as_str())
            .collect(),
        _ => body["choices"][0]["message"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["function"]["name"].as_str())
            .collect(),
    };
    let tools: Vec<String> = completion
        .message()
        .and_then(|m| m.tool_calls.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.function.name)
        .collect();
    if tools != oracle_tools {
        return Err(format!("tool calls {tools:?} != {oracle_tools:?}"));
    }
    if completion.choices[0].finish_reason.is_none() {
        return Err("no finish reason".into());
    }
    Ok(true)
}

/// Checks one SSE body; Ok(false) when it is of an API without an adapter.
fn check_stream(family: &str, body: &str) -> Result<bool, String> {
    if body.contains("\"type\":\"response.") {
        return Ok(false); // OpenAI Responses API events
    }
    let mut decoder = provider(family).chat_stream_decoder("m");
    let mut accumulator = ChunkAccumulator::new();
    for piece in body.as_bytes().chunks(37) {
        decoder.push(piece);
        while let Some(item) = decoder.next_chunk() {
            accumulator.push(&item.map_err(|e| e.to_string())?);
        }
    }
    decoder.finish();
    while let Some(item) = decoder.next_chunk() {
        accumulator.push(&item.map_err(|e| e.to_string())?);
    }
    let got = accumulator.completion().text();
    let want = sse_oracle_text(family, body);
    if got != want {
        return Err(format!("text {got:?} != {want:?}"));
    }
    Ok(true)
}

#[test]
fn recordings_outside_the_manifest() {
    let Some(corpus) = corpus() else {
        println!("corpus not found (../shared/corpus or $ONELLM_CORPUS); skipping");
        return;
    };
    let listed: std::collections::HashSet<Vec<u8>> =
        std::fs::read_to_string(corpus.join("replay/manifest.jsonl"))
            .unwrap()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter_map(|entry| {
                std::fs::read(corpus.join("replay").join(entry["file"].as_str()?)).ok()
            })
            .collect();
    let mut files = Vec::new();
    walk(&corpus, &mut files);
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for path in files {
        let relative = path.strip_prefix(&corpus).unwrap().to_path_buf();
        let Some(family) = family(&relative) else {
            continue;
        };
        let name = relative.to_string_lossy().into_owned();
        let is_sse = name.ends_with(".sse");
        let is_json = name.ends_with(".json");
        if !(is_sse || is_json) {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if listed.contains(&bytes) {
            continue;
        }
        let outcome = if is_sse {
            check_stream(family, &String::from_utf8_lossy(&bytes))
        } else {
            match serde_json::from_slice::<Value>(&bytes) {
                // The Anthropic SDK's snapshots: one entry per exchange.
                Ok(Value::Array(exchanges)) => exchanges.iter().try_fold(false, |any, exchange| {
                    let status = exchange["response"]["status_code"].as_u64().unwrap_or(200) as u16;
                    let checked = match &exchange["response"]["body"] {
                        Value::String(sse) => check_stream(family, sse)?,
                        body => check_whole(family, status, body)?,
                    };
                    Ok::<bool, String>(any || checked)
                }),
                Ok(body) => check_whole(family, 200, &body),
                Err(_) => Ok(false),
            }
        };
        match outcome {
            Ok(true) => passed += 1,
            Ok(false) => skipped += 1,
            Err(reason) => {
                failed += 1;
                println!("FAIL {name}: {reason}");
            }
        }
    }
    println!("corpus outside the manifest: {passed} passed, {failed} failed, {skipped} skipped (no adapter for that API)");
    assert!(passed > 0);
    assert_eq!(failed, 0);
}
